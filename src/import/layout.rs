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
    ("discover-card", include_str!("../../assets/import/discover-card.toml")),
    ("generic", include_str!("../../assets/import/generic.toml")),
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
}

impl Columns {
    /// The header names this layout needs, for matching a file's header.
    pub fn names(&self) -> Vec<&str> {
        let amount = match &self.amount {
            Amounts::Signed(c) => vec![c],
            Amounts::Split { debit, credit } => vec![debit, credit],
        };
        [Some(&self.date), Some(&self.description), self.id.as_ref(), self.category.as_ref(), self.balance.as_ref()]
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
        let key = |k: &str, why: String| err(format!("{k}: {why}"));
        let raw: RawLayout =
            toml::from_str(text).map_err(|e| err(crate::domain::text::describe_toml_error(&e, text)))?;
        if raw.about.trim().is_empty() {
            return Err(key("about", "is empty; say which export this layout reads".into()));
        }
        if let Some(bank) = &raw.bank
            && crate::domain::BankId::new(bank).is_err()
        {
            return Err(key("bank", format!("{bank:?} is not a bank id (lowercase letters, digits, '-', '_')")));
        }
        let account_kind = AccountKind::parse(&raw.account_kind).map_err(|_| {
            key("account_kind", format!("{:?} is not one of checking, savings, credit", raw.account_kind))
        })?;
        let delimiter = match raw.delimiter.as_str() {
            "tab" | "\t" => b'\t',
            d if d.len() == 1
                && d.is_ascii()
                && !d.bytes().any(|b| b.is_ascii_alphanumeric() || b.is_ascii_control() || b == b'"') =>
            {
                d.as_bytes()[0]
            }
            d => return Err(key("delimiter", format!("{d:?} must be one character such as \",\", \";\" or \"tab\""))),
        };
        if raw.skip_lines > 1000 {
            return Err(key("skip_lines", format!("{} is more than 1000", raw.skip_lines)));
        }
        let date_format = DateFormat::new(&raw.date_format).map_err(|why| key("date_format", why))?;
        let decimal = match raw.decimal.as_str() {
            "." => '.',
            "," => ',',
            d => return Err(key("decimal", format!("{d:?} must be \".\" or \",\""))),
        };
        let thousands = match raw.thousands.as_deref() {
            None => Some(if decimal == '.' { ',' } else { '.' }),
            Some("") => None,
            Some(t @ ("," | "." | " " | "'")) => t.chars().next(),
            Some(t) => {
                return Err(key("thousands", format!("{t:?} must be \",\", \".\", \" \", \"'\" or \"\" (none)")));
            }
        };
        if thousands == Some(decimal) {
            return Err(key("thousands", "must differ from decimal".into()));
        }
        let sign = match raw.sign.as_str() {
            "negative-is-out" => Sign::NegativeIsOut,
            "positive-is-out" => Sign::PositiveIsOut,
            s => return Err(key("sign", format!("{s:?} must be \"negative-is-out\" or \"positive-is-out\""))),
        };
        let currency =
            raw.currency.as_deref().map(Currency::new).transpose().map_err(|e| key("currency", e.to_string()))?;

        let column = |k: &str, c: RawColumn| -> Result<Column, LayoutError> {
            match c {
                RawColumn::Name(n) if !n.trim().is_empty() && raw.header => Ok(Column::Name(n.trim().to_string())),
                RawColumn::Name(n) if !raw.header => Err(key(
                    &format!("columns.{k}"),
                    format!("{n:?}: without a header (header = false) columns are numbers, 1 for the first"),
                )),
                RawColumn::Name(_) => Err(key(&format!("columns.{k}"), "is empty".into())),
                RawColumn::Number(i) if (1..=1000).contains(&i) => Ok(Column::Index(i as usize - 1)),
                RawColumn::Number(i) => {
                    Err(key(&format!("columns.{k}"), format!("{i} is not a column number (1 is the first)")))
                }
            }
        };
        let c = raw.columns;
        let amount = match (c.amount, c.debit, c.credit) {
            (Some(a), None, None) => Amounts::Signed(column("amount", a)?),
            (None, Some(d), Some(cr)) => {
                if sign != Sign::NegativeIsOut {
                    return Err(key("sign", "applies to a signed amount column, not to debit and credit".into()));
                }
                Amounts::Split { debit: column("debit", d)?, credit: column("credit", cr)? }
            }
            _ => {
                return Err(key(
                    "columns",
                    "give either amount (one signed column) or both debit and credit, not both".into(),
                ));
            }
        };
        let columns = Columns {
            date: column("date", c.date)?,
            description: column("description", c.description)?,
            amount,
            id: c.id.map(|v| column("id", v)).transpose()?,
            category: c.category.map(|v| column("category", v)).transpose()?,
            balance: c.balance.map(|v| column("balance", v)).transpose()?,
        };
        Ok(CsvLayout {
            name: name.to_string(),
            about: crate::domain::text::clean_line(&raw.about, 120),
            bank: raw.bank,
            account_kind,
            delimiter,
            skip_lines: raw.skip_lines,
            header: raw.header,
            date_format,
            number: NumberFormat { decimal, thousands },
            sign,
            currency,
            columns,
            source: source.to_string(),
        })
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

    pub fn get(&self, name: &str) -> Option<&CsvLayout> {
        self.list.iter().find(|l| l.name == name)
    }

    /// The layouts whose named columns all appear in `head`'s header row,
    /// the most specific (most columns) first.
    pub fn matching(&self, head: &str) -> Vec<&CsvLayout> {
        let mut fits: Vec<(usize, &CsvLayout)> = self
            .list
            .iter()
            .filter(|l| l.header)
            .filter_map(|l| {
                let header = header_row(head, l)?;
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
        assert_eq!(layouts.names(), "chase-checking, citi-card, discover-card, generic");
        let fits = |head: &str| layouts.matching(head).iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        assert_eq!(fits("Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"), ["chase-checking"]);
        assert_eq!(fits("\"Status\",\"Date\",\"Description\",\"Debit\",\"Credit\"\n"), ["citi-card"]);
        assert_eq!(fits("Trans. Date,Post Date,Description,Amount,Category\n"), ["discover-card"]);
        assert_eq!(fits("date,description,amount\n"), ["generic"]);
        assert!(fits("Foo,Bar\n").is_empty());
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
