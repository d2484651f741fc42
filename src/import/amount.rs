//! Exact amounts as banks write them: `-1,234.56`, `1.234,56`, `(12.00)`,
//! `$5`, `12.50-`. Parsed digit by digit into the currency's minor units
//! (through [`Money::parse`]); never through a float.

use crate::domain::{Currency, Money};

/// How a file writes numbers: the decimal mark and the thousands separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    pub decimal: char,
    /// `None`: no grouping allowed. `Some(' ')` also accepts no-break and
    /// thin spaces.
    pub thousands: Option<char>,
}

impl NumberFormat {
    /// `1,234.56`
    pub const DOT: NumberFormat = NumberFormat { decimal: '.', thousands: Some(',') };

    /// OFX writes amounts without grouping, with a period or (some banks) a
    /// comma as the decimal mark.
    pub fn ofx(text: &str) -> NumberFormat {
        let decimal = if text.contains(',') && !text.contains('.') { ',' } else { '.' };
        NumberFormat { decimal, thousands: None }
    }
}

/// Parses `text` exactly into `currency`. Extra decimals are refused unless
/// they are zeros (`12.340` is 12.34 exactly; `12.345` is an error).
pub fn parse(text: &str, fmt: NumberFormat, currency: Currency) -> Result<Money, String> {
    let shown = || crate::domain::text::clean_line(text, 40);
    let mut s = text.trim();
    if s.is_empty() {
        return Err("the amount is empty".into());
    }
    // One sign at most, wherever it is. Signs used to cancel out, so that
    // "--5", "(-5)" or "-$-5" read as +5, a debit taken for a credit (found
    // by fuzzing: tests/fixtures/fuzz/amount/double-minus-ofx).
    let mut signs = 0;
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        signs += 1;
        s = inner.trim();
    }
    // A sign before or after a currency symbol or code: "-$5", "$-5", "USD 5".
    for _ in 0..2 {
        if let Some(rest) = s.strip_prefix(['-', '\u{2212}']) {
            negative = true;
            signs += 1;
            s = rest.trim_start();
        } else if let Some(rest) = s.strip_prefix('+') {
            signs += 1;
            s = rest.trim_start();
        }
        s = strip_currency(s, currency);
    }
    if let Some(rest) = s.strip_suffix(['-', '\u{2212}']) {
        negative = true;
        signs += 1;
        s = rest.trim_end();
    }
    if signs > 1 {
        return Err(format!("amount {:?} has more than one sign", shown()));
    }
    s = strip_currency(s, currency);

    let not_a_number = || {
        let grouping = match fmt.thousands {
            Some(' ') => " and thousands grouped by spaces".to_string(),
            Some(t) => format!(" and thousands grouped by {t:?}"),
            None => String::new(),
        };
        format!("amount {:?} is not a number written with {:?} as the decimal mark{grouping}", shown(), fmt.decimal)
    };
    let (whole, frac) = match s.split_once(fmt.decimal) {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let whole = ungroup(whole, fmt.thousands).ok_or_else(not_a_number)?;
    let frac = match frac {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => f,
        Some(_) => return Err(not_a_number()),
        None => "",
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(not_a_number());
    }
    let exponent = currency.exponent() as usize;
    let significant = frac.trim_end_matches('0');
    if significant.len() > exponent {
        return Err(format!("amount {:?} has more decimals than {currency} allows ({exponent})", shown()));
    }
    let frac = &frac[..frac.len().min(exponent).max(significant.len())];
    let canonical = format!(
        "{}{}{}{}",
        if negative { "-" } else { "" },
        if whole.is_empty() { "0" } else { &whole },
        if frac.is_empty() { "" } else { "." },
        frac
    );
    Money::parse(&canonical, currency).map_err(|e| match e {
        crate::domain::MoneyError::Overflow(_) => format!("amount {:?} is too large", shown()),
        _ => not_a_number(),
    })
}

/// Drops a currency symbol or the currency's code at either end.
fn strip_currency(s: &str, currency: Currency) -> &str {
    let s = s.trim();
    let symbol = currency.symbol().trim();
    for mark in [symbol, currency.code(), "$", "€", "£", "¥"] {
        if mark.is_empty() {
            continue;
        }
        if let Some(rest) = s.strip_prefix(mark) {
            return rest.trim();
        }
        if let Some(rest) = s.strip_suffix(mark) {
            return rest.trim();
        }
    }
    s
}

