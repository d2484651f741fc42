//! Disputes: what "not me" on a fraud alert does, so that the words and the
//! money agree. The card is locked (reversible: "unfreeze card"); the bank
//! opens a case and posts a provisional credit that reverses the charge,
//! so the balance is restored; and a replacement card with a new number is
//! sent, which becomes the account's card when it arrives
//! ([`REPLACEMENT_DAYS`] later) — the old one is closed then.
//!
//! Only a simulated bank is the bank here: for a bank whose data comes
//! from statements or a real feed, finbox can neither lock the card nor
//! credit anything, so the verdict is recorded and the user is told to
//! call the bank; the charge stays in the balance until the bank's own
//! credit arrives.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::chain::{self, ChainKind};
use super::message::{NewMessage, account_label, card_label};
use super::{Result, day_of};
use crate::domain::{BankId, Currency, FraudAlert, MessageKind, Money, SIMULATED_FEED, Sender};

/// How long a replacement card takes to arrive.
pub const REPLACEMENT_DAYS: i64 = 5;

/// The disputed charge as the store holds it.
struct Charge {
    id: i64,
    account: i64,
    amount: Money,
    merchant: String,
    category: String,
    country: String,
    posted: bool,
    reversed: bool,
}

/// Opens the dispute for a "not me" verdict inside the decision's
/// transaction, and returns what the bank says in the thread.
pub(super) fn open(tx: &SqlTx<'_>, alert: &FraudAlert, now: DateTime<Utc>) -> Result<String> {
    let (name, kind): (String, String) =
        tx.query_row("SELECT name, feed_kind FROM banks WHERE id = ?1", [alert.bank.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if kind != SIMULATED_FEED {
        return Ok(format!(
            "finbox marked the {} charge at {} as fraud. Call {name} to block the card and dispute the charge: \
             finbox cannot do either for you, and the charge stays in your balance until {name} credits it.",
            alert.amount.abs(),
            alert.merchant
        ));
    }
    let charge: Charge = tx.query_row(
        "SELECT id, account_id, amount_minor, currency, merchant, category, country, status = 'posted',
                reversed_by IS NOT NULL
         FROM transactions WHERE id = ?1",
        [alert.txn.0],
        |r| {
            Ok(Charge {
                id: r.get(0)?,
                account: r.get(1)?,
                amount: Money::new(r.get(2)?, super::query::conv(3, Currency::new(&r.get::<_, String>(3)?))?),
                merchant: r.get(4)?,
                category: r.get(5)?,
                country: r.get(6)?,
                posted: r.get(7)?,
                reversed: r.get(8)?,
            })
        },
    )?;
    let old_card: Option<String> =
        tx.query_row("SELECT mask FROM cards WHERE account_id = ?1", [charge.account], |r| r.get(0)).optional()?;
    let card = card_label(tx, charge.account)?;
    let locked = tx.execute(
        "UPDATE cards SET frozen = 1, frozen_at = ?2 WHERE account_id = ?1 AND frozen = 0",
        params![charge.account, now.timestamp()],
    )?;
    if locked > 0 {
        let detail = format!("{card} locked (alert {})", alert.id.0);
        chain::append(tx, now, Some(&alert.bank), ChainKind::CardLock, &detail)?;
    }
    let case = format!("{}-{:06}", case_prefix(&alert.bank), alert.id.0);
    let credit = if charge.posted && charge.amount.is_negative() && !charge.reversed {
        Some(post_credit(tx, &alert.bank, &charge, &case, now)?)
    } else {
        None
    };
    let replacement = old_card.as_deref().map(|old| new_card_mask(old, alert.id.0));
    let text = words(tx, &charge, &case, &card, old_card.as_deref(), credit.is_some())?;
    tx.execute(
        "INSERT INTO disputes (bank_id, alert_id, txn_id, case_number, opened_at, credit_txn_id, account_id,
                               old_card_mask, new_card_mask, replacement_due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            alert.bank.as_str(),
            alert.id.0,
            charge.id,
            case,
            now.timestamp(),
            credit.unwrap_or(charge.id),
            charge.account,
            old_card,
            replacement,
            replacement.as_ref().map(|_| (now + Duration::days(REPLACEMENT_DAYS)).timestamp()),
        ],
    )?;
    Ok(text)
}

/// What the bank says: the lock, the case, the credit and the balance it
/// restored, the replacement card.
fn words(
    tx: &SqlTx<'_>,
    charge: &Charge,
    case: &str,
    card: &str,
    old_card: Option<&str>,
    credited: bool,
) -> Result<String> {
    let amount = charge.amount.abs();
    let mut text = String::new();
    if old_card.is_some() {
        text.push_str(&format!("We've locked your {card}; say \"unfreeze card\" to unlock it. "));
    }
    if credited {
        let label = account_label(tx, charge.account)?;
        let balance: i64 =
            tx.query_row("SELECT balance_minor FROM balances WHERE account_id = ?1", [charge.account], |r| r.get(0))?;
        text.push_str(&format!(
            "We opened dispute {case} for the {amount} charge at {} and credited {amount} to your {label} while we \
             investigate, so you won't pay for it: the balance is {} again.",
            charge.merchant,
            Money::new(balance, charge.amount.currency),
        ));
    } else {
        text.push_str(&format!("We opened dispute {case} for the {amount} charge at {}.", charge.merchant));
    }
    if let Some(old) = old_card {
        text.push_str(&format!(
            " A replacement card with a new number is on its way; it replaces card •{old} in about \
             {REPLACEMENT_DAYS} days, and that card is closed then."
        ));
    }
    Ok(text)
}

/// The provisional credit: a posted transaction reversing the charge, in
/// the same account, now; the balance and today's history move with it.
fn post_credit(tx: &SqlTx<'_>, bank: &BankId, charge: &Charge, case: &str, now: DateTime<Utc>) -> Result<i64> {
    let credit = charge.amount.minor.checked_neg().ok_or_else(|| {
        super::StoreError::Money(crate::domain::MoneyError::Overflow(format!("credit for {}", charge.amount)))
    })?;
    let merchant = format!("Provisional credit: {}", charge.merchant);
    tx.execute(
        "INSERT INTO transactions (bank_id, account_id, external_id, posted_at, amount_minor, currency, merchant,
                                   category, channel, country, status, reverses)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'deposit', ?9, 'posted', ?10)",
        params![
            bank.as_str(),
            charge.account,
            format!("dispute:{case}"),
            now.timestamp(),
            credit,
            charge.amount.currency.code(),
            merchant,
            charge.category,
            charge.country,
            charge.id
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO transactions_fts (rowid, merchant, category) VALUES (?1, ?2, ?3)",
        params![id, merchant, charge.category],
    )?;
    tx.execute("UPDATE transactions SET reversed_by = ?2 WHERE id = ?1", params![charge.id, id])?;
    tx.execute(
        "UPDATE balances SET balance_minor = balance_minor + ?2, txn_count = txn_count + 1, updated_at = ?3
         WHERE account_id = ?1",
        params![charge.account, credit, now.timestamp()],
    )?;
    tx.execute(
        "INSERT INTO balance_history (account_id, day, balance_minor)
         SELECT account_id, ?2, balance_minor FROM balances WHERE account_id = ?1
         ON CONFLICT(account_id, day) DO UPDATE SET balance_minor = excluded.balance_minor",
        params![charge.account, day_of(now.timestamp())],
    )?;
    Ok(id)
}

