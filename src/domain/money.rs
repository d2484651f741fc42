//! Exact money: integer minor units with an ISO 4217 currency code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Errors from parsing or combining money values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code {0:?} (expected an ISO 4217 code such as USD)")]
    UnknownCurrency(String),
    #[error("{0:?} is not an amount (expected digits such as 12.34 or -5)")]
    NotAnAmount(String),
    #[error("{amount:?} has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals { amount: String, currency: Currency, exponent: u32 },
    #[error("amount {0:?} is too large")]
    Overflow(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
}

/// (code, minor-unit exponent, symbol used before the amount)
const CURRENCIES: &[(&str, u32, &str)] = &[
    ("USD", 2, "$"),
    ("EUR", 2, "€"),
    ("GBP", 2, "£"),
    ("JPY", 0, "¥"),
    ("CAD", 2, "CA$"),
    ("AUD", 2, "A$"),
    ("NZD", 2, "NZ$"),
    ("CHF", 2, "CHF "),
    ("SEK", 2, "SEK "),
    ("NOK", 2, "NOK "),
    ("DKK", 2, "DKK "),
    ("PLN", 2, "PLN "),
    ("CZK", 2, "CZK "),
    ("MXN", 2, "MX$"),
    ("BRL", 2, "R$"),
    ("INR", 2, "₹"),
    ("CNY", 2, "CN¥"),
    ("HKD", 2, "HK$"),
    ("SGD", 2, "S$"),
    ("KRW", 0, "₩"),
    ("ZAR", 2, "R "),
    ("KWD", 3, "KWD "),
    ("BHD", 3, "BHD "),
];

