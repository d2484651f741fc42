//! The screen's store worker: a thread with its own connection that loads
//! snapshots (small windows) and carries out the user's writes, so the screen
//! never waits on the store. It watches `PRAGMA data_version` and reloads when
//! anyone else (the feed writer, another finbox process) commits. It also
//! records consents whose time is up, so an expiry shows even without feeds.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use std::collections::BTreeMap;

use crate::app::{Action, Anchor, ConversationView, Effect, SidebarView, SimplefinStatus, Snapshot, View};
use crate::app::{CONVERSATION_WINDOW, HISTORY_DAYS, MATCH_COUNT_MAX, MAX_WINDOW, REFUSED_WINDOW};
use crate::domain::money::group_thousands;
use crate::domain::{
    AccountId, Bank, BankId, BankSummary, FINBOX_THREAD, Message, MessageId, MessageKind, Sender, when,
};
use crate::store::{ConsentChange, RegisterAt, Result, Store, TxnFilter};

/// How often the worker checks whether the store changed.
pub const WATCH: Duration = Duration::from_millis(200);

pub struct Worker {
    tx: std_mpsc::Sender<Effect>,
    thread: std::thread::JoinHandle<()>,
}

/// What the worker needs from the settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub utc_offset_secs: i32,
    /// How long a grant or a renew lasts.
    pub consent_validity: chrono::Duration,
    /// How SimpleFIN banks sync (a sync now, the Feeds pane's figures).
    pub simplefin: crate::feed::simplefin::SyncConfig,
}

impl WorkerConfig {
    pub fn of(env: &crate::session::Env) -> WorkerConfig {
        WorkerConfig {
            utc_offset_secs: env.utc_offset_secs,
            consent_validity: env.settings.consent_validity(),
            simplefin: crate::session::simplefin::sync_config(&env.settings),
        }
    }
}

impl Worker {
    /// Starts the worker on `store`; results come back as actions on `out`.
    pub fn spawn(store: Store, cfg: WorkerConfig, out: mpsc::UnboundedSender<Action>) -> Worker {
        let (tx, rx) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("finbox-ui-store".into())
            .spawn(move || run(store, cfg, rx, out))
            .expect("spawning the store worker");
        Worker { tx, thread }
    }

    pub fn send(&self, effect: Effect) {
        let _ = self.tx.send(effect);
    }

