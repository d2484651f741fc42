//! Workflows through the pure update function: keys become actions, actions
//! change the state and ask for effects. No terminal, no store.

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use finbox::app::*;
use finbox::domain::*;
use finbox::store::BankSummary;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

fn id(s: &str) -> BankId {
    BankId::new(s).unwrap()
}

fn bank(slug: &str, shared: bool) -> BankSummary {
    BankSummary {
        bank: Bank {
            id: id(slug),
            name: slug.to_uppercase(),
            color: "#117ACA".into(),
            feed_kind: "simulated".into(),
            consent: if shared { ConsentState::Granted } else { ConsentState::Revoked },
            consent_changed_at: None,
            consent_expires_at: None,
            epoch: 1,
            scopes: Default::default(),
        },
        accounts: 1,
        unread: 0,
        open_alerts: 0,
    }
}

/// A bank whose consent ended `days_ago` days before `now()` (and was
/// recorded as expired by the store).
fn expired(slug: &str, days_ago: i64) -> BankSummary {
    let mut b = bank(slug, false);
    b.bank.consent_expires_at = Some(now() - chrono::Duration::days(days_ago));
    b
}

fn alert(n: i64, bank: &str) -> FraudAlert {
    FraudAlert {
        id: AlertId(n),
        bank: id(bank),
        account: AccountId(1),
        account_external_id: "chk".into(),
        txn: TxnId(n),
        reason: "Large charge at 3:12 am".into(),
        severity: Severity::High,
        status: AlertStatus::Open,
        created_at: now(),
        decided_at: None,
        merchant: "Electro-Mart".into(),
        amount: Money::new(-124_000, Currency::USD),
        posted_at: now(),
        card_mask: Some("•9913".into()),
        account_label: "Total Checking •4821".into(),
    }
}

fn message(n: i64, bank: &str) -> Message {
    Message {
        id: MessageId(n),
        bank: id(bank),
        at: now(),
        from: Sender::Bank,
        kind: MessageKind::Text,
        text: format!("message {n}"),
        txn: None,
        alert: None,
    }
}

/// A state as it is after the first snapshot: chase and citi shared.
fn loaded() -> AppState {
    let mut s = AppState::new(now(), true);
    let snap = Snapshot {
        banks: vec![bank("chase", true), bank("wellsfargo", false), bank("citi", true)],
        alerts: vec![alert(7, "chase"), alert(8, "citi")],
        conversation: ConversationView {
            bank: Some(id("chase")),
            messages: (1..=3).map(|n| message(n, "chase")).collect(),
            limit: CONVERSATION_WINDOW,
            ..Default::default()
        },
        ..Default::default()
    };
    update(&mut s, Action::Loaded(Box::new(snap)));
    s
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Presses keys through the key map; returns every effect asked for.
fn press(s: &mut AppState, keys: &[KeyCode]) -> Vec<Effect> {
    let mut effects = Vec::new();
    for k in keys {
        if let Some(action) = handle_key(s, key(*k)) {
            effects.extend(update(s, action));
        }
    }
    effects
}

fn chars(text: &str) -> Vec<KeyCode> {
    text.chars().map(KeyCode::Char).collect()
}

#[test]
fn tab_cycles_the_panes_and_back_tab_reverses() {
    let mut s = loaded();
    s.focus = Pane::Banks;
    let mut seen = vec![];
    for _ in 0..4 {
        press(&mut s, &[KeyCode::Tab]);
        seen.push(s.focus);
    }
    assert_eq!(seen, [Pane::Conversation, Pane::Sidebar, Pane::Alerts, Pane::Banks]);
    press(&mut s, &[KeyCode::BackTab]);
    assert_eq!(s.focus, Pane::Alerts);
}

#[test]
fn not_me_asks_first_then_acks_as_fraud() {
    let mut s = loaded();
    assert!(press(&mut s, &[KeyCode::Char('a'), KeyCode::Char('j'), KeyCode::Char('n')]).is_empty());
    assert_eq!(s.overlay, Some(Overlay::ConfirmNotMe { alert: AlertId(8) }));
    // Confirmed, the answer waits out its undo time, then goes.
    assert!(press(&mut s, &[KeyCode::Char('y')]).is_empty());
    assert_eq!(s.overlay, None);
    assert!(s.alerts.items.iter().all(|a| a.id != AlertId(8)), "the answered alert leaves the queue");
    assert!(update(&mut s, Action::Tick(now() + chrono::Duration::seconds(4))).is_empty());
    let effects = update(&mut s, Action::Tick(now() + chrono::Duration::seconds(5)));
    assert_eq!(effects, [Effect::Ack { alert: AlertId(8), verdict: Verdict::NotMe }]);
    assert_eq!(s.alerts.undo, None);
}

#[test]
fn u_takes_an_answer_back_within_five_seconds() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('a'), KeyCode::Char('j')]);
    assert!(press(&mut s, &[KeyCode::Char('y')]).is_empty());
    assert_eq!(s.alerts.undo.as_ref().map(|p| (p.alert.id, p.verdict)), Some((AlertId(8), Verdict::ItWasMe)));
    update(&mut s, Action::Tick(now() + chrono::Duration::seconds(3)));
    assert!(press(&mut s, &[KeyCode::Char('u')]).is_empty());
    assert_eq!(s.alerts.undo, None);
    assert_eq!(s.alerts.selected_alert().map(|a| a.id), Some(AlertId(8)), "back, and selected");
    // Nothing goes to the store later either.
    assert!(update(&mut s, Action::Tick(now() + chrono::Duration::seconds(30))).is_empty());
    // A second answer sends the first at once; quitting sends the one waiting.
    assert!(press(&mut s, &[KeyCode::Char('y')]).is_empty());
    let effects = press(&mut s, &[KeyCode::Char('y')]);
    assert_eq!(effects, [Effect::Ack { alert: AlertId(8), verdict: Verdict::ItWasMe }]);
    let effects = press(&mut s, &[KeyCode::Char('q')]);
    assert_eq!(effects, [Effect::Ack { alert: AlertId(7), verdict: Verdict::ItWasMe }]);
}

