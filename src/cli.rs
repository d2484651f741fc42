//! The `finbox` command line: scriptable commands over the store, and the
//! headless feed runner.

mod export;
mod import;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{DateTime, Local, Utc};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use std::io::IsTerminal;

use crate::config::Overrides;
use crate::domain::*;
use crate::feed::FeedMode;
use crate::feed::supervisor;
use crate::session::{self, Env, Signals};
use crate::store::{ConsentChange, Direction, PASSPHRASE_ENV, Passphrase, Store, TxnFilter};
use table::{Align, Table};

#[derive(Debug, Parser)]
#[command(name = "finbox", version, about = "A local-first personal-finance inbox for the terminal.")]
#[command(after_help = "Run `finbox` with no command for the terminal interface.\n\
Data: --db PATH or FINBOX_DB (default: the data directory, see `finbox paths`).")]
pub struct Cli {
    /// The store file (default: finbox.db in the data directory).
    #[arg(long, global = true, env = "FINBOX_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The settings file (default: config.toml in the config directory).
    #[arg(long, global = true, env = "FINBOX_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Pretend it is this time (RFC 3339), for reproducible scripts and tests.
    #[arg(long, global = true, env = "FINBOX_NOW", hide = true, value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// With no command: open the screen without running the bank feeds.
    #[arg(long)]
    pub no_feeds: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bank feeds without the screen and print a summary.
    Feed(FeedArgs),
    /// List the banks and whether each is shared.
    Banks(JsonFlag),
    /// Account balances of the shared banks, with totals per currency.
    Balances(JsonFlag),
    /// Transactions, newest first.
    Transactions(TxnArgs),
    /// Open fraud alerts, most severe and newest first; or `alerts ack`.
    Alerts(AlertsArgs),
    /// Grant, renew or revoke sharing per bank, or show the consent log.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// Send a message to a bank and print its reply.
    Say {
        /// The bank id (`finbox banks` lists them).
        bank: String,
        /// What to say, e.g. "balance", "recent", "spending", "freeze card".
        #[arg(required = true, num_args = 1..)]
        message: Vec<String>,
    },
    /// A bank's conversation, oldest first.
    Messages {
        bank: String,
        /// How many of the latest messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Every transaction, oldest first, as CSV, JSON or a ledger journal.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: export::Format,
        /// Only this bank.
        #[arg(long)]
        bank: Option<String>,
        /// Write to this file (created readable by you only) instead of stdout.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Import a bank statement: OFX/QFX (1.x or 2.x) or a CSV export.
    Import(import::ImportArgs),
    /// Records a feed delivered that finbox refused, with the reasons.
    Quarantine(JsonFlag),
    /// Encrypt the store in place (SQLCipher). The passphrase comes from
    /// FINBOX_PASSPHRASE, or is asked for twice on the terminal.
    Encrypt,
    /// Decrypt the store in place, back to a plain SQLite file.
    Decrypt,
    /// Show where finbox keeps its data, settings and log.
    Paths,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    /// Seed of the simulated banks (default: from the settings, 2018).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Produce N events as fast as the store takes them, then stop.
    #[arg(long, conflicts_with = "duration")]
    pub events: Option<u64>,
    /// Run in real time for SECS seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TxnArgs {
    #[arg(long)]
    pub bank: Option<String>,
    /// An account id as `finbox balances` shows it.
    #[arg(long)]
    pub account: Option<String>,
    /// Words to find in the merchant or category.
    #[arg(long)]
    pub search: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub action: Option<AlertsCmd>,
    /// Include decided alerts.
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// Answer an alert: it was you (legit), or not you (fraud: freezes the card).
    Ack {
        id: i64,
        #[arg(long, conflicts_with = "not_me", required_unless_present = "not_me")]
        it_was_me: bool,
        #[arg(long)]
        not_me: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsentCmd {
    /// Start sharing a bank (or every bank) with finbox, for `[consent] days`
    /// (90 by default); on a shared bank, renew it.
    Grant {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        bank: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Extend sharing of a shared bank (or share again one whose consent
    /// expired) for another `[consent] days`; --all: every such bank.
    Renew {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        bank: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Stop sharing a bank; --purge also deletes everything it shared.
    Revoke {
        bank: String,
        #[arg(long)]
        purge: bool,
    },
    /// Every consent change, oldest first.
    Log(JsonFlag),
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|d| d.to_utc()).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

/// Runs a subcommand; `None` is the terminal interface.
pub fn run(cli: Cli) -> Result<()> {
    let seed = match &cli.command {
        Some(Command::Feed(a)) => a.seed,
        _ => None,
    };
    let env = Env::load(&Overrides { db: cli.db.clone(), config: cli.config.clone(), seed }, cli.now)?;
    if let Err(e) = crate::logging::init(&env.settings.log_file) {
        eprintln!("finbox: warning: cannot write the log {}: {e}", env.settings.log_file.display());
    }
    let Some(command) = &cli.command else {
        return crate::tui::run(&env, cli.no_feeds);
    };
    tracing::debug!(?command, "command");
    match command {
        Command::Encrypt | Command::Decrypt => convert_store(&env, command),
        Command::Paths => {
            let s = &env.settings;
            println!("store      {}", s.db.display());
            println!(
                "settings   {}{}",
                s.config_file.display(),
                if s.config_file_exists { "" } else { " (not present; defaults apply)" }
            );
            println!("profiles   {}", s.banks_dir.display());
            println!("log        {}", s.log_file.display());
            Ok(())
        }
        Command::Feed(args) => feed(&env, args, cli.now),
        Command::Banks(f) => banks(&env, f.json),
        Command::Balances(f) => balances(&env, f.json),
        Command::Transactions(a) => transactions(&env, a),
        Command::Alerts(a) => alerts(&env, a),
        Command::Consent(c) => consent(&env, c),
        Command::Say { bank, message } => {
            let mut store = env.open_store()?;
            let bank = bank_id(&store, bank)?;
            let reply = store.say(&bank, &message.join(" "), env.now)?;
            println!("{}", crate::domain::text::clean_text(&reply, 10_000));
            Ok(())
        }
        Command::Messages { bank, limit, json } => messages(&env, bank, *limit, *json),
        Command::Quarantine(f) => {
            let store = env.open_store()?;
            let list = store.quarantine(10_000)?;
            if f.json {
                return print_json(
                    list.iter()
                        .map(|q| json!({"bank": q.bank, "at": q.at.to_rfc3339(), "record": q.record, "reason": q.reason}))
                        .collect(),
                );
            }
            if list.is_empty() {
                println!("Nothing refused: every record the banks delivered was stored.");
                return Ok(());
            }
            let mut t = Table::new(&[
                ("WHEN", Align::Left),
                ("BANK", Align::Left),
                ("RECORD", Align::Left),
                ("REASON", Align::Left),
            ]);
            for q in &list {
                t.row(vec![local(q.at), q.bank.to_string(), q.record.clone(), q.reason.clone()]);
            }
            print!("{}", t.render());
            Ok(())
        }
        Command::Import(a) => import::run(&env, a),
        Command::Export { format, bank, output } => {
            let store = env.open_store()?;
            let bank = bank.as_deref().map(|b| bank_id(&store, b)).transpose()?;
            let n = match output {
                Some(path) => {
                    if crate::store::is_store_file(&env.settings.db, path) {
                        bail!(
                            "{} is finbox's own store (or one of its files); nothing was written. Export to another file.",
                            path.display()
                        );
                    }
                    export::write_replacing(path, |out| export::export(&store, bank.as_ref(), *format, out))?
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut out = std::io::BufWriter::new(stdout.lock());
                    export::export(&store, bank.as_ref(), *format, &mut out)?
                }
            };
            eprintln!("Exported {n} transactions.");
            Ok(())
        }
    }
}

/// Validates a bank id given on the command line against the store.
fn bank_id(store: &Store, id: &str) -> Result<BankId> {
    Ok(store.bank(id)?.id)
}

fn print_json(rows: Vec<serde_json::Value>) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&rows)?);
    Ok(())
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// "Feb 21, 2027", in local time.
fn local_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%b %-d, %Y").to_string()
}

fn banks(env: &Env, json: bool) -> Result<()> {
    let store = env.open_store()?;
    let banks = store.banks()?;
    if json {
        return print_json(
            banks
                .iter()
                .map(|b| {
                    json!({
                        "id": b.bank.id, "name": b.bank.name, "consent": b.bank.consent.as_str(),
                        "consent_changed_at": b.bank.consent_changed_at.map(|t| t.to_rfc3339()),
                        "consent_expires_at": b.bank.consent_expires_at.map(|t| t.to_rfc3339()),
                        "expired": matches!(b.bank.sharing(env.now), Sharing::Expired { .. }),
                        "feed": b.bank.feed_kind, "accounts": b.accounts, "unread": b.unread,
                        "open_alerts": b.open_alerts,
                    })
                })
                .collect(),
        );
    }
    let mut t = Table::new(&[
        ("ID", Align::Left),
        ("BANK", Align::Left),
        ("SHARING", Align::Left),
        ("UNTIL", Align::Left),
        ("ACCOUNTS", Align::Right),
        ("UNREAD", Align::Right),
        ("ALERTS", Align::Right),
    ]);
    let mut notes = Vec::new();
    for b in &banks {
        let (sharing, until) = match b.bank.sharing(env.now) {
            Sharing::Shared { until } => ("shared", until.map(local_date).unwrap_or_default()),
            Sharing::Expired { on } => {
                notes.push(format!(
                    "Sharing with {} expired on {}; renew it with `finbox consent renew {}`.",
                    b.bank.name,
                    local_date(on),
                    b.bank.id
                ));
                ("expired", local_date(on))
            }
            Sharing::NotShared => ("not shared", String::new()),
        };
        if let Some(days) = b.bank.renew_soon(env.now, crate::domain::when::zone(env.utc_offset_secs)) {
            let when = match days {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                n => format!("in {n} days"),
            };
            notes.push(format!(
                "Sharing with {} ends {when}, on {}; renew it with `finbox consent renew {}`.",
                b.bank.name, until, b.bank.id
            ));
        }
        t.row(vec![
            b.bank.id.to_string(),
            b.bank.name.clone(),
            sharing.to_string(),
            until,
            b.accounts.to_string(),
            b.unread.to_string(),
            b.open_alerts.to_string(),
        ]);
    }
    print!("{}", t.render());
    if banks.iter().all(|b| b.bank.sharing(env.now) == Sharing::NotShared) {
        println!(
            "\nNo bank is shared yet. Share one with `finbox consent grant chase`, or all with `finbox consent grant --all`."
        );
    }
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    Ok(())
}

fn balances(env: &Env, json: bool) -> Result<()> {
    let store = env.open_store()?;
    let shared: Vec<BankId> =
        store.banks()?.into_iter().filter(|b| b.bank.consent == ConsentState::Granted).map(|b| b.bank.id).collect();
    let accounts: Vec<Account> = store.accounts(None)?.into_iter().filter(|a| shared.contains(&a.bank)).collect();
    if json {
        return print_json(
            accounts
                .iter()
                .map(|a| {
                    json!({
                        "bank": a.bank, "account": a.external_id, "name": a.name, "kind": a.kind.as_str(),
                        "mask": a.mask, "currency": a.balance.currency, "balance_minor": a.balance.minor,
                        "opening_minor": a.opening.minor,
                        "balance": a.balance.to_decimal_string(), "transactions": a.txn_count,
                    })
                })
                .collect(),
        );
    }
    if accounts.is_empty() {
        println!("No balances yet: share a bank (`finbox consent grant --all`) and let its feed run (`finbox feed`).");
        return Ok(());
    }
    let mut t = Table::new(&[
        ("BANK", Align::Left),
        ("ACCOUNT", Align::Left),
        ("NAME", Align::Left),
        ("KIND", Align::Left),
        ("BALANCE", Align::Right),
    ]);
    for a in &accounts {
        t.row(vec![
            a.bank.to_string(),
            a.external_id.clone(),
            format!("{} {}", a.name, a.mask),
            a.kind.to_string(),
            a.balance.to_string(),
        ]);
    }
    for total in store.totals()? {
        t.row(vec!["".into(), "".into(), format!("Total {}", total.currency), "".into(), total.to_string()]);
    }
    print!("{}", t.render());
    Ok(())
}

fn transactions(env: &Env, a: &TxnArgs) -> Result<()> {
    let store = env.open_store()?;
    let bank = a.bank.as_deref().map(|b| bank_id(&store, b)).transpose()?;
    let account = a.account.as_deref().map(|k| store.find_account(bank.as_ref(), k)).transpose()?;
    let txns = store.transactions(&TxnFilter {
        bank,
        account: account.map(|a| a.id),
        search: a.search.clone(),
        before: None,
        limit: a.limit.clamp(1, 100_000),
    })?;
    if a.json {
        return print_json(
            txns.iter()
                .map(|t| {
                    json!({
                        "id": t.id, "bank": t.bank, "account": t.account_external_id, "external_id": t.external_id,
                        "posted_at": t.posted_at.to_rfc3339(), "amount_minor": t.amount.minor,
                        "currency": t.amount.currency, "amount": t.amount.to_decimal_string(),
                        "merchant": t.merchant, "category": t.category, "channel": t.channel.as_str(),
                        "country": t.country,
                    })
                })
                .collect(),
        );
    }
    if txns.is_empty() {
        println!("No transactions match.");
        return Ok(());
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("POSTED", Align::Left),
        ("BANK", Align::Left),
        ("ACCOUNT", Align::Left),
        ("AMOUNT", Align::Right),
        ("CATEGORY", Align::Left),
        ("MERCHANT", Align::Left),
    ]);
    for x in &txns {
        t.row(vec![
            x.id.to_string(),
            local(x.posted_at),
            x.bank.to_string(),
            x.account_external_id.clone(),
            x.amount.to_string(),
            x.category.clone(),
            x.merchant.clone(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

fn alert_json(a: &FraudAlert) -> serde_json::Value {
    json!({
        "id": a.id, "bank": a.bank, "account": a.account_external_id, "txn": a.txn, "reason": a.reason,
        "severity": a.severity.as_str(), "status": a.status.as_str(), "created_at": a.created_at.to_rfc3339(),
        "decided_at": a.decided_at.map(|t| t.to_rfc3339()), "merchant": a.merchant,
        "amount_minor": a.amount.minor, "currency": a.amount.currency, "card": a.card_mask,
    })
}

fn alerts(env: &Env, a: &AlertsArgs) -> Result<()> {
    let mut store = env.open_store()?;
    if let Some(AlertsCmd::Ack { id, it_was_me: _, not_me }) = &a.action {
        let verdict = if *not_me { Verdict::NotMe } else { Verdict::ItWasMe };
        let alert = store.ack_alert(AlertId(*id), verdict, env.now)?;
        let card = alert.card_mask.clone().unwrap_or_else(|| "its card".into());
        match verdict {
            Verdict::ItWasMe => {
                println!("Alert {} closed: the {} charge at {} was you.", alert.id, alert.amount.abs(), alert.merchant)
            }
            Verdict::NotMe => {
                let bank = store.bank(alert.bank.as_str())?.name;
                println!(
                    "Alert {} marked as fraud: the {} charge at {}. Card {card} is frozen; {bank} confirmed it in its conversation.",
                    alert.id,
                    alert.amount.abs(),
                    alert.merchant,
                )
            }
        }
        return Ok(());
    }
    let list = store.alerts(a.all, 10_000)?;
    if a.json {
        return print_json(list.iter().map(alert_json).collect());
    }
    if list.is_empty() {
        println!("{}", if a.all { "No fraud alerts." } else { "No open fraud alerts." });
        return Ok(());
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("SEVERITY", Align::Left),
        ("STATUS", Align::Left),
        ("WHEN", Align::Left),
        ("BANK", Align::Left),
        ("CARD", Align::Left),
        ("AMOUNT", Align::Right),
        ("MERCHANT", Align::Left),
        ("REASON", Align::Left),
    ]);
    for x in &list {
        t.row(vec![
            x.id.to_string(),
            x.severity.to_string(),
            x.status.to_string(),
            local(x.posted_at),
            x.bank.to_string(),
            x.card_mask.clone().unwrap_or_default(),
            x.amount.to_string(),
            x.merchant.clone(),
            x.reason.clone(),
        ]);
    }
    print!("{}", t.render());
    if !a.all {
        println!("\nAnswer with `finbox alerts ack ID --it-was-me` or `--not-me` (freezes the card).");
    }
    Ok(())
}

fn consent(env: &Env, c: &ConsentCmd) -> Result<()> {
    let mut store = env.open_store()?;
    match c {
        ConsentCmd::Grant { bank, all } => {
            let ids: Vec<BankId> = if *all {
                store.banks()?.into_iter().map(|b| b.bank.id).collect()
            } else {
                vec![bank_id(&store, bank.as_deref().unwrap_or_default())?]
            };
            for id in ids {
                let name = store.bank(id.as_str())?.name;
                match store.grant_for(&id, env.now, env.settings.consent_validity())? {
                    ConsentChange::Renewed { until } => {
                        println!("{name} ({id}) was already shared; renewed: it is shared until {}.", local_date(until))
                    }
                    ConsentChange::Granted { until } => println!(
                        "{name} ({id}) is shared until {}. Its feed delivers when finbox runs (`finbox` or `finbox feed`).",
                        local_date(until)
                    ),
                    other => unreachable!("a grant never yields {other:?}"),
                }
            }
        }
        ConsentCmd::Renew { bank, all } => {
            let ids: Vec<BankId> = if *all {
                let banks = store.banks()?.into_iter();
                banks.filter(|b| b.bank.sharing(env.now) != Sharing::NotShared).map(|b| b.bank.id).collect()
            } else {
                vec![bank_id(&store, bank.as_deref().unwrap_or_default())?]
            };
            if ids.is_empty() {
                println!(
                    "No bank is shared, so there is nothing to renew. Share one with `finbox consent grant BANK`."
                );
            }
            for id in ids {
                let name = store.bank(id.as_str())?.name;
                match store.renew(&id, env.now, env.settings.consent_validity())? {
                    ConsentChange::Renewed { until } => {
                        println!("{name} ({id}) is shared until {}.", local_date(until))
                    }
                    ConsentChange::Granted { until } => println!(
                        "{name} ({id}) is shared again, until {}. Its feed delivers when finbox runs (`finbox` or `finbox feed`).",
                        local_date(until)
                    ),
                    other => unreachable!("a renew never yields {other:?}"),
                }
            }
        }
        ConsentCmd::Revoke { bank, purge } => {
            let id = bank_id(&store, bank)?;
            let name = store.bank(id.as_str())?.name;
            // A long purge says how far it is, on a terminal.
            let shown = std::io::stderr().is_terminal();
            let mut said: Option<Instant> = None;
            let mut progress = |done: u64, total: u64| {
                if shown && total > 0 && said.is_none_or(|t| t.elapsed() >= Duration::from_millis(250) || done == total)
                {
                    said = Some(Instant::now());
                    let g = crate::domain::money::group_thousands;
                    eprint!("\rDeleting what {name} shared: {} of {} records…", g(done), g(total));
                    if done == total {
                        eprintln!();
                    }
                }
            };
            let change = store.revoke_with_progress(&id, *purge, env.now, &mut progress)?;
            match change {
                ConsentChange::AlreadyRevoked => println!("{name} ({id}) was not shared; nothing changed."),
                ConsentChange::Purged { rows, backups_removed } => {
                    println!(
                        "{name} ({id}) is no longer shared, and the {rows} records it shared are deleted. The consent log keeps the change."
                    );
                    if backups_removed > 0 {
                        println!(
                            "The {backups_removed} backup(s) finbox kept before schema upgrades held them too and were removed."
                        );
                    }
                }
                _ => println!(
                    "{name} ({id}) is no longer shared; its feed stops within a second. What it shared stays until you purge it (`finbox consent revoke {id} --purge`)."
                ),
            }
        }
        ConsentCmd::Log(f) => {
            let log = store.consent_log(None)?;
            if f.json {
                return print_json(
                    log.iter()
                        .map(|e| json!({"bank": e.bank, "action": e.action.as_str(), "at": e.at.to_rfc3339(), "detail": e.detail}))
                        .collect(),
                );
            }
            if log.is_empty() {
                println!("No consent changes yet.");
                return Ok(());
            }
            let mut t = Table::new(&[
                ("WHEN", Align::Left),
                ("BANK", Align::Left),
                ("ACTION", Align::Left),
                ("DETAIL", Align::Left),
            ]);
            for e in &log {
                t.row(vec![local(e.at), e.bank.to_string(), e.action.to_string(), e.detail.clone()]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}

fn messages(env: &Env, bank: &str, limit: usize, json: bool) -> Result<()> {
    let mut store = env.open_store()?;
    let id = bank_id(&store, bank)?;
    let msgs = store.messages(&id, limit.clamp(1, 100_000), None)?;
    if json {
        return print_json(
            msgs.iter()
                .map(|m| {
                    json!({"id": m.id, "from": m.from.as_str(), "kind": m.kind.as_str(), "text": m.text,
                           "at": m.at.to_rfc3339(), "alert": m.alert})
                })
                .collect(),
        );
    }
    if msgs.is_empty() {
        println!("No messages from {id} yet.");
    }
    let open: std::collections::HashSet<AlertId> = store.alerts(false, 100_000)?.into_iter().map(|a| a.id).collect();
    for m in &msgs {
        let who = match m.from {
            Sender::Bank => id.as_str(),
            Sender::User => "you",
            Sender::System => "finbox",
        };
        let text = crate::domain::text::clean_text(&m.text, 10_000).replace('\n', "\n    ");
        println!("[{}] {who}: {text}", local(m.at));
        // The store keeps no commands in its text: how to answer an alert
        // is added here.
        if let Some(alert) = m.alert.filter(|a| open.contains(a)) {
            println!("    (answer it: finbox alerts ack {alert} --it-was-me, or --not-me)");
        }
    }
    store.mark_read(&id)?;
    Ok(())
}

fn feed(env: &Env, args: &FeedArgs, cli_now: Option<DateTime<Utc>>) -> Result<()> {
    let s = &env.settings;
    let store = env.open_store()?;
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
        feeds.finish().await
    })?;
    drop(rt);
    let elapsed = started.elapsed();
    let mut t = Table::new(&[("BANK", Align::Left), ("EVENTS", Align::Right), ("FEED FAILURES", Align::Right)]);
    let mut total_events = 0;
    for b in &shared {
        let tally = tallies.get(&b.id).cloned().unwrap_or_default();
        total_events += tally.events;
        t.row(vec![format!("{} ({})", b.name, b.id), tally.events.to_string(), tally.failures.to_string()]);
    }
    print!("{}", t.render());
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "\n{total_events} events in {:.1} s ({:.0} events/s): {} new transactions, {} messages, {} fraud alerts, {} new accounts; \
         {} already stored, {} dropped (not shared), {} rejected.",
        secs,
        total_events as f64 / secs,
        report.transactions,
        report.messages,
        report.alerts,
        report.accounts,
        report.duplicates,
        report.dropped_no_consent,
        report.rejected.len()
    );
    for r in report.rejected.iter().take(10) {
        println!("  rejected {} from {}: {}", r.record, r.bank, r.reason);
    }
    Ok(())
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

/// `finbox encrypt` / `finbox decrypt`: converts the store in place.
fn convert_store(env: &Env, command: &Command) -> Result<()> {
    let db = &env.settings.db;
    let direction = if matches!(command, Command::Encrypt) { Direction::Encrypt } else { Direction::Decrypt };
    // Say what cannot be done before asking for a passphrase.
    crate::store::check_convertible(db, direction)?;
    let pass = match (&env.key, direction) {
        (Some(k), _) => k.clone(),
        (None, _) if !std::io::stdin().is_terminal() => {
            bail!("give the passphrase in {PASSPHRASE_ENV} (there is no terminal to ask on)")
        }
        (None, Direction::Encrypt) => {
            let first = rpassword::prompt_password("New passphrase: ")?;
            let again = rpassword::prompt_password("The same again: ")?;
            if first != again {
                bail!("the two passphrases differ; nothing was changed");
            }
            Passphrase::new(first).map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?
        }
        (None, Direction::Decrypt) => Passphrase::new(rpassword::prompt_password("Passphrase: ")?)
            .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?,
    };
    let rows = crate::store::convert(db, direction, &pass)?;
    if direction == Direction::Encrypt {
        for file in crate::store::remove_backups(db) {
            println!("Removed {}: a backup from before a schema upgrade, not encrypted.", file.display());
        }
    }
    match direction {
        Direction::Encrypt => println!(
            "Encrypted {} ({rows} rows). finbox will ask for the passphrase at start; scripts give it in {PASSPHRASE_ENV}. \
             Keep it safe: without it the store cannot be read.",
            db.display()
        ),
        Direction::Decrypt => println!("Decrypted {} ({rows} rows): it is a plain SQLite file again.", db.display()),
    }
    Ok(())
}
