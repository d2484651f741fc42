//! Transactions: stored once by the bank's id, the running balance moved
//! in the same transaction, announced in the thread unless history.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction as SqlTx, params};

use super::facts::Facts;
use super::history::Tally;
use super::pending::{self, Stored};
use super::{AccountRef, Batch, BatchReport, Outcome, account::account, refuse};
use super::{held, rules, transfer};
use crate::domain::event::{Envelope, TxnInfo};
use crate::domain::text::clean_line;
use crate::domain::{BankId, Currency, MessageKind, Money, Sender, when};
use crate::store::message::NewMessage;
use crate::store::{Grant, Result, StoreError, day_of};

/// A bank's transaction on one of its accounts (as the user's rules made
/// it), with its [`Facts`] and its merchant as stored: what the ingest
/// functions that store, hold, match and settle it pass along.
#[derive(Clone, Copy)]
pub(super) struct Incoming<'a> {
    pub(super) bank: &'a BankId,
    pub(super) acct: AccountRef,
    pub(super) t: &'a TxnInfo,
    pub(super) merchant: &'a str,
    pub(super) facts: &'a Facts,
}

impl<'a> Incoming<'a> {
    /// `facts` are `t`'s.
    pub(super) fn new(bank: &'a BankId, acct: AccountRef, t: &'a TxnInfo, facts: &'a Facts) -> Incoming<'a> {
        Incoming { bank, acct, t, merchant: facts.merchant(t), facts }
    }

    /// Whether it is a leg of a transfer, and how it is known (see
    /// [`transfer::kind`]).
    pub(super) fn transfer(&self) -> Option<&'static str> {
        self.facts.transfer
    }
}

pub(super) struct RunningBalance {
    pub(super) currency: Currency,
    pub(super) balance: i64,
    pub(super) added: i64,
    /// Balance at the end of each touched day.
    pub(super) days: Vec<(i64, i64)>,
    /// When the opening balance held (see migration 5): transactions
    /// posted before it move the opening balance, not the balance.
    pub(super) history_from: Option<i64>,
    /// What such transactions moved the opening balance by in this batch.
    pub(super) opening_delta: i64,
    /// History arrived: the account's daily balances are rebuilt.
    pub(super) rebuild_days: bool,
    /// What pending authorisations moved the available balance by in this
    /// batch (added, posted, released).
    pub(super) pending: i64,
    /// The account has (or may have) pending rows: a posting is matched
    /// against them. Without any, that look-up is skipped.
    pub(super) has_pending: bool,
    /// Something to write back (a posting or a release moves no count).
    pub(super) changed: bool,
}

/// A transaction: stored once (a replay with other content goes to the
/// quarantine), announced in the thread unless it is history. A pending
/// authorisation is stored as pending; its posting, under the same id or
/// another that matches, turns that row into the posted one.
pub(super) fn apply_txn(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    env: &Envelope,
    (t, facts): (&TxnInfo, &Facts),
    shared: Grant,
    now: DateTime<Utc>,
    report: &mut BatchReport,
) -> Result<Outcome> {
    // The user's rules first: the transaction is stored as they make it
    // (and its facts are the made one's).
    let ruled = if b.rules.is_empty() { None } else { rules::ruled(&b.rules, facts.merchant(t), t) };
    let ruled = ruled.map(|r| {
        let facts = Facts::of_txn(&r.txn);
        (r, facts)
    });
    let (t, facts) = match &ruled {
        Some((r, facts)) => (&r.txn, facts),
        None => (t, facts),
    };
    b.hidden = ruled.as_ref().is_some_and(|(r, _)| r.hide);
    b.ruled = ruled.is_some();
    let outcome = apply_as(tx, b, env, t, facts, (shared, now), report)?;
    b.hidden = false;
    b.ruled = false;
    if let (Some((r, _)), Outcome::Applied) = (&ruled, &outcome) {
        rules::mark(tx, &env.bank, r)?;
    }
    Ok(outcome)
}

