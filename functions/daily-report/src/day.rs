use chrono::{Days, NaiveDate};
use platform::domain::Timestamp;
use platform::{Error, Result};
use serde_json::Value;

/// The day to report: `{"date"}` given by hand, or in an EventBridge event's `detail`; otherwise
/// the UTC day before the scheduled event's `time` (or before `now`).
pub fn report_day(payload: &Value, now: Timestamp) -> Result<String> {
    let asked = payload.get("date").or_else(|| payload.get("detail").and_then(|d| d.get("date")));
    if let Some(date) = asked {
        let text = date.as_str().unwrap_or_default();
        return match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) if day.format("%Y-%m-%d").to_string() == text => Ok(text.to_owned()),
            _ => Err(Error::invalid("date", "must be a calendar date, YYYY-MM-DD")),
        };
    }
    let fired = payload.get("time").and_then(Value::as_str).and_then(Timestamp::parse).unwrap_or(now);
    let today = NaiveDate::parse_from_str(&fired.day(), "%Y-%m-%d").expect("Timestamp::day is YYYY-MM-DD");
    Ok(today.checked_sub_days(Days::new(1)).expect("far from the start of time").format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-26T08:31:05.123Z").unwrap()
    }

    #[test]
    fn a_scheduled_event_reports_the_day_before_it_fired() {
        let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-03-01T00:05:00Z", "detail": {}});
        assert_eq!(report_day(&scheduled, now()).unwrap(), "2026-02-28");
        assert_eq!(report_day(&json!({}), now()).unwrap(), "2026-11-25");
    }

    #[test]
    fn a_date_by_hand_or_in_the_detail_is_reported() {
        assert_eq!(report_day(&json!({"date": "2026-11-20"}), now()).unwrap(), "2026-11-20");
        assert_eq!(report_day(&json!({"detail": {"date": "2024-02-29"}}), now()).unwrap(), "2024-02-29");
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in
            [json!("2026-02-30"), json!("2026-1-5"), json!("yesterday"), json!(20261125), json!("2026-11-25/../x")]
        {
            assert!(report_day(&json!({"date": bad}), now()).is_err(), "{bad}");
        }
    }
}
