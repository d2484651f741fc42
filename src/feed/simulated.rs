//! The `simulated` feed kind: a deterministic, believable bank.
//!
//! A bank profile's `[simulated]` table (see `assets/banks/chase.toml` for every
//! key, documented) describes the accounts, the merchants card spending goes
//! to, the recurring items (salary, rent, subscriptions, card payments) and
//! the fraud the bank occasionally lets through. A card payment pays the
//! card's whole balance owed when it posts (nothing when nothing is owed), so
//! cards never drift into credit however long the history.
//!
//! **Time.** Ordinary events are a Poisson process over local daytime
//! (07:00–22:00; nights are skipped), `events_per_day` a day on average.
//! Recurring items (07:00 local), weekly balance reports (Sundays, 18:00) and
//! statements (23:00 on the statement day) happen when simulated time passes
//! them. Simulated time never passes the clock's now: in [`FeedMode::Events`]
//! a step takes at most a few fair shares of the time left, so the remaining
//! events always fit before now; in [`FeedMode::Live`] the feed catches up to
//! now (from at most `backfill_days` back), then emits one event every
//! `live_every_secs`, stamped with the clock.
//!
//! **Determinism.** The random generator is a ChaCha8 seeded from the context
//! seed and the bank id. Given the same seed, cursor, clock and frozen cards,
//! the feed produces the same events. The cursor (JSON) holds the whole state,
//! including the generator's position and any events already decided but not
//! yet delivered, so a resumed feed continues exactly where it stopped.
//!
//! **Fraud.** With probability `fraud.chance` per step the feed plays one of
//! the configured fraud patterns instead of ordinary spending. It never says
//! which transactions are fraud: the store writer's [`crate::domain::fraud`]
//! rules have to notice, as they would with a real bank.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    AccountInfo, BankFeed, BankProfile, FeedContext, FeedError, FeedEvent, FeedExit, FeedFuture, FeedMode, TxnInfo,
};
use crate::domain::{AccountKind, BankId, Channel, Currency, MessageKind, Money};

/// The feed kind's name, as written in `feed = "simulated"`.
pub const KIND: &str = "simulated";

/// A cursor is emitted after this many bank events (and at the end).
const CURSOR_EVERY: u64 = 64;
/// How long a cancelled feed still tries to hand over its final cursor.
const FINAL_CURSOR_GRACE: Duration = Duration::from_millis(200);
/// Version of the cursor format; other versions start over.
const CURSOR_VERSION: u32 = 1;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// Ordinary spending happens between these local times of day.
const DAY_START: i64 = 7 * HOUR;
const DAY_END: i64 = 22 * HOUR;
/// Recurring items post at this local time, one minute apart in profile order.
const RECURRING_AT: i64 = 7 * HOUR;
/// Weekly balance reports: day and local time.
const BALANCE_DAY: Weekday = Weekday::Sun;
const BALANCE_AT: i64 = 18 * HOUR;
/// Statements close at this local time on the statement day.
const STATEMENT_AT: i64 = 23 * HOUR;
/// Gaps between events are kept within these bounds.
const MIN_GAP: i64 = 20;
const MAX_GAP: i64 = 30 * DAY;
/// Events mode never reaches further back than this.
const MAX_SPAN: i64 = 20 * 365 * DAY;
/// In events mode a step may take at most this many fair shares of the time
/// left (time left / events left).
const EVENTS_SLACK: i64 = 8;
/// Average days in a month, for rates.
const MONTH_DAYS: f64 = 30.44;
/// Local hours at which the fraud rules find large charges odd; ordinary
/// spending at these hours (only possible in live mode or when the clock
/// forces it) is kept below [`ODD_HOUR_LARGE`].
const SMALL_HOURS: std::ops::Range<i64> = 0..5 * HOUR;
/// Amounts of the fraud patterns, in hundredths of a major unit (cents for
/// USD) and scaled to the profile's currency: 500.00, 0.50–2.99, …
const ODD_HOUR_LARGE: i64 = 50_000;
const CARD_TEST_AMOUNT: (i64, i64) = (50, 299);
const FOREIGN_AMOUNT: (i64, i64) = (8_000, 90_000);
const ODD_HOUR_AMOUNT: (i64, i64) = (60_000, 250_000);
const CARD_TEST_COUNT: (u32, u32) = (3, 5);
const CARD_TEST_GAP: (i64, i64) = (MINUTE, 4 * MINUTE);
/// The night window odd-hour fraud picks a time in: 01:00–04:59 local.
const ODD_HOUR_WINDOW: (i64, i64) = (HOUR, 5 * HOUR - MINUTE);
const DUPLICATE_GAP: (i64, i64) = (MINUTE, 5 * MINUTE);

// ---------------------------------------------------------------------------
// Profile

/// A fraud pattern the simulated bank can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pattern {
    /// A burst of tiny online charges, as a stolen card number is tried out.
    #[serde(rename = "card-testing")]
    CardTesting,
    /// An online charge at a merchant abroad.
    #[serde(rename = "foreign-cnp")]
    ForeignCnp,
    /// A large charge in the small hours.
    #[serde(rename = "odd-hour")]
    OddHour,
    /// An ordinary charge posted twice a few minutes apart.
    #[serde(rename = "duplicate")]
    Duplicate,
}

impl Pattern {
    pub const ALL: &'static [Pattern] =
        &[Pattern::CardTesting, Pattern::ForeignCnp, Pattern::OddHour, Pattern::Duplicate];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::CardTesting => "card-testing",
            Pattern::ForeignCnp => "foreign-cnp",
            Pattern::OddHour => "odd-hour",
            Pattern::Duplicate => "duplicate",
        }
    }

    fn parse(s: &str) -> Option<Pattern> {
        Pattern::ALL.iter().copied().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[simulated]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    events_per_day: f64,
    live_every_secs: [u64; 2],
    notify_over: String,
    backfill_days: u32,
    #[serde(default)]
    message_chance: f64,
    #[serde(default)]
    tips: Vec<String>,
    // Arrays of tables are read element by element, so that an error can
    // name the element (`accounts[1]`).
    accounts: Vec<toml::Value>,
    merchants: Vec<toml::Value>,
    #[serde(default)]
    recurring: Vec<toml::Value>,
    fraud: Option<RawFraud>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: String,
    name: String,
    kind: String,
    mask: String,
    card_mask: Option<String>,
    opening: String,
    #[serde(default)]
    spending: u32,
    #[serde(default = "default_statement_day")]
    statement_day: u32,
}

