//! Encryption at rest (SQLCipher): telling an encrypted store from a plain
//! one, keying a connection, and converting a store between the two in
//! place, safely: a new file is written beside it, verified, and renamed
//! over the old one, so an interruption leaves the old store intact.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{APPLICATION_ID, Result, StoreError, create_private_file};

/// The environment variable scripts give the passphrase in.
pub const PASSPHRASE_ENV: &str = "FINBOX_PASSPHRASE";

/// A store's passphrase. Never printed: its `Debug` shows no characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(String);

impl Passphrase {
    /// Refuses an empty passphrase: SQLCipher would treat it as "no key".
    pub fn new(s: impl Into<String>) -> std::result::Result<Passphrase, &'static str> {
        let s = s.into();
        if s.is_empty() { Err("the passphrase is empty") } else { Ok(Passphrase(s)) }
    }

    /// `FINBOX_PASSPHRASE`, when set and not empty.
    pub fn from_env() -> Option<Passphrase> {
        std::env::var(PASSPHRASE_ENV).ok().and_then(|s| Passphrase::new(s).ok())
    }

    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

/// What a file on disk looks like from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// No file, or an empty one: a new store.
    New,
    /// A plain SQLite file.
    Plain,
    /// Whole pages of what looks like noise: an encrypted store, or a file
    /// that is not a store at all (the two cannot be told apart without
    /// the passphrase).
    Opaque,
    /// Not a store, encrypted or not: not whole pages.
    Foreign,
}

/// What the file at `path` is, told through SQLite itself: never through a
/// descriptor of finbox's own, since closing one would drop every lock this
/// process holds on the store (see the store module's doc). A probe
/// connection reads the schema without a key: a plain database answers, an
/// encrypted one (or noise) is "not a database", and then only its length
/// (a path call) tells whole pages from a file that cannot be a store.
pub fn file_kind(path: &Path) -> Result<FileKind> {
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::New),
        Err(source) => return Err(StoreError::Open { path: shown, source }),
    };
    if meta.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::IsADirectory, "Is a directory");
        return Err(StoreError::Open { path: shown, source });
    }
    let len = meta.len();
    if len == 0 {
        return Ok(FileKind::New);
    }
    // READ_WRITE falls back to reading a file the process may not write;
    // the store's own open says so afterwards.
    let probe = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| super::classify(e, &shown, false))?;
    quiet(&probe);
    probe.busy_timeout(super::BUSY_TIMEOUT)?;
    match probe.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(FileKind::Plain),
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::NotADatabase => {
            // A database is whole pages, and pages are powers of two of at
            // least 512 bytes.
            Ok(if len >= 512 && len % 512 == 0 { FileKind::Opaque } else { FileKind::Foreign })
        }
        Err(e) => Err(super::classify(e, &shown, false)),
    }
}

/// Whether the store at `path` can go `direction` at all, told from its
/// first bytes (so a caller can say so before asking for a passphrase).
pub fn check_convertible(path: &Path, direction: Direction) -> Result<()> {
    let shown = path.display().to_string();
    match (direction, file_kind(path)?) {
        (_, FileKind::New) => Err(StoreError::Convert(format!("there is no store at {shown} yet"))),
        (_, FileKind::Foreign) => Err(StoreError::NotFinbox { path: shown }),
        (Direction::Encrypt, FileKind::Opaque) => {
            Err(StoreError::Convert(format!("{shown} is encrypted already (or is not a finbox store)")))
        }
        (Direction::Decrypt, FileKind::Plain) => Err(StoreError::Convert(format!("{shown} is not encrypted"))),
        _ => Ok(()),
    }
}

/// Keys a connection; must come before anything reads the file.
pub(super) fn key(conn: &Connection, key: &Passphrase) -> Result<()> {
    quiet(conn);
    conn.pragma_update(None, "key", key.expose())?;
    Ok(())
}

/// Which way [`convert`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Encrypt,
    Decrypt,
}

