//! Store invariants: idempotent ingestion, balances equal opening plus the sum
//! of transactions, consent enforcement, purge, paging, search and replies.

use chrono::{DateTime, Duration, TimeZone, Utc};
use finbox::domain::*;
use finbox::feed::{AccountInfo, Envelope, FeedEvent, TxnInfo, profile};
use finbox::store::{ChainReport, ConsentChange, Store, StoreError, TxnFilter};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn bank(id: &str) -> BankId {
    BankId::new(id).unwrap()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

/// A store with the four embedded banks; `granted` ones shared (100 days
/// ago, for ten years: expiry has tests of its own).
fn store_with(granted: &[&str]) -> Store {
    with_banks(Store::open_in_memory().unwrap(), granted)
}

/// [`store_with`], in a file at `path`.
fn file_store_with(path: &std::path::Path, granted: &[&str]) -> Store {
    with_banks(Store::open(path).unwrap(), granted)
}

fn with_banks(mut s: Store, granted: &[&str]) -> Store {
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    for b in granted {
        s.grant_for(&bank(b), t0() - Duration::days(100), Duration::days(3650)).unwrap();
    }
    s
}

fn epoch(s: &Store, b: &str) -> i64 {
    s.bank(&bank(b)).unwrap().epoch
}

fn env(s: &Store, b: &str, event: FeedEvent) -> Envelope {
    Envelope { bank: bank(b), epoch: epoch(s, b), event }
}

fn account(ext: &str, opening: i64, card: Option<&str>) -> FeedEvent {
    FeedEvent::Account(AccountInfo {
        external_id: ext.into(),
        name: format!("Account {ext}"),
        kind: if card == Some("7777") { AccountKind::Credit } else { AccountKind::Checking },
        mask: "1234".into(),
        opening: usd(opening),
        card_mask: card.map(str::to_string),
        history_from: None,
    })
}

fn txn(acct: &str, ext: &str, minutes: i64, minor: i64, merchant: &str) -> FeedEvent {
    FeedEvent::Transaction(TxnInfo {
        account: acct.into(),
        external_id: ext.into(),
        posted_at: t0() - Duration::days(30) + Duration::minutes(minutes),
        amount: usd(minor),
        merchant: merchant.into(),
        category: "Groceries".into(),
        channel: Channel::CardPresent,
        country: "US".into(),
        notify: false,
        pending: false,
        transfer: false,
    })
}

fn linked(b: &str) -> Store {
    let mut s = store_with(&[b]);
    let batch = vec![env(&s, b, account("chk", 100_000, Some("9913"))), env(&s, b, account("cc", 0, Some("7777")))];
    s.apply_batch(&batch, t0()).unwrap();
    s
}

#[test]
fn a_fresh_store_lists_the_configured_banks_unshared() {
    let s = store_with(&[]);
    let banks = s.banks().unwrap();
    let ids: Vec<&str> = banks.iter().map(|b| b.bank.id.as_str()).collect();
    assert_eq!(ids, ["chase", "wellsfargo", "citi", "usbank"]);
    assert!(banks.iter().all(|b| b.bank.consent == ConsentState::Revoked));
    assert!(s.consent_log(None).unwrap().is_empty());
}

#[test]
fn nothing_is_written_for_a_bank_without_consent() {
    let mut s = store_with(&["chase"]);
    let batch = vec![
        env(&s, "citi", account("chk", 5_000, None)),
        env(&s, "citi", txn("chk", "c1", 0, -500, "Shop")),
        env(
            &s,
            "citi",
            FeedEvent::Message { external_id: "m1".into(), at: t0(), kind: MessageKind::Service, text: "hi".into() },
        ),
    ];
    let report = s.apply_batch(&batch, t0()).unwrap();
    assert_eq!(report.dropped_no_consent, 3);
    assert_eq!(s.shared_row_count(&bank("citi")).unwrap(), 0);
}

#[test]
fn events_from_a_feed_started_before_a_revoke_are_dropped() {
    let mut s = linked("chase");
    let stale = env(&s, "chase", txn("chk", "late", 5, -100, "Late"));
    s.revoke(&bank("chase"), false, t0()).unwrap();
    s.grant(&bank("chase"), t0()).unwrap();
    let report = s.apply_batch(&[stale], t0()).unwrap();
    assert_eq!((report.dropped_no_consent, report.transactions), (1, 0));
}

#[test]
fn ingestion_is_idempotent() {
    let mut s = linked("chase");
    let batch: Vec<Envelope> =
        (0..50).map(|i| env(&s, "chase", txn("chk", &format!("t{i}"), i, -100 - i, "Shop"))).collect();
    let first = s.apply_batch(&batch, t0()).unwrap();
    assert_eq!(first.transactions, 50);
    let before = s.accounts(None).unwrap();
    let again = s.apply_batch(&batch, t0()).unwrap();
    assert_eq!((again.transactions, again.duplicates), (0, 50));
    assert_eq!(s.accounts(None).unwrap(), before);
    assert!(s.balance_mismatches().unwrap().is_empty());
}

#[test]
fn malformed_records_are_rejected_with_a_reason_and_the_rest_proceeds() {
    let mut s = linked("chase");
    let mut bad_currency = txn("chk", "eur", 1, -100, "Shop");
    if let FeedEvent::Transaction(t) = &mut bad_currency {
        t.amount = Money::new(-100, Currency::new("EUR").unwrap());
    }
    let mut future = txn("chk", "future", 1, -100, "Shop");
    if let FeedEvent::Transaction(t) = &mut future {
        t.posted_at = t0() + Duration::days(30);
    }
    let batch = vec![
        env(&s, "chase", txn("nope", "x1", 0, -100, "Shop")),
        env(&s, "chase", bad_currency),
        env(&s, "chase", future),
        env(&s, "chase", txn("chk", "good", 2, -100, "Shop")),
    ];
    let r = s.apply_batch(&batch, t0()).unwrap();
    assert_eq!(r.transactions, 1);
    let reasons: Vec<&str> = r.rejected.iter().map(|x| x.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("unknown account"));
    assert!(reasons[1].contains("EUR"));
    assert!(reasons[2].contains("outside"));
    // Refused records are quarantined with their reasons, once.
    s.apply_batch(&batch, t0()).unwrap();
    let q = s.quarantine(10).unwrap();
    assert_eq!(q.len(), 3);
    assert!(q.iter().any(|x| x.record == "transaction x1" && x.reason.contains("unknown account")));
    s.revoke(&bank("chase"), true, t0()).unwrap();
    assert_eq!(s.quarantine_count().unwrap(), 0, "purge removes them too");
}

#[test]
fn untrusted_text_is_cleaned_at_ingestion() {
    let mut s = linked("chase");
    let batch = vec![
        env(&s, "chase", txn("chk", "evil", 1, -100, "EVIL\u{1b}]0;owned\u{7}\u{1b}[31mCORP\u{202e}")),
        env(
            &s,
            "chase",
            FeedEvent::Message {
                external_id: "m".into(),
                at: t0(),
                kind: MessageKind::Service,
                text: "hi\u{1b}[2J\u{9b}1m there".into(),
            },
        ),
    ];
    s.apply_batch(&batch, t0()).unwrap();
    let t = &s.transactions(&TxnFilter { limit: 1, ..Default::default() }).unwrap()[0];
    assert_eq!(t.merchant, "EVILCORP");
    let m = s.messages(&bank("chase"), 10, None).unwrap();
    assert!(m.iter().any(|m| m.text == "hi there"), "{m:?}");
}

#[test]
fn revoke_with_purge_deletes_everything_shared_and_keeps_the_log() {
    let mut s = linked("chase");
    let mut batch: Vec<Envelope> =
        (0..20).map(|i| env(&s, "chase", txn("chk", &format!("t{i}"), i, -100, "Shop"))).collect();
    batch.push(env(
        &s,
        "chase",
        FeedEvent::FraudSignal {
            txn_external_id: "t3".into(),
            at: t0(),
            reason: "odd".into(),
            severity: Severity::High,
        },
    ));
    batch.push(env(&s, "chase", FeedEvent::Cursor("{}".into())));
    s.apply_batch(&batch, t0()).unwrap();
    assert!(s.shared_row_count(&bank("chase")).unwrap() > 20);
    let change = s.revoke(&bank("chase"), true, t0()).unwrap();
    assert!(matches!(change, ConsentChange::Purged { rows, .. } if rows > 20));
    assert_eq!(s.shared_row_count(&bank("chase")).unwrap(), 0);
    assert!(s.accounts(Some(&bank("chase"))).unwrap().is_empty());
    assert!(s.balance_history(AccountId(1), 0).is_err() || s.balance_history(AccountId(1), 0).unwrap().is_empty());
    let log: Vec<ConsentAction> = s.consent_log(Some(&bank("chase"))).unwrap().iter().map(|e| e.action).collect();
    assert_eq!(log, [ConsentAction::Grant, ConsentAction::Revoke, ConsentAction::Purge]);
    assert_eq!(s.bank(&bank("chase")).unwrap().consent, ConsentState::Revoked);
}

/// A transaction the bank would announce, at `at`.
fn announced(ext: &str, at: DateTime<Utc>) -> FeedEvent {
    let FeedEvent::Transaction(t) = txn("chk", ext, 0, -4_500, "Shop") else { unreachable!() };
    FeedEvent::Transaction(TxnInfo { posted_at: at, notify: true, ..t })
}

/// A service message from the bank, at `at`.
fn said(ext: &str, at: DateTime<Utc>, text: &str) -> FeedEvent {
    FeedEvent::Message { external_id: ext.into(), at, kind: MessageKind::Service, text: text.into() }
}

#[test]
fn history_gets_one_note_per_grant_and_later_transactions_their_own_notices() {
    let mut s = linked("chase");
    let shared = t0() - Duration::days(100);
    let day = |d: i64| shared + Duration::days(d);
    let batch = vec![
        env(&s, "chase", announced("h1", day(-40))),
        env(&s, "chase", announced("h2", day(-10))),
        env(&s, "chase", txn("chk", "quiet", -5 * 24 * 60, -100, "Shop")),
        env(&s, "chase", announced("live", day(1))),
        env(&s, "chase", said("old-m", day(-3), "Your card is on its way.")),
        env(&s, "chase", said("new-m", day(2), "Welcome to alerts.")),
    ];
    s.apply_batch(&batch, t0()).unwrap();
    let thread = |s: &Store| s.messages(&bank("chase"), 100, None).unwrap();
    let notes = |s: &Store| -> Vec<String> {
        thread(s).into_iter().filter(|m| m.text.starts_with("History from")).map(|m| m.text).collect()
    };
    let notices: Vec<_> = thread(&s).into_iter().filter(|m| m.kind == MessageKind::Transaction).collect();
    assert_eq!(notices.len(), 1, "only the transaction after sharing is announced");
    assert_eq!(notices[0].at, day(1));
    assert_eq!(
        notes(&s),
        ["History from Chase: 2 transaction notices (Jul 3 – Aug 2, 2026) not replayed here. The transactions \
          are in the account's list and in search."]
    );
    assert_eq!(
        s.banks().unwrap()[0].unread,
        2,
        "the live notice and the later message are news; history (notices or messages) and the note are not"
    );

    // More history later: the same note, counted up; the list holds it all.
    s.apply_batch(&[env(&s, "chase", announced("h3", day(-70)))], t0()).unwrap();
    assert_eq!(notes(&s).len(), 1);
    assert!(notes(&s)[0].contains(": 3 transaction notices (Jun 3 – Aug 2, 2026) not"), "{:?}", notes(&s));
    let all = s.transactions(&TxnFilter { limit: 100, ..Default::default() }).unwrap();
    assert_eq!(all.len(), 5);
    // Replayed history counts once.
    s.apply_batch(&[env(&s, "chase", announced("h3", day(-70)))], t0()).unwrap();
    assert!(notes(&s)[0].contains(": 3 transaction"));

    // A new grant, a new note.
    s.revoke(&bank("chase"), false, t0()).unwrap();
    s.grant_for(&bank("chase"), t0(), Duration::days(90)).unwrap();
    s.apply_batch(&[env(&s, "chase", announced("h4", t0() - Duration::days(1)))], t0()).unwrap();
    assert_eq!(notes(&s).len(), 2);
    assert!(notes(&s).iter().any(|n| n.contains(": 1 transaction notice (Nov 19, 2026) not replayed")));
    s.apply_batch(&[env(&s, "chase", announced("h5", t0() - Duration::days(400)))], t0()).unwrap();
    assert!(
        notes(&s).iter().any(|n| n.contains(": 2 transaction notices (Oct 16, 2025 – Nov 19, 2026) not")),
        "{:?}",
        notes(&s)
    );

    assert!(matches!(s.revoke(&bank("chase"), true, t0()).unwrap(), ConsentChange::Purged { .. }));
    assert_eq!(s.shared_row_count(&bank("chase")).unwrap(), 0, "the tallies go with the purge");
}

#[test]
fn a_bank_message_cannot_be_rewritten_as_the_history_note() {
    let mut s = linked("chase");
    let taken = format!("history:{}", epoch(&s, "chase"));
    let message = FeedEvent::Message {
        external_id: taken,
        at: t0() - Duration::days(200),
        kind: MessageKind::Service,
        text: "Hello from Chase".into(),
    };
    s.apply_batch(&[env(&s, "chase", message)], t0()).unwrap();
    let report = s.apply_batch(&[env(&s, "chase", announced("h1", t0() - Duration::days(150)))], t0()).unwrap();
    assert_eq!(report.transactions, 1);
    assert_eq!(report.messages, 0, "no note was written, none is counted");
    let thread = s.messages(&bank("chase"), 100, None).unwrap();
    let hello: Vec<_> = thread.iter().filter(|m| m.text == "Hello from Chase").collect();
    assert_eq!(hello.len(), 1);
    assert_eq!(hello[0].from, Sender::Bank);
    assert!(!thread.iter().any(|m| m.text.starts_with("History from")));
}

#[test]
fn transactions_before_1990_are_refused_and_from_its_first_second_kept() {
    let mut s = linked("chase");
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap();
    let report = s
        .apply_batch(
            &[
                env(&s, "chase", announced("old", at(631_152_000 - 1))),
                env(&s, "chase", announced("first", at(631_152_000))),
            ],
            t0(),
        )
        .unwrap();
    assert_eq!(report.transactions, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].record, "transaction old");
    assert!(report.rejected[0].reason.contains("1989-12-31"), "{}", report.rejected[0].reason);
}

