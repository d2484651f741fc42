//! Statement import: OFX/QFX files (1.x SGML and 2.x XML) and CSV exports
//! read into the same [`FeedEvent`]s a bank feed delivers, so that the store,
//! consent, the fraud rules and the screen treat imported data exactly like
//! a feed's. `finbox import` applies a file in one store transaction; the
//! `import` feed kind (`feed::folder`) imports files dropped into a
//! folder.
//!
//! **Two passes, bounded memory.** A file is never read whole. [`Statement::open`]
//! looks at its first 64 KiB to tell the format, the CSV layout and the bank
//! it names. [`Statement::scan`] then reads it all once, checking every
//! record (an error names the file and line) and summing each account's
//! transactions; [`Scan::events`] reads it again to produce the events:
//! accounts first (an account seen for the first time opens at the
//! statement's ledger balance less the statement's transactions), then the
//! transactions, then the ledger balances. Both passes hash the bytes, so a
//! file that changes in between is refused.
//!
//! **Text.** A file that is all valid UTF-8 is UTF-8; otherwise it is read in
//! the charset its OFX header declares, else as Windows-1252 (Latin-1
//! statements are that in practice).
//!
//! **Identity.** See [`ident`]: accounts are `kind-last4` (the full number is
//! never kept), transactions `account:FITID` or a hash of date, amount,
//! description and occurrence, so importing a file again, or an overlapping
//! one, adds nothing twice.
//!
//! [`FeedEvent`]: crate::domain::event::FeedEvent

mod amount;
mod csv;
mod date;
mod decode;
mod ident;
pub mod infer;
mod layout;
mod ofx;
mod scan;
mod totals;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::domain::event::TxnInfo;
use crate::domain::text::clean_line;
use crate::domain::{AccountKind, Currency, Money};
use decode::{Charset, DecodeFault, DecodeReader, Hashing, LineLimit};
pub use ident::given_account;
pub use layout::{Amounts, Column, CsvLayout, LayoutError, Layouts, Sign};
pub use scan::{AccountSummary, Scan, count};
use totals::Totals;

/// How much of a file is looked at to tell its format, layout and bank.
const HEAD: usize = 64 * 1024;
/// Longest CSV line.
const MAX_CSV_LINE: usize = 1024 * 1024;
/// A file whose transactions are out of date order (bank exports often list
/// the newest first) is delivered sorted when it has at most this many; the
/// fraud rules and the daily balance history want time order. Larger files
/// are delivered in file order.
pub const SORT_MAX: u64 = 100_000;

/// A statement file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OFX or QFX, 1.x (SGML) or 2.x (XML).
    Ofx,
    Csv,
}

impl Format {
    /// By file extension: `.ofx`, `.qfx`, `.qbo` or `.csv`.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match ext.as_str() {
            "ofx" | "qfx" | "qbo" => Some(Format::Ofx),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// By content: OFX starts with its header, an XML declaration or `<OFX>`.
    fn sniff(head: &[u8]) -> Format {
        let text = String::from_utf8_lossy(&head[..head.len().min(1024)]);
        let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        let ofx = ["OFXHEADER", "<?xml", "<?OFX", "<OFX"].iter().any(|p| start.starts_with(p));
        if ofx { Format::Ofx } else { Format::Csv }
    }
}

/// A file that cannot be imported: what, where (file and line) and why.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {error}")]
    Read { file: String, error: io::Error },
    #[error("{file}, line {line}: {problem}")]
    Line { file: String, line: u64, problem: String },
    #[error("{file}: {problem}")]
    File { file: String, problem: String },
    #[error("{file} changed while it was being read: import it again once it is complete")]
    Changed { file: String },
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("the import was stopped")]
    Stopped,
}

