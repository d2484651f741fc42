//! The command line end to end, through the built binary.

mod common;

use assert_cmd::Command;
use serde_json::Value;

/// A private home for one test: its own store, settings and data folders.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn db(&self) -> std::path::PathBuf {
        common::store_path(self.dir.path())
    }

    fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(common::finbox(self.dir.path(), &[], args))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).assert().success().get_output().stdout.clone();
        String::from_utf8(out).unwrap()
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        let text = self.ok(args);
        serde_json::from_str::<Vec<Value>>(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"))
    }

    fn fail(&self, args: &[&str]) -> String {
        let out = self.cmd(args).assert().failure().get_output().clone();
        assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stderr).is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
        err
    }
}

const NOW: &str = "2026-11-20T15:00:00Z";

#[test]
fn a_new_user_sees_four_unshared_banks() {
    let h = Home::new();
    // Before anything is shared there is no store; the error names the banks.
    let err = h.fail(&["banks"]);
    for id in ["chase", "wellsfargo", "citi", "usbank"] {
        assert!(err.contains(id), "{err}");
    }
    assert!(err.contains("finbox consent grant --all") && !h.db().exists(), "{err}");
    h.ok(&["consent", "grant", "chase"]);
    h.ok(&["consent", "revoke", "chase"]);
    let out = h.ok(&["banks"]);
    for name in ["Chase", "Wells Fargo", "Citi", "U.S. Bank"] {
        assert!(out.contains(name), "{out}");
    }
    assert!(out.contains("not shared"));
    assert!(out.contains("finbox consent grant --all"));
    let banks = h.json(&["banks", "--json"]);
    let ids: Vec<&str> = banks.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["chase", "wellsfargo", "citi", "usbank"]);
    assert!(banks.iter().all(|b| b["consent"] == "revoked" && b["name"].is_string()));
    assert!(h.ok(&["balances"]).contains("No balances yet"));
}

