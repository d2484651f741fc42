//! The checks behind finbox's fuzz targets, one public function per target.
//!
//! Each takes the fuzzer's bytes, gives them to one of finbox's parsers
//! through the library's public API, and panics when an invariant breaks: a
//! panic inside finbox, an error that does not name its file or could write
//! to the terminal, an amount that is not what the text says, an event
//! stream that does not add up. The fuzz targets (`fuzz/fuzz_targets/*.rs`)
//! call these functions; so does `tests/fuzz_regressions.rs`, which includes
//! this file as a module and runs every input kept under
//! `tests/fixtures/fuzz/<target>/`, so what the fuzzer once found stays fixed
//! under a plain `cargo test`. That is why this file uses only the standard
//! library, finbox and finbox's own dependencies.
//!
//! Statements are read from files (the import API takes a path): each thread
//! writes them to its own scratch folder, in `/dev/shm` when there is one.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use encoding_rs::WINDOWS_1252;
use finbox::config::{ConfigError, Dirs, Overrides, Settings};
use finbox::domain::intent::Intent;
use finbox::domain::text::{clean_line, clean_text};
use finbox::domain::{BankId, Channel, Currency, Money, MoneyError};
use finbox::feed::{BankProfile, FeedEvent, TxnInfo};
use finbox::import::{Amounts, Column, CsvLayout, Format, ImportError, Layouts, Options, Scan, Sign, Statement};

/// A target's checks: they panic when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target, by the name of its folder under `tests/fixtures/fuzz/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("ofx", ofx),
    ("csv", csv),
    ("layout", layout),
    ("date", date),
    ("amount", amount),
    ("money", money),
    ("decode", decode),
    ("profile", profile),
    ("config", config),
    ("text", text),
    ("intent", intent),
];

/// The clock every import is read against (the fixtures are of late 2026).
const NOW: &str = "2026-11-20T15:00:00Z";

/// Zones the date-reading targets try, in seconds east of UTC: the extremes
/// of real zones, New York, India and UTC.
const OFFSETS: [i32; 5] = [-14 * 3600, -5 * 3600, 0, 5 * 3600 + 1800, 14 * 3600];

/// CSV layouts the harness adds to the embedded ones, so that the CSV
/// targets reach every kind of column, sign, delimiter and number format.
const LAYOUTS: &[(&str, &str)] = &[
    (
        // tests/fixtures/import/eu-bank.toml
        "eu-bank",
        "about = \"EU bank: semicolons, DD-MM-YYYY, comma decimals\"\naccount_kind = \"checking\"\n\
         delimiter = \";\"\ndate_format = \"%d-%m-%Y\"\ndecimal = \",\"\ncurrency = \"EUR\"\n\
         [columns]\ndate = \"Datum\"\ndescription = \"Omschrijving\"\namount = \"Bedrag\"\n",
    ),
    (
        "fz-split",
        "about = \"fuzz: tabs, debit and credit, ids, balances, grouping by spaces\"\naccount_kind = \"savings\"\n\
         delimiter = \"tab\"\ndate_format = \"%d.%m.%Y\"\ndecimal = \",\"\nthousands = \" \"\n\
         [columns]\ndate = \"Booked\"\ndescription = \"Text\"\ndebit = \"Out\"\ncredit = \"In\"\nid = \"Ref\"\n\
         balance = \"Saldo\"\ncategory = \"Kind\"\n",
    ),
    (
        "fz-card",
        "about = \"fuzz: pipes, a line before the header, charges positive, yen, times of day\"\n\
         account_kind = \"credit\"\ndelimiter = \"|\"\nskip_lines = 1\ndate_format = \"%Y-%m-%d %H:%M\"\n\
         sign = \"positive-is-out\"\ncurrency = \"JPY\"\n\
         [columns]\ndate = \"When\"\ndescription = \"Merchant\"\namount = \"Charge\"\ncategory = \"Kind\"\n",
    ),
    (
        "fz-nohead",
        "about = \"fuzz: no header, columns by number, three-decimal dinars, no grouping\"\n\
         account_kind = \"checking\"\nheader = false\ndate_format = \"%Y-%m-%d\"\nthousands = \"\"\n\
         currency = \"KWD\"\n[columns]\ndate = 1\ndescription = 2\namount = 3\n",
    ),
];

/// Date formats the date target reads text with (as CSV layouts would).
const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d %b %Y",
    "%Y%m%d",
    "%m/%d/%y %I:%M %p",
    "%e %B %Y",
];

// ---------------------------------------------------------------------------
// Scratch space

static NEXT_SCRATCH: AtomicU64 = AtomicU64::new(0);

/// A thread's scratch folder and what it prepared once.
struct Scratch {
    dir: PathBuf,
    /// The embedded layouts and [`LAYOUTS`].
    layouts: Layouts,
    /// One layout per [`DATE_FORMATS`] entry.
    date_layouts: Vec<CsvLayout>,
}

thread_local! {
    static SCRATCH: Scratch = Scratch::new();
}

impl Scratch {
    fn new() -> Scratch {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let n = NEXT_SCRATCH.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("finbox-fuzz-{}-{n}", std::process::id()));
        let layout_dir = dir.join("layouts");
        std::fs::create_dir_all(&layout_dir).expect("create the scratch folder");
        for (name, text) in LAYOUTS {
            std::fs::write(layout_dir.join(format!("{name}.toml")), text).expect("write a layout");
        }
        let layouts = Layouts::load(Some(&layout_dir)).expect("the harness's layouts are valid");
        let date_layouts = DATE_FORMATS
            .iter()
            .map(|f| {
                let text = format!(
                    "about = \"d\"\naccount_kind = \"checking\"\ndate_format = {f:?}\n\
                     [columns]\ndate = \"D\"\ndescription = \"X\"\namount = \"A\"\n"
                );
                CsvLayout::parse("d", &text, "d.toml").expect("the harness's date formats are valid")
            })
            .collect();
        Scratch { dir, layouts, date_layouts }
    }

    /// Writes `bytes` to `name` in the scratch folder.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a scratch folder");
        }
        std::fs::write(&path, bytes).expect("write a scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn with_scratch<T>(f: impl FnOnce(&Scratch) -> T) -> T {
    SCRATCH.with(f)
}

