//! The tamper-evident log: every consent change, verdict and card lock is
//! chained; the chain verifies after many random events, and an edit, a
//! removal or a swap of any one row (made with the `sqlite3` shell, as
//! someone without finbox would) is found at the right entry.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use finbox::domain::*;
use finbox::feed::{AccountInfo, Envelope, FeedEvent, TxnInfo, profile};
use finbox::store::{Breach, ChainReport, Store, StoreError};
use rand::{Rng, SeedableRng};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn bank(id: &str) -> BankId {
    BankId::new(id).unwrap()
}

const BANKS: [&str; 2] = ["chase", "citi"];

fn env(s: &Store, b: &str, event: FeedEvent) -> Envelope {
    Envelope { bank: bank(b), epoch: s.bank(&bank(b)).unwrap().epoch, event }
}

fn account(ext: &str, card: &str) -> FeedEvent {
    FeedEvent::Account(AccountInfo {
        external_id: ext.into(),
        name: format!("Account {ext}"),
        kind: AccountKind::Checking,
        mask: "1234".into(),
        opening: Money::new(1_000_000, Currency::USD),
        card_mask: Some(card.into()),
        history_from: None,
    })
}

fn charge(ext: &str, at: DateTime<Utc>) -> FeedEvent {
    FeedEvent::Transaction(TxnInfo {
        account: "chk".into(),
        external_id: ext.into(),
        posted_at: at,
        amount: Money::new(-1_250, Currency::USD),
        merchant: "Electro".into(),
        category: "Shopping".into(),
        channel: Channel::Online,
        country: "US".into(),
        notify: false,
        pending: false,
        transfer: false,
    })
}

/// The two banks shared, each with an account and its card.
fn prepare(s: &mut Store) {
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    for (b, card) in BANKS.iter().zip(["9913", "4821"]) {
        s.grant_for(&bank(b), t0(), Duration::days(3650)).unwrap();
        s.apply_batch(&[env(s, b, account("chk", card))], t0()).unwrap();
    }
}

/// One random user decision at `now`; refusals the store is right to make
/// (a card of a bank not shared) are fine.
fn random_event(s: &mut Store, rng: &mut impl Rng, i: usize, now: DateTime<Utc>) {
    let b = bank(BANKS[rng.random_range(0..2)]);
    let result = match rng.random_range(0..6) {
        0 => s.grant_for(&b, now, Duration::days(rng.random_range(1..400))).map(drop),
        1 => s.renew(&b, now, Duration::days(30)).map(drop),
        2 => s.revoke(&b, false, now).map(drop),
        3 => s.set_frozen(&b, None, rng.random_bool(0.5), now).map(drop),
        4 => s.set_frozen(&b, Some("9913"), true, now).map(drop),
        _ => {
            let ext = format!("t{i}");
            let signal = FeedEvent::FraudSignal {
                txn_external_id: ext.clone(),
                at: now,
                reason: "odd".into(),
                severity: Severity::High,
            };
            let batch = [env(s, b.as_str(), charge(&ext, now)), env(s, b.as_str(), signal)];
            let report = s.apply_batch(&batch, now).unwrap();
            match report.new_alerts.first() {
                Some(id) => {
                    let verdict = if rng.random_bool(0.5) { Verdict::NotMe } else { Verdict::ItWasMe };
                    s.ack_alert(*id, verdict, now).map(drop)
                }
                None => Ok(()),
            }
        }
    };
    match result {
        Ok(()) | Err(StoreError::NoConsent(_)) => {}
        Err(e) => panic!("event {i}: {e}"),
    }
}

