//! Bank feeds: producers of [`FeedEvent`]s. A feed never touches SQL or the
//! terminal; it sends events on a bounded channel and stops when its
//! cancellation token fires. Feeds register by kind name in a [`FeedRegistry`]
//! so that a new kind plugs in without touching the rest.

pub mod folder;
pub mod lease;
pub mod profile;
pub mod simulated;
pub mod supervisor;
pub mod writer;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::domain::{AccountKind, BankId, Channel, MessageKind, Money, Severity};
pub use profile::BankProfile;

/// An account as the bank describes it when it is linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The bank's own id for the account (a slug, never the account number).
    pub external_id: String,
    pub name: String,
    pub kind: AccountKind,
    /// Last digits of the account number, shown as `•1234`.
    pub mask: String,
    pub opening: Money,
    /// The card on this account, if any: its last digits.
    pub card_mask: Option<String>,
    /// When `opening` held, if the bank says (a statement's ledger balance
    /// less its transactions holds just before its first transaction).
    /// Transactions posted before it, delivered later, are history that the
    /// opening balance already counts.
    #[serde(default)]
    pub history_from: Option<DateTime<Utc>>,
}

/// A transaction as the bank reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnInfo {
    pub account: String,
    pub external_id: String,
    pub posted_at: DateTime<Utc>,
    pub amount: Money,
    pub merchant: String,
    pub category: String,
    pub channel: Channel,
    pub country: String,
    /// Whether the bank sends a transaction notice to the conversation.
    pub notify: bool,
}

impl TxnInfo {
    /// What the local fraud rules look at.
    pub fn facts(&self) -> crate::domain::fraud::TxnFacts<'_> {
        crate::domain::fraud::TxnFacts {
            account: &self.account,
            external_id: &self.external_id,
            posted_at: self.posted_at,
            amount: self.amount,
            merchant: &self.merchant,
            channel: self.channel,
            country: &self.country,
        }
    }
}

/// Something a bank feed delivers. The store applies each kind idempotently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedEvent {
    /// The bank describes (or re-describes) an account.
    Account(AccountInfo),
    Transaction(TxnInfo),
    /// The bank reports an account's balance.
    Balance {
        account: String,
        at: DateTime<Utc>,
        balance: Money,
    },
    /// A message from the bank to the user.
    Message {
        external_id: String,
        at: DateTime<Utc>,
        kind: MessageKind,
        text: String,
    },
    /// The bank's or the local rules' suspicion about a stored transaction.
    FraudSignal {
        txn_external_id: String,
        at: DateTime<Utc>,
        reason: String,
        severity: Severity,
    },
    /// A statement closed for an account.
    Statement {
        account: String,
        external_id: String,
        period_start: DateTime<Utc>,
        period_end: DateTime<Utc>,
        closing: Money,
    },
    /// A notice from finbox itself about this bank's feed (e.g. a feed error).
    SystemNotice {
        at: DateTime<Utc>,
        text: String,
    },
    /// The feed's resume point, committed with the events before it.
    Cursor(String),
    /// Events applied in one store transaction, all or none: a statement
    /// file from a watched folder. The writer opens the group; the store
    /// never sees one.
    Whole(Vec<FeedEvent>),
}

impl FeedEvent {
    /// True for the events that count as a bank's activity: transactions,
    /// balances, messages, statements and fraud signals (not account
    /// descriptions, cursors or system notices).
    pub fn is_bank_event(&self) -> bool {
        !matches!(
            self,
            FeedEvent::Account(_) | FeedEvent::Cursor(_) | FeedEvent::SystemNotice { .. } | FeedEvent::Whole(_)
        )
    }

    /// The bank events this is: one, none, or those of a group.
    pub fn bank_events(&self) -> u64 {
        match self {
            FeedEvent::Whole(events) => events.iter().map(FeedEvent::bank_events).sum(),
            e => u64::from(e.is_bank_event()),
        }
    }
}

/// An event stamped with its bank and the consent epoch the feed was started
/// under; the store drops events whose epoch is no longer current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub bank: BankId,
    pub epoch: i64,
    pub event: FeedEvent,
}

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
        let counts = event.bank_events();
        self.tx
            .send(Envelope { bank: self.bank.clone(), epoch: self.epoch, event })
            .await
            .map_err(|_| FeedError::Closed)?;
        self.sent.fetch_add(counts, Ordering::Relaxed);
        Ok(())
    }

    /// Bank events sent through this sink (and its clones) so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
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

/// The clock a feed reads; tests pass a fixed or tokio-driven one.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
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
        r
    }
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
