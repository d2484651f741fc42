//! CSV statements, read row by row through a [`CsvLayout`]: which column
//! holds the date (and its format), the amount (signed, or debit and
//! credit), the description, and optionally an id, a category and the
//! running balance. The account is the one the caller names: CSV exports
//! rarely say which account they are of.

use std::io::Read;

use chrono::NaiveDate;

use super::amount;
use super::date::Posted;
use super::ident::{self, Occurrences};
use super::layout::{Amounts, Column, CsvLayout, Sign};
use super::{Options, Problem, Record, StatementAccount, StatementBalance, StatementTxn, date, infer};
use crate::domain::Money;
use crate::domain::event::TxnInfo;

/// What a row without a description is called.
const NO_DESCRIPTION: &str = "(no description)";

/// Reads `input` through `layout` as transactions of `account`, passing the
/// account, then each transaction, then (with a balance column) the
/// newest row's balance as the ledger balance to `on`. Returns a
/// description of the file's format.
pub fn read(
    input: impl Read,
    layout: &CsvLayout,
    account: &StatementAccount,
    opts: &Options,
    on: &mut dyn FnMut(Record) -> Result<(), Problem>,
) -> Result<String, Problem> {
    let mut reader =
        ::csv::ReaderBuilder::new().delimiter(layout.delimiter).has_headers(false).flexible(true).from_reader(input);
    let mut columns = if layout.header { None } else { Some(Resolved::by_number(layout)?) };
    let mut record = ::csv::StringRecord::new();
    let mut records = 0usize;
    let mut rows = 0u64;
    let mut occurrences = Occurrences::default();
    let mut balances = Balances::default();
    on(Record::Account(account.clone()))?;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_problem(e)),
        }
        records += 1;
        let line = record.position().map_or(0, |p| p.line());
        if records <= layout.skip_lines {
            continue;
        }
        let Some(cols) = &columns else {
            columns = Some(Resolved::by_name(&record, layout, line)?);
            continue;
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let row = Row { record: &record, line, cols, layout };
        let posted = row.posted(opts)?;
        let txn = row.transaction(&posted, account, opts, &mut occurrences)?;
        if let Some(balance) = row.balance(account)? {
            balances.see(posted.date, balance);
        }
        rows += 1;
        on(Record::Txn(txn))?;
    }
    if columns.is_none() {
        return Err(Problem::Whole(format!("there is no header row (the {} layout expects one)", layout.name)));
    }
    if rows == 0 {
        return Err(Problem::Whole("there are no transactions in the file, only a header".into()));
    }
    if let Some(balance) = balances.ledger(account, opts) {
        on(Record::Balance(balance))?;
    }
    Ok(format!("CSV, {} layout", layout.name))
}

/// The dates and balances of the first and last rows with a balance.
#[derive(Default)]
struct Balances {
    ends: Option<((NaiveDate, Money), (NaiveDate, Money))>,
}

impl Balances {
    fn see(&mut self, date: NaiveDate, balance: Money) {
        let this = (date, balance);
        self.ends = Some(match self.ends {
            None => (this, this),
            Some((first, _)) => (first, this),
        });
    }

    /// The ledger balance is the newest row's. Which end is newest shows in
    /// the dates; when both ends share a date, it cannot be told.
    fn ledger(&self, account: &StatementAccount, opts: &Options) -> Option<StatementBalance> {
        let ((first_date, first), (last_date, last)) = self.ends?;
        let (day, amount) = match first_date.cmp(&last_date) {
            std::cmp::Ordering::Greater => (first_date, first),
            std::cmp::Ordering::Less => (last_date, last),
            std::cmp::Ordering::Equal => return None,
        };
        let at = date::local_noon(day, opts.utc_offset_secs);
        Some(StatementBalance { account: account.external_id.clone(), available: false, amount, at })
    }
}

/// Column positions, once the header is known.
struct Resolved {
    date: Pos,
    description: Pos,
    amount: (Pos, Option<Pos>),
    id: Option<Pos>,
    category: Option<Pos>,
    balance: Option<Pos>,
    status: Option<Pos>,
}

/// A column's index and how to name it in messages.
struct Pos {
    index: usize,
    label: String,
}

impl Resolved {
    fn build(layout: &CsvLayout, mut find: impl FnMut(&Column) -> Result<Pos, Problem>) -> Result<Self, Problem> {
        let c = &layout.columns;
        let amount = match &c.amount {
            Amounts::Signed(col) => (find(col)?, None),
            Amounts::Split { debit, credit } => (find(debit)?, Some(find(credit)?)),
        };
        Ok(Resolved {
            date: find(&c.date)?,
            description: find(&c.description)?,
            amount,
            id: c.id.as_ref().map(&mut find).transpose()?,
            category: c.category.as_ref().map(&mut find).transpose()?,
            balance: c.balance.as_ref().map(&mut find).transpose()?,
            status: c.status.as_ref().map(&mut find).transpose()?,
        })
    }

    /// Without a header every column is a number (the layout checks that).
    fn by_number(layout: &CsvLayout) -> Result<Self, Problem> {
        Resolved::build(layout, |c| match c {
            Column::Index(i) => Ok(Pos { index: *i, label: format!("column {}", i + 1) }),
            Column::Name(n) => Err(Problem::Whole(format!("column {n:?} needs a header row"))),
        })
    }

