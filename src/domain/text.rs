//! Cleaning of untrusted text. Everything a bank delivers (merchant names,
//! messages, account names) passes through here once, at ingestion, so that no
//! control or escape sequence, bidi override or invisible character ever
//! reaches a terminal or the CLI's output.

/// Longest merchant, category or account name kept, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The privacy mask's rule, one character at a time: the digits of every
/// figure after a currency sign or a `•` (amounts, balances, `•4821`) are
/// hidden; separators inside a figure keep it going. The screen applies it
/// to its cells, the command line to its text.
#[derive(Debug, Default)]
pub struct FigureMask {
    in_figure: bool,
}

impl FigureMask {
    /// Whether `c`, the next character of a line, is hidden.
    pub fn hides(&mut self, c: char) -> bool {
        if matches!(c, '$' | '€' | '£' | '¥' | '•') {
            self.in_figure = true;
            return false;
        }
        if self.in_figure && c.is_ascii_digit() {
            return true;
        }
        self.in_figure = self.in_figure && matches!(c, ',' | '.' | '-');
        false
    }
}

/// `text` under the privacy mask: hidden digits as `•`, the same width.
pub fn mask_figures(text: &str) -> String {
    let mut mask = FigureMask::default();
    text.chars()
        .map(|c| {
            if c == '\n' {
                mask = FigureMask::default();
                c
            } else if mask.hides(c) {
                '•'
            } else {
                c
            }
        })
        .collect()
}

/// A name under the privacy mask: `░` for each character but spaces.
pub fn mask_name(text: &str) -> String {
    text.chars().map(|c| if c.is_whitespace() { c } else { '░' }).collect()
}

/// Cleans a single-line field (merchant, account name): line breaks and tabs
/// become spaces, runs of spaces collapse, and the result is capped.
pub fn clean_line(raw: &str, max_chars: usize) -> String {
    cleaned_line(raw, max_chars).into_owned()
}

/// [`clean_line`], borrowing `raw` when it is clean already (most text:
/// printable ASCII, single spaces, within the cap; the long way gives the
/// same result), for text that is only read, as a bound SQL value.
pub fn cleaned_line(raw: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    if is_clean_line(raw, max_chars) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let cleaned = strip(raw, false);
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    std::borrow::Cow::Owned(cap(collapsed, max_chars))
}

fn is_clean_line(raw: &str, max_chars: usize) -> bool {
    let b = raw.as_bytes();
    b.len() <= max_chars
        && b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && b.iter().all(|c| (0x20..0x7f).contains(c))
        && !b.windows(2).any(|w| w == b"  ")
}

/// Cleans multi-line text (a message): keeps line breaks, drops everything
/// else that is not printable, and caps the length.
pub fn clean_text(raw: &str, max_chars: usize) -> String {
    let cleaned = strip(raw, true);
    let lines: Vec<&str> = cleaned.lines().map(str::trim_end).collect();
    cap(lines.join("\n").trim().to_string(), max_chars)
}

fn cap(s: String, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s;
    }
    // A cap of 0 leaves no room even for the ellipsis (found by fuzzing:
    // tests/fixtures/fuzz/text/cap-zero).
    if max_chars == 0 {
        return String::new();
    }
    // Cut between graphemes, so an emoji sequence is kept whole or not at all.
    use unicode_segmentation::UnicodeSegmentation;
    let room = max_chars - 1;
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let n = g.chars().count();
        if used + n > room {
            break;
        }
        out.push_str(g);
        used += n;
    }
    out.push('…');
    out
}