#[test]
fn not_me_can_be_cancelled_and_it_was_me_needs_no_confirmation() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('a'), KeyCode::Char('n')]);
    assert!(press(&mut s, &[KeyCode::Esc]).is_empty());
    assert_eq!(s.overlay, None);
    assert!(press(&mut s, &[KeyCode::Char('y')]).is_empty());
    let effects = update(&mut s, Action::Tick(now() + chrono::Duration::seconds(6)));
    assert_eq!(effects, [Effect::Ack { alert: AlertId(7), verdict: Verdict::ItWasMe }]);
}

#[test]
fn y_and_n_do_nothing_outside_the_alert_queue() {
    let mut s = loaded();
    s.focus = Pane::Conversation;
    assert!(press(&mut s, &[KeyCode::Char('y'), KeyCode::Char('n')]).is_empty());
    assert_eq!(s.overlay, None);
}

#[test]
fn consent_dialog_revokes_or_purges_after_confirmation() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('c')]);
    assert_eq!(s.overlay, Some(Overlay::Consent { bank: id("chase"), cursor: 0, scopes: Scopes::default() }));
    assert_eq!(press(&mut s, &[KeyCode::Char('r')]), [Effect::Revoke { bank: id("chase"), purge: false }]);

    press(&mut s, &[KeyCode::Char('c'), KeyCode::Char('p')]);
    assert_eq!(s.overlay, Some(Overlay::ConfirmPurge { bank: id("chase") }));
    assert_eq!(press(&mut s, &[KeyCode::Char('y')]), [Effect::Revoke { bank: id("chase"), purge: true }]);

    press(&mut s, &[KeyCode::Char('c'), KeyCode::Char('p')]);
    assert!(press(&mut s, &[KeyCode::Esc]).is_empty(), "Esc cancels the purge");
    press(&mut s, &[KeyCode::Char('c')]);
    assert!(press(&mut s, &[KeyCode::Esc]).is_empty(), "Esc cancels the dialog");
    assert_eq!(s.overlay, None);
}

#[test]
fn c_on_an_unshared_bank_asks_before_it_grants() {
    let mut s = loaded();
    let effects = press(&mut s, &[KeyCode::Char('2')]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.bank == Some(id("wellsfargo"))));
    // No single key changes sharing: c asks, saying what the bank sends.
    assert!(press(&mut s, &[KeyCode::Char('c')]).is_empty());
    assert_eq!(s.overlay, Some(Overlay::ConfirmGrant { bank: id("wellsfargo"), renew: false }));
    assert!(press(&mut s, &[KeyCode::Esc]).is_empty(), "Esc cancels");
    assert_eq!(s.overlay, None);
    assert!(press(&mut s, &[KeyCode::Char('c'), KeyCode::Char('n')]).is_empty(), "n cancels");
    assert_eq!(press(&mut s, &[KeyCode::Char('c'), KeyCode::Char('y')]), [Effect::Grant(vec![id("wellsfargo")])]);
}

#[test]
fn typing_to_an_unshared_bank_never_grants_it() {
    // i on an unshared bank is refused; the letters that follow were keys,
    // and the c of "balance" used to share the bank.
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('2')]);
    let mut keys = vec![KeyCode::Char('i')];
    keys.extend(chars("balance"));
    keys.push(KeyCode::Enter);
    let effects = press(&mut s, &keys);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Grant(_) | Effect::Renew(_))), "{effects:?}");
}

