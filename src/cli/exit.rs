//! How a `finbox` command ends: its exit status, documented and stable
//! (`finbox man`, EXIT STATUS; README, "Exit status").

use crate::store::StoreError;

/// The exit statuses besides 0 (done) and 128 + a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Any error not named below.
    Error = 1,
    /// The command line was wrong (clap's own status for a usage error).
    Usage = 2,
    /// Another finbox held the store locked for too long.
    Busy = 3,
    /// The bank is not shared with finbox.
    NotShared = 4,
    /// The passphrase does not open the encrypted store.
    WrongPassphrase = 5,
}

impl Status {
    /// Every status with what it means, as the manual lists them.
    pub const TABLE: [(&'static str, &'static str); 7] = [
        ("0", "Done."),
        ("1", "An error (the message on stderr says what and what to do)."),
        ("2", "A usage error: an unknown command, a missing or wrong argument."),
        ("3", "The store is busy: another finbox process held it locked too long; try again."),
        ("4", "The bank is not shared with finbox: grant consent first."),
        ("5", "Wrong passphrase for the encrypted store; nothing was changed."),
        ("128+N", "Stopped by signal N: SIGINT (130), SIGTERM (143) or SIGHUP (129)."),
    ];

    /// The status for an error: the first store error in its chain decides.
    pub fn of(err: &anyhow::Error) -> Status {
        let store = err.chain().find_map(|c| c.downcast_ref::<StoreError>());
        match store {
            Some(StoreError::Busy(_)) => Status::Busy,
            Some(StoreError::NoConsent(_)) => Status::NotShared,
            Some(StoreError::WrongPassphrase { .. }) => Status::WrongPassphrase,
            _ => Status::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BankId;
    use anyhow::Context;
    use std::time::Duration;

    fn wrapped(e: StoreError) -> anyhow::Error {
        Err::<(), _>(e).context("opening the store").unwrap_err()
    }

    #[test]
    fn store_errors_map_to_their_statuses_through_context() {
        assert_eq!(Status::of(&wrapped(StoreError::Busy(Duration::from_secs(5)))), Status::Busy);
        assert_eq!(Status::of(&wrapped(StoreError::NoConsent(BankId::new("chase").unwrap()))), Status::NotShared);
        let wrong = StoreError::WrongPassphrase { path: "x.db".into() };
        assert_eq!(Status::of(&wrapped(wrong)), Status::WrongPassphrase);
        assert_eq!(Status::of(&wrapped(StoreError::Full)), Status::Error);
        assert_eq!(Status::of(&anyhow::anyhow!("something else")), Status::Error);
        assert_eq!(Status::Busy as u8, 3);
        assert_eq!(Status::NotShared as u8, 4);
        assert_eq!(Status::WrongPassphrase as u8, 5);
    }
}
