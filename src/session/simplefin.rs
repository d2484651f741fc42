//! Real banks through SimpleFIN Bridge, for both front ends: linking (the
//! claim, then the connections as unshared banks) and a sync now (`finbox
//! sync`, the screen's key), the same sync the feed runs, applied at once.

use std::cell::RefCell;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::domain::BankId;
use crate::domain::event::Envelope;
use crate::feed::simplefin::http::{self, AccessUrl, AccountsQuery, SetupToken};
use crate::feed::simplefin::{FeedState, SyncConfig, SyncOutcome, protocol, sync_once};
use crate::store::{SimplefinConnection, Store};

/// How the SimpleFIN feed polls: `[simplefin]`, and the HTTP defaults.
pub fn sync_config(s: &Settings) -> SyncConfig {
    SyncConfig {
        budget: s.simplefin_budget,
        interval: std::time::Duration::from_secs(u64::from(s.simplefin_interval_hours) * 3600),
        ..Default::default()
    }
}

/// Colours of linked banks, in turn.
const COLORS: &[&str] = &["#2e8b57", "#6a5acd", "#cd853f", "#4682b4", "#b22222", "#20b2aa"];

/// A linked connection, as `finbox link` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub bank: BankId,
    pub name: String,
    pub accounts: usize,
}

/// Claims the setup token's Access URL (once: the bridge refuses a second
/// claim), keeps it, and makes one unshared bank per connection the bridge
/// lists. The listing is one request of the day's budget.
pub fn link(store: &mut Store, cfg: &SyncConfig, token: &str, now: DateTime<Utc>) -> Result<(String, Vec<Linked>)> {
    let token = SetupToken::parse(token)?;
    let access = http::claim(&token, &cfg.http)?;
    store.save_simplefin_access(access.expose(), now)?;
    let host = access.host().to_string();
    let listing = BankId::new("simplefin")?;
    if store.claim_simplefin_request(&listing, now, cfg.budget)?.is_none() {
        anyhow::bail!(
            "the access is kept, but today's SimpleFIN requests are spent: run `finbox link simplefin` again \
             tomorrow to list the banks (no new token needed)"
        );
    }
    let q = AccountsQuery { balances_only: true, ..Default::default() };
    let body =
        http::get_accounts(&access, &q, &cfg.http).context("the access is kept, but listing the banks failed")?;
    let set = protocol::parse(&body).map_err(anyhow::Error::msg)?;
    let mut linked = Vec::new();
    for (i, c) in set.connections.iter().enumerate() {
        let accounts: Vec<String> =
            set.accounts.iter().filter(|a| a.conn_id.as_deref() == Some(&c.conn_id)).map(|a| a.id.clone()).collect();
        let conn = SimplefinConnection {
            conn_id: c.conn_id.clone(),
            name: crate::domain::text::clean_line(&c.name, 60),
            org_id: c.org_id.clone(),
            org_url: c.org_url.clone(),
            accounts,
        };
        let bank = store.link_simplefin(&conn, COLORS[i % COLORS.len()])?;
        linked.push(Linked { bank, name: conn.name, accounts: conn.accounts.len() });
    }
    Ok((host, linked))
}

/// Stored access, if any, as its host only (never the URL).
pub fn linked_host(store: &Store) -> Result<Option<String>> {
    let Some(url) = store.simplefin_access()? else { return Ok(None) };
    Ok(AccessUrl::parse(&url, &Default::default()).ok().map(|a| a.host().to_string()))
}

/// What a sync now did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncReport {
    Synced {
        transactions: usize,
        accounts: usize,
        left: u32,
    },
    /// Today's requests are spent; one frees up then.
    Spent {
        until: Option<DateTime<Utc>>,
    },
    NotLinked,
    NotShared,
    Failed(String),
}

/// Syncs a linked, shared bank now and stores what it sent.
pub fn sync_now(store: &mut Store, cfg: &SyncConfig, bank: &BankId, now: DateTime<Utc>) -> Result<SyncReport> {
    let b = store.bank(bank)?;
    if !b.is_shared(now) {
        return Ok(SyncReport::NotShared);
    }
    let state = FeedState::from_cursor(store.feed_cursor(bank)?.as_deref());
    let outcome = {
        let cell = RefCell::new(&mut *store);
        sync_once(&cell, bank, &state, cfg, now)
    };
    Ok(match outcome {
        SyncOutcome::Synced { events, transactions, accounts, left } => {
            let batch: Vec<Envelope> =
                events.into_iter().map(|event| Envelope { bank: bank.clone(), epoch: b.epoch, event }).collect();
            store.apply_batch(&batch, now)?;
            SyncReport::Synced { transactions, accounts, left }
        }
        SyncOutcome::BudgetSpent { until } => SyncReport::Spent { until },
        SyncOutcome::NotLinked => SyncReport::NotLinked,
        SyncOutcome::Failed(e) => SyncReport::Failed(e.to_string()),
    })
}
