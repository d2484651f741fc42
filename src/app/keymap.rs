//! Keys to actions. The table's `desc` strings feed the help overlay and the
//! footer, so what is shown is what works.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{AppState, Input, Overlay, Pane};
use super::update::Action;

/// One line of the key table.
#[derive(Debug, Clone, Copy)]
pub struct KeyBinding {
    /// The keys as shown to the user.
    pub on: &'static str,
    pub desc: &'static str,
    /// Panes where the key does something (empty: everywhere).
    pub panes: &'static [Pane],
    /// Shown in the footer (the help overlay shows every key).
    pub footer: bool,
}

const ALL: &[Pane] = &[];
const LISTS: &[Pane] = &[Pane::Banks, Pane::Conversation, Pane::Sidebar, Pane::Alerts];

pub const KEYS: &[KeyBinding] = &[
    KeyBinding { on: "q", desc: "quit", panes: ALL, footer: true },
    KeyBinding { on: "?", desc: "help", panes: ALL, footer: true },
    KeyBinding { on: "Tab", desc: "next pane", panes: ALL, footer: true },
    KeyBinding { on: "S-Tab", desc: "previous pane", panes: ALL, footer: false },
    KeyBinding { on: "1-9", desc: "select bank", panes: ALL, footer: false },
    KeyBinding {
        on: "a",
        desc: "fraud alerts",
        panes: &[Pane::Banks, Pane::Conversation, Pane::Sidebar],
        footer: true,
    },
    KeyBinding { on: "j/k", desc: "move", panes: LISTS, footer: true },
    KeyBinding { on: "PgDn/PgUp", desc: "page", panes: LISTS, footer: false },
    KeyBinding { on: "g/G", desc: "top/bottom", panes: LISTS, footer: false },
    KeyBinding { on: "i", desc: "write to the bank", panes: &[Pane::Banks, Pane::Conversation], footer: true },
    KeyBinding { on: "h/l", desc: "previous/next account", panes: &[Pane::Sidebar], footer: true },
    KeyBinding { on: "/", desc: "search transactions", panes: &[Pane::Sidebar], footer: true },
    KeyBinding { on: "y", desc: "it was me", panes: &[Pane::Alerts], footer: true },
    KeyBinding { on: "n", desc: "not me (freeze card)", panes: &[Pane::Alerts], footer: true },
    KeyBinding {
        on: "c",
        desc: "sharing & renew",
        panes: &[Pane::Banks, Pane::Conversation, Pane::Sidebar],
        footer: true,
    },
    KeyBinding { on: "R", desc: "refused records", panes: ALL, footer: false },
    KeyBinding { on: "Esc", desc: "close, cancel, clear search", panes: ALL, footer: false },
    KeyBinding { on: "Ctrl-C", desc: "quit", panes: ALL, footer: false },
];

/// The bindings that apply to `pane`, in table order.
pub fn bindings_for(pane: Pane) -> impl Iterator<Item = &'static KeyBinding> {
    KEYS.iter().filter(move |k| k.panes.is_empty() || k.panes.contains(&pane))
}

/// Turns a key press into an action, given what is on screen.
pub fn handle_key(s: &AppState, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q')) {
        return Some(Action::Quit);
    }
    if let Some(overlay) = &s.overlay {
        return handle_overlay_key(overlay, key);
    }
    match &s.input {
        Input::Compose(_) | Input::Search(_) => {
            return match key.code {
                KeyCode::Enter => Some(Action::Submit),
                KeyCode::Esc => Some(Action::Cancel),
                KeyCode::Backspace => Some(Action::Backspace),
                KeyCode::Char(c) if !ctrl => Some(Action::Type(c)),
                _ => None,
            };
        }
        Input::Normal => {}
    }
    let pane = s.focus;
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('R') => Action::Refused,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Char(c @ '1'..='9') => Action::SelectBank(c as usize - '1' as usize),
        KeyCode::Char('j') | KeyCode::Down => Action::Down,
        KeyCode::Char('k') | KeyCode::Up => Action::Up,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::Char('h') | KeyCode::Left if pane == Pane::Sidebar => Action::Left,
        KeyCode::Char('l') | KeyCode::Right if pane == Pane::Sidebar => Action::Right,
        KeyCode::Char('a') => Action::FocusAlerts,
        KeyCode::Char('i') => Action::Compose,
        KeyCode::Enter => Action::Submit,
        KeyCode::Char('/') => Action::Search,
        KeyCode::Char('c') => Action::Consent,
        KeyCode::Char('y') if pane == Pane::Alerts => Action::ItWasMe,
        KeyCode::Char('n') if pane == Pane::Alerts => Action::NotMe,
        KeyCode::Esc => Action::Cancel,
        _ => return None,
    })
}

fn handle_overlay_key(overlay: &Overlay, key: KeyEvent) -> Option<Action> {
    let code = key.code;
    if code == KeyCode::Esc {
        return Some(Action::Cancel);
    }
    Some(match overlay {
        Overlay::Help => match code {
            KeyCode::Char('?') => Action::Help,
            KeyCode::Char('q') => Action::Quit,
            _ => return None,
        },
        Overlay::Refused { .. } => match code {
            KeyCode::Char('R') => Action::Refused,
            KeyCode::Char('j') | KeyCode::Down => Action::Down,
            KeyCode::Char('k') | KeyCode::Up => Action::Up,
            KeyCode::Char('q') => Action::Quit,
            _ => return None,
        },
        Overlay::Consent { .. } => match code {
            KeyCode::Char('n') => Action::Renew,
            KeyCode::Char('r') => Action::Revoke,
            KeyCode::Char('p') => Action::Purge,
            _ => return None,
        },
        Overlay::ConfirmPurge { .. } | Overlay::ConfirmNotMe { .. } | Overlay::ConfirmGrant { .. } => match code {
            KeyCode::Char('y') => Action::Confirm,
            KeyCode::Char('n') => Action::Cancel,
            _ => return None,
        },
        Overlay::Onboarding { .. } => match code {
            KeyCode::Char('j') | KeyCode::Down => Action::Down,
            KeyCode::Char('k') | KeyCode::Up => Action::Up,
            KeyCode::Char(' ') => Action::Toggle,
            KeyCode::Char('a') => Action::GrantAll,
            KeyCode::Enter => Action::Submit,
            KeyCode::Char('q') => Action::Quit,
            _ => return None,
        },
    })
}