#[test]
fn the_whole_flow_feed_ack_say_revoke_purge() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    let summary = h.ok(&["--now", NOW, "feed", "--seed", "7", "--events", "3000"]);
    assert!(summary.contains("3,000 events"), "{summary}");

    let balances = h.json(&["balances", "--json"]);
    assert!(balances.len() >= 8, "{balances:?}");
    for b in &balances {
        for key in ["bank", "account", "name", "kind", "currency", "balance_minor"] {
            assert!(!b[key].is_null(), "{key} missing in {b}");
        }
        assert!(b["balance_minor"].is_i64());
    }
    let plain = h.ok(&["balances"]);
    assert!(plain.contains("Total USD") && plain.contains('$'), "{plain}");

    let txns = h.json(&["transactions", "--bank", "chase", "--limit", "5", "--json"]);
    assert_eq!(txns.len(), 5);
    for t in &txns {
        for key in
            ["id", "bank", "account", "external_id", "posted_at", "amount_minor", "currency", "merchant", "category"]
        {
            assert!(!t[key].is_null(), "{key} missing in {t}");
        }
        assert_eq!(t["bank"], "chase");
        assert!(chrono::DateTime::parse_from_rfc3339(t["posted_at"].as_str().unwrap()).is_ok());
    }
    let dates: Vec<&str> = txns.iter().map(|t| t["posted_at"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first: {dates:?}");

    // Fraud alerts: 3,000 events carry a few fraud patterns.
    let alerts = h.json(&["alerts", "--json"]);
    assert!(!alerts.is_empty(), "the simulation should raise alerts");
    for a in &alerts {
        for key in ["id", "bank", "account", "reason", "severity", "status", "created_at"] {
            assert!(!a[key].is_null(), "{key} missing in {a}");
        }
        assert_eq!(a["status"], "open");
    }
    let sev: Vec<i64> = alerts
        .iter()
        .map(|a| match a["severity"].as_str().unwrap() {
            "high" => 3,
            "medium" => 2,
            _ => 1,
        })
        .collect();
    assert!(sev.windows(2).all(|w| w[0] >= w[1]), "most severe first: {sev:?}");

    let target = &alerts[0];
    let id = target["id"].as_i64().unwrap().to_string();
    let bank = target["bank"].as_str().unwrap().to_string();
    let out = h.ok(&["alerts", "ack", &id, "--not-me"]);
    assert!(out.contains("marked as fraud") && out.contains("is locked") && out.contains("credited"), "{out}");
    let all = h.json(&["alerts", "--all", "--json"]);
    let decided = all.iter().find(|a| a["id"].as_i64().unwrap().to_string() == id).unwrap();
    assert_eq!(decided["status"], "fraud");
    let err = h.fail(&["alerts", "ack", &id, "--it-was-me"]);
    assert!(err.contains("already decided"), "{err}");
    let msgs = h.json(&["messages", &bank, "--limit", "3", "--json"]);
    let last = msgs.last().unwrap();
    assert_eq!(last["from"], "bank");
    let text = last["text"].as_str().unwrap();
    assert!(text.contains("locked your card") && text.contains("opened dispute"), "{last}");
    assert!(last["at"].is_string());

    // The bank answers from the store: its balance matches `balances`.
    let reply = h.ok(&["say", "chase", "balance"]);
    let chase: Vec<&Value> = balances.iter().filter(|b| b["bank"] == "chase").collect();
    for acct in &chase {
        assert!(reply.contains(acct["name"].as_str().unwrap()), "{reply}");
    }
    let reply = h.ok(&["say", "chase", "recent"]);
    assert!(reply.contains(txns[0]["merchant"].as_str().unwrap()), "{reply}");

    // Revoke with purge: Citi's data is gone, the log keeps the change.
    let out = h.ok(&["consent", "revoke", "citi", "--purge"]);
    assert!(out.contains("deleted"), "{out}");
    assert!(h.json(&["transactions", "--bank", "citi", "--json"]).is_empty());
    assert!(h.json(&["balances", "--json"]).iter().all(|b| b["bank"] != "citi"));
    // Only the deletion receipt is left in Citi's thread.
    let left = h.json(&["messages", "citi", "--json"]);
    assert!(left.len() == 1 && left[0]["kind"] == "receipt", "{left:?}");
    let receipt = left[0]["text"].as_str().unwrap();
    assert!(
        receipt.contains("Deletion receipt") && receipt.contains("transactions") && receipt.contains("SHA-256"),
        "{receipt}"
    );
    let log = h.json(&["consent", "log", "--json"]);
    let actions: Vec<String> =
        log.iter().map(|e| format!("{}:{}", e["bank"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    assert_eq!(actions.iter().filter(|a| a.ends_with(":grant")).count(), 4);
    assert!(actions.ends_with(&["citi:revoke".to_string(), "citi:purge".to_string()]), "{actions:?}");
    assert!(log.iter().all(|e| e["at"].is_string()));
    let banks = h.json(&["banks", "--json"]);
    let citi = banks.iter().find(|b| b["id"] == "citi").unwrap();
    assert_eq!(citi["consent"], "revoked");
    let err = h.fail(&["say", "citi", "balance"]);
    assert!(err.contains("not shared"), "{err}");
}

/// Every transaction as the bank knows it, without the store's own row ids
/// (which follow the order rows were written in: an authorisation held for
/// its posting within a batch is written when it posts or at the batch's
/// end, and where batches end depends on timing), in the bank's id order.
fn history(json: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = serde_json::from_str(json).unwrap();
    for r in &mut rows {
        let o = r.as_object_mut().unwrap();
        o.remove("id");
        let paired = !o["transfer_id"].is_null();
        o.insert("transfer_id".into(), paired.into());
    }
    rows.sort_by_key(|r| (r["bank"].to_string(), r["external_id"].to_string()));
    rows
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let run = |seed: &str| {
        let h = Home::new();
        h.ok(&["consent", "grant", "chase"]);
        h.ok(&["--now", NOW, "feed", "--seed", seed, "--events", "500"]);
        history(&h.ok(&["transactions", "--limit", "1000", "--json"]))
    };
    let (a, b) = (run("42"), run("42"));
    assert!(a.len() > 300, "{}", a.len());
    assert_eq!(a, b);
    let other = run("43");
    assert_ne!(a, other);
}

#[test]
fn feeding_without_consent_is_refused_clearly() {
    let h = Home::new();
    let err = h.fail(&["feed", "--events", "10"]);
    assert!(err.contains("consent grant"), "{err}");
}

#[test]
fn errors_are_clear_and_never_panics() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    let err = h.fail(&["say", "monzo", "hi"]);
    assert!(err.contains("no bank \"monzo\""), "{err}");
    let err = h.fail(&["consent", "grant", "nope"]);
    assert!(err.contains("finbox banks"), "{err}");
    let err = h.fail(&["alerts", "ack", "12345", "--it-was-me"]);
    assert!(err.contains("no alert 12345"), "{err}");
    let err = h.fail(&["transactions", "--account", "zzz"]);
    assert!(err.contains("no account"), "{err}");
    // A cause the message quotes already is said once.
    let folder = h.dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let err = h.fail(&["--db", folder.to_str().unwrap(), "banks"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot open the store") && err.contains("Is a directory"), "{err}");
}

#[test]
fn a_file_that_is_not_a_store_is_never_modified() {
    let h = Home::new();
    let path = h.dir.path().join("budget.xlsx");
    std::fs::write(&path, b"PK\x03\x04 definitely a spreadsheet").unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = h.fail(&["--db", path.to_str().unwrap(), "banks"]);
    assert!(err.contains("is not a finbox store"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_broken_config_names_file_line_and_column() {
    let h = Home::new();
    let path = h.dir.path().join("config.toml");
    std::fs::write(&path, "seed = 3\nbanks_dir = [unclosed\n").unwrap();
    let err = h.fail(&["--config", path.to_str().unwrap(), "banks"]);
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains("line 2, column"), "{err}");
    assert!(!h.db().exists(), "nothing is created when the settings are broken");
}

#[test]
fn bank_text_never_puts_escapes_on_stdout() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    h.ok(&["say", "chase", "hello\u{1b}]0;pwned\u{7}\u{1b}[2J there"]);
    let out = h.ok(&["messages", "chase"]);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("hello there"), "{out}");
}

#[test]
fn export_streams_every_transaction_in_three_formats() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    h.ok(&["--now", NOW, "feed", "--seed", "3", "--events", "600"]);
    let balances = h.json(&["balances", "--json"]);
    let count: usize = h.json(&["transactions", "--limit", "100000", "--json"]).len();

    // CSV: opening + the sum of each account's posted amounts is its
    // balance; with the pending ones, what is available.
    let csv_text = h.ok(&["export", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut sums: std::collections::HashMap<String, (i64, i64)> = Default::default();
    let mut rows = 0;
    for rec in reader.records() {
        let rec = rec.unwrap();
        let sum = sums.entry(rec[2].to_string()).or_default();
        let minor = rec[6].parse::<i64>().unwrap();
        match &rec[12] {
            "posted" => sum.0 += minor,
            "pending" => sum.1 += minor,
            other => panic!("status {other:?}"),
        }
        rows += 1;
    }
    assert_eq!(rows, count);
    assert!(sums.values().any(|s| s.1 != 0), "a simulated bank has authorisations pending");
    for b in &balances {
        let acct = b["account"].as_str().unwrap();
        let (posted, pending) = sums.get(acct).copied().unwrap_or_default();
        assert_eq!(posted, b["balance_minor"].as_i64().unwrap() - b["opening_minor"].as_i64().unwrap(), "{acct}");
        assert_eq!(posted + pending, b["available_minor"].as_i64().unwrap() - b["opening_minor"].as_i64().unwrap());
    }

    // JSON: one array with the same rows, oldest first.
    let json = h.json(&["export", "--format", "json"]);
    assert_eq!(json.len(), count);
    let dates: Vec<&str> = json.iter().map(|t| t["posted_at"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));

    // Ledger: an opening entry per account and one entry per transaction,
    // each with two postings, except a transfer between two accounts: one
    // entry for its two legs; written to a private file.
    let pairs: std::collections::HashSet<i64> = json.iter().filter_map(|t| t["transfer_id"].as_i64()).collect();
    let path = h.dir.path().join("out.journal");
    h.ok(&["export", "--format", "ledger", "--output", path.to_str().unwrap()]);
    let journal = std::fs::read_to_string(&path).unwrap();
    let entries = journal.lines().filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit())).count();
    assert_eq!(entries, count - pairs.len() + balances.len());
    assert!(journal.contains("Equity:Opening Balances") && journal.contains("Assets:Chase:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[cfg(unix)]
#[test]
fn a_world_readable_store_is_reported_and_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    std::fs::set_permissions(h.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = h.cmd(&["banks"]).assert().success().get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was readable by other users") && err.contains("0600"), "{err}");
    assert_eq!(std::fs::metadata(h.db()).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_store_locked_by_another_writer_gives_a_clear_message() {
    let h = Home::new();
    h.ok(&["consent", "grant", "citi"]);
    let c = rusqlite::Connection::open(h.db()).unwrap();
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = h.fail(&["consent", "grant", "chase"]);
    assert!(err.contains("the store is busy") && err.contains("try again"), "{err}");
    c.execute_batch("ROLLBACK").unwrap();
    h.ok(&["consent", "grant", "chase"]);
}

#[test]
fn the_log_holds_no_amounts_account_numbers_or_message_text() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "9", "--events", "800"]);
    h.ok(&["say", "chase", "balance"]);
    let log = std::fs::read_to_string(h.db().with_file_name("finbox.log")).unwrap();
    assert!(!log.is_empty(), "the log should record what happened");
    assert!(!log.contains('$') && !log.contains('•'), "{log}");
    assert!(!log.contains("Here are your balances"), "{log}");
}

#[test]
fn quarantine_starts_empty_and_lists_as_json() {
    let h = Home::new();
    h.ok(&["consent", "grant", "chase"]);
    assert!(h.ok(&["quarantine"]).contains("Nothing refused"));
    assert!(h.json(&["quarantine", "--json"]).is_empty());
}

// ------------------------------------------------------------ consent expiry

#[test]
fn a_grant_lasts_90_days_can_be_renewed_and_expires_like_a_revoke() {
    let h = Home::new();
    let at = |t: &str| format!("{t}T12:00:00Z");
    let (granted, soon, expired) = (at("2026-11-23"), at("2027-02-16"), at("2027-05-18"));
    let out = h.ok(&["--now", &granted, "consent", "grant", "chase"]);
    assert!(out.contains("Chase (chase) is shared until Feb 21, 2027."), "{out}");

    let banks = h.json(&["--now", &granted, "banks", "--json"]);
    let chase = &banks[0];
    assert_eq!((&chase["consent"], &chase["expired"]), (&Value::from("granted"), &Value::from(false)));
    assert_eq!(chase["consent_expires_at"], "2027-02-21T12:00:00+00:00");
    assert!(banks[1..].iter().all(|b| b["consent_expires_at"].is_null() && b["expired"] == false));
    let table = h.ok(&["--now", &granted, "banks"]);
    assert!(table.contains("UNTIL") && table.contains("Feb 21, 2027"), "{table}");
    assert!(!table.contains("renew"), "no warning 90 days ahead: {table}");

    // Five days before the end, `banks` says so and how to renew.
    let table = h.ok(&["--now", &soon, "banks"]);
    assert!(
        table.contains(
            "Sharing with Chase ends in 5 days, on Feb 21, 2027; renew it with `finbox consent renew chase`."
        ),
        "{table}"
    );
    let out = h.ok(&["--now", &soon, "consent", "renew", "chase"]);
    assert!(out.contains("Chase (chase) is shared until May 17, 2027."), "{out}");

    // Past the end: expired, recorded like a revoke, and the bank says so.
    let banks = h.json(&["--now", &expired, "banks", "--json"]);
    assert_eq!((&banks[0]["consent"], &banks[0]["expired"]), (&Value::from("revoked"), &Value::from(true)));
    assert_eq!(banks[0]["consent_expires_at"], "2027-05-17T12:00:00+00:00");
    let table = h.ok(&["--now", &expired, "banks"]);
    assert!(table.contains("expired"), "{table}");
    assert!(
        table.contains("Sharing with Chase expired on May 17, 2027; renew it with `finbox consent renew chase`."),
        "{table}"
    );
    let log = h.json(&["--now", &expired, "consent", "log", "--json"]);
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["grant", "renew", "expire"]);
    assert_eq!(log[2]["at"], "2027-05-17T12:00:00+00:00");
    assert!(log[1]["detail"].as_str().unwrap().contains("until 2027-05-17"), "{log:?}");
    let msgs = h.json(&["--now", &expired, "messages", "chase", "--json"]);
    let last = msgs.last().unwrap()["text"].as_str().unwrap();
    assert!(last.contains("Sharing with Chase expired on May 17, 2027") && last.contains("renew"), "{last}");
    let err = h.fail(&["--now", &expired, "say", "chase", "balance"]);
    assert!(err.contains("not shared"), "{err}");
    let err = h.fail(&["--now", &expired, "feed", "--events", "10"]);
    assert!(err.contains("no bank is shared"), "{err}");

    // Renewing shares it again; a bank never shared is not renewed.
    let out = h.ok(&["--now", &expired, "consent", "renew", "--all"]);
    assert_eq!(
        out.trim(),
        "Chase (chase) is shared again, until Aug 16, 2027. Its feed delivers when finbox runs (`finbox` or `finbox feed`)."
    );
    let err = h.fail(&["--now", &expired, "consent", "renew", "citi"]);
    assert!(err.contains("citi is not shared") && err.contains("finbox consent grant citi"), "{err}");
    // A grant of a shared bank renews it.
    let out = h.ok(&["--now", &expired, "consent", "grant", "chase"]);
    assert!(out.contains("renewed") && out.contains("Aug 16, 2027"), "{out}");
}

#[test]
fn the_consent_term_comes_from_the_settings_and_is_checked() {
    let h = Home::new();
    let config = h.dir.path().join("config/finbox/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[consent]\ndays = 30\n").unwrap();
    let out = h.ok(&["--now", "2026-11-23T12:00:00Z", "consent", "grant", "citi"]);
    assert!(out.contains("Citi (citi) is shared until Dec 23, 2026."), "{out}");
    std::fs::write(&config, "seed = 3\n\n[consent]\ndays = 0\n").unwrap();
    let err = h.fail(&["banks"]);
    assert!(err.contains(&config.display().to_string()), "{err}");
    assert!(err.contains("line 4") && err.contains("[consent] days") && err.contains("1 to 3650"), "{err}");
    std::fs::write(&config, "[consent]\ndays = 30\nweeks = 2\n").unwrap();
    let err = h.fail(&["banks"]);
    assert!(err.contains("unknown field `weeks`") && err.contains("line 3"), "{err}");
}

/// Whether the file's bytes hold `needle`, in any letter case.
fn file_holds(path: &std::path::Path, needle: &str) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let needle = needle.to_ascii_lowercase().into_bytes();
    bytes.to_ascii_lowercase().windows(needle.len()).any(|w| w == needle.as_slice())
}

#[test]
fn a_purge_leaves_no_copy_in_the_store_file_or_its_wal() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "5", "--events", "400"]);
    let csv = h.dir.path().join("activity.csv");
    std::fs::write(&csv, "Date,Description,Amount\n2026-11-14,QUOKKABURGER EMPORIUM,-42.17\n").unwrap();
    h.ok(&["--now", NOW, "import", csv.to_str().unwrap(), "--bank", "citi", "--account", "4242"]);
    h.ok(&["--now", NOW, "say", "citi", "about my vermilionotter subscription"]);
    let wal = h.db().with_extension("db-wal");
    assert!(file_holds(&h.db(), "quokkaburger") || file_holds(&wal, "quokkaburger"), "the fixture is stored");

    let out = h.ok(&["consent", "revoke", "citi", "--purge"]);
    assert!(out.contains("deleted"), "{out}");
    for needle in ["quokkaburger", "vermilionotter"] {
        assert!(!file_holds(&h.db(), needle), "{needle} is still in the store file");
        assert!(!file_holds(&wal, needle), "{needle} is still in the WAL");
    }
    assert!(!h.json(&["transactions", "--bank", "chase", "--json"]).is_empty(), "the other banks stay");
}

#[test]
fn notices_give_dates_in_the_users_time_zone() {
    let h = Home::new();
    // Granted at 03:00 UTC on Nov 20: 90 days on is 03:00 UTC on Feb 18,
    // still the evening of Feb 17 eight hours west of UTC.
    let run = |tz: &str, args: &[&str]| {
        let out = Command::from_std(common::finbox(
            h.dir.path(),
            &[("TZ", tz), ("FINBOX_NOW", "2026-11-20T03:00:00Z")],
            args,
        ))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
        String::from_utf8(out).unwrap()
    };
    run("XST+8", &["consent", "grant", "chase"]);
    run("UTC", &["consent", "grant", "citi"]);
    let chase = run("UTC", &["messages", "chase", "--limit", "5"]);
    assert!(chase.contains("with finbox until Feb 17, 2027."), "{chase}");
    let citi = run("UTC", &["messages", "citi", "--limit", "5"]);
    assert!(citi.contains("with finbox until Feb 18, 2027."), "{citi}");
}

#[test]
fn the_store_is_never_read_as_a_statement_nor_exported_over() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["feed", "--events", "300"]);
    let before = h.json(&["transactions", "--limit", "1000", "--json"]).len();
    let db = h.db();
    let wal = db.with_file_name(format!("{}-wal", db.file_name().unwrap().to_string_lossy()));
    // Another spelling of the same file (a symlink) is the same file.
    let link = db.with_file_name("also-the-store.csv");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    for target in [&db, &link] {
        let err = h.fail(&["import", target.to_str().unwrap(), "--bank", "chase"]);
        assert!(err.contains("finbox's own store"), "{err}");
        let err = h.fail(&["export", "-o", target.to_str().unwrap()]);
        assert!(err.contains("finbox's own store") && err.contains("nothing was written"), "{err}");
    }
    let err = h.fail(&["export", "-o", wal.to_str().unwrap()]);
    assert!(err.contains("finbox's own store"), "{err}");
    assert_eq!(h.json(&["transactions", "--limit", "1000", "--json"]).len(), before);
}

