//! Pending authorisations. A card authorisation is stored `pending`: it
//! moves the available balance, not the ledger balance nor the daily
//! history. When the bank posts it — under the same id, or another id that
//! matches (same account, the amount within the bank's tolerance, on or
//! after the authorisation within [`MATCH_WINDOW_DAYS`], a similar
//! merchant) — that row becomes the posted transaction: never two rows, no
//! quarantine entry, and its notice in the thread says what posted. One
//! that never posts is released after [`RELEASE_AFTER_DAYS`], with a note.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::txn::{Incoming, running_for, transaction_notice};
use super::{AccountRef, Batch, BatchReport, transfer};
use crate::domain::event::TxnInfo;
use crate::domain::text::MAX_NAME_CHARS;
use crate::domain::{BankId, Currency, MessageKind, Money, Sender, when};
use crate::store::message::{NewMessage, account_label};
use crate::store::{Grant, Result, StoreError, day_of, from_unix};

/// How long after its authorisation a posting with another id may come.
pub const MATCH_WINDOW_DAYS: i64 = 10;
/// An authorisation that has not posted after this long is released.
pub const RELEASE_AFTER_DAYS: i64 = 14;
/// An authorisation of at most this much ($1.00) is a hold (a fuel pump's,
/// a card check): any posted amount may follow it.
const HOLD_MAX_MINOR: i64 = 100;

/// A stored transaction as the pending rules look at it.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) id: i64,
    pub(super) account: i64,
    pub(super) pending: bool,
    pub(super) posted_at: i64,
    pub(super) amount: i64,
    pub(super) merchant: String,
    pub(super) category: String,
}

const STORED_COLS: &str = "id, account_id, status = 'pending', posted_at, amount_minor, merchant, category";

fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: r.get(0)?,
        account: r.get(1)?,
        pending: r.get(2)?,
        posted_at: r.get(3)?,
        amount: r.get(4)?,
        merchant: r.get(5)?,
        category: r.get(6)?,
    })
}

/// The transaction stored under the bank's id, if any.
pub(super) fn stored(tx: &SqlTx<'_>, bank: &BankId, external_id: &str) -> Result<Option<Stored>> {
    Ok(tx
        .prepare_cached(&format!("SELECT {STORED_COLS} FROM transactions WHERE bank_id = ?1 AND external_id = ?2"))?
        .query_row(params![bank.as_str(), external_id], stored_row)
        .optional()?)
}

/// Whether a transaction is stored under the bank's id (read from the
/// unique index alone, without the row): asked of every new authorisation,
/// with the batch's statement.
pub(super) fn is_stored(b: &mut Batch, bank: &BankId, external_id: &str) -> Result<bool> {
    Ok(b.is_stored.exists(params![bank.as_str(), external_id])?)
}

/// The pending authorisation a posting with a new id settles, if one fits:
/// the same name first, then the closest amount, then the oldest.
pub(super) fn matching(tx: &SqlTx<'_>, b: &mut Batch, x: Incoming) -> Result<Option<Stored>> {
    let Incoming { bank, acct, t, merchant, facts } = x;
    let at = t.posted_at.timestamp();
    let tolerance = b.tolerance(tx, bank)?;
    let closer = |s: &Stored| (s.merchant != merchant, (s.amount - t.amount.minor).unsigned_abs(), s.posted_at, s.id);
    let best = rows(tx, b, acct.id)?
        .iter()
        .filter(|c| {
            let auth = &c.row;
            auth.posted_at <= at
                && auth.posted_at >= at - MATCH_WINDOW_DAYS * 86_400
                && amount_fits(auth.amount, t.amount.minor, tolerance)
                && facts.words.same_as(&c.words)
        })
        .map(|c| &c.row)
        .min_by_key(|auth| closer(auth));
    Ok(best.cloned())
}

/// A pending row as the batch keeps it, with its merchant's words.
pub(super) struct Cached {
    pub(super) row: Stored,
    words: Words,
}

