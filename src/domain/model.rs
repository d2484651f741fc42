//! The records finbox keeps: banks, accounts, transactions, messages, alerts,
//! cards and consent. Times are UTC; money is exact.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::money::Money;

/// Why a value could not be turned into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: {why}")]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub why: &'static str,
}

/// A bank's short slug: `chase`, `wellsfargo`, `citi`, `usbank`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankId(String);

/// A slug: 1-32 lowercase letters, digits, '-' or '_' (bank ids, and the
/// simulator's account ids, which go into statement ids beside them).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl BankId {
    pub fn new(s: &str) -> Result<Self, ParseError> {
        if is_slug(s) {
            Ok(BankId(s.to_string()))
        } else {
            Err(ParseError {
                what: "bank id",
                value: s.to_string(),
                why: "use 1-32 lowercase letters, digits, '-' or '_'",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BankId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        BankId::new(&s)
    }
}

impl From<BankId> for String {
    fn from(b: BankId) -> String {
        b.0
    }
}

impl fmt::Display for BankId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! row_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

row_id!(
    /// An account's row id in the store.
    AccountId
);
row_id!(
    /// A transaction's row id in the store.
    TxnId
);
row_id!(
    /// A fraud alert's row id in the store.
    AlertId
);
row_id!(
    /// A message's row id in the store.
    MessageId
);
row_id!(
    /// A card's row id in the store.
    CardId
);

/// Declares a string-backed enum with its stored/serialised names.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseError {
                        what: stringify!($name),
                        value: s.to_string(),
                        why: concat!("expected one of:", $(" ", $text),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// What kind of account a bank holds for the user.
    AccountKind { Checking => "checking", Savings => "savings", Credit => "credit" }
);
named_enum!(
    /// How a transaction was made.
    Channel {
        CardPresent => "card-present",
        Online => "online",
        Transfer => "transfer",
        Atm => "atm",
        Deposit => "deposit",
    }
);
named_enum!(
    /// Whether the bank has settled a transaction: a card authorisation is
    /// `pending` (it moves the available balance only) until it posts.
    TxnStatus { Pending => "pending", Posted => "posted" }
);
named_enum!(
    /// Who wrote a message in a bank's conversation.
    Sender { Bank => "bank", User => "user", System => "system" }
);
named_enum!(
    /// What a message in a conversation is about.
    MessageKind {
        Text => "text",
        Transaction => "transaction",
        Balance => "balance",
        Statement => "statement",
        Fraud => "fraud",
        Service => "service",
        Notice => "notice",
        Offer => "offer",
        Receipt => "receipt",
        Purchase => "purchase",
        Insight => "insight",
    }
);
named_enum!(
    /// What finbox noticed across the banks (see `domain::insight`).
    InsightKind {
        PriceUp => "price_up",
        NewSubscription => "new_subscription",
        Duplicate => "duplicate",
        Refund => "refund",
        LowBalance => "low_balance",
        Monthly => "monthly",
    }
);
named_enum!(
    /// Where a fraud alert stands.
    AlertStatus { Open => "open", Legit => "legit", Fraud => "fraud" }
);
named_enum!(
    /// Whether the user shares a bank's data with finbox.
    ConsentState { Granted => "granted", Revoked => "revoked" }
);
named_enum!(
    /// An entry of the consent log.
    ConsentAction {
        Grant => "grant",
        Renew => "renew",
        Revoke => "revoke",
        Purge => "purge",
        Expire => "expire",
        Scopes => "scopes",
    }
);
named_enum!(
    /// Debit or credit card.
    CardKind { Debit => "debit", Credit => "credit" }
);

/// How serious a fraud alert is; higher sorts first in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low = 1,
    Medium = 2,
    High = 3,
}

impl Severity {
    pub fn level(self) -> i64 {
        self as i64
    }

    pub fn from_level(n: i64) -> Self {
        match n {
            i64::MIN..=1 => Severity::Low,
            2 => Severity::Medium,
            _ => Severity::High,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user's verdict on a fraud alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// "It was me": the charge is legitimate.
    ItWasMe,
    /// "Not me": the charge is fraud; the card gets frozen.
    NotMe,
}

impl Verdict {
    pub fn status(self) -> AlertStatus {
        match self {
            Verdict::ItWasMe => AlertStatus::Legit,
            Verdict::NotMe => AlertStatus::Fraud,
        }
    }
}

/// The feed kind of the banks finbox simulates. For them finbox plays the
/// bank (it locks a card, credits a disputed charge); for any other it only
/// reads what the bank says.
pub const SIMULATED_FEED: &str = "simulated";

/// The feed kind of a real bank reached through SimpleFIN Bridge.
pub const SIMPLEFIN_FEED: &str = "simplefin";

/// A bank as listed in the store, with its sharing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bank {
    pub id: BankId,
    pub name: String,
    pub color: String,
    pub feed_kind: String,
    pub consent: ConsentState,
    pub consent_changed_at: Option<DateTime<Utc>>,
    /// When the grant ends unless renewed. Kept after it passed, so that an
    /// expired grant reads differently from a revoked one (a revoke clears it).
    pub consent_expires_at: Option<DateTime<Utc>>,
    /// Bumped on every consent change so that events from a stale feed are dropped.
    pub epoch: i64,
    /// What it may share (or would, once shared).
    pub scopes: super::Scopes,
}

/// How long a grant lasts unless renewed, when the settings do not say.
pub const DEFAULT_CONSENT_DAYS: i64 = 90;
/// A grant ending within this many days is shown with a warning.
pub const RENEW_WARNING_DAYS: i64 = 7;

/// Where a bank's consent stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Shared, until the given time (no end for a grant from before expiry existed).
    Shared { until: Option<DateTime<Utc>> },
    /// The grant ran out at `on` and was not renewed: nothing is delivered.
    Expired { on: DateTime<Utc> },
    /// Never shared, or revoked.
    NotShared,
}

/// finbox's own thread, first in the bank list: the insights it finds
/// across every shared bank. Not a bank: it shares nothing and no bank may
/// take its id.
pub const FINBOX_THREAD: &str = "finbox";

impl Bank {
    /// finbox's own thread, as the bank list shows it.
    pub fn finbox_thread() -> Bank {
        Bank {
            id: BankId::new(FINBOX_THREAD).expect("a well-formed id"),
            name: "finbox".into(),
            color: "white".into(),
            feed_kind: FINBOX_THREAD.into(),
            consent: ConsentState::Revoked,
            consent_changed_at: None,
            consent_expires_at: None,
            epoch: 0,
            scopes: super::Scopes::default(),
        }
    }

    /// Whether this is finbox's own thread rather than a bank.
    pub fn is_finbox(&self) -> bool {
        self.feed_kind == FINBOX_THREAD
    }

    /// Whether finbox plays this bank (see [`SIMULATED_FEED`]).
    pub fn is_simulated(&self) -> bool {
        self.feed_kind == SIMULATED_FEED
    }

    /// The bank's sharing at `now`. A grant whose end has passed is expired
    /// even before the store has noticed and recorded it.
    pub fn sharing(&self, now: DateTime<Utc>) -> Sharing {
        match (self.consent, self.consent_expires_at) {
            (ConsentState::Granted, Some(on)) if on <= now => Sharing::Expired { on },
            (ConsentState::Granted, until) => Sharing::Shared { until },
            (ConsentState::Revoked, Some(on)) => Sharing::Expired { on },
            (ConsentState::Revoked, None) => Sharing::NotShared,
        }
    }

    /// Whether the bank delivers at `now`.
    pub fn is_shared(&self, now: DateTime<Utc>) -> bool {
        matches!(self.sharing(now), Sharing::Shared { .. })
    }

    /// Whether a shared bank's grant ends within [`RENEW_WARNING_DAYS`] of
    /// `now`.
    pub fn in_renew_window(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.sharing(now),
            Sharing::Shared { until: Some(until) } if until - now <= chrono::Duration::days(RENEW_WARNING_DAYS)
        )
    }

    /// When the grant ends within [`RENEW_WARNING_DAYS`]: in how many
    /// calendar days of the user's `zone` (0: it ends today, 1: tomorrow),
    /// so that "ends tomorrow" names the day the date says.
    pub fn renew_soon(&self, now: DateTime<Utc>, zone: chrono::FixedOffset) -> Option<i64> {
        match self.sharing(now) {
            Sharing::Shared { until: Some(until) } if self.in_renew_window(now) => {
                let day = |t: DateTime<Utc>| t.with_timezone(&zone).date_naive();
                Some((day(until) - day(now)).num_days())
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub bank: BankId,
    pub external_id: String,
    pub name: String,
    pub kind: AccountKind,
    /// Masked number such as `•1234`; the full number is never stored.
    pub mask: String,
    pub opening: Money,
    pub balance: Money,
    /// Last balance the bank itself reported, if any.
    pub reported: Option<Money>,
    pub txn_count: i64,
    /// What pending authorisations hold (negative: money on hold); the
    /// available balance is `balance + pending`.
    pub pending: Money,
    /// The account's card, if it has one.
    pub card: Option<CardMark>,
}

impl Account {
    /// The ledger balance with pending authorisations counted: what can be
    /// spent now.
    pub fn available(&self) -> Money {
        Money::new(self.balance.minor.saturating_add(self.pending.minor), self.balance.currency)
    }
}

/// An account's card as lists show it: `•9913`, and whether it is frozen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardMark {
    pub mask: String,
    pub frozen: bool,
}

/// A transaction between two of the user's own accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferLeg {
    /// The pair's id (shared by both legs); `None`: the other side was not
    /// seen (not shared, not yet arrived, or at a bank finbox does not read).
    pub id: Option<i64>,
    /// The other leg's account as lists show it: "Chase Savings •8820".
    pub other: Option<String>,
    /// The other leg's transaction and account.
    pub other_txn: Option<TxnId>,
    pub other_account: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    pub id: TxnId,
    pub bank: BankId,
    pub account: AccountId,
    pub account_external_id: String,
    pub external_id: String,
    pub posted_at: DateTime<Utc>,
    /// Negative for money leaving the account (a charge), positive for money arriving.
    pub amount: Money,
    pub merchant: String,
    pub category: String,
    pub channel: Channel,
    /// ISO 3166 alpha-2 country of the merchant.
    pub country: String,
    pub status: TxnStatus,
    /// For a posted card transaction that was authorised first: when.
    pub authorized_at: Option<DateTime<Utc>>,
    /// The authorised amount, when the posting differs (a tip, a fuel hold).
    pub authorized: Option<Money>,
    /// A transfer between the user's own accounts (excluded from spending
    /// and income).
    pub transfer: Option<TransferLeg>,
    /// The credit that reverses this charge (a disputed one).
    pub reversed_by: Option<TxnId>,
    /// The charge this credit reverses.
    pub reverses: Option<TxnId>,
    /// The user's rule that renamed or categorised it (`[[rules]]`).
    pub rule: Option<String>,
    /// What the bank called the merchant, when a rule renamed it.
    pub original_merchant: Option<String>,
}

impl Transaction {
    /// Whether the transaction counts in spending and income: not a paired
    /// transfer, not a disputed charge or the credit that reverses it.
    pub fn counts_as_spending_or_income(&self) -> bool {
        self.transfer.as_ref().is_none_or(|t| t.id.is_none()) && self.reversed_by.is_none() && self.reverses.is_none()
    }

    pub fn is_pending(&self) -> bool {
        self.status == TxnStatus::Pending
    }

    /// The merchant with what else a list should say: pending ("⧗"), a
    /// transfer's other side ("⇄ to Chase Savings •8820"), a disputed
    /// charge or its credit.
    pub fn label(&self) -> String {
        let mut s = self.merchant.clone();
        if let Some(leg) = &self.transfer {
            let dir = if self.amount.is_negative() { "to" } else { "from" };
            s = match &leg.other {
                Some(other) if leg.id.is_some() => format!("⇄ {dir} {other}"),
                _ => format!("{s} (transfer, other side not seen)"),
            };
        }
        if self.is_pending() {
            s = format!("⧗ {s} (pending)");
        }
        if self.reversed_by.is_some() {
            s.push_str(" (disputed, credited back)");
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub bank: BankId,
    pub at: DateTime<Utc>,
    pub from: Sender,
    pub kind: MessageKind,
    pub text: String,
    pub txn: Option<TxnId>,
    pub alert: Option<AlertId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FraudAlert {
    pub id: AlertId,
    pub bank: BankId,
    pub account: AccountId,
    pub account_external_id: String,
    pub txn: TxnId,
    pub reason: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub merchant: String,
    pub amount: Money,
    pub posted_at: DateTime<Utc>,
    pub card_mask: Option<String>,
    /// The account as lists show it: "Sapphire Preferred •7742".
    pub account_label: String,
}

impl FraudAlert {
    /// What the user's verdict did, in one sentence (the screen's flash and
    /// the CLI's answer; the bank's own message has the details).
    /// `case`: the dispute the bank opened, if it is a bank finbox plays
    /// (otherwise the user is to call the bank).
    pub fn verdict_summary(&self, verdict: Verdict, bank_name: &str, case: Option<&str>) -> String {
        let amount = self.amount.abs();
        match verdict {
            Verdict::ItWasMe => format!("Alert {} closed: the {amount} charge at {} was you.", self.id, self.merchant),
            Verdict::NotMe if case.is_none() => format!(
                "Alert {} marked as fraud: call {bank_name} to block the card and dispute the {amount} charge at {}; \
                 finbox cannot do it for you.",
                self.id, self.merchant
            ),
            Verdict::NotMe => {
                let card = self.card_mask.as_deref().map(|c| format!("card {c} is locked, and ")).unwrap_or_default();
                format!(
                    "Alert {} marked as fraud: {card}{bank_name} opened dispute {} and credited the {amount} charge \
                     at {} back; the details are in its conversation.",
                    self.id,
                    case.unwrap_or_default(),
                    self.merchant
                )
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub id: CardId,
    pub bank: BankId,
    pub account: AccountId,
    pub account_external_id: String,
    pub mask: String,
    pub kind: CardKind,
    pub frozen: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentLogEntry {
    pub bank: BankId,
    pub action: ConsentAction,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// Masks an account or card number to its last four digits: `•1234`.
pub fn mask_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•{tail}")
}

/// Unread messages are counted up to this many (shown as "999+"), so the bank
/// list costs the same however long a thread went unread.
pub const UNREAD_CAP: i64 = 1000;

/// A bank with its counts for the bank list. When its consent ends (or
/// ended) is `bank.consent_expires_at`; [`Bank::sharing`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankSummary {
    pub bank: Bank,
    pub accounts: i64,
    /// Unread messages, at most [`UNREAD_CAP`].
    pub unread: i64,
    pub open_alerts: i64,
}

/// A record a feed delivered that the store refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub bank: BankId,
    pub at: DateTime<Utc>,
    /// What it was, e.g. "transaction chase-00001234" (cleaned).
    pub record: String,
    pub reason: String,
}

/// A bank as the settings list it: what the store keeps of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankListing<'a> {
    pub id: &'a BankId,
    pub name: &'a str,
    pub color: &'a str,
    pub feed_kind: &'a str,
    /// How much a card posting may exceed its authorisation, percent.
    pub pending_tolerance_percent: i64,
}

/// How much a card posting may exceed its authorisation and still settle
/// it, in percent, when a bank's profile does not say.
pub const DEFAULT_PENDING_TOLERANCE_PERCENT: i64 = 30;

/// Whether charges in `category` take a tip, added between the
/// authorisation and the posting (restaurants, bars).
pub fn takes_tips(category: &str) -> bool {
    let c = category.to_lowercase();
    ["restaurant", "bar", "dining", "food"].iter().any(|w| c.contains(w))
}

/// Something that lists a bank (a bank profile).
pub trait Listed {
    fn listing(&self) -> BankListing<'_>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_follows_consent_and_its_end() {
        use chrono::{Duration, TimeZone};
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let bank = |consent, expires: Option<i64>| Bank {
            id: BankId::new("chase").unwrap(),
            name: "Chase".into(),
            color: String::new(),
            feed_kind: "simulated".into(),
            consent,
            consent_changed_at: None,
            consent_expires_at: expires.map(|d| now + Duration::days(d)),
            epoch: 1,
            scopes: Default::default(),
        };
        let until = now + Duration::days(30);
        assert_eq!(bank(ConsentState::Granted, Some(30)).sharing(now), Sharing::Shared { until: Some(until) });
        assert_eq!(bank(ConsentState::Granted, None).sharing(now), Sharing::Shared { until: None });
        assert_eq!(bank(ConsentState::Revoked, None).sharing(now), Sharing::NotShared);
        // Expired whether or not the store has recorded it yet.
        let on = now - Duration::days(1);
        assert_eq!(bank(ConsentState::Granted, Some(-1)).sharing(now), Sharing::Expired { on });
        assert_eq!(bank(ConsentState::Revoked, Some(-1)).sharing(now), Sharing::Expired { on });
        assert!(!bank(ConsentState::Granted, Some(0)).is_shared(now), "it ends at its time, not after");
        let utc = crate::domain::when::zone(0);
        assert_eq!(bank(ConsentState::Granted, Some(30)).renew_soon(now, utc), None);
        assert_eq!(bank(ConsentState::Granted, Some(7)).renew_soon(now, utc), Some(7));
        assert_eq!(bank(ConsentState::Granted, Some(3)).renew_soon(now, utc), Some(3));
        assert_eq!(bank(ConsentState::Revoked, Some(-1)).renew_soon(now, utc), None);
        // Calendar days, not whole 24 hours: a grant made at 03:00 that
        // ends at 03:00 on Feb 28 ends "tomorrow" at 15:00 on Feb 27, and
        // in 6 days (not 5) at 15:00 on Feb 22.
        let granted = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap();
        let ends = Bank { consent_expires_at: Some(granted + Duration::days(90)), ..bank(ConsentState::Granted, None) };
        let at = |d: u32| Utc.with_ymd_and_hms(2027, 2, d, 15, 0, 0).unwrap();
        assert_eq!(ends.renew_soon(at(27), utc), Some(1));
        assert_eq!(ends.renew_soon(at(22), utc), Some(6));
        // In the user's zone: 8 hours west, 03:00 UTC on Feb 28 is still
        // Feb 27 there, so at 15:00 UTC on Feb 27 it ends today.
        assert_eq!(ends.renew_soon(at(27), crate::domain::when::zone(-8 * 3600)), Some(0));
    }

    #[test]
    fn bank_ids_are_slugs() {
        assert!(BankId::new("chase").is_ok());
        assert!(BankId::new("wells-fargo_2").is_ok());
        assert!(BankId::new("Chase").is_err());
        assert!(BankId::new("").is_err());
        assert!(BankId::new("a b").is_err());
        assert!(BankId::new(&"x".repeat(33)).is_err());
    }

    #[test]
    fn enums_round_trip_their_names() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()).unwrap(), *c);
        }
        assert!(AlertStatus::parse("closed").is_err());
        assert_eq!(Severity::from_level(3), Severity::High);
    }

    #[test]
    fn masks_keep_only_last_four_digits() {
        assert_eq!(mask_number("4111 1111 1111 1234"), "•1234");
        assert_eq!(mask_number("12"), "•12");
    }
}
