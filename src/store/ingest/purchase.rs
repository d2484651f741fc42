//! Receipts and delivery updates: what a merchant says about a purchase,
//! in the thread of the bank whose card paid, linked to the transaction.
//! A receipt's lines are kept (the transaction's detail shows them) and
//! must add up to the charge.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::{Batch, BatchReport, Outcome};
use crate::domain::event::{PurchaseUpdate, ReceiptItem};
use crate::domain::text::{MAX_NAME_CHARS, clean_line};
use crate::domain::{BankId, Currency, MessageKind, Money, Sender};
use crate::store::message::NewMessage;
use crate::store::{Grant, Result};

/// A receipt holds at most this many lines.
const MAX_ITEMS: usize = 100;

pub(super) struct Purchase<'a> {
    pub txn: &'a str,
    pub at: DateTime<Utc>,
    pub merchant: &'a str,
    pub update: &'a PurchaseUpdate,
}

/// The paid transaction as a receipt needs it.
struct Paid {
    id: i64,
    account: i64,
    charge: Money,
}

pub(super) fn apply(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    p: &Purchase,
    shared: Grant,
    report: &mut BatchReport,
) -> Result<Outcome> {
    let paid: Option<(i64, i64, i64, String)> = tx
        .prepare_cached(
            "SELECT id, account_id, amount_minor, currency FROM transactions WHERE bank_id = ?1 AND external_id = ?2",
        )?
        .query_row(params![bank.as_str(), p.txn], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((id, account, minor, currency)) = paid else {
        return Ok(Outcome::Refused(format!("no transaction {:?} to go with", clean_line(p.txn, 40))));
    };
    let currency = Currency::new(&currency).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
    let paid = Paid { id, account, charge: Money::new(minor.abs(), currency) };
    let merchant = clean_line(p.merchant, MAX_NAME_CHARS);
    let label = b.label(tx, paid.account)?;
    let (key, text) = match p.update {
        PurchaseUpdate::Receipt { items } => {
            if let Err(why) = check(items, &paid) {
                return Ok(Outcome::Refused(why));
            }
            let lines: Vec<String> = items.iter().map(line).collect();
            let text = format!("Receipt from {merchant} for {} ({label}): {}.", paid.charge, lines.join(" · "));
            ("receipt", text)
        }
        PurchaseUpdate::Shipped { carrier } => {
            let carrier = clean_line(carrier, 40);
            ("shipped", format!("{merchant}: your order ({}) has shipped with {carrier}.", paid.charge))
        }
        PurchaseUpdate::OutForDelivery => {
            ("out", format!("{merchant}: your order ({}) is out for delivery.", paid.charge))
        }
        PurchaseUpdate::Delivered => ("delivered", format!("{merchant}: your order ({}) was delivered.", paid.charge)),
    };
    let external = format!("purchase:{}:{key}", p.txn);
    let message = NewMessage::new(bank, Sender::Bank, MessageKind::Purchase, p.at, &text).txn(paid.id);
    if !message.external(&external).history_before(shared.since).insert(tx)? {
        report.duplicates += 1;
        return Ok(Outcome::Applied);
    }
    report.messages += 1;
    if let PurchaseUpdate::Receipt { items } = p.update {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO receipt_items (bank_id, txn_id, line, name, quantity, amount_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (i, item) in items.iter().enumerate() {
            let name = clean_line(&item.name, MAX_NAME_CHARS);
            insert.execute(params![bank.as_str(), paid.id, i as i64, name, item.quantity, item.amount.minor])?;
        }
    }
    Ok(Outcome::Applied)
}

/// A receipt's lines: some, not too many, each positive, in the charge's
/// currency, adding up to the charge.
fn check(items: &[ReceiptItem], paid: &Paid) -> std::result::Result<(), String> {
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(format!("a receipt holds 1 to {MAX_ITEMS} lines, not {}", items.len()));
    }
    if let Some(bad) = items.iter().find(|i| i.amount.currency != paid.charge.currency || i.amount.minor <= 0) {
        return Err(format!("receipt line {:?} is {}", clean_line(&bad.name, 40), bad.amount));
    }
    let sum: i64 = items.iter().map(|i| i.amount.minor).fold(0i64, i64::saturating_add);
    if sum != paid.charge.minor {
        return Err(format!(
            "receipt lines add up to {}, the charge is {}",
            Money::new(sum, paid.charge.currency),
            paid.charge
        ));
    }
    Ok(())
}

/// "2 × USB-C cable $19.98"
fn line(i: &ReceiptItem) -> String {
    let name = clean_line(&i.name, MAX_NAME_CHARS);
    if i.quantity > 1 { format!("{} × {name} {}", i.quantity, i.amount) } else { format!("{name} {}", i.amount) }
}
