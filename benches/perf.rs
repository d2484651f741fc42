//! finbox's performance harness: `cargo bench --bench perf` (1M transactions)
//! or `cargo bench --bench perf -- --quick` (100k). Prints each figure with
//! its target. The store for the query and frame figures is built once and
//! kept in target/bench/ (`--rebuild` builds it again); the ingest figure is
//! measured on that build (three runs, each followed by a bare rusqlite
//! insert loop of the same rows into the same schema, for the ratio).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use finbox::app::{Action, AppState, View, update};
use finbox::domain::BankId;
use finbox::feed::supervisor::{self, SupervisorConfig};
use finbox::feed::writer::{Writer, WriterConfig};
use finbox::feed::{FeedMode, FeedRegistry, profile};
use finbox::store::{Store, TxnCursor, TxnFilter};
use finbox::ui::{RenderOpts, Theme, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio_util::sync::CancellationToken;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

struct Row {
    what: String,
    figure: String,
    target: String,
    ok: Option<bool>,
}

/// finbox's ingest runs (each followed by the bare loop) whose median is
/// the ingest figure.
const RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rebuild = args.iter().any(|a| a == "--rebuild");
    // Events per transaction is about 1.1 (messages, balances, statements).
    let (label, events) = if quick { ("100k", 110_000u64) } else { ("1M", 1_100_000u64) };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("store-{label}.db"));
    let mut rows: Vec<Row> = Vec::new();

    if rebuild || !path.exists() {
        remove_store(&path);
        eprintln!("building the {label} store (once; --rebuild to redo)…");
        // This shared machine drifts by 10-30% within minutes, so one
        // finbox run and one bare loop measured a minute apart gave ratios
        // from 0.59 to 0.77 for the same build, and three runs' ratios
        // spread from 0.68 to 0.89 within one hour. finbox's ingest runs
        // five times, each followed by the bare loop (F B F B …); each
        // run's ratio is taken against the bare loops around it (the first:
        // the one after it, which needs the rows it stored), and the figure
        // is the median of the five.
        let again = dir.join(format!("store-{label}-again.db"));
        let mut runs: Vec<(u64, Duration, Duration)> = Vec::new();
        let mut bares: Vec<f64> = Vec::new();
        let mut stored: Vec<BareRow> = Vec::new();
        for i in 0..RUNS {
            let run = if i == 0 {
                ingest(&path, events, true)
            } else {
                let run = ingest(&again, events, true);
                remove_store(&again);
                run
            };
            runs.push(run);
            // The rows the first run stored, read once (outside any timing).
            if i == 0 {
                stored = stored_rows(&path, run.0.min(1_000_000));
            }
            let (n, took) = bare_same_rows(&dir, &path, &stored);
            bares.push(n as f64 / took.as_secs_f64());
        }
        let txns = runs[0].0;
        let rates: Vec<f64> = runs.iter().map(|r| r.0 as f64 / r.1.as_secs_f64()).collect();
        let around = |i: usize| if i == 0 { bares[0] } else { (bares[i - 1] + bares[i]) / 2.0 };
        let ratios: Vec<f64> = (0..RUNS).map(|i| rates[i] / around(i)).collect();
        let mid = median_index(&ratios);
        let (rate, took, insight) = (rates[mid], runs[mid].1, runs[mid].2);
        let share = insight.as_secs_f64() / took.as_secs_f64();
        rows.push(Row {
            what: "insight pass (recurring, duplicates, refunds, outlook, monthly) within that ingest".into(),
            figure: format!("{:.2} s of {:.1} s = {:.1}%", insight.as_secs_f64(), took.as_secs_f64(), share * 100.0),
            target: "< 5% of ingest".into(),
            ok: Some(share < 0.05),
        });
        let list = |v: &[f64], f: &dyn Fn(f64) -> String| v.iter().map(|x| f(*x)).collect::<Vec<_>>().join(", ");
        rows.push(Row {
            what: format!("ingest: finbox feed --events {events} (sim + rules + store), median of {RUNS} runs"),
            figure: format!(
                "{txns} txns in {:.1} s = {rate:.0} txns/s (runs: {} txns/s)",
                took.as_secs_f64(),
                list(&rates, &|r| format!("{r:.0}"))
            ),
            target: "≥ 100,000 txns/s".into(),
            ok: Some(rate >= 100_000.0),
        });
        rows.push(Row {
            what:
                "ingest baseline: bare rusqlite loop, same schema, the same rows (every column finbox's INSERT writes), 1,000-row txns, after each finbox run"
                    .into(),
            figure: format!(
                "{} rows/s; finbox / bare = {:.2} (median; runs: {})",
                list(&bares, &|r| format!("{r:.0}")),
                ratios[mid],
                list(&ratios, &|r| format!("{r:.2}"))
            ),
            target: "ratio ≥ 0.8".into(),
            ok: Some(ratios[mid] >= 0.8),
        });
        // The same feed with each authorisation written as it comes (the
        // pending row, then its posting turned into it): what holding them
        // back within a batch saves.
        let unheld = dir.join(format!("store-{label}-unheld.db"));
        let (unheld_txns, unheld_took, _) = ingest(&unheld, events, false);
        remove_store(&unheld);
        let unheld_rate = unheld_txns as f64 / unheld_took.as_secs_f64();
        rows.push(Row {
            what: "(for comparison) the same ingest, each authorisation written as it comes, not held for its posting"
                .into(),
            figure: format!(
                "{unheld_txns} txns in {:.1} s = {unheld_rate:.0} txns/s; held (median) / this = {:.2}",
                unheld_took.as_secs_f64(),
                rate / unheld_rate
            ),
            target: "".into(),
            ok: None,
        });
        let (multi_n, multi_took) = bare_multi_row(&dir, &path, &stored, 50);
        let multi = multi_n as f64 / multi_took.as_secs_f64();
        rows.push(Row {
            what: "(for reference) the same rows, 50 to an INSERT (row and search entry), ids given, 1,000-row txns"
                .into(),
            figure: format!("{multi:.0} rows/s; finbox / this = {:.2}", rate / multi),
            target: "(what fewer statements per row would leave)".into(),
            ok: None,
        });
        let (bare_n, bare_took) = bare_insert_loop(&dir, txns.min(1_000_000));
        let synthetic = bare_n as f64 / bare_took.as_secs_f64();
        rows.push(Row {
            what: "(for reference) the same loop, synthetic rows: one account, sequential ids, constant columns".into(),
            figure: format!("{synthetic:.0} rows/s; finbox / this = {:.2}", rate / synthetic),
            target: "(the cheapest rows SQLite can take)".into(),
            ok: None,
        });
    } else {
        eprintln!("using the cached {label} store {} (--rebuild to measure ingest)", path.display());
    }

    let store = Store::open(&path).unwrap();
    let txn_total: i64 = store.accounts(None).unwrap().iter().map(|a| a.txn_count).sum();
    eprintln!("store holds {txn_total} transactions");
    let bank = BankId::new("chase").unwrap();
    let account = store.accounts(Some(&bank)).unwrap()[0].id;
    let first_page =
        store.transactions(&TxnFilter { account: Some(account), limit: 50, ..Default::default() }).unwrap();
    let before = first_page.last().map(TxnCursor::from);

    let mut query = |what: &str, target_ms: f64, f: &mut dyn FnMut()| {
        let (p50, p95) = timed(300, f);
        rows.push(Row {
            what: format!("query: {what}"),
            figure: format!("p50 {} · p95 {}", fmt(p50), fmt(p95)),
            target: format!("p95 < {target_ms} ms"),
            ok: Some(p95.as_secs_f64() * 1000.0 < target_ms),
        });
    };
    query("bank list with counts", 1.0, &mut || drop(store.banks().unwrap()));
    query("balances (all accounts) + totals", 1.0, &mut || {
        drop(store.accounts(None).unwrap());
        drop(store.totals().unwrap());
    });
    query("an account's latest 50", 1.0, &mut || {
        drop(store.transactions(&TxnFilter { account: Some(account), limit: 50, ..Default::default() }).unwrap())
    });
    query("its next page (keyset)", 1.0, &mut || {
        drop(
            store.transactions(&TxnFilter { account: Some(account), before, limit: 50, ..Default::default() }).unwrap(),
        )
    });
    query("a conversation's latest 300 messages", 1.0, &mut || drop(store.messages(&bank, 300, None).unwrap()));
    query("the alert queue (open, top 200)", 1.0, &mut || drop(store.alerts(false, 200).unwrap()));
    query("search \"whole foods\" in a bank (200)", 16.0, &mut || {
        drop(
            store
                .transactions(&TxnFilter {
                    bank: Some(bank.clone()),
                    search: Some("whole foods".into()),
                    limit: 200,
                    ..Default::default()
                })
                .unwrap(),
        )
    });
    query("search \"netflix\" everywhere (200)", 16.0, &mut || {
        drop(
            store
                .transactions(&TxnFilter { search: Some("netflix".into()), limit: 200, ..Default::default() })
                .unwrap(),
        )
    });

    // Frames: load the screen's snapshot and draw a 200×60 frame.
    let view = View { bank: Some(bank.clone()), ..View::default() };
    let theme = Theme::default();
    let opts = RenderOpts::default();
    let mut state = AppState::new(now(), true);
    update(&mut state, Action::Loaded(Box::new(finbox::tui::load(&store, &view, now()).unwrap())));
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let (p50, p95) = timed(300, &mut || {
        terminal.draw(|f| render(f, &state, &theme, &opts)).unwrap();
    });
    rows.push(Row {
        what: "frame: render 200×60".into(),
        figure: format!("p50 {} · p95 {}", fmt(p50), fmt(p95)),
        target: "p95 < 2 ms".into(),
        ok: Some(p95 < Duration::from_millis(2)),
    });
    let (p50, p95) = timed(100, &mut || {
        let snap = finbox::tui::load(&store, &view, now()).unwrap();
        update(&mut state, Action::Loaded(Box::new(snap)));
        terminal.draw(|f| render(f, &state, &theme, &opts)).unwrap();
    });
    rows.push(Row {
        what: "frame: reload the snapshot + render 200×60".into(),
        figure: format!("p50 {} · p95 {}", fmt(p50), fmt(p95)),
        target: "(the worker's cost per store change)".into(),
        ok: None,
    });

    // Start-up: exec of the real binary in a pseudo-terminal to its first
    // complete screen (it quits there), big store vs an empty one.
    let empty_path = dir.join("store-empty.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", empty_path.display()));
    }
    {
        let mut empty = Store::open(&empty_path).unwrap();
        empty.sync_banks(&profile::load_all(None).unwrap()).unwrap();
        empty.grant(&bank, now()).unwrap();
    }
    let big = startup(&path);
    let small = startup(&empty_path);
    rows.push(Row {
        what: format!("start-up: exec to first complete screen, 200×60 pty ({label} vs empty store)"),
        figure: format!("{} vs {}; ratio {:.2}", fmt(big), fmt(small), big.as_secs_f64() / small.as_secs_f64()),
        target: "< 100 ms; ratio ≤ 1.5".into(),
        ok: Some(big < Duration::from_millis(100) && big.as_secs_f64() / small.as_secs_f64() <= 1.5),
    });

    match keypress_latency(&dir) {
        Some((p50, p99, n)) => rows.push(Row {
            what: format!("responsiveness: key to screen while another process ingests at full speed ({n} presses)"),
            figure: format!("p50 {} · p99 {}", fmt(p50), fmt(p99)),
            target: "p99 < 50 ms".into(),
            ok: Some(p99 < Duration::from_millis(50)),
        }),
        None => eprintln!("tmux not found: skipping the key-press latency figure"),
    }

    println!("\nfinbox perf, {txn_total} transactions ({label}), {}", path.display());
    println!("| what | measured | target | |");
    println!("|---|---|---|---|");
    for r in &rows {
        let mark = match r.ok {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "",
        };
        println!("| {} | {} | {} | {mark} |", r.what, r.figure, r.target);
    }
}

