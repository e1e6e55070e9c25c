//! The DynamoDB emulator of the tests and the local platform: dynoxide (DynamoDB's API on SQLite,
//! atomic per item and per transaction by itself) on 127.0.0.1. Started by `scripts/moto`.
//!
//! usage: dynamodb PORT [FILE]   (in memory without FILE; with it, the tables survive a restart)

use std::time::Duration;

use dynoxide::Database;

/// How often items whose TTL passed are deleted. DynamoDB does it lazily too (within days), and
/// nothing here relies on it: expiry is part of every condition that reads a TTL.
const TTL_SWEEP_PERIOD: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: dynamodb PORT [FILE]";
    let port: u16 = args.next().and_then(|p| p.parse().ok()).ok_or(usage)?;
    let db = match args.next() {
        Some(path) => Database::new(&path)?,
        None => Database::memory()?,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(sweep_ttl(db.clone()));
    let shutdown = async {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    // A graceful stop lets SQLite close the file cleanly, so a restart finds every table.
    dynoxide::server::serve_with_shutdown(listener, db, shutdown).await?;
    Ok(())
}

async fn sweep_ttl(db: Database) {
    let mut ticks = tokio::time::interval(TTL_SWEEP_PERIOD);
    loop {
        ticks.tick().await;
        let db = db.clone();
        if let Ok(Err(error)) = tokio::task::spawn_blocking(move || db.sweep_ttl()).await {
            eprintln!("TTL sweep failed: {error}");
        }
    }
}