impl Cached {
    fn new(row: Stored) -> Cached {
        Cached { words: Words::of(&row.merchant), row }
    }
}

/// The account's pending rows as this batch knows them: read once (the
/// batch keeps them current, see `remember`, `forget`).
pub(super) fn rows<'b>(tx: &SqlTx<'_>, b: &'b mut Batch, account: i64) -> Result<&'b mut Vec<Cached>> {
    use std::collections::hash_map::Entry;
    match b.pending.entry(account) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT {STORED_COLS} FROM transactions INDEXED BY transactions_pending
                     WHERE account_id = ?1 AND status = 'pending'"
                ))?
                .query_map([account], stored_row)?
                .map(|r| r.map(Cached::new))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(e.insert(rows))
        }
    }
}

/// A pending row this batch stored: known to the batch's look-ups (when it
/// has read the account's rows already; otherwise the read finds it).
/// `words` are its merchant's.
pub(super) fn remember(b: &mut Batch, auth: Stored, words: &Words) {
    if let Some(rows) = b.pending.get_mut(&auth.account) {
        rows.push(Cached { row: auth, words: *words });
    }
}

/// The batch's copy of the account's pending row `id`, if it has read them.
pub(super) fn cached<'b>(b: &'b mut Batch, account: i64, id: i64) -> Option<&'b mut Cached> {
    b.pending.get_mut(&account)?.iter_mut().find(|c| c.row.id == id)
}

/// A pending row that posted: no longer one to settle.
pub(super) fn forget(b: &mut Batch, auth: &Stored) {
    if let Some(rows) = b.pending.get_mut(&auth.account) {
        rows.retain(|r| r.row.id != auth.id);
    }
}

/// Whether `posted` may settle an authorisation of `auth` (minor units): the
/// same direction, and no more than `tolerance_pct` over it, or any amount
/// after a hold. Less than authorised always fits (a hotel's hold).
pub(crate) fn amount_fits(auth: i64, posted: i64, tolerance_pct: i64) -> bool {
    if (auth < 0) != (posted < 0) || auth == 0 {
        return false;
    }
    let (a, p) = (auth.unsigned_abs() as i128, posted.unsigned_abs() as i128);
    a <= HOLD_MAX_MINOR as i128 || p * 100 <= a * (100 + tolerance_pct.max(0) as i128)
}

/// Whether two merchant names are the same merchant as banks write them
/// ("SQ *JOE'S PIZZA #12" and "Joe's Pizza"): the first significant word of
/// one (three or more letters, not a card processor's prefix or a filler
/// word) is a word of the other. "Blue Bottle Coffee" and "Joe Coffee
/// Company" share a word, but not their first: they are not the same.
#[cfg(test)]
fn same_merchant(a: &str, b: &str) -> bool {
    Words::of(a).same_as(&Words::of(b))
}

/// A merchant name's significant words, lower case, each kept as its
/// 64-bit FNV-1a hash: made for every authorisation and every card posting
/// compared with one, without allocating (as strings they were a third of
/// the look-up for a posting's authorisation in `perf`). Names are cleaned
/// to [`MAX_NAME_CHARS`] characters, so they have at most 20 words of three
/// letters or more; any beyond are not kept.
#[derive(Debug, Clone, Copy)]
pub(super) struct Words {
    hashes: [u64; MAX_WORDS],
    len: usize,
}

const MAX_WORDS: usize = MAX_NAME_CHARS / 4;

/// One byte into a 64-bit FNV-1a hash.
const fn fnv1a_step(h: u64, byte: u8) -> u64 {
    (h ^ byte as u64).wrapping_mul(0x0100_0000_01b3)
}

const FNV1A_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Words that say nothing of the merchant: articles, company forms, card
/// processors' prefixes.
const FILLER_WORDS: [&str; 17] = [
    "the", "inc", "llc", "ltd", "com", "www", "pos", "debit", "purchase", "card", "pending", "sq", "tst", "paypal",
    "sp", "pp", "ach",
];