fn apply_as(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    env: &Envelope,
    t: &TxnInfo,
    facts: &Facts,
    (shared, now): (Grant, DateTime<Utc>),
    report: &mut BatchReport,
) -> Result<Outcome> {
    let bank = &env.bank;
    let Some(acct) = account(tx, b, bank, &t.account)? else {
        return Ok(Outcome::Refused(format!("unknown account {:?}", clean_line(&t.account, 40))));
    };
    if let Err(reason) = validate_txn(t, acct, now) {
        return Ok(Outcome::Refused(reason));
    }
    let x = Incoming::new(bank, acct, t, facts);
    // An authorisation held back in this batch: its posting (the same id,
    // the same account) settles it; anything else under its id finds it
    // stored, as it came.
    match b.held.take(bank, &t.external_id) {
        Some(h) if !t.pending && h.acct().id == acct.id => {
            // Held, so its id is not stored.
            if !held::settle(tx, b, x, h, shared, report)? {
                return Err(StoreError::Corrupt(format!("held authorisation {} was stored meanwhile", t.external_id)));
            }
            return Ok(Outcome::Applied);
        }
        Some(h) => held::write(tx, b, h)?,
        None => {}
    }
    // A posting for an authorisation stored (or held) under another id.
    // Only a card charge on an account with pending rows looks, and only for
    // an id not yet stored (a replayed posting must not take another
    // authorisation: settling finds its id stored and leaves it).
    let card = matches!(t.channel, crate::domain::Channel::CardPresent | crate::domain::Channel::Online);
    if !t.pending
        && card
        && running_for(tx, b, acct)?.has_pending
        && let Some(auth) = pending::matching(tx, b, x)?
    {
        let settled = match b.held.take_id(auth.id) {
            Some(h) => held::settle(tx, b, x, h, shared, report)?,
            None => pending::post(tx, b, x, &auth, shared, report)?,
        };
        if settled {
            return Ok(Outcome::Applied);
        }
    }
    // A new authorisation waits for its posting (see `held`).
    if t.pending && held::hold(tx, b, x, shared, report)? {
        return Ok(Outcome::Applied);
    }
    match insert_txn(tx, b, x)? {
        None => return stored_again(tx, b, env, x, (shared, now), report),
        Some(txn_id) => {
            report.transactions += 1;
            if t.pending {
                report.pending += 1;
            } else if x.transfer().is_some() {
                transfer::pair(tx, txn_id, acct, t)?;
            } else {
                b.observe(x, txn_id);
            }
            let at = t.posted_at.timestamp();
            if t.notify && at < shared.since {
                // History: summed up in one note, not replayed.
                b.history.entry(bank.clone()).or_insert_with(|| Tally::new(shared)).add(at);
            } else if t.notify {
                let text = transaction_notice(tx, b, acct.id, t, x.merchant)?;
                NewMessage::new(bank, Sender::Bank, MessageKind::Transaction, t.posted_at, &text)
                    .txn(txn_id)
                    .insert(tx)?;
                report.messages += 1;
            }
        }
    }
    Ok(Outcome::Applied)
}

/// A transaction id stored already: the posting of a stored authorisation,
/// an authorisation adjusted, a late replay of an authorisation that has
/// posted, or (posted again) the first version stands.
fn stored_again(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    env: &Envelope,
    x: Incoming,
    (shared, now): (Grant, DateTime<Utc>),
    report: &mut BatchReport,
) -> Result<Outcome> {
    let Incoming { bank, acct, t, .. } = x;
    let stored: Option<Stored> = pending::stored(tx, bank, &t.external_id)?;
    match stored {
        Some(auth) if auth.pending && auth.account == acct.id && !t.pending => {
            // The row has the posting's id: it is the one stored.
            if !pending::post(tx, b, x, &auth, shared, report)? {
                return Err(StoreError::Corrupt(format!("pending transaction {} could not post", auth.id)));
            }
        }
        Some(auth) if auth.pending && auth.account == acct.id && auth.amount != t.amount.minor => {
            pending::adjust(tx, b, acct, &auth, t)?;
            report.pending_adjusted += 1;
        }
        Some(s) if !s.pending && t.pending => report.duplicates += 1,
        stored => {
            report.replayed_transactions += 1;
            b.replayed.insert((bank.clone(), t.external_id.clone()));
            match stored.and_then(|s| differs_from_stored(&s, x)) {
                Some(reason) => refuse(tx, report, env, now, reason, true)?,
                None => report.duplicates += 1,
            }
        }
    }
    Ok(Outcome::Applied)
}

pub(super) fn validate_txn(t: &TxnInfo, acct: AccountRef, now: DateTime<Utc>) -> Result<(), String> {
    // Blank: all whitespace (asked a character at a time: an id's first
    // ends it, where `trim` looked at both ends of every id).
    if t.external_id.chars().all(char::is_whitespace) || t.external_id.len() > 128 {
        return Err("transaction id must be 1-128 characters".into());
    }
    if t.amount.currency != acct.currency {
        return Err(format!("amount in {} for an account in {}", t.amount.currency, acct.currency));
    }
    if !when::posted_in_range(t.posted_at, now) {
        return Err(format!("posted date {} is outside 1990-01-01 … today", t.posted_at.format("%Y-%m-%d")));
    }
    Ok(())
}