/// True for characters that must never be shown: Unicode's default-ignorable
/// code points (zero-width characters, joiners, bidi marks, overrides and
/// isolates, variation selectors, Hangul fillers, tags, …) and the other
/// format characters that print as nothing or as a box. Two of them, the
/// zero-width joiner and the emoji variation selector, are kept inside an
/// emoji sequence (see [`keep_in_emoji`]); tags inside a flag's.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{061C}'                // Arabic letter mark
        | '\u{0600}'..='\u{0605}'   // Arabic number signs (format)
        | '\u{06DD}' | '\u{070F}' | '\u{08E2}'
        | '\u{115F}' | '\u{1160}'   // Hangul choseong / jungseong fillers
        | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'   // Mongolian selectors, vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space, ZWNJ, ZWJ, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, isolates, deprecated formats
        | '\u{3164}'                // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // BOM / zero-width no-break space
        | '\u{FFA0}'                // halfwidth Hangul filler
        | '\u{FFF0}'..='\u{FFFC}'   // specials: interlinear annotation, object replacement
        | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' // Egyptian hieroglyph format controls
        | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}' // musical symbol format
        | '\u{E0000}'..='\u{E0FFF}' // tags, variation selectors supplement
    )
}

/// A pictograph that starts or joins an emoji sequence.
fn is_emoji(c: char) -> bool {
    matches!(c,
        '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21AA}'
        | '\u{231A}'..='\u{23FF}'
        | '\u{24C2}' | '\u{25AA}'..='\u{25FE}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2934}' | '\u{2935}' | '\u{2B05}'..='\u{2B55}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1FAFF}'
    )
}

/// Whether invisible character `c` is part of the emoji sequence `cluster`
/// (one grapheme): a zero-width joiner or the emoji variation selector
/// beside a pictograph (a family, a rainbow flag, ❤️), a keycap's selector,
/// or the tags of a subdivision flag (🏴 + tags + cancel tag).
fn keep_in_emoji(c: char, cluster: &str) -> bool {
    let emoji = cluster.chars().any(is_emoji);
    match c {
        '\u{200D}' | '\u{FE0F}' => emoji || cluster.ends_with('\u{20E3}'),
        '\u{E0020}'..='\u{E007F}' => cluster.starts_with('\u{1F3F4}') && cluster.ends_with('\u{E007F}'),
        _ => false,
    }
}

/// Drops invisible characters, grapheme by grapheme: those inside an emoji
/// sequence that it needs stay, so a family emoji stays one family.
fn drop_invisible(s: &str) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    if !s.chars().any(is_invisible) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for cluster in s.graphemes(true) {
        out.extend(cluster.chars().filter(|&c| !is_invisible(c) || keep_in_emoji(c, cluster)));
    }
    out
}

fn strip(raw: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI / OSC / DCS / SOS / PM / APC introducers carry sequences too.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' if keep_newlines => out.push('\n'),
            '\r' if keep_newlines => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    drop_invisible(&out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Skips what follows an ESC: a CSI, an OSC/DCS/… string, or one character.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // Two-character sequences (ESC c, ESC 7, ESC ( B …): drop the intermediate
        // bytes and the final one.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in 0x40..=0x7E.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            return;
        }
    }
}

