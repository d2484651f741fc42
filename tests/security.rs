//! Encryption at rest and the store's own faults: each case through the
//! binary where a person would meet it, and through the library where the
//! fault must be made (a full disk).

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use finbox::domain::{AccountKind, BankId, Channel, Currency, Money};
use finbox::feed::{AccountInfo, Envelope, FeedEvent, TxnInfo};
use finbox::store::{Store, StoreError};
use serde_json::Value;

struct Home {
    dir: tempfile::TempDir,
}

const NOW: &str = "2026-11-20T15:00:00Z";

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn db(&self) -> PathBuf {
        common::store_path(self.dir.path())
    }

    fn cmd(&self, pass: Option<&str>, args: &[&str]) -> Command {
        Command::from_std(self.process(pass, args))
    }

    /// The binary as a plain process, to run in the background.
    fn process(&self, pass: Option<&str>, args: &[&str]) -> std::process::Command {
        let extra: Vec<(&str, &str)> = pass.map(|p| ("FINBOX_PASSPHRASE", p)).into_iter().collect();
        common::finbox(self.dir.path(), &extra, args)
    }

    fn ok(&self, pass: Option<&str>, args: &[&str]) -> String {
        let out = self.cmd(pass, args).assert().success().get_output().stdout.clone();
        String::from_utf8(out).unwrap()
    }

    fn fail(&self, pass: Option<&str>, args: &[&str]) -> String {
        let out = self.cmd(pass, args).assert().failure().get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
        // SQLCipher's own log lines must not reach the user's terminal.
        assert!(!err.contains("ERROR CORE") && !err.contains("hmac"), "{err}");
        err
    }

    fn json(&self, pass: Option<&str>, args: &[&str]) -> Vec<Value> {
        serde_json::from_str(&self.ok(pass, args)).unwrap()
    }

    /// A store with a few hundred transactions of two banks.
    fn seeded() -> Home {
        let h = Home::new();
        h.ok(None, &["consent", "grant", "chase"]);
        h.ok(None, &["consent", "grant", "citi"]);
        h.ok(None, &["--now", NOW, "feed", "--seed", "4", "--events", "600"]);
        h
    }
}

