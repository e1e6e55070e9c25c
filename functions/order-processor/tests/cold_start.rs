//! The processor's cold start refuses settings it cannot read, naming the variable, before it
//! touches AWS or the Lambda runtime.

use std::process::Command;

#[test]
fn a_max_order_total_that_does_not_parse_fails_the_cold_start_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_order-processor"))
        .env("MAX_ORDER_TOTAL", "10k")
        .env("ORDERS_TABLE", "orders")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(r#"MAX_ORDER_TOTAL is "10k""#), "{stderr}");
}