fn default_statement_day() -> u32 {
    28
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMerchant {
    category: String,
    names: Vec<String>,
    amount: [String; 2],
    #[serde(default = "default_weight")]
    weight: u32,
    channel: String,
    country: Option<String>,
}

fn default_weight() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecurring {
    name: String,
    category: String,
    amount: String,
    account: String,
    /// With `amount = "balance"`: the credit account paid.
    card: Option<String>,
    /// With `amount = "balance"`: how the payment shows on the card.
    card_name: Option<String>,
    days: Vec<u32>,
    channel: String,
}

/// The `amount` that pays a card's whole balance.
const PAY_BALANCE: &str = "balance";
/// How a card payment shows on the card when the profile does not say.
const DEFAULT_CARD_NAME: &str = "Payment Thank You";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFraud {
    chance: f64,
    patterns: Vec<String>,
    #[serde(default)]
    foreign_merchants: Vec<toml::Value>,
    #[serde(default)]
    tiny_merchants: Vec<String>,
    #[serde(default)]
    large_merchants: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForeignMerchant {
    name: String,
    country: String,
}

/// A validated `[simulated]` table. Amounts are in minor units of the
/// profile's currency.
#[derive(Debug, Clone)]
pub struct SimProfile {
    currency: Currency,
    home_country: String,
    events_per_day: f64,
    live_every_secs: (u64, u64),
    notify_over: i64,
    backfill_days: u32,
    message_chance: f64,
    tips: Vec<String>,
    accounts: Vec<SimAccount>,
    merchants: Vec<Merchant>,
    recurring: Vec<Recurring>,
    fraud: Option<FraudPlan>,
}

#[derive(Debug, Clone)]
struct SimAccount {
    id: String,
    name: String,
    kind: AccountKind,
    mask: String,
    card_mask: Option<String>,
    opening: i64,
    /// Weight of this account in card spending (0: none).
    spending: u32,
    statement_day: u32,
}

#[derive(Debug, Clone)]
struct Merchant {
    category: String,
    names: Vec<String>,
    /// Charge range, positive minor units.
    low: i64,
    high: i64,
    weight: u32,
    channel: Channel,
    country: String,
}

#[derive(Debug, Clone)]
struct Recurring {
    name: String,
    category: String,
    amount: Amount,
    account: String,
    days: Vec<u32>,
    channel: Channel,
}

/// What a recurring item moves.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Amount {
    /// Signed minor units: positive arrives, negative leaves.
    Fixed(i64),
    /// Pays a credit account's whole balance owed on the day, from the item's
    /// account: two transactions, or none when nothing is owed.
    CardBalance {
        /// The credit account's id.
        card: String,
        /// The payment's name on the card.
        card_name: String,
    },
}

impl Recurring {
    /// The signed amount, for fixed items.
    fn fixed(&self) -> Option<i64> {
        match self.amount {
            Amount::Fixed(minor) => Some(minor),
            Amount::CardBalance { .. } => None,
        }
    }

    /// Money arriving by direct deposit, which the bank announces.
    fn is_deposit(&self) -> bool {
        self.channel == Channel::Deposit && self.fixed().is_some_and(|m| m > 0)
    }

    /// Bank events per posting day (at most).
    fn events_per_day(&self) -> usize {
        match self.amount {
            Amount::CardBalance { .. } => 2,
            Amount::Fixed(_) if self.is_deposit() => 2,
            Amount::Fixed(_) => 1,
        }
    }
}

#[derive(Debug, Clone)]
struct FraudPlan {
    chance: f64,
    patterns: Vec<Pattern>,
    /// (name, country)
    foreign: Vec<(String, String)>,
    tiny: Vec<String>,
    large: Vec<String>,
}

impl SimProfile {
    /// The accounts as the bank describes them when linked.
    pub fn account_infos(&self) -> Vec<AccountInfo> {
        self.accounts.iter().map(|a| a.info(self.currency)).collect()
    }

    pub fn events_per_day(&self) -> f64 {
        self.events_per_day
    }

    pub fn backfill_days(&self) -> u32 {
        self.backfill_days
    }

    /// Bank events per day on average: ordinary ones plus scheduled ones
    /// (recurring items and their notices, balance reports, statements).
    pub fn daily_rate(&self) -> f64 {
        let recurring: usize = self.recurring.iter().map(|r| r.days.len() * r.events_per_day()).sum();
        let accounts = self.accounts.len() as f64;
        self.events_per_day + recurring as f64 / MONTH_DAYS + accounts / 7.0 + accounts / MONTH_DAYS
    }

    /// Scales an amount in hundredths of a major unit to the currency.
    fn scaled(&self, hundredths: i64) -> i64 {
        (hundredths.saturating_mul(self.currency.unit()) / 100).max(1)
    }

    fn account(&self, id: &str) -> Option<&SimAccount> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

impl SimAccount {
    fn info(&self, currency: Currency) -> AccountInfo {
        AccountInfo {
            external_id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind,
            mask: self.mask.clone(),
            opening: Money::new(self.opening, currency),
            card_mask: self.card_mask.clone(),
            history_from: None,
        }
    }
}

/// Builds a `simulated` feed from a bank profile.
pub fn factory(p: &BankProfile) -> Result<Box<dyn BankFeed>, FeedError> {
    Ok(Box::new(SimulatedFeed { profile: parse_profile(p)? }))
}

/// Reads and checks the profile's `[simulated]` table; errors name the key.
pub fn parse_profile(p: &BankProfile) -> Result<SimProfile, FeedError> {
    let err = |key: &str, why: String| FeedError::Profile {
        bank: p.id.to_string(),
        message: format!("[{KIND}] {key}: {why} (in {})", p.source),
    };
    let table = p.kind_table().ok_or_else(|| FeedError::Profile {
        bank: p.id.to_string(),
        message: format!("missing the [{KIND}] table (in {})", p.source),
    })?;
    let raw: RawProfile = read(toml::Value::Table(table.clone())).map_err(|why| FeedError::Profile {
        bank: p.id.to_string(),
        message: format!("[{KIND}]: {why} (in {})", p.source),
    })?;
    let currency = p.currency;
    let money =
        |key: &str, text: &str| Money::parse(text, currency).map(|m| m.minor).map_err(|e| err(key, e.to_string()));

    if !(raw.events_per_day.is_finite() && (0.1..=1000.0).contains(&raw.events_per_day)) {
        return Err(err("events_per_day", format!("{} is not between 0.1 and 1000", raw.events_per_day)));
    }
    let [live_min, live_max] = raw.live_every_secs;
    if live_min == 0 || live_min > live_max || live_max > 86_400 {
        return Err(err(
            "live_every_secs",
            format!("[{live_min}, {live_max}] must be [min, max] seconds with 1 <= min <= max <= 86400"),
        ));
    }
    let notify_over = money("notify_over", &raw.notify_over)?;
    if notify_over < 0 {
        return Err(err("notify_over", format!("{:?} must not be negative", raw.notify_over)));
    }
    if !(1..=3650).contains(&raw.backfill_days) {
        return Err(err("backfill_days", format!("{} is not between 1 and 3650", raw.backfill_days)));
    }
    check_chance(raw.message_chance).map_err(|why| err("message_chance", why))?;
    if raw.message_chance > 0.0 && raw.tips.is_empty() {
        return Err(err("tips", "is empty, but message_chance is above 0".into()));
    }
    if let Some(i) = raw.tips.iter().position(|t| t.trim().is_empty()) {
        return Err(err(&format!("tips[{i}]"), "is empty".into()));
    }

    if raw.accounts.is_empty() {
        return Err(err("accounts", "at least one [[simulated.accounts]] is needed".into()));
    }
    let mut accounts: Vec<SimAccount> = Vec::with_capacity(raw.accounts.len());
    for (i, a) in raw.accounts.into_iter().enumerate() {
        let a: RawAccount = read(a).map_err(|why| err(&format!("accounts[{i}]"), why))?;
        let key = |k: &str| format!("accounts[{i}].{k}");
        if !is_slug(&a.id) {
            return Err(err(&key("id"), format!("{:?} must be 1-32 lowercase letters, digits, '-' or '_'", a.id)));
        }
        if accounts.iter().any(|b| b.id == a.id) {
            return Err(err(&key("id"), format!("{:?} is used by another account", a.id)));
        }
        if a.name.trim().is_empty() {
            return Err(err(&key("name"), "is empty".into()));
        }
        let kind = AccountKind::parse(&a.kind)
            .map_err(|_| err(&key("kind"), format!("{:?} is not one of checking, savings, credit", a.kind)))?;
        if !is_four_digits(&a.mask) {
            return Err(err(&key("mask"), format!("{:?} must be the last 4 digits, e.g. \"1234\"", a.mask)));
        }
        if let Some(card) = &a.card_mask {
            if !is_four_digits(card) {
                return Err(err(&key("card_mask"), format!("{card:?} must be the card's last 4 digits")));
            }
        }
        if a.spending > 1_000_000 {
            return Err(err(&key("spending"), format!("{} is too large (at most 1000000)", a.spending)));
        }
        if a.spending > 0 && a.card_mask.is_none() {
            return Err(err(&key("spending"), "card spending needs a card: add card_mask".into()));
        }
        if !(1..=28).contains(&a.statement_day) {
            return Err(err(&key("statement_day"), format!("{} is not between 1 and 28", a.statement_day)));
        }
        accounts.push(SimAccount {
            id: a.id.clone(),
            name: a.name.trim().to_string(),
            kind,
            mask: a.mask.clone(),
            card_mask: a.card_mask.clone(),
            opening: money(&key("opening"), &a.opening)?,
            spending: a.spending,
            statement_day: a.statement_day,
        });
    }
    if accounts.iter().all(|a| a.spending == 0) {
        return Err(err("accounts", "no account takes card spending: set spending = 1 (a weight) on one".into()));
    }

    if raw.merchants.is_empty() {
        return Err(err("merchants", "at least one [[simulated.merchants]] is needed".into()));
    }
    let mut merchants = Vec::with_capacity(raw.merchants.len());
    for (i, m) in raw.merchants.into_iter().enumerate() {
        let m: RawMerchant = read(m).map_err(|why| err(&format!("merchants[{i}]"), why))?;
        let key = |k: &str| format!("merchants[{i}].{k}");
        if m.category.trim().is_empty() {
            return Err(err(&key("category"), "is empty".into()));
        }
        if m.names.is_empty() || m.names.iter().any(|n| n.trim().is_empty()) {
            return Err(err(&key("names"), "needs at least one name, and no empty names".into()));
        }
        let low = money(&key("amount"), &m.amount[0])?;
        let high = money(&key("amount"), &m.amount[1])?;
        if low <= 0 || low > high {
            return Err(err(
                &key("amount"),
                format!("[{:?}, {:?}] must be [min, max] with 0 < min <= max", m.amount[0], m.amount[1]),
            ));
        }
        if !(1..=1_000_000).contains(&m.weight) {
            return Err(err(&key("weight"), format!("{} is not between 1 and 1000000", m.weight)));
        }
        let channel = match Channel::parse(&m.channel) {
            Ok(c @ (Channel::CardPresent | Channel::Online | Channel::Atm)) => c,
            _ => {
                return Err(err(&key("channel"), format!("{:?} is not one of card-present, online, atm", m.channel)));
            }
        };
        let country = match &m.country {
            Some(c) if is_country(c) => c.clone(),
            Some(c) => return Err(err(&key("country"), format!("{c:?} is not a two-letter country code"))),
            None => p.home_country.clone(),
        };
        merchants.push(Merchant {
            category: m.category.trim().to_string(),
            names: m.names.iter().map(|n| n.trim().to_string()).collect(),
            low,
            high,
            weight: m.weight,
            channel,
            country,
        });
    }

    let mut recurring = Vec::with_capacity(raw.recurring.len());
    for (i, r) in raw.recurring.into_iter().enumerate() {
        let r: RawRecurring = read(r).map_err(|why| err(&format!("recurring[{i}]"), why))?;
        let key = |k: &str| format!("recurring[{i}].{k}");
        if r.name.trim().is_empty() {
            return Err(err(&key("name"), "is empty".into()));
        }
        if r.category.trim().is_empty() {
            return Err(err(&key("category"), "is empty".into()));
        }
        let Some(account) = accounts.iter().find(|a| a.id == r.account) else {
            let known: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
            return Err(err(&key("account"), format!("{:?} is not one of {}", r.account, known.join(", "))));
        };
        let amount = if r.amount.trim() == PAY_BALANCE {
            if account.kind == AccountKind::Credit {
                return Err(err(
                    &key("account"),
                    format!("{:?} is a credit account; a card is paid from checking or savings", r.account),
                ));
            }
            let Some(card) = &r.card else {
                return Err(err(&key("card"), format!("is missing: amount = {PAY_BALANCE:?} needs the card to pay")));
            };
            if !accounts.iter().any(|a| a.id == *card && a.kind == AccountKind::Credit) {
                let cards: Vec<&str> =
                    accounts.iter().filter(|a| a.kind == AccountKind::Credit).map(|a| a.id.as_str()).collect();
                return Err(err(&key("card"), format!("{card:?} is not a credit account ({})", cards.join(", "))));
            }
            let card_name = r.card_name.as_deref().unwrap_or(DEFAULT_CARD_NAME).trim();
            if card_name.is_empty() {
                return Err(err(&key("card_name"), "is empty".into()));
            }
            Amount::CardBalance { card: card.clone(), card_name: card_name.to_string() }
        } else {
            let minor = money(&key("amount"), &r.amount)?;
            if minor == 0 {
                return Err(err(&key("amount"), "is zero (positive arrives, negative leaves)".into()));
            }
            if r.card.is_some() || r.card_name.is_some() {
                let k = if r.card.is_some() { "card" } else { "card_name" };
                return Err(err(&key(k), format!("is only for card payments: amount = {PAY_BALANCE:?}")));
            }
            Amount::Fixed(minor)
        };
        if r.days.is_empty() || r.days.iter().any(|d| !(1..=31).contains(d)) {
            return Err(err(&key("days"), format!("{:?} must list days of the month between 1 and 31", r.days)));
        }
        let channel = Channel::parse(&r.channel)
            .map_err(|e| err(&key("channel"), format!("{:?} is not a channel ({})", r.channel, e.why)))?;
        if matches!(amount, Amount::CardBalance { .. }) && channel != Channel::Transfer {
            return Err(err(&key("channel"), format!("{:?}: a card payment is a transfer", r.channel)));
        }
        recurring.push(Recurring {
            name: r.name.trim().to_string(),
            category: r.category.trim().to_string(),
            amount,
            account: r.account.clone(),
            days: r.days.clone(),
            channel,
        });
    }

    let fraud = match raw.fraud {
        None => None,
        Some(f) => Some(parse_fraud(f, &p.home_country).map_err(|(k, why)| err(&format!("fraud.{k}"), why))?),
    };
    if raw.message_chance + fraud.as_ref().map_or(0.0, |f| f.chance) > 1.0 {
        return Err(err("message_chance", "plus fraud.chance must not exceed 1".into()));
    }

    Ok(SimProfile {
        currency,
        home_country: p.home_country.clone(),
        events_per_day: raw.events_per_day,
        live_every_secs: (live_min, live_max),
        notify_over,
        backfill_days: raw.backfill_days,
        message_chance: raw.message_chance,
        tips: raw.tips.iter().map(|t| t.trim().to_string()).collect(),
        accounts,
        merchants,
        recurring,
        fraud,
    })
}

fn parse_fraud(f: RawFraud, home_country: &str) -> Result<FraudPlan, (String, String)> {
    let fail = |k: &str, why: String| Err((k.to_string(), why));
    if let Err(why) = check_chance(f.chance) {
        return fail("chance", why);
    }
    let mut patterns = Vec::new();
    for (i, name) in f.patterns.iter().enumerate() {
        let Some(pattern) = Pattern::parse(name) else {
            let known: Vec<&str> = Pattern::ALL.iter().map(|p| p.as_str()).collect();
            return fail(&format!("patterns[{i}]"), format!("{name:?} is not one of {}", known.join(", ")));
        };
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
        }
    }
    if patterns.is_empty() && f.chance > 0.0 {
        return fail("patterns", "is empty, but chance is above 0".into());
    }
    let mut foreign = Vec::with_capacity(f.foreign_merchants.len());
    for (i, m) in f.foreign_merchants.into_iter().enumerate() {
        let m: RawForeignMerchant = match read(m) {
            Ok(m) => m,
            Err(why) => return fail(&format!("foreign_merchants[{i}]"), why),
        };
        if m.name.trim().is_empty() {
            return fail(&format!("foreign_merchants[{i}].name"), "is empty".into());
        }
        if !is_country(&m.country) || m.country == home_country {
            return fail(
                &format!("foreign_merchants[{i}].country"),
                format!("{:?} must be a two-letter country code other than {home_country}", m.country),
            );
        }
        foreign.push((m.name.trim().to_string(), m.country));
    }
    let needs = [
        (Pattern::ForeignCnp, "foreign_merchants", foreign.is_empty()),
        (Pattern::CardTesting, "tiny_merchants", f.tiny_merchants.iter().all(|n| n.trim().is_empty())),
        (Pattern::OddHour, "large_merchants", f.large_merchants.iter().all(|n| n.trim().is_empty())),
    ];
    for (pattern, key, missing) in needs {
        if patterns.contains(&pattern) && missing {
            return fail(key, format!("is needed for the {pattern} pattern"));
        }
    }
    let names = |v: &[String]| v.iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
    Ok(FraudPlan {
        chance: f.chance,
        patterns,
        foreign,
        tiny: names(&f.tiny_merchants),
        large: names(&f.large_merchants),
    })
}

/// Deserialises a TOML value; the error says what is wrong and, for a nested
/// key, where (`... in `mask``).
fn read<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T, String> {
    value.try_into().map_err(|e: toml::de::Error| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
}

fn check_chance(p: f64) -> Result<(), String> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{p} is not a probability between 0 and 1"))
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_four_digits(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

// ---------------------------------------------------------------------------
// Simulation state

/// Something decided but not yet delivered, at its planned time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    at: i64,
    item: Item,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    Txn {
        account: String,
        merchant: String,
        category: String,
        channel: Channel,
        country: String,
        /// Signed minor units.
        minor: i64,
        /// Set on transactions that are part of a fraud pattern.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fraud: Option<FraudTag>,
    },
    Balance {
        account: String,
    },
    Statement {
        account: String,
        period_start: i64,
    },
    /// A service message from the bank.
    Notice {
        text: String,
    },
    /// A payment of a card's whole balance, decided when it is delivered:
    /// a transaction leaving `from`, then the same amount arriving on `card`.
    Payment {
        from: String,
        card: String,
        /// The payment's name on `from`.
        merchant: String,
        /// The payment's name on the card.
        card_merchant: String,
        category: String,
        channel: Channel,
    },
}

/// Marks the transactions of one fraud incident (for tests and debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FraudTag {
    pattern: Pattern,
    incident: u64,
}

/// Everything needed to resume exactly; serialised as the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    v: u32,
    /// Simulated time (unix seconds): everything scheduled up to here is decided.
    t: i64,
    /// Time of the last delivered event; later events are never earlier.
    last_at: i64,
    /// Transactions delivered (their ids count up).
    seq: u64,
    /// Messages delivered.
    msg_seq: u64,
    /// Fraud incidents started.
    incidents: u64,
    /// The generator's position, in 32-bit words (a u128 as a string).
    #[serde(with = "u128_string")]
    rng_pos: u128,
    /// Running balance per account, minor units.
    balances: BTreeMap<String, i64>,
    /// Decided events, in time order.
    queue: VecDeque<Pending>,
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// How the next batch of events is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// `remaining` events still to produce before now.
    Events { remaining: u64 },
    /// Catching up to now; stop when the next event would be in the future.
    CatchUp,
    /// Real time: the next event happens now.
    Live,
}