// ---------------------------------------------------------------------------
// Shared checks

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).expect("NOW is a date").to_utc()
}

fn currency(code: &str) -> Currency {
    Currency::new(code).expect("a known currency")
}

fn options(currency: Currency, utc_offset_secs: i32) -> Options {
    Options { currency, home_country: "US".into(), utc_offset_secs, now: now(), account: Some("1234".into()) }
}

/// Characters that must never reach a terminal: controls (C0, DEL and C1, so
/// ESC and CSI too), bidi marks, embeddings, overrides and isolates, and
/// zero-width or otherwise invisible formatting characters.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn assert_clean(s: &str, what: &str) {
    if let Some(c) = s.chars().find(|&c| is_unsafe(c)) {
        panic!("{what} holds {c:?}: {s:?}");
    }
}

/// An import error names its file and holds nothing a terminal would act on.
fn check_error(message: &str, file: &str) {
    assert!(message.contains(file), "an import error does not name the file {file}: {message:?}");
    assert_clean(message, "an import error");
}

/// A statement read to the end: its scan and every event, in order.
#[derive(Debug)]
struct Imported {
    scan: Scan,
    events: Vec<FeedEvent>,
}

/// Opens, scans and reads a statement the way `finbox import` does, the
/// format told by the file's extension.
fn import(path: &Path, layouts: &Layouts, layout: Option<&str>, opts: &Options) -> Result<Imported, String> {
    let statement = Statement::open(path, None, layouts, layout).map_err(|e| e.to_string())?;
    let scan = statement.scan(opts, &|| false).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    scan.events(&|| false, |e| {
        events.push(e);
        Ok::<(), ImportError>(())
    })
    .map_err(|e| e.to_string())?;
    Ok(Imported { scan, events })
}

/// The same file reads the same: what makes a second import add nothing.
fn assert_same(a: &Result<Imported, String>, b: &Result<Imported, String>) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.events, b.events, "a statement read twice gave different events");
            assert_eq!(a.scan.sha256(), b.scan.sha256());
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "a statement read twice failed differently"),
        (a, b) => panic!("a statement read twice: {:?} then {:?}", a.as_ref().err(), b.as_ref().err()),
    }
}

