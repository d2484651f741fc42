//! Aligned plain-text tables for the CLI. Cells are cleaned once more before
//! printing: nothing from a bank can put an escape sequence on stdout.

use unicode_width::UnicodeWidthStr;

use crate::domain::text::{clean_line, mask_figures, mask_name};

/// `--mask`: every table and JSON array printed hides figures and names.
pub(super) static MASK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(super) fn masked() -> bool {
    MASK.load(std::sync::atomic::Ordering::Relaxed)
}

/// The columns whose cells are names (masked whole under `--mask`).
const NAME_COLUMNS: &[&str] = &["MERCHANT"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[(&str, Align)]) -> Self {
        Table { headers: headers.iter().map(|(h, a)| (h.to_string(), *a)).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        let mask = masked();
        let row = cells.into_iter().enumerate().map(|(i, c)| {
            let c = clean_line(&c, 200);
            match self.headers.get(i) {
                Some((h, _)) if mask && NAME_COLUMNS.contains(&h.as_str()) => mask_name(&c),
                _ if mask => mask_figures(&c),
                _ => c,
            }
        });
        let row = row.collect();
        self.rows.push(row);
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut parts = Vec::with_capacity(n);
            for (i, cell) in cells.iter().enumerate() {
                let pad = " ".repeat(widths[i].saturating_sub(cell.width()));
                let last = i + 1 == n;
                parts.push(match self.headers[i].1 {
                    Align::Right => format!("{pad}{cell}"),
                    Align::Left if last => cell.to_string(),
                    Align::Left => format!("{cell}{pad}"),
                });
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(self.headers.iter().map(|(h, _)| h.as_str()).collect(), &mut out);
        for row in &self.rows {
            line(row.iter().map(String::as_str).chain(std::iter::repeat("")).take(n).collect(), &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_and_cleans_cells() {
        let mut t = Table::new(&[("NAME", Align::Left), ("AMOUNT", Align::Right)]);
        t.row(vec!["Café".into(), "$1.00".into()]);
        t.row(vec!["Evil\u{1b}[2JCo".into(), "$1,000.00".into()]);
        assert_eq!(t.render(), "NAME       AMOUNT\nCafé        $1.00\nEvilCo  $1,000.00\n");
    }
}
