//! Applying feed events: one `BEGIN IMMEDIATE` transaction per batch,
//! idempotent by the bank's external ids, consent checked per event, and
//! balances moved in the same transaction as the transactions that move them.

// foldhash: the batch's maps are looked up at every event, and SipHash (std's
// default) was 2% of the writer; foldhash is seeded per process, so banks'
// ids cannot be chosen to collide.
use foldhash::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

mod account;
mod alert;
mod facts;
mod held;
mod history;
mod pending;
mod purchase;
mod rules;
mod transfer;
mod txn;

use super::message::{NewMessage, account_label};
use super::{Grant, Result, Store};
use crate::domain::event::{Envelope, FeedEvent};
use crate::domain::text::{MAX_MESSAGE_CHARS, clean_line, clean_text};
use crate::domain::{AlertId, BankId, Currency, MessageKind, Money, Sender, when};
use account::{account, upsert_account, validate_account};
use alert::apply_signal;
pub(crate) use facts::Facts;
use history::{Tally, flush_history};
use txn::{RunningBalance, apply_txn, flush_balances};

/// What became of one record: applied (a harmless replay included), or
/// refused for a reason, which goes to the quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Applied,
    Refused(String),
}

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
    /// Events of a scope the bank does not share (offers, say): not stored.
    pub out_of_scope: u64,
    pub rejected: Vec<Rejection>,
    pub new_alerts: Vec<AlertId>,
    /// Authorisations stored pending.
    pub pending: u64,
    /// Authorisations that posted (same id or a matching one).
    pub posted: u64,
    /// Authorisations whose amount the bank changed before posting.
    pub pending_adjusted: u64,
    /// Authorisations that never posted, released.
    pub released: u64,
    /// Insights finbox posted in its own thread.
    pub insights: u64,
    /// Time the insight pass took (for the benchmark's share of ingest).
    pub insight_time: std::time::Duration,
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
        self.out_of_scope += other.out_of_scope;
        self.rejected.extend(other.rejected);
        self.new_alerts.extend(other.new_alerts);
        self.pending += other.pending;
        self.posted += other.posted;
        self.pending_adjusted += other.pending_adjusted;
        self.released += other.released;
        self.insights += other.insights;
        self.insight_time += other.insight_time;
    }
}

#[derive(Clone, Copy)]
struct AccountRef {
    id: i64,
    currency: Currency,
}

/// Per-batch caches and the hot statements, so a batch of thousands of
/// events does a handful of look-ups instead of one per event.
struct Batch<'t> {
    /// Each bank's epoch while shared, and when it was shared.
    consent: HashMap<BankId, Option<Grant>>,
    /// (bank, account external id) → account; a batch touches a few accounts,
    /// so a short list searched without allocating beats a map.
    accounts: Vec<(BankId, String, Option<AccountRef>)>,
    running: HashMap<i64, RunningBalance>,
    /// "Total Checking •4821" per account id, for notices.
    labels: HashMap<i64, String>,
    insert_txn: rusqlite::CachedStatement<'t>,
    insert_fts: rusqlite::CachedStatement<'t>,
    /// Whether an id is stored (see `pending::is_stored`). Held here, not
    /// asked of the statement cache at each use: its look-up and
    /// reshuffle were a fifth of that check.
    is_stored: rusqlite::CachedStatement<'t>,
    /// History counted in this batch, per bank.
    history: HashMap<BankId, Tally>,
    /// Transactions of this batch that were stored already, by bank and
    /// external id.
    replayed: HashSet<(BankId, String)>,
    /// The user's time zone, for dates in notices.
    zone: FixedOffset,
    /// Each bank's tolerance for a posting over its authorisation, percent.
    tolerance: HashMap<BankId, i64>,
    /// Each account's pending authorisations, read once per account and
    /// batch and kept as the batch stores, posts and adjusts them: every
    /// card charge on an account with pending rows looks for one it settles.
    pending: HashMap<i64, Vec<pending::Cached>>,
    /// Transactions posted in this batch, for the insight pass.
    fresh: super::insights::FreshList,
    /// The user's rules (`[[rules]]`).
    rules: std::sync::Arc<crate::domain::rules::Rules>,
    /// The transaction being applied is one a rule hides from insights.
    hidden: bool,
    /// The transaction being applied is one a rule changed.
    ruled: bool,
    /// Each bank's last cursor in the batch: only the last is kept, and a
    /// batch is one transaction, so it is written once, at the end (a
    /// simulated feed sends one, ~1.5 KB, every 64 events: an upsert each
    /// was 0.7% of the writer in `perf`; once per batch, 0.1%).
    cursors: Vec<(BankId, String)>,
    /// Authorisations held back until their posting or the batch's end
    /// (see `held`), and whether to hold them.
    held: held::HeldBack,
    hold: bool,
}