/// One delivered event, with its fraud tag if it is part of an incident.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    event: FeedEvent,
    #[cfg_attr(not(test), allow(dead_code))]
    fraud: Option<FraudTag>,
}

/// A saved state to resume from (the cursor before an undelivered event).
#[derive(Debug, Clone)]
struct Snapshot(State);

impl Snapshot {
    fn to_json(&self) -> String {
        // A struct of strings and integers always serialises.
        serde_json::to_string(&self.0).unwrap_or_default()
    }
}

/// The simulated bank: profile, generator and state.
struct Sim {
    p: SimProfile,
    bank: String,
    /// The user's UTC offset in seconds.
    offset: i64,
    rng: ChaCha8Rng,
    st: State,
}

impl Sim {
    /// Resumes from `cursor` or, without a usable one, starts afresh at
    /// `start`. Returns the accounts to (re)link: all of them for a fresh
    /// start, new ones in the profile when resuming.
    fn open(
        p: SimProfile,
        bank: &BankId,
        seed: u64,
        utc_offset_secs: i32,
        cursor: Option<&str>,
        start: i64,
    ) -> (Sim, Vec<AccountInfo>) {
        let offset = if utc_offset_secs.unsigned_abs() < 86_400 { i64::from(utc_offset_secs) } else { 0 };
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, bank.as_str()));
        let resumed = cursor.and_then(|text| match serde_json::from_str::<State>(text) {
            Ok(st) if st.v == CURSOR_VERSION => Some(st),
            Ok(st) => {
                tracing::warn!(bank = %bank, version = st.v, "simulated feed: old cursor version; starting over");
                None
            }
            Err(e) => {
                tracing::warn!(bank = %bank, error = %e, "simulated feed: unreadable cursor; starting over");
                None
            }
        });
        let mut linked = Vec::new();
        let st = match resumed {
            Some(mut st) => {
                rng.set_word_pos(st.rng_pos);
                // The profile may have changed since: link new accounts,
                // forget removed ones (their queued events are skipped).
                for a in &p.accounts {
                    if !st.balances.contains_key(&a.id) {
                        st.balances.insert(a.id.clone(), a.opening);
                        linked.push(a.info(p.currency));
                    }
                }
                st.balances.retain(|id, _| p.account(id).is_some());
                st
            }
            None => {
                linked = p.account_infos();
                State {
                    v: CURSOR_VERSION,
                    t: start,
                    last_at: start,
                    seq: 0,
                    msg_seq: 0,
                    incidents: 0,
                    rng_pos: 0,
                    balances: p.accounts.iter().map(|a| (a.id.clone(), a.opening)).collect(),
                    queue: VecDeque::new(),
                }
            }
        };
        (Sim { p, bank: bank.to_string(), offset, rng, st }, linked)
    }

    fn snapshot(&self) -> Snapshot {
        let mut st = self.st.clone();
        st.rng_pos = self.rng.get_word_pos();
        Snapshot(st)
    }

    fn cursor(&self) -> String {
        self.snapshot().to_json()
    }

    /// Never simulate further back than `floor` (live catch-up).
    fn skip_to(&mut self, floor: i64) {
        self.st.t = self.st.t.max(floor);
        self.st.last_at = self.st.last_at.max(floor);
    }

    /// A cursor from a later clock (the clock was set back) resumes at now.
    /// Returns the cursor's time when it was more than an hour ahead.
    fn not_after(&mut self, now: i64) -> Option<i64> {
        let ahead = self.st.t.max(self.st.last_at);
        self.st.t = self.st.t.min(now);
        self.st.last_at = self.st.last_at.min(now);
        (ahead > now + 3600).then_some(ahead)
    }

    /// Delivers the next event. `None` only in [`Pace::CatchUp`], when the
    /// next event would be after `now`.
    fn step(&mut self, now: i64, pace: Pace, frozen: &HashSet<String>) -> Option<Step> {
        loop {
            while let Some(pending) = self.st.queue.pop_front() {
                if let Some(step) = self.deliver(pending, now, frozen) {
                    return Some(step);
                }
            }
            if !self.plan(now, pace) {
                return None;
            }
        }
    }

    /// Decides the next batch of events and queues it with whatever is
    /// scheduled up to it. False when catching up and the next event would be
    /// after `now`.
    fn plan(&mut self, now: i64, pace: Pace) -> bool {
        let base = self.st.t;
        let now = now.max(base);
        let (target, limit) = match pace {
            Pace::Events { remaining } => {
                // At most a few fair shares of the time left: never past now,
                // always room for the rest, and rarely in the way otherwise.
                let left = i128::from(now - base);
                let slack = i128::from(EVENTS_SLACK);
                let cap = i64::try_from(left * slack / (i128::from(remaining) + slack)).unwrap_or(0);
                (self.next_time(base).min(base + cap), base + cap)
            }
            Pace::CatchUp => {
                let target = self.next_time(base);
                if target > now {
                    return false;
                }
                (target, now)
            }
            Pace::Live => (now, now),
        };
        let batch = self.compose(base, target, limit);
        let end = batch.iter().map(|p| p.at).max().unwrap_or(target).clamp(base, now);
        let mut queued = self.scheduled(base, end);
        queued.extend(batch);
        // Stable: scheduled items come first at equal times.
        queued.sort_by_key(|p| p.at);
        self.st.queue.extend(queued);
        self.st.t = end;
        true
    }

    /// The events of one step at `target` (odd-hour fraud: between `base`
    /// and `limit`; the later charges of a burst may be after `limit` and are
    /// clamped when delivered).
    fn compose(&mut self, base: i64, target: i64, limit: i64) -> Vec<Pending> {
        let fraud_chance = self.p.fraud.as_ref().map_or(0.0, |f| f.chance);
        let roll: f64 = self.rng.random();
        if roll < fraud_chance {
            if let Some(batch) = self.fraud(base, target, limit) {
                return batch;
            }
        } else if roll < fraud_chance + self.p.message_chance && !self.p.tips.is_empty() {
            let i = self.rng.random_range(0..self.p.tips.len());
            let text = self.p.tips[i].clone();
            return vec![Pending { at: target, item: Item::Notice { text } }];
        }
        vec![self.ordinary(target, None)]
    }

    /// An ordinary card charge at `at`.
    fn ordinary(&mut self, at: i64, fraud: Option<FraudTag>) -> Pending {
        let account = self.spending_account();
        let i = weighted(&mut self.rng, self.p.merchants.iter().map(|m| m.weight));
        let m = &self.p.merchants[i];
        let (mut low, mut high) = (m.low, m.high);
        if self.is_small_hours(at) {
            high = high.min(self.p.scaled(ODD_HOUR_LARGE) - 1);
            low = low.min(high);
        }
        let minor = self.rng.random_range(low..=high);
        let name = self.rng.random_range(0..m.names.len());
        Pending {
            at,
            item: Item::Txn {
                account,
                merchant: m.names[name].clone(),
                category: m.category.clone(),
                channel: m.channel,
                country: m.country.clone(),
                minor: -minor,
                fraud,
            },
        }
    }

    /// A fraud incident starting at about `target`, or `None` when the
    /// pattern does not fit before `limit`.
    fn fraud(&mut self, base: i64, target: i64, limit: i64) -> Option<Vec<Pending>> {
        let plan = self.p.fraud.clone()?;
        let pattern = *plan.patterns.get(self.rng.random_range(0..plan.patterns.len().max(1)))?;
        let tag = Some(FraudTag { pattern, incident: self.st.incidents });
        let country = self.p.home_country.clone();
        let batch = match pattern {
            Pattern::CardTesting => {
                let account = self.spending_account();
                let merchant = plan.tiny[self.rng.random_range(0..plan.tiny.len())].clone();
                let count = self.rng.random_range(CARD_TEST_COUNT.0..=CARD_TEST_COUNT.1);
                let mut at = target;
                let mut batch = Vec::new();
                for _ in 0..count {
                    let minor = self.amount(CARD_TEST_AMOUNT);
                    batch.push(Pending {
                        at,
                        item: Item::Txn {
                            account: account.clone(),
                            merchant: merchant.clone(),
                            category: "Shopping".into(),
                            channel: Channel::Online,
                            country: country.clone(),
                            minor: -minor,
                            fraud: tag,
                        },
                    });
                    at += self.rng.random_range(CARD_TEST_GAP.0..=CARD_TEST_GAP.1);
                }
                batch
            }
            Pattern::ForeignCnp => {
                let at = target;
                let account = self.spending_account();
                let (merchant, country) = plan.foreign[self.rng.random_range(0..plan.foreign.len())].clone();
                let minor = self.amount(FOREIGN_AMOUNT);
                let item = Item::Txn {
                    account,
                    merchant,
                    category: "Shopping".into(),
                    channel: Channel::Online,
                    country,
                    minor: -minor,
                    fraud: tag,
                };
                vec![Pending { at, item }]
            }
            Pattern::OddHour => {
                let at = self.odd_hour(base, limit)?;
                let account = self.spending_account();
                let merchant = plan.large[self.rng.random_range(0..plan.large.len())].clone();
                let minor = self.amount(ODD_HOUR_AMOUNT);
                let item = Item::Txn {
                    account,
                    merchant,
                    category: "Shopping".into(),
                    channel: Channel::Online,
                    country,
                    minor: -minor,
                    fraud: tag,
                };
                vec![Pending { at, item }]
            }
            Pattern::Duplicate => {
                let first = self.ordinary(target, tag);
                let mut second = first.clone();
                second.at += self.rng.random_range(DUPLICATE_GAP.0..=DUPLICATE_GAP.1);
                vec![first, second]
            }
        };
        self.st.incidents += 1;
        Some(batch)
    }

    /// A random time in a small-hours window (01:00–04:59 local) after `base`
    /// and not after `limit`, if one fits.
    fn odd_hour(&mut self, base: i64, limit: i64) -> Option<i64> {
        let day = self.local_day(base);
        for d in day..=day + 1 {
            let low = self.at_local(d, ODD_HOUR_WINDOW.0).max(base + 1);
            let high = self.at_local(d, ODD_HOUR_WINDOW.1).min(limit);
            if low <= high {
                return Some(self.rng.random_range(low..=high));
            }
        }
        None
    }

    /// The time of the next ordinary event after `base`: an exponentially
    /// distributed gap of local daytime (nights are skipped), so that
    /// `events_per_day` events fall between 07:00 and 22:00 on average.
    fn next_time(&mut self, base: i64) -> i64 {
        let mean = (DAY_END - DAY_START) as f64 / self.p.events_per_day;
        let u: f64 = self.rng.random();
        // `as` saturates; the clamp keeps gaps sensible.
        let mut gap = ((-(1.0 - u).ln() * mean) as i64).clamp(MIN_GAP, MAX_GAP);
        let mut t = base;
        loop {
            let (day, time) = (self.local_day(t), self.local_time(t));
            if time < DAY_START {
                t = self.at_local(day, DAY_START);
            } else if time >= DAY_END {
                t = self.at_local(day + 1, DAY_START);
            }
            let left_today = DAY_END - self.local_time(t);
            if gap < left_today {
                return t + gap;
            }
            gap -= left_today;
            t = self.at_local(self.local_day(t) + 1, DAY_START);
        }
    }

    /// A random amount in a range given in hundredths of a major unit.
    fn amount(&mut self, (low, high): (i64, i64)) -> i64 {
        let (low, high) = (self.p.scaled(low), self.p.scaled(high));
        self.rng.random_range(low..=high.max(low))
    }

    fn spending_account(&mut self) -> String {
        let accounts = &self.p.accounts;
        let i = weighted(&mut self.rng, accounts.iter().map(|a| a.spending));
        accounts[i].id.clone()
    }

    /// What is scheduled in `(from, to]`: recurring items, weekly balance
    /// reports and statements, in time order.
    fn scheduled(&self, from: i64, to: i64) -> Vec<Pending> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        for day in self.local_day(from)..=self.local_day(to) {
            let Some(date) = date_of(day) else { continue };
            let month_days = days_in_month(date);
            let mut push = |at: i64, item: Item| {
                if from < at && at <= to {
                    out.push(Pending { at, item });
                }
            };
            for (i, r) in self.p.recurring.iter().enumerate() {
                if !r.days.iter().any(|&d| d.min(month_days) == date.day()) {
                    continue;
                }
                let at = self.at_local(day, RECURRING_AT + i as i64 * MINUTE);
                let minor = match &r.amount {
                    Amount::Fixed(minor) => *minor,
                    Amount::CardBalance { card, card_name } => {
                        let item = Item::Payment {
                            from: r.account.clone(),
                            card: card.clone(),
                            merchant: r.name.clone(),
                            card_merchant: card_name.clone(),
                            category: r.category.clone(),
                            channel: r.channel,
                        };
                        push(at, item);
                        continue;
                    }
                };
                push(
                    at,
                    Item::Txn {
                        account: r.account.clone(),
                        merchant: r.name.clone(),
                        category: r.category.clone(),
                        channel: r.channel,
                        country: self.p.home_country.clone(),
                        minor,
                        fraud: None,
                    },
                );
                if r.is_deposit() {
                    let account = self.p.account(&r.account).map_or(r.account.as_str(), |a| a.name.as_str());
                    let text = format!(
                        "Your direct deposit of {} ({}) arrived in {account}.",
                        Money::new(minor, self.p.currency),
                        r.name
                    );
                    push(at, Item::Notice { text });
                }
            }
            if date.weekday() == BALANCE_DAY {
                let at = self.at_local(day, BALANCE_AT);
                for a in &self.p.accounts {
                    push(at, Item::Balance { account: a.id.clone() });
                }
            }
            for a in &self.p.accounts {
                if a.statement_day == date.day() {
                    let at = self.at_local(day, STATEMENT_AT);
                    let period_start = previous_month(date, a.statement_day)
                        .map_or(at - 30 * DAY, |d| self.at_local(day_number(d), STATEMENT_AT));
                    push(at, Item::Statement { account: a.id.clone(), period_start });
                }
            }
        }
        out
    }

    /// Turns a decided event into a feed event at its time (never before the
    /// previous one, never after now). `None` if it no longer applies (its
    /// account left the profile).
    fn deliver(&mut self, pending: Pending, now: i64, frozen: &HashSet<String>) -> Option<Step> {
        let pending = self.decide_payment(pending)?;
        let at = pending.at.min(now).max(self.st.last_at);
        let when = to_utc(at);
        let currency = self.p.currency;
        let (event, fraud) = match pending.item {
            Item::Txn { account, merchant, category, channel, country, minor, fraud } => {
                let acct = self.p.account(&account)?;
                let card_charge = minor < 0 && matches!(channel, Channel::CardPresent | Channel::Online | Channel::Atm);
                match (&acct.card_mask, card_charge && frozen.contains(&account)) {
                    (Some(card), true) => {
                        let text = format!(
                            "Declined: {} at {merchant} — your card •{card} is frozen. \
                             Say \"unfreeze card\" to use it again.",
                            Money::new(minor, currency).abs()
                        );
                        (self.message(when, MessageKind::Transaction, text), None)
                    }
                    _ => {
                        let balance = self.st.balances.get_mut(&account)?;
                        let Some(next) = balance.checked_add(minor) else {
                            tracing::warn!(bank = %self.bank, "simulated feed: balance overflow; transaction skipped");
                            return None;
                        };
                        *balance = next;
                        self.st.seq += 1;
                        let txn = TxnInfo {
                            account,
                            external_id: format!("{}-{:08}", self.bank, self.st.seq),
                            posted_at: when,
                            amount: Money::new(minor, currency),
                            merchant,
                            category,
                            channel,
                            country,
                            notify: minor > 0 || minor.saturating_abs() >= self.p.notify_over,
                        };
                        (FeedEvent::Transaction(txn), fraud)
                    }
                }
            }
            Item::Balance { account } => {
                let balance = Money::new(*self.st.balances.get(&account)?, currency);
                (FeedEvent::Balance { account, at: when, balance }, None)
            }
            Item::Statement { account, period_start } => {
                let closing = Money::new(*self.st.balances.get(&account)?, currency);
                let local = to_utc(at + self.offset);
                let external_id = format!("{}-{account}-stmt-{}", self.bank, local.format("%Y-%m"));
                let period_start = to_utc(period_start.min(at));
                (FeedEvent::Statement { account, external_id, period_start, period_end: when, closing }, None)
            }
            Item::Notice { text } => (self.message(when, MessageKind::Service, text), None),
            // Decided above.
            Item::Payment { .. } => return None,
        };
        self.st.last_at = at;
        Some(Step { event, fraud })
    }

    /// Decides a card payment as it posts: the card's balance owed now.
    /// Returns the transaction leaving `from` and queues the one arriving on
    /// the card right after it, so that a cursor between the two keeps the
    /// pair whole. `None` when nothing is owed or an account left the
    /// profile; other items pass through.
    fn decide_payment(&mut self, pending: Pending) -> Option<Pending> {
        let Pending { at, item: Item::Payment { from, card, merchant, card_merchant, category, channel } } = pending
        else {
            return Some(pending);
        };
        let owed = self.st.balances.get(&card)?.checked_neg().filter(|owed| *owed > 0)?;
        if self.st.balances.get(&from)?.checked_sub(owed).is_none() {
            tracing::warn!(bank = %self.bank, "simulated feed: balance overflow; card payment skipped");
            return None;
        }
        let country = self.p.home_country.clone();
        let txn = |account, merchant, minor| Pending {
            at,
            item: Item::Txn {
                account,
                merchant,
                category: category.clone(),
                channel,
                country: country.clone(),
                minor,
                fraud: None,
            },
        };
        self.st.queue.push_front(txn(card, card_merchant, owed));
        Some(txn(from, merchant, -owed))
    }

    fn message(&mut self, at: DateTime<Utc>, kind: MessageKind, text: String) -> FeedEvent {
        self.st.msg_seq += 1;
        FeedEvent::Message { external_id: format!("{}-m{}", self.bank, self.st.msg_seq), at, kind, text }
    }

    fn local_day(&self, t: i64) -> i64 {
        (t + self.offset).div_euclid(DAY)
    }

    fn local_time(&self, t: i64) -> i64 {
        (t + self.offset).rem_euclid(DAY)
    }

    fn at_local(&self, day: i64, time: i64) -> i64 {
        day * DAY + time - self.offset
    }

    fn is_small_hours(&self, t: i64) -> bool {
        SMALL_HOURS.contains(&self.local_time(t))
    }
}

