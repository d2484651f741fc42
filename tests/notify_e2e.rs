//! The real binary in tmux: a new HIGH alert, written by another finbox
//! process while another pane has focus, rings the terminal's bell (tmux
//! sets the window's bell flag), shows in the header, runs the `[notify]
//! command` with the bank's text as one argument (no shell), and leaves the
//! alert queue's selection on the alert it was on.
//!
//! tmux runs on a server of its own (`-L`, no user config), and finbox's
//! window is not the current one, as tmux wants for a bell flag.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_finbox"))
}

struct Tmux {
    /// The server's socket name and the session's name.
    name: String,
    home: tempfile::TempDir,
}

impl Tmux {
    fn new(tag: &str) -> Tmux {
        Tmux { name: format!("finbox-{tag}-{}", std::process::id()), home: tempfile::tempdir().unwrap() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }

    fn envs(&self) -> Vec<(String, String)> {
        let h = self.home.path();
        vec![
            ("HOME".into(), h.display().to_string()),
            ("XDG_DATA_HOME".into(), h.join("data").display().to_string()),
            ("XDG_CONFIG_HOME".into(), h.join("config").display().to_string()),
            ("FINBOX_DB".into(), h.join("finbox.db").display().to_string()),
            ("TZ".into(), "UTC".into()),
            ("TERM".into(), "xterm-256color".into()),
        ]
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(bin()).env_clear().envs(self.envs()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.name, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is needed for this test (apt-get install tmux)");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// finbox in a window named "finbox", then a second window made the
    /// current one.
    fn start(&self, args: &[&str]) {
        let mut cmd = String::from("env -i");
        for (k, v) in self.envs() {
            cmd.push_str(&format!(" {k}={}", shell_quote(&v)));
        }
        cmd.push_str(&format!(" {}", shell_quote(&bin().display().to_string())));
        for a in args {
            cmd.push_str(&format!(" {}", shell_quote(a)));
        }
        cmd.push_str("; echo \"[exit $?]\"; sleep 30");
        let home = self.home.path().display().to_string();
        self.tmux(&["new-session", "-d", "-s", &self.name, "-n", "finbox", "-c", &home, "-x", "120", "-y", "36", &cmd]);
        self.tmux(&["new-window", "-t", &self.name, "-n", "other", "sleep 300"]);
    }

    fn target(&self) -> String {
        format!("{}:finbox", self.name)
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", &self.target(), k]);
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    fn var(&self, var: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", &self.target(), &format!("#{{{var}}}")]).trim().to_string()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.target()])
    }

    /// Polls until `check` holds, or fails with `what` and the screen.
    fn wait_until(&self, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}; the screen shows:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, want: &str) -> String {
        self.wait_until(&format!("{want:?}"), || self.screen().contains(want));
        self.screen()
    }
}

impl Drop for Tmux {
    /// Stops the test's tmux server and removes its socket.
    fn drop(&mut self) {
        let socket = Command::new("tmux").args(["-L", &self.name, "display-message", "-p", "#{socket_path}"]).output();
        let _ = Command::new("tmux").args(["-L", &self.name, "kill-server"]).status();
        if let Ok(out) = socket {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if path.ends_with(&self.name) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A CSV of charges at `hh:mm` on the day `days_ago` days before today:
/// 500.00 or more between midnight and 5 am is a HIGH alert.
fn statement(dir: &Path, name: &str, rows: &[(i64, &str, &str, &str, &str)]) -> String {
    let mut text = String::from("Date,Description,Amount,Id\n");
    for (days_ago, time, merchant, amount, id) in rows {
        let day = (chrono::Utc::now() - chrono::Duration::days(*days_ago)).format("%Y-%m-%d");
        let merchant = merchant.replace('"', "\"\"");
        text.push_str(&format!("{day} {time},\"{merchant}\",{amount},{id}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_new_high_alert_rings_the_bell_runs_the_command_and_keeps_the_selection() {
    let t = Tmux::new("notify");
    let config = t.path("config/finbox");
    std::fs::create_dir_all(config.join("import")).unwrap();
    std::fs::write(
        config.join("import/timed.toml"),
        "about = \"with times\"\naccount_kind = \"credit\"\ndate_format = \"%Y-%m-%d %H:%M\"\n\
         [columns]\ndate = \"Date\"\ndescription = \"Description\"\namount = \"Amount\"\nid = \"Id\"\n",
    )
    .unwrap();
    // The notify command: a script that writes each argument it gets on a
    // line of its own. finbox runs it directly, never through a shell.
    let script = t.path("notified.sh");
    let log = t.path("notified.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > {0}.tmp\nmv {0}.tmp {0}\n",
            log.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("[notify]\ncommand = \"{} finbox {{title}} '-b={{body}}'\"\n", script.display()),
    )
    .unwrap();

    // Two HIGH alerts open before the screen starts: not new.
    t.cli(&["consent", "grant", "citi"]);
    let old = statement(
        t.home.path(),
        "old.csv",
        &[(2, "02:10", "Old Lamps", "-600.00", "O1"), (2, "03:20", "Old Clocks", "-700.00", "O2")],
    );
    t.cli(&["import", &old, "--bank", "citi", "--account", "4242"]);
    let open: Vec<Value> = serde_json::from_str(&t.cli(&["alerts", "--json"])).unwrap();
    assert_eq!(open.len(), 2, "{open:?}");
    // The screen lists them in the same order: j selects the second.
    let second = open[1]["id"].as_i64().unwrap();

    t.start(&["--no-feeds"]);
    t.wait_for("Fraud alerts (2 open)");
    t.keys(&["a", "j", "Tab"]);
    t.wait_for("Banks");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(t.var("window_bell_flag"), "0", "alerts open at start rang the bell");
    assert!(!t.screen().contains("new HIGH alert"));

    // Another finbox process imports a large charge at 3:12 am: a new HIGH
    // alert, newer than both, so listed above the selected one.
    let merchant = "Brightline \"Hotels\"; $(touch pwned)";
    let new = statement(t.home.path(), "new.csv", &[(1, "03:12", merchant, "-1240.00", "N1")]);
    t.cli(&["import", &new, "--bank", "citi", "--account", "4242"]);
    let screen = t.wait_for("new HIGH alert: $1,240.00 at Brightline");
    assert!(screen.contains("Fraud alerts (3 open)"), "{screen}");
    t.wait_until("the bell flag", || t.var("window_bell_flag") == "1");

    // The command ran with the title as one argument, the bank's quotes
    // and `$(…)` in it as text.
    t.wait_until("the notify command", || log.exists());
    let args: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_string).collect();
    assert_eq!(args.len(), 3, "{args:?}");
    assert_eq!(args[0], "[finbox]");
    assert!(args[1].starts_with(&format!("[New HIGH fraud alert: $1,240.00 at {merchant} on Citi •")), "{args:?}");
    assert!(args[2].starts_with("[-b=Large charge ($1,240.00) at 3:12 am"), "{args:?}");
    assert!(!t.path("pwned").exists(), "the bank's text ran as a command");

    // The queue: the notice goes, and the selection is on the alert it was
    // on (y closes that one).
    t.keys(&["a"]);
    t.wait_until("the notice to go", || !t.screen().contains("new HIGH alert"));
    t.keys(&["y"]);
    t.wait_for(&format!("Alert {second} closed"));
    t.keys(&["q"]);
    t.wait_for("[exit 0]");
}