#[test]
fn the_chain_of_ten_thousand_random_events_verifies() {
    let mut s = Store::open_in_memory().unwrap();
    prepare(&mut s);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    // Random decisions (some change nothing: a revoke of a bank not
    // shared) until the chain holds 10,000 entries.
    let mut i = 0;
    while i % 500 != 0 || s.chain_entries().unwrap().len() < 10_000 {
        random_event(&mut s, &mut rng, i, t0() + Duration::minutes(i as i64));
        i += 1;
    }
    let started = std::time::Instant::now();
    let report = s.verify_chain().unwrap();
    eprintln!("verify_chain: {:?} for {report:?}", started.elapsed());
    let started = std::time::Instant::now();
    let entries = s.chain_entries().unwrap();
    eprintln!("chain_entries: {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let _ = s.verify_chain().unwrap();
    eprintln!("verify_chain again: {:?}", started.elapsed());
    assert!(entries.len() >= 10_000, "{}", entries.len());
    assert!(matches!(report, ChainReport::Ok { entries: n, .. } if n as usize == entries.len()), "{report:?}");
    // Every consent change is chained, and so are verdicts and card locks.
    let consent = ["grant", "renew", "revoke", "expire", "purge"];
    let chained = entries.iter().filter(|e| consent.contains(&e.kind.as_str())).count();
    assert_eq!(chained, s.consent_log(None).unwrap().len());
    for kind in ["start", "grant", "renew", "revoke", "verdict", "card-lock", "card-unlock"] {
        assert!(entries.iter().any(|e| e.kind == kind), "no {kind} entry");
    }
    assert!(entries.iter().any(|e| e.detail.ends_with(": not me")));
    assert!(entries.iter().any(|e| e.detail.ends_with("card •9913 locked")), "{:?}", &entries[..20]);
    assert_eq!(s.chain_warning(), None);
}

/// A store file with a few dozen entries of every kind, closed.
fn small_store(dir: &Path) -> (PathBuf, i64) {
    let path = dir.join("f.db");
    let mut s = Store::open(&path).unwrap();
    prepare(&mut s);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for i in 0..24 {
        random_event(&mut s, &mut rng, i, t0() + Duration::hours(i as i64));
    }
    let n = s.chain_entries().unwrap().len() as i64;
    assert!(matches!(s.verify_chain().unwrap(), ChainReport::Ok { .. }));
    (path, n)
}

/// The system's `sqlite3` on a store no finbox has open (scripts/test.sh
/// installs it).
fn sqlite3(db: &Path, sql: &str) {
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 5000", &db.display().to_string(), sql])
        .output()
        .expect("sqlite3 is needed for this test (apt-get install sqlite3)");
    assert!(out.status.success(), "sqlite3 {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A copy of the closed store, changed by `sql` behind finbox's back, then
/// checked by finbox.
fn tampered(original: &Path, dir: &Path, sql: &str) -> (Store, ChainReport) {
    let copy = dir.join("copy.db");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    std::fs::copy(original, &copy).unwrap();
    sqlite3(&copy, sql);
    let s = Store::open(&copy).unwrap();
    let report = s.verify_chain().unwrap();
    (s, report)
}

fn assert_broken(report: &ChainReport, seq: i64, why: Breach, sql: &str) {
    match report {
        ChainReport::Broken { at_seq, why: found, .. } => {
            assert_eq!((*at_seq, *found), (seq, why), "{sql}: {report:?}")
        }
        ChainReport::Ok { .. } => panic!("{sql}: not detected"),
    }
}

#[test]
fn editing_removing_or_swapping_any_one_row_is_found_at_that_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (original, n) = small_store(dir.path());
    assert!(n >= 20, "{n}");
    for seq in 1..=n {
        let sql = format!("UPDATE chain SET detail = detail || '.' WHERE seq = {seq}");
        assert_broken(&tampered(&original, dir.path(), &sql).1, seq, Breach::Altered, &sql);
        let sql = format!("UPDATE chain SET at = at - 60 WHERE seq = {seq}");
        assert_broken(&tampered(&original, dir.path(), &sql).1, seq, Breach::Altered, &sql);
        // A removed row is missed where it was, the last one too (its
        // copy in chain_head says the chain went further).
        let sql = format!("DELETE FROM chain WHERE seq = {seq}");
        assert_broken(&tampered(&original, dir.path(), &sql).1, seq, Breach::Removed, &sql);
        if seq < n {
            let next = seq + 1;
            let sql = format!(
                "UPDATE chain SET seq = -1 WHERE seq = {seq}; UPDATE chain SET seq = {seq} WHERE seq = {next};
                 UPDATE chain SET seq = {next} WHERE seq = -1;"
            );
            assert_broken(&tampered(&original, dir.path(), &sql).1, seq, Breach::Moved, &sql);
        }
    }
}

#[test]
fn the_anchor_and_what_finbox_writes_after_an_edit_keep_the_break_visible() {
    let dir = tempfile::tempdir().unwrap();
    let (original, n) = small_store(dir.path());
    let sql = "DELETE FROM chain_head";
    assert_broken(&tampered(&original, dir.path(), sql).1, n, Breach::Anchor, sql);
    let sql = "DELETE FROM chain";
    assert_broken(&tampered(&original, dir.path(), sql).1, 1, Breach::Removed, sql);
    let sql = "UPDATE chain_head SET seq = seq - 1";
    assert_broken(&tampered(&original, dir.path(), sql).1, n, Breach::Added, sql);
    // A hash computed anew for an edited entry: the next no longer follows.
    let sql = "UPDATE chain SET hash = (SELECT hash FROM chain WHERE seq = 1) WHERE seq = 2";
    assert_broken(&tampered(&original, dir.path(), sql).1, 2, Breach::Altered, sql);

    // The last entry cut off, then finbox writes on: still found there.
    let sql = format!("DELETE FROM chain WHERE seq = {n}");
    let (mut s, report) = tampered(&original, dir.path(), &sql);
    assert_broken(&report, n, Breach::Removed, &sql);
    assert_eq!(s.chain_warning(), Some(format!("entry {n}")));
    // What the screen loads says so too.
    let snap = finbox::tui::load(&s, &finbox::app::View::default(), t0()).unwrap();
    assert_eq!(snap.chain_broken, Some(format!("entry {n}")));
    s.grant(&bank("citi"), t0() + Duration::days(1)).unwrap();
    s.set_frozen(&bank("citi"), None, true, t0() + Duration::days(1)).unwrap();
    assert_broken(&s.verify_chain().unwrap(), n, Breach::Removed, "after finbox wrote on");
    // The anchor removed, then finbox writes on: the new entry does not
    // follow the last one.
    let (mut s, _) = tampered(&original, dir.path(), "DELETE FROM chain_head");
    s.grant(&bank("citi"), t0() + Duration::days(1)).unwrap();
    assert!(matches!(s.verify_chain().unwrap(), ChainReport::Broken { .. }));

    // Untouched, it is whole, and finbox's own appends keep it so.
    let (mut s, report) = tampered(&original, dir.path(), "SELECT 1");
    assert!(matches!(report, ChainReport::Ok { entries, .. } if entries as i64 == n), "{report:?}");
    let snap = finbox::tui::load(&s, &finbox::app::View::default(), t0()).unwrap();
    assert_eq!(snap.chain_broken, None);
    s.grant(&bank("chase"), t0() + Duration::days(2)).unwrap();
    s.revoke(&bank("chase"), true, t0() + Duration::days(2)).unwrap();
    assert!(matches!(s.verify_chain().unwrap(), ChainReport::Ok { entries, .. } if entries as i64 == n + 3));
}

/// Two processes deciding at once (each a `finbox consent` command in a
/// loop) append in turn, inside their own write transactions: the chain
/// stays whole and holds every change.
#[test]
fn two_processes_appending_at_once_keep_the_chain_whole() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = common::finbox(home.path(), &[], args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["consent", "grant", "--all"]);
    std::thread::scope(|scope| {
        for b in ["chase", "citi"] {
            scope.spawn(move || {
                for _ in 0..12 {
                    run(&["consent", "revoke", b]);
                    run(&["consent", "grant", b]);
                }
            });
        }
    });
    let s = Store::open(&common::store_path(home.path())).unwrap();
    let report = s.verify_chain().unwrap();
    // The start, four grants, then 2 × 12 × (revoke, grant).
    assert!(matches!(report, ChainReport::Ok { entries: 53, .. }), "{report:?}");
}
