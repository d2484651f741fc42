//! The `import` feed kind: statements dropped into a folder are imported
//! while finbox runs, and the bank's conversation says what arrived
//! ("Imported 42 transactions from statement-2026-10.ofx …").
//!
//! A bank profile names the folder:
//!
//! ```toml
//! id = "mybank"
//! name = "My Bank"
//! feed = "import"
//!
//! [import]
//! folder = "~/Statements/mybank"   # ~ is your home; relative to this file otherwise
//! profile = "generic"              # CSV layout (default: the one whose columns the header has)
//! account = "1234"                 # CSV: the account's last 4 digits
//! ```
//!
//! The kinds `ofx` and `csv` are the same feed taking only files of that
//! format (their table is `[ofx]` or `[csv]`). Files are `*.ofx`, `*.qfx`,
//! `*.qbo` and `*.csv`; others (a PDF, a half-downloaded `.part`) are left
//! alone.
//!
//! **How.** The folder is polled every second ([`POLL`]); a file is taken
//! once its size and modification time hold still from one poll to the
//! next, it has not been written for [`SETTLE`], and it ends as a whole
//! statement does (a CSV's last newline, an OFX's `</OFX>`; a file that does
//! not is taken after [`SETTLE_UNFINISHED`]). Only plain files of the user's
//! own with one name are taken. The import reads a private copy taken
//! through one descriptor (so a file replaced meanwhile cannot mix two
//! statements), through [`crate::import`] (checked whole first, so a bad
//! file sends nothing but a notice naming its line), and its events are
//! sent to the store writer, whose fraud rules see them like any feed's. A
//! file that only grew since it was imported announces its new rows. The cursor
//! lists the files already handled, by name, size and SHA-256, so a restart
//! neither imports nor reports a file again; ids are stable, so a file cut
//! short by a crash is completed, not doubled, when it is read again. The
//! message counts the file's transactions: those of an overlapping statement
//! that are stored already are skipped by the store without a word. A file
//! of up to [`WHOLE_MAX`] transactions is stored in one transaction, with
//! its announcement and the cursor that remembers it, as `finbox import`
//! stores a file; a larger one goes through the writer's batches and may be
//! committed in several (a copy of a file already imported under another
//! name is only announced, not read).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{BankFeed, BankProfile, FeedContext, FeedError, FeedEvent, FeedExit, FeedFuture, FeedMode, FeedSink};
use crate::domain::text::clean_line;
use crate::import::{Format, ImportError, Layouts, Options, Scan, Statement};

/// The feed kind's name, as written in `feed = "import"`.
pub const KIND: &str = "import";
/// Only OFX/QFX files: `feed = "ofx"` with an `[ofx]` table.
pub const OFX_KIND: &str = "ofx";
/// Only CSV files: `feed = "csv"` with a `[csv]` table.
pub const CSV_KIND: &str = "csv";

/// How often the folder is looked at.
pub const POLL: Duration = Duration::from_secs(1);
/// A file is taken once it has not been written for this long (and held
/// still from one poll to the next): a download that stalls for a moment
/// is not a finished file.
pub const SETTLE: Duration = Duration::from_secs(2);
/// A file that does not end as a whole statement does (a CSV without a last
/// newline, an OFX without `</OFX>`) is taken only once it has not been
/// written for this long.
pub const SETTLE_UNFINISHED: Duration = Duration::from_secs(10);
/// Files remembered in the cursor; the oldest are forgotten beyond this.
const MAX_REMEMBERED: usize = 4096;
const CURSOR_VERSION: u32 = 1;

/// The kind's table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFolder {
    folder: String,
    profile: Option<String>,
    account: Option<String>,
}

/// A checked `[import]` table.
#[derive(Debug, Clone)]
pub struct FolderConfig {
    pub folder: PathBuf,
    /// CSV layout by name; `None`: from each file's header.
    pub layout: Option<String>,
    /// CSV: the account's last digits.
    pub account: Option<String>,
    /// Only files of this format.
    pub only: Option<Format>,
    layouts: Layouts,
    currency: crate::domain::Currency,
    home_country: String,
}

