//! The one store writer: a thread that applies feed events to the store in
//! batches (one `BEGIN IMMEDIATE` transaction each), fed by a preparing
//! thread that takes them off a bounded channel and runs the local fraud
//! rules on every transaction (see `Stage`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{BatchReport, Facts, FeedHolder, Store, StoreError};
use crate::domain::BankId;
use crate::domain::event::{Clock, Envelope, FeedEvent};
use crate::domain::fraud::FraudRules;

/// Events queued between feeds and the writer before feeds wait.
pub const CHANNEL_CAPACITY: usize = 8192;
/// Most events applied in one transaction.
pub const BATCH_MAX: usize = 5000;
/// What one batch should take at most: the writer shrinks its batches when
/// they take longer (a slow disk, a debug build, a large store), so that a
/// person's decision waiting its turn waits no longer than this.
pub const BATCH_TIME: Duration = Duration::from_millis(100);
/// The writer's page cache: index pages of a million-row store stay cached.
pub const WRITER_CACHE_KIB: i64 = 16 * 1024;
/// WAL pages between automatic checkpoints (SQLite's default is 1,000).
pub const WRITER_CHECKPOINT_PAGES: i64 = 4000;
/// The local fraud rules look at charges this recent; older history (a
/// backfill) is not news worth an alert.
pub const ALERT_WINDOW_DAYS: i64 = 30;

pub struct WriterConfig {
    /// Each bank's home country, for the foreign-charge rule.
    pub home_countries: HashMap<BankId, String>,
    pub utc_offset_secs: i32,
    pub clock: Clock,
    /// The feed holder whose leases are let go once the last event is
    /// committed (so a process that takes a bank over starts from where
    /// this one stopped).
    pub holder: Option<FeedHolder>,
}

/// A running writer: send events on `tx`; drop every sender to stop it, then
/// `join` for the total report.
pub struct Writer {
    pub tx: mpsc::Sender<Envelope>,
    handle: JoinHandle<Result<BatchReport, StoreError>>,
    progress: std::sync::Arc<WriterProgress>,
}

/// What the writer committed so far, for a progress display to poll.
#[derive(Debug, Default)]
pub struct WriterProgress {
    /// Events the feeds sent that were committed (stored, duplicates,
    /// dropped and rejected alike).
    pub events: AtomicU64,
    /// New transactions stored.
    pub transactions: AtomicU64,
}

impl Writer {
    /// Starts the writer thread on `store`. (The screen learns of commits
    /// from `PRAGMA data_version`, which also sees other processes'.)
    pub fn spawn(store: Store, cfg: WriterConfig) -> Writer {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        // The writer's own hold on the queue does not keep it open: it
        // only asks whether any feed still has one.
        let feeds = tx.downgrade();
        let progress = std::sync::Arc::new(WriterProgress::default());
        let counts = progress.clone();
        let handle = std::thread::Builder::new()
            .name("finbox-writer".into())
            .spawn(move || run(store, cfg, (rx, feeds), &counts))
            .expect("spawning the writer thread");
        Writer { tx, handle, progress }
    }

    /// The writer's running counts (updated after each committed batch).
    pub fn progress(&self) -> std::sync::Arc<WriterProgress> {
        self.progress.clone()
    }

    /// Waits for the writer to drain and stop (all senders must be dropped).
    pub fn join(self) -> Result<BatchReport, StoreError> {
        drop(self.tx);
        self.handle.join().unwrap_or_else(|_| Err(StoreError::Corrupt("the writer thread panicked".into())))
    }
}

