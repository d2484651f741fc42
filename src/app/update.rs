//! `update`: the one place the app state changes. Pure: every workflow is
//! testable as a sequence of actions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

mod alerts;
mod overlay;
mod register;
mod typing;

pub use super::editor::INPUT_MAX_CHARS;
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
    /// Space in the onboarding list and the sharing dialog.
    Toggle,
    /// Keep what the scopes taken away stored (`k` when narrowing).
    Keep,
    GrantAll,
    /// Enter: send, search, open what is selected, or accept a dialog.
    Submit,
    /// The focused pane fills the screen, or no longer does.
    Zoom,
    /// Type a date to jump to in the register.
    JumpDate,
    /// Take back the answer just given to an alert.
    Undo,
    /// The answered alerts instead of the open ones (and back).
    Answered,
    /// From an alert to its bank's conversation, at the alert's message.
    Thread,
    /// Ask the selected bank (linked through SimpleFIN) for what is new now.
    SyncNow,
    /// The privacy mask on or off.
    Mask,
    #[serde(skip)]
    Type(char),
    /// Text pasted into the terminal (bracketed paste): text for the input
    /// being typed, never keys.
    #[serde(skip)]
    Paste(String),
    /// A key that edits the line being typed.
    #[serde(skip)]
    Edit(Edit),
    /// Tab while searching: this bank or every bank.
    #[serde(skip)]
    SearchScope,
    /// The rows each pane showed at the last frame.
    #[serde(skip)]
    Viewport(Pages),
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
    /// Ask a linked bank for what is new now.
    Sync(BankId),
    /// What a bank may share from now on (and whether to delete what the
    /// scopes taken away stored).
    SetScopes {
        bank: BankId,
        scopes: Scopes,
        delete: bool,
    },
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
    if !matches!(action, Action::Tick(_) | Action::Loaded(_) | Action::Feeds(_) | Action::Viewport(_)) {
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
            // An answer waiting out its undo time is the user's answer.
            alerts::commit_undo(s).into_iter().collect()
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
        Action::PageUp => move_by(s, -(page(s) as i64)),
        Action::PageDown => move_by(s, page(s) as i64),
        Action::Top => top_bottom(s, true),
        Action::Bottom => top_bottom(s, false),
        Action::Left => next_account(s, false),
        Action::Right => next_account(s, true),
        Action::Compose => typing::compose(s),
        Action::Search => typing::search(s),
        Action::JumpDate => typing::jump(s),
        Action::Type(c) => typing::type_char(s, c),
        Action::Edit(e) => typing::edit(s, e),
        Action::Paste(text) => typing::paste(s, &text),
        Action::SearchScope => typing::search_scope(s),
        Action::Submit => submit(s),
        Action::Cancel => cancel(s),
        Action::Consent => consent(s),
        Action::Zoom => {
            s.zoom = !s.zoom;
            vec![]
        }
        Action::Viewport(pages) => {
            s.pages = pages;
            vec![]
        }
        Action::ItWasMe | Action::NotMe | Action::Answered | Action::Thread if s.focus != Pane::Alerts => vec![],
        Action::ItWasMe => alerts::answer(s, Verdict::ItWasMe),
        Action::NotMe => match s.alerts.selected_alert() {
            Some(a) if !s.alerts.show_answered => open(s, Overlay::ConfirmNotMe { alert: a.id }),
            _ => vec![],
        },
        Action::Undo => alerts::undo(s),
        Action::Answered => alerts::toggle_answered(s),
        Action::Thread => alerts::thread(s),
        Action::SyncNow => sync_now(s),
        Action::Mask => {
            s.masked = !s.masked;
            let said = if s.masked { "Masked: amounts, numbers and merchants are hidden." } else { "Unmasked." };
            flash(s, said.into(), false);
            vec![]
        }
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
    s.sidebar.anchor = Anchor::Newest;
    s.focus = Pane::Sidebar;
    vec![Effect::Load(s.view())]
}

