//! `finbox consent show BANK`: a consent receipt in the shape of an FDX
//! consent grant — its id, the parties (the bank, finbox on this machine,
//! and for a real bank the bridge between them), the purpose, the scopes,
//! the accounts, when it was made, how long it lasts, how far back the
//! history goes, its status — and what left this machine for it.

use anyhow::Result;
use serde_json::{Value, json};

use super::bank::bank_id;
use super::table::masked;
use crate::domain::{SIMPLEFIN_FEED, Sharing, text::mask_figures};
use crate::session::Env;
use crate::store::Store;

pub(super) fn show(env: &Env, store: &Store, typed: &str, as_json: bool) -> Result<()> {
    let id = bank_id(store, typed)?;
    let bank = store.bank(&id)?;
    let real = bank.feed_kind == SIMPLEFIN_FEED;
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let this_machine = if host.is_empty() { "finbox on this machine".to_string() } else { format!("finbox on {host}") };
    let mut parties = vec![
        json!({"role": "data provider", "name": bank.name}),
        json!({"role": "data recipient", "name": this_machine}),
    ];
    let mut purpose = "Show it to you in this app. Nothing leaves this machine.".to_string();
    if real {
        let (requests, last) = store.simplefin_requests(&id, env.now)?;
        let bridge = crate::session::simplefin::linked_host(store)?.unwrap_or_else(|| "not linked".into());
        parties.push(json!({
            "role": "data access platform", "name": format!("SimpleFIN Bridge ({bridge})"),
            "requests_24h": requests, "last_request": last.map(|t| t.to_rfc3339()),
        }));
        purpose = "Show it to you in this app. finbox asks the bridge, which asks your bank; the answers come \
                   here and nowhere else."
            .to_string();
    }
    let accounts: Vec<String> = store.accounts(Some(&id))?.iter().map(|a| format!("{} {}", a.name, a.mask)).collect();
    let created = bank.consent_changed_at;
    let expires = bank.consent_expires_at;
    let lookback = match (store.oldest_transaction(&id)?, created) {
        (Some(oldest), Some(c)) if oldest < c => Some((c - oldest).num_days()),
        _ => None,
    };
    let status = match bank.sharing(env.now) {
        Sharing::Shared { .. } => "active",
        Sharing::Expired { .. } => "expired",
        Sharing::NotShared if created.is_some() => "revoked",
        Sharing::NotShared => "never granted",
    };
    let receipt = json!({
        "id": format!("{}-{}", id, bank.epoch),
        "parties": parties,
        "purpose": purpose,
        "scopes": bank.scopes,
        "accounts": accounts,
        "created": created.map(|t| t.to_rfc3339()),
        "expires": json!({
            "at": expires.map(|t| t.to_rfc3339()),
            "duration": match (created, expires) { (Some(c), Some(e)) => Some(format!("P{}D", (e - c).num_days())), _ => None },
        }),
        "lookback": lookback.map(|d| format!("P{d}D")),
        "status": status,
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&receipt)?);
        return Ok(());
    }
    print!("{}", text(&receipt));
    Ok(())
}

/// The receipt as lines a person reads.
fn text(r: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("—").to_string();
    let list = |v: &Value| v.as_array().map(|a| a.iter().map(s).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    let mut out = format!("Consent receipt {}\n", s(&r["id"]));
    out.push_str(&format!("  status    {}\n", s(&r["status"])));
    for p in r["parties"].as_array().into_iter().flatten() {
        let mut line = format!("  {:<9} {}", s(&p["role"]).split(' ').next_back().unwrap_or_default(), s(&p["name"]));
        if let Some(n) = p["requests_24h"].as_u64() {
            line.push_str(&format!(" — {n} requests in the last 24 hours, the last {}", s(&p["last_request"])));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("  purpose   {}\n", s(&r["purpose"])));
    out.push_str(&format!("  scopes    {}\n", list(&r["scopes"])));
    let accounts = list(&r["accounts"]);
    let accounts = if masked() { mask_figures(&accounts) } else { accounts };
    out.push_str(&format!("  accounts  {}\n", if accounts.is_empty() { "none yet".into() } else { accounts }));
    out.push_str(&format!("  created   {}\n", s(&r["created"])));
    out.push_str(&format!("  expires   {} ({})\n", s(&r["expires"]["at"]), s(&r["expires"]["duration"])));
    out.push_str(&format!("  lookback  {}\n", s(&r["lookback"])));
    out
}
