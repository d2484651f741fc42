//! What the fuzzers found, kept: every input under `tests/fixtures/fuzz/<target>/`
//! goes through the same checks as the fuzz target of that name (the
//! harness in `fuzz/src/lib.rs`, included here), so a parser bug once fixed
//! stays fixed under a plain `cargo test`, without cargo-fuzz or nightly.
//!
//! To keep a new input, copy the fuzzer's artifact (or a small corpus file
//! that reaches code nothing else does) into the target's folder under a
//! short name that says what it is.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Runs every kept input of `target`, naming the ones that fail.
fn run(target: &str) {
    let check = harness::TARGETS.iter().find(|(name, _)| *name == target).map(|(_, f)| *f);
    let check = check.unwrap_or_else(|| panic!("no fuzz target {target}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a folder entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{}: no inputs kept", dir.display());
    let mut failed = Vec::new();
    for path in &inputs {
        let bytes = std::fs::read(path).expect("read a kept input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{target}/{}: {why}", path.file_name().unwrap_or_default().to_string_lossy()));
        }
    }
    assert!(failed.is_empty(), "{} of {} inputs fail:\n{}", failed.len(), inputs.len(), failed.join("\n"));
}

#[test]
fn every_target_has_kept_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    for (name, _) in harness::TARGETS {
        assert!(root.join(name).is_dir(), "tests/fixtures/fuzz/{name} is missing");
    }
}

#[test]
fn ofx() {
    run("ofx");
}

#[test]
fn csv() {
    run("csv");
}

#[test]
fn layout() {
    run("layout");
}

#[test]
fn date() {
    run("date");
}

#[test]
fn amount() {
    run("amount");
}

#[test]
fn money() {
    run("money");
}

#[test]
fn decode() {
    run("decode");
}

#[test]
fn profile() {
    run("profile");
}

#[test]
fn config() {
    run("config");
}

#[test]
fn text() {
    run("text");
}

#[test]
fn intent() {
    run("intent");
}
