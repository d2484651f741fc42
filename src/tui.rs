//! The terminal: one task owns it. A guard restores it on drop, a panic hook
//! restores it when the UI thread panics (a panic in a feed task is contained
//! and must not tear the screen down), and SIGTERM / SIGHUP quit cleanly.

mod notify;
mod unlock;
mod worker;

use std::io::{IsTerminal, Stdout, Write};
use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event, EventStream,
    MouseButton, MouseEvent, MouseEventKind,
};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::{mpsc, watch};

use crate::app::{self, Action, AppState, Effect};
use crate::feed::FeedMode;
use crate::session::{self, Env, Signals};
use crate::store::Store;
use crate::ui::{self, RenderOpts, Theme};
pub use worker::load;

static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Restores the terminal: leaves the alternate screen, shows the cursor,
/// turns raw mode and mouse capture off. Never panics.
pub fn restore_terminal() {
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Owns the terminal's raw/alternate-screen state for as long as it lives.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let mut out = std::io::stdout();
        // Bracketed paste: a paste arrives as text, never as keys (a pasted
        // newline would be Enter, and its letters commands).
        if let Err(e) = crossterm::execute!(out, EnterAlternateScreen, EnableMouseCapture, EnableBracketedPaste) {
            restore_terminal();
            return Err(e).context("cannot take over the terminal");
        }
        let terminal = match Terminal::new(CrosstermBackend::new(out)) {
            Ok(t) => t,
            Err(e) => {
                restore_terminal();
                return Err(e).context("cannot draw on the terminal");
            }
        };
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic on the UI thread restores the terminal before the message is
/// printed. A panic on any other thread (a feed task, the writer) is logged
/// and left to its owner, which contains it: the screen stays intact.
fn install_panic_hook() {
    // Once: the passphrase screen and the main screen each enter the terminal.
    if UI_THREAD.set(std::thread::current().id()).is_err() {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if Some(&std::thread::current().id()) == UI_THREAD.get() {
            restore_terminal();
            previous(info);
        } else {
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            tracing::error!(%thread, panic = %info, "panic outside the UI thread (contained)");
        }
    }));
}

/// Runs the terminal interface until the user quits.
pub fn run(env: &Env, no_feeds: bool, masked: bool) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("finbox's screen needs a terminal. For scripts, use the commands: `finbox --help`.");
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        bail!("this terminal (TERM=dumb) cannot show finbox's screen. Use the commands instead: `finbox --help`.");
    }
    let s = &env.settings;
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Theme::no_color()
    } else {
        Theme::from_toml_table(&s.theme)
            .map_err(|e| anyhow::anyhow!("config file {}: [theme] {e}", s.config_file.display()))?
    };
    // The state the screen starts in: the user's keys, `--mask`.
    let start = AppState { keymap: session::keymap(s)?, masked, ..AppState::new(Utc::now(), !no_feeds) };
    // Open everything that can fail before the terminal is taken over. An
    // encrypted store without FINBOX_PASSPHRASE asks for it first, on a
    // screen of its own.
    let Some(writer_store) = env.open_store_asking(|_| unlock::ask(&s.db, &theme))? else { return Ok(()) };
    let worker_store = writer_store.reopen()?;
    let supervisor_store = writer_store.reopen()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = rt.block_on(main_loop(env, theme, start, writer_store, worker_store, supervisor_store));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn main_loop(
    env: &Env,
    theme: Theme,
    start: AppState,
    writer_store: Store,
    worker_store: Store,
    supervisor_store: Store,
) -> Result<()> {
    let s = &env.settings;
    let notifier = notify::Notifier::new(s)?;
    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<Action>();
    let worker = worker::Worker::spawn(worker_store, worker::WorkerConfig::of(env), act_tx.clone());

    // Feeds: writer thread + supervisor task, stopped on quit.
    let (status_tx, mut status_rx) = watch::channel(Default::default());
    let feeds = start.feeds_enabled.then(|| {
        let clock = crate::feed::system_clock();
        session::start_feeds(env, writer_store, supervisor_store, FeedMode::Live, clock, Some(status_tx))
    });

    let mut state = start;
    state.notify = app::notify::Notify::new(s.notify.bell, notifier.is_set());
    state.simplefin_budget = (s.simplefin_budget, s.simplefin_interval_hours);
    let opts = RenderOpts { utc_offset_secs: env.utc_offset_secs };
    worker.send(Effect::Load(state.view()));

    let mut guard = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut signals = Signals::new()?;
    let exit_after_first_frame = exit_after_first_frame();
    let mut dirty = true;
    let result: Result<()> = loop {
        if dirty {
            if let Err(e) = draw(&mut guard, &mut state, &theme, &opts) {
                break Err(e);
            }
            dirty = false;
            if exit_after_first_frame && !state.loading && state.conversation.bank.is_some() {
                break Ok(());
            }
        }
        let mut actions: Vec<Action> = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    if let Some(a) = event_action(&state, ev, &guard) { actions.push(a) }
                    dirty = true; // resizes redraw too
                }
                Some(Err(e)) => break Err(e).context("cannot read the keyboard"),
                None => break Ok(()),
            },
            Some(a) = act_rx.recv() => actions.push(a),
            Ok(()) = status_rx.changed() => actions.push(Action::Feeds(status_rx.borrow_and_update().clone())),
            _ = tick.tick() => actions.push(Action::Tick(Utc::now())),
            signal = signals.recv() => {
                // `recv` has kept it for the exit status.
                tracing::info!(signal, "signal received; quitting");
                break Ok(());
            }
        }
        // Drain whatever else is queued, then draw once.
        actions.extend(std::iter::from_fn(|| act_rx.try_recv().ok()));
        dirty |= apply(&mut state, actions, &worker, &notifier, guard.terminal.backend_mut());
        if state.quit {
            break Ok(());
        }
    };
    drop(guard);
    // What the user did last (an answer to an alert) is written before
    // the process ends.
    worker.finish();
    if let Some(feeds) = feeds {
        stop_feeds(feeds).await;
    }
    result
}

