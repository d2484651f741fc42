//! One transaction in full (Enter in the register): what, when, on which
//! account, its status, category and rule, and — when the merchant sent
//! them — the receipt's lines and where the order is.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::text::{clean, fit, local, width};
use super::super::{RenderOpts, Theme};
use super::{Dialog, keys, paragraph};
use crate::app::AppState;
use crate::domain::TxnId;

pub(super) fn detail(state: &AppState, theme: &Theme, opts: &RenderOpts, id: TxnId, cols: usize) -> Dialog {
    let Some(t) = state.sidebar.transactions.iter().find(|t| t.id == id) else {
        let mut lines = paragraph("This transaction is no longer in the list.", cols, theme.muted);
        lines.push(Line::default());
        lines.extend(keys(&[("Esc", "close")], cols, theme));
        return ("Transaction".to_string(), lines, theme.border_focused);
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let at = |t| local(t, opts.utc_offset_secs).format("%a %b %-d, %Y %H:%M").to_string();
    let amount = t.amount.to_string();
    let merchant = clean(&super::super::mask::name(state, &t.merchant));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(fit(&merchant, cols.saturating_sub(width(&amount) + 2)), bold),
            Span::raw("  "),
            Span::styled(amount, theme.money(t.amount.minor)),
        ]),
        Line::styled(
            fit(&format!("{} · {}", if t.is_pending() { "Authorised" } else { "Posted" }, at(t.posted_at)), cols),
            theme.muted,
        ),
    ];
    if let Some(label) = state
        .sidebar
        .labels
        .get(&t.account)
        .cloned()
        .or_else(|| state.sidebar.account().map(|a| format!("{} {}", a.name, a.mask)))
    {
        lines.push(Line::raw(fit(&clean(&label), cols)));
    }
    let mut facts = vec![format!("Category: {}", clean(&t.category))];
    if let Some(rule) = &t.rule {
        facts.push(format!("rule {}", clean(rule)));
    }
    if let Some(orig) = &t.original_merchant {
        facts.push(format!("the bank says {}", clean(orig)));
    }
    lines.extend(paragraph(&facts.join(" · "), cols, Style::new()));
    let receipt = state.receipt.as_ref().filter(|r| r.txn == id);
    match receipt {
        None => lines.extend(paragraph("Loading…", cols, theme.muted)),
        Some(r) if r.items.is_empty() && r.updates.is_empty() => {
            lines.extend(paragraph("No receipt from the merchant.", cols, theme.muted))
        }
        Some(r) => {
            if !r.items.is_empty() {
                lines.push(Line::default());
                lines.push(Line::styled("Receipt", bold));
                for item in &r.items {
                    let name = if item.quantity > 1 {
                        format!("{} × {}", item.quantity, clean(&item.name))
                    } else {
                        clean(&item.name)
                    };
                    let price = item.amount.to_string();
                    let room = cols.saturating_sub(width(&price) + 3);
                    let name = fit(&name, room);
                    let gap = cols.saturating_sub(width(&name) + width(&price) + 2);
                    lines.push(Line::from(vec![
                        Span::raw(format!("  {name}{}", " ".repeat(gap))),
                        Span::styled(price, theme.muted),
                    ]));
                }
            }
            for (at_, text) in r.updates.iter().filter(|(_, text)| !text.starts_with("Receipt from")) {
                let when = local(*at_, opts.utc_offset_secs).format("%b %-d %H:%M").to_string();
                lines.extend(paragraph(&format!("{when}  {}", clean(text)), cols, theme.muted));
            }
        }
    }
    lines.push(Line::default());
    lines.extend(keys(&[("Esc", "close")], cols, theme));
    (format!("Transaction {}", t.id), lines, theme.border_focused)
}
