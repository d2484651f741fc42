//! Typing: a message to the bank, a search that filters as it is typed, a
//! date to jump to. The line is an [`Editor`]; a paste is text, never keys.

use chrono::{NaiveDate, TimeZone};

use super::*;

/// Starts a message to the selected bank, if it is shared (else says how).
pub(super) fn compose(s: &mut AppState) -> Vec<Effect> {
    let Some(b) = s.bank() else { return vec![] };
    let key = s.keymap.label(crate::app::keymap::Context::Global, "consent");
    let name = b.bank.name.clone();
    if b.bank.is_finbox() {
        flash(s, "finbox posts its insights here; to ask a bank, open its thread.".into(), false);
        return vec![];
    }
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
    s.conversation.selected = None;
    s.input = Input::Compose(Editor::default());
    vec![]
}

/// `/`: a search, or the current one to edit.
pub(super) fn search(s: &mut AppState) -> Vec<Effect> {
    s.focus = Pane::Sidebar;
    s.input = Input::Search(Editor::new(s.sidebar.search.as_deref().unwrap_or_default()));
    vec![]
}

/// `:` in the register: a date to jump to.
pub(super) fn jump(s: &mut AppState) -> Vec<Effect> {
    s.focus = Pane::Sidebar;
    s.input = Input::Jump(Editor::default());
    vec![]
}

pub(super) fn type_char(s: &mut AppState, c: char) -> Vec<Effect> {
    let Some(e) = editor(s) else { return vec![] };
    if !e.insert(c) {
        return vec![];
    }
    refilter(s)
}

pub(super) fn edit(s: &mut AppState, op: Edit) -> Vec<Effect> {
    if let (Input::Search(_), Edit::Older | Edit::Newer) = (&s.input, op) {
        // ↑/↓ while searching move through the matches.
        let sb = &mut s.sidebar;
        sb.selected_txn = clamp_move(sb.selected_txn, if op == Edit::Older { -1 } else { 1 }, sb.transactions.len());
        return vec![];
    }
    let sent = sent_messages(s);
    let Some(e) = editor(s) else { return vec![] };
    let before = e.value().to_string();
    match op {
        Edit::Older | Edit::Newer => e.recall(&sent, op == Edit::Older),
        _ => e.edit(op),
    }
    if e.value() == before {
        return vec![];
    }
    refilter(s)
}

/// A paste goes into the line being typed, as text (see
/// [`Editor::insert_str`]); what does not fit is left out and the user
/// told. With nothing being typed it is ignored, and the user told too.
pub(super) fn paste(s: &mut AppState, text: &str) -> Vec<Effect> {
    let Some(e) = editor(s) else {
        if s.overlay.is_none() {
            flash(s, "Paste ignored: press i to write to the bank (or / to search) first.".into(), true);
        }
        return vec![];
    };
    let (taken, offered) = e.insert_str(text);
    let effects = refilter(s);
    if taken < offered {
        flash(s, format!("Pasted {taken} of {offered} characters: a message holds {INPUT_MAX_CHARS}."), true);
    }
    effects
}

/// Tab while searching: the selected bank only, or every shared bank.
pub(super) fn search_scope(s: &mut AppState) -> Vec<Effect> {
    if !matches!(s.input, Input::Search(_)) {
        return vec![];
    }
    s.sidebar.search_all = !s.sidebar.search_all;
    s.sidebar.selected_txn = 0;
    if s.sidebar.search.is_some() { vec![Effect::Load(s.view())] } else { vec![] }
}

fn editor(s: &mut AppState) -> Option<&mut Editor> {
    match &mut s.input {
        Input::Normal => None,
        Input::Compose(e) | Input::Search(e) | Input::Jump(e) => Some(e),
    }
}

/// What the user sent this bank, oldest first (the loaded window, and the
/// message on its way).
fn sent_messages(s: &AppState) -> Vec<String> {
    let c = &s.conversation;
    let mut sent: Vec<String> = c.messages.iter().filter(|m| m.from == Sender::User).map(|m| m.text.clone()).collect();
    sent.extend(c.pending.clone());
    sent.dedup();
    sent
}

/// A search filters as it is typed.
fn refilter(s: &mut AppState) -> Vec<Effect> {
    let Input::Search(e) = &s.input else { return vec![] };
    let text = e.value().to_string();
    search_for(s, &text)
}

/// The search the register lists (none for blank text); loads its matches
/// when it changed.
fn search_for(s: &mut AppState, text: &str) -> Vec<Effect> {
    let text = text.trim();
    let search = (!text.is_empty()).then(|| text.to_string());
    if search == s.sidebar.search {
        return vec![];
    }
    s.sidebar.search = search;
    s.sidebar.selected_txn = 0;
    s.sidebar.limit = TXN_WINDOW;
    vec![Effect::Load(s.view())]
}

/// Enter on a message: sent, shown as on its way.
pub(super) fn send(s: &mut AppState, text: &str) -> Vec<Effect> {
    let text = text.trim().to_string();
    let Some(bank) = s.bank_id().cloned() else { return vec![] };
    if text.is_empty() {
        return vec![];
    }
    s.conversation.pending = Some(text.clone());
    s.conversation.scroll = 0;
    vec![Effect::Say { bank, text }]
}

/// Enter on a search: typing ends, the filter stays.
pub(super) fn search_done(s: &mut AppState, text: &str) -> Vec<Effect> {
    search_for(s, text)
}

/// Enter on a date: the register's newest transaction on or before the
/// end of that year, month or day.
pub(super) fn jump_to(s: &mut AppState, text: &str) -> Vec<Effect> {
    let Some(end) = period_end(text.trim()) else {
        flash(s, format!("“{}” is not a date: type 2025, 2025-03 or 2025-03-15.", text.trim()), true);
        return vec![];
    };
    s.sidebar.search = None;
    s.sidebar.search_all = false;
    register::jump(s, Anchor::Before(end))
}

/// The moment after the year (`2025`), month (`2025-03`, `2025/3`) or day
/// (`2025-03-15`) typed, in UTC.
pub fn period_end(text: &str) -> Option<DateTime<Utc>> {
    let parts: Vec<&str> = text.split(['-', '/', '.']).collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u32>().ok());
    let year = parts.first().filter(|p| p.len() == 4).and_then(|p| p.parse::<i32>().ok())?;
    let next = match parts.len() {
        1 => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
        2 => {
            let month = num(1)?;
            NaiveDate::from_ymd_opt(year, month, 1)?;
            if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)?
            }
        }
        3 => NaiveDate::from_ymd_opt(year, num(1)?, num(2)?)?.succ_opt()?,
        _ => return None,
    };
    Some(Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_to_jump_to_end_their_period() {
        let at = |s: &str| period_end(s).map(|t| t.format("%Y-%m-%d").to_string());
        assert_eq!(at("2025").as_deref(), Some("2026-01-01"));
        assert_eq!(at("2025-03").as_deref(), Some("2025-04-01"));
        assert_eq!(at("2025/12").as_deref(), Some("2026-01-01"));
        assert_eq!(at("2024-02-29").as_deref(), Some("2024-03-01"));
        for bad in ["", "25-03", "2025-13", "2025-02-30", "march", "2025-03-01-02"] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}