#[test]
fn a_paste_is_text_for_the_message_and_never_keys() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('i')]);
    // A pasted line break used to be Enter, and the letters after it keys
    // (c, p, y purged the bank).
    let effects = update(&mut s, Action::Paste("see the attached note\ncopy\r\n\u{1b}[31m".into()));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(s.input, Input::Compose("see the attached note copy  [31m".into()));
    assert_eq!(s.overlay, None);
    // A huge paste is cut to what a message holds, and the user told.
    update(&mut s, Action::Paste("x".repeat(100_000)));
    let Input::Compose(text) = &s.input else { panic!("{:?}", s.input) };
    assert_eq!(text.value().chars().count(), 500);
    assert!(s.flash.as_ref().is_some_and(|f| f.text.contains("500")), "{:?}", s.flash);
    // With nothing being typed, a paste does nothing but say so.
    press(&mut s, &[KeyCode::Esc]);
    let effects = update(&mut s, Action::Paste("cpy\n".into()));
    assert!(effects.is_empty() && s.overlay.is_none() && s.input == Input::Normal);
    assert!(s.flash.as_ref().is_some_and(|f| f.text.contains("Paste ignored")), "{:?}", s.flash);
}

#[test]
fn composing_sends_the_text_and_shows_it_pending() {
    let mut s = loaded();
    let mut keys = vec![KeyCode::Char('i')];
    keys.extend(chars("balanxe"));
    keys.extend([KeyCode::Backspace, KeyCode::Backspace, KeyCode::Char('c'), KeyCode::Char('e')]);
    assert!(press(&mut s, &keys).is_empty());
    assert_eq!(s.input, Input::Compose("balance".into()));
    // q and digits are text while composing, not commands.
    press(&mut s, &[KeyCode::Char(' '), KeyCode::Char('q'), KeyCode::Char('1')]);
    assert!(!s.quit);
    for _ in 0..3 {
        press(&mut s, &[KeyCode::Backspace]);
    }
    let effects = press(&mut s, &[KeyCode::Enter]);
    assert_eq!(effects, [Effect::Say { bank: id("chase"), text: "balance".into() }]);
    assert_eq!(s.conversation.pending.as_deref(), Some("balance"));
    assert_eq!(s.input, Input::Normal);
    update(&mut s, Action::Replied { bank: id("chase") });
    assert_eq!(s.conversation.pending, None);
}

#[test]
fn composing_is_cancelled_by_esc_and_refused_for_unshared_banks() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('i'), KeyCode::Char('x'), KeyCode::Esc]);
    assert_eq!(s.input, Input::Normal);
    press(&mut s, &[KeyCode::Char('2'), KeyCode::Char('i')]);
    assert_eq!(s.input, Input::Normal);
    assert!(s.flash.as_ref().is_some_and(|f| f.error && f.text.contains("not shared")));
}

#[test]
fn search_filters_and_esc_clears() {
    let mut s = loaded();
    let mut keys = vec![KeyCode::Char('/')];
    keys.extend(chars("whole foods"));
    let effects = press(&mut s, &keys);
    // Every change of the query loads its matches: it filters as it is typed.
    let searched: Vec<Option<&str>> = effects
        .iter()
        .map(|e| match e {
            Effect::Load(v) => v.search.as_deref(),
            _ => None,
        })
        .collect();
    assert_eq!(searched.first().copied().flatten(), Some("w"));
    assert_eq!(searched.last().copied().flatten(), Some("whole foods"));
    assert!(!searched.contains(&Some("whole ")), "trailing spaces do not load again");
    // Enter keeps the filter (already loaded); Esc clears it.
    assert!(press(&mut s, &[KeyCode::Enter]).is_empty());
    assert_eq!((s.focus, s.sidebar.search.as_deref()), (Pane::Sidebar, Some("whole foods")));
    // `/` again edits the query, the cursor at its end; Tab searches every bank.
    press(&mut s, &[KeyCode::Char('/')]);
    assert_eq!(s.input.editor().map(|e| (e.value(), e.cursor())), Some(("whole foods", 11)));
    let effects = press(&mut s, &[KeyCode::Tab]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.search_all && v.search.as_deref() == Some("whole foods")));
    // A paste into the search is text, and filters too.
    let effects = update(&mut s, Action::Paste(" market\n".into()));
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.search.as_deref() == Some("whole foods market")));
    let effects = press(&mut s, &[KeyCode::Esc]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.search.is_none() && !v.search_all));
}

