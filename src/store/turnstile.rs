//! Fair turns at the write lock between a feed writing at full speed and a
//! person's decision (a revoke, an alert verdict, a message).
//!
//! SQLite's write lock has no queue: a connection that finds it taken sleeps
//! and tries again, and a feed writer that starts its next transaction the
//! moment it commits the last one wins nearly every time, so a revoke could
//! wait seconds. The turnstile is a file beside the store, `<store>.lock`,
//! locked with `flock` (never one of the store's own files: see the store
//! module's doc). A decision holds it exclusively for its transaction; a
//! feed writer, before each batch, only looks: when a decision holds it, the
//! writer waits until it is done. So a decision waits for at most the batch
//! in progress.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The turnstile of the store at `store`.
#[derive(Debug)]
pub(super) struct Turnstile {
    file: File,
}

/// Held while a decision writes; let go when dropped.
pub(super) struct Turn<'a> {
    #[cfg_attr(not(unix), allow(dead_code))]
    turnstile: &'a Turnstile,
}

pub(super) fn path(store: &Path) -> PathBuf {
    super::cipher::sibling(store, "lock")
}

impl Turnstile {
    /// Opens (creating, private) the turnstile beside `store`. None when it
    /// cannot be had (a read-only folder): decisions then take their chances
    /// with SQLite's lock, as before.
    pub(super) fn open(store: &Path) -> Option<Turnstile> {
        let path = path(store);
        if super::check_owner(&path).is_err() {
            tracing::warn!("the store's turnstile belongs to another user; not used");
            return None;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        match opts.open(&path) {
            Ok(file) => Some(Turnstile { file }),
            Err(e) => {
                tracing::debug!(error = %e, "no turnstile");
                None
            }
        }
    }

    /// Takes the turnstile for a decision, waiting for another decision
    /// (never for a feed writer, which only looks).
    pub(super) fn take(&self) -> Turn<'_> {
        #[cfg(unix)]
        flock(&self.file, libc::LOCK_EX);
        Turn { turnstile: self }
    }

    /// A feed writer's look before a batch: when a decision holds the
    /// turnstile, waits until it is done. Returns whether it waited.
    pub(super) fn let_decisions_pass(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid descriptor; flock has no other preconditions.
            let free = unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
            if !free {
                flock(&self.file, libc::LOCK_SH);
            }
            flock(&self.file, libc::LOCK_UN);
            !free
        }
        #[cfg(not(unix))]
        false
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        flock(&self.turnstile.file, libc::LOCK_UN);
    }
}

/// flock, retried when a signal interrupts it; other failures are logged
/// (the turnstile is a courtesy, SQLite's lock is what keeps data safe).
#[cfg(unix)]
fn flock(file: &File, op: libc::c_int) {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: a valid descriptor; flock has no other preconditions.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            tracing::debug!(error = %e, "turnstile");
            return;
        }
    }
}
