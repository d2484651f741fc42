//! The selected bank's conversation: a bottom-anchored chat thread with day
//! separators, wrapped here (not by the widget) so that heights and scrolling
//! are known, and the compose line under it.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::input::input_line;
use super::text::{clean, fit, local, pad, width, wrap_text};
use super::{RenderOpts, Theme, pane_block};
use crate::app::{AppState, Input, Pane};
use crate::domain::{Message, MessageKind, Sender, Sharing};

/// Columns of "HH:MM " before the sender.
const TIME_COLS: usize = 6;

pub(crate) fn render_conversation(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let focused = state.focus == Pane::Conversation;
    let title = match state.bank() {
        Some(b) if b.bank.is_finbox() => " finbox — across your banks ".to_string(),
        Some(b) => {
            let sharing = match b.bank.sharing(state.now) {
                Sharing::Shared { .. } => "shared",
                Sharing::Expired { .. } => "expired",
                Sharing::NotShared => "not shared",
            };
            format!(" {} — {sharing} ", clean(&b.bank.name))
        }
        None => " Conversation ".to_string(),
    };
    let block = pane_block(Line::from(title), focused, theme);
    let inner = area.inner(Margin::new(1, 1));
    if inner.is_empty() {
        frame.render_widget(block, area);
        return;
    }
    let [thread, compose] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    // An expired consent, or one about to end, is said above the thread.
    let banner = renew_banner(state, theme, opts, usize::from(thread.width));
    let banner_rows = (banner.len() as u16).min(thread.height / 2);
    let [banner_area, thread] = Layout::vertical([Constraint::Length(banner_rows), Constraint::Fill(1)]).areas(thread);

    if state.loading {
        frame.render_widget(block, area);
        let y = thread.y + thread.height / 2;
        frame.render_widget(Line::styled("Loading…", theme.muted).centered(), Rect { y, height: 1, ..thread });
        return;
    }
    let Some(bank) = state.bank() else {
        frame.render_widget(block, area);
        frame.render_widget(Paragraph::new(Line::styled("No banks are set up.", theme.muted)), thread);
        return;
    };
    let name = clean(&bank.bank.name);
    let shared = state.is_shared();
    let expired = matches!(state.sharing(), Some(Sharing::Expired { .. }));
    let view = &state.conversation;
    frame.render_widget(Paragraph::new(banner), banner_area);

    if view.messages.is_empty() && view.pending.is_none() {
        let key = state.keymap.label(crate::app::keymap::Context::Global, "consent");
        let note = if bank.bank.is_finbox() {
            "Nothing noticed yet. finbox posts here when a recurring charge goes up, a new subscription starts, \
             the same charge lands on two cards, a refund arrives, checking looks low ahead, or a month ends."
                .to_string()
        } else if shared {
            "No messages yet: the first sync is on its way.".to_string()
        } else if expired {
            format!("Sharing with {name} expired: it delivers nothing more. Press {key} to renew.")
        } else {
            format!(
                "{name} is not shared. Press {key} to share: finbox will receive its balances, transactions and \
                 alerts into this file only."
            )
        };
        let para = Paragraph::new(Line::styled(note, theme.muted)).wrap(Wrap { trim: true });
        frame.render_widget(block, area);
        frame.render_widget(para, thread.inner(Margin::new(1, 1)));
    } else {
        render_thread(frame, area, thread, block, state, theme, opts);
    }
    frame.render_widget(compose_line(state, theme, &name, shared, expired, usize::from(compose.width)), compose);
    if let Input::Compose(e) = &state.input {
        // The terminal's cursor where the typing goes.
        let (_, col) = input_line(Span::raw("> "), e, Style::new(), usize::from(compose.width).saturating_sub(2));
        frame.set_cursor_position((compose.x + (col as u16).min(compose.width.saturating_sub(1)), compose.y));
    }
}

/// The thread's lines that fit `thread`, bottom-anchored, scrolled (or
/// moved to keep the selected message in view), with the pane's frame
/// saying what lies above and below.
fn render_thread(
    frame: &mut Frame,
    area: Rect,
    thread: Rect,
    mut block: Block<'static>,
    state: &AppState,
    theme: &Theme,
    opts: &RenderOpts,
) {
    let view = &state.conversation;
    let focused = state.focus == Pane::Conversation;
    // Only the lines on screen (plus the ones scrolled past) are wrapped,
    // from the newest message back: a long thread costs what a short one does.
    let height = usize::from(thread.height);
    let selected = view.selected_index();
    let (lines, more, marked) =
        tail_lines(state, theme, opts, usize::from(thread.width), height.saturating_add(view.scroll), selected);
    let max_scroll = lines.len().saturating_sub(height);
    // A selected message is kept in view: where it is when that needs
    // no scrolling, else at the bottom edge (its start, if taller).
    let scroll = match marked {
        Some((start, h)) => {
            let below = lines.len() - start - h;
            if below + h <= height {
                0
            } else if h <= height {
                below
            } else {
                below + h - height
            }
        }
        None => view.scroll,
    }
    .min(max_scroll);
    let end = lines.len() - scroll;
    let start = end.saturating_sub(height);
    let mut shown: Vec<Line> = vec![Line::default(); height - (end - start)];
    shown.extend(lines[start..end].iter().cloned());
    if scroll > 0 {
        block = block.title_bottom(Line::styled(format!(" ↓ {scroll} more "), theme.muted).right_aligned());
    }
    if start > 0 || more {
        block = block.title_bottom(Line::styled(" ↑ older ", theme.muted).left_aligned());
    }
    if focused && view.selected_message().is_some_and(|m| m.txn.is_some()) && state.input == Input::Normal {
        let key = state.keymap.label(crate::app::keymap::Context::Global, "submit");
        block = block.title_bottom(Line::styled(format!(" {key}: its transaction "), theme.key).centered());
    }
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(shown), thread);
}

