//! Insights across banks: the pass that runs at the end of every write
//! batch over the transactions it posted (never a rescan), what it keeps
//! per merchant and account (`merchant_track`), and the thread finbox
//! posts them in. Each insight is posted once (by its key), linked to its
//! transactions; transfers, reversals, pending rows and what a rule hides
//! never count.

use foldhash::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{Transaction as SqlTx, params};

mod outlook;

use super::query::{TXN_COLS, TXN_OTHER_LEG, txn_row};
use super::{Result, Store};
use crate::domain::insight::{self, DUPLICATE_DAYS, Finding, Insight, NEWS_DAYS, Seen, Track};
use crate::domain::{BankId, InsightKind, Money, Transaction, TxnId, when};

const DAY: i64 = 86_400;

/// Where a transaction goes in the pass: its merchant key's rank, account,
/// time, id.
type Order = (usize, i64, i64, i64);

/// What is remembered of a merchant, per account: (account id, track, its
/// row in `merchant_track`).
type Tracks = Vec<(i64, Track, i64)>;

/// A transaction a batch posted, as the pass needs it. Its merchant's name
/// is kept in its batch's [`FreshList`] (with the others', in one buffer)
/// and its bank is its account's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fresh {
    pub txn: i64,
    pub account: i64,
    pub at: i64,
    pub amount: Money,
    /// Income by its category (see [`Fresh::is_income`]).
    pub income: bool,
    /// Where its merchant's name is in [`FreshList::names`].
    name: (u32, u32),
}

/// The transactions a batch posted, for the pass. Kept by the store between
/// batches with its room: a name and a bank id copied for each transaction
/// were two allocations per row (about 0.8% of the writer in `perf`).
#[derive(Debug, Default)]
pub(super) struct FreshList {
    items: Vec<Fresh>,
    names: String,
}

impl FreshList {
    /// Adds a posted transaction with its merchant's name.
    pub(super) fn push(&mut self, txn: i64, account: i64, at: i64, amount: Money, income: bool, merchant: &str) {
        // A batch's names stay far below 4 GiB; a name that would not fit
        // is left out of the pass rather than mislaid.
        let (Ok(from), Ok(to)) = (u32::try_from(self.names.len()), u32::try_from(self.names.len() + merchant.len()))
        else {
            return;
        };
        self.names.push_str(merchant);
        self.items.push(Fresh { txn, account, at, amount, income, name: (from, to) });
    }

    /// `f`'s merchant, as the bank (or the user's rule) named it.
    pub(super) fn merchant(&self, f: &Fresh) -> &str {
        &self.names[f.name.0 as usize..f.name.1 as usize]
    }

    pub(super) fn clear(&mut self) {
        self.items.clear();
        self.names.clear();
    }
}

impl Fresh {
    /// Whether a posted transaction (already known not to be a transfer by
    /// the bank's word or its text) is one insights weigh: not a transfer
    /// by its category either.
    pub(super) fn counts(category: &str) -> bool {
        !category.eq_ignore_ascii_case("transfer") && !category.eq_ignore_ascii_case("credit card payment")
    }

    /// Whether a transaction of this category is income.
    pub(super) fn is_income(category: &str) -> bool {
        ["income", "interest", "salary", "payroll"].iter().any(|c| category.eq_ignore_ascii_case(c))
    }
}

/// Per-pass caches: each account's label ("Citi •0314") and bank, read
/// together, once per pass (only for the insights posted).
struct Pass<'t, 'c> {
    tx: &'t SqlTx<'c>,
    now: i64,
    zone: FixedOffset,
    accounts: HashMap<i64, (String, BankId)>,
    posted: u64,
}