/// The rule for a transaction id delivered again with other content (a
/// bank's correction; a pending authorisation that posts is not one, see
/// `pending`): **the first version stands**. Balances, alerts and the
/// conversation were built on it; the later version is refused into the
/// quarantine with what differs, so the user sees it, and a replay of it is
/// listed once. Never two rows.
pub(super) fn differs_from_stored(stored: &Stored, x: Incoming) -> Option<String> {
    let Incoming { acct, t, merchant, .. } = x;
    let mut diffs = Vec::new();
    if stored.amount != t.amount.minor {
        diffs.push(format!("amount {} → {}", Money::new(stored.amount, acct.currency), t.amount));
    }
    if stored.posted_at != t.posted_at.timestamp() {
        diffs.push("posting time".to_string());
    }
    if stored.merchant != merchant {
        diffs.push("merchant".to_string());
    }
    if stored.account != acct.id {
        diffs.push("account".to_string());
    }
    (!diffs.is_empty()).then(|| {
        format!("differs from the stored transaction with this id ({}); the first version stands", diffs.join(", "))
    })
}

/// Inserts a transaction unless its external id is already stored; moves the
/// running balance. Returns the new row id.
pub(super) fn insert_txn(tx: &SqlTx<'_>, b: &mut Batch, x: Incoming) -> Result<Option<i64>> {
    let Incoming { acct, t, merchant, facts, .. } = x;
    let running = running_for(tx, b, acct)?;
    // History before the opening balance's time moves the opening balance;
    // an authorisation moves neither, only what is available.
    let history = !t.pending && running.history_from.is_some_and(|h| t.posted_at.timestamp() < h);
    let overflow = || {
        crate::store::StoreError::Money(crate::domain::MoneyError::Overflow(format!(
            "balance of account {} + {}",
            acct.id, t.amount
        )))
    };
    // History before the opening balance's time: the opening balance
    // counted it already, so it moves back by it and the balance stays.
    let (new_balance, opening_delta) = if t.pending {
        (running.balance, running.opening_delta)
    } else if history {
        (running.balance, running.opening_delta.checked_sub(t.amount.minor).ok_or_else(overflow)?)
    } else {
        (running.balance.checked_add(t.amount.minor).ok_or_else(overflow)?, running.opening_delta)
    };
    let Some(id) = insert_row(tx, b, x, None)? else {
        return Ok(None);
    };
    let running = b.running.get_mut(&acct.id).expect("loaded above");
    running.balance = new_balance;
    running.opening_delta = opening_delta;
    running.added += 1;
    if t.pending {
        running.authorised(acct, t.amount)?;
        let auth = Stored {
            id,
            account: acct.id,
            pending: true,
            posted_at: t.posted_at.timestamp(),
            amount: t.amount.minor,
            merchant: merchant.to_string(),
            category: facts.category(t).to_string(),
        };
        pending::remember(b, auth, &facts.words);
        return Ok(Some(id));
    }
    if history {
        running.rebuild_days = true;
        return Ok(Some(id));
    }
    let day = day_of(t.posted_at.timestamp());
    match running.days.last_mut() {
        Some((d, bal)) if *d == day => *bal = new_balance,
        _ => running.days.push((day, new_balance)),
    }
    Ok(Some(id))
}

/// Writes a transaction's row and its search entry, unless its id is
/// stored already; `authorized` is when and how much was authorised, for a
/// posting that settles an authorisation held back in this batch. Returns
/// the new row id. Balances are the caller's.
pub(super) fn insert_row(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    x: Incoming,
    authorized: Option<(i64, Option<i64>)>,
) -> Result<Option<i64>> {
    let Incoming { bank, acct, t, merchant, facts } = x;
    let (category, country) = (facts.category(t), facts.country(t));
    let n = b.insert_txn.execute(params![
        bank.as_str(),
        acct.id,
        t.external_id,
        t.posted_at.timestamp(),
        t.amount.minor,
        t.amount.currency.code(),
        merchant,
        category,
        t.channel.as_str(),
        country,
        if t.pending { "pending" } else { "posted" },
        x.transfer(),
        authorized.map(|a| a.0),
        authorized.and_then(|a| a.1),
    ])?;
    if n == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    b.insert_fts.execute(params![id, merchant, category])?;
    Ok(Some(id))
}

