//! The command line as shells and `man` see it: completions, the manual
//! page and the exit statuses, through the built binary.

mod common;

use std::process::{Command, Output, Stdio};

use clap::CommandFactory;

fn finbox(home: &std::path::Path, extra: &[(&str, &str)], args: &[&str]) -> Output {
    common::finbox(home, extra, args).stdin(Stdio::null()).output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = finbox(home.path(), &[], args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completes_a_command_from_its_first_letters() {
    let home = tempfile::tempdir().unwrap();
    let script = home.path().join("finbox.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();
    // bash passes the command, the word and the word before to the function.
    let complete = |line: &[&str]| {
        let words = line.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" ");
        let (cur, prev) = (line[line.len() - 1], line[line.len() - 2]);
        let run = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD={}; _finbox finbox '{cur}' '{prev}'; echo \"${{COMPREPLY[@]}}\"",
            script.display(),
            line.len() - 1
        );
        let out = Command::new("bash").args(["--norc", "-c", &run]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(complete(&["finbox", "al"]), "alerts");
    assert_eq!(complete(&["finbox", "consent", "rev"]), "revoke");
    assert_eq!(complete(&["finbox", "completions", "fi"]), "fish");
}

#[test]
fn zsh_and_fish_completions_know_the_commands() {
    for shell in ["zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("alerts") && script.contains("revoke"), "{shell}:\n{script}");
    }
    assert!(stdout_of(&["completions", "zsh"]).starts_with("#compdef finbox"));
}

#[test]
fn the_manual_names_every_command_the_settings_and_the_exit_statuses() {
    let page = stdout_of(&["man"]);
    let cli = finbox::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let name = format!("finbox {}", sub.get_name()).replace('-', "\\-");
        assert!(page.contains(&name), "{name} missing from the manual");
        for under in sub.get_subcommands() {
            let name = format!("{name} {}", under.get_name());
            assert!(page.contains(&name), "{name} missing from the manual");
        }
    }
    for section in ["COMMANDS", "FILES", "EXIT STATUS", "[consent]", "[keys.", "[theme]", "[notify]", "[simplefin]"] {
        assert!(page.contains(section), "{section} missing from the manual");
    }
    assert!(page.contains(".B 4\nThe bank is not shared"), "{page}");
    // man(1) reads it without a warning (when it is installed).
    if Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("finbox.1");
        std::fs::write(&file, &page).unwrap();
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.trim().is_empty(), "man -l: {err}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("EXIT STATUS") && text.contains("consent grant"), "{text}");
    }
}

#[test]
fn exit_statuses_say_what_went_wrong() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let code = |extra: &[(&str, &str)], args: &[&str]| finbox(h, extra, args).status.code();
    // Usage: an unknown command, a missing argument.
    assert_eq!(code(&[], &["frobnicate"]), Some(2));
    assert_eq!(code(&[], &["say"]), Some(2));
    // Any other error: no store yet.
    assert_eq!(code(&[], &["balances"]), Some(1));
    // Not shared: a message to a bank whose sharing was revoked.
    let pass = [("FINBOX_PASSPHRASE", "correct horse")];
    assert_eq!(code(&pass, &["consent", "grant", "chase"]), Some(0));
    assert_eq!(code(&pass, &["consent", "revoke", "chase"]), Some(0));
    let out = finbox(h, &pass, &["say", "chase", "balance"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    // The store was made encrypted: a wrong passphrase.
    let out = finbox(h, &[("FINBOX_PASSPHRASE", "wrong horse")], &["banks"]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(code(&pass, &["banks"]), Some(0));
}

/// `finbox ARGS` with stderr a terminal (`script` gives it one): its
/// output, the summary included; None without script(1).
fn in_a_terminal(home: &std::path::Path, args: &str) -> Option<String> {
    let bin = assert_cmd::cargo::cargo_bin!("finbox");
    let run = format!("stty cols 120; {} {args}", bin.display());
    let mut c = Command::new("script");
    c.args(["-qec", &run, "/dev/null"]);
    for (k, v) in common::finbox(home, &[], &[]).get_envs() {
        c.env(k, v.unwrap());
    }
    let out = c.env("TERM", "xterm-256color").stdin(Stdio::null()).output().ok()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_feed_shows_its_progress_on_a_terminal_and_nothing_when_piped() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    assert!(finbox(h, &[], &["consent", "grant", "--all"]).status.success());
    let Some(screen) = in_a_terminal(h, "feed --events 30000") else {
        eprintln!("script(1) is not installed: the terminal half is skipped");
        return;
    };
    // The bar is redrawn in place: at least two different counts, with the
    // rate and the transactions so far; then the summary as ever.
    let mut counts: Vec<&str> = screen
        .split(['\r', '\n'])
        .filter(|l| l.contains("/30,000 events (") && l.contains("new transactions"))
        .map(|l| l.trim_start_matches(|c: char| !c.is_ascii_digit()))
        .collect();
    counts.dedup();
    assert!(counts.len() >= 2, "no progress line updated twice:\n{screen}");
    assert!(screen.contains("30,000 events in"), "{screen}");

    // --quiet on a terminal, and a pipe: the summary only.
    let quiet = in_a_terminal(h, "feed --events 30000 --quiet").unwrap();
    assert!(!quiet.contains("/30,000 events") && quiet.contains("30,000 events in"), "{quiet}");
    let out = finbox(h, &[], &["feed", "--events", "30000"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\r') && !err.contains('\x1b') && !err.contains("/30,000"), "{err:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("30,000 events in"));
}

#[test]
fn an_import_shows_its_progress_on_a_terminal_and_nothing_when_piped() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    assert!(finbox(h, &[], &["consent", "grant", "chase"]).status.success());
    let mut text = String::from("Date,Description,Amount\n");
    for i in 0..40_000u32 {
        text.push_str(&format!("2026-01-{:02},MERCHANT {},-{}.{:02}\n", 1 + i % 28, i % 97, 1 + i % 50, i % 100));
    }
    std::fs::write(h.join("big.csv"), text).unwrap();
    let file = h.join("big.csv").display().to_string();
    let Some(screen) = in_a_terminal(h, &format!("import {file} --bank chase --account 7777 --dry-run")) else {
        return;
    };
    let mut counts: Vec<&str> = screen.split(['\r', '\n']).filter(|l| l.contains("/40,000 transactions")).collect();
    counts.dedup();
    assert!(counts.len() >= 2 && screen.contains("records read"), "no progress:\n{screen}");
    assert!(screen.contains("Dry run: would add 40,000 transactions"), "{screen}");
    let out = finbox(h, &[], &["import", &file, "--bank", "chase", "--account", "7777"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\r') && !err.contains('\x1b') && !err.contains("/40,000"), "{err:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Added 40,000 transactions"));
}

#[test]
fn an_export_and_a_purge_show_their_progress_on_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    assert!(finbox(h, &[], &["consent", "grant", "--all"]).status.success());
    assert!(finbox(h, &[], &["feed", "--events", "60000"]).status.success());
    let out = h.join("all.csv").display().to_string();
    let Some(screen) = in_a_terminal(h, &format!("export --format csv -o {out}")) else {
        eprintln!("script(1) is not installed: skipped");
        return;
    };
    // The bar: "1,000/42,316 transactions".
    let bar = |l: &str| {
        l.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| {
            w[1] == "transactions"
                && w[0].split_once('/').is_some_and(|(a, b)| {
                    [a, b].iter().all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == ','))
                })
        })
    };
    assert!(screen.split(['\r', '\n']).any(bar), "no export progress:\n{screen}");
    let purge = in_a_terminal(h, "consent revoke chase --purge").unwrap();
    assert!(purge.contains("records deleted") && purge.contains("is no longer shared"), "{purge}");
    // Piped: the summary alone.
    let piped = finbox(h, &[], &["consent", "revoke", "citi", "--purge"]);
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(!err.contains('\r') && !err.contains("records deleted"), "{err:?}");
}

#[test]
fn encrypting_shows_a_spinner_on_a_terminal_and_nothing_when_piped() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    assert!(finbox(h, &[], &["consent", "grant", "chase"]).status.success());
    assert!(finbox(h, &[], &["feed", "--events", "5000"]).status.success());
    let pass = [("FINBOX_PASSPHRASE", "correct horse battery")];
    let bin = assert_cmd::cargo::cargo_bin!("finbox");
    let mut c = Command::new("script");
    c.args(["-qec", &format!("stty cols 120; {} encrypt", bin.display()), "/dev/null"]);
    for (k, v) in common::finbox(h, &pass, &[]).get_envs() {
        c.env(k, v.unwrap());
    }
    let Ok(enc) = c.env("TERM", "xterm-256color").stdin(Stdio::null()).output() else {
        eprintln!("script(1) is not installed: skipped");
        return;
    };
    let screen = String::from_utf8_lossy(&enc.stdout);
    assert!(screen.contains("encrypting the store"), "{screen}");
    let piped = finbox(h, &pass, &["decrypt"]);
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("decrypting the store"));
}
