//! What finbox keeps of a SimpleFIN Bridge link: the Access URL (a
//! credential: it stays in the store, encrypted with it, and leaves it only
//! for the feed's requests to its own host), one finbox bank per
//! connection, and the requests made, counted against a daily budget that
//! holds across every process sharing the store.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Result, Store, StoreError};
use crate::domain::BankId;

pub use crate::domain::SIMPLEFIN_FEED;

/// A connection as the bridge lists it, to be a finbox bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub conn_id: String,
    pub name: String,
    pub org_id: String,
    pub org_url: Option<String>,
    /// The bridge's ids of its accounts.
    pub accounts: Vec<String>,
}

/// A linked connection: its bank, and how its syncs went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub bank: BankId,
    pub conn_id: String,
    pub accounts: Vec<String>,
    pub last_try: Option<DateTime<Utc>>,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The window the budget counts requests in.
pub const BUDGET_WINDOW_SECS: i64 = 86_400;

impl Store {
    /// Keeps the Access URL (replacing one kept before).
    pub fn save_simplefin_access(&mut self, url: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO simplefin_access (id, url, linked_at) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET url = excluded.url, linked_at = excluded.linked_at",
            params![url, now.timestamp()],
        )?;
        Ok(())
    }

    /// The Access URL, if one is kept. A secret: never print it.
    pub fn simplefin_access(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT url FROM simplefin_access WHERE id = 1", [], |r| r.get(0)).optional()?)
    }

    /// Forgets the Access URL; the banks and what they shared stay. Whether
    /// one was kept.
    pub fn forget_simplefin_access(&mut self) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM simplefin_access", [])? > 0)
    }

    /// Makes (or finds) the finbox bank of a connection: not shared until
    /// the user grants it. Its id comes from the organisation (its web
    /// address's name, else its id), made unique.
    pub fn link_simplefin(&mut self, c: &Connection, color: &str) -> Result<BankId> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let accounts = serde_json::to_string(&c.accounts).unwrap_or_else(|_| "[]".into());
        let known: Option<String> = tx
            .query_row("SELECT bank_id FROM simplefin_links WHERE conn_id = ?1", [&c.conn_id], |r| r.get(0))
            .optional()?;
        let id = match known {
            Some(id) => {
                tx.execute("UPDATE simplefin_links SET accounts = ?2 WHERE bank_id = ?1", params![id, accounts])?;
                tx.execute("UPDATE banks SET name = ?2 WHERE id = ?1", params![id, c.name])?;
                id
            }
            None => {
                let base = bank_slug(c);
                let mut id = base.clone();
                let mut n = 2;
                while tx.query_row("SELECT 1 FROM banks WHERE id = ?1", [&id], |_| Ok(())).optional()?.is_some() {
                    id = format!("{}-{n}", &base[..base.len().min(28)]);
                    n += 1;
                }
                let position: i64 =
                    tx.query_row("SELECT coalesce(max(position), -1) + 1 FROM banks", [], |r| r.get(0))?;
                tx.execute(
                    "INSERT INTO banks (id, name, color, feed_kind, position) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, c.name, color, SIMPLEFIN_FEED, position],
                )?;
                tx.execute(
                    "INSERT INTO simplefin_links (bank_id, conn_id, org_id, accounts) VALUES (?1, ?2, ?3, ?4)",
                    params![id, c.conn_id, c.org_id, accounts],
                )?;
                id
            }
        };
        tx.commit()?;
        Ok(BankId::new(&id)?)
    }

    /// Every linked connection, in the bank list's order.
    pub fn simplefin_links(&self) -> Result<Vec<Link>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.bank_id, l.conn_id, l.accounts, l.last_try, l.last_ok, l.last_error
             FROM simplefin_links l JOIN banks b ON b.id = l.bank_id ORDER BY b.position",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (bank, conn_id, accounts, last_try, last_ok, last_error) = row?;
            out.push(Link {
                bank: BankId::new(&bank)?,
                conn_id,
                accounts: serde_json::from_str(&accounts).unwrap_or_default(),
                last_try: last_try.map(super::from_unix),
                last_ok: last_ok.map(super::from_unix),
                last_error,
            });
        }
        Ok(out)
    }

    pub fn simplefin_link(&self, bank: &BankId) -> Result<Option<Link>> {
        Ok(self.simplefin_links()?.into_iter().find(|l| &l.bank == bank))
    }

    /// Takes one request from the daily budget for `bank`, in one write
    /// transaction (so two processes cannot both take the last one): how
    /// many are left after it, or `None` when the budget is spent.
    pub fn claim_simplefin_request(&mut self, bank: &BankId, now: DateTime<Utc>, budget: u32) -> Result<Option<u32>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let since = now.timestamp() - BUDGET_WINDOW_SECS;
        tx.execute("DELETE FROM simplefin_requests WHERE at <= ?1", [since])?;
        let used: i64 = tx.query_row("SELECT count(*) FROM simplefin_requests", [], |r| r.get(0))?;
        if used >= i64::from(budget) {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO simplefin_requests (at, bank_id) VALUES (?1, ?2)",
            params![now.timestamp(), bank.as_str()],
        )?;
        tx.commit()?;
        Ok(Some(budget - used as u32 - 1))
    }

    /// Gives back a request that never reached the bridge (no connection).
    pub fn refund_simplefin_request(&mut self, bank: &BankId, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "DELETE FROM simplefin_requests WHERE rowid =
               (SELECT rowid FROM simplefin_requests WHERE bank_id = ?1 AND at = ?2 LIMIT 1)",
            params![bank.as_str(), at.timestamp()],
        )?;
        Ok(())
    }

    /// Requests made in the last 24 hours, across every process, and when
    /// the oldest of them frees its place.
    pub fn simplefin_used(&self, now: DateTime<Utc>) -> Result<(u32, Option<DateTime<Utc>>)> {
        let since = now.timestamp() - BUDGET_WINDOW_SECS;
        let (used, oldest): (i64, Option<i64>) =
            self.conn.query_row("SELECT count(*), min(at) FROM simplefin_requests WHERE at > ?1", [since], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok((used.max(0) as u32, oldest.map(|t| super::from_unix(t + BUDGET_WINDOW_SECS))))
    }

    /// Requests made for `bank` in the last 24 hours, and the latest.
    pub fn simplefin_requests(&self, bank: &BankId, now: DateTime<Utc>) -> Result<(u32, Option<DateTime<Utc>>)> {
        let (n, last): (i64, Option<i64>) = self.conn.query_row(
            "SELECT count(*), max(at) FROM simplefin_requests WHERE bank_id = ?1 AND at > ?2",
            params![bank.as_str(), now.timestamp() - BUDGET_WINDOW_SECS],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((n as u32, last.map(super::from_unix)))
    }

    /// The oldest transaction a bank shared: how far back its history goes.
    pub fn oldest_transaction(&self, bank: &BankId) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT min(posted_at) FROM transactions WHERE bank_id = ?1",
            [bank.as_str()],
            |r| r.get(0),
        )?;
        Ok(t.map(super::from_unix))
    }

    /// How a sync of `bank` went (`error`: None for a success).
    pub fn record_simplefin_sync(&mut self, bank: &BankId, now: DateTime<Utc>, error: Option<&str>) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE simplefin_links SET last_try = ?2, last_error = ?3,
                    last_ok = CASE WHEN ?3 IS NULL THEN ?2 ELSE last_ok END
             WHERE bank_id = ?1",
            params![bank.as_str(), now.timestamp(), error],
        )?;
        if n == 0 {
            return Err(StoreError::Refused(format!("{bank} is not linked through SimpleFIN")));
        }
        Ok(())
    }
}

