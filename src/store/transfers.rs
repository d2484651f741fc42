//! Transfers by hand: the user pairs two legs finbox did not pair, or
//! undoes a pair it made (which is then never paired again by itself).

use rusqlite::{OptionalExtension, params};

use super::query::{TXN_COLS, TXN_OTHER_LEG, txn_row};
use super::{Result, Store, StoreError};
use crate::domain::{Transaction, TxnId};

/// A leg as pairing checks it.
struct Leg {
    account: i64,
    amount: i64,
    currency: String,
    transfer_id: Option<i64>,
}

impl Store {
    /// Pairs two transactions as one transfer between the user's accounts:
    /// opposite amounts in one currency, in two accounts, both posted.
    pub fn pair_transfer(&mut self, a: TxnId, b: TxnId) -> Result<i64> {
        self.decide(|tx| {
            let leg = |id: TxnId| -> Result<Leg> {
                tx.query_row(
                    "SELECT account_id, amount_minor, currency, transfer_id FROM transactions
                     WHERE id = ?1 AND status = 'posted'",
                    [id.0],
                    |r| Ok(Leg { account: r.get(0)?, amount: r.get(1)?, currency: r.get(2)?, transfer_id: r.get(3)? }),
                )
                .optional()?
                .ok_or_else(|| {
                    StoreError::Refused(format!("no posted transaction {id}; `finbox transactions` lists ids"))
                })
            };
            let (x, y) = (leg(a)?, leg(b)?);
            let refuse = |why: String| Err(StoreError::Refused(format!("{a} and {b} cannot be one transfer: {why}")));
            if x.account == y.account {
                return refuse("they are in the same account".into());
            }
            if x.currency != y.currency || x.amount.checked_neg() != Some(y.amount) || x.amount == 0 {
                return refuse(
                    "their amounts are not opposite (money leaves one account and arrives in the other)".into(),
                );
            }
            if let Some(t) = x.transfer_id.or(y.transfer_id) {
                return refuse(format!("one is already paired (transfer {t}); unpair it first"));
            }
            let id = a.0.min(b.0);
            tx.execute(
                "UPDATE transactions SET transfer_id = ?1, transfer_by = 'user',
                        transfer_kind = coalesce(transfer_kind, 'marked')
                 WHERE id IN (?2, ?3)",
                params![id, a.0, b.0],
            )?;
            Ok(id)
        })
    }

    /// Undoes the transfer `txn` is a leg of: both legs count as spending
    /// and income again, and finbox does not pair them again by itself.
    pub fn unpair_transfer(&mut self, txn: TxnId) -> Result<()> {
        self.decide(|tx| {
            let id: Option<i64> = tx
                .query_row("SELECT transfer_id FROM transactions WHERE id = ?1", [txn.0], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Refused(format!("no transaction {txn}")))?;
            let Some(id) = id else {
                return Err(StoreError::Refused(format!("transaction {txn} is not paired as a transfer")));
            };
            tx.execute(
                "UPDATE transactions SET transfer_id = NULL, transfer_by = 'unpaired' WHERE transfer_id = ?1",
                [id],
            )?;
            Ok(())
        })
    }

    /// The dispute case "not me" opened for an alert, if the bank is one
    /// finbox simulates (for others the user calls the bank).
    pub fn dispute_case(&self, alert: crate::domain::AlertId) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT case_number FROM disputes WHERE alert_id = ?1", [alert.0], |r| r.get(0))
            .optional()?)
    }

    /// Legs of transfers between the user's accounts, newest first; with
    /// `unmatched`, only those whose other side was not seen.
    pub fn transfer_legs(&self, unmatched: bool, limit: usize) -> Result<Vec<Transaction>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TXN_COLS} FROM transactions t JOIN accounts a ON a.id = t.account_id {TXN_OTHER_LEG}
             WHERE t.transfer_kind IS NOT NULL AND (?1 = 0 OR t.transfer_id IS NULL)
             ORDER BY t.posted_at DESC, t.id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![unmatched, limit.max(1) as i64], txn_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
