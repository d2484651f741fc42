//! The user's decisions: consent, alert verdicts, card freezes. Each runs in
//! one `BEGIN IMMEDIATE` transaction and is checkpointed so it is on disk once
//! it is reported done.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::ingest::{card_label, insert_message};
use super::{Result, Store, StoreError};
use crate::domain::*;

/// What a consent command changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentChange {
    Granted,
    AlreadyGranted,
    Revoked,
    AlreadyRevoked,
    /// Revoked (if it was shared) and every row the bank shared deleted.
    Purged {
        rows: i64,
    },
}

/// Which cards a freeze or unfreeze touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeOutcome {
    /// Cards whose state changed, as "debit card •9913".
    pub changed: Vec<String>,
    /// Cards that were already in the asked-for state.
    pub unchanged: Vec<String>,
}

/// The tables a bank's shared data lives in, in an order that keeps foreign
/// keys satisfied while deleting.
const SHARED_TABLES: &[&str] = &[
    "alerts",
    "messages",
    "transactions",
    "balance_history",
    "balances",
    "cards",
    "accounts",
    "feed_cursors",
    "quarantine",
];

impl Store {
    /// Starts sharing a bank: its feed may deliver from now on.
    pub fn grant(&mut self, bank: &BankId, now: DateTime<Utc>) -> Result<ConsentChange> {
        let change = self.write(|tx| {
            let (granted, _) = Store::consent_of(tx, bank)?;
            if granted {
                return Ok(ConsentChange::AlreadyGranted);
            }
            set_consent(tx, bank, ConsentState::Granted, now)?;
            log(tx, bank, ConsentAction::Grant, now, "")?;
            let name = bank_name(tx, bank)?;
            insert_message(
                tx,
                bank,
                None,
                now,
                Sender::System,
                MessageKind::Notice,
                &format!("You started sharing {name} with finbox. Your data stays in this file on your machine; revoke at any time."),
                None,
                None,
            )?;
            Ok(ConsentChange::Granted)
        })?;
        self.durable();
        Ok(change)
    }

    /// Stops sharing a bank. With `purge`, also deletes every row it shared,
    /// keeping only the consent log.
    pub fn revoke(&mut self, bank: &BankId, purge: bool, now: DateTime<Utc>) -> Result<ConsentChange> {
        let change = self.write(|tx| {
            let (granted, _) = Store::consent_of(tx, bank)?;
            if granted {
                set_consent(tx, bank, ConsentState::Revoked, now)?;
                log(tx, bank, ConsentAction::Revoke, now, "")?;
            }
            if !purge {
                if !granted {
                    return Ok(ConsentChange::AlreadyRevoked);
                }
                let name = bank_name(tx, bank)?;
                insert_message(
                    tx,
                    bank,
                    None,
                    now,
                    Sender::System,
                    MessageKind::Notice,
                    &format!("You stopped sharing {name}. It delivers nothing more; what it shared so far stays until you purge it."),
                    None,
                    None,
                )?;
                return Ok(ConsentChange::Revoked);
            }
            let mut rows = 0;
            let mut parts = Vec::new();
            for table in SHARED_TABLES {
                let n = if *table == "balance_history" || *table == "balances" {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE account_id IN (SELECT id FROM accounts WHERE bank_id = ?1)"),
                        [bank.as_str()],
                    )?
                } else {
                    tx.execute(&format!("DELETE FROM {table} WHERE bank_id = ?1"), [bank.as_str()])?
                };
                rows += n as i64;
                if n > 0 && *table != "feed_cursors" {
                    parts.push(format!("{n} {}", table.replace('_', " ")));
                }
            }
            let detail = if parts.is_empty() { "nothing stored".to_string() } else { format!("deleted {}", parts.join(", ")) };
            log(tx, bank, ConsentAction::Purge, now, &detail)?;
            Ok(ConsentChange::Purged { rows })
        })?;
        if matches!(change, ConsentChange::Purged { .. }) {
            // Leave no copy of the purged rows in the write-ahead log.
            if self.path.is_some()
                && let Err(e) = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            {
                tracing::warn!(error = %e, "checkpoint after purge failed");
            }
        } else {
            self.durable();
        }
        Ok(change)
    }

    /// Records the user's verdict on an open alert. "Not me" also freezes the
    /// card and the bank confirms in its conversation.
    pub fn ack_alert(&mut self, id: AlertId, verdict: Verdict, now: DateTime<Utc>) -> Result<FraudAlert> {
        let alert = self.alert(id)?;
        if alert.status != AlertStatus::Open {
            return Err(StoreError::AlertDecided(id, alert.status));
        }
        self.write(|tx| {
            let (granted, _) = Store::consent_of(tx, &alert.bank)?;
            if !granted {
                return Err(StoreError::NoConsent(alert.bank.clone()));
            }
            let n = tx.execute(
                "UPDATE alerts SET status = ?2, decided_at = ?3 WHERE id = ?1 AND status = 'open'",
                params![id.0, verdict.status().as_str(), now.timestamp()],
            )?;
            if n == 0 {
                return Err(StoreError::AlertDecided(id, AlertStatus::Fraud));
            }
            let amount = alert.amount.abs();
            let text = match verdict {
                Verdict::ItWasMe => format!(
                    "Thanks for confirming the {amount} charge at {}. We've closed the alert; no further action is needed.",
                    alert.merchant
                ),
                Verdict::NotMe => {
                    let card = card_label(tx, alert.account.0)?;
                    freeze_account_card(tx, alert.account.0, now)?;
                    format!(
                        "We've marked the {amount} charge at {} as fraud and frozen your {card}. You won't be charged for it. \
                         Further charges on this card will be declined; say \"unfreeze card\" once you have your new card.",
                        alert.merchant
                    )
                }
            };
            insert_message(tx, &alert.bank, None, now, Sender::Bank, MessageKind::Fraud, &text, Some(alert.txn.0), Some(id.0))?;
            Ok(())
        })?;
        self.durable();
        self.alert(id)
    }

    /// Freezes (or unfreezes) the bank's cards: the one ending in `mask` if
    /// given, otherwise all of them.
    pub fn set_frozen(
        &mut self,
        bank: &BankId,
        mask: Option<&str>,
        frozen: bool,
        now: DateTime<Utc>,
    ) -> Result<FreezeOutcome> {
        let out = self.write(|tx| set_frozen_in(tx, bank, mask, frozen, now))?;
        self.durable();
        Ok(out)
    }

    /// Marks every message of a bank as read.
    pub fn mark_read(&mut self, bank: &BankId) -> Result<usize> {
        Ok(self.conn.execute("UPDATE messages SET read = 1 WHERE bank_id = ?1 AND read = 0", [bank.as_str()])?)
    }
}

