//! Statement import, end to end: `finbox import` through the built binary
//! (OFX 1.x and 2.x, each shipped CSV layout, a user layout, re-imports,
//! overlaps, dry runs, consent, bad files, fraud alerts), the watched-folder
//! feed through the supervisor, and property tests on both parsers.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use finbox::domain::{BankId, Currency, Sender};
use finbox::feed::supervisor::{self, SupervisorConfig};
use finbox::feed::writer::{Writer, WriterConfig};
use finbox::feed::{BankProfile, Clock, FeedEvent, FeedMode, FeedRegistry};
use finbox::import::{Format, Layouts, Options, Statement};
use finbox::store::{Store, TxnFilter};
use proptest::prelude::*;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const NOW: &str = "2026-11-20T15:00:00Z";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).unwrap().to_utc()
}

/// A private home for one test: its own store, settings and data folders,
/// and a clock pinned to [`NOW`].
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn db(&self) -> PathBuf {
        common::store_path(self.dir.path())
    }

    fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.process(args))
    }

    /// The binary as a plain process, to run in the background.
    fn process(&self, args: &[&str]) -> std::process::Command {
        common::finbox(self.dir.path(), &[("FINBOX_NOW", NOW)], args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).assert().success().get_output().clone();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
        stdout
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        let text = self.ok(args);
        serde_json::from_str::<Vec<Value>>(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"))
    }

    fn fail(&self, args: &[&str]) -> String {
        let out = self.cmd(args).assert().failure().get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
        err
    }

    fn import(&self, file: &str, extra: &[&str]) -> String {
        let path = fixture(file);
        let mut args = vec!["import", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    fn import_fails(&self, file: &str, extra: &[&str]) -> String {
        let path = fixture(file);
        let mut args = vec!["import", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.fail(&args)
    }

    /// Everything a bank shared, as the commands show it.
    fn snapshot(&self) -> (String, String, String, String) {
        (
            self.ok(&["transactions", "--limit", "100000", "--json"]),
            self.ok(&["balances", "--json"]),
            self.ok(&["alerts", "--all", "--json"]),
            self.ok(&["banks", "--json"]),
        )
    }

    fn balances(&self) -> BTreeMap<String, i64> {
        self.json(&["balances", "--json"])
            .iter()
            .map(|b| (b["account"].as_str().unwrap().to_string(), b["balance_minor"].as_i64().unwrap()))
            .collect()
    }

    fn transactions(&self, bank: &str) -> Vec<Value> {
        self.json(&["transactions", "--bank", bank, "--limit", "100000", "--json"])
    }

    fn messages(&self, bank: &str) -> Vec<String> {
        let msgs = self.json(&["messages", bank, "--limit", "1000", "--json"]);
        msgs.iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
    }
}

fn amounts(txns: &[Value]) -> HashMap<String, i64> {
    txns.iter().map(|t| (t["merchant"].as_str().unwrap().to_string(), t["amount_minor"].as_i64().unwrap())).collect()
}

#[test]
fn an_ofx_1x_statement_brings_accounts_transactions_and_balances() {
    let h = Home::new();
    h.ok(&["consent", "grant", "wellsfargo"]);
    let out = h.import("wellsfargo-2026-10.ofx", &[]);
    assert!(out.contains("Wells Fargo (wellsfargo)") && out.contains("OFX 1.02 (SGML)"), "{out}");
    assert!(out.contains("<ORG>Wells Fargo</ORG>"), "the bank came from the file: {out}");
    assert!(out.contains("Added 11 transactions."), "{out}");

    // Opening balances were chosen so that the ledger balances come out.
    let balances = h.balances();
    assert_eq!(balances["checking-6789"], 312_055);
    assert_eq!(balances["savings-4321"], 1_050_125);
    let accounts = h.json(&["balances", "--json"]);
    let checking = accounts.iter().find(|a| a["account"] == "checking-6789").unwrap();
    assert_eq!((checking["mask"].as_str(), checking["opening_minor"].as_i64()), (Some("•6789"), Some(261_129)));

    let txns = h.transactions("wellsfargo");
    assert_eq!(txns.len(), 11);
    let by_merchant = amounts(&txns);
    assert_eq!(by_merchant["CAFÉ LUMIÈRE"], -450, "Windows-1252 decoded");
    assert_eq!(by_merchant["AT&T BILL PAY"], -8_999, "entities decoded");
    assert_eq!(by_merchant["Check 1043"], -120_000);
    assert_eq!(txns.iter().filter(|t| t["merchant"] == "CAFÉ LUMIÈRE").count(), 2, "two coffees, two FITIDs");
    let payroll = txns.iter().find(|t| t["external_id"] == "checking-6789:202610010001").unwrap();
    assert_eq!(payroll["posted_at"], "2026-10-01T19:00:00+00:00", "12:00 PDT");
    assert_eq!(payroll["channel"], "deposit");

    let messages = h.messages("wellsfargo");
    assert!(
        messages.iter().any(|m| m.starts_with("Imported 11 transactions from wellsfargo-2026-10.ofx")),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("Checking •6789 is $3,120.55")), "{messages:?}");

    // The full account numbers are nowhere in the store.
    for suffix in ["", "-wal"] {
        let path = PathBuf::from(format!("{}{suffix}", h.db().display()));
        if let Ok(bytes) = std::fs::read(&path) {
            for number in [&b"000123456789"[..], b"000987654321"] {
                assert!(
                    !bytes.windows(number.len()).any(|w| w == number),
                    "{} holds an account number",
                    path.display()
                );
            }
        }
    }
}

/// A UK bank's OFX 1.02 file with empty elements (`<CURDEF></CURDEF>`, empty
/// `<FITID>`, `<NAME>`, `<ACCTTYPE>` and ledger balance), the currency given
/// per transaction and descriptions only in `<MEMO>`: imported, each
/// fallback said.
#[test]
fn an_ofx_file_with_empty_elements_imports_and_names_each_fallback() {
    let h = Home::new();
    h.ok(&["consent", "grant", "citi"]);
    let out = h.import("uk-empty-tags.ofx", &["--bank", "citi"]);
    assert!(out.contains("OFX 1.02 (SGML)") && out.contains("Added 4 transactions."), "{out}");
    for note in [
        "note: Checking •5678: <ACCTTYPE> is empty or missing: checking assumed",
        "note: Checking •5678: <CURDEF> is empty: currency AUD taken from the transactions' <CURRENCY><CURSYM>",
        "note: Checking •5678: <LEDGERBAL> has no amount: no balance in the file, a new account opens at A$0.00",
        "note: 3 transactions had no <FITID>: ids derived from date, amount and description",
        "note: 2 transactions had no <NAME>: description taken from <MEMO>",
        "note: 1 transaction had no <NAME>, <PAYEE> or <MEMO>: described as \"(no description)\"",
    ] {
        assert!(out.contains(note), "expected {note:?} in {out}");
    }
    assert!(out.contains("(new account, opened at A$0.00)"), "{out}");
    assert_eq!(h.balances()["checking-5678"], 250_000 - 4_520 - 1_000 - 380);
    let txns = h.transactions("citi");
    assert!(txns.iter().all(|t| t["currency"] == "AUD"), "{txns:?}");
    let by_merchant = amounts(&txns);
    assert_eq!(by_merchant["TESCO STORES 3297"], -4_520, "the description from <MEMO>");
    assert_eq!(by_merchant["SALARY ACME LTD"], 250_000);
    assert_eq!(by_merchant["(no description)"], -1_000);
    assert_eq!(by_merchant["COSTA COFFEE"], -380);
    let ids: Vec<&str> = txns.iter().map(|t| t["external_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"checking-5678:UK0003"), "{ids:?}");
    assert_eq!(ids.iter().filter(|id| id.contains(":~")).count(), 3, "derived ids, as CSV rows get: {ids:?}");
    let messages = h.messages("citi");
    assert!(
        messages.iter().any(|m| m.contains("Read with fallbacks") && m.contains("<CURDEF> is empty")),
        "{messages:?}"
    );

    // The derived ids are stable: a second import adds nothing.
    let before = h.snapshot();
    let out = h.import("uk-empty-tags.ofx", &["--bank", "citi"]);
    assert!(out.contains("Added 0 transactions; skipped 4 already present"), "{out}");
    assert_eq!(h.snapshot(), before);
}

/// Brokerage statements (`<INVSTMTRS>`): their cash sub-account
/// (`<INVBANKTRAN>`) imports as a Brokerage Cash account; one without cash
/// is refused with a message that says what it is.
#[test]
fn an_investment_statement_brings_its_cash_or_says_what_it_is() {
    let h = Home::new();
    h.ok(&["consent", "grant", "usbank"]);
    let out = h.import("brokerage-cash.ofx", &["--bank", "usbank"]);
    assert!(out.contains("OFX 2.20 (XML)") && out.contains("Brokerage Cash •5678: 3 transactions"), "{out}");
    assert!(out.contains("Added 3 transactions."), "{out}");
    assert!(
        out.contains(
            "note: this is an investment statement (<INVSTMTRS>) with 3 positions: finbox imports bank and card \
             statements, so only its cash movements (<INVBANKTRAN>) were read, as a Brokerage Cash account"
        ),
        "{out}"
    );
    // Its balance is the statement's available cash, struck on its date.
    assert!(out.contains("ledger balance $1,303.21 on Nov 14, 2026"), "{out}");
    assert_eq!(h.balances()["brokerage-5678"], 130_321);
    let txns = h.transactions("usbank");
    assert_eq!(txns.len(), 3, "the trade is not a cash movement: {txns:?}");
    let by_merchant = amounts(&txns);
    assert_eq!(by_merchant["ELECTRONIC FUNDS TRANSFER RCVD"], 500_000);
    assert_eq!(by_merchant["BILL PAYMENT CITY WATER"], -120_000);
    assert_eq!(by_merchant["INTEREST EARNED"], 321);
    assert!(txns.iter().any(|t| t["external_id"] == "brokerage-5678:CASH-20261114-1"), "{txns:?}");

    // A 401(k) statement has positions and trades but no cash: refused,
    // before the bank is even asked for, saying what the file is.
    let before = h.snapshot();
    let err = h.import_fails("vanguard-401k.ofx", &[]);
    assert!(
        err.contains(
            "vanguard-401k.ofx: this is an investment statement (<INVSTMTRS>) with 2 positions: finbox imports \
             bank and credit-card statements, not investments, and the file has no cash movements (<INVBANKTRAN>)"
        ),
        "{err}"
    );
    assert!(!err.contains("no bank or credit-card statement (<STMTRS>"), "{err}");
    assert_eq!(h.snapshot(), before);
}

/// One file of the corpus and what importing it into an empty store gives:
/// each account's transactions, balance (minor units) and currency, and
/// the notes the import must print.
struct Expected {
    file: &'static str,
    args: &'static [&'static str],
    bank: &'static str,
    accounts: &'static [(&'static str, usize, i64, &'static str)],
    notes: &'static [&'static str],
}

/// Every bank or card statement of the corpus (tests/fixtures/import),
/// written by hand after the published specifications and the files banks
/// really write, imports with the expected accounts, transactions and
/// balances, and says each fallback it took.
#[test]
fn the_corpus_imports_with_its_expected_accounts_and_balances() {
    const NO_NAME_FROM_MEMO: &str = "note: 2 transactions had no <NAME>: description taken from <MEMO>";
    let corpus = [
        Expected {
            file: "wellsfargo-2026-10.ofx",
            args: &[],
            bank: "wellsfargo",
            accounts: &[("checking-6789", 9, 312_055, "USD"), ("savings-4321", 2, 1_050_125, "USD")],
            notes: &["note: 1 transaction had no <NAME>: description taken from <CHECKNUM> (\"Check N\")"],
        },
        Expected {
            file: "wellsfargo-2026-11.ofx",
            args: &[],
            bank: "wellsfargo",
            accounts: &[("checking-6789", 7, 548_636, "USD")],
            notes: &[],
        },
        Expected {
            file: "citi-card-2026-11.qfx",
            args: &[],
            bank: "citi",
            accounts: &[("credit-4242", 7, -84_227, "USD")],
            notes: &[],
        },
        Expected {
            file: "b1-checking.ofx",
            args: &["--bank", "chase"],
            bank: "chase",
            accounts: &[("checking-0005", 2, 195_800, "USD")],
            notes: &[],
        },
        Expected {
            file: "uk-empty-tags.ofx",
            args: &["--bank", "citi"],
            bank: "citi",
            accounts: &[("checking-5678", 4, 244_100, "AUD")],
            notes: &[
                "<CURDEF> is empty: currency AUD taken from the transactions' <CURRENCY><CURSYM>",
                "<LEDGERBAL> has no amount: no balance in the file, a new account opens at A$0.00",
                "<ACCTTYPE> is empty or missing: checking assumed",
                "3 transactions had no <FITID>",
                NO_NAME_FROM_MEMO,
            ],
        },
        Expected {
            file: "card-empty-elements.qfx",
            args: &["--bank", "citi"],
            bank: "citi",
            accounts: &[("credit-9911", 3, 20_000 - 6_499 - 1_250, "GBP")],
            notes: &[
                "note: Credit Card •9911: <CURDEF> is empty: currency GBP taken from the transactions' \
                 <ORIGCURRENCY><CURSYM>",
                "note: Credit Card •9911: there is no <LEDGERBAL>: no balance in the file, a new account opens at £0.00",
                "note: Credit Card •9911: <AVAILBAL> has no amount: no available balance shown",
                "note: 1 transaction had no <NAME>: description taken from <PAYEE>",
            ],
        },
        Expected {
            file: "brokerage-cash.ofx",
            args: &["--bank", "usbank"],
            bank: "usbank",
            accounts: &[("brokerage-5678", 3, 130_321, "USD")],
            notes: &["(<INVSTMTRS>) with 3 positions: finbox imports bank and card statements"],
        },
        Expected {
            file: "chase-checking.csv",
            args: &["--account", "1234"],
            bank: "chase",
            accounts: &[("checking-1234", 6, 312_055, "USD")],
            notes: &[],
        },
        Expected {
            file: "citi-card.csv",
            args: &["--account", "4242", "--profile", "citi-card"],
            bank: "citi",
            accounts: &[("credit-4242", 4, -3_499 - 2_740 + 50_000 - 1_199, "USD")],
            notes: &[],
        },
        Expected {
            file: "citi-checking.csv",
            args: &["--account", "2222", "--profile", "citi-checking"],
            bank: "citi",
            accounts: &[("checking-2222", 4, 300_000 + 37 - 180_000, "USD")],
            notes: &[],
        },
        Expected {
            file: "discover-card.csv",
            args: &["--bank", "usbank", "--account", "9876"],
            bank: "usbank",
            accounts: &[("credit-9876", 4, DISCOVER_SUM, "USD")],
            notes: &[],
        },
        Expected {
            file: "generic.csv",
            args: &["--bank", "chase", "--account", "5555"],
            bank: "chase",
            accounts: &[("checking-5555", 3, 245_000 - 185_000 - 108_217, "USD")],
            notes: &[],
        },
        Expected {
            file: "generic-1252.csv",
            args: &["--bank", "chase", "--account", "5555", "--profile", "generic"],
            bank: "chase",
            accounts: &[("checking-5555", 2, GENERIC_1252_SUM, "USD")],
            notes: &[],
        },
        Expected {
            file: "usbank-checking.csv",
            args: &["--account", "1111"],
            bank: "usbank",
            accounts: &[("checking-1111", 3, 210_000 - 5_421 - 8_840, "USD")],
            notes: &[],
        },
        Expected {
            file: "wellsfargo-checking.csv",
            args: &["--account", "6789"],
            bank: "wellsfargo",
            accounts: &[("checking-6789", 4, 245_000 - 120_000 - 6_000 - 8_217, "USD")],
            notes: &[],
        },
    ];
    for e in &corpus {
        let h = Home::new();
        h.ok(&["consent", "grant", e.bank]);
        let out = h.import(e.file, e.args);
        let txns = h.transactions(e.bank);
        let total: usize = e.accounts.iter().map(|a| a.1).sum();
        assert_eq!(txns.len(), total, "{}: {out}", e.file);
        let balances = h.json(&["balances", "--json"]);
        assert_eq!(balances.len(), e.accounts.len(), "{}: {balances:?}", e.file);
        for &(account, count, balance, currency) in e.accounts {
            let b = balances.iter().find(|b| b["account"] == account);
            let b = b.unwrap_or_else(|| panic!("{}: no account {account} in {balances:?}", e.file));
            assert_eq!(b["balance_minor"].as_i64(), Some(balance), "{} {account}: {b}", e.file);
            assert_eq!(b["currency"].as_str(), Some(currency), "{} {account}: {b}", e.file);
            assert_eq!(txns.iter().filter(|t| t["account"] == account).count(), count, "{} {account}", e.file);
        }
        for note in e.notes {
            assert!(out.contains(note), "{}: expected {note:?} in {out}", e.file);
        }
        if e.notes.is_empty() {
            assert!(!out.contains("note:"), "{}: no fallback was taken, yet {out}", e.file);
        }
    }
}

/// discover-card.csv: charges written positive, a 500.00 payment negative.
const DISCOVER_SUM: i64 = -1_199 - 6_412 + 50_000 - 3_820;
/// generic-1252.csv: two charges.
const GENERIC_1252_SUM: i64 = -1_250 - 420;

/// Files that are not bank or card statements, or not sound ones: refused
/// with a message that says what they are, and nothing stored.
#[test]
fn the_corpus_files_finbox_does_not_import_say_why() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    let before = h.snapshot();
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "vanguard-401k.ofx",
            &[],
            &["(<INVSTMTRS>) with 2 positions", "finbox imports bank and credit-card statements, not investments"],
        ),
        (
            "mixed-currencies.ofx",
            &["--bank", "citi"],
            &[
                "mixed-currencies.ofx, line 64",
                "no currency (<CURDEF>) and is read in AUD, but this transaction is in GBP",
                "one currency",
            ],
        ),
    ];
    for (file, extra, expected) in cases {
        let err = h.import_fails(file, extra);
        for e in *expected {
            assert!(err.contains(e), "{file}: expected {e:?} in {err}");
        }
        assert_eq!(h.snapshot(), before, "{file} changed the store");
    }
}

