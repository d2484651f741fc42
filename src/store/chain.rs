//! The tamper-evident log: every consent change, alert verdict and card lock
//! or unlock, appended in the transaction that makes the change, each entry
//! holding the SHA-256 of its content and of the entry before it.
//!
//! The chain tells an entry edited, removed or moved by another tool (the
//! `sqlite3` shell, a bad restore, a damaged copy), and a one-row copy of
//! its last link (`chain_head`) tells entries cut off its end. It does not
//! stop someone who rewrites the chain *and* its head with this program's
//! knowledge: nothing kept in the same file can; an anchor kept elsewhere
//! would be needed.

use std::cell::Cell;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Result, Store, from_unix};
use crate::domain::BankId;

/// The schema version whose migration starts the chain.
pub(super) const SCHEMA: usize = 10;

/// `prev` of the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    /// The chain begins (when the store was made, or upgraded to it).
    Start,
    Grant,
    Renew,
    Revoke,
    Expire,
    Purge,
    /// The user's verdict on a fraud alert.
    Verdict,
    CardLock,
    CardUnlock,
    /// A change of what a bank shares.
    Scopes,
}

impl ChainKind {
    pub const ALL: &[ChainKind] = &[
        ChainKind::Start,
        ChainKind::Grant,
        ChainKind::Renew,
        ChainKind::Revoke,
        ChainKind::Expire,
        ChainKind::Purge,
        ChainKind::Verdict,
        ChainKind::CardLock,
        ChainKind::CardUnlock,
        ChainKind::Scopes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChainKind::Start => "start",
            ChainKind::Grant => "grant",
            ChainKind::Renew => "renew",
            ChainKind::Revoke => "revoke",
            ChainKind::Expire => "expire",
            ChainKind::Purge => "purge",
            ChainKind::Verdict => "verdict",
            ChainKind::CardLock => "card-lock",
            ChainKind::CardUnlock => "card-unlock",
            ChainKind::Scopes => "scopes",
        }
    }

    /// The kind a consent log action is chained as.
    pub(super) fn of_consent(action: crate::domain::ConsentAction) -> ChainKind {
        use crate::domain::ConsentAction as A;
        match action {
            A::Grant => ChainKind::Grant,
            A::Renew => ChainKind::Renew,
            A::Revoke => ChainKind::Revoke,
            A::Purge => ChainKind::Purge,
            A::Expire => ChainKind::Expire,
            A::Scopes => ChainKind::Scopes,
        }
    }
}

/// An entry as the store holds it (its text as found: it may have been
/// edited by anyone; clean it before showing it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub bank: Option<String>,
    pub kind: String,
    pub detail: String,
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every entry is where it was written, as it was written.
    Ok { entries: u64, first: Option<DateTime<Utc>>, last: Option<DateTime<Utc>> },
    /// The first entry that is not: its seq, why, and what it holds now
    /// (none when it is gone).
    Broken { at_seq: i64, why: Breach, entry: Option<ChainEntry> },
}

/// How an entry was found changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// Its content does not match its hash.
    Altered,
    /// Its hash was computed anew: the next entry no longer follows it.
    Rewritten,
    /// It is not where it was written: entries before it were removed or
    /// reordered (its seq changed).
    Moved,
    /// It is missing (the entries after it, if any, are there).
    Removed,
    /// The chain goes on past its recorded end: written without finbox.
    Added,
    /// The copy of the last link is missing or differs.
    Anchor,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Breach::Altered => "its content does not match its hash",
            Breach::Rewritten => "its hash was computed anew, so the entry after it no longer follows it",
            Breach::Moved => "it is not where it was written (entries before it were removed or reordered)",
            Breach::Removed => "it was removed",
            Breach::Added => "it was not written by finbox (the log's recorded end is before it)",
            Breach::Anchor => "the copy of the log's last link was removed or changed",
        })
    }
}

/// An entry with its links, as stored or about to be.
struct Link {
    entry: ChainEntry,
    at: i64,
    prev: String,
    hash: String,
}

