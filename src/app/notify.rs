//! Notifications: a new HIGH alert rings the terminal's bell, shows in the
//! header whichever pane has focus, and runs the settings' command, like a
//! mail client's new-mail hook. Pure: the screen carries out the effects.
//!
//! "New" means not seen in the queue before in this run: the alerts open
//! when the screen starts are not new, and an alert that leaves the queue
//! and comes back (its bank revoked and shared again) rings no second time.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::state::{AppState, Pane};
use super::update::{Action, Effect};
use crate::domain::text::{MAX_NAME_CHARS, clean_line};
use crate::domain::{AlertId, FraudAlert, Money, Severity, TxnId};

/// How long the header shows a new alert, unless the queue gets focus first.
pub const NOTICE_SECS: i64 = 60;

/// What the settings say about notifications, and what this run has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Ring the terminal's bell (`[notify] bell`, on by default).
    pub bell: bool,
    /// A command is configured (`[notify] command`): ask the screen to run it.
    pub command: bool,
    /// The latest new HIGH alert, for the header.
    pub new_alert: Option<NewAlert>,
    /// Every alert seen in the queue in this run. An id alone is not enough:
    /// after a purge SQLite may give a deleted alert's id to a new one.
    seen: BTreeSet<(AlertId, TxnId, DateTime<Utc>)>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new(true, false)
    }
}

impl Notify {
    pub fn new(bell: bool, command: bool) -> Notify {
        Notify { bell, command, new_alert: None, seen: BTreeSet::new() }
    }
}

/// A new HIGH alert, as the header and the notification tell it (text
/// cleaned: it comes from the bank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub id: AlertId,
    /// What was charged, as a positive amount.
    pub amount: Money,
    pub merchant: String,
    /// The bank and the card (or account): "Chase •4821".
    pub place: String,
    /// Why the alert was raised.
    pub reason: String,
    /// Other new HIGH alerts that arrived with it.
    pub more: usize,
    /// When it arrived (the screen's clock).
    pub at: DateTime<Utc>,
}

impl NewAlert {
    /// "$1,240.00 at Electro-Mart on Chase •4821".
    pub fn summary(&self) -> String {
        format!("{} at {} on {}", self.amount, self.merchant, self.place)
    }

    /// "(+2 more)" when others arrived with it, else "".
    pub fn more_text(&self) -> String {
        if self.more == 0 { String::new() } else { format!(" (+{} more)", self.more) }
    }
}

impl AppState {
    /// The new-alert notice the header shows: none once the queue has
    /// focus or [`NOTICE_SECS`] have passed.
    pub fn new_alert_notice(&self) -> Option<&NewAlert> {
        let n = self.notify.new_alert.as_ref()?;
        (self.focus != Pane::Alerts && self.now < n.at + Duration::seconds(NOTICE_SECS)).then_some(n)
    }
}

/// Before each action: the notice goes once the queue has focus or its time
/// is up (a tick brings the time).
pub fn observe(s: &mut AppState, action: &Action) {
    let now = if let Action::Tick(t) = action { *t } else { s.now };
    if let Some(n) = &s.notify.new_alert {
        if s.focus == Pane::Alerts || now >= n.at + Duration::seconds(NOTICE_SECS) {
            s.notify.new_alert = None;
        }
    }
}

/// After a snapshot replaced the queue (`first`: the first one of the run):
/// remembers its alerts and, for new HIGH ones, sets the notice and asks for
/// the bell and the command.
pub fn on_snapshot(s: &mut AppState, first: bool) -> Vec<Effect> {
    let mut new: Vec<&FraudAlert> = Vec::new();
    for a in &s.alerts.items {
        let fresh = s.notify.seen.insert((a.id, a.txn, a.created_at));
        if fresh && !first && a.severity == Severity::High {
            new.push(a);
        }
    }
    // The queue is newest first within a severity: the first is the latest.
    let Some(latest) = new.first() else { return vec![] };
    let notice = describe(s, latest, new.len() - 1);
    let mut effects = Vec::new();
    if s.notify.bell {
        effects.push(Effect::Bell);
    }
    if s.notify.command {
        effects.push(Effect::Notify {
            title: format!("New HIGH fraud alert: {}{}", notice.summary(), notice.more_text()),
            body: notice.reason.clone(),
        });
    }
    s.notify.new_alert = Some(notice);
    effects
}

