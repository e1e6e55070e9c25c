//! TLS in front of the emulators, as every AWS endpoint is: a bench-only certificate authority,
//! a certificate for `localhost` signed by it, and a proxy per emulator that completes the TLS
//! handshake and passes the plain bytes on. A function trusts the authority through
//! `AWS_CA_BUNDLE` (Rust) or `NODE_EXTRA_CA_CERTS` (Node), so its first call pays what it pays in
//! AWS: the name's resolution, the TCP connection, the handshake and the certificate's check.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub struct Tls {
    acceptor: TlsAcceptor,
    /// The authority's certificate (PEM), for the functions to trust.
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tls {
    pub fn new() -> Result<Self> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "lambda-bench CA");
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate()?;
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &issuer)?;

        let dir = tempfile::tempdir()?;
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem())?;
        // The leaf and the authority, as an AWS endpoint sends its certificate and intermediate.
        let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, PrivateKeyDer::try_from(key.serialize_der())?)?;
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), ca_file, _dir: dir })
    }

    /// An `https://localhost:<port>` endpoint that reaches the plain-HTTP endpoint `upstream`.
    pub async fn front(&self, upstream: &str) -> Result<String> {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").trim_end_matches('/').parse()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let acceptor = self.acceptor.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // Without it, Nagle's algorithm holds a request's last segment for an ACK.
                    let _ = client.set_nodelay(true);
                    let (Ok(mut client), Ok(mut server)) =
                        (acceptor.accept(client).await, TcpStream::connect(upstream).await)
                    else {
                        return;
                    };
                    let _ = server.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Ok(format!("https://localhost:{port}"))
    }
}
