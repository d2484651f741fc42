//! `update`: the one place the app state changes. Pure: every workflow is
//! testable as a sequence of actions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

mod overlay;

use super::state::*;
use crate::domain::event::FeedStatus;
use crate::domain::*;
use overlay::update_overlay;

/// What the user means, or what arrived from the store and the feeds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Quit,
    Help,
    /// The list of refused records (`R`).
    Refused,
    FocusNext,
    FocusPrev,
    FocusAlerts,
    Focus(Pane),
    SelectBank(usize),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Previous / next account in the sidebar.
    Left,
    Right,
    Compose,
    Search,
    Consent,
    ItWasMe,
    NotMe,
    /// `y` in a confirmation dialog.
    Confirm,
    /// Esc: close a dialog, stop typing, clear a search.
    Cancel,
    Revoke,
    Purge,
    /// `n` in the consent dialog: keep sharing for another term.
    Renew,
    /// Space in the onboarding list.
    Toggle,
    GrantAll,
    /// Enter: send, search, or accept a dialog.
    Submit,
    #[serde(skip)]
    Type(char),
    /// Text pasted into the terminal (bracketed paste): text for the input
    /// being typed, never keys.
    #[serde(skip)]
    Paste(String),
    #[serde(skip)]
    Backspace,
    /// A mouse click on a pane's row (`row` counts from the pane's first item).
    #[serde(skip)]
    Click {
        pane: Pane,
        row: Option<usize>,
    },
    #[serde(skip)]
    Scroll {
        pane: Pane,
        down: bool,
    },
    #[serde(skip)]
    Loaded(Box<Snapshot>),
    #[serde(skip)]
    Replied {
        bank: BankId,
    },
    #[serde(skip)]
    Done(String),
    /// How a long piece of work goes (a purge): shown until `Done`.
    #[serde(skip)]
    Progress(String),
    #[serde(skip)]
    Failed(String),
    #[serde(skip)]
    Feeds(BTreeMap<BankId, FeedStatus>),
    #[serde(skip)]
    Tick(DateTime<Utc>),
}

/// A side effect for the main loop to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Load a snapshot for this selection (and keep it fresh).
    Load(View),
    Say {
        bank: BankId,
        text: String,
    },
    Ack {
        alert: AlertId,
        verdict: Verdict,
    },
    Grant(Vec<BankId>),
    /// Renew a shared bank's consent, or share again one whose consent
    /// expired (refused by the store if the user revoked it meanwhile).
    Renew(BankId),
    Revoke {
        bank: BankId,
        purge: bool,
    },
    MarkRead(BankId),
    /// Ring the terminal's bell (a new HIGH alert).
    Bell,
    /// Run the settings' `[notify] command` for a new HIGH alert.
    Notify {
        title: String,
        body: String,
    },
}

const PAGE: usize = 10;

pub fn update(s: &mut AppState, action: Action) -> Vec<Effect> {
    super::notify::observe(s, &action);
    if !matches!(action, Action::Tick(_) | Action::Loaded(_) | Action::Feeds(_)) {
        s.flash = None;
    }
    if s.overlay.is_some() {
        if let Some(effects) = update_overlay(s, &action) {
            return effects;
        }
    }
    match action {
        Action::Quit => {
            s.quit = true;
            vec![]
        }
        Action::Help => open(s, Overlay::Help),
        // The records are loaded while their list is open, not with every
        // snapshot.
        Action::Refused => {
            s.overlay = Some(Overlay::Refused { scroll: 0 });
            vec![Effect::Load(s.view())]
        }
        Action::FocusNext => focus(s, s.focus.next()),
        Action::FocusPrev => focus(s, s.focus.prev()),
        Action::FocusAlerts => focus(s, Pane::Alerts),
        Action::Focus(p) => focus(s, p),
        Action::SelectBank(i) => select_bank(s, i),
        Action::Up => move_by(s, -1),
        Action::Down => move_by(s, 1),
        Action::PageUp => move_by(s, -(PAGE as i64)),
        Action::PageDown => move_by(s, PAGE as i64),
        Action::Top => move_by(s, i64::MIN / 2),
        Action::Bottom => move_by(s, i64::MAX / 2),
        Action::Left => next_account(s, false),
        Action::Right => next_account(s, true),
        Action::Compose => compose(s),
        Action::Search => {
            s.focus = Pane::Sidebar;
            s.input = Input::Search(s.sidebar.search.clone().unwrap_or_default());
            vec![]
        }
        Action::Type(c) => type_char(s, c),
        Action::Backspace => {
            if let Input::Compose(t) | Input::Search(t) = &mut s.input {
                t.pop();
            }
            vec![]
        }
        Action::Paste(text) => {
            paste(s, &text);
            vec![]
        }
        Action::Submit => submit(s),
        Action::Cancel => cancel(s),
        Action::Consent => consent(s),
        Action::ItWasMe | Action::NotMe if s.focus != Pane::Alerts => vec![],
        Action::ItWasMe => match s.alerts.items.get(s.alerts.selected) {
            Some(a) => vec![Effect::Ack { alert: a.id, verdict: Verdict::ItWasMe }],
            None => vec![],
        },
        Action::NotMe => match s.alerts.items.get(s.alerts.selected) {
            Some(a) => open(s, Overlay::ConfirmNotMe { alert: a.id }),
            None => vec![],
        },
        Action::Click { pane, row } => click(s, pane, row),
        Action::Scroll { pane, down } => scroll(s, pane, down),
        Action::Loaded(snap) => apply_snapshot(s, *snap),
        other => outcome(s, other),
    }
}

