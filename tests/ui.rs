//! Snapshot tests of the screen: fixture states rendered on a `TestBackend`
//! with a fixed clock and UTC, at two sizes, plus cell checks where colour
//! carries meaning.

use chrono::{DateTime, TimeZone, Utc};
use finbox::app::{AlertQueue, AppState, ConversationView, Flash, Input, Overlay, Pane, PendingVerdict, SidebarView};
use finbox::domain::*;
use finbox::feed::supervisor::FeedStatus;
use finbox::store::{BankSummary, Quarantined};
use finbox::ui::{RenderOpts, Theme, hit_test, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

// ---------------------------------------------------------------- fixtures

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
}

fn id(s: &str) -> BankId {
    BankId::new(s).unwrap()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn bank(slug: &str, name: &str, color: &str, shared: bool, unread: i64, open_alerts: i64) -> BankSummary {
    BankSummary {
        bank: Bank {
            id: id(slug),
            name: name.to_string(),
            color: color.to_string(),
            feed_kind: "simulated".to_string(),
            consent: if shared { ConsentState::Granted } else { ConsentState::Revoked },
            consent_changed_at: None,
            consent_expires_at: None,
            epoch: 1,
            scopes: Default::default(),
        },
        accounts: 3,
        unread,
        open_alerts,
    }
}

fn account(n: i64, name: &str, kind: AccountKind, mask: &str, balance: i64) -> Account {
    Account {
        id: AccountId(n),
        bank: id("chase"),
        external_id: format!("acc-{n}"),
        name: name.to_string(),
        kind,
        mask: mask.to_string(),
        opening: usd(0),
        balance: usd(balance),
        reported: None,
        txn_count: 12,
        pending: usd(0),
        card: None,
    }
}

fn message(n: i64, at: DateTime<Utc>, from: Sender, kind: MessageKind, text: &str) -> Message {
    Message { id: MessageId(n), bank: id("chase"), at, from, kind, text: text.to_string(), txn: None, alert: None }
}

fn txn(n: i64, posted_at: DateTime<Utc>, merchant: &str, amount: i64) -> Transaction {
    Transaction {
        id: TxnId(n),
        bank: id("chase"),
        account: AccountId(1),
        account_external_id: "acc-1".to_string(),
        external_id: format!("t{n}"),
        posted_at,
        amount: usd(amount),
        merchant: merchant.to_string(),
        category: "shopping".to_string(),
        channel: Channel::CardPresent,
        country: "US".to_string(),
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

#[allow(clippy::too_many_arguments)]
fn alert(
    n: i64,
    slug: &str,
    severity: Severity,
    posted_at: DateTime<Utc>,
    merchant: &str,
    amount: i64,
    card: Option<&str>,
    reason: &str,
) -> FraudAlert {
    FraudAlert {
        id: AlertId(n),
        bank: id(slug),
        account: AccountId(2),
        account_external_id: "acc-2".to_string(),
        txn: TxnId(100 + n),
        reason: reason.to_string(),
        severity,
        status: AlertStatus::Open,
        created_at: posted_at,
        decided_at: None,
        merchant: merchant.to_string(),
        amount: usd(amount),
        posted_at,
        card_mask: card.map(str::to_string),
        account_label: "Sapphire Preferred •9913".to_string(),
    }
}

/// Four banks (Chase and Wells Fargo shared), Chase selected, a two-day
/// conversation, three accounts with history and transactions, three alerts.
fn main_state() -> AppState {
    let mut s = AppState::new(now(), true);
    s.loading = false;
    s.banks = vec![
        bank("chase", "Chase", "#117aca", true, 3, 2),
        bank("wellsfargo", "Wells Fargo", "#d71e28", true, 0, 1),
        bank("citi", "Citi", "#056dae", false, 0, 0),
        bank("usbank", "U.S. Bank", "#0c2074", false, 0, 0),
    ];
    // Far from its end: nothing about it shows but in the consent dialog.
    s.banks[0].bank.consent_expires_at = Some(now() + chrono::Duration::days(60));
    s.totals = Total::by_currency([usd(3_681_357)]);
    s.feeds.insert(id("chase"), FeedStatus::Running);
    s.feeds.insert(id("wellsfargo"), FeedStatus::Restarting { error: "timeout".into(), attempt: 2 });
    s.feeds.insert(id("citi"), FeedStatus::Off);
    s.feeds.insert(id("usbank"), FeedStatus::Off);
    s.conversation = ConversationView {
        bank: Some(id("chase")),
        messages: vec![
            message(
                1,
                at(19, 9, 15),
                Sender::System,
                MessageKind::Notice,
                "Sharing started: Chase delivers balances, transactions and alerts.",
            ),
            message(2, at(19, 9, 16), Sender::Bank, MessageKind::Balance, "Your Total Checking balance is $12,345.67."),
            message(
                3,
                at(19, 18, 40),
                Sender::Bank,
                MessageKind::Transaction,
                "Card •4821 was charged $54.20 at Shell Oil 5732.",
            ),
            message(
                4,
                at(20, 3, 12),
                Sender::Bank,
                MessageKind::Fraud,
                "Did you spend $1,240.00 at Electro-Mart Kyiv with card •9913? Reply in the alert queue.",
            ),
            message(5, at(20, 8, 30), Sender::User, MessageKind::Text, "What is my credit card balance?"),
            message(
                6,
                at(20, 8, 30),
                Sender::Bank,
                MessageKind::Balance,
                "Your Sapphire Preferred balance is -$532.10; the payment of $35.00 is due Dec 3.",
            ),
        ],
        scroll: 0,
        limit: 300,
        pending: None,
        selected: None,
    };
    let history: Vec<i64> = (0..90)
        .map(|d: i64| 1_000_000 + ((d * 37) % 23) * 9_000 + d * 2_500 - if d % 14 == 0 { 80_000 } else { 0 })
        .collect();
    let transactions = vec![
        txn(12, at(20, 14, 2), "Blue Bottle Coffee", -650),
        txn(11, at(20, 11, 40), "Payroll ACME Corp", 412_500),
        txn(10, at(19, 18, 40), "Shell Oil 5732", -5_420),
        txn(9, at(19, 12, 5), "Whole Foods Market #10234", -8_713),
        txn(8, at(18, 20, 0), "Netflix.com", -1_549),
        txn(7, at(18, 9, 30), "Transfer to Savings", -50_000),
        txn(6, at(17, 16, 10), "Amazon Marketplace", -3_299),
        txn(5, at(16, 13, 0), "Trader Joe's", -6_402),
        txn(4, at(15, 10, 0), "Venmo cashout", 12_000),
        txn(3, at(14, 19, 45), "Uber Trip", -2_312),
    ];
    let mut balance = 1_234_567;
    let running = transactions
        .iter()
        .map(|t| {
            let here = balance;
            balance -= t.amount.minor;
            Some(usd(here))
        })
        .collect();
    s.sidebar = SidebarView {
        accounts: vec![
            account(1, "Total Checking", AccountKind::Checking, "•4821", 1_234_567),
            account(2, "Sapphire Preferred", AccountKind::Credit, "•9913", -53_210),
            account(3, "Chase Savings", AccountKind::Savings, "•1200", 2_500_000),
        ],
        selected_account: 0,
        transactions,
        running,
        selected_txn: 0,
        search: None,
        history,
        limit: 200,
        ..Default::default()
    };
    s.alerts = AlertQueue {
        items: vec![
            alert(
                1,
                "chase",
                Severity::High,
                at(20, 3, 12),
                "Electro-Mart Kyiv",
                -124_000,
                Some("•9913"),
                "Large charge at 3:12 am",
            ),
            alert(
                2,
                "wellsfargo",
                Severity::Medium,
                at(19, 22, 48),
                "QuickPay Online Store",
                -39_999,
                Some("•5521"),
                "First purchase abroad in 90 days",
            ),
            alert(3, "chase", Severity::Low, at(18, 7, 5), "Gas Station 88", -100, None, "Small test charge"),
        ],
        selected: 0,
        ..Default::default()
    };
    s
}

// ----------------------------------------------------------------- helpers

fn draw_with(state: &AppState, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(f, state, theme, &RenderOpts { utc_offset_secs: 0 })).unwrap();
    terminal
}

fn draw(state: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    draw_with(state, &Theme::default(), w, h)
}

/// Snapshots `state` at 80×24 and 120×36 as `<name>_80x24` and `<name>_120x36`.
fn snap(name: &str, state: &AppState) {
    for (w, h) in [(80, 24), (120, 36)] {
        let t = draw(state, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn screen_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The position of the first cell of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..buf.area.height {
        let row: Vec<&str> = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        for x in 0..row.len() {
            let mut s = String::new();
            for cell in &row[x..] {
                s.push_str(cell);
                if s.len() >= needle.len() {
                    break;
                }
            }
            if s.starts_with(needle) {
                return Some((x as u16, y));
            }
        }
    }
    None
}

// --------------------------------------------------------------- snapshots

#[test]
fn main_screen() {
    snap("main", &main_state());
}

#[test]
fn main_screen_large() {
    let t = draw(&main_state(), 200, 60);
    insta::assert_snapshot!("main_200x60", t.backend());
}

#[test]
fn help_overlay() {
    let mut s = main_state();
    s.overlay = Some(Overlay::Help);
    snap("help", &s);
}

#[test]
fn refused_records() {
    let mut s = main_state();
    s.quarantined = 3;
    s.refused = vec![
        Quarantined {
            bank: id("citi"),
            at: at(20, 14, 3),
            record: "transaction citi-000417".into(),
            reason:
                "differs from the stored transaction with this id (amount -$4.50 → -$6.75); the first version stands"
                    .into(),
        },
        Quarantined {
            bank: id("chase"),
            at: at(19, 9, 12),
            // Bank text is untrusted here too.
            record: "transaction \u{1b}[31mEVIL\u{202e}".into(),
            reason: "amount NaN is not money".into(),
        },
        Quarantined {
            bank: id("chase"),
            at: at(18, 23, 59),
            record: "balance of chase-chk".into(),
            reason: "balance in EUR for an account in USD".into(),
        },
    ];
    let text = screen_text(draw(&s, 160, 36).backend().buffer());
    assert!(text.contains("3 refused (R lists them)"), "{text}");
    s.overlay = Some(Overlay::Refused { scroll: 0 });
    snap("refused", &s);
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("the first version stands") && text.contains("EVIL"), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
    // Scrolled past the newest, the oldest shows; with none, it says so.
    s.overlay = Some(Overlay::Refused { scroll: 2 });
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(!text.contains("citi-000417") && text.contains("balance in EUR"), "{text}");
    s.refused.clear();
    s.quarantined = 0;
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("Nothing refused"), "{text}");
}

#[test]
fn consent_dialog() {
    let mut s = main_state();
    s.overlay = Some(Overlay::Consent { bank: id("chase"), cursor: 0, scopes: Scopes::default() });
    snap("consent", &s);
}

#[test]
fn confirm_grant_dialog() {
    let mut s = main_state();
    s.overlay = Some(Overlay::ConfirmGrant { bank: id("citi"), renew: false });
    snap("confirm_grant", &s);
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("Share Citi with finbox?") && text.contains("fraud alerts"), "{text}");
}

#[test]
fn confirm_purge_dialog() {
    let mut s = main_state();
    s.overlay = Some(Overlay::ConfirmPurge { bank: id("chase") });
    snap("confirm_purge", &s);
}

#[test]
fn confirm_not_me_dialog() {
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.overlay = Some(Overlay::ConfirmNotMe { alert: AlertId(1) });
    snap("confirm_not_me", &s);
}

#[test]
fn onboarding() {
    let mut s = main_state();
    for b in &mut s.banks {
        b.bank.consent = ConsentState::Revoked;
        b.bank.consent_expires_at = None;
        b.unread = 0;
        b.open_alerts = 0;
    }
    s.totals.clear();
    s.alerts = AlertQueue::default();
    s.conversation = ConversationView { bank: Some(id("chase")), ..Default::default() };
    s.sidebar = SidebarView::default();
    s.feeds.clear();
    s.overlay = Some(Overlay::Onboarding { cursor: 1, picked: vec![true, true, false, true] });
    snap("onboarding", &s);
}

#[test]
fn alert_queue_focused() {
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.alerts.selected = 1;
    snap("alerts_focused", &s);
}

#[test]
fn composing() {
    let mut s = main_state();
    s.input = Input::Compose("Please freeze card •9913 now".to_string().into());
    s.conversation.pending = Some("Is the Electro-Mart charge still pending?".to_string());
    snap("composing", &s);
}

#[test]
fn searching_transactions() {
    let mut s = main_state();
    s.focus = Pane::Sidebar;
    s.input = Input::Search("shell".to_string().into());
    s.sidebar.selected_txn = 9;
    snap("searching", &s);
}

/// A search's matches across every bank, counted, each on its account.
fn search_state() -> AppState {
    let mut s = main_state();
    s.focus = Pane::Sidebar;
    s.input = Input::Search("shell".into());
    s.sidebar.search = Some("shell".into());
    s.sidebar.search_all = true;
    s.sidebar.total = 37;
    let mut rows: Vec<Transaction> = s.sidebar.transactions.iter().take(4).cloned().collect();
    for (i, t) in rows.iter_mut().enumerate() {
        t.merchant = format!("Shell Oil {}", 5732 + i);
        t.account = AccountId(1 + (i as i64 % 2) * 7);
    }
    s.sidebar.running = vec![None; rows.len()];
    s.sidebar.transactions = rows;
    s.sidebar.labels.insert(AccountId(1), "Total Checking •4821".into());
    s.sidebar.labels.insert(AccountId(8), "Citi Double Cash •0314".into());
    s.sidebar.selected_txn = 1;
    s
}

fn snap_sizes(name: &str, state: &AppState, sizes: &[(u16, u16)]) {
    for (w, h) in sizes {
        let t = draw(state, *w, *h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn search_with_its_count_and_accounts() {
    let s = search_state();
    snap_sizes("search_count", &s, &[(80, 24), (200, 60)]);
    let text = screen_text(draw(&s, 200, 60).backend().buffer());
    assert!(text.contains("37 matches · all banks"), "{text}");
    assert!(text.contains("Citi Double Cash •0314"), "{text}");
    // The cursor is the terminal's, at the end of the query.
    let mut t = draw(&s, 200, 60);
    let at = t.get_cursor_position().unwrap();
    let (x, y) = find(t.backend().buffer(), "/shell").unwrap();
    assert_eq!((at.x, at.y), (x + 6, y));
}

#[test]
fn register_full_screen_with_its_position() {
    let mut s = main_state();
    s.focus = Pane::Sidebar;
    s.zoom = true;
    s.sidebar.offset = 1_193;
    s.sidebar.total = 96_026;
    s.sidebar.selected_txn = 8;
    s.sidebar.offset = 1_195;
    // A row from another year says its year.
    s.sidebar.transactions[9].posted_at = Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0).unwrap();
    snap_sizes("register_zoomed", &s, &[(80, 24), (200, 60)]);
    let text = screen_text(draw(&s, 200, 60).backend().buffer());
    assert!(text.contains("1,204 of 96,026"), "{text}");
    assert!(text.contains("Mar 14 2025"), "{text}");
    assert!(!text.contains("Fraud alerts"), "the register alone: {text}");
}

#[test]
fn alert_detail_says_what_each_answer_does() {
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.overlay = Some(Overlay::AlertDetail { alert: AlertId(1) });
    snap_sizes("alert_detail", &s, &[(80, 24), (200, 60)]);
    let text = screen_text(draw(&s, 200, 60).backend().buffer());
    for want in ["Large charge at 3:12 am", "Electro-Mart Kyiv", "-$1,240.00", "y   It was me", "n   Not me"] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

#[test]
fn answered_alerts_and_the_undo_line() {
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.alerts.show_answered = true;
    let mut done = s.alerts.items[1].clone();
    done.status = AlertStatus::Legit;
    done.decided_at = Some(now());
    let mut fraud = s.alerts.items[2].clone();
    fraud.status = AlertStatus::Fraud;
    s.alerts.answered = vec![done, fraud];
    s.alerts.selected = 1;
    let held = s.alerts.items.remove(0);
    s.alerts.undo =
        Some(PendingVerdict { alert: held, verdict: Verdict::ItWasMe, due: now() + chrono::Duration::seconds(4) });
    snap_sizes("answered_alerts", &s, &[(80, 24), (200, 60)]);
    let t = draw(&s, 200, 60);
    let buf = t.backend().buffer();
    let text = screen_text(buf);
    assert!(text.contains("answered (2)") && text.contains("2 of 2"), "{text}");
    assert!(text.contains("u undoes (4 s)"), "{text}");
    // The selected row is in reverse video.
    let (x, y) = find(buf, "not me ·").unwrap();
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn help_is_grouped_by_pane() {
    let mut s = main_state();
    s.overlay = Some(Overlay::Help);
    snap_sizes("help_grouped", &s, &[(80, 24), (200, 60)]);
    let text = screen_text(draw(&s, 200, 60).backend().buffer());
    let at = |w: &str| text.find(w).unwrap_or_else(|| panic!("{w}: {text}"));
    assert!(at("Navigation") < at("Conversation"));
    for group in ["Accounts", "Fraud alerts", "Sharing"] {
        at(group);
    }
    assert!(text.contains("jump to a date") && text.contains("undo the answer"), "{text}");
}

#[test]
fn bank_not_shared() {
    let mut s = main_state();
    s.selected_bank = 2;
    s.focus = Pane::Banks;
    s.conversation = ConversationView { bank: Some(id("citi")), ..Default::default() };
    s.sidebar = SidebarView::default();
    s.flash = Some(Flash { text: "Citi: sharing revoked".to_string(), error: false, sticky: false, at: now() });
    snap("not_shared", &s);
}

#[test]
fn empty_shared_bank_with_an_error() {
    let mut s = main_state();
    s.selected_bank = 1;
    s.conversation = ConversationView { bank: Some(id("wellsfargo")), ..Default::default() };
    s.sidebar = SidebarView::default();
    s.flash = Some(Flash {
        text: "could not send: the store is busy; try again".to_string(),
        error: true,
        sticky: false,
        at: now(),
    });
    let t = draw(&s, 80, 24);
    insta::assert_snapshot!("empty_shared_80x24", t.backend());
    let (x, y) = find(t.backend().buffer(), "could not send").unwrap();
    assert_eq!(t.backend().buffer()[(x, y)].fg, Color::Red);
}

/// Chase's consent expired this morning (the store recorded it and said so
/// in its conversation); Wells Fargo's ends in three days.
fn expiry_state() -> AppState {
    let mut s = main_state();
    let ended = at(20, 9, 0);
    let chase = &mut s.banks[0];
    chase.bank.consent = ConsentState::Revoked;
    chase.bank.consent_expires_at = Some(ended);
    chase.open_alerts = 0;
    s.banks[1].bank.consent_expires_at = Some(now() + chrono::Duration::days(3) + chrono::Duration::hours(2));
    s.alerts.items.retain(|a| a.bank != id("chase"));
    s.feeds.insert(id("chase"), FeedStatus::Off);
    s.conversation.messages.push(message(
        7,
        ended,
        Sender::System,
        MessageKind::Notice,
        "Sharing with Chase expired on Nov 20, 2026; it delivers nothing more until you renew it.",
    ));
    s
}

#[test]
fn expired_consent() {
    let s = expiry_state();
    snap("expired", &s);
    let t = draw(&s, 80, 24);
    let buf = t.backend().buffer();
    let text = screen_text(buf);
    assert!(text.contains("Chase — expired"), "{text}");
    assert!(text.contains("c to renew Chase"), "{text}");
    assert!(text.contains("c renew sharing"), "the footer offers renew: {text}");
    // "expired" in the bank list ("!" in its narrow column), and the
    // banner, are warnings (yellow).
    let (x, y) = find(buf, "Chase  !").unwrap();
    assert_eq!((y, buf[(x + 7, y)].fg), (2, Color::Yellow));
    let (x, y) = find(buf, "Sharing expired on Nov").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    // Wells Fargo ends in three days: the list says so, in yellow.
    let (x, y) = find(buf, "↻3d").unwrap();
    assert_eq!((y, buf[(x, y)].fg), (3, Color::Yellow));
}

#[test]
fn expiring_soon_banner_and_consent_dialog_offer_renew() {
    let mut s = expiry_state();
    s.selected_bank = 1;
    s.conversation = ConversationView { bank: Some(id("wellsfargo")), ..Default::default() };
    s.sidebar = SidebarView::default();
    let t = draw(&s, 80, 24);
    insta::assert_snapshot!("expiring_soon_80x24", t.backend());
    let text = screen_text(t.backend().buffer());
    assert!(text.contains("Sharing ends in 3 days") && text.contains("(Nov 23)"), "{text}");
    s.overlay = Some(Overlay::Consent { bank: id("wellsfargo"), cursor: 0, scopes: Scopes::default() });
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("Shared until Nov 23, 2026.") && text.contains("n    renew"), "{text}");
    assert!(text.contains("p revoke and delete  n renew  Esc cancel"), "the footer: {text}");
}

#[test]
fn loading() {
    let mut s = AppState::new(now(), false);
    s.loading = true;
    let t = draw(&s, 80, 24);
    insta::assert_snapshot!("loading_80x24", t.backend());
}

#[test]
fn scrolled_up_conversation() {
    let mut s = main_state();
    s.conversation.scroll = 4;
    let t = draw(&s, 80, 24);
    insta::assert_snapshot!("scrolled_80x24", t.backend());
    // Scrolling past the top clamps to the oldest message.
    s.conversation.scroll = 10_000;
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("Thu, Nov 19"), "{text}");
}

/// A monthly summary's chart in a conversation too narrow for its lines:
/// each is cut before its amount, which goes under it against the right
/// edge, so bars start in one column and amounts end in one (at 80×24);
/// at 120×36 the lines fit and keep their spacing.
#[test]
fn a_chart_keeps_its_columns_in_a_narrow_conversation() {
    let mut s = main_state();
    let chart = "November 2026: you spent $19,661.30 across every bank.\n\
                 Housing     ████████ $10,072.37\n\
                 Restaurants ████▍     $5,598.24\n\
                 Coffee      ▌           $934.54";
    s.conversation.messages.push(message(9, at(20, 9, 0), Sender::Bank, MessageKind::Text, chart));
    snap("monthly_chart", &s);
    let buf = draw(&s, 80, 24).backend().buffer().clone();
    let bars: Vec<u16> = ["Housing", "Restaurants", "Coffee"].iter().map(|n| find(&buf, n).unwrap().0).collect();
    assert!(bars.iter().all(|x| *x == bars[0]), "{bars:?}");
    let ends: Vec<u16> = ["$10,072.37", "$5,598.24", "$934.54"]
        .iter()
        .map(|a| find(&buf, a).unwrap().0 + a.chars().count() as u16)
        .collect();
    assert!(ends.iter().all(|x| *x == ends[0]), "{ends:?}\n{}", screen_text(&buf));
    let wide = screen_text(draw(&s, 120, 36).backend().buffer());
    assert!(wide.contains("Restaurants ████▍     $5,598.24"), "{wide}");
}

/// finbox's own thread is no bank: its footer does not offer writing to
/// it or changing what it is shared (a bank's does).
#[test]
fn the_footer_of_finbox_s_thread_offers_no_bank_keys() {
    let mut s = main_state();
    let last = |s: &AppState| {
        let text = screen_text(draw(s, 120, 36).backend().buffer());
        text.lines().last().unwrap().to_string()
    };
    let chase = last(&s);
    assert!(chase.contains("write to the bank") && chase.contains("sharing"), "{chase}");
    let mut own = bank("finbox", "finbox", "#888888", true, 0, 0);
    own.bank.feed_kind = FINBOX_THREAD.to_string();
    s.banks.insert(0, own);
    s.selected_bank = 0;
    let footer = last(&s);
    assert!(!footer.contains("write to the bank") && !footer.contains("sharing"), "{footer}");
    assert!(footer.contains("help") && footer.contains("quit"), "{footer}");
}

#[test]
fn too_small() {
    let t = draw(&main_state(), 40, 10);
    insta::assert_snapshot!("too_small_40x10", t.backend());
}

#[test]
fn smallest_screen() {
    let mut s = main_state();
    let t = draw(&s, 60, 16);
    insta::assert_snapshot!("main_60x16", t.backend());
    s.overlay = Some(Overlay::Help);
    let t = draw(&s, 60, 16);
    insta::assert_snapshot!("help_60x16", t.backend());
    s.overlay = Some(Overlay::Onboarding { cursor: 3, picked: vec![false, true, false, true] });
    let t = draw(&s, 60, 16);
    insta::assert_snapshot!("onboarding_60x16", t.backend());
}

#[test]
fn narrow_screens_show_the_accounts_in_place_of_the_conversation() {
    let mut s = main_state();
    s.focus = Pane::Sidebar;
    s.sidebar.selected_txn = 2;
    let t = draw(&s, 64, 20);
    insta::assert_snapshot!("sidebar_narrow_64x20", t.backend());
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "Shell").unwrap();
    assert_eq!(hit_test(Rect::new(0, 0, 64, 20), &s, x, y), Some((Pane::Sidebar, Some(2))));
    assert!(find(buf, "i to write").is_none());
}

// ----------------------------------------------------------- never panics

#[test]
fn tiny_terminals_do_not_panic() {
    draw(&main_state(), 1, 1);
    draw(&main_state(), 0, 0);
    draw(&main_state(), 0, 5);
    draw(&main_state(), 5, 0);
}

#[test]
fn every_size_and_overlay_renders() {
    let mut states = vec![main_state(), AppState::new(now(), true)];
    for overlay in [
        Overlay::Help,
        Overlay::Consent { bank: id("chase"), cursor: 0, scopes: Scopes::default() },
        Overlay::ConfirmPurge { bank: id("nosuchbank") },
        Overlay::ConfirmNotMe { alert: AlertId(99) },
        Overlay::Onboarding { cursor: 7, picked: vec![] },
    ] {
        let mut s = main_state();
        s.overlay = Some(overlay);
        states.push(s);
    }
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.input = Input::Compose("x".repeat(300).into());
    s.conversation.scroll = usize::MAX;
    s.sidebar.selected_txn = usize::MAX;
    s.sidebar.selected_account = 7;
    s.alerts.selected = 99;
    s.selected_bank = 9;
    states.push(s);
    for s in &states {
        for w in (0..=130).step_by(7).chain([59, 60, 61, 79, 80, 119, 120]) {
            for h in (0..=40).step_by(5).chain([15, 16, 17, 23, 24]) {
                draw(s, w, h);
                for (col, row) in [(0, 0), (w / 2, h / 2), (w.saturating_sub(1), h.saturating_sub(1))] {
                    hit_test(Rect::new(0, 0, w, h), s, col, row);
                }
            }
        }
    }
}

// ------------------------------------------------------------------ colour

#[test]
fn high_severity_alerts_are_red() {
    let t = draw(&main_state(), 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "HIGH").expect("a HIGH alert row");
    for dx in 0..4 {
        assert_eq!(buf[(x + dx, y)].fg, Color::Red, "cell {dx} of HIGH");
    }
    let (x, y) = find(buf, "MEDIUM").expect("a MEDIUM alert row");
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    // The header's alert count is red too.
    let (x, y) = find(buf, "⚠ 3 open alerts").expect("alert count in the header");
    assert_eq!((y, buf[(x, y)].fg), (0, Color::Red));
}

#[test]
fn bank_dots_use_the_bank_colour() {
    let t = draw(&main_state(), 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "1 ●").unwrap();
    assert_eq!(buf[(x + 2, y)].fg, Color::Rgb(0x11, 0x7a, 0xca));
}

#[test]
fn no_color_theme_uses_no_colour() {
    let mut states = vec![main_state()];
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.overlay = Some(Overlay::ConfirmPurge { bank: id("chase") });
    s.flash = Some(Flash { text: "failed".into(), error: true, sticky: false, at: now() });
    states.push(s);
    let mut s = main_state();
    s.overlay = Some(Overlay::Onboarding { cursor: 0, picked: vec![true; 4] });
    s.input = Input::Compose("hi".into());
    states.push(s);
    for s in &states {
        for (w, h) in [(80, 24), (120, 36)] {
            let t = draw_with(s, &Theme::no_color(), w, h);
            let buf = t.backend().buffer();
            for y in 0..h {
                for x in 0..w {
                    let c = &buf[(x, y)];
                    assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "cell {x},{y} {:?}", c.symbol());
                }
            }
        }
    }
}

// ---------------------------------------------------------------- hostile

#[test]
fn control_characters_never_reach_a_cell() {
    let hostile = "pay\u{1b}[31mnow\u{7} \u{1b}]0;title\u{7}\r\n\u{9b}2J\u{8}done";
    let mut s = main_state();
    s.banks[0].bank.name = format!("Ch\u{1b}[2Jase{}", '\u{7}');
    s.sidebar.accounts[0].name = hostile.to_string();
    s.sidebar.accounts[0].mask = "•48\u{1b}21".to_string();
    s.sidebar.transactions[0].merchant = hostile.to_string();
    s.sidebar.search = Some(hostile.to_string());
    s.conversation.messages[1].text = hostile.to_string();
    s.conversation.pending = Some(hostile.to_string());
    s.alerts.items[0].merchant = hostile.to_string();
    s.alerts.items[0].reason = hostile.to_string();
    s.alerts.items[0].card_mask = Some("\u{1b}[5m•9913".to_string());
    s.flash = Some(Flash { text: hostile.to_string(), error: true, sticky: false, at: now() });
    s.input = Input::Compose(hostile.to_string().into());
    let mut variants = vec![s.clone()];
    for overlay in [
        Overlay::Consent { bank: id("chase"), cursor: 0, scopes: Scopes::default() },
        Overlay::ConfirmPurge { bank: id("chase") },
        Overlay::ConfirmNotMe { alert: AlertId(1) },
        Overlay::Onboarding { cursor: 0, picked: vec![true; 4] },
    ] {
        let mut v = s.clone();
        v.overlay = Some(overlay);
        variants.push(v);
    }
    let mut v = s.clone();
    v.input = Input::Search(hostile.to_string().into());
    v.flash = None;
    variants.push(v);
    for v in &variants {
        for (w, h) in [(80, 24), (120, 36)] {
            let t = draw(v, w, h);
            let buf = t.backend().buffer();
            for cell in buf.content() {
                assert!(
                    !cell.symbol().chars().any(|c| c.is_control()),
                    "control character in a cell: {:?}",
                    cell.symbol()
                );
            }
            let text = screen_text(buf);
            assert!(text.contains("paynow"), "{text}");
        }
    }
}

// --------------------------------------------------------------- hit test

#[test]
fn clicks_map_to_panes_and_rows() {
    let s = main_state();
    let area = Rect::new(0, 0, 80, 24);
    let t = draw(&s, 80, 24);
    let buf = t.backend().buffer();

    let (x, y) = find(buf, "2 ● Well").unwrap();
    assert_eq!(hit_test(area, &s, x, y), Some((Pane::Banks, Some(1))));
    // The bank list's border is the pane, but no row.
    assert_eq!(hit_test(area, &s, 0, 1), Some((Pane::Banks, None)));

    let (x, y) = find(buf, "Netflix").unwrap();
    assert_eq!(hit_test(area, &s, x, y), Some((Pane::Sidebar, Some(4))));
    let (x, y) = find(buf, "Total Ch").unwrap();
    assert_eq!(hit_test(area, &s, x, y), Some((Pane::Sidebar, None)));

    let (x, y) = find(buf, "QuickPay").unwrap();
    assert_eq!(hit_test(area, &s, x, y), Some((Pane::Alerts, Some(1))));

    let (x, y) = find(buf, "What is my").unwrap();
    assert_eq!(hit_test(area, &s, x, y), Some((Pane::Conversation, None)));

    assert_eq!(hit_test(area, &s, 3, 0), None, "header");
    assert_eq!(hit_test(area, &s, 3, 23), None, "footer");
    assert_eq!(hit_test(Rect::new(0, 0, 40, 10), &s, 3, 3), None, "too small");
    let mut o = s.clone();
    o.overlay = Some(Overlay::Help);
    assert_eq!(hit_test(area, &o, x, y), None, "dialog open");
}

#[test]
fn clicks_follow_the_scrolled_transaction_list() {
    let mut s = main_state();
    s.focus = Pane::Sidebar;
    s.sidebar.selected_txn = 9;
    let area = Rect::new(0, 0, 80, 24);
    let t = draw(&s, 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "Uber Trip").expect("the selected row is in view");
    assert_eq!(hit_test(area, &s, x, y), Some((Pane::Sidebar, Some(9))));
    assert!(find(buf, "Blue Bottle").is_none(), "the first rows scrolled away");
}

#[test]
fn days_and_times_follow_the_utc_offset() {
    let s = main_state();
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
    // UTC-5: the 03:12 UTC fraud message happened on Thursday evening.
    terminal.draw(|f| render(f, &s, &Theme::default(), &RenderOpts { utc_offset_secs: -5 * 3600 })).unwrap();
    let text = screen_text(terminal.backend().buffer());
    assert!(text.contains("22:12"), "{text}");
    assert!(text.contains("10:00"), "the clock: {text}");
    let fraud = text.find("22:12").unwrap();
    let friday = text.find("Fri, Nov 20").expect("08:30 UTC is 03:30 on Friday");
    assert!(fraud < friday, "{text}");
}

#[test]
fn the_header_says_when_the_clock_is_behind_the_store() {
    let mut s = main_state();
    let text = screen_text(draw(&s, 120, 36).backend().buffer());
    assert!(!text.contains("clock"), "{text}");
    s.newest = Some(s.now + chrono::Duration::days(30));
    let text = screen_text(draw(&s, 120, 36).backend().buffer());
    assert!(text.contains("⚠ clock behind"), "{text}");
    let text = screen_text(draw(&s, 200, 60).backend().buffer());
    assert!(text.contains("⚠ clock behind the store ("), "{text}");
}

#[test]
fn the_header_warns_in_the_warning_colour_when_the_log_was_changed() {
    let mut s = main_state();
    let text = screen_text(draw(&s, 200, 60).backend().buffer());
    assert!(!text.contains("log changed"), "{text}");
    s.chain_broken = Some("entry 17".into());
    let terminal = draw(&s, 200, 60);
    let buf = terminal.backend().buffer();
    let (x, y) = find(buf, "⚠ consent log changed (finbox consent verify)").expect("the long form");
    assert_eq!(y, 0, "in the header");
    assert_eq!(buf[(x, y)].fg, Theme::default().warning.fg.unwrap());
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("log changed"), "{text}");
}

#[test]
fn the_embedded_theme_is_valid_and_user_theme_keys_overlay_it() {
    use finbox::config::{Dirs, Overrides, Settings};
    let tmp = tempfile::tempdir().unwrap();
    let d = Dirs { data: tmp.path().join("data"), config: tmp.path().join("config") };
    let s = Settings::resolve(&d, &Overrides::default()).unwrap();
    assert!(Theme::from_toml_table(&s.theme).is_ok());
    std::fs::create_dir_all(&d.config).unwrap();
    std::fs::write(d.config.join("config.toml"), "[theme]\nalert = \"magenta\"\nnope = \"red\"\n").unwrap();
    let s = Settings::resolve(&d, &Overrides::default()).unwrap();
    assert_eq!(s.theme.get("alert").and_then(|v| v.as_str()), Some("magenta"));
    let err = Theme::from_toml_table(&s.theme).unwrap_err();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn every_hint_on_the_screen_names_the_users_keys() {
    let keys: toml::Table = toml::from_str("[global]\nconsent = \"s\"\n[onboarding]\ngrant_all = \"A\"\n").unwrap();
    let mut s = main_state();
    s.keymap = finbox::app::keymap::Keymap::with_settings(&keys).unwrap();
    s.selected_bank = 2; // Citi, not shared
    let text = screen_text(draw(&s, 80, 24).backend().buffer());
    assert!(text.contains("s to share Citi") && !text.contains("c to share"), "{text}");
    s.overlay = Some(Overlay::Onboarding { cursor: 0, picked: vec![false; 4] });
    let text = screen_text(draw(&s, 120, 36).backend().buffer());
    assert!(text.contains("(or A,") && text.contains("at any time with s."), "{text}");
    assert!(text.contains("A share all") && !text.contains("a share all"), "{text}");
}

/// Money that means what it says, on screen: each account's card (🔒 when
/// frozen), a pending authorisation dimmed with ⧗ and no running balance,
/// what is available beside "Recent", and a transfer named by its other
/// side.
#[test]
fn cards_pending_and_transfers_in_the_sidebar() {
    let mut s = main_state();
    s.sidebar.accounts[0].card = Some(CardMark { mask: "•4400".into(), frozen: false });
    s.sidebar.accounts[0].pending = usd(-4_200);
    s.sidebar.accounts[1].card = Some(CardMark { mask: "•9913".into(), frozen: true });
    s.sidebar.transactions[0].status = TxnStatus::Pending;
    s.sidebar.transactions[0].merchant = "Joe's Pizza".into();
    s.sidebar.transactions[0].amount = usd(-4_200);
    s.sidebar.running[0] = None;
    s.sidebar.transactions[5].transfer = Some(TransferLeg {
        id: Some(7),
        other: Some("Chase Savings •1200".into()),
        other_txn: Some(TxnId(40)),
        other_account: Some(AccountId(3)),
    });
    snap("money_in_the_sidebar", &s);
    let text = screen_text(draw(&s, 120, 36).backend().buffer());
    // (A wide symbol's second cell reads as a space here.)
    assert!(text.contains("•4821 💳 •4400") && text.contains("•9913 🔒"), "{text}");
    assert!(text.contains("⧗ Joe's Pi") && text.contains("available $12,303.67"), "{text}");
    assert!(text.contains("⇄ to Chase"), "{text}");
    // A wider screen says more of it.
    let wide = screen_text(draw(&s, 200, 50).backend().buffer());
    assert!(wide.contains("⧗ Joe's Pizza (pending)") && wide.contains("⇄ to Chase Savings •1200"), "{wide}");
    // The pending row is dimmed.
    let (x, y) = find(draw(&s, 120, 36).backend().buffer(), "⧗ Joe").unwrap();
    assert_eq!(draw(&s, 120, 36).backend().buffer()[(x, y)].style().fg, Theme::default().muted.fg);
}

#[test]
fn an_empty_focused_queue_stays_small() {
    let mut s = main_state();
    s.focus = Pane::Alerts;
    s.alerts.items.clear();
    let text = screen_text(draw(&s, 120, 36).backend().buffer());
    let queue: Vec<&str> = text.lines().skip_while(|l| !l.contains("Fraud alerts")).collect();
    assert_eq!(queue.len(), 1 + 1 + 1 + 1, "title, note, bottom, footer: {text}");
    assert!(queue[1].contains("No open fraud alerts"), "{text}");
}

#[test]
fn the_privacy_mask_hides_figures_and_merchants_everywhere() {
    let mut s = main_state();
    s.masked = true;
    s.focus = Pane::Alerts;
    snap_sizes("masked", &s, &[(80, 24), (200, 60)]);
    for (w, h) in [(80, 24), (120, 36), (200, 60)] {
        let text = screen_text(draw(&s, w, h).backend().buffer());
        let figure = text.char_indices().any(|(i, c)| {
            matches!(c, '$' | '•') && text[i + c.len_utf8()..].chars().next().is_some_and(|d| d.is_ascii_digit())
        });
        assert!(!figure, "a figure is left at {w}x{h}:\n{text}");
        for merchant in ["Shell Oil", "Electro-Mart", "Netflix", "QuickPay"] {
            assert!(!text.contains(merchant), "{merchant} at {w}x{h}:\n{text}");
        }
        assert!(text.contains("masked"), "{text}");
    }
    s.masked = false;
    assert!(screen_text(draw(&s, 120, 36).backend().buffer()).contains("$12,345.67"));
}
