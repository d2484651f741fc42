//! Reads. Everything here returns small windows: keyset pages by
//! `(posted_at, id)`, never OFFSET, and text search through FTS5.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::{Result, Store, StoreError, from_unix};
use crate::domain::*;

/// The position after which the next (older) page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnCursor {
    pub posted_at: i64,
    pub id: i64,
}

impl From<&Transaction> for TxnCursor {
    fn from(t: &Transaction) -> Self {
        TxnCursor { posted_at: t.posted_at.timestamp(), id: t.id.0 }
    }
}

/// Which transactions to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct TxnFilter {
    pub bank: Option<BankId>,
    pub account: Option<AccountId>,
    /// Words to find in the merchant or category (prefix match per word).
    /// Matches come most recently recorded first (for feeds, that is newest
    /// first; an import of an old statement comes before older records).
    pub search: Option<String>,
    /// Only transactions strictly older than this position.
    pub before: Option<TxnCursor>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySpend {
    pub category: String,
    /// Money spent (positive).
    pub spent: Money,
    pub count: i64,
}

/// Turns a domain parse error in column `idx` into a rusqlite conversion
/// error, so rows map straight to domain types.
pub(super) fn conv<T, E: std::error::Error + Send + Sync + 'static>(
    idx: usize,
    r: std::result::Result<T, E>,
) -> rusqlite::Result<T> {
    r.map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

const BANK_COLS: &str =
    "b.id, b.name, b.color, b.feed_kind, b.consent, b.consent_at, b.epoch, b.consent_expires_at, b.scopes";

fn bank_row(r: &Row<'_>) -> rusqlite::Result<Bank> {
    Ok(Bank {
        id: conv(0, BankId::new(&r.get::<_, String>(0)?))?,
        name: r.get(1)?,
        color: r.get(2)?,
        feed_kind: r.get(3)?,
        consent: conv(4, ConsentState::parse(&r.get::<_, String>(4)?))?,
        consent_changed_at: r.get::<_, Option<i64>>(5)?.map(from_unix),
        epoch: r.get(6)?,
        consent_expires_at: r.get::<_, Option<i64>>(7)?.map(from_unix),
        scopes: conv(8, Scopes::parse(&r.get::<_, String>(8)?).map_err(StoreError::Corrupt))?,
    })
}

const ACCOUNT_COLS: &str = "a.id, a.bank_id, a.external_id, a.name, a.kind, a.mask, a.currency, a.opening_minor,
     bal.balance_minor, bal.reported_minor, bal.txn_count, bal.pending_minor, c.mask, c.frozen";
/// Accounts with their balances and card (`a`, `bal`, `c`).
const ACCOUNT_FROM: &str =
    "accounts a JOIN balances bal ON bal.account_id = a.id LEFT JOIN cards c ON c.account_id = a.id";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let currency = conv(6, Currency::new(&r.get::<_, String>(6)?))?;
    Ok(Account {
        id: AccountId(r.get(0)?),
        bank: conv(1, BankId::new(&r.get::<_, String>(1)?))?,
        external_id: r.get(2)?,
        name: r.get(3)?,
        kind: conv(4, AccountKind::parse(&r.get::<_, String>(4)?))?,
        mask: format!("•{}", r.get::<_, String>(5)?),
        opening: Money::new(r.get(7)?, currency),
        balance: Money::new(r.get(8)?, currency),
        reported: r.get::<_, Option<i64>>(9)?.map(|m| Money::new(m, currency)),
        txn_count: r.get(10)?,
        pending: Money::new(r.get(11)?, currency),
        card: match r.get::<_, Option<String>>(12)? {
            Some(mask) => {
                Some(CardMark { mask: format!("•{mask}"), frozen: r.get::<_, Option<bool>>(13)? == Some(true) })
            }
            None => None,
        },
    })
}

pub(super) const TXN_COLS: &str =
    "t.id, t.bank_id, t.account_id, a.external_id, t.external_id, t.posted_at, t.amount_minor,
     t.currency, t.merchant, t.category, t.channel, t.country, t.status, t.authorized_at, t.authorized_minor,
     t.transfer_kind, t.transfer_id, o.id, oa.name, oa.mask, t.reversed_by, t.reverses, o.account_id,
     t.rule, t.original_merchant";
/// The other leg of a transfer (`o`, its account `oa`), after the joins
/// that choose the rows (SQLite keeps the order of LEFT JOINs).
pub(super) const TXN_OTHER_LEG: &str = " LEFT JOIN transactions o ON o.transfer_id = t.transfer_id AND o.id <> t.id
     LEFT JOIN accounts oa ON oa.id = o.account_id";

