//! The book's pictures that tests make: a screenshot, a graph of a run. Each is saved under
//! `target/pictures/`, and into the book (`docs/src/pictures/`) only when SURVEY_PICTURES is
//! `update`: pictures, like snapshots, are looked at before they are committed.

/// Saves `bytes` as the picture `file` (`swarm-view.png`, say).
pub fn save(file: &str, bytes: &[u8]) {
    let root = crate::xtask::workspace_root();
    let mut places = vec![root.join("target/pictures")];
    if std::env::var("SURVEY_PICTURES").is_ok_and(|v| v == "update") {
        places.push(root.join("docs/src/pictures"));
    }
    for dir in places {
        std::fs::create_dir_all(&dir).expect("a pictures directory");
        std::fs::write(dir.join(file), bytes).expect("saving the picture");
    }
}
