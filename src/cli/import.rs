//! `finbox import FILE`: a bank statement (OFX/QFX or CSV) into the store.
//!
//! The file is read and checked whole before anything is written; then its
//! events go through the same local fraud rules as a feed's and into the
//! store, all of it in one store transaction: all or nothing, whatever the
//! size. Events are taken [`CHUNK`] at a time, so memory stays bounded (the
//! transaction's pages spill to the WAL, not to RAM). A dry run applies the
//! same way and rolls back, so what it prints is what the store would do.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::Args;

use super::Env;
use crate::domain::fraud::FraudRules;
use crate::domain::when;
use crate::domain::{BankId, Money};
use crate::feed::{Envelope, FeedEvent};
use crate::import::{Format, Layouts, Options, Scan, Statement};
use crate::store::writer::{ALERT_WINDOW_DAYS, WriterConfig, push_with_rules};
use crate::store::{BulkWrite, Store};

/// Events looked up and applied at a time.
pub const CHUNK: usize = 20_000;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The statement: OFX or QFX (1.x or 2.x), or a bank's CSV export.
    pub file: PathBuf,
    /// The bank it is from (default: the bank the file names, when only one matches).
    #[arg(long)]
    pub bank: Option<String>,
    /// The file's format (default: from its extension, else its content).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV layout (default: the one whose columns the file's header has).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// CSV: the account's last 4 digits (default: the bank's one account of
    /// that kind imported before).
    #[arg(long, value_name = "LAST4")]
    pub account: Option<String>,
    /// Read and check the file, say what it would add; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// OFX or QFX, 1.x (SGML) or 2.x (XML).
    Ofx,
    /// A bank's CSV export, read through a layout (--profile).
    Csv,
}

/// What applying (or, in a dry run, reading) the events found.
struct Tally {
    added: u64,
    present: u64,
    /// Pending authorisations stored, and authorisations the file posted.
    pending: u64,
    posted: u64,
    alerts: u64,
    /// Already stored, with other content: the first version stands.
    corrections: u64,
}

pub fn run(env: &Env, args: &ImportArgs) -> Result<()> {
    // Read as a statement, the store's own file would be opened outside
    // SQLite (dropping the locks that keep other processes safe).
    if crate::store::is_store_file(&env.settings.db, &args.file) {
        bail!(
            "{} is finbox's own store (or one of its files), not a bank statement; nothing was imported",
            args.file.display()
        );
    }
    // A dry run writes nothing, not even a new store.
    let mut store = if args.dry_run { env.open_store()? } else { env.open_or_create_store()? };
    let layouts = Layouts::load(crate::config::user_layout_dir().as_deref())?;
    let format = args.format.map(|f| match f {
        FormatArg::Ofx => Format::Ofx,
        FormatArg::Csv => Format::Csv,
    });
    let statement = Statement::open(&args.file, format, &layouts, args.profile.as_deref())?;
    let file = statement.file_name();
    let (bank, chosen_because) = resolve_bank(&store, args.bank.as_deref(), &statement)?;
    let bank_name = store.bank(&bank)?.name;
    // Refused before the file is read further: nothing goes to a bank that
    // is not shared, not even in a dry run.
    let epoch = store.import_epoch(&bank, env.now)?;
    let profile = env.settings.profiles.iter().find(|p| p.id == bank);
    let (account, account_because) = match statement.layout() {
        Some(layout) => {
            let (last, why) = csv_account(&store, &bank, layout.account_kind, args.account.as_deref(), &file)?;
            (Some(last), why)
        }
        None => (None, None),
    };
    let opts = Options {
        currency: profile.map_or(crate::domain::Currency::USD, |p| p.currency),
        home_country: profile.map_or_else(|| "US".to_string(), |p| p.home_country.clone()),
        utc_offset_secs: env.utc_offset_secs,
        now: env.now,
        account,
    };
    // Progress on a terminal: the records read, then those stored.
    let reading = super::progress::bar(None, "records read");
    let scan = statement.scan(&opts, &|| {
        reading.inc(1);
        false
    });
    reading.finish_and_clear();
    let scan = scan?;

    // Accounts the store holds already keep their opening balance; one in
    // another currency would reject every transaction, so it stops here.
    let stored: HashMap<String, Money> =
        store.accounts(Some(&bank))?.into_iter().map(|a| (a.external_id, a.balance)).collect();
    for a in &scan.accounts {
        if let Some(balance) = stored.get(&a.account.external_id)
            && balance.currency != a.account.currency
        {
            bail!(
                "{file}: account •{} is in {}, but {bank_name} keeps it in {}; nothing was imported",
                a.account.mask,
                a.account.currency,
                balance.currency
            );
        }
    }
    let new_accounts: HashSet<&str> =
        scan.accounts.iter().map(|a| a.account.external_id.as_str()).filter(|id| !stored.contains_key(*id)).collect();

    let tally = apply(&mut store, &scan, &bank, epoch, &opts.home_country, env, args.dry_run)?;
    let chosen = Chosen { bank: chosen_because, account: account_because };
    print_summary(&scan, &bank_name, &bank, &chosen, &new_accounts, &tally, env, args.dry_run);
    Ok(())
}