#[test]
fn a_decided_alert_never_reopens_and_not_me_freezes_the_card() {
    let mut s = linked("chase");
    let sig = FeedEvent::FraudSignal {
        txn_external_id: "t1".into(),
        at: t0(),
        reason: "odd".into(),
        severity: Severity::High,
    };
    let batch = vec![env(&s, "chase", txn("chk", "t1", 0, -50_000, "Electro")), env(&s, "chase", sig.clone())];
    let r = s.apply_batch(&batch, t0()).unwrap();
    let id = r.new_alerts[0];
    let decided = s.ack_alert(id, Verdict::NotMe, t0()).unwrap();
    assert_eq!(decided.status, AlertStatus::Fraud);
    assert!(s.cards(&bank("chase")).unwrap().iter().any(|c| c.mask == "•9913" && c.frozen));
    let last = s.messages(&bank("chase"), 1, None).unwrap().pop().unwrap();
    assert!(last.text.contains("locked your card •9913"), "{}", last.text);
    // The words and the money agree: a provisional credit reverses the
    // charge, so the balance is back where it was.
    assert!(last.text.contains("credited $500.00") && last.text.contains("the balance is $1,000.00 again"));
    let chk = s.accounts(Some(&bank("chase"))).unwrap().into_iter().find(|a| a.external_id == "chk").unwrap();
    assert_eq!(chk.balance.minor, 100_000);
    let rows = s.transactions(&TxnFilter { account: Some(chk.id), limit: 10, ..Default::default() }).unwrap();
    let charge = rows.iter().find(|t| t.external_id == "t1").unwrap();
    let credit = rows.iter().find(|t| t.reverses == Some(charge.id)).expect("the provisional credit");
    assert_eq!((credit.amount.minor, charge.reversed_by), (50_000, Some(credit.id)));
    assert!(!charge.counts_as_spending_or_income() && !credit.counts_as_spending_or_income());
    // The replacement card arrives five days later: a new number, unlocked.
    let later = t0() + Duration::days(5) + Duration::minutes(1);
    s.apply_batch(&[env(&s, "chase", FeedEvent::Cursor("c".into()))], later).unwrap();
    let card = s.cards(&bank("chase")).unwrap().into_iter().find(|c| c.account == chk.id).unwrap();
    assert!(card.mask != "•9913" && !card.frozen, "{card:?}");
    let last = s.messages(&bank("chase"), 1, None).unwrap().pop().unwrap();
    assert!(
        last.text.contains(&format!("Your replacement card {} for Account chk •1234 has arrived", card.mask)),
        "{}",
        last.text
    );
    // The same signal again, and a second verdict, change nothing.
    let again = s.apply_batch(&[env(&s, "chase", sig)], t0()).unwrap();
    assert_eq!((again.alerts, again.duplicates), (0, 1));
    assert!(matches!(s.ack_alert(id, Verdict::ItWasMe, t0()), Err(StoreError::AlertDecided(..))));
    assert_eq!(s.alert(id).unwrap().status, AlertStatus::Fraud);
    assert!(matches!(s.ack_alert(AlertId(999), Verdict::ItWasMe, t0()), Err(StoreError::UnknownAlert(_))));
}

#[test]
fn keyset_pages_cover_every_transaction_once_newest_first() {
    let mut s = linked("chase");
    // Equal timestamps on purpose: the id breaks ties.
    let batch: Vec<Envelope> =
        (0..95).map(|i| env(&s, "chase", txn("chk", &format!("t{i}"), i / 3, -1 - i, "Shop"))).collect();
    s.apply_batch(&batch, t0()).unwrap();
    let mut seen = Vec::new();
    let mut filter = TxnFilter { bank: Some(bank("chase")), limit: 10, ..Default::default() };
    loop {
        let page = s.transactions(&filter).unwrap();
        if page.is_empty() {
            break;
        }
        filter.before = Some(page.last().unwrap().into());
        seen.extend(page);
    }
    assert_eq!(seen.len(), 95);
    let mut ids: Vec<i64> = seen.iter().map(|t| t.id.0).collect();
    assert!(seen.windows(2).all(|w| (w[0].posted_at, w[0].id) > (w[1].posted_at, w[1].id)));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 95);
}

