//! finbox: a local-first personal-finance inbox for the terminal.
//!
//! Data flows one way: feeds (`feed`) produce events, one store writer
//! (`store::writer`) applies them to the SQLite store (`store`), and the command
//! line (`cli`) and the screen read from the store.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod feed;
pub mod import;
pub mod logging;
pub mod store;
pub mod tui;
pub mod ui;
