//! Keys to actions. The table's `desc` strings feed the help overlay and the
//! footer, so what is shown is what works.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::editor::Edit;
use super::state::{AppState, Input, Overlay, Pane};
use super::update::Action;

mod table;
pub use table::{Group, KEYS, KeyBinding, bindings_for};

/// Where a key works: a pane (then the global keys), or a dialog. The names
/// are what the settings file's `[keys.<context>]` tables are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Banks,
    Conversation,
    Accounts,
    Alerts,
    Help,
    Refused,
    Sharing,
    Confirm,
    Onboarding,
    AlertDetail,
    Narrow,
    Transaction,
}

const CONTEXTS: &[(Context, &str)] = &[
    (Context::Global, "global"),
    (Context::Banks, "banks"),
    (Context::Conversation, "conversation"),
    (Context::Accounts, "accounts"),
    (Context::Alerts, "alerts"),
    (Context::Help, "help"),
    (Context::Refused, "refused"),
    (Context::Sharing, "sharing"),
    (Context::Confirm, "confirm"),
    (Context::Onboarding, "onboarding"),
    (Context::AlertDetail, "alert"),
    (Context::Narrow, "narrow"),
    (Context::Transaction, "transaction"),
];

impl Context {
    fn is_pane(self) -> bool {
        matches!(self, Context::Banks | Context::Conversation | Context::Accounts | Context::Alerts)
    }

    pub fn name(self) -> &'static str {
        CONTEXTS.iter().find(|(c, _)| *c == self).map_or("global", |(_, n)| n)
    }

    fn parse(name: &str) -> Option<Context> {
        CONTEXTS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    fn of_pane(pane: Pane) -> Context {
        match pane {
            Pane::Banks => Context::Banks,
            Pane::Conversation => Context::Conversation,
            Pane::Sidebar => Context::Accounts,
            Pane::Alerts => Context::Alerts,
        }
    }

    fn of_overlay(overlay: &Overlay) -> Context {
        match overlay {
            Overlay::Help => Context::Help,
            Overlay::Refused { .. } => Context::Refused,
            Overlay::Consent { .. } => Context::Sharing,
            Overlay::ConfirmPurge { .. } | Overlay::ConfirmNotMe { .. } | Overlay::ConfirmGrant { .. } => {
                Context::Confirm
            }
            Overlay::Onboarding { .. } => Context::Onboarding,
            Overlay::AlertDetail { .. } => Context::AlertDetail,
            Overlay::ConfirmNarrow { .. } => Context::Narrow,
            Overlay::TxnDetail { .. } => Context::Transaction,
        }
    }
}

/// The default keys: (context, key, action name). Digits (select bank N),
/// Esc (close, cancel) and Ctrl-C (quit) are fixed; everything here can be
/// remapped per context in the settings file.
const DEFAULT_KEYS: &[(Context, &str, &str)] = &[
    (Context::Global, "q", "quit"),
    (Context::Global, "?", "help"),
    (Context::Global, "R", "refused"),
    (Context::Global, "Tab", "focus-next"),
    (Context::Global, "BackTab", "focus-prev"),
    (Context::Global, "j", "down"),
    (Context::Global, "Down", "down"),
    (Context::Global, "k", "up"),
    (Context::Global, "Up", "up"),
    (Context::Global, "PageDown", "page-down"),
    (Context::Global, "PageUp", "page-up"),
    (Context::Global, "g", "top"),
    (Context::Global, "Home", "top"),
    (Context::Global, "G", "bottom"),
    (Context::Global, "End", "bottom"),
    (Context::Global, "a", "focus-alerts"),
    (Context::Global, "i", "compose"),
    (Context::Global, "Enter", "submit"),
    (Context::Global, "/", "search"),
    (Context::Global, "c", "consent"),
    (Context::Global, "z", "zoom"),
    (Context::Global, "u", "undo"),
    (Context::Global, "S", "sync-now"),
    (Context::Global, "m", "mask"),
    (Context::Accounts, "h", "left"),
    (Context::Accounts, "Left", "left"),
    (Context::Accounts, "l", "right"),
    (Context::Accounts, "Right", "right"),
    (Context::Alerts, "y", "it-was-me"),
    (Context::Alerts, "n", "not-me"),
    (Context::Alerts, "A", "answered"),
    (Context::Alerts, "t", "thread"),
    (Context::Accounts, ":", "jump-date"),
    (Context::AlertDetail, "y", "it-was-me"),
    (Context::AlertDetail, "n", "not-me"),
    (Context::AlertDetail, "t", "thread"),
    (Context::AlertDetail, "Enter", "submit"),
    (Context::AlertDetail, "q", "quit"),
    (Context::Transaction, "Enter", "submit"),
    (Context::Transaction, "q", "quit"),
    (Context::Help, "?", "help"),
    (Context::Help, "q", "quit"),
    (Context::Refused, "R", "refused"),
    (Context::Refused, "j", "down"),
    (Context::Refused, "Down", "down"),
    (Context::Refused, "k", "up"),
    (Context::Refused, "Up", "up"),
    (Context::Refused, "q", "quit"),
    (Context::Sharing, "n", "renew"),
    (Context::Sharing, "r", "revoke"),
    (Context::Sharing, "p", "purge"),
    (Context::Sharing, "j", "down"),
    (Context::Sharing, "Down", "down"),
    (Context::Sharing, "k", "up"),
    (Context::Sharing, "Up", "up"),
    (Context::Sharing, "Space", "toggle"),
    (Context::Sharing, "Enter", "submit"),
    (Context::Narrow, "y", "confirm"),
    (Context::Narrow, "k", "keep"),
    (Context::Confirm, "y", "confirm"),
    (Context::Confirm, "n", "cancel"),
    (Context::Onboarding, "j", "down"),
    (Context::Onboarding, "Down", "down"),
    (Context::Onboarding, "k", "up"),
    (Context::Onboarding, "Up", "up"),
    (Context::Onboarding, "Space", "toggle"),
    (Context::Onboarding, "a", "grant-all"),
    (Context::Onboarding, "Enter", "submit"),
    (Context::Onboarding, "q", "quit"),
];

