//! Cleaning of untrusted text. Everything a bank delivers (merchant names,
//! messages, account names) passes through here once, at ingestion, so that no
//! control or escape sequence, bidi override or invisible character ever
//! reaches a terminal or the CLI's output.

/// Longest merchant, category or account name kept, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Cleans a single-line field (merchant, account name): line breaks and tabs
/// become spaces, runs of spaces collapse, and the result is capped.
pub fn clean_line(raw: &str, max_chars: usize) -> String {
    // Most text is already clean: printable ASCII, single spaces, within the
    // cap. It is copied as it is (the same result the long way gives).
    if is_clean_line(raw, max_chars) {
        return raw.to_string();
    }
    let cleaned = strip(raw, false);
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    cap(collapsed, max_chars)
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
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// True for characters that must never be shown: bidi overrides and isolates,
/// zero-width characters, and other invisible formatting marks.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{FEFF}'              // BOM / zero-width no-break space
        | '\u{00AD}'              // soft hyphen
        | '\u{061C}'              // Arabic letter mark
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
    )
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
            c if is_invisible(c) => {}
            c => out.push(c),
        }
    }
    out
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
            for out in [clean_line(&s, 50), clean_text(&s, 50)] {
                prop_assert!(out.chars().count() <= 50);
                prop_assert!(!out.chars().any(|c| (c.is_control() && c != '\n') || is_invisible(c)));
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