/// What every imported statement must satisfy: accounts first and as
/// summarised, then the transactions in date order, each in its account's
/// currency, with sound ids, dates in range and sums that add up, then one
/// ledger balance per account that has one.
fn check_statement(imp: &Imported, opts: &Options) {
    let scan = &imp.scan;
    assert_clean(&scan.version, "the statement's version");
    let n = scan.accounts.len();
    assert!(imp.events.len() >= n, "fewer events than accounts");
    let (accounts, rest) = imp.events.split_at(n);
    for (event, summary) in accounts.iter().zip(&scan.accounts) {
        assert_eq!(event, &FeedEvent::Account(summary.info()), "accounts come first, as summarised");
    }
    let mut currency_of: HashMap<&str, Currency> = HashMap::new();
    for a in &scan.accounts {
        let acct = &a.account;
        let c = acct.currency;
        assert!(currency_of.insert(&acct.external_id, c).is_none(), "account {} twice", acct.external_id);
        assert!(
            (1..=4).contains(&acct.mask.len()) && acct.mask.bytes().all(|b| b.is_ascii_digit()),
            "mask {:?}",
            acct.mask
        );
        // An investment statement's cash is `brokerage-1234`, apart from a
        // bank's `checking-1234`.
        let kind = if acct.name == "Brokerage Cash" { "brokerage".to_string() } else { acct.kind.to_string() };
        let base = format!("{kind}-{}", acct.mask);
        assert!(
            acct.external_id == base
                || acct.external_id.strip_prefix(&format!("{base}-")).is_some_and(|h| h.len() == 4),
            "account id {:?} is not {base}[-hash]",
            acct.external_id
        );
        assert_eq!(a.sum.currency, c);
        assert_eq!(a.opening.currency, c);
        match a.ledger {
            Some((ledger, _)) => {
                assert_eq!(ledger.currency, c, "a ledger balance in another currency");
                assert_eq!(a.opening.minor.checked_add(a.sum.minor), Some(ledger.minor), "opening + sum != ledger");
            }
            None => assert_eq!(a.opening.minor, 0, "an opening balance without a ledger balance"),
        }
        if let Some((available, _)) = a.available {
            assert_eq!(available.currency, c, "an available balance in another currency");
        }
    }

    let txns: Vec<&TxnInfo> = rest
        .iter()
        .map_while(|e| match e {
            FeedEvent::Transaction(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(txns.len() as u64, scan.transactions, "transactions delivered != transactions scanned");
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date").and_time(NaiveTime::MIN).and_utc();
    let latest = opts.now + TimeDelta::days(2);
    // Per account: count, sum, first and last posting.
    type Totals = (u64, i64, DateTime<Utc>, DateTime<Utc>);
    let mut totals: HashMap<&str, Totals> = HashMap::new();
    let mut derived = HashSet::new();
    let mut previous: Option<DateTime<Utc>> = None;
    for t in &txns {
        let c = *currency_of.get(t.account.as_str()).unwrap_or_else(|| panic!("a transaction of no account: {t:?}"));
        // Integer minor units of the account's currency: the amount has that currency's decimals.
        assert_eq!(t.amount.currency, c, "a transaction in another currency than its account's");
        assert!(earliest <= t.posted_at && t.posted_at <= latest, "posted {} is out of range", t.posted_at);
        assert!(previous.is_none_or(|p| p <= t.posted_at), "transactions are not delivered in date order");
        previous = Some(t.posted_at);
        let id = t
            .external_id
            .strip_prefix(&format!("{}:", t.account))
            .unwrap_or_else(|| panic!("transaction id {:?} is not scoped to its account", t.external_id));
        assert!(!id.is_empty() && id.len() <= 96, "transaction id {:?}", t.external_id);
        assert!(id.bytes().all(|b| b.is_ascii_graphic() || b == b' ') && id.trim() == id, "id {id:?}");
        if let Some(hash) = id.strip_prefix('~')
            && hash.len() == 16
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
        {
            assert!(derived.insert(t.external_id.clone()), "derived id {} given twice", t.external_id);
        }
        assert!(!t.merchant.trim().is_empty(), "a transaction without a merchant");
        assert!(!t.category.trim().is_empty(), "a transaction without a category");
        assert!(t.country.len() == 2 && t.country.bytes().all(|b| b.is_ascii_uppercase()), "country {:?}", t.country);
        assert!(t.channel != Channel::Deposit || t.amount.minor >= 0, "a deposit that takes money out: {t:?}");
        let entry = totals.entry(&t.account).or_insert((0, 0, t.posted_at, t.posted_at));
        entry.0 += 1;
        entry.1 = entry.1.checked_add(t.amount.minor).expect("the scan refuses sums that overflow");
        entry.2 = entry.2.min(t.posted_at);
        entry.3 = entry.3.max(t.posted_at);
    }
    assert!(scan.derived_ids as usize <= derived.len(), "fewer derived ids than the scan counted");
    for a in &scan.accounts {
        let (count, sum, first, last) = totals.get(a.account.external_id.as_str()).copied().unwrap_or_default();
        assert_eq!(a.transactions, count, "transaction count of {}", a.account.external_id);
        assert_eq!(a.sum.minor, sum, "sum of {}", a.account.external_id);
        if count > 0 {
            assert_eq!((a.first, a.last), (Some(first), Some(last)), "span of {}", a.account.external_id);
        }
    }
    assert_eq!(scan.first, txns.iter().map(|t| t.posted_at).min());
    assert_eq!(scan.last, txns.iter().map(|t| t.posted_at).max());

    let balances = &rest[txns.len()..];
    let expected: Vec<FeedEvent> = scan
        .accounts
        .iter()
        .filter_map(|a| {
            a.ledger.map(|(balance, at)| FeedEvent::Balance { account: a.account.external_id.clone(), at, balance })
        })
        .collect();
    assert_eq!(balances, expected.as_slice(), "the events end with each account's ledger balance");
}

/// An amount the text stands for, read digit by digit: ASCII digits before
/// the first `decimal` mark are the whole part, those after it the fraction;
/// every other character (grouping, signs, symbols, spaces) is ignored. `None`
/// when the fraction has more significant digits than `exponent` allows, or
/// there are too many digits to count.
fn magnitude(text: &str, decimal: char, exponent: u32) -> Option<i128> {
    let (whole, frac) = text.split_once(decimal).unwrap_or((text, ""));
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (whole, frac) = (digits(whole), digits(frac));
    let significant = frac.trim_end_matches('0');
    if significant.len() > exponent as usize || whole.trim_start_matches('0').len() > 30 {
        return None;
    }
    let mut value: i128 = 0;
    for b in whole.trim_start_matches('0').bytes() {
        value = value * 10 + i128::from(b - b'0');
    }
    let mut scale = 1i128;
    for _ in 0..exponent {
        scale *= 10;
    }
    let mut fraction: i128 = 0;
    let mut place = scale;
    for b in significant.bytes() {
        place /= 10;
        fraction += i128::from(b - b'0') * place;
    }
    Some(value * scale + fraction)
}

/// How many ways the text says "negative": minus signs (ASCII and U+2212)
/// and accounting parentheses around the whole.
fn sign_marks(text: &str) -> usize {
    let t = text.trim();
    let parens = usize::from(t.starts_with('(') && t.ends_with(')') && t.len() >= 2);
    t.chars().filter(|&c| c == '-' || c == '\u{2212}').count() + parens
}

/// A CSV field, quoted.
fn quoted(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

// ---------------------------------------------------------------------------
// Targets

/// OFX/QFX statements (1.x SGML and 2.x XML): the whole file is the input.
/// Read in dollars in UTC and in yen 14 hours east (so an amount with cents
/// and no `<CURDEF>` must be refused), and twice alike.
pub fn ofx(data: &[u8]) {
    with_scratch(|s| {
        let path = s.write("in.ofx", data);
        // Without NULs, so that UTF-16 files are searched too.
        let bytes: Vec<u8> = data.iter().copied().filter(|&b| b != 0).collect();
        // Without <CURDEF>, a transaction's <CURSYM> gives the currency.
        let declares_currency =
            bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"CURDEF") || w.eq_ignore_ascii_case(b"CURSYM"));
        let mut results = Vec::new();
        for opts in [options(Currency::USD, 0), options(currency("JPY"), 14 * 3600)] {
            let result = import(&path, &s.layouts, None, &opts);
            match &result {
                Ok(imp) => {
                    check_statement(imp, &opts);
                    assert_eq!(imp.scan.statement().format(), Format::Ofx);
                    assert!(imp.scan.version.starts_with("OFX"), "version {:?}", imp.scan.version);
                    if !declares_currency {
                        for a in &imp.scan.accounts {
                            assert_eq!(a.account.currency, opts.currency, "a currency the file does not declare");
                        }
                    }
                }
                Err(e) => check_error(e, "in.ofx"),
            }
            results.push(result);
        }
        assert_same(&results[0], &import(&path, &s.layouts, None, &options(Currency::USD, 0)));
    })
}

/// CSV statements: the whole file is the input. The layout is the one whose
/// columns the header names (the embedded ones and the harness's); a file no
/// layout fits is read without a header (date, description, amount by
/// position). The zone depends on the input's length.
pub fn csv(data: &[u8]) {
    with_scratch(|s| {
        let path = s.write("in.csv", data);
        let opts = options(Currency::USD, OFFSETS[data.len() % OFFSETS.len()]);
        let layout = match Statement::open(&path, None, &s.layouts, None) {
            Ok(_) => None,
            Err(e) => {
                check_error(&e.to_string(), "in.csv");
                Some("fz-nohead")
            }
        };
        let result = import(&path, &s.layouts, layout, &opts);
        match &result {
            Ok(imp) => {
                check_statement(imp, &opts);
                let layout = imp.scan.statement().layout().expect("a CSV statement has a layout");
                let [a] = imp.scan.accounts.as_slice() else { panic!("a CSV statement of several accounts") };
                assert_eq!(a.account.external_id, format!("{}-1234", layout.account_kind));
                assert_eq!(a.account.currency, layout.currency.unwrap_or(opts.currency));
            }
            Err(e) => check_error(e, "in.csv"),
        }
        assert_same(&result, &import(&path, &s.layouts, layout, &opts));
    })
}

/// CSV layout TOML: the input is a layout file. One that is accepted must
/// be sound, and must read a CSV file written the way it describes.
pub fn layout(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let layout = match CsvLayout::parse("fz", text, "fz.toml") {
        Ok(l) => l,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("CSV layout fz.toml: "), "{message}");
            return;
        }
    };
    assert_eq!((layout.name.as_str(), layout.source.as_str()), ("fz", "fz.toml"));
    let d = layout.delimiter;
    assert!(d == b'\t' || (d.is_ascii() && !d.is_ascii_alphanumeric() && d != b'"'), "delimiter {d:?}");
    assert!(layout.skip_lines <= 1000);
    let number = layout.number;
    assert!(matches!(number.decimal, '.' | ','), "decimal {:?}", number.decimal);
    assert!(number.thousands != Some(number.decimal));
    assert!(matches!(number.thousands, None | Some(',' | '.' | ' ' | '\'')), "thousands {:?}", number.thousands);
    assert_clean(&layout.about, "a layout's about");
    assert!(layout.about.chars().count() <= 120);
    if let Some(bank) = &layout.bank {
        assert!(BankId::new(bank).is_ok(), "bank {bank:?}");
    }
    let c = &layout.columns;
    let amount_columns: Vec<&Column> = match &c.amount {
        Amounts::Signed(a) => vec![a],
        Amounts::Split { debit, credit } => {
            assert_eq!(layout.sign, Sign::NegativeIsOut, "a sign on split columns");
            vec![debit, credit]
        }
    };
    let roles: Vec<&Column> =
        [Some(&c.date), Some(&c.description), c.id.as_ref(), c.category.as_ref(), c.balance.as_ref()]
            .into_iter()
            .flatten()
            .chain(amount_columns)
            .collect();
    for col in &roles {
        match col {
            Column::Name(n) => {
                assert!(layout.header, "a named column without a header");
                assert!(!n.is_empty() && n.trim() == n.as_str(), "column name {n:?}");
            }
            Column::Index(i) => assert!(*i < 1000, "column index {i}"),
        }
    }
    layout_round_trip(text, &layout);
}

