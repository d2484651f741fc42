//! What the screen shows, as plain data. Every list is a window loaded from
//! the store, never the whole history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::event::FeedStatus;
use crate::domain::*;
use crate::domain::{BankSummary, Quarantined};

pub use super::editor::{Edit, Editor};

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
    /// Consent dialog for a shared bank: what it shares, scope by scope
    /// (j/k, Space toggles, Enter applies), n renew, r revoke, p purge, Esc
    /// cancel.
    Consent {
        bank: BankId,
        cursor: usize,
        /// The scopes as the user is setting them.
        scopes: Scopes,
    },
    /// Scopes taken away: delete what was stored under them, or keep it?
    ConfirmNarrow {
        bank: BankId,
        scopes: Scopes,
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
    /// One alert in full: the whole reason, the transaction, the account
    /// and card it is on, and what each answer will do.
    AlertDetail {
        alert: AlertId,
    },
    /// One transaction in full, with its receipt's lines and its order's
    /// deliveries (Enter in the register).
    TxnDetail {
        txn: TxnId,
    },
}

/// What typing does right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keys are commands.
    Normal,
    /// Typing a message to the selected bank.
    Compose(Editor),
    /// Typing a transaction search (the list filters as it changes).
    Search(Editor),
    /// Typing a date to jump to in the register (`2025-03`).
    Jump(Editor),
}

impl Input {
    pub fn editor(&self) -> Option<&Editor> {
        match self {
            Input::Normal => None,
            Input::Compose(e) | Input::Search(e) | Input::Jump(e) => Some(e),
        }
    }
}

/// Where the register's window sits in an account's history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Anchor {
    /// The latest transactions.
    #[default]
    Newest,
    /// Around a transaction: it and older ones, with a few newer above.
    At(TxnKey),
    /// The newest transactions before a moment (a date jumped to).
    Before(DateTime<Utc>),
    /// A transaction by id, on whichever account of the bank it is (a
    /// notice opened from the conversation).
    Txn(TxnId),
    /// The oldest transactions.
    Oldest,
}

/// A transaction's place in the register's order (posted time, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TxnKey {
    pub posted_at: i64,
    pub id: i64,
}

impl From<&Transaction> for TxnKey {
    fn from(t: &Transaction) -> Self {
        TxnKey { posted_at: t.posted_at.timestamp(), id: t.id.0 }
    }
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
    /// The message the cursor is on: Enter on a notice opens its
    /// transaction. `None`: the thread's end, nothing selected.
    pub selected: Option<MessageId>,
}

impl ConversationView {
    /// Where the selected message is in `messages`.
    pub fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.messages.iter().rposition(|m| m.id == id)
    }

    pub fn selected_message(&self) -> Option<&Message> {
        self.selected_index().map(|i| &self.messages[i])
    }
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
    /// Where the window sits (as asked for).
    pub anchor: Anchor,
    /// How many of the account's transactions are newer than the window's
    /// first (0: the window starts at the newest).
    pub offset: usize,
    /// The account's transactions, or a search's matches (at most
    /// [`MATCH_COUNT_MAX`] counted).
    pub total: usize,
    /// The row the anchor asked for (a date jumped to, a notice opened).
    pub anchor_row: Option<usize>,
    /// The search covers every shared bank, not only the selected one.
    pub search_all: bool,
    /// "Checking •4821" (with the bank's name for another bank's account)
    /// for each account a listed transaction is on.
    pub labels: BTreeMap<AccountId, String>,
    /// In finbox's thread: the insight whose transactions are listed, and
    /// its first line.
    pub insight: Option<(i64, String)>,
}

/// A search counts its matches up to this many ("10,000+ matches").
pub const MATCH_COUNT_MAX: usize = 10_000;

impl SidebarView {
    pub fn account(&self) -> Option<&Account> {
        self.accounts.get(self.selected_account)
    }

    pub fn selected(&self) -> Option<&Transaction> {
        self.transactions.get(self.selected_txn)
    }

    /// The selected row's place among all: (1-based position, of how many).
    pub fn position(&self) -> Option<(usize, usize)> {
        if self.transactions.is_empty() {
            return None;
        }
        let at = self.offset.saturating_add(self.selected_txn).saturating_add(1);
        Some((at, self.total.max(at)))
    }
}

/// Open alerts across every shared bank, most severe and newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQueue {
    pub items: Vec<FraudAlert>,
    pub selected: usize,
    /// The answered alerts are shown instead of the open ones.
    pub show_answered: bool,
    /// The latest answered alerts, newest answer first (loaded while shown).
    pub answered: Vec<FraudAlert>,
    /// An answer given and not yet sent to the store: `u` takes it back
    /// until `due`.
    pub undo: Option<PendingVerdict>,
}

impl AlertQueue {
    /// The list on screen: the open alerts, or the answered ones.
    pub fn shown(&self) -> &[FraudAlert] {
        if self.show_answered { &self.answered } else { &self.items }
    }

