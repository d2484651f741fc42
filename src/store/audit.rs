//! Checks of what the store holds against itself (for `finbox` checks and
//! tests, not for screens: they read every transaction).

use super::{Result, Store};
use crate::domain::AccountId;

impl Store {
    /// Accounts whose stored balance differs from opening + the sum of their
    /// posted transactions (or whose pending total differs from their
    /// pending rows), as (account, stored, expected). Empty when all agree.
    /// Reads every transaction: for checks and tests, not for screens.
    pub fn balance_mismatches(&self) -> Result<Vec<(AccountId, i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.id, bal.balance_minor,
                    a.opening_minor + coalesce((SELECT sum(amount_minor) FROM transactions t
                                                WHERE t.account_id = a.id AND t.status = 'posted'), 0),
                    bal.pending_minor,
                    coalesce((SELECT sum(amount_minor) FROM transactions t
                              WHERE t.account_id = a.id AND t.status = 'pending'), 0),
                    bal.txn_count, (SELECT count(*) FROM transactions t WHERE t.account_id = a.id)
             FROM accounts a JOIN balances bal ON bal.account_id = a.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let n = |i| r.get::<_, i64>(i);
            Ok((n(0)?, [n(1)?, n(2)?], [n(3)?, n(4)?], [n(5)?, n(6)?]))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, [stored, expected], [held, pending], [count, real_count]) = row?;
            if stored != expected || held != pending || count != real_count {
                out.push((AccountId(id), stored, expected));
            }
        }
        Ok(out)
    }
}