#[test]
fn importing_again_adds_nothing_and_an_overlapping_statement_adds_only_the_new() {
    let h = Home::new();
    h.ok(&["consent", "grant", "wellsfargo"]);
    h.import("wellsfargo-2026-10.ofx", &[]);
    let before = h.snapshot();
    let out = h.import("wellsfargo-2026-10.ofx", &[]);
    assert!(out.contains("Added 0 transactions; skipped 11 already present (their FITIDs"), "{out}");
    assert_eq!(h.snapshot().0, before.0);
    assert_eq!(h.snapshot().1, before.1);

    let out = h.import("wellsfargo-2026-11.ofx", &[]);
    assert!(out.contains("Added 4 transactions; skipped 3 already present"), "{out}");
    assert!(out.contains("OFX 1.03 (SGML), UTF-8"), "{out}");
    assert_eq!(h.transactions("wellsfargo").len(), 15);
    assert_eq!(h.balances()["checking-6789"], 548_636, "the November ledger balance");
    let messages = h.messages("wellsfargo");
    let imported: Vec<&String> = messages.iter().filter(|m| m.starts_with("Imported")).collect();
    assert_eq!(imported.len(), 2, "{imported:?}");
    assert!(imported[1].contains("4 transactions") && imported[1].contains("3 were already stored"), "{imported:?}");
}

