//! The OFX tokenizer: tags, text and processing instructions, read from a
//! stream with the line each starts on. Comments and declarations are
//! skipped, character references in text replaced, and text and tags are
//! capped (64 KiB and 4 KiB) so that a file that is not OFX cannot make the
//! reader hold it whole.

use std::io::BufRead;

use crate::import::Problem;

/// Longest text between two tags.
const MAX_TEXT: u64 = 64 * 1024;
/// Longest tag, processing instruction or declaration.
const MAX_TAG: u64 = 4 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Open(String),
    Close(String),
    /// `<TAG/>`
    Empty(String),
    Text(String),
    /// `<?…?>`, without the question marks.
    Pi(String),
}

pub(super) struct Lexer<R> {
    r: R,
    /// The line the reader is on (1-based).
    pub(super) line: u64,
    /// A `<` was read; a tag comes next.
    in_tag: bool,
    buf: Vec<u8>,
}

impl<R: BufRead> Lexer<R> {
    pub(super) fn new(r: R) -> Self {
        Lexer { r, line: 1, in_tag: false, buf: Vec::new() }
    }

    /// Reads up to and including `delim`, at most `max` bytes. True when the
    /// delimiter was found.
    fn read_until(&mut self, delim: u8, max: u64) -> Result<bool, Problem> {
        self.buf.clear();
        let mut limited = std::io::Read::take(&mut self.r, max);
        limited.read_until(delim, &mut self.buf).map_err(Problem::from_io)?;
        self.line += self.buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let found = self.buf.last() == Some(&delim);
        if found {
            self.buf.pop();
        }
        Ok(found)
    }

    pub(super) fn next(&mut self) -> Result<Option<(Tok, u64)>, Problem> {
        loop {
            if !self.in_tag {
                let start = self.line;
                let found = self.read_until(b'<', MAX_TEXT)?;
                if !found && self.buf.len() as u64 >= MAX_TEXT {
                    return Err(Problem::at(
                        start,
                        "a value runs on for more than 64 KiB: this is not an OFX statement",
                    ));
                }
                self.in_tag = found;
                let leading = self.buf.iter().take_while(|b| b.is_ascii_whitespace());
                let text_line = start + leading.filter(|&&b| b == b'\n').count() as u64;
                let text = String::from_utf8_lossy(&self.buf);
                let text = text.trim();
                if !text.is_empty() {
                    return Ok(Some((Tok::Text(unescape(text)), text_line)));
                }
                if !found {
                    return Ok(None);
                }
            }
            self.in_tag = false;
            let line = self.line;
            if !self.read_until(b'>', MAX_TAG)? {
                return Err(if self.buf.len() as u64 >= MAX_TAG {
                    Problem::at(line, "a tag runs on for more than 4 KiB: this is not an OFX statement")
                } else {
                    Problem::at(line, "the file ends inside a tag: it is truncated")
                });
            }
            let body = String::from_utf8_lossy(&self.buf).into_owned();
            if body.starts_with("!--") {
                self.skip_comment(body, line)?;
                continue;
            }
            if body.starts_with('!') {
                continue; // <!DOCTYPE …>
            }
            if let Some(pi) = body.strip_prefix('?') {
                return Ok(Some((Tok::Pi(pi.trim_end_matches('?').trim().to_string()), line)));
            }
            let (close, body) = match body.strip_prefix('/') {
                Some(rest) => (true, rest),
                None => (false, body.as_str()),
            };
            let (empty, body) = match body.strip_suffix('/') {
                Some(rest) => (true, rest),
                None => (false, body),
            };
            let name = body.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b)) {
                let shown = crate::domain::text::clean_line(body, 30);
                return Err(Problem::at(line, format!("<{shown}> is not an OFX tag")));
            }
            let tok = match (close, empty) {
                (true, _) => Tok::Close(name),
                (false, true) => Tok::Empty(name),
                (false, false) => Tok::Open(name),
            };
            return Ok(Some((tok, line)));
        }
    }

    /// Skips the rest of a comment whose first piece (`!--…`, up to the
    /// first `>`) was read.
    fn skip_comment(&mut self, first: String, line: u64) -> Result<(), Problem> {
        if first.len() >= 5 && first.ends_with("--") {
            return Ok(());
        }
        let mut read = first.len() as u64;
        loop {
            if read > MAX_TEXT || !self.read_until(b'>', MAX_TAG)? {
                return Err(Problem::at(line, "a comment is never closed: the file is truncated"));
            }
            read += self.buf.len() as u64 + 1;
            if self.buf.ends_with(b"--") {
                return Ok(());
            }
        }
    }
}

/// Replaces the character references OFX files use.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.get(1..).and_then(|r| r.find(';').filter(|&j| j <= 10)).and_then(|j| {
            let entity = &rest[1..=j];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .map(|h| u32::from_str_radix(h, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((c, j + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                // A bare ampersand, as in "AT&T": kept as written.
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
