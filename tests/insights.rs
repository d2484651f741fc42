//! Insights across banks on constructed histories: each fires once, with
//! the right numbers, never on transfers, never for history older than
//! their news window, and goes with the bank's rows when it is purged.

use chrono::{DateTime, Duration, TimeZone, Utc};
use finbox::domain::insight::Insight;
use finbox::domain::*;
use finbox::feed::{AccountInfo, Envelope, FeedEvent, TxnInfo, profile};
use finbox::store::Store;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn bank(id: &str) -> BankId {
    BankId::new(id).unwrap()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn env(s: &Store, b: &str, event: FeedEvent) -> Envelope {
    Envelope { bank: bank(b), epoch: s.bank(&bank(b)).unwrap().epoch, event }
}

fn account(ext: &str, kind: AccountKind, mask: &str, opening: i64) -> FeedEvent {
    FeedEvent::Account(AccountInfo {
        external_id: ext.into(),
        name: format!("Account {ext}"),
        kind,
        mask: mask.into(),
        opening: usd(opening),
        card_mask: None,
        history_from: None,
    })
}

/// A posted card charge (or credit) `days_ago` days before now.
fn txn(acct: &str, ext: &str, days_ago: i64, minor: i64, merchant: &str, category: &str) -> TxnInfo {
    TxnInfo {
        account: acct.into(),
        external_id: ext.into(),
        posted_at: now() - Duration::days(days_ago),
        amount: usd(minor),
        merchant: merchant.into(),
        category: category.into(),
        channel: Channel::Online,
        country: "US".into(),
        notify: false,
        pending: false,
        transfer: false,
    }
}

/// Chase (checking •4417, card •7742) and Citi (card •0314), shared long ago.
fn linked() -> Store {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    for b in ["chase", "citi"] {
        s.grant_for(&bank(b), now() - Duration::days(400), Duration::days(3650)).unwrap();
    }
    let batch = vec![
        env(&s, "chase", account("chk", AccountKind::Checking, "4417", 300_000)),
        env(&s, "chase", account("cc", AccountKind::Credit, "7742", 0)),
        env(&s, "citi", account("cc", AccountKind::Credit, "0314", 0)),
    ];
    s.apply_batch(&batch, now()).unwrap();
    s
}

fn apply(s: &mut Store, b: &str, txns: Vec<TxnInfo>) -> u64 {
    apply_at(s, b, txns, now())
}

fn apply_at(s: &mut Store, b: &str, txns: Vec<TxnInfo>, at: DateTime<Utc>) -> u64 {
    let batch: Vec<Envelope> = txns.into_iter().map(|t| env(s, b, FeedEvent::Transaction(t))).collect();
    s.apply_batch(&batch, at).unwrap().insights
}

fn insights(s: &Store) -> Vec<Insight> {
    s.insights(100).unwrap()
}

fn of(s: &Store, kind: InsightKind) -> Vec<Insight> {
    insights(s).into_iter().filter(|i| i.kind == kind).collect()
}

#[test]
fn a_recurring_charge_that_went_up_is_posted_once_with_both_amounts() {
    let mut s = linked();
    let netflix = |ext: &str, ago, minor| txn("cc", ext, ago, minor, "NETFLIX.COM 866-579", "Subscriptions");
    apply(&mut s, "citi", vec![netflix("n1", 70, -1549), netflix("n2", 40, -1549)]);
    assert!(of(&s, InsightKind::PriceUp).is_empty());
    assert!(apply(&mut s, "citi", vec![netflix("n3", 10, -1799)]) >= 1);
    // Delivered again: nothing new.
    apply(&mut s, "citi", vec![netflix("n3", 10, -1799)]);
    let up = of(&s, InsightKind::PriceUp);
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0].text, "NETFLIX.COM 866-579 went up: $15.49 → $17.99 on Citi •0314.");
    let rows: Vec<String> = s.insight_transactions(up[0].id).unwrap().into_iter().map(|t| t.external_id).collect();
    assert_eq!(rows, ["n3", "n2"]);
    // October's summary came with it (the data moved past October).
    assert_eq!(s.insights_unread().unwrap(), insights(&s).len() as i64);
    s.mark_insights_read().unwrap();
    assert_eq!(s.insights_unread().unwrap(), 0);
}

