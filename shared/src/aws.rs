//! AWS clients, built once per cold start. The standard environment decides where they point:
//! `AWS_ENDPOINT_URL` sends every client to an emulator, as the tests and the local platform do.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

use crate::cashier::Cashier;
use crate::config::{self, ConfigError, Vars};
use crate::events::EventPublisher;
use crate::payment_provider::{AmountLimits, ProviderSettings, StripeProvider};
use crate::secret::Secret;
use crate::store::{IdempotencyStore, OrderStore, PaymentStore};

/// The roots of Amazon Trust Services, which sign every AWS service endpoint.
const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// The SDK configuration from the environment: region, credentials, endpoint.
///
/// The clients trust the Amazon Trust Services roots alone, not the system store: a narrower trust,
/// and a faster cold start (loading and parsing the system's few hundred roots was two thirds of
/// one, see `docs/performance.md`). `AWS_CA_BUNDLE`, the AWS SDKs' standard variable, names a PEM
/// file to trust instead (a TLS-inspecting proxy; the bench's TLS endpoints). A custom HTTPS
/// endpoint (`AWS_ENDPOINT_URL*=https://...`) without it may be signed by anyone, so it gets the
/// system's roots; a plain HTTP one (the emulator) needs none.
pub async fn load() -> SdkConfig {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust_store())
                .build()
                .expect("a trust store is a valid TLS context"),
        )
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https).timeout_config(timeouts()).load().await
}

/// The roots the AWS clients trust; see [`load`].
fn trust_store() -> TrustStore {
    if let Some(bundle) = std::env::var_os("AWS_CA_BUNDLE") {
        // An unreadable bundle trusts nothing, so every call fails with a TLS error naming the
        // certificate rather than silently trusting more than was asked.
        let pem = std::fs::read(&bundle).unwrap_or_else(|e| {
            tracing::error!(bundle = %bundle.to_string_lossy(), error = %e, "AWS_CA_BUNDLE is unreadable");
            vec![]
        });
        return TrustStore::empty().with_pem_certificate(pem);
    }
    let custom_https = std::env::vars_os().any(|(key, value)| {
        let (key, value) = (key.to_string_lossy(), value.to_string_lossy());
        key.starts_with("AWS_ENDPOINT_URL") && value.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    });
    if custom_https { TrustStore::default() } else { TrustStore::empty().with_pem_certificate(AMAZON_ROOTS) }
}

/// Every AWS call is bounded: a stalled endpoint costs at most this, never the function's whole
/// timeout after a write has committed. The SDK retries an attempt that timed out, within the
/// operation's budget.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(6))
        .build()
}

pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// S3 with path-style addressing when an endpoint is set, which emulators need.
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The order store on the table named by `ORDERS_TABLE`.
pub fn order_store(sdk: &SdkConfig) -> Result<OrderStore, ConfigError> {
    Ok(OrderStore::new(dynamodb(sdk), config::var(config::ORDERS_TABLE)?))
}

/// The payment store on the table named by `ORDERS_TABLE`.
pub fn payment_store(sdk: &SdkConfig) -> Result<PaymentStore, ConfigError> {
    Ok(PaymentStore::new(dynamodb(sdk), config::var(config::ORDERS_TABLE)?))
}

/// The idempotency records in the table named by `ORDERS_TABLE`.
pub fn idempotency_store(sdk: &SdkConfig) -> Result<IdempotencyStore, ConfigError> {
    Ok(IdempotencyStore::new(dynamodb(sdk), config::var(config::ORDERS_TABLE)?))
}

/// The cashier over the table named by `ORDERS_TABLE` and the queue named by `ORDER_QUEUE_URL`,
/// asking `provider`.
pub fn cashier<P>(sdk: &SdkConfig, provider: P) -> Result<Cashier<P>, ConfigError> {
    Ok(Cashier {
        orders: order_store(sdk)?,
        payments: payment_store(sdk)?,
        idempotency: idempotency_store(sdk)?,
        events: event_publisher(sdk)?,
        provider,
    })
}

