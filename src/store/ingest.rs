//! Applying feed events: one `BEGIN IMMEDIATE` transaction per batch,
//! idempotent by the bank's external ids, consent checked per event, and
//! balances moved in the same transaction as the transactions that move them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::{Grant, Result, Store, day_of};
use crate::domain::event::{AccountInfo, Envelope, FeedEvent, TxnInfo};
use crate::domain::text::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, clean_line, clean_text};
use crate::domain::{AccountKind, AlertId, BankId, Currency, MessageKind, Money, Sender, when};

/// A record the store refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub bank: BankId,
    pub record: String,
    pub reason: String,
    /// A transaction delivered again with other content: the first version
    /// stands (kept, not a fault of the batch).
    pub correction: bool,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub accounts: u64,
    pub transactions: u64,
    /// Events already stored (same external id), ignored.
    pub duplicates: u64,
    /// Transactions delivered again (an id already stored), identical or
    /// not: the first version stands. A fraud signal that comes with one
    /// raises nothing new.
    pub replayed_transactions: u64,
    pub messages: u64,
    pub alerts: u64,
    pub balances_reported: u64,
    /// Events for a bank that is not shared (or from a feed started under an
    /// older consent), dropped unwritten.
    pub dropped_no_consent: u64,
    pub rejected: Vec<Rejection>,
    pub new_alerts: Vec<AlertId>,
}

impl BatchReport {
    pub fn merge(&mut self, other: BatchReport) {
        self.accounts += other.accounts;
        self.transactions += other.transactions;
        self.duplicates += other.duplicates;
        self.replayed_transactions += other.replayed_transactions;
        self.messages += other.messages;
        self.alerts += other.alerts;
        self.balances_reported += other.balances_reported;
        self.dropped_no_consent += other.dropped_no_consent;
        self.rejected.extend(other.rejected);
        self.new_alerts.extend(other.new_alerts);
    }
}

#[derive(Clone, Copy)]
struct AccountRef {
    id: i64,
    currency: Currency,
}

struct Running {
    currency: Currency,
    balance: i64,
    added: i64,
    /// Balance at the end of each touched day.
    days: Vec<(i64, i64)>,
    /// When the opening balance held (see migration 5): transactions
    /// posted before it move the opening balance, not the balance.
    history_from: Option<i64>,
    /// What such transactions moved the opening balance by in this batch.
    opening_delta: i64,
    /// History arrived: the account's daily balances are rebuilt.
    rebuild_days: bool,
}

/// Per-batch caches and the hot statements, so a batch of thousands of
/// events does a handful of look-ups instead of one per event.
struct Batch<'t> {
    /// Each bank's epoch while shared, and when it was shared.
    consent: HashMap<BankId, Option<Grant>>,
    /// (bank, account external id) → account; a batch touches a few accounts,
    /// so a short list searched without allocating beats a map.
    accounts: Vec<(BankId, String, Option<AccountRef>)>,
    running: HashMap<i64, Running>,
    /// "Total Checking •4821" per account id, for notices.
    labels: HashMap<i64, String>,
    insert_txn: rusqlite::CachedStatement<'t>,
    insert_fts: rusqlite::CachedStatement<'t>,
    /// History counted in this batch, per bank.
    history: HashMap<BankId, Tally>,
    /// Transactions of this batch that were stored already, by bank and
    /// external id.
    replayed: HashSet<(BankId, String)>,
    /// The user's time zone, for dates in notices.
    zone: FixedOffset,
}

const INSERT_TXN: &str = "INSERT OR IGNORE INTO transactions
       (bank_id, account_id, external_id, posted_at, amount_minor, currency, merchant, category, channel, country)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const INSERT_FTS: &str = "INSERT INTO transactions_fts (rowid, merchant, category) VALUES (?1, ?2, ?3)";
const INSERT_MESSAGE: &str =
    "INSERT OR IGNORE INTO messages (bank_id, external_id, at, sender, kind, text, txn_id, alert_id, read)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Transactions a bank would announce that are history (dated before the