const INSERT_TXN: &str = "INSERT OR IGNORE INTO transactions
       (bank_id, account_id, external_id, posted_at, amount_minor, currency, merchant, category, channel, country,
        status, transfer_kind, authorized_at, authorized_minor)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

const INSERT_FTS: &str = "INSERT INTO transactions_fts (rowid, merchant, category) VALUES (?1, ?2, ?3)";

const IS_STORED: &str = "SELECT 1 FROM transactions WHERE bank_id = ?1 AND external_id = ?2";

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

    /// A transaction posted (not a transfer): weighed by the insight pass
    /// at the batch's end.
    fn observe(&mut self, x: txn::Incoming, txn: i64) {
        let category = x.facts.category(x.t);
        if !self.hidden && super::insights::Fresh::counts(category) {
            let income = super::insights::Fresh::is_income(category);
            self.fresh.push(txn, x.acct.id, x.t.posted_at.timestamp(), x.t.amount, income, x.merchant);
        }
    }

    fn new(
        tx: &'t SqlTx<'_>,
        zone: FixedOffset,
        rules: std::sync::Arc<crate::domain::rules::Rules>,
        hold: bool,
        buffers: Buffers,
    ) -> Result<Batch<'t>> {
        Ok(Batch {
            zone,
            consent: HashMap::default(),
            accounts: Vec::new(),
            running: HashMap::default(),
            labels: HashMap::default(),
            insert_txn: tx.prepare_cached(INSERT_TXN)?,
            insert_fts: tx.prepare_cached(INSERT_FTS)?,
            is_stored: tx.prepare_cached(IS_STORED)?,
            history: HashMap::default(),
            replayed: HashSet::default(),
            tolerance: HashMap::default(),
            pending: HashMap::default(),
            fresh: buffers.fresh,
            cursors: Vec::new(),
            rules,
            hidden: false,
            ruled: false,
            held: buffers.held,
            hold,
        })
    }

    /// The batch's buffers, emptied, their room kept for the next batch.
    fn buffers(self) -> Buffers {
        let (mut fresh, mut held) = (self.fresh, self.held);
        fresh.clear();
        held.clear();
        Buffers { fresh, held }
    }

    /// The bank's tolerance for a posting over its authorisation (percent),
    /// looked up once per bank and batch.
    fn tolerance(&mut self, tx: &SqlTx<'_>, bank: &BankId) -> Result<i64> {
        if let Some(t) = self.tolerance.get(bank) {
            return Ok(*t);
        }
        let t: i64 = tx
            .prepare_cached("SELECT pending_tolerance_pct FROM banks WHERE id = ?1")?
            .query_row([bank.as_str()], |r| r.get(0))
            .optional()?
            .unwrap_or(crate::domain::DEFAULT_PENDING_TOLERANCE_PERCENT);
        self.tolerance.insert(bank.clone(), t);
        Ok(t)
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

    /// [`Store::apply_batch`] with each event's [`Facts`] worked out
    /// already (`facts[i]` is `Facts::of` the event `batch[i]`), as the
    /// writer's preparing thread does.
    pub(crate) fn apply_prepared(
        &mut self,
        batch: &[Envelope],
        facts: &[Facts],
        now: DateTime<Utc>,
    ) -> Result<BatchReport> {
        let mut bulk = self.bulk_write()?;
        bulk.apply_with(batch, Some(facts), now)?;
        bulk.commit()
    }

    /// Opens one write transaction (`BEGIN IMMEDIATE`) for many batches, so
    /// that an import of any size is applied whole or not at all.
    pub fn bulk_write(&mut self) -> Result<BulkWrite<'_>> {
        let Store { conn, zone, rules, hold_authorisations, buffers, .. } = self;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(BulkWrite {
            tx,
            report: BatchReport::default(),
            zone: *zone,
            rules: rules.clone(),
            hold: *hold_authorisations,
            buffers,
        })
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
    rules: std::sync::Arc<crate::domain::rules::Rules>,
    hold: bool,
    buffers: &'s mut Buffers,
}

