//! A message as one row, and the account and card labels messages name.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::Result;
use crate::domain::{BankId, MessageKind, Sender};

/// A message as one row: bank messages, notices, replies and system notices.
pub(super) struct NewMessage<'a> {
    bank: &'a BankId,
    external_id: Option<&'a str>,
    at: DateTime<Utc>,
    sender: Sender,
    kind: MessageKind,
    text: &'a str,
    txn: Option<i64>,
    alert: Option<i64>,
    read: bool,
}

impl<'a> NewMessage<'a> {
    /// A message for `bank`'s thread. The user's own words and finbox's
    /// notices arrive read; what the bank says is news, unread, unless it is
    /// history ([`NewMessage::history_before`]).
    pub(super) fn new(bank: &'a BankId, sender: Sender, kind: MessageKind, at: DateTime<Utc>, text: &'a str) -> Self {
        NewMessage {
            bank,
            external_id: None,
            at,
            sender,
            kind,
            text,
            txn: None,
            alert: None,
            read: sender != Sender::Bank,
        }
    }

    /// The bank's id for it: delivered again, it is not stored twice.
    pub(super) fn external(self, id: &'a str) -> Self {
        NewMessage { external_id: Some(id), ..self }
    }

    pub(super) fn txn(self, id: i64) -> Self {
        NewMessage { txn: Some(id), ..self }
    }

    pub(super) fn alert(self, id: i64) -> Self {
        NewMessage { alert: Some(id), ..self }
    }

    /// Dated before the bank was shared (Unix seconds `since`): history a
    /// backfill delivers, not news; it arrives read.
    pub(super) fn history_before(self, since: i64) -> Self {
        NewMessage { read: self.read || self.at.timestamp() < since, ..self }
    }

    /// Stores it; false when a message with the same external id is
    /// already stored.
    pub(super) fn insert(&self, tx: &SqlTx<'_>) -> Result<bool> {
        let n = tx.prepare_cached(INSERT_MESSAGE)?.execute(params![
            self.bank.as_str(),
            self.external_id,
            self.at.timestamp(),
            self.sender.as_str(),
            self.kind.as_str(),
            self.text,
            self.txn,
            self.alert,
            self.read
        ])?;
        Ok(n == 1)
    }
}

/// "Total Checking •4821"
pub(super) fn account_label(tx: &rusqlite::Connection, account_id: i64) -> Result<String> {
    Ok(tx
        .prepare_cached("SELECT name, mask FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| Ok(format!("{} •{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?)
}

/// "card •9913" or, for an account without a card, its label.
pub(super) fn card_label(tx: &rusqlite::Connection, account_id: i64) -> Result<String> {
    let card: Option<String> = tx
        .prepare_cached("SELECT mask FROM cards WHERE account_id = ?1")?
        .query_row([account_id], |r| r.get(0))
        .optional()?;
    match card {
        Some(mask) => Ok(format!("card •{mask}")),
        None => account_label(tx, account_id),
    }
}

const INSERT_MESSAGE: &str =
    "INSERT OR IGNORE INTO messages (bank_id, external_id, at, sender, kind, text, txn_id, alert_id, read)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