#[test]
fn the_register_reaches_any_row_with_its_running_balance_and_place() {
    use finbox::store::RegisterAt;
    let mut s = linked("chase");
    // Three days of rows, several a day, equal times among them, one pending.
    let mut batch: Vec<Envelope> =
        (0..600).map(|i| env(&s, "chase", txn("chk", &format!("t{i}"), i * 7 / 2, -100 - i, "Shop"))).collect();
    if let FeedEvent::Transaction(t) = &mut batch[300].event {
        t.pending = true;
        t.merchant = "Grand Hotel".into();
    }
    s.apply_batch(&batch, t0()).unwrap();
    let account = s.accounts(Some(&bank("chase"))).unwrap().into_iter().find(|a| a.external_id == "chk").unwrap();
    // The whole register at once, from the newest: the truth to compare with.
    let all = s.register(&account, RegisterAt::Newest, 1_000).unwrap();
    assert_eq!((all.rows.len(), all.offset), (600, 0));
    let at = |i: usize| RegisterAt::At { posted_at: all.rows[i].posted_at.timestamp(), id: all.rows[i].id.0 };
    for (place, i) in [(at(450), 450usize), (at(299), 299), (at(301), 301), (at(599), 599)] {
        let w = s.register(&account, place, 50).unwrap();
        let first = i.saturating_sub(finbox::store::CONTEXT);
        assert_eq!(w.offset, first, "rows newer than the window's first");
        assert_eq!(w.anchor_row, Some(i - first));
        assert_eq!(w.rows[i - first].id, all.rows[i].id);
        assert_eq!(&w.running[..], &all.running[first..first + w.rows.len()], "running balances at row {i}");
    }
    let oldest = s.register(&account, RegisterAt::Oldest, 40).unwrap();
    assert_eq!((oldest.offset, oldest.anchor_row), (560, Some(39)));
    assert_eq!(oldest.rows.last().map(|t| t.id), all.rows.last().map(|t| t.id));
    assert_eq!(&oldest.running[..], &all.running[560..]);
    assert_eq!(oldest.running.last().copied().flatten(), Some(usd(100_000 - 100)), "opening plus the first");
    // A date: the newest row before it, with newer ones above.
    let cut = all.rows[200].posted_at + Duration::seconds(1);
    let w = s.register(&account, RegisterAt::Before(cut), 50).unwrap();
    let row = w.anchor_row.unwrap();
    assert!(w.rows[row].posted_at < cut && (row == 0 || w.rows[row - 1].posted_at >= cut));
    // Before any row: the oldest ones, the last selected.
    let w = s.register(&account, RegisterAt::Before(t0() - Duration::days(400)), 50).unwrap();
    assert_eq!(w.rows.last().map(|t| t.id), all.rows.last().map(|t| t.id));
    assert_eq!(w.anchor_row, Some(w.rows.len() - 1));
}

#[test]
fn a_search_counts_its_matches_up_to_a_cap() {
    let mut s = linked("chase");
    let batch: Vec<Envelope> = (0..37)
        .map(|i| {
            env(&s, "chase", txn("chk", &format!("t{i}"), i, -100, if i % 2 == 0 { "Shell Oil" } else { "Shelby's" }))
        })
        .collect();
    s.apply_batch(&batch, t0()).unwrap();
    let f = |q: &str| TxnFilter { bank: Some(bank("chase")), search: Some(q.into()), limit: 10, ..Default::default() };
    assert_eq!(s.count_matches(&f("shell"), 1_000).unwrap(), 19);
    assert_eq!(s.count_matches(&f("shel"), 1_000).unwrap(), 37);
    assert_eq!(s.count_matches(&f("shel"), 10).unwrap(), 10);
    assert_eq!(s.count_matches(&TxnFilter { bank: None, ..f("shel") }, 1_000).unwrap(), 37);
    assert_eq!(s.count_matches(&TxnFilter { bank: Some(bank("citi")), ..f("shel") }, 1_000).unwrap(), 0);
}

#[test]
fn search_finds_merchants_by_word_prefix() {
    let mut s = linked("chase");
    let batch = vec![
        env(&s, "chase", txn("chk", "a", 0, -100, "Whole Foods Market")),
        env(&s, "chase", txn("chk", "b", 1, -100, "Trader Joe's")),
        env(&s, "chase", txn("chk", "c", 2, -100, "Café Zürich")),
    ];
    s.apply_batch(&batch, t0()).unwrap();
    let find = |q: &str| -> Vec<String> {
        s.transactions(&TxnFilter { search: Some(q.into()), limit: 10, ..Default::default() })
            .unwrap()
            .into_iter()
            .map(|t| t.merchant)
            .collect()
    };
    assert_eq!(find("whole fo"), ["Whole Foods Market"]);
    assert_eq!(find("cafe zurich"), ["Café Zürich"]);
    assert_eq!(find("groceries").len(), 3);
    assert!(find("\" OR *").is_empty());
    assert!(find("nothing").is_empty());
}

#[test]
fn the_bank_answers_from_the_store() {
    let mut s = linked("chase");
    let batch = vec![
        env(&s, "chase", txn("chk", "a", 0, -12_345, "Whole Foods Market")),
        env(&s, "chase", txn("cc", "b", 1, -5_000, "Netflix")),
    ];
    s.apply_batch(&batch, t0()).unwrap();
    let b = bank("chase");
    let reply = s.say(&b, "balance", t0()).unwrap();
    assert!(reply.contains("Account chk •1234: $876.55"), "{reply}");
    assert!(reply.contains("$50.00 owed"), "{reply}");
    assert!(reply.contains("Net across your accounts: $826.55"), "{reply}");
    let reply = s.say(&b, "recent", t0()).unwrap();
    assert!(reply.starts_with("Your last 2 transactions"), "{reply}");
    assert!(reply.find("Netflix").unwrap() < reply.find("Whole Foods").unwrap(), "newest first: {reply}");
    // Accounts named as the screen names them, never by the feed's ids.
    assert!(reply.contains("Whole Foods Market -$123.45 (Account chk •1234)"), "{reply}");
    assert!(!reply.contains("(chk)") && !reply.contains("(cc)"), "{reply}");
    // Both were 30 days ago, i.e. in October; nothing in November yet.
    let reply = s.say(&b, "spending", t0()).unwrap();
    assert!(reply.contains("haven't spent anything"), "{reply}");
    let reply = s.say(&b, "what did I spend", t0() - Duration::days(25)).unwrap();
    assert!(reply.contains("Groceries: $173.45 (2 charges)"), "{reply}");
    let reply = s.say(&b, "freeze card 9913", t0()).unwrap();
    assert!(reply.contains("debit card •9913 is now frozen"), "{reply}");
    assert_eq!(s.frozen_accounts(&b).unwrap().into_iter().collect::<Vec<_>>(), ["chk"]);
    let reply = s.say(&b, "unfreeze card", t0()).unwrap();
    assert!(reply.contains("•9913 is active again"), "{reply}");
    let reply = s.say(&b, "sing me a song", t0()).unwrap();
    assert!(reply.starts_with("Sorry, I didn't catch that"), "{reply}");
    // The conversation holds each question and its answer, in order.
    let msgs = s.messages(&b, 100, None).unwrap();
    let tail: Vec<(Sender, &str)> = msgs.iter().rev().take(2).map(|m| (m.from, m.text.as_str())).collect();
    assert_eq!(tail[1], (Sender::User, "sing me a song"));
    assert_eq!(tail[0].0, Sender::Bank);
    assert!(matches!(s.say(&bank("citi"), "balance", t0()), Err(StoreError::NoConsent(_))));
}

#[test]
fn files_that_are_not_finbox_stores_are_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some notes, not a database at all").unwrap();
    assert!(matches!(Store::open(&text), Err(StoreError::NotFinbox { .. })));
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "just some notes, not a database at all");

    let other = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE things (x INTEGER); INSERT INTO things VALUES (1);").unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    assert!(matches!(Store::open(&other), Err(StoreError::NotFinbox { .. })));
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert!(!dir.path().join("other.db-wal").exists());
}

/// Whether SQLite, on connection `c`, builds an ephemeral table to write
/// the row `insert` writes.
fn builds_a_table_per_row(c: &rusqlite::Connection, insert: &str) -> bool {
    let mut q = c.prepare(&format!("EXPLAIN {insert}")).unwrap();
    let ops: Vec<String> = q.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect();
    ops.iter().any(|op| op == "OpenEphemeral")
}

const ROW_INSERT: &str =
    "INSERT OR IGNORE INTO transactions (bank_id, account_id, external_id, posted_at, amount_minor,
     currency, merchant, category, channel, country, status, transfer_kind, authorized_at, authorized_minor)
     VALUES ('chase', 1, 'x', 1, -1, 'USD', 'm', 'c', 'online', 'US', 'posted', NULL, NULL, NULL)";
const MESSAGE_INSERT: &str =
    "INSERT OR IGNORE INTO messages (bank_id, external_id, at, sender, kind, text, txn_id, alert_id, read)
     VALUES ('chase', NULL, 1, 'bank', 'text', 't', NULL, NULL, 0)";