#[test]
fn an_ofx_2x_card_statement_with_card_testing_raises_alerts() {
    let h = Home::new();
    h.ok(&["consent", "grant", "citi"]);
    let out = h.import("citi-card-2026-11.qfx", &[]);
    assert!(out.contains("Citi (citi)") && out.contains("OFX 2.20 (XML)"), "{out}");
    assert!(out.contains("Credit Card •4242") && out.contains("available $4,157.73"), "{out}");
    assert!(out.contains("fraud alert"), "{out}");
    assert_eq!(h.balances()["credit-4242"], -84_227);
    let txns = h.transactions("citi");
    assert_eq!(amounts(&txns)["HOTEL BAUR AU LAC ZÜRICH CH"], -12_000);
    let tiny: Vec<&Value> = txns.iter().filter(|t| t["merchant"] == "PAYPAL *GIFTCARDS LONDON GB").collect();
    assert_eq!(tiny.len(), 3);
    assert!(tiny.iter().all(|t| t["channel"] == "online" && t["country"] == "GB"), "{tiny:?}");

    let alerts = h.json(&["alerts", "--json"]);
    assert!(
        alerts.iter().any(|a| a["severity"] == "high" && a["reason"].as_str().unwrap().starts_with("Card testing")),
        "{alerts:?}"
    );
    assert!(alerts.iter().all(|a| a["bank"] == "citi" && a["card"] == "•4242"), "{alerts:?}");
    // The card can be locked from the alert, as with a feed's (the embedded
    // Citi is a simulated bank: it opens a dispute and credits the charge).
    let id = alerts[0]["id"].as_i64().unwrap().to_string();
    let out = h.ok(&["alerts", "ack", &id, "--not-me"]);
    assert!(out.contains("is locked") && out.contains("opened dispute"), "{out}");
    // Importing again raises nothing new.
    h.import("citi-card-2026-11.qfx", &[]);
    assert_eq!(h.json(&["alerts", "--all", "--json"]).len(), alerts.len());
}

