//! The daily report: one UTC day as it stood at its end, whenever it runs.
//!
//! - `orders.csv`: the orders created that day (the write-sharded day index, never a scan), each
//!   stated from its history as of 24:00;
//! - `payments.csv`: the day's money movements, from the ledger's entries of that day;
//! - `summary.json`: counts and money from those two, and the reconciliation of the day's
//!   movements against the payment provider's books, one by one (`reconcile.rs`). Written last:
//!   once it is there, the day is complete.
//!
//! When the provider cannot be reached, the day is written all the same with its reconciliation
//! pending (`reconciliationPending`, the `ReconciliationPending` metric and its alarm), and a
//! marker under [`PENDING_PREFIX`]; every scheduled run reports the days marked again, so the
//! first run after the provider answers completes them (and removes their markers).
//!
//! Nothing it reads changes after the day ends (history and ledger entries are dated and never
//! rewritten), so a rerun writes the same bytes but for `generatedAt`. Memory stays flat however
//! busy the day: the shards are read in parallel, but each holds at most [`PAGES_AHEAD`] unread
//! pages of [`PAGE_ITEMS`], and the CSV part being filled is spooled to `/tmp`, not memory. Rows
//! are written in shard order, then key order.

mod cells;
mod day;
mod movements;
mod orders;
mod reconcile;
mod summary;

use std::future::Future;

use chrono::NaiveDate;
use platform::domain::Timestamp;
use platform::exports::{ExportSink, MultipartWriter};
use platform::keys::DAY_SHARDS;
use platform::metrics::Metric;
use platform::payment_provider::PaymentProvider;
use platform::store::{OrderStore, PaymentStore};
use platform::{Error, Result};
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::Instrument;

pub use cells::neutralise;
pub use day::{MAX_BACKFILL_DAYS, bounds, report_days};
pub use summary::{Mismatch, Reconciliation, Summary};

/// Pages each shard may read ahead of the writer.
pub const PAGES_AHEAD: usize = 1;
/// Items (orders, ledger entries) per page. A fixed count, rather than DynamoDB's 1 MB cap,
/// keeps memory the same however busy the day: at most `(DAY_SHARDS * PAGES_AHEAD + 1) *
/// PAGE_ITEMS` items are held (the unread pages, and the one being written).
pub const PAGE_ITEMS: i32 = 500;
/// CSV part size (S3's minimum is 5 MiB); a part is spooled to `/tmp` while it fills.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
const _: () = assert!(PART_BYTES >= platform::exports::MIN_PART_BYTES);

/// What the report uses, built once per cold start.
#[derive(Debug, Clone)]
pub struct Report<S, P> {
    pub orders: OrderStore,
    pub payments: PaymentStore,
    pub sink: S,
    /// The payment provider, whose books the ledger is reconciled against.
    pub provider: P,
    /// Items per page ([`PAGE_ITEMS`] in production).
    pub page_size: Option<i32>,
    pub part_bytes: usize,
}

/// What an invocation reported: one day's summary, or a backfill's.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Reported {
    Day(Box<Summary>),
    Days { days: Vec<Summary> },
}

/// Where the days whose reconciliation is pending are marked, one empty object per day.
pub const PENDING_PREFIX: &str = "reports/reconciliation-pending/";

/// Runs the report for the day, or the days, an invocation asks for (see [`report_days`]). A
/// scheduled run then reports again the days whose reconciliation is pending (oldest first, at
/// most [`MAX_BACKFILL_DAYS`] a run, so it fits the timeout).
pub async fn handle<S: ExportSink, P: PaymentProvider>(
    report: &Report<S, P>,
    payload: &serde_json::Value,
    now: Timestamp,
) -> Result<Reported> {
    report_now(report, payload, now).instrument(platform::telemetry::scheduled_run()).await
}

async fn report_now<S: ExportSink, P: PaymentProvider>(
    report: &Report<S, P>,
    payload: &serde_json::Value,
    now: Timestamp,
) -> Result<Reported> {
    let field = |name: &str| payload.get(name).or_else(|| payload.get("detail").and_then(|d| d.get(name)));
    let backfill = field("from").is_some();
    let scheduled = !backfill && field("date").is_none();
    let mut days = vec![];
    for day in report_days(payload, now)? {
        days.push(run(report, day).await?);
    }
    if scheduled {
        catch_up(report, &days).await?;
    }
    Ok(match days.pop() {
        Some(only) if !backfill && days.is_empty() => Reported::Day(Box::new(only)),
        last => Reported::Days { days: days.into_iter().chain(last).collect() },
    })
}

