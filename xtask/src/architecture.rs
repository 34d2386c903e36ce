//! The runner's shape, checked: ARCHITECTURE.md names only paths that exist, and the runner's
//! modules import each other in one direction only.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Every path ARCHITECTURE.md names in backticks (a word with a `/` in it) exists.
#[test]
fn architecture_names_paths_that_exist() {
    let root = crate::project_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let named: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| word.contains('/') && !word.contains(' '))
        .collect();
    assert!(
        named.len() > 10,
        "ARCHITECTURE.md names few paths: {named:?}"
    );
    let missing: Vec<&&str> = named.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

/// No module of the runner imports another that imports it back, directly or through others.
#[test]
fn the_runners_modules_import_in_one_direction() {
    let src = crate::project_root().join("xtask/src");
    let graph = imports(&src);
    assert!(graph.contains_key("launch") && graph.contains_key("step"));
    let circle = graph.keys().find_map(|start| circle_from(&graph, start));
    if let Some(circle) = circle {
        panic!("an import circle in the runner: {}", circle.join(" -> "));
    }
}

/// The modules of the runner and, for each, the others it names as `crate::MODULE`.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut sources: Vec<(String, String)> = Vec::new();
    collect(src, src, &mut sources);
    let modules: BTreeSet<String> = sources.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &sources {
        let named = graph.entry(module.clone()).or_default();
        for used in crate_paths(text) {
            if used != *module && modules.contains(&used) {
                named.insert(used);
            }
        }
    }
    graph
}

/// Every `.rs` file under `dir`, with the top-level module it belongs to (`main` for the
/// crate root, whose `mod` lines are no imports).
fn collect(src: &Path, dir: &Path, sources: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("the runner's sources") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(src, &path, sources);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src).expect("under src");
            let first = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .expect("a file name");
            let module = first.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).expect("a source file");
            sources.push((module, text));
        }
    }
}

/// The top-level modules `text` names: `crate::a::...` and `crate::{a, b::{...}}`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's first level, each before its `::` or `,`.
            let mut depth = 0;
            let mut word = String::new();
            let mut expecting = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !word.is_empty() {
                            named.insert(std::mem::take(&mut word));
                        }
                        expecting = true;
                    }
                    c if depth == 0 && expecting && (c.is_alphanumeric() || c == '_') => {
                        word.push(c)
                    }
                    _ if !word.is_empty() => {
                        named.insert(std::mem::take(&mut word));
                        expecting = false;
                    }
                    _ => {}
                }
            }
            if !word.is_empty() {
                named.insert(word);
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.insert(word);
        }
    }
    named
}

/// A way from `start` back to itself, if there is one.
fn circle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("a path is never empty");
        for next in graph.get(last).into_iter().flatten() {
            if next == start {
                let mut circle = path.clone();
                circle.push(next.clone());
                return Some(circle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn crate_paths_read_use_groups() {
    let text = "use crate::{docker, images::{self, Fetch}, launch::{Input, Up}};\n\
                let x = crate::steps::STEPS; crate::test::run();";
    let named: Vec<String> = crate_paths(text).into_iter().collect();
    assert_eq!(named, ["docker", "images", "launch", "steps", "test"]);
}