    fn by_name(header: &::csv::StringRecord, layout: &CsvLayout, line: u64) -> Result<Self, Problem> {
        let names: Vec<String> = header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect();
        Resolved::build(layout, |c| match c {
            Column::Index(i) => Ok(Pos { index: *i, label: format!("column {}", i + 1) }),
            Column::Name(n) => match names.iter().position(|h| h.eq_ignore_ascii_case(n)) {
                Some(index) => Ok(Pos { index, label: format!("column {n:?}") }),
                None => {
                    let found: Vec<String> = names
                        .iter()
                        .map(|h| crate::domain::text::clean_line(h, 30))
                        .filter(|h| !h.is_empty())
                        .collect();
                    Err(Problem::at(
                        line,
                        format!(
                            "the header has no column {n:?} (it has {}); is {} the right layout?",
                            if found.is_empty() { "none".into() } else { found.join(", ") },
                            layout.name
                        ),
                    ))
                }
            },
        })
    }
}

struct Row<'a> {
    record: &'a ::csv::StringRecord,
    line: u64,
    cols: &'a Resolved,
    layout: &'a CsvLayout,
}

impl Row<'_> {
    /// The row's date, which must not be in the future.
    fn posted(&self, opts: &Options) -> Result<Posted, Problem> {
        let posted = self
            .layout
            .date_format
            .parse(self.field(&self.cols.date), opts.utc_offset_secs)
            .map_err(|why| Problem::at(self.line, why))?;
        date::check_range(posted.at, opts.now).map_err(|why| Problem::at(self.line, why))?;
        Ok(posted)
    }

    /// The row as a transaction of `account`, dated `posted`.
    fn transaction(
        &self,
        posted: &Posted,
        account: &StatementAccount,
        opts: &Options,
        occurrences: &mut Occurrences,
    ) -> Result<StatementTxn, Problem> {
        let cols = self.cols;
        let amount = self.amount(account)?;
        let description = match self.field(&cols.description).trim() {
            "" => NO_DESCRIPTION.to_string(),
            d => d.to_string(),
        };
        let channel = infer::channel(None, &description, amount);
        let category = match cols.category.as_ref().map(|c| self.field(c).trim()) {
            Some(c) if !c.is_empty() => c.to_string(),
            _ => infer::category(channel).to_string(),
        };
        let (external_id, derived) = match cols.id.as_ref().map(|c| self.field(c).trim()) {
            Some(id) if !id.is_empty() => (ident::bank_txn(&account.external_id, id), false),
            _ => (occurrences.derived_id(&account.external_id, posted.date, amount, &description), true),
        };
        Ok(StatementTxn {
            info: TxnInfo {
                account: account.external_id.clone(),
                external_id,
                posted_at: posted.at,
                amount,
                country: infer::country(&description, &opts.home_country),
                merchant: description,
                category,
                channel,
                notify: false,
                // Some banks' exports list authorisations too ("Pending").
                pending: cols.status.as_ref().is_some_and(|c| self.field(c).trim().eq_ignore_ascii_case("pending")),
                transfer: false,
            },
            derived,
            line: self.line,
        })
    }

    /// The running balance the row gives, if the layout has a balance
    /// column and the row fills it.
    fn balance(&self, account: &StatementAccount) -> Result<Option<Money>, Problem> {
        let Some(col) = &self.cols.balance else { return Ok(None) };
        let text = self.field(col);
        if text.trim().is_empty() {
            return Ok(None);
        }
        let balance = self.money(text, col, account)?;
        signed(balance, self.layout.sign, self.line).map(Some)
    }

    fn field(&self, pos: &Pos) -> &str {
        self.record.get(pos.index).unwrap_or_default()
    }

    fn money(&self, text: &str, pos: &Pos, account: &StatementAccount) -> Result<Money, Problem> {
        amount::parse(text, self.layout.number, account.currency)
            .map_err(|why| Problem::at(self.line, format!("{why} ({})", pos.label)))
    }

    /// The signed amount: negative when money leaves the account.
    fn amount(&self, account: &StatementAccount) -> Result<Money, Problem> {
        match &self.cols.amount {
            (col, None) => {
                let text = self.field(col);
                if text.trim().is_empty() {
                    return Err(Problem::at(self.line, format!("there is no amount ({})", col.label)));
                }
                signed(self.money(text, col, account)?, self.layout.sign, self.line)
            }
            (debit, Some(credit)) => {
                let (d, c) = (self.field(debit), self.field(credit));
                if d.trim().is_empty() && c.trim().is_empty() {
                    let labels = format!("{} and {}", debit.label, credit.label);
                    return Err(Problem::at(self.line, format!("there is no amount ({labels} are both empty)")));
                }
                let part = |text: &str, pos: &Pos| -> Result<i64, Problem> {
                    if text.trim().is_empty() {
                        Ok(0)
                    } else {
                        // Checked: the one amount whose size i64 cannot hold
                        // is refused, not read a cent short.
                        self.money(text, pos, account)?
                            .minor
                            .checked_abs()
                            .ok_or_else(|| Problem::at(self.line, "the amount is too large"))
                    }
                };
                let minor = part(c, credit)?
                    .checked_sub(part(d, debit)?)
                    .ok_or_else(|| Problem::at(self.line, "the amount is too large"))?;
                Ok(Money::new(minor, account.currency))
            }
        }
    }
}

/// Applies the layout's sign convention.
fn signed(m: Money, sign: Sign, line: u64) -> Result<Money, Problem> {
    match sign {
        Sign::NegativeIsOut => Ok(m),
        Sign::PositiveIsOut => m
            .minor
            .checked_neg()
            .map(|minor| Money::new(minor, m.currency))
            .ok_or_else(|| Problem::at(line, "the amount is too large")),
    }
}

fn csv_problem(e: ::csv::Error) -> Problem {
    let text = e.to_string();
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => Problem::from_io(io),
        _ => match line {
            Some(line) => Problem::at(line, text),
            None => Problem::Whole(text),
        },
    }
}
