//! The feed supervisor: owns one task per shared bank, starts a feed when its
//! bank is shared, stops it within a poll interval when consent is revoked (by
//! this process or another) or expires, restarts a failed or panicked feed with back-off
//! and reports the failure in that bank's conversation. The others go on.
//!
//! A bank's feed runs in one process at a time: the supervisor holds the
//! bank's lease in the store ([`Store::claim_feeds`]) before it starts the
//! feed, leaves a bank another finbox feeds to that process, and takes it
//! over when that process stops. The writer lets go of the leases once it
//! has committed the last event ([`super::writer::WriterConfig::holder`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    BankControl, BankProfile, Clock, Envelope, FeedContext, FeedError, FeedEvent, FeedExit, FeedMode, FeedRegistry,
    FeedSink,
};
use crate::domain::BankId;
use crate::store::{FeedHolder, Lease, Store};

/// Names a bank whose feed panics on its first run: for tests of containment.
pub const FAULT_PANIC_ENV: &str = "FINBOX_FAULT_PANIC_FEED";

/// How long a cancelled feed may take to stop when finbox quits.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// How often consent and card states are re-read from the store.
pub const POLL: Duration = Duration::from_millis(250);
/// How often leases are checked: a bank whose feeding process died is taken
/// over within this (plus a poll).
pub const LEASE_CHECK: Duration = Duration::from_secs(1);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A feed that ran this long without failing starts its back-off afresh.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

pub use crate::domain::event::FeedStatus;

pub struct SupervisorConfig {
    pub registry: FeedRegistry,
    pub profiles: Vec<BankProfile>,
    pub seed: u64,
    pub mode: FeedMode,
    pub clock: Clock,
    pub utc_offset_secs: i32,
    /// This process, as other processes see it in the feed leases.
    pub holder: FeedHolder,
    /// What SimpleFIN feeds keep in the store, and how they poll.
    pub ledger: Option<super::simplefin::Ledger>,
}

/// Per-bank outcome of a supervisor run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedTally {
    pub events: u64,
    pub failures: u32,
}

struct RunningFeed {
    epoch: i64,
    cancel: CancellationToken,
    handle: JoinHandle<Result<FeedExit, FeedError>>,
    sink: FeedSink,
    control: watch::Sender<BankControl>,
    started: Instant,
    /// When it was told to stop.
    cancelled_at: Option<Instant>,
    aborted: bool,
}

impl RunningFeed {
    /// Aborts a feed that ignored its cancellation (hung on a read that
    /// never returns): it is dropped at its next await. Said once.
    fn abort(&mut self, bank: &BankId) {
        if !self.aborted {
            tracing::warn!(%bank, "feed ignored its cancellation; aborted");
            self.handle.abort();
            self.aborted = true;
        }
    }
}

#[derive(Default)]
struct Slot {
    running: Option<RunningFeed>,
    /// Events mode: how many bank events are still to produce.
    quota: Option<u64>,
    finished: bool,
    failures: u32,
    retry_at: Option<Instant>,
    events: u64,
}

