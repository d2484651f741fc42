//! The register: a window of one account's transactions anywhere in its
//! history, found by keyset (the `(account_id, posted_at, id)` index walked
//! from a key, never an OFFSET), with the running balance after each row
//! and where the window sits among all of them. Also what the screen asks
//! around it: how many transactions a search matches, the answered alerts,
//! where an alert's message is in its thread.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::query::{ALERT_COLS, ALERT_FROM, TXN_COLS, TXN_OTHER_LEG, alert_row, txn_row};
use super::{Result, Store, TxnFilter};
use crate::domain::*;

/// Where a register window sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterAt {
    Newest,
    /// A transaction (by posted time and id) and those older, with up to
    /// [`CONTEXT`] newer ones above it.
    At {
        posted_at: i64,
        id: i64,
    },
    /// The newest transactions before a moment, with newer ones above.
    Before(DateTime<Utc>),
    Oldest,
}

/// Newer rows kept above an anchored window, so the user can go back up.
pub const CONTEXT: usize = 100;

/// One window of an account's register, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterWindow {
    pub rows: Vec<Transaction>,
    /// The ledger balance after each row (none for a pending one).
    pub running: Vec<Option<Money>>,
    /// How many of the account's transactions are newer than `rows[0]`.
    pub offset: usize,
    /// The row the window was asked for (the anchor's).
    pub anchor_row: Option<usize>,
}

impl Store {
    /// A window of `limit` (plus context) transactions of `account`,
    /// anchored at `at`; `account` is the account's current state.
    pub fn register(&self, account: &Account, at: RegisterAt, limit: usize) -> Result<RegisterWindow> {
        let limit = limit.max(1);
        let (rows, anchor_row) = match at {
            RegisterAt::Newest => (self.older(account.id, None, limit)?, Some(0)),
            RegisterAt::Oldest => {
                let mut rows = self.newer(account.id, None, limit)?;
                rows.reverse();
                let last = rows.len().checked_sub(1);
                (rows, last)
            }
            RegisterAt::At { posted_at, id } => self.around(account.id, (posted_at, id), limit)?,
            RegisterAt::Before(t) => self.around(account.id, (t.timestamp() - 1, i64::MAX), limit)?,
        };
        let Some(first) = rows.first() else { return Ok(RegisterWindow::default()) };
        let offset = if matches!(at, RegisterAt::Newest) {
            0
        } else {
            self.conn
                .prepare_cached(
                    "SELECT count(*) FROM transactions INDEXED BY transactions_account_time
                     WHERE account_id = ?1 AND (posted_at, id) > (?2, ?3)",
                )?
                .query_row(params![account.id.0, first.posted_at.timestamp(), first.id.0], |r| r.get::<_, i64>(0))?
                as usize
        };
        let start = if offset == 0 { account.balance.minor } else { self.balance_after(account, first)? };
        let running = running_balances(Money::new(start, account.balance.currency), &rows);
        let anchor_row = anchor_row.filter(|_| !rows.is_empty());
        Ok(RegisterWindow { rows, running, offset, anchor_row })
    }

    /// The anchor and what is older (`limit`), with up to [`CONTEXT`] newer
    /// rows above; the anchor's row is the first at or before the key.
    fn around(&self, account: AccountId, key: (i64, i64), limit: usize) -> Result<(Vec<Transaction>, Option<usize>)> {
        let older = self.older(account, Some(key), limit)?;
        let mut rows = self.newer(account, Some(key), CONTEXT)?;
        rows.reverse();
        let anchor = rows.len();
        if older.is_empty() {
            // Nothing at or before it: the oldest rows, the last selected.
            return Ok((rows.clone(), rows.len().checked_sub(1)));
        }
        rows.extend(older);
        Ok((rows, Some(anchor)))
    }

