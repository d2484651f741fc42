//! The store's files by path: private permissions, their owner, the
//! backups taken before a migration. Only path calls (`metadata`,
//! `set_permissions`, `rename`, `remove_file` of files that are not open):
//! nothing here opens a file of a store that may have connections (see the
//! module doc of `store`).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use super::{Result, StoreError};

/// Sets the store and its `-wal` / `-shm` files to 0600 where group or
/// others could read them; returns the files changed.
#[cfg(unix)]
pub(super) fn make_private(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut fixed = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&p) else { continue };
        if meta.permissions().mode() & 0o077 != 0 {
            match std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => {
                    tracing::warn!(file = %p.display(), "store file was readable by others; made private");
                    fixed.push(p);
                }
                Err(e) => tracing::warn!(file = %p.display(), error = %e, "cannot make the store file private"),
            }
        }
    }
    fixed
}

#[cfg(not(unix))]
pub(super) fn make_private(_path: &Path) -> Vec<PathBuf> {
    Vec::new()
}

#[cfg(unix)]
pub(super) fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map(|_| ())
}

#[cfg(not(unix))]
pub(super) fn create_private_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new().write(true).create_new(true).open(path).map(|_| ())
}

/// Whether `candidate` names one of the store's own files: the store, its
/// `-wal`, `-shm` or `-journal`, or a backup beside it
/// (`<store>.before-v<N>`). Compared by device and inode where the file
/// exists (a link or another spelling of the path is the same file), by
/// resolved path where it does not. Path calls only: such a file is never
/// opened outside SQLite, read as a statement, nor written over.
pub fn is_store_file(store: &Path, candidate: &Path) -> bool {
    let (dir, name) = folder_and_name(store);
    let mut ours: Vec<PathBuf> =
        ["", "-wal", "-shm", "-journal"].iter().map(|s| dir.join(format!("{name}{s}"))).collect();
    ours.extend(backups(store));
    let backup = backup_prefix(store);
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(candidate) {
        use std::os::unix::fs::MetadataExt;
        return ours
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .any(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
    }
    // Not there (yet): the same folder and one of the names.
    let resolve = |p: &Path| {
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::canonicalize(parent).ok().map(|d| d.join(p.file_name().unwrap_or_default()))
    };
    let Some(want) = resolve(candidate) else { return false };
    let want_name = want.file_name().unwrap_or_default().to_string_lossy().into_owned();
    resolve(store).is_some_and(|s| {
        s.parent() == want.parent()
            && (ours.iter().any(|p| p.file_name() == want.file_name()) || want_name.starts_with(&backup))
    })
}

/// Refuses a file (when it exists) that is not owned by the user finbox runs
/// as. A path call.
pub fn check_owner(file: &Path) -> Result<()> {
    match std::fs::symlink_metadata(file).ok().and_then(|m| foreign_owner(&m)) {
        Some(owner) => Err(StoreError::NotOwned { path: file.display().to_string(), owner }),
        None => Ok(()),
    }
}

/// The owner of a file finbox did not make for this user: another user's
/// uid, or `None` when it is the user's own (always, where there are no
/// uids). The one ownership test, for the store, the log and watched files.
pub fn foreign_owner(meta: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        (meta.uid() != me).then_some(meta.uid())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Removes the backups kept beside the store before schema upgrades
/// (`<store>.before-v<N>`, and a partial one); returns the files removed.
/// A purge calls it (they hold what was purged), and so does `finbox encrypt`
/// (they are as plain as the store was).
pub fn remove_backups(store: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for file in backups(store) {
        match std::fs::remove_file(&file) {
            Ok(()) => removed.push(file),
            Err(e) => tracing::warn!(file = %file.display(), error = %e, "cannot remove a backup"),
        }
    }
    removed
}

/// The store's folder and file name.
pub(super) fn folder_and_name(store: &Path) -> (&Path, String) {
    let dir = store.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    (dir, store.file_name().unwrap_or_default().to_string_lossy().into_owned())
}

/// What the names of the store's upgrade backups start with.
pub(super) fn backup_prefix(store: &Path) -> String {
    format!("{}.before-v", folder_and_name(store).1)
}

/// The upgrade backups beside the store (`<store>.before-v<N>`, and a
/// partial one), sorted by name.
pub(super) fn backups(store: &Path) -> Vec<PathBuf> {
    let prefix = backup_prefix(store);
    let Ok(entries) = std::fs::read_dir(folder_and_name(store).0) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
        .collect();
    found.sort();
    found
}

/// Creates a directory (and parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}