fn open(s: &mut AppState, overlay: Overlay) -> Vec<Effect> {
    s.overlay = Some(overlay);
    vec![]
}

fn focus(s: &mut AppState, pane: Pane) -> Vec<Effect> {
    s.focus = pane;
    vec![]
}

/// The previous or next account of the sidebar, round the list.
fn next_account(s: &mut AppState, forward: bool) -> Vec<Effect> {
    let n = s.sidebar.accounts.len();
    if n == 0 {
        return vec![];
    }
    let cur = s.sidebar.selected_account;
    s.sidebar.selected_account = if forward { (cur + 1) % n } else { (cur + n - 1) % n };
    s.sidebar.selected_txn = 0;
    s.focus = Pane::Sidebar;
    vec![Effect::Load(s.view())]
}

/// Starts a message to the selected bank, if it is shared (else says how).
fn compose(s: &mut AppState) -> Vec<Effect> {
    let Some(b) = s.bank() else { return vec![] };
    let key = s.keymap.label(crate::app::keymap::Context::Global, "consent");
    let name = b.bank.name.clone();
    match b.bank.sharing(s.now) {
        Sharing::Shared { .. } => {}
        Sharing::Expired { .. } => {
            flash(s, format!("Sharing with {name} expired: press {key} to renew it first."), true);
            return vec![];
        }
        Sharing::NotShared => {
            flash(s, format!("{name} is not shared: press {key} to share it first."), true);
            return vec![];
        }
    }
    s.focus = Pane::Conversation;
    s.conversation.scroll = 0;
    s.input = Input::Compose(String::new());
    vec![]
}

fn type_char(s: &mut AppState, c: char) -> Vec<Effect> {
    match &mut s.input {
        Input::Compose(t) | Input::Search(t) if t.chars().count() < INPUT_MAX_CHARS && !c.is_control() => t.push(c),
        _ => {}
    }
    vec![]
}

/// Esc: stop typing, or clear the search.
fn cancel(s: &mut AppState) -> Vec<Effect> {
    match std::mem::replace(&mut s.input, Input::Normal) {
        Input::Compose(_) => vec![],
        Input::Search(_) | Input::Normal if s.sidebar.search.is_some() => {
            s.sidebar.search = None;
            s.sidebar.selected_txn = 0;
            vec![Effect::Load(s.view())]
        }
        _ => vec![],
    }
}

/// The sharing key: the sharing dialog for a shared bank; for one that is
/// not (or no longer), a question first: no single key changes sharing.
fn consent(s: &mut AppState) -> Vec<Effect> {
    let Some(b) = s.bank() else { return vec![] };
    let bank = b.bank.id.clone();
    let overlay = match b.bank.sharing(s.now) {
        Sharing::Shared { .. } => Overlay::Consent { bank },
        Sharing::Expired { .. } => Overlay::ConfirmGrant { bank, renew: true },
        Sharing::NotShared => Overlay::ConfirmGrant { bank, renew: false },
    };
    open(s, overlay)
}

