//! A secret is read again once its refresh interval has passed: a new value (`put-secret-value`)
//! takes over in a warm process, and a read that fails keeps the value in use.

use std::time::Duration;

use platform::secret::Secret;

#[tokio::test]
async fn a_new_value_takes_over_after_the_refresh_interval_and_a_failed_read_keeps_the_last() {
    let sdk = platform::aws::load().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let id = format!("t-{}-key", uuid::Uuid::new_v4().simple());
    client.create_secret().name(&id).secret_string("first").send().await.expect("creating the secret");
    let read = |refresh_after| Secret::read(client.clone(), id.clone(), "TEST_KEY_SECRET", refresh_after);
    let (kept, refreshed) = (read(Duration::from_secs(3600)).await.unwrap(), read(Duration::ZERO).await.unwrap());
    assert_eq!((&*kept.value().await, &*refreshed.value().await), ("first", "first"));

    client.put_secret_value().secret_id(&id).secret_string("second").send().await.expect("rotating it");
    assert_eq!(&*kept.value().await, "first", "read again before its interval");
    assert_eq!(&*refreshed.value().await, "second");

    client.delete_secret().secret_id(&id).force_delete_without_recovery(true).send().await.expect("deleting it");
    assert_eq!(&*refreshed.value().await, "second", "a failed read keeps the last value");
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_at_start_fails_the_start_naming_its_variable() {
    let sdk = platform::aws::load().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let error = Secret::read(client, "t-no-such-secret".into(), "TEST_KEY_SECRET", Duration::ZERO).await.unwrap_err();
    assert!(error.to_string().starts_with("the secret named by TEST_KEY_SECRET could not be read"), "{error}");
}
