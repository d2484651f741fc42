//! What statement imports ask of the store before they write: whether the
//! bank is shared, and under which consent epoch. The writing itself goes
//! through [`Store::bulk_write`]: every batch of a statement in one
//! transaction.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError};
use crate::domain::BankId;

impl Store {
    /// The consent epoch to stamp an import's events with; refused with
    /// [`StoreError::NoConsent`] unless `bank` is shared at `now`.
    pub fn import_epoch(&self, bank: &BankId, now: DateTime<Utc>) -> Result<i64> {
        match Store::grant_of(&self.conn, bank, now)? {
            Some(grant) => Ok(grant.epoch),
            None => Err(StoreError::NoConsent(bank.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BankListing, Listed};
    use chrono::Utc;

    struct MyBank(BankId);

    impl Listed for MyBank {
        fn listing(&self) -> BankListing<'_> {
            BankListing {
                id: &self.0,
                name: "My Bank",
                color: "",
                feed_kind: "import",
                pending_tolerance_percent: crate::domain::DEFAULT_PENDING_TOLERANCE_PERCENT,
            }
        }
    }

    #[test]
    fn an_import_needs_the_bank_shared() {
        let mut store = Store::open_in_memory().unwrap();
        store.sync_banks(&[MyBank(BankId::new("mybank").unwrap())]).unwrap();
        let bank = BankId::new("mybank").unwrap();
        assert!(matches!(store.import_epoch(&bank, Utc::now()), Err(StoreError::NoConsent(_))));
        assert!(matches!(
            store.import_epoch(&BankId::new("nope").unwrap(), Utc::now()),
            Err(StoreError::UnknownBank(_))
        ));
        store.grant(&bank, Utc::now()).unwrap();
        let epoch = store.import_epoch(&bank, Utc::now()).unwrap();
        assert_eq!(epoch, store.bank(&BankId::new("mybank").unwrap()).unwrap().epoch);
    }
}