fn click(s: &mut AppState, pane: Pane, row: Option<usize>) -> Vec<Effect> {
    s.focus = pane;
    let Some(row) = row else { return vec![] };
    match pane {
        Pane::Banks => select_bank(s, row),
        Pane::Alerts if row < s.alerts.items.len() => {
            s.alerts.selected = row;
            vec![]
        }
        Pane::Sidebar if row < s.sidebar.transactions.len() => {
            s.sidebar.selected_txn = row;
            vec![]
        }
        _ => vec![],
    }
}

fn scroll(s: &mut AppState, pane: Pane, down: bool) -> Vec<Effect> {
    let old = s.focus;
    s.focus = pane;
    let effects = move_by(s, if down { 3 } else { -3 });
    if pane != Pane::Banks {
        s.focus = old;
    }
    effects
}

/// What the store, the feeds and the clock report.
fn outcome(s: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::Replied { bank } => {
            if s.conversation.bank.as_ref() == Some(&bank) {
                s.conversation.pending = None;
            }
            vec![Effect::Load(s.view())]
        }
        Action::Done(text) => {
            flash(s, text, false);
            vec![Effect::Load(s.view())]
        }
        Action::Progress(text) => {
            flash(s, text, false);
            vec![]
        }
        Action::Failed(text) => {
            s.conversation.pending = None;
            flash(s, text, true);
            vec![]
        }
        Action::Feeds(map) => {
            s.feeds = map;
            vec![]
        }
        Action::Tick(now) => {
            s.now = now;
            vec![]
        }
        // Dialog keys with no dialog open do nothing.
        _ => vec![],
    }
}

/// The most a message or a search holds.
pub const INPUT_MAX_CHARS: usize = 500;

/// A paste goes into the message or search being typed, as text: line breaks
/// and tabs become spaces, other control characters go. What does not fit
/// is left out, and the user is told; with nothing being typed the paste is
/// ignored, and the user is told that too. Never keys.
fn paste(s: &mut AppState, text: &str) {
    let (Input::Compose(t) | Input::Search(t)) = &mut s.input else {
        if s.overlay.is_none() {
            flash(s, "Paste ignored: press i to write to the bank (or / to search) first.".into(), true);
        }
        return;
    };
    let room = INPUT_MAX_CHARS.saturating_sub(t.chars().count());
    let mut clean =
        text.chars().map(|c| if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c }).filter(|c| !c.is_control());
    let mut taken = 0;
    for c in clean.by_ref().take(room) {
        t.push(c);
        taken += 1;
    }
    if clean.next().is_some() {
        let total = taken + 1 + clean.count();
        flash(s, format!("Pasted {taken} of {total} characters: a message holds {INPUT_MAX_CHARS}."), true);
    }
}

fn flash(s: &mut AppState, text: String, error: bool) {
    s.flash = Some(Flash { text, error });
}

fn select_bank(s: &mut AppState, i: usize) -> Vec<Effect> {
    if i >= s.banks.len() || (i == s.selected_bank && s.conversation.bank.is_some()) {
        return vec![];
    }
    s.selected_bank = i;
    s.conversation = ConversationView::default();
    s.sidebar = SidebarView::default();
    vec![Effect::Load(s.view())]
}