/// "Sharing expired on Nov 18. Press c to renew." or, within the warning
/// window, when it ends; nothing otherwise. Wrapped to `cols`.
fn renew_banner(state: &AppState, theme: &Theme, opts: &RenderOpts, cols: usize) -> Vec<Line<'static>> {
    let Some(bank) = state.bank() else { return Vec::new() };
    let date = |t| local(t, opts.utc_offset_secs).format("%b %-d").to_string();
    let text = match (
        bank.bank.sharing(state.now),
        bank.bank.renew_soon(state.now, crate::domain::when::zone(opts.utc_offset_secs)),
    ) {
        (Sharing::Expired { on }, _) => format!(
            "Sharing expired on {}. Press {} to renew.",
            date(on),
            state.keymap.label(crate::app::keymap::Context::Global, "consent")
        ),
        (Sharing::Shared { until: Some(until) }, Some(days)) => {
            let when = match days {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                n => format!("in {n} days"),
            };
            format!(
                "Sharing ends {when} ({}). Press {}, then {} to renew.",
                date(until),
                state.keymap.label(crate::app::keymap::Context::Global, "consent"),
                state.keymap.label(crate::app::keymap::Context::Sharing, "renew")
            )
        }
        _ => return Vec::new(),
    };
    wrap_text(&text, cols, cols).into_iter().map(|l| Line::styled(l, theme.warning)).collect()
}

fn compose_line(
    state: &AppState,
    theme: &Theme,
    name: &str,
    shared: bool,
    expired: bool,
    cols: usize,
) -> Line<'static> {
    if let Input::Compose(e) = &state.input {
        return input_line(Span::styled("> ", theme.key), e, theme.user_message, cols.saturating_sub(2)).0;
    }
    let key = |a: &str| state.keymap.label(crate::app::keymap::Context::Global, a);
    let hint = if state.bank().is_some_and(|b| b.bank.is_finbox()) {
        "k to pick an insight, Enter to list its transactions".to_string()
    } else if shared {
        format!("{} to write to {name}", key("compose"))
    } else if expired {
        format!("{} to renew {name}", key("consent"))
    } else {
        format!("{} to share {name}", key("consent"))
    };
    Line::styled(fit(&hint, cols), theme.muted)
}

/// The thread's last `need` screen lines, oldest first, wrapped to `cols`
/// from the newest message back; `true` when older lines exist above them.
/// With a `selected` message (its index), lines go back far enough to hold
/// it and `need` more, and its lines are marked: where they start, how many.
fn tail_lines(
    state: &AppState,
    theme: &Theme,
    opts: &RenderOpts,
    cols: usize,
    need: usize,
    selected: Option<usize>,
) -> (Vec<Line<'static>>, bool, Option<(usize, usize)>) {
    let view = &state.conversation;
    let date_of = |at| local(at, opts.utc_offset_secs).date_naive();
    let separator = |date: NaiveDate| {
        let label = fit(&format!("── {} ──", date.format("%a, %b %-d")), cols);
        Line::styled(label, theme.muted).centered()
    };
    // Blocks of lines, newest first; each block starts with its day
    // separator when the day changed since the message before it.
    let mut blocks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut count = 0;
    if let Some(text) = &view.pending {
        let at = local(state.now, opts.utc_offset_secs);
        let style = theme.user_message.add_modifier(Modifier::DIM);
        let sender = Span::styled("you", theme.user_message.add_modifier(Modifier::BOLD));
        let time = at.format("%H:%M").to_string();
        let mut block = block_lines(&time, sender, &format!("{text} …"), style, theme, cols, true);
        if view.messages.last().map(|m| date_of(m.at)) != Some(at.date_naive()) {
            block.insert(0, separator(at.date_naive()));
        }
        count += block.len();
        blocks.push(block);
    }
    let mut more = false;
    // (lines after the selected message's, its height) once it is reached.
    let mut mark: Option<(usize, usize)> = None;
    let mut need = need;
    for (i, m) in view.messages.iter().enumerate().rev() {
        if count >= need && selected.is_none_or(|s| i < s) {
            more = true;
            break;
        }
        let at = local(m.at, opts.utc_offset_secs);
        let mut block = message_lines(state, theme, m, &at.format("%H:%M").to_string(), cols);
        if selected == Some(i) {
            block = block.into_iter().map(|l| l.patch_style(theme.selected)).collect();
            mark = Some((count, block.len()));
            need = need.max(count + block.len() + need);
        }
        let before = i.checked_sub(1).map(|j| date_of(view.messages[j].at));
        if before != Some(at.date_naive()) {
            block.insert(0, separator(at.date_naive()));
        }
        count += block.len();
        blocks.push(block);
    }
    let mut lines: Vec<Line<'static>> = blocks.into_iter().rev().flatten().collect();
    if lines.len() > need {
        lines.drain(..lines.len() - need);
        more = true;
    }
    let marked = mark.and_then(|(after, h)| lines.len().checked_sub(after + h).map(|start| (start, h)));
    (lines, more, marked)
}