/// Migration 13: the CHECKs on the rows every feed writes are comparisons,
/// not `IN` lists, which SQLite evaluates by building a table of the
/// values at every row (a fifth of a feed's time). A store made at version
/// 12, with rows in it, comes out whole, and the rules are the same: NULL
/// and the listed values pass, anything else is refused.
#[test]
fn the_checks_on_every_row_written_build_no_table_and_keep_their_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    {
        let mut s = file_store_with(&path, &["chase"]);
        let batch = vec![
            env(&s, "chase", account("chk", 100_000, Some("9913"))),
            env(&s, "chase", txn("chk", "t1", 0, -500, "Shop")),
        ];
        s.apply_batch(&batch, t0()).unwrap();
    }
    // Back to version 12's text, as a store made then has it.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        assert!(!builds_a_table_per_row(&c, ROW_INSERT) && !builds_a_table_per_row(&c, MESSAGE_INSERT));
        let cookie: i64 = c.query_row("PRAGMA schema_version", [], |r| r.get(0)).unwrap();
        c.execute_batch(&format!(
            "BEGIN; PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = replace(sql,
               'CHECK (transfer_by = ''feed'' OR transfer_by = ''auto'' OR transfer_by = ''user'' OR transfer_by = ''unpaired'')',
               'CHECK (transfer_by IN (''feed'', ''auto'', ''user'', ''unpaired''))') WHERE name = 'transactions';
             UPDATE sqlite_schema SET sql = replace(sql,
               'CHECK (sender = ''bank'' OR sender = ''user'' OR sender = ''system'')',
               'CHECK (sender IN (''bank'', ''user'', ''system''))') WHERE name = 'messages';
             PRAGMA schema_version = {}; PRAGMA writable_schema = OFF; PRAGMA user_version = 12; COMMIT;",
            cookie + 1
        ))
        .unwrap();
    }
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        assert!(builds_a_table_per_row(&c, ROW_INSERT) && builds_a_table_per_row(&c, MESSAGE_INSERT));
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), finbox::store::SCHEMA_VERSION);
    // The connection that migrated (the one a writer then ingests on)
    // plans with the new text at once, not only connections opened later.
    for insert in [ROW_INSERT, MESSAGE_INSERT] {
        assert!(!s.opcodes(insert).unwrap().iter().any(|op| op == "OpenEphemeral"), "{insert}");
    }
    let txns = s.transactions(&TxnFilter { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(txns.len(), 1);
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    assert!(!builds_a_table_per_row(&c, ROW_INSERT), "transactions");
    assert!(!builds_a_table_per_row(&c, MESSAGE_INSERT), "messages");
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let set = |v: &str| c.execute(&format!("UPDATE transactions SET transfer_by = {v}"), []);
    for ok in ["NULL", "'feed'", "'auto'", "'user'", "'unpaired'"] {
        set(ok).unwrap();
    }
    assert!(set("'bogus'").unwrap_err().to_string().contains("CHECK"));
    let say = |who: &str| {
        c.execute("INSERT INTO messages (bank_id, at, sender, kind, text) VALUES ('chase', 1, ?1, 'text', 't')", [who])
    };
    for ok in ["bank", "user", "system"] {
        say(ok).unwrap();
    }
    assert!(say("robot").unwrap_err().to_string().contains("CHECK"));
}

#[test]
fn a_store_from_a_newer_finbox_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    drop(Store::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(Store::open(&path), Err(StoreError::TooNew { found: 99, .. })));
}

#[cfg(unix)]
#[test]
fn the_store_file_is_private_and_reopens_migrated() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/f.db");
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), finbox::store::SCHEMA_VERSION);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(dir.path().join("sub")).unwrap().permissions().mode() & 0o777, 0o700);
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.quick_check().unwrap(), "ok");
}

/// A random feed step for the property tests.
#[derive(Debug, Clone)]
enum Step {
    Txn {
        bank: usize,
        acct: usize,
        ext: u8,
        minor: i64,
    },
    Grant(usize),
    Revoke(usize, bool),
    Renew(usize),
    /// Time passes beyond the default consent term: grants made at t0 expire.
    Expire,
    Signal {
        bank: usize,
        ext: u8,
    },
    Ack {
        nth: usize,
        not_me: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..2usize, 0..2usize, any::<u8>(), -100_000i64..100_000).prop_map(|(bank, acct, ext, minor)| Step::Txn { bank, acct, ext, minor }),
        1 => (0..2usize).prop_map(Step::Grant),
        1 => (0..2usize, any::<bool>()).prop_map(|(b, p)| Step::Revoke(b, p)),
        1 => (0..2usize).prop_map(Step::Renew),
        1 => Just(Step::Expire),
        1 => (0..2usize, any::<u8>()).prop_map(|(bank, ext)| Step::Signal { bank, ext }),
        1 => (0..4usize, any::<bool>()).prop_map(|(nth, not_me)| Step::Ack { nth, not_me }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Under any sequence of feed events and consent changes: balances equal
    /// opening + sum of transactions; a bank without consent gains no rows;
    /// replays never duplicate; decided alerts stay decided.
    #[test]
    fn store_invariants_hold(steps in proptest::collection::vec(step(), 1..60)) {
        let banks = ["chase", "citi"];
        let mut s = store_with(&banks);
        for b in banks {
            let batch = vec![env(&s, b, account("a0", 10_000, Some("1111"))), env(&s, b, account("a1", -500, Some("7777")))];
            s.apply_batch(&batch, t0()).unwrap();
        }
        let mut decided: Vec<(AlertId, AlertStatus)> = Vec::new();
        for st in steps {
            match st {
                Step::Txn { bank: b, acct, ext, minor } => {
                    let b = banks[b];
                    let granted = s.bank(&bank(b)).unwrap().consent == ConsentState::Granted;
                    let rows_before = s.shared_row_count(&bank(b)).unwrap();
                    let e = env(&s, b, txn(&format!("a{acct}"), &format!("x{ext}"), ext as i64, minor, "Shop"));
                    let r = s.apply_batch(std::slice::from_ref(&e), t0()).unwrap();
                    if !granted {
                        prop_assert_eq!(r.dropped_no_consent, 1);
                        prop_assert_eq!(s.shared_row_count(&bank(b)).unwrap(), rows_before);
                    }
                    // Replaying the same event never adds anything.
                    let again = s.apply_batch(&[e], t0()).unwrap();
                    prop_assert_eq!(again.transactions, 0);
                }
                Step::Grant(b) => { s.grant(&bank(banks[b]), t0()).unwrap(); }
                Step::Revoke(b, purge) => {
                    s.revoke(&bank(banks[b]), purge, t0()).unwrap();
                    if purge { prop_assert_eq!(s.shared_row_count(&bank(banks[b])).unwrap(), 0); }
                }
                Step::Renew(b) => match s.renew(&bank(banks[b]), t0(), Duration::days(DEFAULT_CONSENT_DAYS)) {
                    Ok(_) | Err(StoreError::NoConsent(_)) => {}
                    Err(e) => panic!("{e}"),
                },
                Step::Expire => {
                    let later = t0() + Duration::days(DEFAULT_CONSENT_DAYS + 1);
                    for b in s.expire_due(later).unwrap() {
                        // As a revoke: no longer shared, a new epoch.
                        prop_assert_eq!(s.bank(&b).unwrap().consent, ConsentState::Revoked);
                    }
                }
                Step::Signal { bank: b, ext } => {
                    let e = env(&s, banks[b], FeedEvent::FraudSignal {
                        txn_external_id: format!("x{ext}"), at: t0(), reason: "r".into(), severity: Severity::Medium });
                    s.apply_batch(&[e], t0()).unwrap();
                }
                Step::Ack { nth, not_me } => {
                    let open = s.alerts(false, 10).unwrap();
                    if let Some(a) = open.get(nth) {
                        let v = if not_me { Verdict::NotMe } else { Verdict::ItWasMe };
                        let done = s.ack_alert(a.id, v, t0()).unwrap();
                        decided.push((done.id, done.status));
                    }
                }
            }
            prop_assert!(s.balance_mismatches().unwrap().is_empty());
            let whole = matches!(s.verify_chain().unwrap(), ChainReport::Ok { .. });
            prop_assert!(whole, "the chain breaks");
            for (id, status) in &decided {
                if let Ok(a) = s.alert(*id) { prop_assert_eq!(a.status, *status); }
            }
        }
    }
}

#[test]
fn a_version_1_store_migrates_and_keeps_its_search_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../assets/migrations/0001_init.sql")).unwrap();
        c.execute_batch(
            "PRAGMA application_id = 1178750808; PRAGMA user_version = 1;
             INSERT INTO banks (id, name, color, feed_kind, position, consent, epoch) VALUES ('chase', 'Chase', '#117ACA', 'simulated', 0, 'granted', 1);
             INSERT INTO accounts (bank_id, external_id, name, kind, mask, currency, opening_minor) VALUES ('chase', 'chk', 'Checking', 'checking', '1234', 'USD', 0);
             INSERT INTO balances (account_id, currency, balance_minor, txn_count, updated_at) VALUES (1, 'USD', -500, 1, 0);
             INSERT INTO transactions (bank_id, account_id, external_id, posted_at, amount_minor, currency, merchant, category, channel, country)
               VALUES ('chase', 1, 'old', 1700000000, -500, 'USD', 'Old Bookshop', 'Books', 'card-present', 'US');",
        )
        .unwrap();
    }
    let opened = Utc::now();
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), finbox::store::SCHEMA_VERSION);
    // Shared before expiry existed, at an unknown time: 90 days from the upgrade.
    let until = s.bank(&bank("chase")).unwrap().consent_expires_at.expect("an expiry");
    let days = (until - opened).num_seconds() as f64 / 86_400.0;
    assert!((89.99..=90.01).contains(&days), "{days} days");
    let batch = vec![env(&s, "chase", txn("chk", "new", 0, -700, "New Bookshop"))];
    s.apply_batch(&batch, t0()).unwrap();
    let found =
        s.transactions(&TxnFilter { search: Some("bookshop".into()), limit: 10, ..Default::default() }).unwrap();
    let merchants: Vec<&str> = found.iter().map(|t| t.merchant.as_str()).collect();
    assert_eq!(merchants, ["New Bookshop", "Old Bookshop"]);
    assert!(s.balance_mismatches().unwrap().is_empty());
    // Purge still removes both from the index (the delete trigger stays).
    s.revoke(&bank("chase"), true, t0()).unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = c
        .query_row("SELECT count(*) FROM transactions_fts WHERE transactions_fts MATCH 'bookshop'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

/// Whether `needle` occurs in the file's raw bytes, in any letter case (the
/// search index keeps words lower-cased).
fn file_holds(path: &std::path::Path, needle: &str) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let needle = needle.to_ascii_lowercase().into_bytes();
    bytes.to_ascii_lowercase().windows(needle.len()).any(|w| w == needle.as_slice())
}

