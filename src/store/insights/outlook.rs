//! The insights a batch's dates bring about rather than one transaction:
//! the low-balance outlook of a checking account it touched, and the summary
//! of a month the data has moved past.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use rusqlite::{OptionalExtension, params};

use super::{DAY, Fresh, Pass};
use crate::domain::insight::{self, LOW_BALANCE_MINOR, OUTLOOK_DAYS};
use crate::domain::{BankId, Currency, InsightKind, Money};
use crate::store::Result;

/// The outlook of each checking account the batch touched with a recent
/// transaction: recurring bills and paychecks over the next
/// [`OUTLOOK_DAYS`]; a warning (once per bill and day) when the balance
/// would fall under [`LOW_BALANCE_MINOR`].
pub(super) fn outlooks(pass: &mut Pass, fresh: &[Fresh]) -> Result<()> {
    let recent: BTreeSet<i64> =
        fresh.iter().filter(|f| f.at >= pass.now - OUTLOOK_DAYS * DAY).map(|f| f.account).collect();
    for account in recent {
        outlook(pass, account)?;
    }
    Ok(())
}

fn outlook(pass: &mut Pass, account: i64) -> Result<()> {
    let row: Option<(String, String, i64)> = pass
        .tx
        .prepare_cached(
            "SELECT a.kind, a.currency, b.balance_minor + b.pending_minor FROM accounts a
             JOIN balances b ON b.account_id = a.id WHERE a.id = ?1",
        )?
        .query_row([account], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((_, currency, balance)) = row.filter(|r| r.0 == "checking") else { return Ok(()) };
    let currency = Currency::new(&currency).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
    let mut stmt = pass.tx.prepare_cached(
        "SELECT t.merchant, m.last_at, m.last_minor, m.period, m.last_txn, t.bank_id FROM merchant_track m
         JOIN transactions t ON t.id = m.last_txn
         WHERE m.account_id = ?1 AND m.streak >= 1 AND m.last_at >= ?2",
    )?;
    let rows = stmt.query_map(params![account, pass.now - 45 * DAY], |r| {
        Ok(((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?), (r.get::<_, i64>(4)?, r.get::<_, String>(5)?)))
    })?;
    let (items, links): (Vec<insight::Recurring>, Vec<(i64, String)>) = rows
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|((_, _, minor, period), _)| insight::projected(1, *period, *minor))
        .unzip();
    drop(stmt);
    let expected = insight::project(&items, pass.now);
    let Some((low, due)) = insight::lowest(balance, &expected) else { return Ok(()) };
    if low >= LOW_BALANCE_MINOR {
        return Ok(());
    }
    let (bills, paid): (Vec<_>, Vec<_>) = expected.iter().partition(|e| e.minor < 0);
    let sum = |v: &[&insight::Expected]| Money::new(v.iter().map(|e| e.minor.abs()).sum(), currency);
    let label = pass.label(account)?;
    let text = format!(
        "{label} may fall to {} on {} when {} ({}) is due. Next {OUTLOOK_DAYS} days: {} bill{} {}, {} deposit{} {}.",
        Money::new(low, currency),
        pass.date(due.at),
        due.what,
        Money::new(due.minor.abs(), currency),
        bills.len(),
        if bills.len() == 1 { "" } else { "s" },
        sum(&bills),
        paid.len(),
        if paid.len() == 1 { "" } else { "s" },
        sum(&paid),
    );
    let key = format!("low_balance:{account}:{}:{}", insight::merchant_key(&due.what), insight::day(due.at));
    let banks: Vec<(i64, BankId)> =
        links.into_iter().filter_map(|(txn, bank)| BankId::new(&bank).ok().map(|b| (txn, b))).collect();
    let rows: Vec<(i64, &BankId)> = banks.iter().map(|(t, b)| (*t, b)).collect();
    pass.post(InsightKind::LowBalance, &key, pass.now, &text, &rows)?;
    Ok(())
}

