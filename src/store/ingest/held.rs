//! Authorisations held back within a batch. A feed catching up delivers an
//! authorisation and, a day to three later in its time, the posting that
//! settles it, often in the same batch. Written as they come, the
//! authorisation is stored pending (its row, search entry and notice) and
//! then turned into the posting (the row and its indexes again, the notice
//! again): a third of the charges written twice. Held back, it is written
//! once, as the posted row that keeps what was authorised; a batch is one
//! transaction, so nothing outside it sees the state between its events.
//!
//! Its effects on the batch are those of a stored authorisation from the
//! moment it comes (the available balance, the counts, the account's
//! pending look-ups); only its writes wait. One that anything else in the
//! batch touches (a replay, an adjustment, a fraud signal, a receipt) is
//! written as it came just before. At the batch's end, one already stale
//! (it would be released at once) is released without being written, and
//! the others are written in the order they came.

use foldhash::HashMap;

use rusqlite::Transaction as SqlTx;

use super::facts::Facts;
use super::pending::{self, Stored};
use super::txn::{Incoming, insert_row, running_for, transaction_notice};
use super::{AccountRef, Batch, BatchReport};
use crate::domain::event::TxnInfo;
use crate::domain::{BankId, MessageKind, Sender};
use crate::store::message::NewMessage;
use crate::store::{Grant, Result, StoreError};

/// Where held authorisations' places in the pending look-ups start: above
/// any row id, so a row stored earlier comes first among equals.
const HELD_IDS: i64 = 1 << 62;

/// An authorisation not yet written.
pub(super) struct Held {
    bank: BankId,
    acct: AccountRef,
    txn: TxnInfo,
    facts: Facts,
    /// Its place in the account's pending look-ups until written.
    id: i64,
    /// Its notice is in the thread (counted when it came).
    notice: bool,
}

impl Held {
    pub(super) fn acct(&self) -> AccountRef {
        self.acct
    }

    fn merchant(&self) -> &str {
        self.facts.merchant(&self.txn)
    }

    /// It as it came, to be written.
    fn incoming(&self) -> Incoming<'_> {
        Incoming::new(&self.bank, self.acct, &self.txn, &self.facts)
    }

    /// It as the pending rules look at a stored authorisation.
    fn stored(&self) -> Stored {
        Stored {
            id: self.id,
            account: self.acct.id,
            pending: true,
            posted_at: self.txn.posted_at.timestamp(),
            amount: self.txn.amount.minor,
            merchant: self.merchant().to_string(),
            category: self.facts.category(&self.txn).to_string(),
        }
    }
}

/// The batch's held authorisations, in the order they came (a held one's
/// place in the pending look-ups is [`HELD_IDS`] + its index here).
#[derive(Default)]
pub(super) struct HeldBack {
    order: Vec<Option<Held>>,
    /// By the bank's id for it (looked up for every transaction, without
    /// building a key), then the bank.
    by_key: HashMap<String, Vec<(BankId, usize)>>,
}

impl HeldBack {
    /// Empty, its room kept (see `ingest::Buffers`).
    pub(super) fn clear(&mut self) {
        self.order.clear();
        self.by_key.clear();
    }

    fn take_at(&mut self, i: usize) -> Option<Held> {
        let h = self.order.get_mut(i)?.take()?;
        if let Some(banks) = self.by_key.get_mut(h.txn.external_id.as_str()) {
            banks.retain(|(b, _)| *b != h.bank);
            if banks.is_empty() {
                self.by_key.remove(h.txn.external_id.as_str());
            }
        }
        Some(h)
    }

    fn index(&self, bank: &BankId, external_id: &str) -> Option<usize> {
        self.by_key.get(external_id)?.iter().find(|(b, _)| b == bank).map(|(_, i)| *i)
    }

    pub(super) fn take(&mut self, bank: &BankId, external_id: &str) -> Option<Held> {
        let i = self.index(bank, external_id)?;
        self.take_at(i)
    }

    /// Holds `h` again, in the place it had (taken, then not settled).
    fn put_back(&mut self, h: Held) {
        let i = usize::try_from(h.id - HELD_IDS).expect("a held place");
        self.by_key.entry(h.txn.external_id.clone()).or_default().push((h.bank.clone(), i));
        self.order[i] = Some(h);
    }

    /// The held authorisation with this place in the pending look-ups.
    pub(super) fn take_id(&mut self, id: i64) -> Option<Held> {
        let i = usize::try_from(id.checked_sub(HELD_IDS)?).ok()?;
        self.take_at(i)
    }

    /// The newest time among the bank's held authorisations.
    pub(super) fn newest(&self, bank: &BankId) -> Option<i64> {
        self.order.iter().flatten().filter(|h| h.bank == *bank).map(|h| h.txn.posted_at.timestamp()).max()
    }

    /// Takes the bank's held authorisations from before `cutoff`, in the
    /// order they came.
    pub(super) fn take_older(&mut self, bank: &BankId, cutoff: i64) -> Vec<Held> {
        let old: Vec<usize> = (0..self.order.len())
            .filter(|&i| {
                self.order[i].as_ref().is_some_and(|h| h.bank == *bank && h.txn.posted_at.timestamp() < cutoff)
            })
            .collect();
        old.into_iter().filter_map(|i| self.take_at(i)).collect()
    }
}