#[test]
fn purge_leaves_no_copy_in_the_store_file_or_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let wal = dir.path().join("f.db-wal");
    let mut s = Store::open(&path).unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    for b in ["chase", "citi"] {
        s.grant(&bank(b), t0()).unwrap();
        let mut batch = vec![env(&s, b, account("chk", 100_000, Some("9913")))];
        batch.extend((0..200).map(|i| env(&s, b, txn("chk", &format!("t{i}"), i, -100 - i, "Corner Shop"))));
        s.apply_batch(&batch, t0()).unwrap();
    }
    let secret = vec![
        env(&s, "chase", txn("chk", "secret", 300, -4_200, "Quokkaburger Emporium")),
        env(
            &s,
            "chase",
            FeedEvent::Message {
                external_id: "secret-m".into(),
                at: t0(),
                kind: MessageKind::Service,
                text: "Your vermilionotter plan renews soon.".into(),
            },
        ),
    ];
    s.apply_batch(&secret, t0()).unwrap();
    // A second connection, as the screen and the feeds keep one open: the
    // WAL must not only vanish when the last connection closes.
    let reader = Store::open(&path).unwrap();
    assert!(file_holds(&wal, "Quokkaburger") || file_holds(&path, "Quokkaburger"), "the fixture is in the files");

    s.revoke(&bank("chase"), true, t0()).unwrap();

    for needle in ["Quokkaburger", "vermilionotter"] {
        assert!(!file_holds(&path, needle), "{needle} is still in the store file");
        assert!(!file_holds(&wal, needle), "{needle} is still in the WAL");
    }
    // Citi's data is untouched and the store is sound.
    assert_eq!(
        reader.transactions(&TxnFilter { bank: Some(bank("citi")), limit: 500, ..Default::default() }).unwrap().len(),
        200
    );
    assert_eq!(reader.quick_check().unwrap(), "ok");
    let found =
        reader.transactions(&TxnFilter { search: Some("corner".into()), limit: 500, ..Default::default() }).unwrap();
    assert_eq!(found.len(), 200, "the search index still finds the other bank's rows");
}

// ------------------------------------------------------------ consent expiry

#[test]
fn an_expired_grant_stops_delivery_like_a_revoke_and_says_so() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    let chase = bank("chase");
    let change = s.grant_for(&chase, t0(), Duration::days(30)).unwrap();
    let until = t0() + Duration::days(30);
    assert_eq!(change, ConsentChange::Granted { until });
    assert_eq!(s.bank(&bank("chase")).unwrap().consent_expires_at, Some(until));
    let log = s.consent_log(Some(&chase)).unwrap();
    assert_eq!(log[0].detail, "until 2026-12-20 12:00 UTC");
    let granted = s.messages(&chase, 10, None).unwrap();
    assert!(granted[0].text.contains("until Dec 20, 2026"), "{}", granted[0].text);

    let day = |d: i64| t0() + Duration::days(d);
    let r = s.apply_batch(&[env(&s, "chase", account("chk", 1_000, None))], day(29)).unwrap();
    assert_eq!(r.accounts, 1);
    // At the expiry the store refuses the bank's events, even before anyone
    // has recorded the expiry.
    let late = env(&s, "chase", txn("chk", "late", 0, -100, "Late Shop"));
    let r = s.apply_batch(std::slice::from_ref(&late), day(30)).unwrap();
    assert_eq!((r.dropped_no_consent, r.transactions), (1, 0));
    assert_eq!(s.bank(&bank("chase")).unwrap().consent, ConsentState::Granted, "not yet recorded");

    // Recording it ends the grant as a revoke would: a new epoch, the log,
    // a notice in the conversation that says how to renew.
    let epoch_before = epoch(&s, "chase");
    assert!(s.expire_due(day(29)).unwrap().is_empty(), "not due yet");
    assert_eq!(s.expire_due(day(31)).unwrap(), std::slice::from_ref(&chase));
    assert!(s.expire_due(day(32)).unwrap().is_empty(), "once");
    let b = s.bank(&bank("chase")).unwrap();
    assert_eq!((b.consent, b.epoch), (ConsentState::Revoked, epoch_before + 1));
    assert_eq!(b.sharing(day(31)), Sharing::Expired { on: until });
    assert_eq!(b.consent_changed_at, Some(until), "it ended at its time, not when noticed");
    let log = s.consent_log(Some(&chase)).unwrap();
    let actions: Vec<ConsentAction> = log.iter().map(|e| e.action).collect();
    assert_eq!(actions, [ConsentAction::Grant, ConsentAction::Expire]);
    assert_eq!(log[1].at, until);
    let notice = s.messages(&chase, 10, None).unwrap().pop().unwrap();
    assert_eq!(notice.from, Sender::System);
    assert!(notice.text.contains("Sharing with Chase expired on Dec 20, 2026"), "{}", notice.text);
    assert!(notice.text.contains("until you renew it"), "{}", notice.text);
    // What it shared stays (as after a revoke); events stamped before are stale.
    assert_eq!(s.accounts(Some(&chase)).unwrap().len(), 1);
    let r = s.apply_batch(&[late], day(29)).unwrap();
    assert_eq!(r.dropped_no_consent, 1);
    assert!(matches!(s.say(&chase, "balance", day(31)), Err(StoreError::NoConsent(_))));
}

#[test]
fn renewing_extends_a_shared_grant_and_shares_an_expired_one_again() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    let (chase, citi) = (bank("chase"), bank("citi"));
    let day = |d: i64| t0() + Duration::days(d);
    let term = Duration::days(30);
    s.grant_for(&chase, t0(), term).unwrap();
    let epoch_before = epoch(&s, "chase");

    // A renew moves the end; the feed goes on under the same epoch.
    assert_eq!(s.renew(&chase, day(10), term).unwrap(), ConsentChange::Renewed { until: day(40) });
    assert_eq!(epoch(&s, "chase"), epoch_before);
    // A grant of a shared bank is a renew too.
    assert_eq!(s.grant_for(&chase, day(12), term).unwrap(), ConsentChange::Renewed { until: day(42) });
    let r = s.apply_batch(&[env(&s, "chase", account("chk", 0, None))], day(35)).unwrap();
    assert_eq!(r.accounts, 1, "delivered after the first term, within the renewed one");
    let log = s.consent_log(Some(&chase)).unwrap();
    assert_eq!(log[1].action, ConsentAction::Renew);
    assert_eq!(log[1].detail, "until 2026-12-30 12:00 UTC");
    let notice = s.messages(&chase, 10, None).unwrap().pop().unwrap();
    assert!(notice.text.contains("renewed") && notice.text.contains("Jan 1, 2027"), "{}", notice.text);

    // Renewing an expired grant (recorded or not) shares the bank again,
    // under a new epoch.
    assert_eq!(s.renew(&chase, day(50), term).unwrap(), ConsentChange::Granted { until: day(80) });
    assert_eq!(s.bank(&bank("chase")).unwrap().sharing(day(50)), Sharing::Shared { until: Some(day(80)) });
    assert_eq!(epoch(&s, "chase"), epoch_before + 2, "one for the expiry, one for the new grant");
    let actions: Vec<ConsentAction> = s.consent_log(Some(&chase)).unwrap().iter().map(|e| e.action).collect();
    use ConsentAction::*;
    assert_eq!(actions, [Grant, Renew, Renew, Expire, Grant]);
    assert!(s.consent_log(Some(&chase)).unwrap()[4].detail.contains("after it expired"));

    // A bank never shared, or revoked, is not renewed: that takes a grant.
    assert!(matches!(s.renew(&citi, day(50), term), Err(StoreError::NoConsent(_))));
    s.grant_for(&citi, day(50), term).unwrap();
    s.revoke(&citi, false, day(51)).unwrap();
    assert!(matches!(s.renew(&citi, day(52), term), Err(StoreError::NoConsent(_))));
    assert!(matches!(s.renew(&bank("nope"), day(52), term), Err(StoreError::UnknownBank(_))));
}

#[test]
fn revoking_an_expired_grant_leaves_it_revoked_not_expired() {
    let mut s = Store::open_in_memory().unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    let chase = bank("chase");
    s.grant_for(&chase, t0(), Duration::days(1)).unwrap();
    let later = t0() + Duration::days(2);
    assert_eq!(s.revoke(&chase, false, later).unwrap(), ConsentChange::AlreadyRevoked);
    let b = s.bank(&bank("chase")).unwrap();
    assert_eq!((b.sharing(later), b.consent_expires_at), (Sharing::NotShared, None));
    let actions: Vec<ConsentAction> = s.consent_log(Some(&chase)).unwrap().iter().map(|e| e.action).collect();
    assert_eq!(actions, [ConsentAction::Grant, ConsentAction::Expire], "the expiry is recorded first");
    assert!(matches!(s.renew(&chase, later, Duration::days(1)), Err(StoreError::NoConsent(_))));
}