/// "mybank" from `https://www.mybank.com`, else from the org id; always a
/// valid bank id.
fn bank_slug(c: &Connection) -> String {
    let from_url = c.org_url.as_deref().and_then(|u| {
        let host = u.split("://").nth(1).unwrap_or(u).split(['/', ':']).next()?;
        let host = host.trim_start_matches("www.");
        host.split('.').next().map(str::to_string)
    });
    let raw = from_url.filter(|s| !s.is_empty()).unwrap_or_else(|| c.org_id.clone());
    let mut slug: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    slug.truncate(28);
    if slug.is_empty() { "simplefin".to_string() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: &str, org_url: Option<&str>) -> Connection {
        Connection {
            conn_id: id.into(),
            name: "My Bank - Jill".into(),
            org_id: "INST-8293948".into(),
            org_url: org_url.map(str::to_string),
            accounts: vec!["ACT-1".into()],
        }
    }

    #[test]
    fn a_connection_becomes_an_unshared_bank_once() {
        let mut s = Store::open_in_memory().unwrap();
        let now = chrono::Utc::now();
        let a = s.link_simplefin(&conn("CON-1", Some("https://www.mybank.com")), "#336699").unwrap();
        assert_eq!(a.as_str(), "mybank");
        // The same connection again is the same bank; another at the same
        // bank gets its own.
        assert_eq!(s.link_simplefin(&conn("CON-1", Some("https://www.mybank.com")), "#336699").unwrap(), a);
        let b = s.link_simplefin(&conn("CON-2", Some("https://mybank.com/x")), "#336699").unwrap();
        assert_eq!(b.as_str(), "mybank-2");
        let c = s.link_simplefin(&conn("CON-3", None), "#336699").unwrap();
        assert_eq!(c.as_str(), "inst-8293948");
        let bank = s.bank(&a).unwrap();
        assert_eq!((bank.feed_kind.as_str(), bank.is_shared(now)), (SIMPLEFIN_FEED, false));
        assert_eq!(s.simplefin_links().unwrap().len(), 3);
    }

    #[test]
    fn the_budget_counts_a_day_of_requests() {
        let mut s = Store::open_in_memory().unwrap();
        let bank = s.link_simplefin(&conn("CON-1", None), "#336699").unwrap();
        let t = chrono::Utc::now();
        assert_eq!(s.claim_simplefin_request(&bank, t, 2).unwrap(), Some(1));
        assert_eq!(s.claim_simplefin_request(&bank, t, 2).unwrap(), Some(0));
        assert_eq!(s.claim_simplefin_request(&bank, t, 2).unwrap(), None);
        s.refund_simplefin_request(&bank, t).unwrap();
        assert_eq!(s.simplefin_used(t).unwrap().0, 1);
        let later = t + chrono::Duration::seconds(BUDGET_WINDOW_SECS + 1);
        assert_eq!(s.claim_simplefin_request(&bank, later, 2).unwrap(), Some(1));
    }
}