impl Link {
    /// Hex SHA-256 over a canonical encoding: a version tag, then each field
    /// fixed-width or length-prefixed (a missing bank apart from an empty
    /// one), so that no two different entries encode alike.
    fn digest(&self) -> String {
        fn field(buf: &mut Vec<u8>, s: &str) {
            buf.extend_from_slice(&(s.len() as u64).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        let e = &self.entry;
        let mut buf = Vec::with_capacity(160 + e.detail.len());
        buf.extend_from_slice(b"finbox chain v1\0");
        buf.extend_from_slice(&e.seq.to_be_bytes());
        buf.extend_from_slice(&self.at.to_be_bytes());
        match &e.bank {
            None => buf.push(0),
            Some(b) => {
                buf.push(1);
                field(&mut buf, b);
            }
        }
        field(&mut buf, &e.kind);
        field(&mut buf, &e.detail);
        field(&mut buf, &self.prev);
        let mut hex = String::with_capacity(64);
        for b in Sha256::digest(&buf) {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 15)]));
        }
        hex
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends an entry, in the caller's write transaction (so the entry and
/// the change it records commit together, and two writers take turns).
///
/// The next link follows the recorded head. Where the head and the last
/// entry disagree (the log was edited), the entry follows the head, or
/// nothing: the break stays visible rather than being papered over.
pub(super) fn append(
    tx: &Connection,
    at: DateTime<Utc>,
    bank: Option<&BankId>,
    kind: ChainKind,
    detail: &str,
) -> Result<()> {
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let head = read_head(tx)?;
    let (seq, prev) = match (last, head) {
        (last, head) if last == head => last.map_or((1, GENESIS.to_string()), |(s, h)| (s + 1, h)),
        (last, head) => {
            let seq = last.as_ref().map_or(0, |l| l.0).max(head.as_ref().map_or(0, |h| h.0)) + 1;
            (seq, head.map_or(GENESIS.to_string(), |h| h.1))
        }
    };
    let entry = ChainEntry {
        seq,
        at: from_unix(at.timestamp()),
        bank: bank.map(|b| b.as_str().to_string()),
        kind: kind.as_str().to_string(),
        detail: detail.to_string(),
    };
    let mut link = Link { entry, at: at.timestamp(), prev, hash: String::new() };
    link.hash = link.digest();
    tx.prepare_cached(
        "INSERT INTO chain (seq, at, bank_id, kind, detail, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![seq, link.at, link.entry.bank, link.entry.kind, link.entry.detail, link.prev, link.hash])?;
    tx.prepare_cached(
        "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )?
    .execute(params![seq, link.hash])?;
    Ok(())
}

/// Starts the chain when the store reaches [`SCHEMA`]: the consent log as
/// it stands, in order, then a "start" entry saying so. The chain vouches
/// for those copied entries only from now on.
pub(super) fn start(tx: &Connection) -> Result<()> {
    let earlier: Vec<(String, String, i64, String)> = tx
        .prepare("SELECT bank_id, action, at, detail FROM consent_log ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (bank, action, at, detail) in &earlier {
        let kind = ChainKind::ALL.iter().copied().find(|k| k.as_str() == action).unwrap_or(ChainKind::Start);
        append(tx, from_unix(*at), Some(&BankId::new(bank)?), kind, detail)?;
    }
    let detail = match earlier.len() {
        0 => "the log starts".to_string(),
        n => format!("the log starts; the {n} consent changes before were copied from the consent log"),
    };
    append(tx, Utc::now(), None, ChainKind::Start, &detail)
}

fn read_head(conn: &Connection) -> Result<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM chain_head WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Where a walk along the chain is: the last good link.
#[derive(Default)]
struct Walk {
    count: u64,
    first: Option<DateTime<Utc>>,
    last: Option<(ChainEntry, String)>,
}

impl Walk {
    /// Takes the next stored entry; the report if it breaks the chain.
    fn step(&mut self, link: Link) -> Option<ChainReport> {
        let (expected, prev) = match &self.last {
            Some((e, h)) => (e.seq + 1, h.as_str()),
            None => (1, GENESIS),
        };
        let broken = |at_seq, why, entry| Some(ChainReport::Broken { at_seq, why, entry });
        if link.entry.seq != expected {
            return broken(expected, Breach::Removed, None);
        }
        let hash_ok = link.digest() == link.hash;
        let prev_ok = link.prev == prev;
        match (hash_ok, prev_ok) {
            (true, true) => {
                self.count += 1;
                self.first.get_or_insert(link.entry.at);
                self.last = Some((link.entry, link.hash));
                None
            }
            (false, true) => broken(link.entry.seq, Breach::Altered, Some(link.entry)),
            (false, false) => broken(link.entry.seq, Breach::Moved, Some(link.entry)),
            (true, false) => match self.last.take() {
                Some((before, _)) => broken(before.seq, Breach::Rewritten, Some(before)),
                None => broken(link.entry.seq, Breach::Altered, Some(link.entry)),
            },
        }
    }

    /// After the last entry: the recorded head must be the last link.
    fn finish(self, head: Option<(i64, String)>, conn: &Connection) -> Result<ChainReport> {
        let last_seq = self.last.as_ref().map_or(0, |l| l.0.seq);
        let broken = |at_seq, why, entry| Ok(ChainReport::Broken { at_seq, why, entry });
        match (head, self.last) {
            // The migration writes a first entry: an empty chain lost it.
            (None, None) => broken(1, Breach::Removed, None),
            (None, Some((e, _))) => broken(e.seq, Breach::Anchor, Some(e)),
            (Some((seq, _)), _) if seq > last_seq => broken(last_seq + 1, Breach::Removed, None),
            (Some((seq, _)), _) if seq < last_seq => broken(seq + 1, Breach::Added, entry_at(conn, seq + 1)?),
            (Some((_, hash)), Some((e, h))) if hash != h => broken(e.seq, Breach::Anchor, Some(e)),
            (_, last) => Ok(ChainReport::Ok { entries: self.count, first: self.first, last: last.map(|(e, _)| e.at) }),
        }
    }
}

const COLUMNS: &str = "SELECT seq, at, bank_id, kind, detail, prev, hash FROM chain";

fn read_link(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    let at: i64 = r.get(1)?;
    Ok(Link {
        entry: ChainEntry { seq: r.get(0)?, at: from_unix(at), bank: r.get(2)?, kind: r.get(3)?, detail: r.get(4)? },
        at,
        prev: r.get(5)?,
        hash: r.get(6)?,
    })
}

fn entry_at(conn: &Connection, seq: i64) -> Result<Option<ChainEntry>> {
    Ok(conn.query_row(&format!("{COLUMNS} WHERE seq = ?1"), [seq], read_link).optional()?.map(|l| l.entry))
}

/// The screen's last check: the `data_version` and head it was made at,
/// when, and what it found.
#[derive(Debug)]
pub(super) struct Seen {
    version: i64,
    head: Option<(i64, String)>,
    at: Instant,
    warning: Option<String>,
}

pub(super) type Checked = Cell<Option<Seen>>;

/// How often at most the screen walks the whole chain again while the
/// store changes (a feed writes every few seconds; the walk hashes every
/// entry: some 25 ms at 10,000 entries on a slow machine).
const RECHECK: Duration = Duration::from_secs(60);

impl Store {
    /// Walks the whole chain (reads every entry: a few milliseconds for
    /// 10,000) and says where it first breaks, if it does.
    pub fn verify_chain(&self) -> Result<ChainReport> {
        // One read transaction, so that the walk and the head are of the
        // same moment: an entry another process appends meanwhile is not
        // taken for one added behind finbox's back.
        let snapshot = self.conn.unchecked_transaction()?;
        let mut stmt = snapshot.prepare(&format!("{COLUMNS} ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        let mut walk = Walk::default();
        while let Some(row) = rows.next()? {
            if let Some(broken) = walk.step(read_link(row)?) {
                return Ok(broken);
            }
        }
        walk.finish(read_head(&snapshot)?, &snapshot)
    }

    /// For the screen: where the chain breaks ("entry 17"), or `None`.
    /// The chain is walked again when a new entry was written (its head
    /// moved), or when another connection committed and the last walk is
    /// a minute old: an edit made behind finbox's back shows within a
    /// minute of the next change. This connection's own entries never mend
    /// a break (see [`append`]).
    pub fn chain_warning(&self) -> Option<String> {
        let version = self.data_version().unwrap_or(-1);
        let head = read_head(&self.conn).unwrap_or(None);
        if let Some(seen) = self.chain_checked.take() {
            let stale = seen.version != version && seen.at.elapsed() >= RECHECK;
            if seen.head == head && !stale {
                let warning = seen.warning.clone();
                self.chain_checked.set(Some(seen));
                return warning;
            }
        }
        let warning = match self.verify_chain() {
            Ok(ChainReport::Ok { .. }) => None,
            Ok(ChainReport::Broken { at_seq, .. }) => Some(format!("entry {at_seq}")),
            Err(e) => Some(format!("cannot be read: {e}")),
        };
        self.chain_checked.set(Some(Seen { version, head, at: Instant::now(), warning: warning.clone() }));
        warning
    }

    /// The chain's entries, oldest first (for tests and `consent log`).
    pub fn chain_entries(&self) -> Result<Vec<ChainEntry>> {
        let mut stmt = self.conn.prepare(&format!("{COLUMNS} ORDER BY seq"))?;
        let rows = stmt.query_map([], read_link)?;
        Ok(rows.map(|r| r.map(|l| l.entry)).collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(bank: Option<&str>, kind: &str, detail: &str) -> Link {
        let entry = ChainEntry {
            seq: 3,
            at: from_unix(10),
            bank: bank.map(str::to_string),
            kind: kind.into(),
            detail: detail.into(),
        };
        Link { entry, at: 10, prev: GENESIS.into(), hash: String::new() }
    }

    #[test]
    fn the_encoding_tells_fields_apart() {
        let a = link(Some("ab"), "c", "d").digest();
        assert_eq!(a.len(), 64);
        assert_ne!(a, link(Some("a"), "bc", "d").digest());
        assert_ne!(a, link(Some("ab"), "cd", "").digest());
        assert_ne!(link(None, "c", "d").digest(), link(Some(""), "c", "d").digest());
        assert_eq!(a, link(Some("ab"), "c", "d").digest());
    }

    /// An entry edited and its hash computed anew (with this program's
    /// recipe) is found by the entry after it, which no longer follows it.
    #[test]
    fn an_entry_whose_hash_was_computed_anew_is_found_by_the_next() {
        let mut s = Store::open_in_memory().unwrap();
        let b = BankId::new("chase").unwrap();
        s.write(|tx| {
            for i in 0..3 {
                append(tx, from_unix(i), Some(&b), ChainKind::Grant, &format!("until {i}"))?;
            }
            Ok(())
        })
        .unwrap();
        assert!(matches!(s.verify_chain().unwrap(), ChainReport::Ok { entries: 4, .. }));
        let mut l = s.conn.query_row(&format!("{COLUMNS} WHERE seq = 2"), [], read_link).unwrap();
        l.entry.detail = "until forever".into();
        l.hash = l.digest();
        s.conn
            .execute("UPDATE chain SET detail = ?1, hash = ?2 WHERE seq = 2", params![l.entry.detail, l.hash])
            .unwrap();
        let report = s.verify_chain().unwrap();
        assert!(
            matches!(&report, ChainReport::Broken { at_seq: 2, why: Breach::Rewritten, entry: Some(e) } if e.detail == "until forever"),
            "{report:?}"
        );
    }

    #[test]
    fn every_kind_has_its_own_name() {
        let names: std::collections::HashSet<_> = ChainKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ChainKind::ALL.len());
    }
}