#[test]
fn a_version_3_store_gives_shared_banks_90_days_from_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let granted_at = t0().timestamp();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../assets/migrations/0001_init.sql"),
            include_str!("../assets/migrations/0002_fts_insert_in_code.sql"),
            include_str!("../assets/migrations/0003_quarantine.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(&format!(
            "PRAGMA application_id = 1178750808; PRAGMA user_version = 3;
             INSERT INTO banks (id, name, color, feed_kind, position, consent, consent_at, epoch)
               VALUES ('chase', 'Chase', '#117ACA', 'simulated', 0, 'granted', {granted_at}, 1),
                      ('citi', 'Citi', '#056DAE', 'simulated', 1, 'revoked', {granted_at}, 2);
             INSERT INTO consent_log (bank_id, action, at, detail) VALUES
               ('chase', 'grant', {granted_at}, ''), ('citi', 'grant', 1, ''), ('citi', 'revoke', {granted_at}, '');"
        ))
        .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), finbox::store::SCHEMA_VERSION);
    // 90 days from the upgrade, not from the grant (which is long past).
    let until = s.bank(&bank("chase")).unwrap().consent_expires_at.unwrap();
    let expected = chrono::Utc::now() + Duration::days(90);
    assert!((until - expected).num_seconds().abs() < 120, "{until} vs {expected}");
    assert_eq!(s.bank(&bank("citi")).unwrap().consent_expires_at, None);
    let log: Vec<(String, ConsentAction)> =
        s.consent_log(None).unwrap().into_iter().map(|e| (e.bank.to_string(), e.action)).collect();
    assert_eq!(log.len(), 3, "the log is kept: {log:?}");
    // The tamper-evident log starts from the consent log as it stood.
    let chained: Vec<(Option<String>, String)> =
        s.chain_entries().unwrap().into_iter().map(|e| (e.bank, e.kind)).collect();
    let some = |b: &str| Some(b.to_string());
    let expected = [(some("chase"), "grant"), (some("citi"), "grant"), (some("citi"), "revoke"), (None, "start")];
    assert_eq!(chained, expected.map(|(b, k)| (b, k.to_string())));
    // The rebuilt log takes the new entries.
    s.renew(&bank("chase"), t0() + Duration::days(1), Duration::days(90)).unwrap();
    assert_eq!(s.expire_due(t0() + Duration::days(365)).unwrap(), [bank("chase")]);
    let actions: Vec<ConsentAction> = s.consent_log(Some(&bank("chase"))).unwrap().iter().map(|e| e.action).collect();
    assert_eq!(actions, [ConsentAction::Grant, ConsentAction::Renew, ConsentAction::Expire]);
    assert!(matches!(s.verify_chain().unwrap(), ChainReport::Ok { entries: 6, .. }));
    assert_eq!(s.quick_check().unwrap(), "ok");
}

/// Opens a copy of the store file alone, without its WAL: what is in it
/// survives whatever happens to the WAL.
fn file_alone(path: &std::path::Path) -> rusqlite::Connection {
    let copy = path.with_extension("copy.db");
    let _ = std::fs::remove_file(copy.with_extension("db-wal"));
    std::fs::copy(path, &copy).unwrap();
    rusqlite::Connection::open(copy).unwrap()
}

#[test]
fn decisions_are_in_the_store_file_itself_once_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let mut s = Store::open(&path).unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    // Another connection, as the screen and the feeds keep.
    let _reader = Store::open(&path).unwrap();
    let log_len = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM consent_log", [], |r| r.get(0)).unwrap()
    };
    s.grant_for(&bank("chase"), t0(), Duration::days(30)).unwrap();
    assert_eq!(log_len(&file_alone(&path)), 1, "grant");
    s.renew(&bank("chase"), t0(), Duration::days(30)).unwrap();
    assert_eq!(log_len(&file_alone(&path)), 2, "renew");
    let batch = vec![
        env(&s, "chase", account("chk", 100_000, Some("9913"))),
        env(&s, "chase", txn("chk", "t1", 0, -50_000, "Electro")),
        env(
            &s,
            "chase",
            FeedEvent::FraudSignal {
                txn_external_id: "t1".into(),
                at: t0(),
                reason: "odd".into(),
                severity: Severity::High,
            },
        ),
    ];
    let id = s.apply_batch(&batch, t0()).unwrap().new_alerts[0];
    s.ack_alert(id, Verdict::NotMe, t0()).unwrap();
    let status: String =
        file_alone(&path).query_row("SELECT status FROM alerts WHERE id = ?1", [id.0], |r| r.get(0)).unwrap();
    assert_eq!(status, "fraud", "alert verdict");
    s.expire_due(t0() + Duration::days(31)).unwrap();
    assert_eq!(log_len(&file_alone(&path)), 3, "expiry");
    s.grant(&bank("citi"), t0()).unwrap();
    s.revoke(&bank("citi"), false, t0()).unwrap();
    assert_eq!(log_len(&file_alone(&path)), 5, "revoke");
}

#[test]
fn notices_are_dated_in_the_zone_the_store_was_told_and_reopening_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("f.db")).unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    s.set_utc_offset(-8 * 3600);
    let mut s = s.reopen().unwrap();
    s.grant_for(&bank("chase"), t0() - Duration::days(100), Duration::days(3650)).unwrap();
    s.apply_batch(&[env(&s, "chase", account("chk", 100_000, None))], t0()).unwrap();
    // A statement that closed at 02:00 UTC on Nov 1 closed on Oct 31 there.
    let closed = Utc.with_ymd_and_hms(2026, 11, 1, 2, 0, 0).unwrap();
    let statement = FeedEvent::Statement {
        account: "chk".into(),
        external_id: "st-10".into(),
        period_start: closed - Duration::days(30),
        period_end: closed,
        closing: usd(12_345),
    };
    s.apply_batch(&[env(&s, "chase", statement)], t0()).unwrap();
    let texts: Vec<String> = s.messages(&bank("chase"), 10, None).unwrap().into_iter().map(|m| m.text).collect();
    assert!(texts.iter().any(|t| t.contains("statement for Oct 1 – Oct 31, 2026 is ready")), "{texts:?}");
}

#[test]
fn a_purge_empties_the_wal_while_another_connection_keeps_checkpointing() {
    // The writer's checkpoint thread runs a checkpoint after every batch; a
    // purge's own checkpoint waits its turn instead of giving up.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let wal = dir.path().join("f.db-wal");
    let mut s = Store::open(&path).unwrap();
    s.sync_banks(&profile::load_all(None).unwrap()).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checkpointer = {
        let (other, stop) = (s.reopen().unwrap(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                other.checkpoint_passive().unwrap();
            }
        })
    };
    for round in 0..10 {
        s.grant(&bank("chase"), t0()).unwrap();
        let mut batch = vec![env(&s, "chase", account("chk", 100_000, None))];
        batch.extend((0..300).map(|i| env(&s, "chase", txn("chk", &format!("r{round}-{i}"), i, -100, "Shop"))));
        s.apply_batch(&batch, t0()).unwrap();
        s.revoke(&bank("chase"), true, t0()).unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "round {round}: the WAL still holds pages");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    checkpointer.join().unwrap();
}

#[test]
fn a_replayed_transaction_raises_no_new_alert_whoever_replays_it() {
    // Overlapping statements (the import command, the watched folder) replay
    // stored transactions, and the local rules see them again.
    let mut s = linked("chase");
    let signal = |ext: &str| FeedEvent::FraudSignal {
        txn_external_id: ext.into(),
        at: t0(),
        reason: "Possible duplicate charge".into(),
        severity: Severity::Low,
    };
    s.apply_batch(&[env(&s, "chase", txn("chk", "t1", 0, -3_514, "Walgreens"))], t0()).unwrap();
    let report = s
        .apply_batch(
            &[
                env(&s, "chase", txn("chk", "t1", 0, -3_514, "Walgreens")),
                env(&s, "chase", signal("t1")),
                env(&s, "chase", txn("chk", "t2", 5, -3_514, "Walgreens")),
                env(&s, "chase", signal("t2")),
            ],
            t0(),
        )
        .unwrap();
    assert_eq!((report.transactions, report.replayed_transactions, report.alerts), (1, 1, 1));
    let alerts = s.alerts(false, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].reason, "Possible duplicate charge");
}

#[test]
fn the_screen_loads_the_refused_records_only_while_their_list_is_open() {
    let mut s = linked("chase");
    s.apply_batch(&[env(&s, "chase", txn("nope", "t1", 0, -100, "Shop"))], t0()).unwrap();
    let closed = finbox::tui::load(&s, &finbox::app::View::default(), t0()).unwrap();
    assert_eq!((closed.quarantined, closed.refused.len()), (1, 0));
    let open = finbox::app::View { refused: true, ..Default::default() };
    let open = finbox::tui::load(&s, &open, t0()).unwrap();
    assert_eq!(open.refused.len(), 1);
    assert!(open.refused[0].reason.contains("unknown account"), "{:?}", open.refused);
}

#[test]
fn a_grant_whose_time_is_up_counts_as_ended_before_it_is_recorded() {
    // Feeds, imports and the user's own actions apply the same test.
    let mut s = store_with(&[]);
    s.grant_for(&bank("chase"), t0() - Duration::days(40), Duration::days(35)).unwrap();
    let batch = vec![
        env(&s, "chase", account("chk", 100_000, Some("9913"))),
        env(&s, "chase", txn("chk", "t1", 0, -4_200, "Shop")),
        env(
            &s,
            "chase",
            FeedEvent::FraudSignal {
                txn_external_id: "t1".into(),
                at: t0(),
                reason: "odd".into(),
                severity: Severity::High,
            },
        ),
    ];
    s.apply_batch(&batch, t0() - Duration::days(20)).unwrap();
    let alert = s.alerts(false, 10).unwrap()[0].id;
    // Five days after the grant ran out, nothing has recorded it yet.
    let later = t0();
    assert!(matches!(s.ack_alert(alert, Verdict::NotMe, later), Err(StoreError::NoConsent(_))));
    assert!(matches!(s.say(&bank("chase"), "freeze card", later), Err(StoreError::NoConsent(_))));
    assert!(matches!(s.import_epoch(&bank("chase"), later), Err(StoreError::NoConsent(_))));
    assert!(s.import_epoch(&bank("chase"), t0() - Duration::days(20)).is_ok());
}