fn remove_store(path: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

/// The index of the median of three (or any odd count of) figures.
fn median_index(v: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    order[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 { format!("{us:.0} µs") } else { format!("{:.2} ms", us / 1000.0) }
}

/// Runs `f` `n` times after a warm-up; returns (p50, p95).
fn timed(n: usize, f: &mut dyn FnMut()) -> (Duration, Duration) {
    for _ in 0..5 {
        f();
    }
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[n / 2], times[(n * 95 / 100).min(n - 1)])
}

/// The whole ingest pipeline, as `finbox feed --events N` runs it;
/// `hold`: authorisations held back for their posting within a batch (as
/// finbox does).
fn ingest(path: &Path, events: u64, hold: bool) -> (u64, Duration, Duration) {
    let profiles = profile::load_all(None).unwrap();
    let mut store = Store::open(path).unwrap();
    store.hold_authorisations(hold);
    store.sync_banks(&profiles).unwrap();
    for p in &profiles {
        // Shared now: the backfilled history arrives read, as for a new user.
        store.grant(&p.id, now()).unwrap();
    }
    let clock: finbox::feed::Clock = std::sync::Arc::new(now);
    let homes: HashMap<BankId, String> = profiles.iter().map(|p| (p.id.clone(), p.home_country.clone())).collect();
    let start = Instant::now();
    let writer = Writer::spawn(
        store,
        WriterConfig { home_countries: homes, utc_offset_secs: 0, clock: clock.clone(), holder: None },
    );
    let cfg = SupervisorConfig {
        registry: FeedRegistry::default(),
        profiles,
        seed: 2018,
        mode: FeedMode::Events(events),
        clock,
        utc_offset_secs: 0,
        holder: finbox::feed::lease::this_process(),
        ledger: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let reader = Store::open(path).unwrap();
    let tx = writer.tx.clone();
    rt.block_on(supervisor::run(cfg, reader, tx, CancellationToken::new(), None));
    let report = writer.join().unwrap();
    (report.transactions, start.elapsed(), report.insight_time)
}

/// A fresh store with finbox's schema, opened as plain rusqlite (none of
/// finbox's connection set-up).
fn bare_store(dir: &Path) -> rusqlite::Connection {
    let path = dir.join("bare.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    let mut store = Store::open(&path).unwrap();
    store.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    drop(store);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").unwrap();
    c
}

/// A transaction row as finbox stored it: every column its INSERT writes
/// (bank, account, id, time, amount, currency, merchant, category, channel,
/// country, status, transfer kind, when and how much was authorised).
type BareRow = (
    String,
    i64,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// The first `n` transactions finbox stored in `source`, in the order it
/// wrote them, as the bare loops bind them.
fn stored_rows(source: &Path, n: u64) -> Vec<BareRow> {
    let src = rusqlite::Connection::open(source).unwrap();
    let mut q = src
        .prepare(
            "SELECT bank_id, account_id, external_id, posted_at, amount_minor, currency, merchant, category, channel,
                    country, status, transfer_kind, authorized_at, authorized_minor
             FROM transactions ORDER BY id LIMIT ?1",
        )
        .unwrap();
    q.query_map([n as i64], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A fresh bare store holding `source`'s accounts (foreign keys are on in
/// rusqlite's SQLite too), for its rows.
fn bare_store_for(dir: &Path, source: &Path) -> rusqlite::Connection {
    let c = bare_store(dir);
    c.execute("ATTACH ?1 AS src", [source.to_str().unwrap()]).unwrap();
    c.execute_batch("INSERT INTO accounts SELECT * FROM src.accounts; DETACH src;").unwrap();
    c
}

/// Plain rusqlite inserting exactly the transactions finbox stored (`rows`,
/// from `source`): every column finbox's INSERT writes, the row and its
/// search-index row, prepared statements, 1,000 rows per transaction. What
/// SQLite itself costs for finbox's data; the ratio is then what finbox's
/// pipeline adds. (Until 2026-12-01 it bound 10 of the 14 columns, leaving
/// status, transfer kind and what was authorised to their defaults: rows
/// smaller than finbox's, 128.9k rows/s against 117–124k in the run that
/// compared.)
fn bare_same_rows(dir: &Path, source: &Path, rows: &[BareRow]) -> (u64, Duration) {
    let mut c = bare_store_for(dir, source);
    let start = Instant::now();
    for chunk in rows.chunks(1000) {
        let tx = c.transaction().unwrap();
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO transactions (bank_id, account_id, external_id, posted_at, amount_minor, currency,
                       merchant, category, channel, country, status, transfer_kind, authorized_at, authorized_minor)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .unwrap();
            let mut fts =
                tx.prepare("INSERT INTO transactions_fts (rowid, merchant, category) VALUES (?1, ?2, ?3)").unwrap();
            for r in chunk {
                ins.execute(rusqlite::params![
                    r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13
                ])
                .unwrap();
                fts.execute(rusqlite::params![tx.last_insert_rowid(), r.6, r.7]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    (rows.len() as u64, start.elapsed())
}

/// The same rows as [`bare_same_rows`], `per` to a statement: a multi-row
/// `INSERT` for the rows (their ids given, as a writer that numbers its own
/// rows would) and one for their search entries.
fn bare_multi_row(dir: &Path, source: &Path, rows: &[BareRow], per: usize) -> (u64, Duration) {
    let mut c = bare_store_for(dir, source);
    let values = |k: usize, cols: usize| {
        (0..k)
            .map(|r| format!("({})", (1..=cols).map(|i| format!("?{}", r * cols + i)).collect::<Vec<_>>().join(", ")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The statements' text made before the clock starts (a last, shorter
    // group makes its own).
    let sql = |k: usize| {
        (
            format!(
                "INSERT INTO transactions (id, bank_id, account_id, external_id, posted_at, amount_minor, currency,
                   merchant, category, channel, country, status, transfer_kind, authorized_at, authorized_minor)
                 VALUES {}",
                values(k, 15)
            ),
            format!("INSERT INTO transactions_fts (rowid, merchant, category) VALUES {}", values(k, 3)),
        )
    };
    let full = sql(per);
    let start = Instant::now();
    let mut next_id = 1i64;
    for chunk in rows.chunks(1000) {
        let tx = c.transaction().unwrap();
        for group in chunk.chunks(per) {
            let short;
            let (ins_sql, fts_sql) = if group.len() == per {
                (&full.0, &full.1)
            } else {
                short = sql(group.len());
                (&short.0, &short.1)
            };
            let mut ins = tx.prepare_cached(ins_sql).unwrap();
            let mut fts = tx.prepare_cached(fts_sql).unwrap();
            let mut p: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(group.len() * 15);
            let ids: Vec<i64> = (0..group.len() as i64).map(|i| next_id + i).collect();
            for (r, id) in group.iter().zip(&ids) {
                p.extend([
                    id as &dyn rusqlite::ToSql,
                    &r.0,
                    &r.1,
                    &r.2,
                    &r.3,
                    &r.4,
                    &r.5,
                    &r.6,
                    &r.7,
                    &r.8,
                    &r.9,
                    &r.10,
                    &r.11,
                    &r.12,
                    &r.13,
                ]);
            }
            ins.execute(p.as_slice()).unwrap();
            let mut f: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(group.len() * 3);
            for (r, id) in group.iter().zip(&ids) {
                f.extend([id as &dyn rusqlite::ToSql, &r.6, &r.7]);
            }
            fts.execute(f.as_slice()).unwrap();
            next_id += group.len() as i64;
        }
        tx.commit().unwrap();
    }
    (rows.len() as u64, start.elapsed())
}

/// Plain rusqlite: the same schema (indexes and search index), prepared
/// statements, 1,000 rows per transaction, synthetic rows (one account,
/// sequential ids, most columns constant).
fn bare_insert_loop(dir: &Path, n: u64) -> (u64, Duration) {
    let mut c = bare_store(dir);
    c.execute_batch(
        "INSERT INTO accounts (bank_id, external_id, name, kind, mask, currency, opening_minor)
           VALUES ('chase', 'chk', 'Checking', 'checking', '1234', 'USD', 0);",
    )
    .unwrap();
    let merchants = ["Whole Foods Market", "Trader Joe's", "Netflix", "Shell", "Uber", "Blue Bottle Coffee"];
    let start = Instant::now();
    let mut i = 0u64;
    while i < n {
        let tx = c.transaction().unwrap();
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO transactions (bank_id, account_id, external_id, posted_at, amount_minor, currency,
                       merchant, category, channel, country) VALUES ('chase', 1, ?1, ?2, ?3, 'USD', ?4, 'Groceries', 'online', 'US')",
                )
                .unwrap();
            let mut fts = tx
                .prepare("INSERT INTO transactions_fts (rowid, merchant, category) VALUES (?1, ?2, 'Groceries')")
                .unwrap();
            for _ in 0..1000.min(n - i) {
                let m = merchants[(i % 6) as usize];
                ins.execute(rusqlite::params![
                    format!("b-{i:08}"),
                    1_600_000_000 + i as i64 * 60,
                    -((i % 9000) as i64),
                    m
                ])
                .unwrap();
                fts.execute(rusqlite::params![tx.last_insert_rowid(), m]).unwrap();
                i += 1;
            }
        }
        tx.commit().unwrap();
    }
    (n, start.elapsed())
}

fn startup(path: &Path) -> Duration {
    let bin = env!("CARGO_BIN_EXE_finbox");
    let home = tempfile_dir();
    let mut times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        // `script` gives the binary a terminal; the size is set by stty first.
        let status = std::process::Command::new("script")
            .args(["-qec", &format!("stty cols 200 rows 60; {bin} --no-feeds"), "/dev/null"])
            .env("FINBOX_DB", path)
            .env("FINBOX_EXIT_AFTER_FIRST_FRAME", "1")
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("TERM", "xterm-256color")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("script(1) from util-linux runs the binary in a pseudo-terminal");
        assert!(status.success(), "the binary failed to start");
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("finbox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Opens the real binary in tmux on a store that another `finbox feed`
/// process is filling as fast as it can, then times `?` (help opens) and
/// Esc (help closes) from send-keys to the change on screen. The figure
/// includes tmux's own send/capture round trips (a few ms).
fn keypress_latency(dir: &Path) -> Option<(Duration, Duration, usize)> {
    use std::process::{Command, Stdio};
    Command::new("tmux").arg("-V").output().ok()?;
    let bin = env!("CARGO_BIN_EXE_finbox");
    let home = tempfile_dir();
    let db = dir.join("store-keys.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let envs = [
        ("FINBOX_DB", db.display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        ("XDG_DATA_HOME", home.join("data").display().to_string()),
    ];
    let cli = |args: &[&str]| Command::new(bin).envs(envs.iter().cloned()).args(args).output().unwrap();
    cli(&["consent", "grant", "--all"]);
    cli(&["feed", "--events", "20000"]);
    let mut feeder = Command::new(bin)
        .envs(envs.iter().cloned())
        .args(["feed", "--events", "5000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let session = format!("finbox-bench-{}", std::process::id());
    let env_prefix: String = envs.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
    Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "36"])
        .arg(format!("env {env_prefix}TERM=xterm-256color {bin} --no-feeds"))
        .status()
        .unwrap();
    let screen = || {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let wait = |want: bool| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while screen().contains("Esc or ? closes") != want {
            assert!(Instant::now() < deadline, "the screen did not change");
        }
    };
    std::thread::sleep(Duration::from_millis(1500));
    let mut times = Vec::new();
    for i in 0..60 {
        let (key, want) = if i % 2 == 0 { ("?", true) } else { ("Escape", false) };
        let t = Instant::now();
        Command::new("tmux").args(["send-keys", "-t", &session, key]).status().unwrap();
        wait(want);
        times.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("tmux").args(["kill-session", "-t", &session]).status();
    let _ = feeder.kill();
    let _ = feeder.wait();
    times.sort();
    let n = times.len();
    Some((times[n / 2], times[(n * 99 / 100).min(n - 1)], n))
}