fn clamp_move(cur: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (cur as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
}

fn move_by(s: &mut AppState, delta: i64) -> Vec<Effect> {
    match s.focus {
        Pane::Banks => {
            let i = clamp_move(s.selected_bank, delta, s.banks.len());
            select_bank(s, i)
        }
        Pane::Conversation => {
            // Scrolling up (k, PgUp) goes back in time; the view clamps.
            let c = &mut s.conversation;
            c.scroll = (c.scroll as i64).saturating_sub(delta).clamp(0, 1 << 30) as usize;
            // Every message takes at least a line: scrolled this far up, the
            // oldest loaded one is near, so load an older window if there is one.
            let full = c.messages.len() >= c.limit.max(CONVERSATION_WINDOW);
            if delta < 0 && full && c.scroll >= c.messages.len().saturating_sub(PAGE * 2) && c.limit < MAX_WINDOW {
                c.limit = c.limit.max(CONVERSATION_WINDOW) + CONVERSATION_WINDOW;
                return vec![Effect::Load(s.view())];
            }
            vec![]
        }
        Pane::Sidebar => {
            let sb = &mut s.sidebar;
            sb.selected_txn = clamp_move(sb.selected_txn, delta, sb.transactions.len());
            let full = sb.transactions.len() >= sb.limit.max(TXN_WINDOW);
            if delta > 0 && full && sb.selected_txn + PAGE >= sb.transactions.len() && sb.limit < MAX_WINDOW {
                sb.limit = sb.limit.max(TXN_WINDOW) + TXN_WINDOW;
                return vec![Effect::Load(s.view())];
            }
            vec![]
        }
        Pane::Alerts => {
            s.alerts.selected = clamp_move(s.alerts.selected, delta, s.alerts.items.len());
            vec![]
        }
    }
}

fn submit(s: &mut AppState) -> Vec<Effect> {
    match std::mem::replace(&mut s.input, Input::Normal) {
        Input::Compose(text) => {
            let text = text.trim().to_string();
            let Some(bank) = s.bank_id().cloned() else { return vec![] };
            if text.is_empty() {
                return vec![];
            }
            s.conversation.pending = Some(text.clone());
            s.conversation.scroll = 0;
            vec![Effect::Say { bank, text }]
        }
        Input::Search(text) => {
            let text = text.trim().to_string();
            s.sidebar.search = (!text.is_empty()).then_some(text);
            s.sidebar.selected_txn = 0;
            vec![Effect::Load(s.view())]
        }
        Input::Normal => match s.focus {
            Pane::Conversation => update(s, Action::Compose),
            Pane::Banks => {
                s.focus = Pane::Conversation;
                vec![]
            }
            _ => vec![],
        },
    }
}

fn apply_snapshot(s: &mut AppState, snap: Snapshot) -> Vec<Effect> {
    let first = s.loading;
    s.loading = false;
    // Keep the selected bank by id when the list changes.
    let selected_id = s.bank_id().cloned();
    s.banks = snap.banks;
    if let Some(id) = selected_id {
        if let Some(i) = s.banks.iter().position(|b| b.bank.id == id) {
            s.selected_bank = i;
        }
    }
    s.selected_bank = s.selected_bank.min(s.banks.len().saturating_sub(1));
    s.totals = snap.totals;
    s.newest = snap.newest;
    s.quarantined = snap.quarantined;
    s.refused = snap.refused;

    let alert_id = s.alerts.items.get(s.alerts.selected).map(|a| a.id);
    s.alerts.items = snap.alerts;
    s.alerts.selected = alert_id
        .and_then(|id| s.alerts.items.iter().position(|a| a.id == id))
        .unwrap_or(s.alerts.selected)
        .min(s.alerts.items.len().saturating_sub(1));

    // A snapshot for another bank than the one now selected is stale.
    if snap.conversation.bank.as_ref() == s.bank_id() {
        let same = s.conversation.bank == snap.conversation.bank;
        let (scroll, pending) = (s.conversation.scroll, s.conversation.pending.take());
        s.conversation = snap.conversation;
        if same {
            s.conversation.scroll = scroll;
            s.conversation.pending = pending;
        }
        let txn = s.sidebar.selected_txn;
        s.sidebar = snap.sidebar;
        s.sidebar.selected_txn = txn.min(s.sidebar.transactions.len().saturating_sub(1));
    }

    let mut effects = super::notify::on_snapshot(s, first);
    // Only for someone who never shared (or revoked everything): expired
    // grants are renewed, not onboarded.
    if first
        && s.overlay.is_none()
        && !s.banks.is_empty()
        && s.banks.iter().all(|b| b.bank.sharing(s.now) == Sharing::NotShared)
    {
        // Nothing ticked: nothing is shared until the user says so.
        s.overlay = Some(Overlay::Onboarding { cursor: 0, picked: vec![false; s.banks.len()] });
    }
    if let Some(b) = s.bank() {
        if b.unread > 0 && s.conversation.bank.as_ref() == Some(&b.bank.id) {
            effects.push(Effect::MarkRead(b.bank.id.clone()));
        }
    }
    if first && s.conversation.bank.is_none() && s.bank().is_some() {
        effects.push(Effect::Load(s.view()));
    }
    effects
}
