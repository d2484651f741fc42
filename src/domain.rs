//! Pure domain types: no IO, no SQL, no terminal.
//!
//! Everything that the store, the feeds and the screen agree on lives here:
//! identifiers, exact money, the records a bank shares, text cleaning for
//! untrusted input, the local fraud rules and the intents of a chat message.

pub mod ask;
pub mod atm;
pub mod event;
pub mod fraud;
pub mod insight;
pub mod intent;
pub mod model;
pub mod money;
pub mod rules;
pub mod scope;
pub mod text;
pub mod when;

pub use model::*;
pub use money::{Currency, Money, MoneyError, Total};
pub use scope::{Scope, Scopes};