/// Named keys as written in the settings file and shown on screen.
const NAMED: &[(&str, KeyCode)] = &[
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Enter", KeyCode::Enter),
    ("Space", KeyCode::Char(' ')),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("Backspace", KeyCode::Backspace),
];

/// A key as written ("x", "?", "Enter", "PageDown").
pub fn parse_key(s: &str) -> Option<KeyCode> {
    if let Some((_, k)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Some(*k);
    }
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() && !c.is_ascii_digit() => Some(KeyCode::Char(c)),
        _ => None,
    }
}

/// A key as shown.
pub fn key_name(k: KeyCode) -> String {
    match NAMED.iter().find(|(_, c)| *c == k) {
        Some((n, _)) => (*n).to_string(),
        None => match k {
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        },
    }
}

/// The action an action's name (as the settings file writes it, `not_me`
/// or `not-me`) is, among those a key can run: its name in the table.
fn action_of(name: &str) -> Option<&'static str> {
    let name = name.replace('_', "-");
    DEFAULT_KEYS.iter().map(|(_, _, a)| *a).find(|a| *a == name)
}

fn action_of_default(name: &str) -> Option<Action> {
    serde::Deserialize::deserialize(toml::Value::String(name.to_string())).ok()
}

/// A remapping the settings file asks for that cannot be: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The table: `keys.alerts`.
    pub table: String,
    /// The action as written there.
    pub action: String,
    pub why: String,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.table, self.action, self.why)
    }
}

/// The key table in force: which key runs which action where. Dispatch
/// looks keys up here, and the help, the footer and the dialogs' hints show
/// the keys it holds, so a remapped key is what the screen says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    /// (context, key, the action's name).
    keys: Vec<(Context, KeyCode, &'static str)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = DEFAULT_KEYS.iter().map(|(c, k, a)| (*c, parse_key(k).expect("default keys parse"), *a)).collect();
        Keymap { keys }
    }
}

impl Keymap {
    /// The defaults with the settings file's `[keys.<context>]` tables
    /// over them: `not_me = "x"` (or `"not-me"`) makes `x` the key of that
    /// action there, in place of its default keys. An unknown context,
    /// action or key, or a key that another action of the context (or a
    /// global one, for a pane) already has, is refused.
    pub fn with_settings(keys: &toml::Table) -> Result<Keymap, KeyError> {
        let mut map = Keymap::default();
        for (context_name, table) in keys {
            let err = |action: &str, why: String| KeyError {
                table: format!("keys.{context_name}"),
                action: action.to_string(),
                why,
            };
            let Some(context) = Context::parse(context_name) else {
                let known: Vec<&str> = CONTEXTS.iter().map(|(_, n)| *n).collect();
                return Err(KeyError {
                    table: "keys".into(),
                    action: context_name.clone(),
                    why: format!("no such context (known: {})", known.join(", ")),
                });
            };
            let Some(table) = table.as_table() else {
                return Err(err(context_name, "should be a table of action = \"key\"".into()));
            };
            for (name, value) in table {
                let Some(action) = action_of(name) else {
                    return Err(err(name, "no such action".into()));
                };
                if !map.keys.iter().any(|(c, _, a)| *c == context && *a == action) {
                    return Err(err(name, format!("is not an action of {context_name}")));
                }
                let Some(key) = value.as_str().and_then(parse_key) else {
                    return Err(err(
                        name,
                        format!("{value} is not a key (a character, or Enter, Space, Tab, Up, PageDown, …)"),
                    ));
                };
                let clash = map.keys.iter().find(|(c, k, a)| {
                    *k == key && *a != action && (*c == context || (*c == Context::Global && context.is_pane()))
                });
                if let Some((c, _, a)) = clash {
                    return Err(err(name, format!("{} is the key of {a} in {} already", key_name(key), c.name())));
                }
                map.keys.retain(|(c, _, a)| !(*c == context && *a == action));
                map.keys.push((context, key, action));
            }
        }
        Ok(map)
    }

