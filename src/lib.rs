//! finbox: a local-first personal-finance inbox for the terminal.
//!
//! Data flows one way: feeds (`feed`) produce events, one store writer
//! (`store::writer`) applies them to the SQLite store (`store`), and the command
//! line (`cli`) and the screen read from the store.
//!
//! **Layers**, lowest first; a module uses only those below it (the test
//! `tests/layers.rs` fails on an import that points up):
//!
//! `domain` (types, the events banks deliver, statuses; no IO) ←
//! `store` (all SQL, consent, the writer) ←
//! `import`, `feed` (producers of domain events; a feed knows the store only
//! through the writer handle it is given) ←
//! `config` (files into settings, bank profiles; builds no feed) ←
//! `app` (pure update; no IO, no clock) ← `ui` (pure render) ←
//! `session` (opening the store, starting writer and feeds, signals: what
//! both front ends share) ← `cli`, `tui` ← `main.rs`.

/// mimalloc for every allocation in the process: Rust's (the global
/// allocator) and, through its `override` feature, SQLite's and OpenSSL's
/// `malloc`/`free`. The store writer allocates and frees small strings and
/// SQLite records at every event; with glibc's allocator a profile of
/// `finbox feed` spent about a sixth of the writer's time in `malloc`,
/// `free` and their consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod feed;
pub mod import;
pub mod logging;
pub mod session;
pub mod store;
pub mod tui;
pub mod ui;