/// The month before now's (in the user's zone), once the batch holds a
/// transaction dated after it: spending by category as a bar chart
/// (transfers, reversals and hidden rows excluded), posted once.
pub(super) fn month_summary(pass: &mut Pass, fresh: &[Fresh]) -> Result<()> {
    let today = DateTime::from_timestamp(pass.now, 0).unwrap_or_default().with_timezone(&pass.zone).date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let last_month = this_month.checked_sub_months(chrono::Months::new(1)).unwrap_or(this_month);
    let start = |d: NaiveDate| {
        pass.zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).single().map(|t| t.timestamp())
    };
    let (Some(from), Some(to)) = (start(last_month), start(this_month)) else { return Ok(()) };
    if !fresh.iter().any(|f| f.at >= to) {
        return Ok(());
    }
    let key = format!("monthly:{}", last_month.format("%Y-%m"));
    let posted: bool = pass
        .tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM insights WHERE key = ?1)")?
        .query_row([&key], |r| r.get(0))?;
    if posted {
        return Ok(());
    }
    // The month is whole once every bank whose feed runs and that shared
    // rows of it has moved past it: feeds catching up reach the month's
    // end at their own pace, and a summary made at the first would leave
    // out what the others have still to deliver. (A bank nobody feeds, an
    // import, is not waited for.)
    let waiting: bool = pass
        .tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM feed_leases l
                WHERE EXISTS (SELECT 1 FROM transactions WHERE bank_id = l.bank_id AND posted_at >= ?1 AND posted_at < ?2)
                  AND NOT EXISTS (SELECT 1 FROM transactions WHERE bank_id = l.bank_id AND posted_at >= ?2))",
        )?
        .query_row([from, to], |r| r.get(0))?;
    if waiting {
        return Ok(());
    }
    let spend = spending(pass, from, to)?;
    let Some(currency) = spend.first().map(|(_, m, _)| m.currency) else { return Ok(()) };
    let spend: Vec<(String, Money)> =
        spend.into_iter().filter(|(_, m, _)| m.currency == currency).map(|(c, m, _)| (c, m)).collect();
    let total = Money::new(spend.iter().map(|(_, m)| m.minor).sum(), currency);
    let mut text = format!(
        "{}: you spent {total} across every bank (transfers between your accounts not counted).",
        last_month.format("%B %Y")
    );
    for line in insight::bars(&spend[..spend.len().min(8)], 8) {
        text.push('\n');
        text.push_str(&line);
    }
    let top = largest(pass, from, to)?;
    let rows: Vec<(i64, &BankId)> = top.iter().map(|(t, b)| (*t, b)).collect();
    pass.post(InsightKind::Monthly, &key, pass.now, &text, &rows)?;
    Ok(())
}

/// What counts as spending in `[from, to)`: posted charges that are not
/// transfers, reversed or reversals, and not hidden by a rule.
const SPENDING: &str = "t.posted_at >= ?1 AND t.posted_at < ?2 AND t.status = 'posted' AND t.amount_minor < 0
     AND t.transfer_kind IS NULL AND t.reverses IS NULL AND t.reversed_by IS NULL AND t.hidden = 0
     AND lower(t.category) NOT IN ('transfer', 'credit card payment')";

/// Spending by category and currency, largest first.
fn spending(pass: &Pass, from: i64, to: i64) -> Result<Vec<(String, Money, i64)>> {
    let sql = format!(
        "SELECT t.category, t.currency, -sum(t.amount_minor), count(*) FROM transactions t
         WHERE {SPENDING} GROUP BY t.category, t.currency ORDER BY -sum(t.amount_minor) DESC"
    );
    let mut stmt = pass.tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (cat, cur, minor, n) = row?;
        if let Ok(c) = Currency::new(&cur) {
            out.push((cat, Money::new(minor, c), n));
        }
    }
    Ok(out)
}

/// The month's ten largest charges, the rows the summary links to.
fn largest(pass: &Pass, from: i64, to: i64) -> Result<Vec<(i64, BankId)>> {
    let sql = format!("SELECT t.id, t.bank_id FROM transactions t WHERE {SPENDING} ORDER BY t.amount_minor LIMIT 10");
    let mut stmt = pass.tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![from, to], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, bank) = row?;
        if let Ok(b) = BankId::new(&bank) {
            out.push((id, b));
        }
    }
    Ok(out)
}
