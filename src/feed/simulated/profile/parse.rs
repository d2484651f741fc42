//! Reads and checks the `[simulated]` table of a bank profile; every error names the key and the file.

use super::*;

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

/// Reads and checks the profile's `[simulated]` table; errors name the key.
pub fn parse_profile(p: &BankProfile) -> Result<SimProfile, FeedError> {
    let at = Source(p);
    let raw = read_table(p)?;
    let general = parse_general(at, &raw)?;
    let accounts = parse_accounts(at, raw.accounts)?;
    let merchants = parse_merchants(at, raw.merchants)?;
    let recurring = parse_recurring(at, raw.recurring, &accounts)?;
    let fraud = match raw.fraud {
        None => None,
        Some(f) => Some(parse_fraud(f, &p.home_country).map_err(|(k, why)| at.err(&format!("fraud.{k}"), why))?),
    };
    if general.message_chance + fraud.as_ref().map_or(0.0, |f| f.chance) > 1.0 {
        return Err(at.err("message_chance", "plus fraud.chance must not exceed 1".into()));
    }
    Ok(SimProfile {
        currency: p.currency,
        home_country: p.home_country.clone(),
        events_per_day: general.events_per_day,
        live_every_secs: general.live_every_secs,
        notify_over: general.notify_over,
        backfill_days: general.backfill_days,
        message_chance: general.message_chance,
        tips: general.tips,
        accounts,
        merchants,
        recurring,
        fraud,
    })
}

/// The profile a key belongs to: errors name its bank and file.
#[derive(Clone, Copy)]
struct Source<'a>(&'a BankProfile);

impl Source<'_> {
    /// An error about `key` of the `[simulated]` table.
    fn err(self, key: &str, why: String) -> FeedError {
        FeedError::Profile {
            bank: self.0.id.to_string(),
            message: format!("[{KIND}] {key}: {why} (in {})", self.0.source),
        }
    }

    /// An amount in minor units of the profile's currency.
    fn money(self, key: &str, text: &str) -> Result<i64, FeedError> {
        Money::parse(text, self.0.currency).map(|m| m.minor).map_err(|e| self.err(key, e.to_string()))
    }
}

/// The `[simulated]` table, deserialised (unknown keys and wrong types are refused here).
fn read_table(p: &BankProfile) -> Result<RawProfile, FeedError> {
    let table = p.kind_table().ok_or_else(|| FeedError::Profile {
        bank: p.id.to_string(),
        message: format!("missing the [{KIND}] table (in {})", p.source),
    })?;
    read(toml::Value::Table(table.clone())).map_err(|why| FeedError::Profile {
        bank: p.id.to_string(),
        message: format!("[{KIND}]: {why} (in {})", p.source),
    })
}

/// The table's own keys, checked: pace, notices, backfill, tips.
struct General {
    events_per_day: f64,
    live_every_secs: (u64, u64),
    notify_over: i64,
    backfill_days: u32,
    message_chance: f64,
    tips: Vec<String>,
}

fn parse_general(at: Source, raw: &RawProfile) -> Result<General, FeedError> {
    if !(raw.events_per_day.is_finite() && (0.1..=1000.0).contains(&raw.events_per_day)) {
        return Err(at.err("events_per_day", format!("{} is not between 0.1 and 1000", raw.events_per_day)));
    }
    let [live_min, live_max] = raw.live_every_secs;
    if live_min == 0 || live_min > live_max || live_max > 86_400 {
        return Err(at.err(
            "live_every_secs",
            format!("[{live_min}, {live_max}] must be [min, max] seconds with 1 <= min <= max <= 86400"),
        ));
    }
    let notify_over = at.money("notify_over", &raw.notify_over)?;
    if notify_over < 0 {
        return Err(at.err("notify_over", format!("{:?} must not be negative", raw.notify_over)));
    }
    if !(1..=3650).contains(&raw.backfill_days) {
        return Err(at.err("backfill_days", format!("{} is not between 1 and 3650", raw.backfill_days)));
    }
    check_chance(raw.message_chance).map_err(|why| at.err("message_chance", why))?;
    if raw.message_chance > 0.0 && raw.tips.is_empty() {
        return Err(at.err("tips", "is empty, but message_chance is above 0".into()));
    }
    if let Some(i) = raw.tips.iter().position(|t| t.trim().is_empty()) {
        return Err(at.err(&format!("tips[{i}]"), "is empty".into()));
    }
    Ok(General {
        events_per_day: raw.events_per_day,
        live_every_secs: (live_min, live_max),
        notify_over,
        backfill_days: raw.backfill_days,
        message_chance: raw.message_chance,
        tips: raw.tips.iter().map(|t| t.trim().to_string()).collect(),
    })
}

