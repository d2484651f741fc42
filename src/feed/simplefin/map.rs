//! A SimpleFIN account set as finbox events for one connection's bank:
//! accounts (described once, with the opening balance that makes the
//! bridge's balance come out), the balances as the bank reports them, and
//! transactions (exact amounts, ids scoped per account, pending ones as
//! pending), plus the bridge's errors as notices in the bank's thread.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::protocol::{Account, AccountSet, Transaction};
use crate::domain::event::{AccountInfo, FeedEvent, TxnInfo};
use crate::domain::{AccountKind, Currency, Money};
use crate::import::infer;

/// What the mapping needs to know besides the answer.
#[derive(Debug, Clone)]
pub struct MapInput<'a> {
    /// The connection this bank is.
    pub conn_id: &'a str,
    /// Accounts described before (by the bridge's id): not described again.
    pub known: &'a BTreeSet<String>,
    /// The window's first moment: an account's opening balance holds then.
    pub window_start: DateTime<Utc>,
    /// The first sync (history): no notice per transaction.
    pub backfill: bool,
    /// The customer's country, for the fraud rules.
    pub country: &'a str,
    /// When the answer arrived: the time of the notices it gives rise to.
    pub now: DateTime<Utc>,
}

/// The events of one answer, and the accounts it held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    pub events: Vec<FeedEvent>,
    pub accounts: BTreeSet<String>,
    pub transactions: usize,
}

pub fn map(set: &AccountSet, input: &MapInput<'_>) -> Mapped {
    let mut out = Mapped::default();
    let ours = |a: &Account| a.conn_id.as_deref().is_none_or(|c| c == input.conn_id);
    for e in &set.errlist {
        let mine = match (&e.conn_id, &e.account_id) {
            (Some(c), _) => c == input.conn_id,
            (None, Some(a)) => set.accounts.iter().any(|x| &x.id == a && ours(x)),
            (None, None) => true,
        };
        if mine {
            out.events.push(notice(input.now, format!("The bridge says: {} ({})", e.msg, e.code)));
        }
    }
    for a in set.accounts.iter().filter(|a| ours(a)) {
        match account_events(a, input) {
            Ok((events, txns)) => {
                out.events.extend(events);
                out.transactions += txns;
                out.accounts.insert(a.id.clone());
            }
            Err(why) => out.events.push(notice(input.now, format!("{}: {why}; nothing of it was kept.", a.name))),
        }
    }
    out
}

fn notice(at: DateTime<Utc>, text: String) -> FeedEvent {
    FeedEvent::SystemNotice { at, text }
}

/// One account's events: its description (first time), its transactions,
/// its balance; or why it cannot be kept.
fn account_events(a: &Account, input: &MapInput<'_>) -> Result<(Vec<FeedEvent>, usize), String> {
    let currency = Currency::new(&a.currency).map_err(|_| {
        let shown = crate::domain::text::clean_line(&a.currency, 40);
        format!("it counts in {shown}, not a currency finbox keeps (money only)")
    })?;
    let amount = |text: &str| {
        Money::parse(text, currency)
            .map_err(|e| format!("{} is not an amount ({e})", crate::domain::text::clean_line(text, 40)))
    };
    let balance = amount(&a.balance)?;
    let at = from_unix(a.balance_date).ok_or("its balance date is out of range")?;
    let mut txns = Vec::with_capacity(a.transactions.len());
    let mut posted_sum: i128 = 0;
    for t in &a.transactions {
        let info = txn_info(a, t, amount(&t.amount)?, input, at)?;
        if !info.pending {
            posted_sum += i128::from(info.amount.minor);
        }
        txns.push(info);
    }
    let mut events = Vec::with_capacity(txns.len() + 2);
    if !input.known.contains(&a.id) {
        let opening = i64::try_from(i128::from(balance.minor) - posted_sum).map_err(|_| "its amounts overflow")?;
        let mask = mask(a);
        events.push(FeedEvent::Account(AccountInfo {
            external_id: a.id.clone(),
            name: name_without(&a.name, &mask),
            kind: kind(&a.name),
            mask,
            opening: Money::new(opening, currency),
            card_mask: None,
            history_from: Some(input.window_start),
        }));
    }
    let count = txns.len();
    events.extend(txns.into_iter().map(FeedEvent::Transaction));
    events.push(FeedEvent::Balance { account: a.id.clone(), at, balance });
    Ok((events, count))
}

fn txn_info(
    a: &Account,
    t: &Transaction,
    amount: Money,
    input: &MapInput<'_>,
    fallback: DateTime<Utc>,
) -> Result<TxnInfo, String> {
    let pending = t.is_pending();
    // A pending one has no posting time yet: when it happened, else when
    // the bridge looked.
    let when = if pending || t.posted == 0 { t.transacted_at.unwrap_or(t.posted) } else { t.posted };
    let posted_at = if when == 0 { fallback } else { from_unix(when).ok_or("a transaction's date is out of range")? };
    let channel = infer::channel(None, &t.description, amount);
    Ok(TxnInfo {
        account: a.id.clone(),
        // Ids are unique within an account only.
        external_id: format!("{}/{}", a.id, t.id),
        posted_at,
        amount,
        merchant: if t.description.trim().is_empty() { "(no description)".into() } else { t.description.clone() },
        category: infer::category(channel).to_string(),
        channel,
        country: input.country.to_string(),
        notify: !input.backfill,
        pending,
        transfer: false,
    })
}

