//! The expected outputs the book shows are what a learner sees on their own machine: no
//! stand-in's name (a learner with Docker Hub runs the official images), no toolchain or
//! engine version of the machine the tests ran on.

use std::path::Path;

/// Every snapshot a chapter includes, by its file name.
fn included_snapshots(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for chapter in std::fs::read_dir(root.join("docs/src")).expect("docs/src") {
        let text = std::fs::read_to_string(chapter.expect("an entry").path()).unwrap_or_default();
        for include in text.split("{{#include ").skip(1) {
            let path = include.split([':', '}']).next().unwrap_or_default();
            if let Some(name) = path.strip_prefix("../../tests/tests/snapshots/") {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// No snapshot the book includes names a stand-in, a Rust toolchain's version or the version
/// of Debian's Docker package.
#[test]
fn the_book_shows_what_a_learner_sees() {
    let root = tests::xtask::workspace_root();
    let names = included_snapshots(&root);
    assert!(
        names.len() > 20,
        "the chapters include snapshots: {names:?}"
    );
    let machine = regex::Regex::new(r"survey-offline/|rust:1\.\d+\.\d+|\+dfsg").expect("a pattern");
    let mut found = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(root.join("tests/tests/snapshots").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for line in text.lines().filter(|line| machine.is_match(line)) {
            found.push(format!("{name}: {line}"));
        }
    }
    assert!(
        found.is_empty(),
        "snapshots in the book show this machine (redact with tests::xtask::AS_ONLINE):\n{}",
        found.join("\n")
    );
}