#[test]
fn a_purge_of_a_bank_with_history_leaves_no_fragment_in_any_store_file() {
    // Pages written before the purge (splits, moved cells) must hold no
    // copy either: the purged bank's rows are spread through the store.
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    let csv = h.dir.path().join("activity.csv");
    let mut text = String::from("Date,Description,Amount\n");
    for i in 0..400 {
        text.push_str(&format!(
            "2026-{:02}-{:02},QUOKKABURGER EMPORIUM {i},-{}.{:02}\n",
            6 + i % 5,
            1 + i % 28,
            40 + i,
            i % 100
        ));
    }
    std::fs::write(&csv, text).unwrap();
    h.ok(&["--now", NOW, "import", csv.to_str().unwrap(), "--bank", "citi", "--account", "4242"]);
    h.ok(&["--now", NOW, "feed", "--seed", "5", "--events", "20000"]);
    let out = h.ok(&["consent", "revoke", "citi", "--purge"]);
    assert!(out.contains("deleted"), "{out}");
    let name = h.db().file_name().unwrap().to_string_lossy().into_owned();
    for suffix in ["", "-wal", "-shm"] {
        let file = h.db().with_file_name(format!("{name}{suffix}"));
        assert!(!file_holds(&file, "quokkaburger"), "a purged merchant is still in {}", file.display());
        assert!(!file_holds(&file, "emporium"), "a purged search word is still in {}", file.display());
    }
    assert!(!h.json(&["transactions", "--bank", "chase", "--json"]).is_empty(), "the other banks stay");
}

