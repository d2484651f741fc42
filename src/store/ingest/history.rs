//! History: transactions dated before a bank was shared are stored but
//! not announced one by one; each bank gets one note that sums them up.

use rusqlite::{Transaction as SqlTx, params};

use super::{Batch, BatchReport};
use crate::domain::{MessageKind, when};
use crate::store::{Grant, Result};

/// Transactions a bank would announce that are history (dated before the
/// bank was shared), counted for the bank's one history note.
pub(super) struct Tally {
    shared: Grant,
    count: i64,
    first: i64,
    last: i64,
}

impl Tally {
    pub(super) fn new(shared: Grant) -> Tally {
        Tally { shared, count: 0, first: i64::MAX, last: i64::MIN }
    }

    pub(super) fn add(&mut self, at: i64) {
        self.count += 1;
        self.first = self.first.min(at);
        self.last = self.last.max(at);
    }
}

/// Adds the batch's history to each bank's tally for its grant, and writes
/// the tally as one note at the moment the bank was shared: "History from
/// Chase: 211 transaction notices (Aug 31 – Nov 29, 2026) not replayed
/// here. …". The note is rewritten as more history arrives; a new grant
/// starts a new one.
pub(super) fn flush_history(tx: &SqlTx<'_>, b: &Batch, report: &mut BatchReport) -> Result<()> {
    for (bank, tally) in &b.history {
        // Not `RETURNING`: SQLite runs it as a trigger, so the statement
        // opens a statement journal, and the search index then flushes
        // what the batch gave it (2% of ingest in `perf`).
        tx.prepare_cached(
            "INSERT INTO history_notices (bank_id, epoch, count, first_at, last_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(bank_id, epoch) DO UPDATE SET count = count + excluded.count,
               first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)",
        )?
        .execute(params![bank.as_str(), tally.shared.epoch, tally.count, tally.first, tally.last])?;
        let (count, first, last): (i64, i64, i64) = tx
            .prepare_cached("SELECT count, first_at, last_at FROM history_notices WHERE bank_id = ?1 AND epoch = ?2")?
            .query_row(params![bank.as_str(), tally.shared.epoch], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let name = crate::store::action::bank_name(tx, bank)?;
        let span = when::span(crate::store::from_unix(first), crate::store::from_unix(last), b.zone);
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