/// Streams the scanned file's events through the fraud rules into one store
/// transaction, committed at the end (or, in a dry run, rolled back, so the
/// figures it prints are the store's own).
fn apply(
    store: &mut Store,
    scan: &Scan,
    bank: &BankId,
    epoch: i64,
    home: &str,
    env: &Env,
    dry_run: bool,
) -> Result<Tally> {
    let now = env.now;
    let mut importer = Importer {
        bulk: store.bulk_write().context("the store could not start the import")?,
        bank,
        epoch,
        now,
        cfg: WriterConfig {
            home_countries: HashMap::from([(bank.clone(), home.to_string())]),
            utc_offset_secs: env.utc_offset_secs,
            clock: Arc::new(move || now),
            holder: None,
        },
        rules: FraudRules::new(env.utc_offset_secs),
        since: now - chrono::Duration::days(ALERT_WINDOW_DAYS),
        pending: Vec::with_capacity(CHUNK),
        batch: Vec::new(),
        progress: super::progress::bar(Some(scan.transactions), "transactions"),
    };
    let read = scan.events(&|| false, |event| importer.take(event)).and_then(|()| importer.flush());
    importer.progress.finish_and_clear();
    read?;
    let added = importer.bulk.report().transactions;
    if added > 0 {
        let present = importer.bulk.report().replayed_transactions;
        let file = scan.statement().file_name();
        let event = scan.announcement(&file, added, present, now, env.utc_offset_secs);
        importer.batch.push(Envelope { bank: bank.clone(), epoch, event });
        importer.apply()?;
    }
    let Importer { bulk, .. } = importer;
    let report = bulk.report();
    // A record the store refuses would make the statement partial: the
    // whole import is rolled back instead (dropping `bulk` rolls it back).
    if report.dropped_no_consent > 0 {
        bail!("{bank} stopped being shared while the statement was imported; nothing was written");
    }
    let refused = report.rejected.iter().filter(|r| !r.correction).count();
    if let Some(r) = report.rejected.iter().find(|r| !r.correction) {
        bail!("the store refused {} of the statement: {} ({refused} refused); nothing was written", r.record, r.reason);
    }
    let report = if dry_run { bulk.roll_back()? } else { bulk.commit().context("the store refused the import")? };
    let corrections = report.rejected.iter().filter(|r| r.correction).count() as u64;
    Ok(Tally {
        added: report.transactions,
        present: report.replayed_transactions,
        pending: report.pending,
        posted: report.posted,
        alerts: report.alerts,
        corrections,
    })
}

/// Takes a file's events a chunk at a time: runs the fraud rules and applies
/// the events inside the one transaction of the whole import.
struct Importer<'a, 's> {
    bulk: BulkWrite<'s>,
    bank: &'a BankId,
    epoch: i64,
    now: DateTime<Utc>,
    cfg: WriterConfig,
    rules: FraudRules,
    since: DateTime<Utc>,
    pending: Vec<FeedEvent>,
    batch: Vec<Envelope>,
    /// Counts the file's transactions as they are taken.
    progress: indicatif::ProgressBar,
}