/// An ISO 4217 currency code that finbox knows the minor unit of.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    pub fn new(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _, _)| *c == upper)
            .map(|(c, _, _)| {
                let b = c.as_bytes();
                Currency([b[0], b[1], b[2]])
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &str {
        // Only ever built from the ASCII table above.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    fn entry(&self) -> &'static (&'static str, u32, &'static str) {
        CURRENCIES.iter().find(|(c, _, _)| c.as_bytes() == self.0).unwrap_or(&CURRENCIES[0])
    }

    /// Number of decimal places of the minor unit (2 for USD, 0 for JPY).
    pub fn exponent(&self) -> u32 {
        self.entry().1
    }

    pub fn symbol(&self) -> &'static str {
        self.entry().2
    }

    /// One major unit in minor units (100 for USD).
    pub fn unit(&self) -> i64 {
        10i64.pow(self.exponent())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money: `minor` units (cents for USD) of `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses a decimal amount such as `"-1234.5"` or `"12"` exactly.
    /// Rejects more decimals than the currency has, and anything that would overflow.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let s = text.trim();
        let bad = || MoneyError::NotAnAmount(text.to_string());
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if digits.contains('.') && frac.is_empty() {
            return Err(bad());
        }
        let exp = currency.exponent();
        if frac.len() as u32 > exp {
            return Err(MoneyError::TooManyDecimals { amount: text.to_string(), currency, exponent: exp });
        }
        let overflow = || MoneyError::Overflow(text.to_string());
        if whole.len() > 24 {
            return Err(overflow());
        }
        // Accumulate in i128 so that i64::MIN itself parses.
        let mut value: i128 = 0;
        for b in whole.bytes().chain(frac.bytes()) {
            value = value * 10 + (b - b'0') as i128;
        }
        value *= 10i128.pow(exp - frac.len() as u32);
        if negative {
            value = -value;
        }
        let minor = i64::try_from(value).map_err(|_| overflow())?;
        Ok(Money { minor, currency })
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, currency: self.currency })
            .ok_or_else(|| MoneyError::Overflow(format!("{self} + {other}")))
    }

    pub fn abs(self) -> Money {
        Money { minor: self.minor.saturating_abs(), currency: self.currency }
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// The plain decimal form without symbol or grouping: `-1234.56`.
    pub fn to_decimal_string(&self) -> String {
        let exp = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let unit = 10u64.pow(exp);
        format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = exp as usize)
    }
}

/// Formats as a person reads money: `$1,234.56`, `-$12.00`, `€3.10`, `¥1,200`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(f, i128::from(self.minor), self.currency)
    }
}

/// `-$1,234.56`: sign, symbol, grouped whole units, the currency's decimals.
fn show(f: &mut fmt::Formatter<'_>, minor: i128, currency: Currency) -> fmt::Result {
    let exp = currency.exponent();
    let abs = minor.unsigned_abs();
    let unit = 10u128.pow(exp);
    let whole = group_thousands(abs / unit);
    let sign = if minor < 0 { "-" } else { "" };
    let sym = currency.symbol();
    if exp == 0 {
        write!(f, "{sign}{sym}{whole}")
    } else {
        write!(f, "{sign}{sym}{whole}.{:0width$}", abs % unit, width = exp as usize)
    }
}

/// A sum of amounts in one currency: 128 bits wide, so that no number of
/// stored balances (each an `i64`) can overflow it. Totals are shown, never
/// stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Total {
    pub minor: i128,
    pub currency: Currency,
}

impl Total {
    /// Sums amounts per currency, in the order each currency first appears.
    pub fn by_currency(amounts: impl IntoIterator<Item = Money>) -> Vec<Total> {
        let mut totals: Vec<Total> = Vec::new();
        for m in amounts {
            match totals.iter_mut().find(|t| t.currency == m.currency) {
                Some(t) => t.minor += i128::from(m.minor),
                None => totals.push(Total { minor: i128::from(m.minor), currency: m.currency }),
            }
        }
        totals
    }
}

impl fmt::Display for Total {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(f, self.minor, self.currency)
    }
}

/// 1234567 → "1,234,567".
pub fn group_thousands(n: impl Into<u128>) -> String {
    let n: u128 = n.into();
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(s: &str) -> Result<Money, MoneyError> {
        Money::parse(s, Currency::USD)
    }

    #[test]
    fn parses_exact_amounts() {
        assert_eq!(usd("12.34").unwrap().minor, 1234);
        assert_eq!(usd("-0.5").unwrap().minor, -50);
        assert_eq!(usd("7").unwrap().minor, 700);
        assert_eq!(usd("+1.05").unwrap().minor, 105);
        let jpy = Currency::new("jpy").unwrap();
        assert_eq!(Money::parse("1200", jpy).unwrap().minor, 1200);
    }

    #[test]
    fn rejects_bad_amounts_with_reasons() {
        assert!(matches!(usd("1.234"), Err(MoneyError::TooManyDecimals { .. })));
        assert!(matches!(usd("abc"), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(usd("1."), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(usd(""), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(usd("NaN"), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(usd("1e5"), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(usd("99999999999999999999"), Err(MoneyError::Overflow(_))));
        assert!(matches!(Currency::new("XXX"), Err(MoneyError::UnknownCurrency(_))));
    }

    #[test]
    fn formats_like_a_person_reads_it() {
        assert_eq!(usd("1234.56").unwrap().to_string(), "$1,234.56");
        assert_eq!(usd("-12").unwrap().to_string(), "-$12.00");
        assert_eq!(usd("0.07").unwrap().to_string(), "$0.07");
        assert_eq!(usd("1000000").unwrap().to_string(), "$1,000,000.00");
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(Money::new(-1200, jpy).to_string(), "-¥1,200");
        assert_eq!(Money::new(i64::MIN, Currency::USD).to_string(), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn adding_checks_currency_and_overflow() {
        let eur = Currency::new("EUR").unwrap();
        let a = Money::new(5, Currency::USD);
        assert!(matches!(a.checked_add(Money::new(1, eur)), Err(MoneyError::CurrencyMismatch(..))));
        assert!(Money::new(i64::MAX, Currency::USD).checked_add(a).is_err());
        assert_eq!(a.checked_add(a).unwrap().minor, 10);
    }

    proptest! {
        #[test]
        fn decimal_string_round_trips(minor in any::<i64>()) {
            let m = Money::new(minor, Currency::USD);
            prop_assert_eq!(Money::parse(&m.to_decimal_string(), Currency::USD), Ok(m));
        }
    }
}