/// [`FILLER_WORDS`], hashed as [`Words`] keeps words.
const FILLER: [u64; FILLER_WORDS.len()] = {
    let mut out = [0u64; FILLER_WORDS.len()];
    let mut i = 0;
    while i < FILLER_WORDS.len() {
        let (word, mut h, mut k) = (FILLER_WORDS[i].as_bytes(), FNV1A_START, 0);
        while k < word.len() {
            h = fnv1a_step(h, word[k]);
            k += 1;
        }
        out[i] = h;
        i += 1;
    }
    out
};

impl Words {
    /// No words: the same merchant as nothing.
    pub(super) const NONE: Words = Words { hashes: [0; MAX_WORDS], len: 0 };

    pub(super) fn of(s: &str) -> Words {
        let mut words = Words { hashes: [0; MAX_WORDS], len: 0 };
        for w in s.split(|c: char| !c.is_alphanumeric()) {
            if words.len == MAX_WORDS {
                break;
            }
            // The word lower-cased, hashed as its UTF-8 bytes (an ASCII
            // word, nearly every one, a byte at a time).
            let (mut h, mut chars, mut digits) = (FNV1A_START, 0usize, true);
            if w.is_ascii() {
                for byte in w.bytes() {
                    h = fnv1a_step(h, byte.to_ascii_lowercase());
                }
                chars = w.len();
                digits = w.bytes().all(|c| c.is_ascii_digit());
            } else {
                let mut buf = [0u8; 4];
                for c in w.chars().flat_map(char::to_lowercase) {
                    chars += 1;
                    digits &= c.is_ascii_digit();
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        h = fnv1a_step(h, byte);
                    }
                }
            }
            if chars >= 3 && !digits && !FILLER.contains(&h) {
                words.hashes[words.len] = h;
                words.len += 1;
            }
        }
        words
    }

    fn words(&self) -> &[u64] {
        &self.hashes[..self.len]
    }

    fn same_as(&self, other: &Words) -> bool {
        match (self.words().first(), other.words().first()) {
            (Some(fa), Some(fb)) => other.words().contains(fa) || self.words().contains(fb),
            _ => false,
        }
    }
}

