//! The line being typed, drawn with its cursor: the text scrolls sideways
//! to keep the cursor in view, the cell under the cursor is shown reversed,
//! and the terminal's own cursor is put there.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::app::Editor;

/// `prefix` then the editor's text in `style`, fitted to `area`'s width;
/// puts the terminal cursor on it.
pub(crate) fn render_input(frame: &mut Frame, area: Rect, prefix: Span<'static>, editor: &Editor, style: Style) {
    if area.is_empty() {
        return;
    }
    let room = usize::from(area.width).saturating_sub(prefix.width());
    let (line, cursor_col) = input_line(prefix, editor, style, room);
    frame.render_widget(line, area);
    let x = area.x.saturating_add(cursor_col as u16).min(area.right().saturating_sub(1));
    frame.set_cursor_position(Position::new(x, area.y));
}

/// The line, and the column of the cursor in it.
pub(crate) fn input_line(prefix: Span<'static>, editor: &Editor, style: Style, room: usize) -> (Line<'static>, usize) {
    let chars: Vec<(char, usize)> = editor.value().chars().map(|c| (c, c.width().unwrap_or(0))).collect();
    let cursor = editor.cursor().min(chars.len());
    // From the left edge, or, when the text before the cursor does not fit,
    // from where it does (behind a "…").
    let mut start = 0;
    let before = |from: usize| chars[from..cursor].iter().map(|c| c.1).sum::<usize>();
    if before(0) + 1 > room {
        start = cursor;
        let mut used = 2; // "…" and the cursor cell
        while start > 0 && used + chars[start - 1].1 <= room {
            start -= 1;
            used += chars[start].1;
        }
    }
    let lead = if start > 0 { "…" } else { "" };
    let mut used = lead.chars().count();
    let mut text = String::new();
    let mut cursor_col = prefix.width() + used;
    let mut spans = vec![prefix, Span::styled(lead, style.add_modifier(Modifier::DIM))];
    let mut under = String::from(" ");
    for (i, &(c, w)) in chars.iter().enumerate().skip(start) {
        if i == cursor {
            spans.push(Span::styled(std::mem::take(&mut text), style));
            cursor_col += used - lead.chars().count();
            under = c.to_string();
            used += w;
            continue;
        }
        if used + w + usize::from(i < cursor) > room {
            break;
        }
        text.push(c);
        used += w;
    }
    if cursor >= chars.len() {
        spans.push(Span::styled(std::mem::take(&mut text), style));
        cursor_col += used - lead.chars().count();
        under = " ".into();
        spans.push(Span::styled(under, style.add_modifier(Modifier::REVERSED)));
    } else {
        spans.push(Span::styled(under, style.add_modifier(Modifier::REVERSED)));
        spans.push(Span::styled(text, style));
    }
    (Line::from(spans), cursor_col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, cursor_back: usize, room: usize) -> (String, usize) {
        let mut e = Editor::new(text);
        for _ in 0..cursor_back {
            e.edit(crate::app::Edit::Left);
        }
        let (line, col) = input_line(Span::raw("> "), &e, Style::new(), room);
        (line.spans.iter().map(|s| s.content.as_ref()).collect(), col)
    }

    #[test]
    fn the_cursor_stays_in_view() {
        assert_eq!(shown("hello", 0, 20), ("> hello ".into(), 7));
        assert_eq!(shown("hello", 5, 20), ("> hello".into(), 2));
        assert_eq!(shown("hello world", 3, 20), ("> hello world".into(), 10));
        // Longer than the room: the end, where the cursor is, behind "…".
        let (text, col) = shown("abcdefghijklmnop", 0, 8);
        assert_eq!((text.as_str(), col), ("> …klmnop ", 9));
        // The cursor at the start of a long line: the start is shown.
        let (text, col) = shown("abcdefghijklmnop", 16, 8);
        assert_eq!((text.as_str(), col), ("> abcdefgh", 2));
    }
}
