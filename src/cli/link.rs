//! `finbox link simplefin`, `finbox unlink simplefin`, `finbox sync`: real
//! banks through SimpleFIN Bridge. The setup token is read from the
//! terminal without echo, from stdin or from a file, never from the command
//! line (it would be in `ps` and the shell's history); the Access URL it
//! buys is kept in the store and never printed.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};

use super::args::LinkArgs;
use super::bank::bank_id;
use crate::domain::when;
use crate::session::Env;
use crate::session::simplefin::{self, SyncReport};
use crate::store::SIMPLEFIN_FEED;

/// The largest setup token read (they are about 100 characters).
const TOKEN_MAX: u64 = 4096;

pub(super) fn link(env: &Env, args: &LinkArgs) -> Result<()> {
    let token = read_token(args)?;
    let mut store = env.open_or_create_store()?;
    let (host, linked) = simplefin::link(&mut store, &simplefin::sync_config(&env.settings), &token, env.now)?;
    let n = linked.len();
    println!("Linked through SimpleFIN Bridge ({host}): {n} connection{}.", if n == 1 { "" } else { "s" });
    for l in &linked {
        let accounts = if l.accounts == 1 { "1 account".to_string() } else { format!("{} accounts", l.accounts) };
        println!("  {:<16} {:<32} {accounts}, not shared", l.bank.as_str(), l.name);
    }
    if let Some(first) = linked.first() {
        println!(
            "Nothing is shared yet. Share a bank with `finbox consent grant {}`: finbox then asks the bridge for its \
             last 90 days, and for what is new every {} hours.",
            first.bank, env.settings.simplefin_interval_hours
        );
    }
    Ok(())
}

/// The token: from --token-file, else typed on the terminal without echo,
/// else all of stdin.
fn read_token(args: &LinkArgs) -> Result<String> {
    let text = match &args.token_file {
        Some(path) => {
            let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            let mut text = String::new();
            f.take(TOKEN_MAX).read_to_string(&mut text).with_context(|| format!("cannot read {}", path.display()))?;
            text
        }
        None if std::io::stdin().is_terminal() => {
            eprintln!("Paste the setup token from bridge.simplefin.org (it is not shown), then Enter.");
            rpassword::prompt_password("Setup token: ")?
        }
        None => {
            let mut text = String::new();
            std::io::stdin().take(TOKEN_MAX).read_to_string(&mut text).context("cannot read the token from stdin")?;
            text
        }
    };
    if text.trim().is_empty() {
        bail!("no setup token given: paste it at the prompt, pipe it in, or pass --token-file PATH");
    }
    Ok(text.trim().to_string())
}

pub(super) fn unlink(env: &Env) -> Result<()> {
    let mut store = env.open_store()?;
    let host = simplefin::linked_host(&store)?;
    if !store.forget_simplefin_access()? {
        println!("No SimpleFIN access was kept; nothing changed.");
        return Ok(());
    }
    println!(
        "Forgot the SimpleFIN access{}. To revoke it at the bridge as well, sign in at https://bridge.simplefin.org \
         and disable the token you gave finbox. The banks and what they shared stay: `finbox consent revoke BANK \
         --purge` deletes what a bank shared.",
        host.map(|h| format!(" to {h}")).unwrap_or_default()
    );
    Ok(())
}

pub(super) fn sync(env: &Env, bank: Option<&str>) -> Result<()> {
    let mut store = env.open_store()?;
    let banks = match bank {
        Some(typed) => vec![bank_id(&store, typed)?],
        None => store.simplefin_links()?.into_iter().map(|l| l.bank).collect(),
    };
    if banks.is_empty() {
        bail!("no bank is linked through SimpleFIN: `finbox link simplefin` links them");
    }
    let zone = when::zone(env.utc_offset_secs);
    let mut failed = false;
    for b in banks {
        let bank = store.bank(&b)?;
        if bank.feed_kind != SIMPLEFIN_FEED {
            bail!("{} is not a bank linked through SimpleFIN; `finbox sync` asks those only", bank.name);
        }
        let said = match simplefin::sync_now(&mut store, &simplefin::sync_config(&env.settings), &b, env.now)? {
            SyncReport::Synced { transactions, accounts, left } => format!(
                "{transactions} transaction{} over {accounts} account{} ({left} request{} left today)",
                if transactions == 1 { "" } else { "s" },
                if accounts == 1 { "" } else { "s" },
                if left == 1 { "" } else { "s" }
            ),
            SyncReport::Spent { until } => {
                failed = true;
                let at = until
                    .map(|t| format!(" (the next frees up at {})", t.with_timezone(&zone).format("%b %-d %H:%M")))
                    .unwrap_or_default();
                format!("not asked: today's requests are spent{at}")
            }
            SyncReport::NotShared => format!("not shared: `finbox consent grant {b}` shares it"),
            SyncReport::NotLinked => {
                failed = true;
                "not linked: `finbox link simplefin` links it again".to_string()
            }
            SyncReport::Failed(why) => {
                failed = true;
                format!("failed: {why}")
            }
        };
        println!("{}: {said}", bank.name);
    }
    if failed {
        bail!("not every bank could be synced");
    }
    Ok(())
}
