//! Carries out the notifications the app asks for: the terminal's bell, and
//! the settings' `[notify] command`, run without a shell.
//!
//! The command line is split into words once, as a shell would split it;
//! `{title}` and `{body}` are put into the words only then, so whatever the
//! bank wrote (quotes, `;`, `$(…)`) stays inside its one argument. The
//! program runs with no input or output, is never waited for on the screen's
//! thread, and its failures go to the log.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use crossterm::style::Print;

use crate::config::{NotifySettings, Settings};
use crate::domain::text::clean_line;

/// The longest title or body handed to the command, in characters.
const MAX_ARG_CHARS: usize = 400;
/// A command still running after this long is stopped.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Rings the terminal's bell, through the writer the frames go through.
pub fn ring(out: &mut impl Write) {
    if let Err(e) = crossterm::execute!(out, Print('\u{7}')) {
        tracing::warn!(error = %e, "cannot ring the terminal's bell");
    }
}

/// The settings' command, split into words.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    words: Option<Vec<String>>,
}

impl Notifier {
    /// The settings' command (checked when they were read: a mistake here
    /// names the file all the same).
    pub fn new(settings: &Settings) -> Result<Notifier> {
        Notifier::from_settings(&settings.notify)
            .map_err(|e| anyhow!("config file {}: {e}", settings.config_file.display()))
    }

    fn from_settings(notify: &NotifySettings) -> Result<Notifier> {
        let Some(line) = &notify.command else { return Ok(Notifier::default()) };
        let words =
            shell_words::split(line).map_err(|e| anyhow!("[notify] command cannot be split into words: {e}"))?;
        Ok(Notifier { words: (!words.is_empty()).then_some(words) })
    }

    /// Whether a command is set.
    pub fn is_set(&self) -> bool {
        self.words.is_some()
    }

    /// Starts the command for this title and body on a thread of its own,
    /// which waits for it (at most [`COMMAND_TIMEOUT`]) and logs a failure.
    pub fn run(&self, title: &str, body: &str) {
        let Some(words) = &self.words else { return };
        let argv = argv(words, title, body);
        let spawned = std::thread::Builder::new().name("finbox-notify".into()).spawn(move || run_command(&argv));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start a thread for the notify command");
        }
    }
}

/// The command's words with `{title}` and `{body}` replaced inside each
/// word, after the split: each stays one argument. Control characters are
/// taken out of both first (they come from the bank).
pub fn argv(words: &[String], title: &str, body: &str) -> Vec<String> {
    let (title, body) = (clean_line(title, MAX_ARG_CHARS), clean_line(body, MAX_ARG_CHARS));
    words.iter().map(|w| w.replace("{title}", &title).replace("{body}", &body)).collect()
}

fn run_command(argv: &[String]) {
    let Some((program, args)) = argv.split_first() else { return };
    // The program's name only: its arguments hold amounts and card digits.
    let child =
        Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%program, error = %e, "cannot run the notify command");
            return;
        }
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return,
            Ok(Some(status)) => {
                tracing::warn!(%program, %status, "the notify command failed");
                return;
            }
            Ok(None) if started.elapsed() >= COMMAND_TIMEOUT => {
                tracing::warn!(%program, "the notify command ran too long; stopped");
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => {
                tracing::warn!(%program, error = %e, "cannot wait for the notify command");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    #[test]
    fn the_title_stays_one_argument_whatever_it_holds() {
        let title = "a\"; rm -rf ~ $(x)";
        let got = argv(&words("notify-send finbox {title}"), title, "why");
        assert_eq!(got, ["notify-send", "finbox", title]);
        // Inside a quoted word, next to other text, and in several words.
        let got = argv(&words("prog '--summary={title}' \"{body} ({title})\" -b {body}"), "x' y", "b`c`");
        assert_eq!(got, ["prog", "--summary=x' y", "b`c` (x' y)", "-b", "b`c`"]);
    }

    #[test]
    fn control_characters_are_taken_out_of_the_title_and_body() {
        let got = argv(&words("p {title} {body}"), "big\x1b]0;owned\x07 charge\nnow", "line\r\nbreak\x00");
        assert_eq!(got, ["p", "big charge now", "line break"], "an escape sequence goes whole");
        assert!(got.iter().all(|a| !a.chars().any(char::is_control)), "{got:?}");
    }

    #[test]
    fn the_command_line_is_split_as_a_shell_would_but_not_run_by_one() {
        let n =
            Notifier::from_settings(&NotifySettings { bell: true, command: Some("'my notifier' -t {title}".into()) });
        assert_eq!(n.unwrap().words, Some(words("'my notifier' -t {title}")));
        assert!(!Notifier::from_settings(&NotifySettings { bell: true, command: None }).unwrap().is_set());
        assert!(Notifier::from_settings(&NotifySettings { bell: true, command: Some("a 'b".into()) }).is_err());
    }

    #[test]
    fn the_bell_is_one_bel_byte() {
        let mut out = Vec::new();
        ring(&mut out);
        assert_eq!(out, b"\x07");
    }
}