#[test]
fn each_shipped_csv_layout_imports() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);

    // Chase: bank from the layout, newest row first, a running balance.
    let out = h.import("chase-checking.csv", &["--account", "1234"]);
    assert!(out.contains("chase-checking layout") && out.contains("Chase (chase)"), "{out}");
    assert!(out.contains("Added 6 transactions"), "{out}");
    assert_eq!(h.balances()["checking-1234"], 312_055, "the newest row's balance");
    let chase = h.transactions("chase");
    assert_eq!(chase.iter().filter(|t| t["merchant"] == "STARBUCKS STORE 0455 AUSTIN TX").count(), 2);
    assert_eq!(amounts(&chase)["ACME CORP PAYROLL PPD ID: 1234567890"], 245_000);
    // The two identical coffees, minutes apart, look like a duplicate charge.
    let alerts = h.json(&["alerts", "--json"]);
    assert!(alerts.iter().any(|a| a["reason"].as_str().unwrap().contains("duplicate")), "{alerts:?}");

    // Citi: debit and credit columns. Citi's bank export has the same
    // header, so the layout is named.
    let out = h.import("citi-card.csv", &["--account", "4242", "--profile", "citi-card"]);
    assert!(out.contains("Citi (citi)") && out.contains("Added 4 transactions"), "{out}");
    let citi = amounts(&h.transactions("citi"));
    assert_eq!(citi["AMAZON.COM*2K4LM1 AMZN.COM/BILL WA"], -3_499);
    assert_eq!(citi["ONLINE PAYMENT, THANK YOU"], 50_000);

    // Discover: charges written positive; categories from the file.
    let out = h.import("discover-card.csv", &["--bank", "usbank", "--account", "9876"]);
    assert!(out.contains("discover-card layout") && out.contains("Added 4 transactions"), "{out}");
    let discover = h.transactions("usbank");
    assert_eq!(amounts(&discover)["SPOTIFY USA 877-778-1161 NY"], -1_199);
    assert_eq!(amounts(&discover)["INTERNET PAYMENT - THANK YOU"], 50_000);
    assert!(discover.iter().any(|t| t["category"] == "Supermarkets"));

    // Generic: thousands separators; a second checking account at Chase.
    let out = h.import("generic.csv", &["--bank", "chase", "--account", "5555"]);
    assert!(out.contains("generic layout") && out.contains("Added 3 transactions"), "{out}");
    assert_eq!(h.balances()["checking-5555"], 245_000 - 185_000 - 108_217);
    // Chase has two checking accounts now: a CSV must say which.
    let err = h.import_fails("generic-1252.csv", &["--bank", "chase"]);
    assert!(err.contains("--account") && err.contains("•1234") && err.contains("•5555"), "{err}");
    let out = h.import("generic-1252.csv", &["--bank", "chase", "--account", "5555", "--profile", "generic"]);
    assert!(out.contains("windows-1252") && out.contains("Added 2 transactions"), "{out}");
    let merchants = amounts(&h.transactions("chase"));
    assert_eq!(merchants["CAFÉ DE FLORE PARIS FR"], -1_250);
    assert_eq!(merchants["BOULANGERIE « CHÉRIE » – LYON FR"], -420);

    // Each re-import adds nothing.
    let before = h.snapshot();
    for (file, extra) in [
        ("chase-checking.csv", vec!["--account", "1234"]),
        ("citi-card.csv", vec!["--account", "4242", "--profile", "citi-card"]),
        ("discover-card.csv", vec!["--bank", "usbank", "--account", "9876"]),
        ("generic.csv", vec!["--bank", "chase", "--account", "5555"]),
    ] {
        let out = h.import(file, &extra);
        assert!(out.contains("Added 0 transactions; skipped"), "{file}: {out}");
    }
    assert_eq!(h.snapshot(), before);
}

/// The exports of Wells Fargo (no header), U.S. Bank and Citi's bank
/// accounts; a header no layout fits is answered with what each looks for.
#[test]
fn the_big_banks_csv_exports_import_and_an_unknown_one_is_told_what_fits() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    let out = h.import("wellsfargo-checking.csv", &["--account", "6789"]);
    assert!(out.contains("wellsfargo-checking layout") && out.contains("Wells Fargo (wellsfargo)"), "{out}");
    assert!(out.contains("(bank from the wellsfargo-checking layout") && out.contains("Added 4 transactions"), "{out}");
    assert_eq!(h.balances()["checking-6789"], 245_000 - 120_000 - 6_000 - 8_217);
    assert_eq!(amounts(&h.transactions("wellsfargo"))["CHECK # 1044"], -120_000);

    let out = h.import("usbank-checking.csv", &["--account", "1111"]);
    assert!(out.contains("usbank-checking layout") && out.contains("U.S. Bank (usbank)"), "{out}");
    assert!(out.contains("Added 3 transactions"), "{out}");
    let usbank = amounts(&h.transactions("usbank"));
    assert_eq!(usbank["ELECTRONIC DEPOSIT ACME CORP"], 210_000, "the Name column");
    assert_eq!(usbank["WEB AUTHORIZED PMT XCEL ENERGY"], -8_840, "11/3/2026 reads");
    assert_eq!(h.balances()["checking-1111"], 210_000 - 5_421 - 8_840);

    // Citi's bank and card exports share a header (and both read a debit
    // as money out): without --profile the file is read as a card, and the
    // import says so and how to choose the other.
    let out = h.import("citi-card.csv", &["--account", "4343"]);
    assert!(
        out.contains("the header fits several layouts: read as citi-card (Citi credit")
            && out.contains("import again with --profile citi-checking (Citi bank account"),
        "{out}"
    );
    let out = h.import("citi-checking.csv", &["--account", "2222", "--profile", "citi-checking"]);
    assert!(out.contains("Checking •2222") && out.contains("Added 4 transactions (1 pending)"), "{out}");
    let citi = h.transactions("citi");
    let shell = citi.iter().find(|t| t["merchant"] == "SHELL OIL 57442 HOUSTON TX").unwrap();
    assert_eq!((shell["amount_minor"].as_i64(), shell["status"].as_str()), (Some(-4_500), Some("pending")), "{shell}");
    // A pending authorisation does not move the balance yet.
    assert_eq!(h.balances()["checking-2222"], 300_000 + 37 - 180_000);
    assert_eq!(amounts(&citi)["DIRECT DEP ACME CORP PAYROLL"], 300_000, "Credit is money in");
    assert_eq!(amounts(&citi)["RENT PAYMENT ONLINE"], -180_000, "Debit is money out");

    // No layout fits: the message lists what each looks for, and the line found.
    let before = h.snapshot();
    let odd = h.dir.path().join("odd.csv");
    std::fs::write(&odd, "Booked,Payee,Value\n2026-11-01,SHOP,-1.00\n").unwrap();
    let err = h.fail(&["import", odd.to_str().unwrap(), "--bank", "chase", "--account", "5555"]);
    for expected in [
        "no CSV layout fits its first line \"Booked,Payee,Value\"; the layouts look for these columns: \
         chase-checking: \"Posting Date\", \"Description\", \"Balance\", \"Amount\" | ",
        " | citi-checking: \"Date\", \"Description\", \"Status\", \"Debit\", \"Credit\" | ",
        " | usbank-checking: \"Date\", \"Name\", \"Amount\" | ",
        " | wellsfargo-checking: no header row, date (%m/%d/%Y) in column 1, amount in column 2, description in column 5.",
        "Choose one with --profile",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
    assert_eq!(h.snapshot(), before);
}

#[test]
fn a_users_own_layout_reads_comma_decimals() {
    let h = Home::new();
    let dir = h.dir.path().join("config/finbox/import");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("eu-bank.toml"), dir.join("eu-bank.toml")).unwrap();
    h.ok(&["consent", "grant", "citi"]);
    let out = h.import("eu-bank.csv", &["--bank", "citi", "--account", "3333"]);
    assert!(out.contains("eu-bank layout") && out.contains("Added 3 transactions"), "{out}");
    let txns = h.transactions("citi");
    assert_eq!(amounts(&txns)["SALARIS NOVEMBER"], 123_456);
    assert_eq!(amounts(&txns)["ALBERT HEIJN 1234 AMSTERDAM NL"], -2_345);
    assert!(txns.iter().all(|t| t["currency"] == "EUR"));
    assert_eq!(
        txns.iter().find(|t| t["merchant"] == "SALARIS NOVEMBER").unwrap()["posted_at"],
        "2026-11-05T12:00:00+00:00"
    );

    // A broken user layout is an error naming its file and line.
    let broken = std::fs::read_to_string(fixture("eu-bank.toml")).unwrap().replace("\"checking\"", "\"cheque\"");
    std::fs::write(dir.join("broken.toml"), broken).unwrap();
    let err = h.import_fails("eu-bank.csv", &["--bank", "citi", "--account", "3333"]);
    assert!(err.contains("broken.toml") && err.contains("account_kind"), "{err}");
}