/// Writes a one-row CSV file in `layout`'s format (its skipped lines, its
/// header, its delimiter, the date in its format, 12 units in its amount
/// column) and imports it through the layout loaded from a file: exactly
/// that transaction must come out. Layouts that give two roles one column,
/// or name a column starting with a byte-order mark, are not tried.
fn layout_round_trip(text: &str, layout: &CsvLayout) {
    let c = &layout.columns;
    // (column, value) for every role.
    let mut cells: Vec<(&Column, &str)> = vec![(&c.date, ""), (&c.description, "FUZZ SHOP")];
    match &c.amount {
        Amounts::Signed(a) => cells.push((a, "12")),
        Amounts::Split { debit, credit } => cells.extend([(debit, "12"), (credit, "")]),
    }
    cells.extend(c.id.iter().map(|col| (col, "T1")));
    cells.extend(c.category.iter().map(|col| (col, "Food")));
    cells.extend(c.balance.iter().map(|col| (col, "100")));
    let mut names = HashSet::new();
    let mut indexes = HashSet::new();
    for (col, _) in &cells {
        let fresh = match col {
            Column::Name(n) => !n.starts_with('\u{feff}') && names.insert(n.to_ascii_lowercase()),
            Column::Index(i) => indexes.insert(*i),
        };
        if !fresh {
            return;
        }
    }
    let day = NaiveDate::from_ymd_opt(2026, 11, 14).expect("a date");
    let mut written = String::new();
    if write!(written, "{}", day.and_time(NaiveTime::MIN).format(layout.date_format.as_str())).is_err() {
        panic!("the date format {:?} was accepted but cannot write a date", layout.date_format.as_str());
    }
    cells[0].1 = &written;

    // Index columns sit where they say; named ones fill the gaps in order.
    let width = indexes.iter().max().map_or(0, |i| i + 1) + names.len();
    let mut header = vec![String::new(); width];
    let mut row = vec![String::new(); width];
    let mut free = (0..width).filter(|i| !indexes.contains(i));
    for (col, value) in &cells {
        let at = match col {
            Column::Index(i) => *i,
            Column::Name(n) => {
                let at = free.next().expect("room for every named column");
                header[at] = n.clone();
                at
            }
        };
        row[at] = value.to_string();
    }
    let delimiter = char::from(layout.delimiter).to_string();
    let line = |fields: &[String]| fields.iter().map(|f| quoted(f)).collect::<Vec<_>>().join(&delimiter) + "\n";
    let mut file = "-\n".repeat(layout.skip_lines);
    if layout.header {
        file.push_str(&line(&header));
    }
    file.push_str(&line(&row));

    with_scratch(|s| {
        let dir = s.dir.join("layout-target");
        let _ = std::fs::remove_dir_all(&dir);
        s.write("layout-target/fz.toml", text.as_bytes());
        let layouts = Layouts::load(Some(&dir)).unwrap_or_else(|e| panic!("a layout parse accepts fails to load: {e}"));
        let path = s.write("layout-target/in.csv", file.as_bytes());
        let opts = options(Currency::USD, 0);
        let imp = import(&path, &layouts, Some("fz"), &opts)
            .unwrap_or_else(|e| panic!("a file written in the layout's own format does not import: {e}\n{file}"));
        check_statement(&imp, &opts);
        let txns: Vec<&TxnInfo> = imp
            .events
            .iter()
            .filter_map(|e| match e {
                FeedEvent::Transaction(t) => Some(t),
                _ => None,
            })
            .collect();
        let [t] = txns.as_slice() else { panic!("{} transactions from one row\n{file}", txns.len()) };
        let cur = layout.currency.unwrap_or(Currency::USD);
        let twelve = 12 * cur.unit();
        let expected = match (&c.amount, layout.sign) {
            (Amounts::Split { .. }, _) | (Amounts::Signed(_), Sign::PositiveIsOut) => -twelve,
            (Amounts::Signed(_), Sign::NegativeIsOut) => twelve,
        };
        assert_eq!(t.amount, Money::new(expected, cur), "the amount, read through the layout\n{file}");
        assert_eq!(t.posted_at.date_naive(), day, "the date, read through the layout\n{file}");
        assert_eq!(t.merchant, "FUZZ SHOP");
    })
}