#[test]
fn a_feed_lease_is_held_by_one_process_and_taken_over_when_it_stops() {
    use finbox::store::{FeedHolder, LEASE_RENEW, LEASE_STALE, Lease};
    let mut s = store_with(&["chase", "citi"]);
    let holder = |token: &str, pid: u32| FeedHolder { token: token.into(), pid, host: "here".into() };
    let (a, b) = (holder("a", 100), holder("b", 200));
    let banks = [bank("chase"), bank("citi")];
    let alive = |_: u32| true;
    let dead_a = |pid: u32| pid != 100;
    let ms = |d: std::time::Duration| d.as_millis() as i64;
    let leases = |s: &mut Store, who: &FeedHolder, now: i64, alive: &dyn Fn(u32) -> bool| {
        s.claim_feeds(who, &banks, now, alive).unwrap().into_iter().map(|(_, l)| l).collect::<Vec<_>>()
    };
    // The first to ask holds both; the second is told who does.
    assert_eq!(leases(&mut s, &a, 0, &alive), [Lease::Ours, Lease::Ours]);
    assert_eq!(leases(&mut s, &b, 10, &alive), [Lease::Elsewhere { pid: 100 }; 2]);
    // A holder that renews keeps them past the stale time.
    let mut now = 0;
    while now < ms(LEASE_STALE) * 2 {
        now += ms(LEASE_RENEW);
        assert_eq!(leases(&mut s, &a, now, &alive), [Lease::Ours; 2]);
        assert_eq!(leases(&mut s, &b, now + 1, &alive), [Lease::Elsewhere { pid: 100 }; 2]);
    }
    // Its process gone (same host): taken over at once.
    assert_eq!(leases(&mut s, &b, now + 2, &dead_a), [Lease::Ours; 2]);
    assert_eq!(leases(&mut s, &a, now + 3, &alive), [Lease::Elsewhere { pid: 200 }; 2]);
    // Alive but silent for the stale time (stopped, hung): taken over too.
    now += 3 + ms(LEASE_STALE);
    assert_eq!(leases(&mut s, &a, now, &alive), [Lease::Ours; 2]);
    // On another host the pid says nothing: only staleness counts.
    let far = FeedHolder { host: "elsewhere".into(), ..holder("c", 300) };
    assert_eq!(leases(&mut s, &far, now + 1, &dead_a), [Lease::Elsewhere { pid: 100 }; 2]);
    // Released: free for the next at once.
    s.release_feeds(&a, Some(&banks[..1])).unwrap();
    assert_eq!(leases(&mut s, &b, now + 2, &alive), [Lease::Ours, Lease::Elsewhere { pid: 100 }]);
    s.release_feeds(&a, None).unwrap();
    assert_eq!(leases(&mut s, &b, now + 3, &alive), [Lease::Ours; 2]);
}

#[test]
fn totals_past_the_range_of_one_balance_are_exact_and_never_fail() {
    // Two balances that each fit in 64 bits, and whose sum does not.
    let mut s = store_with(&["chase", "citi"]);
    let big = i64::MAX - 1;
    for b in ["chase", "citi"] {
        let batch = vec![env(&s, b, account("chk", big, None))];
        s.apply_batch(&batch, t0()).unwrap();
    }
    let totals = s.totals().unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].minor, 2 * i128::from(big));
    assert_eq!(totals[0].to_string(), "$184,467,440,737,095,516.12");
    // The bank's answer sums its accounts the same way.
    let batch = vec![env(&s, "chase", account("sav", big, None))];
    s.apply_batch(&batch, t0()).unwrap();
    let reply = s.say(&bank("chase"), "balance", t0()).unwrap();
    assert!(reply.contains("Net across your accounts: $184,467,440,737,095,516.12"), "{reply}");
}

#[test]
fn clock_jumps_never_lengthen_nor_shorten_a_grant() {
    let mut s = store_with(&[]);
    let chase = bank("chase");
    let days = |n| Duration::days(n);
    // A renew under a clock a month behind does not shorten a valid grant.
    s.grant_for(&chase, t0(), days(90)).unwrap();
    s.renew(&chase, t0() - days(30), days(90)).unwrap();
    assert_eq!(s.bank(&bank("chase")).unwrap().consent_expires_at, Some(t0() + days(90)));
    // A grant made under a clock three years ahead is counted again from now.
    let citi = bank("citi");
    s.grant_for(&citi, t0() + days(3 * 365), days(90)).unwrap();
    s.expire_due(t0()).unwrap();
    let b = s.bank(&bank("citi")).unwrap();
    assert_eq!(b.consent_expires_at, Some(t0() + days(90)));
    assert!(b.is_shared(t0()));
    let log = s.consent_log(Some(&citi)).unwrap();
    assert!(log.iter().any(|e| e.detail.contains("clock that was ahead")), "{log:?}");
}

#[test]
fn the_store_keeps_no_key_names_in_what_it_writes() {
    // A remapped key would make stored text lie: the screen and the CLI add
    // the hint when they show a message that wants an answer.
    let mut s = linked("chase");
    let ep = epoch(&s, "chase");
    let batch = vec![
        env(&s, "chase", txn("cc", "x1", 0, -99_00, "Electro-Mart")),
        Envelope {
            bank: bank("chase"),
            epoch: ep,
            event: FeedEvent::FraudSignal {
                txn_external_id: "x1".into(),
                at: t0() - Duration::days(30),
                reason: "Large charge abroad".into(),
                severity: Severity::High,
            },
        },
    ];
    s.apply_batch(&batch, t0()).unwrap();
    s.say(&bank("chase"), "alerts", t0()).unwrap();
    s.grant_for(&bank("citi"), t0(), Duration::days(1)).unwrap();
    s.expire_due(t0() + Duration::days(2)).unwrap();
    let mut texts: Vec<String> = Vec::new();
    for b in ["chase", "citi"] {
        texts.extend(s.messages(&bank(b), 1000, None).unwrap().into_iter().map(|m| m.text));
    }
    assert!(texts.iter().any(|t| t.starts_with("Fraud alert")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("expired")), "{texts:?}");
    for t in &texts {
        let lower = t.to_lowercase();
        for key in ["press ", "y = ", "n = ", "(a)", "`c`", "finbox alerts ack", "finbox consent"] {
            assert!(!lower.contains(key), "stored text names a key or command ({key:?}): {t}");
        }
    }
}

#[test]
fn events_outside_the_granted_scopes_are_not_stored() {
    use finbox::domain::{Scope, Scopes};
    let msg = |ext: &str, kind: MessageKind| FeedEvent::Message {
        external_id: ext.into(),
        at: t0(),
        kind,
        text: format!("message {ext}"),
    };
    for scope in [Scope::Balances, Scope::Transactions, Scope::Messages, Scope::Alerts, Scope::Offers] {
        let mut s = linked("chase");
        let all_but = Scopes::all().with(scope, false);
        s.set_scopes(&bank("chase"), all_but, false, t0()).unwrap();
        let events = vec![
            txn("chk", "t1", 10, -500, "Shop"),
            FeedEvent::Balance { account: "chk".into(), at: t0(), balance: usd(99_500) },
            msg("m1", MessageKind::Text),
            msg("o1", MessageKind::Offer),
        ];
        let batch: Vec<Envelope> = events.into_iter().map(|e| env(&s, "chase", e)).collect();
        let report = s.apply_batch(&batch, t0()).unwrap();
        assert_eq!(report.out_of_scope, u64::from(scope != Scope::Alerts), "{scope:?}: {report:?}");
        let signal = FeedEvent::FraudSignal {
            txn_external_id: "t1".into(),
            at: t0(),
            reason: "odd".into(),
            severity: Severity::High,
        };
        let report = s.apply_batch(&[env(&s, "chase", signal)], t0()).unwrap();
        let alerts = s.alerts(true, 10).unwrap().len();
        let texts: Vec<String> = s.messages(&bank("chase"), 50, None).unwrap().into_iter().map(|m| m.text).collect();
        let txns = s.transactions(&TxnFilter { bank: Some(bank("chase")), limit: 10, ..Default::default() }).unwrap();
        let reported = s.accounts(Some(&bank("chase"))).unwrap().iter().any(|a| a.reported.is_some());
        match scope {
            Scope::Transactions => assert!(txns.is_empty()),
            Scope::Balances => assert!(!reported),
            Scope::Messages => assert!(!texts.iter().any(|t| t == "message m1"), "{texts:?}"),
            Scope::Offers => assert!(!texts.iter().any(|t| t == "message o1"), "{texts:?}"),
            Scope::Alerts => assert_eq!((alerts, report.out_of_scope), (0, 1)),
        }
        if scope != Scope::Transactions {
            assert_eq!(txns.len(), 1, "{scope:?}: the others are stored");
        }
    }
}

#[test]
fn narrowing_with_delete_leaves_no_row_of_that_kind() {
    use finbox::domain::{Scope, Scopes};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let mut s = file_store_with(&path, &["chase"]);
    s.apply_batch(&[env(&s, "chase", account("chk", 100_000, Some("9913")))], t0()).unwrap();
    let batch: Vec<Envelope> =
        (0..50).map(|i| env(&s, "chase", txn("chk", &format!("t{i}"), i, -100 - i, "Zanzibarquux Bistro"))).collect();
    s.apply_batch(&batch, t0()).unwrap();
    let change = s.set_scopes(&bank("chase"), Scopes::all().with(Scope::Transactions, false), true, t0()).unwrap();
    assert!(change.deleted >= 50, "{change:?}");
    let f = TxnFilter { search: Some("zanzibarquux".into()), limit: 10, ..Default::default() };
    assert_eq!(s.count_matches(&f, 100).unwrap(), 0);
    let account = s.accounts(Some(&bank("chase"))).unwrap().remove(0);
    assert_eq!((account.balance, account.txn_count), (usd(100_000), 0), "the balance is the opening again");
    drop(s);
    for file in ["f.db", "f.db-wal", "f.db-shm"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!text.contains("zanzibarquux"), "{file} still holds the merchant");
    }
}

