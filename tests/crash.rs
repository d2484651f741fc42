//! Crash safety: `kill -9` the feed writer at 50 random moments. After each
//! kill the store passes `PRAGMA integrity_check`, holds no duplicate, its
//! balances agree with its transactions (every batch all or nothing), and
//! nothing committed before the kill is lost.

use std::process::{Command, Stdio};
use std::time::Duration;

use finbox::store::Store;

#[test]
fn kill_9_during_ingestion_never_damages_the_store() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("f.db");
    let bin = env!("CARGO_BIN_EXE_finbox");
    let run = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.env_clear()
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("FINBOX_DB", &db)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    assert!(run(&["consent", "grant", "--all"]).status().unwrap().success());

    // A small deterministic generator for the kill moments (10–250 ms).
    let mut seed: u64 = 0x5eed;
    let mut next_ms = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        10 + (seed >> 33) % 240
    };
    let mut committed = 0i64;
    let mut kills = 0;
    for round in 0..50 {
        let mut child = run(&["feed", "--events", "1000000"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(next_ms()));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();

        let c = rusqlite::Connection::open(&db).unwrap();
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
        let (rows, distinct): (i64, i64) = c
            .query_row("SELECT count(*), count(DISTINCT bank_id || ':' || external_id) FROM transactions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(rows, distinct, "round {round}: duplicate transactions");
        assert!(rows >= committed, "round {round}: {committed} committed rows became {rows}");
        committed = rows;
        drop(c);
        let store = Store::open(&db).unwrap();
        assert!(store.balance_mismatches().unwrap().is_empty(), "round {round}: a batch was half applied");
    }
    assert!(kills >= 40, "only {kills} of 50 runs were still writing when killed");
    assert!(committed > 0, "nothing was ever committed");
    println!("{kills} kills; {committed} transactions committed in total");
}
