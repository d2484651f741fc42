//! What finbox itself notices across every shared bank, posted in a thread
//! of its own: the rules that decide when a transaction is news (a
//! recurring charge that went up, a new subscription, a likely duplicate, a
//! refund), the low-balance outlook and the month's summary. Pure: the store
//! feeds it what it remembers and stores what it says.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{InsightKind, Money, TxnId};

/// An insight as the thread and `finbox insights` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Insight {
    pub id: i64,
    pub kind: InsightKind,
    pub at: DateTime<Utc>,
    pub text: String,
    pub read: bool,
    /// The transactions it is about, oldest first.
    pub transactions: Vec<TxnId>,
}

const DAY: i64 = 86_400;
/// Two charges this far apart (in days) are a month apart.
pub const MONTHLY_DAYS: std::ops::RangeInclusive<i64> = 25..=35;
/// The same charge on two cards within this many days is a likely duplicate.
pub const DUPLICATE_DAYS: i64 = 2;
/// Insights about transactions older than this many days (history a bank
/// or a statement delivers) are remembered, not posted.
pub const NEWS_DAYS: i64 = 45;
/// How far ahead the low-balance outlook looks.
pub const OUTLOOK_DAYS: i64 = 14;
/// The outlook warns when checking would fall under this (in minor units:
/// $100.00).
pub const LOW_BALANCE_MINOR: i64 = 10_000;

/// What the pass remembers of a merchant on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    pub last_txn: i64,
    pub last_at: i64,
    pub last_minor: i64,
    pub first_at: i64,
    /// Transactions seen (refunds aside).
    pub charges: i64,
    /// Charges in a row about a month apart.
    pub streak: i64,
    /// The last gap between charges, seconds.
    pub period: i64,
    /// Charges in a row of the same amount as the one before.
    pub steady: i64,
}

/// A new posted transaction, as the pass weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub txn: i64,
    pub at: i64,
    pub minor: i64,
    /// Income (a paycheck, interest): never a refund.
    pub income: bool,
}

/// What one transaction says against what was remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// A recurring charge went up: the last amount and this one.
    PriceUp { before: i64, prev_txn: i64 },
    /// A second charge a month after the first, from a merchant new on the
    /// account.
    NewSubscription { prev_txn: i64, first_at: i64 },
    /// Money back from a merchant this account paid.
    Refund,
}

/// Weighs `seen` against `track` (the merchant on this account, if seen
/// before); returns what it found and what to remember. A refund is not
/// remembered as a charge.
pub fn weigh(track: Option<Track>, seen: Seen) -> (Option<Finding>, Option<Track>) {
    let Some(t) = track else {
        let first = Track {
            last_txn: seen.txn,
            last_at: seen.at,
            last_minor: seen.minor,
            first_at: seen.at,
            charges: 1,
            streak: 0,
            period: 0,
            steady: 0,
        };
        return (None, Some(first));
    };
    if seen.minor > 0 && t.last_minor < 0 && !seen.income {
        return (Some(Finding::Refund), None);
    }
    let gap = seen.at - t.last_at;
    let monthly = MONTHLY_DAYS.contains(&gap.div_euclid(DAY));
    let regular = monthly || matches!(gap.div_euclid(DAY), 6..=8 | 13..=15);
    let same_beat = t.period == 0 || (gap - t.period).abs() <= 3 * DAY;
    let streak = match (regular, same_beat) {
        (true, true) => t.streak + 1,
        (true, false) => 1,
        _ => 0,
    };
    let finding = if !monthly || seen.minor >= 0 || t.last_minor >= 0 {
        None
    } else if t.streak >= 1 && t.steady >= 1 && is_monthly(t.period) && seen.minor < t.last_minor {
        Some(Finding::PriceUp { before: t.last_minor, prev_txn: t.last_txn })
    } else if streak == 1 && t.charges == 1 && close(seen.minor, t.last_minor) {
        Some(Finding::NewSubscription { prev_txn: t.last_txn, first_at: t.first_at })
    } else {
        None
    };
    let next = Track {
        last_txn: seen.txn,
        last_at: seen.at,
        last_minor: seen.minor,
        first_at: t.first_at,
        charges: t.charges + 1,
        streak,
        period: if regular { gap } else { t.period },
        steady: if seen.minor == t.last_minor { t.steady + 1 } else { 0 },
    };
    (finding, Some(next))
}

