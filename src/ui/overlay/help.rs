//! The help: every key, grouped by where it works (navigation, the
//! conversation, the accounts, the alerts, sharing), in two columns when
//! one does not fit.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::Theme;
use super::super::text::{fit, pad, width};
use crate::app::keymap::Group;
use crate::app::{AppState, KEYS};

pub(super) fn help_lines(state: &AppState, theme: &Theme, cols: usize, rows: usize) -> Vec<Line<'static>> {
    // The keys as the user has them (the settings file may move them).
    let labels: Vec<String> = KEYS.iter().map(|k| k.label(&state.keymap)).collect();
    let key_cols = labels.iter().map(|l| width(l)).max().unwrap_or(0).min(11) + 2;
    let head = Style::new().add_modifier(Modifier::BOLD);
    // Each group: its title, then its keys.
    let blocks: Vec<Vec<(String, String, bool)>> = Group::ALL
        .iter()
        .map(|g| {
            let mut block = vec![(g.title().to_string(), String::new(), true)];
            for (k, label) in KEYS.iter().zip(&labels).filter(|(k, _)| k.group == *g) {
                block.push((label.clone(), k.desc.to_string(), false));
            }
            block
        })
        .collect();
    let total: usize = blocks.iter().map(|b| b.len() + 1).sum();
    let col_w = cols.saturating_sub(2) / 2;
    let render = |(key, desc, heading): &(String, String, bool), w: usize| -> Vec<Span<'static>> {
        if *heading {
            return vec![Span::styled(pad(&fit(key, w), w), head)];
        }
        vec![
            Span::styled(pad(&fit(key, key_cols - 1), key_cols), theme.key),
            Span::raw(pad(&fit(desc, w.saturating_sub(key_cols)), w.saturating_sub(key_cols))),
        ]
    };
    let mut lines: Vec<Line> = Vec::new();
    if total < rows || col_w < key_cols + 12 {
        for (i, b) in blocks.iter().enumerate() {
            if i > 0 {
                lines.push(Line::default());
            }
            lines.extend(b.iter().map(|row| Line::from(render(row, cols))));
        }
    } else {
        // Whole groups in each column, the first column as even as can be.
        let mut left: Vec<&(String, String, bool)> = Vec::new();
        let mut right: Vec<&(String, String, bool)> = Vec::new();
        let mut used = 0;
        for b in &blocks {
            let column = if used < total / 2 { &mut left } else { &mut right };
            if !column.is_empty() {
                column.push(&EMPTY);
            }
            column.extend(b.iter());
            used += b.len() + 1;
        }
        for i in 0..left.len().max(right.len()) {
            let mut spans = Vec::new();
            for (j, column) in [&left, &right].into_iter().enumerate() {
                if j > 0 {
                    spans.push(Span::raw("  "));
                }
                match column.get(i) {
                    Some(row) => spans.extend(render(row, col_w)),
                    None => spans.push(Span::raw(" ".repeat(col_w))),
                }
            }
            lines.push(Line::from(spans));
        }
    }
    lines
}

static EMPTY: (String, String, bool) = (String::new(), String::new(), true);