#[test]
fn a_dry_run_writes_nothing() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.import("wellsfargo-2026-10.ofx", &[]);
    let before = h.snapshot();
    let messages = h.messages("wellsfargo");
    let out = h.import("wellsfargo-2026-11.ofx", &["--dry-run"]);
    assert!(out.contains("Dry run: would add 4 transactions; skipped 3 already present"), "{out}");
    assert!(out.contains("Nothing was written"), "{out}");
    let out = h.import("citi-card-2026-11.qfx", &["--dry-run"]);
    assert!(out.contains("would open at -$1,149.00") && out.contains("would raise 3 alerts"), "{out}");
    assert_eq!(h.snapshot(), before);
    assert_eq!(h.messages("wellsfargo"), messages);
}

#[test]
fn a_bank_that_is_not_shared_is_refused() {
    let h = Home::new();
    let err = h.import_fails("wellsfargo-2026-10.ofx", &[]);
    assert!(err.contains("wellsfargo is not shared") && err.contains("finbox consent grant wellsfargo"), "{err}");
    let err = h.import_fails("wellsfargo-2026-10.ofx", &["--dry-run"]);
    assert!(err.contains("not shared"), "{err}");
    h.ok(&["consent", "grant", "citi"]);
    assert!(h.transactions("wellsfargo").is_empty());
    assert!(h.json(&["balances", "--json"]).is_empty());
}

#[test]
fn the_bank_is_asked_for_when_the_file_does_not_name_one() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    let err = h.import_fails("b1-checking.ofx", &[]);
    assert!(err.contains("which bank is b1-checking.ofx from") && err.contains("\"B1\""), "{err}");
    assert!(err.contains("--bank") && err.contains("chase, wellsfargo, citi, usbank"), "{err}");
    let out = h.import("b1-checking.ofx", &["--bank", "chase"]);
    assert!(out.contains("Added 2 transactions") && out.contains("Checking •0005"), "{out}");
    assert_eq!(h.balances()["checking-0005"], 195_800);
    let err = h.import_fails("generic.csv", &[]);
    assert!(err.contains("does not say") && err.contains("--bank"), "{err}");
    // Chase's only checking account is the default for a checking CSV.
    let out = h.import("generic.csv", &["--bank", "chase"]);
    assert!(out.contains("(account •0005: chase's only checking account; --account chooses another)"), "{out}");
    let err = h.import_fails("citi-card.csv", &["--bank", "chase", "--profile", "citi-card"]);
    assert!(err.contains("which credit account is citi-card.csv of") && err.contains("--account"), "{err}");
    let err = h.import_fails("generic.csv", &["--bank", "chase", "--account", "abc"]);
    assert!(err.contains("last 4 digits"), "{err}");
    let err = h.import_fails("generic.csv", &["--bank", "monzo"]);
    assert!(err.contains("no bank \"monzo\""), "{err}");
}

#[test]
fn bad_files_name_the_file_and_line_and_change_nothing() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.import("wellsfargo-2026-10.ofx", &[]);
    h.import("generic.csv", &["--bank", "chase", "--account", "5555"]);
    let before = h.snapshot();
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("truncated.ofx", &["--bank", "wellsfargo"], &["truncated.ofx, line 79", "ends inside <STMTTRN>", "truncated"]),
        ("not-a-statement.ofx", &["--bank", "wellsfargo"], &["not-a-statement.ofx:", "not an OFX statement"]),
        (
            "bad-date.csv",
            &["--bank", "chase", "--account", "5555"],
            &["bad-date.csv, line 4", "2026-13-40", "%Y-%m-%d"],
        ),
        ("bad-amount.csv", &["--bank", "chase", "--account", "5555"], &["bad-amount.csv, line 3", "more decimals"]),
        ("comma-decimals.csv", &["--bank", "chase", "--account", "5555"], &["line 2", "\"1.234,56\"", "decimal mark"]),
        ("empty.csv", &["--bank", "chase", "--account", "5555"], &["empty.csv: the file is empty"]),
        ("header-only.csv", &["--bank", "chase", "--account", "5555"], &["header-only.csv", "no transactions"]),
        ("generic.csv", &["--bank", "chase", "--account", "5555", "--format", "ofx"], &["not an OFX statement"]),
        ("citi-card.csv", &["--bank", "chase", "--account", "5555", "--profile", "generic"], &["no column \"Amount\""]),
        ("generic.csv", &["--bank", "chase", "--account", "5555", "--profile", "nope"], &["no CSV layout \"nope\""]),
    ];
    for (file, extra, expected) in cases {
        let err = h.import_fails(file, extra);
        for e in *expected {
            assert!(err.contains(e), "{file}: expected {e:?} in {err}");
        }
        assert_eq!(h.snapshot(), before, "{file} changed the store");
    }
    // A statement dated in the future (a wrong clock or a wrong file).
    let future = h.dir.path().join("future.csv");
    std::fs::write(&future, "Date,Description,Amount\n2026-11-21,A,-1.00\n2027-01-01,B,-2.00\n").unwrap();
    let err = h.fail(&["import", future.to_str().unwrap(), "--bank", "chase", "--account", "5555"]);
    assert!(err.contains("future.csv, line 3") && err.contains("2027-01-01"), "{err}");
    // A file with no newline at all is refused without reading it whole.
    let blob = h.dir.path().join("blob.csv");
    std::fs::write(&blob, format!("Date,Description,Amount\n{}", "x".repeat(3 << 20))).unwrap();
    let err = h.fail(&["import", blob.to_str().unwrap(), "--bank", "chase", "--account", "5555"]);
    assert!(err.contains("line 2 is longer than"), "{err}");
    assert_eq!(h.snapshot(), before);
}

/// A large file streams (both passes read it in pieces) and is still one
/// store transaction: another process watching the store sees none of it or
/// all of it, and a `kill -9` midway leaves nothing. (A 200 MB file takes
/// too long for a debug-build test; this one has 120,000 rows. The 200 MB
/// figures are in the README section.)
#[test]
fn a_large_statement_streams_and_imports_all_or_nothing() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    let path = h.dir.path().join("large.csv");
    let rows = 120_000;
    let mut text = String::from("Date,Description,Amount\n");
    for i in 0..rows {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i / 500);
        text.push_str(&format!("{day},MERCHANT {} #{},-{}.{:02}\n", i % 97, i % 13, 1 + i % 50, i % 100));
    }
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let args = ["import", file, "--bank", "chase", "--account", "7777"];
    let count = || -> i64 {
        let c = rusqlite::Connection::open_with_flags(h.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        c.query_row("SELECT count(*) FROM transactions WHERE bank_id = 'chase'", [], |r| r.get(0)).unwrap()
    };

    // Killed midway: nothing of it stays.
    let mut child = h.process(&args).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let finished = child.try_wait().unwrap().is_some();
    child.kill().ok();
    child.wait().unwrap();
    let after_kill = count();
    assert!(after_kill == 0 || (finished && after_kill == rows as i64), "{after_kill} rows after kill -9");

    // Watched while it runs: never a part.
    let mut child = h.process(&args).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        seen.insert(count());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    seen.insert(count());
    assert!(seen.iter().all(|&n| n == 0 || n == rows as i64), "a reader saw a partial import: {seen:?}");
    // Counts are grouped by thousands, as every count finbox prints.
    let grouped = finbox::domain::money::group_thousands(rows);
    if after_kill == 0 {
        assert!(out.contains(&format!("Added {grouped} transactions")), "{out}");
    }
    let out = h.ok(&args);
    assert!(out.contains(&format!("skipped {grouped} already present")), "{out}");
    let sum: i64 = (0..rows as i64).map(|i| -(100 * (1 + i % 50) + i % 100)).sum();
    assert_eq!(h.balances()["checking-7777"], sum);
}