pub fn factory(p: &BankProfile) -> Result<Box<dyn BankFeed>, FeedError> {
    Ok(Box::new(FolderFeed { cfg: parse_profile(p)? }))
}

/// Reads and checks the profile's table (named after its kind); errors name
/// the key and the file.
pub fn parse_profile(p: &BankProfile) -> Result<FolderConfig, FeedError> {
    let kind = p.feed.as_str();
    let only = match kind {
        OFX_KIND => Some(Format::Ofx),
        CSV_KIND => Some(Format::Csv),
        _ => None,
    };
    let err = |message: String| FeedError::Profile { bank: p.id.to_string(), message };
    let table = p.kind_table().ok_or_else(|| {
        err(format!("missing the [{kind}] table with the folder to watch: folder = \"…\" (in {})", p.source))
    })?;
    let raw: RawFolder = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| err(format!("[{kind}]: {} (in {})", e.message().trim(), p.source)))?;
    let key = |k: &str, why: String| err(format!("[{kind}] {k}: {why} (in {})", p.source));
    if raw.folder.trim().is_empty() {
        return Err(key("folder", "is empty".into()));
    }
    let folder = expand(raw.folder.trim(), &p.source);
    let user_dir = crate::config::user_layout_dir();
    let layouts = Layouts::load(user_dir.as_deref()).map_err(|e| err(e.to_string()))?;
    if let Some(name) = &raw.profile {
        if only == Some(Format::Ofx) {
            return Err(key("profile", "is for CSV files; this feed takes only OFX".into()));
        }
        if layouts.get(name).is_none() {
            return Err(key("profile", format!("no CSV layout {name:?} (known: {})", layouts.names())));
        }
    }
    if let Some(account) = &raw.account {
        crate::import::given_account(account).map_err(|e| key("account", e))?;
    }
    Ok(FolderConfig {
        folder,
        layout: raw.profile,
        account: raw.account,
        only,
        layouts,
        currency: p.currency,
        home_country: p.home_country.clone(),
    })
}

/// `~/x` is in the home folder; a relative path is relative to the profile's
/// own folder (or the working folder, for an embedded profile).
fn expand(folder: &str, source: &str) -> PathBuf {
    let home = || directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    if folder == "~" {
        return home().unwrap_or_else(|| PathBuf::from(folder));
    }
    if let Some(rest) = folder.strip_prefix("~/")
        && let Some(home) = home()
    {
        return home.join(rest);
    }
    let path = PathBuf::from(folder);
    if path.is_absolute() || source.starts_with("embedded:") {
        return path;
    }
    Path::new(source).parent().map(|dir| dir.join(&path)).unwrap_or(path)
}

/// What the cursor remembers of a file handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Handled {
    name: String,
    size: u64,
    sha256: String,
    /// False when the file could not be imported (a notice said why).
    ok: bool,
    /// Its transactions, when imported.
    #[serde(default)]
    transactions: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    v: u32,
    files: Vec<Handled>,
}

impl Cursor {
    fn parse(text: Option<&str>, bank: &str) -> Cursor {
        let Some(text) = text else { return Cursor { v: CURSOR_VERSION, files: Vec::new() } };
        match serde_json::from_str::<Cursor>(text) {
            Ok(c) if c.v == CURSOR_VERSION => c,
            _ => {
                tracing::warn!(bank, "import feed: unreadable cursor; files already imported are read again");
                Cursor { v: CURSOR_VERSION, files: Vec::new() }
            }
        }
    }

    fn remember(&mut self, h: Handled) {
        self.files.retain(|f| f.name != h.name);
        self.files.push(h);
        let excess = self.files.len().saturating_sub(MAX_REMEMBERED);
        self.files.drain(..excess);
    }

