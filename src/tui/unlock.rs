//! Before the screen starts: the passphrase of an encrypted store, asked on
//! a screen of its own, tried until it opens the store or the user quits.

use anyhow::{Context, Result};
use crossterm::event::Event;

use super::TerminalGuard;
use crate::app::unlock::{Unlock, UnlockStep};
use crate::store::{Passphrase, Store, StoreError};
use crate::ui::{self, Theme};

/// Asks for the passphrase; `None` when the user quit.
pub fn ask(path: &std::path::Path, theme: &Theme) -> Result<Option<Store>> {
    let mut guard = TerminalGuard::enter()?;
    let shown = path.display().to_string();
    let mut unlock = Unlock::default();
    loop {
        guard.terminal.draw(|f| ui::render_unlock(f, &shown, &unlock, theme)).context("cannot draw on the terminal")?;
        let Event::Key(key) = crossterm::event::read().context("cannot read the keyboard")? else { continue };
        match unlock.key(key) {
            UnlockStep::Continue => {}
            UnlockStep::Quit => return Ok(None),
            UnlockStep::Submit(typed) => {
                let Ok(pass) = Passphrase::new(typed) else { continue };
                match Store::open_keyed(path, Some(&pass)) {
                    Ok(store) => return Ok(Some(store)),
                    Err(StoreError::WrongPassphrase { .. }) => {
                        tracing::info!(attempts = unlock.attempts, "wrong passphrase");
                        unlock.failed(format!("Wrong passphrase (attempt {}). Try again.", unlock.attempts));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}
