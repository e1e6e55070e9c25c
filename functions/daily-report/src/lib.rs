//! The daily report: one UTC day's orders, read through the write-sharded day index (never a
//! scan), streamed to `reports/daily/<day>/orders.csv` by multipart upload as pages arrive, and
//! summed into `reports/daily/<day>/summary.json`.
//!
//! Memory stays flat however busy the day: the shards are read in parallel, but each holds at
//! most [`PAGES_AHEAD`] unread pages of [`PAGE_ORDERS`], and the CSV part being filled is spooled
//! to `/tmp`, not memory. Rows are written in shard order, then creation order, so a rerun writes
//! the same bytes.

mod day;
mod summary;

use platform::domain::{Order, Timestamp};
use platform::exports::{ExportSink, MultipartWriter};
use platform::keys::DAY_SHARDS;
use platform::metrics::Metric;
use platform::store::OrderStore;
use platform::{Result, ResultExt};
use serde::Serialize;
use tokio::sync::mpsc;

pub use day::report_day;
pub use summary::Summary;

/// Pages each shard may read ahead of the writer.
pub const PAGES_AHEAD: usize = 1;
/// Orders per index page. A fixed count, rather than DynamoDB's 1 MB cap, keeps memory the same
/// however busy the day: at most `(DAY_SHARDS * PAGES_AHEAD + 1) * PAGE_ORDERS` orders are held
/// (the unread pages, and the one being written), and a day of 10,000 orders already reaches it.
pub const PAGE_ORDERS: i32 = 500;
/// CSV part size (S3's minimum is 5 MiB); a part is spooled to `/tmp` while it fills.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
const _: () = assert!(PART_BYTES >= platform::exports::MIN_PART_BYTES);

/// What the report uses, built once per cold start.
#[derive(Debug, Clone)]
pub struct Report<S> {
    pub store: OrderStore,
    pub sink: S,
    /// Orders per index page ([`PAGE_ORDERS`] in production).
    pub page_size: Option<i32>,
    pub part_bytes: usize,
}

const CSV_HEADER: [&str; 11] = [
    "orderId",
    "customerId",
    "status",
    "currency",
    "total",
    "paid",
    "refunded",
    "items",
    "rejectionReason",
    "createdAt",
    "updatedAt",
];

#[derive(Serialize)]
struct Row<'a> {
    order_id: String,
    customer_id: &'a str,
    status: &'static str,
    currency: &'a str,
    total: i64,
    paid: i64,
    refunded: i64,
    /// The line items as JSON: `[{"sku","quantity","unitPrice"}]`.
    items: String,
    rejection_reason: &'a str,
    created_at: String,
    updated_at: String,
}

impl<'a> Row<'a> {
    fn of(order: &'a Order) -> Result<Self> {
        Ok(Self {
            order_id: order.order_id.to_string(),
            customer_id: order.customer_id.as_str(),
            status: order.status.as_str(),
            currency: order.currency.as_str(),
            total: order.total,
            paid: order.paid,
            refunded: order.refunded,
            items: serde_json::to_string(&order.items).context("encoding items")?,
            rejection_reason: order.rejection_reason.as_deref().unwrap_or_default(),
            created_at: order.created_at.to_string(),
            updated_at: order.updated_at.to_string(),
        })
    }
}

/// Runs the report for the day an invocation asks for (see [`report_day`]).
pub async fn handle<S: ExportSink>(report: &Report<S>, payload: &serde_json::Value, now: Timestamp) -> Result<Summary> {
    let day = report_day(payload, now)?;
    run(report, &day).await
}

/// Writes the CSV and then the summary of `day` (`YYYY-MM-DD`). A failure leaves no CSV object
/// behind: its multipart upload is aborted.
#[tracing::instrument(skip(report))]
pub async fn run<S: ExportSink>(report: &Report<S>, day: &str) -> Result<Summary> {
    let prefix = format!("reports/daily/{day}");
    let mut upload =
        MultipartWriter::start(&report.sink, &format!("{prefix}/orders.csv"), "text/csv", report.part_bytes).await?;
    let streamed = match stream_orders(report, day, &mut upload).await {
        Ok(summary) => upload.finish().await.map(|()| summary),
        Err(err) => Err(err),
    };
    let summary = match streamed {
        Ok(summary) => summary,
        Err(err) => {
            if let Err(abort) = upload.abort().await {
                tracing::error!(error = ?abort, "aborting the failed report upload failed too; the bucket's lifecycle rule cleans it up");
            }
            return Err(err);
        }
    };
    let json = serde_json::to_vec_pretty(&summary).context("encoding the summary")?;
    report.sink.put_object(&format!("{prefix}/summary.json"), json, "application/json").await?;
    tracing::info!(day, orders = summary.orders.count, "daily report written");
    let rows = Metric::count("ReportRows", summary.orders.count as i64);
    platform::metrics::emit(&[rows], None, &[("date", day.to_owned())]);
    Ok(summary)
}

/// Reads every shard of the day, in parallel and bounded, writing rows in shard order.
async fn stream_orders<S: ExportSink>(
    report: &Report<S>,
    day: &str,
    upload: &mut MultipartWriter<'_, S>,
) -> Result<Summary> {
    let shards: Vec<_> = (0..DAY_SHARDS)
        .map(|shard| read_shard(report.store.clone(), day.to_owned(), shard, report.page_size))
        .collect();
    let mut header = csv_writer();
    header.write_record(CSV_HEADER).context("writing the CSV header")?;
    upload.write(&csv_bytes(header)?).await?;
    let mut summary = Summary::new(day);
    for mut pages in shards {
        while let Some(page) = pages.recv().await {
            let mut rows = csv_writer();
            for order in page? {
                summary.add(&order);
                rows.serialize(Row::of(&order)?).context("writing a CSV row")?;
            }
            upload.write(&csv_bytes(rows)?).await?;
        }
    }
    Ok(summary)
}

/// An RFC 4180 writer (fields quoted when they need it, CRLF line ends) into memory.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().has_headers(false).terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

fn csv_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    writer.into_inner().map_err(|e| e.into_error()).context("writing CSV")
}

/// Pages of one shard, read ahead by a task of its own. The task waits for room in the channel
/// before it reads, so a shard holds at most [`PAGES_AHEAD`] unread pages.
fn read_shard(
    store: OrderStore,
    day: String,
    shard: u32,
    page_size: Option<i32>,
) -> mpsc::Receiver<Result<Vec<Order>>> {
    let (pages, receiver) = mpsc::channel(PAGES_AHEAD);
    tokio::spawn(async move {
        let mut after = None;
        while let Ok(slot) = pages.reserve().await {
            match store.day_page(&day, shard, after, page_size).await {
                Ok((orders, next)) => {
                    slot.send(Ok(orders));
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