/// bank was shared), counted for the bank's one history note.
struct Tally {
    shared: Grant,
    count: i64,
    first: i64,
    last: i64,
}

impl Tally {
    fn new(shared: Grant) -> Tally {
        Tally { shared, count: 0, first: i64::MAX, last: i64::MIN }
    }

    fn add(&mut self, at: i64) {
        self.count += 1;
        self.first = self.first.min(at);
        self.last = self.last.max(at);
    }
}

impl<'t> Batch<'t> {
    /// "Total Checking •4821", looked up once per account and batch.
    fn label(&mut self, tx: &SqlTx<'_>, account_id: i64) -> Result<String> {
        if let Some(l) = self.labels.get(&account_id) {
            return Ok(l.clone());
        }
        let l = account_label(tx, account_id)?;
        self.labels.insert(account_id, l.clone());
        Ok(l)
    }

    fn new(tx: &'t SqlTx<'_>, zone: FixedOffset) -> Result<Batch<'t>> {
        Ok(Batch {
            zone,
            consent: HashMap::new(),
            accounts: Vec::new(),
            running: HashMap::new(),
            labels: HashMap::new(),
            insert_txn: tx.prepare_cached(INSERT_TXN)?,
            insert_fts: tx.prepare_cached(INSERT_FTS)?,
            history: HashMap::new(),
            replayed: HashSet::new(),
        })
    }
}

impl Store {
    /// Applies a batch of feed events atomically and reports what happened.
    /// Malformed records are rejected with a reason; the rest proceed.
    pub fn apply_batch(&mut self, batch: &[Envelope], now: DateTime<Utc>) -> Result<BatchReport> {
        let mut bulk = self.bulk_write()?;
        bulk.apply(batch, now)?;
        bulk.commit()
    }

    /// Opens one write transaction (`BEGIN IMMEDIATE`) for many batches, so
    /// that an import of any size is applied whole or not at all.
    pub fn bulk_write(&mut self) -> Result<BulkWrite<'_>> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(BulkWrite { tx, report: BatchReport::default(), zone: self.zone })
    }
}

/// A write transaction spanning many batches. Nothing it applied is visible
/// to anyone else until [`BulkWrite::commit`]; dropped or
/// [rolled back](BulkWrite::roll_back), it leaves the store as it was.
pub struct BulkWrite<'s> {
    tx: SqlTx<'s>,
    report: BatchReport,
    /// The user's time zone, for dates in notices.
    zone: FixedOffset,
}

impl BulkWrite<'_> {
    /// Applies a batch inside the transaction; malformed records are
    /// quarantined with a reason and the rest proceed, as in
    /// [`Store::apply_batch`].
    pub fn apply(&mut self, batch: &[Envelope], now: DateTime<Utc>) -> Result<()> {
        let tx = &self.tx;
        let report = &mut self.report;
        let mut b = Batch::new(tx, self.zone)?;
        for env in batch {
            let Some(shared) = shared(tx, &mut b, env, now)? else {
                report.dropped_no_consent += 1;
                continue;
            };
            if let Err(reason) = apply_one(tx, &mut b, env, shared, now, report)? {
                refuse(tx, report, env, now, reason, false)?;
            }
        }
        flush_balances(tx, &b, now)?;
        flush_history(tx, &b, report)
    }

    /// What the batches applied so far did.
    pub fn report(&self) -> &BatchReport {
        &self.report
    }

    /// Makes everything applied durable and visible, at once.
    pub fn commit(self) -> Result<BatchReport> {
        self.tx.commit()?;
        Ok(self.report)
    }

    /// Undoes everything applied (a dry run), returning what it would have
    /// done.
    pub fn roll_back(self) -> Result<BatchReport> {
        self.tx.rollback()?;
        Ok(self.report)
    }
}

