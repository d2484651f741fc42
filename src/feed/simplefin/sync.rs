//! One sync of one linked bank: a request taken from the daily budget (in
//! the store, so it holds across processes), the bridge asked for the days
//! since the last sync plus an overlap (pending ones post late), the answer
//! mapped to events. Blocking: the feed runs it off the async runtime, the
//! command line and the screen's store worker call it directly.

use std::cell::{RefCell, RefMut};
use std::collections::BTreeSet;
use std::ops::DerefMut;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::http::{self, AccessUrl, AccountsQuery, HttpConfig, HttpError};
use super::map::{MapInput, map};
use super::protocol;
use crate::domain::BankId;
use crate::domain::event::FeedEvent;
use crate::store::Store;

/// How the feed polls.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Requests in any 24 hours, across every bank and process.
    pub budget: u32,
    /// Between two syncs of a bank.
    pub interval: Duration,
    pub http: HttpConfig,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig { budget: DEFAULT_BUDGET, interval: DEFAULT_INTERVAL, http: HttpConfig::default() }
    }
}

pub const DEFAULT_BUDGET: u32 = 20;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// How far back the first sync goes (the bridge's limit per request).
pub const BACKFILL_DAYS: i64 = 90;
/// Days before the last sync asked again, for pending → posted changes.
pub const OVERLAP_DAYS: i64 = 10;

/// What the feed remembers between syncs (its cursor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// When the last sync succeeded (Unix seconds).
    pub last_ok: Option<i64>,
    /// Accounts already described to the store.
    pub accounts: BTreeSet<String>,
}

impl FeedState {
    pub fn from_cursor(cursor: Option<&str>) -> FeedState {
        cursor.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default()
    }

    pub fn cursor(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// How a sync went.
#[derive(Debug)]
pub enum SyncOutcome {
    /// The events to store (the new cursor last).
    Synced {
        events: Vec<FeedEvent>,
        transactions: usize,
        accounts: usize,
        left: u32,
    },
    /// The day's requests are spent; the next frees up then.
    BudgetSpent {
        until: Option<DateTime<Utc>>,
    },
    /// No Access URL, or this bank is not a linked connection.
    NotLinked,
    Failed(SyncError),
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("{0}")]
    Malformed(String),
    #[error("the store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl SyncError {
    /// The bridge revoked the access: no use asking again until relinked.
    pub fn is_revoked(&self) -> bool {
        matches!(self, SyncError::Http(HttpError::AccessRevoked))
    }
}

/// A store a sync can take for a moment: the feed's own connection behind
/// a mutex, or the caller's (`finbox sync`, the screen's worker).
pub trait StoreLock {
    fn store(&self) -> impl DerefMut<Target = Store> + '_;
}

impl StoreLock for Mutex<Store> {
    fn store(&self) -> impl DerefMut<Target = Store> + '_ {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StoreLock for RefCell<&mut Store> {
    fn store(&self) -> impl DerefMut<Target = Store> + '_ {
        RefMut::map(self.borrow_mut(), |s| &mut **s)
    }
}

/// Syncs `bank` once. `store` is taken only around its own reads and
/// writes, never during the request.
pub fn sync_once<S: StoreLock>(
    store: &S,
    bank: &BankId,
    state: &FeedState,
    cfg: &SyncConfig,
    now: DateTime<Utc>,
) -> SyncOutcome {
    let lock = || store.store();
    // (The store is let go before the next take: a guard held through the
    // match would deadlock the mutex.)
    let prepared = prepare(&mut lock(), bank, cfg, now);
    let (access, accounts, conn_id, left) = match prepared {
        Ok(Prepared::Ready { access, accounts, conn_id, left }) => (access, accounts, conn_id, left),
        Ok(Prepared::NotLinked) => return SyncOutcome::NotLinked,
        Ok(Prepared::Spent) => {
            let until = lock().simplefin_used(now).ok().and_then(|(_, t)| t);
            return SyncOutcome::BudgetSpent { until };
        }
        Err(e) => return SyncOutcome::Failed(e),
    };
    let start = match state.last_ok {
        Some(t) => (t - OVERLAP_DAYS * 86_400).max(now.timestamp() - BACKFILL_DAYS * 86_400),
        None => now.timestamp() - BACKFILL_DAYS * 86_400,
    };
    let q = AccountsQuery { start: Some(start), end: None, pending: true, accounts, balances_only: false };
    let result = http::get_accounts(&access, &q, &cfg.http)
        .map_err(SyncError::from)
        .and_then(|body| protocol::parse(&body).map_err(SyncError::Malformed));
    let set = match result {
        Ok(set) => set,
        Err(e) => {
            let mut s = lock();
            // A request that never reached the bridge does not count.
            if matches!(e, SyncError::Http(HttpError::Network(_))) {
                let _ = s.refund_simplefin_request(bank, now);
            }
            let _ = s.record_simplefin_sync(bank, now, Some(&e.to_string()));
            return SyncOutcome::Failed(e);
        }
    };
    let window_start = DateTime::from_timestamp(start, 0).unwrap_or(now);
    let input = MapInput {
        conn_id: &conn_id,
        known: &state.accounts,
        window_start,
        backfill: state.last_ok.is_none(),
        country: "US",
        now,
    };
    let mapped = map(&set, &input);
    let mut next = state.clone();
    next.last_ok = Some(now.timestamp());
    next.accounts.extend(mapped.accounts.iter().cloned());
    let mut events = mapped.events;
    events.push(FeedEvent::Cursor(next.cursor()));
    if let Err(e) = lock().record_simplefin_sync(bank, now, None) {
        return SyncOutcome::Failed(e.into());
    }
    SyncOutcome::Synced { events, transactions: mapped.transactions, accounts: mapped.accounts.len(), left }
}

enum Prepared {
    Ready { access: Box<AccessUrl>, accounts: Vec<String>, conn_id: String, left: u32 },
    NotLinked,
    Spent,
}

/// The Access URL and the link, and a request taken from the budget.
fn prepare(s: &mut Store, bank: &BankId, cfg: &SyncConfig, now: DateTime<Utc>) -> Result<Prepared, SyncError> {
    let (Some(url), Some(link)) = (s.simplefin_access()?, s.simplefin_link(bank)?) else {
        return Ok(Prepared::NotLinked);
    };
    let access = AccessUrl::parse(&url, &cfg.http)?;
    Ok(match s.claim_simplefin_request(bank, now, cfg.budget)? {
        Some(left) => {
            Prepared::Ready { access: Box::new(access), accounts: link.accounts, conn_id: link.conn_id, left }
        }
        None => Prepared::Spent,
    })
}
