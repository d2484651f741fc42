//! Real banks through SimpleFIN Bridge, end to end: the real binary against
//! a SimpleFIN server the test starts on 127.0.0.1 (HTTPS, its own
//! certificate authority, given to finbox as `SSL_CERT_FILE`).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::simplefin::Bridge;
use serde_json::{Value, json};

struct Home {
    dir: tempfile::TempDir,
    bridge: Bridge,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let bridge = Bridge::start(dir.path());
        Home { dir, bridge }
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let ca = self.bridge.ca_file().display().to_string();
        let mut cmd = common::finbox(self.dir.path(), &[("SSL_CERT_FILE", &ca)], args);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        self.assert_no_secret(&out);
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        let said = || format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{args:?}: {}", said());
        String::from_utf8(out.stdout).unwrap()
    }

    fn fail(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "{args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).unwrap()
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn link(&self) -> String {
        let out = self.run(&["link", "simplefin"], &self.bridge.setup_token());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The Access URL's password appears nowhere: outputs, the log.
    fn assert_no_secret(&self, out: &Output) {
        let secret = self.bridge.password();
        for text in [&out.stdout, &out.stderr] {
            assert!(!String::from_utf8_lossy(text).contains(&secret), "the password leaked");
        }
        if let Ok(log) = std::fs::read_to_string(log_path(self.dir.path())) {
            assert!(!log.contains(&secret), "the password is in the log");
        }
    }
}

fn log_path(home: &Path) -> std::path::PathBuf {
    common::store_path(home).with_file_name("finbox.log")
}

fn txn(id: &str, posted: i64, amount: &str, description: &str, pending: bool) -> Value {
    json!({"id": id, "posted": if pending { 0 } else { posted }, "transacted_at": posted, "amount": amount,
           "description": description, "pending": pending})
}

/// Two connections; My Bank with a checking account (a pending charge
/// among its transactions) and a card.
fn accounts(now: i64, checking: Vec<Value>) -> Value {
    json!({
        "errlist": [],
        "connections": [
            {"conn_id": "CON-1", "name": "My Bank - Jill", "org_id": "ORG-1", "org_url": "https://www.mybank.com",
             "sfin_url": "https://sfin.mybank.com"},
            {"conn_id": "CON-2", "name": "Credit Union", "org_id": "ORG-2", "sfin_url": "https://x"}],
        "accounts": [
            {"id": "ACT-1", "name": "Everyday Checking (4821)", "conn_id": "CON-1", "currency": "USD",
             "balance": "1200.50", "available-balance": "1190.50", "balance-date": now, "transactions": checking},
            {"id": "ACT-2", "name": "Rewards Visa (9913)", "conn_id": "CON-1", "currency": "USD",
             "balance": "-310.00", "balance-date": now, "transactions": [
                 txn("c1", now - 86_400, "-310.00", "AMAZON.COM", false)]},
            {"id": "ACT-3", "name": "Share Savings", "conn_id": "CON-2", "currency": "USD",
             "balance": "50.00", "balance-date": now, "transactions": []}]
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn linking_claims_once_and_lists_each_connection_unshared() {
    let h = Home::new();
    h.bridge.set_accounts(accounts(now(), vec![]));
    let token = h.bridge.setup_token();
    let out = h.run(&["link", "simplefin"], &token);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 connections") && stdout.contains("mybank") && stdout.contains("not shared"), "{stdout}");
    let banks = h.json(&["banks", "--json"]);
    let mine = banks.iter().find(|b| b["id"] == "mybank").unwrap();
    assert_eq!(mine["consent"], "revoked", "{mine}");
    // Nothing about the banks was asked beyond the listing (balances only).
    let asked: Vec<_> = h.bridge.requests().into_iter().filter(|r| r.path.ends_with("/accounts")).collect();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].query.iter().any(|(k, v)| k == "balances-only" && v == "1"), "{:?}", asked[0].query);
    // The same token again: the bridge refuses it, and finbox says why that matters.
    let err = h.fail(&["link", "simplefin"], &token);
    assert!(err.contains("compromised"), "{err}");
    // A token is never a command-line argument.
    let err = h.fail(&["link", "simplefin", &token], "");
    assert!(err.contains("unexpected argument"), "{err}");
}

#[test]
fn a_sync_stores_pending_and_posted_and_a_posting_replaces_its_pending_row() {
    let h = Home::new();
    let t = now();
    h.bridge.set_accounts(accounts(
        t,
        vec![
            txn("p1", t - 3_600, "-42.00", "SHAKE SHACK 1234", true),
            txn("a1", t - 5 * 86_400, "-20.00", "TRADER JOES", false),
            txn("a2", t - 10 * 86_400, "2500.00", "PAYROLL ACME", false),
        ],
    ));
    h.link();
    h.ok(&["consent", "grant", "mybank"]);
    let out = h.ok(&["sync", "mybank"]);
    assert!(out.contains("4 transactions over 2 accounts"), "{out}");
    let balances = h.json(&["balances", "--json"]);
    let checking = balances.iter().find(|b| b["account"] == "ACT-1").unwrap_or_else(|| panic!("{balances:?}"));
    assert_eq!(checking["balance_minor"], 120_050, "the bank's balance, exactly: {checking}");
    assert_eq!(checking["pending_minor"], -4_200, "{checking}");
    let txns = h.json(&["transactions", "--bank", "mybank", "--json", "--limit", "50"]);
    assert_eq!(txns.iter().filter(|t| t["status"] == "pending").count(), 1, "{txns:?}");
    // The charge posts with a tip, under another id: one row, posted.
    h.bridge.set_accounts(accounts(
        t,
        vec![
            txn("x9", t - 600, "-50.40", "SHAKE SHACK 1234", false),
            txn("a1", t - 5 * 86_400, "-20.00", "TRADER JOES", false),
            txn("a2", t - 10 * 86_400, "2500.00", "PAYROLL ACME", false),
        ],
    ));
    h.ok(&["sync", "mybank"]);
    let txns = h.json(&["transactions", "--bank", "mybank", "--json", "--limit", "50"]);
    let shake: Vec<_> = txns.iter().filter(|t| t["merchant"].as_str().unwrap().contains("SHAKE")).collect();
    assert_eq!(shake.len(), 1, "{shake:?}");
    assert_eq!((shake[0]["status"].as_str(), shake[0]["amount_minor"].as_i64()), (Some("posted"), Some(-5_040)));
    // The later sync asked from ten days before the first one, with pending.
    let last = h.bridge.requests().into_iter().rfind(|r| r.path.ends_with("/accounts")).unwrap();
    let q = |k: &str| last.query.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_eq!(q("pending"), ["1"]);
    assert_eq!(q("version"), ["2"]);
    let start: i64 = q("start-date")[0].parse().unwrap();
    assert!((t - 10 * 86_400 - 120..=t - 10 * 86_400 + 120).contains(&start), "{start} vs {t}");
    assert_eq!(q("account"), ["ACT-1", "ACT-2"]);
    // The receipt names the bridge as a party, with the requests made.
    let r: Value = serde_json::from_str(&h.ok(&["consent", "show", "mybank", "--json"])).unwrap();
    let bridge = r["parties"].as_array().unwrap().iter().find(|p| p["role"] == "data access platform").unwrap();
    assert!(bridge["name"].as_str().unwrap().contains("127.0.0.1") && bridge["requests_24h"] == 2, "{r}");
}

#[test]
fn the_bridges_errors_are_said_in_the_banks_thread_and_the_command() {
    let h = Home::new();
    let mut set = accounts(now(), vec![]);
    set["errlist"] = json!([{"code": "con.auth", "msg": "Log in to My Bank again \u{1b}[31m", "conn_id": "CON-1"}]);
    h.bridge.set_accounts(set);
    h.link();
    h.ok(&["consent", "grant", "mybank"]);
    h.ok(&["sync"]);
    let msgs = h.json(&["messages", "mybank", "--json"]);
    let said = msgs.iter().find(|m| m["text"].as_str().unwrap().contains("Log in to My Bank again")).unwrap();
    assert!(!said["text"].as_str().unwrap().contains('\u{1b}'), "cleaned: {said}");
    h.bridge.set_status(402);
    let err = h.fail(&["sync", "mybank"], "");
    assert!(err.contains("not every bank") && h.ok_stdout_of(&["sync", "mybank"]).contains("payment"), "{err}");
    h.bridge.set_status(403);
    let out = h.ok_stdout_of(&["sync", "mybank"]);
    assert!(out.contains("revoked") || out.contains("refused"), "{out}");
    h.bridge.set_status(200);
    h.bridge.set_raw_body(Some(b"{\"accounts\": [".to_vec()));
    assert!(h.ok_stdout_of(&["sync", "mybank"]).contains("not a SimpleFIN account set"));
    h.bridge.set_raw_body(Some(vec![b' '; 5 * 1024 * 1024]));
    let out = h.ok_stdout_of(&["sync", "mybank"]);
    assert!(out.contains("large") || out.contains("MB") || out.contains("bytes"), "{out}");
}

#[test]
fn the_daily_budget_holds_across_processes() {
    let h = Home::new();
    let config = h.dir.path().join("config/finbox");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[simplefin]\nbudget = 3\n").unwrap();
    h.bridge.set_accounts(accounts(now(), vec![]));
    h.link(); // one request
    h.ok(&["consent", "grant", "mybank"]);
    let home = h.dir.path().to_path_buf();
    let ca = h.bridge.ca_file().display().to_string();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (home, ca) = (home.clone(), ca.clone());
            std::thread::spawn(move || {
                common::finbox(&home, &[("SSL_CERT_FILE", &ca)], &["sync", "mybank"]).output().unwrap()
            })
        })
        .collect();
    let outs: Vec<Output> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let synced = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(synced, 2, "three a day: the listing and two syncs");
    let said: Vec<String> = outs
        .iter()
        .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
        .collect();
    let spent = said.iter().filter(|s| s.contains("spent")).count();
    assert_eq!(spent, 2, "{said:?}");
    let asked = h.bridge.requests().into_iter().filter(|r| r.path.ends_with("/accounts")).count();
    assert_eq!(asked, 3);
}

