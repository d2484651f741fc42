//! The key table as the user reads it: each line's keys, what they do,
//! where they work and where the help lists them. The footer and the help
//! are made from it; [`super::Keymap`] says which key runs what.

use super::super::state::Pane;

/// Where a key belongs in the help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Navigation,
    Conversation,
    Accounts,
    Alerts,
    Sharing,
}

impl Group {
    pub const ALL: [Group; 5] =
        [Group::Navigation, Group::Conversation, Group::Accounts, Group::Alerts, Group::Sharing];

    pub fn title(self) -> &'static str {
        match self {
            Group::Navigation => "Navigation",
            Group::Conversation => "Conversation",
            Group::Accounts => "Accounts",
            Group::Alerts => "Fraud alerts",
            Group::Sharing => "Sharing",
        }
    }
}

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
    /// Where the help lists it.
    pub group: Group,
    /// The actions the keys run (as the settings file names them), so that
    /// a remapped key is shown.
    pub actions: &'static [&'static str],
}

const ALL: &[Pane] = &[];
const LISTS: &[Pane] = &[Pane::Banks, Pane::Conversation, Pane::Sidebar, Pane::Alerts];

pub const KEYS: &[KeyBinding] = &[
    KeyBinding { on: "q", desc: "quit", panes: ALL, footer: true, group: Group::Navigation, actions: &["quit"] },
    KeyBinding { on: "?", desc: "help", panes: ALL, footer: true, group: Group::Navigation, actions: &["help"] },
    KeyBinding {
        on: "Tab",
        desc: "next pane",
        panes: ALL,
        footer: true,
        group: Group::Navigation,
        actions: &["focus-next"],
    },
    KeyBinding {
        on: "S-Tab",
        desc: "previous pane",
        panes: ALL,
        footer: false,
        group: Group::Navigation,
        actions: &["focus-prev"],
    },
    KeyBinding { on: "1-9", desc: "select bank", panes: ALL, footer: false, group: Group::Navigation, actions: &[] },
    KeyBinding {
        on: "a",
        desc: "fraud alerts",
        panes: &[Pane::Banks, Pane::Conversation, Pane::Sidebar],
        footer: true,
        group: Group::Alerts,
        actions: &["focus-alerts"],
    },
    KeyBinding {
        on: "j/k",
        desc: "move",
        panes: LISTS,
        footer: true,
        group: Group::Navigation,
        actions: &["down", "up"],
    },
    KeyBinding {
        on: "PgDn/PgUp",
        desc: "page",
        panes: LISTS,
        footer: false,
        group: Group::Navigation,
        actions: &["page-down", "page-up"],
    },
    KeyBinding {
        on: "g/G",
        desc: "newest/oldest",
        panes: LISTS,
        footer: false,
        group: Group::Navigation,
        actions: &["top", "bottom"],
    },
    KeyBinding {
        on: "z",
        desc: "pane full screen",
        panes: ALL,
        footer: false,
        group: Group::Navigation,
        actions: &["zoom"],
    },
    KeyBinding {
        on: "i",
        desc: "write to the bank",
        panes: &[Pane::Banks, Pane::Conversation],
        footer: true,
        group: Group::Conversation,
        actions: &["compose"],
    },
    KeyBinding {
        on: "h/l",
        desc: "previous/next account",
        panes: &[Pane::Sidebar],
        footer: true,
        group: Group::Accounts,
        actions: &["left", "right"],
    },
    KeyBinding {
        on: "Enter",
        desc: "open the notice's transaction",
        panes: &[Pane::Conversation],
        footer: false,
        group: Group::Conversation,
        actions: &["submit"],
    },
    KeyBinding {
        on: "Home/End",
        desc: "start/end of the line typed (Ctrl-A/E; ←/→, Alt-B/F move)",
        panes: &[Pane::Conversation],
        footer: false,
        group: Group::Conversation,
        actions: &[],
    },
    KeyBinding {
        on: "Ctrl-U/K/W",
        desc: "delete to the start, to the end, a word (Ctrl-Y puts it back)",
        panes: &[Pane::Conversation],
        footer: false,
        group: Group::Conversation,
        actions: &[],
    },
    KeyBinding {
        on: "↑/↓",
        desc: "while typing: messages sent before",
        panes: &[Pane::Conversation],
        footer: false,
        group: Group::Conversation,
        actions: &[],
    },
    KeyBinding {
        on: "/",
        desc: "search transactions",
        panes: &[Pane::Sidebar],
        footer: true,
        group: Group::Accounts,
        actions: &["search"],
    },
    KeyBinding {
        on: ":",
        desc: "jump to a date",
        panes: &[Pane::Sidebar],
        footer: false,
        group: Group::Accounts,
        actions: &["jump-date"],
    },
    KeyBinding {
        on: "Enter",
        desc: "alert details",
        panes: &[Pane::Alerts],
        footer: false,
        group: Group::Alerts,
        actions: &["submit"],
    },
    KeyBinding {
        on: "y",
        desc: "it was me",
        panes: &[Pane::Alerts],
        footer: true,
        group: Group::Alerts,
        actions: &["it-was-me"],
    },
    KeyBinding {
        on: "n",
        desc: "not me (lock card, dispute)",
        panes: &[Pane::Alerts],
        footer: true,
        group: Group::Alerts,
        actions: &["not-me"],
    },
    KeyBinding {
        on: "u",
        desc: "undo the answer (5 s)",
        panes: &[Pane::Alerts],
        footer: false,
        group: Group::Alerts,
        actions: &["undo"],
    },
    KeyBinding {
        on: "A",
        desc: "answered alerts",
        panes: &[Pane::Alerts],
        footer: false,
        group: Group::Alerts,
        actions: &["answered"],
    },
    KeyBinding {
        on: "t",
        desc: "the alert's thread",
        panes: &[Pane::Alerts],
        footer: false,
        group: Group::Alerts,
        actions: &["thread"],
    },
    KeyBinding {
        on: "c",
        desc: "sharing & renew",
        panes: &[Pane::Banks, Pane::Conversation, Pane::Sidebar],
        footer: true,
        group: Group::Sharing,
        actions: &["consent"],
    },
    KeyBinding {
        on: "Tab",
        desc: "while searching: this bank or every bank",
        panes: &[Pane::Sidebar],
        footer: false,
        group: Group::Accounts,
        actions: &[],
    },
    KeyBinding {
        on: "R",
        desc: "refused records",
        panes: ALL,
        footer: false,
        group: Group::Sharing,
        actions: &["refused"],
    },
    KeyBinding {
        on: "Esc",
        desc: "close, cancel, clear search",
        panes: ALL,
        footer: false,
        group: Group::Navigation,
        actions: &[],
    },
    KeyBinding { on: "Ctrl-C", desc: "quit", panes: ALL, footer: false, group: Group::Navigation, actions: &[] },
];

/// The bindings that apply to `pane`, in table order.
pub fn bindings_for(pane: Pane) -> impl Iterator<Item = &'static KeyBinding> {
    KEYS.iter().filter(move |k| k.panes.is_empty() || k.panes.contains(&pane))
}