fn run(
    mut store: Store,
    cfg: WriterConfig,
    (rx, feeds): (mpsc::Receiver<Envelope>, mpsc::WeakSender<Envelope>),
    progress: &WriterProgress,
) -> Result<BatchReport, StoreError> {
    if let Err(e) =
        store.set_cache_kib(WRITER_CACHE_KIB).and_then(|_| store.set_autocheckpoint(WRITER_CHECKPOINT_PAGES))
    {
        tracing::warn!(error = %e, "cannot tune the writer's connection");
    }
    store.set_utc_offset(cfg.utc_offset_secs);
    let checkpointer = Checkpointer::spawn(&store);
    let preparer = || Preparer {
        rules: FraudRules::new(cfg.utc_offset_secs),
        homes: cfg.home_countries.clone(),
        clock: cfg.clock.clone(),
    };
    let mut stage = Stage::spawn(rx, preparer);
    let mut total = BatchReport::default();
    // Two batches go round: one written while the other is prepared.
    let mut spare = Some(Prepared::default());
    let mut limit = BATCH_MAX;
    stage.hand(Prepared::default(), limit);
    // The batch prepared meanwhile; none once the feeds are gone and
    // everything they queued is taken.
    while let Some(batch) = stage.take()? {
        // The next is taken from the queue and prepared while this one is
        // written.
        stage.hand(spare.take().unwrap_or_default(), limit);
        let started = std::time::Instant::now();
        let report = apply_with_retry(&mut store, &batch, &cfg.clock, &|| feeds.strong_count() == 0)?;
        // Batches bounded by time as well as by count.
        let took = started.elapsed();
        if took > BATCH_TIME && batch.events.len() >= limit {
            limit = (limit / 2).max(100);
        } else if took < BATCH_TIME / 2 {
            limit = (limit * 2).min(BATCH_MAX);
        }
        if let Some(c) = &checkpointer {
            c.poke();
        }
        if !report.rejected.is_empty() {
            tracing::warn!(count = report.rejected.len(), "feed records rejected");
        }
        progress.events.fetch_add(batch.received, Ordering::Relaxed);
        progress.transactions.fetch_add(report.transactions, Ordering::Relaxed);
        total.merge(report);
        // Its events are dropped by the preparing thread when it is
        // filled again (2% of the writer's time, on this thread).
        spare = Some(batch);
    }
    drop(stage);
    drop(checkpointer);
    if let Some(holder) = &cfg.holder
        && let Err(e) = store.release_feeds(holder, None)
    {
        tracing::warn!(error = %e, "cannot release the feed leases; they end when this process does");
    }
    Ok(total)
}

/// A batch on its way through the writer: the events taken from the queue
/// (`queued`), then as they are written (`events`: a group opened, the
/// fraud signals the local rules raise put after their charges) with each
/// one's facts, and how many events the feeds counted in it.
struct Prepared {
    queued: Vec<Envelope>,
    events: Vec<Envelope>,
    facts: Vec<Facts>,
    received: u64,
    /// Most events to take from the queue.
    limit: usize,
}

impl Default for Prepared {
    /// Empty, with room for a whole batch (grown one event at a time, the
    /// queue's read was 0.7% of the writer in `perf`).
    fn default() -> Prepared {
        let room = BATCH_MAX + BATCH_MAX / 4;
        Prepared {
            queued: Vec::with_capacity(BATCH_MAX),
            events: Vec::with_capacity(room),
            facts: Vec::with_capacity(room),
            received: 0,
            limit: BATCH_MAX,
        }
    }
}

/// What prepares a batch: the feeds' queue, the local fraud rules (they
/// remember what they saw) and what they need.
struct Preparer {
    rules: FraudRules,
    homes: HashMap<BankId, String>,
    clock: Clock,
}

impl Preparer {
    /// Empties the batch's last events (written already) and prepares the
    /// ones queued in their place.
    fn prepare(&mut self, p: &mut Prepared) {
        p.events.clear();
        p.facts.clear();
        let since = (self.clock)() - chrono::Duration::days(ALERT_WINDOW_DAYS);
        p.received = 0;
        for env in p.queued.drain(..) {
            // Counted as the feeds count them (`FeedSink::sent`).
            p.received += env.event.bank_events();
            push_with_rules(&mut p.events, env, &mut self.rules, &self.homes, since);
        }
        p.facts.extend(p.events.iter().map(|env| Facts::of(&env.event)));
    }
}

