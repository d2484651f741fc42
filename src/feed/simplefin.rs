//! A real bank through SimpleFIN Bridge (simplefin.org): the user links
//! their banks at the bridge, finbox claims an Access URL once (`finbox
//! link simplefin`), and each linked connection is a finbox bank whose feed
//! polls the bridge: at start when the last sync is older than the
//! interval, then every interval, within a daily request budget kept in the
//! store. The bridge's errors, a revoked access, a bridge that wants
//! payment, a network failure: each is said in the bank's thread.

pub mod http;
pub mod map;
pub mod protocol;
pub mod sync;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{BankFeed, BankProfile, FeedContext, FeedError, FeedEvent, FeedExit, FeedFuture, FeedMode};
use crate::store::Store;
pub use sync::{FeedState, SyncConfig, SyncError, SyncOutcome, sync_once};

pub const KIND: &str = crate::store::SIMPLEFIN_FEED;

/// What a SimpleFIN feed needs beyond its context: a connection of its own
/// to the store (the Access URL, the link, the shared request budget) and
/// how to poll.
#[derive(Clone)]
pub struct Ledger {
    pub store: Arc<Mutex<Store>>,
    pub sync: SyncConfig,
}

pub fn factory(_profile: &BankProfile) -> Result<Box<dyn BankFeed>, FeedError> {
    Ok(Box::new(SimplefinFeed))
}

struct SimplefinFeed;

impl BankFeed for SimplefinFeed {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(run(ctx))
    }
}

/// A failed sync is tried again after this, doubling, up to the interval.
const RETRY_START: Duration = Duration::from_secs(5 * 60);

async fn run(ctx: FeedContext) -> Result<FeedExit, FeedError> {
    // `finbox feed --events N` produces simulated history: a real bank has none to give.
    if matches!(ctx.mode, FeedMode::Events(_)) {
        return Ok(FeedExit::Finished { events: 0 });
    }
    let Some(ledger) = ctx.ledger.clone() else {
        return Err(FeedError::Other("the SimpleFIN feed has no store to keep its budget in".into()));
    };
    let mut state = FeedState::from_cursor(ctx.cursor.as_deref());
    let interval = ledger.sync.interval;
    let mut wait = first_wait(&state, interval, (ctx.clock)());
    let (mut failures, mut said_spent) = (0u32, false);
    loop {
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Ok(FeedExit::Cancelled { events: ctx.sink.sent() }),
            _ = tokio::time::sleep(wait) => {}
        }
        let now = (ctx.clock)();
        let (l, bank, st) = (ledger.clone(), ctx.bank.clone(), state.clone());
        let outcome = tokio::task::spawn_blocking(move || sync_once(&*l.store, &bank, &st, &l.sync, now))
            .await
            .map_err(|e| FeedError::Other(format!("the sync stopped: {e}")))?;
        wait = interval;
        match outcome {
            SyncOutcome::Synced { events, .. } => {
                (failures, said_spent) = (0, false);
                for e in events {
                    if let FeedEvent::Cursor(c) = &e {
                        state = FeedState::from_cursor(Some(c));
                    }
                    ctx.sink.send(e).await?;
                }
            }
            SyncOutcome::BudgetSpent { until } => {
                if !said_spent {
                    said_spent = true;
                    notice(&ctx, "Today's SimpleFIN requests are spent (see [simplefin] budget); syncing resumes when one frees up.".into()).await?;
                }
                wait = until.and_then(|t| (t - now).to_std().ok()).unwrap_or(interval).max(Duration::from_secs(60));
            }
            SyncOutcome::NotLinked => {
                notice(
                    &ctx,
                    "Not linked: no SimpleFIN access is kept. Run `finbox link simplefin` to link again.".into(),
                )
                .await?;
                return Ok(FeedExit::Finished { events: ctx.sink.sent() });
            }
            SyncOutcome::Failed(e) if e.is_revoked() => {
                let text = "The bridge refused finbox's access (it was revoked or disabled). Nothing more is asked; \
                            link again with `finbox link simplefin`.";
                notice(&ctx, text.into()).await?;
                return Ok(FeedExit::Finished { events: ctx.sink.sent() });
            }
            SyncOutcome::Failed(e) => {
                failures += 1;
                wait = RETRY_START.saturating_mul(1 << (failures - 1).min(6)).min(interval);
                let mins = wait.as_secs() / 60;
                notice(&ctx, format!("The sync failed: {e}. finbox tries again in {mins} minutes.")).await?;
            }
        }
    }
}

/// At start: now when the last sync is older than the interval (or there
/// was none), else when the interval is up.
fn first_wait(state: &FeedState, interval: Duration, now: chrono::DateTime<chrono::Utc>) -> Duration {
    let since = state.last_ok.map_or(i64::MAX, |t| now.timestamp() - t);
    let interval_secs = interval.as_secs() as i64;
    if since >= interval_secs { Duration::ZERO } else { Duration::from_secs((interval_secs - since) as u64) }
}

async fn notice(ctx: &FeedContext, text: String) -> Result<(), FeedError> {
    ctx.sink.send(FeedEvent::SystemNotice { at: (ctx.clock)(), text }).await
}