/// Reports again each day marked pending but the ones just reported; a day still pending stays
/// marked.
async fn catch_up<S: ExportSink, P: PaymentProvider>(report: &Report<S, P>, reported: &[Summary]) -> Result<()> {
    let marked = report.sink.list_keys(PENDING_PREFIX).await?;
    let days =
        marked.iter().filter_map(|key| NaiveDate::parse_from_str(key.strip_prefix(PENDING_PREFIX)?, "%Y-%m-%d").ok());
    let again: Vec<NaiveDate> = days
        .filter(|day| reported.iter().all(|s| s.date != day.to_string()))
        .take(MAX_BACKFILL_DAYS as usize)
        .collect();
    for day in again {
        let summary = run(report, day).await?;
        tracing::info!(day = %summary.date, pending = summary.reconciliation_pending, "a pending reconciliation retried");
    }
    Ok(())
}

/// Writes the day's `orders.csv`, `payments.csv` and then `summary.json`. A failure leaves no
/// partial CSV behind (its multipart upload is aborted) and no summary. Without the provider's
/// books the day is written with its reconciliation pending, and marked so.
#[tracing::instrument(skip(report))]
pub async fn run<S: ExportSink, P: PaymentProvider>(report: &Report<S, P>, day: NaiveDate) -> Result<Summary> {
    let (start, end) = bounds(day);
    let date = day.to_string();
    let prefix = format!("reports/daily/{date}");
    let mut summary = Summary::new(&date);
    let mut comparison = compare_with_provider(report, &date, (start, end)).await?;

    let mut upload =
        MultipartWriter::start(&report.sink, &format!("{prefix}/orders.csv"), "text/csv", report.part_bytes).await?;
    let written = write_orders(report, &date, end, &mut upload, &mut summary).await;
    finish(upload, written).await?;

    let mut upload =
        MultipartWriter::start(&report.sink, &format!("{prefix}/payments.csv"), "text/csv", report.part_bytes).await?;
    let written = write_movements(report, &date, &mut upload, &mut summary, comparison.as_mut()).await;
    finish(upload, written).await?;

    summary.close(comparison.is_some());
    if let Some(comparison) = comparison {
        comparison.finish(&mut summary);
    }
    // Marked before a pending summary is written, unmarked after a complete one: a run that dies
    // between the two leaves a day reported again for nothing, never a pending day unmarked.
    let marker = format!("{PENDING_PREFIX}{date}");
    if summary.reconciliation_pending {
        report.sink.put_object(&marker, vec![], "text/plain").await?;
    }
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::internal("encoding the summary", e))?;
    report.sink.put_object(&format!("{prefix}/summary.json"), json, "application/json").await?;
    if !summary.reconciliation_pending {
        report.sink.delete_object(&marker).await?;
    }

    let unbalanced = summary.reconciliation.iter().filter(|(_, books)| !books.balanced).map(|(c, _)| c.as_str());
    let unbalanced: Vec<&str> = unbalanced.collect();
    if !unbalanced.is_empty() {
        tracing::error!(day = %date, currencies = ?unbalanced, "the ledger and the provider's books disagree");
    }
    tracing::info!(day = %date, orders = summary.orders.count, "daily report written");
    let metrics = [
        Metric::count("ReportRows", summary.orders.count as i64),
        Metric::count("LedgerUnbalanced", unbalanced.len() as i64),
        Metric::count("ReconciliationPending", i64::from(summary.reconciliation_pending)),
    ];
    platform::metrics::emit(&metrics, None, &[("date", date.clone())]);
    Ok(summary)
}

/// The provider's books from before the day's earliest movement began until the day's end, to
/// compare the day's movements with; `None` when the provider cannot be reached (the day's
/// reconciliation is then pending).
async fn compare_with_provider<S, P: PaymentProvider>(
    report: &Report<S, P>,
    date: &str,
    (start, end): (Timestamp, Timestamp),
) -> Result<Option<reconcile::Comparison>> {
    let earliest = report.payments.earliest_begun(date).await?.map_or(start, |begun| begun.min(start));
    let from = Timestamp::from_millis(earliest.millis() - reconcile::CLOCK_MARGIN_MILLIS);
    match report.provider.books(from, end).await {
        Ok(books) => Ok(Some(reconcile::Comparison::new(books, (start, end)))),
        Err(unanswered) => {
            tracing::error!(day = %date, error = %unanswered, "the provider's books could not be read; reconciliation pending");
            Ok(None)
        }
    }
}