/// The authorisation `auth` posts as `t`: one row, now posted, keeping when
/// and how much was authorised; the balances move (available back by the
/// hold, ledger by the posting) and the notice says what posted. False when
/// the posting's id is stored already on another row (a replayed posting
/// settles nothing): nothing is written.
pub(super) fn post(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    x: Incoming,
    auth: &Stored,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<bool> {
    let Incoming { bank, t, merchant, .. } = x;
    let posted_at = t.posted_at.timestamp();
    // The row takes the posting's id: when that id is stored already (a
    // replayed posting), the update is skipped, and that is the check (one
    // look-up, not two).
    let changed = tx
        .prepare_cached(
            "UPDATE OR IGNORE transactions
                SET external_id = ?2, posted_at = ?3, amount_minor = ?4, channel = ?5, country = ?6,
                    status = 'posted', authorized_at = ?7, authorized_minor = CASE WHEN ?8 <> ?4 THEN ?8 END,
                    transfer_kind = ?9, rule = NULL, hidden = 0, original_merchant = NULL, original_category = NULL
             WHERE id = ?1",
        )?
        .execute(params![
            auth.id,
            t.external_id,
            posted_at,
            t.amount.minor,
            t.channel.as_str(),
            x.facts.country(t),
            auth.posted_at,
            auth.amount,
            x.transfer(),
        ])?;
    if changed == 0 {
        return match is_stored(b, bank, &t.external_id)? {
            true => Ok(false),
            false => Err(StoreError::Corrupt(format!("pending transaction {} could not post", auth.id))),
        };
    }
    forget(b, auth);
    // The search index follows a changed merchant or category (its trigger
    // fires on any update that names them, and a search-index delete is
    // not cheap: only when they changed).
    let category = x.facts.category(t);
    if auth.merchant != merchant || auth.category != category {
        tx.prepare_cached("UPDATE transactions SET merchant = ?2, category = ?3 WHERE id = ?1")?
            .execute(params![auth.id, merchant, category])?;
    }
    settled(tx, b, x, auth, auth.id, report)?;
    // Found first, then changed by its row id: an UPDATE that may touch
    // several rows opens a statement journal, and with it the search index
    // flushes what it holds to disk (a third of ingest, measured).
    let notice: Option<i64> = tx
        .prepare_cached("SELECT id FROM messages WHERE txn_id = ?1 AND kind = 'transaction' LIMIT 1")?
        .query_row([auth.id], |r| r.get(0))
        .optional()?;
    if let Some(id) = notice {
        let text = posting_notice(tx, b, x, auth)?;
        tx.prepare_cached("UPDATE messages SET text = ?2 WHERE id = ?1")?.execute(params![id, text])?;
    } else if t.notify && posted_at >= shared.since {
        let text = posting_notice(tx, b, x, auth)?;
        NewMessage::new(bank, Sender::Bank, MessageKind::Transaction, t.posted_at, &text).txn(auth.id).insert(tx)?;
        report.messages += 1;
    }
    Ok(true)
}

/// What settling the authorisation `auth` by the posting `t` (stored as row
/// `row`) does beyond the row: the balances move (available back by the
/// hold, ledger by the posting), the posting counts (a transfer leg looks
/// for its other side; anything else is weighed by the insight pass).
pub(super) fn settled(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    x: Incoming,
    auth: &Stored,
    row: i64,
    report: &mut BatchReport,
) -> Result<()> {
    let Incoming { acct, t, .. } = x;
    let posted_at = t.posted_at.timestamp();
    let r = running_for(tx, b, acct)?;
    r.pending -= auth.amount;
    r.balance = r.balance.checked_add(t.amount.minor).ok_or_else(|| overflow(acct, t.amount))?;
    r.changed = true;
    let (day, balance) = (day_of(posted_at), r.balance);
    match r.days.last_mut() {
        Some((d, bal)) if *d == day => *bal = balance,
        _ => r.days.push((day, balance)),
    }
    report.posted += 1;
    if x.transfer().is_some() {
        transfer::pair(tx, row, acct, t)?;
    } else {
        b.observe(x, row);
    }
    Ok(())
}

/// The notice of a posting that settled `auth`: "Card purchase: $50.40 at
/// Joe's Pizza (…) — posted: $42.00 → $50.40 with tip."
pub(super) fn posting_notice(tx: &SqlTx<'_>, b: &mut Batch, x: Incoming, auth: &Stored) -> Result<String> {
    let Incoming { acct, t, merchant, .. } = x;
    let note = posting_note(Money::new(auth.amount, acct.currency), t.amount, &t.category);
    Ok(format!("{} {note}", transaction_notice(tx, b, acct.id, t, merchant)?.trim_end_matches('.')))
}

/// The bank changed an authorisation's amount before posting it (a hold
/// raised or lowered): the available balance follows.
pub(super) fn adjust(tx: &SqlTx<'_>, b: &mut Batch, acct: AccountRef, auth: &Stored, t: &TxnInfo) -> Result<()> {
    tx.prepare_cached("UPDATE transactions SET amount_minor = ?2 WHERE id = ?1")?
        .execute(params![auth.id, t.amount.minor])?;
    if let Some(c) = cached(b, acct.id, auth.id) {
        c.row.amount = t.amount.minor;
    }
    let r = running_for(tx, b, acct)?;
    r.pending += t.amount.minor - auth.amount;
    r.changed = true;
    Ok(())
}

/// "— posted: $42.00 → $50.40 with tip."
pub(crate) fn posting_note(auth: Money, posted: Money, category: &str) -> String {
    let (a, p) = (auth.abs(), posted.abs());
    if a == p {
        "— posted as authorised.".to_string()
    } else if a.minor <= HOLD_MAX_MINOR {
        format!("— posted: {a} hold → {p}.")
    } else if p.minor > a.minor && crate::domain::takes_tips(category) {
        format!("— posted: {a} → {p} with tip.")
    } else {
        format!("— posted: {a} → {p}.")
    }
}

/// Releases the authorisations of this batch's shared banks that have not
/// posted within [`RELEASE_AFTER_DAYS`]: the row goes (an alert raised on
/// one keeps it), the available balance comes back, and the bank says so
/// unless the authorisation is history.
///
/// The days are counted on the bank's own time, its newest transaction
/// (never past now): a feed that delivers months of history at once must
/// not release an authorisation whose posting is in its next batch.
pub(super) fn release_stale(tx: &SqlTx<'_>, b: &mut Batch, now: DateTime<Utc>, report: &mut BatchReport) -> Result<()> {
    let mut banks: Vec<(BankId, Grant)> =
        b.consent.iter().filter_map(|(bank, g)| g.map(|g| (bank.clone(), g))).collect();
    banks.sort_by(|x, y| x.0.cmp(&y.0));
    // Each bank's newest time, its held authorisations counted; those held
    // ones already stale are released without being written (a row
    // written and deleted in one batch), the others written as they came.
    let mut newest_of = Vec::with_capacity(banks.len());
    for (bank, grant) in banks {
        let stored: Option<i64> = tx
            .prepare_cached("SELECT max(posted_at) FROM transactions WHERE bank_id = ?1")?
            .query_row([bank.as_str()], |r| r.get(0))?;
        let Some(newest) = stored.max(b.held.newest(&bank)).map(|t| t.min(now.timestamp())) else { continue };
        let cutoff = newest - RELEASE_AFTER_DAYS * 86_400;
        for h in b.held.take_older(&bank, cutoff) {
            super::held::release(tx, b, h, grant, newest, report)?;
        }
        newest_of.push((bank, grant, newest));
    }
    super::held::write_all(tx, b)?;
    for (bank, grant, newest) in newest_of {
        let cutoff = newest - RELEASE_AFTER_DAYS * 86_400;
        let stale: Vec<(Stored, String)> = tx
            .prepare_cached(&format!(
                "SELECT {STORED_COLS}, currency FROM transactions t INDEXED BY transactions_pending
                 WHERE bank_id = ?1 AND status = 'pending' AND +posted_at < ?2
                   AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.txn_id = t.id)"
            ))?
            .query_map(params![bank.as_str(), cutoff], |r| Ok((stored_row(r)?, r.get::<_, String>(7)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if stale.is_empty() {
            continue;
        }
        // One statement for the batch's releases: each statement that
        // deletes (its trigger updates the search index) makes the index
        // flush what it holds.
        let ids: Vec<String> = stale.iter().map(|(s, _)| s.id.to_string()).collect();
        tx.execute(&format!("DELETE FROM transactions WHERE id IN ({})", ids.join(",")), [])?;
        for (s, currency) in stale {
            let acct = AccountRef { id: s.account, currency: Currency::new(&currency)? };
            let notices: Vec<i64> = tx
                .prepare_cached("SELECT id FROM messages WHERE txn_id = ?1")?
                .query_map([s.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in notices {
                tx.prepare_cached("UPDATE messages SET txn_id = NULL WHERE id = ?1")?.execute([id])?;
            }
            released(tx, b, &bank, grant, acct, &s, newest, report)?;
        }
    }
    Ok(())
}

/// What releasing the pending row `s` does beyond deleting it: the
/// available balance comes back, and the bank says so unless the
/// authorisation is history.
#[allow(clippy::too_many_arguments)]
pub(super) fn released(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    grant: Grant,
    acct: AccountRef,
    s: &Stored,
    newest: i64,
    report: &mut BatchReport,
) -> Result<()> {
    let r = running_for(tx, b, acct)?;
    r.pending -= s.amount;
    r.added -= 1;
    r.changed = true;
    report.released += 1;
    if s.posted_at >= grant.since {
        let amount = Money::new(s.amount, acct.currency).abs();
        let label = account_label(tx, s.account)?;
        let day = when::long_date(from_unix(s.posted_at), b.zone);
        let text = format!(
            "Released: the {amount} authorisation at {} ({label}) from {day} never posted; \
             it no longer holds your available balance.",
            s.merchant
        );
        NewMessage::new(bank, Sender::Bank, MessageKind::Transaction, from_unix(newest), &text).insert(tx)?;
        report.messages += 1;
    }
    Ok(())
}

pub(super) fn overflow(acct: AccountRef, amount: Money) -> crate::store::StoreError {
    crate::store::StoreError::Money(crate::domain::MoneyError::Overflow(format!(
        "balance of account {} + {amount}",
        acct.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tip_within_the_tolerance_fits_and_more_does_not() {
        assert!(amount_fits(-4200, -5040, 30));
        assert!(amount_fits(-4200, -5460, 30));
        assert!(!amount_fits(-4200, -5461, 30));
        // Less than authorised (a hotel's hold), and anything after a $1 hold.
        assert!(amount_fits(-30_000, -25_000, 30));
        assert!(amount_fits(-100, -4520, 30));
        // Never the other direction.
        assert!(!amount_fits(-4200, 4200, 30));
        assert!(!amount_fits(0, 0, 30));
    }

    #[test]
    fn merchants_match_as_banks_write_them() {
        assert!(same_merchant("SQ *JOE'S PIZZA #12", "Joe's Pizza"));
        assert!(same_merchant("Shell Oil 57442", "SHELL SERVICE STATION"));
        assert!(!same_merchant("Shell Oil", "Exxon Mobil"));
        assert!(!same_merchant("POS DEBIT 1234", "POS DEBIT 5678"));
        assert!(!same_merchant("Blue Bottle Coffee", "Joe Coffee Company"));
        assert!(same_merchant("PAYPAL *GIFTCARDS", "Giftcards London"));
    }

    /// The words as strings, as they were kept before they were hashed.
    fn words_as_strings(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .filter(|w| {
                w.chars().count() >= 3 && !FILLER_WORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit())
            })
            .collect()
    }

    proptest::proptest! {
        /// Hashed, the words answer as the strings did: the same merchant
        /// or not, for names with filler, digits, case and letters that
        /// lower-case to more than one character.
        #[test]
        fn hashed_words_match_as_the_strings_did(
            a in "(SQ \\*|POS |The |Joe's |joes |JOE |Shell |shell |İstanbul |ISTANBUL |Straße |STRASSE |123 |ÉCLAIR |éclair |Inc |[a-zA-Z0-9]{1,5} ){0,5}",
            b in "(SQ \\*|POS |The |Joe's |joes |JOE |Shell |shell |İstanbul |ISTANBUL |Straße |STRASSE |123 |ÉCLAIR |éclair |Inc |[a-zA-Z0-9]{1,5} ){0,5}",
        ) {
            let (wa, wb) = (words_as_strings(&a), words_as_strings(&b));
            let slow = match (wa.first(), wb.first()) {
                (Some(fa), Some(fb)) => wb.contains(fa) || wa.contains(fb),
                _ => false,
            };
            proptest::prop_assert_eq!(same_merchant(&a, &b), slow, "{:?} / {:?}", a, b);
            proptest::prop_assert_eq!(Words::of(&a).words().len(), wa.len());
        }
    }

    #[test]
    fn the_posting_note_says_what_changed() {
        let usd = |m| Money::new(m, Currency::USD);
        assert_eq!(posting_note(usd(-4200), usd(-5040), "Restaurants"), "— posted: $42.00 → $50.40 with tip.");
        assert_eq!(posting_note(usd(-100), usd(-4520), "Fuel"), "— posted: $1.00 hold → $45.20.");
        assert_eq!(posting_note(usd(-30000), usd(-25000), "Travel"), "— posted: $300.00 → $250.00.");
        assert_eq!(posting_note(usd(-999), usd(-999), "Coffee"), "— posted as authorised.");
    }
}