// ---------------------------------------------------------------------------
// The watched folder, through the supervisor and the store writer.

fn fixed_clock() -> Clock {
    std::sync::Arc::new(now)
}

struct Running {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<BTreeMap<BankId, supervisor::FeedTally>>,
    writer: Writer,
}

fn start(db: &Path, profile: &BankProfile) -> Running {
    // The writer lets go of the feed's lease when it stops, so that the next
    // start (another holder) takes the bank at once.
    let holder = finbox::feed::lease::this_process();
    let writer = Writer::spawn(
        Store::open(db).unwrap(),
        WriterConfig {
            home_countries: HashMap::new(),
            utc_offset_secs: 0,
            clock: fixed_clock(),
            holder: Some(holder.clone()),
        },
    );
    let cfg = SupervisorConfig {
        registry: FeedRegistry::default(),
        profiles: vec![profile.clone()],
        seed: 1,
        mode: FeedMode::Live,
        clock: fixed_clock(),
        utc_offset_secs: 0,
        holder,
        ledger: None,
    };
    let cancel = CancellationToken::new();
    let task = tokio::spawn(supervisor::run(cfg, Store::open(db).unwrap(), writer.tx.clone(), cancel.clone(), None));
    Running { cancel, task, writer }
}

async fn stop(r: Running) {
    r.cancel.cancel();
    r.task.await.unwrap();
    tokio::task::spawn_blocking(move || r.writer.join()).await.unwrap().unwrap();
}

async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_dropped_in_the_watched_folder_are_imported_and_announced() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("Statements/mybank");
    std::fs::create_dir_all(&inbox).unwrap();
    let db = dir.path().join("f.db");
    let text = format!("id = \"mybank\"\nname = \"My Bank\"\nfeed = \"import\"\n[import]\nfolder = {:?}\n", inbox);
    let profile = BankProfile::parse(&text, "test").unwrap();
    let bank = BankId::new("mybank").unwrap();
    let mut store = Store::open(&db).unwrap();
    store.sync_banks(std::slice::from_ref(&profile)).unwrap();
    store.grant(&bank, now()).unwrap();
    let reader = Store::open(&db).unwrap();
    let texts = |reader: &Store| -> Vec<(Sender, String)> {
        reader.messages(&bank, 1000, None).unwrap().into_iter().map(|m| (m.from, m.text)).collect()
    };
    let count = |reader: &Store, prefix: &str| texts(reader).iter().filter(|(_, t)| t.starts_with(prefix)).count();

    let running = start(&db, &profile);
    // Written under a name the feed ignores, then renamed, as browsers do.
    let partial = inbox.join("statement-2026-10.ofx.part");
    std::fs::copy(fixture("wellsfargo-2026-10.ofx"), &partial).unwrap();
    std::fs::rename(&partial, inbox.join("statement-2026-10.ofx")).unwrap();
    let dropped = Instant::now();
    wait_until("the import message", || count(&reader, "Imported 11 transactions from statement-2026-10.ofx") == 1)
        .await;
    println!("imported {:?} after the file was dropped", dropped.elapsed());
    assert!(dropped.elapsed() < Duration::from_secs(5));
    let txns = reader.transactions(&TxnFilter { bank: Some(bank.clone()), limit: 100, ..Default::default() }).unwrap();
    assert_eq!(txns.len(), 11);
    let accounts = reader.accounts(Some(&bank)).unwrap();
    let checking = accounts.iter().find(|a| a.external_id == "checking-6789").unwrap();
    assert_eq!(checking.balance.minor, 312_055);

    // A bad file: a notice naming it and the line, and nothing stored.
    std::fs::copy(fixture("truncated.ofx"), inbox.join("broken.ofx")).unwrap();
    wait_until("the refusal", || count(&reader, "Could not import broken.ofx") == 1).await;
    let notice = texts(&reader).into_iter().find(|(_, t)| t.starts_with("Could not import")).unwrap();
    assert_eq!(notice.0, Sender::System);
    assert!(notice.1.contains("line 79") && notice.1.contains("truncated"), "{}", notice.1);
    // A CSV needs its account: the bank's profile does not give one here.
    std::fs::copy(fixture("generic.csv"), inbox.join("nov.csv")).unwrap();
    wait_until("the CSV refusal", || count(&reader, "Could not import nov.csv") == 1).await;
    assert_eq!(
        reader.transactions(&TxnFilter { bank: Some(bank.clone()), limit: 100, ..Default::default() }).unwrap().len(),
        11
    );
    stop(running).await;

    // A restart neither imports nor reports the same files again; a copy of
    // an imported file under another name is recognised.
    let running = start(&db, &profile);
    std::fs::copy(fixture("wellsfargo-2026-10.ofx"), inbox.join("copy.ofx")).unwrap();
    wait_until("the copy notice", || count(&reader, "copy.ofx is the same file as statement-2026-10.ofx") == 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop(running).await;
    assert_eq!(count(&reader, "Imported"), 1);
    assert_eq!(count(&reader, "Could not import"), 2);
    assert_eq!(count(&reader, "copy.ofx"), 1);
    let report = reader.balance_mismatches().unwrap();
    assert!(report.is_empty(), "{report:?}");
}

// ---------------------------------------------------------------------------
// Both parsers, on anything: never a panic, and errors that name the file.

fn options() -> Options {
    Options {
        currency: Currency::USD,
        home_country: "US".into(),
        utc_offset_secs: 0,
        now: now(),
        account: Some("1234".into()),
    }
}