/// Dates: the input is a date as text, read with several CSV date formats
/// in several zones, and as an OFX `<DTPOSTED>` and `<DTASOF>`.
pub fn date(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    with_scratch(|s| {
        for layout in &s.date_layouts {
            for off in OFFSETS {
                let Ok(p) = layout.date_format.parse(&text, off) else { continue };
                // The time lies on the day the text names, in the zone given
                // (for dates the store could ever keep).
                if (1000..=9999).contains(&p.date.year()) {
                    let local = p.at.naive_utc() + TimeDelta::seconds(i64::from(off));
                    assert_eq!(local.date(), p.date, "{text:?} in {:?} at {off}", layout.date_format.as_str());
                }
            }
        }
        // An OFX date starts with a digit (YYYYMMDD); other text is left to
        // the ofx target, so that this one runs fast.
        if !text.trim_start().starts_with(|c: char| c.is_ascii_digit()) || text.contains(['<', '&']) {
            return; // (and '<' would end the value early, '&' be unescaped)
        }
        let file = format!(
            "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD\n\
             <BANKACCTFROM><ACCTID>000123451234<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST>\n\
             <STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{text}<TRNAMT>-1.00<FITID>1<NAME>FUZZ</STMTTRN>\n</BANKTRANLIST>\n\
             <LEDGERBAL><BALAMT>10.00<DTASOF>{text}</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
        );
        let path = s.write("date.ofx", file.as_bytes());
        let off = OFFSETS[data.len() % OFFSETS.len()];
        let opts = options(Currency::USD, off);
        match import(&path, &s.layouts, None, &opts) {
            Ok(imp) => {
                check_statement(&imp, &opts);
                let written = ofx_day(&text).unwrap_or_else(|| panic!("{text:?} was read as an OFX date"));
                for event in &imp.events {
                    let at = match event {
                        FeedEvent::Transaction(t) => t.posted_at,
                        FeedEvent::Balance { at, .. } => *at,
                        _ => continue,
                    };
                    let (day, has_time) = written;
                    if has_time {
                        // A zone moves it at most 14 hours off the day written.
                        assert!((at.date_naive() - day).num_days().abs() <= 1, "{text:?} was read as {at}");
                    } else {
                        let noon = day.and_time(NaiveTime::MIN) + TimeDelta::hours(12);
                        assert_eq!(at.naive_utc(), noon - TimeDelta::seconds(i64::from(off)), "{text:?} at {off}");
                    }
                }
            }
            Err(e) => check_error(&e, "date.ofx"),
        }
    })
}

/// The day an OFX date-time names (its first eight digits), and whether it
/// has a time of day other than midnight.
fn ofx_day(text: &str) -> Option<(NaiveDate, bool)> {
    let main = text.trim().split('[').next().unwrap_or_default().trim();
    let digits = main.split('.').next().unwrap_or_default();
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<u32>().ok());
    let day = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(4..6)?, num(6..8)?)?;
    Some((day, digits.get(8..).is_some_and(|t| t.bytes().any(|b| b != b'0'))))
}