#[test]
fn an_export_replaces_its_file_whole_and_private() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    let csv = h.dir.path().join("activity.csv");
    std::fs::write(&csv, "Date,Description,Amount\n2026-11-14,=HYPERLINK(\"http://evil\"),-42.17\n").unwrap();
    h.ok(&["--now", NOW, "import", csv.to_str().unwrap(), "--bank", "citi", "--account", "4242"]);
    let out = h.dir.path().join("export.csv");
    std::fs::write(&out, "an older, longer export that must not survive in part\n".repeat(100)).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    h.ok(&["export", "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("older"), "{text}");
    // A merchant that a spreadsheet would run as a formula is text.
    assert!(text.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","), "{text}");
    assert!(text.contains(",-42.17,-4217,"), "amounts stay numbers: {text}");
    // Nothing is left beside it.
    let names: Vec<String> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn hledger_and_ledger_read_a_description_that_starts_with_a_parenthesis_whole() {
    // "(ATM) Cash" used to become code "ATM" and description "Cash".
    let h = Home::new();
    h.ok(&["consent", "grant", "citi"]);
    let csv = h.dir.path().join("a.csv");
    std::fs::write(&csv, "Date,Description,Amount\n2026-11-14,(ATM) Cash,-40.00\n2026-11-15,,-2.00\n").unwrap();
    h.ok(&["--now", NOW, "import", csv.to_str().unwrap(), "--bank", "citi", "--account", "4242"]);
    let journal = h.dir.path().join("j.journal");
    h.ok(&["export", "--format", "ledger", "-o", journal.to_str().unwrap()]);
    let run = |tool: &str, args: &[&str]| {
        let out = std::process::Command::new(tool)
            .args(["-f", journal.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{tool} is needed for this test (scripts/test.sh installs it): {e}"));
        assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // hledger: txnidx,date,code,description,…
    let rows = run("hledger", &["register", "-O", "csv"]);
    for description in ["(ATM) Cash", "(no description)"] {
        assert!(rows.lines().any(|l| l.split("\",\"").nth(3) == Some(description)), "{description}: {rows}");
    }
    // ledger: date,code,payee,…
    let rows = run("ledger", &["csv"]);
    for description in ["(ATM) Cash", "(no description)"] {
        assert!(rows.lines().any(|l| l.split("\",\"").nth(2) == Some(description)), "{description}: {rows}");
    }
}

#[test]
fn a_clock_set_back_is_reported_and_the_feeds_go_on_from_now() {
    let h = Home::new();
    let (ahead, back) = ("2026-12-30T15:00:00Z", "2026-11-30T15:00:00Z");
    h.ok(&["--now", "2026-11-29T15:00:00Z", "consent", "grant", "--all"]);
    // A run with the clock a month ahead, then the clock right again.
    h.ok(&["--now", ahead, "feed", "--duration", "2"]);
    let out = h.cmd(&["--now", back, "feed", "--duration", "2"]).assert().success().get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this computer's clock says") && err.contains("2026-12-30"), "{err}");
    let thread = h.ok(&["--now", back, "messages", "chase", "--limit", "1000"]);
    assert!(thread.contains("clock is earlier than the last event of this feed (Dec 30, 2026)"), "{thread}");
}

#[test]
fn messages_say_how_to_answer_an_open_alert_and_the_store_does_not() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "11", "--events", "4000"]);
    let alerts = h.json(&["alerts", "--json"]);
    let alert = &alerts[0];
    let (id, bank) = (alert["id"].as_i64().unwrap(), alert["bank"].as_str().unwrap().to_string());
    let hint = format!("(answer it: finbox alerts ack {id} --it-was-me, or --not-me)");
    let shown = h.ok(&["messages", &bank, "--limit", "100000"]);
    assert!(shown.contains(&hint), "{shown}");
    let stored = h.json(&["messages", &bank, "--limit", "100000", "--json"]);
    assert!(stored.iter().all(|m| !m["text"].as_str().unwrap().contains("alerts ack")));
    h.ok(&["alerts", "ack", &id.to_string(), "--it-was-me"]);
    assert!(!h.ok(&["messages", &bank, "--limit", "100000"]).contains(&hint));
}

#[test]
fn a_keys_table_with_a_mistake_is_refused_with_file_line_and_key() {
    let h = Home::new();
    let config = h.dir.path().join("config/finbox");
    std::fs::create_dir_all(&config).unwrap();
    let file = config.join("config.toml");
    for (text, want) in [
        ("seed = 3\n\n[keys.alerts]\nnot_me = \"x\"\nfly = \"z\"\n", "line 5: [keys.alerts] fly: no such action"),
        (
            "[keys.alerts]\nnot_me = \"y\"\n",
            "line 2: [keys.alerts] not_me: y is the key of it-was-me in alerts already",
        ),
        ("[keys.global]\nquit = \"c\"\n", "line 2: [keys.global] quit: c is the key of consent in global already"),
        ("[keys.nowhere]\nquit = \"Q\"\n", "[keys] nowhere: no such context"),
        ("[keys.alerts]\nnot_me = \"Ctrl-x\"\n", "not a key"),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = h.fail(&["check-config"]);
        assert!(err.contains("config.toml") && err.contains(want), "{text:?}: {err}");
    }
    std::fs::write(&file, "[keys.alerts]\nnot_me = \"x\"\n").unwrap();
    let out = h.ok(&["check-config"]);
    assert!(out.contains("Settings are fine") && out.contains("4 bank profiles"), "{out}");
}

/// hledger reads the journal of a simulated store as the money means: no
/// transfer between the person's accounts and no card payment is income or
/// an expense, the cleared balance of every account is finbox's balance to
/// the cent, and with the pending authorisations (`!`) it is what is
/// available.
#[test]
fn hledger_agrees_with_finbox_and_counts_no_transfer_as_income_or_expense() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "5", "--events", "6000"]);
    let journal = h.dir.path().join("all.journal");
    h.ok(&["export", "--format", "ledger", "-o", journal.to_str().unwrap()]);
    let hledger = |args: &[&str]| {
        let out = Command::new("hledger")
            .args(["-f", journal.to_str().unwrap()])
            .args(args)
            .output()
            .expect("hledger is needed for this test (scripts/test.sh installs it)");
        assert!(out.status.success(), "hledger: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let is = hledger(&["incomestatement", "--flat"]);
    for word in ["Transfer", "Payment", "Thank You"] {
        assert!(!is.contains(word), "{word} in the income statement:\n{is}");
    }
    assert!(is.contains("Income:Income") && is.contains("Expenses:Groceries"), "{is}");
    // Some legs were paired, and none is left unpaired.
    let transfers = h.json(&["transfers", "--limit", "100000", "--json"]);
    assert!(transfers.len() > 20 && transfers.iter().all(|t| t["transfer_id"].is_i64()), "{transfers:?}");

    let minor = |amount: &str| -> i64 {
        let negative = amount.contains('-');
        let digits: String = amount.chars().filter(|c| c.is_ascii_digit()).collect();
        let n: i64 = digits.parse().unwrap();
        if negative { -n } else { n }
    };
    let balances_of = |args: &[&str]| -> std::collections::HashMap<String, i64> {
        let csv = hledger(&[&["balance", "--flat", "-O", "csv"], args].concat());
        csv.lines()
            .skip(1)
            .filter_map(|l| {
                let (account, amount) = l.trim_matches('"').split_once("\",\"")?;
                Some((account.to_string(), minor(amount)))
            })
            .collect()
    };
    let (cleared, all) = (balances_of(&["-C"]), balances_of(&[]));
    let names: std::collections::HashMap<String, String> = h
        .json(&["banks", "--json"])
        .iter()
        .map(|b| (b["id"].as_str().unwrap().to_string(), b["name"].as_str().unwrap().to_string()))
        .collect();
    let accounts = h.json(&["balances", "--json"]);
    assert_eq!(accounts.len(), 12);
    let mut pending = 0;
    for a in &accounts {
        let top = if a["kind"] == "credit" { "Liabilities" } else { "Assets" };
        let digits: String = a["mask"].as_str().unwrap().chars().filter(|c| c.is_ascii_digit()).collect();
        let name = format!("{top}:{}:{} {digits}", names[a["bank"].as_str().unwrap()], a["name"].as_str().unwrap());
        let balance = a["balance_minor"].as_i64().unwrap();
        let available = a["available_minor"].as_i64().unwrap();
        assert_eq!(cleared.get(&name).copied().unwrap_or(0), balance, "{name}: hledger -C vs finbox balances");
        assert_eq!(all.get(&name).copied().unwrap_or(0), available, "{name}: hledger vs finbox's available");
        pending += (balance != available) as usize;
    }
    assert!(pending > 0, "the simulated banks left authorisations pending");
}

#[test]
fn an_ack_without_a_verdict_is_a_usage_error_naming_both_flags() {
    let h = Home::new();
    let out = h.cmd(&["alerts", "ack", "3"]).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--it-was-me") && err.contains("--not-me"), "{err}");
    assert!(err.contains("Usage: finbox alerts ack"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_limit_of_zero_prints_nothing() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "3", "--events", "600"]);
    for command in [&["transactions"][..], &["transfers"], &["messages", "chase"]] {
        let run = |extra: &[&str]| h.ok(&[command, extra].concat());
        assert!(!run(&["--limit", "1"]).is_empty(), "{command:?}");
        assert_eq!(run(&["--limit", "0"]), "", "{command:?}: no rows and no header");
        assert_eq!(run(&["--limit", "0", "--json"]).trim(), "[]", "{command:?}");
    }
}

#[test]
fn bank_ids_are_read_in_any_case_and_a_near_miss_names_the_bank_meant() {
    let h = Home::new();
    assert!(h.ok(&["consent", "grant", "CHASE"]).contains("Chase (chase) is shared"));
    assert!(h.ok(&["say", "Chase", "balance"]).contains("no accounts with us yet"));
    assert!(h.ok(&["messages", "cHaSe"]).contains("[") && h.ok(&["consent", "renew", "Chase"]).contains("Chase"));
    h.ok(&["transactions", "--bank", "Chase"]);
    h.cmd(&["export", "--bank", "CHASE"]).assert().success();
    let csv = h.dir.path().join("a.csv");
    std::fs::write(&csv, "Date,Description,Amount\n2026-11-02,Coffee,-3.50\n").unwrap();
    let args = ["--now", NOW, "import", csv.to_str().unwrap(), "--bank", "Chase", "--account", "5555"];
    assert!(h.ok(&args).contains("Added 1 transaction"), "import --bank Chase");
    for (typed, meant) in
        [("chse", "`chase`"), ("Wells Fargo", "`wellsfargo`"), ("usbnk", "`usbank`"), ("c", "`chase` or `citi`")]
    {
        let err = h.fail(&["say", typed, "hi"]);
        assert!(err.contains(&format!("no bank \"{typed}\"; did you mean {meant}?")), "{err}");
    }
    let err = h.fail(&["import", csv.to_str().unwrap(), "--bank", "chasse", "--account", "5555"]);
    assert!(err.contains("did you mean `chase`?"), "{err}");
    let err = h.fail(&["consent", "revoke", "monzo"]);
    assert!(err.contains("no bank \"monzo\"; `finbox banks` lists the bank ids"), "{err}");
    assert!(h.ok(&["consent", "revoke", "CHASE"]).contains("Chase (chase) is no longer shared"));
}

#[test]
fn a_read_of_a_missing_store_says_so_and_creates_nothing() {
    let h = Home::new();
    let folder = h.dir.path().join("typo");
    let db = folder.join("finbox.db");
    let at = db.to_str().unwrap();
    let csv = h.dir.path().join("a.csv");
    std::fs::write(&csv, "Date,Description,Amount\n2026-11-02,Coffee,-3.50\n").unwrap();
    let dry_run = ["import", csv.to_str().unwrap(), "--bank", "chase", "--account", "5555", "--dry-run"];
    let out = h.dir.path().join("out.csv");
    let export = ["export", "-o", out.to_str().unwrap()];
    for args in [
        &["balances"][..],
        &["banks", "--json"],
        &["transactions"],
        &["alerts"],
        &["export"],
        &export,
        &["transfers"],
        &["messages", "chase"],
        &["quarantine"],
        &["consent", "log"],
        &["consent", "renew", "--all"],
        &["consent", "revoke", "chase"],
        &["say", "chase", "balance"],
        &["alerts", "ack", "1", "--it-was-me"],
        &dry_run,
    ] {
        let err = h.fail(&[&["--db", at][..], args].concat());
        assert!(err.contains(&format!("no store at {at}")) && err.contains("finbox consent grant"), "{args:?}: {err}");
        assert!(!folder.exists() && !out.exists(), "{args:?} created something");
    }
    // Commands that put data in the store make it.
    h.ok(&["--db", at, "consent", "grant", "chase"]);
    assert!(db.exists());
    for made_by in
        [&["--now", NOW, "feed", "--events", "10"][..], &["import", csv.to_str().unwrap(), "--bank", "chase"]]
    {
        let db = h.dir.path().join(format!("{}.db", made_by.len()));
        let at = db.to_str().unwrap();
        // No bank is shared in a new store, so these refuse, but the store is there.
        h.fail(&[&["--db", at][..], made_by].concat());
        assert!(db.exists(), "{made_by:?}");
    }
}

#[test]
fn bank_replies_name_accounts_as_the_screen_does_never_by_internal_id() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "3", "--events", "600"]);
    let accounts = h.json(&["balances", "--json"]);
    for bank in ["chase", "wellsfargo", "citi", "usbank"] {
        let mut replies = String::new();
        for ask in ["last 20", "balance", "spending", "alerts", "freeze card", "unfreeze card"] {
            replies += &h.ok(&["--now", NOW, "say", bank, ask]);
        }
        assert!(replies.contains(" •"), "{replies}");
        for a in accounts.iter().filter(|a| a["bank"] == bank) {
            let id = a["account"].as_str().unwrap();
            assert!(!replies.contains(&format!("({id})")), "{bank}: {id} shown in\n{replies}");
        }
    }
}

