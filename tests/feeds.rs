//! The feed supervisor with the real store and writer: a feed that panics is
//! contained, reported in its bank's conversation and restarted while the
//! others go on; revoking consent, or its expiry, stops a feed within a second.
//!
//! The tests of the supervisor's timing (the grace before an abort, a revoke
//! noticed within a poll) run on tokio's paused clock and measure virtual
//! time, so a busy machine neither fails nor hides them; the store, the
//! writer thread and SQLite work in real time beside it (see `wait_until`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use finbox::domain::*;
use finbox::feed::supervisor::{self, SupervisorConfig};
use finbox::feed::writer::{Writer, WriterConfig};
use finbox::feed::*;
use finbox::store::Store;
use tokio_util::sync::CancellationToken;

static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);
static STEADY_CANCELLED: AtomicBool = AtomicBool::new(false);
static EXPIRING_CANCELLED: AtomicBool = AtomicBool::new(false);

/// Panics on its first run; later runs say hello and wait to be cancelled.
struct Flaky;

impl BankFeed for Flaky {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(async move {
            let run = FLAKY_RUNS.fetch_add(1, Ordering::SeqCst);
            if run == 0 {
                panic!("simulated feed crash");
            }
            let text = format!("hello from run {run}");
            let ev = FeedEvent::Message {
                external_id: format!("hello-{run}"),
                at: Utc::now(),
                kind: MessageKind::Service,
                text,
            };
            ctx.sink.send(ev).await?;
            ctx.cancel.cancelled().await;
            Ok(FeedExit::Cancelled { events: 1 })
        })
    }
}

/// Sends a message every 50 ms until cancelled, then raises its flag (one
/// flag per test: tests run side by side).
struct Ticking(&'static AtomicBool);

impl BankFeed for Ticking {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(async move {
            let mut n = 0u64;
            loop {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => {
                        self.0.store(true, Ordering::SeqCst);
                        return Ok(FeedExit::Cancelled { events: n });
                    }
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                n += 1;
                let ev = FeedEvent::Message {
                    external_id: format!("tick-{n}"),
                    at: Utc::now(),
                    kind: MessageKind::Service,
                    text: format!("tick {n}"),
                };
                ctx.sink.send(ev).await?;
            }
        })
    }
}

fn profile(id: &str, kind: &str) -> BankProfile {
    BankProfile::parse(&format!("id = \"{id}\"\nname = \"{id}\"\nfeed = \"{kind}\"\n"), "test").unwrap()
}

fn messages(store: &Store, bank: &str) -> Vec<Message> {
    store.messages(&BankId::new(bank).unwrap(), 1000, None).unwrap()
}

/// Waits for `ok`. Each step lets tokio's clock move 20 ms (on a paused
/// clock it jumps: the supervisor's timers fire) and real time 2 ms (the
/// writer thread and SQLite, which tokio's clock does not drive, get on).
/// The deadline is real time.
async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        real_sleep(Duration::from_millis(2)).await;
    }
}

/// Lets real time pass without moving a paused tokio clock.
async fn real_sleep(d: Duration) {
    tokio::task::spawn_blocking(move || std::thread::sleep(d)).await.unwrap();
}

/// Sends one message, then hangs forever, deaf to its cancellation. Its
/// future being dropped (an abort) is recorded.
struct Hung(&'static AtomicBool);

struct DropFlag(&'static AtomicBool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl BankFeed for Hung {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(async move {
            let _flag = DropFlag(self.0);
            let ev = FeedEvent::Message {
                external_id: "hello".into(),
                at: Utc::now(),
                kind: MessageKind::Service,
                text: "hello, then silence".into(),
            };
            ctx.sink.send(ev).await?;
            std::future::pending::<()>().await;
            Ok(FeedExit::Cancelled { events: 1 })
        })
    }
}

static HUNG_ON_QUIT: AtomicBool = AtomicBool::new(false);
static HUNG_ON_REVOKE: AtomicBool = AtomicBool::new(false);