impl Importer<'_, '_> {
    fn take(&mut self, event: FeedEvent) -> Result<()> {
        if matches!(event, FeedEvent::Transaction(_)) {
            self.progress.inc(1);
        }
        self.pending.push(event);
        if self.pending.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Runs the fraud rules over the chunk and applies it. Transactions the
    /// store holds already go through the rules too (their windows stay
    /// right); the store raises nothing new for them, and one stored with
    /// other content (a correction) goes to the quarantine, the first
    /// version standing.
    fn flush(&mut self) -> Result<()> {
        for event in std::mem::take(&mut self.pending) {
            let envelope = Envelope { bank: self.bank.clone(), epoch: self.epoch, event };
            push_with_rules(&mut self.batch, envelope, &mut self.rules, &self.cfg.home_countries, self.since);
        }
        self.apply()
    }

    fn apply(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            self.bulk.apply(&self.batch, self.now)?;
            self.batch.clear();
        }
        Ok(())
    }
}

/// "4 transactions (1 pending)" and "; skipped 2 already present (…)…".
fn added_and_skipped(scan: &Scan, tally: &Tally) -> (String, String) {
    let why = match (scan.derived_ids, scan.statement().format()) {
        (0, Format::Ofx) => "their FITIDs are stored already",
        (0, Format::Csv) => "their ids are stored already",
        (d, _) if d == scan.transactions => "the same date, amount and description are stored already",
        _ => "stored already",
    };
    // A transaction the file lists twice is stored once: the second copy is
    // no news from the store.
    let twice = scan.repeated.min(tally.present);
    let mut skipped = match tally.present - twice {
        0 => String::new(),
        n => format!("; skipped {} already present ({why})", group_thousands(n)),
    };
    if twice > 0 {
        skipped.push_str(&format!("; {} listed twice in the file, stored once", count_of(twice, "transaction")));
    }
    let added = match tally.pending {
        0 => count_of(tally.added, "transaction"),
        p => format!("{} ({} pending)", count_of(tally.added, "transaction"), group_thousands(p)),
    };
    if tally.posted > 0 {
        let posted = count_of(tally.posted, "pending authorisation");
        skipped.push_str(&format!("; {posted} posted (the same row, now posted)"));
    }
    (added, skipped)
}

use crate::domain::money::group_thousands;

fn count_of(n: u64, what: &str) -> String {
    crate::import::count(n, what, &format!("{what}s"))
}

/// The bank: `--bank`, else the one bank the file's hint (OFX `<ORG>`, the
/// CSV layout's bank) names. Returns why it was chosen, when not by flag.
fn resolve_bank(store: &Store, explicit: Option<&str>, statement: &Statement) -> Result<(BankId, Option<String>)> {
    if let Some(id) = explicit {
        return Ok((super::bank_id(store, id)?, None));
    }
    let banks = store.banks()?;
    let ids = banks.iter().map(|b| b.bank.id.as_str()).collect::<Vec<_>>().join(", ");
    let file = statement.file_name();
    let Some(hint) = statement.bank_hint() else {
        bail!("which bank is {file} from? The file does not say: add --bank with one of: {ids}");
    };
    let matching: Vec<_> = banks.iter().filter(|b| names_match(hint, b.bank.id.as_str(), &b.bank.name)).collect();
    match matching.as_slice() {
        [one] => {
            let why = match statement.org() {
                Some(org) => format!("from the file's <ORG>{org}</ORG>"),
                None => format!("from the {} layout", statement.layout().map_or("CSV", |l| l.name.as_str())),
            };
            Ok((one.bank.id.clone(), Some(why)))
        }
        [] => {
            bail!("which bank is {file} from? It names {hint:?}, which is none of yours: add --bank with one of: {ids}")
        }
        many => {
            let names: Vec<&str> = many.iter().map(|b| b.bank.id.as_str()).collect();
            bail!("which bank is {file} from? It names {hint:?}, which fits {}: add --bank", names.join(" and "))
        }
    }
}

/// Whether an institution's name (`Wells Fargo Bank`, `Citigroup`) names
/// the bank `id`/`name`: letters and digits only, case ignored, one
/// containing the other.
fn names_match(hint: &str, id: &str, name: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let h = norm(hint);
    [norm(id), norm(name)].iter().any(|n| n.len() >= 3 && (h.contains(n.as_str()) || (h.len() >= 5 && n.contains(&h))))
}

/// Why the bank and the account were chosen, when no flag said.
struct Chosen {
    bank: Option<String>,
    account: Option<String>,
}

