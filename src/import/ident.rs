//! Stable identities for imported accounts and transactions, so that the
//! same statement imported twice (or two overlapping statements) adds
//! nothing twice.
//!
//! - An account is `kind-last4` (`checking-1234`), shown as `•1234`; the full
//!   number is never kept. Two accounts of one file with the same kind and
//!   last four digits are told apart by a short hash of the number.
//! - A transaction is `account:bank id` when the bank gives an id (OFX
//!   FITID, a CSV id column), else `account:~hash` of its date, amount,
//!   description and its occurrence among identical rows of the file.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

use crate::domain::{AccountKind, Money};

/// Longest bank transaction id kept as is; longer ones are hashed.
const MAX_BANK_ID: usize = 96;

/// The account a person names for a CSV file (`--account`, or `account` in
/// a bank's `[import]` table): its last 4 digits, or the whole number (digits,
/// spaces and dashes), of which the last 4 count. The reason when it is
/// neither.
pub fn given_account(given: &str) -> Result<(), String> {
    let b = given.trim().as_bytes();
    if b.iter().any(u8::is_ascii_digit) && b.iter().all(|c| c.is_ascii_digit() || *c == b' ' || *c == b'-') {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not an account number: give its last 4 digits, e.g. 1234",
            crate::domain::text::clean_line(given, 20)
        ))
    }
}

/// The external id and mask of an account from its number, or `None` when
/// the number has no digits.
pub fn account(kind: AccountKind, number: &str) -> Option<(String, String)> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let mask: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    Some((format!("{kind}-{mask}"), mask))
}

/// `id` with a short hash of the full account number appended.
pub fn disambiguate(id: &str, number: &str) -> String {
    format!("{id}-{}", &hex(&Sha256::digest(number.trim().as_bytes()))[..4])
}

/// A transaction id given by the bank, scoped to its account. Ids with
/// anything but printable ASCII, or very long ones, are hashed.
pub fn bank_txn(account: &str, id: &str) -> String {
    let id = id.trim();
    if id.len() <= MAX_BANK_ID && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        format!("{account}:{id}")
    } else {
        format!("{account}:#{}", &hex(&Sha256::digest(id.as_bytes()))[..32])
    }
}

/// Counts identical rows, so that two identical transactions on one day
/// (two coffees) get two ids, the same ones every time the file is read.
///
/// Memory stays bounded by the rows of one day: bank exports are sorted by
/// date, and counts restart when the date changes. A date that comes back
/// after other dates (an unsorted file) starts a new "run" that is part of
/// the hash, so ids stay unique within the file.
#[derive(Debug, Default)]
pub struct Occurrences {
    current: Option<NaiveDate>,
    run: u32,
    counts: HashMap<[u8; 32], u32>,
    runs: HashMap<NaiveDate, u32>,
}

impl Occurrences {
    pub fn derived_id(&mut self, account: &str, date: NaiveDate, amount: Money, description: &str) -> String {
        if self.current != Some(date) {
            self.current = Some(date);
            self.counts.clear();
            let runs = self.runs.entry(date).or_insert(0);
            self.run = *runs;
            *runs += 1;
        }
        let mut key = Sha256::new();
        key.update(account.as_bytes());
        key.update(b"\0");
        key.update(date.num_days_from_ce().to_le_bytes());
        key.update(amount.minor.to_le_bytes());
        key.update(amount.currency.code().as_bytes());
        // Words, not spacing: "COFFEE  SHOP" is "COFFEE SHOP".
        for word in description.split_whitespace() {
            key.update(b" ");
            key.update(word.as_bytes());
        }
        if self.run > 0 {
            key.update(b"\0run");
            key.update(self.run.to_le_bytes());
        }
        let key: [u8; 32] = key.finalize().into();
        let n = self.counts.entry(key).or_insert(0);
        let occurrence = *n;
        *n += 1;
        let mut id = Sha256::new();
        id.update(key);
        id.update(occurrence.to_le_bytes());
        format!("{account}:~{}", hex(&id.finalize()[..8]))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_named_account_is_digits_spaces_and_dashes() {
        for ok in ["1234", "0001", "1234-5678-9012", " 12 34 ", "7"] {
            assert_eq!(given_account(ok), Ok(()), "{ok:?}");
        }
        for bad in ["", "  ", "abcd", "12a4", "--", "1234\u{1b}[2J"] {
            let e = given_account(bad).unwrap_err();
            assert!(e.contains("last 4 digits") && !e.contains('\u{1b}'), "{bad:?}: {e}");
        }
    }

    use super::*;
    use crate::domain::Currency;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    #[test]
    fn accounts_keep_only_the_last_four_digits() {
        assert_eq!(account(AccountKind::Checking, "000123456789"), Some(("checking-6789".into(), "6789".into())));
        assert_eq!(account(AccountKind::Credit, "4111-1111-1111-1234"), Some(("credit-1234".into(), "1234".into())));
        assert_eq!(account(AccountKind::Savings, "AB12"), Some(("savings-12".into(), "12".into())));
        assert_eq!(account(AccountKind::Savings, "ABCD"), None);
        let d = disambiguate("checking-6789", "000123456789");
        assert!(d.starts_with("checking-6789-") && d.len() == "checking-6789-".len() + 4);
        assert!(!d.contains("12345"));
        assert_eq!(hex(&[0, 0x9f, 0xff]), "009fff");
    }

    #[test]
    fn bank_ids_are_scoped_and_sanitised() {
        assert_eq!(bank_txn("checking-1234", " 2026101501 "), "checking-1234:2026101501");
        assert!(bank_txn("a", "x\u{1b}[2J").starts_with("a:#"));
        assert!(bank_txn("a", &"9".repeat(200)).len() < 40);
    }

    #[test]
    fn identical_rows_get_distinct_stable_ids() {
        let usd = |m| Money::new(m, Currency::USD);
        let run = || {
            let mut o = Occurrences::default();
            vec![
                o.derived_id("checking-1", day(1), usd(-450), "COFFEE  SHOP"),
                o.derived_id("checking-1", day(1), usd(-450), "COFFEE SHOP"),
                o.derived_id("checking-1", day(2), usd(-450), "COFFEE SHOP"),
            ]
        };
        let ids = run();
        assert_eq!(ids, run());
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        // An overlapping file that starts on day 2 names that row the same.
        let mut o = Occurrences::default();
        assert_eq!(o.derived_id("checking-1", day(2), usd(-450), "COFFEE SHOP"), ids[2]);
        // Unsorted: day 1 again after day 2 still gets fresh ids.
        let mut o = Occurrences::default();
        let a = o.derived_id("checking-1", day(1), usd(-450), "COFFEE SHOP");
        o.derived_id("checking-1", day(2), usd(-450), "COFFEE SHOP");
        let b = o.derived_id("checking-1", day(1), usd(-450), "COFFEE SHOP");
        assert_ne!(a, b);
    }
}
