//! What the first pass finds ([`Scan`], an [`AccountSummary`] per account)
//! and the second pass, which reads the file again to produce its events.

use chrono::{DateTime, Utc};

use super::decode::Charset;
use super::totals::AccountTotals;
use super::{ImportError, Options, Problem, Record, SORT_MAX, Statement, StatementAccount, ident};
use crate::domain::event::{AccountInfo, FeedEvent, TxnInfo};
use crate::domain::{AccountKind, MessageKind, Money, when};

/// One account of a scanned statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub account: StatementAccount,
    pub transactions: u64,
    /// The sum of the statement's transactions.
    pub sum: Money,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// The ledger balance and when it was struck, if the file gives one.
    pub ledger: Option<(Money, DateTime<Utc>)>,
    /// The available balance, if the file gives one (shown, not stored).
    pub available: Option<(Money, DateTime<Utc>)>,
    /// What the account opens at if finbox has not seen it before: the
    /// ledger balance less the statement's transactions, or zero.
    pub opening: Money,
}

impl AccountSummary {
    pub(super) fn from_totals(t: AccountTotals) -> Result<AccountSummary, Problem> {
        let currency = t.account.currency;
        let opening = match t.ledger {
            Some((ledger, _)) => ledger.minor.checked_sub(t.sum).ok_or_else(|| {
                Problem::Whole(format!("the opening balance of •{} is more than finbox can count", t.account.mask))
            })?,
            None => 0,
        };
        Ok(AccountSummary {
            sum: Money::new(t.sum, currency),
            opening: Money::new(opening, currency),
            account: t.account,
            transactions: t.transactions,
            first: t.first,
            last: t.last,
            ledger: t.ledger,
            available: t.available,
        })
    }

    /// The account as a feed describes it.
    pub fn info(&self) -> AccountInfo {
        let a = &self.account;
        AccountInfo {
            external_id: a.external_id.clone(),
            name: a.name.clone(),
            kind: a.kind,
            mask: a.mask.clone(),
            opening: self.opening,
            card_mask: (a.kind == AccountKind::Credit).then(|| a.mask.clone()),
            // Only a ledger balance makes the opening balance a fact with a
            // date; without one it is zero, and every transaction counts.
            history_from: self.ledger.and(self.first),
        }
    }
}

/// A statement read once and found sound, ready to produce its events.
#[derive(Debug, Clone)]
pub struct Scan {
    pub(super) statement: Statement,
    pub(super) opts: Options,
    pub(super) charset: Charset,
    pub(super) account: Option<StatementAccount>,
    /// "OFX 1.02 (SGML)", "CSV, chase-checking layout".
    pub version: String,
    /// What the file left out (an empty `<FITID>`, no ledger balance…) and
    /// what finbox took instead, one line each: said with the import, never
    /// silent.
    pub notes: Vec<String>,
    /// The encoding the file was read in ("UTF-8", "windows-1252").
    pub encoding: &'static str,
    pub accounts: Vec<AccountSummary>,
    pub transactions: u64,
    /// Transactions whose id finbox derived (the file gave none).
    pub derived_ids: u64,
    /// Transactions the file lists twice, word for word (counted once).
    pub repeated: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// The file lists transactions out of date order.
    pub(super) unordered: bool,
    pub(super) sha256: [u8; 32],
    pub(super) size: u64,
}

/// "1 transaction", "1,234 transactions".
pub fn count(n: u64, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{} {many}", crate::domain::money::group_thousands(n)),
    }
}

impl Scan {
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// SHA-256 of the file's bytes, in hex.
    pub fn sha256(&self) -> String {
        ident::hex(&self.sha256)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// "Oct 1 – Oct 31, 2026", the span of the transactions' dates (in the
    /// zone of `offset_secs`).
    pub fn period(&self, offset_secs: i32) -> Option<String> {
        Some(when::span(self.first?, self.last?, when::zone(offset_secs)))
    }

    /// What the bank's thread says once the file is in: "Imported 1,234
    /// transactions from statement.ofx (Checking •1234, Oct 1 – Oct 31,
    /// 2026); 12 were already stored." Its id is the file's content, so the
    /// same file is announced once, whichever way it was imported.
    pub fn announcement(&self, file: &str, added: u64, present: u64, at: DateTime<Utc>, offset_secs: i32) -> FeedEvent {
        let mut details: Vec<String> =
            self.accounts.iter().map(|a| format!("{} •{}", a.account.name, a.account.mask)).collect();
        details.extend(self.period(offset_secs));
        let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join(", ")) };
        let present = match present {
            0 => String::new(),
            n => format!("; {} already stored", count(n, "was", "were")),
        };
        let mut text =
            format!("Imported {} from {file}{details}{present}.", count(added, "transaction", "transactions"));
        if !self.notes.is_empty() {
            text.push_str(&format!(" Read with fallbacks: {}.", self.notes.join("; ")));
        }
        FeedEvent::Message {
            external_id: format!("import:{}", &self.sha256()[..16]),
            at,
            kind: MessageKind::Statement,
            text,
        }
    }

    /// Reads the file again and passes its events to `on`: every account,
    /// then every transaction in date order (see [`SORT_MAX`]), then each
    /// account's ledger balance. Fails, having passed on only part, if the
    /// file changed since the scan; callers apply the events in one store
    /// transaction (`finbox import`) or idempotently (the watched folder).
    pub fn events<E: From<ImportError>>(
        &self,
        stop: &dyn Fn() -> bool,
        mut on: impl FnMut(FeedEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        for a in &self.accounts {
            on(FeedEvent::Account(a.info()))?;
        }
        let sort = self.unordered && self.transactions <= SORT_MAX;
        let mut held: Vec<TxnInfo> = Vec::new();
        let mut failed = None;
        let pass = self.statement.pass(self.charset, &self.opts, self.account.as_ref(), stop, &mut |record| {
            if let Record::Txn(t) = record {
                if sort {
                    held.push(t.info);
                } else if let Err(e) = on(FeedEvent::Transaction(t.info)) {
                    failed = Some(e);
                    return Err(Problem::Stopped);
                }
            }
            Ok(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let pass = pass.map_err(|p| self.statement.error(p))?;
        if pass.sha256 != self.sha256 {
            return Err(ImportError::Changed { file: self.statement.shown.clone() }.into());
        }
        // Stable: transactions of one moment keep their order in the file.
        held.sort_by_key(|t| t.posted_at);
        for t in held {
            on(FeedEvent::Transaction(t))?;
        }
        for a in &self.accounts {
            if let Some((balance, at)) = a.ledger {
                on(FeedEvent::Balance { account: a.account.external_id.clone(), at, balance })?;
            }
        }
        Ok(())
    }
}
