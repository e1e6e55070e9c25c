//! The one client for the platform's own HTTP calls that are not AWS's (the SDK has its own): the
//! payment provider, the span exporter and the token issuer's keys. Certificates are checked
//! against the Mozilla roots compiled in (no system store to load at cold start); plain `http://`
//! is taken too, for the emulators and a collector on localhost.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type Client = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client with its own connection pool.
pub fn client() -> Client {
    let connector =
        hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector)
}
