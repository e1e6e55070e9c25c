//! The local platform refuses settings that would weaken it, before it starts anything.

use std::process::Command;

#[test]
fn an_empty_jwt_secret_refuses_to_start_instead_of_signing_with_an_empty_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_local"))
        .env("LOCAL_JWT_SECRET", "")
        .env("PORT", "0")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("LOCAL_JWT_SECRET is set but empty"));
}
