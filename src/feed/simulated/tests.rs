//! The simulated feed's tests: profiles, determinism, fraud patterns, the runner.

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
            ledger: None,
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
        let payments: Vec<&Recurring> = sim.recurring.iter().filter(|r| r.category == "Credit Card Payment").collect();
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
        ("accounts[0].id", Value::from("Checking"), "accounts[0].id: \"Checking\" must be 1-32 lowercase"),
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
    // 3000 events at 6 a day (plus scheduled ones, and the postings of
    // authorised charges) span well over 90 days and end near now (the
    // postings make the rate vary: within ten days).
    assert!(times[0] < now() - TimeDelta::days(300), "starts {}", times[0]);
    assert!(*times.last().unwrap() > now() - TimeDelta::days(10), "ends {}", times.last().unwrap());
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
    let (chase, citi) = (BankId::new("chase").unwrap(), BankId::new("citi").unwrap());
    assert_ne!(mix_seed(42, &chase), mix_seed(42, &citi));
    assert_eq!(mix_seed(42, &chase), mix_seed(42, &chase));
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
    let (mut ids, mut authorised) = (HashSet::new(), HashSet::new());
    let (mut reports, mut statements) = (0, 0);
    for e in &events {
        match e {
            FeedEvent::Account(a) => {
                balances.insert(a.external_id.clone(), a.opening.minor);
            }
            // An authorisation moves no balance; its posting may carry its
            // id, once.
            FeedEvent::Transaction(t) if t.pending => {
                assert!(ids.insert(t.external_id.clone()), "{}", t.external_id);
                assert!(authorised.insert(t.external_id.clone()));
            }
            FeedEvent::Transaction(t) => {
                *balances.get_mut(&t.account).expect("linked account") += t.amount.minor;
                assert!(ids.insert(t.external_id.clone()) || authorised.remove(&t.external_id), "{}", t.external_id);
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
            let of_kind: Vec<bool> = incidents.values().filter(|(p, _)| p == pattern).map(|(_, hit)| *hit).collect();
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
                assert!(txns.iter().all(|t| (-299..=-50).contains(&t.amount.minor) && t.channel == Channel::Online));
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

/// "citi-00000664": a transaction numbered on delivery.
fn numbered(id: &str) -> bool {
    id.rsplit('-').next().is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
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
            // Authorisations and their postings have ids of their own;
            // the numbered ones count up.
            FeedEvent::Transaction(t) if numbered(&t.external_id) => last_seq = t.external_id,
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
            FeedEvent::Transaction(t) if numbered(&t.external_id) => break t,
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
            // An authorisation moves the balance when it posts.
            FeedEvent::Transaction(t) if !t.pending => {
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