/// Draws the screen; then tells the state how many rows each pane showed
/// (a page for PgUp/PgDn).
fn draw(guard: &mut TerminalGuard, state: &mut AppState, theme: &Theme, opts: &RenderOpts) -> Result<()> {
    let mut area = None;
    guard
        .terminal
        .draw(|f| {
            ui::render(f, state, theme, opts);
            area = Some(f.area());
        })
        .context("cannot draw on the terminal")?;
    if let Some(pages) = area.and_then(|a| ui::pages(a, state)).filter(|p| *p != state.pages) {
        app::update(state, Action::Viewport(pages));
    }
    Ok(())
}

/// The feeds stop (the supervisor aborts a hung one after a second), then
/// the writer drains what they queued; quitting never waits more than 8 s.
async fn stop_feeds(feeds: session::Feeds) {
    feeds.cancel.cancel();
    match tokio::time::timeout(Duration::from_secs(8), feeds.finish()).await {
        Ok(Err(e)) => tracing::error!(error = %e, "the store writer stopped with an error"),
        Err(_) => tracing::warn!("the store writer did not stop in time"),
        _ => {}
    }
}

/// For the start-up benchmark (a `test-hooks` build only): quit once the
/// first complete screen is drawn.
fn exit_after_first_frame() -> bool {
    cfg!(feature = "test-hooks") && std::env::var_os("FINBOX_EXIT_AFTER_FIRST_FRAME").is_some()
}

/// Runs the actions through `update`, carries out their effects (the bell
/// to the terminal, the notify command to its thread, the rest to the store
/// worker), and says whether the screen changed.
fn apply(
    state: &mut AppState,
    actions: Vec<Action>,
    worker: &worker::Worker,
    notifier: &notify::Notifier,
    terminal: &mut impl Write,
) -> bool {
    let mut dirty = false;
    for action in actions {
        let is_tick = matches!(action, Action::Tick(_));
        let notice = state.new_alert_notice().is_some();
        for effect in app::update(state, action) {
            match effect {
                Effect::Bell => notify::ring(terminal),
                Effect::Notify { title, body } => notifier.run(&title, &body),
                other => worker.send(other),
            }
        }
        // A tick redraws when the minute turns, a note or an answer's undo
        // time runs, or a new-alert notice's time ran out.
        dirty |= !is_tick
            || state.now.timestamp() % 60 == 0
            || state.ticking()
            || notice != state.new_alert_notice().is_some();
    }
    dirty
}

fn event_action(state: &AppState, ev: Event, guard: &TerminalGuard) -> Option<Action> {
    match ev {
        Event::Key(key) => app::handle_key(state, key),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Mouse(MouseEvent { kind, column, row, .. }) => {
            let size = guard.terminal.size().ok()?;
            let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            let (pane, item) = ui::hit_test(area, state, column, row)?;
            match kind {
                MouseEventKind::Down(MouseButton::Left) if state.overlay.is_none() => {
                    Some(Action::Click { pane, row: item })
                }
                MouseEventKind::ScrollDown if state.overlay.is_none() => Some(Action::Scroll { pane, down: true }),
                MouseEventKind::ScrollUp if state.overlay.is_none() => Some(Action::Scroll { pane, down: false }),
                _ => None,
            }
        }
        _ => None,
    }
}
