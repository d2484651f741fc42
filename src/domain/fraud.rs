//! Local fraud rules: pure pattern checks over the recent charges of each
//! account. The store writer runs every incoming transaction through
//! [`FraudRules::observe`] and raises an alert for each [`Suspicion`].
//!
//! Rules (only charges, i.e. negative amounts, are ever suspicious; thresholds
//! are in major units of the transaction's currency):
//! - **card testing**: 3 or more online charges under 5.00 on one account
//!   within 15 minutes (High), flagged once per burst;
//! - **foreign card-not-present**: an online charge from a country other than
//!   the customer's (Medium);
//! - **large charge at an odd hour**: 500.00 or more between midnight and
//!   4:59 am local time (High);
//! - **duplicate**: the same amount at the same merchant as a charge on the
//!   same account less than 10 minutes earlier (Low), flagged once per pair.
//!
//! Memory stays bounded: per account only the charges of the last 15 minutes
//! (at most [`MAX_RECENT`]) are kept, and idle accounts are forgotten.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use super::{BankId, Channel, Money, Severity};

/// Card testing: this many small online charges...
const CARD_TEST_COUNT: usize = 3;
/// ...each under this many major units...
const SMALL_CHARGE_MAJOR: i64 = 5;
/// ...within this window.
const CARD_TEST_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Odd hour: charges of at least this many major units...
const LARGE_CHARGE_MAJOR: i64 = 500;
/// ...at these local hours.
const ODD_HOURS: std::ops::RangeInclusive<u32> = 0..=4;
/// Duplicate: same merchant and amount within this window.
const DUPLICATE_WINDOW: TimeDelta = TimeDelta::minutes(10);
/// How far back an account's charges are remembered (the longest window).
const KEEP: TimeDelta = CARD_TEST_WINDOW;
/// At most this many charges are remembered per account.
pub const MAX_RECENT: usize = 16;
/// Above this many remembered accounts, idle ones are forgotten.
const MAX_ACCOUNTS: usize = 1024;

/// What the rules need to know about one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnFacts<'a> {
    /// The bank's id for the account.
    pub account: &'a str,
    pub external_id: &'a str,
    pub posted_at: DateTime<Utc>,
    /// Negative for a charge.
    pub amount: Money,
    pub merchant: &'a str,
    pub channel: Channel,
    /// ISO 3166 alpha-2 country of the merchant.
    pub country: &'a str,
}

/// Why a transaction looks suspicious, and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspicion {
    pub reason: String,
    pub severity: Severity,
}

/// A remembered charge.
#[derive(Debug, Clone)]
struct Recent {
    at: DateTime<Utc>,
    minor: i64,
    merchant: String,
    /// Counts towards card testing.
    small_online: bool,
    /// Part of a card-testing burst already flagged.
    burst_flagged: bool,
    /// Part of a duplicate pair already flagged.
    duplicate_flagged: bool,
}

/// The recent charges of one account, oldest first.
#[derive(Debug, Default)]
struct Window {
    recent: VecDeque<Recent>,
    /// The latest posting time seen on the account.
    latest: Option<DateTime<Utc>>,
}

impl Window {
    /// Forgets charges older than [`KEEP`] before the latest one, and all but
    /// the newest [`MAX_RECENT`].
    fn prune(&mut self) {
        if let Some(latest) = self.latest {
            self.recent.retain(|r| latest - r.at <= KEEP);
        }
        while self.recent.len() > MAX_RECENT {
            self.recent.pop_front();
        }
    }