/// A period of about a month.
pub fn is_monthly(period: i64) -> bool {
    MONTHLY_DAYS.contains(&period.div_euclid(DAY))
}

/// Whether a remembered merchant is a bill or a paycheck the outlook
/// projects: charged monthly, or paid in weekly or every two weeks.
pub fn projected(streak: i64, period: i64, minor: i64) -> bool {
    streak >= 1 && (is_monthly(period) || (minor > 0 && matches!(period.div_euclid(DAY), 6..=8 | 13..=15)))
}

/// Within a tenth of each other: the same subscription billed again.
fn close(a: i64, b: i64) -> bool {
    (a - b).unsigned_abs().saturating_mul(10) <= b.unsigned_abs()
}

/// The key a merchant is remembered by: its words without store numbers,
/// case or punctuation ("NETFLIX.COM 866-579" and "Netflix.com" agree).
pub fn merchant_key(merchant: &str) -> String {
    let words: Vec<String> = merchant
        .split(|c: char| c.is_whitespace() || c == '*' || c == '#')
        .map(|w| w.chars().filter(|c| c.is_alphanumeric() || *c == '.' || *c == '\'').collect::<String>())
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty() && !w.chars().any(|c| c.is_ascii_digit()))
        .take(3)
        .collect();
    if words.is_empty() { merchant.trim().to_lowercase() } else { words.join(" ") }
}

/// A recurring item as remembered: what, last date, amount, period.
pub type Recurring = (String, i64, i64, i64);

/// A bill or a paycheck expected ahead, for the outlook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub at: i64,
    pub minor: i64,
    pub what: String,
}

/// The recurring items of an account projected over the next
/// [`OUTLOOK_DAYS`]: each from its last date by its period, as often as it
/// falls in the window. Oldest first.
pub fn project(items: &[Recurring], now: i64) -> Vec<Expected> {
    let end = now + OUTLOOK_DAYS * DAY;
    let mut out = Vec::new();
    for (what, last_at, minor, period) in items {
        let period = if *period >= DAY { *period } else { 30 * DAY };
        let mut at = last_at + period;
        while at <= end {
            if at > now {
                out.push(Expected { at, minor: *minor, what: what.clone() });
            }
            at += period;
        }
    }
    out.sort_by_key(|e| e.at);
    out
}

/// The lowest the balance reaches over `expected`, and at which item.
pub fn lowest(balance: i64, expected: &[Expected]) -> Option<(i64, &Expected)> {
    let mut running = balance;
    let mut low: Option<(i64, &Expected)> = None;
    for e in expected {
        running = running.saturating_add(e.minor);
        if low.is_none_or(|(l, _)| running < l) {
            low = Some((running, e));
        }
    }
    low
}

/// A bar chart by category, one line each, largest first:
/// `Groceries     ████████▌  $812.40`, amounts right-aligned.
pub fn bars(rows: &[(String, Money)], width: usize) -> Vec<String> {
    let max = rows.iter().map(|(_, m)| m.minor.unsigned_abs()).max().unwrap_or(0).max(1);
    let name_w = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0).min(16);
    // Amounts right-aligned: their cents line up.
    let amount_w = rows.iter().map(|(_, m)| m.to_string().chars().count()).max().unwrap_or(0);
    rows.iter()
        .map(|(name, m)| {
            let eighths = (u128::from(m.minor.unsigned_abs()) * (width as u128) * 8 / u128::from(max)) as usize;
            let mut bar = "█".repeat(eighths / 8);
            if eighths % 8 > 0 {
                bar.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
            }
            let name: String = name.chars().take(name_w).collect();
            let amount = m.to_string();
            format!("{name:<name_w$} {bar:<width$} {amount:>amount_w$}")
        })
        .collect()
}