#[test]
fn first_run_with_nothing_shared_offers_onboarding() {
    let mut s = AppState::new(now(), true);
    let snap = Snapshot { banks: vec![bank("chase", false), bank("citi", false)], ..Default::default() };
    update(&mut s, Action::Loaded(Box::new(snap)));
    // Nothing is ticked: Enter right away shares nothing.
    assert_eq!(s.overlay, Some(Overlay::Onboarding { cursor: 0, picked: vec![false, false] }));
    assert!(press(&mut s, &[KeyCode::Enter]).is_empty());
    assert_eq!(s.overlay, None);

    let mut s = AppState::new(now(), true);
    let snap = Snapshot { banks: vec![bank("chase", false), bank("citi", false)], ..Default::default() };
    update(&mut s, Action::Loaded(Box::new(snap)));
    let effects = press(&mut s, &[KeyCode::Down, KeyCode::Char(' '), KeyCode::Enter]);
    assert_eq!(effects, [Effect::Grant(vec![id("citi")])]);
    assert_eq!(s.overlay, None);

    let mut s = AppState::new(now(), true);
    let snap = Snapshot { banks: vec![bank("chase", false), bank("citi", false)], ..Default::default() };
    update(&mut s, Action::Loaded(Box::new(snap)));
    assert_eq!(press(&mut s, &[KeyCode::Char('a')]), [Effect::Grant(vec![id("chase"), id("citi")])]);
}

#[test]
fn onboarding_is_not_offered_once_a_bank_is_shared() {
    assert_eq!(loaded().overlay, None);
}

#[test]
fn help_opens_and_closes_and_q_quits_from_it() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('?')]);
    assert_eq!(s.overlay, Some(Overlay::Help));
    press(&mut s, &[KeyCode::Char('j')]);
    assert_eq!(s.overlay, Some(Overlay::Help), "other keys are swallowed");
    press(&mut s, &[KeyCode::Esc]);
    assert_eq!(s.overlay, None);
    press(&mut s, &[KeyCode::Char('?'), KeyCode::Char('q')]);
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_even_while_typing() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('i')]);
    let action = handle_key(&s, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)).unwrap();
    update(&mut s, action);
    assert!(s.quit);
}

#[test]
fn a_snapshot_for_another_bank_does_not_replace_the_conversation() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('3')]);
    let stale = Snapshot {
        banks: s.banks.clone(),
        conversation: ConversationView {
            bank: Some(id("chase")),
            messages: vec![message(99, "chase")],
            ..Default::default()
        },
        ..Default::default()
    };
    update(&mut s, Action::Loaded(Box::new(stale)));
    assert!(s.conversation.messages.is_empty(), "stale chase messages shown for citi");
    assert_eq!(s.bank_id(), Some(&id("citi")));
}

#[test]
fn alert_selection_follows_the_alert_when_the_queue_reloads() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('a'), KeyCode::Char('j')]);
    assert_eq!(s.alerts.items[s.alerts.selected].id, AlertId(8));
    let snap = Snapshot {
        banks: s.banks.clone(),
        alerts: vec![alert(9, "citi"), alert(7, "chase"), alert(8, "citi")],
        ..Default::default()
    };
    update(&mut s, Action::Loaded(Box::new(snap)));
    assert_eq!(s.alerts.items[s.alerts.selected].id, AlertId(8));
}

#[test]
fn scrolling_past_the_loaded_messages_loads_an_older_window() {
    let mut s = loaded();
    s.conversation.messages = (1..=CONVERSATION_WINDOW as i64).map(|n| message(n, "chase")).collect();
    s.focus = Pane::Conversation;
    let mut effects = Vec::new();
    for _ in 0..(CONVERSATION_WINDOW / 10) {
        effects.extend(press(&mut s, &[KeyCode::PageUp]));
    }
    let loads: Vec<&View> =
        effects.iter().filter_map(|e| if let Effect::Load(v) = e { Some(v) } else { None }).collect();
    assert_eq!(loads.len(), 1, "{effects:?}");
    assert_eq!(loads[0].messages, 2 * CONVERSATION_WINDOW);
    // A short thread (everything loaded) never asks for more.
    let mut s = loaded();
    s.focus = Pane::Conversation;
    assert!(press(&mut s, &[KeyCode::PageUp, KeyCode::PageUp]).is_empty());
}

