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
pub const KIND: &str = crate::domain::SIMULATED_FEED;

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
/// The monthly budget: on this day of the month, at this local time, money
/// above `BUFFER_MONTHS` of income in the account it arrives in goes to
/// savings (while they hold less than `SAVINGS_MONTHS` of income) and into
/// a larger purchase.
const BUDGET_DAY: u32 = 25;
const BUDGET_AT: i64 = 9 * HOUR;
const BUFFER_MONTHS: i64 = 2;
const SAVINGS_MONTHS: i64 = 6;
/// What a person with money to spare buys: (category, merchants).
const BIG_PURCHASES: &[(&str, &[&str])] = &[
    ("Travel", &["Delta Air Lines", "United Airlines", "Marriott Hotels", "Airbnb", "Expedia"]),
    ("Home", &["IKEA", "The Home Depot", "Wayfair", "Crate & Barrel"]),
    ("Shopping", &["Apple Store", "Best Buy", "REI"]),
];

/// The share of card charges authorised first (pending), and of those the
/// share that never posts (released by the store later).
const PENDING_CHANCE: f64 = 0.35;
/// At most this many postings wait for their time (live mode has a few
/// dozen: three days of charges).
const LATER_MAX: usize = 500;
const NEVER_POSTS: f64 = 0.01;
const CARD_TEST_AMOUNT: (i64, i64) = (50, 299);
const FOREIGN_AMOUNT: (i64, i64) = (8_000, 90_000);
const ODD_HOUR_AMOUNT: (i64, i64) = (60_000, 250_000);
const CARD_TEST_COUNT: (u32, u32) = (3, 5);
const CARD_TEST_GAP: (i64, i64) = (MINUTE, 4 * MINUTE);
/// The night window odd-hour fraud picks a time in: 01:00–04:59 local.
const ODD_HOUR_WINDOW: (i64, i64) = (HOUR, 5 * HOUR - MINUTE);
const DUPLICATE_GAP: (i64, i64) = (MINUTE, 5 * MINUTE);

mod calendar;
mod engine;
mod money;
mod orders;
mod patterns;
mod profile;
mod runner;
#[cfg(test)]
mod tests;

use calendar::*;
use engine::*;
pub use patterns::Pattern;
#[allow(unused_imports)]
use profile::*;
pub use profile::{SimProfile, factory, parse_profile};
use runner::*;