/// The writer's preparing thread. Handed an empty batch when the writer
/// starts writing one, it takes what the feeds queued meanwhile (waiting
/// for the first event), runs the fraud rules, works out each
/// transaction's [`Facts`] (cleaned text, transfer kind, merchant words)
/// and drops the events the batch held before, so that the writer finds
/// the next batch ready. Ingest waits on the writer's thread alone, and the
/// second core was ~60% idle. Without the thread (it could not be started),
/// the writer does all this itself.
enum Stage {
    Thread {
        /// Wakes the thread from its wait for events when the writer stops
        /// (dropped, this stage wakes it before its worker joins it): the
        /// queue then closes, and the feeds learn it.
        stop: std::sync::Arc<tokio::sync::Notify>,
        /// Dropped before the worker, so that its thread never waits to
        /// hand a batch to a writer that is gone.
        take: Receiver<Option<Prepared>>,
        worker: Worker<Prepared>,
    },
    Inline {
        rx: mpsc::Receiver<Envelope>,
        preparer: Preparer,
        ready: Option<Option<Prepared>>,
    },
}

impl Stage {
    fn spawn(rx: mpsc::Receiver<Envelope>, preparer: impl Fn() -> Preparer) -> Stage {
        let inline = |rx| Stage::Inline { rx, preparer: preparer(), ready: None };
        let runtime = match tokio::runtime::Builder::new_current_thread().build() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "no preparing thread; the writer prepares its batches");
                return inline(rx);
            }
        };
        // The batch prepared waits for the writer (one at a time). What the
        // thread works with goes to it once it runs (kept here if it
        // cannot be started).
        let (done, take) = sync_channel::<Option<Prepared>>(1);
        let (start, started) = sync_channel::<(mpsc::Receiver<Envelope>, Preparer)>(1);
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        let work = move |todo: Receiver<Prepared>| {
            let Ok((mut rx, mut own)) = started.recv() else { return };
            while let Ok(mut p) = todo.recv() {
                let limit = p.limit;
                let n = runtime.block_on(async {
                    tokio::select! {
                        n = rx.recv_many(&mut p.queued, limit) => n,
                        () = stopped.notified() => 0,
                    }
                });
                // None: the feeds are gone and all they queued was taken
                // (or the writer stopped).
                let ready = (n > 0).then(|| {
                    own.prepare(&mut p);
                    p
                });
                let last = ready.is_none();
                if done.send(ready).is_err() || last {
                    return;
                }
            }
        };
        match Worker::spawn("finbox-prepare", 1, work) {
            Some(worker) => {
                let _ = start.send((rx, preparer()));
                Stage::Thread { stop, take, worker }
            }
            None => inline(rx),
        }
    }

    /// Gives the stage an empty batch to fill with at most `limit` events
    /// and prepare (one at a time: [`Stage::take`] it before handing the
    /// next, so the thread's queue has room).
    fn hand(&mut self, mut p: Prepared, limit: usize) {
        p.limit = limit;
        match self {
            // A stage that stopped shows at `take`.
            Stage::Thread { worker, .. } => drop(worker.send(p)),
            Stage::Inline { rx, preparer, ready } => {
                let n = rx.blocking_recv_many(&mut p.queued, limit);
                *ready = Some((n > 0).then(|| {
                    preparer.prepare(&mut p);
                    p
                }));
            }
        }
    }

    /// The batch handed, prepared; None once the feeds are gone and all
    /// they queued was taken.
    fn take(&mut self) -> Result<Option<Prepared>, StoreError> {
        let stopped = || StoreError::Corrupt("the writer's preparing thread stopped".into());
        match self {
            Stage::Thread { take, .. } => take.recv().map_err(|_| stopped()),
            Stage::Inline { ready, .. } => ready.take().ok_or_else(stopped),
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // Out of its wait for events, if in it (or at once if it comes to
        // it); the worker then closes its queue and joins it.
        if let Stage::Thread { stop, .. } = self {
            stop.notify_one();
        }
    }
}