/// Writes `bytes` as a file of `format` and imports it as far as it goes.
/// Every event the file gives, as text (ids and all), in order.
fn try_import(dir: &Path, format: Format, bytes: &[u8]) -> Result<Vec<String>, String> {
    let name = match format {
        Format::Ofx => "x.ofx",
        Format::Csv => "x.csv",
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let layouts = Layouts::embedded();
    let layout = (format == Format::Csv).then_some("generic");
    let statement = Statement::open(&path, Some(format), &layouts, layout).map_err(|e| e.to_string())?;
    let scan = statement.scan(&options(), &|| false).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    scan.events(&|| false, |e: FeedEvent| -> Result<(), finbox::import::ImportError> {
        if let FeedEvent::Transaction(t) = &e {
            assert!(t.external_id.len() <= 128 && !t.external_id.trim().is_empty(), "{t:?}");
            assert!(
                t.account.starts_with("checking-")
                    || t.account.starts_with("savings-")
                    || t.account.starts_with("credit-")
            );
        }
        events.push(format!("{e:?}"));
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(events)
}

/// `bytes` with a few random edits: bytes changed, removed or added, and a
/// tail cut off.
fn mutate(bytes: &[u8], edits: &[(usize, u8, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(at, op, byte) in edits {
        if out.is_empty() {
            break;
        }
        let i = at % out.len();
        match op % 3 {
            0 => out[i] = byte,
            1 => {
                out.remove(i);
            }
            _ => out.insert(i, byte),
        }
    }
    if let Some(c) = cut {
        out.truncate(c % (out.len() + 1));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Ofx, Format::Csv] {
            if let Err(e) = try_import(dir.path(), format, &bytes) {
                prop_assert!(e.contains("x.ofx") || e.contains("x.csv") || e.contains("layout"), "{}", e);
            }
        }
    }

    #[test]
    fn mutated_statements_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let (file, format) = [
            ("wellsfargo-2026-10.ofx", Format::Ofx),
            ("citi-card-2026-11.qfx", Format::Ofx),
            ("b1-checking.ofx", Format::Ofx),
            ("generic.csv", Format::Csv),
            ("generic-1252.csv", Format::Csv),
        ][which];
        let original = std::fs::read(fixture(file)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let _ = try_import(dir.path(), format, &mutate(&original, &edits, cut));
    }

    #[test]
    fn ofx_tags_and_values_in_any_order_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<OFX>".to_string()), Just("</OFX>".to_string()), Just("<STMTRS>".to_string()),
                Just("</STMTRS>".to_string()), Just("<CCSTMTRS>".to_string()), Just("<BANKACCTFROM>".to_string()),
                Just("</BANKACCTFROM>".to_string()), Just("<ACCTID>12345".to_string()), Just("<STMTTRN>".to_string()),
                Just("</STMTTRN>".to_string()), Just("<TRNAMT>-1.50".to_string()), Just("<DTPOSTED>20261101".to_string()),
                Just("<FITID>7".to_string()), Just("<LEDGERBAL>".to_string()), Just("</LEDGERBAL>".to_string()),
                Just("<BALAMT>3".to_string()), Just("<CURDEF>USD".to_string()), Just("<!-- c -->".to_string()),
                "[ -~]{0,12}",
            ],
            0..40,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let _ = try_import(dir.path(), Format::Ofx, parts.concat().as_bytes());
    }
}

#[test]
fn the_fixtures_read_the_same_through_the_library() {
    // The same events, ids and all, every time: the basis of idempotent
    // imports.
    let dir = tempfile::tempdir().unwrap();
    for (file, format) in [("wellsfargo-2026-10.ofx", Format::Ofx), ("generic.csv", Format::Csv)] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let a = try_import(dir.path(), format, &bytes).unwrap();
        let b = try_import(dir.path(), format, &bytes).unwrap();
        assert!(a.len() > 3, "{file}: {} events", a.len());
        assert_eq!(a, b);
        assert!(a.iter().any(|e| e.contains("external_id")), "{a:?}");
    }
}

#[test]
fn a_watched_folder_profile_with_a_mistake_is_an_error_at_start() {
    let h = Home::new();
    let dir = h.dir.path().join("config/finbox/banks");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mybank.toml"), "id = \"mybank\"\nname = \"My Bank\"\nfeed = \"import\"\n").unwrap();
    let err = h.fail(&["banks"]);
    assert!(err.contains("mybank.toml") && err.contains("[import]") && err.contains("folder"), "{err}");
    std::fs::write(
        dir.join("mybank.toml"),
        "id = \"mybank\"\nname = \"My Bank\"\nfeed = \"import\"\n[import]\nfolder = \"statements\"\naccount = \"12a\"\n",
    )
    .unwrap();
    let err = h.fail(&["banks"]);
    assert!(err.contains("account") && err.contains("last 4 digits"), "{err}");
    std::fs::write(dir.join("mybank.toml"), "id = \"mybank\"\nname = \"My Bank\"\nfeed = \"plaid\"\n").unwrap();
    let err = h.fail(&["banks"]);
    assert!(err.contains("no feed kind named \"plaid\"") && err.contains("simulated"), "{err}");
}

