//! Accounts as feeds describe them: checked, created or updated, and
//! looked up once per batch.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::{AccountRef, Batch};
use crate::domain::event::AccountInfo;
use crate::domain::text::{MAX_NAME_CHARS, clean_line};
use crate::domain::{AccountKind, BankId, Currency};
use crate::store::Result;

pub(super) fn validate_account(info: &AccountInfo) -> Result<(), String> {
    if info.external_id.trim().is_empty() || info.external_id.len() > 64 {
        return Err("account id must be 1-64 characters".into());
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&info.mask) {
        return Err(format!("account mask {:?} is not 1-4 digits", clean_line(&info.mask, 8)));
    }
    if let Some(card) = &info.card_mask
        && !digits(card)
    {
        return Err(format!("card mask {:?} is not 1-4 digits", clean_line(card, 8)));
    }
    Ok(())
}

pub(super) fn upsert_account(
    tx: &SqlTx<'_>,
    b: &mut Batch,
    bank: &BankId,
    info: &AccountInfo,
    now: DateTime<Utc>,
) -> Result<bool> {
    let name = clean_line(&info.name, MAX_NAME_CHARS);
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM accounts WHERE bank_id = ?1 AND external_id = ?2",
            params![bank.as_str(), info.external_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        tx.execute("UPDATE accounts SET name = ?2, mask = ?3 WHERE id = ?1", params![id, name, info.mask])?;
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO accounts (bank_id, external_id, name, kind, mask, currency, opening_minor, history_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            bank.as_str(),
            info.external_id,
            name,
            info.kind.as_str(),
            info.mask,
            info.opening.currency.code(),
            info.opening.minor,
            info.history_from.map(|t| t.timestamp())
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO balances (account_id, currency, balance_minor, updated_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, info.opening.currency.code(), info.opening.minor, now.timestamp()],
    )?;
    if let Some(card) = &info.card_mask {
        let kind = if info.kind == AccountKind::Credit { "credit" } else { "debit" };
        tx.execute(
            "INSERT INTO cards (bank_id, account_id, mask, kind) VALUES (?1, ?2, ?3, ?4)",
            params![bank.as_str(), id, card, kind],
        )?;
    }
    b.accounts.retain(|(bk, e, _)| !(bk == bank && *e == info.external_id));
    b.accounts.push((bank.clone(), info.external_id.clone(), Some(AccountRef { id, currency: info.opening.currency })));
    Ok(true)
}

pub(super) fn account(tx: &SqlTx<'_>, b: &mut Batch, bank: &BankId, ext: &str) -> Result<Option<AccountRef>> {
    if let Some((_, _, hit)) = b.accounts.iter().find(|(bk, e, _)| bk == bank && e == ext) {
        return Ok(*hit);
    }
    let row: Option<(i64, String)> = tx
        .prepare_cached("SELECT id, currency FROM accounts WHERE bank_id = ?1 AND external_id = ?2")?
        .query_row(params![bank.as_str(), ext], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let found = match row {
        Some((id, cur)) => Some(AccountRef { id, currency: Currency::new(&cur)? }),
        None => None,
    };
    b.accounts.push((bank.clone(), ext.to_string(), found));
    Ok(found)
}
