//! The user's decisions: consent, alert verdicts, card freezes. Each runs in
//! one `BEGIN IMMEDIATE` transaction and is checkpointed so it is on disk once
//! it is reported done.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::chain::{self, ChainKind};
use super::message::NewMessage;
use super::{Result, Store, StoreError, from_unix};
use crate::domain::*;

/// What a consent command changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentChange {
    /// Shared from now on, until the given time unless renewed.
    Granted {
        until: DateTime<Utc>,
    },
    /// It was shared already: now it is shared until the given time.
    Renewed {
        until: DateTime<Utc>,
    },
    Revoked,
    AlreadyRevoked,
    /// Revoked (if it was shared) and every row the bank shared deleted; so
    /// were the backups kept before schema upgrades, which held them too.
    Purged {
        rows: i64,
        backups_removed: usize,
    },
}

/// Which cards a freeze or unfreeze touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeOutcome {
    /// Cards whose state changed, as "debit card •9913".
    pub changed: Vec<String>,
    /// Cards that were already in the asked-for state.
    pub unchanged: Vec<String>,
}

/// Rows a purge deletes in one transaction.
pub const PURGE_CHUNK: i64 = 2000;

/// The condition that picks a bank's rows (`?1`) in one of [`SHARED_TABLES`].
fn of_bank(table: &str) -> &'static str {
    match table {
        "balance_history" | "balances" | "merchant_track" => {
            "account_id IN (SELECT id FROM accounts WHERE bank_id = ?1)"
        }
        // An insight about any of the bank's rows goes with them, and so
        // do its links to other banks' rows.
        "insights" => "id IN (SELECT insight_id FROM insight_rows WHERE bank_id = ?1)",
        "insight_rows" => "bank_id = ?1 OR insight_id NOT IN (SELECT id FROM insights)",
        _ => "bank_id = ?1",
    }
}

/// The tables a bank's shared data lives in, in an order that keeps foreign
/// keys satisfied while deleting.
const SHARED_TABLES: &[&str] = &[
    "disputes",
    "alerts",
    "messages",
    "history_notices",
    "insights",
    "insight_rows",
    "receipt_items",
    "transactions",
    "balance_history",
    "balances",
    "merchant_track",
    "cards",
    "accounts",
    "feed_cursors",
    "quarantine",
];

impl Store {
    /// Starts sharing a bank for [`DEFAULT_CONSENT_DAYS`]; see [`Store::grant_for`].
    pub fn grant(&mut self, bank: &BankId, now: DateTime<Utc>) -> Result<ConsentChange> {
        self.grant_for(bank, now, Duration::days(DEFAULT_CONSENT_DAYS))
    }

    /// Starts sharing a bank until `now + valid_for`: its feed may deliver
    /// until then. On a bank already shared this renews: the end moves to
    /// `now + valid_for` and the feed goes on undisturbed.
    pub fn grant_for(&mut self, bank: &BankId, now: DateTime<Utc>, valid_for: Duration) -> Result<ConsentChange> {
        let zone = self.zone;
        self.decide(|tx| grant_in(tx, bank, now, valid_for, false, zone))
    }

    /// Renews a bank's consent for `valid_for` from `now`: a shared bank
    /// stays shared for longer, a bank whose consent expired is shared again.
    /// A bank the user revoked (or never shared) is refused with
    /// [`StoreError::NoConsent`]: that takes a grant.
    pub fn renew(&mut self, bank: &BankId, now: DateTime<Utc>, valid_for: Duration) -> Result<ConsentChange> {
        let zone = self.zone;
        self.decide(|tx| grant_in(tx, bank, now, valid_for, true, zone))
    }