/// Runs feeds until `cancel` fires (live mode) or every feed has produced its
/// share (events mode). In events mode, `n` events are split across the banks
/// shared when it starts. Returns per-bank tallies once every task has ended.
pub async fn run(
    cfg: SupervisorConfig,
    mut reader: Store,
    tx: mpsc::Sender<Envelope>,
    cancel: CancellationToken,
    status: Option<watch::Sender<BTreeMap<BankId, FeedStatus>>>,
) -> BTreeMap<BankId, FeedTally> {
    let mut leases: HashMap<BankId, Lease> = HashMap::new();
    let mut slots = match cfg.mode {
        FeedMode::Events(n) => quotas(&cfg, &mut reader, &mut leases, n),
        FeedMode::Live => HashMap::new(),
    };
    let mut claimed_at: Option<Instant> = None;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        // Without the store writer no feed can deliver: restarting them
        // would go on for ever. The run ends, and the writer's error with it.
        if tx.is_closed() {
            tracing::error!("the store writer has stopped; stopping the feeds");
            break;
        }
        // A grant whose time is up ends here like a revoke: recorded (its
        // epoch moves on) and announced in the bank's conversation.
        let now = (cfg.clock)();
        if let Err(e) = reader.expire_due(now) {
            tracing::warn!(error = %e, "cannot record expired consents; treating them as ended");
        }
        match read_banks(&reader, now) {
            Ok(mut banks) => {
                if claimed_at.is_none_or(|t| t.elapsed() >= LEASE_CHECK) {
                    claimed_at = Some(Instant::now());
                    let events_mode = matches!(cfg.mode, FeedMode::Events(_));
                    let wanted: Vec<BankId> = banks
                        .iter()
                        .filter(|b| b.shared && has_feed(&cfg, &b.bank))
                        .filter(|b| !events_mode || slots.contains_key(&b.bank.id))
                        .map(|b| b.bank.id.clone())
                        .collect();
                    claim(&cfg, &mut reader, &wanted, &mut leases);
                }
                for b in &mut banks {
                    b.lease = leases.get(&b.bank.id).copied();
                }
                reconcile(&cfg, banks, &tx, &mut slots).await
            }
            Err(e) => tracing::warn!(error = %e, "cannot read consent; keeping feeds as they are"),
        }
        if let Some(status) = &status {
            report_status(&cfg, &slots, &leases, status);
        }
        if matches!(cfg.mode, FeedMode::Events(_)) && slots.values().all(|s| s.finished) {
            break;
        }
    }
    stop_all(&mut slots).await;
    slots.into_iter().map(|(id, s)| (id, FeedTally { events: s.events, failures: s.failures })).collect()
}

/// Whether a feed can run for `bank`: it has a profile, or the store made
/// it when the user linked it (SimpleFIN).
fn has_feed(cfg: &SupervisorConfig, bank: &crate::domain::Bank) -> bool {
    bank.feed_kind == super::simplefin::KIND || cfg.profiles.iter().any(|p| p.id == bank.id)
}

/// Events mode: `n` events split across the banks shared when it starts
/// that no other process feeds.
fn quotas(
    cfg: &SupervisorConfig,
    reader: &mut Store,
    leases: &mut HashMap<BankId, Lease>,
    n: u64,
) -> HashMap<BankId, Slot> {
    let now = (cfg.clock)();
    let shared: Vec<BankId> = match reader.banks() {
        Ok(b) => b
            .into_iter()
            .filter(|s| s.bank.is_shared(now))
            .map(|s| s.bank.id)
            .filter(|id| cfg.profiles.iter().any(|p| &p.id == id))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read banks");
            Vec::new()
        }
    };
    claim(cfg, reader, &shared, leases);
    let granted: Vec<BankId> = shared.into_iter().filter(|b| leases.get(b) == Some(&Lease::Ours)).collect();
    let share = n / granted.len().max(1) as u64;
    let extra = n % granted.len().max(1) as u64;
    let mut slots = HashMap::new();
    for (i, id) in granted.iter().enumerate() {
        let quota = share + u64::from((i as u64) < extra);
        slots.insert(id.clone(), Slot { quota: Some(quota), finished: quota == 0, ..Default::default() });
    }
    slots
}

/// Tells the screen (or `finbox feed`) how each bank's feed is doing, when
/// that changed.
fn report_status(
    cfg: &SupervisorConfig,
    slots: &HashMap<BankId, Slot>,
    leases: &HashMap<BankId, Lease>,
    status: &watch::Sender<BTreeMap<BankId, FeedStatus>>,
) {
    // The profiles' banks, and the linked ones (which have slots of their own).
    let ids: std::collections::BTreeSet<&BankId> = cfg.profiles.iter().map(|p| &p.id).chain(slots.keys()).collect();
    let map = ids
        .into_iter()
        .map(|id| {
            let s = match leases.get(id) {
                Some(Lease::Elsewhere { pid }) if slots.get(id).is_none_or(|s| s.running.is_none()) => {
                    FeedStatus::Elsewhere { pid: *pid }
                }
                _ => slot_status(slots.get(id)),
            };
            (id.clone(), s)
        })
        .collect::<BTreeMap<_, _>>();
    status.send_if_modified(|old| {
        let changed = *old != map;
        *old = map;
        changed
    });
}