#[test]
fn the_consent_dialog_renews_with_n() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('c')]);
    assert_eq!(s.overlay, Some(Overlay::Consent { bank: id("chase"), cursor: 0, scopes: Scopes::default() }));
    assert_eq!(press(&mut s, &[KeyCode::Char('n')]), [Effect::Renew(id("chase"))]);
    assert_eq!(s.overlay, None);
    assert!(s.flash.as_ref().is_some_and(|f| f.text.contains("Renewing")), "{:?}", s.flash);
    // Outside the dialog, n is "not me" and only in the alert queue.
    s.focus = Pane::Conversation;
    assert!(press(&mut s, &[KeyCode::Char('n')]).is_empty());
}

#[test]
fn c_on_an_expired_bank_renews_it_and_writing_to_it_says_why_not() {
    let mut s = loaded();
    let mut banks = s.banks.clone();
    banks[1] = expired("wellsfargo", 2);
    update(&mut s, Action::Loaded(Box::new(Snapshot { banks, ..Default::default() })));
    press(&mut s, &[KeyCode::Char('2')]);
    assert_eq!(s.sharing(), Some(Sharing::Expired { on: now() - chrono::Duration::days(2) }));
    assert!(!s.is_shared() && s.wants_renew());
    assert!(press(&mut s, &[KeyCode::Char('i')]).is_empty());
    assert_eq!(s.input, Input::Normal);
    assert!(s.flash.as_ref().is_some_and(|f| f.error && f.text.contains("expired")), "{:?}", s.flash);
    // Sharing it again asks first, as a grant does.
    assert!(press(&mut s, &[KeyCode::Char('c')]).is_empty());
    assert_eq!(s.overlay, Some(Overlay::ConfirmGrant { bank: id("wellsfargo"), renew: true }));
    assert_eq!(press(&mut s, &[KeyCode::Char('y')]), [Effect::Renew(id("wellsfargo"))]);
    assert_eq!(s.overlay, None);
}

#[test]
fn a_grant_reads_as_expired_once_its_time_passes_before_the_store_says_so() {
    let mut s = loaded();
    let mut banks = s.banks.clone();
    banks[0].bank.consent_expires_at = Some(now() + chrono::Duration::seconds(30));
    update(&mut s, Action::Loaded(Box::new(Snapshot { banks, ..Default::default() })));
    assert!(s.is_shared() && s.wants_renew(), "within the warning window");
    update(&mut s, Action::Tick(now() + chrono::Duration::seconds(31)));
    assert!(!s.is_shared());
    assert_eq!(press(&mut s, &[KeyCode::Char('c'), KeyCode::Char('y')]), [Effect::Renew(id("chase"))]);
}

#[test]
fn onboarding_is_not_offered_when_every_grant_expired() {
    let mut s = AppState::new(now(), true);
    let snap = Snapshot { banks: vec![expired("chase", 1), expired("citi", 3)], ..Default::default() };
    update(&mut s, Action::Loaded(Box::new(snap)));
    assert_eq!(s.overlay, None);
}

#[test]
fn the_renew_action_is_a_keymap_name() {
    let action: Action = toml::from_str::<toml::Table>("run = \"renew\"").unwrap()["run"].clone().try_into().unwrap();
    assert_eq!(action, Action::Renew);
}

#[test]
fn r_lists_the_refused_records_and_scrolls_them() {
    let mut s = loaded();
    s.quarantined = 2;
    s.refused = (0..2)
        .map(|i| finbox::store::Quarantined {
            bank: BankId::new("chase").unwrap(),
            at: now(),
            record: format!("transaction t{i}"),
            reason: "amount NaN is not money".into(),
        })
        .collect();
    // Opening the list loads the records (they are not in every snapshot).
    let effects = press(&mut s, &[KeyCode::Char('R')]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.refused), "{effects:?}");
    assert_eq!(s.overlay, Some(Overlay::Refused { scroll: 0 }));
    assert!(!AppState::new(now(), true).view().refused);
    press(&mut s, &[KeyCode::Char('j'), KeyCode::Char('j'), KeyCode::Char('j')]);
    assert_eq!(s.overlay, Some(Overlay::Refused { scroll: 1 }), "stops at the last record");
    press(&mut s, &[KeyCode::Char('k')]);
    assert_eq!(s.overlay, Some(Overlay::Refused { scroll: 0 }));
    // Other keys do nothing while it is open; Esc (or R again) closes it.
    press(&mut s, &[KeyCode::Char('c'), KeyCode::Char('a')]);
    assert_eq!(s.overlay, Some(Overlay::Refused { scroll: 0 }));
    press(&mut s, &[KeyCode::Esc]);
    assert_eq!(s.overlay, None);
    press(&mut s, &[KeyCode::Char('R'), KeyCode::Char('R')]);
    assert_eq!(s.overlay, None);
    assert!(KEYS.iter().any(|k| k.on == "R"), "listed in the help");
}