#[test]
fn a_purge_leaves_a_receipt_whose_digest_is_of_what_was_deleted() {
    let purge = |extra: bool| {
        let mut s = linked("chase");
        let mut events: Vec<FeedEvent> = (0..20).map(|i| txn("chk", &format!("t{i}"), i, -100 - i, "Shop")).collect();
        if extra {
            events.push(txn("chk", "t99", 99, -1, "Shop"));
        }
        let batch: Vec<Envelope> = events.into_iter().map(|e| env(&s, "chase", e)).collect();
        s.apply_batch(&batch, t0()).unwrap();
        s.revoke(&bank("chase"), true, t0()).unwrap();
        let log = s.consent_log(Some(&bank("chase"))).unwrap();
        let detail = log.iter().find(|e| e.action == ConsentAction::Purge).unwrap().detail.clone();
        let digest = detail.split("sha256 ").nth(1).unwrap().to_string();
        let thread = s.messages(&bank("chase"), 10, None).unwrap();
        assert!(thread.len() == 1 && thread[0].text.contains(&digest), "{thread:?}");
        assert!(detail.contains("20 transactions") || detail.contains("21 transactions"), "{detail}");
        digest
    };
    let (a, b, c) = (purge(false), purge(false), purge(true));
    assert_eq!(a.len(), 64);
    assert_eq!(a, b, "the same records, the same digest");
    assert_ne!(a, c, "one record more, another digest");
}

/// What a store holds, as text to compare: every transaction's columns (by
/// the bank's ids), each account's balances, every message.
fn contents(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let rows = |sql: &str| -> Vec<String> {
        let mut q = c.prepare(sql).unwrap();
        let n = q.column_count();
        q.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut all = rows(
        "SELECT t.bank_id, a.external_id, t.external_id, t.posted_at, t.amount_minor, t.merchant, t.category,
                t.channel, t.country, t.status, t.transfer_kind, t.transfer_id IS NULL, t.authorized_at,
                t.authorized_minor
         FROM transactions t JOIN accounts a ON a.id = t.account_id ORDER BY t.bank_id, t.external_id",
    );
    all.extend(rows(
        "SELECT a.external_id, b.balance_minor, b.pending_minor, b.txn_count FROM balances b
         JOIN accounts a ON a.id = b.account_id ORDER BY a.external_id",
    ));
    all.extend(rows("SELECT bank_id, at, kind, text FROM messages ORDER BY bank_id, at, text"));
    all.extend(rows("SELECT bank_id, at, record, reason FROM quarantine ORDER BY at, record"));
    all
}

/// The writer works out each transaction's facts (its text cleaned, its
/// transfer kind, its merchant's words) on a thread of its own, batch by
/// batch, beside the events; a batch applied directly works them out as it
/// goes. Both store the same: messy text, an authorisation settled under
/// another id with a tip, a transfer's two legs, a refused record.
#[test]
fn the_writers_prepared_batches_store_what_a_batch_applied_directly_stores() {
    let dir = tempfile::tempdir().unwrap();
    let b = "chase";
    // After the grant (so each has its notice), before the fraud rules'
    // window at `now` (so the direct batch, which runs no rules, is the
    // same batch).
    let at = |h: i64| t0() - Duration::days(50) + Duration::hours(h);
    let now = t0() + Duration::days(60);
    let t = |acct: &str, ext: &str, h: i64, minor: i64, merchant: &str, channel: Channel| TxnInfo {
        account: acct.into(),
        external_id: ext.into(),
        posted_at: at(h),
        amount: usd(minor),
        merchant: merchant.into(),
        category: "Food  &\tDrink ".into(),
        channel,
        country: "us".into(),
        notify: true,
        pending: false,
        transfer: false,
    };
    let events = |s: &Store| {
        let tx = |i: TxnInfo| env(s, b, FeedEvent::Transaction(i));
        vec![
            env(s, b, account("chk", 100_000, Some("9913"))),
            env(s, b, account("sav", 0, None)),
            tx(t("chk", "a1", 1, -4_200, "  SQ *JOE'S \u{1b}[31mPIZZA  ", Channel::CardPresent)),
            tx(TxnInfo { pending: true, ..t("chk", "p1", 2, -4_200, "Joe's Pizza", Channel::CardPresent) }),
            tx(t("chk", "p1-posted", 30, -5_040, "JOE'S PIZZA #12", Channel::CardPresent)),
            tx(TxnInfo { pending: true, ..t("chk", "p2", 31, -1_999, "Café Zoé", Channel::Online) }),
            tx(TxnInfo { transfer: true, ..t("chk", "x1", 40, -50_000, "Transfer to Savings", Channel::Transfer) }),
            tx(TxnInfo { transfer: true, ..t("sav", "x2", 41, 50_000, "Transfer from Checking", Channel::Transfer) }),
            tx(t("chk", "pay", 42, -36_175, "Payment Thank You", Channel::Transfer)),
            tx(t("chk", "r1", 43, 1_250, "Zoé Café refund", Channel::Online)),
            tx(t("nowhere", "bad", 44, -100, "Unknown account", Channel::CardPresent)),
        ]
    };
    let clock: finbox::feed::Clock = std::sync::Arc::new(move || now);

    let written = dir.path().join("written.db");
    let s = file_store_with(&written, &[b]);
    let batch = events(&s);
    let writer = finbox::feed::writer::Writer::spawn(
        s,
        finbox::feed::writer::WriterConfig {
            home_countries: std::collections::HashMap::new(),
            utc_offset_secs: 0,
            clock,
            holder: None,
        },
    );
    for e in batch {
        writer.tx.blocking_send(e).unwrap();
    }
    let report = writer.join().unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);

    let direct = dir.path().join("direct.db");
    let mut s = file_store_with(&direct, &[b]);
    let batch = events(&s);
    s.apply_batch(&batch, now).unwrap();
    drop(s);

    let (w, d) = (contents(&written), contents(&direct));
    assert_eq!(w, d);
    // And what they hold is what the facts say: cleaned text, the tip's
    // posting on the authorisation's row, the transfer paired.
    let joined = w.join("\n");
    assert!(
        joined.contains(r#"Text("SQ *JOE'S PIZZA")|Text("Food & Drink")|Text("card-present")|Text("US")"#),
        "{joined}"
    );
    assert!(joined.contains("Card purchase: $50.40 at JOE'S PIZZA #12"), "{joined}");
    assert!(joined.contains(r#"Text("p1-posted")"#) && !joined.contains(r#"Text("p1")|"#), "{joined}");
    assert_eq!(joined.matches(r#"Text("marked")|Integer(0)"#).count(), 2, "{joined}");
}

/// Messages without a transaction (most: balances, statements, the bank's
/// own) take no entry in the index by transaction, and every look-up by
/// transaction still goes through it.
#[test]
fn messages_are_found_by_their_transaction_through_a_partial_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    drop(file_store_with(&path, &["chase"]));
    let c = rusqlite::Connection::open(&path).unwrap();
    let sql: String =
        c.query_row("SELECT sql FROM sqlite_schema WHERE name = 'messages_txn'", [], |r| r.get(0)).unwrap();
    assert!(sql.ends_with("WHERE txn_id IS NOT NULL"), "{sql}");
    for q in [
        "SELECT id FROM messages WHERE txn_id = ?1 AND kind = 'transaction' LIMIT 1",
        "SELECT at, text FROM messages WHERE txn_id = ?1 AND kind = 'purchase' ORDER BY at, id",
        "SELECT id FROM messages WHERE txn_id = ?1",
    ] {
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {q}"))
            .unwrap()
            .query_map([1], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().any(|p| p.contains("INDEX messages_txn")), "{q}: {plan:?}");
    }
}

/// A feed's cursor is where it resumes: of the cursors a batch carries for
/// a bank, the last is stored; a bank not shared stores none.
#[test]
fn the_last_cursor_of_a_batch_is_the_one_stored() {
    let mut s = store_with(&["chase", "citi"]);
    let mut batch = Vec::new();
    for (b, c) in [("chase", "c1"), ("citi", "x1"), ("chase", "c2"), ("wellsfargo", "w1"), ("chase", "c3")] {
        let epoch = s.bank(&bank(b)).unwrap().epoch;
        batch.push(Envelope { bank: bank(b), epoch, event: FeedEvent::Cursor(c.into()) });
    }
    s.apply_batch(&batch, t0()).unwrap();
    assert_eq!(s.feed_cursor(&bank("chase")).unwrap().as_deref(), Some("c3"));
    assert_eq!(s.feed_cursor(&bank("citi")).unwrap().as_deref(), Some("x1"));
    assert_eq!(s.feed_cursor(&bank("wellsfargo")).unwrap(), None);
    // The next batch moves it on.
    let epoch = epoch(&s, "chase");
    s.apply_batch(&[Envelope { bank: bank("chase"), epoch, event: FeedEvent::Cursor("c4".into()) }], t0()).unwrap();
    assert_eq!(s.feed_cursor(&bank("chase")).unwrap().as_deref(), Some("c4"));
}