impl ImportError {
    /// The line it names, if any: what the log may say of a refusal (it
    /// quotes nothing of the file).
    pub fn line(&self) -> Option<u64> {
        match self {
            ImportError::Line { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// What went wrong inside a file, before the file's name is attached.
#[derive(Debug)]
pub(crate) enum Problem {
    At {
        line: u64,
        what: String,
    },
    Whole(String),
    Io(io::Error),
    /// Not UTF-8 after all: read again in the fallback charset.
    NotUtf8,
    Stopped,
}

impl Problem {
    fn at(line: u64, what: impl Into<String>) -> Problem {
        Problem::At { line, what: what.into() }
    }

    fn from_io(e: io::Error) -> Problem {
        match DecodeFault::of(&e) {
            Some(DecodeFault::NotUtf8 { .. }) => Problem::NotUtf8,
            Some(fault @ DecodeFault::LineTooLong { line, .. }) => Problem::at(*line, fault.to_string()),
            None => Problem::Io(e),
        }
    }
}

/// What a file is read against: the bank's defaults and the user's clock.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bank's currency: for CSV files (unless the layout names one), and
    /// for OFX statements without `<CURDEF>`.
    pub currency: Currency,
    /// The customer's country (ISO 3166 alpha-2), for the foreign-charge rule.
    pub home_country: String,
    /// Dates without a time of day are placed at noon in this zone.
    pub utc_offset_secs: i32,
    /// Transactions dated more than two days after this are refused.
    pub now: DateTime<Utc>,
    /// CSV: the account's last four digits (CSV exports rarely say).
    pub account: Option<String>,
}

/// An account a statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementAccount {
    /// `checking-1234`
    pub external_id: String,
    pub name: String,
    pub kind: AccountKind,
    /// The last four digits.
    pub mask: String,
    pub currency: Currency,
}

/// One transaction as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatementTxn {
    pub info: TxnInfo,
    /// True when the file gave no id and finbox derived one.
    pub derived: bool,
    /// The line it starts on.
    pub line: u64,
}

/// A balance the statement reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatementBalance {
    pub account: String,
    /// `<AVAILBAL>` rather than the ledger balance.
    pub available: bool,
    pub amount: Money,
    pub at: DateTime<Utc>,
}

/// What the parsers find, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    Account(StatementAccount),
    Txn(StatementTxn),
    Balance(StatementBalance),
}

/// A statement file, its format known.
#[derive(Debug, Clone)]
pub struct Statement {
    path: PathBuf,
    /// The path as shown in messages.
    shown: String,
    format: Format,
    layout: Option<CsvLayout>,
    /// The charset the file declares, for when it is not UTF-8.
    fallback: &'static Encoding,
    org: Option<String>,
    /// How the layout was chosen, when the header fits several.
    layout_note: Option<String>,
}

impl Statement {
    /// Opens `path`: tells its format (`format`, else the extension, else the
    /// content), for CSV its layout (`layout` by name, else the one whose
    /// columns its header has), and for OFX the institution it names.
    pub fn open(
        path: &Path,
        format: Option<Format>,
        layouts: &Layouts,
        layout: Option<&str>,
    ) -> Result<Statement, ImportError> {
        Statement::open_as(path, &path.display().to_string(), format, layouts, layout)
    }

