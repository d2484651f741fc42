//! The real binary in tmux: a person's session end to end. Acknowledge an
//! alert with n + y, revoke a bank with c + r, ask a bank for its balance and
//! see the reply, quit with q; then check the store through the CLI.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_finbox"))
}

struct Session {
    name: String,
    home: tempfile::TempDir,
}

impl Session {
    fn db(&self) -> PathBuf {
        self.home.path().join("finbox.db")
    }

    fn envs(&self) -> Vec<(String, String)> {
        let h = self.home.path();
        vec![
            ("HOME".into(), h.display().to_string()),
            ("XDG_DATA_HOME".into(), h.join("data").display().to_string()),
            ("XDG_CONFIG_HOME".into(), h.join("config").display().to_string()),
            ("FINBOX_DB".into(), self.db().display().to_string()),
            ("TZ".into(), "UTC".into()),
            ("TERM".into(), "xterm-256color".into()),
        ]
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(bin()).env_clear().envs(self.envs()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        serde_json::from_str(&self.cli(args)).unwrap()
    }

    fn start(&self, cols: u16, rows: u16, args: &[&str]) {
        self.start_with(cols, rows, &[], args)
    }

    fn start_with(&self, cols: u16, rows: u16, extra_env: &[(&str, &str)], args: &[&str]) {
        let mut cmd = String::from("env -i");
        let extra = extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        for (k, v) in self.envs().into_iter().chain(extra) {
            cmd.push_str(&format!(" {k}={}", shell_quote(&v)));
        }
        cmd.push_str(&format!(" {}", shell_quote(&bin().display().to_string())));
        for a in args {
            cmd.push_str(&format!(" {}", shell_quote(a)));
        }
        // Keep the pane after exit so the exit status can be read.
        cmd.push_str("; echo \"[exit $?]\"; sleep 30");
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &self.name, "-x", &cols.to_string(), "-y", &rows.to_string(), &cmd])
            .status()
            .expect("tmux is needed for this test (apt-get install tmux)");
        assert!(status.success());
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux").args(["send-keys", "-t", &self.name, k]).status().unwrap();
            assert!(ok.success());
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    fn type_text(&self, text: &str) {
        let ok = Command::new("tmux").args(["send-keys", "-t", &self.name, "-l", text]).status().unwrap();
        assert!(ok.success());
    }