#[test]
fn a_new_subscription_is_its_second_monthly_charge_and_only_once() {
    let mut s = linked();
    // The card's history goes back a year: Spotify is new on it.
    apply(&mut s, "chase", vec![txn("cc", "old", 365, -2000, "Gap", "Shopping")]);
    apply(&mut s, "chase", vec![txn("cc", "s1", 35, -1099, "Spotify USA", "Subscriptions")]);
    apply(&mut s, "chase", vec![txn("cc", "s2", 4, -1099, "Spotify USA", "Subscriptions")]);
    let new = of(&s, InsightKind::NewSubscription);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0].text, "New subscription: Spotify USA, $10.99 a month on Chase •7742 (first charged Oct 16).");
    assert_eq!(new[0].transactions.len(), 2);
    // A third charge is no news.
    apply_at(
        &mut s,
        "chase",
        vec![txn("cc", "s3", -26, -1099, "Spotify USA", "Subscriptions")],
        now() + Duration::days(30),
    );
    assert_eq!(of(&s, InsightKind::NewSubscription).len(), 1);
}

#[test]
fn the_same_charge_on_two_cards_is_a_likely_duplicate() {
    let mut s = linked();
    apply(&mut s, "chase", vec![txn("cc", "a1", 3, -4210, "AMAZON MKTPL*2K4", "Shopping")]);
    apply(&mut s, "citi", vec![txn("cc", "a2", 2, -4210, "Amazon Mktpl*9Q1", "Shopping")]);
    let dup = of(&s, InsightKind::Duplicate);
    assert_eq!(dup.len(), 1, "{dup:?}");
    assert_eq!(
        dup[0].text,
        "Possible duplicate: Amazon Mktpl*9Q1 $42.10 on Chase •7742 (Nov 17) and on Citi •0314 (Nov 18)."
    );
    let banks: Vec<String> =
        s.insight_transactions(dup[0].id).unwrap().into_iter().map(|t| t.bank.to_string()).collect();
    assert_eq!(banks, ["citi", "chase"]);
    // Another amount, or a week apart, is not one.
    apply(&mut s, "citi", vec![txn("cc", "a3", 1, -999, "Amazon Mktpl", "Shopping")]);
    assert_eq!(of(&s, InsightKind::Duplicate).len(), 1);
}

#[test]
fn money_back_from_a_merchant_paid_is_a_refund() {
    let mut s = linked();
    apply(&mut s, "chase", vec![txn("cc", "t1", 9, -2350, "Target 0042", "Shopping")]);
    apply(&mut s, "chase", vec![txn("cc", "t2", 2, 2350, "TARGET 0042", "Shopping")]);
    let r = of(&s, InsightKind::Refund);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].text, "Refund arrived: $23.50 from TARGET 0042 on Chase •7742.");
}

#[test]
fn transfers_and_card_payments_are_never_insights() {
    let mut s = linked();
    let mut legs = Vec::new();
    // A growing monthly move to savings, and the same card payment twice.
    for (i, (ago, minor)) in [(70, -50_000), (40, -50_000), (10, -60_000)].into_iter().enumerate() {
        legs.push(TxnInfo {
            transfer: true,
            ..txn("chk", &format!("sav{i}"), ago, minor, "Transfer to Savings", "Transfer")
        });
    }
    legs.push(txn("chk", "pay1", 3, -12_000, "Chase Card Payment", "Credit Card Payment"));
    apply(&mut s, "chase", legs);
    apply(&mut s, "citi", vec![txn("cc", "pay2", 2, -12_000, "Chase Card Payment", "Credit Card Payment")]);
    assert_eq!(insights(&s), vec![]);
}

#[test]
fn history_older_than_the_news_window_is_remembered_not_posted() {
    let mut s = linked();
    // A duplicate and a price rise, a year ago.
    let old = vec![
        txn("cc", "h1", 430, -1549, "Netflix", "Subscriptions"),
        txn("cc", "h2", 400, -1549, "Netflix", "Subscriptions"),
        txn("cc", "h3", 370, -1799, "Netflix", "Subscriptions"),
    ];
    apply(&mut s, "citi", old);
    assert_eq!(insights(&s), vec![]);
    // What it remembered still counts: the next rise is news.
    apply(&mut s, "citi", vec![txn("cc", "h4", 340, -1799, "Netflix", "Subscriptions")]);
    apply(&mut s, "citi", vec![txn("cc", "h5", 5, -1999, "Netflix", "Subscriptions")]);
    assert_eq!(of(&s, InsightKind::PriceUp).len(), 0, "a gap of a year is not a month");
}