/// What a batch fills and empties again, kept by the store between
/// batches: grown anew at every batch (the posted transactions for the
/// insight pass, the held authorisations), they were 2% of ingest in
/// `perf`, most of it page faults on memory given back and taken again.
#[derive(Default)]
pub(crate) struct Buffers {
    fresh: super::insights::FreshList,
    held: held::HeldBack,
}

impl BulkWrite<'_> {
    /// Applies a batch inside the transaction; malformed records are
    /// quarantined with a reason and the rest proceed, as in
    /// [`Store::apply_batch`].
    pub fn apply(&mut self, batch: &[Envelope], now: DateTime<Utc>) -> Result<()> {
        self.apply_with(batch, None, now)
    }

    /// Applies a batch whose events' facts may be worked out already (see
    /// [`Store::apply_prepared`]); those not are worked out here.
    fn apply_with(&mut self, batch: &[Envelope], facts: Option<&[Facts]>, now: DateTime<Utc>) -> Result<()> {
        if facts.is_some_and(|f| f.len() != batch.len()) {
            return Err(super::StoreError::Corrupt("a batch's facts do not match its events".into()));
        }
        let tx = &self.tx;
        let report = &mut self.report;
        let mut b = Batch::new(tx, self.zone, self.rules.clone(), self.hold, std::mem::take(self.buffers))?;
        for (i, env) in batch.iter().enumerate() {
            let Some(shared) = shared(tx, &mut b, env, now)? else {
                report.dropped_no_consent += 1;
                continue;
            };
            if crate::domain::Scope::of(&env.event).is_some_and(|s| !shared.scopes.contains(s)) {
                report.out_of_scope += 1;
                continue;
            }
            let facts = match facts {
                Some(f) => std::borrow::Cow::Borrowed(&f[i]),
                None => std::borrow::Cow::Owned(Facts::of(&env.event)),
            };
            if let Outcome::Refused(reason) = apply_one(tx, &mut b, (env, &facts), shared, now, report)? {
                refuse(tx, report, env, now, reason, false)?;
            }
        }
        // Held authorisations are written (or released) here too.
        pending::release_stale(tx, &mut b, now, report)?;
        write_cursors(tx, &b, now)?;
        let shared: Vec<BankId> = b.consent.iter().filter(|(_, g)| g.is_some()).map(|(id, _)| id.clone()).collect();
        report.messages += super::dispute::deliver_due(tx, &shared, now)?;
        flush_balances(tx, &b, now)?;
        let started = std::time::Instant::now();
        report.insights += super::insights::observe(tx, &b.fresh, now, self.zone)?;
        report.insight_time += started.elapsed();
        flush_history(tx, &b, report)?;
        *self.buffers = b.buffers();
        Ok(())
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
    let grant = match b.consent.get(&env.bank) {
        Some(grant) => *grant,
        None => {
            // A bank this store does not know is not shared either.
            let grant = match Store::grant_of(tx, &env.bank, now) {
                Err(super::StoreError::UnknownBank(_)) => None,
                other => other?,
            };
            b.consent.insert(env.bank.clone(), grant);
            grant
        }
    };
    Ok(grant.filter(|s| s.epoch == env.epoch))
}

