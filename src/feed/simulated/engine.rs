//! The simulation itself, synchronous and deterministic: its state (the cursor), the next batch of events,
//! their delivery. When things happen is in `calendar.rs`, the fraud the bank plays in `patterns.rs`.

use super::*;

/// A tip that starts with this is marketing from the bank: it arrives as an
/// offer, kept only when the user granted the `offers` scope.
pub const OFFER_MARK: &str = "offer:";

/// Something decided but not yet delivered, at its planned time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Pending {
    pub(super) at: i64,
    pub(super) item: Item,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Item {
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
        /// A move between this person's own accounts (a card payment, a
        /// transfer to savings): the feed marks it for finbox to pair.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        transfer: bool,
        /// The bank's id for it when decided ahead (the posting of an
        /// authorisation: its id or one of its own); otherwise numbered on
        /// delivery.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A card authorisation, pending: it moves no balance here. Its
    /// posting (if it ever posts) waits in `State::later` once the
    /// authorisation is delivered (a declined one never posts).
    Auth {
        id: String,
        account: String,
        merchant: String,
        category: String,
        channel: Channel,
        country: String,
        minor: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        posting: Option<Box<Pending>>,
    },
    Balance {
        account: String,
    },
    Statement {
        account: String,
        period_start: i64,
    },
    /// A service message from the bank (an offer, marked [`OFFER_MARK`]).
    Notice {
        text: String,
    },
    /// The month's look at the account the income arrives in, decided when
    /// it is delivered: money above a buffer of two months' income goes
    /// partly to savings (while they are under half a year's income) and
    /// the rest into a larger purchase — a trip, furniture, a computer — so
    /// that balances stay in a believable band over decades.
    Budget {
        account: String,
    },
    /// A payment of a card's whole balance, decided when it is delivered:
    /// a transaction leaving `from`, then the same amount arriving on `card`.
    /// A merchant's receipt or delivery update for an online order.
    Purchase {
        txn: String,
        merchant: String,
        update: crate::domain::event::PurchaseUpdate,
    },
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
pub(super) struct FraudTag {
    pub(super) pattern: Pattern,
    pub(super) incident: u64,
}

/// Everything needed to resume exactly; serialised as the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) v: u32,
    /// Simulated time (unix seconds): everything scheduled up to here is decided.
    pub(super) t: i64,
    /// Time of the last delivered event; later events are never earlier.
    pub(super) last_at: i64,
    /// Transactions delivered (their ids count up).
    pub(super) seq: u64,
    /// Messages delivered.
    pub(super) msg_seq: u64,
    /// Fraud incidents started.
    pub(super) incidents: u64,
    /// The generator's position, in 32-bit words (a u128 as a string).
    #[serde(with = "u128_string")]
    pub(super) rng_pos: u128,
    /// Running balance per account, minor units.
    pub(super) balances: BTreeMap<String, i64>,
    /// Decided events, in time order.
    pub(super) queue: VecDeque<Pending>,
    /// Postings of authorisations, decided ahead, queued when their time
    /// comes (in the order decided).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) later: Vec<Pending>,
    /// Authorisations made (their ids count up).
    #[serde(default)]
    pub(super) auth_seq: u64,
    /// Receipts and delivery updates of online orders, queued when their
    /// time comes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) orders: Vec<Pending>,
}

pub(super) mod u128_string {
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
pub(super) enum Pace {
    /// `remaining` events still to produce before now.
    Events { remaining: u64 },
    /// Catching up to now; stop when the next event would be in the future.
    CatchUp,
    /// Real time: the next event happens now.
    Live,
}

/// One delivered event, with its fraud tag if it is part of an incident.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Step {
    pub(super) event: FeedEvent,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fraud: Option<FraudTag>,
}

/// A saved state to resume from (the cursor before an undelivered event).
#[derive(Debug, Clone)]
pub(super) struct SavedState(State);

impl SavedState {
    pub(super) fn to_json(&self) -> String {
        // A struct of strings and integers always serialises.
        serde_json::to_string(&self.0).unwrap_or_default()
    }
}

/// The simulated bank: profile, generator and state.
pub(super) struct Sim {
    pub(super) p: SimProfile,
    pub(super) bank: BankId,
    /// The user's UTC offset in seconds.
    pub(super) offset: i64,
    pub(super) rng: ChaCha8Rng,
    pub(super) st: State,
    /// Running live (not a backfill or a count of events): online shops
    /// send receipts and deliveries.
    pub(super) live: bool,
}

