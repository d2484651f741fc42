//! The passphrase screen of an encrypted store. Shows how many characters
//! are typed, never which.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};

use super::Theme;
use super::text::{clean, wrap_text};
use crate::app::unlock::Unlock;

const WIDTH: u16 = 64;

/// Draws the prompt for the store at `store`.
pub fn render_unlock(frame: &mut Frame, store: &str, unlock: &Unlock, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Clear, area);
    if area.width < 20 || area.height < 7 {
        let note = Paragraph::new("finbox: passphrase? (Esc quits)");
        frame.render_widget(note, area);
        return;
    }
    let width = area.width.min(WIDTH);
    let cols = usize::from(width.saturating_sub(4));
    let mut lines: Vec<Line> = Vec::new();
    for l in wrap_text(&format!("The store {} is encrypted.", clean(store)), cols, cols) {
        lines.push(Line::from(l));
    }
    lines.push(Line::default());
    let dots = "•".repeat(unlock.typed_chars().min(cols.saturating_sub(13)));
    lines.push(Line::from(vec![
        Span::styled("Passphrase: ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(dots),
        Span::styled("▏", theme.key),
    ]));
    lines.push(Line::default());
    match &unlock.error {
        Some(e) => lines.extend(wrap_text(e, cols, cols).into_iter().map(|l| Line::styled(l, theme.flash_error))),
        None => lines.push(Line::default()),
    }
    lines.push(Line::from(vec![
        Span::styled("Enter", theme.key),
        Span::raw(" open  "),
        Span::styled("Ctrl-U", theme.key),
        Span::raw(" clear  "),
        Span::styled("Esc", theme.key),
        Span::raw(" quit"),
    ]));
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - height) / 2, width, height);
    let block =
        Block::bordered().title(" finbox — unlock ").border_style(theme.border_focused).padding(Padding::horizontal(1));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
