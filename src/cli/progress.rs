//! Progress of long commands, on stderr: only when stderr is a terminal and
//! `--quiet` was not given, so that pipes and logs get the summary alone.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::store::writer::WriterProgress;

/// `--quiet`: no progress at all.
pub(super) static QUIET: AtomicBool = AtomicBool::new(false);

/// How often a bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// A bar to `len` (or a counter, without one) drawn on stderr, or a hidden
/// one that draws nothing when stderr is not a terminal or with `--quiet`.
pub(super) fn bar(len: Option<u64>, unit: &str) -> ProgressBar {
    if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(n) => (ProgressBar::new(n), format!("{{wide_bar}} {{human_pos}}/{{human_len}} {unit} {{msg}}")),
        None => (ProgressBar::no_length(), format!("{{spinner}} {{human_pos}} {unit} {{msg}}")),
    };
    let style = ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar
}

/// A spinner with the time taken, for work that says nothing of its
/// progress; hidden when stderr is not a terminal or with `--quiet`.
pub(super) fn spinner(what: &str) -> ProgressBar {
    if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar.set_message(what.to_string());
    bar.enable_steady_tick(TICK);
    bar
}

/// Follows the store writer's counts on `bar` until the returned task is
/// aborted: events committed, their rate, new transactions so far.
pub(super) fn follow_writer(bar: ProgressBar, counts: Arc<WriterProgress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if bar.is_hidden() {
            return;
        }
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            let events = counts.events.load(Ordering::Relaxed);
            bar.set_position(events);
            let g = crate::domain::money::group_thousands;
            let rate = events as f64 / bar.elapsed().as_secs_f64().max(1e-3);
            let txns = counts.transactions.load(Ordering::Relaxed);
            bar.set_message(format!("({}/s), {} new transactions", g(rate as u64), g(txns)));
        }
    })
}