fn bytes_of(path: &Path) -> Vec<u8> {
    let mut all = std::fs::read(path).unwrap_or_default();
    for suffix in ["-wal", "-journal"] {
        all.extend(std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn encrypt_and_decrypt_round_trip_and_nothing_readable_is_left() {
    let h = Home::seeded();
    let balances = h.json(None, &["balances", "--json"]);
    let merchant =
        h.json(None, &["transactions", "--limit", "1", "--json"])[0]["merchant"].as_str().unwrap().to_string();
    assert!(contains(&bytes_of(&h.db()), &merchant), "the plain store holds {merchant:?}");

    let out = h.ok(Some("correct horse"), &["encrypt"]);
    assert!(out.contains("Encrypted") && out.contains("FINBOX_PASSPHRASE"), "{out}");
    let raw = bytes_of(&h.db());
    assert!(!raw.starts_with(b"SQLite format 3\0"));
    assert!(!contains(&raw, &merchant) && !contains(&raw, "Chase"), "plaintext left in the encrypted store");
    let leftovers: Vec<_> = std::fs::read_dir(h.db().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("converting"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(h.db()).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Without the passphrase: a clear refusal. With a wrong one: the same,
    // and not a byte changes.
    let err = h.fail(None, &["balances"]);
    assert!(err.contains("is encrypted") && err.contains("FINBOX_PASSPHRASE"), "{err}");
    let before = std::fs::read(h.db()).unwrap();
    let err = h.fail(Some("wrong horse"), &["balances"]);
    assert!(err.contains("wrong passphrase") && err.contains("nothing was changed"), "{err}");
    assert_eq!(std::fs::read(h.db()).unwrap(), before);

    // With it, everything reads and writes as before.
    assert_eq!(h.json(Some("correct horse"), &["balances", "--json"]), balances);
    h.ok(Some("correct horse"), &["say", "chase", "balance"]);
    let err = h.fail(Some("correct horse"), &["encrypt"]);
    assert!(err.contains("encrypted already"), "{err}");

    let err = h.fail(Some("wrong horse"), &["decrypt"]);
    assert!(err.contains("wrong passphrase"), "{err}");
    let out = h.ok(Some("correct horse"), &["decrypt"]);
    assert!(out.contains("Decrypted"), "{out}");
    assert!(std::fs::read(h.db()).unwrap().starts_with(b"SQLite format 3\0"));
    assert_eq!(h.json(None, &["balances", "--json"]), balances);
    let err = h.fail(None, &["decrypt"]);
    assert!(err.contains("not encrypted"), "{err}");
}

#[test]
fn a_new_store_is_created_encrypted_when_a_passphrase_is_given() {
    let h = Home::new();
    h.ok(Some("s3cret"), &["consent", "grant", "usbank"]);
    assert!(!std::fs::read(h.db()).unwrap().starts_with(b"SQLite format 3\0"));
    let err = h.fail(None, &["banks"]);
    assert!(err.contains("is encrypted"), "{err}");
    let banks = h.json(Some("s3cret"), &["banks", "--json"]);
    assert!(banks.iter().any(|b| b["id"] == "usbank" && b["consent"] == "granted"));
}

#[test]
fn converting_a_store_in_use_is_refused_and_changes_nothing() {
    let h = Home::seeded();
    let other = rusqlite::Connection::open(h.db()).unwrap();
    let _: i64 = other.query_row("SELECT count(*) FROM banks", [], |r| r.get(0)).unwrap();
    let before = std::fs::read(h.db()).unwrap();
    let err = h.fail(Some("pw"), &["encrypt"]);
    assert!(err.contains("open in another finbox"), "{err}");
    assert_eq!(std::fs::read(h.db()).unwrap(), before);
    drop(other);
    h.ok(Some("pw"), &["encrypt"]);
}

#[test]
fn a_damaged_store_is_named_and_left_untouched() {
    let h = Home::seeded();
    // Scribble over the schema page, past the 100-byte file header.
    let mut bytes = std::fs::read(h.db()).unwrap();
    for b in &mut bytes[110..600] {
        *b = 0x5a;
    }
    std::fs::write(h.db(), &bytes).unwrap();
    let err = h.fail(None, &["balances"]);
    assert!(err.contains("is damaged") && err.contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(h.db()).unwrap(), bytes);
}

#[test]
fn a_store_from_a_newer_finbox_is_named_and_left_untouched() {
    let h = Home::seeded();
    let c = rusqlite::Connection::open(h.db()).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(c);
    let before = std::fs::read(h.db()).unwrap();
    let err = h.fail(None, &["banks"]);
    assert!(err.contains("newer finbox") && err.contains("Upgrade finbox"), "{err}");
    assert_eq!(std::fs::read(h.db()).unwrap(), before);
}

/// Winds the store back to schema 3 (the columns migrations 4 and 5 add and
/// the tables migrations 6 and 7 add go), through SQLite with `pass` if the
/// store is encrypted.
fn wind_back_to_v3(db: &std::path::Path, pass: Option<&str>) {
    let c = rusqlite::Connection::open(db).unwrap();
    if let Some(p) = pass {
        c.pragma_update(None, "key", p).unwrap();
    }
    c.execute_batch(
        "DROP TABLE insights; DROP TABLE insight_rows; DROP TABLE merchant_track; DROP TABLE receipt_items;
         ALTER TABLE transactions DROP COLUMN rule; ALTER TABLE transactions DROP COLUMN original_merchant;
         ALTER TABLE transactions DROP COLUMN original_category; ALTER TABLE transactions DROP COLUMN hidden;
         ALTER TABLE banks DROP COLUMN scopes;
         CREATE TABLE consent_log_v3 (id INTEGER PRIMARY KEY, bank_id TEXT NOT NULL REFERENCES banks(id),
             action TEXT NOT NULL CHECK (action IN ('grant', 'renew', 'revoke', 'purge', 'expire')), at INTEGER NOT NULL,
             detail TEXT NOT NULL DEFAULT '') STRICT;
         INSERT INTO consent_log_v3 SELECT id, bank_id, action, at, detail FROM consent_log;
         DROP TABLE consent_log; ALTER TABLE consent_log_v3 RENAME TO consent_log;
         CREATE INDEX consent_log_bank ON consent_log(bank_id, at, id);
         DROP TABLE chain; DROP TABLE chain_head; DROP TABLE simplefin_requests; DROP TABLE simplefin_links; DROP TABLE simplefin_access;
         DROP INDEX transactions_pending; DROP INDEX transactions_transfer_open; DROP INDEX transactions_transfer;
         DROP INDEX messages_txn; DROP TABLE disputes;
         ALTER TABLE transactions DROP COLUMN status; ALTER TABLE transactions DROP COLUMN authorized_at;
         ALTER TABLE transactions DROP COLUMN authorized_minor; ALTER TABLE transactions DROP COLUMN transfer_kind;
         ALTER TABLE transactions DROP COLUMN transfer_id; ALTER TABLE transactions DROP COLUMN transfer_by;
         ALTER TABLE transactions DROP COLUMN reverses; ALTER TABLE transactions DROP COLUMN reversed_by;
         ALTER TABLE balances DROP COLUMN pending_minor; ALTER TABLE banks DROP COLUMN pending_tolerance_pct;
         ALTER TABLE accounts DROP COLUMN history_from; ALTER TABLE banks DROP COLUMN consent_expires_at;
         DROP TABLE history_notices; DROP TABLE feed_leases; PRAGMA user_version = 3;",
    )
    .unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
}

/// The backup is the old store: schema 3, every row, its own integrity,
/// readable by its owner only.
fn assert_backup_of_v3(backup: &std::path::Path, pass: Option<&str>, rows: usize) {
    let b = rusqlite::Connection::open_with_flags(backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    if let Some(p) = pass {
        b.pragma_update(None, "key", p).unwrap();
    }
    assert_eq!(b.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 3);
    assert_eq!(b.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(), "ok");
    let n: i64 = b.query_row("SELECT count(*) FROM transactions", [], |r| r.get(0)).unwrap();
    assert_eq!(n as usize, rows);
    let has_column: i64 = b
        .query_row("SELECT count(*) FROM pragma_table_info('banks') WHERE name = 'consent_expires_at'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(has_column, 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(backup.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_schema_upgrade_keeps_a_copy_of_the_old_store_first() {
    let h = Home::seeded();
    let count = h.json(None, &["transactions", "--limit", "100000", "--json"]).len();
    wind_back_to_v3(&h.db(), None);

    h.ok(None, &["banks"]);
    assert_backup_of_v3(&h.db().with_file_name("finbox.db.before-v4"), None, count);
    let c = rusqlite::Connection::open(h.db()).unwrap();
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, finbox::store::SCHEMA_VERSION, "migrated to the latest schema");
    assert_eq!(h.json(None, &["transactions", "--limit", "100000", "--json"]).len(), count);
}

#[test]
fn a_backup_that_does_not_check_is_made_again() {
    // kill -9 during a byte copy used to leave a truncated backup, which the
    // next start took for a good one.
    let h = Home::seeded();
    let count = h.json(None, &["transactions", "--limit", "100000", "--json"]).len();
    wind_back_to_v3(&h.db(), None);
    let backup = h.db().with_file_name("finbox.db.before-v4");
    let whole = std::fs::read(h.db()).unwrap();
    std::fs::write(&backup, &whole[..whole.len() / 3]).unwrap();
    h.ok(None, &["banks"]);
    assert_backup_of_v3(&backup, None, count);
}

#[test]
fn an_encrypted_store_is_backed_up_encrypted_with_its_key() {
    let h = Home::seeded();
    let count = h.json(None, &["transactions", "--limit", "100000", "--json"]).len();
    h.ok(Some("correct horse"), &["encrypt"]);
    wind_back_to_v3(&h.db(), Some("correct horse"));
    h.ok(Some("correct horse"), &["banks"]);
    let backup = h.db().with_file_name("finbox.db.before-v4");
    // Not readable without the key.
    let plain = rusqlite::Connection::open_with_flags(&backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    assert!(plain.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).is_err());
    assert!(!String::from_utf8_lossy(&std::fs::read(&backup).unwrap()).contains("SQLite format 3"));
    assert_backup_of_v3(&backup, Some("correct horse"), count);
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).unwrap().to_utc()
}

fn events(bank: &BankId, epoch: i64, from: usize, n: usize) -> Vec<Envelope> {
    let usd = |m| Money::new(m, Currency::USD);
    let mut out = vec![Envelope {
        bank: bank.clone(),
        epoch,
        event: FeedEvent::Account(AccountInfo {
            external_id: "chk".into(),
            name: "Checking".into(),
            kind: AccountKind::Checking,
            mask: "1234".into(),
            opening: usd(1_000_000),
            card_mask: None,
            history_from: None,
        }),
    }];
    for i in from..from + n {
        out.push(Envelope {
            bank: bank.clone(),
            epoch,
            event: FeedEvent::Transaction(TxnInfo {
                account: "chk".into(),
                external_id: format!("t{i}"),
                posted_at: t0() - chrono::Duration::minutes(i as i64),
                amount: usd(-(i as i64 % 5000) - 1),
                merchant: format!("A merchant with a long name number {i}"),
                category: "Shopping".into(),
                channel: Channel::Online,
                country: "US".into(),
                notify: false,
                pending: false,
                transfer: false,
            }),
        });
    }
    out
}

#[test]
fn a_full_disk_fails_the_batch_whole_and_the_store_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("finbox.db");
    let mut store = Store::open(&path).unwrap();
    let profiles = finbox::feed::profile::load_all(None).unwrap();
    store.sync_banks(&profiles).unwrap();
    let bank = BankId::new("chase").unwrap();
    store.grant(&bank, t0()).unwrap();
    let epoch = store.import_epoch(&bank, t0()).unwrap();
    store.apply_batch(&events(&bank, epoch, 0, 100), t0()).unwrap();
    let before = store.accounts(None).unwrap();

    let used = {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0)).unwrap()
    };
    store.set_max_page_count(used + 2).unwrap();
    let err = store.apply_batch(&events(&bank, epoch, 100, 5000), t0()).unwrap_err();
    assert!(matches!(err, StoreError::Full), "{err:?}");
    assert!(err.to_string().contains("disk is full") && err.to_string().contains("nothing of this change"));
    assert_eq!(store.accounts(None).unwrap(), before, "nothing of the failed batch stays");

    store.set_max_page_count(i64::MAX).unwrap();
    let report = store.apply_batch(&events(&bank, epoch, 100, 5000), t0()).unwrap();
    assert_eq!(report.transactions, 5000);
    let check: String =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// Makes a file unwritable for this test's life: `chmod 0400` for a user,
/// `chattr +i` for root (who ignores permissions); undone on drop.
#[cfg(unix)]
struct ReadOnly(PathBuf, bool);

#[cfg(unix)]
impl ReadOnly {
    fn make(path: &Path) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        let root = std::process::Command::new("id").arg("-u").output().ok()?.stdout.starts_with(b"0\n");
        if root {
            let ok = std::process::Command::new("chattr").arg("+i").arg(path).status().ok()?.success();
            return ok.then(|| ReadOnly(path.to_path_buf(), true));
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400)).ok()?;
        Some(ReadOnly(path.to_path_buf(), false))
    }
}

#[cfg(unix)]
impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = std::process::Command::new("chattr").arg("-i").arg(&self.0).status();
        } else {
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o600));
        }
    }
}