pub(super) fn set_frozen_in(
    tx: &SqlTx<'_>,
    bank: &BankId,
    mask: Option<&str>,
    frozen: bool,
    now: DateTime<Utc>,
) -> Result<FreezeOutcome> {
    let (granted, _) = Store::consent_of(tx, bank)?;
    if !granted {
        return Err(StoreError::NoConsent(bank.clone()));
    }
    let mut stmt = tx.prepare("SELECT id, mask, kind, frozen FROM cards WHERE bank_id = ?1 ORDER BY id")?;
    let cards: Vec<(i64, String, String, bool)> = stmt
        .query_map([bank.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = FreezeOutcome { changed: Vec::new(), unchanged: Vec::new() };
    for (id, card_mask, kind, is_frozen) in cards {
        if mask.is_some_and(|m| m != card_mask) {
            continue;
        }
        let label = format!("{kind} card •{card_mask}");
        if is_frozen == frozen {
            out.unchanged.push(label);
            continue;
        }
        tx.execute(
            "UPDATE cards SET frozen = ?2, frozen_at = ?3 WHERE id = ?1",
            params![id, frozen, frozen.then_some(now.timestamp())],
        )?;
        out.changed.push(label);
    }
    Ok(out)
}

fn freeze_account_card(tx: &SqlTx<'_>, account_id: i64, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "UPDATE cards SET frozen = 1, frozen_at = ?2 WHERE account_id = ?1 AND frozen = 0",
        params![account_id, now.timestamp()],
    )?;
    Ok(())
}

fn set_consent(tx: &SqlTx<'_>, bank: &BankId, state: ConsentState, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "UPDATE banks SET consent = ?2, consent_at = ?3, epoch = epoch + 1 WHERE id = ?1",
        params![bank.as_str(), state.as_str(), now.timestamp()],
    )?;
    Ok(())
}

fn log(tx: &SqlTx<'_>, bank: &BankId, action: ConsentAction, now: DateTime<Utc>, detail: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO consent_log (bank_id, action, at, detail) VALUES (?1, ?2, ?3, ?4)",
        params![bank.as_str(), action.as_str(), now.timestamp(), detail],
    )?;
    Ok(())
}

pub(super) fn bank_name(tx: &rusqlite::Connection, bank: &BankId) -> Result<String> {
    tx.query_row("SELECT name FROM banks WHERE id = ?1", [bank.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::UnknownBank(bank.to_string()))
}