/// A thread of the writer's that takes work from a bounded queue and
/// stops, joined, when dropped (its queue closes): the preparing thread and
/// the checkpointer.
struct Worker<T> {
    queue: Option<SyncSender<T>>,
    handle: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Worker<T> {
    /// None when the thread cannot be started.
    fn spawn(name: &str, capacity: usize, work: impl FnOnce(Receiver<T>) + Send + 'static) -> Option<Worker<T>> {
        let (queue, items) = sync_channel::<T>(capacity);
        match std::thread::Builder::new().name(name.into()).spawn(move || work(items)) {
            Ok(handle) => Some(Worker { queue: Some(queue), handle: Some(handle) }),
            Err(e) => {
                tracing::warn!(error = %e, thread = name, "cannot start a writer's thread; the writer does its work");
                None
            }
        }
    }

    /// Queues `item`, waiting for room; gives it back if the thread is gone.
    fn send(&self, item: T) -> Result<(), T> {
        let Some(queue) = &self.queue else { return Err(item) };
        queue.send(item).map_err(|e| e.0)
    }

    /// Queues `item` unless the queue is full; gives it back if not queued.
    fn offer(&self, item: T) -> Result<(), T> {
        let Some(queue) = &self.queue else { return Err(item) };
        queue.try_send(item).map_err(|(TrySendError::Full(item) | TrySendError::Disconnected(item))| item)
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Copies committed pages from the WAL into the store file on a thread of
/// its own, after each batch, while the writer goes on with the next: the
/// writer's own automatic checkpoint then finds (almost) nothing left to
/// copy, and the WAL still starts over once it is all in the file.
struct Checkpointer(Worker<()>);

impl Checkpointer {
    /// None for an in-memory store, or when a second connection cannot be
    /// opened (the writer checkpoints by itself then, as SQLite does).
    fn spawn(store: &Store) -> Option<Checkpointer> {
        store.path()?;
        let own = match store.reopen() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "no checkpoint thread; the writer checkpoints itself");
                return None;
            }
        };
        // One poke waiting is enough: a checkpoint copies everything committed.
        Worker::spawn("finbox-checkpoint", 1, move |pokes: Receiver<()>| {
            while pokes.recv().is_ok() {
                if let Err(e) = own.checkpoint_passive() {
                    tracing::debug!(error = %e, "background checkpoint skipped");
                }
            }
        })
        .map(Checkpointer)
    }

    fn poke(&self) {
        let _ = self.0.offer(());
    }
}

/// Longest pause between two tries of a batch the store was too busy for.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How long a writer that is quitting still tries a busy store.
const RETRY_WHILE_QUITTING: Duration = Duration::from_secs(10);

