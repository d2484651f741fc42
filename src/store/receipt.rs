//! The deletion receipt of a purge: what was deleted (rows per kind), when,
//! and a digest of what was deleted — SHA-256 over every deleted row, read
//! just before the deletion — kept in the consent log (and so in the
//! tamper-evident chain) and posted in the bank's thread.

use rusqlite::OptionalExtension;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use super::{Result, Store};
use crate::domain::BankId;

impl Store {
    /// The digest of a bank's rows in `tables` (picked by `of_bank`), in a
    /// fixed order: each row as its table's name, then each column's type
    /// and value, length-prefixed.
    pub(super) fn shared_digest(
        &self,
        bank: &BankId,
        tables: &[&str],
        of_bank: fn(&str) -> &'static str,
    ) -> Result<String> {
        let mut h = Sha256::new();
        for table in tables {
            let order = if *table == "balance_history" { "1, 2" } else { "rowid" };
            let sql = format!("SELECT * FROM {table} WHERE {} ORDER BY {order}", of_bank(table));
            let mut stmt = self.conn.prepare(&sql)?;
            let n = stmt.column_count();
            let mut rows = stmt.query([bank.as_str()])?;
            while let Some(row) = rows.next()? {
                field(&mut h, b'T', table.as_bytes());
                for i in 0..n {
                    match row.get_ref(i)? {
                        ValueRef::Null => field(&mut h, b'N', &[]),
                        ValueRef::Integer(v) => field(&mut h, b'I', &v.to_be_bytes()),
                        ValueRef::Real(v) => field(&mut h, b'R', &v.to_be_bytes()),
                        ValueRef::Text(t) => field(&mut h, b'S', t),
                        ValueRef::Blob(b) => field(&mut h, b'B', b),
                    }
                }
            }
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

fn field(h: &mut Sha256, tag: u8, bytes: &[u8]) {
    h.update([tag]);
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

impl Store {
    /// A transaction's receipt lines and the merchant's updates on it.
    pub fn txn_receipt(&self, txn: crate::domain::TxnId) -> Result<crate::domain::event::TxnReceipt> {
        let currency: Option<String> = self
            .conn
            .prepare_cached("SELECT currency FROM transactions WHERE id = ?1")?
            .query_row([txn.0], |r| r.get(0))
            .optional()?;
        let Some(currency) = currency.and_then(|c: String| crate::domain::Currency::new(&c).ok()) else {
            return Ok(crate::domain::event::TxnReceipt { txn, items: Vec::new(), updates: Vec::new() });
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, quantity, amount_minor FROM receipt_items WHERE txn_id = ?1 ORDER BY line")?;
        let items = stmt
            .query_map([txn.0], |r| {
                Ok(crate::domain::event::ReceiptItem {
                    name: r.get(0)?,
                    quantity: r.get(1)?,
                    amount: crate::domain::Money::new(r.get(2)?, currency),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT at, text FROM messages WHERE txn_id = ?1 AND kind = 'purchase' ORDER BY at, id")?;
        let updates = stmt
            .query_map([txn.0], |r| Ok((super::from_unix(r.get(0)?), r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(crate::domain::event::TxnReceipt { txn, items, updates })
    }
}
