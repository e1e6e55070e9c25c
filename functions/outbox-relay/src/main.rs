//! Lambda entry point; the handler lives in the library.

// The run is one deeply nested future (the relay's and the sweeper's SDK calls); its layout needs
// more than the default query depth. (Incremental builds hide this; a clean build fails without it.)
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent};
use platform::domain::{OrderRules, Timestamp};

fn main() -> Result<(), Error> {
    platform::lambda::start(async {
        let rules = OrderRules::from_env()?;
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let store = platform::aws::order_store(&sdk)?;
        let events = platform::aws::event_publisher(&sdk)?;
        // The schedule's event carries nothing the relay or the sweeper needs.
        platform::lambda::serve((store, events, rules), |(store, events, rules), _: LambdaEvent<serde_json::Value>| {
            outbox_relay::run(store, events, rules, Timestamp::now())
        })
        .await
    })
}