    /// Rows at or before `key` (all, without one), newest first.
    fn older(&self, account: AccountId, key: Option<(i64, i64)>, limit: usize) -> Result<Vec<Transaction>> {
        let (p, id) = key.unwrap_or((i64::MAX, i64::MAX));
        let sql = format!(
            "SELECT {TXN_COLS} FROM transactions t INDEXED BY transactions_account_time
             JOIN accounts a ON a.id = t.account_id {TXN_OTHER_LEG}
             WHERE t.account_id = ?1 AND (t.posted_at, t.id) <= (?2, ?3)
             ORDER BY t.posted_at DESC, t.id DESC LIMIT ?4"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![account.0, p, id, limit as i64], txn_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Rows after `key` (all, without one), oldest first.
    fn newer(&self, account: AccountId, key: Option<(i64, i64)>, limit: usize) -> Result<Vec<Transaction>> {
        let (p, id) = key.unwrap_or((i64::MIN, i64::MIN));
        let sql = format!(
            "SELECT {TXN_COLS} FROM transactions t INDEXED BY transactions_account_time
             JOIN accounts a ON a.id = t.account_id {TXN_OTHER_LEG}
             WHERE t.account_id = ?1 AND (t.posted_at, t.id) > (?2, ?3)
             ORDER BY t.posted_at ASC, t.id ASC LIMIT ?4"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![account.0, p, id, limit as i64], txn_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The ledger balance just after `t`: its day's closing balance less
    /// what posted later that day (a few rows, not the whole history).
    fn balance_after(&self, account: &Account, t: &Transaction) -> Result<i64> {
        let at = t.posted_at.timestamp();
        let day = at.div_euclid(86_400);
        let closing: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT balance_minor FROM balance_history WHERE account_id = ?1 AND day <= ?2
                 ORDER BY day DESC LIMIT 1",
            )?
            .query_row(params![account.id.0, day], |r| r.get(0))
            .optional()?;
        let mut bal = i128::from(closing.unwrap_or(account.opening.minor));
        let mut stmt = self.conn.prepare_cached(
            "SELECT amount_minor FROM transactions INDEXED BY transactions_account_time
             WHERE account_id = ?1 AND (posted_at, id) > (?2, ?3) AND posted_at < ?4 AND status = 'posted'",
        )?;
        let later = stmt.query_map(params![account.id.0, at, t.id.0, (day + 1) * 86_400], |r| r.get::<_, i64>(0))?;
        for m in later {
            bal -= i128::from(m?);
        }
        Ok(i64::try_from(bal).unwrap_or(if bal < 0 { i64::MIN } else { i64::MAX }))
    }

    /// One transaction by id.
    pub fn transaction(&self, id: TxnId) -> Result<Transaction> {
        let sql = format!(
            "SELECT {TXN_COLS} FROM transactions t JOIN accounts a ON a.id = t.account_id {TXN_OTHER_LEG}
             WHERE t.id = ?1"
        );
        Ok(self.conn.prepare_cached(&sql)?.query_row([id.0], txn_row)?)
    }

    /// How many transactions a search matches, counted up to `cap`.
    pub fn count_matches(&self, f: &TxnFilter, cap: usize) -> Result<usize> {
        let Some(q) = super::query::fts_query(f.search.as_deref().unwrap_or_default()) else { return Ok(0) };
        let (sql, bank) = match &f.bank {
            Some(b) => (
                "SELECT count(*) FROM (SELECT 1 FROM transactions_fts fts JOIN transactions t ON t.id = fts.rowid
                  WHERE transactions_fts MATCH ?1 AND t.bank_id = ?2 LIMIT ?3)",
                b.as_str().to_string(),
            ),
            None => (
                "SELECT count(*) FROM (SELECT 1 FROM transactions_fts WHERE transactions_fts MATCH ?1
                  AND ?2 = ?2 LIMIT ?3)",
                String::new(),
            ),
        };
        let n: i64 = self.conn.prepare_cached(sql)?.query_row(params![q, bank, cap as i64], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// The latest answered alerts, the newest answer first.
    pub fn answered_alerts(&self, limit: usize) -> Result<Vec<FraudAlert>> {
        let sql = format!(
            "SELECT {ALERT_COLS} {ALERT_FROM} WHERE al.status <> 'open'
             ORDER BY al.decided_at DESC, al.id DESC LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([limit as i64], alert_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Where the message about `alert` is in its bank's thread: its id and
    /// how many messages are newer.
    pub fn alert_message(&self, bank: &BankId, alert: AlertId) -> Result<Option<(MessageId, usize)>> {
        let found: Option<(i64, i64, i64)> = self
            .conn
            .prepare_cached("SELECT id, at, bank_id = ?2 FROM messages WHERE alert_id = ?1 ORDER BY id LIMIT 1")?
            .query_row(params![alert.0, bank.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((id, at, 1)) = found else { return Ok(None) };
        let newer: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM messages WHERE bank_id = ?1 AND (at, id) > (?2, ?3)")?
            .query_row(params![bank.as_str(), at, id], |r| r.get(0))?;
        Ok(Some((MessageId(id), newer as usize)))
    }
}

/// The ledger balance after each posted transaction, newest first, walking
/// back from the balance after the first (a pending one has none: it moves
/// only what is available). `None` once the sum would overflow.
fn running_balances(after_first: Money, txns: &[Transaction]) -> Vec<Option<Money>> {
    let mut out = Vec::with_capacity(txns.len());
    let mut bal = Some(after_first.minor);
    for t in txns {
        if t.is_pending() {
            out.push(None);
            continue;
        }
        out.push(bal.map(|b| Money::new(b, after_first.currency)));
        bal = bal.and_then(|b| b.checked_sub(t.amount.minor));
    }
    out
}