/// Holds back the authorisation `t` (new to the store: the caller checked)
/// with the effects of storing it. False when it is to be written now: a
/// rule made it (the rule's mark goes on the stored row), or its id is
/// stored already.
pub(super) fn hold(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    x: Incoming,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<bool> {
    let Incoming { bank, acct, t, facts, .. } = x;
    if !b.hold || b.ruled || pending::is_stored(b, bank, &t.external_id)? {
        return Ok(false);
    }
    // The account's pending look-ups must know it: read them first.
    pending::rows(tx, b, acct.id)?;
    let running = running_for(tx, b, acct)?;
    running.authorised(acct, t.amount)?;
    running.added += 1;
    report.transactions += 1;
    report.pending += 1;
    let at = t.posted_at.timestamp();
    let notice = t.notify && at >= shared.since;
    if t.notify && !notice {
        b.history.entry(bank.clone()).or_insert_with(|| super::history::Tally::new(shared)).add(at);
    } else if notice {
        report.messages += 1;
    }
    let held = &mut b.held;
    let i = held.order.len();
    let h = Held { bank: bank.clone(), acct, txn: t.clone(), facts: facts.clone(), id: HELD_IDS + i as i64, notice };
    let auth = h.stored();
    held.by_key.entry(t.external_id.clone()).or_default().push((bank.clone(), i));
    held.order.push(Some(h));
    pending::remember(b, auth, &facts.words);
    Ok(true)
}

/// Writes the held authorisation with this id, if any, as it came: before
/// anything else looks for it in the store.
pub(super) fn write_touched(tx: &SqlTx<'_>, b: &mut Batch, bank: &BankId, external_id: &str) -> Result<()> {
    match b.held.take(bank, external_id) {
        Some(h) => write(tx, b, h),
        None => Ok(()),
    }
}

/// Writes every authorisation still held, in the order they came.
pub(super) fn write_all(tx: &SqlTx<'_>, b: &mut Batch) -> Result<()> {
    for i in 0..b.held.order.len() {
        if let Some(h) = b.held.take_at(i) {
            write(tx, b, h)?;
        }
    }
    Ok(())
}

/// Stores a held authorisation as pending, with its notice; its effects on
/// balances and counts were had when it came.
pub(super) fn write(tx: &SqlTx<'_>, b: &mut Batch, h: Held) -> Result<()> {
    let Some(id) = insert_row(tx, b, h.incoming(), None)? else {
        return Err(StoreError::Corrupt(format!("held authorisation {} was stored meanwhile", h.txn.external_id)));
    };
    if let Some(c) = pending::cached(b, h.acct.id, h.id) {
        c.row.id = id;
    }
    if h.notice {
        let text = transaction_notice(tx, b, h.acct.id, &h.txn, h.merchant())?;
        NewMessage::new(&h.bank, Sender::Bank, MessageKind::Transaction, h.txn.posted_at, &text).txn(id).insert(tx)?;
    }
    Ok(())
}

/// A held authorisation that is stale at its batch's end (it never
/// posted within [`pending::RELEASE_AFTER_DAYS`] of the bank's newest
/// time) is released without being written: its notice stays in the
/// thread, as a released one's does, and the release is said.
pub(super) fn release(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    h: Held,
    grant: Grant,
    newest: i64,
    report: &mut BatchReport,
) -> Result<()> {
    if h.notice {
        let text = transaction_notice(tx, b, h.acct.id, &h.txn, h.merchant())?;
        NewMessage::new(&h.bank, Sender::Bank, MessageKind::Transaction, h.txn.posted_at, &text).insert(tx)?;
    }
    pending::released(tx, b, &h.bank, grant, h.acct, &h.stored(), newest, report)
}

/// The posting `t` settles the held authorisation `h`: one row, written
/// posted, keeping when and how much was authorised, with the notice the
/// authorisation's would have become (or the posting's own, as
/// [`pending::post`] writes it). False when the posting's id is stored
/// already (a replayed posting settles nothing): `h` is held again, as it
/// was, and nothing is written.
pub(super) fn settle(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    x: Incoming,
    h: Held,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<bool> {
    let Incoming { bank, t, .. } = x;
    let auth = h.stored();
    let authorized = (auth.posted_at, (auth.amount != t.amount.minor).then_some(auth.amount));
    // Written first: the row's unique id is the check that the posting is
    // new (one look-up, not two).
    let Some(id) = insert_row(tx, b, x, Some(authorized))? else {
        b.held.put_back(h);
        return Ok(false);
    };
    pending::forget(b, &auth);
    pending::settled(tx, b, x, &auth, id, report)?;
    if h.notice {
        let text = pending::posting_notice(tx, b, x, &auth)?;
        NewMessage::new(bank, Sender::Bank, MessageKind::Transaction, h.txn.posted_at, &text).txn(id).insert(tx)?;
    } else if t.notify && t.posted_at.timestamp() >= shared.since {
        let text = pending::posting_notice(tx, b, x, &auth)?;
        NewMessage::new(bank, Sender::Bank, MessageKind::Transaction, t.posted_at, &text).txn(id).insert(tx)?;
        report.messages += 1;
    }
    Ok(true)
}