/// A place an amount can be written, and how it is read there.
struct AmountSpot {
    /// The file's name (its extension tells the format).
    file: &'static str,
    /// The layout, for CSV.
    layout: Option<&'static str>,
    /// The file with `{}` where the amount goes (quoted in CSV files).
    template: &'static str,
    currency: &'static str,
    decimal: char,
    /// The amount is money out, whatever its sign (a debit column), or
    /// charges are positive.
    out: Out,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Out {
    /// Negative is money out.
    Signed,
    /// Positive is money out.
    Flipped,
    /// A debit column: money out, whatever the sign.
    Debit,
}

const OFX_AMOUNT: &str = "OFXHEADER:100\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>{c}\n\
    <BANKACCTFROM><ACCTID>1234<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST>\n\
    <STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261101<TRNAMT>{}<FITID>1<NAME>FUZZ</STMTTRN>\n</BANKTRANLIST>\n\
    </STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n";

const AMOUNT_SPOTS: &[AmountSpot] = &[
    AmountSpot {
        file: "amount.csv",
        layout: Some("generic"),
        template: "Date,Description,Amount\n2026-11-01,FUZZ,{}\n",
        currency: "USD",
        decimal: '.',
        out: Out::Signed,
    },
    AmountSpot {
        file: "amount.csv",
        layout: Some("eu-bank"),
        template: "Datum;Omschrijving;Bedrag\n03-11-2026;FUZZ;{}\n",
        currency: "EUR",
        decimal: ',',
        out: Out::Signed,
    },
    AmountSpot {
        file: "amount.csv",
        layout: Some("fz-split"),
        template: "Booked\tText\tOut\tIn\tRef\tSaldo\tKind\n14.11.2026\tFUZZ\t{}\t\tR1\t\t\n",
        currency: "USD",
        decimal: ',',
        out: Out::Debit,
    },
    AmountSpot {
        file: "amount.csv",
        layout: Some("fz-card"),
        template: "exported\nWhen|Merchant|Charge|Kind\n2026-11-01 10:00|FUZZ|{}|\n",
        currency: "JPY",
        decimal: '.',
        out: Out::Flipped,
    },
    AmountSpot {
        file: "amount.csv",
        layout: Some("fz-nohead"),
        template: "2026-11-01,FUZZ,{}\n",
        currency: "KWD",
        decimal: '.',
        out: Out::Signed,
    },
    AmountSpot {
        file: "amount.ofx",
        layout: None,
        template: OFX_AMOUNT,
        currency: "USD",
        decimal: '.',
        out: Out::Signed,
    },
    AmountSpot {
        file: "amount.ofx",
        layout: None,
        template: OFX_AMOUNT,
        currency: "JPY",
        decimal: '.',
        out: Out::Signed,
    },
    AmountSpot {
        file: "amount.ofx",
        layout: None,
        template: OFX_AMOUNT,
        currency: "KWD",
        decimal: '.',
        out: Out::Signed,
    },
];

/// Writes `amount` into `spot` and imports the file: the one transaction's
/// amount, or the error.
fn import_amount(s: &Scratch, spot: &AmountSpot, amount: &str) -> Result<Money, String> {
    let field = if spot.layout.is_some() { quoted(amount) } else { amount.to_string() };
    let file = spot.template.replace("{c}", spot.currency).replace("{}", &field);
    let path = s.write(spot.file, file.as_bytes());
    let opts = options(Currency::USD, 0);
    let imp = import(&path, &s.layouts, spot.layout, &opts)?;
    check_statement(&imp, &opts);
    let txns: Vec<Money> = imp
        .events
        .iter()
        .filter_map(|e| match e {
            FeedEvent::Transaction(t) => Some(t.amount),
            _ => None,
        })
        .collect();
    match txns.as_slice() {
        [m] => Ok(*m),
        other => panic!("{} transactions from one row", other.len()),
    }
}

/// Amounts as statements write them. The first byte chooses: even, the rest
/// is an amount's text, written into one of [`AMOUNT_SPOTS`] (by the first
/// byte) and, if read, checked digit by digit; odd, the next eight bytes are
/// an amount in minor units, written the way a bank would (by the first
/// byte) and read back exactly.
pub fn amount(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    with_scratch(|s| {
        if mode & 1 == 0 {
            amount_text(s, usize::from(mode >> 1), &String::from_utf8_lossy(rest));
        } else {
            let mut bytes = [0u8; 8];
            for (b, r) in bytes.iter_mut().zip(rest) {
                *b = *r;
            }
            amount_round_trip(s, usize::from(mode >> 1), i64::from_le_bytes(bytes));
        }
    })
}

fn amount_text(s: &Scratch, choice: usize, text: &str) {
    let spot = &AMOUNT_SPOTS[choice % AMOUNT_SPOTS.len()];
    if spot.layout.is_none() && text.contains(['<', '&']) {
        return; // it would end the OFX value early, or be unescaped
    }
    let read = match import_amount(s, spot, text) {
        Ok(m) => m,
        Err(e) => return check_error(&e, spot.file),
    };
    let cur = currency(spot.currency);
    assert_eq!(read.currency, cur, "{text:?}");
    // OFX: a comma is the decimal mark when there is no period.
    let decimal = if spot.layout.is_none() && text.contains(',') && !text.contains('.') { ',' } else { spot.decimal };
    let expected = magnitude(text, decimal, cur.exponent())
        .unwrap_or_else(|| panic!("{text:?} was read as {read} but has more decimals than {cur} allows"));
    let marks = sign_marks(text);
    let negative = match spot.out {
        Out::Debit => true,
        Out::Signed | Out::Flipped => {
            // One sign at most: "--5" or "-$-5" is not an amount.
            assert!(marks <= 1, "{text:?} has {marks} signs and was read as {read}");
            (marks == 1) != (spot.out == Out::Flipped)
        }
    };
    let expected = if negative { -expected } else { expected };
    assert_eq!(i128::from(read.minor), expected, "{text:?} in {} was read as {read}", spot.file);
}

fn amount_round_trip(s: &Scratch, style: usize, minor: i64) {
    let style = style % 9;
    let (spot, code) = match style {
        0..=3 => (&AMOUNT_SPOTS[0], "USD"),
        4 => (&AMOUNT_SPOTS[1], "EUR"),
        5 => (&AMOUNT_SPOTS[4], "KWD"),
        6 => (&AMOUNT_SPOTS[3], "JPY"),
        7 => (&AMOUNT_SPOTS[2], "USD"),
        _ => (&AMOUNT_SPOTS[5 + minor.rem_euclid(3) as usize], ["USD", "JPY", "KWD"][minor.rem_euclid(3) as usize]),
    };
    let cur = currency(code);
    let m = Money::new(minor, cur);
    let shown = m.to_string(); // "-$1,234.56"
    let text = match style {
        0 | 5 | 8 => m.to_decimal_string(),
        1 | 6 => shown,
        2 if minor < 0 => format!("({})", shown.trim_start_matches('-')),
        3 if minor < 0 => format!("{}-", m.to_decimal_string().trim_start_matches('-')),
        // "€1,234.56" → "€1.234,56"
        4 => shown.replace(',', "_").replace('.', ",").replace('_', "."),
        // "1 234,56", grouped by no-break spaces
        7 => space_grouped(m),
        _ => m.to_decimal_string(),
    };
    let expected = match spot.out {
        Out::Signed => Some(minor),
        Out::Flipped => minor.checked_neg(),
        Out::Debit => minor.checked_abs().map(|a| -a),
    };
    match (import_amount(s, spot, &text), expected) {
        (Ok(read), Some(e)) => assert_eq!(read, Money::new(e, cur), "{text:?} in {}", spot.file),
        (Err(e), Some(_)) => panic!("{text:?} was not read back from {}: {e}", spot.file),
        (Ok(read), None) => panic!("{text:?} was read as {read}, but its negation does not fit"),
        (Err(e), None) => assert!(e.contains("too large"), "{e}"),
    }
}

/// `1 234,56` (grouped by no-break spaces, comma decimals), unsigned: the
/// debit column takes its size only.
fn space_grouped(m: Money) -> String {
    let abs = m.minor.unsigned_abs();
    let unit = 10u64.pow(m.currency.exponent());
    let whole = (abs / unit).to_string();
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push('\u{a0}');
        }
        out.push(ch);
    }
    format!("{out},{:02}", abs % unit)
}