impl Pass<'_, '_> {
    fn account(&mut self, account: i64) -> Result<&(String, BankId)> {
        use std::collections::hash_map::Entry;
        match self.accounts.entry(account) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let (label, bank): (String, String) = self
                    .tx
                    .prepare_cached(
                        "SELECT b.name || ' •' || a.mask, a.bank_id FROM accounts a JOIN banks b ON b.id = a.bank_id
                         WHERE a.id = ?1",
                    )?
                    .query_row([account], |r| Ok((r.get(0)?, r.get(1)?)))?;
                let bank = BankId::new(&bank).map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
                Ok(e.insert((label, bank)))
            }
        }
    }

    fn label(&mut self, account: i64) -> Result<String> {
        Ok(self.account(account)?.0.clone())
    }

    fn bank(&mut self, account: i64) -> Result<BankId> {
        Ok(self.account(account)?.1.clone())
    }

    fn date(&self, at: i64) -> String {
        when::short_date(DateTime::from_timestamp(at, 0).unwrap_or_default(), self.zone)
    }

    /// Posts an insight unless one with its key was posted; links its rows.
    fn post(&mut self, kind: InsightKind, key: &str, at: i64, text: &str, rows: &[(i64, &BankId)]) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO insights (key, kind, at, text) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![key, kind.as_str(), at, text])?;
        if n == 0 {
            return Ok(false);
        }
        let id = self.tx.last_insert_rowid();
        let mut link = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO insight_rows (insight_id, txn_id, bank_id) VALUES (?1, ?2, ?3)")?;
        for (txn, bank) in rows {
            link.execute(params![id, txn, bank.as_str()])?;
        }
        self.posted += 1;
        Ok(true)
    }
}

/// Weighs what a batch posted: merchant by merchant and account, against
/// what was remembered, then the outlook of the checking accounts it
/// touched and, once the data has moved past a month, that month's summary.
/// Returns how many insights were posted.
pub(super) fn observe(tx: &SqlTx<'_>, list: &FreshList, now: DateTime<Utc>, zone: FixedOffset) -> Result<u64> {
    let fresh = &list.items;
    if fresh.is_empty() {
        return Ok(0);
    }
    let mut pass = Pass { tx, now: now.timestamp(), zone, accounts: HashMap::default(), posted: 0 };
    // A batch names the same few merchants over and over: each key is made once.
    let mut keys: HashMap<&str, String> = HashMap::default();
    for f in fresh {
        let name = list.merchant(f);
        keys.entry(name).or_insert_with(|| insight::merchant_key(name));
    }
    // Sorted by key, account, time: the keys ranked once, so that the sort
    // compares numbers, not strings (a quarter of the pass in `perf`).
    let mut ranked: Vec<&str> = keys.values().map(String::as_str).collect();
    ranked.sort_unstable();
    ranked.dedup();
    let rank: HashMap<&str, usize> = ranked.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut keyed: Vec<(Order, &str, &Fresh)> = fresh
        .iter()
        .map(|f| {
            let key = keys[list.merchant(f)].as_str();
            ((rank[key], f.account, f.at, f.txn), key, f)
        })
        .collect();
    keyed.sort_unstable_by_key(|(order, _, _)| *order);
    let keyed: Vec<(&str, &Fresh)> = keyed.into_iter().map(|(_, key, f)| (key, f)).collect();
    let mut known = known_tracks(tx, keys.values())?;
    for group in keyed.chunk_by(|a, b| a.0 == b.0 && a.1.account == b.1.account) {
        weigh_group(&mut pass, &mut known, (group[0].0, list), group)?;
    }
    outlook::outlooks(&mut pass, fresh)?;
    outlook::month_summary(&mut pass, fresh)?;
    Ok(pass.posted)
}

/// One merchant on one account: each transaction weighed in date order,
/// checked against the merchant's last charge on the user's other accounts,
/// and what it leaves remembered.
fn weigh_group(
    pass: &mut Pass,
    known: &mut HashMap<String, Tracks>,
    (key, list): (&str, &FreshList),
    group: &[(&str, &Fresh)],
) -> Result<()> {
    let account = group[0].1.account;
    let (mine, others): (Tracks, Tracks) =
        known.get(key).cloned().unwrap_or_default().into_iter().partition(|(a, _, _)| *a == account);
    let mut track = mine.first().map(|(_, t, _)| *t);
    for (_, f) in group {
        let seen = Seen { txn: f.txn, at: f.at, minor: f.amount.minor, income: f.income };
        let (finding, next) = insight::weigh(track, seen);
        let news = f.at >= pass.now - NEWS_DAYS * DAY;
        if news {
            if let Some(finding) = finding {
                announce(pass, key, f, list.merchant(f), finding)?;
            }
            if f.amount.minor < 0 {
                for (other, t, _) in &others {
                    if t.last_minor == f.amount.minor && (t.last_at - f.at).abs() <= DUPLICATE_DAYS * DAY {
                        duplicate(pass, f, list.merchant(f), *other, t)?;
                    }
                }
            }
        }
        track = next.or(track);
    }
    if let Some(t) = track {
        let row = save_track(pass.tx, key, account, t, mine.first().map(|(_, _, row)| *row))?;
        let tracks = known.entry(key.to_string()).or_default();
        match tracks.binary_search_by_key(&account, |(a, _, _)| *a) {
            Ok(i) => tracks[i] = (account, t, row),
            Err(i) => tracks.insert(i, (account, t, row)),
        }
    }
    Ok(())
}

