//! The SQLite store: the only code that speaks SQL.
//!
//! One file, WAL journal, a busy timeout, schema versioned by
//! `PRAGMA user_version` and migrated at open. Consent is enforced here: no
//! bank event is written for a bank whose consent is not granted.
//!
//! **Several processes share the store** (the screen with its feeds, a
//! `finbox` command in another terminal, a backup tool), and SQLite's locks
//! are POSIX advisory locks: closing *any* descriptor of a file drops *all*
//! of this process's locks on it. So nothing here (or anywhere in finbox)
//! opens, reads, copies or closes the store, its `-wal` or its `-shm` with
//! `std::fs` while a connection may be open: a file's kind is told through a
//! SQLite probe ([`file_kind`]), copies are made by SQLite (`VACUUM INTO`),
//! and only path calls (`metadata`, `set_permissions`, `rename` of files
//! that are not open) are used. A process that broke this rule lost its
//! locks; the next process to close believed it was the last connection,
//! checkpointed and deleted the WAL under the writer, and the store was
//! damaged for good (SQLite's "How To Corrupt An SQLite Database File", 2.2).

mod action;
mod audit;
mod chain;
mod cipher;
mod dispute;
mod files;
mod import;
mod ingest;
mod insights;
mod lease;
mod message;
mod query;
mod receipt;
mod register;
mod reply;
mod rules;
mod scopes;
mod simplefin;
mod transfers;
mod turnstile;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::domain::{AlertId, AlertStatus, BankId, MoneyError, ParseError, when};

pub use crate::domain::{BankSummary, Quarantined, UNREAD_CAP};
pub use action::{ConsentChange, FreezeOutcome};
pub use chain::{Breach, ChainEntry, ChainKind, ChainReport};
pub use cipher::{Direction, FileKind, PASSPHRASE_ENV, Passphrase, check_convertible, convert, file_kind};
pub use files::{check_owner, create_private_dir, foreign_owner, is_store_file, remove_backups};
use files::{create_private_file, make_private};
pub(crate) use ingest::Facts;
pub use ingest::{BatchReport, BulkWrite, Rejection};
pub use lease::{FeedHolder, LEASE_RENEW, LEASE_STALE, Lease};
pub use query::{CategorySpend, TxnCursor, TxnFilter};
pub use register::{CONTEXT, RegisterAt, RegisterWindow};
pub use reply::Bot as BankBot;
pub use scopes::ScopeChange;
pub use simplefin::{Connection as SimplefinConnection, Link as SimplefinLink, SIMPLEFIN_FEED};

/// `PRAGMA application_id` of a finbox store ("FBOX").
pub const APPLICATION_ID: i64 = 0x4642_4f58;

/// The schema migrations, in order; the store's `user_version` is how many ran.
/// The schema version this finbox writes: how many migrations there are.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    include_str!("../assets/migrations/0001_init.sql"),
    include_str!("../assets/migrations/0002_fts_insert_in_code.sql"),
    include_str!("../assets/migrations/0003_quarantine.sql"),
    include_str!("../assets/migrations/0004_consent_expiry.sql"),
    include_str!("../assets/migrations/0005_history_from.sql"),
    include_str!("../assets/migrations/0006_history_notices.sql"),
    include_str!("../assets/migrations/0007_feed_leases.sql"),
    include_str!("../assets/migrations/0008_money.sql"),
    include_str!("../assets/migrations/0009_simplefin.sql"),
    include_str!("../assets/migrations/0010_chain.sql"),
    include_str!("../assets/migrations/0011_scopes.sql"),
    include_str!("../assets/migrations/0012_insights.sql"),
    include_str!("../assets/migrations/0013_checks_as_comparisons.sql"),
    include_str!("../assets/migrations/0014_messages_txn_partial.sql"),
];

/// The migration that edits table definitions in place (`writable_schema`):
/// the schema version goes up after it, as SQLite's procedure asks, so that
/// every connection reads the new text.
const EDITS_SCHEMA_TEXT: usize = 13;

/// A bank's grant while it is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    /// Moves on with every consent change; a feed's events carry the epoch
    /// they were produced under.
    pub epoch: i64,
    /// When it was shared (Unix seconds): what is dated earlier is history.
    pub since: i64,
    /// What it may share.
    pub scopes: crate::domain::Scopes,
}