    /// Carries out what was sent, then stops; waits at most 3 s (a purge
    /// under way goes on in its own transaction, committed or not).
    pub fn finish(self) {
        drop(self.tx);
        let start = std::time::Instant::now();
        while !self.thread.is_finished() && start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.thread.is_finished() && self.thread.join().is_err() {
            tracing::error!("the store worker panicked");
        }
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
        Effect::Sync(bank) => sync_now(store, &bank, now, cfg)?,
        Effect::SetScopes { bank, scopes, delete } => {
            let name = bank_name(store, &bank);
            let change = store.set_scopes(&bank, scopes, delete, now)?;
            Action::Done(if delete && change.deleted > 0 {
                format!("{name} now shares {}; {} records it stored were deleted.", change.after, change.deleted)
            } else {
                format!("{name} now shares {}.", change.after)
            })
        }
        Effect::MarkRead(bank) => {
            if bank.as_str() == FINBOX_THREAD {
                store.mark_insights_read()?;
            } else {
                store.mark_read(&bank)?;
            }
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

/// A linked bank asked for what is new, now, and what it said.
fn sync_now(store: &mut Store, bank: &BankId, now: DateTime<Utc>, cfg: &WorkerConfig) -> Result<Action> {
    use crate::session::simplefin::SyncReport;
    let name = bank_name(store, bank);
    let report = match crate::session::simplefin::sync_now(store, &cfg.simplefin, bank, now) {
        Ok(r) => r,
        Err(e) => return Ok(Action::Failed(format!("{name}: {e}"))),
    };
    Ok(match report {
        SyncReport::Synced { transactions, accounts, left } => Action::Done(format!(
            "{name} synced: {transactions} transactions over {accounts} accounts; {left} requests left today."
        )),
        SyncReport::Spent { .. } => Action::Failed(format!("{name}: today's SimpleFIN requests are spent.")),
        SyncReport::NotShared => Action::Failed(format!("{name} is not shared: nothing is asked.")),
        SyncReport::NotLinked => Action::Failed(format!("{name} is not linked: run `finbox link simplefin`.")),
        SyncReport::Failed(why) => Action::Failed(format!("{name}: the sync failed: {why}")),
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
            format!(
                "{name} is no longer shared; {} records it shared were deleted.",
                group_thousands(rows.max(0) as u64)
            )
        }
        ConsentChange::Purged { rows, .. } => format!(
            "{name} is no longer shared; {} records it shared were deleted, and the upgrade backups that held them.",
            group_thousands(rows.max(0) as u64)
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
    let mut banks = store.banks()?;
    let finbox =
        BankSummary { bank: Bank::finbox_thread(), accounts: 0, unread: store.insights_unread()?, open_alerts: 0 };
    banks.insert(0, finbox);
    let totals = store.totals()?;
    let newest = store.newest_time()?;
    let quarantined = store.quarantine_count()?;
    let chain_broken = store.chain_warning();
    let refused = if view.refused && quarantined > 0 { store.quarantine(REFUSED_WINDOW)? } else { Vec::new() };
    let alerts = store.alerts(false, 200)?;
    let answered = if view.answered { store.answered_alerts(200)? } else { Vec::new() };
    // The first bank, not finbox's thread, until the user chooses.
    let bank = view.bank.clone().or_else(|| banks.get(1).or(banks.first()).map(|b| b.bank.id.clone()));
    let Some(bank) = bank else {
        let snap = Snapshot {
            banks,
            totals,
            alerts,
            answered,
            quarantined,
            refused,
            newest,
            chain_broken,
            ..Default::default()
        };
        return Ok(snap);
    };
    let (conversation, sidebar) = if bank.as_str() == FINBOX_THREAD {
        finbox_thread(store, view, &banks)?
    } else {
        (load_conversation(store, view, &bank)?, load_sidebar(store, view, (&bank, &banks), now)?)
    };
    let links = store.simplefin_links()?;
    let simplefin = if links.is_empty() {
        None
    } else {
        let (used, _) = store.simplefin_used(now)?;
        Some(SimplefinStatus { links: links.into_iter().map(|l| (l.bank, l.last_ok, l.last_error)).collect(), used })
    };
    Ok(Snapshot {
        banks,
        totals,
        newest,
        quarantined,
        refused,
        alerts,
        answered,
        conversation,
        sidebar,
        simplefin,
        chain_broken,
        receipt: view.detail.map(|t| store.txn_receipt(t)).transpose()?,
    })
}

/// finbox's own thread: its insights as messages (oldest first), and in
/// the sidebar the transactions of the one opened (else of the newest).
fn finbox_thread(store: &Store, view: &View, banks: &[BankSummary]) -> Result<(ConversationView, SidebarView)> {
    let limit = view.messages.clamp(1, MAX_WINDOW);
    let id = Bank::finbox_thread().id;
    let insights = store.insights(limit)?;
    let messages = insights
        .iter()
        .rev()
        .map(|i| Message {
            id: MessageId(i.id),
            bank: id.clone(),
            at: i.at,
            from: Sender::System,
            kind: MessageKind::Insight,
            text: i.text.clone(),
            txn: i.transactions.last().copied(),
            alert: None,
        })
        .collect();
    let conversation = ConversationView { bank: Some(id.clone()), messages, limit, ..Default::default() };
    let opened = view.insight.and_then(|o| insights.iter().find(|i| i.id == o)).or(insights.first());
    let mut sidebar = SidebarView { limit, anchor: view.anchor, search_all: true, ..Default::default() };
    if let Some(i) = opened {
        sidebar.transactions = store.insight_transactions(i.id)?;
        sidebar.running = vec![None; sidebar.transactions.len()];
        sidebar.total = sidebar.transactions.len();
        sidebar.labels = account_labels(store, banks, &id, true)?;
        sidebar.insight = Some((i.id, i.text.lines().next().unwrap_or_default().to_string()));
    }
    Ok((conversation, sidebar))
}

/// The thread's latest messages; far enough back to hold the message about
/// `view.thread_at` when the user jumps there from an alert.
fn load_conversation(store: &Store, view: &View, bank: &BankId) -> Result<ConversationView> {
    let mut limit = view.messages.clamp(1, MAX_WINDOW);
    let mut selected = None;
    if let Some((id, newer)) = view.thread_at.map(|a| store.alert_message(bank, a)).transpose()?.flatten() {
        limit = limit.max((newer + 1 + CONVERSATION_WINDOW / 2).min(MAX_WINDOW));
        selected = Some(id);
    }
    let messages = store.messages(bank, limit, None)?;
    let selected = selected.filter(|id| messages.iter().any(|m| m.id == *id));
    Ok(ConversationView { bank: Some(bank.clone()), messages, scroll: 0, pending: None, limit, selected })
}

/// The bank's accounts, the selected account's register window (or a
/// search's matches) and its balance history.
fn load_sidebar(
    store: &Store,
    view: &View,
    (bank, banks): (&BankId, &[crate::domain::BankSummary]),
    now: DateTime<Utc>,
) -> Result<SidebarView> {
    let limit = view.transactions.clamp(1, MAX_WINDOW);
    let accounts = store.accounts(Some(bank))?;
    // A notice's transaction is shown on its own account (read once).
    let anchored = match view.anchor {
        Anchor::Txn(id) if view.search.is_none() => store.transaction(id).ok(),
        _ => None,
    };
    let txn_account = anchored.as_ref().map(|t| t.account);
    let selected_account = txn_account
        .or(view.account)
        .and_then(|id| accounts.iter().position(|a| a.id == id))
        .unwrap_or(0)
        .min(accounts.len().saturating_sub(1));
    let mut sidebar = SidebarView {
        selected_account,
        search: view.search.clone(),
        search_all: view.search_all,
        anchor: view.anchor,
        limit,
        ..Default::default()
    };
    let Some(account) = accounts.get(selected_account) else { return Ok(sidebar) };
    if let Some(q) = &view.search {
        let scope = (!view.search_all).then(|| bank.clone());
        let filter = TxnFilter { bank: scope, search: Some(q.clone()), limit, ..Default::default() };
        sidebar.transactions = store.transactions(&filter)?;
        sidebar.running = vec![None; sidebar.transactions.len()];
        sidebar.total = store.count_matches(&filter, MATCH_COUNT_MAX + 1)?;
        sidebar.labels = account_labels(store, banks, bank, view.search_all)?;
    } else {
        let at = match view.anchor {
            Anchor::Newest => RegisterAt::Newest,
            Anchor::Oldest => RegisterAt::Oldest,
            Anchor::Before(t) => RegisterAt::Before(t),
            Anchor::At(k) => RegisterAt::At { posted_at: k.posted_at, id: k.id },
            Anchor::Txn(_) => match &anchored {
                Some(t) => RegisterAt::At { posted_at: t.posted_at.timestamp(), id: t.id.0 },
                None => RegisterAt::Newest,
            },
        };
        let w = store.register(account, at, limit)?;
        sidebar.transactions = w.rows;
        sidebar.running = w.running;
        sidebar.offset = w.offset;
        sidebar.anchor_row = w.anchor_row;
        sidebar.total = account.txn_count.max(0) as usize;
    }
    let today = now.timestamp().div_euclid(86_400);
    sidebar.history = store.daily_balances(account.id, today - HISTORY_DAYS + 1, today)?;
    sidebar.accounts = accounts;
    Ok(sidebar)
}

/// "Checking •4821" for every account a search may list (with the bank's
/// name for other banks' accounts).
fn account_labels(
    store: &Store,
    banks: &[crate::domain::BankSummary],
    bank: &BankId,
    all: bool,
) -> Result<BTreeMap<AccountId, String>> {
    let accounts = store.accounts(if all { None } else { Some(bank) })?;
    let names: BTreeMap<&BankId, &str> = banks.iter().map(|b| (&b.bank.id, b.bank.name.as_str())).collect();
    Ok(accounts
        .into_iter()
        .map(|a| {
            let label = if &a.bank == bank {
                format!("{} {}", a.name, a.mask)
            } else {
                format!("{} {} {}", names.get(&a.bank).copied().unwrap_or(a.bank.as_str()), a.name, a.mask)
            };
            (a.id, label)
        })
        .collect())
}
