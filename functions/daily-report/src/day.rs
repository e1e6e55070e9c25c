use chrono::{Days, NaiveDate};
use platform::domain::Timestamp;
use platform::{Error, Result};
use serde_json::Value;

/// The most days one backfill (`{"from", "to"}`) reports, so one invocation fits the function's
/// timeout; a longer range is several invocations.
pub const MAX_BACKFILL_DAYS: u64 = 31;

/// The days to report: `{"date"}` or a backfill's `{"from", "to"}` (both included), given by
/// hand or in an EventBridge event's `detail`; otherwise the UTC day before the scheduled event's
/// `time` (or before `now`).
pub fn report_days(payload: &Value, now: Timestamp) -> Result<Vec<NaiveDate>> {
    let field = |name: &str| payload.get(name).or_else(|| payload.get("detail").and_then(|d| d.get(name)));
    if let Some(date) = field("date") {
        return Ok(vec![parse("date", date)?]);
    }
    match (field("from"), field("to")) {
        (Some(from), Some(to)) => {
            let (from, to) = (parse("from", from)?, parse("to", to)?);
            let span = to.signed_duration_since(from).num_days();
            if span < 0 {
                return Err(Error::invalid("to", "must not be before from"));
            }
            if span as u64 >= MAX_BACKFILL_DAYS {
                return Err(Error::invalid("to", format!("a backfill reports at most {MAX_BACKFILL_DAYS} days")));
            }
            Ok(from.iter_days().take(span as usize + 1).collect())
        }
        (None, None) => {
            let fired = payload.get("time").and_then(Value::as_str).and_then(Timestamp::parse).unwrap_or(now);
            let today = NaiveDate::parse_from_str(&fired.day(), "%Y-%m-%d").expect("Timestamp::day is YYYY-MM-DD");
            Ok(vec![today.checked_sub_days(Days::new(1)).expect("far from the start of time")])
        }
        (None, Some(_)) => Err(Error::invalid("from", "is required with to")),
        (Some(_), None) => Err(Error::invalid("to", "is required with from")),
    }
}

fn parse(field: &str, value: &Value) -> Result<NaiveDate> {
    let text = value.as_str().unwrap_or_default();
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) if day.format("%Y-%m-%d").to_string() == text => Ok(day),
        _ => Err(Error::invalid(field, "must be a calendar date, YYYY-MM-DD")),
    }
}

/// The day's first instant and the next day's (00:00 and 24:00 UTC).
pub fn bounds(day: NaiveDate) -> (Timestamp, Timestamp) {
    let start =
        |d: NaiveDate| Timestamp::from_millis(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis());
    (start(day), start(day.succ_opt().expect("far from the end of time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-26T08:31:05.123Z").unwrap()
    }

    fn days(payload: Value) -> Vec<String> {
        report_days(&payload, now()).unwrap().iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn a_scheduled_event_reports_the_day_before_it_fired() {
        let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-03-01T00:05:00Z", "detail": {}});
        assert_eq!(days(scheduled), ["2026-02-28"]);
        assert_eq!(days(json!({})), ["2026-11-25"]);
    }

    #[test]
    fn a_date_by_hand_or_in_the_detail_is_reported() {
        assert_eq!(days(json!({"date": "2026-11-20"})), ["2026-11-20"]);
        assert_eq!(days(json!({"detail": {"date": "2024-02-29"}})), ["2024-02-29"]);
    }

    #[test]
    fn a_backfill_reports_each_day_of_its_range() {
        assert_eq!(days(json!({"from": "2026-02-27", "to": "2026-03-01"})), ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert_eq!(days(json!({"detail": {"from": "2026-11-01", "to": "2026-11-01"}})), ["2026-11-01"]);
        assert_eq!(days(json!({"from": "2026-01-01", "to": "2026-01-31"})).len(), 31);
    }

    #[test]
    fn impossible_dates_and_ranges_are_refused() {
        for bad in
            [json!("2026-02-30"), json!("2026-1-5"), json!("yesterday"), json!(20261125), json!("2026-11-25/../x")]
        {
            assert!(report_days(&json!({"date": bad}), now()).is_err(), "{bad}");
        }
        for bad in [
            json!({"from": "2026-11-02", "to": "2026-11-01"}),
            json!({"from": "2026-01-01", "to": "2026-02-01"}),
            json!({"from": "2026-11-01"}),
            json!({"to": "2026-11-01"}),
        ] {
            assert!(report_days(&bad, now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_day_runs_from_its_midnight_to_the_next() {
        let (start, end) = bounds(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(
            (start.to_string(), end.to_string()),
            ("2026-12-31T00:00:00.000Z".into(), "2027-01-01T00:00:00.000Z".into())
        );
    }
}