/// Encrypts (with `to`) or decrypts (with `from`) the store at `path` in
/// place: exports it into `<path>.converting`, checks the copy (integrity,
/// identity, the same number of rows in every table), then renames it over
/// the original. Refused while another process has the store open.
/// Returns the number of rows copied.
pub fn convert(path: &Path, direction: Direction, pass: &Passphrase) -> Result<u64> {
    let shown = path.display().to_string();
    check_convertible(path, direction)?;
    // Opening through the store checks that it is ours (and the
    // passphrase), and brings its schema up to date first.
    let from_key = (direction == Direction::Decrypt).then_some(pass);
    drop(super::Store::open_keyed(path, from_key)?);

    let src = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    if let Some(k) = from_key {
        key(&src, k)?;
    }
    // Leaving WAL mode needs the store to ourselves: a running finbox (or
    // any reader) makes it fail, and nothing is converted under its feet.
    // Then an exclusive lock, held until we are done, keeps others out.
    let in_use = || StoreError::Convert(format!("{shown} is open in another finbox; quit it first"));
    let mode: String = src.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).map_err(|_| in_use())?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    src.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let version: i64 = src.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // A write takes the exclusive lock (and keeps it, in this mode).
    src.pragma_update(None, "user_version", version).map_err(|_| in_use())?;

    let tmp = sibling(path, "converting");
    let _ = std::fs::remove_file(&tmp);
    create_private_file(&tmp).map_err(|source| StoreError::Open { path: tmp.display().to_string(), source })?;
    let result = export(&src, &tmp, direction, pass, version).and_then(|rows| {
        verify(&src, &tmp, direction, pass)?;
        Ok(rows)
    });
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    sync_file(&tmp);
    // Stale journal files go while the exclusive lock still keeps everyone
    // out (the store is in DELETE mode and uses none of them): afterwards,
    // another process may have opened the new file and made its own.
    for suffix in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|source| StoreError::Open { path: shown.clone(), source })?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    drop(src);
    // Back to WAL, through the store, with the new key.
    let to_key = (direction == Direction::Encrypt).then_some(pass);
    drop(super::Store::open_keyed(path, to_key)?);
    Ok(rows)
}

fn export(src: &Connection, tmp: &Path, direction: Direction, pass: &Passphrase, version: i64) -> Result<u64> {
    let tmp_key = match direction {
        Direction::Encrypt => pass.expose(),
        Direction::Decrypt => "",
    };
    src.execute("ATTACH DATABASE ?1 AS converted KEY ?2", rusqlite::params![tmp.to_string_lossy(), tmp_key])?;
    let out = (|| {
        src.query_row("SELECT sqlcipher_export('converted')", [], |_| Ok(()))?;
        src.execute_batch(&format!(
            "PRAGMA converted.user_version = {version}; PRAGMA converted.application_id = {APPLICATION_ID};"
        ))?;
        row_count(src, "main")
    })();
    src.execute_batch("DETACH DATABASE converted")?;
    out
}

/// The copy opens with the new key (or none), is intact, is ours, and holds
/// as many rows in every table as the original.
fn verify(src: &Connection, tmp: &Path, direction: Direction, pass: &Passphrase) -> Result<()> {
    let copy = Connection::open_with_flags(tmp, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    if direction == Direction::Encrypt {
        key(&copy, pass)?;
        if file_kind(tmp).ok() != Some(FileKind::Opaque) {
            return Err(StoreError::Convert("the encrypted copy was written in the clear; nothing was changed".into()));
        }
    }
    let check: String = copy.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    let app: i64 = copy.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let (a, b) = (row_count(src, "main")?, row_count(&copy, "main")?);
    if check != "ok" || app != APPLICATION_ID || a != b {
        return Err(StoreError::Convert(format!(
            "the converted copy did not check out ({check}; {b} of {a} rows); the store was left as it was"
        )));
    }
    Ok(())
}

/// Rows in every ordinary table of `schema` (FTS shadow tables included).
fn row_count(conn: &Connection, schema: &str) -> Result<u64> {
    let tables: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM {schema}.sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut total = 0u64;
    for t in tables {
        let n: i64 =
            conn.query_row(&format!("SELECT count(*) FROM {schema}.\"{}\"", t.replace('"', "\"\"")), [], |r| r.get(0))?;
        total += n as u64;
    }
    Ok(total)
}

/// Removes what an interrupted conversion left beside the store at `path`
/// (its copy, `<path>.converting`, and that copy's journal files); returns
/// the files removed. Called once a connection is open: a conversion in
/// progress holds the store locked and refuses to start while anyone else
/// has it open, so none is running now.
pub(super) fn remove_conversion_leftovers(path: &Path) -> Vec<PathBuf> {
    let copy = sibling(path, "converting");
    let mut removed = Vec::new();
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", copy.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {
                tracing::warn!(file = %file.display(), "removed a file an interrupted encrypt or decrypt left");
                removed.push(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %file.display(), error = %e, "cannot remove a conversion's leftover"),
        }
    }
    removed
}

/// `<path>.<what>` beside the store.
pub(super) fn sibling(path: &Path, what: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}"));
    path.with_file_name(name)
}

pub(super) fn sync_file(path: &Path) {
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.sync_all();
    }
}

pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) {
        let _ = d.sync_all();
    }
}

/// SQLCipher logs errors (a wrong key: "hmac check failed") to stderr, which
/// would scribble over the screen; finbox reports them itself.
pub(super) fn quiet(conn: &Connection) {
    let _ = conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()));
}