/// Stops whatever still runs and waits for it, so its last events are
/// queued before the caller closes the writer. A feed that ignores its
/// cancellation (hung on a read that never returns) is given a second, then
/// aborted: quitting never waits on it.
async fn stop_all(slots: &mut HashMap<BankId, Slot>) {
    for slot in slots.values_mut() {
        if let Some(r) = slot.running.as_ref() {
            r.cancel.cancel();
        }
    }
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    for (bank, slot) in slots.iter_mut() {
        if let Some(mut r) = slot.running.take() {
            if tokio::time::timeout_at(deadline, &mut r.handle).await.is_err() {
                r.abort(bank);
                // A feed stuck without an await (a busy loop) is left to the
                // runtime's shutdown.
                let _ = tokio::time::timeout(Duration::from_millis(200), &mut r.handle).await;
            }
            slot.events += r.sink.sent();
        }
    }
}

/// Claims the leases of `wanted` (renewing ours) and lets go of the ones
/// this process holds but no longer wants (a bank no longer shared). A store
/// that cannot be written keeps the leases as they were.
fn claim(cfg: &SupervisorConfig, reader: &mut Store, wanted: &[BankId], leases: &mut HashMap<BankId, Lease>) {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let unwanted: Vec<BankId> =
        leases.iter().filter(|(b, l)| **l == Lease::Ours && !wanted.contains(b)).map(|(b, _)| b.clone()).collect();
    if !unwanted.is_empty() {
        match reader.release_feeds(&cfg.holder, Some(&unwanted)) {
            Ok(()) => unwanted.iter().for_each(|b| {
                leases.remove(b);
            }),
            Err(e) => tracing::warn!(error = %e, "cannot release feed leases"),
        }
    }
    leases.retain(|b, _| wanted.contains(b));
    match reader.claim_feeds(&cfg.holder, wanted, now_ms, &super::lease::alive) {
        Ok(claimed) => {
            for (bank, lease) in claimed {
                match (leases.get(&bank), lease) {
                    (Some(Lease::Elsewhere { pid }), Lease::Ours) => {
                        tracing::info!(%bank, pid, "took over the feed from a finbox that stopped")
                    }
                    (None | Some(Lease::Ours), Lease::Elsewhere { pid }) => {
                        tracing::info!(%bank, pid, "another finbox feeds this bank")
                    }
                    _ => {}
                }
                leases.insert(bank, lease);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot claim feed leases; keeping them as they are"),
    }
}

fn slot_status(slot: Option<&Slot>) -> FeedStatus {
    match slot {
        None => FeedStatus::Off,
        Some(s) if s.running.is_some() => FeedStatus::Running,
        Some(s) if s.finished => FeedStatus::Finished,
        Some(s) if s.retry_at.is_some() => FeedStatus::Restarting { error: String::new(), attempt: s.failures },
        Some(_) => FeedStatus::Off,
    }
}

/// What the supervisor needs to know about a bank, read in one go so that no
/// store borrow is held across an await.
struct BankState {
    bank: crate::domain::Bank,
    cursor: Option<String>,
    frozen: std::collections::HashSet<String>,
    /// Shared now: granted and not expired.
    shared: bool,
    /// Who feeds it, if anyone claimed it.
    lease: Option<Lease>,
}

fn read_banks(reader: &Store, now: chrono::DateTime<chrono::Utc>) -> crate::store::Result<Vec<BankState>> {
    let mut out = Vec::new();
    for summary in reader.banks()? {
        let granted = summary.bank.is_shared(now);
        let (cursor, frozen) = if granted {
            (reader.feed_cursor(&summary.bank.id)?, reader.frozen_accounts(&summary.bank.id)?)
        } else {
            (None, Default::default())
        };
        out.push(BankState { bank: summary.bank, cursor, frozen, shared: granted, lease: None });
    }
    Ok(out)
}

async fn reconcile(
    cfg: &SupervisorConfig,
    banks: Vec<BankState>,
    tx: &mpsc::Sender<Envelope>,
    slots: &mut HashMap<BankId, Slot>,
) {
    let now = Instant::now();
    for BankState { bank, cursor, frozen, shared, lease } in banks {
        // Runs here only while shared and this process holds its lease.
        let granted = shared && lease == Some(Lease::Ours);
        // A bank linked through SimpleFIN has no profile file: the store
        // made it when the user linked it.
        let linked;
        let profile = match cfg.profiles.iter().find(|p| p.id == bank.id) {
            Some(p) => p,
            None if bank.feed_kind == super::simplefin::KIND => {
                linked = BankProfile::linked(&bank.id, &bank.name, &bank.color, &bank.feed_kind);
                &linked
            }
            None => continue,
        };
        if !granted && !slots.contains_key(&bank.id) {
            continue;
        }
        let events_mode = matches!(cfg.mode, FeedMode::Events(_));
        if events_mode && !slots.contains_key(&bank.id) {
            continue; // only the banks shared at the start take part
        }
        let slot = slots.entry(bank.id.clone()).or_default();
        // 1. A running feed whose consent went away (revoked, expired, or a
        // new epoch), or whose lease another process took, stops now.
        stop_if_unwanted(slot, &bank, granted, events_mode, now);
        // 2. Collect a feed that ended.
        collect_ended(cfg, profile, &bank, slot, tx, now).await;
        // 3. Tell a running feed which cards are frozen.
        if let Some(r) = &slot.running {
            r.control.send_if_modified(|c| {
                let changed = c.frozen_accounts != frozen;
                c.frozen_accounts = frozen;
                changed
            });
            continue;
        }
        // 4. Start a feed for a shared bank that has none.
        if granted && !slot.finished && slot.retry_at.is_none_or(|t| now >= t) {
            start(cfg, profile, &bank, cursor, frozen, slot, tx, now).await;
        }
    }
}

/// Cancels a running feed whose bank is no longer ours to feed (or whose
/// epoch moved on); a feed that has not stopped a second later (hung) is
/// aborted. The store refuses its events meanwhile, by epoch.
fn stop_if_unwanted(slot: &mut Slot, bank: &crate::domain::Bank, granted: bool, events_mode: bool, now: Instant) {
    let Some(r) = &mut slot.running else { return };
    if granted && r.epoch == bank.epoch {
        return;
    }
    match r.cancelled_at {
        None => {
            r.cancel.cancel();
            r.cancelled_at = Some(now);
            tracing::info!(bank = %bank.id, granted, "consent or lease changed; stopping feed");
        }
        Some(at) if now.duration_since(at) >= STOP_GRACE && !r.handle.is_finished() => r.abort(&bank.id),
        Some(_) => {}
    }
    if events_mode {
        slot.finished = true;
    }
}

/// Takes in a feed that ended: counts what it sent, and after a failure
/// schedules a restart with back-off and says so in the bank's thread.
async fn collect_ended(
    cfg: &SupervisorConfig,
    profile: &BankProfile,
    bank: &crate::domain::Bank,
    slot: &mut Slot,
    tx: &mpsc::Sender<Envelope>,
    now: Instant,
) {
    if !slot.running.as_ref().is_some_and(|r| r.handle.is_finished()) {
        return;
    }
    let r = slot.running.take().expect("checked");
    let sent = r.sink.sent();
    slot.events += sent;
    if let Some(q) = slot.quota.as_mut() {
        *q = q.saturating_sub(sent);
    }
    let outcome = match r.handle.await {
        Ok(Ok(exit)) => Ok(exit),
        Ok(Err(e)) => Err(e.to_string()),
        Err(join) if join.is_panic() => Err(format!("it crashed ({})", panic_text(join))),
        Err(_) => Ok(FeedExit::Cancelled { events: sent }),
    };
    match outcome {
        Ok(FeedExit::Finished { .. }) => slot.finished = true,
        Ok(FeedExit::Cancelled { .. }) => {}
        Err(error) => {
            if r.started.elapsed() > HEALTHY_AFTER {
                slot.failures = 0;
            }
            slot.failures += 1;
            let delay = backoff(slot.failures);
            slot.retry_at = Some(now + delay);
            tracing::warn!(bank = %bank.id, %error, attempt = slot.failures, "feed failed; restarting");
            let text = format!(
                "The {} feed stopped: {error}. finbox restarts it in {} s (attempt {}).",
                profile.name,
                delay.as_secs(),
                slot.failures
            );
            notice(cfg, bank, tx, text).await;
        }
    }
    if slot.quota == Some(0) {
        slot.finished = true;
    }
}

/// A notice from finbox in the bank's thread.
async fn notice(cfg: &SupervisorConfig, bank: &crate::domain::Bank, tx: &mpsc::Sender<Envelope>, text: String) {
    let envelope = Envelope {
        bank: bank.id.clone(),
        epoch: bank.epoch,
        event: FeedEvent::SystemNotice { at: (cfg.clock)(), text },
    };
    let _ = tx.send(envelope).await;
}

/// Starts the bank's feed from `cursor`, or says in its thread why it
/// cannot.
#[allow(clippy::too_many_arguments)]
async fn start(
    cfg: &SupervisorConfig,
    profile: &BankProfile,
    bank: &crate::domain::Bank,
    cursor: Option<String>,
    frozen: std::collections::HashSet<String>,
    slot: &mut Slot,
    tx: &mpsc::Sender<Envelope>,
    now: Instant,
) {
    slot.retry_at = None;
    let feed = match cfg.registry.build(profile) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(bank = %bank.id, error = %e, "cannot build feed");
            slot.finished = true;
            notice(cfg, bank, tx, format!("The feed cannot start: {e}")).await;
            return;
        }
    };
    let (control_tx, control_rx) = watch::channel(BankControl { frozen_accounts: frozen });
    let cancel = CancellationToken::new();
    let sink = FeedSink::new(bank.id.clone(), bank.epoch, tx.clone());
    let mode = match slot.quota {
        Some(q) => FeedMode::Events(q),
        None => cfg.mode,
    };
    let ctx = FeedContext {
        bank: bank.id.clone(),
        cursor,
        sink: sink.clone(),
        cancel: cancel.clone(),
        control: control_rx,
        mode,
        clock: cfg.clock.clone(),
        seed: cfg.seed,
        utc_offset_secs: cfg.utc_offset_secs,
        ledger: cfg.ledger.clone(),
    };
    tracing::info!(bank = %bank.id, ?mode, "starting feed");
    // Fault injection for the regression test of panic containment (a
    // `test-hooks` build only): the first run of the named bank's feed panics.
    let inject = cfg!(feature = "test-hooks")
        && slot.failures == 0
        && std::env::var(FAULT_PANIC_ENV).is_ok_and(|b| b == bank.id.as_str());
    let handle = tokio::spawn(async move {
        if inject {
            panic!("injected feed panic ({FAULT_PANIC_ENV})");
        }
        feed.run(ctx).await
    });
    slot.running = Some(RunningFeed {
        epoch: bank.epoch,
        cancel,
        handle,
        sink,
        control: control_tx,
        started: now,
        cancelled_at: None,
        aborted: false,
    });
}

fn backoff(failures: u32) -> Duration {
    BACKOFF_START.saturating_mul(1 << failures.saturating_sub(1).min(6)).min(BACKOFF_MAX)
}

fn panic_text(join: tokio::task::JoinError) -> String {
    let payload = join.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(20), Duration::from_secs(60));
    }
}
