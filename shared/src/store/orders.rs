use std::collections::BTreeMap;

use aws_sdk_dynamodb::{
    Client,
    error::SdkError,
    operation::{put_item::PutItemError, update_item::UpdateItemError},
    types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure},
};
use serde::Deserialize;

use super::{Item, change_clauses, decode_order, expr::Expr, from_item, n, revisions_below, s, to_item, to_value};
use crate::domain::{
    Caller, Change, CustomerId, Lines, MAX_REVISIONS_TO_UPDATE, Order, OrderId, OrderStatus, Revision, Timestamp,
};
use crate::error::{Error, Result, ResultExt};
use crate::events::{EventType, OutboxEntry};
use crate::keys::{self, GSI1};

/// Orders in the single table.
#[derive(Debug, Clone)]
pub struct OrderStore {
    pub(super) db: Client,
    pub(super) table: String,
}

/// An order as a write left it, with the events still waiting in its outbox.
#[derive(Debug, Clone)]
pub struct Written {
    pub order: Order,
    pub outbox: Vec<OutboxEntry>,
}

impl Written {
    /// The order's id and customer, which its events carry.
    pub fn owner(&self) -> (OrderId, &CustomerId) {
        (self.order.order_id, &self.order.customer_id)
    }
}

/// One page of a customer's orders, newest first.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub customer: CustomerId,
    pub limit: usize,
    /// Where the previous page ended (a decoded cursor).
    pub after: Option<BTreeMap<String, String>>,
    /// The most items one DynamoDB query may return; `None` lets DynamoDB decide (up to 1 MB).
    /// Tests set it to force a page to be filled from several queries.
    pub query_items: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    /// Where this page ended, when more orders follow.
    pub last: Option<BTreeMap<String, String>>,
}

/// What the processor's verdict came to.
#[derive(Debug)]
pub enum Decision {
    /// The order is now `CONFIRMED` or `REJECTED`.
    Applied(Order),
    /// Someone decided first, or the order moved on (a duplicate or late event): nothing to do.
    AlreadyDecided(Order),
    /// The order is still `PENDING` but changed since it was read: read it again.
    Moved,
}

/// What a conditional change found.
enum Outcome {
    Applied(Written),
    /// The order exists but the change's condition did not hold: the order as it was.
    Refused(Order),
}

#[derive(Deserialize)]
struct OutboxOnly {
    #[serde(default)]
    outbox: Vec<OutboxEntry>,
}