impl Sim {
    /// Resumes from `cursor` or, without a usable one, starts afresh at
    /// `start`. Returns the accounts to (re)link: all of them for a fresh
    /// start, new ones in the profile when resuming.
    pub(super) fn open(
        p: SimProfile,
        bank: &BankId,
        seed: u64,
        utc_offset_secs: i32,
        cursor: Option<&str>,
        start: i64,
    ) -> (Sim, Vec<AccountInfo>) {
        let offset = if utc_offset_secs.unsigned_abs() < 86_400 { i64::from(utc_offset_secs) } else { 0 };
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, bank));
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
                    later: Vec::new(),
                    auth_seq: 0,
                    orders: Vec::new(),
                }
            }
        };
        (Sim { p, bank: bank.clone(), offset, rng, st, live: false }, linked)
    }

    pub(super) fn saved(&self) -> SavedState {
        let mut st = self.st.clone();
        st.rng_pos = self.rng.get_word_pos();
        SavedState(st)
    }

    pub(super) fn cursor(&self) -> String {
        self.saved().to_json()
    }

    /// Never simulate further back than `floor` (live catch-up).
    pub(super) fn skip_to(&mut self, floor: i64) {
        self.st.t = self.st.t.max(floor);
        self.st.last_at = self.st.last_at.max(floor);
    }

    /// A cursor from a later clock (the clock was set back) resumes at now.
    /// Returns the cursor's time when it was more than an hour ahead.
    pub(super) fn not_after(&mut self, now: i64) -> Option<i64> {
        let ahead = self.st.t.max(self.st.last_at);
        self.st.t = self.st.t.min(now);
        self.st.last_at = self.st.last_at.min(now);
        (ahead > now + 3600).then_some(ahead)
    }

    /// Delivers the next event. `None` only in [`Pace::CatchUp`], when the
    /// next event would be after `now`.
    pub(super) fn step(&mut self, now: i64, pace: Pace, frozen: &HashSet<String>) -> Option<Step> {
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
    pub(super) fn plan(&mut self, now: i64, pace: Pace) -> bool {
        let base = self.st.t;
        let now = now.max(base);
        self.live = matches!(pace, Pace::Live);
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
        let (due, later): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut self.st.later).into_iter().partition(|p| p.at <= end);
        self.st.later = later;
        queued.extend(due);
        let (due, orders): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut self.st.orders).into_iter().partition(|p| p.at <= end);
        self.st.orders = orders;
        queued.extend(due);
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
    pub(super) fn compose(&mut self, base: i64, target: i64, limit: i64) -> Vec<Pending> {
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
        let charge = self.ordinary(target, None);
        vec![self.authorised(charge)]
    }

    /// An ordinary card charge at `at`.
    pub(super) fn ordinary(&mut self, at: i64, fraud: Option<FraudTag>) -> Pending {
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
                transfer: false,
                id: None,
            },
        }
    }

    /// A random amount in a range given in hundredths of a major unit.
    pub(super) fn amount(&mut self, (low, high): (i64, i64)) -> i64 {
        let (low, high) = (self.p.scaled(low), self.p.scaled(high));
        self.rng.random_range(low..=high.max(low))
    }

    pub(super) fn spending_account(&mut self) -> String {
        let accounts = &self.p.accounts;
        let i = weighted(&mut self.rng, accounts.iter().map(|a| a.spending));
        accounts[i].id.clone()
    }

    /// Turns a decided event into a feed event at its time (never before the
    /// previous one, never after now). `None` if it no longer applies (its
    /// account left the profile).
    pub(super) fn deliver(&mut self, pending: Pending, now: i64, frozen: &HashSet<String>) -> Option<Step> {
        let pending = self.decide_budget(pending)?;
        let pending = self.decide_payment(pending)?;
        let at = pending.at.min(now).max(self.st.last_at);
        let when = to_utc(at);
        let currency = self.p.currency;
        let (event, fraud) = match pending.item {
            item @ Item::Auth { .. } => (self.deliver_auth(item, when, frozen)?, None),
            Item::Txn { account, merchant, category, channel, country, minor, fraud, transfer, id } => {
                let acct = self.p.account(&account)?;
                let card_charge = minor < 0 && matches!(channel, Channel::CardPresent | Channel::Online | Channel::Atm);
                match (&acct.card_mask, card_charge && frozen.contains(&account)) {
                    (Some(card), true) if id.is_none() => {
                        let text = declined(Money::new(minor, currency), &merchant, card);
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
                            external_id: id.unwrap_or_else(|| format!("{}-{:08}", self.bank, self.st.seq)),
                            posted_at: when,
                            amount: Money::new(minor, currency),
                            merchant,
                            category,
                            channel,
                            country,
                            notify: minor > 0 || minor.saturating_abs() >= self.p.notify_over,
                            pending: false,
                            transfer,
                        };
                        if fraud.is_none() {
                            self.order(&txn);
                        }
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
            // A tip the profile marks `offer:` is marketing: the `offers` scope.
            Item::Notice { text } => match text.strip_prefix(OFFER_MARK) {
                Some(offer) => (self.message(when, MessageKind::Offer, offer.trim_start().to_string()), None),
                None => (self.message(when, MessageKind::Service, text), None),
            },
            Item::Purchase { txn, merchant, update } => {
                (FeedEvent::Purchase { txn_external_id: txn, at: when, merchant, update }, None)
            }
            // Decided above.
            Item::Payment { .. } | Item::Budget { .. } => return None,
        };
        self.st.last_at = at;
        Some(Step { event, fraud })
    }

    /// Decides a card payment as it posts: the card's balance owed now.
    /// Returns the transaction leaving `from` and queues the one arriving on
    /// the card right after it, so that a cursor between the two keeps the
    /// pair whole. `None` when nothing is owed or an account left the
    /// profile; other items pass through.
    pub(super) fn decide_payment(&mut self, pending: Pending) -> Option<Pending> {
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
                transfer: true,
                id: None,
            },
        };
        self.st.queue.push_front(txn(card, card_merchant, owed));
        Some(txn(from, merchant, -owed))
    }

    pub(super) fn message(&mut self, at: DateTime<Utc>, kind: MessageKind, text: String) -> FeedEvent {
        self.st.msg_seq += 1;
        FeedEvent::Message { external_id: format!("{}-m{}", self.bank, self.st.msg_seq), at, kind, text }
    }
}

/// Picks an index with probability proportional to its weight (the weights
/// are validated: at least one is positive, each at most a million).
/// What the bank says instead of charging a frozen card.
pub(super) fn declined(amount: Money, merchant: &str, card: &str) -> String {
    format!(
        "Declined: {} at {merchant} — your card •{card} is frozen. Say \"unfreeze card\" to use it again.",
        amount.abs()
    )
}

pub(super) fn weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = u32> + Clone) -> usize {
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
pub(super) fn mix_seed(seed: u64, bank: &BankId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bank.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
