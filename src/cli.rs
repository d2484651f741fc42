//! The `finbox` command line: scriptable commands over the store, and the
//! headless feed runner.

mod args;
mod bank;
mod consent;
mod exit;
mod export;
mod feed;
mod import;
mod insights;
mod link;
mod progress;
mod receipt;
mod shell;
mod show;
mod table;

pub use args::*;
use bank::bank_id;
use consent::{consent, convert_store};
pub use exit::Status;
use feed::feed;
pub use shell::Shell;
use show::{alerts, balances, banks, messages, transactions, transfers};

use anyhow::{Result, bail};
use chrono::{DateTime, Local, Utc};
use serde_json::json;

use crate::config::Overrides;
use crate::session::Env;
use table::{Align, Table};

/// Runs a subcommand; `None` is the terminal interface.
pub fn run(cli: Cli) -> Result<()> {
    // Made from the command line alone: no settings, no store, no log.
    match &cli.command {
        Some(Command::Completions { shell }) => return shell::completions(*shell, &mut std::io::stdout().lock()),
        Some(Command::Man) => return shell::man(&mut std::io::stdout().lock()),
        _ => {}
    }
    let seed = match &cli.command {
        Some(Command::Feed(a)) => a.seed,
        _ => None,
    };
    let env = Env::load(&Overrides { db: cli.db.clone(), config: cli.config.clone(), seed }, cli.now)?;
    // The log goes beside the store: a command that makes no store leaves
    // nothing (no folder, no log) where there is none.
    table::MASK.store(cli.mask, std::sync::atomic::Ordering::Relaxed);
    progress::QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    let makes_store = cli.command.as_ref().is_none_or(Command::makes_store);
    if (makes_store || env.settings.db.try_exists().unwrap_or(true))
        && let Err(e) = crate::logging::init(&env.settings.log_file)
    {
        eprintln!("finbox: warning: cannot write the log {}: {e}", env.settings.log_file.display());
    }
    let Some(command) = &cli.command else {
        return crate::tui::run(&env, cli.no_feeds, cli.mask);
    };
    tracing::debug!(?command, "command");
    match command {
        Command::Encrypt | Command::Decrypt => convert_store(&env, command),
        Command::Paths => show_paths(&env),
        Command::CheckConfig => check_config(&env),
        Command::Feed(args) => feed(&env, args, cli.now),
        Command::Banks(f) => banks(&env, f.json),
        Command::Balances(f) => balances(&env, f.json),
        Command::Transactions(a) => transactions(&env, a),
        Command::Alerts(a) => alerts(&env, a),
        Command::Transfers(a) => transfers(&env, a),
        Command::Consent(c) => consent(&env, c),
        Command::Say { bank, message } => {
            let mut store = env.open_store()?;
            let bank = bank_id(&store, bank)?;
            let reply = store.say(&bank, &message.join(" "), env.now)?;
            let reply = crate::domain::text::clean_text(&reply, 10_000);
            println!("{}", if table::masked() { crate::domain::text::mask_figures(&reply) } else { reply });
            Ok(())
        }
        Command::Messages { bank, limit, json } => messages(&env, bank, *limit, *json),
        Command::Quarantine(f) => quarantine(&env, f.json),
        Command::Insights { json, limit } => insights::insights(&env, *json, *limit),
        Command::Rules { action, json } => insights::rules(&env, action.is_some(), *json),
        Command::Import(a) => import::run(&env, a),
        Command::Link(a) => link::link(&env, a),
        Command::Unlink { .. } => link::unlink(&env),
        Command::Sync { bank } => link::sync(&env, bank.as_deref()),
        Command::Completions { .. } | Command::Man => Ok(()),
        Command::Export { format, bank, output, no_pending } => {
            let opts = export::ExportOpts { pending: !no_pending };
            export_to(&env, *format, bank.as_deref(), output.as_deref(), opts)
        }
    }
}

/// `finbox paths`: where the store, the settings, the profiles and the log are.
fn show_paths(env: &Env) -> Result<()> {
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

/// `finbox check-config`.
fn check_config(env: &Env) -> Result<()> {
    // Loading the settings checked the file, the profiles, the keys
    // and the colours already; the layouts are read here.
    let s = &env.settings;
    let layouts = crate::import::Layouts::load(crate::config::user_layout_dir().as_deref())?;
    println!(
        "Settings are fine: {} ({}), {} bank profiles, CSV layouts: {}.",
        s.config_file.display(),
        if s.config_file_exists { "read" } else { "not present; defaults apply" },
        s.profiles.len(),
        layouts.names()
    );
    Ok(())
}

/// `finbox quarantine`: the records the store refused, with the reasons.
fn quarantine(env: &Env, json: bool) -> Result<()> {
    let store = env.open_store()?;
    let list = store.quarantine(10_000)?;
    if json {
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
    let mut t =
        Table::new(&[("WHEN", Align::Left), ("BANK", Align::Left), ("RECORD", Align::Left), ("REASON", Align::Left)]);
    for q in &list {
        t.row(vec![local(q.at), q.bank.to_string(), q.record.clone(), q.reason.clone()]);
    }
    print!("{}", t.render());
    Ok(())
}

/// `finbox export`: to a file (written whole, beside it, then renamed) or
/// to standard output.
fn export_to(
    env: &Env,
    format: export::Format,
    bank: Option<&str>,
    output: Option<&std::path::Path>,
    opts: export::ExportOpts,
) -> Result<()> {
    let store = env.open_store()?;
    let bank = bank.map(|b| bank_id(&store, b)).transpose()?;
    let n = match output {
        Some(path) => {
            if crate::store::is_store_file(&env.settings.db, path) {
                bail!(
                    "{} is finbox's own store (or one of its files); nothing was written. Export to another file.",
                    path.display()
                );
            }
            export::write_replacing(path, |out| export::export(&store, bank.as_ref(), format, opts, out))?
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            export::export(&store, bank.as_ref(), format, opts, &mut out)?
        }
    };
    eprintln!("Exported {n} transactions.");
    Ok(())
}

/// `--mask` on JSON: figures (`*_minor`) become null, amounts, numbers and
/// names placeholders.
fn mask_json(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const NAMES: &[&str] = &["merchant", "transfer_to", "text", "reason"];
    const FIGURES: &[&str] = &["amount", "balance", "mask", "card", "account_label", "name"];
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(_) if k.ends_with("_minor") => Value::Null,
                        Value::String(s) if NAMES.contains(&k.as_str()) => {
                            Value::String(if k == "merchant" || k == "transfer_to" {
                                crate::domain::text::mask_name(&s)
                            } else {
                                crate::domain::text::mask_figures(&s)
                            })
                        }
                        Value::String(s) if FIGURES.contains(&k.as_str()) => {
                            let s = if k == "amount" || k == "balance" { format!("${s}") } else { s };
                            Value::String(crate::domain::text::mask_figures(&s).trim_start_matches('$').to_string())
                        }
                        v => mask_json(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(mask_json).collect()),
        v => v,
    }
}

fn print_json(rows: Vec<serde_json::Value>) -> Result<()> {
    let rows: Vec<serde_json::Value> = if table::masked() { rows.into_iter().map(mask_json).collect() } else { rows };
    println!("{}", serde_json::to_string_pretty(&rows)?);
    Ok(())
}

/// What a listing prints for `--limit 0`: nothing (no header either), or
/// an empty JSON array.
fn print_none(json: bool) -> Result<()> {
    if json { print_json(Vec::new()) } else { Ok(()) }
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// "Feb 21, 2027", in local time.
fn local_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%b %-d, %Y").to_string()
}
