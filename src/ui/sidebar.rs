//! The sidebar: the bank's accounts, the selected account's balance chart and
//! its recent transactions (or a search's matches).

use chrono::Datelike;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Sparkline};

use super::input::render_input;
use super::text::{clean, fit, local, pad, pad_left, width};
use super::{RenderOpts, Theme, list_offset, pane_block};
use crate::app::{AppState, Input, MATCH_COUNT_MAX, Pane};
use crate::domain::money::group_thousands;
use crate::domain::{Currency, Money};

/// Rows of the balance chart.
const CHART_ROWS: u16 = 4;
/// Inner width from which the running balance gets a column.
const RUNNING_FROM: usize = 40;

/// Where the sidebar's parts go inside its border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SidebarAreas {
    pub accounts: Rect,
    pub chart_label: Rect,
    pub chart: Rect,
    pub heading: Rect,
    pub transactions: Rect,
}

pub(crate) fn inner(area: Rect) -> Rect {
    area.inner(Margin::new(1, 1))
}

/// Accounts on top, then the chart when there is room for it and at least
/// three transaction rows, then the heading and the transactions.
pub(crate) fn layout(inner: Rect, state: &AppState) -> SidebarAreas {
    let s = &state.sidebar;
    let accounts = (s.accounts.len().max(1) as u16).min(inner.height.saturating_sub(4).max(1));
    let has_chart = s.account().is_some();
    let chart_rows = if !has_chart {
        0
    } else if s.history.is_empty() {
        1
    } else {
        // The label, the bars (fewer on a short screen) and the date axis.
        1 + if inner.height >= 26 { CHART_ROWS } else { CHART_ROWS / 2 } + 1
    };
    let chart_rows = if accounts + chart_rows + 1 + 3 <= inner.height { chart_rows } else { 0 };
    let [accounts, chart_label, chart, heading, transactions] = Layout::vertical([
        Constraint::Length(accounts),
        Constraint::Length(chart_rows.min(1)),
        Constraint::Length(chart_rows.saturating_sub(1)),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    SidebarAreas { accounts, chart_label, chart, heading, transactions }
}

pub(crate) fn render_sidebar(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let focused = state.focus == Pane::Sidebar;
    frame.render_widget(pane_block(Line::from(" Accounts "), focused, theme), area);
    let inner = inner(area);
    if inner.is_empty() || state.loading {
        return;
    }
    let a = layout(inner, state);
    render_accounts(frame, a.accounts, state, theme);
    render_chart(frame, a.chart_label, a.chart, state, theme, opts);
    render_heading(frame, a.heading, state, theme);
    render_transactions(frame, a.transactions, state, theme, opts, focused);
}

fn render_accounts(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let s = &state.sidebar;
    if s.accounts.is_empty() {
        let note = if state.bank().is_some_and(|b| b.bank.is_finbox()) {
            "Across every shared bank"
        } else if state.is_shared() {
            "No accounts yet"
        } else {
            "Nothing shared"
        };
        frame.render_widget(Line::styled(note, theme.muted), area);
        return;
    }
    let cols = usize::from(area.width);
    let lines: Vec<Line> = s
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let selected = i == s.selected_account;
            let marker = if selected { "▸ " } else { "  " };
            let balance = a.balance.to_string();
            // The card: 💳 (its last four when they are not the account's),
            // 🔒 when it is frozen. Narrow, the marks shrink before the name.
            let card = a.card.as_ref().map(|c| {
                let icon = if c.frozen { "🔒" } else { "💳" };
                let digits = if c.mask == a.mask { String::new() } else { clean(&c.mask) };
                (icon, digits)
            });
            let forms: Vec<String> = match &card {
                Some((icon, digits)) => vec![
                    format!("{} {icon}{digits}", clean(&a.mask)),
                    format!("{} {icon}", clean(&a.mask)),
                    (*icon).to_string(),
                ],
                None => vec![clean(&a.mask)],
            };
            let left = cols.saturating_sub(2 + width(&balance) + 1);
            let name = clean(&a.name);
            let want = width(&name).min(10);
            let label = forms
                .iter()
                .find(|m| width(m) + 1 + want <= left)
                .map(|m| format!("{} {m}", fit(&name, left - width(m) - 1)))
                .unwrap_or_else(|| fit(&name, left));
            let name_style =
                if selected { theme.bank_message.add_modifier(Modifier::BOLD) } else { theme.bank_message };
            let money = if a.balance.is_negative() { theme.money_negative } else { theme.bank_message };
            Line::from(vec![
                Span::styled(marker, theme.key),
                Span::styled(pad(&label, left), name_style),
                Span::raw(" "),
                Span::styled(balance, money),
            ])
        })
        .collect();
    // Keep the selected account in view when they do not all fit.
    let skip = list_offset(s.selected_account, lines.len(), area.height);
    frame.render_widget(Paragraph::new(lines).scroll((skip as u16, 0)), area);
}