/// Puts a refused record in the quarantine, in the same transaction; a
/// replay of the same bad record is not listed twice.
fn refuse(
    tx: &SqlTx<'_>,
    report: &mut BatchReport,
    env: &Envelope,
    now: DateTime<Utc>,
    reason: String,
    correction: bool,
) -> Result<()> {
    tracing::debug!(bank = %env.bank, %reason, "rejected feed record");
    let record = describe(&env.event);
    let raw = serde_json::to_string(&env.event).unwrap_or_default();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO quarantine (bank_id, at, record, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![env.bank.as_str(), now.timestamp(), record, reason, raw])?;
    report.rejected.push(Rejection { bank: env.bank.clone(), record, reason, correction });
    Ok(())
}

/// The bank's grant when it is shared at the batch's `now` (granted, and its
/// grant not yet ended: an expired grant counts as revoked even before it is
/// recorded as expired) under the epoch the event was stamped with.
fn shared(tx: &SqlTx<'_>, b: &mut Batch, env: &Envelope, now: DateTime<Utc>) -> Result<Option<Grant>> {
    if !b.consent.contains_key(&env.bank) {
        // A bank this store does not know is not shared either.
        let grant = match Store::grant_of(tx, &env.bank, now) {
            Err(super::StoreError::UnknownBank(_)) => None,
            other => other?,
        };
        b.consent.insert(env.bank.clone(), grant);
    }
    Ok(b.consent[&env.bank].filter(|s| s.epoch == env.epoch))
}

fn describe(event: &FeedEvent) -> String {
    match event {
        FeedEvent::Account(a) => format!("account {}", clean_line(&a.external_id, 40)),
        FeedEvent::Transaction(t) => format!("transaction {}", clean_line(&t.external_id, 40)),
        FeedEvent::Balance { account, .. } => format!("balance of {}", clean_line(account, 40)),
        FeedEvent::Message { external_id, .. } => format!("message {}", clean_line(external_id, 40)),
        FeedEvent::FraudSignal { txn_external_id, .. } => {
            format!("fraud signal for {}", clean_line(txn_external_id, 40))
        }
        FeedEvent::Statement { external_id, .. } => format!("statement {}", clean_line(external_id, 40)),
        FeedEvent::SystemNotice { .. } => "system notice".into(),
        FeedEvent::Cursor(_) => "cursor".into(),
        FeedEvent::Whole(events) => format!("a group of {} events", events.len()),
    }
}

