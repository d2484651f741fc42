//! What the screen shows, as plain data. Every list is a window loaded from
//! the store, never the whole history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::event::FeedStatus;
use crate::domain::*;
use crate::domain::{BankSummary, Quarantined};

/// The panes focus cycles through with Tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pane {
    Banks,
    Conversation,
    Sidebar,
    Alerts,
}

impl Pane {
    pub const ORDER: [Pane; 4] = [Pane::Banks, Pane::Conversation, Pane::Sidebar, Pane::Alerts];

    pub fn next(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + 1) % Pane::ORDER.len()]
    }

    pub fn prev(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + Pane::ORDER.len() - 1) % Pane::ORDER.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Banks => "Banks",
            Pane::Conversation => "Conversation",
            Pane::Sidebar => "Accounts",
            Pane::Alerts => "Fraud alerts",
        }
    }
}

/// A dialog drawn over the screen; it takes the keys while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// Consent dialog for a shared bank: n renew, r revoke, p purge, Esc cancel.
    Consent {
        bank: BankId,
    },
    /// "Delete everything this bank shared?" y / Esc.
    ConfirmPurge {
        bank: BankId,
    },
    /// "Share this bank with finbox?" (or, `renew`, share it again after
    /// its consent ran out), saying what it will send. y / Esc.
    ConfirmGrant {
        bank: BankId,
        renew: bool,
    },
    /// "Mark as fraud and freeze the card?" y / Esc.
    ConfirmNotMe {
        alert: AlertId,
    },
    /// The records the store refused, newest first, with the reasons.
    Refused {
        scroll: usize,
    },
    /// First run: pick the banks to share.
    Onboarding {
        cursor: usize,
        picked: Vec<bool>,
    },
}

/// What typing does right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keys are commands.
    Normal,
    /// Typing a message to the selected bank.
    Compose(String),
    /// Typing a transaction search.
    Search(String),
}

/// The selected bank's conversation window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationView {
    pub bank: Option<BankId>,
    /// Oldest first; the latest `CONVERSATION_WINDOW` messages.
    pub messages: Vec<Message>,
    /// Lines scrolled up from the bottom (0 = newest visible).
    pub scroll: usize,
    /// A message sent and not yet answered.
    pub pending: Option<String>,
    /// How many messages were asked for (more may exist when `messages` is full).
    pub limit: usize,
}

/// The selected bank's accounts, the selected account's recent transactions
/// and its balance history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SidebarView {
    pub accounts: Vec<Account>,
    pub selected_account: usize,
    /// Newest first. With a search, the matches across the bank's accounts.
    pub transactions: Vec<Transaction>,
    /// Balance after each transaction in `transactions` (same order), when
    /// they are the account's latest (no search).
    pub running: Vec<Option<Money>>,
    pub selected_txn: usize,
    /// The search the transactions were filtered by, if any.
    pub search: Option<String>,
    /// End-of-day balances of the last 90 days, oldest first, one per day.
    pub history: Vec<i64>,
    /// How many transactions were asked for.
    pub limit: usize,
}

impl SidebarView {
    pub fn account(&self) -> Option<&Account> {
        self.accounts.get(self.selected_account)
    }
}

/// Open alerts across every shared bank, most severe and newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQueue {
    pub items: Vec<FraudAlert>,
    pub selected: usize,
}

/// A one-line note in the footer (result of the last action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
}

/// Everything the store worker loads for the screen in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub banks: Vec<BankSummary>,
    /// Records refused by the store (see `finbox quarantine`).
    pub quarantined: i64,
    /// The latest of them, for the list behind `R`.
    pub refused: Vec<Quarantined>,
    pub totals: Vec<Total>,
    pub alerts: Vec<FraudAlert>,
    pub conversation: ConversationView,
    pub sidebar: SidebarView,
    /// The latest time the store holds (a transaction's, a grant's).
    pub newest: Option<DateTime<Utc>>,
}

/// Which bank / account / search a snapshot should be loaded for, and how
/// far back: the windows grow as the user scrolls into older history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub bank: Option<BankId>,
    pub account: Option<AccountId>,
    pub search: Option<String>,
    /// How many of the latest messages to load.
    pub messages: usize,
    /// How many of the latest transactions to load.
    pub transactions: usize,
    /// The refused records' list is open: load them too.
    pub refused: bool,
}