    /// [`Statement::open`] of a file that errors and messages call `shown`
    /// (a private copy of the file the user knows by that name).
    pub fn open_as(
        path: &Path,
        shown: &str,
        format: Option<Format>,
        layouts: &Layouts,
        layout: Option<&str>,
    ) -> Result<Statement, ImportError> {
        let shown = clean_line(shown, 200);
        let read_err = |error| ImportError::Read { file: shown.clone(), error };
        let whole = |problem: String| ImportError::File { file: shown.clone(), problem };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if !meta.is_file() {
            return Err(whole("is not a file".into()));
        }
        let mut head = Vec::with_capacity(HEAD.min(meta.len() as usize));
        File::open(path).and_then(|f| f.take(HEAD as u64).read_to_end(&mut head)).map_err(read_err)?;
        let content = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
        if head.len() < HEAD && content.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(whole("the file is empty".into()));
        }
        let format = format.or_else(|| Format::from_extension(path)).unwrap_or_else(|| Format::sniff(&head));
        let fallback = decode::declared(&head).unwrap_or(WINDOWS_1252);
        let mut layout_note = None;
        let (layout, org) = match format {
            Format::Ofx => {
                // A small file is all in its head: an investment statement
                // is told as one before the bank is asked for.
                if head.len() < HEAD
                    && let Some(why) = ofx::investments_only(&head)
                {
                    return Err(whole(why));
                }
                (None, ofx::org(&head))
            }
            Format::Csv => {
                let text = head_text(&head, fallback);
                let chosen = match layout {
                    Some(name) => (
                        layouts.get(name).ok_or_else(|| {
                            whole(format!("there is no CSV layout {name:?} (known: {})", layouts.names()))
                        })?,
                        None,
                    ),
                    None => pick_layout(layouts, &text).map_err(whole)?,
                };
                layout_note = chosen.1;
                (Some(chosen.0.clone()), None)
            }
        };
        Ok(Statement { path: path.to_path_buf(), shown, format, layout, fallback, org, layout_note })
    }

    /// The file's name without its folder, cleaned for display.
    pub fn file_name(&self) -> String {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        clean_line(&name, 80)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn layout(&self) -> Option<&CsvLayout> {
        self.layout.as_ref()
    }

    /// The institution the OFX file names (`<FI><ORG>`).
    pub fn org(&self) -> Option<&str> {
        self.org.as_deref()
    }

    /// Which bank the file is probably from: the OFX `<ORG>` or the CSV
    /// layout's `bank`.
    pub fn bank_hint(&self) -> Option<&str> {
        self.org.as_deref().or_else(|| self.layout.as_ref().and_then(|l| l.bank.as_deref()))
    }

    /// Reads the whole file once, checking every record; nothing is produced
    /// yet. `stop` is asked between records.
    pub fn scan(&self, opts: &Options, stop: &dyn Fn() -> bool) -> Result<Scan, ImportError> {
        let account = self.csv_account(opts)?;
        let mut totals = Totals::default();
        let mut charset = Charset::Utf8;
        let mut result = self.pass(charset, opts, account.as_ref(), stop, &mut |r| totals.add(r));
        if matches!(result, Err(Problem::NotUtf8)) {
            totals = Totals::default();
            charset = Charset::Legacy(self.fallback);
            result = self.pass(charset, opts, account.as_ref(), stop, &mut |r| totals.add(r));
        }
        let pass = result.map_err(|p| self.error(p))?;
        let accounts = totals.accounts.into_iter().map(AccountSummary::from_totals).collect::<Result<_, _>>();
        Ok(Scan {
            statement: self.clone(),
            opts: opts.clone(),
            charset,
            account,
            version: pass.version,
            notes: pass.notes,
            encoding: pass.encoding,
            accounts: accounts.map_err(|p| self.error(p))?,
            transactions: totals.transactions,
            derived_ids: totals.derived,
            repeated: totals.repeated,
            first: totals.first,
            last: totals.last,
            unordered: totals.unordered,
            sha256: pass.sha256,
            size: pass.size,
        })
    }

    /// The account a CSV file is of, from the layout and `opts.account`.
    fn csv_account(&self, opts: &Options) -> Result<Option<StatementAccount>, ImportError> {
        let Some(layout) = &self.layout else { return Ok(None) };
        let whole = |problem: String| ImportError::File { file: self.shown.clone(), problem };
        let Some(number) = opts.account.as_deref() else {
            return Err(whole(
                "which account is this statement of? CSV files do not say: give its last 4 digits \
                 (finbox import --account 1234, or account = \"1234\" in the bank's [import] table)"
                    .into(),
            ));
        };
        let Some((external_id, mask)) = ident::account(layout.account_kind, number) else {
            return Err(whole(format!("account {:?} has no digits; give its last 4 digits", clean_line(number, 20))));
        };
        let name = match layout.account_kind {
            AccountKind::Checking => "Checking",
            AccountKind::Savings => "Savings",
            AccountKind::Credit => "Credit Card",
        };
        let currency = layout.currency.unwrap_or(opts.currency);
        Ok(Some(StatementAccount { external_id, name: name.into(), kind: layout.account_kind, mask, currency }))
    }

    /// One pass over the file in `charset`, passing each record to `on`.
    fn pass(
        &self,
        charset: Charset,
        opts: &Options,
        account: Option<&StatementAccount>,
        stop: &dyn Fn() -> bool,
        on: &mut dyn FnMut(Record) -> Result<(), Problem>,
    ) -> Result<Pass, Problem> {
        let file = File::open(&self.path).map_err(Problem::Io)?;
        let mut decoded = DecodeReader::new(Hashing::new(file), charset);
        let mut guarded = |record: Record| if stop() { Err(Problem::Stopped) } else { on(record) };
        let (version, notes) = match (self.format, &self.layout, account) {
            (Format::Csv, Some(layout), Some(account)) => {
                let mut lines = LineLimit::new(&mut decoded, MAX_CSV_LINE);
                (
                    csv::read(&mut lines, layout, account, opts, &mut guarded)?,
                    self.layout_note.iter().cloned().collect(),
                )
            }
            (Format::Csv, _, _) => return Err(Problem::Whole("a CSV file needs a layout and an account".into())),
            (Format::Ofx, _, _) => {
                let mut buffered = BufReader::with_capacity(64 * 1024, &mut decoded);
                ofx::read(&mut buffered, opts, &mut guarded)?
            }
        };
        // Whatever follows the statement is read too, so the hash covers it.
        io::copy(&mut decoded, &mut io::sink()).map_err(Problem::from_io)?;
        let encoding = decoded.encoding().name();
        let (sha256, size) = decoded.into_inner().finish();
        Ok(Pass { version, notes, encoding, sha256, size })
    }

    fn error(&self, p: Problem) -> ImportError {
        let file = self.shown.clone();
        match p {
            Problem::At { line, what } => ImportError::Line { file, line, problem: what },
            Problem::Whole(problem) => ImportError::File { file, problem },
            Problem::Io(error) => ImportError::Read { file, error },
            // Only a second pass can meet this: the first falls back to Windows-1252.
            Problem::NotUtf8 => ImportError::Changed { file },
            Problem::Stopped => ImportError::Stopped,
        }
    }
}