/// A feed that hangs is aborted a second after it was told to stop: on
/// revoke (while the others run on) and on quit (which never waits longer).
#[tokio::test(start_paused = true)]
async fn a_hung_feed_is_aborted_on_revoke_and_never_holds_up_quitting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let profiles = vec![profile("stuck", "hung-quit"), profile("deaf", "hung-revoke")];
    let mut store = Store::open(&db).unwrap();
    store.sync_banks(&profiles).unwrap();
    for b in ["stuck", "deaf"] {
        store.grant(&BankId::new(b).unwrap(), Utc::now()).unwrap();
    }
    let mut registry = FeedRegistry::empty();
    registry.register("hung-quit", |_| Ok(Box::new(Hung(&HUNG_ON_QUIT))));
    registry.register("hung-revoke", |_| Ok(Box::new(Hung(&HUNG_ON_REVOKE))));
    let clock = system_clock();
    let writer = Writer::spawn(
        Store::open(&db).unwrap(),
        WriterConfig { home_countries: HashMap::new(), utc_offset_secs: 0, clock: clock.clone(), holder: None },
    );
    let cfg = live(registry, profiles, clock);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(supervisor::run(cfg, Store::open(&db).unwrap(), writer.tx.clone(), cancel.clone(), None));
    let reader = Store::open(&db).unwrap();
    wait_until("both feeds to start", || {
        ["stuck", "deaf"].iter().all(|b| messages(&reader, b).iter().any(|m| m.text.starts_with("hello")))
    })
    .await;

    let revoked_at = tokio::time::Instant::now();
    store.revoke(&BankId::new("deaf").unwrap(), false, Utc::now()).unwrap();
    wait_until("the deaf feed to be aborted", || HUNG_ON_REVOKE.load(Ordering::SeqCst)).await;
    let took = revoked_at.elapsed();
    println!("a hung feed was aborted {took:?} (tokio's clock) after the revoke");
    // Given its grace first, and not left hanging: the revoke is seen within
    // a poll, the abort comes at the first poll after the grace.
    let most = supervisor::STOP_GRACE + 2 * supervisor::POLL + Duration::from_millis(40);
    assert!(took >= supervisor::STOP_GRACE && took <= most, "took {took:?}");
    assert!(!HUNG_ON_QUIT.load(Ordering::SeqCst), "the other feed runs on");

    let quit_at = tokio::time::Instant::now();
    cancel.cancel();
    task.await.unwrap();
    let took = quit_at.elapsed();
    println!("quitting with a hung feed took {took:?} (tokio's clock)");
    assert!(took >= supervisor::STOP_GRACE && took <= supervisor::STOP_GRACE + supervisor::POLL, "took {took:?}");
    assert!(HUNG_ON_QUIT.load(Ordering::SeqCst), "the hung feed was aborted, not left behind");
    drop(reader);
    tokio::task::spawn_blocking(move || writer.join()).await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn supervisor_contains_panics_restarts_and_stops_on_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let profiles = vec![profile("flaky", "flaky"), profile("steady", "steady")];
    let mut store = Store::open(&db).unwrap();
    store.sync_banks(&profiles).unwrap();
    for b in ["flaky", "steady"] {
        store.grant(&BankId::new(b).unwrap(), Utc::now()).unwrap();
    }
    let mut registry = FeedRegistry::empty();
    registry.register("flaky", |_| Ok(Box::new(Flaky)));
    registry.register("steady", |_| Ok(Box::new(Ticking(&STEADY_CANCELLED))));

    let clock = system_clock();
    let writer = Writer::spawn(
        Store::open(&db).unwrap(),
        WriterConfig { home_countries: HashMap::new(), utc_offset_secs: 0, clock: clock.clone(), holder: None },
    );
    let cfg = live(registry, profiles, clock);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(supervisor::run(cfg, Store::open(&db).unwrap(), writer.tx.clone(), cancel.clone(), None));

    // The panic is reported in the flaky bank's conversation, and the feed
    // comes back after its back-off; the steady feed goes on meanwhile.
    let reader = Store::open(&db).unwrap();
    wait_until("the restarted flaky feed", || messages(&reader, "flaky").iter().any(|m| m.text == "hello from run 1"))
        .await;
    let flaky = messages(&reader, "flaky");
    let notice =
        flaky.iter().find(|m| m.from == Sender::System && m.text.contains("stopped")).expect("a system notice");
    assert!(notice.text.contains("simulated feed crash") && notice.text.contains("restarts it"), "{}", notice.text);
    assert!(messages(&reader, "steady").iter().filter(|m| m.text.starts_with("tick")).count() > 3);

    // Revoking consent in another connection stops the steady feed within a
    // poll of the supervisor.
    let revoked_at = tokio::time::Instant::now();
    store.revoke(&BankId::new("steady").unwrap(), false, Utc::now()).unwrap();
    wait_until("the steady feed to stop", || STEADY_CANCELLED.load(Ordering::SeqCst)).await;
    let took = revoked_at.elapsed();
    println!("revoke stopped the feed in {took:?} (tokio's clock)");
    assert!(took <= supervisor::POLL + Duration::from_millis(40), "took {took:?}");
    // And nothing it sent after the revoke was stored.
    real_sleep(Duration::from_millis(300)).await;
    let after = messages(&reader, "steady");
    let revoke_notice = after.iter().position(|m| m.text.contains("stopped sharing")).expect("revoke notice");
    assert!(after[revoke_notice..].iter().all(|m| !m.text.starts_with("tick")), "ticks after the revoke were stored");

    cancel.cancel();
    let tallies = task.await.unwrap();
    assert_eq!(tallies[&BankId::new("flaky").unwrap()].failures, 1);
    drop(reader);
    let report = tokio::task::spawn_blocking(move || writer.join()).await.unwrap().unwrap();
    assert!(report.dropped_no_consent <= 20, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_consent_stops_its_feed_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let profiles = vec![profile("brief", "expiring")];
    let bank = BankId::new("brief").unwrap();
    let mut store = Store::open(&db).unwrap();
    store.sync_banks(&profiles).unwrap();
    // Shared for two seconds (the store keeps whole seconds: 1 to 2 s from now).
    store.grant_for(&bank, Utc::now(), chrono::Duration::seconds(2)).unwrap();
    let until = store.bank(&bank).unwrap().consent_expires_at.expect("an expiry");
    drop(store);
    let mut registry = FeedRegistry::empty();
    registry.register("expiring", |_| Ok(Box::new(Ticking(&EXPIRING_CANCELLED))));

    let clock = system_clock();
    let writer = Writer::spawn(
        Store::open(&db).unwrap(),
        WriterConfig { home_countries: HashMap::new(), utc_offset_secs: 0, clock: clock.clone(), holder: None },
    );
    let cfg = live(registry, profiles, clock);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(supervisor::run(cfg, Store::open(&db).unwrap(), writer.tx.clone(), cancel.clone(), None));

    let reader = Store::open(&db).unwrap();
    wait_until("the feed to deliver", || messages(&reader, "brief").iter().any(|m| m.text.starts_with("tick"))).await;
    assert!(!EXPIRING_CANCELLED.load(Ordering::SeqCst), "stopped before its time");
    // Nobody revokes anything: the time passing is enough.
    wait_until("the expiry", || Utc::now() >= until).await;
    let expired_at = std::time::Instant::now();
    wait_until("the feed to stop", || EXPIRING_CANCELLED.load(Ordering::SeqCst)).await;
    let took = expired_at.elapsed();
    println!("the expiry stopped the feed in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // The store recorded it like a revoke and said so; nothing it sent after
    // the expiry was stored.
    real_sleep(Duration::from_millis(300)).await;
    let b = reader.bank(&bank).unwrap();
    assert_eq!((b.consent, b.sharing(Utc::now())), (ConsentState::Revoked, Sharing::Expired { on: until }));
    let log: Vec<ConsentAction> = reader.consent_log(Some(&bank)).unwrap().iter().map(|e| e.action).collect();
    assert_eq!(log, [ConsentAction::Grant, ConsentAction::Expire]);
    let after = messages(&reader, "brief");
    let notice = after.iter().position(|m| m.text.contains("expired")).expect("the expiry notice");
    assert!(after[notice].text.contains("until you renew it"), "{}", after[notice].text);
    assert!(after[notice..].iter().all(|m| !m.text.starts_with("tick")), "ticks after the expiry were stored");
    assert!(after.iter().filter(|m| m.text.starts_with("tick")).all(|m| m.at <= until));

    cancel.cancel();
    task.await.unwrap();
    drop(reader);
    tokio::task::spawn_blocking(move || writer.join()).await.unwrap().unwrap();
}

/// A live supervisor's settings for these feeds, as one process.
fn live(registry: FeedRegistry, profiles: Vec<BankProfile>, clock: Clock) -> SupervisorConfig {
    SupervisorConfig {
        registry,
        profiles,
        seed: 1,
        mode: FeedMode::Live,
        clock,
        utc_offset_secs: 0,
        holder: finbox::feed::lease::this_process(),
        ledger: None,
    }
}

static ORPHAN_CANCELLED: AtomicBool = AtomicBool::new(false);

/// When the store writer is gone (it stopped on an error), no feed can
/// deliver: the supervisor ends instead of restarting the feeds for ever
/// (`finbox feed` hung, its summary never printed).
#[tokio::test(start_paused = true)]
async fn the_supervisor_ends_when_the_store_writer_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let profiles = vec![profile("orphan", "orphan")];
    let mut store = Store::open(&db).unwrap();
    store.sync_banks(&profiles).unwrap();
    store.grant(&BankId::new("orphan").unwrap(), Utc::now()).unwrap();
    let mut registry = FeedRegistry::empty();
    registry.register("orphan", |_| Ok(Box::new(Ticking(&ORPHAN_CANCELLED))));
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    drop(rx);
    let cfg = live(registry, profiles, system_clock());
    let task = tokio::spawn(supervisor::run(cfg, Store::open(&db).unwrap(), tx, CancellationToken::new(), None));
    let ended = tokio::time::timeout(Duration::from_secs(30), task).await;
    assert!(ended.is_ok(), "the supervisor went on without a writer");
}
