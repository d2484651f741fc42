//! The running totals of the first pass ([`Statement::scan`]): per account,
//! the transactions' count, sum, dates and the latest balances; for the
//! file, the ids it gives (an id used twice must say the same thing both
//! times) and whether its transactions are in date order.
//!
//! [`Statement::scan`]: super::Statement::scan

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Problem, Record, StatementAccount, StatementBalance, StatementTxn};
use crate::domain::Money;

/// Running totals of the first pass.
#[derive(Default)]
pub(super) struct Totals {
    pub(super) accounts: Vec<AccountTotals>,
    pub(super) transactions: u64,
    pub(super) derived: u64,
    pub(super) first: Option<DateTime<Utc>>,
    pub(super) last: Option<DateTime<Utc>>,
    /// The latest posting time so far, in file order.
    previous: Option<DateTime<Utc>>,
    /// Some transaction came before an earlier-dated one.
    pub(super) unordered: bool,
    /// Each id the file gives, with the line it is on and what it says: an
    /// id used twice must say the same thing both times.
    ids: HashMap<String, Said>,
    /// Transactions the file gives twice, word for word: counted once.
    pub(super) repeated: u64,
}

/// What a transaction with an id says, in little room (a statement may have
/// a million).
struct Said {
    line: u64,
    amount: Money,
    posted_at: DateTime<Utc>,
    /// Of its description and category.
    text: u64,
}

impl Said {
    fn of(t: &StatementTxn) -> Said {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&t.info.merchant, &t.info.category).hash(&mut h);
        Said { line: t.line, amount: t.info.amount, posted_at: t.info.posted_at, text: h.finish() }
    }

    fn same(&self, other: &Said) -> bool {
        (self.amount, self.posted_at, self.text) == (other.amount, other.posted_at, other.text)
    }
}

pub(super) struct AccountTotals {
    pub(super) account: StatementAccount,
    pub(super) transactions: u64,
    pub(super) sum: i64,
    pub(super) first: Option<DateTime<Utc>>,
    pub(super) last: Option<DateTime<Utc>>,
    pub(super) ledger: Option<(Money, DateTime<Utc>)>,
    pub(super) available: Option<(Money, DateTime<Utc>)>,
}

impl Totals {
    fn account(&mut self, id: &str) -> Result<&mut AccountTotals, Problem> {
        self.accounts
            .iter_mut()
            .find(|a| a.account.external_id == id)
            .ok_or_else(|| Problem::Whole(format!("a record of an unknown account {id:?}")))
    }

    pub(super) fn add(&mut self, record: Record) -> Result<(), Problem> {
        match record {
            Record::Account(a) => self.add_account(a),
            Record::Txn(t) => self.add_txn(&t),
            Record::Balance(b) => self.add_balance(&b),
        }
    }

    /// An account the file names: new, or named before as the same kind in
    /// the same currency.
    fn add_account(&mut self, a: StatementAccount) -> Result<(), Problem> {
        match self.accounts.iter().find(|t| t.account.external_id == a.external_id) {
            Some(t) if t.account.kind != a.kind || t.account.currency != a.currency => {
                return Err(Problem::Whole(format!(
                    "account •{} appears twice, as {} in {} and as {} in {}",
                    a.mask, t.account.kind, t.account.currency, a.kind, a.currency
                )));
            }
            Some(_) => {}
            None => self.accounts.push(AccountTotals {
                account: a,
                transactions: 0,
                sum: 0,
                first: None,
                last: None,
                ledger: None,
                available: None,
            }),
        }
        Ok(())
    }

    fn add_txn(&mut self, t: &StatementTxn) -> Result<(), Problem> {
        if !t.derived && self.repeats(t)? {
            // The same transaction twice (overlapping statements in one
            // file): stored once, so counted once.
            self.repeated += 1;
            return Ok(());
        }
        let at = t.info.posted_at;
        let acct = self.account(&t.info.account)?;
        acct.transactions += 1;
        acct.sum = acct
            .sum
            .checked_add(t.info.amount.minor)
            .ok_or_else(|| Problem::Whole("the transactions add up to more than finbox can count".into()))?;
        acct.first = Some(acct.first.map_or(at, |f| f.min(at)));
        acct.last = Some(acct.last.map_or(at, |l| l.max(at)));
        self.transactions += 1;
        self.derived += u64::from(t.derived);
        self.unordered |= self.previous.is_some_and(|p| at < p);
        self.previous = Some(at);
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        Ok(())
    }

    /// Whether `t`, which has an id from the file, repeats word for word the
    /// transaction that first had that id; refused if it says something
    /// else. A new id is remembered.
    fn repeats(&mut self, t: &StatementTxn) -> Result<bool, Problem> {
        let said = Said::of(t);
        match self.ids.get(&t.info.external_id) {
            Some(first) if first.same(&said) => Ok(true),
            Some(first) => {
                let line = first.line;
                Err(Problem::at(
                    t.line,
                    format!(
                        "this transaction has the id of the one on line {line} (FITID or id column) \
                         but says {} on {} where that one says {} on {}: the file contradicts itself, \
                         so nothing of it was imported",
                        t.info.amount,
                        t.info.posted_at.format("%b %-d, %Y"),
                        first.amount,
                        first.posted_at.format("%b %-d, %Y"),
                    ),
                ))
            }
            None => {
                self.ids.insert(t.info.external_id.clone(), said);
                Ok(false)
            }
        }
    }

    fn add_balance(&mut self, b: &StatementBalance) -> Result<(), Problem> {
        let acct = self.account(&b.account)?;
        let slot = if b.available { &mut acct.available } else { &mut acct.ledger };
        // Several statements of one account: the latest balance counts.
        if slot.is_none_or(|(_, at)| b.at >= at) {
            *slot = Some((b.amount, b.at));
        }
        Ok(())
    }
}
