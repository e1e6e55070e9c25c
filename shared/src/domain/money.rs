use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldProblem;

/// The largest unit price the API accepts, in minor units.
pub const MAX_UNIT_PRICE: i64 = 100_000_000;

/// The active ISO 4217 currency codes.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD \
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS \
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT \
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR \
    PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL \
    THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An ISO 4217 currency code such as `USD`. Amounts are always integer minor units beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Every currency the API accepts.
    pub fn all() -> impl Iterator<Item = &'static str> {
        ISO_4217.split_whitespace()
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldProblem> {
        match s.as_bytes() {
            &[a, b, c] if s.chars().all(|ch| ch.is_ascii_uppercase()) && Self::all().any(|code| code == s) => {
                Ok(Self([a, b, c]))
            }
            _ => Err(FieldProblem::new(field, "must be an ISO 4217 currency code such as USD")),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("currency", &s).map_err(|p| p.problem)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_iso_codes_only() {
        assert_eq!(Currency::parse("c", "USD").unwrap().as_str(), "USD");
        assert!(Currency::parse("c", "EUR").is_ok());
        for bad in ["usd", "US", "USDD", "XYZ", "", "U$D"] {
            assert!(Currency::parse("c", bad).is_err(), "{bad} was accepted");
        }
    }
}