#[test]
fn mask_hides_figures_and_merchants_in_what_is_printed() {
    let h = Home::new();
    h.ok(&["consent", "grant", "--all"]);
    h.ok(&["--now", NOW, "feed", "--seed", "7", "--events", "1500"]);
    let figure =
        |s: &str| s.char_indices().any(|(i, c)| c == '$' && s[i + 1..].starts_with(|d: char| d.is_ascii_digit()));
    let plain = h.ok(&["transactions", "--limit", "30"]);
    assert!(figure(&plain));
    let merchant = h.json(&["transactions", "--limit", "1", "--json"])[0]["merchant"].as_str().unwrap().to_string();
    for args in [
        vec!["--mask", "transactions", "--limit", "30"],
        vec!["--mask", "balances"],
        vec!["--mask", "messages", "chase", "--limit", "50"],
        vec!["--mask", "say", "chase", "balance"],
        vec!["transactions", "--limit", "30", "--json", "--mask"],
        vec!["balances", "--json", "--mask"],
    ] {
        let out = h.ok(&args);
        assert!(!figure(&out), "{args:?}: {out}");
        assert!(!out.contains(&merchant), "{args:?} shows {merchant}: {out}");
        assert!(!out.contains("\"balance_minor\": 1") && !out.contains("\"amount_minor\": -"), "{args:?}: {out}");
    }
}