/// How long a writer waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not a finbox store; it was left untouched. Point --db (or FINBOX_DB) at another file.")]
    NotFinbox { path: String },
    #[error(
        "{path} was written by a newer finbox (schema {found}, this one knows {known}); it was left untouched. Upgrade finbox."
    )]
    TooNew { path: String, found: i64, known: i64 },
    #[error(
        "{path} is encrypted (or is not a finbox store): give its passphrase in FINBOX_PASSPHRASE, or start finbox in a terminal to be asked for it"
    )]
    Encrypted { path: String },
    #[error("wrong passphrase for {path} (or it is not a finbox store); nothing was changed")]
    WrongPassphrase { path: String },
    #[error(
        "{path} is damaged ({detail}); it was left untouched. Restore a backup (finbox keeps a copy beside it before each schema upgrade, named *.before-v<N>), or move it away to start afresh."
    )]
    Damaged { path: String, detail: String },
    #[error(
        "{path} belongs to another user (uid {owner}), so finbox will not use it: anyone who made it there could read what finbox writes. Move it away, or point --db (or FINBOX_DB) at a folder of your own."
    )]
    NotOwned { path: String, owner: u32 },
    #[error("{path} is read-only ({detail}): finbox needs to write to the store and its folder; nothing was changed")]
    ReadOnly { path: String, detail: String },
    #[error(
        "the disk is full (or the store reached its size limit): nothing of this change was written; free some space"
    )]
    Full,
    #[error("{0}")]
    Convert(String),
    #[error(
        "{path} is being encrypted or decrypted by another finbox (`finbox encrypt` / `decrypt`); try again once it is done"
    )]
    Converting { path: String },
    #[error("the store is busy: another finbox process held it locked for more than {0:?}; try again")]
    Busy(Duration),
    #[error("cannot open the store {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("no bank {0:?}; `finbox banks` lists the bank ids")]
    UnknownBank(String),
    #[error("no alert {0}; `finbox alerts --all` lists alert ids")]
    UnknownAlert(AlertId),
    #[error("alert {0} was already decided ({1}); a decided alert never reopens")]
    AlertDecided(AlertId, AlertStatus),
    #[error("{0} is not shared with finbox; grant consent first: finbox consent grant {0}")]
    NoConsent(BankId),
    #[error("{0}")]
    Ambiguous(String),
    /// A change the store refuses, with why (a transfer pair that cannot be).
    #[error("{0}")]
    Refused(String),
    #[error("the store holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error("money: {0}")]
    Money(#[from] MoneyError),
    #[error("store: {0}")]
    Sqlite(rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        {
            return StoreError::Busy(BUSY_TIMEOUT);
        }
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == rusqlite::ErrorCode::DiskFull
        {
            return StoreError::Full;
        }
        StoreError::Sqlite(e)
    }
}