impl RunningBalance {
    /// An authorisation stored (or held): it moves what is available, not
    /// the ledger balance.
    pub(super) fn authorised(&mut self, acct: AccountRef, amount: Money) -> Result<()> {
        self.pending = self.pending.checked_add(amount.minor).ok_or_else(|| pending::overflow(acct, amount))?;
        self.has_pending = true;
        Ok(())
    }
}

pub(super) fn running_for<'a>(tx: &SqlTx<'_>, b: &'a mut Batch, acct: AccountRef) -> Result<&'a mut RunningBalance> {
    use std::collections::hash_map::Entry;
    match b.running.entry(acct.id) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let (balance, history_from, has_pending): (i64, Option<i64>, bool) = tx
                .prepare_cached(
                    "SELECT balance_minor, history_from,
                            EXISTS (SELECT 1 FROM transactions INDEXED BY transactions_pending
                                    WHERE account_id = ?1 AND status = 'pending')
                     FROM balances JOIN accounts ON accounts.id = account_id
                     WHERE account_id = ?1",
                )?
                .query_row([acct.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(e.insert(RunningBalance {
                currency: acct.currency,
                balance,
                added: 0,
                days: Vec::new(),
                history_from,
                opening_delta: 0,
                rebuild_days: false,
                pending: 0,
                has_pending,
                changed: false,
            }))
        }
    }
}

pub(super) fn flush_balances(tx: &SqlTx<'_>, b: &Batch, now: DateTime<Utc>) -> Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE balances SET balance_minor = ?2, txn_count = txn_count + ?3, updated_at = ?4, currency = ?5,
                pending_minor = pending_minor + ?6
         WHERE account_id = ?1",
    )?;
    let mut history = tx.prepare_cached(
        "INSERT INTO balance_history (account_id, day, balance_minor) VALUES (?1, ?2, ?3)
         ON CONFLICT(account_id, day) DO UPDATE SET balance_minor = excluded.balance_minor",
    )?;
    for (id, r) in &b.running {
        if r.added == 0 && !r.changed {
            continue;
        }
        update.execute(params![id, r.balance, r.added, now.timestamp(), r.currency.code(), r.pending])?;
        if r.opening_delta != 0 {
            tx.prepare_cached("UPDATE accounts SET opening_minor = opening_minor + ?2 WHERE id = ?1")?
                .execute(params![id, r.opening_delta])?;
        }
        if r.rebuild_days {
            rebuild_days(tx, *id)?;
            continue;
        }
        for (day, bal) in &r.days {
            history.execute(params![id, day, bal])?;
        }
    }
    Ok(())
}

/// Recomputes an account's end-of-day balances from its opening balance and
/// every transaction: after history arrived, every later day moved. Only
/// imports of older statements take this path.
pub(super) fn rebuild_days(tx: &SqlTx<'_>, account: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM balance_history WHERE account_id = ?1")?.execute([account])?;
    tx.prepare_cached(
        "INSERT INTO balance_history (account_id, day, balance_minor)
         SELECT ?1, day, (SELECT opening_minor FROM accounts WHERE id = ?1) + sum(moved) OVER (ORDER BY day)
         FROM (SELECT posted_at / 86400 AS day, sum(amount_minor) AS moved
               FROM transactions WHERE account_id = ?1 AND status = 'posted' GROUP BY posted_at / 86400)",
    )?
    .execute([account])?;
    Ok(())
}

pub(super) fn transaction_notice(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    account_id: i64,
    t: &TxnInfo,
    merchant: &str,
) -> Result<String> {
    let label = b.label(tx, account_id)?;
    let amount = t.amount.abs();
    use crate::domain::Channel;
    if t.pending {
        let what = if t.amount.is_negative() { "charge" } else { "credit" };
        return Ok(format!("Pending {what}: {amount} at {merchant} ({label}), authorised; not yet posted."));
    }
    Ok(match (t.channel, t.amount.is_negative()) {
        (Channel::Transfer, true) => format!("Transfer out: {amount}, {merchant} ({label})."),
        (Channel::Transfer, false) => format!("Transfer in: {amount}, {merchant} ({label})."),
        (_, false) => format!("Deposit: {amount} from {merchant} to {label}."),
        (channel, true) => {
            let how = match channel {
                Channel::CardPresent => "Card purchase",
                Channel::Online => "Online purchase",
                Channel::Atm => "ATM withdrawal",
                _ => "Payment",
            };
            format!("{how}: {amount} at {merchant} ({label}).")
        }
    })
}