    pub fn selected_alert(&self) -> Option<&FraudAlert> {
        self.shown().get(self.selected)
    }
}

/// An answer to an alert waiting out its undo time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVerdict {
    pub alert: FraudAlert,
    pub verdict: Verdict,
    pub due: DateTime<Utc>,
}

/// How long an answer to an alert can be taken back.
pub const UNDO_SECS: i64 = 5;

/// A one-line note in the footer (result of the last action). The key
/// hints come back after [`FLASH_SECS`] (twice that for an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    /// Stays until replaced (a long piece of work's progress).
    pub sticky: bool,
    pub at: DateTime<Utc>,
}

pub const FLASH_SECS: i64 = 3;

/// Rows each list pane showed at the last frame: a page for PgUp/PgDn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pages {
    pub conversation: usize,
    pub sidebar: usize,
    pub alerts: usize,
}

impl Default for Pages {
    fn default() -> Self {
        Pages { conversation: 10, sidebar: 10, alerts: 5 }
    }
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
    /// The latest answered alerts (when their list is shown).
    pub answered: Vec<FraudAlert>,
    /// Banks linked through SimpleFIN, and today's requests.
    pub simplefin: Option<SimplefinStatus>,
    /// Where the tamper-evident log breaks ("entry 17"), if it does.
    pub chain_broken: Option<String>,
    /// The receipt of the transaction whose detail is open.
    pub receipt: Option<crate::domain::event::TxnReceipt>,
}

/// How the banks linked through SimpleFIN sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimplefinStatus {
    /// Each linked bank: its last good sync, and the last error since.
    pub links: Vec<(BankId, Option<DateTime<Utc>>, Option<String>)>,
    /// Requests made in the last 24 hours, across every process.
    pub used: u32,
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
    /// Where the register's window sits.
    pub anchor: Anchor,
    /// The search covers every shared bank.
    pub search_all: bool,
    /// The answered alerts' list is shown: load it too.
    pub answered: bool,
    /// Load the conversation far enough back to hold the message about
    /// this alert (jumping from the alert to the thread).
    pub thread_at: Option<AlertId>,
    /// In finbox's thread: the insight whose transactions to list.
    pub insight: Option<i64>,
    /// A transaction's detail is open: load its receipt.
    pub detail: Option<TxnId>,
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
            anchor: Anchor::Newest,
            search_all: false,
            answered: false,
            thread_at: None,
            insight: None,
            detail: None,
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
    /// Where the tamper-evident log breaks: the header warns.
    pub chain_broken: Option<String>,
    /// The latest of them (at most [`REFUSED_WINDOW`]), newest first.
    pub refused: Vec<Quarantined>,
    pub flash: Option<Flash>,
    /// The focused pane fills the screen (`z`).
    pub zoom: bool,
    /// Amounts, numbers and merchants are masked (`m`), for screen sharing.
    pub masked: bool,
    /// Banks linked through SimpleFIN, and today's requests.
    pub simplefin: Option<SimplefinStatus>,
    /// `[simplefin]`: requests a day, and hours between syncs.
    pub simplefin_budget: (u32, u32),
    /// A jump in the register asked for (G, a date, a notice's
    /// transaction): when its window arrives, the selection goes to the row
    /// it asked for.
    pub jump: Option<Anchor>,
    /// Rows the panes showed at the last frame.
    pub pages: Pages,
    /// Bell and command settings, and the new-HIGH-alert notice.
    pub notify: crate::app::notify::Notify,
    /// The receipt of the transaction whose detail is open.
    pub receipt: Option<crate::domain::event::TxnReceipt>,
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
            chain_broken: None,
            refused: Vec::new(),
            flash: None,
            zoom: false,
            masked: false,
            simplefin: None,
            simplefin_budget: (20, 6),
            jump: None,
            pages: Pages::default(),
            notify: Default::default(),
            receipt: None,
            loading: true,
            quit: false,
        }
    }

    /// The banks, without finbox's own thread (first in the list).
    pub fn real_banks(&self) -> &[BankSummary] {
        match self.banks.first() {
            Some(b) if b.bank.is_finbox() => &self.banks[1..],
            _ => &self.banks,
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
            anchor: self.sidebar.anchor,
            search_all: self.sidebar.search_all,
            answered: self.alerts.show_answered,
            thread_at: None,
            insight: self.sidebar.insight.as_ref().map(|(id, _)| *id),
            detail: match self.overlay {
                Some(Overlay::TxnDetail { txn }) => Some(txn),
                _ => None,
            },
        }
    }

    /// Something on screen changes with the clock (a note that goes, an
    /// answer's undo time): draw at every tick.
    pub fn ticking(&self) -> bool {
        self.flash.as_ref().is_some_and(|f| !f.sticky) || self.alerts.undo.is_some()
    }
}