/// `[[simulated.accounts]]`: at least one, and at least one that takes card spending.
fn parse_accounts(at: Source, raw: Vec<toml::Value>) -> Result<Vec<SimAccount>, FeedError> {
    if raw.is_empty() {
        return Err(at.err("accounts", "at least one [[simulated.accounts]] is needed".into()));
    }
    let mut accounts: Vec<SimAccount> = Vec::with_capacity(raw.len());
    for (i, a) in raw.into_iter().enumerate() {
        let account = parse_account(at, i, a, &accounts)?;
        accounts.push(account);
    }
    if accounts.iter().all(|a| a.spending == 0) {
        return Err(at.err("accounts", "no account takes card spending: set spending = 1 (a weight) on one".into()));
    }
    Ok(accounts)
}

/// `accounts[i]`, whose id none of the `earlier` accounts may have.
fn parse_account(at: Source, i: usize, value: toml::Value, earlier: &[SimAccount]) -> Result<SimAccount, FeedError> {
    let a: RawAccount = read(value).map_err(|why| at.err(&format!("accounts[{i}]"), why))?;
    let key = |k: &str| format!("accounts[{i}].{k}");
    // Account ids follow the bank-id slug rule (both go into statement ids,
    // `chase-checking-stmt-2025-03`).
    if !crate::domain::is_slug(&a.id) {
        return Err(at.err(&key("id"), format!("{:?} must be 1-32 lowercase letters, digits, '-' or '_'", a.id)));
    }
    if earlier.iter().any(|b| b.id == a.id) {
        return Err(at.err(&key("id"), format!("{:?} is used by another account", a.id)));
    }
    if a.name.trim().is_empty() {
        return Err(at.err(&key("name"), "is empty".into()));
    }
    let kind = AccountKind::parse(&a.kind)
        .map_err(|_| at.err(&key("kind"), format!("{:?} is not one of checking, savings, credit", a.kind)))?;
    if !is_four_digits(&a.mask) {
        return Err(at.err(&key("mask"), format!("{:?} must be the last 4 digits, e.g. \"1234\"", a.mask)));
    }
    if let Some(card) = &a.card_mask {
        if !is_four_digits(card) {
            return Err(at.err(&key("card_mask"), format!("{card:?} must be the card's last 4 digits")));
        }
    }
    if a.spending > 1_000_000 {
        return Err(at.err(&key("spending"), format!("{} is too large (at most 1000000)", a.spending)));
    }
    if a.spending > 0 && a.card_mask.is_none() {
        return Err(at.err(&key("spending"), "card spending needs a card: add card_mask".into()));
    }
    if !(1..=28).contains(&a.statement_day) {
        return Err(at.err(&key("statement_day"), format!("{} is not between 1 and 28", a.statement_day)));
    }
    Ok(SimAccount {
        id: a.id.clone(),
        name: a.name.trim().to_string(),
        kind,
        mask: a.mask.clone(),
        card_mask: a.card_mask.clone(),
        opening: at.money(&key("opening"), &a.opening)?,
        spending: a.spending,
        statement_day: a.statement_day,
    })
}

/// `[[simulated.merchants]]`: at least one.
fn parse_merchants(at: Source, raw: Vec<toml::Value>) -> Result<Vec<Merchant>, FeedError> {
    if raw.is_empty() {
        return Err(at.err("merchants", "at least one [[simulated.merchants]] is needed".into()));
    }
    raw.into_iter().enumerate().map(|(i, m)| parse_merchant(at, i, m)).collect()
}

/// `merchants[i]`; without a country, the merchant is at home.
fn parse_merchant(at: Source, i: usize, value: toml::Value) -> Result<Merchant, FeedError> {
    let m: RawMerchant = read(value).map_err(|why| at.err(&format!("merchants[{i}]"), why))?;
    let key = |k: &str| format!("merchants[{i}].{k}");
    if m.category.trim().is_empty() {
        return Err(at.err(&key("category"), "is empty".into()));
    }
    if m.names.is_empty() || m.names.iter().any(|n| n.trim().is_empty()) {
        return Err(at.err(&key("names"), "needs at least one name, and no empty names".into()));
    }
    let low = at.money(&key("amount"), &m.amount[0])?;
    let high = at.money(&key("amount"), &m.amount[1])?;
    if low <= 0 || low > high {
        return Err(at.err(
            &key("amount"),
            format!("[{:?}, {:?}] must be [min, max] with 0 < min <= max", m.amount[0], m.amount[1]),
        ));
    }
    if !(1..=1_000_000).contains(&m.weight) {
        return Err(at.err(&key("weight"), format!("{} is not between 1 and 1000000", m.weight)));
    }
    let channel = match Channel::parse(&m.channel) {
        Ok(c @ (Channel::CardPresent | Channel::Online | Channel::Atm)) => c,
        _ => {
            return Err(at.err(&key("channel"), format!("{:?} is not one of card-present, online, atm", m.channel)));
        }
    };
    let country = match &m.country {
        Some(c) if is_country(c) => c.clone(),
        Some(c) => return Err(at.err(&key("country"), format!("{c:?} is not a two-letter country code"))),
        None => at.0.home_country.clone(),
    };
    Ok(Merchant {
        category: m.category.trim().to_string(),
        names: m.names.iter().map(|n| n.trim().to_string()).collect(),
        low,
        high,
        weight: m.weight,
        channel,
        country,
    })
}