#[test]
fn the_simulated_offers_arrive_only_once_offers_are_shared() {
    let h = Home::new();
    let out = h.ok(&["consent", "grant", "chase"]);
    assert!(out.contains("It shares balances, transactions, messages, alerts;"), "{out}");
    h.ok(&["--now", NOW, "feed", "--seed", "3", "--events", "6000"]);
    let offers = |h: &Home| {
        h.json(&["messages", "chase", "--limit", "100000", "--json"])
            .iter()
            .filter(|m| m["kind"] == "offer" || m["text"].as_str().unwrap_or_default().contains("Chase Offers"))
            .count()
    };
    assert_eq!(offers(&h), 0, "offers are off by default");
    let out = h.ok(&["consent", "scopes", "chase", "balances,transactions,messages,alerts,offers"]);
    assert!(out.contains("now shares balances, transactions, messages, alerts, offers"), "{out}");
    h.ok(&["feed", "--seed", "4", "--events", "6000"]);
    assert!(offers(&h) > 0, "offers arrive once shared");
    // Narrowed again with --delete: none is left.
    let out = h.ok(&["consent", "scopes", "chase", "balances,transactions,messages,alerts", "--delete"]);
    assert!(out.contains("Deleted"), "{out}");
    assert_eq!(offers(&h), 0);
    let err = h.fail(&["consent", "scopes", "chase", "balance"]);
    assert!(err.contains("known: balances, transactions"), "{err}");
}