impl From<ParseError> for StoreError {
    fn from(e: ParseError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection to the store. The feed writer owns one; readers (the CLI, the
/// screen) open their own.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    made_private: Vec<PathBuf>,
    removed_leftovers: Vec<PathBuf>,
    /// Fair turns at the write lock for decisions (see [`turnstile`]).
    turnstile: Option<turnstile::Turnstile>,
    key: Option<Passphrase>,
    /// The user's time zone, for the dates in finbox's own notices (UTC
    /// until told otherwise).
    zone: chrono::FixedOffset,
    /// The screen's last check of the tamper-evident log.
    chain_checked: chain::Checked,
    /// The bank bot's ATMs and the user's place.
    bot: reply::Bot,
    /// The user's rules, applied to what arrives.
    rules: std::sync::Arc<crate::domain::rules::Rules>,
    /// Whether a batch holds an authorisation back until its posting (see
    /// `ingest::held`); off only to compare, in tests and the benchmark.
    hold_authorisations: bool,
    /// The ingest's per-batch buffers, kept with their room between
    /// batches (see `ingest::Buffers`).
    buffers: ingest::Buffers,
}

impl Store {
    /// Opens (creating if missing, with mode 0600) the plain store at
    /// `path` and migrates it. A file that is not a finbox store is never
    /// modified.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_keyed(path, None)
    }

    /// Opens the store at `path`, encrypted with `key` if it is. A new store
    /// is created encrypted when a key is given. An encrypted store without
    /// a key, or with the wrong one, is refused with its own error and
    /// nothing is written.
    pub fn open_keyed(path: &Path, key: Option<&Passphrase>) -> Result<Store> {
        Store::open_keyed_inner(path, key).map_err(|e| match e {
            // A conversion holds the store locked from start to end, beside
            // its copy: say that, not "busy" or "read-only".
            StoreError::Busy(_) | StoreError::ReadOnly { .. } | StoreError::Open { .. }
                if cipher::sibling(path, "converting").exists() =>
            {
                StoreError::Converting { path: path.display().to_string() }
            }
            e => e,
        })
    }

    fn open_keyed_inner(path: &Path, key: Option<&Passphrase>) -> Result<Store> {
        let shown = path.display().to_string();
        let open_err = |source| StoreError::Open { path: shown.clone(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(open_err)?;
        }
        // As ssh does for its keys: a file someone else made (in a shared
        // folder) is not ours to fill with the user's money.
        for suffix in ["", "-wal", "-shm"] {
            check_owner(&PathBuf::from(format!("{}{suffix}", path.display())))?;
        }
        let kind = file_kind(path)?;
        let key = match (kind, key) {
            (FileKind::Plain, _) => None,
            (FileKind::Foreign, _) => return Err(StoreError::NotFinbox { path: shown }),
            (FileKind::Opaque, None) => return Err(StoreError::Encrypted { path: shown }),
            (_, key) => key,
        };
        if kind == FileKind::New && !path.exists() {
            // A new inode: no connection of this process can hold it.
            create_private_file(path).map_err(open_err)?;
        }
        let mut store = Store::connect(path, key)?;
        store.removed_leftovers = cipher::remove_conversion_leftovers(path);
        Ok(store)
    }

    /// A connection to a store whose kind is known (`key` given for an
    /// encrypted one): the file is not looked at again.
    fn connect(path: &Path, key: Option<&Passphrase>) -> Result<Store> {
        let shown = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| classify(e, &shown, key.is_some()))?;
        if let Some(k) = key {
            cipher::key(&conn, k)?;
        }
        // SQLite quietly falls back to reading a file it may not write;
        // finbox needs to write, so it says so now rather than at the
        // first change.
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            let detail = "the file cannot be written: check its permissions, or whether the disk is mounted read-only";
            return Err(StoreError::ReadOnly { path: shown, detail: detail.into() });
        }
        let mut store = Store {
            conn,
            path: Some(path.to_path_buf()),
            made_private: Vec::new(),
            removed_leftovers: Vec::new(),
            turnstile: turnstile::Turnstile::open(path),
            key: key.cloned(),
            zone: when::zone(0),
            chain_checked: Default::default(),
            bot: Default::default(),
            rules: Default::default(),
            hold_authorisations: true,
            buffers: Default::default(),
        };
        store.prepare(&shown)?;
        // Only now that the file is known to be ours: make it and its
        // journal files private if someone loosened them.
        store.made_private = make_private(path);
        Ok(store)
    }

    /// Another connection to the same store, with the same key.
    pub fn reopen(&self) -> Result<Store> {
        match &self.path {
            // Not through `open_keyed`: this process holds the store open,
            // and its kind is known.
            Some(path) => Ok(Store {
                zone: self.zone,
                bot: self.bot.clone(),
                rules: self.rules.clone(),
                hold_authorisations: self.hold_authorisations,
                ..Store::connect(path, self.key.as_ref())?
            }),
            None => Err(StoreError::Convert("an in-memory store cannot be reopened".into())),
        }
    }

    /// The user's time zone as an offset from UTC, for the dates finbox
    /// writes in its notices ("until Feb 27, 2027"); connections opened by
    /// [`Store::reopen`] keep it.
    pub fn set_utc_offset(&mut self, secs: i32) {
        self.zone = when::zone(secs);
    }

    /// Caps the store's size in pages (`PRAGMA max_page_count`): a quota,
    /// and how tests fill the disk. Returns the cap in force.
    pub fn set_max_page_count(&self, pages: i64) -> Result<i64> {
        Ok(self.conn.query_row(&format!("PRAGMA max_page_count = {}", pages.max(1)), [], |r| r.get(0))?)
    }

