//! Reading a statement's bytes as UTF-8 text while they stream, in bounded
//! memory: a file is UTF-8 when it all decodes as UTF-8 (a byte-order mark
//! may also say UTF-16); otherwise it is read in the charset it declares
//! (OFX `CHARSET:` or the XML `encoding`), else as Windows-1252, which is
//! what Latin-1 statements almost always are.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, UTF_8, WINDOWS_1252};
use sha2::{Digest, Sha256};

/// How a file's bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8, refusing malformed input so the reader can fall back.
    Utf8,
    /// A legacy encoding; never fails.
    Legacy(&'static Encoding),
}

/// Why a decoding reader stopped; carried inside an [`io::Error`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeFault {
    #[error("not valid UTF-8 at byte {offset}")]
    NotUtf8 { offset: u64 },
    #[error("line {line} is longer than {max} bytes: this does not look like a statement")]
    LineTooLong { line: u64, max: usize },
}

impl DecodeFault {
    /// The fault inside an I/O error, if it is one of ours.
    pub fn of(e: &io::Error) -> Option<&DecodeFault> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<DecodeFault>())
    }
}

/// The charset a file's head declares: OFX 1.x `CHARSET:1252`, or an XML
/// declaration's `encoding="…"`. UTF-8 declarations say nothing here: a
/// file that is not valid UTF-8 is Windows-1252 whatever it claims.
pub fn declared(head: &[u8]) -> Option<&'static Encoding> {
    let text = String::from_utf8_lossy(&head[..head.len().min(2048)]);
    let label = text.lines().find_map(|l| l.trim().strip_prefix("CHARSET:").map(str::trim)).or_else(|| {
        let start = text.find("encoding=")? + "encoding=".len();
        let rest = text.get(start..)?;
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        rest[1..].split(quote).next()
    })?;
    let encoding = match label.to_ascii_lowercase().as_str() {
        "1252" | "cp1252" => Some(WINDOWS_1252),
        "none" | "" => None,
        other => Encoding::for_label(other.as_bytes()),
    }?;
    (encoding != UTF_8).then_some(encoding)
}

/// Decodes bytes from `inner` to UTF-8. A byte-order mark is removed and, if
/// it is UTF-16's, decides the encoding.
pub struct DecodeReader<R> {
    inner: R,
    decoder: Decoder,
    strict: bool,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    eof: bool,
    out: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    consumed: u64,
    done: bool,
}

const RAW_BUF: usize = 32 * 1024;
const OUT_BUF: usize = 64 * 1024;

impl<R: Read> DecodeReader<R> {
    pub fn new(inner: R, charset: Charset) -> Self {
        let (decoder, strict) = match charset {
            Charset::Utf8 => (UTF_8.new_decoder(), true),
            Charset::Legacy(e) => (e.new_decoder(), false),
        };
        DecodeReader {
            inner,
            decoder,
            strict,
            raw: vec![0; RAW_BUF],
            raw_pos: 0,
            raw_len: 0,
            eof: false,
            out: vec![0; OUT_BUF],
            out_pos: 0,
            out_len: 0,
            consumed: 0,
            done: false,
        }
    }

