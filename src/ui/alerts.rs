//! The fraud alert queue across every shared bank, most severe first.

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::text::{clean, local, pad, pad_left, width};
use super::{RenderOpts, Theme, list_offset, pane_block};
use crate::app::{AppState, Pane};
use crate::domain::{FraudAlert, Severity};

const GAP: usize = 2;

pub(crate) fn render_alerts(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let focused = state.focus == Pane::Alerts;
    let q = &state.alerts;
    let title = Line::from(vec![
        Span::raw(" Fraud alerts "),
        if q.items.is_empty() {
            Span::raw("(none open) ")
        } else {
            Span::styled(format!("({} open) ", q.items.len()), theme.alert)
        },
    ]);
    frame.render_widget(pane_block(title, focused, theme), area);
    let inner = area.inner(Margin::new(1, 1));
    if inner.is_empty() {
        return;
    }
    if q.items.is_empty() {
        frame.render_widget(Line::styled("No open fraud alerts", theme.muted), inner);
        return;
    }
    let rows: Vec<Row> = q.items.iter().map(|a| Row::new(a, state, opts)).collect();
    let widths = Widths::fit(&rows, inner.width.into());
    let items: Vec<ListItem> =
        q.items.iter().zip(&rows).map(|(a, r)| ListItem::new(r.line(a.severity, &widths, theme))).collect();
    let offset = list_offset(q.selected, items.len(), inner.height);
    let mut list_state = ListState::default().with_offset(offset).with_selected(focused.then_some(q.selected));
    frame.render_stateful_widget(List::new(items).highlight_style(theme.selected), inner, &mut list_state);
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
            merchant: clean(&a.merchant),
            amount: a.amount.to_string(),
            amount_minor: a.amount.minor,
            reason: clean(&a.reason),
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
