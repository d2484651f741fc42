//! `finbox banks`, `balances`, `transactions`, `alerts` and `messages`: what the store holds, as tables or JSON.

use anyhow::Result;
use serde_json::json;

use super::table::{Align, Table};
use super::*;
use crate::domain::*;
use crate::session::Env;
use crate::store::TxnFilter;

pub(super) fn banks(env: &Env, json: bool) -> Result<()> {
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

pub(super) fn balances(env: &Env, json: bool) -> Result<()> {
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
                        "available_minor": a.available().minor, "pending_minor": a.pending.minor,
                        "opening_minor": a.opening.minor,
                        "balance": a.balance.to_decimal_string(), "transactions": a.txn_count,
                        "card": a.card.as_ref().map(|c| c.mask.trim_start_matches('•').to_string()),
                        "frozen": a.card.as_ref().is_some_and(|c| c.frozen),
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
        ("CARD", Align::Left),
        ("FROZEN", Align::Left),
        ("BALANCE", Align::Right),
        ("AVAILABLE", Align::Right),
    ]);
    for a in &accounts {
        t.row(vec![
            a.bank.to_string(),
            a.external_id.clone(),
            format!("{} {}", a.name, a.mask),
            a.kind.to_string(),
            a.card.as_ref().map(|c| c.mask.clone()).unwrap_or_default(),
            if a.card.as_ref().is_some_and(|c| c.frozen) { "frozen".into() } else { String::new() },
            a.balance.to_string(),
            a.available().to_string(),
        ]);
    }
    for total in store.totals()? {
        let mut row = vec![String::new(); 8];
        row[2] = format!("Total {}", total.currency);
        row[6] = total.to_string();
        t.row(row);
    }
    print!("{}", t.render());
    Ok(())
}

pub(super) fn transactions(env: &Env, a: &TxnArgs) -> Result<()> {
    let store = env.open_store()?;
    let bank = a.bank.as_deref().map(|b| bank_id(&store, b)).transpose()?;
    let account = a.account.as_deref().map(|k| store.find_account(bank.as_ref(), k)).transpose()?;
    if a.limit == 0 {
        return print_none(a.json);
    }
    let txns = store.transactions(&TxnFilter {
        bank,
        account: account.map(|a| a.id),
        search: a.search.clone(),
        before: None,
        limit: a.limit.clamp(1, 100_000),
    })?;
    if a.json {
        return print_json(txns.iter().map(txn_json).collect());
    }
    if txns.is_empty() {
        println!("No transactions match.");
        return Ok(());
    }
    print!("{}", txn_table(&txns, ("CATEGORY", Align::Left, |x| x.category.clone())));
    Ok(())
}

/// Transactions as a table, with one column of the command's own after the
/// amount (the category; a transfer's id); the merchant says the rest.
fn txn_table(txns: &[Transaction], (title, align, cell): (&str, Align, fn(&Transaction) -> String)) -> String {
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("POSTED", Align::Left),
        ("BANK", Align::Left),
        ("ACCOUNT", Align::Left),
        ("AMOUNT", Align::Right),
        (title, align),
        ("MERCHANT", Align::Left),
    ]);
    for x in txns {
        let row = vec![
            x.id.to_string(),
            local(x.posted_at),
            x.bank.to_string(),
            x.account_external_id.clone(),
            x.amount.to_string(),
            cell(x),
            x.label(),
        ];
        t.row(row);
    }
    t.render()
}

/// A transaction as `--json` gives it (and `finbox export --format json`).
pub(super) fn txn_json(t: &Transaction) -> serde_json::Value {
    json!({
        "id": t.id, "bank": t.bank, "account": t.account_external_id, "external_id": t.external_id,
        "posted_at": t.posted_at.to_rfc3339(), "amount_minor": t.amount.minor,
        "currency": t.amount.currency, "amount": t.amount.to_decimal_string(),
        "merchant": t.merchant, "category": t.category, "channel": t.channel.as_str(),
        "country": t.country, "status": t.status.as_str(),
        "authorized_at": t.authorized_at.map(|a| a.to_rfc3339()),
        "authorized_minor": t.authorized.map(|m| m.minor),
        "transfer_id": t.transfer.as_ref().and_then(|l| l.id),
        "transfer_to": t.transfer.as_ref().and_then(|l| l.other.clone()),
        "reverses": t.reverses, "reversed_by": t.reversed_by,
        "rule": t.rule, "original_merchant": t.original_merchant,
    })
}

pub(super) fn transfers(env: &Env, a: &TransfersArgs) -> Result<()> {
    match &a.action {
        Some(TransfersCmd::Pair { a: x, b: y }) => {
            let mut store = env.open_store()?;
            let id = store.pair_transfer(TxnId(*x), TxnId(*y))?;
            println!("Transactions {x} and {y} are one transfer ({id}): left out of spending and income.");
            return Ok(());
        }
        Some(TransfersCmd::Unpair { id }) => {
            let mut store = env.open_store()?;
            store.unpair_transfer(TxnId(*id))?;
            println!("The transfer of transaction {id} is undone: both legs count as spending and income again.");
            return Ok(());
        }
        None => {}
    }
    let store = env.open_store()?;
    if a.limit == 0 {
        return print_none(a.json);
    }
    let legs = store.transfer_legs(a.unmatched, a.limit.clamp(1, 100_000))?;
    if a.json {
        return print_json(legs.iter().map(txn_json).collect());
    }
    if legs.is_empty() {
        println!("{}", if a.unmatched { "No unmatched transfer legs." } else { "No transfers." });
        return Ok(());
    }
    let pair = |x: &Transaction| x.transfer.as_ref().and_then(|l| l.id).map_or_else(|| "—".into(), |id| id.to_string());
    print!("{}", txn_table(&legs, ("TRANSFER", Align::Right, pair)));
    Ok(())
}

pub(super) fn alert_json(a: &FraudAlert) -> serde_json::Value {
    json!({
        "id": a.id, "bank": a.bank, "account": a.account_external_id, "txn": a.txn, "reason": a.reason,
        "severity": a.severity.as_str(), "status": a.status.as_str(), "created_at": a.created_at.to_rfc3339(),
        "decided_at": a.decided_at.map(|t| t.to_rfc3339()), "merchant": a.merchant,
        "amount_minor": a.amount.minor, "currency": a.amount.currency, "card": a.card_mask,
        "account_label": a.account_label,
    })
}

pub(super) fn alerts(env: &Env, a: &AlertsArgs) -> Result<()> {
    let mut store = env.open_store()?;
    if let Some(AlertsCmd::Ack { id, it_was_me: _, not_me }) = &a.action {
        let verdict = if *not_me { Verdict::NotMe } else { Verdict::ItWasMe };
        let alert = store.ack_alert(AlertId(*id), verdict, env.now)?;
        let bank = store.bank(&alert.bank)?.name;
        let case = store.dispute_case(alert.id)?;
        println!("{}", alert.verdict_summary(verdict, &bank, case.as_deref()));
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

pub(super) fn messages(env: &Env, bank: &str, limit: usize, json: bool) -> Result<()> {
    let mut store = env.open_store()?;
    let id = bank_id(&store, bank)?;
    if limit == 0 {
        // Nothing shown, so nothing is marked read.
        return print_none(json);
    }
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
        let text = if super::table::masked() { crate::domain::text::mask_figures(&text) } else { text };
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