/// `Money::parse` and `Currency::new`: the input is text, parsed in a two-,
/// a zero- and a three-decimal currency and compared with a reading of the
/// grammar (`[+-]digits[.digits]`); its first eight bytes, as minor units,
/// must survive the decimal and display forms in every currency.
pub fn money(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = Currency::new(&text) {
        assert_eq!(c.code(), text.trim().to_ascii_uppercase(), "{text:?}");
        assert!(c.exponent() <= 3 && c.unit() == 10i64.pow(c.exponent()));
    }
    for code in ["USD", "JPY", "KWD"] {
        let cur = currency(code);
        let got = Money::parse(&text, cur);
        match (&got, money_grammar(&text, cur.exponent())) {
            (Ok(m), Grammar::Value(v)) if i128::from(m.minor) == v && m.currency == cur => {}
            (Err(MoneyError::NotAnAmount(_)), Grammar::NotAnAmount) => {}
            (Err(MoneyError::TooManyDecimals { .. }), Grammar::TooManyDecimals) => {}
            (Err(MoneyError::Overflow(_)), Grammar::Overflow) => {}
            (got, want) => panic!("{text:?} in {code}: {got:?}, but the grammar says {want:?}"),
        }
        if let Ok(m) = got {
            assert_eq!(Money::parse(&m.to_decimal_string(), cur), Ok(m));
        }
    }
    let mut bytes = [0u8; 8];
    for (b, d) in bytes.iter_mut().zip(data) {
        *b = *d;
    }
    let minor = i64::from_le_bytes(bytes);
    for code in ["USD", "EUR", "JPY", "KWD", "CHF", "INR"] {
        let cur = currency(code);
        let m = Money::new(minor, cur);
        assert_eq!(Money::parse(&m.to_decimal_string(), cur), Ok(m), "{m:?}");
        // "-CHF 1,234.56" → "-1234.56"
        let shown = m.to_string().replace(cur.symbol(), "").replace(',', "");
        assert_eq!(Money::parse(&shown, cur), Ok(m), "{m:?} shown as {}", m);
    }
}

#[derive(Debug)]
enum Grammar {
    Value(i128),
    NotAnAmount,
    TooManyDecimals,
    Overflow,
}

/// What `Money::parse` should say of `text`: an optional sign, digits, and
/// an optional fraction of at least one digit, after trimming; at most
/// `exponent` decimals, at most 24 whole digits, and within `i64`.
fn money_grammar(text: &str, exponent: u32) -> Grammar {
    let s = text.trim();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) if !f.is_empty() => (w, f),
        Some(_) => return Grammar::NotAnAmount,
        None => (body, ""),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Grammar::NotAnAmount;
    }
    if frac.len() > exponent as usize {
        return Grammar::TooManyDecimals;
    }
    if whole.len() > 24 {
        return Grammar::Overflow;
    }
    let Some(v) = magnitude(&format!("{whole}.{frac}"), '.', exponent) else { return Grammar::Overflow };
    let v = if negative { -v } else { v };
    if i64::try_from(v).is_err() { Grammar::Overflow } else { Grammar::Value(v) }
}

/// Telling a statement's text encoding. The first byte chooses: 0, the rest
/// is a description's bytes inside a UTF-8 CSV row, which must come out as
/// UTF-8 if the file is UTF-8 and as Windows-1252 if not; 1 and 2, the rest
/// is a whole CSV or OFX file, which must be read in the encoding it is in.
pub fn decode(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let declares = |b: &[u8]| {
        let lossy = String::from_utf8_lossy(b).to_ascii_lowercase();
        lossy.contains("charset:") || lossy.contains("encoding=")
    };
    with_scratch(|s| match mode % 3 {
        0 => {
            let mut file = b"Date,Description,Amount\n2026-11-01,\"".to_vec();
            for &b in rest {
                if b == b'"' {
                    file.push(b'"');
                }
                file.push(b);
            }
            file.extend_from_slice(b"\",-1.00\n");
            let path = s.write("decode.csv", &file);
            let opts = options(Currency::USD, 0);
            let imp = import(&path, &s.layouts, Some("generic"), &opts)
                .unwrap_or_else(|e| panic!("any description imports, but {rest:?} gave: {e}"));
            check_statement(&imp, &opts);
            if declares(&file) {
                return; // read in the charset it names
            }
            let (text, encoding) = match std::str::from_utf8(rest) {
                Ok(t) => (t.to_string(), "UTF-8"),
                Err(_) => (WINDOWS_1252.decode_without_bom_handling(rest).0.into_owned(), "windows-1252"),
            };
            let text = match text.trim() {
                "" => "(no description)",
                t => t,
            };
            assert_eq!(imp.scan.encoding, encoding, "{rest:?}");
            let merchant = imp.events.iter().find_map(|e| match e {
                FeedEvent::Transaction(t) => Some(t.merchant.as_str()),
                _ => None,
            });
            assert_eq!(merchant, Some(text), "{rest:?} read in {encoding}");
        }
        m => {
            let (name, layout) = if m == 1 { ("decode.csv", Some("generic")) } else { ("decode.ofx", None) };
            let path = s.write(name, rest);
            let opts = options(Currency::USD, 0);
            match import(&path, &s.layouts, layout, &opts) {
                Ok(imp) => {
                    check_statement(&imp, &opts);
                    let expected = if rest.starts_with(b"\xff\xfe") {
                        "UTF-16LE"
                    } else if rest.starts_with(b"\xfe\xff") {
                        "UTF-16BE"
                    } else if std::str::from_utf8(rest).is_ok() || rest.starts_with(b"\xef\xbb\xbf") {
                        // (A UTF-8 byte-order mark says UTF-8 even when a byte is bad.)
                        "UTF-8"
                    } else if declares(rest) {
                        return;
                    } else {
                        "windows-1252"
                    };
                    assert_eq!(imp.scan.encoding, expected);
                }
                Err(e) => check_error(&e, name),
            }
        }
    })
}

