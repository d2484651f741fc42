//! CSV layouts: how one bank's CSV export maps onto transactions, one TOML
//! file each. The layouts shipped in `assets/import/` are embedded; the
//! user's own in `<config dir>/import/*.toml` add to them, or replace one of
//! the same name (the file name without `.toml`). Every key is checked, and
//! an error names the file, the key and, for TOML errors, the line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::amount::NumberFormat;
use super::date::DateFormat;
use crate::domain::{AccountKind, Currency};

/// The layouts shipped inside the binary, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("chase-checking", include_str!("../../assets/import/chase-checking.toml")),
    ("citi-card", include_str!("../../assets/import/citi-card.toml")),
    ("citi-checking", include_str!("../../assets/import/citi-checking.toml")),
    ("discover-card", include_str!("../../assets/import/discover-card.toml")),
    ("generic", include_str!("../../assets/import/generic.toml")),
    ("usbank-checking", include_str!("../../assets/import/usbank-checking.toml")),
    ("wellsfargo-checking", include_str!("../../assets/import/wellsfargo-checking.toml")),
];

/// A column, by its header name or its position (1 is the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name(String),
    /// Zero-based.
    Index(usize),
}

/// Where the amount is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amounts {
    /// One signed column.
    Signed(Column),
    /// Money out in one column, money in in another (either sign).
    Split { debit: Column, credit: Column },
}

/// How a signed amount column writes money leaving the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Charges are negative (most checking exports, Chase cards).
    NegativeIsOut,
    /// Charges are positive (Discover, Amex).
    PositiveIsOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub date: Column,
    pub description: Column,
    pub amount: Amounts,
    pub id: Option<Column>,
    pub category: Option<Column>,
    pub balance: Option<Column>,
    /// "Pending" (any case) in it marks an authorisation not yet posted.
    pub status: Option<Column>,
}

impl Columns {
    /// How many columns the layout reads.
    pub fn count(&self) -> usize {
        let amount = if matches!(self.amount, Amounts::Split { .. }) { 2 } else { 1 };
        let optional = [&self.id, &self.category, &self.balance, &self.status].iter().filter(|c| c.is_some()).count();
        2 + amount + optional
    }

