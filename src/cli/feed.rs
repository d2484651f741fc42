//! `finbox feed`: the bank feeds without the screen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::table::{Align, Table};
use super::*;
use crate::domain::*;
use crate::feed::FeedMode;
use crate::feed::supervisor;
use crate::session::{self, Env, Signals};

pub(super) fn feed(env: &Env, args: &FeedArgs, cli_now: Option<DateTime<Utc>>) -> Result<()> {
    let s = &env.settings;
    let store = env.open_or_create_store()?;
    let shared: Vec<BankSummaryName> = store
        .banks()?
        .into_iter()
        .filter(|b| b.bank.consent == ConsentState::Granted)
        .map(|b| BankSummaryName { id: b.bank.id, name: b.bank.name })
        .collect();
    if shared.is_empty() {
        bail!("no bank is shared, so no feed would deliver anything. Share banks first: `finbox consent grant --all`");
    }
    let reader = store.reopen()?;
    // `--now` (hidden) pins the simulated clock too, for reproducible runs.
    let clock: crate::feed::Clock = match cli_now {
        Some(t) => std::sync::Arc::new(move || t),
        None => crate::feed::system_clock(),
    };
    let mode = match args.events {
        Some(n) => FeedMode::Events(n),
        None => FeedMode::Live,
    };
    let started = Instant::now();
    match mode {
        FeedMode::Events(n) => eprintln!("Producing {n} events from {} shared banks…", shared.len()),
        FeedMode::Live => eprintln!(
            "Running {} feeds{}; Ctrl-C stops.",
            shared.len(),
            args.duration.map(|d| format!(" for {d} s")).unwrap_or_default()
        ),
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let duration = args.duration.map(Duration::from_secs);
    let names: HashMap<BankId, String> = s.profiles.iter().map(|p| (p.id.clone(), p.name.clone())).collect();
    let (tallies, report) = rt.block_on(async move {
        let (status_tx, status_rx) = tokio::sync::watch::channel(Default::default());
        let feeds = session::start_feeds(env, store, reader, mode, clock, Some(status_tx));
        let bar = super::progress::bar(args.events, "events");
        let progress = super::progress::follow_writer(bar.clone(), feeds.writer.progress());
        tokio::spawn(say_where_banks_are_fed(status_rx, names));
        // Ctrl-C, SIGTERM or SIGHUP stop the feeds like the end of
        // `--duration`: what was produced is committed, the summary printed,
        // and the exit status is 128 + the signal.
        let mut signals = Signals::new()?;
        let stopper = feeds.cancel.clone();
        tokio::spawn(async move {
            match duration {
                Some(d) => tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = signals.recv() => {}
                },
                None => {
                    signals.recv().await;
                }
            }
            stopper.cancel();
        });
        let done = feeds.finish().await;
        progress.abort();
        bar.finish_and_clear();
        done
    })?;
    drop(rt);
    print_summary(&shared, &tallies, &report, started.elapsed());
    Ok(())
}

/// The run's summary: events per bank, then what the store made of them.
fn print_summary(
    shared: &[BankSummaryName],
    tallies: &std::collections::BTreeMap<BankId, supervisor::FeedTally>,
    report: &crate::store::BatchReport,
    elapsed: Duration,
) {
    let mut t = Table::new(&[("BANK", Align::Left), ("EVENTS", Align::Right), ("FEED FAILURES", Align::Right)]);
    let g = crate::domain::money::group_thousands;
    let mut total_events = 0;
    for b in shared {
        let tally = tallies.get(&b.id).cloned().unwrap_or_default();
        total_events += tally.events;
        t.row(vec![format!("{} ({})", b.name, b.id), g(tally.events), g(tally.failures as u64)]);
    }
    print!("{}", t.render());
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "\n{} events in {:.1} s ({} events/s): {} new transactions, {} messages, {} fraud alerts, {} new accounts; \
         {} already stored, {} dropped (not shared), {} rejected.",
        g(total_events),
        secs,
        g((total_events as f64 / secs) as u64),
        g(report.transactions),
        g(report.messages),
        g(report.alerts),
        g(report.accounts),
        g(report.duplicates),
        g(report.dropped_no_consent),
        g(report.rejected.len() as u64)
    );
    for r in report.rejected.iter().take(10) {
        println!("  rejected {} from {}: {}", r.record, r.bank, r.reason);
    }
}

/// Says (on stderr) which banks another finbox process feeds, and when this
/// one takes one over.
async fn say_where_banks_are_fed(
    mut status: tokio::sync::watch::Receiver<std::collections::BTreeMap<BankId, supervisor::FeedStatus>>,
    names: HashMap<BankId, String>,
) {
    use supervisor::FeedStatus;
    let mut elsewhere: HashMap<BankId, u32> = HashMap::new();
    while status.changed().await.is_ok() {
        let now = status.borrow_and_update().clone();
        let name = |b: &BankId| names.get(b).cloned().unwrap_or_else(|| b.to_string());
        for (bank, s) in &now {
            match (s, elsewhere.get(bank)) {
                (FeedStatus::Elsewhere { pid }, None) => eprintln!(
                    "{} is fed by another finbox (pid {pid}); this one takes it over when that one stops.",
                    name(bank)
                ),
                (FeedStatus::Running, Some(pid)) => {
                    eprintln!("Took over the {} feed: the finbox that ran it (pid {pid}) stopped.", name(bank))
                }
                _ => {}
            }
        }
        elsewhere = now
            .into_iter()
            .filter_map(|(b, s)| match s {
                FeedStatus::Elsewhere { pid } => Some((b, pid)),
                _ => None,
            })
            .collect();
    }
}

struct BankSummaryName {
    id: BankId,
    name: String,
}