pub(super) fn txn_row(r: &Row<'_>) -> rusqlite::Result<Transaction> {
    let currency = conv(7, Currency::new(&r.get::<_, String>(7)?))?;
    Ok(Transaction {
        id: TxnId(r.get(0)?),
        bank: conv(1, BankId::new(&r.get::<_, String>(1)?))?,
        account: AccountId(r.get(2)?),
        account_external_id: r.get(3)?,
        external_id: r.get(4)?,
        posted_at: from_unix(r.get(5)?),
        amount: Money::new(r.get(6)?, currency),
        merchant: r.get(8)?,
        category: r.get(9)?,
        channel: conv(10, Channel::parse(&r.get::<_, String>(10)?))?,
        country: r.get(11)?,
        status: conv(12, TxnStatus::parse(&r.get::<_, String>(12)?))?,
        authorized_at: r.get::<_, Option<i64>>(13)?.map(from_unix),
        authorized: r.get::<_, Option<i64>>(14)?.map(|m| Money::new(m, currency)),
        transfer: match r.get::<_, Option<String>>(15)? {
            None => None,
            Some(_) => Some(TransferLeg {
                id: r.get(16)?,
                other_txn: r.get::<_, Option<i64>>(17)?.map(TxnId),
                other_account: r.get::<_, Option<i64>>(22)?.map(AccountId),
                other: match (r.get::<_, Option<String>>(18)?, r.get::<_, Option<String>>(19)?) {
                    (Some(name), Some(mask)) => Some(format!("{name} •{mask}")),
                    _ => None,
                },
            }),
        },
        reversed_by: r.get::<_, Option<i64>>(20)?.map(TxnId),
        reverses: r.get::<_, Option<i64>>(21)?.map(TxnId),
        rule: r.get(23)?,
        original_merchant: r.get(24)?,
    })
}

pub(super) const ALERT_COLS: &str =
    "al.id, al.bank_id, al.account_id, a.external_id, al.txn_id, al.reason, al.severity, al.status,
     al.created_at, al.decided_at, t.merchant, t.amount_minor, t.currency, t.posted_at, c.mask, a.name, a.mask";

pub(super) fn alert_row(r: &Row<'_>) -> rusqlite::Result<FraudAlert> {
    Ok(FraudAlert {
        id: AlertId(r.get(0)?),
        bank: conv(1, BankId::new(&r.get::<_, String>(1)?))?,
        account: AccountId(r.get(2)?),
        account_external_id: r.get(3)?,
        txn: TxnId(r.get(4)?),
        reason: r.get(5)?,
        severity: Severity::from_level(r.get(6)?),
        status: conv(7, AlertStatus::parse(&r.get::<_, String>(7)?))?,
        created_at: from_unix(r.get(8)?),
        decided_at: r.get::<_, Option<i64>>(9)?.map(from_unix),
        merchant: r.get(10)?,
        amount: Money::new(r.get(11)?, conv(12, Currency::new(&r.get::<_, String>(12)?))?),
        posted_at: from_unix(r.get(13)?),
        card_mask: r.get::<_, Option<String>>(14)?.map(|m| format!("•{m}")),
        account_label: format!("{} •{}", r.get::<_, String>(15)?, r.get::<_, String>(16)?),
    })
}

pub(super) const ALERT_FROM: &str = "FROM alerts al
     JOIN transactions t ON t.id = al.txn_id
     JOIN accounts a ON a.id = al.account_id
     LEFT JOIN cards c ON c.account_id = al.account_id";