    /// The header names this layout needs, for matching a file's header.
    pub fn names(&self) -> Vec<&str> {
        let amount = match &self.amount {
            Amounts::Signed(c) => vec![c],
            Amounts::Split { debit, credit } => vec![debit, credit],
        };
        [
            Some(&self.date),
            Some(&self.description),
            self.id.as_ref(),
            self.category.as_ref(),
            self.balance.as_ref(),
            self.status.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(amount)
        .filter_map(|c| match c {
            Column::Name(n) => Some(n.as_str()),
            Column::Index(_) => None,
        })
        .collect()
    }
}

/// A checked CSV layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLayout {
    pub name: String,
    pub about: String,
    /// The bank this layout usually comes from: the default for `--bank`.
    pub bank: Option<String>,
    pub account_kind: AccountKind,
    pub delimiter: u8,
    /// Lines before the header (or before the first row, without a header).
    pub skip_lines: usize,
    pub header: bool,
    pub date_format: DateFormat,
    pub number: NumberFormat,
    pub sign: Sign,
    /// The currency of the amounts (default: the bank's).
    pub currency: Option<Currency>,
    pub columns: Columns,
    /// Where the layout came from (a path, or `embedded:…`).
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    about: String,
    bank: Option<String>,
    account_kind: String,
    #[serde(default = "default_delimiter")]
    delimiter: String,
    #[serde(default)]
    skip_lines: usize,
    #[serde(default = "default_true")]
    header: bool,
    date_format: String,
    #[serde(default = "default_decimal")]
    decimal: String,
    thousands: Option<String>,
    #[serde(default = "default_sign")]
    sign: String,
    currency: Option<String>,
    columns: RawColumns,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    date: RawColumn,
    description: RawColumn,
    amount: Option<RawColumn>,
    debit: Option<RawColumn>,
    credit: Option<RawColumn>,
    id: Option<RawColumn>,
    category: Option<RawColumn>,
    balance: Option<RawColumn>,
    status: Option<RawColumn>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawColumn {
    Name(String),
    Number(i64),
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_true() -> bool {
    true
}
fn default_decimal() -> String {
    ".".into()
}
fn default_sign() -> String {
    "negative-is-out".into()
}

/// A layout that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("CSV layout {source_name}: {message}")]
pub struct LayoutError {
    pub source_name: String,
    pub message: String,
}

impl CsvLayout {
    pub fn parse(name: &str, text: &str, source: &str) -> Result<CsvLayout, LayoutError> {
        let err = |message: String| LayoutError { source_name: source.to_string(), message };
        let raw: RawLayout =
            toml::from_str(text).map_err(|e| err(crate::domain::text::describe_toml_error(&e, text)))?;
        raw.check(name, source).map_err(|BadKey { key, why }| err(format!("{key}: {why}")))
    }
}

/// A key of a layout file and what is wrong with its value.
struct BadKey {
    key: String,
    why: String,
}

fn bad(key: impl Into<String>, why: impl Into<String>) -> BadKey {
    BadKey { key: key.into(), why: why.into() }
}

impl RawLayout {
    /// Checks each key in turn (the first fault found is the one reported)
    /// and builds the layout.
    fn check(self, name: &str, source: &str) -> Result<CsvLayout, BadKey> {
        if self.about.trim().is_empty() {
            return Err(bad("about", "is empty; say which export this layout reads"));
        }
        if let Some(bank) = &self.bank
            && crate::domain::BankId::new(bank).is_err()
        {
            return Err(bad("bank", format!("{bank:?} is not a bank id (lowercase letters, digits, '-', '_')")));
        }
        let account_kind = AccountKind::parse(&self.account_kind).map_err(|_| {
            bad("account_kind", format!("{:?} is not one of checking, savings, credit", self.account_kind))
        })?;
        let delimiter = self.delimiter()?;
        if self.skip_lines > 1000 {
            return Err(bad("skip_lines", format!("{} is more than 1000", self.skip_lines)));
        }
        let date_format = DateFormat::new(&self.date_format).map_err(|why| bad("date_format", why))?;
        let number = self.number_format()?;
        let sign = self.sign()?;
        let currency =
            self.currency.as_deref().map(Currency::new).transpose().map_err(|e| bad("currency", e.to_string()))?;
        let columns = self.columns.check(self.header, sign)?;
        Ok(CsvLayout {
            name: name.to_string(),
            about: crate::domain::text::clean_line(&self.about, 120),
            bank: self.bank,
            account_kind,
            delimiter,
            skip_lines: self.skip_lines,
            header: self.header,
            date_format,
            number,
            sign,
            currency,
            columns,
            source: source.to_string(),
        })
    }

    /// One printable character, or `tab`.
    fn delimiter(&self) -> Result<u8, BadKey> {
        match self.delimiter.as_str() {
            "tab" | "\t" => Ok(b'\t'),
            d if d.len() == 1
                && d.is_ascii()
                && !d.bytes().any(|b| b.is_ascii_alphanumeric() || b.is_ascii_control() || b == b'"') =>
            {
                Ok(d.as_bytes()[0])
            }
            d => Err(bad("delimiter", format!("{d:?} must be one character such as \",\", \";\" or \"tab\""))),
        }
    }

    /// `decimal` and `thousands` (by default the other of `.` and `,`).
    fn number_format(&self) -> Result<NumberFormat, BadKey> {
        let decimal = match self.decimal.as_str() {
            "." => '.',
            "," => ',',
            d => return Err(bad("decimal", format!("{d:?} must be \".\" or \",\""))),
        };
        let thousands = match self.thousands.as_deref() {
            None => Some(if decimal == '.' { ',' } else { '.' }),
            Some("") => None,
            Some(t @ ("," | "." | " " | "'")) => t.chars().next(),
            Some(t) => {
                return Err(bad("thousands", format!("{t:?} must be \",\", \".\", \" \", \"'\" or \"\" (none)")));
            }
        };
        if thousands == Some(decimal) {
            return Err(bad("thousands", "must differ from decimal"));
        }
        Ok(NumberFormat { decimal, thousands })
    }

    fn sign(&self) -> Result<Sign, BadKey> {
        match self.sign.as_str() {
            "negative-is-out" => Ok(Sign::NegativeIsOut),
            "positive-is-out" => Ok(Sign::PositiveIsOut),
            s => Err(bad("sign", format!("{s:?} must be \"negative-is-out\" or \"positive-is-out\""))),
        }
    }
}

impl RawColumns {
    /// The columns, named (with a header row) or numbered; the amount in
    /// one signed column, or in debit and credit columns.
    fn check(self, header: bool, sign: Sign) -> Result<Columns, BadKey> {
        let amount = match (self.amount, self.debit, self.credit) {
            (Some(a), None, None) => Amounts::Signed(a.check("amount", header)?),
            (None, Some(d), Some(cr)) => {
                if sign != Sign::NegativeIsOut {
                    return Err(bad("sign", "applies to a signed amount column, not to debit and credit"));
                }
                Amounts::Split { debit: d.check("debit", header)?, credit: cr.check("credit", header)? }
            }
            _ => {
                return Err(bad(
                    "columns",
                    "give either amount (one signed column) or both debit and credit, not both",
                ));
            }
        };
        let optional = |k: &str, c: Option<RawColumn>| c.map(|v| v.check(k, header)).transpose();
        Ok(Columns {
            date: self.date.check("date", header)?,
            description: self.description.check("description", header)?,
            amount,
            id: optional("id", self.id)?,
            category: optional("category", self.category)?,
            balance: optional("balance", self.balance)?,
            status: optional("status", self.status)?,
        })
    }
}

impl RawColumn {
    /// `columns.<k>`: a header name with a header row, else a column number.
    fn check(self, k: &str, header: bool) -> Result<Column, BadKey> {
        let key = format!("columns.{k}");
        match self {
            RawColumn::Name(n) if !n.trim().is_empty() && header => Ok(Column::Name(n.trim().to_string())),
            RawColumn::Name(n) if !header => {
                Err(bad(key, format!("{n:?}: without a header (header = false) columns are numbers, 1 for the first")))
            }
            RawColumn::Name(_) => Err(bad(key, "is empty")),
            RawColumn::Number(i) if (1..=1000).contains(&i) => Ok(Column::Index(i as usize - 1)),
            RawColumn::Number(i) => Err(bad(key, format!("{i} is not a column number (1 is the first)"))),
        }
    }
}

/// All layouts known: the embedded ones, then the user's.
#[derive(Debug, Clone)]
pub struct Layouts {
    list: Vec<CsvLayout>,
    user_dir: Option<PathBuf>,
}

impl Layouts {
    /// The embedded layouts only.
    pub fn embedded() -> Layouts {
        let list = EMBEDDED
            .iter()
            .filter_map(|(name, text)| {
                CsvLayout::parse(name, text, &format!("embedded:assets/import/{name}.toml")).ok()
            })
            .collect();
        Layouts { list, user_dir: None }
    }

    /// The embedded layouts, then every `*.toml` in `user_dir` (sorted by name).
    pub fn load(user_dir: Option<&Path>) -> Result<Layouts, LayoutError> {
        let mut layouts = Layouts::embedded();
        let Some(dir) = user_dir else { return Ok(layouts) };
        layouts.user_dir = Some(dir.to_path_buf());
        let paths = crate::import::toml_files(dir)
            .map_err(|e| LayoutError { source_name: dir.display().to_string(), message: e.to_string() })?;
        for path in paths {
            let shown = path.display().to_string();
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LayoutError { source_name: shown.clone(), message: e.to_string() })?;
            let layout = CsvLayout::parse(&name, &text, &shown)?;
            match layouts.list.iter_mut().find(|l| l.name == layout.name) {
                Some(slot) => *slot = layout,
                None => layouts.list.push(layout),
            }
        }
        Ok(layouts)
    }

    /// The names, comma-separated, for messages.
    pub fn names(&self) -> String {
        self.list.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Where the user's layouts go, for messages.
    pub fn user_dir(&self) -> Option<&Path> {
        self.user_dir.as_deref()
    }

    pub fn iter(&self) -> impl Iterator<Item = &CsvLayout> {
        self.list.iter()
    }

    pub fn get(&self, name: &str) -> Option<&CsvLayout> {
        self.list.iter().find(|l| l.name == name)
    }

    /// The layouts that fit `head`: those whose named columns all appear in
    /// its header row, and those without a header whose first row reads (a
    /// date and an amount where the layout has them); the most specific
    /// (most columns) first.
    pub fn matching(&self, head: &str) -> Vec<&CsvLayout> {
        let mut fits: Vec<(usize, &CsvLayout)> = self
            .list
            .iter()
            .filter_map(|l| {
                let header = header_row(head, l)?;
                if !l.header {
                    return l.reads_as_row(&header).then_some((l.columns.count(), l));
                }
                let names = l.columns.names();
                let all = names.iter().all(|n| header.iter().any(|h| h.eq_ignore_ascii_case(n)));
                all.then_some((names.len(), l))
            })
            .collect();
        fits.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        match fits.first() {
            Some((best, _)) => {
                let best = *best;
                fits.into_iter().filter(|(n, _)| *n == best).map(|(_, l)| l).collect()
            }
            None => Vec::new(),
        }
    }
}

impl CsvLayout {
    /// Whether `row` reads as one of this (headerless) layout's rows: a
    /// date in its date column and amounts in its amount columns.
    fn reads_as_row(&self, row: &[String]) -> bool {
        let field = |c: &Column| match c {
            Column::Index(i) => row.get(*i).map(|f| f.trim()),
            Column::Name(_) => None,
        };
        let currency = self.currency.unwrap_or(Currency::USD);
        let amount = |c: &Column| {
            field(c).is_some_and(|f| f.is_empty() || super::amount::parse(f, self.number, currency).is_ok())
        };
        let amounts = match &self.columns.amount {
            Amounts::Signed(c) => field(c).is_some_and(|f| !f.is_empty()) && amount(c),
            Amounts::Split { debit, credit } => amount(debit) && amount(credit),
        };
        let date = field(&self.columns.date).is_some_and(|f| self.date_format.parse(f, 0).is_ok());
        let description = field(&self.columns.description).is_some();
        date && amounts && description
    }

    /// What the layout looks for, for the message when no layout fits:
    /// `"Posting Date", "Description", "Amount"`, or for a layout without a
    /// header the columns by number.
    pub fn looks_for(&self) -> String {
        if self.header {
            return self.columns.names().iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
        }
        let c = &self.columns;
        let at = |what: &str, col: &Column| match col {
            Column::Index(i) => Some(format!("{what} in column {}", i + 1)),
            Column::Name(_) => None,
        };
        let mut parts = vec![at(&format!("date ({})", self.date_format.as_str()), &c.date)];
        match &c.amount {
            Amounts::Signed(a) => parts.push(at("amount", a)),
            Amounts::Split { debit, credit } => parts.extend([at("debit", debit), at("credit", credit)]),
        }
        parts.push(at("description", &c.description));
        format!("no header row, {}", parts.into_iter().flatten().collect::<Vec<_>>().join(", "))
    }
}

/// The header row of `head` as `layout` reads it (trimmed names).
pub fn header_row(head: &str, layout: &CsvLayout) -> Option<Vec<String>> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(head.as_bytes());
    let record = reader.records().nth(layout.skip_lines)?.ok()?;
    Some(record.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_layouts_are_valid_and_tell_apart_their_exports() {
        for (name, text) in EMBEDDED {
            CsvLayout::parse(name, text, name).unwrap_or_else(|e| panic!("{e}"));
        }
        let layouts = Layouts::embedded();
        assert_eq!(
            layouts.names(),
            "chase-checking, citi-card, citi-checking, discover-card, generic, usbank-checking, wellsfargo-checking"
        );
        let fits = |head: &str| layouts.matching(head).iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        assert_eq!(fits("Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"), ["chase-checking"]);
        // Citi writes its card and bank exports alike: both fit, --profile chooses.
        assert_eq!(fits("\"Status\",\"Date\",\"Description\",\"Debit\",\"Credit\"\n"), ["citi-card", "citi-checking"]);
        assert_eq!(fits("Trans. Date,Post Date,Description,Amount,Category\n"), ["discover-card"]);
        assert_eq!(fits("date,description,amount\n"), ["generic"]);
        assert_eq!(fits("\"Date\",\"Transaction\",\"Name\",\"Memo\",\"Amount\"\n"), ["usbank-checking"]);
        // Without a header, the first row tells: a date, then an amount.
        assert_eq!(fits("\"11/10/2026\",\"-60.00\",\"*\",\"\",\"ATM WITHDRAWAL\"\n"), ["wellsfargo-checking"]);
        assert!(fits("\"2026-11-10\",\"-60.00\",\"*\",\"\",\"ATM\"\n").is_empty());
        assert!(fits("\"11/10/2026\",\"ATM\",\"-60.00\"\n").is_empty());
        assert!(fits("Foo,Bar\n").is_empty());
        let wf = layouts.get("wellsfargo-checking").unwrap();
        assert_eq!(
            wf.looks_for(),
            "no header row, date (%m/%d/%Y) in column 1, amount in column 2, description in column 5"
        );
        assert_eq!(layouts.get("generic").unwrap().looks_for(), "\"Date\", \"Description\", \"Amount\"");
    }

    fn layout(body: &str) -> Result<CsvLayout, LayoutError> {
        CsvLayout::parse("t", &format!("about = \"t\"\naccount_kind = \"checking\"\n{body}"), "t.toml")
    }

    #[test]
    fn errors_name_the_key() {
        let cols = "[columns]\ndate = \"D\"\ndescription = \"X\"\namount = \"A\"\n";
        assert!(layout(&format!("date_format = \"%Y-%m-%d\"\n{cols}")).is_ok());
        let e = layout(&format!("date_format = \"%m/%Y\"\n{cols}")).unwrap_err().to_string();
        assert!(e.contains("date_format") && e.contains("t.toml"), "{e}");
        let e = layout(&format!("date_format = \"%F\"\ndecimal = \";\"\n{cols}")).unwrap_err().to_string();
        assert!(e.contains("decimal"), "{e}");
        let e = layout(&format!("date_format = \"%F\"\ndecimal = \",\"\nthousands = \",\"\n{cols}")).unwrap_err();
        assert!(e.to_string().contains("thousands"), "{e}");
        let e = layout(&format!("date_format = \"%F\"\ncolour = 1\n{cols}")).unwrap_err().to_string();
        assert!(e.contains("unknown field `colour`") && e.contains("line 4"), "{e}");
        let e = layout("date_format = \"%F\"\n[columns]\ndate = 1\ndescription = 2\n").unwrap_err().to_string();
        assert!(e.contains("columns: give either amount"), "{e}");
        let e = layout("date_format = \"%F\"\nheader = false\n[columns]\ndate = \"D\"\ndescription = 2\namount = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("columns.date"), "{e}");
        let e = layout("date_format = \"%F\"\n[columns]\ndate = 0\ndescription = 2\namount = 3\n").unwrap_err();
        assert!(e.to_string().contains("columns.date: 0"), "{e}");
    }
}