#[test]
fn ctrl_c_quits_from_every_dialog() {
    let ctrl_c = crossterm::event::KeyEvent::new(KeyCode::Char('c'), crossterm::event::KeyModifiers::CONTROL);
    for keys in [&[KeyCode::Char('?')][..], &[KeyCode::Char('c')], &[KeyCode::Char('c'), KeyCode::Char('p')]] {
        let mut s = loaded();
        press(&mut s, keys);
        assert!(s.overlay.is_some(), "{keys:?}");
        let action = finbox::app::handle_key(&s, ctrl_c).unwrap();
        update(&mut s, action);
        assert!(s.quit, "Ctrl-C in the dialog of {keys:?}");
    }
}

fn txn(n: i64) -> Transaction {
    Transaction {
        id: TxnId(n),
        bank: id("chase"),
        account: AccountId(1),
        account_external_id: "chk".into(),
        external_id: format!("t{n}"),
        posted_at: now() - chrono::Duration::hours(n),
        amount: Money::new(-1_000 * n, Currency::USD),
        merchant: format!("Shop {n}"),
        category: "shopping".into(),
        channel: Channel::CardPresent,
        country: "US".into(),
        status: TxnStatus::Posted,
        authorized_at: None,
        authorized: None,
        transfer: None,
        reversed_by: None,
        reverses: None,
        rule: None,
        original_merchant: None,
    }
}

/// A register window of `rows` transactions starting `offset` rows from
/// the newest, out of `total`, anchored at `anchor`.
fn register(anchor: Anchor, offset: usize, rows: std::ops::Range<i64>, total: usize) -> SidebarView {
    let transactions: Vec<Transaction> = rows.map(txn).collect();
    SidebarView {
        running: vec![None; transactions.len()],
        transactions,
        offset,
        total,
        anchor,
        limit: TXN_WINDOW,
        ..Default::default()
    }
}

fn with_register(s: &mut AppState, sidebar: SidebarView) {
    let snap = Snapshot {
        banks: s.banks.clone(),
        alerts: s.alerts.items.clone(),
        conversation: s.conversation.clone(),
        sidebar,
        ..Default::default()
    };
    update(s, Action::Loaded(Box::new(snap)));
}

#[test]
fn g_reaches_the_oldest_row_however_far_back() {
    let mut s = loaded();
    with_register(&mut s, register(Anchor::Newest, 0, 1..201, 100_000));
    s.focus = Pane::Sidebar;
    let effects = press(&mut s, &[KeyCode::Char('G')]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.anchor == Anchor::Oldest), "{effects:?}");
    // The oldest window arrives: the selection goes to its last row.
    with_register(
        &mut s,
        SidebarView { anchor_row: Some(199), ..register(Anchor::Oldest, 99_800, 99_801..100_001, 100_000) },
    );
    assert_eq!(s.sidebar.selected().map(|t| t.id), Some(TxnId(100_000)));
    assert_eq!(s.sidebar.position(), Some((100_000, 100_000)));
    // Back up near the window's top: the window moves to the row selected.
    let effects = press(&mut s, &[KeyCode::PageUp; 20]);
    let anchors: Vec<Anchor> =
        effects.iter().filter_map(|e| if let Effect::Load(v) = e { Some(v.anchor) } else { None }).collect();
    assert!(matches!(anchors.last(), Some(Anchor::At(k)) if k.id < 99_811), "{anchors:?}");
    // g: the newest again.
    let effects = press(&mut s, &[KeyCode::Char('g')]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.anchor == Anchor::Newest));
}

/// On the newest row, the register follows what arrives (history catching
/// up, a new charge); anywhere else the selection stays on its transaction.
#[test]
fn the_newest_row_follows_new_transactions_and_any_other_stays_put() {
    let mut s = loaded();
    with_register(&mut s, register(Anchor::Newest, 0, 10..210, 200));
    assert_eq!(s.sidebar.selected_txn, 0);
    // Two newer transactions arrive: the newest is selected, at the top.
    with_register(&mut s, register(Anchor::Newest, 0, 8..210, 202));
    assert_eq!(s.sidebar.selected().map(|t| t.id), Some(TxnId(8)));
    assert_eq!(s.sidebar.position(), Some((1, 202)));
    // Moved down to a row, the selection stays on it as more arrive.
    s.focus = Pane::Sidebar;
    press(&mut s, &[KeyCode::Char('j'), KeyCode::Char('j')]);
    let chosen = s.sidebar.selected().map(|t| t.id);
    with_register(&mut s, register(Anchor::Newest, 0, 5..210, 205));
    assert_eq!(s.sidebar.selected().map(|t| t.id), chosen);
    assert_eq!(s.sidebar.position(), Some((6, 205)));
}