fn announce(pass: &mut Pass, key: &str, f: &Fresh, merchant: &str, finding: Finding) -> Result<()> {
    // New only against a history that came before it: the first months of
    // an account hold every bill for the first time.
    if let Finding::NewSubscription { first_at, .. } = finding {
        let since: Option<i64> = pass
            .tx
            .prepare_cached("SELECT min(posted_at) FROM transactions WHERE account_id = ?1")?
            .query_row([f.account], |r| r.get(0))?;
        if since.is_none_or(|s| first_at < s + NEWS_DAYS * DAY) {
            return Ok(());
        }
    }
    let label = pass.label(f.account)?;
    let amount = Money::new(f.amount.minor.abs(), f.amount.currency);
    let (kind, text, prev) = match finding {
        Finding::PriceUp { before, prev_txn } => {
            let before = Money::new(before.abs(), f.amount.currency);
            (InsightKind::PriceUp, format!("{merchant} went up: {before} → {amount} on {label}."), Some(prev_txn))
        }
        Finding::NewSubscription { prev_txn, first_at } => (
            InsightKind::NewSubscription,
            format!(
                "New subscription: {merchant}, {amount} a month on {label} (first charged {}).",
                pass.date(first_at)
            ),
            Some(prev_txn),
        ),
        Finding::Refund => (InsightKind::Refund, format!("Refund arrived: {amount} from {merchant} on {label}."), None),
    };
    let key = format!("{}:{key}:{}:{}", kind.as_str(), f.account, f.txn);
    let bank = pass.bank(f.account)?;
    let mut rows = vec![(f.txn, &bank)];
    if let Some(p) = prev {
        rows.insert(0, (p, &bank));
    }
    pass.post(kind, &key, f.at, &text, &rows)?;
    Ok(())
}

/// The same amount at the same merchant on two of the user's accounts
/// within [`DUPLICATE_DAYS`]: a likely duplicate.
fn duplicate(pass: &mut Pass, f: &Fresh, merchant: &str, other: i64, t: &Track) -> Result<()> {
    let (other_bank, bank) = (pass.bank(other)?, pass.bank(f.account)?);
    let (a, b) = (pass.label(other)?, pass.label(f.account)?);
    let amount = Money::new(f.amount.minor.abs(), f.amount.currency);
    let text = format!(
        "Possible duplicate: {merchant} {amount} on {a} ({}) and on {b} ({}).",
        pass.date(t.last_at),
        pass.date(f.at)
    );
    let key = format!("duplicate:{}:{}", t.last_txn.min(f.txn), t.last_txn.max(f.txn));
    pass.post(InsightKind::Duplicate, &key, f.at, &text, &[(t.last_txn, &other_bank), (f.txn, &bank)])?;
    Ok(())
}

fn track_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Track> {
    Ok(Track {
        last_txn: r.get(0)?,
        last_at: r.get(1)?,
        last_minor: r.get(2)?,
        first_at: r.get(3)?,
        charges: r.get(4)?,
        streak: r.get(5)?,
        period: r.get(6)?,
        steady: r.get(7)?,
    })
}

/// What is remembered of each of the batch's merchants on each of the
/// user's accounts (by account id), read in one statement; the pass keeps
/// it current as it saves.
fn known_tracks<'k>(tx: &SqlTx<'_>, keys: impl Iterator<Item = &'k String>) -> Result<HashMap<String, Tracks>> {
    let keys: Vec<&String> = keys.collect();
    let json = serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into());
    let mut stmt = tx.prepare_cached(
        "SELECT last_txn, last_at, last_minor, first_at, charges, streak, period, steady, account_id, merchant_key, id
         FROM merchant_track WHERE merchant_key IN (SELECT value FROM json_each(?1))",
    )?;
    let mut known: HashMap<String, Tracks> = HashMap::default();
    for row in stmt.query_map([json], |r| Ok((r.get::<_, String>(9)?, r.get(8)?, track_row(r)?, r.get(10)?)))? {
        let (key, account, track, id) = row?;
        known.entry(key).or_default().push((account, track, id));
    }
    for tracks in known.values_mut() {
        tracks.sort_by_key(|(a, _, _)| *a);
    }
    Ok(known)
}