#[test]
fn a_low_balance_ahead_is_said_once_per_bill() {
    let mut s = linked();
    // $3,000 in checking; rent of $1,850 monthly, due again in 5 days;
    // a paycheck of $2,400 every two weeks, next in 10.
    let rent = |ext: &str, ago| txn("chk", ext, ago, -185_000, "Oakwood Apartments", "Housing");
    let pay = |ext: &str, ago| txn("chk", ext, ago, 240_000, "ACME PAYROLL", "Income");
    apply(&mut s, "chase", vec![rent("r1", 55), pay("p1", 18), rent("r2", 25), pay("p2", 4)]);
    let low = of(&s, InsightKind::LowBalance);
    assert!(low.is_empty(), "{low:?}");
    // Rent seen twice in an account's first months is not a new subscription.
    assert!(of(&s, InsightKind::NewSubscription).is_empty());
    // Spending brings checking down to $1,000.00 (300,000 + 480,000 - 370,000 - 310,000).
    apply(&mut s, "chase", vec![txn("chk", "big", 1, -310_000, "Best Buy", "Shopping")]);
    let low = of(&s, InsightKind::LowBalance);
    assert_eq!(low.len(), 1, "{low:?}");
    assert_eq!(
        low[0].text,
        "Chase •4417 may fall to -$850.00 on Nov 25 when Oakwood Apartments ($1,850.00) is due. \
         Next 14 days: 1 bill $1,850.00, 1 deposit $2,400.00."
    );
    apply(&mut s, "chase", vec![txn("chk", "coffee", 0, -450, "Blue Bottle", "Coffee")]);
    assert_eq!(of(&s, InsightKind::LowBalance).len(), 1, "said once");
}

#[test]
fn a_month_is_summed_up_by_category_once_the_data_moves_past_it() {
    let mut s = linked();
    let dec2 = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
    let at = |ext: &str, acct: &str, day: u32, minor: i64, m: &str, c: &str| TxnInfo {
        posted_at: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
        ..txn(acct, ext, 0, minor, m, c)
    };
    let nov = vec![
        at("g1", "chk", 3, -8_000, "Whole Foods", "Groceries"),
        at("g2", "chk", 17, -4_010, "Trader Joe's", "Groceries"),
        at("c1", "chk", 5, -450, "Blue Bottle", "Coffee"),
        TxnInfo { transfer: true, ..at("t1", "chk", 6, -50_000, "Transfer to Savings", "Transfer") },
    ];
    apply_at(&mut s, "chase", nov, dec2);
    assert!(of(&s, InsightKind::Monthly).is_empty(), "November is not over in the data yet");
    apply_at(&mut s, "citi", vec![at("r1", "cc", 20, -6_500, "Olive Garden", "Restaurants")], dec2);
    let dec = TxnInfo { posted_at: dec2 - Duration::days(1), ..txn("chk", "d1", 0, -300, "Blue Bottle", "Coffee") };
    apply_at(&mut s, "chase", vec![dec.clone()], dec2);
    let m = of(&s, InsightKind::Monthly);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        m[0].text,
        "November 2026: you spent $189.60 across every bank (transfers between your accounts not counted).\n\
         Groceries   ████████ $120.10\n\
         Restaurants ████▎     $65.00\n\
         Coffee      ▎          $4.50"
    );
    assert_eq!(m[0].transactions.len(), 4);
    let more = TxnInfo { external_id: "d2".into(), ..dec };
    apply_at(&mut s, "chase", vec![more], dec2);
    assert_eq!(of(&s, InsightKind::Monthly).len(), 1);
}

