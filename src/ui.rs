//! The screen: a pure function of [`AppState`]. No IO, no SQL, no clock (times
//! come from the state, the UTC offset from [`RenderOpts`]).
//!
//! One [`layout`] function places the panes; [`render`] draws them and
//! [`hit_test`] maps mouse clicks back to panes and rows with the same
//! geometry, so what is clicked is what is drawn.

mod alerts;
mod banks;
mod conversation;
mod footer;
mod header;
mod input;
mod mask;
mod overlay;
mod sidebar;
mod text;
mod theme;
mod unlock;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use crate::app::{AppState, Pane};

pub use theme::{Theme, bank_color};
pub use unlock::render_unlock;

/// Smallest screen the panes are drawn on; below it a note says so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Width of the bank list column: narrow (and focused) below `ROOMY`
/// columns, then on screens at least `WIDE` columns wide.
const LEFT_WIDTH_NARROW: u16 = 14;
const LEFT_WIDTH: u16 = 20;
const LEFT_WIDTH_WIDE: u16 = 22;
/// Sidebar width, on `WIDE` screens, and on `WIDER` ones.
const RIGHT_WIDTH: u16 = 30;
const RIGHT_WIDTH_WIDE: u16 = 48;
const RIGHT_WIDTH_WIDER: u16 = 60;
const ROOMY: u16 = 100;
const WIDE: u16 = 120;
const WIDER: u16 = 170;
/// The conversation keeps at least this many columns on narrow screens.
const MIN_CENTRE: u16 = 28;
/// Narrower than this, the sidebar takes the conversation's place while it
/// has focus instead of getting a column of its own.
const MIN_SIDEBAR: u16 = 26;
/// Alert rows shown while the queue does not have focus.
const ALERT_ROWS: usize = 5;

/// What the renderer needs besides the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOpts {
    /// The user's UTC offset: times are shown in local time. Tests pass 0.
    pub utc_offset_secs: i32,
}

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Areas {
    pub header: Rect,
    pub footer: Rect,
    pub banks: Rect,
    /// Feed status under the bank list (may be empty).
    pub feeds: Rect,
    pub conversation: Rect,
    pub sidebar: Rect,
    pub alerts: Rect,
}

/// Places the panes, or `None` when the screen is smaller than 60×16.
pub(crate) fn layout(area: Rect, state: &AppState) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(area);

    if state.zoom {
        // The focused pane alone, over the whole body.
        let none = Rect::new(body.x, body.y, 0, 0);
        let mut a = Areas { header, footer, banks: none, feeds: none, conversation: none, sidebar: none, alerts: none };
        match state.focus {
            Pane::Banks => a.banks = body,
            Pane::Conversation => a.conversation = body,
            Pane::Sidebar => a.sidebar = body,
            Pane::Alerts => a.alerts = body,
        }
        return Some(a);
    }

    // The queue grows while it has focus and something to show.
    let listed = state.alerts.shown().len();
    let resting = (listed.min(ALERT_ROWS) + 2).max(3) as u16;
    let grows = state.focus == Pane::Alerts && listed > ALERT_ROWS;
    let wanted = if grows { resting.max(body.height * 2 / 5) } else { resting };
    let alerts_height = wanted.min(body.height / 2);
    let [top, alerts] = Layout::vertical([Constraint::Fill(1), Constraint::Length(alerts_height)]).areas(body);

    // Below `ROOMY` columns the bank list is a narrow column (numbers and
    // short names) until it has focus: the conversation gets the room.
    let left_width = if area.width >= WIDE {
        LEFT_WIDTH_WIDE
    } else if area.width >= ROOMY || state.focus == Pane::Banks {
        LEFT_WIDTH
    } else {
        LEFT_WIDTH_NARROW
    };
    let right_width = if area.width >= WIDER {
        RIGHT_WIDTH_WIDER
    } else if area.width >= WIDE {
        RIGHT_WIDTH_WIDE
    } else {
        RIGHT_WIDTH.min(area.width.saturating_sub(left_width + MIN_CENTRE))
    };
    let (left, conversation, sidebar) = if right_width >= MIN_SIDEBAR {
        let [left, centre, right] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1), Constraint::Length(right_width)])
                .areas(top);
        (left, centre, right)
    } else {
        // Too narrow for three columns: the centre shows the accounts while
        // they have focus, the conversation otherwise.
        let [left, centre] = Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(top);
        let hidden = Rect::new(centre.x, centre.y, 0, 0);
        if state.focus == Pane::Sidebar { (left, hidden, centre) } else { (left, centre, hidden) }
    };

    let banks_height = (state.banks.len() as u16).saturating_add(2).max(4).min(left.height);
    let [banks, feeds] = Layout::vertical([Constraint::Length(banks_height), Constraint::Fill(1)]).areas(left);

    Some(Areas { header, footer, banks, feeds, conversation, sidebar, alerts })
}

