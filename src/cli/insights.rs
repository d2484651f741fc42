//! `finbox insights`: what finbox noticed across the banks (the finbox
//! thread's posts), newest first, with the transactions each is about; and
//! `finbox rules`, the user's rules that shape what insights see.

use anyhow::Result;
use serde_json::json;

use super::table::{Align, Table};
use super::{local, print_json};
use crate::session::Env;

pub(super) fn insights(env: &Env, json: bool, limit: usize) -> Result<()> {
    let store = env.open_store()?;
    let list = store.insights(limit)?;
    if json {
        return print_json(
            list.iter()
                .map(|i| {
                    json!({
                        "id": i.id,
                        "kind": i.kind,
                        "at": i.at.to_rfc3339(),
                        "text": i.text,
                        "read": i.read,
                        "transactions": i.transactions.iter().map(|t| t.0).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        );
    }
    if list.is_empty() {
        println!(
            "No insights yet: finbox posts one when a recurring charge goes up, a new subscription starts, the \
             same charge lands on two cards, a refund arrives, checking looks low ahead, or a month ends."
        );
        return Ok(());
    }
    let mut t =
        Table::new(&[("WHEN", Align::Left), ("KIND", Align::Left), ("INSIGHT", Align::Left), ("ROWS", Align::Right)]);
    for i in &list {
        let mut lines = i.text.lines();
        t.row(vec![
            local(i.at),
            i.kind.as_str().replace('_', " "),
            lines.next().unwrap_or_default().to_string(),
            i.transactions.len().to_string(),
        ]);
        // A summary's bar chart, one category a line.
        for line in lines {
            t.row(vec![String::new(), String::new(), format!("  {line}"), String::new()]);
        }
    }
    print!("{}", t.render());
    Ok(())
}

/// `finbox rules [apply]`: the settings' rules with how many stored
/// transactions each matched; `apply` runs them again over every one.
pub(super) fn rules(env: &Env, apply: bool, json: bool) -> Result<()> {
    let mut store = env.open_store()?;
    if apply {
        let r = store.apply_rules()?;
        if json {
            return print_json(vec![json!({"checked": r.checked, "matched": r.matched, "changed": r.changed})]);
        }
        let g = |n: u64| crate::domain::money::group_thousands(u128::from(n));
        println!(
            "Rules applied to {} transactions: {} match a rule, {} changed.",
            g(r.checked),
            g(r.matched),
            g(r.changed)
        );
        return Ok(());
    }
    let counts: std::collections::HashMap<String, i64> = store.rule_counts()?.into_iter().collect();
    let rules = &store.rules().0;
    if json {
        return print_json(
            rules
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "category": r.category,
                        "rename": r.rename,
                        "hide": r.hide,
                        "matched": counts.get(&r.name).copied().unwrap_or(0),
                    })
                })
                .collect(),
        );
    }
    if rules.is_empty() {
        println!(
            "No rules. Add [[rules]] to {} (merchant_contains or merchant_regex, then category, rename or \
             hide = true), then run `finbox rules apply`.",
            env.settings.config_file.display()
        );
        return Ok(());
    }
    let mut t = Table::new(&[("RULE", Align::Left), ("DOES", Align::Left), ("MATCHED", Align::Right)]);
    for r in rules {
        let mut does = Vec::new();
        if let Some(c) = &r.category {
            does.push(format!("category {c}"));
        }
        if let Some(n) = &r.rename {
            does.push(format!("rename to {n}"));
        }
        if r.hide {
            does.push("hidden from insights".to_string());
        }
        t.row(vec![r.name.clone(), does.join(", "), counts.get(&r.name).copied().unwrap_or(0).to_string()]);
    }
    print!("{}", t.render());
    Ok(())
}
