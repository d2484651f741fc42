//! The layer rule of `src/lib.rs`, checked over every source file: a module
//! never uses one above it. A new upward import fails here, naming the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// For each layer, the modules it must never use.
fn never() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("domain", &["store", "feed", "import", "config", "app", "ui", "tui", "cli", "session", "logging"][..]),
        ("store", &["feed", "import", "config", "app", "ui", "tui", "cli", "session"][..]),
        ("import", &["store", "feed", "config", "app", "ui", "tui", "cli", "session"][..]),
        ("feed", &["app", "ui", "tui", "cli", "session"][..]),
        ("config", &["feed", "store", "app", "ui", "tui", "cli", "session"][..]),
        ("app", &["store", "feed", "import", "config", "tui", "cli", "session"][..]),
        ("ui", &["store", "feed", "import", "config", "tui", "cli", "session"][..]),
        ("session", &["tui", "cli"][..]),
        ("tui", &["cli"][..]),
    ])
}

/// The crate's top-level modules a file names (`crate::x`, `crate::{x, y}`),
/// comments left out.
fn used(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            out.insert(name);
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn no_module_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let never = never();
    let mut bad = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy();
        let layer = top.strip_suffix(".rs").unwrap_or(&top).to_string();
        let Some(forbidden) = never.get(layer.as_str()) else { continue };
        for module in used(&std::fs::read_to_string(file).unwrap()) {
            if forbidden.contains(&module.as_str()) {
                bad.push(format!("{} ({layer}) uses {module}", rel.display()));
            }
        }
    }
    assert!(bad.is_empty(), "imports that point up:\n{}", bad.join("\n"));
    assert!(files.len() > 40, "the source files were not found");
}

#[test]
fn the_check_sees_what_it_should() {
    let found = used("use crate::{domain::X, store::{Y, Z}};\nlet a = crate::feed::f(); // crate::ui\n");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["domain", "feed", "store"]);
}