    fn to_json(&self) -> String {
        // Strings, integers and booleans always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

struct FolderFeed {
    cfg: FolderConfig,
}

impl BankFeed for FolderFeed {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(watch(self.cfg, ctx))
    }
}

/// A file in the folder as last seen: size and modification time.
type Stamp = (u64, Option<SystemTime>);

async fn watch(cfg: FolderConfig, ctx: FeedContext) -> Result<FeedExit, FeedError> {
    let bank = ctx.bank.to_string();
    let cfg = Arc::new(cfg);
    let mut cursor = Cursor::parse(ctx.cursor.as_deref(), &bank);
    let once = matches!(ctx.mode, FeedMode::Events(_));
    // Seen on the previous poll, not yet handled: a file is taken when its
    // stamp holds still for one poll.
    let mut settling: HashMap<String, Stamp> = HashMap::new();
    // Handled in this run, with the stamp it had.
    let mut done: HashMap<String, Stamp> = HashMap::new();
    let mut warned_missing = false;
    loop {
        match list(&cfg.folder, cfg.only) {
            Ok(files) => {
                warned_missing = false;
                settling.retain(|name, _| files.iter().any(|(n, _, _)| n == name));
                for (name, path, stamp) in files {
                    if ctx.cancel.is_cancelled() {
                        return Ok(FeedExit::Cancelled { events: ctx.sink.sent() });
                    }
                    if done.get(&name) == Some(&stamp) {
                        continue;
                    }
                    if !once && settling.insert(name.clone(), stamp) != Some(stamp) {
                        continue; // new or still changing
                    }
                    if !once && quiet_for(&stamp) < SETTLE {
                        continue; // written to a moment ago
                    }
                    settling.remove(&name);
                    match handle(&cfg, &ctx, &mut cursor, &name, &path, once).await? {
                        Outcome::Done => {
                            done.insert(name, stamp);
                        }
                        Outcome::Again => {}
                        Outcome::Cancelled => return Ok(FeedExit::Cancelled { events: ctx.sink.sent() }),
                    }
                }
            }
            Err(e) => {
                if !warned_missing {
                    tracing::warn!(bank, folder = %cfg.folder.display(), error = %e, "import feed: cannot read the folder");
                    let text = format!(
                        "finbox cannot read the statements folder {}: {e}. Create it (or fix [import] folder in the \
                         bank's profile); finbox keeps looking.",
                        cfg.folder.display()
                    );
                    ctx.sink.send(FeedEvent::SystemNotice { at: (ctx.clock)(), text }).await?;
                    warned_missing = true;
                }
            }
        }
        if once {
            return Ok(FeedExit::Finished { events: ctx.sink.sent() });
        }
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Ok(FeedExit::Cancelled { events: ctx.sink.sent() }),
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// How long ago the file was last written (zero when unknown or ahead).
fn quiet_for(stamp: &Stamp) -> Duration {
    stamp.1.and_then(|m| SystemTime::now().duration_since(m).ok()).unwrap_or_default()
}

/// A private copy of `path`, read through one descriptor: both passes of the
/// import read the copy, so a statement rewritten or replaced meanwhile
/// cannot mix two files (one's balances with the other's transactions). It
/// keeps the file's extension and is removed when dropped.
fn snapshot(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let mut copy = tempfile::Builder::new().prefix(".finbox-import-").suffix(&ext).tempfile()?;
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, copy.as_file_mut())?;
    Ok(copy)
}

/// SHA-256 (hex) of the first `len` bytes of a file.
fn prefix_sha256(path: &Path, len: u64) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut hasher = sha2::Sha256::new();
    let mut f = std::fs::File::open(path)?.take(len);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a file ends as a whole statement does: a CSV with its last
/// newline, an OFX with its closing `</OFX>`.
fn ends_whole(path: &Path, format: Option<Format>) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(4096)))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    Ok(match format {
        Some(Format::Ofx) => {
            let text = String::from_utf8_lossy(&tail).to_ascii_uppercase();
            text.trim_end().ends_with("</OFX>")
        }
        _ => tail.ends_with(b"\n"),
    })
}

