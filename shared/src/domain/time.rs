use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant in UTC with millisecond precision, written as RFC 3339 (`2026-11-26T08:31:05.123Z`).
///
/// Its text sorts in time order, which is why the key schema can use it in sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis())
    }

    pub fn from_millis(millis: i64) -> Self {
        Self(DateTime::from_timestamp_millis(millis).unwrap_or_default())
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The UTC day, `YYYY-MM-DD`.
    pub fn day(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }

    pub fn parse(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s).ok().map(|t| Self::from_millis(t.timestamp_millis()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let t = Timestamp::from_millis(1_795_681_865_123);
        assert_eq!(t.to_string(), "2026-11-26T08:31:05.123Z");
        assert_eq!(t.day(), "2026-11-26");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(Timestamp::from_millis(1_795_681_865_000).to_string(), "2026-11-26T08:31:05.000Z");
    }
}
