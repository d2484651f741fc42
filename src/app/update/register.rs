//! The register (the accounts pane's transactions) and the conversation's
//! cursor: moving through an account's whole history a window at a time,
//! jumping to its ends, to a date or to a notice's transaction.

use super::*;

/// How close to a window's edge the cursor gets before the next window is
/// asked for.
const EDGE: usize = 10;

/// j/k/PgUp/PgDn in the register. Near the end of the loaded window, with
/// more history beyond it, the window moves to the selected row (keyset
/// paging: the store walks its index from there, never an offset).
pub(super) fn move_in_register(s: &mut AppState, delta: i64) -> Vec<Effect> {
    let sb = &mut s.sidebar;
    let len = sb.transactions.len();
    sb.selected_txn = clamp_move(sb.selected_txn, delta, len);
    let Some(row) = sb.selected() else { return vec![] };
    let key = TxnKey::from(row);
    if sb.search.is_some() {
        // A search grows its window instead (matches come newest first).
        let full = len >= sb.limit.max(TXN_WINDOW);
        if delta > 0 && full && sb.selected_txn + EDGE >= len && sb.limit < MAX_WINDOW {
            sb.limit = sb.limit.max(TXN_WINDOW) + TXN_WINDOW;
            return vec![Effect::Load(s.view())];
        }
        return vec![];
    }
    let older_beyond = sb.offset + len < sb.total;
    let near_bottom = delta > 0 && sb.selected_txn + EDGE >= len && older_beyond;
    let near_top = delta < 0 && sb.selected_txn < EDGE && sb.offset > 0;
    if near_bottom || near_top {
        sb.anchor = Anchor::At(key);
        return vec![Effect::Load(s.view())];
    }
    vec![]
}

/// g / G in the register: the newest or the oldest transaction.
pub(super) fn ends(s: &mut AppState, top: bool) -> Vec<Effect> {
    let sb = &mut s.sidebar;
    if sb.search.is_some() {
        sb.selected_txn = if top { 0 } else { sb.transactions.len().saturating_sub(1) };
        return vec![];
    }
    let anchor = if top { Anchor::Newest } else { Anchor::Oldest };
    sb.selected_txn = if top { 0 } else { sb.transactions.len().saturating_sub(1) };
    let whole = sb.offset == 0 && sb.transactions.len() >= sb.total;
    if whole {
        return vec![];
    }
    jump(s, anchor)
}

/// Moves the register's window to `anchor`, the selection following when
/// it arrives.
pub(super) fn jump(s: &mut AppState, anchor: Anchor) -> Vec<Effect> {
    s.sidebar.anchor = anchor;
    s.jump = Some(anchor);
    vec![Effect::Load(s.view())]
}

/// Enter on a notice: its transaction in the register (on its account,
/// whichever is selected now), and its alert selected in the queue.
pub(super) fn open_txn(s: &mut AppState, txn: TxnId, alert: Option<AlertId>) -> Vec<Effect> {
    if let Some(i) = alert.and_then(|a| s.alerts.items.iter().position(|x| x.id == a)) {
        s.alerts.show_answered = false;
        s.alerts.selected = i;
    }
    s.sidebar.search = None;
    s.focus = Pane::Sidebar;
    jump(s, Anchor::Txn(txn))
}

/// Enter on an insight in finbox's thread: its transactions in the
/// sidebar, across every bank.
pub(super) fn open_insight(s: &mut AppState) -> Vec<Effect> {
    let Some(m) = s.conversation.selected_message() else { return vec![] };
    let title = m.text.lines().next().unwrap_or_default().to_string();
    s.sidebar.insight = Some((m.id.0, title));
    s.sidebar.selected_txn = 0;
    s.focus = Pane::Sidebar;
    vec![Effect::Load(s.view())]
}

/// A new window of the register: the selection stays on the transaction it
/// was on, or goes where a jump asked. On the newest row of an account's
/// newest window it stays on the newest row instead, as a chat follows its
/// newest line: what a feed delivers (history catching up, a new charge)
/// shows at the top, rather than pushing the selection, and the rows
/// around it, down the list.
pub(super) fn apply_register(s: &mut AppState, new: SidebarView) {
    let old = &s.sidebar;
    let old_id = old.selected().map(|t| t.id);
    let old_index = old.selected_txn;
    let newest = |v: &SidebarView| v.anchor == Anchor::Newest && v.offset == 0 && v.search.is_none();
    let following =
        old_index == 0 && newest(old) && newest(&new) && old.account().map(|a| &a.id) == new.account().map(|a| &a.id);
    s.sidebar = new;
    let sb = &mut s.sidebar;
    let jumped = s.jump.is_some_and(|a| a == sb.anchor);
    sb.selected_txn = if jumped {
        s.jump = None;
        sb.anchor_row.unwrap_or(0)
    } else if following {
        0
    } else {
        old_id.and_then(|id| sb.transactions.iter().position(|t| t.id == id)).unwrap_or(old_index)
    };
    sb.selected_txn = sb.selected_txn.min(sb.transactions.len().saturating_sub(1));
}

/// A new conversation window: what the user scrolled to, typed or
/// selected stays, unless a jump to an alert's message asked for it.
pub(super) fn apply_conversation(s: &mut AppState, new: ConversationView) {
    let same = s.conversation.bank == new.bank;
    let (scroll, pending, selected) = (s.conversation.scroll, s.conversation.pending.take(), s.conversation.selected);
    let jumped = new.selected;
    s.conversation = new;
    if same {
        s.conversation.scroll = scroll;
        s.conversation.pending = pending;
        s.conversation.selected = jumped.or(selected);
    }
}

/// k / j in the conversation: the cursor goes from message to message
/// (k from the end selects the newest); PgUp/PgDn scroll by lines.
pub(super) fn move_in_conversation(s: &mut AppState, delta: i64) -> Vec<Effect> {
    let c = &mut s.conversation;
    if delta.unsigned_abs() > 1 {
        c.selected = None;
        c.scroll = (c.scroll as i64).saturating_sub(delta).clamp(0, 1 << 30) as usize;
        return grow_conversation(s, delta < 0);
    }
    let n = c.messages.len();
    if n == 0 {
        return vec![];
    }
    let at = match (c.selected_index(), delta < 0) {
        (None, true) => Some(n - 1),
        (None, false) => None,
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 >= n => None,
        (Some(i), false) => Some(i + 1),
    };
    c.selected = at.map(|i| c.messages[i].id);
    c.scroll = 0;
    if at.is_some_and(|i| i < EDGE) {
        return grow_conversation(s, true);
    }
    vec![]
}

/// g in the conversation: the oldest message loaded (and an older window).
pub(super) fn oldest_message(s: &mut AppState) -> Vec<Effect> {
    let c = &mut s.conversation;
    c.selected = c.messages.first().map(|m| m.id);
    grow_conversation(s, true)
}

/// Scrolled (or moved) near the oldest loaded message, with older ones in
/// the store: a longer window.
pub(super) fn grow_conversation(s: &mut AppState, up: bool) -> Vec<Effect> {
    let c = &mut s.conversation;
    let full = c.messages.len() >= c.limit.max(CONVERSATION_WINDOW);
    let near = c.scroll >= c.messages.len().saturating_sub(PAGE * 2) || c.selected_index().is_some_and(|i| i < EDGE);
    if up && full && near && c.limit < MAX_WINDOW {
        c.limit = c.limit.max(CONVERSATION_WINDOW) + CONVERSATION_WINDOW;
        return vec![Effect::Load(s.view())];
    }
    vec![]
}
