//! `finbox insights`: what finbox noticed across the banks (the finbox
//! thread's posts), newest first, with the transactions each is about.

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