    /// The action of `key` in `context`.
    pub fn action(&self, context: Context, key: KeyCode) -> Option<Action> {
        self.keys.iter().find(|(c, k, _)| *c == context && *k == key).and_then(|(_, _, a)| action_of_default(a))
    }

    /// The keys of the action named `action` in `context` (in table order).
    pub fn keys_of(&self, context: Context, action: &str) -> Vec<KeyCode> {
        self.keys.iter().filter(|(c, _, a)| *c == context && *a == action).map(|(_, k, _)| *k).collect()
    }

    /// The first key of the action named `action` in `context`, as shown
    /// (for a pane, a global key counts too).
    pub fn label(&self, context: Context, action: &str) -> String {
        let keys = self.keys_of(context, action);
        let keys = if keys.is_empty() && context.is_pane() { self.keys_of(Context::Global, action) } else { keys };
        keys.first().map_or_else(|| "?".to_string(), |k| key_name(*k))
    }

    /// Whether the user moved any of `actions` (in `contexts`). Asked for
    /// every line of the help and the footer at every frame: compared with
    /// the defaults built once.
    fn remapped(&self, contexts: &[Context], actions: &[&str]) -> bool {
        static DEFAULT: std::sync::LazyLock<Keymap> = std::sync::LazyLock::new(Keymap::default);
        self.keys != DEFAULT.keys
            && contexts.iter().any(|c| actions.iter().any(|a| self.keys_of(*c, a) != DEFAULT.keys_of(*c, a)))
    }
}

impl KeyBinding {
    /// The keys of this line as the user has them: the table's text unless
    /// the settings file moved one of its actions.
    pub fn label(&self, keymap: &Keymap) -> String {
        let actions: &[&str] = self.actions;
        let contexts: Vec<Context> = if self.panes.is_empty() {
            vec![Context::Global]
        } else {
            self.panes.iter().map(|p| Context::of_pane(*p)).chain([Context::Global]).collect()
        };
        if actions.is_empty() || !keymap.remapped(&contexts, actions) {
            return self.on.to_string();
        }
        let mut parts = Vec::new();
        for a in actions {
            if let Some(k) = contexts.iter().find_map(|c| keymap.keys_of(*c, a).first().copied()) {
                parts.push(key_name(k));
            }
        }
        parts.join("/")
    }
}

/// A key while a line is being typed: readline's editing keys (fixed, not
/// remappable: they are what every terminal program does), Enter, Esc,
/// Tab (this bank / every bank, in a search), and text.
fn typing_key(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let edit = match (key.code, ctrl, alt) {
        (KeyCode::Enter, ..) => return Some(Action::Submit),
        (KeyCode::Esc, ..) => return Some(Action::Cancel),
        (KeyCode::Tab, ..) => return Some(Action::SearchScope),
        (KeyCode::Left, true, _) | (KeyCode::Char('b'), false, true) => Edit::WordLeft,
        (KeyCode::Right, true, _) | (KeyCode::Char('f'), false, true) => Edit::WordRight,
        (KeyCode::Left, ..) | (KeyCode::Char('b'), true, _) => Edit::Left,
        (KeyCode::Right, ..) | (KeyCode::Char('f'), true, _) => Edit::Right,
        (KeyCode::Home, ..) | (KeyCode::Char('a'), true, _) => Edit::Home,
        (KeyCode::End, ..) | (KeyCode::Char('e'), true, _) => Edit::End,
        (KeyCode::Backspace, _, true) | (KeyCode::Char('w'), true, _) => Edit::KillWord,
        (KeyCode::Backspace, ..) | (KeyCode::Char('h'), true, _) => Edit::Backspace,
        (KeyCode::Delete, ..) | (KeyCode::Char('d'), true, _) => Edit::Delete,
        (KeyCode::Char('u'), true, _) => Edit::KillToStart,
        (KeyCode::Char('k'), true, _) => Edit::KillToEnd,
        (KeyCode::Char('y'), true, _) => Edit::Yank,
        (KeyCode::Up, ..) | (KeyCode::Char('p'), true, _) => Edit::Older,
        (KeyCode::Down, ..) | (KeyCode::Char('n'), true, _) => Edit::Newer,
        (KeyCode::Char(c), false, false) => return Some(Action::Type(c)),
        _ => return None,
    };
    Some(Action::Edit(edit))
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
        if key.code == KeyCode::Esc {
            return Some(Action::Cancel);
        }
        return s.keymap.action(Context::of_overlay(overlay), key.code);
    }
    if s.input != Input::Normal {
        return typing_key(key);
    }
    match key.code {
        KeyCode::Char(c @ '1'..='9') => return Some(Action::SelectBank(c as usize - '1' as usize)),
        KeyCode::Esc => return Some(Action::Cancel),
        _ => {}
    }
    let pane = Context::of_pane(s.focus);
    s.keymap.action(pane, key.code).or_else(|| s.keymap.action(Context::Global, key.code))
}