/// Feeds catching up reach a month's end at their own pace: the summary
/// waits for every bank whose feed runs (and that had rows that month),
/// so that it counts what they deliver.
#[test]
fn a_month_is_summed_up_once_every_running_feed_has_moved_past_it() {
    let mut s = linked();
    let me = finbox::feed::lease::this_process();
    s.claim_feeds(&me, &[bank("chase"), bank("citi")], 1_000, &|_| true).unwrap();
    let dec2 = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
    let day = |d: u32, m: u32| Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0).unwrap();
    let at = |ext: &str, acct: &str, when, minor: i64, m: &str, c: &str| TxnInfo {
        posted_at: when,
        ..txn(acct, ext, 0, minor, m, c)
    };
    apply_at(&mut s, "citi", vec![at("r1", "cc", day(20, 11), -6_500, "Olive Garden", "Restaurants")], dec2);
    let chase = vec![
        at("g1", "chk", day(3, 11), -8_000, "Whole Foods", "Groceries"),
        at("d1", "chk", day(1, 12), -300, "Blue Bottle", "Coffee"),
    ];
    apply_at(&mut s, "chase", chase, dec2);
    assert!(of(&s, InsightKind::Monthly).is_empty(), "Citi's feed has not reached December yet");
    let citi = vec![
        at("r2", "cc", day(29, 11), -2_000, "Olive Garden", "Restaurants"),
        at("r3", "cc", day(1, 12), -1_000, "Olive Garden", "Restaurants"),
    ];
    apply_at(&mut s, "citi", citi, dec2);
    let m = of(&s, InsightKind::Monthly);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].text.starts_with("November 2026: you spent $165.00 across every bank"), "{}", m[0].text);
}

#[test]
fn a_purge_takes_the_bank_s_insights_along() {
    let mut s = linked();
    apply(&mut s, "chase", vec![txn("cc", "a1", 3, -4210, "Amazon", "Shopping")]);
    apply(&mut s, "citi", vec![txn("cc", "a2", 2, -4210, "Amazon", "Shopping")]);
    apply(
        &mut s,
        "chase",
        vec![txn("cc", "t1", 9, -2350, "Target", "Shopping"), txn("cc", "t2", 2, 2350, "Target", "Shopping")],
    );
    assert_eq!(insights(&s).len(), 2);
    s.revoke(&bank("citi"), true, now()).unwrap();
    let left = insights(&s);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].kind, InsightKind::Refund);
}

fn rules(rules: Vec<finbox::domain::rules::Rule>) -> finbox::domain::rules::Rules {
    finbox::domain::rules::Rules(rules)
}

#[test]
fn rules_rename_categorise_and_hide_at_ingest_and_again_on_demand() {
    use finbox::domain::rules::Rule;
    let mut s = linked();
    let hide = Rule::new("amazon".into(), Some("amazon"), None, None, None, true).unwrap();
    let coffee = Rule::new(
        "coffee".into(),
        None,
        Some("^(sbux|starbucks)"),
        Some("Caffeine".into()),
        Some("Starbucks".into()),
        false,
    )
    .unwrap();
    s.set_rules(rules(vec![hide, coffee.clone()]));
    apply(&mut s, "chase", vec![txn("cc", "c1", 3, -450, "SBUX 0042 SEATTLE", "Coffee")]);
    // The same charge on two cards, hidden from insights by a rule.
    apply(&mut s, "chase", vec![txn("cc", "a1", 3, -4210, "Amazon", "Shopping")]);
    apply(&mut s, "citi", vec![txn("cc", "a2", 2, -4210, "Amazon", "Shopping")]);
    assert!(of(&s, InsightKind::Duplicate).is_empty(), "hidden from insights");
    let filter = finbox::store::TxnFilter { limit: 10, ..Default::default() };
    let rows = s.transactions(&filter).unwrap();
    let c1 = rows.iter().find(|t| t.external_id == "c1").unwrap();
    assert_eq!((c1.merchant.as_str(), c1.category.as_str()), ("Starbucks", "Caffeine"));
    assert_eq!((c1.rule.as_deref(), c1.original_merchant.as_deref()), (Some("coffee"), Some("SBUX 0042 SEATTLE")));
    assert_eq!(s.apply_rules().unwrap().changed, 0, "ingest applied them already");
    // The rules change: applied again, from what the bank said.
    s.set_rules(rules(vec![coffee]));
    let r = s.apply_rules().unwrap();
    assert_eq!((r.checked, r.matched, r.changed), (3, 1, 2));
    s.set_rules(rules(vec![]));
    assert_eq!(s.apply_rules().unwrap().changed, 1);
    let rows = s.transactions(&filter).unwrap();
    let c1 = rows.iter().find(|t| t.external_id == "c1").unwrap();
    assert_eq!((c1.merchant.as_str(), c1.category.as_str(), c1.rule.as_deref()), ("SBUX 0042 SEATTLE", "Coffee", None));
}

fn purchase(txn: &str, update: finbox::domain::event::PurchaseUpdate) -> FeedEvent {
    FeedEvent::Purchase { txn_external_id: txn.into(), at: now(), merchant: "Amazon.com".into(), update }
}