    /// Card testing: with `new`, [`CARD_TEST_COUNT`] or more small online
    /// charges within [`CARD_TEST_WINDOW`], in a burst not flagged yet. Later
    /// charges of a flagged burst join it without a new suspicion.
    fn card_testing(&mut self, new: &mut Recent) -> Option<Suspicion> {
        if !new.small_online {
            return None;
        }
        let burst: Vec<&mut Recent> =
            self.recent.iter_mut().filter(|r| r.small_online && (r.at - new.at).abs() <= CARD_TEST_WINDOW).collect();
        let already_flagged = burst.iter().any(|r| r.burst_flagged);
        let count = burst.len() + 1;
        if count >= CARD_TEST_COUNT || already_flagged {
            burst.into_iter().for_each(|r| r.burst_flagged = true);
            new.burst_flagged = true;
        }
        (count >= CARD_TEST_COUNT && !already_flagged).then(|| Suspicion {
            reason: format!("Card testing: {count} small online charges within 15 minutes"),
            severity: Severity::High,
        })
    }

    /// Duplicate: the same amount at the same merchant as a charge not yet
    /// paired, less than [`DUPLICATE_WINDOW`] apart; flags the pair.
    fn duplicate(&mut self, new: &mut Recent) -> Option<Suspicion> {
        let twin = self.recent.iter_mut().rev().find(|r| {
            !r.duplicate_flagged
                && r.minor == new.minor
                && r.merchant.trim().eq_ignore_ascii_case(new.merchant.trim())
                && (r.at - new.at).abs() < DUPLICATE_WINDOW
        })?;
        twin.duplicate_flagged = true;
        new.duplicate_flagged = true;
        Some(Suspicion {
            reason: format!(
                "Possible duplicate charge: same amount at the same merchant {}",
                apart((new.at - twin.at).abs())
            ),
            severity: Severity::Low,
        })
    }
}

impl Recent {
    /// A charge as the window remembers it, not yet part of any incident.
    fn of(t: &TxnFacts) -> Recent {
        let small = t.amount.minor.saturating_abs() < SMALL_CHARGE_MAJOR.saturating_mul(t.amount.currency.unit());
        Recent {
            at: t.posted_at,
            minor: t.amount.minor,
            merchant: t.merchant.to_string(),
            small_online: t.channel == Channel::Online && small,
            burst_flagged: false,
            duplicate_flagged: false,
        }
    }
}

/// Sliding-window fraud rules over all accounts of all banks.
#[derive(Debug)]
pub struct FraudRules {
    utc_offset: TimeDelta,
    /// By bank and account: "bank\naccount" (a bank id is a slug, so the
    /// first line break ends it).
    accounts: HashMap<String, Window>,
    /// That key for the transaction at hand, built here without allocating
    /// (rules look at every transaction).
    key: String,
}

impl FraudRules {
    /// Rules for a user whose local time is UTC plus `utc_offset_secs`
    /// (an offset of a day or more is treated as UTC).
    pub fn new(utc_offset_secs: i32) -> Self {
        let secs = if utc_offset_secs.unsigned_abs() < 86_400 { utc_offset_secs } else { 0 };
        FraudRules { utc_offset: TimeDelta::seconds(i64::from(secs)), accounts: HashMap::new(), key: String::new() }
    }

    /// Looks at one new transaction of `bank` (whose customer lives in
    /// `home_country`); returns a suspicion at most once per incident. When
    /// several rules match, the most severe one is reported.
    pub fn observe(&mut self, bank: &BankId, home_country: &str, t: &TxnFacts) -> Option<Suspicion> {
        if !t.amount.is_negative() {
            return None;
        }
        // In this order: on equal severity the later one is reported.
        let mut found: Vec<Suspicion> = Vec::new();
        found.extend(foreign_card_not_present(t, home_country));
        found.extend(self.large_at_odd_hour(t));

        self.forget_idle(t.posted_at);
        self.key.clear();
        self.key.push_str(bank.as_str());
        self.key.push('\n');
        self.key.push_str(t.account);
        if !self.accounts.contains_key(&self.key) {
            self.accounts.insert(self.key.clone(), Window::default());
        }
        let window = self.accounts.get_mut(&self.key).expect("inserted above");
        window.latest = Some(window.latest.map_or(t.posted_at, |l| l.max(t.posted_at)));
        window.prune();

        let mut new = Recent::of(t);
        found.extend(window.card_testing(&mut new));
        found.extend(window.duplicate(&mut new));
        window.recent.push_back(new);
        window.prune();

        found.into_iter().max_by_key(|s| s.severity)
    }