/// The head of a CSV file as text, for matching its header.
fn head_text(head: &[u8], fallback: &'static Encoding) -> String {
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Cut in the middle of a character at the end of the head: still UTF-8.
        Err(e) => e.error_len().is_none(),
    };
    let (text, _, _) = if utf8 { UTF_8.decode(head) } else { fallback.decode(head) };
    text.into_owned()
}

/// The layout whose columns the header has, and a note when several do.
fn pick_layout<'a>(layouts: &'a Layouts, head: &str) -> Result<(&'a CsvLayout, Option<String>), String> {
    let fits = layouts.matching(head);
    match fits.as_slice() {
        [one] => Ok((one, None)),
        [] => {
            let first = head.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            let dir = layouts.user_dir().map(|d| format!(" in {}", d.display())).unwrap_or_default();
            // One line (an import error holds no control characters), one
            // entry per layout.
            let wanted: Vec<String> = layouts.iter().map(|l| format!("{}: {}", l.name, l.looks_for())).collect();
            Err(format!(
                "no CSV layout fits its first line {:?}; the layouts look for these columns: {}. Choose one with \
                 --profile, or describe this export in a layout of your own{dir} (see the README)",
                clean_line(first, 80),
                wanted.join(" | ")
            ))
        }
        // Several fit (Citi writes its card and bank exports alike; both
        // read debits as money out): the first is taken, and the import
        // says which and how to choose another.
        [first, rest @ ..] => {
            let others: Vec<String> = rest.iter().map(|l| format!("--profile {} ({})", l.name, l.about)).collect();
            Ok((
                first,
                Some(format!(
                    "the header fits several layouts: read as {} ({}); if it is another, import again with {}",
                    first.name,
                    first.about,
                    others.join(" or ")
                )),
            ))
        }
    }
}

struct Pass {
    version: String,
    /// What the file left out and what was taken instead.
    notes: Vec<String>,
    encoding: &'static str,
    sha256: [u8; 32],
    size: u64,
}

/// Every `*.toml` file directly in `dir`, sorted by name; none when the
/// folder does not exist.
pub fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// SHA-256 (hex) and length of a file, read in pieces.
pub fn fingerprint(path: &Path) -> io::Result<(String, u64)> {
    decode::hash_file(path).map(|(h, n)| (ident::hex(&h), n))
}