/// Turns user words into an FTS5 query: each word a quoted prefix term, all
/// required. Quotes are doubled so no FTS syntax can be injected.
pub(super) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Store {
    /// All banks in list order, with their counts.
    pub fn banks(&self) -> Result<Vec<BankSummary>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BANK_COLS},
                (SELECT count(*) FROM accounts WHERE bank_id = b.id),
                (SELECT count(*) FROM (SELECT 1 FROM messages WHERE bank_id = b.id AND read = 0 LIMIT ?1)),
                (SELECT count(*) FROM alerts WHERE bank_id = b.id AND status = 'open')
             FROM banks b ORDER BY b.position, b.id"
        ))?;
        let rows = stmt.query_map([UNREAD_CAP], |r| {
            Ok(BankSummary { bank: bank_row(r)?, accounts: r.get(9)?, unread: r.get(10)?, open_alerts: r.get(11)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn bank(&self, id: &BankId) -> Result<Bank> {
        self.bank_named(id.as_str())
    }

    /// The bank a person named, in any case (`Chase` is `chase`): an id that
    /// is not even well formed is as unknown as one that is not in the store.
    pub fn bank_named(&self, id: &str) -> Result<Bank> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {BANK_COLS} FROM banks b WHERE b.id = ?1"))?
            .query_row([id.to_lowercase()], bank_row)
            .optional()?;
        row.ok_or_else(|| StoreError::UnknownBank(id.to_string()))
    }

    /// Accounts with their balances, of one bank or of all, in bank order.
    pub fn accounts(&self, bank: Option<&BankId>) -> Result<Vec<Account>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACCOUNT_COLS} FROM {ACCOUNT_FROM}
             JOIN banks b ON b.id = a.bank_id
             WHERE ?1 IS NULL OR a.bank_id = ?1
             ORDER BY b.position, a.id"
        ))?;
        let rows = stmt.query_map([bank.map(BankId::as_str)], account_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn account(&self, id: AccountId) -> Result<Account> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM {ACCOUNT_FROM} WHERE a.id = ?1"))?
            .query_row([id.0], account_row)
            .optional()?;
        row.ok_or_else(|| StoreError::Ambiguous(format!("no account {id}")))
    }

    /// Finds an account by its bank's id for it (`chk`) or its row id, within
    /// one bank if given.
    pub fn find_account(&self, bank: Option<&BankId>, key: &str) -> Result<Account> {
        let matches: Vec<Account> =
            self.accounts(bank)?.into_iter().filter(|a| a.external_id == key || a.id.0.to_string() == key).collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one")),
            0 => Err(StoreError::Ambiguous(format!(
                "no account {key:?}{}; `finbox balances` lists accounts",
                bank.map(|b| format!(" at {b}")).unwrap_or_default()
            ))),
            _ => Err(StoreError::Ambiguous(format!("several banks have an account {key:?}; add --bank"))),
        }
    }

    /// One page of transactions, newest first.
    pub fn transactions(&self, f: &TxnFilter) -> Result<Vec<Transaction>> {
        let mut sql = format!("SELECT {TXN_COLS} FROM transactions t JOIN accounts a ON a.id = t.account_id");
        let mut wheres: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(search) = &f.search {
            let Some(q) = fts_query(search) else { return Ok(Vec::new()) };
            sql.push_str(" JOIN transactions_fts fts ON fts.rowid = t.id");
            wheres.push("transactions_fts MATCH ?");
            args.push(q.into());
        }
        sql.push_str(TXN_OTHER_LEG);
        if let Some(bank) = &f.bank {
            wheres.push("t.bank_id = ?");
            args.push(bank.as_str().to_string().into());
        }
        if let Some(account) = f.account {
            wheres.push("t.account_id = ?");
            args.push(account.0.into());
        }
        // A search walks the index newest-recorded first (FTS5 hands out rowids
        // in order and stops at the limit); a listing walks (posted_at, id).
        if let Some(c) = f.before {
            if f.search.is_some() {
                wheres.push("t.id < ?");
            } else {
                wheres.push("(t.posted_at, t.id) < (?, ?)");
                args.push(c.posted_at.into());
            }
            args.push(c.id.into());
        }
        if !wheres.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wheres.join(" AND "));
        }
        sql.push_str(if f.search.is_some() {
            " ORDER BY fts.rowid DESC LIMIT ?"
        } else {
            " ORDER BY t.posted_at DESC, t.id DESC LIMIT ?"
        });
        args.push((f.limit.max(1) as i64).into());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), txn_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Calls `f` with every transaction (of one bank, if given), oldest
    /// first, streaming rows rather than loading them. Returns how many.
    pub fn for_each_transaction(
        &self,
        bank: Option<&BankId>,
        mut f: impl FnMut(Transaction) -> std::io::Result<()>,
    ) -> Result<u64> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TXN_COLS} FROM transactions t JOIN accounts a ON a.id = t.account_id {TXN_OTHER_LEG}
             WHERE ?1 IS NULL OR t.bank_id = ?1 ORDER BY t.posted_at, t.id"
        ))?;
        let mut rows = stmt.query([bank.map(BankId::as_str)])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            f(txn_row(row)?)?;
            n += 1;
        }
        Ok(n)
    }

    /// Open alerts, most severe and newest first; with `all`, decided ones after.
    pub fn alerts(&self, all: bool, limit: usize) -> Result<Vec<FraudAlert>> {
        // The queue shows open alerts of shared banks; `all` shows every alert kept.
        let filter = if all {
            ""
        } else {
            "WHERE al.status = 'open' AND al.bank_id IN (SELECT id FROM banks WHERE consent = 'granted')"
        };
        // Open ones walk the (status, severity, created_at, id) index backwards.
        let order = if all {
            "al.status = 'open' DESC, al.severity DESC, al.created_at DESC, al.id DESC"
        } else {
            "al.severity DESC, al.created_at DESC, al.id DESC"
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {ALERT_COLS} {ALERT_FROM} {filter} ORDER BY {order} LIMIT ?1"))?;
        let rows = stmt.query_map([limit as i64], alert_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn alert(&self, id: AlertId) -> Result<FraudAlert> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {ALERT_COLS} {ALERT_FROM} WHERE al.id = ?1"))?
            .query_row([id.0], alert_row)
            .optional()?;
        row.ok_or(StoreError::UnknownAlert(id))
    }

    /// Refused records, newest first.
    pub fn quarantine(&self, limit: usize) -> Result<Vec<Quarantined>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bank_id, at, record, reason FROM quarantine ORDER BY at DESC, id DESC LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Quarantined {
                bank: conv(0, BankId::new(&r.get::<_, String>(0)?))?,
                at: from_unix(r.get(1)?),
                record: r.get(2)?,
                reason: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn quarantine_count(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?)
    }

    pub fn open_alert_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM alerts WHERE status = 'open'
             AND bank_id IN (SELECT id FROM banks WHERE consent = 'granted')",
            [],
            |r| r.get(0),
        )?)
    }

    /// The latest `limit` messages of a bank before `before` (a message
    /// `(at, id)`), returned oldest first for reading top to bottom.
    pub fn messages(&self, bank: &BankId, limit: usize, before: Option<(i64, i64)>) -> Result<Vec<Message>> {
        let (at, id) = before.unwrap_or((i64::MAX, i64::MAX));
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, bank_id, at, sender, kind, text, txn_id, alert_id FROM messages
             WHERE bank_id = ?1 AND (at, id) < (?2, ?3)
             ORDER BY at DESC, id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![bank.as_str(), at, id, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, bank, at, sender, kind, text, txn, alert) = row?;
            out.push(Message {
                id: MessageId(id),
                bank: BankId::new(&bank)?,
                at: from_unix(at),
                from: Sender::parse(&sender)?,
                kind: MessageKind::parse(&kind)?,
                text,
                txn: txn.map(TxnId),
                alert: alert.map(AlertId),
            });
        }
        out.reverse();
        Ok(out)
    }

    pub fn consent_log(&self, bank: Option<&BankId>) -> Result<Vec<ConsentLogEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT bank_id, action, at, detail FROM consent_log WHERE ?1 IS NULL OR bank_id = ?1 ORDER BY at, id",
        )?;
        let rows = stmt.query_map([bank.map(BankId::as_str)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (bank, action, at, detail) = row?;
            out.push(ConsentLogEntry {
                bank: BankId::new(&bank)?,
                action: ConsentAction::parse(&action)?,
                at: from_unix(at),
                detail,
            });
        }
        Ok(out)
    }

    pub fn cards(&self, bank: &BankId) -> Result<Vec<Card>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.bank_id, c.account_id, a.external_id, c.mask, c.kind, c.frozen
             FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.bank_id = ?1 ORDER BY c.id",
        )?;
        let rows = stmt.query_map([bank.as_str()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, bank, account, account_ext, mask, kind, frozen) = row?;
            out.push(Card {
                id: CardId(id),
                bank: BankId::new(&bank)?,
                account: AccountId(account),
                account_external_id: account_ext,
                mask: format!("•{mask}"),
                kind: CardKind::parse(&kind)?,
                frozen,
            });
        }
        Ok(out)
    }

    /// External ids of the bank's accounts whose card is frozen.
    pub fn frozen_accounts(&self, bank: &BankId) -> Result<HashSet<String>> {
        Ok(self.cards(bank)?.into_iter().filter(|c| c.frozen).map(|c| c.account_external_id).collect())
    }

    pub fn feed_cursor(&self, bank: &BankId) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT cursor FROM feed_cursors WHERE bank_id = ?1")?
            .query_row([bank.as_str()], |r| r.get(0))
            .optional()?)
    }

    /// End-of-day balances of an account from `since_day` (days since the
    /// epoch) on, oldest first. Days without transactions are absent.
    pub fn balance_history(&self, account: AccountId, since_day: i64) -> Result<Vec<(i64, Money)>> {
        let currency: String = self
            .conn
            .prepare_cached("SELECT currency FROM accounts WHERE id = ?1")?
            .query_row([account.0], |r| r.get(0))?;
        let currency = Currency::new(&currency)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, balance_minor FROM balance_history WHERE account_id = ?1 AND day >= ?2 ORDER BY day",
        )?;
        let rows = stmt.query_map(params![account.0, since_day], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.into_iter().map(|(d, m)| (d, Money::new(m, currency))).collect())
    }

    /// One end-of-day balance per day from `first_day` to `last_day` (days
    /// since the epoch), carrying the last known balance over quiet days.
    pub fn daily_balances(&self, account: AccountId, first_day: i64, last_day: i64) -> Result<Vec<i64>> {
        if last_day < first_day {
            return Ok(Vec::new());
        }
        let before: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT balance_minor FROM balance_history WHERE account_id = ?1 AND day < ?2 ORDER BY day DESC LIMIT 1",
            )?
            .query_row(params![account.0, first_day], |r| r.get(0))
            .optional()?;
        let mut carry = match before {
            Some(b) => b,
            None => self
                .conn
                .prepare_cached("SELECT opening_minor FROM accounts WHERE id = ?1")?
                .query_row([account.0], |r| r.get(0))
                .optional()?
                .unwrap_or(0),
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, balance_minor FROM balance_history WHERE account_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
        )?;
        let mut known = stmt
            .query_map(params![account.0, first_day, last_day], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .peekable();
        let mut out = Vec::with_capacity((last_day - first_day + 1) as usize);
        for day in first_day..=last_day {
            while let Some((_, bal)) = known.next_if(|(d, _)| *d <= day) {
                carry = bal;
            }
            out.push(carry);
        }
        Ok(out)
    }

    /// Money spent (charges) at a bank since `since`, by category, largest first.
    /// Spending by category since `since`: posted charges, without
    /// transfers between the user's accounts or disputed charges.
    pub fn spending_by_category(&self, bank: &BankId, since: DateTime<Utc>) -> Result<Vec<CategorySpend>> {
        // sum() (not total()) raises an error on integer overflow instead of
        // silently turning into a float.
        let mut stmt = self.conn.prepare_cached(
            "SELECT category, currency, -sum(amount_minor), count(*) FROM transactions
             WHERE bank_id = ?1 AND posted_at >= ?2 AND amount_minor < 0 AND status = 'posted'
               AND transfer_id IS NULL AND reversed_by IS NULL AND reverses IS NULL
             GROUP BY category, currency ORDER BY 3 DESC, category",
        )?;
        let rows = stmt.query_map(params![bank.as_str(), since.timestamp()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (category, currency, minor, count) = row?;
            out.push(CategorySpend { category, spent: Money::new(minor, Currency::new(&currency)?), count });
        }
        Ok(out)
    }

    /// The latest time the store holds: of a transaction, or of a consent
    /// change. Later than now, the clock is behind (two index look-ups).
    pub fn newest_time(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT max(coalesce((SELECT max(posted_at) FROM transactions), 0),
                        coalesce((SELECT max(at) FROM consent_log), 0))",
            [],
            |r| r.get(0),
        )?;
        Ok(t.filter(|&t| t > 0).map(from_unix))
    }

    /// Total balance per currency across every shared bank. Summed in 128
    /// bits here, not by SQLite (whose `sum` fails on overflow): balances
    /// that each fit can never make a total fail.
    pub fn totals(&self) -> Result<Vec<Total>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT bal.currency, bal.balance_minor FROM balances bal
             JOIN accounts a ON a.id = bal.account_id JOIN banks b ON b.id = a.bank_id
             WHERE b.consent = 'granted' ORDER BY bal.currency",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut balances = Vec::new();
        for row in rows {
            let (cur, minor) = row?;
            balances.push(Money::new(minor, Currency::new(&cur)?));
        }
        Ok(Total::by_currency(balances))
    }

    /// Row counts of what a bank shared, for purge reports and tests.
    pub fn shared_row_count(&self, bank: &BankId) -> Result<i64> {
        let mut n = 0;
        for table in [
            "transactions",
            "accounts",
            "cards",
            "messages",
            "history_notices",
            "alerts",
            "disputes",
            "feed_cursors",
            "quarantine",
        ] {
            let c: i64 = self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM {table} WHERE bank_id = ?1{}",
                    // A purge's receipt is finbox's, not something the bank shared.
                    if table == "messages" { " AND kind <> 'receipt'" } else { "" }
                ),
                [bank.as_str()],
                |r| r.get(0),
            )?;
            n += c;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn fts_queries_quote_every_word() {
        assert_eq!(fts_query("whole foods").as_deref(), Some("\"whole\"* \"foods\"*"));
        assert_eq!(fts_query("a\"OR b").as_deref(), Some("\"a\"* \"OR\"* \"b\"*"));
        assert_eq!(fts_query("  -- "), None);
    }
}
