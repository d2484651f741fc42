//! What both front ends share: the settings and clock a run starts from
//! ([`Env`]), opening the store (asking for its passphrase where there is a
//! terminal), the signals that end a run, and starting the store writer with
//! the feed supervisor ([`start_feeds`]).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Local, TimeZone, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub mod simplefin;

use crate::config::{Dirs, Overrides, Settings};
use crate::domain::BankId;
use crate::domain::event::{Clock, FeedStatus};
use crate::feed::supervisor::{self, FeedTally, SupervisorConfig};
use crate::feed::{FeedMode, FeedRegistry};
use crate::store::writer::{Writer, WriterConfig};
use crate::store::{BatchReport, Passphrase, Store, StoreError};

/// The signal that ended the run (the screen, `finbox feed`), if one did (for the exit status).
static EXIT_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal number that ended the run (SIGTERM = 15, SIGHUP = 1),
/// so the process can exit with 128 + it, as shells expect.
pub fn exit_signal() -> Option<i32> {
    match EXIT_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// The resolved settings and clock every command starts from.
pub struct Env {
    pub settings: Settings,
    /// The store's passphrase, from FINBOX_PASSPHRASE (or asked for).
    pub key: Option<Passphrase>,
    pub now: DateTime<Utc>,
    pub utc_offset_secs: i32,
}

impl Env {
    /// The settings (the files `over` names, or the default ones), the
    /// passphrase from the environment, and the clock (`now`, or the
    /// system's).
    pub fn load(over: &Overrides, now: Option<DateTime<Utc>>) -> Result<Env> {
        let dirs = Dirs::discover()?;
        let settings = Settings::resolve(&dirs, over)?;
        // Every profile is checked now, whatever its kind, so a mistake in
        // it is an error at start, not a feed that fails later.
        crate::feed::check_profiles(&settings.profiles)?;
        // The screen's keys and colours too: a mistake in the settings file
        // is an error at start, whichever command runs.
        keymap(&settings)?;
        crate::ui::Theme::from_toml_table(&settings.theme)
            .map_err(|e| anyhow::anyhow!("config file {}: [theme] {e}", settings.config_file.display()))?;
        Ok(Env {
            settings,
            key: Passphrase::from_env(),
            now: now.unwrap_or_else(Utc::now),
            utc_offset_secs: Local::now().offset().local_minus_utc(),
        })
    }

    /// A time on the user's wall clock, for notes.
    fn local(&self, t: DateTime<Utc>) -> String {
        crate::domain::when::zone(self.utc_offset_secs)
            .from_utc_datetime(&t.naive_utc())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// Asks for the passphrase of an encrypted store on the terminal, three
    /// times at most.
    fn unlock_on_terminal(&self) -> Result<Store> {
        let db = &self.settings.db;
        let mut attempt = 1;
        loop {
            let typed = rpassword::prompt_password(format!("Passphrase for {}: ", db.display()))
                .context("cannot read the passphrase from the terminal")?;
            let Ok(key) = Passphrase::new(typed) else { bail!("no passphrase given; nothing was opened") };
            match Store::open_keyed(db, Some(&key)) {
                Err(StoreError::WrongPassphrase { .. }) if attempt < 3 => eprintln!("Wrong passphrase; try again."),
                other => return Ok(other?),
            }
            attempt += 1;
        }
    }

    /// Opens the store, which must be there: a command that only reads (or
    /// changes what is there) makes no store, no file and no folder where
    /// there is none, and says so. See [`Env::open_or_create_store`].
    pub fn open_store(&self) -> Result<Store> {
        let db = &self.settings.db;
        // An error (a folder we may not look into) is the open's to report.
        if !db.try_exists().unwrap_or(true) {
            let ids: Vec<&str> = self.settings.profiles.iter().map(|p| p.id.as_str()).collect();
            bail!(
                "no store at {} (it is made by `finbox consent grant`, `finbox feed` or `finbox import`); nothing \
                 was created. Check --db (or FINBOX_DB), or start one by sharing a bank: `finbox consent grant \
                 BANK` ({}) or `finbox consent grant --all`.",
                db.display(),
                ids.join(", ")
            );
        }
        self.open_or_create_store()
    }

    /// Opens the store, making it (and its folder) when there is none, and
    /// lists the configured banks in it: for the commands that put data in
    /// it (`consent grant`, `feed`, `import`). An encrypted store without
    /// `FINBOX_PASSPHRASE` asks for it on the terminal.
    pub fn open_or_create_store(&self) -> Result<Store> {
        let opened = self.open_store_asking(|refused| {
            if std::io::stdin().is_terminal() { self.unlock_on_terminal().map(Some) } else { Err(refused.into()) }
        })?;
        opened.context("no passphrase given; nothing was opened")
    }

    /// Opens the store as [`Env::open_or_create_store`] does (the screen,
    /// too, starts a store where there is none), but an encrypted store
    /// without `FINBOX_PASSPHRASE` is handed to `ask` (with the refusal) to
    /// be unlocked; `None` when the user gave up.
    pub fn open_store_asking(&self, ask: impl FnOnce(StoreError) -> Result<Option<Store>>) -> Result<Option<Store>> {
        let mut store = match Store::open_keyed(&self.settings.db, self.key.as_ref()) {
            Err(refused @ StoreError::Encrypted { .. }) if self.key.is_none() => match ask(refused)? {
                Some(store) => store,
                None => return Ok(None),
            },
            other => other?,
        };
        store.set_utc_offset(self.utc_offset_secs);
        let atms = self.settings.profiles.iter().map(|p| (p.id.clone(), p.atms.clone())).collect();
        store.set_bot(crate::store::BankBot { atms, near: self.settings.near });
        store.set_rules(self.settings.rules.clone());
        for file in store.made_private() {
            eprintln!("finbox: note: {} was readable by other users; it is now private (0600).", file.display());
        }
        for file in store.removed_leftovers() {
            eprintln!(
                "finbox: note: removed {}, a copy of the store left by an interrupted encrypt or decrypt.",
                file.display()
            );
        }
        store.sync_banks(&self.settings.profiles)?;
        // A grant whose time is up ends before anything is read or written.
        if let Err(e) = store.expire_due(self.now) {
            tracing::warn!(error = %e, "cannot record expired consents");
        }
        if let Some(newest) = crate::domain::when::clock_behind(self.now, store.newest_time().ok().flatten()) {
            eprintln!(
                "finbox: note: this computer's clock says {}, but the store holds times up to {}: the clock is \
                 behind, or was ahead when those were stored. Check the date and time settings.",
                self.local(self.now),
                self.local(newest)
            );
        }
        Ok(Some(store))
    }
}

/// The screen's keys: the defaults with the settings file's `[keys]` over
/// them. A mistake is refused before the terminal is taken over, naming the
/// file, the line and the key.
pub fn keymap(s: &Settings) -> Result<crate::app::keymap::Keymap> {
    crate::app::keymap::Keymap::with_settings(&s.keys).map_err(|e| {
        let text = std::fs::read_to_string(&s.config_file).unwrap_or_default();
        // The line of the offending key, inside its table.
        let table_at = text.lines().position(|l| l.trim() == format!("[{}]", e.table));
        let line = table_at.and_then(|t| {
            text.lines()
                .enumerate()
                .skip(t + 1)
                .find(|(_, l)| l.trim_start().starts_with(&e.action))
                .map(|(i, _)| i + 1)
                .or(Some(t + 1))
        });
        let at = line.map(|n| format!(", line {n}")).unwrap_or_default();
        anyhow::anyhow!("config file {}{at}: {e}", s.config_file.display())
    })
}

/// The store writer and the feed supervisor of one run.
pub struct Feeds {
    pub writer: Writer,
    pub supervisor: tokio::task::JoinHandle<std::collections::BTreeMap<BankId, FeedTally>>,
    pub cancel: CancellationToken,
}

impl Feeds {
    /// Waits for the supervisor to end (every feed finished, or `cancel`
    /// fired), then for the writer to commit what the feeds queued.
    pub async fn finish(self) -> Result<(std::collections::BTreeMap<BankId, FeedTally>, BatchReport)> {
        let tallies = self.supervisor.await.context("the feed supervisor crashed")?;
        let writer = self.writer;
        let report = tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("the store writer crashed")?
            .context("the store writer stopped")?;
        Ok((tallies, report))
    }
}

/// Starts the store writer on `writer_store` and, on the current tokio
/// runtime, the feed supervisor (reading consent with `reader`), as one
/// process that holds its banks' feed leases. `status`, if given, hears how
/// each bank's feed is doing.
pub fn start_feeds(
    env: &Env,
    writer_store: Store,
    reader: Store,
    mode: FeedMode,
    clock: Clock,
    status: Option<watch::Sender<std::collections::BTreeMap<BankId, FeedStatus>>>,
) -> Feeds {
    let s = &env.settings;
    let holder = crate::feed::lease::this_process();
    // SimpleFIN feeds keep their credential and request budget in the
    // store, through a connection of their own.
    let ledger = writer_store.reopen().ok().map(|st| crate::feed::simplefin::Ledger {
        store: std::sync::Arc::new(std::sync::Mutex::new(st)),
        sync: crate::session::simplefin::sync_config(s),
    });
    let writer = Writer::spawn(
        writer_store,
        WriterConfig {
            home_countries: s.profiles.iter().map(|p| (p.id.clone(), p.home_country.clone())).collect(),
            utc_offset_secs: env.utc_offset_secs,
            clock: clock.clone(),
            holder: Some(holder.clone()),
        },
    );
    let cfg = SupervisorConfig {
        registry: FeedRegistry::default(),
        profiles: s.profiles.clone(),
        seed: s.seed,
        mode,
        clock,
        utc_offset_secs: env.utc_offset_secs,
        holder,
        ledger,
    };
    let cancel = CancellationToken::new();
    let supervisor = tokio::spawn(supervisor::run(cfg, reader, writer.tx.clone(), cancel.clone(), status));
    Feeds { writer, supervisor, cancel }
}

/// SIGTERM, SIGHUP and SIGINT (Ctrl-C arrives as a key in raw mode, but a
/// `kill -INT` does not), caught so that the terminal is restored and
/// pending batches are finished before the exit status 128 + signal.
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for a signal; returns its number, also kept for the exit status.
    pub async fn recv(&mut self) -> i32 {
        let n = self.next().await;
        EXIT_SIGNAL.store(n, Ordering::SeqCst);
        n
    }

    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => 15,
            _ = self.hup.recv() => 1,
            _ = self.int.recv() => 2,
        }
        #[cfg(not(unix))]
        std::future::pending::<i32>().await
    }
}