    /// A charge of [`LARGE_CHARGE_MAJOR`] or more at one of the [`ODD_HOURS`] (local time).
    fn large_at_odd_hour(&self, t: &TxnFacts) -> Option<Suspicion> {
        let local = t.posted_at.checked_add_signed(self.utc_offset).unwrap_or(t.posted_at);
        let large = t.amount.minor.saturating_abs() >= LARGE_CHARGE_MAJOR.saturating_mul(t.amount.currency.unit());
        (large && ODD_HOURS.contains(&local.hour())).then(|| Suspicion {
            reason: format!("Large charge ({}) at {}", t.amount.abs(), clock_time(local.hour(), local.minute())),
            severity: Severity::High,
        })
    }

    /// Keeps the number of remembered accounts bounded: once there are too
    /// many, accounts with nothing in the window around `now` are dropped.
    fn forget_idle(&mut self, now: DateTime<Utc>) {
        if self.accounts.len() < MAX_ACCOUNTS {
            return;
        }
        self.accounts.retain(|_, w| w.latest.is_some_and(|l| (now - l).abs() <= KEEP));
        if self.accounts.len() > MAX_ACCOUNTS / 2 {
            // Most accounts are busy (or the clock jumped): start afresh
            // rather than grow without bound or sweep on every call.
            self.accounts.clear();
        }
    }
}

/// An online charge from a country other than the customer's.
fn foreign_card_not_present(t: &TxnFacts, home_country: &str) -> Option<Suspicion> {
    let foreign = !t.country.is_empty() && !t.country.eq_ignore_ascii_case(home_country);
    (t.channel == Channel::Online && foreign).then(|| Suspicion {
        reason: format!("Online charge from abroad ({}), card not present", t.country.to_ascii_uppercase()),
        severity: Severity::Medium,
    })
}

/// `3:12 am`, `12:05 am`.
fn clock_time(hour: u32, minute: u32) -> String {
    let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let half = if hour < 12 { "am" } else { "pm" };
    format!("{h12}:{minute:02} {half}")
}

