//! A secret the code signs or authenticates with, kept for a while: read from Secrets Manager at
//! start (a secret that cannot be read fails the cold start), then read again when it is older
//! than [`REFRESH_AFTER`], so a new value (`put-secret-value`, a rotation) is in use on every warm
//! function and pod within minutes, without a cold start. If the read fails, the value held so far
//! stays in use and the read is tried again after [`RETRY_AFTER`]: an outage of Secrets Manager
//! does not become an outage of ours. Locally the value is given directly and never changes.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::ConfigError;

/// How long a value read from Secrets Manager is used before it is read again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(300);
/// After a failed read, how long the old value is used before the next try.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Secret(Arc<Inner>);

struct Inner {
    source: Option<Source>,
    /// The value in use and when it should be read again.
    current: RwLock<(Arc<str>, Instant)>,
    /// One read at a time: the others wait for it instead of each asking Secrets Manager.
    reading: tokio::sync::Mutex<()>,
}

struct Source {
    client: aws_sdk_secretsmanager::Client,
    id: String,
    /// The variable that named the secret, for the log line of a failed read.
    name: &'static str,
    refresh_after: Duration,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.source {
            Some(source) => write!(f, "Secret({})", source.id),
            None => f.write_str("Secret(given)"),
        }
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(None, value.into())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(None, value.into())
    }
}

impl Secret {
    fn new(source: Option<Source>, value: Arc<str>) -> Self {
        // A given value is never read again (`value` returns it first thing).
        let next_read = Instant::now() + source.as_ref().map_or(Duration::ZERO, |s| s.refresh_after);
        Self(Arc::new(Inner { source, current: RwLock::new((value, next_read)), reading: Default::default() }))
    }

    /// The secret `id` (an ARN or a name), read now; `name` is the variable that named it.
    pub async fn read(
        client: aws_sdk_secretsmanager::Client,
        id: String,
        name: &'static str,
        refresh_after: Duration,
    ) -> Result<Self, ConfigError> {
        let source = Source { client, id, name, refresh_after };
        let value = source.fetch().await?;
        Ok(Self::new(Some(source), value))
    }

    /// The value to use now.
    pub async fn value(&self) -> Arc<str> {
        let Some(source) = &self.0.source else { return self.held().0 };
        let (value, next_read) = self.held();
        if Instant::now() < next_read {
            return value;
        }
        let _reading = self.0.reading.lock().await;
        let (value, next_read) = self.held();
        if Instant::now() < next_read {
            return value; // read by whoever held the lock before us
        }
        let (value, next_read) = match source.fetch().await {
            Ok(new) => (new, Instant::now() + source.refresh_after),
            Err(error) => {
                tracing::warn!(error = %error, "keeping the secret's last value; reading it again in {RETRY_AFTER:?}");
                (value, Instant::now() + RETRY_AFTER)
            }
        };
        *self.0.current.write().expect("no panic while the lock is held") = (value.clone(), next_read);
        value
    }

    fn held(&self) -> (Arc<str>, Instant) {
        self.0.current.read().expect("no panic while the lock is held").clone()
    }
}

impl Source {
    async fn fetch(&self) -> Result<Arc<str>, ConfigError> {
        let problem = |problem: String| ConfigError::Secret { name: self.name, problem };
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .send()
            .await
            .map_err(|e| problem(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
        output.secret_string.filter(|s| !s.is_empty()).map(Arc::from).ok_or_else(|| problem("it is empty".into()))
    }
}
