//! The privacy mask (`m`): for screen sharing and screenshots, amounts,
//! balances, account and card numbers and merchant names become
//! placeholders of the same width. Merchants are masked where they are
//! drawn (and inside message texts, by name); every figure after a currency
//! sign or a `•` is masked on the finished frame, so nothing drawn
//! anywhere escapes it.

use ratatui::buffer::Buffer;

use crate::app::AppState;
use crate::domain::text::FigureMask;

/// The placeholder for a masked letter of a name.
const NAME: char = '░';

/// `text` with every merchant the screen knows (the listed transactions
/// and alerts) replaced, when the mask is on.
pub(crate) fn names(state: &AppState, text: &str) -> String {
    if !state.masked {
        return text.to_string();
    }
    let mut known: Vec<&str> = state
        .sidebar
        .transactions
        .iter()
        .map(|t| t.merchant.as_str())
        .chain(state.alerts.items.iter().map(|a| a.merchant.as_str()))
        .chain(state.alerts.answered.iter().map(|a| a.merchant.as_str()))
        .filter(|m| m.chars().count() >= 3)
        .collect();
    known.sort_by_key(|m| std::cmp::Reverse(m.len()));
    known.dedup();
    let mut out = text.to_string();
    for m in known {
        if out.contains(m) {
            out = out.replace(m, &placeholder(m));
        }
    }
    out
}

/// A merchant's name as shown under the mask: its width in placeholders.
pub(crate) fn name(state: &AppState, merchant: &str) -> String {
    if state.masked { placeholder(merchant) } else { merchant.to_string() }
}

fn placeholder(s: &str) -> String {
    s.chars().map(|c| if c.is_whitespace() { c } else { NAME }).collect()
}

/// Masks, in place, every figure that follows a currency sign or a `•`
/// (amounts, balances, `•4821`), keeping its width.
pub(crate) fn figures(buf: &mut Buffer) {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut mask = FigureMask::default();
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            // A cell of several characters (a cluster) is never a digit.
            let mut chars = cell.symbol().chars();
            let c = match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => ' ',
            };
            if mask.hides(c) {
                cell.set_symbol("•");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn figures_after_signs_are_masked_and_others_kept() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 1));
        buf.set_string(0, 0, "Nov 19 Shell -$54.20 $12,345.67 •4821 1,204 of 96,026", ratatui::style::Style::new());
        figures(&mut buf);
        let row: String = (0..60).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(row.trim_end(), "Nov 19 Shell -$••.•• $••,•••.•• ••••• 1,204 of 96,026");
    }
}