#[cfg(unix)]
#[test]
fn a_read_only_store_is_named_and_left_untouched() {
    let h = Home::seeded();
    let before = std::fs::read(h.db()).unwrap();
    let Some(_guard) = ReadOnly::make(&h.db()) else {
        eprintln!("skipped: this machine cannot make a file read-only for this user (no chattr)");
        return;
    };
    let err = h.fail(None, &["consent", "grant", "usbank"]);
    assert!(err.contains("is read-only") && err.contains("nothing was changed"), "{err}");
    assert_eq!(std::fs::read(h.db()).unwrap(), before);
}

#[test]
fn a_transaction_delivered_again_with_other_content_never_makes_two_rows() {
    let mut store = Store::open_in_memory().unwrap();
    store.sync_banks(&finbox::feed::profile::load_all(None).unwrap()).unwrap();
    let bank = BankId::new("chase").unwrap();
    store.grant(&bank, t0()).unwrap();
    let epoch = store.import_epoch(&bank, t0()).unwrap();
    store.apply_batch(&events(&bank, epoch, 0, 3), t0()).unwrap();
    let before = store.accounts(None).unwrap();

    // The bank corrects t1's amount (a tip added when it posted), and
    // replays t2 unchanged.
    let mut again = events(&bank, epoch, 1, 2);
    if let FeedEvent::Transaction(t) = &mut again[1].event {
        t.amount = Money::new(t.amount.minor - 250, Currency::USD);
    }
    let report = store.apply_batch(&again, t0()).unwrap();
    assert_eq!(report.transactions, 0);
    assert_eq!(report.duplicates, 1, "the unchanged replay is a plain duplicate");
    assert_eq!(report.rejected.len(), 1);
    let reason = &report.rejected[0].reason;
    assert!(reason.contains("the first version stands") && reason.contains("amount -$0.02 → -$2.52"), "{reason}");
    assert_eq!(store.accounts(None).unwrap(), before, "balances stay on the first version");

    // Listed once in the quarantine, however often it is replayed.
    store.apply_batch(&again, t0()).unwrap();
    let q = store.quarantine(100).unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].record, "transaction t1");
}