/// OSC and friends: runs until BEL, ST (ESC \) or the C1 ST.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// A TOML error as "line L, column C: message".
pub fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_escape_sequences() {
        assert_eq!(clean_line("\u{1b}[31mRED\u{1b}[0m Store", 80), "RED Store");
        assert_eq!(clean_line("a\u{1b}]0;pwned\u{07}b", 80), "ab");
        assert_eq!(clean_line("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b", 80), "alinkb");
        assert_eq!(clean_line("x\u{9b}2Jy", 80), "xy");
        assert_eq!(clean_line("bell\u{07}\u{08}\u{7f}", 80), "bell");
    }

    #[test]
    fn strips_bidi_and_invisible_characters() {
        assert_eq!(clean_line("pay\u{202E}lapyap\u{202C}", 80), "paylapyap");
        assert_eq!(clean_line("zero\u{200B}width\u{FEFF}", 80), "zerowidth");
        assert_eq!(clean_line("\u{2066}iso\u{2069}", 80), "iso");
        // Tags after "Netflix" printed exactly like Netflix and made
        // another merchant; Hangul fillers, deprecated formats and friends.
        assert_eq!(clean_line("Netflix\u{E0041}\u{E0042}", 80), "Netflix");
        for c in ['\u{3164}', '\u{115F}', '\u{1160}', '\u{206A}', '\u{206F}', '\u{180E}', '\u{034F}', '\u{FFFC}'] {
            assert_eq!(clean_line(&format!("Net{c}flix"), 80), "Netflix", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn emoji_sequences_stay_whole() {
        // A family is one grapheme of three people joined by ZWJ.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(clean_line(&format!("Toys for the {family}"), 80), format!("Toys for the {family}"));
        let heart = "\u{2764}\u{FE0F}";
        assert_eq!(clean_line(&format!("I {heart} NY"), 80), format!("I {heart} NY"));
        let keycap = "1\u{FE0F}\u{20E3}";
        assert_eq!(clean_line(keycap, 80), keycap);
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        assert_eq!(clean_line(scotland, 80), scotland);
        // Outside emoji a joiner or a selector is dropped.
        assert_eq!(clean_line("a\u{200D}b\u{FE0F}c", 80), "abc");
        // A cap cuts between graphemes, not inside a family.
        assert_eq!(clean_line(&format!("ab{family}cd"), 6), "ab…");
    }

    #[test]
    fn lines_collapse_and_messages_keep_breaks() {
        assert_eq!(clean_line("  two\n\tlines  ", 80), "two lines");
        assert_eq!(clean_text("one\r\ntwo\rthree\u{1b}[2K", 80), "one\ntwo\nthree");
        assert_eq!(clean_line("Café — Zürich 東京", 80), "Café — Zürich 東京");
    }

    #[test]
    fn caps_length_with_an_ellipsis() {
        let long = "x".repeat(100);
        let capped = clean_line(&long, 10);
        assert_eq!(capped.chars().count(), 10);
        assert!(capped.ends_with('…'));
    }

    proptest! {
        #[test]
        fn output_never_holds_controls(s in any::<String>()) {
            use unicode_segmentation::UnicodeSegmentation;
            for out in [clean_line(&s, 50), clean_text(&s, 50)] {
                prop_assert!(out.chars().count() <= 50);
                prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'));
                // No invisible character survives outside an emoji sequence.
                for g in out.graphemes(true) {
                    prop_assert!(!g.chars().any(|c| is_invisible(c) && !keep_in_emoji(c, g)), "{:?}", g);
                }
            }
        }

        /// Emoji sequences survive whole, among text and invisible junk.
        #[test]
        fn emoji_sequences_survive_whole(parts in proptest::collection::vec(prop_oneof![
            Just("\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"),
            Just("\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}"),
            Just("\u{2764}\u{FE0F}"),
            Just("\u{1F44D}\u{1F3FD}"),
            Just("Netflix"),
            Just(" "),
            Just("\u{200B}"),
            Just("\u{E0041}"),
            Just("\u{3164}"),
            Just("\u{202E}"),
        ], 0..12)) {
            let emoji = ["\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", "\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}", "\u{2764}\u{FE0F}", "\u{1F44D}\u{1F3FD}"];
            let text: String = parts.concat();
            let out = clean_text(&text, 2000);
            let kept: Vec<&str> = parts.iter().copied().filter(|p| emoji.contains(p)).collect();
            // Each emoji of the input is in the output, in order.
            let mut rest = out.as_str();
            for e in kept {
                let at = rest.find(e);
                prop_assert!(at.is_some(), "{:?} lost from {:?}: {:?}", e, text, out);
                rest = &rest[at.unwrap_or(0) + e.len()..];
            }
        }

        /// The shortcut for text that is already clean gives what the full
        /// cleaning gives (mostly-ASCII input, so both paths are taken).
        #[test]
        fn clean_line_shortcut_agrees(
            s in prop_oneof![3 => "[ a-c~]{0,16}", 1 => "[ a-c~\t\n\u{1b}\u{202e}é]{0,24}"],
            max in 0usize..30,
        ) {
            let slow = cap(strip(&s, false).split_whitespace().collect::<Vec<_>>().join(" "), max);
            prop_assert_eq!(clean_line(&s, max), slow);
        }
    }
}