/// Seconds as whole days since the epoch, for keys.
pub fn day(at: i64) -> i64 {
    at.div_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(txn: i64, day: i64, minor: i64) -> Seen {
        Seen { txn, at: day * DAY, minor, income: false }
    }

    fn run(charges: &[(i64, i64)]) -> Vec<Option<Finding>> {
        let mut track = None;
        let mut out = Vec::new();
        for (i, (d, m)) in charges.iter().enumerate() {
            let (f, t) = weigh(track, seen(i as i64, *d, *m));
            out.push(f);
            track = t.or(track);
        }
        out
    }

    #[test]
    fn a_recurring_charge_that_goes_up_is_found_once_it_recurs() {
        let f = run(&[(0, -1549), (30, -1549), (60, -1799), (90, -1799)]);
        assert_eq!(f[2], Some(Finding::PriceUp { before: -1549, prev_txn: 1 }));
        assert_eq!(f[3], None);
        // Weekly groceries of changing amounts are not recurring charges,
        // nor is a shop that happens to be visited monthly.
        assert!(run(&[(0, -5000), (7, -6200), (14, -7000), (21, -8000)]).iter().all(Option::is_none));
        let f = run(&[(0, -1746), (30, -1833), (60, -3011)]);
        assert!(!f.iter().any(|f| matches!(f, Some(Finding::PriceUp { .. }))), "{f:?}");
    }

    #[test]
    fn a_new_subscription_is_its_second_monthly_charge() {
        let f = run(&[(0, -1099), (31, -1099), (61, -1099)]);
        assert_eq!(f[1], Some(Finding::NewSubscription { prev_txn: 0, first_at: 0 }));
        assert_eq!(f[2], None);
        // An old merchant charged monthly again is not new.
        let f = run(&[(0, -1099), (5, -1099), (36, -1099)]);
        assert_eq!(f[2], None);
    }

    #[test]
    fn money_back_from_a_merchant_paid_is_a_refund_and_not_a_charge() {
        let (f, t) = weigh(run_track(&[(0, -2350)]), seen(9, 3, 2350));
        assert_eq!((f, t), (Some(Finding::Refund), None));
        let income = Seen { income: true, ..seen(9, 3, 2350) };
        assert_eq!(weigh(run_track(&[(0, -2350)]), income).0, None);
    }

    fn run_track(charges: &[(i64, i64)]) -> Option<Track> {
        charges.iter().fold(None, |t, (d, m)| weigh(t, seen(0, *d, *m)).1.or(t))
    }

    #[test]
    fn merchants_are_known_by_their_words() {
        assert_eq!(merchant_key("NETFLIX.COM 866-579-7172"), "netflix.com");
        assert_eq!(merchant_key("Netflix.com"), "netflix.com");
        assert_eq!(merchant_key("SHELL OIL 57442"), "shell oil");
        assert_eq!(merchant_key("1234"), "1234");
    }

    #[test]
    fn the_outlook_projects_each_item_by_its_period() {
        let items =
            vec![("Rent".to_string(), -20 * DAY, -185_000, 30 * DAY), ("Pay".into(), -10 * DAY, 240_000, 14 * DAY)];
        let e = project(&items, 0);
        let at: Vec<i64> = e.iter().map(|e| e.at / DAY).collect();
        assert_eq!(at, vec![4, 10]);
        assert_eq!(lowest(100_000, &e).map(|(l, e)| (l, e.what.as_str())), Some((155_000, "Rent")));
        // Rent before the paycheck: the low comes at the rent.
        let items =
            vec![("Rent".to_string(), -25 * DAY, -185_000, 30 * DAY), ("Pay".into(), -3 * DAY, 240_000, 14 * DAY)];
        let e = project(&items, 0);
        assert_eq!(lowest(100_000, &e).map(|(l, e)| (l, e.what.as_str())), Some((-85_000, "Rent")));
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let usd = crate::domain::Currency::new("USD").unwrap();
        let rows = vec![
            ("Groceries".to_string(), Money::new(180_000, usd)),
            ("Coffee".into(), Money::new(22_500, usd)),
            ("Tea".into(), Money::new(900, usd)),
        ];
        let b = bars(&rows, 8);
        assert_eq!(b[0], "Groceries ████████ $1,800.00");
        assert_eq!(b[1], "Coffee    █          $225.00");
        assert_eq!(b[2], "Tea                    $9.00");
    }
}