/// Replacement cards due by `now` (of the given banks) become the
/// accounts' cards, active; the bank says so.
pub(super) fn deliver_due(tx: &SqlTx<'_>, banks: &[BankId], now: DateTime<Utc>) -> Result<u64> {
    let mut delivered = 0;
    for bank in banks {
        let due: Vec<(i64, i64, String, String)> = tx
            .prepare_cached(
                "SELECT id, account_id, old_card_mask, new_card_mask FROM disputes
                 WHERE replaced_at IS NULL AND replacement_due_at <= ?2 AND bank_id = ?1",
            )?
            .query_map(params![bank.as_str(), now.timestamp()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, account, old, new) in due {
            tx.execute(
                "UPDATE cards SET mask = ?2, frozen = 0, frozen_at = NULL WHERE account_id = ?1",
                params![account, new],
            )?;
            tx.execute("UPDATE disputes SET replaced_at = ?2 WHERE id = ?1", params![id, now.timestamp()])?;
            let detail = format!("replacement card •{new} active; card •{old} closed");
            chain::append(tx, now, Some(bank), ChainKind::CardUnlock, &detail)?;
            let label = account_label(tx, account)?;
            let text = format!(
                "Your replacement card •{new} for {label} has arrived and is active. The card •{old} is closed."
            );
            NewMessage::new(bank, Sender::Bank, MessageKind::Service, now, &text).insert(tx)?;
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// "CHA" for chase: the case number's prefix.
fn case_prefix(bank: &BankId) -> String {
    let letters: String = bank.as_str().chars().filter(char::is_ascii_alphabetic).take(3).collect();
    if letters.is_empty() { "CASE".to_string() } else { letters.to_ascii_uppercase() }
}

/// The replacement's last four: derived from the alert (so a replay of the
/// same decision names the same card), never the old number.
fn new_card_mask(old: &str, alert: i64) -> String {
    let old_n: u64 = old.parse().unwrap_or(0);
    let mut n = (old_n.wrapping_mul(7919).wrapping_add((alert as u64).wrapping_mul(104_729)) + 1234) % 10_000;
    if n == old_n {
        n = (n + 1) % 10_000;
    }
    format!("{n:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_card_differs_from_the_old_and_is_four_digits() {
        for alert in 0..2000 {
            for old in ["9913", "0000", "7742"] {
                let new = new_card_mask(old, alert);
                assert_eq!(new.len(), 4);
                assert_ne!(new, old);
            }
        }
        assert_eq!(case_prefix(&BankId::new("chase").unwrap()), "CHA");
    }
}
