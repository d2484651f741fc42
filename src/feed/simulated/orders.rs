//! Online orders: a merchant sends an itemised receipt into the thread of
//! the bank whose card paid, then, for what is sent by post, shipped, out
//! for delivery and delivered, while the feed runs live (a backfill or a
//! count of events sends none). Decided by a generator of their own (seeded
//! by the transaction), so the rest of the simulation is what it was.

use rand::SeedableRng;

use super::*;
use crate::domain::event::{PurchaseUpdate, ReceiptItem};

/// The share of online shopping that sends a receipt.
const RECEIPT_CHANCE: f64 = 0.6;
/// At most this many receipts and updates wait for their time.
const ORDERS_MAX: usize = 200;
/// Sales tax, percent, added to the lines.
const TAX_PERCENT: i64 = 8;

/// What an online shop sells, for receipts.
const CATALOGUE: &[&str] = &[
    "USB-C cable",
    "Desk lamp",
    "Notebooks (3-pack)",
    "Phone case",
    "Water bottle",
    "Throw pillow",
    "AA batteries (8)",
    "Coffee mug",
    "Wool socks (3 pairs)",
    "Paperback book",
    "Scented candle",
    "Kitchen towels",
    "Wireless mouse",
    "Rain jacket",
    "Picture frame",
];

impl Sim {
    /// After an online shopping charge: its receipt and deliveries, queued
    /// for their times (some shops send none).
    pub(super) fn order(&mut self, txn: &TxnInfo) {
        let shopping = txn.category.eq_ignore_ascii_case("shopping") && txn.channel == Channel::Online;
        if !self.live || !shopping || txn.amount.minor >= 0 || self.st.orders.len() + 4 > ORDERS_MAX {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(self.st.seq ^ 0x0d3e_5eed, &self.bank));
        if rng.random::<f64>() >= RECEIPT_CHANCE {
            return;
        }
        let at = txn.posted_at.timestamp();
        let items = receipt(&mut rng, txn.amount);
        let carrier = ["UPS", "USPS", "FedEx"][rng.random_range(0..3)].to_string();
        let shipped = at + DAY + rng.random_range(0..6) * HOUR;
        let updates = [
            (at + 2 * MINUTE, PurchaseUpdate::Receipt { items }),
            (shipped, PurchaseUpdate::Shipped { carrier }),
            (shipped + DAY, PurchaseUpdate::OutForDelivery),
            (shipped + DAY + rng.random_range(2..8) * HOUR, PurchaseUpdate::Delivered),
        ];
        for (at, update) in updates {
            let item = Item::Purchase { txn: txn.external_id.clone(), merchant: txn.merchant.clone(), update };
            self.st.orders.push(Pending { at, item });
        }
    }
}

/// One to three lines and the tax, adding up to `charge` exactly.
fn receipt(rng: &mut ChaCha8Rng, charge: Money) -> Vec<ReceiptItem> {
    let total = charge.minor.abs();
    let tax = total * TAX_PERCENT / (100 + TAX_PERCENT);
    let subtotal = total - tax;
    let n = rng.random_range(1..=3).min(subtotal.max(1)) as usize;
    // n - 1 cuts in the subtotal, each line at least a cent.
    let mut cuts: Vec<i64> = (1..n).map(|_| rng.random_range(1..subtotal.max(2))).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(subtotal);
    let mut items: Vec<ReceiptItem> = bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let amount = w[1] - w[0];
            let quantity = if amount % 2 == 0 && amount >= 200 && rng.random::<bool>() { 2 } else { 1 };
            let name = CATALOGUE[rng.random_range(0..CATALOGUE.len())].to_string();
            ReceiptItem { name, quantity, amount: Money::new(amount, charge.currency) }
        })
        .collect();
    if tax > 0 {
        items.push(ReceiptItem { name: "Sales tax".into(), quantity: 1, amount: Money::new(tax, charge.currency) });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_adds_up_to_its_charge() {
        let usd = crate::domain::Currency::USD;
        for (seed, minor) in (0..500u64).zip([-1, -2, -99, -1199, -7800, -123_456].into_iter().cycle()) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let items = receipt(&mut rng, Money::new(minor, usd));
            assert!(!items.is_empty());
            assert!(items.iter().all(|i| i.amount.minor > 0 && i.quantity >= 1));
            assert_eq!(items.iter().map(|i| i.amount.minor).sum::<i64>(), -minor, "{items:?}");
        }
    }
}
