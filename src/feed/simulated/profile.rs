//! The `[simulated]` table of a bank profile as the simulation uses it: accounts, merchants, recurring items,
//! fraud plan. It is read and checked in `profile/parse.rs`.

use super::*;

mod parse;

pub use parse::parse_profile;

/// A validated `[simulated]` table. Amounts are in minor units of the
/// profile's currency.
#[derive(Debug, Clone)]
pub struct SimProfile {
    pub(super) currency: Currency,
    pub(super) home_country: String,
    pub(super) events_per_day: f64,
    pub(super) live_every_secs: (u64, u64),
    pub(super) notify_over: i64,
    pub(super) backfill_days: u32,
    pub(super) message_chance: f64,
    pub(super) tips: Vec<String>,
    pub(super) accounts: Vec<SimAccount>,
    pub(super) merchants: Vec<Merchant>,
    pub(super) recurring: Vec<Recurring>,
    pub(super) fraud: Option<FraudPlan>,
}

#[derive(Debug, Clone)]
pub(super) struct SimAccount {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: AccountKind,
    pub(super) mask: String,
    pub(super) card_mask: Option<String>,
    pub(super) opening: i64,
    /// Weight of this account in card spending (0: none).
    pub(super) spending: u32,
    pub(super) statement_day: u32,
}

#[derive(Debug, Clone)]
pub(super) struct Merchant {
    pub(super) category: String,
    pub(super) names: Vec<String>,
    /// Charge range, positive minor units.
    pub(super) low: i64,
    pub(super) high: i64,
    pub(super) weight: u32,
    pub(super) channel: Channel,
    pub(super) country: String,
}

#[derive(Debug, Clone)]
pub(super) struct Recurring {
    pub(super) name: String,
    pub(super) category: String,
    pub(super) amount: Amount,
    pub(super) account: String,
    pub(super) days: Vec<u32>,
    pub(super) channel: Channel,
}

/// What a recurring item moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Amount {
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
    pub(super) fn fixed(&self) -> Option<i64> {
        match self.amount {
            Amount::Fixed(minor) => Some(minor),
            Amount::CardBalance { .. } => None,
        }
    }

    /// Money arriving by direct deposit, which the bank announces.
    pub(super) fn is_deposit(&self) -> bool {
        self.channel == Channel::Deposit && self.fixed().is_some_and(|m| m > 0)
    }

    /// Bank events per posting day (at most).
    pub(super) fn events_per_day(&self) -> usize {
        match self.amount {
            Amount::CardBalance { .. } => 2,
            Amount::Fixed(_) if self.is_deposit() => 2,
            Amount::Fixed(_) => 1,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct FraudPlan {
    pub(super) chance: f64,
    pub(super) patterns: Vec<Pattern>,
    /// (name, country)
    pub(super) foreign: Vec<(String, String)>,
    pub(super) tiny: Vec<String>,
    pub(super) large: Vec<String>,
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

    /// Bank events per day on average: ordinary ones (with the postings of
    /// authorised card charges) plus scheduled ones (recurring items and
    /// their notices, balance reports, statements).
    pub fn daily_rate(&self) -> f64 {
        let recurring: usize = self.recurring.iter().map(|r| r.days.len() * r.events_per_day()).sum();
        let accounts = self.accounts.len() as f64;
        let total: u32 = self.merchants.iter().map(|m| m.weight).sum();
        let card: u32 = self
            .merchants
            .iter()
            .filter(|m| matches!(m.channel, Channel::CardPresent | Channel::Online))
            .map(|m| m.weight)
            .sum();
        // Rather high than low: a history that starts a little late bunches
        // its last events up to now; one that starts early ends before now.
        let postings = PENDING_CHANCE * f64::from(card) / f64::from(total.max(1));
        self.events_per_day * (1.0 + postings) + recurring as f64 / MONTH_DAYS + accounts / 7.0 + accounts / MONTH_DAYS
    }

    /// What arrives in `account` each month from its recurring income.
    pub(super) fn monthly_income(&self, account: &str) -> i64 {
        self.recurring
            .iter()
            .filter(|r| r.account == account && r.category != "Transfer")
            .filter_map(|r| match r.amount {
                Amount::Fixed(minor) if minor > 0 => Some(minor.saturating_mul(r.days.len() as i64)),
                _ => None,
            })
            .fold(0, i64::saturating_add)
    }

    /// Scales an amount in hundredths of a major unit to the currency.
    pub(super) fn scaled(&self, hundredths: i64) -> i64 {
        (hundredths.saturating_mul(self.currency.unit()) / 100).max(1)
    }

    pub(super) fn account(&self, id: &str) -> Option<&SimAccount> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

impl SimAccount {
    pub(super) fn info(&self, currency: Currency) -> AccountInfo {
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