#[test]
fn the_unlock_screen_shows_dots_never_the_passphrase() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use finbox::app::unlock::{Unlock, UnlockStep};
    use ratatui::{Terminal, backend::TestBackend};

    let mut unlock = Unlock::default();
    for c in "hunter2".chars() {
        unlock.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    assert_eq!(unlock.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), UnlockStep::Submit("hunter2".into()));
    unlock.failed("Wrong passphrase (attempt 1). Try again.");
    for c in "secret".chars() {
        unlock.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let theme = finbox::ui::Theme::default();
    // A hostile path cannot put escapes on the screen either.
    let path = "/home/me/finbox\u{1b}[2J.db";
    for (w, h) in [(80, 24), (30, 8), (10, 3)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| finbox::ui::render_unlock(f, path, &unlock, &theme)).unwrap();
        let text: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(!text.contains("secret") && !text.contains('\u{1b}'), "{text}");
        if w == 80 {
            assert!(text.contains("••••••") && text.contains("Wrong passphrase"), "{text}");
            insta::assert_snapshot!("unlock_80x24", t.backend());
        }
    }
}

/// `finbox feed` stopped by a signal commits what it produced, prints its
/// summary and exits 128 + the signal; the store is whole afterwards.
#[cfg(unix)]
#[test]
fn signals_stop_a_headless_feed_cleanly_with_their_exit_status() {
    let h = Home::new();
    h.ok(None, &["consent", "grant", "--all"]);
    let messages = |h: &Home| -> i64 {
        let c = rusqlite::Connection::open(h.db()).unwrap();
        c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap()
    };
    for (sig, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let before = messages(&h);
        let child = h
            .process(None, &["feed", "--duration", "60"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for this run to write (its signal handlers are up by then),
        // then signal.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while messages(&h) <= before {
            assert!(std::time::Instant::now() < deadline, "the feed never wrote");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let killed = std::process::Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status();
        assert!(killed.unwrap().success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "SIG{sig}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("events in") && stdout.contains("new transactions"), "SIG{sig}: {stdout}");
        let c = rusqlite::Connection::open(h.db()).unwrap();
        assert_eq!(c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(), "ok");
    }
}

#[test]
fn an_error_quoting_a_hostile_settings_file_puts_no_escape_on_the_terminal() {
    let h = Home::new();
    let dir = h.dir.path().join("config/finbox");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "\"\\u001b[31mred\\u001b]0;title\\u0007\" = 1\n").unwrap();
    let err = h.fail(None, &["banks"]);
    assert!(err.contains("config.toml") && err.contains("red"), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
}

#[test]
fn what_an_interrupted_conversion_left_is_removed_at_the_next_start() {
    // kill -9 during `decrypt` left a whole plaintext copy beside the
    // still-encrypted store, and nothing removed or mentioned it.
    let h = Home::seeded();
    h.ok(Some("correct horse"), &["encrypt"]);
    let copy = h.db().with_file_name("finbox.db.converting");
    let journal = h.db().with_file_name("finbox.db.converting-journal");
    std::fs::write(&copy, "SQLite format 3\0 plaintext rows of the store").unwrap();
    std::fs::write(&journal, "journal").unwrap();
    let out = h.cmd(Some("correct horse"), &["banks"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("removed") && err.contains("finbox.db.converting"), "{err}");
    assert!(!copy.exists() && !journal.exists());
    // The store itself is whole.
    h.ok(Some("correct horse"), &["balances"]);
}

#[test]
fn backups_never_outlive_encryption_or_a_purge() {
    let h = Home::seeded();
    let backup = h.db().with_file_name("finbox.db.before-v4");
    // Encrypting removes the plain backup, and says so.
    wind_back_to_v3(&h.db(), None);
    h.ok(None, &["banks"]);
    assert!(backup.exists());
    let out = h.ok(Some("correct horse"), &["encrypt"]);
    assert!(out.contains("Removed") && out.contains("finbox.db.before-v4"), "{out}");
    assert!(!backup.exists());
    // A purge removes the backups too: they hold what was purged.
    wind_back_to_v3(&h.db(), Some("correct horse"));
    h.ok(Some("correct horse"), &["banks"]);
    assert!(backup.exists());
    let out = h.ok(Some("correct horse"), &["consent", "revoke", "chase", "--purge"]);
    assert!(out.contains("backup(s) finbox kept before schema upgrades held them too"), "{out}");
    assert!(!backup.exists());
}

#[test]
fn a_store_or_log_another_user_made_in_a_shared_folder_is_refused() {
    use std::os::unix::fs::{PermissionsExt, chown};
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: making a file of another user needs root");
        return;
    }
    let h = Home::seeded();
    let shared = h.dir.path().join("tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = shared.join("finbox.db");
    std::fs::write(&planted, "").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    chown(&planted, Some(65534), Some(65534)).unwrap();
    let out = h.cmd(None, &["--db", planted.to_str().unwrap(), "consent", "grant", "--all"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belongs to another user (uid 65534)"), "{err}");
    assert_eq!(std::fs::metadata(&planted).unwrap().len(), 0, "nothing was written into it");

    // A log planted beside a store of one's own is not written to either.
    let db = shared.join("mine.db");
    let log = shared.join("finbox.log");
    std::fs::write(&log, "").unwrap();
    chown(&log, Some(65534), Some(65534)).unwrap();
    let out = h.cmd(None, &["--db", db.to_str().unwrap(), "consent", "grant", "--all"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("cannot write the log") && err.contains("another user"), "{err}");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
}

#[test]
fn a_feed_started_while_the_store_is_being_encrypted_says_so() {
    let h = Home::seeded();
    // What `finbox encrypt` holds while it copies: the store out of WAL,
    // locked exclusively, and its copy beside it.
    let c = rusqlite::Connection::open(h.db()).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
    c.pragma_update(None, "locking_mode", "EXCLUSIVE").unwrap();
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    c.pragma_update(None, "user_version", v).unwrap();
    std::fs::write(h.db().with_file_name("finbox.db.converting"), "").unwrap();
    let err = h.fail(None, &["feed", "--events", "10"]);
    assert!(err.contains("is being encrypted or decrypted by another finbox"), "{err}");
}
