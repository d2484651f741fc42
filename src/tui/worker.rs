//! The screen's store worker: a thread with its own connection that loads
//! snapshots (small windows) and carries out the user's writes, so the screen
//! never waits on the store. It watches `PRAGMA data_version` and reloads when
//! anyone else (the feed writer, another finbox process) commits. It also
//! records consents whose time is up, so an expiry shows even without feeds.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::app::{Action, ConversationView, Effect, SidebarView, Snapshot, View};
use crate::app::{HISTORY_DAYS, MAX_WINDOW, REFUSED_WINDOW};
use crate::domain::{BankId, Money, when};
use crate::store::{ConsentChange, Result, Store, TxnFilter};

/// How often the worker checks whether the store changed.
pub const WATCH: Duration = Duration::from_millis(200);

pub struct Worker {
    tx: std_mpsc::Sender<Effect>,
}

/// What the worker needs from the settings.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    pub utc_offset_secs: i32,
    /// How long a grant or a renew lasts.
    pub consent_validity: chrono::Duration,
}

impl Worker {
    /// Starts the worker on `store`; results come back as actions on `out`.
    pub fn spawn(store: Store, cfg: WorkerConfig, out: mpsc::UnboundedSender<Action>) -> Worker {
        let (tx, rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("finbox-ui-store".into())
            .spawn(move || run(store, cfg, rx, out))
            .expect("spawning the store worker");
        Worker { tx }
    }

    pub fn send(&self, effect: Effect) {
        let _ = self.tx.send(effect);
    }
}

fn run(mut store: Store, cfg: WorkerConfig, rx: std_mpsc::Receiver<Effect>, out: mpsc::UnboundedSender<Action>) {
    let mut view: Option<View> = None;
    let mut version = store.data_version().unwrap_or(0);
    loop {
        let effect = match rx.recv_timeout(WATCH) {
            Ok(e) => Some(e),
            Err(std_mpsc::RecvTimeoutError::Timeout) => None,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let now = Utc::now();
        // Our own commits do not move `data_version`: an expiry recorded
        // here reloads the screen itself.
        let expired = match store.expire_due(now) {
            Ok(banks) => !banks.is_empty(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot record expired consents");
                false
            }
        };
        let action = match effect {
            Some(Effect::Load(v)) => {
                view = Some(v);
                // Coalesce a burst of loads into one.
                while let Ok(Effect::Load(v)) = rx.try_recv() {
                    view = Some(v);
                }
                load_action(&store, view.as_ref(), now)
            }
            // The bell and the notify command are the screen's own: never sent here.
            None | Some(Effect::Bell | Effect::Notify { .. }) => {
                let v = store.data_version().unwrap_or(version);
                if v == version && !expired {
                    continue;
                }
                version = v;
                load_action(&store, view.as_ref(), now)
            }
            Some(effect) => {
                let result = apply(&mut store, effect, now, &cfg, &out);
                Some(result.unwrap_or_else(|e| Action::Failed(e.to_string())))
            }
        };
        if let Some(action) = action {
            if out.send(action).is_err() {
                return;
            }
        }
    }
}

fn load_action(store: &Store, view: Option<&View>, now: DateTime<Utc>) -> Option<Action> {
    let view = view?;
    Some(match load(store, view, now) {
        Ok(snap) => Action::Loaded(Box::new(snap)),
        Err(e) => Action::Failed(format!("cannot read the store: {e}")),
    })
}

fn apply(
    store: &mut Store,
    effect: Effect,
    now: DateTime<Utc>,
    cfg: &WorkerConfig,
    out: &mpsc::UnboundedSender<Action>,
) -> Result<Action> {
    Ok(match effect {
        Effect::Load(_) | Effect::Bell | Effect::Notify { .. } => unreachable!("handled by the caller"),
        Effect::Say { bank, text } => {
            store.say(&bank, &text, now)?;
            Action::Replied { bank }
        }
        Effect::Ack { alert, verdict } => {
            let a = store.ack_alert(alert, verdict, now)?;
            let case = store.dispute_case(a.id)?;
            Action::Done(a.verdict_summary(verdict, &bank_name(store, &a.bank), case.as_deref()))
        }
        Effect::Grant(banks) => grant(store, &banks, now, cfg)?,
        Effect::Renew(bank) => {
            let name = bank_name(store, &bank);
            Action::Done(match store.renew(&bank, now, cfg.consent_validity)? {
                ConsentChange::Granted { until } => {
                    format!("{name} is shared again until {}.", when::long_date(until, when::zone(cfg.utc_offset_secs)))
                }
                ConsentChange::Renewed { until } => {
                    format!(
                        "Renewed: {name} stays shared until {}.",
                        when::long_date(until, when::zone(cfg.utc_offset_secs))
                    )
                }
                _ => format!("{name}: sharing unchanged."),
            })
        }
        Effect::Revoke { bank, purge } => revoke(store, &bank, purge, now, out)?,
        Effect::MarkRead(bank) => {
            store.mark_read(&bank)?;
            match load_action(store, Some(&View { bank: Some(bank), ..View::default() }), now) {
                // Only the counts changed; the screen's own view reloads on its next load.
                Some(Action::Loaded(snap)) => Action::Loaded(Box::new(Snapshot {
                    conversation: ConversationView { bank: None, ..Default::default() },
                    ..*snap
                })),
                Some(other) => other,
                None => Action::Tick(now),
            }
        }
    })
}

/// Shares the banks (a shared one is renewed) and says until when.
fn grant(store: &mut Store, banks: &[BankId], now: DateTime<Utc>, cfg: &WorkerConfig) -> Result<Action> {
    // A grant on a shared bank renews it.
    let (mut granted, mut renewed) = (Vec::new(), Vec::new());
    let mut last_until = None;
    for b in banks {
        match store.grant_for(b, now, cfg.consent_validity)? {
            ConsentChange::Granted { until } => {
                granted.push(bank_name(store, b));
                last_until = Some(until);
            }
            ConsentChange::Renewed { until } => {
                renewed.push(bank_name(store, b));
                last_until = Some(until);
            }
            _ => {}
        }
    }
    let until = last_until.map(|t| when::long_date(t, when::zone(cfg.utc_offset_secs))).unwrap_or_default();
    Ok(Action::Done(match (granted.is_empty(), renewed.is_empty()) {
        (false, _) => format!("Sharing {} until {until}: history arrives within seconds.", granted.join(", ")),
        (true, false) => format!("Renewed: {} stays shared until {until}.", renewed.join(", ")),
        (true, true) => "Nothing to share.".into(),
    }))
}

/// Revokes (and with `purge` deletes what the bank shared, telling the
/// screen how far it is).
fn revoke(
    store: &mut Store,
    bank: &BankId,
    purge: bool,
    now: DateTime<Utc>,
    out: &mpsc::UnboundedSender<Action>,
) -> Result<Action> {
    let name = bank_name(store, bank);
    // A purge of a large bank takes a while: the screen says how far
    // it is (a few times a second), and the feeds go on meanwhile.
    let mut said = std::time::Instant::now();
    let mut progress = |done: u64, total: u64| {
        if total > 0 && (done == 0 || said.elapsed() >= std::time::Duration::from_millis(250)) {
            said = std::time::Instant::now();
            let g = crate::domain::money::group_thousands;
            let _ = out.send(Action::Progress(format!(
                "Deleting what {name} shared: {} of {} records…",
                g(done),
                g(total)
            )));
        }
    };
    let change = store.revoke_with_progress(bank, purge, now, &mut progress)?;
    Ok(Action::Done(match change {
        ConsentChange::Purged { rows, backups_removed: 0 } => {
            format!("{name} is no longer shared; {rows} records it shared were deleted.")
        }
        ConsentChange::Purged { rows, .. } => format!(
            "{name} is no longer shared; {rows} records it shared were deleted, and the upgrade backups that held them."
        ),
        ConsentChange::AlreadyRevoked => format!("{name} was not shared."),
        _ => format!("{name} is no longer shared; it delivers nothing more."),
    }))
}

/// "Feb 21, 2027" in the user's time zone.
fn bank_name(store: &Store, bank: &BankId) -> String {
    store.bank(bank).map(|b| b.name).unwrap_or_else(|_| bank.to_string())
}

/// Loads everything the screen shows for `view`: small windows only.
pub fn load(store: &Store, view: &View, now: DateTime<Utc>) -> Result<Snapshot> {
    let banks = store.banks()?;
    let totals = store.totals()?;
    let newest = store.newest_time()?;
    let quarantined = store.quarantine_count()?;
    let refused = if view.refused && quarantined > 0 { store.quarantine(REFUSED_WINDOW)? } else { Vec::new() };
    let alerts = store.alerts(false, 200)?;
    let bank = view.bank.clone().or_else(|| banks.first().map(|b| b.bank.id.clone()));
    let Some(bank) = bank else {
        return Ok(Snapshot { banks, totals, alerts, quarantined, refused, newest, ..Default::default() });
    };
    let (message_limit, txn_limit) = (view.messages.clamp(1, MAX_WINDOW), view.transactions.clamp(1, MAX_WINDOW));
    let messages = store.messages(&bank, message_limit, None)?;
    let accounts = store.accounts(Some(&bank))?;
    let selected_account = view
        .account
        .and_then(|id| accounts.iter().position(|a| a.id == id))
        .unwrap_or(0)
        .min(accounts.len().saturating_sub(1));
    let mut sidebar =
        SidebarView { selected_account, search: view.search.clone(), limit: txn_limit, ..Default::default() };
    if let Some(account) = accounts.get(selected_account) {
        let filter = match &view.search {
            Some(q) => {
                TxnFilter { bank: Some(bank.clone()), search: Some(q.clone()), limit: txn_limit, ..Default::default() }
            }
            None => TxnFilter { account: Some(account.id), limit: txn_limit, ..Default::default() },
        };
        sidebar.transactions = store.transactions(&filter)?;
        sidebar.running = if view.search.is_none() {
            running_balances(account.balance, &sidebar.transactions)
        } else {
            vec![None; sidebar.transactions.len()]
        };
        let today = now.timestamp().div_euclid(86_400);
        sidebar.history = store.daily_balances(account.id, today - HISTORY_DAYS + 1, today)?;
    }
    sidebar.accounts = accounts;
    Ok(Snapshot {
        banks,
        totals,
        newest,
        quarantined,
        refused,
        alerts,
        conversation: ConversationView { bank: Some(bank), messages, scroll: 0, pending: None, limit: message_limit },
        sidebar,
    })
}

/// The balance after each transaction, newest first, walking back from the
/// current balance. `None` once the sum would overflow.
/// The ledger balance after each posted transaction, newest first (a
/// pending one has none: it moves only what is available).
fn running_balances(current: Money, txns: &[crate::domain::Transaction]) -> Vec<Option<Money>> {
    let mut out = Vec::with_capacity(txns.len());
    let mut bal = Some(current.minor);
    for t in txns {
        if t.is_pending() {
            out.push(None);
            continue;
        }
        out.push(bal.map(|b| Money::new(b, current.currency)));
        bal = bal.and_then(|b| b.checked_sub(t.amount.minor));
    }
    out
}