/// A busy store (another connection holding the write lock: a purge's
/// rebuild, another process) is waited for, with back-off, for as long as
/// it takes: the writer never stops because of it. Only once the feeds are
/// gone (finbox quitting) does it give up, after [`RETRY_WHILE_QUITTING`].
/// Any other error stops the writer with that error.
fn apply_with_retry(
    store: &mut Store,
    batch: &Prepared,
    clock: &Clock,
    quitting: &dyn Fn() -> bool,
) -> Result<BatchReport, StoreError> {
    let mut wait = Duration::from_millis(100);
    let mut tries = 0u32;
    let mut quit_since: Option<std::time::Instant> = None;
    loop {
        // A person's decision waiting for the write lock goes first.
        store.let_decisions_pass();
        match store.apply_prepared(&batch.events, &batch.facts, clock()) {
            Err(StoreError::Busy(d)) => {
                if quitting() {
                    let since = *quit_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= RETRY_WHILE_QUITTING {
                        return Err(StoreError::Busy(d));
                    }
                }
                tries += 1;
                if tries.is_power_of_two() {
                    tracing::warn!(tries, "store busy; the batch waits its turn");
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(RETRY_MAX);
            }
            other => return other,
        }
    }
}

/// Adds an event to the batch, with the fraud signal the local rules raise
/// for it. A [`FeedEvent::Whole`] group is opened into the batch, so that
/// it goes into one transaction (a batch may then pass [`BATCH_MAX`]).
pub(crate) fn push_with_rules(
    batch: &mut Vec<Envelope>,
    env: Envelope,
    rules: &mut FraudRules,
    homes: &HashMap<BankId, String>,
    since: chrono::DateTime<chrono::Utc>,
) {
    if let FeedEvent::Whole(events) = env.event {
        for event in events {
            push_with_rules(batch, Envelope { bank: env.bank.clone(), epoch: env.epoch, event }, rules, homes, since);
        }
        return;
    }
    let signal = match &env.event {
        // Authorisations are judged when they post (the alert, and a
        // dispute's credit, need the posted charge).
        FeedEvent::Transaction(t) if t.posted_at >= since && !t.pending => {
            let home = homes.get(&env.bank).map(String::as_str).unwrap_or("US");
            rules.observe(&env.bank, home, &t.facts()).map(|s| FeedEvent::FraudSignal {
                txn_external_id: t.external_id.clone(),
                at: t.posted_at,
                reason: s.reason,
                severity: s.severity,
            })
        }
        _ => None,
    };
    match signal {
        Some(event) => {
            let (bank, epoch) = (env.bank.clone(), env.epoch);
            batch.push(env);
            batch.push(Envelope { bank, epoch, event });
        }
        None => batch.push(env),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preparer() -> Preparer {
        Preparer { rules: FraudRules::new(0), homes: HashMap::new(), clock: std::sync::Arc::new(chrono::Utc::now) }
    }

    fn message(n: u32) -> Envelope {
        Envelope {
            bank: BankId::new("chase").unwrap(),
            epoch: 1,
            event: FeedEvent::Message {
                external_id: format!("m{n}"),
                at: chrono::Utc::now(),
                kind: crate::domain::MessageKind::Service,
                text: format!("hello {n}"),
            },
        }
    }

    /// Five events queued: a batch of the three the limit allows, then the
    /// other two; then, the feeds gone, the end of the input.
    fn takes_what_is_queued_and_ends_with_the_feeds(make: fn(mpsc::Receiver<Envelope>) -> Stage) {
        let (tx, rx) = mpsc::channel(16);
        let mut stage = make(rx);
        for n in 0..5 {
            tx.blocking_send(message(n)).unwrap();
        }
        stage.hand(Prepared::default(), 3);
        let first = stage.take().unwrap().expect("a batch");
        assert_eq!((first.events.len(), first.facts.len(), first.received), (3, 3, 3));
        drop(tx);
        stage.hand(first, 10);
        let rest = stage.take().unwrap().expect("the rest");
        assert_eq!(rest.events.len(), 2);
        stage.hand(rest, 10);
        assert!(stage.take().unwrap().is_none(), "the feeds are gone");
    }

    #[test]
    fn the_preparing_thread_takes_what_is_queued_and_ends_with_the_feeds() {
        takes_what_is_queued_and_ends_with_the_feeds(|rx| {
            let stage = Stage::spawn(rx, preparer);
            assert!(matches!(stage, Stage::Thread { .. }));
            stage
        });
    }

    /// Without the thread (it could not be started), the writer prepares
    /// its batches itself, the same way.
    #[test]
    fn the_writer_prepares_its_batches_itself_without_the_thread() {
        takes_what_is_queued_and_ends_with_the_feeds(|rx| Stage::Inline { rx, preparer: preparer(), ready: None });
    }

    /// A writer that stops (an error) while the preparing thread waits for
    /// events closes the feeds' queue: they learn it at once, rather than
    /// queueing for a writer that is gone.
    #[test]
    fn a_stopped_writer_closes_the_queue_while_its_stage_waits() {
        let (tx, rx) = mpsc::channel(16);
        let mut stage = Stage::spawn(rx, preparer);
        stage.hand(Prepared::default(), 10);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!tx.is_closed());
        // Dropped on a thread of its own: a stage that did not wake would
        // hang the drop, and this test is to fail, not hang.
        std::thread::spawn(move || drop(stage));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !tx.is_closed() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(tx.is_closed(), "the queue outlived the writer");
    }
}