/// The sharing key: the sharing dialog for a shared bank; for one that is
/// not (or no longer), a question first: no single key changes sharing.
fn consent(s: &mut AppState) -> Vec<Effect> {
    let Some(b) = s.bank() else { return vec![] };
    if b.bank.is_finbox() {
        flash(s, "finbox's own thread shares nothing: it reads what you share with each bank.".into(), false);
        return vec![];
    }
    let bank = b.bank.id.clone();
    let overlay = match b.bank.sharing(s.now) {
        Sharing::Shared { .. } => Overlay::Consent { bank, cursor: 0, scopes: b.bank.scopes },
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
        Pane::Alerts if row < s.alerts.shown().len() => {
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

/// The mouse wheel: lines in the conversation, rows in the lists.
fn scroll(s: &mut AppState, pane: Pane, down: bool) -> Vec<Effect> {
    if pane == Pane::Conversation {
        let c = &mut s.conversation;
        c.selected = None;
        c.scroll = if down { c.scroll.saturating_sub(3) } else { c.scroll + 3 };
        return register::grow_conversation(s, !down);
    }
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
            if let Some(f) = &mut s.flash {
                f.sticky = true;
            }
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
            // The key hints come back after a few seconds.
            if let Some(f) = &s.flash {
                let secs = if f.error { FLASH_SECS * 2 } else { FLASH_SECS };
                if !f.sticky && now - f.at >= chrono::Duration::seconds(secs) {
                    s.flash = None;
                }
            }
            alerts::tick(s)
        }
        // Dialog keys with no dialog open do nothing.
        _ => vec![],
    }
}

/// S: the selected bank, if linked through SimpleFIN and shared, is asked
/// now (the store worker does it; the day's budget still holds).
fn sync_now(s: &mut AppState) -> Vec<Effect> {
    let Some(b) = s.bank() else { return vec![] };
    let (id, name) = (b.bank.id.clone(), b.bank.name.clone());
    if b.bank.feed_kind != SIMPLEFIN_FEED {
        flash(
            s,
            format!("{name} is simulated here: its feed runs by itself (S syncs banks linked through SimpleFIN)."),
            true,
        );
        return vec![];
    }
    if !b.bank.is_shared(s.now) {
        let key = s.keymap.label(crate::app::keymap::Context::Global, "consent");
        flash(s, format!("{name} is not shared: press {key} to share it first."), true);
        return vec![];
    }
    flash(s, format!("Asking {name} for what is new…"), false);
    vec![Effect::Sync(id)]
}

fn flash(s: &mut AppState, text: String, error: bool) {
    s.flash = Some(Flash { text, error, sticky: false, at: s.now });
}

/// The rows a page moves in the focused pane (what it showed last).
fn page(s: &AppState) -> usize {
    match s.focus {
        Pane::Conversation => s.pages.conversation,
        Pane::Sidebar => s.pages.sidebar,
        Pane::Alerts => s.pages.alerts,
        Pane::Banks => PAGE,
    }
    .max(1)
}

/// Esc: stop typing, clear the search, come back from a zoomed pane or a
/// selected message, or leave the alert queue.
fn cancel(s: &mut AppState) -> Vec<Effect> {
    match std::mem::replace(&mut s.input, Input::Normal) {
        Input::Compose(_) | Input::Jump(_) => vec![],
        Input::Search(_) | Input::Normal if s.sidebar.search.is_some() => {
            s.sidebar.search = None;
            s.sidebar.search_all = false;
            s.sidebar.selected_txn = 0;
            vec![Effect::Load(s.view())]
        }
        _ if s.zoom => {
            s.zoom = false;
            vec![]
        }
        _ if s.focus == Pane::Conversation && s.conversation.selected.is_some() => {
            s.conversation.selected = None;
            s.conversation.scroll = 0;
            vec![]
        }
        _ if s.focus == Pane::Alerts => {
            s.focus = Pane::Conversation;
            if s.alerts.show_answered {
                s.alerts.show_answered = false;
                s.alerts.selected = 0;
            }
            vec![]
        }
        _ => vec![],
    }
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
        Pane::Conversation => register::move_in_conversation(s, delta),
        Pane::Sidebar => register::move_in_register(s, delta),
        Pane::Alerts => {
            s.alerts.selected = clamp_move(s.alerts.selected, delta, s.alerts.shown().len());
            vec![]
        }
    }
}