    /// A tmux format variable of the pane, e.g. `alternate_on`.
    fn pane_var(&self, var: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, &format!("#{{{var}}}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `want` appears, or fails with the last screen.
    fn wait_for(&self, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(want) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {want:?}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn session(tag: &str) -> Session {
    Session { name: format!("finbox-e2e-{tag}-{}", std::process::id()), home: tempfile::tempdir().unwrap() }
}

fn has_alert_with_status(s: &Session, status: &str) -> bool {
    s.json(&["alerts", "--all", "--json"]).iter().any(|a| a["status"] == status)
}

#[test]
fn a_person_acks_an_alert_revokes_a_bank_and_chats() {
    let s = session("flow");
    s.cli(&["consent", "grant", "--all"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "11", "--events", "4000"]);
    assert!(!s.json(&["alerts", "--json"]).is_empty(), "the history should hold open alerts");

    s.start(120, 36, &[]);
    s.wait_for("Fraud alerts");

    // The alert queue: n asks to confirm, y marks fraud: the card is
    // locked, and the bank opens a dispute and credits the charge back.
    s.keys(&["a", "n"]);
    s.wait_for("Mark as fraud");
    s.keys(&["y"]);
    let screen = s.wait_for("is locked");
    assert!(screen.contains("credited"), "{screen}");
    assert!(has_alert_with_status(&s, "fraud"));
    // That bank's thread says the balance is restored, and its sidebar
    // shows the card locked.
    let decided = s.json(&["alerts", "--all", "--json"]);
    let fraud = decided.iter().find(|a| a["status"] == "fraud").unwrap();
    let position = ["chase", "wellsfargo", "citi", "usbank"].iter().position(|b| fraud["bank"] == *b).unwrap();
    // finbox's own thread is 1; the banks follow.
    s.keys(&["Escape", &(position + 2).to_string()]);
    let screen = s.wait_for("🔒");
    // (The thread wraps its lines: single words are looked for.)
    for word in ["locked", "dispute", "credited", "again."] {
        assert!(screen.contains(word), "{word}: {screen}");
    }

    // Revoke Citi (bank 3): c opens the dialog, r revokes.
    s.keys(&["4", "c"]);
    s.wait_for("Sharing Citi: what");
    s.keys(&["r"]);
    s.wait_for("no longer shared");

    // Ask Chase (bank 1) for the balance; the reply appears in the thread.
    s.keys(&["2", "i"]);
    s.type_text("balance");
    s.keys(&["Enter"]);
    s.wait_for("Here are your balances");

    s.keys(&["q"]);
    s.wait_for("[exit 0]");

    // The store, through the CLI, agrees with what the screen said.
    let banks = s.json(&["banks", "--json"]);
    let citi = banks.iter().find(|b| b["id"] == "citi").unwrap();
    assert_eq!(citi["consent"], "revoked");
    let log = s.json(&["consent", "log", "--json"]);
    assert!(log.iter().any(|e| e["bank"] == "citi" && e["action"] == "revoke"));
    let msgs = s.json(&["messages", "chase", "--limit", "5", "--json"]);
    assert!(msgs.iter().any(|m| m["from"] == "user" && m["text"] == "balance"));
    assert!(msgs.iter().any(|m| m["from"] == "bank" && m["text"].as_str().unwrap().contains("Here are your balances")));
}

#[test]
fn first_run_onboarding_shares_the_picked_banks_and_nothing_unticked() {
    let s = session("onboard");
    s.start(80, 24, &["--no-feeds"]);
    s.wait_for("Welcome to finbox");
    // Nothing is ticked: Enter straight away shares nothing.
    s.keys(&["Enter"]);
    s.wait_for("Nothing shared");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
    let consent = |s: &Session| -> Vec<String> {
        s.json(&["banks", "--json"]).iter().map(|b| b["consent"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(consent(&s), ["revoked"; 4]);
    assert!(s.json(&["consent", "log", "--json"]).is_empty());

    // Tick the second and fourth banks, share them.
    let s = session("onboard2");
    s.start(80, 24, &["--no-feeds"]);
    s.wait_for("Welcome to finbox");
    s.keys(&["j", "Space", "j", "j", "Space", "Enter"]);
    s.wait_for("Sharing");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
    assert_eq!(consent(&s), ["revoked", "granted", "revoked", "granted"]);
}

impl Session {
    /// Pastes `text` as a terminal does when the program asked for
    /// bracketed paste.
    fn paste(&self, text: &str) {
        let file = self.home.path().join("paste.txt");
        std::fs::write(&file, text).unwrap();
        let buffer = format!("{}-paste", self.name);
        let ok = Command::new("tmux").args(["load-buffer", "-b", &buffer, &file.display().to_string()]).status();
        assert!(ok.unwrap().success());
        let ok = Command::new("tmux").args(["paste-buffer", "-p", "-d", "-b", &buffer, "-t", &self.name]).status();
        assert!(ok.unwrap().success());
    }
}

#[test]
fn a_paste_is_text_and_shares_nothing_and_a_huge_one_leaves_the_screen_responsive() {
    let s = session("paste");
    s.cli(&["consent", "grant", "chase"]);
    s.start(100, 30, &["--no-feeds"]);
    s.wait_for("Banks");
    // A multi-line paste into the message box: text, sent with Enter.
    s.keys(&["i"]);
    s.paste("see the attached note\ncopy\n");
    s.wait_for("see the attached note copy");
    s.keys(&["Enter"]);
    s.wait_for("Sorry, I didn't catch that");
    let log = s.json(&["consent", "log", "--json"]);
    assert_eq!(log.len(), 1, "only the grant made before: {log:?}");
    assert_eq!(s.json(&["banks", "--json"]).iter().filter(|b| b["consent"] == "granted").count(), 1);

    // Pasted with nothing being typed: ignored, and said so; no key runs.
    s.paste("cpy\n");
    s.wait_for("Paste ignored");
    assert_eq!(s.json(&["consent", "log", "--json"]).len(), 1);

    // Typing to a bank that is not shared never shares it.
    s.keys(&["3", "i"]);
    s.type_text("balance");
    s.keys(&["Enter"]);
    s.wait_for("Share Wells Fargo with finbox?");
    s.keys(&["Escape"]);
    assert_eq!(s.json(&["consent", "log", "--json"]).len(), 1);

    // 100 KB pasted into the message box: taken (cut to a message) and the
    // screen still answers.
    s.keys(&["2", "i"]);
    s.paste(&"0123456789abcdef\n".repeat(6_000));
    s.wait_for("characters: a message holds 500");
    s.keys(&["Escape", "q"]);
    s.wait_for("[exit 0]");
    assert_eq!(s.json(&["consent", "log", "--json"]).len(), 1);
}

#[test]
fn a_linked_banks_history_is_one_note_in_its_thread() {
    let s = session("history");
    s.start(120, 36, &[]);
    s.wait_for("Welcome to finbox");
    s.keys(&["a"]);
    // The feeds backfill; Chase's thread sums its history up in one note.
    s.wait_for("History from Chase:");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
    let msgs = s.json(&["messages", "chase", "--limit", "10000", "--json"]);
    let notes = msgs.iter().filter(|m| m["text"].as_str().unwrap().starts_with("History from Chase:")).count();
    assert_eq!(notes, 1);
    // Every transaction notice in the thread is dated after the grant.
    let granted = s.json(&["consent", "log", "--json"])[0]["at"].as_str().unwrap().to_string();
    for m in msgs.iter().filter(|m| m["kind"] == "transaction") {
        assert!(m["at"].as_str().unwrap() >= granted.as_str(), "{m} before {granted}");
    }
    assert!(!s.json(&["transactions", "--bank", "chase", "--json"]).is_empty());
}

#[test]
fn the_screen_refuses_without_a_terminal() {
    let s = session("notty");
    let out = Command::new(bin()).env_clear().envs(s.envs()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal") && err.contains("finbox --help"), "{err}");
}

#[test]
fn writes_from_another_process_appear_live_and_sigterm_restores_the_terminal() {
    let s = session("live");
    s.cli(&["consent", "grant", "chase"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "5", "--events", "300"]);
    s.start(100, 30, &["--no-feeds"]);
    s.wait_for("Chase — shared");
    assert_eq!(s.pane_var("alternate_on"), "1");

    // Another finbox process talks to Chase; the open screen shows it.
    let t = Instant::now();
    s.cli(&["say", "chase", "help"]);
    s.wait_for("you help");
    s.wait_for("I can help with");
    println!("another process's write appeared after {:?}", t.elapsed());

    // SIGTERM: finbox quits and leaves the terminal as it found it.
    let pane_pid = s.pane_var("pane_pid");
    let ok = Command::new("pkill").args(["-TERM", "-P", &pane_pid]).status().unwrap();
    assert!(ok.success(), "no finbox process to signal");
    s.wait_for("[exit 143]");
    assert_eq!(s.pane_var("alternate_on"), "0", "the alternate screen was left");
    assert_eq!(s.pane_var("mouse_any_flag"), "0", "mouse capture was turned off");
    assert_eq!(s.pane_var("cursor_flag"), "1", "the cursor is visible again");
}

/// A feed that panics must not tear the screen down: ratatui's stock panic
/// hook restores the terminal for a panic on any thread, which would leave
/// the app running on a broken screen. Only a UI-thread panic may restore.
/// The panic is injected by a `test-hooks` build (scripts/test.sh builds one).
#[test]
#[cfg_attr(not(feature = "test-hooks"), ignore = "needs `--features test-hooks`, as scripts/test.sh runs")]
fn a_feed_panic_is_contained_and_the_screen_stays_up() {
    let s = session("panic");
    s.cli(&["consent", "grant", "chase"]);
    s.start_with(120, 36, &[("FINBOX_FAULT_PANIC_FEED", "chase")], &[]);
    // The crash is reported in Chase's conversation (checked in the store:
    // on screen the sentence wraps wherever the pane width puts it).
    let deadline = Instant::now() + Duration::from_secs(20);
    let notice = loop {
        let msgs = s.json(&["messages", "chase", "--limit", "500", "--json"]);
        if let Some(m) = msgs.iter().find(|m| m["from"] == "system" && m["text"].as_str().unwrap().contains("stopped"))
        {
            break m["text"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no crash notice in the conversation");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(notice.contains("injected feed panic") && notice.contains("restarts it"), "{notice}");
    let screen = s.wait_for("finbox The Chase feed");
    assert!(!screen.contains("panicked at"), "the panic message reached the screen:\n{screen}");
    assert_eq!(s.pane_var("alternate_on"), "1", "the terminal was restored while the app runs");
    // Still alive and drawing: the restarted feed links the bank's accounts.
    s.wait_for("Total Checking");
    s.keys(&["?"]);
    s.wait_for("Esc or ? closes");
    s.keys(&["Escape", "q"]);
    s.wait_for("[exit 0]");
}

#[test]
fn an_encrypted_store_asks_for_its_passphrase_on_the_screen() {
    let s = session("unlock");
    s.cli(&["consent", "grant", "chase"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "5", "--events", "300"]);
    let out = Command::new(bin())
        .env_clear()
        .envs(s.envs())
        .env("FINBOX_PASSPHRASE", "correct horse")
        .arg("encrypt")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    s.start(80, 24, &["--no-feeds"]);
    s.wait_for("is encrypted");
    s.type_text("wrong horse");
    let screen = s.wait_for("•••••••••••");
    assert!(!screen.contains("wrong horse"), "the passphrase must never be shown:\n{screen}");
    s.keys(&["Enter"]);
    s.wait_for("Wrong passphrase");
    s.type_text("correct horse");
    s.keys(&["Enter"]);
    s.wait_for("Accounts");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");

    // Esc at the prompt quits cleanly, with the terminal restored.
    let s2 = Session { name: format!("{}-esc", s.name), home: tempfile::tempdir().unwrap() };
    std::fs::copy(s.db(), s2.db()).unwrap();
    s2.start(80, 24, &["--no-feeds"]);
    s2.wait_for("is encrypted");
    s2.keys(&["Escape"]);
    s2.wait_for("[exit 0]");
    assert_eq!(s2.pane_var("alternate_on"), "0");
}

#[test]
fn term_dumb_is_refused_with_a_pointer_to_the_commands() {
    let s = session("dumb");
    s.start_with(80, 24, &[("TERM", "dumb")], &[]);
    let screen = s.wait_for("[exit 1]");
    assert!(screen.contains("TERM=dumb") && screen.contains("finbox --help"), "{screen}");
}

#[test]
fn sigint_from_outside_restores_the_terminal_and_exits_130() {
    let s = session("sigint");
    s.start(80, 24, &["--no-feeds"]);
    s.wait_for("Banks");
    assert_eq!(s.pane_var("alternate_on"), "1");
    let pane_pid = s.pane_var("pane_pid");
    let ok = Command::new("pkill").args(["-INT", "-P", &pane_pid]).status().unwrap();
    assert!(ok.success());
    s.wait_for("[exit 130]");
    assert_eq!(s.pane_var("alternate_on"), "0");
}

#[test]
fn a_long_purge_on_the_screen_shows_its_progress_and_the_feeds_go_on() {
    let s = session("purge");
    s.cli(&["consent", "grant", "--all"]);
    s.cli(&["feed", "--events", "300000"]);
    // What the other banks delivered: messages and transactions (a posting
    // updates its authorisation's row and notice: it adds neither).
    let others = |s: &Session| -> usize {
        ["wellsfargo", "citi", "usbank"]
            .iter()
            .map(|b| {
                s.json(&["messages", b, "--limit", "100000", "--json"]).len()
                    + s.json(&["transactions", "--bank", b, "--limit", "100000", "--json"]).len()
            })
            .sum()
    };
    s.start(120, 36, &[]);
    s.wait_for("feeds: 4 live");
    let before = others(&s);
    s.keys(&["2", "c"]);
    s.wait_for("Sharing Chase: what");
    s.keys(&["p"]);
    s.wait_for("Delete everything Chase shared?");
    s.keys(&["y"]);
    let progress = s.wait_for("Deleting what Chase shared:");
    assert!(progress.contains(" of "), "{progress}");
    s.wait_for("records it shared were deleted");
    // The other banks' feeds went on, and are live.
    let screen = s.wait_for("feeds: 3 live");
    assert!(!screen.contains("restarting"), "{screen}");
    assert!(others(&s) > before, "the other banks delivered nothing while Chase was purged");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
    let c = rusqlite::Connection::open(s.db()).unwrap();
    let left: i64 = c.query_row("SELECT count(*) FROM transactions WHERE bank_id = 'chase'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
    let log = s.json(&["consent", "log", "--json"]);
    assert!(log.iter().any(|e| e["bank"] == "chase" && e["action"] == "purge"), "{log:?}");
}

#[test]
fn a_remapped_key_works_and_the_help_and_footer_show_it() {
    let s = session("keys");
    let config = s.home.path().join("config/finbox");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[keys.alerts]\nnot_me = \"x\"\n").unwrap();
    s.cli(&["consent", "grant", "--all"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "11", "--events", "4000"]);
    s.start(120, 36, &["--no-feeds"]);
    s.wait_for("Fraud alerts");
    s.keys(&["a"]);
    let screen = s.wait_for("x not me");
    assert!(!screen.contains("n not me"), "{screen}");
    // n does nothing there now; x asks to mark as fraud.
    s.keys(&["n"]);
    assert!(!s.screen().contains("Mark as fraud"));
    s.keys(&["x"]);
    s.wait_for("Mark as fraud");
    s.keys(&["Escape", "?"]);
    let help = s.wait_for("Keys");
    // The help's line for it names x, not n.
    let line = help.lines().find(|l| l.contains("not me (lock card, dispute)")).unwrap_or_default();
    let before = line.split("not me (lock card, dispute)").next().unwrap_or_default();
    assert!(before.trim_end().ends_with(" x") || before.trim_end().ends_with("│x"), "{help}");
    s.keys(&["Escape", "q"]);
    s.wait_for("[exit 0]");
}

/// A pending authorisation shows on the screen (⧗, dimmed), and when it
/// posts with another amount and another id (a tip) the same row becomes the
/// posted one: never two rows. Both arrive from another process, as a
/// statement import while the screen is open.
#[test]
fn a_pending_charge_appears_then_posts_with_a_tip_in_one_row() {
    let s = session("pending");
    let import = s.home.path().join("config/finbox/import");
    std::fs::create_dir_all(&import).unwrap();
    std::fs::write(
        import.join("mybank.toml"),
        "about = \"with a status column\"\naccount_kind = \"credit\"\ndate_format = \"%Y-%m-%d\"\n\
         [columns]\ndate = \"Date\"\ndescription = \"Description\"\namount = \"Amount\"\nstatus = \"Status\"\nid = \"Id\"\n",
    )
    .unwrap();
    let write = |name: &str, rows: &str| {
        let path = s.home.path().join(name);
        std::fs::write(&path, format!("Date,Description,Amount,Status,Id\n{rows}")).unwrap();
        path.display().to_string()
    };
    let first = write("a.csv", "2026-11-27,Shake Shack,-42.00,Pending,A1\n2026-11-26,Trader Joes,-20.00,Posted,B1\n");
    let second = write("b.csv", "2026-11-28,SHAKE SHACK 1234,-50.40,Posted,A2\n");
    s.cli(&["consent", "grant", "citi"]);
    s.start(120, 36, &["--no-feeds"]);
    s.wait_for("Fraud alerts");
    s.keys(&["4"]);
    s.wait_for("Citi — shared");
    s.cli(&["--now", "2026-11-28T12:00:00Z", "import", &first, "--bank", "citi", "--account", "4242"]);
    let screen = s.wait_for("⧗ Shake Shack");
    assert!(screen.contains("available -$62.00"), "{screen}");
    s.cli(&["--now", "2026-11-29T12:00:00Z", "import", &second, "--bank", "citi", "--account", "4242"]);
    let screen = s.wait_for("SHAKE SHACK 1234");
    assert!(!screen.contains("⧗") && !screen.contains("available"), "{screen}");
    assert_eq!(screen.matches("-$50.40").count(), 1, "{screen}");
    let rows = screen.lines().filter(|l| l.to_lowercase().contains("shake shack")).count();
    assert!(!screen.contains("-$42.00") && rows == 1, "one row: {screen}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}

/// Pastes `text` into the pane as a terminal would (bracketed paste).
fn paste(s: &Session, text: &str) {
    let buffer = format!("{}-paste", s.name);
    assert!(Command::new("tmux").args(["set-buffer", "-b", &buffer, text]).status().unwrap().success());
    let ok = Command::new("tmux").args(["paste-buffer", "-p", "-d", "-b", &buffer, "-t", &s.name]).status().unwrap();
    assert!(ok.success());
}

/// A search filters as it is typed (here, pasted), counts its matches and
/// names the account of each; the count is the store's.
#[test]
fn a_pasted_search_filters_and_shows_its_count() {
    let s = session("search");
    s.cli(&["consent", "grant", "chase"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "11", "--events", "3000"]);
    let want = s.json(&["transactions", "--bank", "chase", "--search", "coffee", "--limit", "100000", "--json"]).len();
    assert!(want > 1, "the history should hold coffee");
    s.start(120, 36, &["--no-feeds"]);
    s.wait_for("Chase — shared");
    s.keys(&["/"]);
    s.wait_for("Tab all banks");
    paste(&s, "coffee");
    let screen = s.wait_for(&format!("{want} matches"));
    // Each match says its account; the query stays being typed.
    assert!(screen.contains("/coffee") && screen.contains("Checking"), "{screen}");
    // Enter keeps the filter; `/` edits it again, Esc clears it.
    s.keys(&["Enter", "/", "BSpace", "BSpace", "BSpace"]);
    s.wait_for("/cof ");
    // Esc clears it: the whole account again (the selection stays on the
    // transaction it was on).
    let all =
        s.json(&["transactions", "--bank", "chase", "--account", "checking", "--limit", "100000", "--json"]).len();
    s.keys(&["Escape"]);
    let screen = s.wait_for(&format!(" of {all}"));
    assert!(!screen.contains("matches"), "{screen}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}

/// G in the register walks to the oldest transaction of a 100,000-row
/// account (keyset windows, not a longer list), with its running balance.
#[test]
fn g_reaches_the_oldest_row_of_a_hundred_thousand() {
    let s = session("register");
    let import = s.home.path().join("config/finbox/import");
    std::fs::create_dir_all(&import).unwrap();
    std::fs::write(
        import.join("plain.toml"),
        "about = \"plain\"\naccount_kind = \"checking\"\ndate_format = \"%Y-%m-%d\"\n\
         [columns]\ndate = \"Date\"\ndescription = \"Description\"\namount = \"Amount\"\nid = \"Id\"\n",
    )
    .unwrap();
    let mut csv = String::from("Date,Description,Amount,Id\n");
    let start = chrono::NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
    for i in 0..100_000 {
        let day = start + chrono::Duration::days(i / 20);
        let what = if i == 0 { "Oldest Coffee Cart".to_string() } else { format!("Shop {i}") };
        csv.push_str(&format!("{day},{what},-1.00,r{i}\n"));
    }
    let file = s.home.path().join("big.csv");
    std::fs::write(&file, csv).unwrap();
    s.cli(&["consent", "grant", "citi"]);
    s.cli(&["import", &file.display().to_string(), "--bank", "citi", "--account", "5555"]);
    s.start(120, 36, &["--no-feeds"]);
    s.wait_for("Fraud alerts");
    s.keys(&["4"]);
    s.wait_for("1 of 100,000");
    s.keys(&["Tab", "G", "z"]);
    let screen = s.wait_for("100,000 of 100,000");
    // Full screen: the oldest row, its year shown, and the balance after
    // it: -$1.00.
    let row = screen.lines().find(|l| l.contains("Oldest Coffee")).unwrap_or_else(|| panic!("{screen}"));
    let words: Vec<&str> = row.trim_matches('│').split_whitespace().collect();
    assert!(row.contains("Jan 01 2010") && words.ends_with(&["-$1.00", "-$1.00"]), "{row}");
    // Up a page and back down: the window follows.
    s.keys(&["PageUp", "PageUp"]);
    let screen = s.wait_for("Register");
    assert!(!screen.contains("100,000 of 100,000"), "{screen}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}

/// y answers an alert, u within five seconds takes it back: the store never
/// hears of it. Then from an alert to its thread (t), and Enter on its
/// message opens its transaction in the accounts pane.
#[test]
fn u_undoes_an_answer_and_a_notice_opens_its_transaction() {
    let s = session("undo");
    s.cli(&["consent", "grant", "--all"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "11", "--events", "4000"]);
    let open = s.json(&["alerts", "--json"]);
    assert!(!open.is_empty(), "the history should hold open alerts");
    s.start(120, 36, &["--no-feeds"]);
    s.wait_for("Fraud alerts");
    s.keys(&["a", "y"]);
    s.wait_for("u undoes");
    s.keys(&["u"]);
    s.wait_for("Answer taken back");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(s.json(&["alerts", "--json"]).len(), open.len(), "the answer was taken back");
    assert!(!has_alert_with_status(&s, "legit"));

    // The selected alert's thread, at its message; Enter opens the charge.
    let first = &open[0];
    let merchant = first["merchant"].as_str().unwrap().to_string();
    s.keys(&["t"]);
    s.wait_for("Enter: its transaction");
    s.keys(&["Enter"]);
    let screen = s.wait_for("Register");
    let row = screen.lines().find(|l| l.contains(&merchant[..merchant.len().min(10)]));
    assert!(row.is_some(), "{merchant}: {screen}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}

/// `m` masks every amount on the screen (no `$` followed by a digit is
/// left, in any pane), says so in the header, and `m` again unmasks.
#[test]
fn m_masks_every_amount_and_unmasks() {
    let s = session("mask");
    s.cli(&["consent", "grant", "--all"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "11", "--events", "3000"]);
    s.start(120, 36, &["--no-feeds"]);
    let before = s.wait_for("Fraud alerts");
    let figure = |screen: &str| {
        screen
            .char_indices()
            .any(|(i, c)| c == '$' && screen[i + 1..].chars().next().is_some_and(|d| d.is_ascii_digit()))
    };
    assert!(figure(&before), "{before}");
    s.keys(&["m"]);
    let masked = s.wait_for("masked");
    assert!(!figure(&masked), "{masked}");
    // New events and redraws keep it: move around, open the alert queue.
    s.keys(&["Tab", "j", "a"]);
    std::thread::sleep(Duration::from_millis(300));
    let moved = s.screen();
    assert!(!figure(&moved) && moved.contains("masked"), "{moved}");
    s.keys(&["m"]);
    let shown = s.wait_for("Unmasked");
    assert!(figure(&shown), "{shown}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}

/// The sharing dialog toggles scopes: offers on (applied at once), then
/// messages off, which asks first and deletes what they stored.
#[test]
fn scopes_are_toggled_in_the_sharing_dialog() {
    let s = session("scopes");
    s.cli(&["consent", "grant", "chase"]);
    s.cli(&["--now", "2026-11-20T15:00:00Z", "feed", "--seed", "11", "--events", "3000"]);
    s.start(120, 36, &["--no-feeds"]);
    s.wait_for("Chase — shared");
    s.keys(&["c"]);
    s.wait_for("[ ] offers");
    s.keys(&["Down", "Down", "Down", "Down", "Space"]);
    s.wait_for("[x] offers");
    s.keys(&["Enter"]);
    s.wait_for("now shares balances, transactions, messages, alerts, offers");
    assert!(
        s.cli(&["consent", "scopes", "chase"]).contains("may share: balances, transactions, messages, alerts, offers")
    );
    s.keys(&["c"]);
    s.wait_for("[x] offers");
    s.keys(&["Down", "Down", "Space", "Enter"]);
    s.wait_for("Delete what Chase stored under messages?");
    s.keys(&["y"]);
    s.wait_for("records it stored were deleted");
    let out = s.cli(&["consent", "scopes", "chase"]);
    assert!(out.contains("Not shared: messages"), "{out}");
    let msgs = s.json(&["messages", "chase", "--limit", "100000", "--json"]);
    assert!(!msgs.iter().any(|m| m["from"] == "bank" && (m["kind"] == "service" || m["kind"] == "text")), "{msgs:?}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}

/// finbox's own thread, first in the bank list, posts what it noticed
/// across banks; Enter on an insight lists its transactions, from both
/// banks, in the sidebar.
#[test]
fn the_finbox_thread_shows_an_insight_and_enter_opens_its_transactions() {
    let s = session("insights");
    s.cli(&["consent", "grant", "chase"]);
    s.cli(&["consent", "grant", "citi"]);
    let write = |name: &str, text: &str| {
        let path = s.home.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let chase = write(
        "chase.csv",
        "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n\
         CREDIT,11/29/2026,\"TARGET 00042\",23.50,MISC_CREDIT,,,\n\
         DEBIT,11/27/2026,\"NETFLIX.COM\",-15.49,DEBIT_CARD,,,\n\
         DEBIT,11/20/2026,\"TARGET 00042\",-23.50,DEBIT_CARD,,,\n",
    );
    let citi = write(
        "citi.csv",
        "\"Status\",\"Date\",\"Description\",\"Debit\",\"Credit\"\n\"Cleared\",\"11/28/2026\",\"NETFLIX.COM\",\"15.49\",\"\"\n",
    );
    s.cli(&["--now", "2026-11-29T20:00:00Z", "import", &chase, "--bank", "chase", "--account", "1111"]);
    s.cli(&["--now", "2026-11-29T20:00:00Z", "import", &citi, "--bank", "citi", "--account", "2222"]);
    let listed = s.json(&["insights", "--json"]);
    let kinds: Vec<&str> = listed.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["refund", "duplicate"], "{listed:?}");

    s.start(120, 36, &["--no-feeds"]);
    // At start the first bank is selected; finbox's thread waits with 2 unread.
    let screen = s.wait_for("Chase — shared");
    let row = screen.lines().find(|l| l.contains("1 ● finbox")).and_then(|l| l.split('│').nth(1)).unwrap_or_default();
    assert!(row.trim_end().ends_with(" 2"), "{row:?} in {screen}");
    s.keys(&["1"]);
    s.wait_for("finbox — across your banks");
    let screen = s.wait_for("Possible duplicate");
    assert!(screen.contains("Refund arrived"), "{screen}");
    // The newest insight's rows at first; Enter on the older one lists its own.
    s.keys(&["k", "k", "Enter"]);
    let screen = s.wait_for("Possible duplicate: NETFLIX.COM $15.49 on");
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains("-$15.49")).collect();
    assert_eq!(rows.len(), 2, "{screen}");
    assert!(rows.iter().any(|l| l.contains("Chase")) && rows.iter().any(|l| l.contains("Citi")), "{screen}");
    s.keys(&["q"]);
    s.wait_for("[exit 0]");
}