#[test]
fn plain_http_is_refused() {
    let h = Home::new();
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode("http://127.0.0.1:9/simplefin/claim/abc");
    let err = h.fail(&["link", "simplefin"], &token);
    assert!(err.contains("https"), "{err}");
}

impl Home {
    /// A command that fails, and what it printed on stdout.
    fn ok_stdout_of(&self, args: &[&str]) -> String {
        String::from_utf8(self.run(args, "").stdout).unwrap()
    }
}

/// The screen in tmux: a linked bank is shared with `c` `y`, its feed's
/// first sync shows its balances and transactions, `c` `r` revokes it, and
/// the bridge hears nothing more (`S` then says it is not shared).
#[test]
fn on_the_screen_a_linked_bank_is_shared_synced_and_revoked() {
    let h = Home::new();
    let t = now();
    h.bridge.set_accounts(accounts(t, vec![txn("a1", t - 5 * 86_400, "-20.00", "TRADER JOES", false)]));
    h.link();
    let name = format!("finbox-sfin-{}", std::process::id());
    let home = h.dir.path();
    let env = [
        ("HOME", home.display().to_string()),
        ("XDG_DATA_HOME", home.join("data").display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        ("FINBOX_DB", common::store_path(home).display().to_string()),
        ("SSL_CERT_FILE", h.bridge.ca_file().display().to_string()),
        ("TZ", "UTC".into()),
        ("TERM", "xterm-256color".into()),
    ];
    let mut cmd = String::from("env -i");
    for (k, v) in &env {
        cmd.push_str(&format!(" {k}='{v}'"));
    }
    cmd.push_str(&format!(" '{}'; sleep 30", assert_cmd::cargo::cargo_bin!("finbox").display()));
    let tmux = |args: &[&str]| std::process::Command::new("tmux").args(args).output().expect("tmux is needed");
    assert!(tmux(&["new-session", "-d", "-s", &name, "-x", "120", "-y", "36", &cmd]).status.success());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("tmux").args(["kill-session", "-t", &self.0]).status();
        }
    }
    let _kill = Kill(name.clone());
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &name]).stdout).into_owned();
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let s = screen();
            if s.contains(want) {
                return s;
            }
            assert!(std::time::Instant::now() < deadline, "waiting for {want:?}:\n{s}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let keys = |k: &[&str]| {
        for key in k {
            tmux(&["send-keys", "-t", &name, key]);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    // First run: nothing shared; not now.
    wait_for("Welcome to finbox");
    keys(&["Escape", "6"]); // finbox's own thread is 1, the four simulated banks follow
    wait_for("My Bank - Jill — not shared");
    keys(&["c"]);
    wait_for("Share My Bank - Jill");
    keys(&["y"]);
    let s = wait_for("$1,200.50");
    assert!(s.contains("Everyday Checking") && s.contains("synced"), "{s}");
    wait_for("TRADER JOES");
    let asked = || h.bridge.requests().into_iter().filter(|r| r.path.ends_with("/accounts")).count();
    let before = asked();
    keys(&["c"]);
    wait_for("Sharing My Bank - Jill: what");
    keys(&["r"]);
    wait_for("no longer shared");
    keys(&["S"]);
    wait_for("is not shared");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(asked(), before, "revoked: the bridge is asked nothing more");
    let capture = screen();
    assert!(!capture.contains(&h.bridge.password()));
    keys(&["q"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let log = std::fs::read_to_string(log_path(home)).unwrap_or_default();
    assert!(!log.contains(&h.bridge.password()), "the password is in the screen's log");
}

/// The client itself against the bridge: a slow answer is a timeout, an
/// untrusted certificate is refused (no data), and no error holds the
/// password.
#[test]
fn a_slow_bridge_times_out_and_an_untrusted_one_is_refused() {
    use finbox::feed::simplefin::http::{
        AccessUrl, AccountsQuery, HttpConfig, HttpError, SetupToken, claim, get_accounts,
    };
    let h = Home::new();
    h.bridge.set_accounts(accounts(now(), vec![]));
    let trusted = HttpConfig {
        read_timeout: std::time::Duration::from_secs(1),
        extra_roots: Some(h.bridge.ca_file()),
        ..HttpConfig::default()
    };
    let access = claim(&SetupToken::parse(&h.bridge.setup_token()).unwrap(), &trusted).unwrap();
    assert!(get_accounts(&access, &AccountsQuery::default(), &trusted).is_ok());
    h.bridge.set_delay(std::time::Duration::from_secs(3));
    let slow = get_accounts(&access, &AccountsQuery::default(), &trusted).unwrap_err();
    assert!(matches!(slow, HttpError::Timeout), "{slow:?}");
    h.bridge.set_delay(std::time::Duration::ZERO);
    // Without the bridge's authority: refused, whatever the answer would be.
    let untrusted = HttpConfig { extra_roots: None, ..trusted.clone() };
    let refused = get_accounts(&access, &AccountsQuery::default(), &untrusted).unwrap_err();
    assert!(matches!(refused, HttpError::Network(_)), "{refused:?}");
    let again = AccessUrl::parse(access.expose(), &trusted).unwrap();
    for e in [slow, refused, claim(&SetupToken::parse(&h.bridge.setup_token()).unwrap(), &untrusted).unwrap_err()] {
        let shown = format!("{e} {e:?} {again} {again:?}");
        assert!(!shown.contains(&h.bridge.password()), "{shown}");
    }
}