/// g / G: the first or last row; in the register, the newest or the
/// oldest transaction of the account, however far back.
fn top_bottom(s: &mut AppState, top: bool) -> Vec<Effect> {
    match s.focus {
        Pane::Sidebar => register::ends(s, top),
        Pane::Conversation if top => register::oldest_message(s),
        Pane::Conversation => {
            s.conversation.selected = None;
            s.conversation.scroll = 0;
            vec![]
        }
        _ => move_by(s, if top { i64::MIN / 2 } else { i64::MAX / 2 }),
    }
}

/// Enter: send or search what was typed; otherwise open what is selected
/// (a notice's transaction, an alert's details) or start a message.
fn submit(s: &mut AppState) -> Vec<Effect> {
    match std::mem::replace(&mut s.input, Input::Normal) {
        Input::Compose(text) => typing::send(s, text.value()),
        Input::Search(text) => typing::search_done(s, text.value()),
        Input::Jump(text) => typing::jump_to(s, text.value()),
        Input::Normal => match s.focus {
            Pane::Conversation if s.conversation.selected_message().is_some_and(|m| m.kind == MessageKind::Insight) => {
                register::open_insight(s)
            }
            Pane::Conversation => match s.conversation.selected_message().and_then(|m| m.txn.map(|t| (t, m.alert))) {
                Some((txn, alert)) => register::open_txn(s, txn, alert),
                None => update(s, Action::Compose),
            },
            Pane::Banks => {
                s.focus = Pane::Conversation;
                vec![]
            }
            Pane::Alerts => match s.alerts.selected_alert() {
                Some(a) => open(s, Overlay::AlertDetail { alert: a.id }),
                None => vec![],
            },
            Pane::Sidebar => match s.sidebar.selected() {
                Some(t) => {
                    let txn = t.id;
                    s.receipt = None;
                    s.overlay = Some(Overlay::TxnDetail { txn });
                    vec![Effect::Load(s.view())]
                }
                None => vec![],
            },
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
    // At first, the first bank rather than finbox's own thread.
    if first && s.banks.first().is_some_and(|b| b.bank.is_finbox()) && s.banks.len() > 1 && s.selected_bank == 0 {
        s.selected_bank = 1;
    }
    s.selected_bank = s.selected_bank.min(s.banks.len().saturating_sub(1));
    s.totals = snap.totals;
    s.newest = snap.newest;
    s.quarantined = snap.quarantined;
    s.chain_broken = snap.chain_broken;
    s.refused = snap.refused;
    s.simplefin = snap.simplefin;
    if snap.receipt.is_some() {
        s.receipt = snap.receipt;
    }
    alerts::apply(s, snap.alerts, snap.answered);

    // A snapshot for another bank than the one now selected is stale.
    if snap.conversation.bank.as_ref() == s.bank_id() {
        register::apply_conversation(s, snap.conversation);
        register::apply_register(s, snap.sidebar);
    }

    let mut effects = super::notify::on_snapshot(s, first);
    // Only for someone who never shared (or revoked everything): expired
    // grants are renewed, not onboarded.
    if first
        && s.overlay.is_none()
        && !s.real_banks().is_empty()
        && s.real_banks().iter().all(|b| b.bank.sharing(s.now) == Sharing::NotShared)
    {
        // Nothing ticked: nothing is shared until the user says so.
        s.overlay = Some(Overlay::Onboarding { cursor: 0, picked: vec![false; s.real_banks().len()] });
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
