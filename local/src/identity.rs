//! Each function's own identity on the emulators, as its execution role is in AWS: its clients
//! sign with the access key id `<binary>`, and their session token names the resources this
//! platform was provisioned with (`OrdersTable=t-1-orders&…`). The IAM gate (`local/iam`) reads
//! both to judge every call against that function's role in the templates; to the emulators
//! themselves they are only credentials.

use crate::specs::{BUCKET, DEAD_LETTER_QUEUE, QUEUE, TABLE};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::Resources;

/// `sdk` signing as the function built as `binary`, over `resources`.
pub fn as_function(sdk: &SdkConfig, binary: &str, resources: &Resources) -> SdkConfig {
    let credentials = Credentials::new(binary, "local", Some(session_token(resources)), None, "local-function");
    sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build()
}

/// The same identity for a function's own process: its credentials as environment variables.
pub fn function_env(binary: &str, resources: &Resources) -> [(&'static str, String); 3] {
    [
        ("AWS_ACCESS_KEY_ID", binary.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", session_token(resources)),
    ]
}

/// The template's logical ids and the names they were provisioned under.
fn session_token(resources: &Resources) -> String {
    let queue_name = |url: &str| url.rsplit('/').next().unwrap_or_default().to_owned();
    [
        (TABLE, resources.table.clone()),
        (QUEUE, queue_name(&resources.queue_url)),
        (DEAD_LETTER_QUEUE, queue_name(&resources.dead_letter_queue_url)),
        (BUCKET, resources.bucket.clone()),
    ]
    .iter()
    .map(|(logical, physical)| format!("{logical}={physical}"))
    .collect::<Vec<_>>()
    .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_token_names_each_resource_by_its_logical_id() {
        let resources = Resources {
            table: "t-1-orders".into(),
            queue_url: "http://127.0.0.1:1/123456789012/t-1-order-queue".into(),
            dead_letter_queue_url: "http://127.0.0.1:1/123456789012/t-1-order-dlq".into(),
            bucket: "t-1-exports".into(),
        };
        assert_eq!(
            session_token(&resources),
            "OrdersTable=t-1-orders&OrderQueue=t-1-order-queue&OrderDeadLetterQueue=t-1-order-dlq&ExportsBucket=t-1-exports"
        );
    }
}