/// `orders.csv`: every shard of the day's orders, each as it stood at `end`.
async fn write_orders<S: ExportSink, P>(
    report: &Report<S, P>,
    day: &str,
    end: Timestamp,
    upload: &mut MultipartWriter<'_, S>,
    summary: &mut Summary,
) -> Result<()> {
    let limit = report.page_size;
    let shards = day_shards(&report.orders, day, move |store, day, shard, after| async move {
        store.day_page(&day, shard, after, limit).await
    });
    upload.write(&header(&orders::HEADER)?).await?;
    for mut pages in shards {
        while let Some(page) = pages.recv().await {
            let mut rows = cells::Rows::new();
            for order in page? {
                if let Some(then) = orders::push(&mut rows, &order, end)? {
                    summary.add_order(&then);
                }
            }
            upload.write(&rows.into_bytes()?).await?;
        }
    }
    Ok(())
}

/// `payments.csv`: every shard of the day's ledger, folded into movements.
async fn write_movements<S: ExportSink, P>(
    report: &Report<S, P>,
    day: &str,
    upload: &mut MultipartWriter<'_, S>,
    summary: &mut Summary,
    mut comparison: Option<&mut reconcile::Comparison>,
) -> Result<()> {
    let limit = report.page_size;
    let shards = day_shards(&report.payments, day, move |store, day, shard, after| async move {
        store.ledger_page(&day, shard, after, limit).await
    });
    upload.write(&header(&movements::HEADER)?).await?;
    let mut each = |movement: &movements::Movement| {
        summary.add_movement(movement);
        if let Some(comparison) = comparison.as_deref_mut() {
            comparison.movement(movement, summary);
        }
    };
    for mut pages in shards {
        let mut fold = movements::Fold::default();
        while let Some(page) = pages.recv().await {
            let mut rows = cells::Rows::new();
            fold.page(page?, &mut rows, &mut each)?;
            upload.write(&rows.into_bytes()?).await?;
        }
        let mut rows = cells::Rows::new();
        fold.finish(&mut rows, &mut each)?;
        upload.write(&rows.into_bytes()?).await?;
    }
    Ok(())
}

fn header(names: &[&str]) -> Result<Vec<u8>> {
    let mut rows = cells::Rows::new();
    rows.push(names.iter().copied())?;
    rows.into_bytes()
}

/// Makes the object visible once all its rows are written, or discards it (nothing becomes
/// visible) when writing them failed.
async fn finish<S: ExportSink>(mut upload: MultipartWriter<'_, S>, written: Result<()>) -> Result<()> {
    let result = match written {
        Ok(()) => upload.finish().await,
        Err(err) => Err(err),
    };
    if result.is_err()
        && let Err(abort) = upload.abort().await
    {
        tracing::error!(error = ?abort, "aborting a failed report upload failed too; the bucket's lifecycle rule cleans it up");
    }
    result
}

/// Every shard of `day`, in shard order, each read ahead by a task of its own that asks
/// `page(store, day, shard, after)` for its pages.
fn day_shards<S, T, C, F, Fut>(store: &S, day: &str, page: F) -> Vec<mpsc::Receiver<Result<Vec<T>>>>
where
    S: Clone + Send + 'static,
    T: Send + 'static,
    C: Send + 'static,
    F: Fn(S, String, u32, Option<C>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<C>)>> + Send,
{
    (0..DAY_SHARDS)
        .map(|shard| {
            let (store, day, page) = (store.clone(), day.to_owned(), page.clone());
            read_ahead(move |after| page(store.clone(), day.clone(), shard, after))
        })
        .collect()
}

/// Pages of one shard, read ahead by a task of its own from `read(after)`, which returns a page
/// and where the next one starts. The task waits for room in the channel before it reads, so a
/// shard holds at most [`PAGES_AHEAD`] unread pages.
fn read_ahead<T, C, F, Fut>(read: F) -> mpsc::Receiver<Result<Vec<T>>>
where
    T: Send + 'static,
    C: Send + 'static,
    F: Fn(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<C>)>> + Send,
{
    let (pages, receiver) = mpsc::channel(PAGES_AHEAD);
    tokio::spawn(async move {
        let mut after = None;
        while let Ok(slot) = pages.reserve().await {
            match read(after.take()).await {
                Ok((page, next)) => {
                    slot.send(Ok(page));
                    match next {
                        Some(next) => after = Some(next),
                        None => return,
                    }
                }
                Err(err) => return slot.send(Err(err)),
            }
        }
    });
    receiver
}
