//! What statement imports ask of the store before they write: whether the
//! bank is shared (and under which consent epoch), and which transactions
//! it already holds. The writing itself goes through
//! [`Store::bulk_write`]: every batch of a statement in one transaction.

use std::collections::HashSet;

use super::{Result, Store, StoreError};
use crate::domain::BankId;

impl Store {
    /// The consent epoch to stamp an import's events with; refused with
    /// [`StoreError::NoConsent`] unless `bank` is shared.
    pub fn import_epoch(&self, bank: &BankId) -> Result<i64> {
        match Store::consent_of(&self.conn, bank)? {
            (true, epoch) => Ok(epoch),
            (false, _) => Err(StoreError::NoConsent(bank.clone())),
        }
    }

    /// Which of `ids` (external transaction ids of `bank`) the store holds
    /// already, looked up in one read transaction.
    pub fn stored_transactions<'a>(
        &self,
        bank: &BankId,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashSet<String>> {
        let tx = self.conn.unchecked_transaction()?;
        let found = stored_in(&tx, bank, ids)?;
        tx.commit()?;
        Ok(found)
    }
}

pub(super) fn stored_in<'a>(
    conn: &rusqlite::Connection,
    bank: &BankId,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    let mut stmt = conn.prepare_cached("SELECT 1 FROM transactions WHERE bank_id = ?1 AND external_id = ?2")?;
    for id in ids {
        if stmt.exists([bank.as_str(), id])? {
            found.insert(id.to_string());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountKind, Channel, Currency, Money};
    use crate::feed::{AccountInfo, BankProfile, Envelope, FeedEvent, TxnInfo};
    use chrono::Utc;

    #[test]
    fn consent_and_presence() {
        let mut store = Store::open_in_memory().unwrap();
        let profile = BankProfile::parse("id = \"mybank\"\nname = \"My Bank\"\nfeed = \"import\"\n", "t").unwrap();
        store.sync_banks(&[profile]).unwrap();
        let bank = BankId::new("mybank").unwrap();
        assert!(matches!(store.import_epoch(&bank), Err(StoreError::NoConsent(_))));
        assert!(matches!(store.import_epoch(&BankId::new("nope").unwrap()), Err(StoreError::UnknownBank(_))));
        store.grant(&bank, Utc::now()).unwrap();
        let epoch = store.import_epoch(&bank).unwrap();
        let usd = |m| Money::new(m, Currency::USD);
        let events = [
            FeedEvent::Account(AccountInfo {
                external_id: "checking-1234".into(),
                name: "Checking".into(),
                kind: AccountKind::Checking,
                mask: "1234".into(),
                opening: usd(0),
                card_mask: None,
                history_from: None,
            }),
            FeedEvent::Transaction(TxnInfo {
                account: "checking-1234".into(),
                external_id: "checking-1234:1".into(),
                posted_at: Utc::now(),
                amount: usd(-100),
                merchant: "Shop".into(),
                category: "Uncategorized".into(),
                channel: Channel::CardPresent,
                country: "US".into(),
                notify: false,
            }),
        ];
        let batch: Vec<Envelope> =
            events.into_iter().map(|event| Envelope { bank: bank.clone(), epoch, event }).collect();
        store.apply_batch(&batch, Utc::now()).unwrap();
        let found = store.stored_transactions(&bank, ["checking-1234:1", "checking-1234:2"]).unwrap();
        assert_eq!(found, HashSet::from(["checking-1234:1".to_string()]));
    }
}
