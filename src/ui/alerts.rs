//! The fraud alert queue across every shared bank, most severe first.

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::text::{clean, local, pad, pad_left, width};
use super::{RenderOpts, Theme, list_offset, pane_block};
use crate::app::keymap::Context;
use crate::app::{AppState, Pane};
use crate::domain::money::group_thousands;
use crate::domain::{AlertStatus, FraudAlert, Severity, Verdict};

const GAP: usize = 2;

pub(crate) fn render_alerts(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let focused = state.focus == Pane::Alerts;
    let q = &state.alerts;
    let shown = q.shown();
    let g = |n: usize| group_thousands(n as u64);
    let mut title = vec![Span::raw(" Fraud alerts ")];
    if q.show_answered {
        title.push(Span::styled(format!("· answered ({}) ", g(shown.len())), theme.muted));
    } else if q.items.is_empty() {
        title.push(Span::raw("(none open) "));
    } else {
        title.push(Span::styled(format!("({} open) ", g(q.items.len())), theme.alert));
    }
    let mut block = pane_block(Line::from(title), focused, theme);
    if focused && !shown.is_empty() {
        let at = format!(" {} of {} ", g(q.selected.min(shown.len() - 1) + 1), g(shown.len()));
        block = block.title(Line::styled(at, theme.muted).right_aligned());
    }
    if let Some(p) = &q.undo {
        let left = (p.due - state.now).num_seconds().max(0);
        let what = if p.verdict == Verdict::ItWasMe { "it was me" } else { "not me" };
        let key = state.keymap.label(Context::Global, "undo");
        let text = format!(
            " “{what}” for {} at {}: {key} undoes ({left} s) ",
            p.alert.amount.abs(),
            clean(&super::mask::name(state, &p.alert.merchant))
        );
        block = block.title_bottom(Line::styled(text, theme.key).left_aligned());
    }
    frame.render_widget(block, area);
    let inner = area.inner(Margin::new(1, 1));
    if inner.is_empty() {
        return;
    }
    if shown.is_empty() {
        let note = if q.show_answered { "No answered alerts yet" } else { "No open fraud alerts" };
        frame.render_widget(Line::styled(note, theme.muted), inner);
        return;
    }
    let rows: Vec<Row> = shown.iter().map(|a| Row::new(a, state, opts)).collect();
    let widths = Widths::fit(&rows, inner.width.into());
    let items: Vec<ListItem> =
        shown.iter().zip(&rows).map(|(a, r)| ListItem::new(r.line(a.severity, &widths, theme))).collect();
    let offset = list_offset(q.selected, items.len(), inner.height);
    let mut list_state = ListState::default().with_offset(offset).with_selected(focused.then_some(q.selected));
    let list = List::new(items).highlight_style(theme.selected.add_modifier(Modifier::REVERSED));
    frame.render_stateful_widget(list, inner, &mut list_state);
}

pub(crate) fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
    }
}

pub(crate) fn severity_style(s: Severity, theme: &Theme) -> Style {
    match s {
        Severity::High => theme.alert.add_modifier(Modifier::BOLD),
        Severity::Medium => theme.warning,
        Severity::Low => theme.muted,
    }
}

/// An alert's cells as text, cleaned.
struct Row {
    when: String,
    bank: String,
    card: String,
    merchant: String,
    amount: String,
    amount_minor: i64,
    reason: String,
}

impl Row {
    fn new(a: &FraudAlert, state: &AppState, opts: &RenderOpts) -> Self {
        let bank = state.banks.iter().find(|b| b.bank.id == a.bank).map_or(a.bank.as_str(), |b| &b.bank.name);
        Row {
            when: local(a.posted_at, opts.utc_offset_secs).format("%b %d %H:%M").to_string(),
            bank: clean(bank),
            // The account and its card, as the sidebar names them.
            card: match a.card_mask.as_deref() {
                Some(card) if a.account_label.ends_with(card) => format!("{} 💳", clean(&a.account_label)),
                Some(card) => format!("{} 💳{}", clean(&a.account_label), clean(card)),
                None => clean(&a.account_label),
            },
            merchant: clean(&super::mask::name(state, &a.merchant)),
            amount: a.amount.to_string(),
            amount_minor: a.amount.minor,
            reason: match a.status {
                AlertStatus::Open => clean(&a.reason),
                AlertStatus::Legit => format!("it was me · {}", clean(&a.reason)),
                AlertStatus::Fraud => format!("not me · {}", clean(&a.reason)),
            },
        }
    }

    fn line(&self, severity: Severity, w: &Widths, theme: &Theme) -> Line<'static> {
        let mut spans = vec![Span::styled(pad(severity_label(severity), w.severity), severity_style(severity, theme))];
        let gap = || Span::raw(" ".repeat(GAP));
        if w.when > 0 {
            spans.extend([gap(), Span::styled(pad(&self.when, w.when), theme.muted)]);
        }
        spans.extend([gap(), Span::raw(pad(&self.bank, w.bank))]);
        if w.card > 0 {
            spans.extend([gap(), Span::raw(pad(&self.card, w.card))]);
        }
        spans.extend([gap(), Span::raw(pad(&self.merchant, w.merchant))]);
        spans.extend([gap(), Span::styled(pad_left(&self.amount, w.amount), theme.money(self.amount_minor))]);
        if w.reason > 0 {
            spans.extend([gap(), Span::styled(pad(&self.reason, w.reason), theme.muted)]);
        }
        Line::from(spans)
    }
}

/// Column widths; 0 leaves a column out.
struct Widths {
    severity: usize,
    when: usize,
    bank: usize,
    card: usize,
    merchant: usize,
    amount: usize,
    reason: usize,
}

impl Widths {
    /// Fixed columns at their natural width; the merchant and the reason share
    /// what is left. On narrow panes the reason, then the card, then the time go.
    fn fit(rows: &[Row], cols: usize) -> Self {
        let max = |f: fn(&Row) -> &str| rows.iter().map(|r| width(f(r))).max().unwrap_or(0);
        let mut w = Widths {
            severity: 6,
            when: 12,
            bank: max(|r| &r.bank).min(14),
            card: max(|r| &r.card).min(30),
            merchant: 0,
            amount: max(|r| &r.amount),
            reason: 0,
        };
        let merchant = max(|r| &r.merchant);
        let reason = max(|r| &r.reason);
        let fixed = |w: &Widths| {
            let cols = [w.severity, w.when, w.bank, w.card, w.amount];
            cols.iter().filter(|c| **c > 0).map(|c| c + GAP).sum::<usize>() + GAP
        };
        // Merchant and reason need this much each to be worth showing.
        const MIN_TEXT: usize = 12;
        if cols.saturating_sub(fixed(&w)) < 2 * MIN_TEXT {
            w.card = 0;
        }
        if cols.saturating_sub(fixed(&w)) < MIN_TEXT {
            w.when = 0;
        }
        // `fixed` counts the gap before the reason; without a reason the
        // merchant gets it.
        let free = cols.saturating_sub(fixed(&w));
        if free >= 2 * MIN_TEXT && reason > 0 {
            w.merchant = merchant.min((free / 2).max(free.saturating_sub(reason)));
            w.reason = free - w.merchant;
        } else {
            w.merchant = free + GAP;
        }
        w
    }
}