/// The account a CSV file is of: `--account`, else the bank's one account
/// of the layout's kind imported before (and why).
fn csv_account(
    store: &Store,
    bank: &BankId,
    kind: crate::domain::AccountKind,
    explicit: Option<&str>,
    file: &str,
) -> Result<(String, Option<String>)> {
    if let Some(a) = explicit {
        crate::import::given_account(a).map_err(|e| anyhow::anyhow!("--account {e}"))?;
        return Ok((a.to_string(), None));
    }
    let prefix = format!("{kind}-");
    let imported: Vec<String> = store
        .accounts(Some(bank))?
        .into_iter()
        .filter_map(|a| a.external_id.strip_prefix(&prefix).map(str::to_string))
        .filter(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    match imported.as_slice() {
        [one] => Ok((one.clone(), Some(format!("{bank}'s only {kind} account")))),
        [] => bail!(
            "which {kind} account is {file} of? CSV exports do not say: add --account with its last 4 digits, \
             e.g. --account 1234"
        ),
        many => bail!(
            "which {kind} account is {file} of? {bank} has {}: add --account with its last 4 digits",
            many.iter().map(|m| format!("•{m}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    scan: &Scan,
    bank_name: &str,
    bank: &BankId,
    chosen: &Chosen,
    new_accounts: &HashSet<&str>,
    tally: &Tally,
    env: &Env,
    dry_run: bool,
) {
    let offset = env.utc_offset_secs;
    let day = |t| when::span(t, t, when::zone(offset));
    let statement = scan.statement();
    println!("{} → {bank_name} ({bank}): {}, {}", statement.file_name(), scan.version, scan.encoding);
    if let Some(why) = &chosen.bank {
        println!("  (bank {why}; --bank chooses another)");
    }
    if let (Some(why), [a]) = (&chosen.account, scan.accounts.as_slice()) {
        println!("  (account •{}: {why}; --account chooses another)", a.account.mask);
    }
    for a in &scan.accounts {
        let mut line = format!("  {} •{}: {}", a.account.name, a.account.mask, count_of(a.transactions, "transaction"));
        if let (Some(first), Some(last)) = (a.first, a.last) {
            line.push_str(&format!(", {}", when::span(first, last, when::zone(offset))));
        }
        if let Some((ledger, at)) = a.ledger {
            line.push_str(&format!("; ledger balance {ledger} on {}", day(at)));
        }
        if let Some((available, _)) = a.available {
            line.push_str(&format!(", available {available}"));
        }
        if new_accounts.contains(a.account.external_id.as_str()) {
            let verb = if dry_run { "would open" } else { "new account, opened" };
            line.push_str(&format!(" ({verb} at {})", a.opening));
        }
        println!("{line}");
    }
    for note in &scan.notes {
        println!("  note: {note}");
    }
    let (added, skipped) = added_and_skipped(scan, tally);
    if dry_run {
        println!("Dry run: would add {added}{skipped}. Nothing was written.");
        if tally.corrections > 0 {
            println!("{} of those differ from what is stored; the first version would stand.", tally.corrections);
        }
        if tally.alerts > 0 {
            println!("The fraud rules would raise {}.", count_of(tally.alerts, "alert"));
        }
        return;
    }
    println!("Added {added}{skipped}.");
    if tally.corrections > 0 {
        println!(
            "{} of those differ from what is stored (a correction by the bank?): the first version stands; \
             `finbox quarantine` lists what differs.",
            tally.corrections
        );
    }
    if tally.alerts > 0 {
        println!("{} raised: see `finbox alerts`.", count_of(tally.alerts, "fraud alert"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn institution_names_match_banks_loosely_but_not_wildly() {
        assert!(names_match("Wells Fargo Bank", "wellsfargo", "Wells Fargo"));
        assert!(names_match("Citigroup", "citi", "Citi"));
        assert!(names_match("US Bank", "usbank", "U.S. Bank"));
        assert!(names_match("chase", "chase", "Chase"));
        assert!(names_match("Wells", "wellsfargo", "Wells Fargo"));
        assert!(!names_match("B1", "chase", "Chase"));
        assert!(!names_match("Bank", "usbank", "U.S. Bank"));
        assert!(!names_match("Ally", "citi", "Citi"));
    }
}