impl OrderStore {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self { db, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes a new order with its `ORDER_CREATED` event in its outbox. An order of that id that
    /// exists already (a second execution of the same idempotent request) is returned as it is.
    #[tracing::instrument(skip_all, fields(order_id = %order.order_id))]
    pub async fn create(&self, order: &Order) -> Result<Written> {
        let entry = OutboxEntry::new(EventType::OrderCreated, order.created_at);
        let key = keys::order(&order.order_id);
        let mut item = to_item(order)?;
        item.insert(keys::PK.into(), s(key.pk));
        item.insert(keys::SK.into(), s(key.sk));
        for (name, value) in keys::order_index_keys(order)
            .into_iter()
            .chain(keys::outbox_keys(&order.order_id, order.created_at))
            .chain(keys::pending_order_keys(&order.order_id, order.created_at))
        {
            item.insert(name.into(), s(value));
        }
        item.insert("committed".into(), n(0));
        item.insert("returned".into(), n(0));
        item.insert("outbox".into(), to_value(&[&entry])?);
        item.insert("history".into(), to_value(&order.history)?);
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written { order: order.clone(), outbox: vec![entry] }),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                PutItemError::ConditionalCheckFailedException(existing) => written(existing.item.unwrap_or_default()),
                other => Err(Error::internal("writing a new order", other)),
            },
            Err(e) => Err(Error::internal("writing a new order", e)),
        }
    }

    /// The order with this id, whoever owns it.
    #[tracing::instrument(skip(self))]
    pub async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        self.read(id).await?.map(decode_order).transpose()
    }

    /// A page of a customer's orders, newest first.
    #[tracing::instrument(skip(self, page), fields(customer = %page.customer, limit = page.limit))]
    pub async fn list(&self, page: PageRequest) -> Result<OrderPage> {
        let mut expr = Expr::default();
        let key_condition = format!(
            "{} AND begins_with({}, {})",
            expr.eq(GSI1.pk, s(keys::customer_orders(&page.customer))),
            expr.name(GSI1.sk),
            expr.value(s(keys::ORDER_PREFIX)),
        );
        let mut start = page.after.map(|key| key.into_iter().map(|(k, v)| (k, s(v))).collect());
        // One more than asked for tells whether another page follows. DynamoDB may stop a query
        // short of its limit (at 1 MB) and say where with LastEvaluatedKey: read on from there
        // until the page is full or the listing ends, so a short page never claims to be the last.
        let mut orders: Vec<Order> = vec![];
        loop {
            let wanted = page.limit + 1 - orders.len();
            let output = self
                .db
                .query()
                .table_name(&self.table)
                .index_name(GSI1.name)
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(false)
                .limit(page.query_items.map_or(wanted, |most| most.min(wanted)) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("listing orders")?;
            for item in output.items.unwrap_or_default() {
                orders.push(decode_order(item)?);
            }
            match output.last_evaluated_key {
                Some(next) if orders.len() <= page.limit => start = Some(next),
                _ => break,
            }
        }
        let last = (orders.len() > page.limit).then(|| {
            orders.truncate(page.limit);
            listing_key(orders.last().expect("limit is at least 1"))
        });
        Ok(OrderPage { orders, last })
    }

    /// Replaces an order's items and currency, bumping its version and sending it back to `PENDING`.
    #[tracing::instrument(skip(self, caller, lines))]
    pub async fn update_lines(
        &self,
        caller: &Caller,
        id: &OrderId,
        lines: &Lines,
        if_match: Option<u64>,
        now: Timestamp,
    ) -> Result<Written> {
        let entry = OutboxEntry::new(EventType::OrderUpdated, now);
        // Back to PENDING: the processor decides every version of an order by the same rules.
        let sets = vec![
            ("items", to_value(&lines.items)?),
            ("currency", s(lines.currency.as_str())),
            ("total", n(lines.total)),
            ("status", s(OrderStatus::Pending.as_str())),
        ];
        let [pending_pk, pending_sk] = keys::pending_order_keys(id, now);
        let sets = sets.into_iter().chain([(pending_pk.0, s(pending_pk.1)), (pending_sk.0, s(pending_sk.1))]).collect();
        let revision = Revision::lines(lines, now);
        match self.apply(id, Change::Update, Some(caller), if_match, sets, Some(entry), revision).await? {
            Outcome::Applied(written) => Ok(written),
            Outcome::Refused(order) => Err(refusal(&order, Change::Update, if_match)),
        }
    }

    /// Cancels an order. An order already cancelled is returned as it is, with nothing written.
    #[tracing::instrument(skip(self, caller))]
    pub async fn cancel(&self, caller: &Caller, id: &OrderId, now: Timestamp) -> Result<Written> {
        let entry = OutboxEntry::new(EventType::OrderCancelled, now);
        let sets = vec![("status", s(OrderStatus::Cancelled.as_str()))];
        let revision = Revision::status(OrderStatus::Cancelled, None, now);
        match self.apply(id, Change::Cancel, Some(caller), None, sets, Some(entry), revision).await? {
            Outcome::Applied(written) => Ok(written),
            Outcome::Refused(order) if order.status == OrderStatus::Cancelled => Ok(Written { order, outbox: vec![] }),
            Outcome::Refused(order) => Err(refusal(&order, Change::Cancel, None)),
        }
    }

    /// The order processor's verdict on a `PENDING` order at `seen_version`: `Ok(reason)` rejects.
    #[tracing::instrument(skip(self, verdict))]
    pub async fn decide(
        &self,
        id: &OrderId,
        seen_version: u64,
        verdict: Result<(), String>,
        now: Timestamp,
    ) -> Result<Decision> {
        let (change, sets, revision) = match verdict {
            Ok(()) => (
                Change::Confirm,
                vec![("status", s(OrderStatus::Confirmed.as_str()))],
                Revision::status(OrderStatus::Confirmed, None, now),
            ),
            Err(reason) => (
                Change::Reject,
                vec![("status", s(OrderStatus::Rejected.as_str())), ("rejectionReason", s(&reason))],
                Revision::status(OrderStatus::Rejected, Some(&reason), now),
            ),
        };
        Ok(match self.apply(id, change, None, Some(seen_version), sets, None, revision).await? {
            Outcome::Applied(written) => Decision::Applied(written.order),
            Outcome::Refused(order) if order.status == OrderStatus::Pending => Decision::Moved,
            Outcome::Refused(order) => Decision::AlreadyDecided(order),
        })
    }

    /// The stored order item, read consistently.
    pub(super) async fn read(&self, id: &OrderId) -> Result<Option<Item>> {
        super::read_item(&self.db, &self.table, keys::order(id), "reading an order").await
    }

    /// The one conditional write behind every change of an order: the change's allowed statuses,
    /// ownership unless the caller is an admin, an optional expected version, and the change's
    /// revision and event appended to the history and the outbox, all in one single-item update.
    #[allow(clippy::too_many_arguments)]
    async fn apply(
        &self,
        id: &OrderId,
        change: Change,
        caller: Option<&Caller>,
        if_match: Option<u64>,
        sets: Vec<(&str, AttributeValue)>,
        entry: Option<OutboxEntry>,
        revision: Revision,
    ) -> Result<Outcome> {
        let key = keys::order(id);
        let mut expr = Expr::default();

        let mut assignments: Vec<String> = sets.into_iter().map(|(name, value)| expr.eq(name, value)).collect();
        // A decided or cancelled order awaits no decision any more: it leaves the sweeper's index.
        let removes = match change {
            Change::Confirm | Change::Reject | Change::Cancel => {
                format!(" REMOVE {}, {}", expr.name(keys::GSI4.pk), expr.name(keys::GSI4.sk))
            }
            Change::Update => String::new(),
        };
        assignments.extend(change_clauses(&mut expr, id, entry.as_ref(), &revision)?);

        let mut conditions = vec![
            "attribute_exists(pk)".to_owned(),
            expr.is_in("status", change.allowed_from().iter().map(|st| s(st.as_str()))),
        ];
        // Money held blocks the change (see `Order::refusal`): an update could move the total
        // under past payments; a cancel would strand what is captured or in flight.
        match change {
            Change::Update => {
                conditions.push(expr.eq("committed", n(0)));
                conditions.push(revisions_below(&mut expr, MAX_REVISIONS_TO_UPDATE));
            }
            Change::Cancel => conditions.push(format!("{} = {}", expr.name("committed"), expr.name("returned"))),
            Change::Confirm | Change::Reject => {}
        }
        if let Some(caller) = caller.filter(|c| !c.admin) {
            conditions.push(expr.eq("customerId", s(caller.customer_id.as_str())));
        }
        if let Some(expected) = if_match {
            conditions.push(expr.eq("version", n(expected)));
        }

        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.pk))
            .key(keys::SK, s(key.sk))
            .update_expression(format!("SET {}{}", assignments.join(", "), removes))
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Outcome::Applied(written(output.attributes.unwrap_or_default())?)),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => match failed.item {
                    Some(old) => {
                        let order = decode_order(old)?;
                        match caller {
                            Some(c) if !c.can_access(&order.customer_id) => Err(Error::order_not_found()),
                            _ => Ok(Outcome::Refused(order)),
                        }
                    }
                    None => Err(Error::order_not_found()),
                },
                other => Err(Error::internal("changing an order", other)),
            },
            Err(e) => Err(Error::internal("changing an order", e)),
        }
    }
}