/// Stores each bank's last cursor of the batch.
fn write_cursors(tx: &SqlTx<'_>, b: &Batch, now: DateTime<Utc>) -> Result<()> {
    for (bank, cursor) in &b.cursors {
        tx.prepare_cached(
            "INSERT INTO feed_cursors (bank_id, cursor, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(bank_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        )?
        .execute(params![bank.as_str(), cursor, now.timestamp()])?;
    }
    Ok(())
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
        FeedEvent::Purchase { txn_external_id, .. } => {
            format!("receipt or delivery for {}", clean_line(txn_external_id, 40))
        }
        FeedEvent::SystemNotice { .. } => "system notice".into(),
        FeedEvent::Cursor(_) => "cursor".into(),
        FeedEvent::Whole(events) => format!("a group of {} events", events.len()),
    }
}

/// `Ok(Outcome::Refused(reason))` quarantines the record; `Err` aborts the batch.
fn apply_one(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    (env, facts): (&Envelope, &Facts),
    shared: Grant,
    now: DateTime<Utc>,
    report: &mut BatchReport,
) -> Result<Outcome> {
    let bank = &env.bank;
    match &env.event {
        FeedEvent::Account(info) => {
            if let Err(reason) = validate_account(info) {
                return Ok(Outcome::Refused(reason));
            }
            if upsert_account(tx, b, bank, info, now)? {
                report.accounts += 1;
            }
        }
        FeedEvent::Transaction(t) => return apply_txn(tx, b, env, (t, facts), shared, now, report),
        FeedEvent::Balance { account: ext, at, balance } => {
            return apply_balance(tx, b, bank, ext, *at, *balance, shared, report);
        }
        FeedEvent::Message { external_id, at, kind, text } => {
            let text = clean_text(text, MAX_MESSAGE_CHARS);
            if text.is_empty() {
                return Ok(Outcome::Refused("empty message".into()));
            }
            let message = NewMessage::new(bank, Sender::Bank, *kind, *at, &text);
            if message.external(external_id).history_before(shared.since).insert(tx)? {
                report.messages += 1;
            } else {
                report.duplicates += 1;
            }
        }
        FeedEvent::FraudSignal { txn_external_id, at, reason, severity } => {
            held::write_touched(tx, b, bank, txn_external_id)?;
            return apply_signal(tx, b, bank, txn_external_id, *at, reason, *severity, shared, report);
        }
        FeedEvent::Statement { account: ext, external_id, period_start, period_end, closing } => {
            let Some(acct) = account(tx, b, bank, ext)? else {
                return Ok(Outcome::Refused(format!("unknown account {:?}", clean_line(ext, 40))));
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
        FeedEvent::Purchase { txn_external_id, at, merchant, update } => {
            held::write_touched(tx, b, bank, txn_external_id)?;
            let purchase = purchase::Purchase { txn: txn_external_id, at: *at, merchant, update };
            return purchase::apply(tx, b, bank, &purchase, shared, report);
        }
        FeedEvent::SystemNotice { at, text } => {
            let text = clean_text(text, MAX_MESSAGE_CHARS);
            NewMessage::new(bank, Sender::System, MessageKind::Notice, *at, &text).insert(tx)?;
            report.messages += 1;
        }
        // Written once per bank at the batch's end (see `Batch::cursors`).
        FeedEvent::Cursor(cursor) => match b.cursors.iter_mut().find(|(bk, _)| bk == bank) {
            Some((_, last)) => last.clone_from(cursor),
            None => b.cursors.push((bank.clone(), cursor.clone())),
        },
        // The writer opens a group into its batch; one that reaches the
        // store unopened is refused rather than half applied.
        FeedEvent::Whole(_) => return Ok(Outcome::Refused("a group of events reached the store unopened".into())),
    }
    Ok(Outcome::Applied)
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
) -> Result<Outcome> {
    let at = &at;
    let Some(acct) = account(tx, b, bank, ext)? else {
        return Ok(Outcome::Refused(format!("unknown account {:?}", clean_line(ext, 40))));
    };
    if balance.currency != acct.currency {
        return Ok(Outcome::Refused(format!("balance in {} for an account in {}", balance.currency, acct.currency)));
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
    Ok(Outcome::Applied)
}