/// `2 minutes apart`, `1 minute apart`, `less than a minute apart`.
fn apart(gap: TimeDelta) -> String {
    match gap.num_minutes() {
        0 => "less than a minute apart".to_string(),
        1 => "1 minute apart".to_string(),
        n => format!("{n} minutes apart"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use chrono::TimeZone;

    /// A scenario on one account of one bank, in UTC, with the customer in the US.
    struct Scenario {
        rules: FraudRules,
        bank: BankId,
        seq: u32,
    }

    impl Scenario {
        fn new() -> Self {
            Scenario { rules: FraudRules::new(0), bank: BankId::new("chase").unwrap(), seq: 0 }
        }

        fn charge(&mut self, at: DateTime<Utc>, amount: &str, merchant: &str, channel: Channel) -> Option<Suspicion> {
            self.charge_in(at, amount, merchant, channel, "US", "checking")
        }

        fn charge_in(
            &mut self,
            at: DateTime<Utc>,
            amount: &str,
            merchant: &str,
            channel: Channel,
            country: &str,
            account: &str,
        ) -> Option<Suspicion> {
            self.seq += 1;
            let id = format!("t{}", self.seq);
            let facts = TxnFacts {
                account,
                external_id: &id,
                posted_at: at,
                amount: Money::parse(amount, Currency::USD).unwrap(),
                merchant,
                channel,
                country,
            };
            self.rules.observe(&self.bank, "US", &facts)
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, h, m, 0).unwrap()
    }

    #[test]
    fn card_testing_is_flagged_on_the_third_small_online_charge() {
        let mut s = Scenario::new();
        assert_eq!(s.charge(at(14, 0), "-1.00", "WEBSTORE", Channel::Online), None);
        assert_eq!(s.charge(at(14, 3), "-2.49", "WEBSTORE", Channel::Online), None);
        let hit = s.charge(at(14, 7), "-0.99", "DONATE*KIDS", Channel::Online).expect("flagged");
        assert_eq!(hit.severity, Severity::High);
        assert_eq!(hit.reason, "Card testing: 3 small online charges within 15 minutes");
    }

    #[test]
    fn card_testing_is_flagged_once_per_burst() {
        let mut s = Scenario::new();
        let hits: Vec<_> =
            (0..6).map(|i| s.charge(at(10, 2 * i), "-1.50", &format!("TEST{i}"), Channel::Online)).collect();
        assert_eq!(hits.iter().flatten().count(), 1, "{hits:?}");
        assert!(hits[2].is_some());
        // A new burst after a quiet spell is a new incident.
        let later: Vec<_> =
            (0..3).map(|i| s.charge(at(13, i), "-2.00", &format!("LATER{i}"), Channel::Online)).collect();
        assert_eq!(later.iter().flatten().count(), 1);
    }

    #[test]
    fn card_testing_needs_small_online_charges_close_together() {
        let mut s = Scenario::new();
        // Card-present small charges (coffee) are not card testing.
        for i in 0..4 {
            assert_eq!(s.charge(at(8, i), &format!("-4.{i}5"), "Blue Bottle", Channel::CardPresent), None);
        }
        // 5.00 is not "under 5.00".
        for i in 0..3 {
            assert_eq!(s.charge(at(9, i), "-5.00", &format!("App{i}"), Channel::Online), None);
        }
        // Three small online charges spread over more than 15 minutes.
        assert_eq!(s.charge(at(11, 0), "-0.99", "App Store", Channel::Online), None);
        assert_eq!(s.charge(at(11, 10), "-1.99", "App Store", Channel::Online), None);
        assert_eq!(s.charge(at(11, 20), "-2.99", "App Store", Channel::Online), None);
        // Small online charges on different accounts are not one burst.
        for (i, account) in ["checking", "savings", "sapphire"].iter().enumerate() {
            let got = s.charge_in(at(12, i as u32), "-1.00", &format!("X{i}"), Channel::Online, "US", account);
            assert_eq!(got, None);
        }
    }

    #[test]
    fn equal_timestamps_still_count_as_a_burst() {
        let mut s = Scenario::new();
        let hits: Vec<_> =
            (0..4).map(|i| s.charge(at(16, 0), &format!("-1.0{i}"), "VERIFY*CARD", Channel::Online)).collect();
        assert_eq!(hits.iter().flatten().count(), 1);
        assert!(hits[2].is_some());
    }

    #[test]
    fn online_charge_from_abroad_is_medium() {
        let mut s = Scenario::new();
        let hit =
            s.charge_in(at(15, 0), "-249.00", "Kyiv Electronics", Channel::Online, "UA", "checking").expect("flagged");
        assert_eq!(hit.severity, Severity::Medium);
        assert_eq!(hit.reason, "Online charge from abroad (UA), card not present");
        // Abroad in person (travel) or a refund from abroad is not this rule.
        assert_eq!(s.charge_in(at(15, 30), "-49.00", "Cafe de Flore", Channel::CardPresent, "FR", "checking"), None);
        assert_eq!(s.charge_in(at(16, 0), "49.00", "Refund", Channel::Online, "FR", "checking"), None);
        assert_eq!(s.charge_in(at(16, 30), "-49.00", "Etsy", Channel::Online, "us", "checking"), None);
    }

    #[test]
    fn large_charge_at_an_odd_hour_is_high() {
        let mut s = Scenario::new();
        let hit = s.charge(at(3, 12), "-1240.00", "BESTBUY.COM", Channel::Online).expect("flagged");
        assert_eq!(hit.severity, Severity::High);
        assert_eq!(hit.reason, "Large charge ($1,240.00) at 3:12 am");
        let midnight = s.charge(at(0, 5), "-500.00", "Apple.com", Channel::CardPresent).expect("flagged");
        assert_eq!(midnight.reason, "Large charge ($500.00) at 12:05 am");
        // Just under the threshold, or at 5 am, or in the afternoon: fine.
        assert_eq!(s.charge(at(2, 0), "-499.99", "Apple.com", Channel::Online), None);
        assert_eq!(s.charge(at(5, 0), "-900.00", "Delta Air Lines", Channel::Online), None);
        assert_eq!(s.charge(at(14, 0), "-2400.00", "Rent", Channel::Transfer), None);
    }

    #[test]
    fn odd_hour_uses_the_local_time() {
        let bank = BankId::new("chase").unwrap();
        // 09:30 UTC is 3:30 am in UTC-6.
        let mut rules = FraudRules::new(-6 * 3600);
        let facts = TxnFacts {
            account: "checking",
            external_id: "t1",
            posted_at: at(9, 30),
            amount: Money::parse("-800", Currency::USD).unwrap(),
            merchant: "Best Buy",
            channel: Channel::CardPresent,
            country: "US",
        };
        let hit = rules.observe(&bank, "US", &facts).expect("flagged");
        assert_eq!(hit.reason, "Large charge ($800.00) at 3:30 am");
        let mut utc = FraudRules::new(0);
        assert_eq!(utc.observe(&bank, "US", &facts), None);
    }

    #[test]
    fn thresholds_scale_with_the_currency() {
        let bank = BankId::new("mizuho").unwrap();
        let jpy = Currency::new("JPY").unwrap();
        let mut rules = FraudRules::new(0);
        // JPY has no minor unit: "under 5.00" means under ¥5, so ¥450 is not small.
        let facts = |id: &'static str, minor: i64| TxnFacts {
            account: "futsu",
            external_id: id,
            posted_at: at(14, 0),
            amount: Money::new(minor, jpy),
            merchant: "Shop",
            channel: Channel::Online,
            country: "JP",
        };
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(rules.observe(&bank, "JP", &facts(id, -450 - i as i64)), None);
        }
        let mut rules = FraudRules::new(0);
        let small: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .enumerate()
            .map(|(i, id)| rules.observe(&bank, "JP", &facts(id, -1 - i as i64)))
            .collect();
        assert!(small[2].is_some());
    }

    #[test]
    fn duplicate_charge_is_low_and_flagged_once() {
        let mut s = Scenario::new();
        assert_eq!(s.charge(at(12, 30), "-54.20", "Whole Foods Market", Channel::CardPresent), None);
        let hit = s.charge(at(12, 32), "-54.20", "Whole Foods Market", Channel::CardPresent).expect("flagged");
        assert_eq!(hit.severity, Severity::Low);
        assert_eq!(hit.reason, "Possible duplicate charge: same amount at the same merchant 2 minutes apart");
        // A third identical charge belongs to the same incident.
        assert_eq!(s.charge(at(12, 33), "-54.20", "Whole Foods Market", Channel::CardPresent), None);
        // Same merchant, different amount; same amount 10 minutes or more later.
        assert_eq!(s.charge(at(12, 35), "-54.21", "Whole Foods Market", Channel::CardPresent), None);
        assert_eq!(s.charge(at(13, 0), "-18.00", "Chipotle", Channel::CardPresent), None);
        assert_eq!(s.charge(at(13, 10), "-18.00", "Chipotle", Channel::CardPresent), None);
        // Same moment (a double swipe).
        assert_eq!(s.charge(at(15, 0), "-7.25", "Starbucks", Channel::CardPresent), None);
        let same = s.charge(at(15, 0), "-7.25", "Starbucks", Channel::CardPresent).expect("flagged");
        assert!(same.reason.ends_with("less than a minute apart"), "{}", same.reason);
    }

    #[test]
    fn the_most_severe_rule_wins() {
        let mut s = Scenario::new();
        let hit = s.charge_in(at(2, 40), "-900.00", "Lagos Gadget Hub", Channel::Online, "NG", "checking").unwrap();
        assert_eq!(hit.severity, Severity::High);
        assert!(hit.reason.starts_with("Large charge"), "{}", hit.reason);
    }

    #[test]
    fn no_alert_on_ordinary_spending() {
        let mut s = Scenario::new();
        let day = [
            (7, 45, "-5.75", "Blue Bottle Coffee", Channel::CardPresent),
            (8, 30, "-2.90", "MTA OMNY", Channel::CardPresent),
            (9, 5, "-15.49", "Netflix", Channel::Online),
            (12, 15, "-14.85", "Sweetgreen", Channel::CardPresent),
            (12, 20, "-14.85", "Joe & The Juice", Channel::CardPresent),
            (13, 0, "-0.99", "Apple.com/bill", Channel::Online),
            (17, 40, "-86.12", "Trader Joe's", Channel::CardPresent),
            (19, 0, "-64.00", "Amazon.com", Channel::Online),
            (20, 30, "-1240.00", "Apple Store", Channel::CardPresent),
            (23, 50, "-120.00", "Con Edison", Channel::Online),
        ];
        for (h, m, amount, merchant, channel) in day {
            assert_eq!(s.charge(at(h, m), amount, merchant, channel), None, "{merchant}");
        }
        // Money arriving is never suspicious, even at night from abroad.
        assert_eq!(s.charge_in(at(3, 0), "4180.00", "Payroll", Channel::Deposit, "UA", "checking"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_sequence_is_handled_within_bounds(
            txns in proptest::collection::vec(
                (-100_000i64..100_000, -1_000_000i64..1_000_000, 0usize..3, 0usize..5, proptest::bool::ANY),
                1..200,
            )
        ) {
            let mut rules = FraudRules::new(-8 * 3600);
            let bank = BankId::new("citi").unwrap();
            let base = at(12, 0);
            let channels = [Channel::CardPresent, Channel::Online, Channel::Transfer, Channel::Atm, Channel::Deposit];
            for (i, (secs, minor, merchant, channel, abroad)) in txns.into_iter().enumerate() {
                let id = i.to_string();
                let facts = TxnFacts {
                    account: if i % 2 == 0 { "a" } else { "b" },
                    external_id: &id,
                    posted_at: base + TimeDelta::seconds(secs),
                    amount: Money::new(minor, Currency::USD),
                    merchant: ["Shop", "Cafe", "shop "][merchant],
                    channel: channels[channel],
                    country: if abroad { "FR" } else { "US" },
                };
                let got = rules.observe(&bank, "US", &facts);
                proptest::prop_assert!(minor < 0 || got.is_none());
            }
            proptest::prop_assert!(rules.accounts.values().all(|w| w.recent.len() <= MAX_RECENT));
        }
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let mut rules = FraudRules::new(14 * 3600);
        let bank = BankId::new("chase").unwrap();
        for posted_at in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC, DateTime::UNIX_EPOCH] {
            let facts = TxnFacts {
                account: "a",
                external_id: "x",
                posted_at,
                amount: Money::new(-100_000, Currency::USD),
                merchant: "Shop",
                channel: Channel::Online,
                country: "US",
            };
            let _ = rules.observe(&bank, "US", &facts);
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let mut s = Scenario::new();
        let start = at(9, 0);
        for i in 0..2000 {
            let t = start + TimeDelta::seconds(i * 7);
            s.charge(t, &format!("-{}.00", 10 + i % 90), "Shop", Channel::CardPresent);
        }
        let window = s.rules.accounts.values().next().unwrap();
        assert!(window.recent.len() <= MAX_RECENT);
        for i in 0..(3 * MAX_ACCOUNTS) {
            let t = start + TimeDelta::hours(i as i64);
            s.charge_in(t, "-10.00", "Shop", Channel::CardPresent, "US", &format!("acct{i}"));
        }
        assert!(s.rules.accounts.len() <= MAX_ACCOUNTS);
    }
}