/// `consent verify`: whole (status 0), then, after the revoke's entry was
/// edited with sqlite3, the entry named (status 1).
#[test]
fn consent_verify_says_whether_the_log_is_whole_and_where_it_was_changed() {
    let h = Home::new();
    h.ok(&["--now", NOW, "consent", "grant", "chase"]);
    h.ok(&["--now", NOW, "consent", "grant", "citi"]);
    h.ok(&["--now", NOW, "consent", "revoke", "citi"]);
    let out = h.ok(&["consent", "verify"]);
    assert!(out.starts_with("The log is whole: 4 entries, from "), "{out}");
    let edit = std::process::Command::new("sqlite3")
        .args([&h.db().display().to_string(), "UPDATE chain SET detail = 'nothing happened' WHERE seq = 4"])
        .status()
        .expect("sqlite3 is needed for this test (apt-get install sqlite3)");
    assert!(edit.success());
    let out = h.cmd(&["consent", "verify"]).assert().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("The log was changed at entry 4 (revoke citi, 2026-11-20 15:00: nothing happened): its content does not match its hash."),
        "{err}"
    );
    // The log as it is listed stays readable.
    h.ok(&["consent", "log"]);
}

#[test]
fn a_consent_receipt_names_the_parties_scopes_and_terms() {
    let h = Home::new();
    h.ok(&["--now", NOW, "consent", "grant", "chase", "--scopes", "balances,transactions"]);
    h.ok(&["--now", NOW, "feed", "--seed", "5", "--events", "800"]);
    let out = h.ok(&["--now", NOW, "consent", "show", "chase", "--json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    for key in ["id", "parties", "purpose", "scopes", "accounts", "created", "expires", "lookback", "status"] {
        assert!(r.get(key).is_some(), "{key}: {r}");
    }
    assert_eq!(r["status"], "active");
    assert_eq!(r["scopes"], serde_json::json!(["balances", "transactions"]));
    assert_eq!(r["expires"]["duration"], "P90D");
    assert!(r["purpose"].as_str().unwrap().contains("Nothing leaves this machine"));
    assert_eq!(r["parties"].as_array().unwrap().len(), 2, "the bank and finbox, no third party");
    assert!(r["accounts"].as_array().unwrap().iter().any(|a| a.as_str().unwrap().contains('•')));
    assert!(r["lookback"].as_str().is_some_and(|l| l.starts_with('P') && l.ends_with('D')), "{r}");
    let text = h.ok(&["--now", NOW, "consent", "show", "chase"]);
    assert!(text.contains("status    active") && text.contains("scopes    balances, transactions"), "{text}");
    h.ok(&["--now", NOW, "consent", "revoke", "chase"]);
    let r: Value = serde_json::from_str(&h.ok(&["--now", NOW, "consent", "show", "chase", "--json"])).unwrap();
    assert_eq!(r["status"], "revoked");
}

#[test]
fn the_bank_understands_periods_categories_merchants_and_accounts() {
    let h = Home::new();
    h.ok(&["--now", NOW, "consent", "grant", "chase"]);
    h.ok(&["--now", NOW, "feed", "--seed", "5", "--events", "1500"]);
    let say = |q: &str| h.ok(&["--now", NOW, "say", "chase", q]);
    let out = say("how much did I spend on groceries last month");
    assert!(out.contains("on Groceries in October 2026") && out.contains("•"), "{out}");
    // The figure agrees with the transactions it cites: a sum of charges.
    assert!(out.lines().next().unwrap().contains('$'), "{out}");
    let merchant = h.json(&["transactions", "--bank", "chase", "--limit", "1", "--json"])[0]["merchant"]
        .as_str()
        .unwrap()
        .to_string();
    let out = say(&format!("when did I last pay {merchant}"));
    assert!(out.starts_with(&format!("You last paid {merchant}")), "{out}");
    let out = say("what's my savings balance");
    assert!(out.contains("Savings") && !out.contains("Checking"), "{out}");
    let out = say("show the last 3 from checking");
    assert!(out.contains("Your last 3 transactions") && !out.contains("Savings"), "{out}");
    let out = say("sing me a song");
    assert!(out.contains("You could ask") && out.matches('"').count() >= 6, "{out}");
}

#[test]
fn the_nearest_atm_comes_from_the_profile_and_the_location_setting() {
    let h = Home::new();
    h.ok(&["consent", "grant", "wellsfargo"]);
    let out = h.ok(&["say", "wellsfargo", "nearest atm"]);
    assert!(out.contains("[location] near"), "no place set: it says how: {out}");
    let config = h.dir.path().join("config/finbox/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[location]\nnear = \"94158\"\n").unwrap();
    let out = h.ok(&["say", "wellsfargo", "nearest atm"]);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with('•')).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("Wells Fargo Mission Bay") && lines[0].contains("mi, no fee"), "{out}");
    let miles: Vec<f64> =
        lines.iter().map(|l| l.split(" — ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()).collect();
    assert!(miles.windows(2).all(|w| w[0] <= w[1]), "nearest first: {miles:?}");
    std::fs::write(&config, "[location]\nnear = \"somewhere\"\n").unwrap();
    let err = h.fail(&["say", "wellsfargo", "nearest atm"]);
    assert!(err.contains("[location] near") && err.contains("line 2"), "{err}");
}

#[test]
fn rules_from_the_settings_shape_what_arrives_and_say_what_matched() {
    let h = Home::new();
    let config = h.dir.path().join("config/finbox/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[[rules]]\nname = \"coffee\"\nmerchant_regex = \"starbucks\"\ncategory = \"Caffeine\"\n")
        .unwrap();
    h.ok(&["consent", "grant", "chase"]);
    h.ok(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "3", "--events", "3000"]);
    let rows = h.json(&["transactions", "--bank", "chase", "--limit", "3000", "--json"]);
    let ruled: Vec<&serde_json::Value> = rows.iter().filter(|t| t["rule"] == "coffee").collect();
    assert!(!ruled.is_empty(), "the simulated Chase buys coffee at Starbucks");
    assert!(ruled.iter().all(|t| t["category"] == "Caffeine" && t["merchant"] == "Starbucks"));
    assert!(rows.iter().all(|t| t["rule"].is_null() || t["rule"] == "coffee"));
    let listed = h.ok(&["rules"]);
    assert!(listed.contains("coffee") && listed.contains(&ruled.len().to_string()), "{listed}");
    // A rule changed, applied again: the bank's category comes back.
    std::fs::write(&config, "[[rules]]\nname = \"coffee\"\nmerchant_contains = \"starbucks\"\nhide = true\n").unwrap();
    let out = h.ok(&["rules", "apply"]);
    assert!(out.contains(&format!("{} changed", ruled.len())), "{out}");
    let rows = h.json(&["transactions", "--bank", "chase", "--limit", "3000", "--json"]);
    assert!(rows.iter().filter(|t| t["rule"] == "coffee").all(|t| t["category"] != "Caffeine"));
    // A rule that cannot work is refused with its place.
    std::fs::write(&config, "seed = 1\n[[rules]]\nmerchant_regex = \"(\"\ncategory = \"X\"\n").unwrap();
    let err = h.fail(&["rules"]);
    assert!(err.contains("line 2") && err.contains("not a pattern"), "{err}");
}