    /// Ends every grant whose time is up at `now`, as a revoke would: the
    /// bank's epoch moves on (its feed stops; stale events are dropped), the
    /// consent log says "expire" and the bank's conversation says how to
    /// renew. Cheap when nothing is due (one read). Returns the banks that
    /// expired. The feed supervisor calls it on every poll, the commands and
    /// the screen before they read.
    ///
    /// A grant made while the clock was ahead (its time more than a day
    /// after `now`) is counted again from now, for as long as it was made
    /// for: a grant made under a clock years ahead no longer lasts years.
    pub fn expire_due(&mut self, now: DateTime<Utc>) -> Result<Vec<BankId>> {
        let due = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM banks WHERE consent = 'granted'
                 AND (consent_expires_at <= ?1 OR consent_at > ?1 + 86400)",
            )?
            .exists([now.timestamp()])?;
        if !due {
            return Ok(Vec::new());
        }
        let zone = self.zone;
        self.decide(|tx| {
            recount_future_grants(tx, now)?;
            expire_in(tx, None, now, zone)
        })
    }

    /// Stops sharing a bank. With `purge`, also deletes every row it shared,
    /// keeping only the consent log.
    pub fn revoke(&mut self, bank: &BankId, purge: bool, now: DateTime<Utc>) -> Result<ConsentChange> {
        self.revoke_with_progress(bank, purge, now, &mut |_, _| {})
    }

    /// [`Store::revoke`], telling `progress(done, total)` how a purge goes.
    ///
    /// The bank is revoked first, in one decision: its feed stops and
    /// nothing more of it is stored. A purge then deletes its rows in short
    /// transactions of [`PURGE_CHUNK`] rows, each taking its turn at the
    /// write lock, so that a feed writing the other banks meanwhile goes on
    /// between them; the purge is logged once everything is gone, and the
    /// store is rebuilt (`VACUUM`) and its WAL emptied, so that no copy of a
    /// purged row is left in the store's files. Deleted rows are overwritten
    /// with zeros (`secure_delete` is always on). A purge cut short leaves
    /// the bank revoked and part of its rows; purging again deletes the rest.
    pub fn revoke_with_progress(
        &mut self,
        bank: &BankId,
        purge: bool,
        now: DateTime<Utc>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ConsentChange> {
        let zone = self.zone;
        let granted = self.decide(|tx| {
            expire_in(tx, Some(bank), now, zone)?;
            let granted = Store::grant_of(tx, bank, now)?.is_some();
            if granted {
                set_consent(tx, bank, ConsentState::Revoked, now, None)?;
                log(tx, bank, ConsentAction::Revoke, now, "")?;
            } else {
                // An expired grant the user now revokes reads as revoked.
                tx.execute("UPDATE banks SET consent_expires_at = NULL WHERE id = ?1", [bank.as_str()])?;
            }
            if granted && !purge {
                let name = bank_name(tx, bank)?;
                let text = format!(
                    "You stopped sharing {name}. It delivers nothing more; what it shared so far stays until you purge it."
                );
                NewMessage::new(bank, Sender::System, MessageKind::Notice, now, &text).insert(tx)?;
            }
            Ok(granted)
        })?;
        if !purge {
            return Ok(if granted { ConsentChange::Revoked } else { ConsentChange::AlreadyRevoked });
        }
        // What is about to go, for the deletion receipt.
        let digest = self.shared_digest(bank, SHARED_TABLES, of_bank)?;
        let (done, parts) = self.delete_shared(bank, progress)?;
        let what = if parts.is_empty() { "nothing stored".to_string() } else { parts.join(", ") };
        let detail = format!("deleted {what}; sha256 {digest}");
        // The purge's own checkpoint follows the rebuild. The receipt is
        // posted in the (now empty) thread, and kept in the log.
        let zone = self.zone;
        self.decide_then("PASSIVE", |tx| {
            log(tx, bank, ConsentAction::Purge, now, &detail)?;
            let name = bank_name(tx, bank)?;
            let text = format!(
                "Deletion receipt: on {} finbox deleted what {name} shared: {what}. SHA-256 of the deleted \
                 records: {digest}. The consent log keeps this receipt (`finbox consent log`).",
                when::long_date(now, zone)
            );
            NewMessage::new(bank, Sender::System, MessageKind::Receipt, now, &text).insert(tx)?;
            Ok(())
        })?;
        self.rebuild_after_purge();
        let removed = self.path.as_deref().map(super::remove_backups).unwrap_or_default();
        Ok(ConsentChange::Purged { rows: done as i64, backups_removed: removed.len() })
    }

    /// Deletes a bank's rows table by table, in chunks (so other writers
    /// get their turn), saying how far it is: how many, and per table.
    fn delete_shared(&mut self, bank: &BankId, progress: &mut dyn FnMut(u64, u64)) -> Result<(u64, Vec<String>)> {
        let mut total = 0u64;
        for table in SHARED_TABLES {
            let n: i64 = self.conn.query_row(
                &format!("SELECT count(*) FROM {table} WHERE {}", of_bank(table)),
                [bank.as_str()],
                |r| r.get(0),
            )?;
            total += n as u64;
        }
        progress(0, total);
        let mut done = 0u64;
        let mut parts = Vec::new();
        for table in SHARED_TABLES {
            // balance_history has no rowid: its key is (account_id, day).
            let (key, cols) =
                if *table == "balance_history" { ("(account_id, day)", "account_id, day") } else { ("rowid", "rowid") };
            let sql = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {cols} FROM {table} WHERE {} LIMIT ?2)",
                of_bank(table)
            );
            let mut n_table = 0u64;
            loop {
                let n = self.write(|tx| Ok(tx.execute(&sql, params![bank.as_str(), PURGE_CHUNK])?))? as u64;
                if n == 0 {
                    break;
                }
                n_table += n;
                done += n;
                progress(done.min(total), total);
            }
            if n_table > 0 && *table != "feed_cursors" {
                parts.push(format!("{n_table} {}", table.replace('_', " ")));
            }
        }
        Ok((done, parts))
    }

    /// Records the user's verdict on an open alert. "Not me" at a simulated
    /// bank also locks the card, opens a dispute with a provisional credit
    /// and sends a replacement card (see `dispute`); the bank says so in its
    /// conversation.
    pub fn ack_alert(&mut self, id: AlertId, verdict: Verdict, now: DateTime<Utc>) -> Result<FraudAlert> {
        let alert = self.alert(id)?;
        if alert.status != AlertStatus::Open {
            return Err(StoreError::AlertDecided(id, alert.status));
        }
        self.decide(|tx| {
            if Store::grant_of(tx, &alert.bank, now)?.is_none() {
                return Err(StoreError::NoConsent(alert.bank.clone()));
            }
            let n = tx.execute(
                "UPDATE alerts SET status = ?2, decided_at = ?3 WHERE id = ?1 AND status = 'open'",
                params![id.0, verdict.status().as_str(), now.timestamp()],
            )?;
            if n == 0 {
                return Err(StoreError::AlertDecided(id, AlertStatus::Fraud));
            }
            let said = match verdict {
                Verdict::ItWasMe => "it was me",
                Verdict::NotMe => "not me",
            };
            chain::append(tx, now, Some(&alert.bank), ChainKind::Verdict, &format!("alert {}: {said}", id.0))?;
            let amount = alert.amount.abs();
            let text = match verdict {
                Verdict::ItWasMe => format!(
                    "Thanks for confirming the {amount} charge at {}. We've closed the alert; no further action is needed.",
                    alert.merchant
                ),
                Verdict::NotMe => super::dispute::open(tx, &alert, now)?,
            };
            NewMessage::new(&alert.bank, Sender::Bank, MessageKind::Fraud, now, &text)
                .txn(alert.txn.0)
                .alert(id.0)
                .insert(tx)?;
            Ok(())
        })?;
        self.alert(id)
    }

    /// Freezes (or unfreezes) the bank's cards: the one ending in `mask` if
    /// given, otherwise all of them.
    pub fn set_frozen(
        &mut self,
        bank: &BankId,
        mask: Option<&str>,
        frozen: bool,
        now: DateTime<Utc>,
    ) -> Result<FreezeOutcome> {
        self.decide(|tx| set_frozen_in(tx, bank, mask, frozen, now))
    }

    /// Runs a user decision in one write transaction that is on disk when
    /// this returns: its commit syncs the WAL (`synchronous = FULL` for this
    /// one transaction, whatever other connections are reading), and then
    /// what can be is copied into the store file without waiting for anyone
    /// (a PASSIVE checkpoint: a FULL one waited up to the busy timeout behind
    /// a feed writing at full speed, for nothing the synced WAL lacks).
    pub(super) fn decide<T>(&mut self, f: impl FnOnce(&SqlTx<'_>) -> Result<T>) -> Result<T> {
        self.decide_then("PASSIVE", f)
    }

    /// [`Store::decide`], then a checkpoint of the given mode.
    fn decide_then<T>(&mut self, checkpoint: &str, f: impl FnOnce(&SqlTx<'_>) -> Result<T>) -> Result<T> {
        let file = self.path.is_some();
        let before: i64 = if file { self.conn.query_row("PRAGMA synchronous", [], |r| r.get(0))? } else { 0 };
        if file {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        let out = self.write(f);
        if file && let Err(e) = self.conn.pragma_update(None, "synchronous", before) {
            tracing::warn!(error = %e, "cannot restore the synchronous setting after a decision");
        }
        let out = out?;
        self.checkpoint_now(checkpoint, "a user decision");
        Ok(out)
    }

    /// Rebuilds the store file after a purge (`VACUUM`): no page keeps a
    /// fragment of a purged row in its unused space, and the file shrinks.
    /// Then the WAL, which holds the rebuilt pages, is checkpointed and cut
    /// to nothing. Other connections read on meanwhile; writers wait (the
    /// feed writer waits its turn and carries on). A rebuild that cannot run
    /// now is logged: the rows are gone either way.
    pub(super) fn rebuild_after_purge(&mut self) {
        if self.path.is_none() {
            return;
        }
        let started = std::time::Instant::now();
        match self.conn.execute_batch("VACUUM") {
            Ok(()) => tracing::info!(ms = started.elapsed().as_millis() as u64, "store rebuilt after a purge"),
            Err(e) => tracing::warn!(error = %e, "cannot rebuild the store after a purge"),
        }
        self.checkpoint_now("TRUNCATE", "the rebuild after a purge");
    }

    /// Marks every message of a bank as read.
    pub fn mark_read(&mut self, bank: &BankId) -> Result<usize> {
        Ok(self.conn.execute("UPDATE messages SET read = 1 WHERE bank_id = ?1 AND read = 0", [bank.as_str()])?)
    }
}

pub(super) fn set_frozen_in(
    tx: &SqlTx<'_>,
    bank: &BankId,
    mask: Option<&str>,
    frozen: bool,
    now: DateTime<Utc>,
) -> Result<FreezeOutcome> {
    if Store::grant_of(tx, bank, now)?.is_none() {
        return Err(StoreError::NoConsent(bank.clone()));
    }
    let mut stmt = tx.prepare("SELECT id, mask, kind, frozen FROM cards WHERE bank_id = ?1 ORDER BY id")?;
    let cards: Vec<(i64, String, String, bool)> = stmt
        .query_map([bank.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = FreezeOutcome { changed: Vec::new(), unchanged: Vec::new() };
    for (id, card_mask, kind, is_frozen) in cards {
        if mask.is_some_and(|m| m != card_mask) {
            continue;
        }
        let label = format!("{kind} card •{card_mask}");
        if is_frozen == frozen {
            out.unchanged.push(label);
            continue;
        }
        tx.execute(
            "UPDATE cards SET frozen = ?2, frozen_at = ?3 WHERE id = ?1",
            params![id, frozen, frozen.then_some(now.timestamp())],
        )?;
        let (kind, done) = if frozen { (ChainKind::CardLock, "locked") } else { (ChainKind::CardUnlock, "unlocked") };
        chain::append(tx, now, Some(bank), kind, &format!("{label} {done}"))?;
        out.changed.push(label);
    }
    Ok(out)
}

fn set_consent(
    tx: &SqlTx<'_>,
    bank: &BankId,
    state: ConsentState,
    now: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
) -> Result<()> {
    tx.execute(
        "UPDATE banks SET consent = ?2, consent_at = ?3, consent_expires_at = ?4, epoch = epoch + 1 WHERE id = ?1",
        params![bank.as_str(), state.as_str(), now.timestamp(), expires.map(|t| t.timestamp())],
    )?;
    Ok(())
}

/// A grant, or with `renew_only` a renew (refused unless the bank is shared
/// or its grant expired). A bank already shared is renewed either way.
fn grant_in(
    tx: &SqlTx<'_>,
    bank: &BankId,
    now: DateTime<Utc>,
    valid_for: Duration,
    renew_only: bool,
    zone: FixedOffset,
) -> Result<ConsentChange> {
    // A grant that ran out is recorded as expired first, so that what
    // follows is a fresh grant with a new epoch, not an extension.
    let expired_now = !expire_in(tx, Some(bank), now, zone)?.is_empty();
    let granted = Store::grant_of(tx, bank, now)?.is_some();
    let name = bank_name(tx, bank)?;
    // Stored in whole seconds, like every time in the store.
    let until = from_unix(now.checked_add_signed(valid_for).unwrap_or(DateTime::<Utc>::MAX_UTC).timestamp());
    if granted {
        // A renew never shortens a grant (a clock set back would otherwise
        // end a valid one early).
        let current: Option<i64> =
            tx.query_row("SELECT consent_expires_at FROM banks WHERE id = ?1", [bank.as_str()], |r| r.get(0))?;
        let until = match current {
            Some(t) if t > until.timestamp() => from_unix(t),
            _ => until,
        };
        tx.execute(
            "UPDATE banks SET consent_expires_at = ?2 WHERE id = ?1",
            params![bank.as_str(), until.timestamp()],
        )?;
        log(tx, bank, ConsentAction::Renew, now, &until_detail(until))?;
        let text =
            format!("You renewed sharing {name} with finbox: it goes on until {}.", when::long_date(until, zone));
        NewMessage::new(bank, Sender::System, MessageKind::Notice, now, &text).insert(tx)?;
        return Ok(ConsentChange::Renewed { until });
    }
    let was_expired = expired_now
        || tx.query_row("SELECT consent_expires_at IS NOT NULL FROM banks WHERE id = ?1", [bank.as_str()], |r| {
            r.get::<_, bool>(0)
        })?;
    if renew_only && !was_expired {
        return Err(StoreError::NoConsent(bank.clone()));
    }
    set_consent(tx, bank, ConsentState::Granted, now, Some(until))?;
    let detail = until_detail(until);
    let detail = if was_expired { format!("{detail} (after it expired)") } else { detail };
    log(tx, bank, ConsentAction::Grant, now, &detail)?;
    let text = format!(
        "You started sharing {name} with finbox until {}. Your data stays in this file on your machine; \
         revoke at any time, renew before then.",
        when::long_date(until, zone)
    );
    NewMessage::new(bank, Sender::System, MessageKind::Notice, now, &text).insert(tx)?;
    Ok(ConsentChange::Granted { until })
}

/// Ends the grants (of `only`, or of every bank) whose time is up at `now`.
/// Each is recorded at the moment it ran out, not when it was noticed.
fn expire_in(tx: &SqlTx<'_>, only: Option<&BankId>, now: DateTime<Utc>, zone: FixedOffset) -> Result<Vec<BankId>> {
    let due: Vec<(String, String, i64)> = tx
        .prepare_cached(
            "SELECT id, name, consent_expires_at FROM banks
             WHERE consent = 'granted' AND consent_expires_at <= ?1 AND (?2 IS NULL OR id = ?2)
             ORDER BY position, id",
        )?
        .query_map(params![now.timestamp(), only.map(BankId::as_str)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut expired = Vec::with_capacity(due.len());
    for (id, name, at) in due {
        let bank = BankId::new(&id)?;
        let on = from_unix(at);
        // The end stays recorded: that is what tells "expired" from "revoked".
        set_consent(tx, &bank, ConsentState::Revoked, on, Some(on))?;
        log(tx, &bank, ConsentAction::Expire, on, &until_detail(on))?;
        let text = format!(
            "Sharing with {name} expired on {}; it delivers nothing more until you renew it.",
            when::long_date(on, zone)
        );
        NewMessage::new(&bank, Sender::System, MessageKind::Notice, on, &text).insert(tx)?;
        tracing::info!(bank = %bank, "consent expired");
        expired.push(bank);
    }
    Ok(expired)
}

/// Grants whose time is more than a day after `now` were made while the
/// clock was ahead: each is counted again from `now`, for the length it was
/// made for, and the consent log says so.
fn recount_future_grants(tx: &SqlTx<'_>, now: DateTime<Utc>) -> Result<()> {
    let future: Vec<(String, i64, Option<i64>)> = tx
        .prepare_cached("SELECT id, consent_at, consent_expires_at FROM banks WHERE consent = 'granted' AND consent_at > ?1 + 86400")?
        .query_map([now.timestamp()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, at, until) in future {
        let bank = BankId::new(&id)?;
        let new_until = until.map(|u| now.timestamp().saturating_add(u.saturating_sub(at).max(0)));
        tx.execute(
            "UPDATE banks SET consent_at = ?2, consent_expires_at = ?3 WHERE id = ?1",
            params![bank.as_str(), now.timestamp(), new_until],
        )?;
        let detail = format!(
            "granted at {} by a clock that was ahead; counted again from now{}",
            from_unix(at).format("%Y-%m-%d %H:%M UTC"),
            new_until.map(|u| format!(", {}", until_detail(from_unix(u)))).unwrap_or_default()
        );
        log(tx, &bank, ConsentAction::Renew, now, &detail)?;
        tracing::warn!(bank = %bank, "a grant made under a clock that was ahead was counted again from now");
    }
    Ok(())
}

/// "until 2027-02-21 15:00 UTC", for the consent log.
fn until_detail(t: DateTime<Utc>) -> String {
    format!("until {}", t.format("%Y-%m-%d %H:%M UTC"))
}

/// A consent log entry, and its link in the tamper-evident chain.
pub(super) fn log(
    tx: &SqlTx<'_>,
    bank: &BankId,
    action: ConsentAction,
    now: DateTime<Utc>,
    detail: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO consent_log (bank_id, action, at, detail) VALUES (?1, ?2, ?3, ?4)",
        params![bank.as_str(), action.as_str(), now.timestamp(), detail],
    )?;
    chain::append(tx, now, Some(bank), ChainKind::of_consent(action), detail)
}

pub(super) fn bank_name(tx: &rusqlite::Connection, bank: &BankId) -> Result<String> {
    tx.query_row("SELECT name FROM banks WHERE id = ?1", [bank.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::UnknownBank(bank.to_string()))
}

/// The banks as the profiles list them.
impl Store {
    /// Lists the configured banks in the store: new ones are added with no
    /// consent; names, colours and order follow the profiles.
    pub fn sync_banks<P: crate::domain::Listed>(&mut self, profiles: &[P]) -> Result<()> {
        let profiles: Vec<crate::domain::BankListing<'_>> =
            profiles.iter().map(crate::domain::Listed::listing).collect();
        // Every command starts here: when the banks are listed as the
        // profiles say (nearly always), nothing is written, and no command
        // waits for the write lock just to start.
        type Row = (String, String, String, String, i64, i64);
        let listed: Vec<Row> = self
            .conn
            .prepare("SELECT id, name, color, feed_kind, position, pending_tolerance_pct FROM banks")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let current = profiles.iter().enumerate().all(|(i, p)| {
            listed.iter().any(|(id, name, color, feed, pos, tolerance)| {
                (id.as_str(), name.as_str(), color.as_str(), feed.as_str(), *pos, *tolerance)
                    == (p.id.as_str(), p.name, p.color, p.feed_kind, i as i64, p.pending_tolerance_percent)
            })
        });
        if current {
            return Ok(());
        }
        let _turn = self.turnstile.as_ref().map(|t| t.take());
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare(
                "INSERT INTO banks (id, name, color, feed_kind, position, pending_tolerance_pct)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, color = excluded.color,
                     feed_kind = excluded.feed_kind, position = excluded.position,
                     pending_tolerance_pct = excluded.pending_tolerance_pct
                 WHERE name IS NOT excluded.name OR color IS NOT excluded.color
                     OR feed_kind IS NOT excluded.feed_kind OR position IS NOT excluded.position
                     OR pending_tolerance_pct IS NOT excluded.pending_tolerance_pct",
            )?;
            for (i, p) in profiles.iter().enumerate() {
                let tolerance = p.pending_tolerance_percent;
                upsert.execute(rusqlite::params![p.id.as_str(), p.name, p.color, p.feed_kind, i as i64, tolerance])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