fn from_unix(t: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t, 0)
}

/// What kind of account a name says it is (the protocol does not).
fn kind(name: &str) -> AccountKind {
    let n = name.to_lowercase();
    let card = ["credit", "card", "visa", "mastercard", "amex", "discover"];
    if card.iter().any(|w| n.contains(w)) {
        AccountKind::Credit
    } else if n.contains("saving") {
        AccountKind::Savings
    } else {
        AccountKind::Checking
    }
}

/// "Everyday Checking (4821)" is "Everyday Checking" beside its `•4821`.
fn name_without(name: &str, mask: &str) -> String {
    let trimmed = name.trim_end();
    for tail in [format!("({mask})"), format!("...{mask}"), format!("-{mask}"), format!("x{mask}"), mask.to_string()] {
        if !mask.is_empty()
            && let Some(rest) = trimmed.strip_suffix(&tail)
            && !rest.trim().is_empty()
        {
            return rest.trim_end().trim_end_matches(['-', '·']).trim_end().to_string();
        }
    }
    trimmed.to_string()
}

/// The last four digits the bridge shows (in the name, else the id), or
/// none.
fn mask(a: &Account) -> String {
    let digits = |s: &str| -> String {
        let d: Vec<char> =
            s.chars().rev().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
        d.into_iter().rev().collect()
    };
    let from_name = digits(&a.name);
    let d = if from_name.len() >= 4 { from_name } else { digits(&a.id) };
    d[d.len().saturating_sub(4)..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::simplefin::protocol::parse;

    fn set() -> AccountSet {
        parse(
            br#"{"errlist":[{"code":"act.failed","msg":"Try again later","account_id":"A1"},
                            {"code":"con.auth","msg":"Other bank","conn_id":"CON-9"}],
                 "connections":[{"conn_id":"CON-1","name":"My Bank","org_id":"O"}],
                 "accounts":[
                   {"id":"A1","name":"Everyday Checking (4821)","conn_id":"CON-1","currency":"USD",
                    "balance":"1000.10","available-balance":"990.00","balance-date":1764000000,
                    "transactions":[
                      {"id":"t1","posted":1763900000,"amount":"-12.34","description":"COFFEE SHOP"},
                      {"id":"t2","posted":0,"transacted_at":1763990000,"amount":"-10.00","description":"GAS","pending":true},
                      {"id":"t3","posted":1763800000,"amount":"2500","description":"PAYROLL"}]},
                   {"id":"B1","name":"Miles","conn_id":"CON-1","currency":"https://example.com/miles",
                    "balance":"100","balance-date":1764000000},
                   {"id":"C1","name":"Other","conn_id":"CON-9","currency":"USD","balance":"1","balance-date":1764000000}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn an_answer_becomes_exact_events_for_its_connection_only() {
        let known = BTreeSet::new();
        let start = DateTime::from_timestamp(1763000000, 0).unwrap();
        let input = MapInput {
            conn_id: "CON-1",
            known: &known,
            window_start: start,
            backfill: true,
            country: "US",
            now: start,
        };
        let m = map(&set(), &input);
        assert_eq!(m.accounts, BTreeSet::from(["A1".to_string()]));
        assert_eq!(m.transactions, 3);
        let FeedEvent::Account(info) = m.events.iter().find(|e| matches!(e, FeedEvent::Account(_))).unwrap() else {
            unreachable!()
        };
        // Opening + posted transactions = the bridge's balance; the pending one is not counted.
        assert_eq!(info.opening, Money::new(100_010 + 1_234 - 250_000, Currency::USD));
        assert_eq!(
            (info.name.as_str(), info.mask.as_str(), info.kind),
            ("Everyday Checking", "4821", AccountKind::Checking)
        );
        let txns: Vec<&TxnInfo> =
            m.events.iter().filter_map(|e| if let FeedEvent::Transaction(t) = e { Some(t) } else { None }).collect();
        assert_eq!(txns[0].external_id, "A1/t1");
        assert_eq!(txns[0].amount, Money::new(-1_234, Currency::USD));
        assert!(txns[1].pending && txns[1].posted_at.timestamp() == 1763990000);
        assert!(txns.iter().all(|t| !t.notify), "history is not announced");
        let notices: Vec<String> = m
            .events
            .iter()
            .filter_map(|e| if let FeedEvent::SystemNotice { text, .. } = e { Some(text.clone()) } else { None })
            .collect();
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].contains("Try again later") && notices[1].contains("not a currency finbox keeps"));
        // Described once: a later sync sends no Account event, and announces.
        let input = MapInput { known: &m.accounts, backfill: false, ..input };
        let m2 = map(&set(), &input);
        assert!(!m2.events.iter().any(|e| matches!(e, FeedEvent::Account(_))));
        assert!(m2.events.iter().any(|e| matches!(e, FeedEvent::Transaction(t) if t.notify)));
    }

    #[test]
    fn a_bad_amount_refuses_the_account_with_the_reason() {
        let mut s = set();
        s.accounts[0].transactions[0].amount = "12.345".into();
        let known = BTreeSet::new();
        let input = MapInput {
            conn_id: "CON-1",
            known: &known,
            window_start: Utc::now(),
            backfill: true,
            country: "US",
            now: Utc::now(),
        };
        let m = map(&s, &input);
        assert!(!m.accounts.contains("A1"));
        assert!(m.events.iter().any(|e| matches!(e, FeedEvent::SystemNotice { text, .. } if text.contains("12.345"))));
    }
}
