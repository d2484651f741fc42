//! The command line as clap reads it: the commands and their arguments.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory, Parser, Subcommand};

use super::{export, import};

#[derive(Debug, Parser)]
#[command(name = "finbox", version, about = "A local-first personal-finance inbox for the terminal.")]
#[command(after_help = "Run `finbox` with no command for the terminal interface.\n\
Data: --db PATH or FINBOX_DB (default: the data directory, see `finbox paths`).")]
pub struct Cli {
    /// The store file (default: finbox.db in the data directory).
    #[arg(long, global = true, env = "FINBOX_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The settings file (default: config.toml in the config directory).
    #[arg(long, global = true, env = "FINBOX_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Pretend it is this time (RFC 3339), for reproducible scripts and tests.
    #[arg(long, global = true, env = "FINBOX_NOW", hide = true, value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Hide amounts, balances, account and card numbers and merchants in
    /// what is printed (for sharing a screen or a paste).
    #[arg(long, global = true)]
    pub mask: bool,
    /// No progress bars on the terminal (summaries and errors still print).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// With no command: open the screen without running the bank feeds.
    #[arg(long)]
    pub no_feeds: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bank feeds without the screen and print a summary.
    Feed(FeedArgs),
    /// List the banks and whether each is shared.
    Banks(JsonFlag),
    /// Account balances of the shared banks, with totals per currency.
    Balances(JsonFlag),
    /// Transactions, newest first.
    Transactions(TxnArgs),
    /// Open fraud alerts, most severe and newest first; or `alerts ack`.
    Alerts(AlertsArgs),
    /// Transfers between your own accounts (left out of spending and
    /// income); `transfers pair A B` or `transfers unpair ID` by hand.
    Transfers(TransfersArgs),
    /// Grant, renew or revoke sharing per bank, or show the consent log.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// Send a message to a bank and print its reply.
    Say {
        /// The bank id (`finbox banks` lists them).
        bank: String,
        /// What to say, e.g. "balance", "recent", "spending", "freeze card".
        #[arg(required = true, num_args = 1..)]
        message: Vec<String>,
    },
    /// A bank's conversation, oldest first.
    Messages {
        /// The bank id (`finbox banks` lists them).
        bank: String,
        /// How many of the latest messages (0 prints none).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print one JSON array instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Every transaction, oldest first, as CSV, JSON or a ledger journal.
    Export {
        /// What to write.
        #[arg(long, value_enum, default_value = "csv")]
        format: export::Format,
        /// Only this bank.
        #[arg(long)]
        bank: Option<String>,
        /// Write to this file (created readable by you only) instead of stdout.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Leave pending authorisations out (by default they are in, marked
        /// pending; a journal marks them `!`).
        #[arg(long)]
        no_pending: bool,
    },
    /// Import a bank statement: OFX/QFX (1.x or 2.x) or a CSV export.
    Import(import::ImportArgs),
    /// Records a feed delivered that finbox refused, with the reasons.
    Quarantine(JsonFlag),
    /// The rules of the settings file (`[[rules]]`): list them with what
    /// they matched, or apply them again to every stored transaction.
    Rules {
        #[command(subcommand)]
        action: Option<RulesCmd>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// What finbox noticed across every bank: recurring charges that went
    /// up, new subscriptions, likely duplicates, refunds, a low balance
    /// ahead, monthly summaries.
    Insights {
        /// Print one JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// How many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Encrypt the store in place (SQLCipher). The passphrase comes from
    /// FINBOX_PASSPHRASE, or is asked for twice on the terminal.
    Encrypt,
    /// Decrypt the store in place, back to a plain SQLite file.
    Decrypt,
    /// Show where finbox keeps its data, settings and log.
    Paths,
    /// Check the settings file (keys and colours included), the bank
    /// profiles and the CSV layouts, then exit: 0 when all is well.
    CheckConfig,
    /// Link real banks through SimpleFIN Bridge: reads the setup token from
    /// the terminal (not shown), from stdin or from --token-file (never
    /// from the command line), claims access once and lists the banks
    /// found, each not shared until you grant it.
    Link(LinkArgs),
    /// Forget the SimpleFIN access kept in the store (the banks and what
    /// they shared stay).
    Unlink {
        /// The service: simplefin.
        #[arg(value_enum)]
        service: Service,
    },
    /// Ask linked real banks for what is new, now (within the day's request
    /// budget).
    Sync {
        /// Only this bank (by default every shared SimpleFIN bank).
        bank: Option<String>,
    },
    /// Print a shell completion script: `source <(finbox completions bash)`,
    /// or save it where your shell looks (see `finbox man`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: super::shell::Shell,
    },
    /// Print the manual page (roff): `finbox man | man -l -`.
    Man,
}

/// Services finbox links real banks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// SimpleFIN Bridge (simplefin.org).
    Simplefin,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The service: simplefin.
    #[arg(value_enum)]
    pub service: Service,
    /// Read the setup token from this file (readable by you only, ideally)
    /// instead of the terminal or stdin.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

impl Command {
    /// Whether the command may make the store where there is none: sharing
    /// a bank, running the feeds, importing a statement (not a dry run).
    /// The others need one there (`Env::open_store`). The screen (no
    /// command) makes one too.
    pub fn makes_store(&self) -> bool {
        match self {
            Command::Consent(ConsentCmd::Grant { .. }) | Command::Feed(_) | Command::Link(_) => true,
            Command::Import(a) => !a.dry_run,
            _ => false,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Apply the rules again to every stored transaction (after changing
    /// them): renames, categories and what insights skip follow; rows no
    /// rule matches any more get the bank's words back.
    Apply,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    /// Seed of the simulated banks (default: from the settings, 2018).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Produce N events as fast as the store takes them, then stop.
    #[arg(long, conflicts_with = "duration")]
    pub events: Option<u64>,
    /// Run in real time for SECS seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TxnArgs {
    /// Only this bank (an id as `finbox banks` lists it).
    #[arg(long)]
    pub bank: Option<String>,
    /// An account id as `finbox balances` shows it.
    #[arg(long)]
    pub account: Option<String>,
    /// Words to find in the merchant or category.
    #[arg(long)]
    pub search: Option<String>,
    /// How many, newest first (0 prints none).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub action: Option<AlertsCmd>,
    /// Include decided alerts.
    #[arg(long)]
    pub all: bool,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// Answer an alert: it was you (legit), or not you (fraud: the card is
    /// locked and the bank opens a dispute).
    Ack {
        /// The alert's id (`finbox alerts` lists them).
        id: i64,
        /// You made the charge: the alert is closed as legitimate.
        #[arg(long, conflicts_with = "not_me")]
        it_was_me: bool,
        /// You did not: fraud. At a simulated bank the card is locked, a
        /// dispute opened and the charge credited back; elsewhere finbox
        /// records it and says to call the bank.
        #[arg(long)]
        not_me: bool,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TransfersArgs {
    #[command(subcommand)]
    pub action: Option<TransfersCmd>,
    /// Only legs whose other side was not seen.
    #[arg(long)]
    pub unmatched: bool,
    /// How many legs, newest first (0 prints none).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TransfersCmd {
    /// Pair two transactions (ids from `finbox transactions`) as one
    /// transfer: opposite amounts in two of your accounts.
    Pair {
        /// One leg: a transaction id.
        a: i64,
        /// The other leg: the opposite amount, in another of your accounts.
        b: i64,
    },
    /// Undo the transfer a transaction is a leg of; finbox will not pair
    /// those legs again by itself.
    Unpair {
        /// Either leg's transaction id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsentCmd {
    /// Start sharing a bank (or every bank) with finbox, for `[consent] days`
    /// (90 by default); on a shared bank, renew it.
    Grant {
        /// The bank id (`finbox banks` lists them).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        bank: Option<String>,
        /// Every configured bank.
        #[arg(long)]
        all: bool,
        /// What it may share: balances, transactions, messages, alerts,
        /// offers (or all), comma-separated. Default: what it shares now
        /// (at first everything but offers).
        #[arg(long, value_name = "LIST")]
        scopes: Option<String>,
    },
    /// Set what a bank may share (balances, transactions, messages, alerts,
    /// offers); what it stored under a scope taken away stays unless --delete.
    Scopes {
        /// The bank id (`finbox banks` lists them).
        bank: String,
        /// The scopes, comma-separated (or all); none: print them.
        list: Option<String>,
        /// Delete what was stored under the scopes taken away.
        #[arg(long)]
        delete: bool,
    },
    /// Extend sharing of a shared bank (or share again one whose consent
    /// expired) for another `[consent] days`; --all: every such bank.
    Renew {
        /// The bank id (`finbox banks` lists them).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        bank: Option<String>,
        /// Every bank that is shared, or whose consent expired.
        #[arg(long)]
        all: bool,
    },
    /// Stop sharing a bank; --purge also deletes everything it shared.
    Revoke {
        /// The bank id (`finbox banks` lists them).
        bank: String,
        /// Also delete everything the bank shared (the consent log keeps
        /// the change).
        #[arg(long)]
        purge: bool,
    },
    /// Every consent change, oldest first.
    Log(JsonFlag),
    /// A bank's consent receipt: who shares what with whom, why, for how
    /// long, how far back, and what left this machine.
    Show {
        /// The bank id (`finbox banks` lists them).
        bank: String,
        /// Print one JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Check the tamper-evident log (consent changes, alert verdicts, card
    /// locks): exit 0 if it is whole, 1 naming the first entry changed.
    Verify,
}

impl Cli {
    /// The command line as clap reads it, plus the checks clap cannot say
    /// well itself; a mistake ends the process with a usage error (status 2).
    pub fn parse_checked() -> Cli {
        let cli = Cli::parse();
        if let Err(e) = cli.check() {
            e.exit();
        }
        cli
    }

    /// `alerts ack ID` with neither verdict names both flags (clap's own
    /// error for a required flag would name one).
    fn check(&self) -> Result<(), clap::Error> {
        if let Some(Command::Alerts(AlertsArgs {
            action: Some(AlertsCmd::Ack { it_was_me: false, not_me: false, .. }),
            ..
        })) = &self.command
        {
            let mut cli = Cli::command();
            cli.build();
            let ack = cli.find_subcommand_mut("alerts").and_then(|a| a.find_subcommand_mut("ack"));
            return Err(ack.expect("`alerts ack` is a subcommand").error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "say which: --it-was-me (you made the charge) or --not-me (fraud: the card is locked)",
            ));
        }
        Ok(())
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|d| d.to_utc()).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every argument of `cmd` and below with no help
    /// text, as "finbox alerts ack --it-was-me"; clap's own help and
    /// version are left out.
    fn undescribed(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name()).trim().to_string();
        if cmd.get_about().is_none() && cmd.get_long_about().is_none() {
            out.push(path.clone());
        }
        for arg in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
            let name = arg.get_long().map_or_else(|| arg.get_id().to_string(), |l| format!("--{l}"));
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} {name}"));
            }
            // A value's own words (`--format ledger`), when it takes one of a few.
            if arg.get_action().takes_values() {
                for value in arg.get_possible_values().iter().filter(|v| !v.is_hide_set() && v.get_help().is_none()) {
                    out.push(format!("{path} {name} {}", value.get_name()));
                }
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            undescribed(sub, &path, out);
        }
    }

    #[test]
    fn every_command_argument_and_value_has_help() {
        let mut cli = Cli::command();
        cli.build();
        let mut missing = Vec::new();
        undescribed(&cli, "", &mut missing);
        assert!(missing.is_empty(), "no help text:\n{}", missing.join("\n"));
    }

    #[test]
    fn clap_accepts_the_command_line() {
        Cli::command().debug_assert();
    }
}
