//! The top bar: name, totals, open alerts, feed status and the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{clean, local, width};
use super::{RenderOpts, Theme};
use crate::app::AppState;
use crate::domain::event::FeedStatus;
use crate::domain::money::group_thousands;

pub(crate) fn render_header(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let clock = local(state.now, opts.utc_offset_secs).format("%H:%M").to_string();
    let bold = Style::new().add_modifier(Modifier::BOLD);

    // In order of importance, each in its long and short forms: what does
    // not fit is shortened, or left out.
    type Part = (usize, Vec<Vec<Span<'static>>>);
    let mut parts: Vec<Part> = vec![(0, vec![vec![Span::styled("finbox", bold)]])];
    let open = state.open_alerts();
    parts.push((
        2,
        vec![vec![if open > 0 {
            let s = if open == 1 { "" } else { "s" };
            let n = group_thousands(open as u64);
            Span::styled(format!("⚠ {n} open alert{s}"), theme.alert.add_modifier(Modifier::BOLD))
        } else {
            Span::raw("no open alerts")
        }]],
    ));
    if !state.totals.is_empty() {
        let totals: Vec<String> = state.totals.iter().map(ToString::to_string).collect();
        parts.push((1, vec![vec![Span::raw(format!("Total {}", totals.join(" · ")))]]));
    }
    parts.push((3, vec![feed_summary(state, theme, false), feed_summary(state, theme, true)]));
    if let Some(newest) = state.clock_behind() {
        let date = local(newest, opts.utc_offset_secs).format("%b %-d, %Y");
        parts.push((
            3,
            vec![
                vec![Span::styled(format!("⚠ clock behind the store ({date})"), theme.warning)],
                vec![Span::styled("⚠ clock behind".to_string(), theme.warning)],
            ],
        ));
    }
    if state.quarantined > 0 {
        let n = group_thousands(state.quarantined.unsigned_abs());
        parts.push((
            4,
            vec![
                vec![Span::styled(format!("{n} refused (R lists them)"), theme.warning)],
                vec![Span::styled(format!("{n} refused"), theme.warning)],
            ],
        ));
    }

    let room = usize::from(area.width).saturating_sub(width(&clock) + 2);
    let mut used = 0;
    let mut kept: Vec<(usize, &Vec<Span<'static>>)> = Vec::new();
    for (order, forms) in &parts {
        let gap = if kept.is_empty() { 1 } else { 2 };
        let fits = forms.iter().find(|f| used + gap + f.iter().map(|s| width(&s.content)).sum::<usize>() <= room);
        if let Some(form) = fits {
            used += gap + form.iter().map(|s| width(&s.content)).sum::<usize>();
            kept.push((*order, form));
        }
    }
    kept.sort_by_key(|p| p.0);

    let mut spans = vec![Span::raw(" ")];
    for (i, (_, form)) in kept.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.extend(form.iter().cloned());
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.header), area);
    let clock = format!("{clock} ");
    let w = (width(&clock) as u16).min(area.width);
    frame.render_widget(Span::raw(clock), Rect { x: area.right() - w, width: w, ..area });
}

/// "feeds: 2 live", "feeds off", and which banks are restarting (or, short,
/// how many).
fn feed_summary(state: &AppState, theme: &Theme, short: bool) -> Vec<Span<'static>> {
    if !state.feeds_enabled {
        return vec![Span::raw("feeds off")];
    }
    let count = |f: fn(&FeedStatus) -> bool| state.feeds.values().filter(|s| f(s)).count();
    let live = count(|s| matches!(s, FeedStatus::Running));
    let done = count(|s| matches!(s, FeedStatus::Finished));
    let elsewhere = count(|s| matches!(s, FeedStatus::Elsewhere { .. }));
    let restarting = count(|s| matches!(s, FeedStatus::Restarting { .. }));
    let mut text = format!("feeds: {live} live");
    if done > 0 {
        text.push_str(&format!(", {done} done"));
    }
    if elsewhere > 0 {
        text.push_str(&format!(", {elsewhere} in another finbox"));
    }
    let mut spans = vec![Span::raw(text)];
    if short && restarting > 0 {
        spans.push(Span::raw(", "));
        spans.push(Span::styled(format!("{restarting} restarting"), theme.warning));
        return spans;
    }
    for (id, status) in &state.feeds {
        if let FeedStatus::Restarting { .. } = status {
            let name = state.banks.iter().find(|b| &b.bank.id == id).map_or(id.as_str(), |b| b.bank.name.as_str());
            spans.push(Span::raw(", "));
            spans.push(Span::styled(format!("{} restarting", clean(name)), theme.warning));
        }
    }
    spans
}
