//! Answering alerts with time to take the answer back, the answered
//! alerts' list, and the way from an alert to its bank's thread.

use super::*;

/// y (or a confirmed n): the answer waits [`UNDO_SECS`] before it goes to
/// the store; the alert leaves the queue at once. An earlier answer still
/// waiting goes now.
pub(super) fn answer(s: &mut AppState, verdict: Verdict) -> Vec<Effect> {
    if s.alerts.show_answered {
        return vec![];
    }
    let Some(alert) = s.alerts.selected_alert().cloned() else { return vec![] };
    answer_alert(s, alert.id, verdict)
}

/// Answers the alert `id` (the dialogs' way in).
pub(super) fn answer_alert(s: &mut AppState, id: AlertId, verdict: Verdict) -> Vec<Effect> {
    let Some(i) = s.alerts.items.iter().position(|a| a.id == id) else { return vec![] };
    let effects: Vec<Effect> = commit_undo(s).into_iter().collect();
    let alert = s.alerts.items.remove(i);
    s.alerts.selected = s.alerts.selected.min(s.alerts.items.len().saturating_sub(1));
    s.alerts.undo = Some(PendingVerdict { alert, verdict, due: s.now + chrono::Duration::seconds(UNDO_SECS) });
    effects
}

/// The answer waiting out its undo time, sent now.
pub(super) fn commit_undo(s: &mut AppState) -> Option<Effect> {
    let p = s.alerts.undo.take()?;
    Some(Effect::Ack { alert: p.alert.id, verdict: p.verdict })
}

/// u: the answer is taken back; the alert is open again, selected.
pub(super) fn undo(s: &mut AppState) -> Vec<Effect> {
    let Some(p) = s.alerts.undo.take() else {
        flash(s, "Nothing to undo.".into(), false);
        return vec![];
    };
    let q = &mut s.alerts;
    q.show_answered = false;
    let at = q.selected.min(q.items.len());
    q.items.insert(at, p.alert.clone());
    q.selected = at;
    s.focus = Pane::Alerts;
    flash(
        s,
        format!("Answer taken back: the {} charge at {} is open again.", p.alert.amount.abs(), p.alert.merchant),
        false,
    );
    vec![]
}

/// The clock: an answer whose undo time is over goes to the store.
pub(super) fn tick(s: &mut AppState) -> Vec<Effect> {
    match &s.alerts.undo {
        Some(p) if p.due <= s.now => commit_undo(s).into_iter().collect(),
        _ => vec![],
    }
}

/// The answered alerts (loaded while shown), or back to the open ones.
pub(super) fn toggle_answered(s: &mut AppState) -> Vec<Effect> {
    let q = &mut s.alerts;
    q.show_answered = !q.show_answered;
    q.selected = 0;
    vec![Effect::Load(s.view())]
}

/// From the selected alert to its bank's conversation, at its message.
pub(super) fn thread(s: &mut AppState) -> Vec<Effect> {
    let Some(a) = s.alerts.selected_alert() else { return vec![] };
    let (alert, bank) = (a.id, a.bank.clone());
    let Some(i) = s.banks.iter().position(|b| b.bank.id == bank) else { return vec![] };
    if i != s.selected_bank {
        s.selected_bank = i;
        s.conversation = ConversationView::default();
        s.sidebar = SidebarView::default();
    }
    s.focus = Pane::Conversation;
    s.input = Input::Normal;
    vec![Effect::Load(View { thread_at: Some(alert), ..s.view() })]
}

/// New alert lists from the store: the selection stays on the alert it was
/// on (new ones arriving above it move it down), and an answer waiting out
/// its undo time stays out of the queue.
pub(super) fn apply(s: &mut AppState, items: Vec<FraudAlert>, answered: Vec<FraudAlert>) {
    let q = &mut s.alerts;
    let selected_id = q.selected_alert().map(|a| a.id);
    let held = q.undo.as_ref().map(|p| p.alert.id);
    q.items = items.into_iter().filter(|a| Some(a.id) != held).collect();
    q.answered = answered;
    let shown = q.shown();
    q.selected = selected_id
        .and_then(|id| shown.iter().position(|a| a.id == id))
        .unwrap_or(q.selected)
        .min(shown.len().saturating_sub(1));
}
