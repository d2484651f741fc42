//! This process as a feed holder, and whether another holder's process is
//! still alive: what the store's feed leases need from the OS.

use rand::Rng;

use crate::store::FeedHolder;

/// This run of this process: its pid, its host, and a random token (a pid is
/// reused after the process ends; the token is not).
pub fn this_process() -> FeedHolder {
    let token: u128 = rand::rng().random();
    FeedHolder { token: format!("{token:032x}"), pid: std::process::id(), host: host_name() }
}

/// Whether a process with this pid exists on this host (one of another user
/// counts: it cannot be signalled, but it is there).
#[cfg(unix)]
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
pub fn alive(_pid: u32) -> bool {
    // Without a way to ask, a holder is alive until its lease goes stale.
    true
}

#[cfg(unix)]
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the name is cut there.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        assert!(alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
        let (a, b) = (this_process(), this_process());
        assert_ne!(a.token, b.token);
        assert_eq!(a.pid, b.pid);
    }
}