    /// Files of this store that were readable by others and were made
    /// private (0600) when it was opened.
    pub fn made_private(&self) -> &[PathBuf] {
        &self.made_private
    }

    /// Files an interrupted `encrypt` or `decrypt` left beside the store (a
    /// full copy, plain during a decrypt) that were removed when it opened.
    pub fn removed_leftovers(&self) -> &[PathBuf] {
        &self.removed_leftovers
    }

    /// A private in-memory store, for tests.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: None,
            made_private: Vec::new(),
            removed_leftovers: Vec::new(),
            turnstile: None,
            key: None,
            zone: when::zone(0),
            chain_checked: Default::default(),
            bot: Default::default(),
            rules: Default::default(),
            hold_authorisations: true,
            buffers: Default::default(),
        };
        store.prepare(":memory:")?;
        Ok(store)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Identity check, pragmas and migrations, in that order: nothing is
    /// written before we know the file is ours (or empty).
    fn prepare(&mut self, shown: &str) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // A batch uses a score of statements; rusqlite keeps 16 by default,
        // and one evicted is parsed again.
        self.conn.set_prepared_statement_cache_capacity(64);
        // Plans that do not depend on the values bound. Without this,
        // SQLite marks a statement whose plan looked at a bound value (a
        // join carrying `= ?1` across, a `max()` read from an index, an
        // `ORDER BY` on an expression of a parameter) to be planned again
        // when its bindings change, and rusqlite clears a cached
        // statement's bindings each time it goes back to the cache: such a
        // statement was parsed and planned again at every run (a transfer
        // leg's look-up: 3% of ingest in `perf`). finbox keeps no planner
        // statistics, so no plan is lost.
        self.conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        let keyed = self.key.is_some();
        let not_ours = |e: rusqlite::Error| classify(e, shown, keyed);
        let app_id: i64 = self.conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(not_ours)?;
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(not_ours)?;
        let objects: i64 =
            self.conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(not_ours)?;
        let fresh = app_id == 0 && version == 0 && objects == 0;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::NotFinbox { path: shown.to_string() });
        }
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: shown.to_string(), found: version, known });
        }
        self.conn.pragma_update(None, "foreign_keys", true)?;
        if self.path.is_some() {
            let mode: String = self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(not_ours)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "could not switch the store to WAL");
            }
            // WAL + NORMAL is durable across application crashes; decisions the
            // user makes are checkpointed explicitly (see `durable`).
            self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        // What is deleted is overwritten with zeros, always: a page written
        // while it was off would keep fragments of rows a purge removes
        // later (its unused space, old copies from page splits).
        self.conn.pragma_update(None, "secure_delete", true)?;
        if version < known {
            if !fresh {
                self.back_up_before_migrating(version).map_err(|e| reclassify(e, shown, keyed))?;
            }
            self.migrate().map_err(|e| reclassify(e, shown, keyed))?;
        }
        Ok(())
    }

    /// Copies the store (encrypted with the same key if it is) to
    /// `<store>.before-v<N+1>` before migration N+1 runs. SQLite makes the
    /// copy (`VACUUM INTO`, a consistent snapshot, WAL included) into a
    /// temporary name beside it, which is checked (it opens, passes
    /// `quick_check`, is ours and at version N), synced and renamed: an
    /// interrupted backup leaves no backup, never a truncated one. A backup
    /// already there is kept if it checks, and made again if it does not.
    fn back_up_before_migrating(&mut self, version: i64) -> Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        let backup = cipher::sibling(&path, &format!("before-v{}", version + 1));
        let shown = format!("{} (the backup before upgrading)", backup.display());
        check_owner(&backup)?;
        if backup.exists() {
            match check_backup(&backup, self.key.as_ref(), version) {
                Ok(()) => return Ok(()),
                Err(e) => tracing::warn!(error = %e, "the backup before upgrading does not check; making it again"),
            }
        }
        let tmp = cipher::sibling(&path, &format!("before-v{}.partial", version + 1));
        let io = |source| StoreError::Open { path: shown.clone(), source };
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        // An empty file is a valid target of VACUUM INTO; creating it first
        // makes it private from the start.
        create_private_file(&tmp).map_err(io)?;
        let made = self
            .conn
            .execute("VACUUM INTO ?1", params![tmp.to_string_lossy()])
            .map_err(StoreError::from)
            .and_then(|_| check_backup(&tmp, self.key.as_ref(), version));
        if let Err(e) = made {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        cipher::sync_file(&tmp);
        std::fs::rename(&tmp, &backup).map_err(io)?;
        cipher::sync_dir(path.parent().unwrap_or(Path::new("")));
        tracing::info!(from = version, "backed up the store before a schema upgrade");
        Ok(())
    }

    /// Runs every pending migration in one transaction: a store is either
    /// at its old version or fully upgraded, never in between.
    /// Another process may have upgraded the store since it was opened: the
    /// version is read again under the write lock.
    fn migrate(&mut self) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            tx.execute_batch(sql)?;
            if i + 1 == chain::SCHEMA {
                chain::start(&tx)?;
            }
            if i + 1 == EDITS_SCHEMA_TEXT {
                let cookie: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
                tx.pragma_update(None, "schema_version", cookie + 1)?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tracing::info!(version = i + 1, "migrated store schema");
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
        Ok(())
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, so a second writer waits
    /// for the busy timeout instead of failing halfway. It takes the
    /// store's turnstile first, so a feed writing at full speed lets it in
    /// after the batch in progress.
    fn write<T>(&mut self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let _turn = self.turnstile.as_ref().map(|t| t.take());
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// A FULL or TRUNCATE checkpoint of a store file, now; what could not be
    /// done is logged (the next checkpoint does it).
    fn checkpoint_now(&self, mode: &str, after: &str) {
        if self.path.is_none() {
            return;
        }
        match self.checkpoint_waiting(mode) {
            Ok(true) => {}
            Ok(false) => tracing::warn!(mode, after, "the WAL stayed busy; a later checkpoint completes it"),
            Err(e) => tracing::warn!(error = %e, mode, after, "checkpoint failed"),
        }
    }

    /// A FULL or TRUNCATE checkpoint, waiting its turn for up to a second:
    /// SQLite waits for readers and writers (the busy timeout) but not for
    /// another checkpoint, and the writer's checkpoint thread runs one after
    /// every batch. True when it completed.
    fn checkpoint_waiting(&self, mode: &str) -> Result<bool> {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        loop {
            // The first column is 1 when it could not complete (busy).
            let busy: i64 = self.conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sets this connection's page cache size. The writer gets a bigger one so
    /// that index pages stay cached as the store grows.
    pub fn set_cache_kib(&self, kib: i64) -> Result<()> {
        self.conn.pragma_update(None, "cache_size", -kib.max(64))?;
        Ok(())
    }

    /// The SQL of this connection's statements that SQLite prepared again
    /// at most of their runs. rusqlite clears a cached statement's bindings
    /// when it goes back to the cache, and SQLite then re-plans any
    /// statement whose plan looked at a bound value (a `max()` it can read
    /// from an index, a constant carried across a join, an `ORDER BY` on an
    /// expression of a parameter): tens of microseconds at every run. The
    /// tests keep the ingest path free of them.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn statements_prepared_again(&self) -> Vec<String> {
        use rusqlite::ffi;
        let mut found = Vec::new();
        // SAFETY: the connection's handle is valid while `self` lives, the
        // statements listed belong to it and stay alive during this loop (no
        // statement is finalised here), and sqlite3_sql returns a string
        // owned by its statement, copied before the next one.
        unsafe {
            let db = self.conn.handle();
            let mut st = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
            while !st.is_null() {
                let runs = ffi::sqlite3_stmt_status(st, ffi::SQLITE_STMTSTATUS_RUN, 0);
                let again = ffi::sqlite3_stmt_status(st, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
                if runs >= 3 && again * 2 >= runs {
                    let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(st)).to_string_lossy();
                    found.push(format!(
                        "{again} of {runs} runs: {}",
                        sql.split_whitespace().collect::<Vec<_>>().join(" ")
                    ));
                }
                st = ffi::sqlite3_next_stmt(db, st);
            }
        }
        found
    }

    /// What SQLite plans for `sql` on this connection: its opcodes, in
    /// order (`EXPLAIN`), for tests to check a plan.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn opcodes(&self, sql: &str) -> Result<Vec<String>> {
        let mut q = self.conn.prepare(&format!("EXPLAIN {sql}"))?;
        let ops = q.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<_>>()?;
        Ok(ops)
    }

    /// Whether batches hold an authorisation back until its posting in the
    /// same batch (on: the default). Off, each is written as it comes: the
    /// same store, more writes. For tests and the benchmark to compare.
    #[doc(hidden)]
    pub fn hold_authorisations(&mut self, on: bool) {
        self.hold_authorisations = on;
    }

    /// Checkpoints the WAL into the store after this many pages instead of
    /// SQLite's 1,000: a bulk writer copies a hot page once, not many times.
    pub fn set_autocheckpoint(&self, pages: i64) -> Result<()> {
        self.conn.query_row(&format!("PRAGMA wal_autocheckpoint = {}", pages.max(100)), [], |_| Ok(()))?;
        Ok(())
    }

    /// Copies what it can of the WAL into the store file without waiting for
    /// anyone (`PRAGMA wal_checkpoint(PASSIVE)`); returns the frames in the
    /// WAL and how many of them are in the file now.
    pub fn checkpoint_passive(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))?)
    }

    /// Before a feed writer's next batch: waits while a person's decision
    /// (another connection, any process) is taking its turn at the write
    /// lock. Returns whether it waited.
    pub fn let_decisions_pass(&self) -> bool {
        self.turnstile.as_ref().is_some_and(|t| t.let_decisions_pass())
    }

    /// Runs SQLite's own consistency check.
    pub fn quick_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?)
    }

    /// Changes whenever another connection commits to the store.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The bank's consent state and epoch, or `UnknownBank`.
    /// `bank`'s grant if it is shared at `now`: granted, and not ended (an
    /// expired grant counts as revoked even before it is recorded as
    /// expired). The one test of consent, for feeds, imports and the user's
    /// own actions alike.
    fn grant_of(conn: &Connection, bank: &BankId, now: DateTime<Utc>) -> Result<Option<Grant>> {
        let row: Option<(bool, i64, i64, String)> = conn
            .prepare_cached(
                "SELECT consent = 'granted' AND coalesce(consent_expires_at > ?2, 1), epoch, coalesce(consent_at, 0),
                        scopes
                 FROM banks WHERE id = ?1",
            )?
            .query_row(params![bank.as_str(), now.timestamp()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let (granted, epoch, since, scopes) = row.ok_or_else(|| StoreError::UnknownBank(bank.to_string()))?;
        let scopes = crate::domain::Scopes::parse(&scopes).map_err(StoreError::Corrupt)?;
        Ok(granted.then_some(Grant { epoch, since, scopes }))
    }
}

/// A backup of the store opens (with the store's key), passes `quick_check`,
/// is a finbox store and is at schema `version`.
fn check_backup(file: &Path, key: Option<&Passphrase>, version: i64) -> Result<()> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    if let Some(k) = key {
        cipher::key(&conn, k)?;
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if check != "ok" || app != APPLICATION_ID || found != version {
        return Err(StoreError::Damaged {
            path: file.display().to_string(),
            detail: format!("quick_check: {check}; schema {found}, expected {version}"),
        });
    }
    Ok(())
}

fn reclassify(e: StoreError, shown: &str, keyed: bool) -> StoreError {
    match e {
        StoreError::Sqlite(e) => classify(e, shown, keyed),
        other => other,
    }
}

/// Maps what SQLite said while opening a store to a message about the file.
fn classify(e: rusqlite::Error, shown: &str, keyed: bool) -> StoreError {
    use rusqlite::ErrorCode as C;
    let path = shown.to_string();
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            C::NotADatabase if keyed => StoreError::WrongPassphrase { path },
            C::NotADatabase => StoreError::NotFinbox { path },
            C::DatabaseCorrupt => StoreError::Damaged { path, detail: msg.clone().unwrap_or_else(|| f.to_string()) },
            C::ReadOnly => StoreError::ReadOnly { path, detail: msg.clone().unwrap_or_else(|| f.to_string()) },
            C::CannotOpen => StoreError::ReadOnly { path, detail: msg.clone().unwrap_or_else(|| f.to_string()) },
            _ => e.into(),
        },
        _ => e.into(),
    }
}

/// Unix seconds to a UTC time (clamped into chrono's range).
pub(crate) fn from_unix(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn day_of(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}