/// The integer part without its thousands separators, if it is well formed:
/// digits only, or groups of three after a first group of one to three.
fn ungroup(whole: &str, thousands: Option<char>) -> Option<String> {
    let is_sep = |c: char| match thousands {
        Some(' ') => c == ' ' || c == '\u{a0}' || c == '\u{202f}',
        Some(t) => c == t,
        None => false,
    };
    if !whole.contains(is_sep) {
        return whole.bytes().all(|b| b.is_ascii_digit()).then(|| whole.to_string());
    }
    let groups: Vec<&str> = whole.split(is_sep).collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits = groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    (first_ok && rest_ok && digits).then(|| groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(text: &str, fmt: NumberFormat) -> Result<i64, String> {
        parse(text, fmt, Currency::USD).map(|m| m.minor)
    }

    const COMMA: NumberFormat = NumberFormat { decimal: ',', thousands: Some('.') };

    #[test]
    fn reads_what_banks_write() {
        assert_eq!(usd("-1,234.56", NumberFormat::DOT), Ok(-123_456));
        assert_eq!(usd("1234.5", NumberFormat::DOT), Ok(123_450));
        assert_eq!(usd("$1,000", NumberFormat::DOT), Ok(100_000));
        assert_eq!(usd("-$12.00", NumberFormat::DOT), Ok(-1_200));
        assert_eq!(usd("$-12.00", NumberFormat::DOT), Ok(-1_200));
        assert_eq!(usd("(12.00)", NumberFormat::DOT), Ok(-1_200));
        assert_eq!(usd("12.50-", NumberFormat::DOT), Ok(-1_250));
        assert_eq!(usd("+7", NumberFormat::DOT), Ok(700));
        assert_eq!(usd(".5", NumberFormat::DOT), Ok(50));
        assert_eq!(usd("12.3400", NumberFormat::DOT), Ok(1_234));
        assert_eq!(usd("1.234,56", COMMA), Ok(123_456));
        assert_eq!(usd("-0,99", COMMA), Ok(-99));
        let spaces = NumberFormat { decimal: ',', thousands: Some(' ') };
        assert_eq!(usd("1\u{a0}234,56", spaces), Ok(123_456));
        assert_eq!(usd("-12,34", NumberFormat::ofx("-12,34")), Ok(-1_234));
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(parse("¥1,200", NumberFormat::DOT, jpy).map(|m| m.minor), Ok(1_200));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert!(usd("12.345", NumberFormat::DOT).unwrap_err().contains("more decimals"));
        assert!(usd("1.234,56", NumberFormat::DOT).is_err(), "comma decimals in a dot layout");
        assert!(usd("1234.56", COMMA).is_err(), "a dot is not a thousands group here");
        assert!(usd("1,23,456", NumberFormat::DOT).is_err());
        assert!(usd("12,34", NumberFormat { decimal: '.', thousands: None }).is_err());
        for bad in
            ["", " ", "-", "abc", "1e5", "NaN", "1.", "1..2", "--", "()", "12 34", "--5", "(-5)", "-$-5", "-5-", "+-5"]
        {
            assert!(usd(bad, NumberFormat::DOT).is_err(), "{bad:?}");
        }
        assert!(usd("99999999999999999999", NumberFormat::DOT).unwrap_err().contains("too large"));
        let jpy = Currency::new("JPY").unwrap();
        assert!(parse("1.5", NumberFormat::DOT, jpy).is_err());
    }

    proptest! {
        #[test]
        fn grouped_dot_amounts_round_trip(minor in -10_000_000_000i64..10_000_000_000) {
            let m = Money::new(minor, Currency::USD);
            // "$1,234.56" → "1,234.56" with the sign in front.
            let shown = m.to_string().replace('$', "");
            prop_assert_eq!(parse(&shown, NumberFormat::DOT, Currency::USD), Ok(m));
            let comma = shown.replace(',', "_").replace('.', ",").replace('_', ".");
            prop_assert_eq!(parse(&comma, COMMA, Currency::USD), Ok(m));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse(&s, NumberFormat::DOT, Currency::USD);
            let _ = parse(&s, COMMA, Currency::USD);
        }
    }
}
