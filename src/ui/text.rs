//! Text helpers for widgets: display widths, truncation, word wrap and local
//! times. Everything measures terminal columns, not bytes or chars.

use chrono::{DateTime, FixedOffset, Utc};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::domain::text::{MAX_MESSAGE_CHARS, clean_line};

/// Columns `s` takes on screen.
pub fn width(s: &str) -> usize {
    s.width()
}

/// One line of text safe to put into cells: no control characters, escape
/// sequences or invisible marks, whitespace collapsed.
pub fn clean(s: &str) -> String {
    clean_line(s, MAX_MESSAGE_CHARS)
}

/// `s` cut to at most `max` columns, ending in "…" when something was cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    // Grapheme by grapheme: an emoji sequence is one picture, kept whole or
    // left out, and measured as the terminal shows it.
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = width(g);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push_str(g);
    }
    out.push('…');
    out
}

/// `s` fitted to `cols` columns and padded with spaces on the right.
pub fn pad(s: &str, cols: usize) -> String {
    let s = fit(s, cols);
    let w = width(&s);
    format!("{s}{}", " ".repeat(cols.saturating_sub(w)))
}

/// `s` fitted to `cols` columns and padded with spaces on the left.
pub fn pad_left(s: &str, cols: usize) -> String {
    let s = fit(s, cols);
    let w = width(&s);
    format!("{}{s}", " ".repeat(cols.saturating_sub(w)))
}

/// Greedy word wrap: the first line holds `first` columns, the others `rest`.
/// Words longer than a line are broken; an empty text gives one empty line.
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let (first, rest) = (first.max(1), rest.max(1));
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    let limit = |n: usize| if n == 0 { first } else { rest };
    for word in text.split_whitespace() {
        let ww = width(word);
        let gap = usize::from(!line.is_empty());
        if used + gap + ww <= limit(lines.len()) {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + ww;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        // Break a word that does not fit on a line of its own (between
        // graphemes).
        for g in word.graphemes(true) {
            let cw = width(g);
            if used + cw > limit(lines.len()) && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push_str(g);
            used += cw;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Wraps multi-line text paragraph by paragraph, cleaning each one.
///
/// Lines in columns (a chart's: name, bar, amount) keep their spacing
/// (cleaned as a message is, not collapsed as a name is). When one of them
/// is too wide, each is cut at its last column, the rest on the next line
/// against the right edge, so that bars and amounts still line up.
pub fn wrap_text(text: &str, first: usize, rest: usize) -> Vec<String> {
    let columns = |raw: &str| {
        raw.contains("  ")
            .then(|| crate::domain::text::clean_text(raw, crate::domain::text::MAX_MESSAGE_CHARS))
            .filter(|line| !line.contains('\n') && line.contains("  "))
    };
    let paras: Vec<(&str, Option<String>)> = text.split('\n').map(|raw| (raw, columns(raw))).collect();
    let split = paras.iter().enumerate().any(|(i, (_, c))| {
        let w = if i == 0 { first } else { rest };
        c.as_ref().is_some_and(|line| width(line) > w)
    });
    let mut out: Vec<String> = Vec::new();
    for (raw, cols) in paras {
        let w = if out.is_empty() { first } else { rest };
        if let Some(line) = cols {
            match split.then(|| split_columns(&line, w, rest)).flatten() {
                Some((head, tail)) => {
                    out.push(head.to_string());
                    out.push(pad_left(tail, rest));
                    continue;
                }
                None if width(&line) <= w => {
                    out.push(line);
                    continue;
                }
                None => {}
            }
        }
        out.extend(wrap(&clean(raw), w, rest));
    }
    out
}

/// `line` cut at its last space that leaves a head of at most `first`
/// columns and a tail of at most `rest` (both trimmed); None when no space
/// does.
fn split_columns(line: &str, first: usize, rest: usize) -> Option<(&str, &str)> {
    line.char_indices()
        .rev()
        .filter(|(_, c)| *c == ' ')
        .map(|(i, _)| (line[..i].trim_end(), line[i..].trim()))
        .find(|(head, tail)| !head.is_empty() && !tail.is_empty() && width(head) <= first && width(tail) <= rest)
}

/// A UTC time as the user's wall clock shows it.
pub fn local(t: DateTime<Utc>, utc_offset_secs: i32) -> DateTime<FixedOffset> {
    t.with_timezone(&crate::domain::when::zone(utc_offset_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_by_columns() {
        assert_eq!(fit("Electro-Mart", 8), "Electro…");
        assert_eq!(fit("東京東京", 5), "東京…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abc", 0), "");
        // A family emoji is one picture two columns wide: kept whole or cut.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(width(family), 2);
        assert_eq!(fit(&format!("{family}abc"), 4), format!("{family}a…"));
        assert_eq!(fit(&format!("a{family}bc"), 3), "a…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad_left("ab", 4), "  ab");
    }

    #[test]
    fn wraps_words_and_breaks_long_ones() {
        assert_eq!(wrap("one two three", 7, 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4, 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a bb", 1, 3), vec!["a", "bb"]);
        assert_eq!(wrap("", 5, 5), vec![""]);
        assert_eq!(wrap_text("one\n\ntwo", 10, 10), vec!["one", "", "two"]);
        assert_eq!(wrap("x", 0, 0), vec!["x"]);
    }

    #[test]
    fn a_chart_too_wide_keeps_its_columns() {
        let chart =
            "Total\nHousing     ████████ $10,072.37\nRestaurants ████▍    $5,598.24\nCoffee      ▏        $12.00";
        // Wide enough: as it is.
        assert_eq!(wrap_text(chart, 40, 40)[1], "Housing     ████████ $10,072.37");
        // Narrower: name and bar on one line, the amount under it at the
        // right edge; the bars start in the same column, the amounts end in
        // one, for every line of the chart (one that would fit is cut as
        // the others are).
        assert_eq!(
            wrap_text(chart, 24, 24),
            vec![
                "Total",
                "Housing     ████████",
                "              $10,072.37",
                "Restaurants ████▍",
                "               $5,598.24",
                "Coffee      ▏",
                "                  $12.00",
            ]
        );
        let fits = "Housing     ████████ $10,072.37\nTea         ▏        $1.00";
        assert_eq!(wrap_text(fits, 26, 26)[2..], ["Tea         ▏", "                     $1.00"]);
        assert_eq!(wrap_text("Tea         ▏        $1.00", 26, 26), vec!["Tea         ▏        $1.00"]);
        // Too narrow for the name and bar: words wrap as any text does.
        assert_eq!(wrap_text("Housing     ████████ $10", 6, 6), vec!["Housin", "g", "██████", "██ $10"]);
        // Text without columns wraps as before.
        assert_eq!(wrap_text("one two three", 7, 7), vec!["one two", "three"]);
    }
}
