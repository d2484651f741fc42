//! `finbox consent …` and `finbox encrypt` / `decrypt`: sharing, and the store's encryption.

use anyhow::{Result, bail};
use serde_json::json;
use std::io::IsTerminal;

use super::table::{Align, Table};
use super::*;
use crate::domain::text;
use crate::domain::*;
use crate::session::Env;
use crate::store::{ChainReport, ConsentChange, Direction, PASSPHRASE_ENV, Passphrase, Store};

pub(super) fn consent(env: &Env, c: &ConsentCmd) -> Result<()> {
    // Sharing a bank is what starts a store; the rest needs one there.
    let mut store = match c {
        ConsentCmd::Grant { .. } => env.open_or_create_store()?,
        _ => env.open_store()?,
    };
    match c {
        ConsentCmd::Grant { bank, all, scopes } => {
            let scopes = scopes.as_deref().map(Scopes::parse).transpose().map_err(anyhow::Error::msg)?;
            grant(env, &mut store, bank.as_deref(), *all, scopes)
        }
        ConsentCmd::Scopes { bank, list, delete } => set_scopes(env, &mut store, bank, list.as_deref(), *delete),
        ConsentCmd::Renew { bank, all } => renew(env, &mut store, bank.as_deref(), *all),
        ConsentCmd::Revoke { bank, purge } => revoke(env, &mut store, bank, *purge),
        ConsentCmd::Log(f) => consent_log(&store, f.json),
        ConsentCmd::Show { bank, json } => super::receipt::show(env, &store, bank, *json),
        ConsentCmd::Verify => verify(&store),
    }
}

/// `finbox consent verify`: walks the hash chain; a break is an error
/// (status 1) naming the first entry changed.
fn verify(store: &Store) -> Result<()> {
    match store.verify_chain()? {
        ChainReport::Ok { entries, first, last } => {
            let n = crate::domain::money::group_thousands(entries);
            let s = if entries == 1 { "y" } else { "ies" };
            match (first, last) {
                (Some(a), Some(b)) => {
                    println!("The log is whole: {n} entr{s}, from {} to {}.", local_date(a), local_date(b))
                }
                _ => println!("The log is whole: {n} entr{s}."),
            }
            Ok(())
        }
        ChainReport::Broken { at_seq, why, entry } => {
            let what = entry.map(|e| {
                let bank = e.bank.map(|b| format!(" {b}")).unwrap_or_default();
                let detail = if e.detail.is_empty() { String::new() } else { format!(": {}", e.detail) };
                let text = format!("{}{bank}, {}{detail}", e.kind, local(e.at));
                format!(" ({})", text::clean_line(&text, 80))
            });
            bail!(
                "The log was changed at entry {at_seq}{}: {why}. finbox did not write this: \
                 if you did not edit the store yourself, keep a copy of it and restore a backup.",
                what.unwrap_or_default()
            )
        }
    }
}

fn grant(env: &Env, store: &mut Store, bank: Option<&str>, all: bool, scopes: Option<Scopes>) -> Result<()> {
    let ids: Vec<BankId> = if all {
        store.banks()?.into_iter().map(|b| b.bank.id).collect()
    } else {
        vec![bank_id(store, bank.unwrap_or_default())?]
    };
    for id in ids {
        let name = store.bank(&id)?.name;
        if let Some(scopes) = scopes {
            store.set_scopes(&id, scopes, false, env.now)?;
        }
        let shares = store.scopes(&id)?;
        match store.grant_for(&id, env.now, env.settings.consent_validity())? {
            ConsentChange::Renewed { until } => {
                println!("{name} ({id}) was already shared; renewed: it is shared until {}.", local_date(until))
            }
            ConsentChange::Granted { until } => println!(
                "{name} ({id}) is shared until {}. It shares {shares}; its feed delivers when finbox runs (`finbox` or \
                 `finbox feed`).",
                local_date(until)
            ),
            other => unreachable!("a grant never yields {other:?}"),
        }
    }
    Ok(())
}

/// Prints a bank's scopes, or sets them (deleting what the scopes taken
/// away stored, with `delete`).
fn set_scopes(env: &Env, store: &mut Store, bank: &str, list: Option<&str>, delete: bool) -> Result<()> {
    let id = bank_id(store, bank)?;
    let name = store.bank(&id)?.name;
    let Some(list) = list else {
        let now = store.scopes(&id)?;
        println!("{name} ({id}) may share: {now}.");
        let off: Vec<&str> = Scope::ALL.iter().filter(|s| !now.contains(**s)).map(|s| s.name()).collect();
        if !off.is_empty() {
            println!("Not shared: {}. `finbox consent scopes {id} LIST` changes it.", off.join(", "));
        }
        return Ok(());
    };
    let scopes = Scopes::parse(list).map_err(anyhow::Error::msg)?;
    let change = store.set_scopes(&id, scopes, delete, env.now)?;
    let removed = change.before.removed_in(change.after);
    println!("{name} ({id}) now shares {}.", change.after);
    if !removed.is_empty() {
        let what = Scopes::of(&removed);
        if delete {
            println!("Deleted {} records it shared under {what}.", change.deleted);
        } else {
            println!("What it shared under {what} stays; `finbox consent scopes {id} {list} --delete` deletes it.");
        }
    }
    Ok(())
}

fn renew(env: &Env, store: &mut Store, bank: Option<&str>, all: bool) -> Result<()> {
    let ids: Vec<BankId> = if all {
        let banks = store.banks()?.into_iter();
        banks.filter(|b| b.bank.sharing(env.now) != Sharing::NotShared).map(|b| b.bank.id).collect()
    } else {
        vec![bank_id(store, bank.unwrap_or_default())?]
    };
    if ids.is_empty() {
        println!("No bank is shared, so there is nothing to renew. Share one with `finbox consent grant BANK`.");
    }
    for id in ids {
        let name = store.bank(&id)?.name;
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
    Ok(())
}

/// Revoke (and with `purge`, delete what the bank shared, saying how far
/// it is on a terminal).
fn revoke(env: &Env, store: &mut Store, bank: &str, purge: bool) -> Result<()> {
    let id = bank_id(store, bank)?;
    let name = store.bank(&id)?.name;
    // A long purge says how far it is (a bar on a terminal, unless --quiet).
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut progress = |done: u64, total: u64| {
        let b = bar.get_or_insert_with(|| super::progress::bar(Some(total), "records deleted"));
        b.set_position(done);
    };
    let change = store.revoke_with_progress(&id, purge, env.now, &mut progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
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
    Ok(())
}

fn consent_log(store: &Store, json: bool) -> Result<()> {
    let log = store.consent_log(None)?;
    if json {
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
    let mut t =
        Table::new(&[("WHEN", Align::Left), ("BANK", Align::Left), ("ACTION", Align::Left), ("DETAIL", Align::Left)]);
    for e in &log {
        t.row(vec![local(e.at), e.bank.to_string(), e.action.to_string(), e.detail.clone()]);
    }
    print!("{}", t.render());
    Ok(())
}

/// `finbox encrypt` / `finbox decrypt`: converts the store in place.
pub(super) fn convert_store(env: &Env, command: &Command) -> Result<()> {
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
    // SQLCipher copies the store in one statement: a spinner with the time
    // it has taken, since no count of pages is reported along the way.
    let what = if direction == Direction::Encrypt { "encrypting" } else { "decrypting" };
    let spin = super::progress::spinner(&format!("{what} the store (copying every page, then checking the copy)"));
    let rows = crate::store::convert(db, direction, &pass);
    spin.finish_and_clear();
    let rows = rows?;
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
