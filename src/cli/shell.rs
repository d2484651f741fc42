//! `finbox completions SHELL` and `finbox man`: what shells and `man` read,
//! made from the command line's own definition.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use super::Cli;
use super::exit::Status;

/// The shells `finbox completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// Bash: `source <(finbox completions bash)` in ~/.bashrc.
    Bash,
    /// Zsh: save as `_finbox` in a folder on $fpath.
    Zsh,
    /// Fish: save as ~/.config/fish/completions/finbox.fish.
    Fish,
}

/// `finbox completions SHELL`: the script, on stdout.
pub(super) fn completions(shell: Shell, out: &mut dyn Write) -> Result<()> {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    // Into memory first: clap_complete panics on a write error, and a
    // reader that went away (`| head`) is not one.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "finbox", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// `finbox man`: finbox(1) in roff: name, synopsis, description, options,
/// every command (and the commands under them), the settings file, the
/// environment and the exit status.
pub(super) fn man(out: &mut dyn Write) -> Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    out.write_all(b".SH COMMANDS\n")?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        render_command(out, sub, "")?;
    }
    out.write_all(SETTINGS.as_bytes())?;
    out.write_all(b".SH \"EXIT STATUS\"\n")?;
    for (code, what) in Status::TABLE {
        writeln!(out, ".TP\n.B {code}\n{}", roff_text(what))?;
    }
    page.render_version_section(out)?;
    Ok(())
}

/// One command's entry: its name and arguments in bold, its help below;
/// then the commands under it, each named in full (`consent grant`).
fn render_command(out: &mut dyn Write, cmd: &clap::Command, parent: &str) -> Result<()> {
    let name = format!("{parent} {}", cmd.get_name()).trim().to_string();
    // The first form only (`alerts [OPTIONS]`); the commands under it follow.
    let usage = cmd.clone().bin_name(format!("finbox {name}")).render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").lines().next().unwrap_or_default().trim().to_string();
    writeln!(out, ".TP\n\\fB{}\\fR", roff_text(&usage))?;
    let about = cmd.get_long_about().or(cmd.get_about()).map(|a| a.to_string()).unwrap_or_default();
    writeln!(out, "{}", roff_text(&about))?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        render_command(out, sub, &name)?;
    }
    Ok(())
}

/// Plain text as roff: backslashes and hyphens escaped, no line starting
/// with a control character, paragraphs kept.
fn roff_text(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.trim().replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') { format!("\\&{l}") } else { l }
        })
        .map(|l| if l.is_empty() { ".br".to_string() } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The settings file: where it is and its main tables.
const SETTINGS: &str = r##".SH FILES
.TP
.B config.toml
The settings file, in the config directory (\fI$XDG_CONFIG_HOME/finbox/config.toml\fR on Linux; \fBfinbox paths\fR shows where), or \fB\-\-config\fR PATH, or FINBOX_CONFIG.
Every key is optional; an unknown key is an error (\fBfinbox check\-config\fR checks the file).
Top\-level keys: \fBseed\fR (the simulated banks), \fBdb\fR (the store), \fBbanks_dir\fR (extra bank profiles).
.TP
.B [consent]
\fBdays\fR: how long sharing a bank lasts (1 to 3650, 90 by default) before it must be renewed.
.TP
.B [keys.\fIcontext\fB]
\fIaction\fR = "\fIkey\fR": the screen's keys, remapped per context.
.TP
.B [theme]
Colours of the screen: each key a colour ("red", "#ff8800", "208") or a table { fg, bg, bold, italic, dim, reversed, underlined }; \fBbank_colors\fR = false draws banks without their colours. NO_COLOR=1 turns every colour off.
.TP
.B [notify]
\fBbell\fR: a new HIGH fraud alert rings the terminal's bell; \fBcommand\fR: a program to run as well, with {title} and {body}.
.TP
.B [simplefin]
\fBbudget\fR (requests in any 24 hours) and \fBinterval_hours\fR for real banks linked through SimpleFIN Bridge.
.TP
.B finbox.db
The store (SQLite, or SQLCipher once \fBfinbox encrypt\fR ran), in the data directory (\fI$XDG_DATA_HOME/finbox\fR on Linux), or \fB\-\-db\fR PATH, or FINBOX_DB. The log is beside it.
.SH ENVIRONMENT
.TP
.B FINBOX_DB, FINBOX_CONFIG
The store and the settings file, as \fB\-\-db\fR and \fB\-\-config\fR.
.TP
.B FINBOX_PASSPHRASE
The passphrase of an encrypted store (otherwise asked for on the terminal).
.TP
.B NO_COLOR
Any value: no colours on the screen.
"##;