/// Picks an index with probability proportional to its weight (the weights
/// are validated: at least one is positive, each at most a million).
fn weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u64 = weights.clone().map(u64::from).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (i, w) in weights.enumerate() {
        let w = u64::from(w);
        if pick < w {
            return i;
        }
        pick -= w;
    }
    0
}

/// Mixes the user's seed with the bank id (FNV-1a, then a SplitMix64 finaliser)
/// so that every bank has its own stream, stable across Rust versions.
fn mix_seed(seed: u64, bank: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bank.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn to_utc(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Days from 0001-01-01 (day 1 in chrono's count) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i64 = 719_163;

fn date_of(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + UNIX_EPOCH_CE_DAYS).ok()?)
}

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - UNIX_EPOCH_CE_DAYS
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m + 1, 1) };
    next.and_then(|d| d.pred_opt()).map_or(28, |d| d.day())
}

fn previous_month(date: NaiveDate, day: u32) -> Option<NaiveDate> {
    let (y, m) = if date.month() == 1 { (date.year() - 1, 12) } else { (date.year(), date.month() - 1) };
    NaiveDate::from_ymd_opt(y, m, day)
}

// ---------------------------------------------------------------------------
// The feed

struct SimulatedFeed {
    profile: SimProfile,
}

impl BankFeed for SimulatedFeed {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(run(self.profile, ctx))
    }
}