fn render_chart(frame: &mut Frame, label: Rect, chart: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let s = &state.sidebar;
    if label.is_empty() {
        return;
    }
    let currency = s.account().map_or(Currency::USD, |a| a.balance.currency);
    let (Some(&min), Some(&max)) = (s.history.iter().min(), s.history.iter().max()) else {
        frame.render_widget(Line::styled("No balance history yet", theme.muted), label);
        return;
    };
    let days = s.history.len();
    let text = format!("{days} days: {} … {}", Money::new(min, currency), Money::new(max, currency));
    frame.render_widget(Line::styled(fit(&text, label.width.into()), theme.muted), label);
    if chart.is_empty() {
        return;
    }
    let [bars, axis] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(chart);
    if state.masked {
        // The curve's shape tells what the figures would.
        frame.render_widget(Line::styled("(masked)", theme.muted), bars);
        return;
    }
    // Shift so the lowest balance is the baseline, drawn as the lowest bar
    // (not a blank column); a flat history is a flat line.
    let range = max.abs_diff(min);
    let floor = (range / (u64::from(bars.height.max(1)) * 8)).max(1);
    let data: Vec<u64> = resample(&s.history, bars.width.into())
        .into_iter()
        .map(|v| if range == 0 { 1 } else { v.abs_diff(min) + floor })
        .collect();
    let top = if range == 0 { 2 } else { range + floor };
    frame.render_widget(Sparkline::default().data(&data).max(top).style(theme.chart), bars);
    // The date axis: the first day, the middle one and today.
    let today = local(state.now, opts.utc_offset_secs).date_naive();
    let first = today - chrono::Duration::days(days as i64 - 1);
    let mid = first + chrono::Duration::days(days as i64 / 2);
    let cols = usize::from(axis.width);
    let (a, m, z) = (first.format("%b %-d").to_string(), mid.format("%b %-d").to_string(), "today".to_string());
    let mut text = pad(&a, cols);
    if width(&a) + width(&m) + width(&z) + 4 <= cols {
        let at = cols / 2 - width(&m) / 2;
        text = format!("{}{}", pad(&a, at), m);
    }
    let text = format!("{}{}", pad(&text, cols.saturating_sub(width(&z))), z);
    frame.render_widget(Line::styled(fit(&text, cols), theme.muted), axis);
}

/// At most `cols` points: the last value of each of `cols` equal buckets.
fn resample(values: &[i64], cols: usize) -> Vec<i64> {
    if values.len() <= cols || cols == 0 {
        return values.to_vec();
    }
    (1..=cols).map(|i| values[i * values.len() / cols - 1]).collect()
}

fn render_heading(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let bold = theme.bank_message.add_modifier(Modifier::BOLD);
    let s = &state.sidebar;
    let cols = usize::from(area.width);
    let g = |n: usize| group_thousands(n as u64);
    // What sits at the right: a search's count, the register's position;
    // in the longest form that leaves the left part 8 columns.
    let forms: Vec<String> = match (&state.input, &s.search) {
        (Input::Normal, None) if s.insight.is_some() => vec![],
        (Input::Search(_), _) | (_, Some(_)) => {
            let more = if s.total > MATCH_COUNT_MAX { "+" } else { "" };
            let n = s.total.min(MATCH_COUNT_MAX);
            let count = format!("{}{more} {}", g(n), if n == 1 && more.is_empty() { "match" } else { "matches" });
            let scope = if s.search_all { " · all banks" } else { "" };
            vec![format!("{count}{scope}"), count, format!("{}{more}", g(n))]
        }
        _ => s.position().map(|(at, of)| vec![format!("{} of {}", g(at), g(of)), g(at)]).unwrap_or_default(),
    };
    let right = forms.into_iter().find(|r| width(r) + 8 <= cols).unwrap_or_default();
    let room = cols.saturating_sub(width(&right) + usize::from(!right.is_empty()));
    match &state.input {
        Input::Search(e) | Input::Jump(e) => {
            let prefix = if matches!(state.input, Input::Jump(_)) { "Go to date: " } else { "/" };
            let left = Rect { width: room as u16, ..area };
            render_input(frame, left, Span::styled(prefix, theme.key), e, ratatui::style::Style::new());
            render_right(frame, area, &right, theme);
            return;
        }
        _ => {}
    }
    let left = match (&s.search, &s.insight) {
        (Some(search), _) => Line::styled(fit(&format!("Search: {}", clean(search)), room), bold),
        (None, Some((_, title))) => Line::styled(fit(&clean(title), cols), bold),
        (None, None) if s.accounts.is_empty() => return,
        (None, None) => {
            // With authorisations pending, what is available beside it.
            let available =
                s.account().filter(|a| a.pending.minor != 0).map(|a| format!(" · available {}", a.available()));
            let title = if s.offset == 0 { "Recent" } else { "Register" };
            match available {
                Some(text) if width(title) + width(&text) <= room => {
                    Line::from(vec![Span::styled(title, bold), Span::styled(text, theme.muted)])
                }
                _ => Line::styled(title, bold),
            }
        }
    };
    frame.render_widget(left, area);
    render_right(frame, area, &right, theme);
}

