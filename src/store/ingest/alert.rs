//! Fraud signals, the bank's or the local rules': an alert on a stored
//! transaction and a message asking about it.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::{Batch, BatchReport, Outcome};
use crate::domain::text::{MAX_NAME_CHARS, clean_line};
use crate::domain::{AlertId, BankId, Currency, MessageKind, Money, Sender};
use crate::store::message::{NewMessage, card_label};
use crate::store::{Grant, Result};

/// A fraud signal (the bank's or the local rules'): an alert on the stored
/// transaction, and a message asking about it. A replayed transaction
/// raises nothing new.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_signal(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    txn_external_id: &String,
    at: DateTime<Utc>,
    reason: &str,
    severity: crate::domain::Severity,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<Outcome> {
    let at = &at;
    // Overlapping statements replay transactions, and the local
    // rules see them again: what was stored before raises nothing.
    if b.replayed.contains(&(bank.clone(), txn_external_id.clone())) {
        report.duplicates += 1;
        return Ok(Outcome::Applied);
    }
    let row: Option<(i64, i64, i64, String, String, bool)> = tx
        .prepare_cached(
            "SELECT id, account_id, amount_minor, currency, merchant, status = 'pending' FROM transactions
             WHERE bank_id = ?1 AND external_id = ?2",
        )?
        .query_row(params![bank.as_str(), txn_external_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    let Some((txn_id, account_id, minor, currency, merchant, pending)) = row else {
        return Ok(Outcome::Refused(format!("no transaction {:?}", clean_line(txn_external_id, 40))));
    };
    if pending {
        return Ok(Outcome::Refused(format!(
            "transaction {:?} is still pending: alerts are raised on posted charges",
            clean_line(txn_external_id, 40)
        )));
    }
    let reason = clean_line(reason, MAX_NAME_CHARS * 2);
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO alerts (bank_id, account_id, txn_id, external_id, reason, severity, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            bank.as_str(),
            account_id,
            txn_id,
            txn_external_id,
            reason,
            severity.level(),
            at.timestamp()
        ])?;
    if inserted == 0 {
        report.duplicates += 1;
        return Ok(Outcome::Applied);
    }
    let alert_id = tx.last_insert_rowid();
    let amount = Money::new(-minor, Currency::new(&currency)?);
    let card = card_label(tx, account_id)?;
    let text = format!("Fraud alert ({severity}): did you make the {amount} charge at {merchant} on {card}? {reason}.");
    NewMessage::new(bank, Sender::Bank, MessageKind::Fraud, *at, &text)
        .external(&format!("alert:{alert_id}"))
        .txn(txn_id)
        .alert(alert_id)
        .history_before(shared.since)
        .insert(tx)?;
    report.alerts += 1;
    report.messages += 1;
    report.new_alerts.push(AlertId(alert_id));
    Ok(Outcome::Applied)
}