    /// The encoding in use (after a byte-order mark, if any, was seen).
    pub fn encoding(&self) -> &'static Encoding {
        self.decoder.encoding()
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Decodes the next piece into `out`. False at the end.
    fn refill(&mut self) -> io::Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            if self.raw_pos == self.raw_len && !self.eof {
                let n = loop {
                    match self.inner.read(&mut self.raw) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                self.raw_pos = 0;
                self.raw_len = n;
                self.eof = n == 0;
            }
            let last = self.eof;
            let src = &self.raw[self.raw_pos..self.raw_len];
            let (finished, read, written) = if self.strict {
                let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(src, &mut self.out, last);
                match result {
                    DecoderResult::Malformed(bad, after) => {
                        let offset = (self.consumed + read as u64).saturating_sub(u64::from(bad) + u64::from(after));
                        return Err(io::Error::new(io::ErrorKind::InvalidData, DecodeFault::NotUtf8 { offset }));
                    }
                    DecoderResult::InputEmpty => (last, read, written),
                    DecoderResult::OutputFull => (false, read, written),
                }
            } else {
                let (result, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.out, last);
                (last && result == CoderResult::InputEmpty, read, written)
            };
            self.raw_pos += read;
            self.consumed += read as u64;
            self.out_pos = 0;
            self.out_len = written;
            self.done = finished;
            if written > 0 {
                return Ok(true);
            }
        }
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out_len && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out_len - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Hashes (SHA-256) and counts the bytes read through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing { inner, hasher: Sha256::new(), len: 0 }
    }

    /// The digest and length of everything read so far.
    pub fn finish(self) -> ([u8; 32], u64) {
        (self.hasher.finalize().into(), self.len)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Refuses lines longer than `max` bytes, so that a file without line
/// breaks cannot make a line-oriented reader buffer all of it.
pub struct LineLimit<R> {
    inner: R,
    max: usize,
    run: usize,
    line: u64,
}

impl<R: Read> LineLimit<R> {
    pub fn new(inner: R, max: usize) -> Self {
        LineLimit { inner, max, run: 0, line: 1 }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.run = 0;
                self.line += 1;
            } else {
                self.run += 1;
                if self.run > self.max {
                    let fault = DecodeFault::LineTooLong { line: self.line, max: self.max };
                    return Err(io::Error::new(io::ErrorKind::InvalidData, fault));
                }
            }
        }
        Ok(n)
    }
}

/// SHA-256 and length of a whole file, read in pieces.
pub fn hash_file(path: &std::path::Path) -> io::Result<([u8; 32], u64)> {
    let mut h = Hashing::new(std::fs::File::open(path)?);
    io::copy(&mut h, &mut io::sink())?;
    Ok(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], charset: Charset) -> io::Result<String> {
        let mut s = String::new();
        // A tiny inner read size exercises sequences split across reads.
        let trickle = Trickle(bytes);
        DecodeReader::new(trickle, charset).read_to_string(&mut s)?;
        Ok(s)
    }

    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn utf8_passes_and_loses_its_bom() {
        assert_eq!(decode("\u{feff}Café 東京".as_bytes(), Charset::Utf8).unwrap(), "Café 東京");
    }

    #[test]
    fn malformed_utf8_is_reported_with_its_offset() {
        let err = decode(b"abc\xe9def", Charset::Utf8).unwrap_err();
        assert!(matches!(DecodeFault::of(&err), Some(DecodeFault::NotUtf8 { offset: 3 })), "{err}");
    }

    #[test]
    fn windows_1252_and_latin1_decode() {
        assert_eq!(decode(b"Caf\xe9 \x80 5", Charset::Legacy(WINDOWS_1252)).unwrap(), "Café € 5");
        let utf16 = [0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode(&utf16, Charset::Utf8).unwrap(), "hi");
    }

    #[test]
    fn declared_charsets_are_read_from_the_head() {
        assert_eq!(declared(b"OFXHEADER:100\r\nCHARSET:1252\r\n"), Some(WINDOWS_1252));
        assert_eq!(declared(b"OFXHEADER:100\nCHARSET:ISO-8859-1\n"), Some(WINDOWS_1252));
        assert_eq!(declared(b"OFXHEADER:100\nCHARSET:NONE\n"), None);
        let xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>";
        assert_eq!(declared(xml).map(|e| e.name()), Some("ISO-8859-15"));
        assert_eq!(declared(b"<?xml version='1.0' encoding='utf-8'?>"), None);
    }

    #[test]
    fn long_lines_are_refused() {
        let mut s = String::new();
        let err = LineLimit::new(&b"ok\nxxxxxxxxxx\n"[..], 5).read_to_string(&mut s).unwrap_err();
        assert!(matches!(DecodeFault::of(&err), Some(DecodeFault::LineTooLong { line: 2, .. })), "{err}");
    }
}