/// Statements may be imported in any order: an older one after a newer one
/// is history the newer statement's opening balance already counted. The
/// balances, the transactions and every day's balance come out the same.
#[test]
fn an_older_statement_after_a_newer_one_gives_the_same_balances() {
    let history = |h: &Home| -> Vec<(i64, i64)> {
        let c = rusqlite::Connection::open(h.db()).unwrap();
        let mut stmt = c.prepare("SELECT day, balance_minor FROM balance_history ORDER BY account_id, day").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let mut results = Vec::new();
    for order in
        [["wellsfargo-2026-10.ofx", "wellsfargo-2026-11.ofx"], ["wellsfargo-2026-11.ofx", "wellsfargo-2026-10.ofx"]]
    {
        let h = Home::new();
        h.ok(&["consent", "grant", "wellsfargo"]);
        for file in order {
            h.import(file, &[]);
        }
        let mut txns: Vec<(String, i64)> = h
            .transactions("wellsfargo")
            .iter()
            .map(|t| (t["external_id"].as_str().unwrap().to_string(), t["amount_minor"].as_i64().unwrap()))
            .collect();
        txns.sort();
        results.push((h.balances(), txns, history(&h)));
    }
    assert_eq!(results[0].0["checking-6789"], 548_636, "the November ledger balance");
    assert_eq!(results[0], results[1]);
}

/// A statement that gives a stored FITID another amount (the bank corrected
/// it) follows the store's one rule: the first version stands, the import
/// goes ahead, and the difference is listed in the quarantine.
#[test]
fn a_corrected_transaction_in_a_reimported_statement_is_listed_not_applied() {
    let h = Home::new();
    h.ok(&["consent", "grant", "wellsfargo"]);
    h.import("wellsfargo-2026-10.ofx", &[]);
    let before = h.balances();
    // Byte for byte (the file is Windows-1252), one amount changed.
    let mut bytes = std::fs::read(fixture("wellsfargo-2026-10.ofx")).unwrap();
    let at = bytes.windows(14).position(|w| w == b"<TRNAMT>-82.17").expect("the fixture's charge");
    bytes[at + 9] = b'9';
    let path = h.dir.path().join("wellsfargo-2026-10-corrected.ofx");
    std::fs::write(&path, &bytes).unwrap();

    let out = h.ok(&["import", path.to_str().unwrap(), "--dry-run"]);
    assert!(out.contains("1 of those differ") && out.contains("would stand"), "{out}");
    let out = h.ok(&["import", path.to_str().unwrap()]);
    assert!(out.contains("Added 0 transactions; skipped 11 already present"), "{out}");
    assert!(out.contains("1 of those differ") && out.contains("the first version stands"), "{out}");
    assert_eq!(h.balances(), before, "the first version stands");
    let q = h.json(&["quarantine", "--json"]);
    assert_eq!(q.len(), 1, "{q:?}");
    let reason = q[0]["reason"].as_str().unwrap();
    assert!(reason.contains("amount -$82.17 → -$92.17") && q[0]["record"] == "transaction checking-6789:202610030001");
    // Importing it again lists it once.
    h.ok(&["import", path.to_str().unwrap()]);
    assert_eq!(h.json(&["quarantine", "--json"]).len(), 1);
}

#[test]
fn a_balance_dated_in_the_far_future_is_refused_with_its_line() {
    let h = Home::new();
    h.ok(&["consent", "grant", "wellsfargo"]);
    let bytes = std::fs::read(fixture("wellsfargo-2026-11.ofx")).unwrap();
    let text =
        String::from_utf8(bytes).unwrap().replacen("<DTASOF>20261119120000.000", "<DTASOF>99991231120000.000", 1);
    let path = h.dir.path().join("future-balance.ofx");
    std::fs::write(&path, text).unwrap();
    let before = h.snapshot();
    let err = h.fail(&["import", path.to_str().unwrap()]);
    assert!(err.contains("future-balance.ofx") && err.contains("line 100") && err.contains("9999"), "{err}");
    assert_eq!(h.snapshot(), before);
}

#[test]
fn the_watched_folder_takes_only_the_users_own_plain_files_and_logs_no_content() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let inbox = home.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let banks = home.join("config/finbox/banks");
    std::fs::create_dir_all(&banks).unwrap();
    std::fs::write(
        banks.join("mybank.toml"),
        format!(
            "id = \"mybank\"\nname = \"My Bank\"\nfeed = \"import\"\n[import]\nfolder = {inbox:?}\naccount = \"1234\"\n"
        ),
    )
    .unwrap();
    std::fs::copy(fixture("wellsfargo-2026-10.ofx"), inbox.join("secretname-2026.ofx")).unwrap();
    // A file elsewhere, reached by a hard link and by a symbolic link.
    let elsewhere = home.join("shadow");
    std::fs::write(&elsewhere, "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n").unwrap();
    std::fs::hard_link(&elsewhere, inbox.join("hard.csv")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, inbox.join("soft.csv")).unwrap();
    let run = |args: &[&str]| {
        let out = common::finbox(home, &[], args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["consent", "grant", "mybank"]);
    run(&["feed", "--events", "100"]);
    let thread = run(&["messages", "mybank", "--limit", "50"]);
    assert!(thread.contains("Imported 11 transactions from secretname-2026.ofx"), "{thread}");
    assert!(!thread.contains("root:") && !thread.contains("hard.csv") && !thread.contains("soft.csv"), "{thread}");
    let log = std::fs::read_to_string(common::store_path(home).with_file_name("finbox.log")).unwrap();
    assert!(log.contains("import feed: file imported"), "{log}");
    assert!(!log.contains("secretname") && !log.contains("root:"), "{log}");
}

/// A watched folder for CSV files of account 1234 and a reader on its store.
fn csv_inbox(dir: &Path) -> (PathBuf, PathBuf, BankProfile, BankId) {
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let db = dir.join("f.db");
    let text = format!(
        "id = \"mybank\"\nname = \"My Bank\"\nfeed = \"import\"\n[import]\nfolder = {inbox:?}\naccount = \"1234\"\n"
    );
    let profile = BankProfile::parse(&text, "test").unwrap();
    let bank = BankId::new("mybank").unwrap();
    let mut store = Store::open(&db).unwrap();
    store.sync_banks(std::slice::from_ref(&profile)).unwrap();
    store.grant(&bank, now()).unwrap();
    (inbox, db, profile, bank)
}

fn stored_amounts(reader: &Store, bank: &BankId) -> Vec<i64> {
    let mut a: Vec<i64> = reader
        .transactions(&TxnFilter { bank: Some(bank.clone()), limit: 100, ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|t| t.amount.minor)
        .collect();
    a.sort();
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_stalls_mid_line_is_taken_whole_and_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (inbox, db, profile, bank) = csv_inbox(dir.path());
    let reader = Store::open(&db).unwrap();
    let imported = |reader: &Store| {
        reader.messages(&bank, 100, None).unwrap().into_iter().filter(|m| m.text.starts_with("Imported")).count()
    };
    let running = start(&db, &profile);
    let path = inbox.join("nov.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"Date,Description,Amount\n2026-11-01,Coffee,-3.50\n2026-11-02,Rent,-1").unwrap();
    f.flush().unwrap();
    // The download stalls, mid-amount, for longer than a poll or two.
    tokio::time::sleep(Duration::from_millis(5000)).await;
    assert_eq!(imported(&reader), 0, "a file cut mid-line was imported: {:?}", stored_amounts(&reader, &bank));
    f.write_all(b"850.00\n").unwrap();
    drop(f);
    wait_until("the import", || imported(&reader) == 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop(running).await;
    assert_eq!(stored_amounts(&reader, &bank), [-185_000, -350]);
    assert_eq!(imported(&reader), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_that_grows_adds_and_announces_only_its_new_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (inbox, db, profile, bank) = csv_inbox(dir.path());
    let reader = Store::open(&db).unwrap();
    let said = |reader: &Store| -> Vec<String> {
        reader
            .messages(&bank, 100, None)
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .filter(|t| t.starts_with("Imported"))
            .collect()
    };
    let running = start(&db, &profile);
    let path = inbox.join("nov.csv");
    std::fs::write(&path, "Date,Description,Amount\n2026-11-01,Coffee,-3.50\n").unwrap();
    wait_until("the first import", || said(&reader).len() == 1).await;
    std::fs::write(&path, "Date,Description,Amount\n2026-11-01,Coffee,-3.50\n2026-11-02,Rent,-1850.00\n").unwrap();
    wait_until("the second import", || said(&reader).len() == 2).await;
    stop(running).await;
    let said = said(&reader);
    assert!(said[0].starts_with("Imported 1 transaction from nov.csv"), "{said:?}");
    assert!(
        said[1].starts_with("Imported 1 transaction from nov.csv") && said[1].contains("1 was already stored"),
        "{said:?}"
    );
    assert_eq!(stored_amounts(&reader, &bank), [-185_000, -350]);
}

#[test]
fn an_id_used_twice_in_one_file_is_refused_when_the_two_differ_and_counted_once_when_not() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    let original = std::fs::read_to_string(fixture("b1-checking.ofx")).unwrap().replace("\r\n", "\n");
    let first = "<FITID>20261112 1234567 42.00 26316";
    // The credit on line 51 given the debit's FITID: the file contradicts itself.
    let clash = original.replace("<FITID>20261113 1234567 1000.00 26317", first);
    let path = h.dir.path().join("clash.ofx");
    std::fs::write(&path, clash).unwrap();
    let err = h.fail(&["import", path.to_str().unwrap(), "--bank", "chase"]);
    assert!(err.contains("line 51") && err.contains("line 44") && err.contains("contradicts itself"), "{err}");
    assert!(h.transactions("chase").is_empty(), "nothing of it was imported");

    // The same transaction twice, word for word: stored once, and the
    // balance is the file's ledger balance.
    let block = "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20261112120000[0:GMT]\n<TRNAMT>-42.00\n<FITID>20261112 1234567 42.00 26316\n<NAME>SHELL OIL 57442\n</STMTTRN>\n";
    assert!(original.contains(block));
    let twice = original.replace(block, &format!("{block}{block}"));
    let path = h.dir.path().join("twice.ofx");
    std::fs::write(&path, twice).unwrap();
    let out = h.ok(&["import", path.to_str().unwrap(), "--bank", "chase"]);
    assert!(out.contains("Added 2 transactions") && out.contains("1 transaction listed twice in the file"), "{out}");
    assert!(!out.contains("already present"), "{out}");
    assert_eq!(h.transactions("chase").len(), 2);
    assert_eq!(h.balances().values().copied().collect::<Vec<_>>(), [195_800]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_statement_is_stored_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let (inbox, db, profile, bank) = csv_inbox(dir.path());
    let reader = Store::open(&db).unwrap();
    let n = 30_000;
    let mut text = String::from("Date,Description,Amount\n");
    for i in 0..n {
        text.push_str(&format!("2026-{:02}-{:02},Shop {i},-{}.{:02}\n", 1 + i % 10, 1 + i % 28, 1 + i % 90, i % 100));
    }
    // Written beside the folder and moved in whole.
    let staged = dir.path().join("big.csv");
    std::fs::write(&staged, text).unwrap();
    let running = start(&db, &profile);
    std::fs::rename(&staged, inbox.join("big.csv")).unwrap();
    let count = |reader: &Store| {
        reader.transactions(&TxnFilter { bank: Some(bank.clone()), limit: n + 1, ..Default::default() }).unwrap().len()
    };
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = count(&reader);
        seen.insert(c);
        if c == n {
            break;
        }
        assert!(Instant::now() < deadline, "the statement was not imported; counts seen: {seen:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop(running).await;
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [0, n], "a reader saw part of the statement");
}