/// The rows each list pane shows on a screen of size `area` (a page for
/// PgUp/PgDn).
pub fn pages(area: Rect, state: &AppState) -> Option<crate::app::Pages> {
    let a = layout(area, state)?;
    let rows = |r: Rect| usize::from(r.height.saturating_sub(2)).max(1);
    let sidebar = sidebar::layout(sidebar::inner(a.sidebar), state).transactions.height;
    Some(crate::app::Pages {
        conversation: rows(a.conversation).saturating_sub(1).max(1),
        sidebar: usize::from(sidebar).max(1),
        alerts: rows(a.alerts),
    })
}

/// Draws the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let area = frame.area();
    let Some(a) = layout(area, state) else {
        render_too_small(frame, area);
        return;
    };
    header::render_header(frame, a.header, state, theme, opts);
    if !a.banks.is_empty() {
        banks::render_banks(frame, a.banks, state, theme, opts);
        banks::render_feeds(frame, a.feeds, state, theme);
    }
    if !a.conversation.is_empty() {
        conversation::render_conversation(frame, a.conversation, state, theme, opts);
    }
    if !a.sidebar.is_empty() {
        sidebar::render_sidebar(frame, a.sidebar, state, theme, opts);
    }
    if !a.alerts.is_empty() {
        alerts::render_alerts(frame, a.alerts, state, theme, opts);
    }
    footer::render_footer(frame, a.footer, state, theme);
    if let Some(o) = &state.overlay {
        overlay::render_overlay(frame, area, state, theme, opts, o);
    }
    if state.masked {
        mask::figures(frame.buffer_mut());
    }
}

/// Which pane is at (`col`, `row`) of a screen of size `area`, and for the
/// list panes which item (counting from the list's first item, scrolling
/// included). `None` outside the panes, on a too-small screen and while a
/// dialog is open.
pub fn hit_test(area: Rect, state: &AppState, col: u16, row: u16) -> Option<(Pane, Option<usize>)> {
    if state.overlay.is_some() {
        return None;
    }
    let a = layout(area, state)?;
    let at = Position::new(col, row);
    if a.banks.contains(at) {
        let rows = a.banks.inner(Margin::new(1, 1));
        return Some((Pane::Banks, item_at(rows, at, state.selected_bank, state.banks.len())));
    }
    if a.conversation.contains(at) {
        return Some((Pane::Conversation, None));
    }
    if a.sidebar.contains(at) {
        let rows = sidebar::layout(sidebar::inner(a.sidebar), state).transactions;
        let s = &state.sidebar;
        return Some((Pane::Sidebar, item_at(rows, at, s.selected_txn, s.transactions.len())));
    }
    if a.alerts.contains(at) {
        let rows = a.alerts.inner(Margin::new(1, 1));
        let q = &state.alerts;
        return Some((Pane::Alerts, item_at(rows, at, q.selected, q.shown().len())));
    }
    None
}

/// The first item shown in a list of `len` items on `height` rows so that
/// `selected` stays visible. Every list pane scrolls this way, and
/// [`hit_test`] relies on it.
pub(crate) fn list_offset(selected: usize, len: usize, height: u16) -> usize {
    let height = usize::from(height).max(1);
    let selected = selected.min(len.saturating_sub(1));
    selected.saturating_sub(height - 1)
}

fn item_at(rows: Rect, at: Position, selected: usize, len: usize) -> Option<usize> {
    if !rows.contains(at) {
        return None;
    }
    let i = list_offset(selected, len, rows.height) + usize::from(at.y - rows.y);
    (i < len).then_some(i)
}

/// A pane's frame: the focused one has the focused border and a bold title.
pub(crate) fn pane_block<'a>(title: Line<'a>, focused: bool, theme: &Theme) -> Block<'a> {
    let (border, title) =
        if focused { (theme.border_focused, title.patch_style(Modifier::BOLD)) } else { (theme.border, title) };
    Block::bordered().border_style(border).title(title)
}

fn render_too_small(frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let note = format!(
        "Terminal too small — finbox needs at least {MIN_WIDTH}×{MIN_HEIGHT} (now {}×{})",
        area.width, area.height
    );
    let lines: Vec<Line> =
        text::wrap(&note, area.width.into(), area.width.into()).into_iter().map(|l| Line::from(l).centered()).collect();
    let height = (lines.len() as u16).min(area.height);
    let y = area.y + (area.height - height) / 2;
    let rect = Rect::new(area.x, y, area.width, height);
    frame.render_widget(Paragraph::new(lines), rect);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_keep_the_selection_visible() {
        assert_eq!(list_offset(0, 10, 4), 0);
        assert_eq!(list_offset(3, 10, 4), 0);
        assert_eq!(list_offset(4, 10, 4), 1);
        assert_eq!(list_offset(99, 10, 4), 6);
        assert_eq!(list_offset(0, 0, 0), 0);
    }
}