/// Whether a send went through or the feed was cancelled meanwhile.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    Done,
    Cancelled,
}

/// Sends one event unless the feed is cancelled first; fails if the writer is gone.
async fn send(ctx: &FeedContext, event: FeedEvent) -> Result<Sent, FeedError> {
    tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Ok(Sent::Cancelled),
        r = ctx.sink.send(event) => r.map(|()| Sent::Done),
    }
}

/// Hands over the final cursor of a cancelled feed if the writer takes it
/// promptly; the previous cursor stays valid otherwise.
async fn send_final_cursor(ctx: &FeedContext, cursor: String) {
    let _ = tokio::time::timeout(FINAL_CURSOR_GRACE, ctx.sink.send(FeedEvent::Cursor(cursor))).await;
}

fn now_secs(ctx: &FeedContext) -> i64 {
    (ctx.clock)().timestamp()
}

/// Produces one event, delivers it, and reports cancellation with the cursor
/// as it was before the undelivered event.
struct Runner<'a> {
    ctx: &'a FeedContext,
    sim: Sim,
    /// Bank events delivered in this run.
    events: u64,
    /// `events` when the last cursor was sent.
    cursor_at: Option<u64>,
}

enum Outcome {
    Delivered,
    /// Catch-up reached now.
    CaughtUp,
    Cancelled,
}

impl Runner<'_> {
    async fn step(&mut self, pace: Pace) -> Result<Outcome, FeedError> {
        let before = self.sim.snapshot();
        let step = {
            let control = self.ctx.control.borrow();
            self.sim.step(now_secs(self.ctx), pace, &control.frozen_accounts)
        };
        let Some(step) = step else {
            return match pace {
                Pace::CatchUp => Ok(Outcome::CaughtUp),
                _ => Err(FeedError::Other("simulated feed stalled".into())),
            };
        };
        if send(self.ctx, step.event).await? == Sent::Cancelled {
            send_final_cursor(self.ctx, before.to_json()).await;
            return Ok(Outcome::Cancelled);
        }
        self.events += 1;
        if self.events % CURSOR_EVERY == 0 && self.send_cursor().await? == Sent::Cancelled {
            return Ok(Outcome::Cancelled);
        }
        Ok(Outcome::Delivered)
    }

    /// Sends the cursor unless it was just sent.
    async fn send_cursor(&mut self) -> Result<Sent, FeedError> {
        if self.cursor_at == Some(self.events) {
            return Ok(Sent::Done);
        }
        let cursor = self.sim.cursor();
        let sent = send(self.ctx, FeedEvent::Cursor(cursor.clone())).await?;
        match sent {
            Sent::Done => self.cursor_at = Some(self.events),
            Sent::Cancelled => send_final_cursor(self.ctx, cursor).await,
        }
        Ok(sent)
    }

    /// Ends a cancelled run: hands over the cursor (if not just sent).
    async fn cancelled(&mut self) -> FeedExit {
        if self.cursor_at != Some(self.events) {
            send_final_cursor(self.ctx, self.sim.cursor()).await;
        }
        FeedExit::Cancelled { events: self.events }
    }
}