/// Statement files in `folder` (by extension; hidden and partial files are
/// left alone), sorted by name. Only plain files of the user's own with one
/// name are taken: not a link (symbolic or hard) to a file elsewhere, which
/// would put another file's content in the bank's thread.
fn list(folder: &Path, only: Option<Format>) -> std::io::Result<Vec<(String, PathBuf, Stamp)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let format = Format::from_extension(&path);
        if name.starts_with('.') || format.is_none() || (only.is_some() && format != only) {
            continue;
        }
        // Not followed: a symbolic link is not a plain file.
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_file() && own_single_file(&meta) {
            out.push((name, path, (meta.len(), meta.modified().ok())));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn own_single_file(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    let one_name = std::os::unix::fs::MetadataExt::nlink(meta) == 1;
    #[cfg(not(unix))]
    let one_name = true;
    one_name && crate::store::foreign_owner(meta).is_none()
}

/// How handling one file went.
enum Outcome {
    /// Imported, refused with a notice, or known already.
    Done,
    /// Changed while it was read: look again at the next poll.
    Again,
    Cancelled,
}

/// Why importing one file stopped.
enum Failure {
    Bad(ImportError),
    Feed(FeedError),
    Cancelled,
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Stopped => Failure::Cancelled,
            e => Failure::Bad(e),
        }
    }
}

async fn handle(
    cfg: &Arc<FolderConfig>,
    ctx: &FeedContext,
    cursor: &mut Cursor,
    name: &str,
    path: &Path,
    once: bool,
) -> Result<Outcome, FeedError> {
    let shown = clean_line(name, 80);
    let at = (ctx.clock)();
    let previous = cursor.files.iter().find(|f| f.name == name).cloned();
    let Some(taken) = take(path, previous).await else {
        // Gone or unreadable between listing and reading: try at the next poll.
        return Ok(Outcome::Again);
    };
    // A statement that does not end as one is taken only once it has long
    // held still (some banks leave out the last newline).
    let quiet = std::fs::metadata(path).ok().and_then(|m| m.modified().ok());
    if !once
        && !taken.whole
        && quiet.is_none_or(|m| SystemTime::now().duration_since(m).unwrap_or_default() < SETTLE_UNFINISHED)
    {
        return Ok(Outcome::Again);
    }
    let Taken { copy, sha256, size, grown, .. } = taken;
    if cursor.files.iter().any(|f| f.name == name && f.size == size && f.sha256 == sha256) {
        return Ok(Outcome::Done);
    }
    if let Some(twin) = cursor.files.iter().find(|f| f.sha256 == sha256 && f.ok).map(|f| f.name.clone()) {
        let text = format!("{shown} is the same file as {}, imported before: nothing new.", clean_line(&twin, 80));
        ctx.sink.send(FeedEvent::SystemNotice { at, text }).await?;
        cursor.remember(Handled { name: name.to_string(), size, sha256, ok: true, transactions: 0 });
        ctx.sink.send(FeedEvent::Cursor(cursor.to_json())).await?;
        return Ok(Outcome::Done);
    }
    let (scan, held) = match read(cfg, ctx, copy, name, at).await {
        Ok(done) => done,
        Err(Failure::Cancelled) => return Ok(Outcome::Cancelled),
        Err(Failure::Feed(e)) => return Err(e),
        // Still being written, or replaced: read it again when it holds still.
        Err(Failure::Bad(ImportError::Changed { .. })) => return Ok(Outcome::Again),
        Err(Failure::Bad(e)) => {
            // The log names no file and quotes nothing of it: a purge
            // cannot reach the log.
            tracing::warn!(bank = %ctx.bank, sha256 = &sha256[..12], line = e.line(), "import feed: file refused");
            let text = format!(
                "Could not import {shown}: {e}. Nothing from it was stored; finbox reads it again when it changes."
            );
            ctx.sink.send(FeedEvent::SystemNotice { at, text }).await?;
            cursor.remember(Handled { name: name.to_string(), size, sha256, ok: false, transactions: 0 });
            ctx.sink.send(FeedEvent::Cursor(cursor.to_json())).await?;
            return Ok(Outcome::Done);
        }
    };
    announce(ctx, cursor, name, &shown, &scan, held, grown, at).await?;
    Ok(Outcome::Done)
}

/// A file taken in: its private copy, what it is, whether it ends whole,
/// and (when it only grew since it was imported) how many transactions it
/// had then.
struct Taken {
    copy: tempfile::NamedTempFile,
    sha256: String,
    size: u64,
    whole: bool,
    grown: Option<u64>,
}

