//! What the tests that drive the built binary share: a private home for one
//! test and the binary started in it.

use std::path::{Path, PathBuf};

/// The store of a test home.
pub fn store_path(home: &Path) -> PathBuf {
    home.join("store/finbox.db")
}

/// `finbox` with a clean environment pointing into `home` (its own store,
/// settings and data folders; UTC), plus `extra` variables.
pub fn finbox(home: &Path, extra: &[(&str, &str)], args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("finbox"));
    c.env_clear()
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("FINBOX_DB", store_path(home))
        .env("TZ", "UTC")
        .envs(extra.iter().copied())
        .args(args);
    c
}
pub mod simplefin;