async fn run(mut profile: SimProfile, ctx: FeedContext) -> Result<FeedExit, FeedError> {
    let now = now_secs(&ctx);
    // More events than fit in MAX_SPAN at the profile's pace: a busier
    // customer (more ordinary spending per day), so history stays spread out
    // instead of piling up against now.
    if let (FeedMode::Events(n), None) = (ctx.mode, &ctx.cursor) {
        let max_days = (MAX_SPAN / DAY) as f64;
        if n as f64 / profile.daily_rate() > max_days {
            let fixed = profile.daily_rate() - profile.events_per_day;
            let busier = (n as f64 / max_days - fixed).max(profile.events_per_day);
            // Who spends k times as much earns k times as much: income scales
            // with the spending so balances stay as healthy as the profile's.
            let k = busier / profile.events_per_day;
            profile.events_per_day = busier;
            for r in &mut profile.recurring {
                if let Amount::Fixed(minor) = &mut r.amount
                    && *minor > 0
                {
                    *minor = ((*minor as f64) * k).round().min(i64::MAX as f64 / 4.0) as i64;
                }
            }
        }
    }
    let backfill = i64::from(profile.backfill_days) * DAY;
    let span = match ctx.mode {
        // n events at the profile's rate end about now.
        FeedMode::Events(n) => {
            let at_rate = (n as f64 * DAY as f64 / profile.daily_rate()).min(MAX_SPAN as f64) as i64;
            backfill.max(at_rate)
        }
        FeedMode::Live => backfill,
    };
    let live_every = profile.live_every_secs;
    let (mut sim, linked) =
        Sim::open(profile, &ctx.bank, ctx.seed, ctx.utc_offset_secs, ctx.cursor.as_deref(), now - span);
    if let Some(ahead) = sim.not_after(now) {
        let zone = crate::domain::when::zone(ctx.utc_offset_secs);
        let text = format!(
            "This computer's clock is earlier than the last event of this feed ({}): the clock was ahead then, \
             or is behind now. The feed goes on from now; check the date and time settings.",
            crate::domain::when::long_date(to_utc(ahead), zone)
        );
        tracing::warn!(bank = %ctx.bank, "simulated feed: its cursor is ahead of the clock; resuming from now");
        if send(&ctx, FeedEvent::SystemNotice { at: to_utc(now), text }).await? == Sent::Cancelled {
            return Ok(FeedExit::Cancelled { events: 0 });
        }
    }
    for info in linked {
        if send(&ctx, FeedEvent::Account(info)).await? == Sent::Cancelled {
            // Nothing of this run is committed: the next run links again.
            return Ok(FeedExit::Cancelled { events: 0 });
        }
    }
    let mut runner = Runner { ctx: &ctx, sim, events: 0, cursor_at: None };

    match ctx.mode {
        FeedMode::Events(n) => {
            while runner.events < n {
                match runner.step(Pace::Events { remaining: n - runner.events }).await? {
                    Outcome::Delivered | Outcome::CaughtUp => {}
                    Outcome::Cancelled => return Ok(FeedExit::Cancelled { events: runner.events }),
                }
            }
            // Everything asked for was produced; a cancellation now only
            // shortens the wait for the final cursor.
            runner.send_cursor().await?;
            Ok(FeedExit::Finished { events: n })
        }
        FeedMode::Live => {
            runner.sim.skip_to(now - backfill);
            loop {
                match runner.step(Pace::CatchUp).await? {
                    Outcome::Delivered => {}
                    Outcome::CaughtUp => break,
                    Outcome::Cancelled => return Ok(FeedExit::Cancelled { events: runner.events }),
                }
            }
            if runner.send_cursor().await? == Sent::Cancelled {
                return Ok(FeedExit::Cancelled { events: runner.events });
            }
            // Pacing has its own generator so that it does not change the events.
            let mut pacing = ChaCha8Rng::seed_from_u64(mix_seed(ctx.seed, ctx.bank.as_str()).rotate_left(17) ^ 0x5eed);
            loop {
                let wait = Duration::from_secs(pacing.random_range(live_every.0..=live_every.1));
                tokio::select! {
                    biased;
                    _ = ctx.cancel.cancelled() => return Ok(runner.cancelled().await),
                    _ = tokio::time::sleep(wait) => {}
                }
                match runner.step(Pace::Live).await? {
                    Outcome::Delivered | Outcome::CaughtUp => {}
                    Outcome::Cancelled => return Ok(FeedExit::Cancelled { events: runner.events }),
                }
                // In real time a cursor per event keeps a restart from
                // replaying events that the clock would now place differently.
                if runner.send_cursor().await? == Sent::Cancelled {
                    return Ok(FeedExit::Cancelled { events: runner.events });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::Arc;

    use chrono::{TimeDelta, TimeZone, Timelike};
    use tokio::sync::{mpsc, watch};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::domain::Severity;
    use crate::domain::fraud::{FraudRules, TxnFacts};
    use crate::feed::{BankControl, Clock, Envelope, FeedSink, profile};

    /// New York in winter.
    const OFFSET: i32 = -5 * 3600;

    fn profiles() -> Vec<BankProfile> {
        profile::load_all(None).expect("embedded profiles parse")
    }

    fn bank(id: &str) -> BankProfile {
        profiles().into_iter().find(|p| p.id.as_str() == id).expect("embedded bank")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 15, 30, 0).unwrap()
    }

    fn fixed_clock() -> Clock {
        Arc::new(now)
    }

    /// Everything a feed run needs that a test may want to vary.
    struct Setup {
        profile: BankProfile,
        seed: u64,
        cursor: Option<String>,
        mode: FeedMode,
        control: BankControl,
    }

    impl Setup {
        fn new(bank_id: &str, mode: FeedMode) -> Self {
            Setup { profile: bank(bank_id), seed: 42, cursor: None, mode, control: BankControl::default() }
        }

        fn context(&self, tx: mpsc::Sender<Envelope>, clock: Clock) -> (FeedContext, CancellationToken) {
            let cancel = CancellationToken::new();
            let (_, control) = watch::channel(self.control.clone());
            let ctx = FeedContext {
                bank: self.profile.id.clone(),
                cursor: self.cursor.clone(),
                sink: FeedSink::new(self.profile.id.clone(), 1, tx),
                cancel: cancel.clone(),
                control,
                mode: self.mode,
                clock,
                seed: self.seed,
                utc_offset_secs: OFFSET,
            };
            (ctx, cancel)
        }

        /// Runs the feed to the end with a fixed clock, collecting its events.
        async fn run(&self) -> (FeedExit, Vec<FeedEvent>) {
            let (tx, mut rx) = mpsc::channel(1024);
            let (ctx, _cancel) = self.context(tx, fixed_clock());
            let task = tokio::spawn(factory(&self.profile).expect("feed builds").run(ctx));
            let mut events = Vec::new();
            while let Some(envelope) = rx.recv().await {
                assert_eq!(envelope.bank, self.profile.id);
                events.push(envelope.event);
            }
            let exit = task.await.expect("feed task").expect("feed ends without error");
            (exit, events)
        }
    }

    fn bank_events(events: &[FeedEvent]) -> Vec<&FeedEvent> {
        events.iter().filter(|e| e.is_bank_event() && !matches!(e, FeedEvent::Account(_))).collect()
    }

    fn time_of(event: &FeedEvent) -> Option<DateTime<Utc>> {
        match event {
            FeedEvent::Transaction(t) => Some(t.posted_at),
            FeedEvent::Balance { at, .. } | FeedEvent::Message { at, .. } => Some(*at),
            FeedEvent::Statement { period_end, .. } => Some(*period_end),
            _ => None,
        }
    }

    fn txns(events: &[FeedEvent]) -> impl Iterator<Item = &TxnInfo> {
        events.iter().filter_map(|e| match e {
            FeedEvent::Transaction(t) => Some(t),
            _ => None,
        })
    }

    #[test]
    fn embedded_profiles_parse() {
        let all = profiles();
        let ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["chase", "wellsfargo", "citi", "usbank"]);
        let mut colors = HashSet::new();
        for p in &all {
            assert_eq!(p.feed, KIND);
            assert_eq!(p.home_country, "US");
            assert_eq!(p.currency, Currency::USD);
            assert!(colors.insert(p.color.clone()), "{} shares its colour", p.id);
            let sim = parse_profile(p).unwrap_or_else(|e| panic!("{e}"));
            assert!(sim.accounts.len() >= 2);
            assert!(sim.accounts.iter().any(|a| a.kind == AccountKind::Credit));
            assert!(sim.recurring.iter().any(|r| r.category == "Income" && r.fixed().is_some_and(|m| m > 0)));
            assert!(sim.recurring.iter().any(|r| r.category == "Credit Card Payment"));
            let fraud = sim.fraud.as_ref().expect("fraud table");
            assert_eq!(fraud.patterns.len(), Pattern::ALL.len());
            // Ordinary online spending stays at home, or it would look like fraud.
            assert!(sim.merchants.iter().all(|m| m.channel != Channel::Online || m.country == "US"));
            assert!(factory(p).is_ok());
        }
    }

    #[test]
    fn every_card_is_paid_in_full() {
        for p in profiles() {
            let sim = parse_profile(&p).unwrap();
            let payments: Vec<&Recurring> =
                sim.recurring.iter().filter(|r| r.category == "Credit Card Payment").collect();
            for r in &payments {
                assert!(matches!(r.amount, Amount::CardBalance { .. }), "{}: {} is a fixed amount", p.id, r.name);
                assert_ne!(sim.account(&r.account).unwrap().kind, AccountKind::Credit, "{}: {}", p.id, r.name);
            }
            for card in sim.accounts.iter().filter(|a| a.kind == AccountKind::Credit) {
                let paid =
                    payments.iter().any(|r| matches!(&r.amount, Amount::CardBalance { card: c, .. } if *c == card.id));
                assert!(paid, "{}: nothing pays {}", p.id, card.id);
            }
        }
    }

    #[test]
    fn card_payments_parse_and_errors_name_the_key() {
        use toml::Value;
        // recurring[12] is chase's card payment.
        let p = parse_with("recurring[12].card_name", Value::from("AUTOPAY PAYMENT")).unwrap();
        let r = &p.recurring[12];
        assert_eq!(
            (r.account.as_str(), &r.amount),
            ("checking", &Amount::CardBalance { card: "sapphire".into(), card_name: "AUTOPAY PAYMENT".into() })
        );
        let cases = [
            ("recurring[12].card", Value::from("savings"), "recurring[12].card: \"savings\" is not a credit"),
            ("recurring[12].card", Value::from("amex"), "recurring[12].card"),
            ("recurring[12].account", Value::from("sapphire"), "recurring[12].account: \"sapphire\" is a credit"),
            ("recurring[12].channel", Value::from("online"), "recurring[12].channel"),
            ("recurring[12].card_name", Value::from(" "), "recurring[12].card_name: is empty"),
            ("recurring[12].amount", Value::from("statement"), "recurring[12].amount"),
            ("recurring[11].card", Value::from("sapphire"), "recurring[11].card: is only for card payments"),
            ("recurring[0].card_name", Value::from("Thanks"), "recurring[0].card_name"),
        ];
        for (path, value, expected) in cases {
            let message = profile_error(path, value);
            assert!(message.contains(expected), "{path}: {message:?} does not mention {expected:?}");
        }
        let mut p = bank("chase");
        let recurring = p.raw[KIND]["recurring"].as_array_mut().unwrap();
        recurring[12].as_table_mut().unwrap().remove("card");
        let message = parse_profile(&p).unwrap_err().to_string();
        assert!(message.contains("recurring[12].card: is missing"), "{message}");
    }

    /// Replaces `key` (a dotted path; `name[i]` indexes arrays) in the
    /// profile's `[simulated]` table and parses it.
    fn parse_with(path: &str, value: toml::Value) -> Result<SimProfile, FeedError> {
        let mut p = bank("chase");
        let mut node = p.raw.get_mut(KIND).expect("table");
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let (name, index) = match part.split_once('[') {
                Some((n, rest)) => (n, Some(rest.trim_end_matches(']').parse::<usize>().unwrap())),
                None => (*part, None),
            };
            let table = node.as_table_mut().expect("a table");
            if i == parts.len() - 1 && index.is_none() {
                table.insert(name.to_string(), value);
                return parse_profile(&p);
            }
            node = table.get_mut(name).expect("key exists");
            if let Some(index) = index {
                node = &mut node.as_array_mut().expect("an array")[index];
            }
        }
        unreachable!("empty path")
    }

    fn profile_error(path: &str, value: toml::Value) -> String {
        match parse_with(path, value) {
            Err(FeedError::Profile { bank, message }) => {
                assert_eq!(bank, "chase");
                message
            }
            other => panic!("{path}: expected a profile error, got {other:?}"),
        }
    }

    #[test]
    fn profile_errors_name_the_key() {
        use toml::Value;
        let cases = [
            ("colour", Value::from("#ffffff"), "unknown field `colour`"),
            ("accounts[1].mask", Value::from("88x0"), "accounts[1].mask"),
            ("accounts[0].kind", Value::from("chequing"), "accounts[0].kind"),
            ("accounts[0].opening", Value::from("12.345"), "accounts[0].opening"),
            ("accounts[1].spending", Value::from(2), "needs a card"),
            ("merchants[2].amount", Value::Array(vec!["9.00".into(), "1.00".into()]), "merchants[2].amount"),
            ("merchants[0].channel", Value::from("transfer"), "merchants[0].channel"),
            ("recurring[0].account", Value::from("brokerage"), "recurring[0].account"),
            ("recurring[0].days", Value::Array(vec![Value::from(32)]), "recurring[0].days"),
            ("recurring[1].amount", Value::from("-2,650.00"), "recurring[1].amount"),
            ("live_every_secs", Value::Array(vec![Value::from(15), Value::from(4)]), "live_every_secs"),
            ("events_per_day", Value::from(0), "events_per_day"),
            ("notify_over", Value::from(25), "notify_over"),
            ("fraud.patterns", Value::Array(vec!["phishing".into()]), "fraud.patterns[0]"),
            ("fraud.chance", Value::from(1.5), "fraud.chance"),
            ("fraud.tiny_merchants", Value::Array(vec![]), "fraud.tiny_merchants"),
        ];
        for (path, value, expected) in cases {
            let message = profile_error(path, value);
            assert!(message.contains(expected), "{path}: {message:?} does not mention {expected:?}");
            assert!(message.contains("embedded:assets/banks/chase.toml"), "{message}");
        }
        let mut p = bank("chase");
        p.raw.remove(KIND);
        assert!(matches!(parse_profile(&p), Err(FeedError::Profile { message, .. }) if message.contains("missing")));
    }

    #[tokio::test]
    async fn events_mode_yields_exactly_n_bank_events_in_time_order() {
        let n = 500;
        let (exit, events) = Setup::new("chase", FeedMode::Events(n)).run().await;
        assert_eq!(exit, FeedExit::Finished { events: n });
        let bank = bank_events(&events);
        assert_eq!(bank.len() as u64, n);

        // Accounts are linked first, the run ends with a cursor.
        let accounts = events.iter().take_while(|e| matches!(e, FeedEvent::Account(_))).count();
        assert_eq!(accounts, 3);
        assert!(matches!(events.last(), Some(FeedEvent::Cursor(_))));
        // A cursor after every 64 bank events, and one at the end.
        let cursors = events.iter().filter(|e| matches!(e, FeedEvent::Cursor(_))).count() as u64;
        assert_eq!(cursors, n / CURSOR_EVERY + 1);

        let times: Vec<DateTime<Utc>> = bank.iter().filter_map(|e| time_of(e)).collect();
        assert_eq!(times.len() as u64, n);
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "events go back in time");
        assert!(times.iter().all(|t| *t <= now()), "an event after now");
        let backfill = TimeDelta::days(90);
        assert!(times[0] < now() - backfill + TimeDelta::days(2), "history starts {}", times[0]);

        // Every kind of bank event shows up in a few months of history.
        assert!(bank.iter().any(|e| matches!(e, FeedEvent::Balance { .. })));
        assert!(bank.iter().any(|e| matches!(e, FeedEvent::Statement { .. })));
        assert!(bank.iter().any(|e| matches!(e, FeedEvent::Message { kind: MessageKind::Service, .. })));
        assert!(txns(&events).any(|t| t.merchant == "Brightline Health Payroll"));
    }

    #[tokio::test]
    async fn events_mode_with_many_events_reaches_further_back_but_not_past_now() {
        let n = 3000;
        let (exit, events) = Setup::new("usbank", FeedMode::Events(n)).run().await;
        assert_eq!(exit, FeedExit::Finished { events: n });
        let times: Vec<DateTime<Utc>> = events.iter().filter_map(time_of).collect();
        assert_eq!(times.len() as u64, n);
        // 3000 events at 6 a day (plus scheduled ones) span well over 90 days and end near now.
        assert!(times[0] < now() - TimeDelta::days(300), "starts {}", times[0]);
        assert!(*times.last().unwrap() > now() - TimeDelta::days(3), "ends {}", times.last().unwrap());
        assert!(times.windows(2).all(|w| w[0] <= w[1]) && times.iter().all(|t| *t <= now()));
    }

    #[tokio::test]
    async fn same_seed_gives_the_same_events_and_another_seed_does_not() {
        let setup = Setup::new("wellsfargo", FeedMode::Events(300));
        let (_, first) = setup.run().await;
        let (_, second) = setup.run().await;
        assert_eq!(first, second);

        let other = Setup { seed: 43, ..Setup::new("wellsfargo", FeedMode::Events(300)) };
        let (_, third) = other.run().await;
        assert_ne!(bank_events(&first), bank_events(&third));
        // The bank is mixed into the seed: two banks never share a stream.
        assert_ne!(mix_seed(42, "chase"), mix_seed(42, "citi"));
        assert_eq!(mix_seed(42, "chase"), mix_seed(42, "chase"));
    }

    #[tokio::test]
    async fn resumes_exactly_from_a_midway_cursor() {
        let (_, full) = Setup::new("citi", FeedMode::Events(200)).run().await;
        // The cursor emitted after the 128th bank event.
        let mut seen = 0;
        let (at, cursor) = full
            .iter()
            .enumerate()
            .find_map(|(i, e)| {
                if e.is_bank_event() && !matches!(e, FeedEvent::Account(_)) {
                    seen += 1;
                }
                match e {
                    FeedEvent::Cursor(c) if seen == 128 => Some((i, c.clone())),
                    _ => None,
                }
            })
            .expect("a cursor after 128 events");

        let resumed = Setup { cursor: Some(cursor), ..Setup::new("citi", FeedMode::Events(72)) };
        let (exit, rest) = resumed.run().await;
        assert_eq!(exit, FeedExit::Finished { events: 72 });
        // No accounts are linked again; events and cursors continue identically.
        assert_eq!(rest, full[at + 1..]);
    }

    #[tokio::test]
    async fn an_unreadable_cursor_starts_over() {
        let (_, fresh) = Setup::new("chase", FeedMode::Events(50)).run().await;
        for bad in ["not json", "{\"v\":99}", "{}"] {
            let setup = Setup { cursor: Some(bad.to_string()), ..Setup::new("chase", FeedMode::Events(50)) };
            let (exit, events) = setup.run().await;
            assert_eq!(exit, FeedExit::Finished { events: 50 });
            assert_eq!(events, fresh, "cursor {bad:?}");
        }
    }

    #[tokio::test]
    async fn frozen_cards_decline_instead_of_charging() {
        let mut setup = Setup::new("chase", FeedMode::Events(400));
        setup.control.frozen_accounts = ["sapphire".to_string()].into();
        let (exit, events) = setup.run().await;
        assert_eq!(exit, FeedExit::Finished { events: 400 });
        let card_charges = txns(&events)
            .filter(|t| t.account == "sapphire" && t.amount.is_negative())
            .filter(|t| matches!(t.channel, Channel::CardPresent | Channel::Online | Channel::Atm))
            .count();
        assert_eq!(card_charges, 0);
        let declines: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                FeedEvent::Message { kind: MessageKind::Transaction, text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(declines.len() > 50, "{} declines", declines.len());
        assert!(declines.iter().all(|d| d.starts_with("Declined: $") && d.contains("your card •7742 is frozen")));
        assert!(declines[0].ends_with("Say \"unfreeze card\" to use it again."), "{}", declines[0]);
        // The payment to the card is not a card charge; the unfrozen debit card still works.
        assert!(txns(&events).any(|t| t.account == "sapphire" && t.amount.minor > 0));
        assert!(txns(&events).any(|t| t.account == "checking" && t.channel == Channel::CardPresent));
    }

    #[tokio::test]
    async fn reported_balances_add_up_and_ids_are_unique() {
        let (_, events) = Setup::new("usbank", FeedMode::Events(1500)).run().await;
        let mut balances: HashMap<String, i64> = HashMap::new();
        let mut ids = HashSet::new();
        let (mut reports, mut statements) = (0, 0);
        for e in &events {
            match e {
                FeedEvent::Account(a) => {
                    balances.insert(a.external_id.clone(), a.opening.minor);
                }
                FeedEvent::Transaction(t) => {
                    *balances.get_mut(&t.account).expect("linked account") += t.amount.minor;
                    assert!(ids.insert(t.external_id.clone()), "{}", t.external_id);
                    assert_eq!(t.notify, t.amount.minor > 0 || t.amount.minor <= -4000, "{t:?}");
                }
                FeedEvent::Balance { account, balance, .. } => {
                    assert_eq!(balances[account], balance.minor, "{account}");
                    reports += 1;
                }
                FeedEvent::Statement { account, closing, external_id, period_start, period_end } => {
                    assert_eq!(balances[account], closing.minor, "{account}");
                    assert!(period_start < period_end);
                    assert!(ids.insert(external_id.clone()), "{external_id}");
                    statements += 1;
                }
                FeedEvent::Message { external_id, .. } => assert!(ids.insert(external_id.clone()), "{external_id}"),
                _ => {}
            }
        }
        assert!(reports > 30 && statements > 10, "{reports} balance reports, {statements} statements");
        assert!(events.iter().any(|e| matches!(
            e,
            FeedEvent::Message { text, .. } if text.starts_with("Your direct deposit of $5,130.00")
        )));
    }

    #[tokio::test]
    async fn ordinary_spending_happens_in_local_daytime() {
        let (_, events) = Setup::new("chase", FeedMode::Events(2000)).run().await;
        let card: Vec<&TxnInfo> =
            txns(&events).filter(|t| matches!(t.channel, Channel::CardPresent | Channel::Atm)).collect();
        let offset = TimeDelta::seconds(i64::from(OFFSET));
        let at_night = card.iter().filter(|t| !(7..22).contains(&(t.posted_at + offset).hour())).count();
        assert!(card.len() > 500);
        assert!(at_night * 100 <= card.len(), "{at_night} of {} card-present charges at night", card.len());
    }

    #[test]
    fn fraud_patterns_trip_the_local_rules_and_ordinary_spending_does_not() {
        let bank_id = BankId::new("chase").unwrap();
        let home = "US";
        for profile in profiles() {
            let mut sim_profile = parse_profile(&profile).unwrap();
            // More fraud than usual so that every pattern shows up often.
            if let Some(f) = sim_profile.fraud.as_mut() {
                f.chance = 0.03;
            }
            let n = 5000u64;
            let start = now().timestamp() - (n as f64 / sim_profile.daily_rate()) as i64 * DAY;
            let (mut sim, _) = Sim::open(sim_profile, &bank_id, 7, OFFSET, None, start);
            let mut rules = FraudRules::new(OFFSET);
            let frozen = HashSet::new();
            let mut incidents: HashMap<u64, (Pattern, bool)> = HashMap::new();
            let (mut ordinary, mut false_alarms) = (0, 0);
            // Past n, until the last incident is complete.
            for i in 0..n {
                let pace = Pace::Events { remaining: n - i };
                let step = sim.step(now().timestamp(), pace, &frozen).expect("an event");
                let FeedEvent::Transaction(t) = &step.event else { continue };
                let facts = TxnFacts {
                    account: &t.account,
                    external_id: &t.external_id,
                    posted_at: t.posted_at,
                    amount: t.amount,
                    merchant: &t.merchant,
                    channel: t.channel,
                    country: &t.country,
                };
                let suspicion = rules.observe(&bank_id, home, &facts);
                match step.fraud {
                    Some(tag) => incidents.entry(tag.incident).or_insert((tag.pattern, false)).1 |= suspicion.is_some(),
                    None => {
                        ordinary += 1;
                        false_alarms += usize::from(suspicion.is_some());
                    }
                }
            }
            // An incident cut short by the end of the run does not count.
            for pending in &sim.st.queue {
                if let Item::Txn { fraud: Some(tag), .. } = &pending.item {
                    incidents.remove(&tag.incident);
                }
            }
            for pattern in Pattern::ALL {
                let of_kind: Vec<bool> =
                    incidents.values().filter(|(p, _)| p == pattern).map(|(_, hit)| *hit).collect();
                assert!(of_kind.len() >= 5, "{}: only {} {pattern} incidents", profile.id, of_kind.len());
                assert!(of_kind.iter().all(|hit| *hit), "{}: a {pattern} incident went unnoticed", profile.id);
            }
            assert!(
                false_alarms * 100 < ordinary,
                "{}: {false_alarms} false alarms in {ordinary} ordinary transactions",
                profile.id
            );
        }
    }

    #[test]
    fn patterns_look_like_what_they_are() {
        let p = parse_profile(&bank("chase")).unwrap();
        let start = now().timestamp() - 200 * DAY;
        let mut sim_profile = p.clone();
        if let Some(f) = sim_profile.fraud.as_mut() {
            f.chance = 0.2;
        }
        let (mut sim, _) = Sim::open(sim_profile, &BankId::new("chase").unwrap(), 3, OFFSET, None, start);
        let mut by_incident: BTreeMap<u64, Vec<TxnInfo>> = BTreeMap::new();
        let mut kinds: HashMap<u64, Pattern> = HashMap::new();
        for i in 0..2000u64 {
            let step = sim.step(now().timestamp(), Pace::Events { remaining: 2000 - i }, &HashSet::new()).unwrap();
            if let (FeedEvent::Transaction(t), Some(tag)) = (step.event, step.fraud) {
                by_incident.entry(tag.incident).or_default().push(t);
                kinds.insert(tag.incident, tag.pattern);
            }
        }
        let offset = TimeDelta::seconds(i64::from(OFFSET));
        for (incident, txns) in &by_incident {
            let first = &txns[0];
            match kinds[incident] {
                Pattern::CardTesting => {
                    assert!((3..=5).contains(&txns.len()) || *incident == by_incident.len() as u64 - 1);
                    assert!(
                        txns.iter().all(|t| (-299..=-50).contains(&t.amount.minor) && t.channel == Channel::Online)
                    );
                    let span = txns.last().unwrap().posted_at - first.posted_at;
                    assert!(span <= TimeDelta::minutes(15), "{span}");
                }
                Pattern::ForeignCnp => {
                    assert!((-90_000..=-8_000).contains(&first.amount.minor));
                    assert!(first.country != "US" && first.channel == Channel::Online);
                }
                Pattern::OddHour => {
                    assert!((-250_000..=-60_000).contains(&first.amount.minor));
                    assert!((1..=4).contains(&(first.posted_at + offset).hour()), "{}", first.posted_at);
                }
                Pattern::Duplicate => {
                    if let [a, b] = txns.as_slice() {
                        assert_eq!((a.amount, &a.merchant, &a.account), (b.amount, &b.merchant, &b.account));
                        assert_ne!(a.external_id, b.external_id);
                        assert!(b.posted_at - a.posted_at <= TimeDelta::minutes(5));
                    }
                }
            }
        }
        assert!(kinds.len() > 100);
    }

    #[test]
    fn checking_stays_funded_over_the_backfill() {
        for profile in profiles() {
            let sim_profile = parse_profile(&profile).unwrap();
            for seed in 1..=3 {
                let start = now().timestamp() - 90 * DAY;
                let (mut sim, _) = Sim::open(sim_profile.clone(), &profile.id, seed, OFFSET, None, start);
                let mut lowest = sim.st.balances.clone();
                while sim.step(now().timestamp(), Pace::CatchUp, &HashSet::new()).is_some() {
                    for (id, balance) in &sim.st.balances {
                        let low = lowest.entry(id.clone()).or_insert(*balance);
                        *low = (*low).min(*balance);
                    }
                }
                for a in sim_profile.accounts.iter().filter(|a| a.kind != AccountKind::Credit) {
                    assert!(lowest[&a.id] > 0, "{} {} went to {} (seed {seed})", profile.id, a.id, lowest[&a.id]);
                }
            }
        }
    }

    /// A clock that moves with tokio's (paused) time.
    fn tokio_clock() -> Clock {
        let start = tokio::time::Instant::now();
        Arc::new(move || now() + TimeDelta::from_std(start.elapsed()).unwrap_or_default())
    }

    #[tokio::test(start_paused = true)]
    async fn live_mode_catches_up_then_paces_events_and_stops_promptly() {
        let setup = Setup::new("chase", FeedMode::Live);
        let (tx, mut rx) = mpsc::channel(1024);
        let (ctx, cancel) = setup.context(tx, tokio_clock());
        let task = tokio::spawn(factory(&setup.profile).unwrap().run(ctx));

        // Catch-up: about 90 days of history, all before now, without waiting.
        let started = tokio::time::Instant::now();
        let mut history = 0;
        let mut live: Vec<(tokio::time::Instant, DateTime<Utc>)> = Vec::new();
        while live.len() < 8 {
            let envelope = rx.recv().await.expect("feed still running");
            let Some(at) = time_of(&envelope.event) else { continue };
            if at < now() {
                assert!(live.is_empty(), "history after live events");
                history += 1;
            } else {
                live.push((tokio::time::Instant::now(), at));
            }
        }
        assert!(history > 400, "{history} events of history");
        // Live events arrive over time, 4-15 seconds apart, stamped with the clock.
        let (first_seen, _) = live[0];
        assert!(first_seen - started >= Duration::from_secs(4));
        for w in live.windows(2) {
            let gap = w[1].1 - w[0].1;
            assert!(gap <= TimeDelta::seconds(15), "{gap}");
            assert!(w[1].0 >= w[0].0);
        }
        let (last_seen, last_at) = *live.last().unwrap();
        assert!(last_at <= now() + TimeDelta::from_std(last_seen - started).unwrap());
        assert!(last_seen - started >= Duration::from_secs(8 * 4 - 15));

        // Cancelled, the feed stops well under a second later, leaving a cursor.
        cancel.cancel();
        let stopped = tokio::time::Instant::now();
        let exit = tokio::time::timeout(Duration::from_millis(500), task).await.expect("stops promptly");
        assert!(matches!(exit, Ok(Ok(FeedExit::Cancelled { events })) if events >= history + 8));
        assert!(stopped.elapsed() < Duration::from_millis(500));
        let mut last = None;
        while let Ok(envelope) = rx.try_recv() {
            last = Some(envelope.event);
        }
        assert!(matches!(last, Some(FeedEvent::Cursor(_)) | None));
    }

    #[tokio::test(start_paused = true)]
    async fn live_mode_resumes_from_its_cursor_without_relinking() {
        let setup = Setup::new("citi", FeedMode::Live);
        let (tx, mut rx) = mpsc::channel(4096);
        let (ctx, cancel) = setup.context(tx, tokio_clock());
        let task = tokio::spawn(factory(&setup.profile).unwrap().run(ctx));
        tokio::time::sleep(Duration::from_secs(60)).await;
        cancel.cancel();
        let _ = task.await;
        let mut cursor = None;
        let mut last_seq = String::new();
        while let Ok(envelope) = rx.try_recv() {
            match envelope.event {
                FeedEvent::Cursor(c) => cursor = Some(c),
                FeedEvent::Transaction(t) => last_seq = t.external_id,
                _ => {}
            }
        }
        let resumed = Setup { cursor, ..Setup::new("citi", FeedMode::Live) };
        let (tx, mut rx) = mpsc::channel(4096);
        let (ctx, cancel) = resumed.context(tx, tokio_clock());
        let task = tokio::spawn(factory(&resumed.profile).unwrap().run(ctx));
        let first_txn = loop {
            match rx.recv().await.expect("running").event {
                FeedEvent::Account(a) => panic!("{} linked again", a.external_id),
                FeedEvent::Transaction(t) => break t,
                _ => {}
            }
        };
        assert!(first_txn.external_id > last_seq, "{} after {last_seq}", first_txn.external_id);
        cancel.cancel();
        assert!(matches!(task.await, Ok(Ok(FeedExit::Cancelled { .. }))));
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_is_prompt_under_back_pressure() {
        let setup = Setup::new("wellsfargo", FeedMode::Events(10_000));
        // Nobody reads: the feed blocks on a full channel (3 accounts, 13 events).
        let (tx, rx) = mpsc::channel(16);
        let (ctx, cancel) = setup.context(tx, fixed_clock());
        let task = tokio::spawn(factory(&setup.profile).unwrap().run(ctx));
        tokio::time::sleep(Duration::from_secs(5)).await;
        cancel.cancel();
        let exit = tokio::time::timeout(Duration::from_millis(500), task).await.expect("stops promptly");
        assert!(matches!(exit, Ok(Ok(FeedExit::Cancelled { events: 13 }))), "{exit:?}");
        assert_eq!(rx.len(), 16);
    }

    #[tokio::test]
    async fn a_closed_writer_is_an_error() {
        let setup = Setup::new("chase", FeedMode::Events(100));
        let (tx, rx) = mpsc::channel(8);
        drop(rx);
        let (ctx, _cancel) = setup.context(tx, fixed_clock());
        let result = factory(&setup.profile).unwrap().run(ctx).await;
        assert!(matches!(result, Err(FeedError::Closed)), "{result:?}");
    }

    #[test]
    fn odd_hour_fraud_sits_inside_the_rule() {
        // The simulator's odd-hour window and amounts sit inside the rule's.
        assert!(ODD_HOUR_WINDOW.0 >= SMALL_HOURS.start && ODD_HOUR_WINDOW.1 < SMALL_HOURS.end);
        assert!(ODD_HOUR_AMOUNT.0 >= ODD_HOUR_LARGE);
        let mut rules = FraudRules::new(0);
        let facts = TxnFacts {
            account: "sapphire",
            external_id: "x",
            posted_at: Utc.with_ymd_and_hms(2025, 1, 1, 4, 59, 0).unwrap(),
            amount: Money::new(-ODD_HOUR_AMOUNT.0, Currency::USD),
            merchant: "Apple.com",
            channel: Channel::Online,
            country: "US",
        };
        let hit = rules.observe(&BankId::new("chase").unwrap(), "US", &facts).unwrap();
        assert_eq!(hit.severity, Severity::High);
    }

    /// Replays a run's transactions: after each one, `seen` gets the
    /// transaction and every account's running balance.
    fn replay<'a>(events: &'a [FeedEvent], mut seen: impl FnMut(&'a FeedEvent, &BTreeMap<String, i64>)) {
        let mut balances = BTreeMap::new();
        for e in events {
            match e {
                FeedEvent::Account(a) => {
                    balances.insert(a.external_id.clone(), a.opening.minor);
                }
                FeedEvent::Transaction(t) => {
                    let b = balances.get_mut(&t.account).expect("linked account");
                    *b = b.checked_add(t.amount.minor).expect("no overflow");
                }
                _ => {}
            }
            seen(e, &balances);
        }
    }

    #[tokio::test]
    async fn long_histories_pay_cards_in_full_and_keep_checking_funded() {
        const FLOOR: i64 = -1_500_000; // -$15,000.00
        for bank_id in ["chase", "wellsfargo", "citi", "usbank"] {
            let sim = parse_profile(&bank(bank_id)).unwrap();
            let kind = |id: &str| sim.account(id).unwrap().kind;
            for seed in [1, 42] {
                let setup = Setup { seed, ..Setup::new(bank_id, FeedMode::Events(20_000)) };
                let (exit, events) = setup.run().await;
                assert_eq!(exit, FeedExit::Finished { events: 20_000 });
                let first = events.iter().find_map(time_of).unwrap();
                assert!(first < now() - TimeDelta::days(5 * 365), "{bank_id}: history starts {first}");

                let who = format!("{bank_id} (seed {seed})");
                let mut previous: Option<&TxnInfo> = None;
                let mut payments: BTreeMap<String, u32> = BTreeMap::new();
                let mut days_below_zero: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
                let mut end = BTreeMap::new();
                replay(&events, |e, balances| {
                    for (id, &b) in balances.iter() {
                        if kind(id) == AccountKind::Credit {
                            assert!((FLOOR..=0).contains(&b), "{who}: {id} at {b} after {e:?}");
                        } else if b < 0 {
                            let day = time_of(e).map_or(0, |t| t.timestamp().div_euclid(DAY));
                            days_below_zero.entry(id.clone()).or_default().insert(day);
                        }
                    }
                    match e {
                        FeedEvent::Statement { account, closing, .. } => {
                            assert!(kind(account) != AccountKind::Credit || closing.minor <= 0, "{who}: {e:?}");
                        }
                        FeedEvent::Transaction(t) => {
                            // A card payment arrives right after the same amount
                            // leaves checking, and clears the card.
                            if kind(&t.account) == AccountKind::Credit && t.amount.minor > 0 {
                                let out = previous.expect("a payment out first");
                                assert_eq!(
                                    (out.amount.minor, out.posted_at, out.category.as_str()),
                                    (-t.amount.minor, t.posted_at, "Credit Card Payment"),
                                    "{who}: {t:?}"
                                );
                                assert_ne!(kind(&out.account), AccountKind::Credit);
                                assert_eq!(balances[&t.account], 0, "{who}: {t:?}");
                                *payments.entry(t.account.clone()).or_default() += 1;
                            }
                            previous = Some(t);
                        }
                        _ => {}
                    }
                    end.clone_from(balances);
                });
                // About one payment a month on every card.
                let months = ((now() - first).num_days() / 31) as u32;
                for a in sim.accounts.iter().filter(|a| a.kind == AccountKind::Credit) {
                    let paid = payments.get(&a.id).copied().unwrap_or(0);
                    assert!(paid + 2 >= months && paid <= months + 2, "{who}: {} paid {paid} times", a.id);
                }
                for a in sim.accounts.iter().filter(|a| a.kind != AccountKind::Credit) {
                    assert!(end[&a.id] > 0, "{who}: {} ends at {}", a.id, end[&a.id]);
                    let below = days_below_zero.get(&a.id).map_or(0, BTreeSet::len);
                    assert!(below <= 31, "{who}: {} below zero on {below} days", a.id);
                }
            }
        }
    }

    #[test]
    fn nothing_owed_means_no_payment() {
        let mut p = parse_profile(&bank("chase")).unwrap();
        // No card spending and nothing recurring on the card: never owed.
        p.accounts.iter_mut().for_each(|a| a.spending = u32::from(a.id == "checking"));
        p.accounts.iter_mut().filter(|a| a.id == "sapphire").for_each(|a| a.opening = 0);
        p.recurring.retain(|r| r.account != "sapphire");
        p.fraud = None;
        let start = now().timestamp() - 120 * DAY;
        let (mut sim, _) = Sim::open(p, &BankId::new("chase").unwrap(), 5, OFFSET, None, start);
        let mut steps = 0;
        while let Some(step) = sim.step(now().timestamp(), Pace::CatchUp, &HashSet::new()) {
            if let FeedEvent::Transaction(t) = &step.event {
                assert_ne!(t.category, "Credit Card Payment", "{t:?}");
            }
            steps += 1;
        }
        assert!(steps > 500);
        assert_eq!(sim.st.balances["sapphire"], 0);
    }

    #[test]
    fn a_cursor_between_the_halves_of_a_card_payment_resumes_the_pair() {
        let p = parse_profile(&bank("citi")).unwrap();
        let bank_id = BankId::new("citi").unwrap();
        let start = now().timestamp() - 100 * DAY;
        let frozen = HashSet::new();
        let (mut sim, _) = Sim::open(p.clone(), &bank_id, 9, OFFSET, None, start);
        let mut pairs = 0;
        while let Some(step) = sim.step(now().timestamp(), Pace::CatchUp, &frozen) {
            let FeedEvent::Transaction(t) = &step.event else { continue };
            if t.category != "Credit Card Payment" || t.amount.minor > 0 {
                continue;
            }
            // Stop after the money left checking: the card's half is decided
            // but not delivered, and the cursor carries it.
            let cursor = sim.cursor();
            let (mut resumed, linked) = Sim::open(p.clone(), &bank_id, 9, OFFSET, Some(&cursor), start);
            assert!(linked.is_empty());
            for _ in 0..50 {
                let expected = sim.step(now().timestamp(), Pace::CatchUp, &frozen);
                assert_eq!(resumed.step(now().timestamp(), Pace::CatchUp, &frozen), expected);
            }
            pairs += 1;
        }
        assert!(pairs >= 4, "{pairs} card payments");
    }
}
