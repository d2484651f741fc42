//! Bank feeds: producers of [`FeedEvent`]s. A feed never touches SQL or the
//! terminal; it sends events on a bounded channel and stops when its
//! cancellation token fires. Feeds register by kind name in a [`FeedRegistry`]
//! so that a new kind plugs in without touching the rest.

pub mod folder;
pub mod lease;
pub use crate::config::profile;
pub mod simplefin;
pub mod simulated;
pub mod supervisor;
pub use crate::store::writer;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::domain::BankId;
pub use crate::domain::event::{AccountInfo, Clock, Envelope, FeedEvent, TxnInfo, system_clock};
pub use profile::BankProfile;

/// The sending side a feed gets: stamps its events, counts the bank events
/// sent, and applies back-pressure (the channel is bounded).
#[derive(Debug, Clone)]
pub struct FeedSink {
    bank: BankId,
    epoch: i64,
    tx: mpsc::Sender<Envelope>,
    sent: Arc<AtomicU64>,
}

impl FeedSink {
    pub fn new(bank: BankId, epoch: i64, tx: mpsc::Sender<Envelope>) -> Self {
        FeedSink { bank, epoch, tx, sent: Arc::default() }
    }

    /// Sends one event; fails only when the store writer has shut down.
    pub async fn send(&self, event: FeedEvent) -> Result<(), FeedError> {
        self.reserve().await?.send(event);
        Ok(())
    }

    /// Waits for room for one event (cancellable, like `send`): a feed that
    /// must not lose what it produced takes its place first, then produces
    /// the event and hands it over without waiting.
    pub async fn reserve(&self) -> Result<SinkPermit<'_>, FeedError> {
        let permit = self.tx.reserve().await.map_err(|_| FeedError::Closed)?;
        Ok(SinkPermit { sink: self, permit })
    }

    /// Bank events sent through this sink (and its clones) so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// Room for one event in the store writer's queue (see [`FeedSink::reserve`]).
pub struct SinkPermit<'a> {
    sink: &'a FeedSink,
    permit: mpsc::Permit<'a, Envelope>,
}

impl SinkPermit<'_> {
    /// Hands the event over; never waits.
    pub fn send(self, event: FeedEvent) {
        let counts = event.bank_events();
        self.permit.send(Envelope { bank: self.sink.bank.clone(), epoch: self.sink.epoch, event });
        self.sink.sent.fetch_add(counts, Ordering::Relaxed);
    }
}

/// What the rest of finbox tells a running feed: which cards are frozen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankControl {
    /// External ids of accounts whose card is frozen.
    pub frozen_accounts: HashSet<String>,
}

/// How long a feed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// Produce this many bank events as fast as the store takes them, with
    /// simulated time advancing but never past now; then finish.
    Events(u64),
    /// Catch up to now, then produce events in real time until cancelled.
    Live,
}

/// Everything a running feed gets.
pub struct FeedContext {
    pub bank: BankId,
    /// Where the feed left off last time (opaque to everyone but the feed).
    pub cursor: Option<String>,
    pub sink: FeedSink,
    pub cancel: CancellationToken,
    pub control: watch::Receiver<BankControl>,
    pub mode: FeedMode,
    pub clock: Clock,
    /// Seed for simulations, already mixed with nothing: feeds mix in their bank.
    pub seed: u64,
    /// The user's UTC offset in seconds, for time-of-day behaviour.
    pub utc_offset_secs: i32,
    /// For feeds that keep more than a cursor (SimpleFIN: its credential,
    /// its request budget): a store connection of their own.
    pub ledger: Option<simplefin::Ledger>,
}

/// How a feed ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedExit {
    /// Produced everything it was asked to (`FeedMode::Events`).
    Finished { events: u64 },
    /// Stopped because its token was cancelled.
    Cancelled { events: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the store writer has stopped")]
    Closed,
    #[error("bank profile {bank}: {message}")]
    Profile { bank: String, message: String },
    #[error("no feed kind named {0:?} (known: {1})")]
    UnknownKind(String, String),
    #[error("bad cursor {0:?}; starting over")]
    BadCursor(String),
    #[error("{0}")]
    Other(String),
}

pub type FeedFuture = Pin<Box<dyn Future<Output = Result<FeedExit, FeedError>> + Send>>;

/// A source of bank events. One value runs once; the supervisor builds a new
/// one from the registry for every (re)start.
pub trait BankFeed: Send {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture;
}

/// Builds a feed of one kind from a bank profile.
pub type FeedFactory = fn(&BankProfile) -> Result<Box<dyn BankFeed>, FeedError>;

/// Feed kinds by name.
#[derive(Clone)]
pub struct FeedRegistry {
    kinds: BTreeMap<String, FeedFactory>,
}

impl Default for FeedRegistry {
    /// The registry with every built-in kind.
    fn default() -> Self {
        let mut r = FeedRegistry::empty();
        r.register(simulated::KIND, simulated::factory);
        r.register(folder::KIND, folder::factory);
        r.register(folder::OFX_KIND, folder::factory);
        r.register(folder::CSV_KIND, folder::factory);
        r.register(simplefin::KIND, simplefin::factory);
        r
    }
}

/// Builds every profile's feed once (and throws it away), so that a mistake
/// in a profile's own table is an error at start, not a feed that fails
/// later.
pub fn check_profiles(profiles: &[BankProfile]) -> Result<(), FeedError> {
    let registry = FeedRegistry::default();
    profiles.iter().try_for_each(|p| registry.build(p).map(drop))
}

impl FeedRegistry {
    pub fn empty() -> Self {
        FeedRegistry { kinds: BTreeMap::new() }
    }

    pub fn register(&mut self, kind: &str, factory: FeedFactory) {
        self.kinds.insert(kind.to_string(), factory);
    }

    pub fn build(&self, profile: &BankProfile) -> Result<Box<dyn BankFeed>, FeedError> {
        let factory = self.kinds.get(&profile.feed).ok_or_else(|| {
            FeedError::UnknownKind(profile.feed.clone(), self.kinds.keys().cloned().collect::<Vec<_>>().join(", "))
        })?;
        factory(profile)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }
}