fn describe(s: &AppState, a: &FraudAlert, more: usize) -> NewAlert {
    let bank = s.banks.iter().find(|b| b.bank.id == a.bank).map_or(a.bank.as_str(), |b| b.bank.name.as_str());
    // The card's last four, else the account's ("Total Checking •4821").
    let mask = a.card_mask.as_deref().or_else(|| a.account_label.rsplit(' ').next().filter(|m| m.starts_with('•')));
    let place = match mask {
        Some(m) => format!("{bank} {m}"),
        None => bank.to_string(),
    };
    NewAlert {
        id: a.id,
        amount: a.amount.abs(),
        merchant: clean_line(&a.merchant, MAX_NAME_CHARS),
        place: clean_line(&place, MAX_NAME_CHARS),
        reason: clean_line(&a.reason, MAX_NAME_CHARS * 2),
        more,
        at: s.now,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::app::{AlertQueue, Snapshot, update};
    use crate::domain::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
    }

    fn chase() -> BankSummary {
        BankSummary {
            bank: Bank {
                id: BankId::new("chase").unwrap(),
                name: "Chase".into(),
                color: "#117aca".into(),
                feed_kind: "simulated".into(),
                consent: ConsentState::Granted,
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

    fn alert(n: i64, severity: Severity, minutes_ago: i64) -> FraudAlert {
        let at = now() - Duration::minutes(minutes_ago);
        FraudAlert {
            id: AlertId(n),
            bank: BankId::new("chase").unwrap(),
            account: AccountId(1),
            account_external_id: "chk".into(),
            txn: TxnId(100 + n),
            reason: "Large charge ($1,240.00) at 3:12 am".into(),
            severity,
            status: AlertStatus::Open,
            created_at: at,
            decided_at: None,
            merchant: format!("Merchant {n}"),
            amount: Money::new(-124_000, Currency::USD),
            posted_at: at,
            card_mask: Some("•4821".into()),
            account_label: "Total Checking •1234".into(),
        }
    }

    /// The queue as the store sorts it: most severe, then newest, first.
    fn snapshot(mut alerts: Vec<FraudAlert>) -> Action {
        alerts.sort_by_key(|a| (std::cmp::Reverse(a.severity), std::cmp::Reverse(a.created_at)));
        Action::Loaded(Box::new(Snapshot { banks: vec![chase()], alerts, ..Default::default() }))
    }

    /// After the first snapshot, with alerts 1 (HIGH) and 2 (LOW) open.
    fn started(bell: bool, command: bool) -> AppState {
        let mut s = AppState::new(now(), true);
        s.notify = Notify::new(bell, command);
        let effects = update(&mut s, snapshot(vec![alert(1, Severity::High, 60), alert(2, Severity::Low, 50)]));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Bell | Effect::Notify { .. })), "{effects:?}");
        assert_eq!(s.notify.new_alert, None, "alerts open at start are not new");
        s
    }

    fn rang(effects: &[Effect]) -> bool {
        effects.contains(&Effect::Bell)
    }

    #[test]
    fn a_new_high_alert_rings_shows_and_runs_the_command() {
        let mut s = started(true, true);
        let effects = update(&mut s, snapshot(vec![alert(1, Severity::High, 60), alert(3, Severity::High, 1)]));
        assert!(rang(&effects), "{effects:?}");
        let title = "New HIGH fraud alert: $1,240.00 at Merchant 3 on Chase •4821".to_string();
        let body = "Large charge ($1,240.00) at 3:12 am".to_string();
        assert!(effects.contains(&Effect::Notify { title, body }), "{effects:?}");
        let n = s.new_alert_notice().expect("the header shows it");
        assert_eq!((n.id, n.more, n.at), (AlertId(3), 0, now()));
        assert_eq!(n.summary(), "$1,240.00 at Merchant 3 on Chase •4821");
    }

    #[test]
    fn medium_and_low_alerts_and_ones_seen_before_ring_nothing() {
        let mut s = started(true, true);
        let effects = update(&mut s, snapshot(vec![alert(1, Severity::High, 60), alert(4, Severity::Medium, 1)]));
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(s.notify.new_alert, None);
        // Alert 1 leaves the queue (its bank revoked) and comes back: seen.
        update(&mut s, snapshot(vec![]));
        let effects = update(&mut s, snapshot(vec![alert(1, Severity::High, 60)]));
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(s.notify.new_alert, None);
        // The same id given to another alert after a purge is new.
        let mut reused = alert(1, Severity::High, 0);
        reused.txn = TxnId(999);
        assert!(rang(&update(&mut s, snapshot(vec![reused]))));
    }

    #[test]
    fn with_the_bell_off_no_bell_and_without_a_command_nothing_runs() {
        let mut s = started(false, false);
        let effects = update(&mut s, snapshot(vec![alert(1, Severity::High, 60), alert(3, Severity::High, 1)]));
        assert!(effects.is_empty(), "{effects:?}");
        assert!(s.new_alert_notice().is_some(), "the header still says so");
        let mut s = started(false, true);
        let effects = update(&mut s, snapshot(vec![alert(3, Severity::High, 1)]));
        assert!(matches!(effects.as_slice(), [Effect::Notify { .. }]), "{effects:?}");
    }

    #[test]
    fn several_at_once_ring_once_and_name_the_latest() {
        let mut s = started(true, false);
        let effects = update(
            &mut s,
            snapshot(vec![alert(5, Severity::High, 3), alert(6, Severity::High, 2), alert(7, Severity::High, 9)]),
        );
        assert_eq!(effects, vec![Effect::Bell]);
        let n = s.new_alert_notice().unwrap();
        assert_eq!((n.id, n.more, n.more_text()), (AlertId(6), 2, " (+2 more)".to_string()));
    }

    #[test]
    fn the_notice_shows_whatever_has_focus_and_goes_on_focus_or_after_a_minute() {
        let mut s = started(true, false);
        s.focus = Pane::Banks;
        update(&mut s, snapshot(vec![alert(3, Severity::High, 1)]));
        assert!(s.new_alert_notice().is_some());
        update(&mut s, Action::Tick(now() + Duration::seconds(NOTICE_SECS - 1)));
        assert!(s.new_alert_notice().is_some(), "still within its minute");
        update(&mut s, Action::Tick(now() + Duration::seconds(NOTICE_SECS)));
        assert!(s.new_alert_notice().is_none() && s.notify.new_alert.is_none());

        update(&mut s, snapshot(vec![alert(8, Severity::High, 0)]));
        assert!(s.new_alert_notice().is_some());
        update(&mut s, Action::FocusAlerts);
        assert!(s.new_alert_notice().is_none(), "hidden as soon as the queue has focus");
        let t = s.now;
        update(&mut s, Action::Tick(t));
        update(&mut s, Action::FocusNext);
        assert!(s.new_alert_notice().is_none(), "and gone: it does not come back");
    }

    #[test]
    fn the_selection_stays_on_its_alert_when_a_new_one_arrives_above() {
        let mut s = started(true, false);
        update(&mut s, snapshot(vec![alert(1, Severity::High, 60), alert(2, Severity::Low, 50)]));
        update(&mut s, Action::FocusAlerts);
        update(&mut s, Action::Down);
        assert_eq!(s.alerts.items[s.alerts.selected].id, AlertId(2));
        update(&mut s, Action::FocusNext);
        let effects = update(
            &mut s,
            snapshot(vec![alert(1, Severity::High, 60), alert(2, Severity::Low, 50), alert(3, Severity::High, 1)]),
        );
        assert!(rang(&effects));
        let AlertQueue { items, selected, .. } = &s.alerts;
        assert_eq!(items[0].id, AlertId(3), "the new one is first");
        assert_eq!(items[*selected].id, AlertId(2), "the selection stayed on its alert");
    }
}
