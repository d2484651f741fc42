//! `finbox export`: every transaction, oldest first, streamed as CSV, JSON
//! or a ledger journal (hledger / ledger), so people can take their data along.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Local, Utc};
use clap::ValueEnum;

use crate::domain::{Account, AccountId, AccountKind, BankId, Money, Transaction};
use crate::store::Store;

/// Writes a file through `write`, safely: into a new private (0600) file
/// beside `path`, synced, then renamed over it. An existing file is replaced
/// whole (and so private too, whatever its mode was) only once everything
/// was written; an error or an interruption leaves it as it was.
pub fn write_replacing<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| format!("{} names no file", path.display()))?;
    let tmp = dir.join(format!(".{}.finbox-{}.tmp", name.to_string_lossy(), std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&tmp).with_context(|| format!("cannot write {}", path.display()))?;
    let written = (|| {
        let mut out = std::io::BufWriter::new(file);
        let value = write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        anyhow::Ok(value)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One row per transaction, under a header row.
    Csv,
    /// One JSON array, as `finbox transactions --json` gives them.
    Json,
    /// The hledger / ledger journal format.
    Ledger,
}

/// Writes every transaction of the shared banks (or of `bank`) to `out`.
/// Returns how many were written.
/// What an export leaves in or out.
#[derive(Debug, Clone, Copy)]
pub struct ExportOpts {
    /// Pending authorisations too (the journal marks them `!`).
    pub pending: bool,
}

pub fn export(
    store: &Store,
    bank: Option<&BankId>,
    format: Format,
    opts: ExportOpts,
    out: &mut dyn Write,
) -> Result<u64> {
    let shared: Vec<BankId> = store
        .banks()?
        .into_iter()
        .filter(|b| b.bank.consent == crate::domain::ConsentState::Granted)
        .map(|b| b.bank.id)
        .filter(|id| bank.is_none_or(|b| b == id))
        .collect();
    let names: HashMap<BankId, String> = store.banks()?.into_iter().map(|b| (b.bank.id, b.bank.name)).collect();
    let accounts: HashMap<AccountId, Account> =
        store.accounts(None)?.into_iter().filter(|a| shared.contains(&a.bank)).map(|a| (a.id, a)).collect();
    let name_of = |id: &BankId| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut sink = Sink::open(format, out, &accounts, &names)?;
    let total: u64 = accounts.values().map(|a| a.txn_count.max(0) as u64).sum();
    let bar = super::progress::bar(Some(total), "transactions");
    let mut n = 0u64;
    for id in &shared {
        let bank_name = name_of(id);
        store.for_each_transaction(Some(id), |t| {
            let Some(account) = accounts.get(&t.account) else { return Ok(()) };
            if t.is_pending() && !opts.pending {
                return Ok(());
            }
            n += 1;
            if n % 1000 == 0 {
                bar.set_position(n);
            }
            sink.write(&bank_name, account, &t)
        })?;
    }
    bar.finish_and_clear();
    sink.close(&accounts, name_of)?;
    Ok(n)
}

impl<'a> Sink<'a> {
    /// Starts the document: JSON's `[`, CSV's header, the journal's comment.
    fn open(
        format: Format,
        out: &'a mut dyn Write,
        accounts: &'a HashMap<AccountId, Account>,
        names: &'a HashMap<BankId, String>,
    ) -> Result<Sink<'a>> {
        Ok(match format {
            Format::Json => {
                out.write_all(b"[")?;
                Sink::Json { out, first: true }
            }
            Format::Csv => {
                let mut w = Box::new(csv::Writer::from_writer(out));
                w.write_record(CSV_HEADER)?;
                Sink::Csv(w)
            }
            Format::Ledger => {
                writeln!(
                    out,
                    "; finbox export. Amounts are in each account's currency; opening balances\n\
                     ; come from the banks. Check it with: hledger -f FILE balance\n"
                )?;
                Sink::Ledger { out, opened: HashSet::new(), written: HashSet::new(), accounts, names }
            }
        })
    }

    /// One transaction (for a journal, its account's opening balance first).
    fn write(&mut self, bank_name: &str, account: &Account, t: &Transaction) -> std::io::Result<()> {
        match self {
            Sink::Json { out, first } => {
                out.write_all(if *first { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut **out, &super::show::txn_json(t))?;
                *first = false;
            }
            Sink::Csv(w) => w.write_record(csv_row(t)).map_err(csv_io)?,
            Sink::Ledger { out, opened, written, accounts, names } => {
                if opened.insert(t.account) {
                    write_opening(*out, bank_name, account, t.posted_at)?;
                }
                let pair = t.transfer.as_ref().and_then(|l| Some((l.id?, l.other_account?)));
                match pair {
                    // A transfer is one entry between the two accounts,
                    // written at its first leg.
                    Some((id, _)) if !written.insert(id) => {}
                    Some((_, other)) if accounts.contains_key(&other) => {
                        let o = &accounts[&other];
                        let o_bank = names.get(&o.bank).map(String::as_str).unwrap_or(o.bank.as_str());
                        if opened.insert(other) {
                            write_opening(*out, o_bank, o, t.posted_at)?;
                        }
                        write_ledger_transfer(*out, (bank_name, account), t, Some((o_bank, o)))?;
                    }
                    Some(_) => write_ledger_transfer(*out, (bank_name, account), t, None)?,
                    None => write_ledger_txn(*out, bank_name, account, t)?,
                }
            }
        }
        Ok(())
    }

    /// Ends the document (for a journal, the opening balances of accounts
    /// with no transactions) and flushes it.
    fn close(self, accounts: &HashMap<AccountId, Account>, name_of: impl Fn(&BankId) -> String) -> Result<()> {
        match self {
            Sink::Json { out, first } => {
                out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
            Sink::Csv(mut w) => w.flush()?,
            Sink::Ledger { out, opened, .. } => {
                let mut quiet: Vec<&Account> = accounts.values().filter(|a| !opened.contains(&a.id)).collect();
                quiet.sort_by_key(|a| a.id);
                for a in quiet {
                    write_opening(out, &name_of(&a.bank), a, Utc::now())?;
                }
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// A transaction as a CSV record (text cells defused, amounts numbers).
fn csv_row(t: &Transaction) -> [String; 17] {
    [
        t.id.to_string(),
        cell(t.bank.as_str()),
        cell(&t.account_external_id),
        cell(&t.external_id),
        t.posted_at.to_rfc3339(),
        t.amount.to_decimal_string(),
        t.amount.minor.to_string(),
        cell(&t.amount.currency.to_string()),
        cell(&t.merchant),
        cell(&t.category),
        cell(&t.channel.to_string()),
        cell(&t.country),
        t.status.to_string(),
        t.authorized_at.map(|a| a.to_rfc3339()).unwrap_or_default(),
        t.transfer.as_ref().and_then(|l| l.id).map(|id| id.to_string()).unwrap_or_default(),
        t.reverses.map(|id| id.to_string()).unwrap_or_default(),
        t.reversed_by.map(|id| id.to_string()).unwrap_or_default(),
    ]
}

const CSV_HEADER: [&str; 17] = [
    "id",
    "bank",
    "account",
    "external_id",
    "posted_at",
    "amount",
    "amount_minor",
    "currency",
    "merchant",
    "category",
    "channel",
    "country",
    "status",
    "authorized_at",
    "transfer_id",
    "reverses",
    "reversed_by",
];

/// A text cell of the CSV export, safe to open in a spreadsheet: one that
/// starts like a formula (`=`, `+`, `-`, `@`, a tab or a carriage return)
/// gets a leading `'`, so the spreadsheet shows it as text instead of
/// running it (OWASP's advice against CSV injection).
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() }
}

/// A CSV error as the I/O error underneath it (so a closed pipe stays one).
fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Json {
        out: &'a mut dyn Write,
        first: bool,
    },
    /// `opened`: the accounts whose opening balance is written;
    /// `written`: the transfers written (at their first leg).
    Ledger {
        out: &'a mut dyn Write,
        opened: HashSet<AccountId>,
        written: HashSet<i64>,
        accounts: &'a HashMap<AccountId, Account>,
        names: &'a HashMap<BankId, String>,
    },
}

/// A ledger account name: no colons (they separate levels), no runs of
/// spaces (two spaces end the name), no comment or note characters.
fn ledger_name(s: &str) -> String {
    let cleaned: String = s.chars().map(|c| if matches!(c, ':' | ';' | '|' | '\t') { '-' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ledger_account(bank: &str, a: &Account) -> String {
    let top = if a.kind == AccountKind::Credit { "Liabilities" } else { "Assets" };
    let digits: String = a.mask.chars().filter(char::is_ascii_digit).collect();
    format!("{top}:{}:{} {digits}", ledger_name(bank), ledger_name(&a.name))
}

/// `$1234.56`, `-$5.00`, `1234 JPY`: no digit grouping, so every tool parses it.
fn ledger_amount(m: Money) -> String {
    let decimal = m.to_decimal_string();
    if m.currency.code() == "USD" {
        match decimal.strip_prefix('-') {
            Some(abs) => format!("-${abs}"),
            None => format!("${decimal}"),
        }
    } else {
        format!("{decimal} {}", m.currency)
    }
}

fn date(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d").to_string()
}

fn write_opening(out: &mut dyn Write, bank: &str, a: &Account, at: DateTime<Utc>) -> std::io::Result<()> {
    writeln!(
        out,
        "{} * Opening balance\n    {}  {}\n    Equity:Opening Balances\n",
        date(at),
        ledger_account(bank, a),
        ledger_amount(a.opening)
    )
}

/// A transaction's entry. The bank's id goes in the entry's code, `(…)`
/// after the status, always: a description that itself starts with `(`
/// ("(ATM) Cash", finbox's own "(no description)") is then read whole,
/// not taken for a code by hledger and ledger.
/// A pending authorisation is written with `!` (not yet cleared), so
/// `hledger balance -C` gives the ledger balance and `hledger balance` the
/// available one. A disputed charge's credit goes back against the same
/// expense, so the two net to nothing in the income statement.
fn write_ledger_txn(out: &mut dyn Write, bank: &str, a: &Account, t: &Transaction) -> std::io::Result<()> {
    let other = if t.amount.is_negative() || t.reverses.is_some() { "Expenses" } else { "Income" };
    writeln!(
        out,
        "{}\n    {}  {}\n    {other}:{}\n",
        entry_head(t),
        ledger_account(bank, a),
        ledger_amount(t.amount),
        ledger_name(&t.category),
    )
}

/// The first line of an entry: date, status, the bank's id as the code.
fn entry_head(t: &Transaction) -> String {
    let status = if t.is_pending() { '!' } else { '*' };
    let payee = t.merchant.replace('|', "/");
    let code: String = t.external_id.chars().map(|c| if matches!(c, '(' | ')' | ';') { '-' } else { c }).collect();
    format!("{} {status} ({code}) {payee}  ; id:{}", date(t.posted_at), t.external_id.replace(';', ","))
}

/// A transfer between the user's accounts: one entry, from one account to
/// the other (`Assets:Chase:Checking` → `Liabilities:Chase:Sapphire`), no
/// income or expense. When the other account is not in the export (another
/// bank's, not exported), the other side is `Equity:Transfers`.
fn write_ledger_transfer(
    out: &mut dyn Write,
    (bank, a): (&str, &Account),
    t: &Transaction,
    other: Option<(&str, &Account)>,
) -> std::io::Result<()> {
    let to = match other {
        Some((b, o)) => ledger_account(b, o),
        None => "Equity:Transfers".to_string(),
    };
    writeln!(out, "{}\n    {}  {}\n    {to}\n", entry_head(t), ledger_account(bank, a), ledger_amount(t.amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn ledger_names_and_amounts_are_safe() {
        assert_eq!(ledger_name("Rent:  Parkside; Apt|2"), "Rent- Parkside- Apt-2");
        assert_eq!(ledger_amount(Money::new(-5420, Currency::USD)), "-$54.20");
        assert_eq!(ledger_amount(Money::new(123456, Currency::USD)), "$1234.56");
        assert_eq!(ledger_amount(Money::new(1200, Currency::new("JPY").unwrap())), "1200 JPY");
    }

    #[test]
    fn text_cells_that_would_run_as_formulas_are_neutralised() {
        for evil in ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3+cmd|x", "\tx", "\rx"] {
            assert_eq!(cell(evil), format!("'{evil}"), "{evil:?}");
        }
        for fine in ["Whole Foods", "7-Eleven", "", "'quoted", "café = good"] {
            assert_eq!(cell(fine), fine);
        }
    }
}