fn render_right(frame: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let w = width(text) as u16;
    if w == 0 || w > area.width {
        return;
    }
    frame.render_widget(Line::styled(text.to_string(), theme.muted), Rect { x: area.right() - w, width: w, ..area });
}

fn render_transactions(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    opts: &RenderOpts,
    focused: bool,
) {
    let s = &state.sidebar;
    if area.is_empty() {
        return;
    }
    if s.transactions.is_empty() {
        let note = match &s.search {
            Some(q) => format!("No matches for “{}”", clean(q)),
            None if s.insight.is_some() => "Its transactions are no longer stored".to_string(),
            None if s.accounts.is_empty() => String::new(),
            None => "No transactions yet".to_string(),
        };
        frame.render_widget(Line::styled(fit(&note, area.width.into()), theme.muted), area);
        return;
    }
    let cols = usize::from(area.width);
    let amounts: Vec<String> = s.transactions.iter().map(|t| t.amount.to_string()).collect();
    let running: Vec<Option<String>> =
        (0..s.transactions.len()).map(|i| s.running.get(i).copied().flatten().map(|m| m.to_string())).collect();
    let amount_w = amounts.iter().map(|a| width(a)).max().unwrap_or(0);
    let running_w = running.iter().flatten().map(|r| width(r)).max().unwrap_or(0);
    let dates = row_dates(state, opts);
    let date_w = dates.iter().map(|d| width(d)).max().unwrap_or(0);
    // The running balance where the merchant keeps a readable width.
    let show_running =
        running_w > 0 && cols >= RUNNING_FROM && cols.saturating_sub(date_w + 1 + amount_w + 1 + running_w + 2) >= 14;
    // A search says which account each match is on.
    let accounts: Vec<String> = if s.search.is_some() || s.insight.is_some() {
        s.transactions.iter().map(|t| s.labels.get(&t.account).map(|l| clean(l)).unwrap_or_default()).collect()
    } else {
        Vec::new()
    };
    let fixed = date_w + 1 + amount_w + 1 + if show_running { running_w + 2 } else { 0 };
    // The account takes what the merchant (at least 14 columns) leaves.
    let account_w = accounts.iter().map(|a| width(a)).max().unwrap_or(0).min(cols.saturating_sub(fixed + 15));
    let account_w = if account_w >= 6 { account_w } else { 0 };
    let merchant_w = cols.saturating_sub(fixed + if account_w > 0 { account_w + 1 } else { 0 });

    let items: Vec<ListItem> = s
        .transactions
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // A pending authorisation is dimmed, its amount too.
            let (what, money) = if t.is_pending() {
                (theme.muted, theme.muted)
            } else {
                (ratatui::style::Style::new(), theme.money(t.amount.minor))
            };
            let mut spans = vec![
                Span::styled(format!("{} ", pad(&dates[i], date_w)), theme.muted),
                Span::styled(pad(&clean(&label(state, t)), merchant_w), what),
                Span::raw(" "),
            ];
            if account_w > 0 {
                spans.push(Span::styled(format!("{} ", pad(&fit(&accounts[i], account_w), account_w)), theme.muted));
            }
            spans.push(Span::styled(pad_left(&amounts[i], amount_w), money));
            if show_running {
                let r = running[i].as_deref().unwrap_or("");
                spans.push(Span::styled(format!("  {}", pad_left(r, running_w)), theme.muted));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let offset = list_offset(s.selected_txn, items.len(), area.height);
    let selected = focused.then_some(s.selected_txn);
    let mut list_state = ListState::default().with_offset(offset).with_selected(selected);
    frame.render_stateful_widget(List::new(items).highlight_style(theme.selected), area, &mut list_state);
}

/// A row's label; under the privacy mask, with its merchant hidden.
fn label(state: &AppState, t: &crate::domain::Transaction) -> String {
    if state.masked {
        crate::domain::Transaction { merchant: super::mask::name(state, &t.merchant), ..t.clone() }.label()
    } else {
        t.label()
    }
}

/// Each row's date, with the year where it is not this year's.
fn row_dates(state: &AppState, opts: &RenderOpts) -> Vec<String> {
    let this_year = local(state.now, opts.utc_offset_secs).year();
    state
        .sidebar
        .transactions
        .iter()
        .map(|t| {
            let d = local(t.posted_at, opts.utc_offset_secs);
            if d.year() == this_year { d.format("%b %d").to_string() } else { d.format("%b %d %Y").to_string() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_latest_value() {
        let v: Vec<i64> = (1..=90).collect();
        let r = resample(&v, 30);
        assert_eq!(r.len(), 30);
        assert_eq!(r[0], 3);
        assert_eq!(*r.last().unwrap(), 90);
        assert_eq!(resample(&[1, 2], 30), vec![1, 2]);
    }
}
