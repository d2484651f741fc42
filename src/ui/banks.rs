//! The bank list and, under it, each bank's feed.

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use super::text::{clean, fit, pad, width};
use super::{RenderOpts, Theme, list_offset, pane_block};
use crate::app::{AppState, Pane};
use crate::domain::Sharing;
use crate::domain::event::FeedStatus;

pub(crate) fn render_banks(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let focused = state.focus == Pane::Banks;
    let block = pane_block(Line::from(" Banks "), focused, theme);
    let inner = area.inner(Margin::new(1, 1));
    frame.render_widget(block, area);
    if state.banks.is_empty() {
        if state.loading {
            return;
        }
        frame.render_widget(Paragraph::new(Line::styled("No banks", theme.muted)), inner);
        return;
    }
    let cols = usize::from(inner.width);
    // A narrow column keeps the names: the badges shrink to the alerts (or
    // unread messages), and "off" is the dimmed name alone.
    let compact = cols < 16;
    let items: Vec<ListItem> = state
        .banks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let sharing = b.bank.sharing(state.now);
            let shared = matches!(sharing, Sharing::Shared { .. });
            let key = if i < 9 { format!("{} ", i + 1) } else { "  ".to_string() };
            let right = badges(state, b, compact, theme, opts);
            let right_w: usize = right.iter().map(|s| width(&s.content)).sum();
            let name_w = cols.saturating_sub(width(&key) + 2 + right_w + usize::from(right_w > 0));
            let name_style = if shared { theme.bank_message } else { theme.muted };
            let mut spans = vec![
                Span::styled(key, theme.muted),
                Span::styled("●", if shared { theme.bank(&b.bank.color) } else { theme.muted }),
                Span::raw(" "),
                Span::styled(pad(&clean(&b.bank.name), name_w), name_style),
            ];
            if right_w > 0 {
                spans.push(Span::raw(" "));
                spans.extend(right);
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let offset = list_offset(state.selected_bank, items.len(), inner.height);
    let mut list_state = ListState::default().with_offset(offset).with_selected(Some(state.selected_bank));
    frame.render_stateful_widget(List::new(items).highlight_style(theme.selected), inner, &mut list_state);
}

/// What the bank list says beside a bank's name: expired, off, days left to
/// renew, unread messages, open alerts (in a narrow column, the one that
/// matters most).
fn badges(
    state: &AppState,
    b: &crate::domain::BankSummary,
    compact: bool,
    theme: &Theme,
    opts: &RenderOpts,
) -> Vec<Span<'static>> {
    let sharing = b.bank.sharing(state.now);
    let shared = matches!(sharing, Sharing::Shared { .. });
    let mut right: Vec<Span> = Vec::new();
    if b.bank.is_finbox() {
        // finbox's own thread: its unread insights only.
        if b.unread > 0 {
            right.push(Span::raw(b.unread.min(999).to_string()));
        }
    } else if let Sharing::Expired { .. } = sharing {
        right.push(Span::styled(if compact { "!" } else { "expired" }, theme.warning));
    } else if !shared {
        if !compact {
            right.push(Span::styled("(off)", theme.muted));
        }
    } else if compact {
        if let Some(days) = b.bank.renew_soon(state.now, crate::domain::when::zone(opts.utc_offset_secs)) {
            right.push(Span::styled(format!("↻{days}d"), theme.warning));
        } else if b.open_alerts > 0 {
            right.push(Span::styled(format!("⚠{}", b.open_alerts), theme.alert));
        } else if b.unread > 0 {
            right.push(Span::raw(b.unread.min(99).to_string()));
        }
    } else {
        // Days left, when the grant ends within the warning window.
        if let Some(days) = b.bank.renew_soon(state.now, crate::domain::when::zone(opts.utc_offset_secs)) {
            right.push(Span::styled(format!("↻{days}d"), theme.warning));
        }
        if b.unread > 0 {
            if !right.is_empty() {
                right.push(Span::raw(" "));
            }
            right.push(Span::raw(if b.unread >= crate::domain::UNREAD_CAP {
                "999+".to_string()
            } else {
                b.unread.to_string()
            }));
        }
        if b.open_alerts > 0 {
            if !right.is_empty() {
                right.push(Span::raw(" "));
            }
            right.push(Span::styled(format!("⚠{}", b.open_alerts), theme.alert));
        }
    }
    right
}

/// One row per bank: live, done, restarting, fed by another process (its
/// pid) or off.
pub(crate) fn render_feeds(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    // All banks or none: a partial list would read as "the others are off".
    let budget_line = usize::from(state.simplefin.is_some());
    let rows = if state.feeds_enabled { state.real_banks().len() + budget_line } else { 1 };
    if usize::from(area.height) < rows + 2 || state.real_banks().is_empty() {
        return;
    }
    let inner = area.inner(Margin::new(1, 1));
    frame.render_widget(pane_block(Line::from(" Feeds "), false, theme), area);
    if !state.feeds_enabled {
        let text = if inner.width >= 16 { "off (--no-feeds)" } else { "off" };
        let lines = vec![Line::styled(text, theme.muted)];
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let cols = usize::from(inner.width);
    let mut lines: Vec<Line> = state
        .real_banks()
        .iter()
        .map(|b| {
            let (status, style) = feed_status(state, &b.bank.id, theme);
            let status = fit(&status, cols.saturating_sub(2));
            let name_w = cols.saturating_sub(width(&status) + 1);
            Line::from(vec![
                Span::styled(pad(&clean(&b.bank.name), name_w), theme.muted),
                Span::raw(" "),
                Span::styled(status, style),
            ])
        })
        .collect();
    if let Some(sf) = &state.simplefin {
        let (budget, _) = state.simplefin_budget;
        let left = budget.saturating_sub(sf.used);
        let text = if cols >= 24 {
            format!("SimpleFIN: {left} of {budget} left today")
        } else {
            format!("{left}/{budget} left")
        };
        lines.push(Line::styled(fit(&text, cols), if left == 0 { theme.warning } else { theme.muted }));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A bank's feed, in a word or two: live, done, retrying, fed elsewhere,
/// off; for a bank linked through SimpleFIN, when it last synced (or that
/// its last sync failed).
fn feed_status(state: &AppState, bank: &crate::domain::BankId, theme: &Theme) -> (String, ratatui::style::Style) {
    let link = state.simplefin.as_ref().and_then(|s| s.links.iter().find(|(b, _, _)| b == bank));
    match (state.feeds.get(bank), link) {
        (Some(FeedStatus::Running), Some((_, _, Some(_)))) => ("sync failed".to_string(), theme.warning),
        (Some(FeedStatus::Running), Some((_, Some(at), None))) => {
            (format!("synced {}", at.format("%H:%M")), theme.money_positive)
        }
        (Some(FeedStatus::Running), Some((_, None, None))) => ("first sync".to_string(), theme.money_positive),
        (Some(FeedStatus::Running), None) => ("live".to_string(), theme.money_positive),
        (Some(FeedStatus::Finished), _) => ("done".to_string(), theme.muted),
        (Some(FeedStatus::Restarting { attempt, .. }), _) => (format!("retry {attempt}"), theme.warning),
        // Another finbox process feeds it: its pid says which.
        (Some(FeedStatus::Elsewhere { pid }), _) => (format!("pid {pid}"), theme.muted),
        (Some(FeedStatus::Off) | None, _) => ("off".to_string(), theme.muted),
    }
}
