//! What banks deliver: the events a feed (or an imported statement) hands
//! to the store, each stamped with its bank and consent epoch. Plain data:
//! the producers (`feed`, `import`) build them, the store applies them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccountKind, BankId, Channel, MessageKind, Money, Severity};

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
    /// A card authorisation the bank has not settled yet; its posted
    /// version arrives later (same id, or another that matches).
    #[serde(default)]
    pub pending: bool,
    /// The bank says this moves money between the user's own accounts (a
    /// card payment, a move to savings); finbox pairs it with the other leg.
    #[serde(default)]
    pub transfer: bool,
}

impl TxnInfo {
    /// What the local fraud rules look at.
    pub fn facts(&self) -> super::fraud::TxnFacts<'_> {
        super::fraud::TxnFacts {
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

/// A line of a merchant's itemised receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptItem {
    pub name: String,
    pub quantity: u32,
    /// What the line costs in all (quantity × price), positive.
    pub amount: Money,
}

/// What a merchant says about a purchase the bank's card paid: the
/// itemised receipt, then for an order sent by post where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PurchaseUpdate {
    /// The lines add up to the charge.
    Receipt {
        items: Vec<ReceiptItem>,
    },
    Shipped {
        carrier: String,
    },
    OutForDelivery,
    Delivered,
}

/// A transaction's receipt lines and the merchant's updates on its order,
/// oldest first, for its detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnReceipt {
    pub txn: super::TxnId,
    pub items: Vec<ReceiptItem>,
    pub updates: Vec<(DateTime<Utc>, String)>,
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
    /// A merchant's receipt or delivery update for a transaction, in the
    /// thread of the bank whose card paid (the `messages` scope).
    Purchase {
        txn_external_id: String,
        at: DateTime<Utc>,
        merchant: String,
        update: PurchaseUpdate,
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

/// What the screen shows about a bank's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStatus {
    /// Not shared: no feed runs.
    Off,
    Running,
    /// Failed; restarts after the back-off.
    Restarting {
        error: String,
        attempt: u32,
    },
    /// Produced everything it was asked for.
    Finished,
    /// Another finbox process runs this bank's feed; this one takes it over
    /// when that one stops.
    Elsewhere {
        pid: u32,
    },
}

/// The clock a feed or the writer reads; tests pass a fixed or tokio-driven
/// one.
pub type Clock = std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    std::sync::Arc::new(Utc::now)
}
