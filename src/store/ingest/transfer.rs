//! Transfers between the user's own accounts. A leg is a transfer candidate
//! when the feed marks it (`TxnInfo::transfer`) or its text reads like one
//! ("Payment Thank You", "Transfer to …"). Two posted candidates pair when
//! their amounts are opposite, in two of the user's accounts (any banks),
//! within [`PAIR_WINDOW_DAYS`]: both legs get the pair's id, and the pair is
//! left out of spending and income everywhere. A candidate without a pair
//! is shown as "transfer, other side not seen".

use rusqlite::{OptionalExtension, Transaction as SqlTx, params};

use super::AccountRef;
use crate::domain::event::TxnInfo;
use crate::store::Result;

/// How far apart the two legs of a transfer may post.
pub const PAIR_WINDOW_DAYS: i64 = 3;

/// `transfer_kind` for a new leg: the feed's mark, or a known pattern.
pub(super) fn kind(t: &TxnInfo, merchant: &str) -> Option<&'static str> {
    if t.transfer {
        Some("marked")
    } else if looks_like_transfer(merchant) {
        Some("pattern")
    } else {
        None
    }
}

/// Text that banks write on the legs of a move between one's own accounts.
/// Deliberately narrow: "Transfer to J SMITH" (a person) pairs only if an
/// opposite leg exists in another of the user's accounts.
pub fn looks_like_transfer(merchant: &str) -> bool {
    // Asked of every transaction: ASCII names (nearly all) are compared
    // without lowercasing a copy; others are lowercased as Unicode says.
    if merchant.is_ascii() {
        let m = merchant.as_bytes();
        let starts = |s: &str| m.len() >= s.len() && m[..s.len()].eq_ignore_ascii_case(s.as_bytes());
        const THANKS: &[u8] = b"payment thank you";
        return TRANSFER_STARTS.iter().any(|s| starts(s))
            || m.windows(THANKS.len()).any(|w| w.eq_ignore_ascii_case(THANKS));
    }
    let m = merchant.to_lowercase();
    TRANSFER_STARTS.iter().any(|s| m.starts_with(s)) || m.contains("payment thank you")
}

const TRANSFER_STARTS: &[&str] = &[
    "transfer to ",
    "transfer from ",
    "online transfer",
    "payment thank you",
    "payment - thank you",
    "online payment thank you",
    "autopay payment",
    "automatic payment",
    "credit card payment",
    "card payment",
    "internet payment",
    "mobile payment",
];

/// Pairs the new posted leg `txn_id` with an open candidate of the opposite
/// amount in another account, the closest in time. Returns the pair's id.
pub(super) fn pair(tx: &SqlTx<'_>, txn_id: i64, acct: AccountRef, t: &TxnInfo) -> Result<Option<i64>> {
    let at = t.posted_at.timestamp();
    let window = PAIR_WINDOW_DAYS * 86_400;
    let other: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, transfer_kind FROM transactions INDEXED BY transactions_transfer_open
             WHERE transfer_kind IS NOT NULL AND transfer_id IS NULL AND amount_minor = ?1
               AND posted_at BETWEEN ?2 AND ?3 AND currency = ?4 AND account_id <> ?5 AND id <> ?6
               AND status = 'posted' AND transfer_by IS NOT 'unpaired'
             ORDER BY abs(posted_at - ?7), id LIMIT 1",
        )?
        .query_row(
            params![-t.amount.minor, at - window, at + window, t.amount.currency.code(), acct.id, txn_id, at],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((other, other_kind)) = other else { return Ok(None) };
    let by = if t.transfer && other_kind == "marked" { "feed" } else { "auto" };
    let id = txn_id.min(other);
    // One row at a time, by row id (see `pending::post`: no statement
    // journal, no flush of the search index).
    for leg in [txn_id, other] {
        tx.prepare_cached("UPDATE transactions SET transfer_id = ?1, transfer_by = ?2 WHERE id = ?3")?
            .execute(params![id, by, leg])?;
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_text_is_recognised_narrowly() {
        for yes in ["Payment Thank You", "ONLINE PAYMENT THANK YOU", "Transfer to Chase Savings", "AUTOPAY PAYMENT"] {
            assert!(looks_like_transfer(yes), "{yes}");
        }
        for no in ["Rent: Stuy Town Property Services", "Con Edison", "Payroll", "Venmo"] {
            assert!(!looks_like_transfer(no), "{no}");
        }
        // Inside a longer name, in any case; and a non-ASCII name takes the
        // Unicode path to the same answer.
        assert!(looks_like_transfer("AMEX EPAYMENT PAYMENT THANK YOU 0412"));
        assert!(looks_like_transfer("Transfer to Épargne"));
        assert!(!looks_like_transfer("Café Transfer"));
        assert!(!looks_like_transfer("Payment"));
    }

    proptest::proptest! {
        /// The ASCII shortcut answers as lowercasing a copy does.
        #[test]
        fn the_ascii_shortcut_agrees_with_lowercasing(
            pre in "[ a-zA-Z-]{0,6}",
            pick in 0usize..TRANSFER_STARTS.len(),
            flips in proptest::collection::vec(proptest::bool::ANY, 30),
            post in "[ a-zA-Z0-9]{0,8}",
        ) {
            let flipped: String = TRANSFER_STARTS[pick]
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                .collect();
            let name = format!("{pre}{flipped}{post}");
            let m = name.to_lowercase();
            let slow = TRANSFER_STARTS.iter().any(|s| m.starts_with(s)) || m.contains("payment thank you");
            proptest::prop_assert_eq!(looks_like_transfer(&name), slow, "{}", name);
        }
    }
}