/// `Ok(Err(reason))` rejects the record; `Err` aborts the batch.
fn apply_one(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    env: &Envelope,
    shared: Grant,
    now: DateTime<Utc>,
    report: &mut BatchReport,
) -> Result<Result<(), String>> {
    let bank = &env.bank;
    match &env.event {
        FeedEvent::Account(info) => {
            if let Err(reason) = validate_account(info) {
                return Ok(Err(reason));
            }
            if upsert_account(tx, b, bank, info, now)? {
                report.accounts += 1;
            }
        }
        FeedEvent::Transaction(t) => return apply_txn(tx, b, env, t, shared, now, report),
        FeedEvent::Balance { account: ext, at, balance } => {
            return apply_balance(tx, b, bank, ext, *at, *balance, shared, report);
        }
        FeedEvent::Message { external_id, at, kind, text } => {
            let text = clean_text(text, MAX_MESSAGE_CHARS);
            if text.is_empty() {
                return Ok(Err("empty message".into()));
            }
            let message = NewMessage::new(bank, Sender::Bank, *kind, *at, &text);
            if message.external(external_id).history_before(shared.since).insert(tx)? {
                report.messages += 1;
            } else {
                report.duplicates += 1;
            }
        }
        FeedEvent::FraudSignal { txn_external_id, at, reason, severity } => {
            return apply_signal(tx, b, bank, txn_external_id, *at, reason, *severity, shared, report);
        }
        FeedEvent::Statement { account: ext, external_id, period_start, period_end, closing } => {
            let Some(acct) = account(tx, b, bank, ext)? else {
                return Ok(Err(format!("unknown account {:?}", clean_line(ext, 40))));
            };
            let label = b.label(tx, acct.id)?;
            let text = format!(
                "Your {label} statement for {} is ready. Closing balance: {closing}.",
                when::span(*period_start, *period_end, b.zone),
            );
            let message = NewMessage::new(bank, Sender::Bank, MessageKind::Statement, *period_end, &text);
            if message.external(external_id).history_before(shared.since).insert(tx)? {
                report.messages += 1;
            } else {
                report.duplicates += 1;
            }
        }
        FeedEvent::SystemNotice { at, text } => {
            let text = clean_text(text, MAX_MESSAGE_CHARS);
            NewMessage::new(bank, Sender::System, MessageKind::Notice, *at, &text).insert(tx)?;
            report.messages += 1;
        }
        FeedEvent::Cursor(cursor) => {
            tx.prepare_cached(
                "INSERT INTO feed_cursors (bank_id, cursor, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(bank_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )?
            .execute(params![bank.as_str(), cursor, now.timestamp()])?;
        }
        // The writer opens a group into its batch; one that reaches the
        // store unopened is refused rather than half applied.
        FeedEvent::Whole(_) => return Ok(Err("a group of events reached the store unopened".into())),
    }
    Ok(Ok(()))
}

/// A transaction: stored once (a replay with other content goes to the
/// quarantine), announced in the thread unless it is history.
fn apply_txn(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    env: &Envelope,
    t: &TxnInfo,
    shared: Grant,
    now: DateTime<Utc>,
    report: &mut BatchReport,
) -> Result<Result<(), String>> {
    let bank = &env.bank;
    let Some(acct) = account(tx, b, bank, &t.account)? else {
        return Ok(Err(format!("unknown account {:?}", clean_line(&t.account, 40))));
    };
    if let Err(reason) = validate_txn(t, acct, now) {
        return Ok(Err(reason));
    }
    let merchant = clean_line(&t.merchant, MAX_NAME_CHARS);
    match insert_txn(tx, b, bank, acct, t, &merchant)? {
        None => {
            report.replayed_transactions += 1;
            b.replayed.insert((bank.clone(), t.external_id.clone()));
            match differs_from_stored(tx, bank, acct, t)? {
                Some(reason) => refuse(tx, report, env, now, reason, true)?,
                None => report.duplicates += 1,
            }
        }
        Some(txn_id) => {
            report.transactions += 1;
            let at = t.posted_at.timestamp();
            if t.notify && at < shared.since {
                // History: summed up in one note, not replayed.
                b.history.entry(bank.clone()).or_insert_with(|| Tally::new(shared)).add(at);
            } else if t.notify {
                let text = transaction_notice(tx, b, acct.id, t, &merchant)?;
                NewMessage::new(bank, Sender::Bank, MessageKind::Transaction, t.posted_at, &text)
                    .txn(txn_id)
                    .insert(tx)?;
                report.messages += 1;
            }
        }
    }
    Ok(Ok(()))
}

/// A balance the bank reports: kept beside the computed one, and said in
/// the thread.
#[allow(clippy::too_many_arguments)]
fn apply_balance(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    ext: &str,
    at: DateTime<Utc>,
    balance: Money,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<Result<(), String>> {
    let at = &at;
    let Some(acct) = account(tx, b, bank, ext)? else {
        return Ok(Err(format!("unknown account {:?}", clean_line(ext, 40))));
    };
    if balance.currency != acct.currency {
        return Ok(Err(format!("balance in {} for an account in {}", balance.currency, acct.currency)));
    }
    let ext_id = format!("balance:{}:{}", ext, at.timestamp());
    let label = b.label(tx, acct.id)?;
    let text = format!("Balance update: {label} is {balance}.");
    let message = NewMessage::new(bank, Sender::Bank, MessageKind::Balance, *at, &text);
    if message.external(&ext_id).history_before(shared.since).insert(tx)? {
        tx.prepare_cached("UPDATE balances SET reported_minor = ?2, reported_at = ?3 WHERE account_id = ?1")?
            .execute(params![acct.id, balance.minor, at.timestamp()])?;
        report.balances_reported += 1;
        report.messages += 1;
    } else {
        report.duplicates += 1;
    }
    Ok(Ok(()))
}

/// A fraud signal (the bank's or the local rules'): an alert on the stored
/// transaction, and a message asking about it. A replayed transaction
/// raises nothing new.
#[allow(clippy::too_many_arguments)]
fn apply_signal(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    txn_external_id: &String,
    at: DateTime<Utc>,
    reason: &str,
    severity: crate::domain::Severity,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<Result<(), String>> {
    let at = &at;
    // Overlapping statements replay transactions, and the local
    // rules see them again: what was stored before raises nothing.
    if b.replayed.contains(&(bank.clone(), txn_external_id.clone())) {
        report.duplicates += 1;
        return Ok(Ok(()));
    }
    let row: Option<(i64, i64, i64, String, String)> = tx
        .prepare_cached(
            "SELECT id, account_id, amount_minor, currency, merchant FROM transactions
             WHERE bank_id = ?1 AND external_id = ?2",
        )?
        .query_row(params![bank.as_str(), txn_external_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((txn_id, account_id, minor, currency, merchant)) = row else {
        return Ok(Err(format!("no transaction {:?}", clean_line(txn_external_id, 40))));
    };
    let reason = clean_line(reason, MAX_NAME_CHARS * 2);
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO alerts (bank_id, account_id, txn_id, external_id, reason, severity, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            bank.as_str(),
            account_id,
            txn_id,
            txn_external_id,
            reason,
            severity.level(),
            at.timestamp()
        ])?;
    if inserted == 0 {
        report.duplicates += 1;
        return Ok(Ok(()));
    }
    let alert_id = tx.last_insert_rowid();
    let amount = Money::new(-minor, Currency::new(&currency)?);
    let card = card_label(tx, account_id)?;
    let text = format!("Fraud alert ({severity}): did you make the {amount} charge at {merchant} on {card}? {reason}.");
    NewMessage::new(bank, Sender::Bank, MessageKind::Fraud, *at, &text)
        .external(&format!("alert:{alert_id}"))
        .txn(txn_id)
        .alert(alert_id)
        .history_before(shared.since)
        .insert(tx)?;
    report.alerts += 1;
    report.messages += 1;
    report.new_alerts.push(AlertId(alert_id));
    Ok(Ok(()))
}

fn validate_account(info: &AccountInfo) -> Result<(), String> {
    if info.external_id.trim().is_empty() || info.external_id.len() > 64 {
        return Err("account id must be 1-64 characters".into());
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&info.mask) {
        return Err(format!("account mask {:?} is not 1-4 digits", clean_line(&info.mask, 8)));
    }
    if let Some(card) = &info.card_mask
        && !digits(card)
    {
        return Err(format!("card mask {:?} is not 1-4 digits", clean_line(card, 8)));
    }
    Ok(())
}

fn validate_txn(t: &TxnInfo, acct: AccountRef, now: DateTime<Utc>) -> Result<(), String> {
    if t.external_id.trim().is_empty() || t.external_id.len() > 128 {
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

fn upsert_account(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    info: &AccountInfo,
    now: DateTime<Utc>,
) -> Result<bool> {
    let name = clean_line(&info.name, MAX_NAME_CHARS);
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM accounts WHERE bank_id = ?1 AND external_id = ?2",
            params![bank.as_str(), info.external_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        tx.execute("UPDATE accounts SET name = ?2, mask = ?3 WHERE id = ?1", params![id, name, info.mask])?;
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO accounts (bank_id, external_id, name, kind, mask, currency, opening_minor, history_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            bank.as_str(),
            info.external_id,
            name,
            info.kind.as_str(),
            info.mask,
            info.opening.currency.code(),
            info.opening.minor,
            info.history_from.map(|t| t.timestamp())
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO balances (account_id, currency, balance_minor, updated_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, info.opening.currency.code(), info.opening.minor, now.timestamp()],
    )?;
    if let Some(card) = &info.card_mask {
        let kind = if info.kind == AccountKind::Credit { "credit" } else { "debit" };
        tx.execute(
            "INSERT INTO cards (bank_id, account_id, mask, kind) VALUES (?1, ?2, ?3, ?4)",
            params![bank.as_str(), id, card, kind],
        )?;
    }
    b.accounts.retain(|(bk, e, _)| !(bk == bank && *e == info.external_id));
    b.accounts.push((bank.clone(), info.external_id.clone(), Some(AccountRef { id, currency: info.opening.currency })));
    Ok(true)
}

fn account(tx: &SqlTx<'_>, b: &mut Batch, bank: &BankId, ext: &str) -> Result<Option<AccountRef>> {
    if let Some((_, _, hit)) = b.accounts.iter().find(|(bk, e, _)| bk == bank && e == ext) {
        return Ok(*hit);
    }
    let row: Option<(i64, String)> = tx
        .prepare_cached("SELECT id, currency FROM accounts WHERE bank_id = ?1 AND external_id = ?2")?
        .query_row(params![bank.as_str(), ext], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let found = match row {
        Some((id, cur)) => Some(AccountRef { id, currency: Currency::new(&cur)? }),
        None => None,
    };
    b.accounts.push((bank.clone(), ext.to_string(), found));
    Ok(found)
}

/// The rule for a transaction id delivered again with other content (a
/// bank's correction, a pending charge posted with a tip): **the first
/// version stands**. Balances, alerts and the conversation were built on it;
/// the later version is refused into the quarantine with what differs, so
/// the user sees it, and a replay of it is listed once. Never two rows.
fn differs_from_stored(tx: &SqlTx<'_>, bank: &BankId, acct: AccountRef, t: &TxnInfo) -> Result<Option<String>> {
    let stored: Option<(i64, i64, i64, String)> = tx
        .prepare_cached(
            "SELECT account_id, posted_at, amount_minor, merchant FROM transactions WHERE bank_id = ?1 AND external_id = ?2",
        )?
        .query_row(params![bank.as_str(), t.external_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((account_id, posted_at, amount, merchant)) = stored else { return Ok(None) };
    let mut diffs = Vec::new();
    if amount != t.amount.minor {
        diffs.push(format!("amount {} → {}", Money::new(amount, acct.currency), t.amount));
    }
    if posted_at != t.posted_at.timestamp() {
        diffs.push("posting time".to_string());
    }
    if merchant != clean_line(&t.merchant, MAX_NAME_CHARS) {
        diffs.push("merchant".to_string());
    }
    if account_id != acct.id {
        diffs.push("account".to_string());
    }
    Ok((!diffs.is_empty()).then(|| {
        format!("differs from the stored transaction with this id ({}); the first version stands", diffs.join(", "))
    }))
}

/// Inserts a transaction unless its external id is already stored; moves the
/// running balance. Returns the new row id.
fn insert_txn(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    acct: AccountRef,
    t: &TxnInfo,
    merchant: &str,
) -> Result<Option<i64>> {
    let category = clean_line(&t.category, 40);
    let country = clean_line(&t.country, 2).to_ascii_uppercase();
    let running = running_for(tx, b, acct)?;
    let history = running.history_from.is_some_and(|h| t.posted_at.timestamp() < h);
    let overflow = || {
        super::StoreError::Money(crate::domain::MoneyError::Overflow(format!(
            "balance of account {} + {}",
            acct.id, t.amount
        )))
    };
    // History before the opening balance's time: the opening balance
    // counted it already, so it moves back by it and the balance stays.
    let (new_balance, opening_delta) = if history {
        (running.balance, running.opening_delta.checked_sub(t.amount.minor).ok_or_else(overflow)?)
    } else {
        (running.balance.checked_add(t.amount.minor).ok_or_else(overflow)?, running.opening_delta)
    };
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
    ])?;
    if n == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    b.insert_fts.execute(params![id, merchant, category])?;
    let running = b.running.get_mut(&acct.id).expect("loaded above");
    running.balance = new_balance;
    running.opening_delta = opening_delta;
    running.added += 1;
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

fn running_for<'a>(tx: &SqlTx<'_>, b: &'a mut Batch, acct: AccountRef) -> Result<&'a mut Running> {
    use std::collections::hash_map::Entry;
    match b.running.entry(acct.id) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let (balance, history_from): (i64, Option<i64>) = tx
                .prepare_cached(
                    "SELECT balance_minor, history_from FROM balances JOIN accounts ON accounts.id = account_id
                     WHERE account_id = ?1",
                )?
                .query_row([acct.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(e.insert(Running {
                currency: acct.currency,
                balance,
                added: 0,
                days: Vec::new(),
                history_from,
                opening_delta: 0,
                rebuild_days: false,
            }))
        }
    }
}

/// Adds the batch's history to each bank's tally for its grant, and writes
/// the tally as one note at the moment the bank was shared: "History from
/// Chase: 211 transaction notices (Aug 31 – Nov 29, 2026) not replayed
/// here. …". The note is rewritten as more history arrives; a new grant
/// starts a new one.
fn flush_history(tx: &SqlTx<'_>, b: &Batch, report: &mut BatchReport) -> Result<()> {
    for (bank, tally) in &b.history {
        let (count, first, last): (i64, i64, i64) = tx
            .prepare_cached(
                "INSERT INTO history_notices (bank_id, epoch, count, first_at, last_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(bank_id, epoch) DO UPDATE SET count = count + excluded.count,
                   first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)
                 RETURNING count, first_at, last_at",
            )?
            .query_row(params![bank.as_str(), tally.shared.epoch, tally.count, tally.first, tally.last], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let name = super::action::bank_name(tx, bank)?;
        let span = when::span(super::from_unix(first), super::from_unix(last), b.zone);
        let what = match count {
            1 => "1 transaction notice".to_string(),
            n => format!("{} transaction notices", crate::domain::money::group_thousands(n.unsigned_abs())),
        };
        let text = format!(
            "History from {name}: {what} ({span}) not replayed here. \
             The transactions are in the account's list and in search."
        );
        // The id is in the bank's namespace: a bank message that took it
        // first is left as it is (only finbox's own note is rewritten).
        let written = tx
            .prepare_cached(
                "INSERT INTO messages (bank_id, external_id, at, sender, kind, text, read)
             VALUES (?1, ?2, ?3, 'system', ?4, ?5, 1)
             ON CONFLICT(bank_id, external_id) WHERE external_id IS NOT NULL
             DO UPDATE SET text = excluded.text WHERE sender = 'system'",
            )?
            .execute(params![
                bank.as_str(),
                format!("history:{}", tally.shared.epoch),
                tally.shared.since,
                MessageKind::Notice.as_str(),
                text
            ])?;
        if written == 0 {
            continue;
        }
        if count == tally.count {
            // The tally is this batch's alone: the note is new.
            report.messages += 1;
        }
    }
    Ok(())
}

fn flush_balances(tx: &SqlTx<'_>, b: &Batch, now: DateTime<Utc>) -> Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE balances SET balance_minor = ?2, txn_count = txn_count + ?3, updated_at = ?4, currency = ?5
         WHERE account_id = ?1",
    )?;
    let mut history = tx.prepare_cached(
        "INSERT INTO balance_history (account_id, day, balance_minor) VALUES (?1, ?2, ?3)
         ON CONFLICT(account_id, day) DO UPDATE SET balance_minor = excluded.balance_minor",
    )?;
    for (id, r) in &b.running {
        if r.added == 0 {
            continue;
        }
        update.execute(params![id, r.balance, r.added, now.timestamp(), r.currency.code()])?;
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
fn rebuild_days(tx: &SqlTx<'_>, account: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM balance_history WHERE account_id = ?1")?.execute([account])?;
    tx.prepare_cached(
        "INSERT INTO balance_history (account_id, day, balance_minor)
         SELECT ?1, day, (SELECT opening_minor FROM accounts WHERE id = ?1) + sum(moved) OVER (ORDER BY day)
         FROM (SELECT posted_at / 86400 AS day, sum(amount_minor) AS moved
               FROM transactions WHERE account_id = ?1 GROUP BY posted_at / 86400)",
    )?
    .execute([account])?;
    Ok(())
}

/// A message as one row: bank messages, notices, replies and system notices.
pub(super) struct NewMessage<'a> {
    bank: &'a BankId,
    external_id: Option<&'a str>,
    at: DateTime<Utc>,
    sender: Sender,
    kind: MessageKind,
    text: &'a str,
    txn: Option<i64>,
    alert: Option<i64>,
    read: bool,
}

impl<'a> NewMessage<'a> {
    /// A message for `bank`'s thread. The user's own words and finbox's
    /// notices arrive read; what the bank says is news, unread, unless it is
    /// history ([`NewMessage::history_before`]).
    pub(super) fn new(bank: &'a BankId, sender: Sender, kind: MessageKind, at: DateTime<Utc>, text: &'a str) -> Self {
        NewMessage {
            bank,
            external_id: None,
            at,
            sender,
            kind,
            text,
            txn: None,
            alert: None,
            read: sender != Sender::Bank,
        }
    }

    /// The bank's id for it: delivered again, it is not stored twice.
    pub(super) fn external(self, id: &'a str) -> Self {
        NewMessage { external_id: Some(id), ..self }
    }

    pub(super) fn txn(self, id: i64) -> Self {
        NewMessage { txn: Some(id), ..self }
    }

    pub(super) fn alert(self, id: i64) -> Self {
        NewMessage { alert: Some(id), ..self }
    }

    /// Dated before the bank was shared (Unix seconds `since`): history a
    /// backfill delivers, not news; it arrives read.
    pub(super) fn history_before(self, since: i64) -> Self {
        NewMessage { read: self.read || self.at.timestamp() < since, ..self }
    }

    /// Stores it; false when a message with the same external id is
    /// already stored.
    pub(super) fn insert(&self, tx: &SqlTx<'_>) -> Result<bool> {
        let n = tx.prepare_cached(INSERT_MESSAGE)?.execute(params![
            self.bank.as_str(),
            self.external_id,
            self.at.timestamp(),
            self.sender.as_str(),
            self.kind.as_str(),
            self.text,
            self.txn,
            self.alert,
            self.read
        ])?;
        Ok(n == 1)
    }
}

/// "Total Checking •4821"
pub(super) fn account_label(tx: &rusqlite::Connection, account_id: i64) -> Result<String> {
    Ok(tx
        .prepare_cached("SELECT name, mask FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| Ok(format!("{} •{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?)
}

/// "card •9913" or, for an account without a card, its label.
pub(super) fn card_label(tx: &rusqlite::Connection, account_id: i64) -> Result<String> {
    let card: Option<String> = tx
        .prepare_cached("SELECT mask FROM cards WHERE account_id = ?1")?
        .query_row([account_id], |r| r.get(0))
        .optional()?;
    match card {
        Some(mask) => Ok(format!("card •{mask}")),
        None => account_label(tx, account_id),
    }
}

fn transaction_notice(tx: &SqlTx<'_>, b: &mut Batch, account_id: i64, t: &TxnInfo, merchant: &str) -> Result<String> {
    let label = b.label(tx, account_id)?;
    let amount = t.amount.abs();
    use crate::domain::Channel;
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
