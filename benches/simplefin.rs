//! `cargo bench --bench simplefin`: applying a SimpleFIN answer, from the
//! bytes that arrived to the committed store transaction. A 90-day answer of
//! 10 accounts with 300 transactions each (a tenth of them pending), as a
//! first sync (accounts described) and as a later one (everything already
//! there but the newest). Target: < 100 ms for the first.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use finbox::domain::BankId;
use finbox::domain::event::Envelope;
use finbox::feed::simplefin::map::{MapInput, map};
use finbox::feed::simplefin::protocol;
use finbox::store::{SimplefinConnection, Store};

const ACCOUNTS: usize = 10;
const PER_ACCOUNT: usize = 300;

fn answer(now: i64) -> Vec<u8> {
    let merchants =
        ["WHOLE FOODS #10234", "SHELL OIL 5732", "NETFLIX.COM", "UBER *TRIP", "PAYROLL ACME", "CVS/PHARMACY"];
    let mut accounts = Vec::new();
    for a in 0..ACCOUNTS {
        let mut txns = Vec::new();
        for i in 0..PER_ACCOUNT {
            let at = now - 90 * 86_400 + (i as i64) * (90 * 86_400 / PER_ACCOUNT as i64);
            let pending = i % 10 == 9;
            let cents = 100 + (i * 37 + a * 11) % 20_000;
            txns.push(serde_json::json!({
                "id": format!("T{a}-{i}"),
                "posted": if pending { 0 } else { at },
                "transacted_at": at,
                "amount": format!("-{}.{:02}", cents / 100, cents % 100),
                "description": merchants[i % merchants.len()],
                "pending": pending,
            }));
        }
        accounts.push(serde_json::json!({
            "id": format!("ACT-{a}"), "name": format!("Everyday Checking ({:04})", 1000 + a), "conn_id": "CON-1",
            "currency": "USD", "balance": "12345.67", "available-balance": "12000.00", "balance-date": now,
            "transactions": txns,
        }));
    }
    serde_json::to_vec(&serde_json::json!({
        "errlist": [], "connections": [{"conn_id": "CON-1", "name": "My Bank", "org_id": "ORG-1"}], "accounts": accounts,
    }))
    .unwrap()
}

/// (parse, map, store) for one answer.
fn apply(
    store: &mut Store,
    bank: &BankId,
    epoch: i64,
    body: &[u8],
    known: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> [Duration; 3] {
    let t0 = Instant::now();
    let set = protocol::parse(body).unwrap();
    let t1 = Instant::now();
    let input = MapInput {
        conn_id: "CON-1",
        known,
        window_start: now - chrono::Duration::days(90),
        backfill: known.is_empty(),
        country: "US",
        now,
    };
    let mapped = map(&set, &input);
    assert_eq!(mapped.transactions, ACCOUNTS * PER_ACCOUNT);
    let batch: Vec<Envelope> =
        mapped.events.into_iter().map(|event| Envelope { bank: bank.clone(), epoch, event }).collect();
    let t2 = Instant::now();
    let report = store.apply_batch(&batch, now).unwrap();
    let t3 = Instant::now();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    [t1 - t0, t2 - t1, t3 - t2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let body = answer(now.timestamp());
    let mut store = Store::open(&dir.path().join("finbox.db")).unwrap();
    let conn = SimplefinConnection {
        conn_id: "CON-1".into(),
        name: "My Bank".into(),
        org_id: "ORG-1".into(),
        org_url: None,
        accounts: (0..ACCOUNTS).map(|a| format!("ACT-{a}")).collect(),
    };
    let bank = store.link_simplefin(&conn, "#336699").unwrap();
    store.grant_for(&bank, now, chrono::Duration::days(90)).unwrap();
    let epoch = store.bank(&bank).unwrap().epoch;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let first = apply(&mut store, &bank, epoch, &body, &BTreeSet::new(), now);
    let known: BTreeSet<String> = (0..ACCOUNTS).map(|a| format!("ACT-{a}")).collect();
    let again = apply(&mut store, &bank, epoch, &body, &known, now);
    let total = |d: [Duration; 3]| d.iter().sum::<Duration>();
    println!(
        "SimpleFIN answer: {} KB, {ACCOUNTS} accounts, {} transactions ({} pending)",
        body.len() / 1024,
        ACCOUNTS * PER_ACCOUNT,
        ACCOUNTS * PER_ACCOUNT / 10
    );
    println!("| sync | parse | map | store | total | target |");
    println!("|---|---|---|---|---|---|");
    for (what, d) in [("first (90 days, accounts described)", first), ("again (all already stored)", again)] {
        println!("| {what} | {} | {} | {} | {} | < 100 ms |", ms(d[0]), ms(d[1]), ms(d[2]), ms(total(d)));
    }
}