/// Saves a merchant's track on an account; `row`: its row, when it has
/// one (updated by its id: no look-up of the merchant's key). Returns the
/// row.
fn save_track(tx: &SqlTx<'_>, key: &str, account: i64, t: Track, row: Option<i64>) -> Result<i64> {
    if let Some(id) = row {
        tx.prepare_cached(
            "UPDATE merchant_track SET last_txn = ?2, last_at = ?3, last_minor = ?4, charges = ?5, streak = ?6,
                    period = ?7, steady = ?8
             WHERE id = ?1",
        )?
        .execute(params![id, t.last_txn, t.last_at, t.last_minor, t.charges, t.streak, t.period, t.steady])?;
        return Ok(id);
    }
    // A plain INSERT: the pass knows every track of the batch's merchants,
    // so none is there (and not `RETURNING`, which SQLite runs as a trigger:
    // the statement journal it opens makes the search index flush).
    tx.prepare_cached(
        "INSERT INTO merchant_track
            (merchant_key, account_id, last_txn, last_at, last_minor, first_at, charges, streak, period, steady)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        key,
        account,
        t.last_txn,
        t.last_at,
        t.last_minor,
        t.first_at,
        t.charges,
        t.streak,
        t.period,
        t.steady
    ])?;
    Ok(tx.last_insert_rowid())
}

impl Store {
    /// The latest insights, newest first, each with its transactions.
    pub fn insights(&self, limit: usize) -> Result<Vec<Insight>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, kind, at, text, read FROM insights ORDER BY at DESC, id DESC LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Insight {
                id: r.get(0)?,
                kind: super::query::conv(1, InsightKind::parse(&r.get::<_, String>(1)?))?,
                at: super::from_unix(r.get(2)?),
                text: r.get(3)?,
                read: r.get(4)?,
                transactions: Vec::new(),
            })
        })?;
        let mut out: Vec<Insight> = rows.collect::<rusqlite::Result<_>>()?;
        // Their rows in one query, not one per insight (the thread reloads
        // up to hundreds at every store change).
        let mut txns = self.conn.prepare_cached(
            "SELECT r.insight_id, r.txn_id FROM insight_rows r JOIN transactions t ON t.id = r.txn_id
             WHERE r.insight_id IN (SELECT id FROM insights ORDER BY at DESC, id DESC LIMIT ?1)
             ORDER BY t.posted_at, t.id",
        )?;
        let mut of: HashMap<i64, Vec<TxnId>> = HashMap::default();
        for row in txns.query_map([limit as i64], |r| Ok((r.get::<_, i64>(0)?, TxnId(r.get(1)?))))? {
            let (insight, txn) = row?;
            of.entry(insight).or_default().push(txn);
        }
        for i in &mut out {
            i.transactions = of.remove(&i.id).unwrap_or_default();
        }
        Ok(out)
    }

    /// An insight's transactions, newest first.
    pub fn insight_transactions(&self, id: i64) -> Result<Vec<Transaction>> {
        let sql = format!(
            "SELECT {TXN_COLS} FROM insight_rows r JOIN transactions t ON t.id = r.txn_id
             JOIN accounts a ON a.id = t.account_id {TXN_OTHER_LEG}
             WHERE r.insight_id = ?1 ORDER BY t.posted_at DESC, t.id DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([id], txn_row)?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Insights not yet seen in finbox's thread.
    pub fn insights_unread(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM insights WHERE read = 0", [], |r| r.get(0))?)
    }

    /// Marks every insight seen.
    pub fn mark_insights_read(&mut self) -> Result<()> {
        self.write(|tx| Ok(tx.execute("UPDATE insights SET read = 1 WHERE read = 0", []).map(|_| ())?))
    }
}