/// `[[simulated.recurring]]` (optional), each on one of `accounts`.
fn parse_recurring(at: Source, raw: Vec<toml::Value>, accounts: &[SimAccount]) -> Result<Vec<Recurring>, FeedError> {
    raw.into_iter().enumerate().map(|(i, r)| parse_recurring_item(at, i, r, accounts)).collect()
}

/// `recurring[i]`: a fixed amount, or a card payment (`amount = "balance"`).
fn parse_recurring_item(
    at: Source,
    i: usize,
    value: toml::Value,
    accounts: &[SimAccount],
) -> Result<Recurring, FeedError> {
    let r: RawRecurring = read(value).map_err(|why| at.err(&format!("recurring[{i}]"), why))?;
    let key = |k: &str| format!("recurring[{i}].{k}");
    if r.name.trim().is_empty() {
        return Err(at.err(&key("name"), "is empty".into()));
    }
    if r.category.trim().is_empty() {
        return Err(at.err(&key("category"), "is empty".into()));
    }
    let Some(account) = accounts.iter().find(|a| a.id == r.account) else {
        let known: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        return Err(at.err(&key("account"), format!("{:?} is not one of {}", r.account, known.join(", "))));
    };
    let amount = if r.amount.trim() == PAY_BALANCE {
        card_payment(at, &key, &r, account, accounts)?
    } else {
        fixed_amount(at, &key, &r)?
    };
    if r.days.is_empty() || r.days.iter().any(|d| !(1..=31).contains(d)) {
        return Err(at.err(&key("days"), format!("{:?} must list days of the month between 1 and 31", r.days)));
    }
    let channel = Channel::parse(&r.channel)
        .map_err(|e| at.err(&key("channel"), format!("{:?} is not a channel ({})", r.channel, e.why)))?;
    if matches!(amount, Amount::CardBalance { .. }) && channel != Channel::Transfer {
        return Err(at.err(&key("channel"), format!("{:?}: a card payment is a transfer", r.channel)));
    }
    Ok(Recurring {
        name: r.name.trim().to_string(),
        category: r.category.trim().to_string(),
        amount,
        account: r.account.clone(),
        days: r.days.clone(),
        channel,
    })
}

/// A recurring card payment: from a checking or savings `account` to a credit one.
fn card_payment(
    at: Source,
    key: &dyn Fn(&str) -> String,
    r: &RawRecurring,
    account: &SimAccount,
    accounts: &[SimAccount],
) -> Result<Amount, FeedError> {
    if account.kind == AccountKind::Credit {
        return Err(at.err(
            &key("account"),
            format!("{:?} is a credit account; a card is paid from checking or savings", r.account),
        ));
    }
    let Some(card) = &r.card else {
        return Err(at.err(&key("card"), format!("is missing: amount = {PAY_BALANCE:?} needs the card to pay")));
    };
    if !accounts.iter().any(|a| a.id == *card && a.kind == AccountKind::Credit) {
        let cards: Vec<&str> =
            accounts.iter().filter(|a| a.kind == AccountKind::Credit).map(|a| a.id.as_str()).collect();
        return Err(at.err(&key("card"), format!("{card:?} is not a credit account ({})", cards.join(", "))));
    }
    let card_name = r.card_name.as_deref().unwrap_or(DEFAULT_CARD_NAME).trim();
    if card_name.is_empty() {
        return Err(at.err(&key("card_name"), "is empty".into()));
    }
    Ok(Amount::CardBalance { card: card.clone(), card_name: card_name.to_string() })
}

/// A recurring fixed amount: positive arrives, negative leaves; no card keys.
fn fixed_amount(at: Source, key: &dyn Fn(&str) -> String, r: &RawRecurring) -> Result<Amount, FeedError> {
    let minor = at.money(&key("amount"), &r.amount)?;
    if minor == 0 {
        return Err(at.err(&key("amount"), "is zero (positive arrives, negative leaves)".into()));
    }
    if r.card.is_some() || r.card_name.is_some() {
        let k = if r.card.is_some() { "card" } else { "card_name" };
        return Err(at.err(&key(k), format!("is only for card payments: amount = {PAY_BALANCE:?}")));
    }
    Ok(Amount::Fixed(minor))
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

fn is_four_digits(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}