fn message_lines(state: &AppState, theme: &Theme, m: &Message, time: &str, cols: usize) -> Vec<Line<'static>> {
    let fraud = m.kind == MessageKind::Fraud;
    let masked;
    let m = if state.masked {
        masked = Message { text: super::mask::names(state, &m.text), ..m.clone() };
        &masked
    } else {
        m
    };
    match m.from {
        Sender::Bank => {
            let bank = state.banks.iter().find(|b| b.bank.id == m.bank);
            let (name, color) = bank.map_or((m.bank.as_str(), ""), |b| (b.bank.name.as_str(), b.bank.color.as_str()));
            let sender = Span::styled(clean(name), theme.bank(color).add_modifier(Modifier::BOLD));
            // The store keeps no key names: the screen adds how to answer an
            // alert that is still open.
            let open = m.alert.is_some_and(|id| state.alerts.items.iter().any(|a| a.id == id));
            let (text, style) = match (fraud, open) {
                (true, true) => {
                    let k = |a: &str| state.keymap.label(crate::app::keymap::Context::Alerts, a);
                    let text = format!(
                        "⚠ {} Answer it in the alert queue ({}): {} it was me, {} not me.",
                        m.text,
                        k("focus-alerts"),
                        k("it-was-me"),
                        k("not-me")
                    );
                    (text, theme.alert)
                }
                (true, false) => (format!("⚠ {}", m.text), theme.alert),
                _ => (m.text.clone(), theme.bank_message),
            };
            block_lines(time, sender, &text, style, theme, cols, false)
        }
        Sender::User => {
            let sender = Span::styled("you", theme.user_message.add_modifier(Modifier::BOLD));
            block_lines(time, sender, &m.text, theme.user_message, theme, cols, true)
        }
        Sender::System => {
            let style = if fraud { theme.alert } else { theme.system_notice };
            let sender = Span::styled("finbox", style.add_modifier(Modifier::BOLD));
            block_lines(time, sender, &m.text, style, theme, cols, false)
        }
    }
}

/// "HH:MM Sender text…" with continuation lines indented under the sender.
/// The user's own messages are the same block pushed to the right edge.
fn block_lines(
    time: &str,
    sender: Span<'static>,
    text: &str,
    style: Style,
    theme: &Theme,
    cols: usize,
    right: bool,
) -> Vec<Line<'static>> {
    // The user's messages keep a left margin so that they read as replies.
    let cols = if right { cols - (cols / 6).min(8) } else { cols };
    let indent = if cols >= TIME_COLS + 12 { TIME_COLS } else { 0 };
    let head = TIME_COLS + width(&sender.content) + 1;
    let rest = cols - indent;
    let mut out: Vec<Vec<Span<'static>>> = Vec::new();
    let mut first = vec![Span::styled(format!("{time} "), theme.muted), sender];
    let chunks = if cols >= head + 8 {
        wrap_text(text, cols - head, rest)
    } else {
        // Too narrow to start the text beside the sender.
        let mut chunks = vec![String::new()];
        chunks.extend(wrap_text(text, rest, rest));
        chunks
    };
    for (i, chunk) in chunks.into_iter().enumerate() {
        if i == 0 {
            if !chunk.is_empty() {
                first.push(Span::raw(" "));
                first.push(Span::styled(chunk, style));
            }
            out.push(std::mem::take(&mut first));
        } else {
            out.push(vec![Span::raw(" ".repeat(indent)), Span::styled(chunk, style)]);
        }
    }
    if !right {
        return out.into_iter().map(Line::from).collect();
    }
    let block_w = out.iter().map(|spans| spans_width(spans)).max().unwrap_or(0);
    out.into_iter()
        .map(|mut spans| {
            let fill = block_w - spans_width(&spans);
            if fill > 0 {
                spans.push(Span::raw(pad("", fill)));
            }
            Line::from(spans).right_aligned()
        })
        .collect()
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}