#[test]
fn pages_move_by_the_panes_height_and_the_window_follows_the_cursor() {
    let mut s = loaded();
    with_register(&mut s, register(Anchor::Newest, 0, 1..201, 5_000));
    s.focus = Pane::Sidebar;
    update(&mut s, Action::Viewport(Pages { conversation: 10, sidebar: 17, alerts: 4 }));
    press(&mut s, &[KeyCode::PageDown]);
    assert_eq!(s.sidebar.selected_txn, 17);
    assert_eq!(s.sidebar.position(), Some((18, 5_000)));
    // Near the end of the loaded rows, the next window is asked for from the
    // selected row (a key, not an offset), and the selection stays on it.
    let effects = press(&mut s, &[KeyCode::PageDown; 11]);
    let Some(Effect::Load(v)) = effects.last() else { panic!("{effects:?}") };
    let Anchor::At(key) = v.anchor else { panic!("{:?}", v.anchor) };
    let at = s.sidebar.selected().unwrap().id;
    assert_eq!(key.id, at.0);
    with_register(&mut s, register(v.anchor, 90, 91..391, 5_000));
    assert_eq!(s.sidebar.selected().map(|t| t.id), Some(at));
}

#[test]
fn a_date_jumps_the_register_and_a_bad_one_is_named() {
    let mut s = loaded();
    with_register(&mut s, register(Anchor::Newest, 0, 1..201, 5_000));
    s.focus = Pane::Sidebar;
    let mut keys = vec![KeyCode::Char(':')];
    keys.extend(chars("2025-03"));
    keys.push(KeyCode::Enter);
    let effects = press(&mut s, &keys);
    let want = Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap();
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.anchor == Anchor::Before(want)), "{effects:?}");
    with_register(
        &mut s,
        SidebarView { anchor_row: Some(100), ..register(Anchor::Before(want), 3_000, 3_001..3_301, 5_000) },
    );
    assert_eq!(s.sidebar.selected().map(|t| t.id), Some(TxnId(3_101)));
    let mut keys = vec![KeyCode::Char(':')];
    keys.extend(chars("march"));
    keys.push(KeyCode::Enter);
    assert!(press(&mut s, &keys).is_empty());
    assert!(s.flash.as_ref().is_some_and(|f| f.error && f.text.contains("not a date")), "{:?}", s.flash);
}

#[test]
fn enter_on_a_notice_opens_its_transaction_and_its_alert() {
    let mut s = loaded();
    let mut notice = message(4, "chase");
    notice.txn = Some(TxnId(77));
    notice.alert = Some(AlertId(7));
    s.conversation.messages.insert(1, notice);
    s.focus = Pane::Conversation;
    // k from the end selects the newest message, then older ones.
    press(&mut s, &[KeyCode::Char('k'), KeyCode::Char('k')]);
    assert_eq!(s.conversation.selected, Some(MessageId(2)));
    press(&mut s, &[KeyCode::Char('k')]);
    assert_eq!(s.conversation.selected, Some(MessageId(4)));
    let effects = press(&mut s, &[KeyCode::Enter]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.anchor == Anchor::Txn(TxnId(77))), "{effects:?}");
    assert_eq!(s.focus, Pane::Sidebar);
    assert_eq!(s.alerts.selected_alert().map(|a| a.id), Some(AlertId(7)));
    // Enter with nothing selected writes to the bank, as before.
    let mut s = loaded();
    s.focus = Pane::Conversation;
    press(&mut s, &[KeyCode::Enter]);
    assert!(matches!(s.input, Input::Compose(_)));
}

#[test]
fn from_an_alert_to_its_details_and_its_thread() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('a'), KeyCode::Char('j'), KeyCode::Enter]);
    assert_eq!(s.overlay, Some(Overlay::AlertDetail { alert: AlertId(8) }));
    // t in the details: citi's thread, loaded far enough back to hold it.
    let effects = press(&mut s, &[KeyCode::Char('t')]);
    assert_eq!(s.overlay, None);
    assert_eq!(s.bank_id(), Some(&id("citi")));
    assert_eq!(s.focus, Pane::Conversation);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.thread_at == Some(AlertId(8)) && v.bank == Some(id("citi"))));
    // The thread arrives with the alert's message selected.
    let snap = Snapshot {
        banks: s.banks.clone(),
        alerts: s.alerts.items.clone(),
        conversation: ConversationView {
            bank: Some(id("citi")),
            messages: (1..=3).map(|n| message(n, "citi")).collect(),
            selected: Some(MessageId(2)),
            ..Default::default()
        },
        ..Default::default()
    };
    update(&mut s, Action::Loaded(Box::new(snap)));
    assert_eq!(s.conversation.selected, Some(MessageId(2)));
}

