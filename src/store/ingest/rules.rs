//! The user's rules at ingest: a matching transaction is stored renamed or
//! recategorised, with the rule's name and what the bank said, so that
//! `finbox rules apply` can redo it when the rules change.

use rusqlite::{Transaction as SqlTx, params};

use crate::domain::BankId;
use crate::domain::event::TxnInfo;
use crate::domain::rules::Rules;
use crate::domain::text::{MAX_NAME_CHARS, clean_line};
use crate::store::Result;

/// A transaction a rule matched: as it is stored, and as the bank sent it.
pub(super) struct Ruled {
    pub rule: String,
    pub txn: TxnInfo,
    pub merchant: String,
    pub bank_merchant: String,
    pub bank_category: String,
    pub hide: bool,
}

/// What the first matching rule makes of `t` (its merchant cleaned as
/// `merchant`), if any rule matches.
pub(super) fn ruled(rules: &Rules, merchant: &str, t: &TxnInfo) -> Option<Ruled> {
    let a = rules.apply(merchant)?;
    let renamed = a.merchant.map_or_else(|| merchant.to_string(), |m| clean_line(m, MAX_NAME_CHARS));
    let category = a.category.map_or_else(|| t.category.clone(), str::to_string);
    Some(Ruled {
        rule: a.rule.to_string(),
        txn: TxnInfo { merchant: renamed.clone(), category, ..t.clone() },
        merchant: renamed,
        bank_merchant: merchant.to_string(),
        bank_category: clean_line(&t.category, 40),
        hide: a.hide,
    })
}

/// Records on the stored row which rule made it and what the bank said
/// (only on a row stored as the rule made it: a later version of a stored
/// transaction, refused, leaves the first as it was).
pub(super) fn mark(tx: &SqlTx<'_>, bank: &BankId, r: &Ruled) -> Result<()> {
    let category = clean_line(&r.txn.category, 40);
    tx.prepare_cached(
        "UPDATE transactions SET rule = ?3, hidden = ?4,
                original_merchant = CASE WHEN merchant <> ?5 THEN ?5 END,
                original_category = CASE WHEN ?6 <> ?7 THEN ?6 END
         WHERE bank_id = ?1 AND external_id = ?2 AND merchant = ?8",
    )?
    .execute(params![
        bank.as_str(),
        r.txn.external_id,
        r.rule,
        r.hide,
        r.bank_merchant,
        r.bank_category,
        category,
        r.merchant
    ])?;
    Ok(())
}
