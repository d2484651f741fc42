//! One producer per bank across processes: a process that runs a bank's
//! feed holds the bank's lease in the store. A second process (the screen
//! and a `finbox feed` in another terminal) sees who feeds the bank and
//! leaves it alone, and takes it over when its holder stops: it released it,
//! its process is gone (same host), or it stopped renewing.

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Result, Store};
use crate::domain::BankId;

/// How often a holder renews its leases.
pub const LEASE_RENEW: Duration = Duration::from_secs(5);
/// A lease not renewed for this long is free, even if its process seems to
/// live (stopped with SIGSTOP, hung, or another host's).
pub const LEASE_STALE: Duration = Duration::from_secs(30);

/// A process that runs feeds: who it is, to the other processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHolder {
    /// Unique to this run of the process.
    pub token: String,
    pub pid: u32,
    pub host: String,
}

/// Who feeds a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// This process.
    Ours,
    /// Another finbox process, alive and renewing.
    Elsewhere { pid: u32 },
}

impl Store {
    /// Claims the feeds of `banks` for `me` at `now_ms` (Unix milliseconds),
    /// in one write transaction: a bank nobody holds is taken; one held by
    /// `me` is renewed when its heartbeat is older than [`LEASE_RENEW`]; one
    /// held by another process is taken over when that process is gone
    /// (`alive(pid)` is false, asked only for holders on this host) or has
    /// not renewed for [`LEASE_STALE`]. Returns each bank's lease. Writes
    /// nothing when nothing changes, so other connections see no commit.
    pub fn claim_feeds(
        &mut self,
        me: &FeedHolder,
        banks: &[BankId],
        now_ms: i64,
        alive: &dyn Fn(u32) -> bool,
    ) -> Result<Vec<(BankId, Lease)>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(banks.len());
        for bank in banks {
            let row: Option<(String, i64, String, i64)> = tx
                .prepare_cached("SELECT holder, pid, host, heartbeat_at FROM feed_leases WHERE bank_id = ?1")?
                .query_row([bank.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let take = match &row {
                None => true,
                Some((holder, _, _, beat)) if *holder == me.token => now_ms - beat >= LEASE_RENEW.as_millis() as i64,
                Some((_, pid, host, beat)) => {
                    let stale = now_ms - beat >= LEASE_STALE.as_millis() as i64;
                    let dead = *host == me.host && !alive(*pid as u32);
                    if stale || dead {
                        tracing::info!(%bank, pid, stale, "taking over the feed of a finbox that stopped");
                    }
                    stale || dead
                }
            };
            if take {
                tx.prepare_cached(
                    "INSERT INTO feed_leases (bank_id, holder, pid, host, heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(bank_id) DO UPDATE SET holder = excluded.holder, pid = excluded.pid,
                         host = excluded.host, heartbeat_at = excluded.heartbeat_at",
                )?
                .execute(params![bank.as_str(), me.token, me.pid, me.host, now_ms])?;
            }
            let lease = match row {
                Some((holder, pid, _, _)) if !take && holder != me.token => Lease::Elsewhere { pid: pid as u32 },
                _ => Lease::Ours,
            };
            out.push((bank.clone(), lease));
        }
        tx.commit()?;
        Ok(out)
    }

    /// Lets go of `me`'s leases on `banks` (every one of them when `None`),
    /// so another process may take them at once.
    pub fn release_feeds(&mut self, me: &FeedHolder, banks: Option<&[BankId]>) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match banks {
            None => {
                tx.execute("DELETE FROM feed_leases WHERE holder = ?1", [&me.token])?;
            }
            Some(banks) => {
                let mut del = tx.prepare_cached("DELETE FROM feed_leases WHERE holder = ?1 AND bank_id = ?2")?;
                for b in banks {
                    del.execute([me.token.as_str(), b.as_str()])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}