/// Bank profile TOML: the input is a profile file. One that is accepted is
/// sound, and its feed kind's table is read too.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let p = match BankProfile::parse(text, "fz.toml") {
        Ok(p) => p,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("bank profile fz.toml: "), "{message}");
            return;
        }
    };
    assert!(BankId::new(p.id.as_str()).is_ok());
    assert!(p.color.len() == 7 && p.color.starts_with('#') && p.color[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(p.home_country.len() == 2 && p.home_country.bytes().all(|b| b.is_ascii_uppercase()));
    assert_clean(&p.name, "a bank's name");
    assert!(p.name.chars().count() <= 40, "name {:?}", p.name);
    assert_eq!(p.source, "fz.toml");
    for key in p.raw.keys() {
        let common = ["id", "name", "color", "feed", "home_country", "currency"].contains(&key.as_str());
        assert!(common || *key == p.feed, "unknown key {key:?} accepted");
    }
    match p.feed.as_str() {
        "simulated" => match finbox::feed::simulated::parse_profile(&p) {
            Ok(sim) => {
                assert!((0.1..=1000.0).contains(&sim.events_per_day()));
                assert!((1..=3650).contains(&sim.backfill_days()));
                let accounts = sim.account_infos();
                assert!(!accounts.is_empty());
                for a in accounts {
                    assert!(a.mask.len() == 4 && a.mask.bytes().all(|b| b.is_ascii_digit()), "mask {:?}", a.mask);
                    assert_eq!(a.opening.currency, p.currency);
                    if let Some(card) = &a.card_mask {
                        assert!(card.len() == 4 && card.bytes().all(|b| b.is_ascii_digit()), "card {card:?}");
                    }
                }
            }
            Err(e) => assert!(e.to_string().contains("fz.toml"), "{e}"),
        },
        "import" | "ofx" | "csv" => match finbox::feed::folder::parse_profile(&p) {
            Ok(cfg) => {
                if let Some(a) = &cfg.account {
                    assert!((1..=4).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_digit()), "account {a:?}");
                }
                assert_eq!(cfg.only.is_some(), p.feed != "import");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        },
        _ => {}
    }
}

/// The settings file: the input is `config.toml`, resolved over the
/// embedded defaults; its theme is then read as the screen would.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    with_scratch(|s| {
        let file = s.write("config/config.toml", text.as_bytes());
        let dirs = Dirs { data: s.dir.join("data"), config: s.dir.join("config") };
        match Settings::resolve(&dirs, &Overrides::default()) {
            Ok(settings) => {
                assert!(settings.config_file_exists);
                assert_eq!(settings.config_file, file);
                assert!(settings.profiles.len() >= 4, "the embedded banks are always there");
                let ids: HashSet<&str> = settings.profiles.iter().map(|p| p.id.as_str()).collect();
                assert_eq!(ids.len(), settings.profiles.len(), "two banks with one id");
                if let Err(e) = finbox::ui::Theme::from_toml_table(&settings.theme) {
                    assert!(!e.is_empty());
                }
            }
            Err(ConfigError::Parse { path, message }) => {
                assert_eq!(path, file.display().to_string());
                assert!(!message.is_empty());
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    })
}

/// The text sanitiser: the first byte is the length cap, the rest the text.
/// Nothing unsafe comes out, the cap holds, cleaning twice changes nothing,
/// and text that was clean already comes out whole.
pub fn text(data: &[u8]) {
    let Some((&cap, rest)) = data.split_first() else { return };
    let cap = usize::from(cap);
    let raw = String::from_utf8_lossy(rest);
    let line = clean_line(&raw, cap);
    let multi = clean_text(&raw, cap);
    assert_clean(&line, "clean_line's output");
    assert_clean(&multi.replace('\n', ""), "clean_text's output");
    assert!(line.chars().count() <= cap, "clean_line({raw:?}, {cap}) = {line:?} is over the cap");
    assert!(multi.chars().count() <= cap, "clean_text({raw:?}, {cap}) = {multi:?} is over the cap");
    assert!(!line.chars().any(|c| c.is_whitespace() && c != ' '), "{line:?}");
    assert!(!line.starts_with(' ') && !line.ends_with(' ') && !line.contains("  "), "{line:?}");
    assert_eq!(clean_line(&line, cap), line, "clean_line is not idempotent");
    assert_eq!(clean_text(&multi, cap), multi, "clean_text is not idempotent");
    let already_clean = raw.chars().all(|c| !is_unsafe(c) && (c == ' ' || !c.is_whitespace()))
        && raw.trim() == raw
        && !raw.contains("  ")
        && raw.chars().count() <= cap;
    if already_clean {
        assert_eq!(line, raw, "clean_line changed clean text");
        assert_eq!(multi, raw, "clean_text changed clean text");
    }
}

/// What a chat message means: digits named are a card's last four, counts
/// are 1–50, and neither case nor surrounding space changes the meaning.
pub fn intent(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let intent = Intent::parse(&text);
    match &intent {
        Intent::Freeze(Some(d)) | Intent::Unfreeze(Some(d)) => {
            assert!(d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit()) && text.contains(d.as_str()), "{d:?}");
        }
        Intent::Recent(n) => assert!((1..=50).contains(n), "{n}"),
        _ => {}
    }
    assert_eq!(Intent::parse(&text.to_ascii_uppercase()), intent, "{text:?} shouted");
    assert_eq!(Intent::parse(&format!("  {text}\n")), intent, "{text:?} padded");
}