pub(super) fn written(item: Item) -> Result<Written> {
    let OutboxOnly { outbox } = from_item(item.clone())?;
    Ok(Written { order: decode_order(item)?, outbox })
}

/// Why a change was refused: a stale `If-Match` first (HTTP evaluates preconditions before the
/// method), then the state machine's reason.
fn refusal(order: &Order, change: Change, if_match: Option<u64>) -> Error {
    if if_match.is_some_and(|v| v != order.version) {
        return Error::PreconditionFailed(format!("order is at version {}", order.version).into());
    }
    order.refusal(change).unwrap_or(Error::ConcurrentChange)
}

/// The `gsi1` position of an order, as a cursor carries it.
fn listing_key(order: &Order) -> BTreeMap<String, String> {
    let key = keys::order(&order.order_id);
    let [customer, listed, ..] = keys::order_index_keys(order);
    BTreeMap::from([
        (keys::PK.to_owned(), key.pk),
        (keys::SK.to_owned(), key.sk),
        (customer.0.to_owned(), customer.1),
        (listed.0.to_owned(), listed.1),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LineItemInput;

    #[test]
    fn a_change_refused_for_no_reason_the_order_shows_is_a_concurrent_change_to_retry() {
        let lines = Lines::parse("USD", &[LineItemInput { sku: "A".into(), quantity: 1, unit_price: 5 }]).unwrap();
        let mut order = Order::new(OrderId::new(), CustomerId::parse("c", "alice").unwrap(), lines, Timestamp::now());
        assert!(matches!(refusal(&order, Change::Update, None), Error::ConcurrentChange));
        assert!(matches!(refusal(&order, Change::Update, Some(7)), Error::PreconditionFailed(_)));
        order.status = OrderStatus::Rejected;
        assert!(matches!(refusal(&order, Change::Update, None), Error::Conflict(_)));
    }
}
