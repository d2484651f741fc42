//! One alert in full (Enter in the queue): the whole reason, the
//! transaction, the account and card it is on, and what each answer does.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::alerts::{severity_label, severity_style};
use super::super::text::{clean, fit, local};
use super::super::{RenderOpts, Theme};
use super::{Dialog, bank_name, keys, not_me_does, paragraph};
use crate::app::AppState;
use crate::app::keymap::Context;
use crate::domain::{AlertId, AlertStatus, FraudAlert};

pub(super) fn detail(state: &AppState, theme: &Theme, opts: &RenderOpts, id: AlertId, cols: usize) -> Dialog {
    let q = &state.alerts;
    let found = q.items.iter().chain(&q.answered).chain(q.undo.as_ref().map(|p| &p.alert)).find(|a| a.id == id);
    let Some(a) = found else {
        let mut lines = paragraph("This alert is no longer in the list.", cols, theme.muted);
        lines.push(Line::default());
        lines.extend(keys(&[("Esc", "close")], cols, theme));
        return (format!("Alert {id}"), lines, theme.border_focused);
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let bank = bank_name(state, &a.bank);
    let at = |t| local(t, opts.utc_offset_secs).format("%a %b %-d, %Y %H:%M").to_string();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(fit(&clean(&super::super::mask::name(state, &a.merchant)), cols.saturating_sub(16)), bold),
            Span::raw("  "),
            Span::styled(a.amount.to_string(), theme.money(a.amount.minor)),
        ]),
        Line::styled(fit(&format!("Charged {}", at(a.posted_at)), cols), theme.muted),
        Line::styled(fit(&format!("{bank} · {}", on_what(a)), cols), Style::new()),
        Line::from(vec![
            Span::styled(severity_label(a.severity), severity_style(a.severity, theme)),
            Span::styled(fit(&format!("  raised {}", at(a.created_at)), cols.saturating_sub(6)), theme.muted),
        ]),
        Line::default(),
    ];
    lines.extend(paragraph(&format!("Why: {}", clean(&a.reason)), cols, Style::new()));
    lines.push(Line::default());
    let km = &state.keymap;
    let key = |action: &str| km.label(Context::AlertDetail, action);
    if a.status == AlertStatus::Open && q.undo.as_ref().is_none_or(|p| p.alert.id != a.id) {
        let answers = [
            (key("it-was-me"), "It was me: the alert closes and the charge stays as it is.".to_string()),
            (key("not-me"), format!("Not me (asks first): {}", not_me_does(state, a))),
        ];
        for (k, what) in answers {
            let rest = cols.saturating_sub(4);
            for (i, chunk) in super::super::text::wrap_text(&what, rest, rest).into_iter().enumerate() {
                let k = if i == 0 { k.as_str() } else { "" };
                lines.push(Line::from(vec![Span::styled(format!("{k:<4}"), theme.key), Span::raw(chunk)]));
            }
        }
        lines.extend(paragraph(
            &format!("An answer can be taken back with {} for 5 seconds.", km.label(Context::Global, "undo")),
            cols,
            theme.muted,
        ));
    } else {
        lines.extend(paragraph(&answered(a, opts), cols, Style::new()));
    }
    lines.push(Line::default());
    lines.extend(keys(&[(key("thread"), "its message in the thread"), ("Esc".to_string(), "close")], cols, theme));
    (format!("Alert {} · {}", a.id, severity_label(a.severity)), lines, theme.alert)
}

/// "Freedom •4821, card •9913", as the sidebar names them.
fn on_what(a: &FraudAlert) -> String {
    match a.card_mask.as_deref() {
        Some(card) if a.account_label.ends_with(card) => format!("{}, its card", clean(&a.account_label)),
        Some(card) => format!("{}, card {}", clean(&a.account_label), clean(card)),
        None => format!("{}, no card on file", clean(&a.account_label)),
    }
}

fn answered(a: &FraudAlert, opts: &RenderOpts) -> String {
    let when = a
        .decided_at
        .map(|t| format!(" on {}", local(t, opts.utc_offset_secs).format("%b %-d, %Y %H:%M")))
        .unwrap_or_default();
    match a.status {
        AlertStatus::Legit => format!("Answered{when}: it was you."),
        AlertStatus::Fraud => format!("Answered{when}: not you — marked as fraud."),
        _ => "Answered: waiting to be sent (it can still be taken back).".to_string(),
    }
}