/// Takes a private copy of the file at `path` (on a blocking thread) and
/// looks at it; `None` when it is gone or unreadable.
async fn take(path: &Path, previous: Option<Handled>) -> Option<Taken> {
    let path = path.to_path_buf();
    let taken = tokio::task::spawn_blocking(move || {
        let copy = snapshot(&path)?;
        let (sha256, size) = crate::import::fingerprint(copy.path())?;
        let whole = ends_whole(copy.path(), Format::from_extension(&path))?;
        // What it held when it was imported before, if it only grew since.
        let grew_from = |before: &Handled| -> bool {
            before.ok && before.size < size && prefix_sha256(copy.path(), before.size).is_ok_and(|h| h == before.sha256)
        };
        let grown = previous.as_ref().filter(|b| grew_from(b)).map(|b| b.transactions);
        std::io::Result::Ok(Taken { copy, sha256, size, whole, grown })
    })
    .await;
    taken.ok().and_then(Result::ok)
}

/// Reads the copy through the importer on a blocking thread (sending its
/// events as it goes when it is large), stopping when the feed is told to.
async fn read(
    cfg: &Arc<FolderConfig>,
    ctx: &FeedContext,
    copy: tempfile::NamedTempFile,
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(Scan, Option<Vec<FeedEvent>>), Failure> {
    let opts = Options {
        currency: cfg.currency,
        home_country: cfg.home_country.clone(),
        utc_offset_secs: ctx.utc_offset_secs,
        now: at,
        account: cfg.account.clone(),
    };
    let (cfg, sink, cancel) = (cfg.clone(), ctx.sink.clone(), ctx.cancel.clone());
    let name = name.to_string();
    let handle = tokio::runtime::Handle::current();
    let task = tokio::task::spawn_blocking(move || {
        let scan = import(&cfg, copy.path(), &name, &opts, &sink, &cancel, &handle);
        drop(copy);
        scan
    });
    tokio::select! {
        joined = task => joined.unwrap_or_else(|e| Err(Failure::Feed(FeedError::Other(format!("the import crashed: {e}"))))),
        _ = ctx.cancel.cancelled() => Err(Failure::Cancelled),
    }
}

/// Says in the thread what arrived and remembers the file: a file that grew
/// since it was imported (a statement downloaded again with more rows)
/// announces only its new rows, the others were stored before under the
/// same ids. A held file goes with its announcement and cursor as one group,
/// one store transaction.
#[allow(clippy::too_many_arguments)]
async fn announce(
    ctx: &FeedContext,
    cursor: &mut Cursor,
    name: &str,
    shown: &str,
    scan: &Scan,
    held: Option<Vec<FeedEvent>>,
    grown: Option<u64>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), FeedError> {
    let before = grown.unwrap_or(0).min(scan.transactions);
    let announcement = scan.announcement(shown, scan.transactions - before, before, at, ctx.utc_offset_secs);
    cursor.remember(Handled {
        name: name.to_string(),
        size: scan.size(),
        sha256: scan.sha256(),
        ok: true,
        transactions: scan.transactions,
    });
    let remembered = FeedEvent::Cursor(cursor.to_json());
    match held {
        Some(mut events) => {
            events.extend([announcement, remembered]);
            ctx.sink.send(FeedEvent::Whole(events)).await?;
        }
        None => {
            ctx.sink.send(announcement).await?;
            ctx.sink.send(remembered).await?;
        }
    }
    tracing::info!(
        bank = %ctx.bank,
        sha256 = &scan.sha256()[..12],
        transactions = scan.transactions,
        "import feed: file imported"
    );
    Ok(())
}

/// A file of up to this many transactions is applied in one store
/// transaction (its events held in memory meanwhile); a larger one is
/// streamed to the writer and may be committed in several.
pub const WHOLE_MAX: u64 = 100_000;

/// Reads one file (on a blocking thread). Its events come back, to be sent
/// as one group, when there are at most [`WHOLE_MAX`] transactions; a
/// larger file's are sent as they are read.
fn import(
    cfg: &FolderConfig,
    path: &Path,
    name: &str,
    opts: &Options,
    sink: &FeedSink,
    cancel: &CancellationToken,
    rt: &tokio::runtime::Handle,
) -> Result<(Scan, Option<Vec<FeedEvent>>), Failure> {
    let stop = || cancel.is_cancelled();
    let statement = Statement::open_as(path, name, cfg.only, &cfg.layouts, cfg.layout.as_deref())?;
    let scan = statement.scan(opts, &stop)?;
    if scan.transactions <= WHOLE_MAX {
        let mut held = Vec::new();
        scan.events(&stop, |event| {
            held.push(event);
            Ok::<_, Failure>(())
        })?;
        return Ok((scan, Some(held)));
    }
    scan.events(&stop, |event| {
        rt.block_on(async {
            tokio::select! {
                sent = sink.send(event) => sent.map_err(Failure::Feed),
                _ = cancel.cancelled() => Err(Failure::Cancelled),
            }
        })
    })?;
    Ok((scan, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(body: &str) -> BankProfile {
        BankProfile::parse(&format!("id = \"mybank\"\nname = \"My Bank\"\n{body}"), "/cfg/banks/mybank.toml").unwrap()
    }

    #[test]
    fn the_table_is_checked_key_by_key() {
        let p = profile(
            "feed = \"import\"\n[import]\nfolder = \"statements\"\nprofile = \"generic\"\naccount = \"1234\"\n",
        );
        let cfg = parse_profile(&p).unwrap();
        assert_eq!(cfg.folder, PathBuf::from("/cfg/banks/statements"));
        assert_eq!((cfg.layout.as_deref(), cfg.account.as_deref(), cfg.only), (Some("generic"), Some("1234"), None));
        let cfg = parse_profile(&profile("feed = \"ofx\"\n[ofx]\nfolder = \"/abs\"\n")).unwrap();
        assert_eq!((cfg.folder, cfg.only), (PathBuf::from("/abs"), Some(Format::Ofx)));

        let bad = |body: &str| parse_profile(&profile(body)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(bad("feed = \"import\"\n").contains("missing the [import] table"));
        assert!(bad("feed = \"import\"\n[import]\nfolder = \"x\"\nfoldr = 1\n").contains("unknown field `foldr`"));
        assert!(bad("feed = \"import\"\n[import]\nfolder = \"x\"\nprofile = \"nope\"\n").contains("profile"));
        let e = bad("feed = \"import\"\n[import]\nfolder = \"x\"\naccount = \"12a4\"\n");
        assert!(e.contains("[import] account") && e.contains("mybank.toml"), "{e}");
        assert!(bad("feed = \"ofx\"\n[ofx]\nfolder = \"x\"\nprofile = \"generic\"\n").contains("only OFX"));
    }

    #[test]
    fn an_import_reads_a_snapshot_that_a_replaced_file_cannot_change() {
        // Statement A replaced by B between the import's two passes used to
        // give A's opening balance to B's transactions.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nov.ofx");
        std::fs::write(&path, "statement A </OFX>\n").unwrap();
        let copy = snapshot(&path).unwrap();
        assert!(copy.path().to_string_lossy().ends_with(".ofx"));
        let other = dir.path().join("b.ofx");
        std::fs::write(&other, "statement B, three hundred thousand rows").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(std::fs::read_to_string(copy.path()).unwrap(), "statement A </OFX>\n");
        assert!(ends_whole(copy.path(), Some(Format::Ofx)).unwrap());
        assert!(!ends_whole(&path, Some(Format::Ofx)).unwrap());
        let (whole, len) = crate::import::fingerprint(copy.path()).unwrap();
        assert_eq!(prefix_sha256(copy.path(), len).unwrap(), whole);
    }

    #[test]
    fn the_cursor_round_trips_and_stays_bounded() {
        let mut c = Cursor::parse(None, "b");
        for i in 0..MAX_REMEMBERED + 10 {
            c.remember(Handled { name: format!("f{i}"), size: 1, sha256: "x".into(), ok: true, transactions: 1 });
        }
        assert_eq!(c.files.len(), MAX_REMEMBERED);
        assert_eq!(c.files[0].name, "f10");
        assert_eq!(Cursor::parse(Some(&c.to_json()), "b"), c);
        assert!(Cursor::parse(Some("garbage"), "b").files.is_empty());
    }
}