/// The publisher to the queue named by `ORDER_QUEUE_URL`.
pub fn event_publisher(sdk: &SdkConfig) -> Result<EventPublisher, ConfigError> {
    Ok(EventPublisher::new(sqs(sdk), config::var(config::ORDER_QUEUE_URL)?))
}

/// The exports bucket named by `EXPORTS_BUCKET`.
pub fn exports(sdk: &SdkConfig) -> Result<crate::exports::S3Exports, ConfigError> {
    Ok(crate::exports::S3Exports::new(s3(sdk), config::var(config::EXPORTS_BUCKET)?))
}

/// A secret: the variable `direct` when it is set (local use), else the Secrets Manager secret
/// that the variable `secret` names, read now and again every few minutes ([`Secret`]).
pub async fn secret(sdk: &SdkConfig, direct: &'static str, secret: &'static str) -> Result<Secret, ConfigError> {
    if let Some(value) = config::Env.get(direct) {
        return Ok(value.into());
    }
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    Secret::read(client, config::var(secret)?, secret, crate::secret::REFRESH_AFTER).await
}

/// The payment provider: its URL, its secret key, the timeout of each call.
pub async fn payment_provider(sdk: &SdkConfig) -> Result<StripeProvider, ConfigError> {
    Ok(StripeProvider::new(provider_settings(sdk).await?))
}

/// Where the payment provider is and how to call it, from the environment and Secrets Manager.
pub async fn provider_settings(sdk: &SdkConfig) -> Result<ProviderSettings, ConfigError> {
    let timeout = config::parse::<u64>(&config::Env, config::PAYMENT_PROVIDER_TIMEOUT_MS, "a number of milliseconds")?;
    Ok(ProviderSettings {
        base_url: config::Env.get(config::PAYMENT_PROVIDER_URL).unwrap_or_else(|| "https://api.stripe.com".into()),
        api_key: secret(sdk, config::PAYMENT_PROVIDER_API_KEY, config::PAYMENT_PROVIDER_KEY_SECRET).await?,
        timeout: std::time::Duration::from_millis(timeout.unwrap_or(3000)),
        limits: AmountLimits::Stripe,
    })
}

/// The key list cursors are signed with: the secret `CURSOR_SECRET_ARN` names (or `CURSOR_SECRET` locally).
pub async fn cursor_key(sdk: &SdkConfig) -> Result<Secret, ConfigError> {
    secret(sdk, config::CURSOR_SECRET, config::CURSOR_SECRET_ARN).await
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    /// AWS-LC's CPU-jitter sampler cost a process about 60 ms of CPU on its first TLS handshake
    /// (0.9 s at 128 MB); `.cargo/config.toml` builds AWS-LC without it. With the sampler, its
    /// functions are linked into any binary that draws a random number, as this test does.
    #[test]
    fn aws_lc_is_built_without_the_cpu_jitter_sampler() {
        let mut byte = [0u8; 1];
        aws_lc_rs::rand::fill(&mut byte).unwrap();
        let binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The sampler's entry point, spelled backwards so this test's own text does not match.
        let sampler: Vec<u8> = b"tini_yportne_tnej".iter().rev().copied().collect();
        assert!(
            !binary.windows(sampler.len()).any(|w| w == sampler),
            "AWS-LC was built with its CPU-jitter entropy: set AWS_LC_SYS_NO_JITTER_ENTROPY=1 (.cargo/config.toml)"
        );
    }

    #[test]
    fn the_amazon_roots_are_five_parsable_certificates() {
        let roots: Vec<_> = CertificateDer::pem_slice_iter(super::AMAZON_ROOTS).collect::<Result<_, _>>().unwrap();
        assert_eq!(roots.len(), 5);
    }
}
