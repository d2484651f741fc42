//! Scopes: what a shared bank may send, granted one by one. Checked in the
//! write transaction with consent (an event outside them is counted and
//! dropped, never stored); narrowing can delete what was stored under the
//! scopes taken away, leaving no copy (as a purge does).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::action::{bank_name, log};
use super::message::NewMessage;
use super::{Result, Store, StoreError};
use crate::domain::{BankId, ConsentAction, MessageKind, Scope, Scopes, Sender};

/// What a change of scopes did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeChange {
    pub before: Scopes,
    pub after: Scopes,
    /// Rows deleted under the scopes taken away (when asked to).
    pub deleted: u64,
}

/// Deletes a bank's rows of one scope (`?1`: the bank), in order.
fn deletions(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::Transactions => &[
            "DELETE FROM disputes WHERE bank_id = ?1",
            "DELETE FROM messages WHERE bank_id = ?1 AND (txn_id IS NOT NULL OR kind IN ('transaction', 'fraud'))",
            "DELETE FROM alerts WHERE bank_id = ?1",
            "DELETE FROM history_notices WHERE bank_id = ?1",
            "DELETE FROM insights WHERE id IN (SELECT insight_id FROM insight_rows WHERE bank_id = ?1)",
            "DELETE FROM insight_rows WHERE bank_id = ?1 OR insight_id NOT IN (SELECT id FROM insights)",
            "DELETE FROM merchant_track WHERE account_id IN (SELECT id FROM accounts WHERE bank_id = ?1)",
            "DELETE FROM receipt_items WHERE bank_id = ?1",
            "DELETE FROM transactions WHERE bank_id = ?1",
            "DELETE FROM balance_history WHERE account_id IN (SELECT id FROM accounts WHERE bank_id = ?1)",
            "UPDATE balances SET balance_minor = (SELECT opening_minor FROM accounts a WHERE a.id = account_id),
                    pending_minor = 0, txn_count = 0
             WHERE account_id IN (SELECT id FROM accounts WHERE bank_id = ?1)",
        ],
        Scope::Balances => &[
            "DELETE FROM messages WHERE bank_id = ?1 AND kind IN ('balance', 'statement')",
            "UPDATE balances SET reported_minor = NULL
             WHERE account_id IN (SELECT id FROM accounts WHERE bank_id = ?1)",
        ],
        Scope::Messages => &[
            "DELETE FROM messages WHERE bank_id = ?1 AND sender = 'bank' AND kind IN ('text', 'service', 'purchase')",
            "DELETE FROM receipt_items WHERE bank_id = ?1",
        ],
        Scope::Alerts => &[
            "DELETE FROM disputes WHERE bank_id = ?1",
            "DELETE FROM messages WHERE bank_id = ?1 AND kind = 'fraud'",
            "DELETE FROM alerts WHERE bank_id = ?1",
        ],
        Scope::Offers => &["DELETE FROM messages WHERE bank_id = ?1 AND kind = 'offer'"],
    }
}

impl Store {
    /// The scopes a bank shares (or would, once granted).
    pub fn scopes(&self, bank: &BankId) -> Result<Scopes> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT scopes FROM banks WHERE id = ?1")?
            .query_row([bank.as_str()], |r| r.get(0))
            .optional()?;
        let text = text.ok_or_else(|| StoreError::UnknownBank(bank.to_string()))?;
        Scopes::parse(&text).map_err(StoreError::Corrupt)
    }

    /// Sets what `bank` may share. With `delete`, what was stored under the
    /// scopes taken away is deleted, and the store rebuilt so no copy stays.
    /// The consent log and the bank's thread say what changed.
    pub fn set_scopes(
        &mut self,
        bank: &BankId,
        after: Scopes,
        delete: bool,
        now: DateTime<Utc>,
    ) -> Result<ScopeChange> {
        let before = self.scopes(bank)?;
        let removed = before.removed_in(after);
        let deleted = self.write(|tx| {
            tx.execute("UPDATE banks SET scopes = ?2 WHERE id = ?1", params![bank.as_str(), after.to_list()])?;
            let mut deleted = 0u64;
            if delete {
                for scope in &removed {
                    for sql in deletions(*scope) {
                        if sql.starts_with("DELETE") {
                            deleted += tx.execute(sql, [bank.as_str()])? as u64;
                        } else {
                            tx.execute(sql, [bank.as_str()])?;
                        }
                    }
                }
            }
            let mut detail = format!("{after} (was {before})");
            if delete && deleted > 0 {
                detail.push_str(&format!("; deleted {deleted} records"));
            }
            log(tx, bank, ConsentAction::Scopes, now, &detail)?;
            let name = bank_name(tx, bank)?;
            let text = match (removed.is_empty(), delete) {
                (true, _) => format!("{name} now shares {after}."),
                (false, false) => format!(
                    "{name} now shares {after}. What it shared before under {} stays until you delete it.",
                    Scopes::of(&removed)
                ),
                (false, true) => format!(
                    "{name} now shares {after}. What it shared under {} was deleted ({deleted} records).",
                    Scopes::of(&removed)
                ),
            };
            NewMessage::new(bank, Sender::System, MessageKind::Notice, now, &text).insert(tx)?;
            Ok(deleted)
        })?;
        if delete && deleted > 0 {
            self.rebuild_after_purge();
        }
        Ok(ScopeChange { before, after, deleted })
    }
}