#[test]
fn esc_leaves_the_queue_and_answered_alerts_have_their_list() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('a')]);
    let effects = press(&mut s, &[KeyCode::Char('A')]);
    assert!(matches!(&effects[..], [Effect::Load(v)] if v.answered));
    assert!(s.alerts.show_answered);
    // y / n do nothing on answered alerts.
    assert!(press(&mut s, &[KeyCode::Char('y')]).is_empty());
    assert_eq!(s.alerts.undo, None);
    press(&mut s, &[KeyCode::Esc]);
    assert_eq!(s.focus, Pane::Conversation);
    assert!(!s.alerts.show_answered);
}

#[test]
fn the_line_edits_like_readline_and_recalls_what_was_sent() {
    let mut s = loaded();
    let mut sent = message(9, "chase");
    sent.from = Sender::User;
    sent.text = "balance".into();
    s.conversation.messages.push(sent);
    let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    let do_key = |s: &mut AppState, k: KeyEvent| {
        if let Some(a) = handle_key(s, k) {
            update(s, a);
        }
    };
    press(&mut s, &[KeyCode::Char('i')]);
    press(&mut s, &chars("spend last"));
    do_key(&mut s, ctrl('w'));
    press(&mut s, &chars("month"));
    do_key(&mut s, ctrl('a'));
    press(&mut s, &chars("my "));
    do_key(&mut s, ctrl('e'));
    press(&mut s, &[KeyCode::Left, KeyCode::Left]);
    press(&mut s, &[KeyCode::Delete]);
    assert_eq!(s.input.editor().map(|e| (e.value(), e.cursor())), Some(("my spend monh", 12)));
    // ↑ recalls what was sent to this bank; ↓ comes back to the draft.
    press(&mut s, &[KeyCode::Up]);
    assert_eq!(s.input.editor().map(|e| e.value()), Some("balance"));
    press(&mut s, &[KeyCode::Down]);
    assert_eq!(s.input.editor().map(|e| e.value()), Some("my spend monh"));
    do_key(&mut s, ctrl('u'));
    assert_eq!(s.input.editor().map(|e| (e.value(), e.cursor())), Some(("", 0)));
    do_key(&mut s, ctrl('y'));
    assert_eq!(s.input.editor().map(|e| e.value()), Some("my spend monh"));
}

#[test]
fn the_sharing_dialog_toggles_scopes_and_asks_before_deleting() {
    let mut s = loaded();
    press(&mut s, &[KeyCode::Char('c')]);
    // Offers on (the fifth), messages off (the third).
    press(
        &mut s,
        &[KeyCode::Down, KeyCode::Down, KeyCode::Char(' '), KeyCode::Down, KeyCode::Down, KeyCode::Char(' ')],
    );
    let want = Scopes::parse("balances,transactions,alerts,offers").unwrap();
    assert!(matches!(&s.overlay, Some(Overlay::Consent { scopes, .. }) if *scopes == want), "{:?}", s.overlay);
    // Messages taken away: Enter asks what to do with what they stored.
    assert!(press(&mut s, &[KeyCode::Enter]).is_empty());
    assert_eq!(s.overlay, Some(Overlay::ConfirmNarrow { bank: id("chase"), scopes: want }));
    let effects = press(&mut s, &[KeyCode::Char('y')]);
    assert_eq!(effects, [Effect::SetScopes { bank: id("chase"), scopes: want, delete: true }]);
    // k keeps it; Esc changes nothing.
    press(&mut s, &[KeyCode::Char('c'), KeyCode::Down, KeyCode::Char(' '), KeyCode::Enter]);
    let effects = press(&mut s, &[KeyCode::Char('k')]);
    assert!(matches!(&effects[..], [Effect::SetScopes { delete: false, .. }]), "{effects:?}");
    press(&mut s, &[KeyCode::Char('c'), KeyCode::Down, KeyCode::Char(' '), KeyCode::Enter]);
    assert!(press(&mut s, &[KeyCode::Esc]).is_empty());
    assert_eq!(s.overlay, None);
    // Only adding one applies at once.
    press(&mut s, &[KeyCode::Char('c'), KeyCode::Up, KeyCode::Up, KeyCode::Up, KeyCode::Up]);
    press(&mut s, &[KeyCode::Down, KeyCode::Down, KeyCode::Down, KeyCode::Down, KeyCode::Char(' ')]);
    let effects = press(&mut s, &[KeyCode::Enter]);
    assert!(
        matches!(&effects[..], [Effect::SetScopes { delete: false, scopes, .. }] if scopes.contains(Scope::Offers))
    );
}