impl Default for View {
    fn default() -> Self {
        View {
            bank: None,
            account: None,
            search: None,
            messages: CONVERSATION_WINDOW,
            transactions: TXN_WINDOW,
            refused: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppState {
    /// Which key runs which action where (the defaults, or the settings
    /// file's `[keys]`).
    pub keymap: crate::app::keymap::Keymap,
    pub now: DateTime<Utc>,
    pub banks: Vec<BankSummary>,
    pub selected_bank: usize,
    pub totals: Vec<Total>,
    /// The latest time the store holds: later than now by more than a day,
    /// the clock is behind (or was ahead), and the header says so.
    pub newest: Option<DateTime<Utc>>,
    pub focus: Pane,
    pub overlay: Option<Overlay>,
    pub input: Input,
    pub conversation: ConversationView,
    pub sidebar: SidebarView,
    pub alerts: AlertQueue,
    pub feeds: BTreeMap<BankId, FeedStatus>,
    /// Whether feeds run in this process (`--no-feeds` turns them off).
    pub feeds_enabled: bool,
    /// Records the store refused, for the header.
    pub quarantined: i64,
    /// The latest of them (at most [`REFUSED_WINDOW`]), newest first.
    pub refused: Vec<Quarantined>,
    pub flash: Option<Flash>,
    /// Bell and command settings, and the new-HIGH-alert notice.
    pub notify: crate::app::notify::Notify,
    /// True until the first snapshot arrived.
    pub loading: bool,
    pub quit: bool,
}

/// How many of the latest messages the conversation holds at first; it grows
/// by this much each time the user scrolls past the oldest one loaded.
pub const CONVERSATION_WINDOW: usize = 300;
/// How many refused records the screen lists (`finbox quarantine` has all).
pub const REFUSED_WINDOW: usize = 100;
/// How many transactions the sidebar holds at first (grows the same way).
pub const TXN_WINDOW: usize = 200;
/// The windows never grow past this.
pub const MAX_WINDOW: usize = 20_000;
/// Days of balance history in the chart.
pub const HISTORY_DAYS: i64 = 90;

impl AppState {
    pub fn new(now: DateTime<Utc>, feeds_enabled: bool) -> Self {
        AppState {
            keymap: crate::app::keymap::Keymap::default(),
            now,
            banks: Vec::new(),
            selected_bank: 0,
            totals: Vec::new(),
            newest: None,
            focus: Pane::Conversation,
            overlay: None,
            input: Input::Normal,
            conversation: ConversationView::default(),
            sidebar: SidebarView::default(),
            alerts: AlertQueue::default(),
            feeds: BTreeMap::new(),
            feeds_enabled,
            quarantined: 0,
            refused: Vec::new(),
            flash: None,
            notify: Default::default(),
            loading: true,
            quit: false,
        }
    }

    pub fn bank(&self) -> Option<&BankSummary> {
        self.banks.get(self.selected_bank)
    }

    pub fn bank_id(&self) -> Option<&BankId> {
        self.bank().map(|b| &b.bank.id)
    }

    /// Whether the selected bank delivers now (granted and not expired).
    pub fn is_shared(&self) -> bool {
        self.bank().is_some_and(|b| b.bank.is_shared(self.now))
    }

    /// When the store holds a time more than a day after now: the latest.
    pub fn clock_behind(&self) -> Option<DateTime<Utc>> {
        crate::domain::when::clock_behind(self.now, self.newest)
    }

    /// Where the selected bank's consent stands now.
    pub fn sharing(&self) -> Option<Sharing> {
        self.bank().map(|b| b.bank.sharing(self.now))
    }

    /// Whether the selected bank's consent expired or ends within
    /// [`RENEW_WARNING_DAYS`]: the screen then asks to renew.
    pub fn wants_renew(&self) -> bool {
        self.bank().is_some_and(|b| {
            matches!(b.bank.sharing(self.now), Sharing::Expired { .. }) || b.bank.in_renew_window(self.now)
        })
    }

    pub fn open_alerts(&self) -> usize {
        self.alerts.items.len()
    }

    /// What the store worker should load for the current selection.
    pub fn view(&self) -> View {
        View {
            bank: self.bank_id().cloned(),
            account: self.sidebar.account().map(|a| a.id),
            search: self.sidebar.search.clone(),
            messages: self.conversation.limit.clamp(CONVERSATION_WINDOW, MAX_WINDOW),
            transactions: self.sidebar.limit.clamp(TXN_WINDOW, MAX_WINDOW),
            refused: matches!(self.overlay, Some(Overlay::Refused { .. })),
        }
    }
}
