//! App state and its pure update function. No IO, no clock, no async: the
//! main loop turns input and store results into [`Action`]s, `update` changes
//! the state and returns [`Effect`]s for the main loop to carry out.

pub mod editor;
pub mod keymap;
pub mod notify;
pub mod state;
pub mod unlock;
pub mod update;

pub use keymap::{KEYS, KeyBinding, handle_key};
pub use state::*;
pub use update::{Action, Effect, update};