fn item(name: &str, quantity: u32, minor: i64) -> finbox::domain::event::ReceiptItem {
    finbox::domain::event::ReceiptItem { name: name.into(), quantity, amount: usd(minor) }
}

#[test]
fn a_receipt_and_its_deliveries_arrive_in_the_paying_bank_s_thread_linked_to_the_charge() {
    use finbox::domain::event::PurchaseUpdate;
    let mut s = linked();
    apply(&mut s, "chase", vec![txn("cc", "o1", 1, -5352, "Amazon.com", "Shopping")]);
    let receipt = PurchaseUpdate::Receipt {
        items: vec![item("Wireless mouse", 2, 3390), item("Book", 1, 1566), item("Sales tax", 1, 396)],
    };
    let events = vec![
        purchase("o1", receipt.clone()),
        // The escape sequence never reaches the store (nor the terminal).
        purchase("o1", PurchaseUpdate::Shipped { carrier: "UPS\u{1b}[2J".into() }),
        purchase("o1", PurchaseUpdate::Delivered),
        // Delivered again: stored once.
        purchase("o1", PurchaseUpdate::Delivered),
        // Lines that do not add up to the charge, and a charge never seen.
        purchase("o1", PurchaseUpdate::Receipt { items: vec![item("Book", 1, 100)] }),
        purchase("nope", receipt.clone()),
    ];
    let batch: Vec<Envelope> = events.into_iter().map(|e| env(&s, "chase", e)).collect();
    let report = s.apply_batch(&batch, now()).unwrap();
    assert_eq!((report.messages, report.duplicates), (3, 1), "{report:?}");
    let reasons: Vec<&str> = report.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["receipt lines add up to $1.00, the charge is $53.52", "no transaction \"nope\" to go with"],
        "{reasons:?}"
    );
    let id = s.transactions(&finbox::store::TxnFilter { limit: 5, ..Default::default() }).unwrap()[0].id;
    let r = s.txn_receipt(id).unwrap();
    assert_eq!(r.items.iter().map(|i| i.amount.minor).sum::<i64>(), 5352);
    assert_eq!(r.items[0].quantity, 2);
    let texts: Vec<&str> = r.updates.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Receipt from Amazon.com for $53.52 (Account cc •7742): 2 × Wireless mouse $33.90 · Book $15.66 · Sales tax $3.96.",
            "Amazon.com: your order ($53.52) has shipped with UPS.",
            "Amazon.com: your order ($53.52) was delivered.",
        ]
    );
}

#[test]
fn a_receipt_that_does_not_add_up_is_refused_and_one_outside_the_messages_scope_is_not_stored() {
    use finbox::domain::event::PurchaseUpdate;
    use finbox::domain::{Scope, Scopes};
    let mut s = linked();
    apply(&mut s, "chase", vec![txn("cc", "o1", 1, -5352, "Amazon.com", "Shopping")]);
    let wrong = vec![env(&s, "chase", purchase("o1", PurchaseUpdate::Receipt { items: vec![item("Book", 1, 100)] }))];
    let report = s.apply_batch(&wrong, now()).unwrap();
    assert_eq!(report.rejected[0].reason, "receipt lines add up to $1.00, the charge is $53.52");
    s.set_scopes(&bank("chase"), Scopes::all().with(Scope::Messages, false), false, now()).unwrap();
    let right = vec![env(&s, "chase", purchase("o1", PurchaseUpdate::Receipt { items: vec![item("Book", 1, 5352)] }))];
    let report = s.apply_batch(&right, now()).unwrap();
    assert_eq!((report.out_of_scope, report.messages), (1, 0));
    let id = s.transactions(&finbox::store::TxnFilter { limit: 5, ..Default::default() }).unwrap()[0].id;
    assert!(s.txn_receipt(id).unwrap().items.is_empty());
    // Shared again, then narrowed with deletion: its lines go too.
    s.set_scopes(&bank("chase"), Scopes::all(), false, now()).unwrap();
    let right = vec![env(&s, "chase", purchase("o1", PurchaseUpdate::Receipt { items: vec![item("Book", 1, 5352)] }))];
    s.apply_batch(&right, now()).unwrap();
    assert_eq!(s.txn_receipt(id).unwrap().items.len(), 1);
    s.set_scopes(&bank("chase"), Scopes::all().with(Scope::Messages, false), true, now()).unwrap();
    let r = s.txn_receipt(id).unwrap();
    assert!(r.items.is_empty() && r.updates.is_empty(), "{r:?}");
}
