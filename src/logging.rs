//! Logs go to a file in the data directory, never to the terminal.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Starts logging to `file` (created 0600). The level comes from `FINBOX_LOG`
/// (e.g. `debug`), default `info`. Failing to log is not fatal.
pub fn init(file: &Path) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::store::create_private_dir(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link planted where the log goes is not followed.
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    let f = opts.open(file)?;
    // A log someone else made (in a shared folder) would show them what
    // finbox writes: refused, as the store is.
    if let Some(owner) = crate::store::foreign_owner(&f.metadata()?) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("it belongs to another user (uid {owner}); finbox logs nothing there"),
        ));
    }
    let filter = EnvFilter::try_from_env("FINBOX_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(f))
        .with_ansi(false)
        .with_target(false)
        .try_init();
    Ok(())
}
