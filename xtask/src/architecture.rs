//! The runner's shape, checked: ARCHITECTURE.md names only paths that exist, the runner's
//! modules import each other in one direction only, and its files and functions stay short
//! enough to read in one sitting.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
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

/// No file of the runner is over 400 lines, and no function of the runner or of the tests
/// over 80: past that, a reader loses the thread, and the file or function holds more than
/// one concern. (An end-to-end test that grows is split into named phases.)
#[test]
fn files_and_functions_are_short() {
    let root = crate::project_root();
    let runner = rust_files(&root.join("xtask/src"));
    let tests = [
        rust_files(&root.join("tests/src")),
        rust_files(&root.join("tests/tests")),
    ]
    .concat();
    let mut long = Vec::new();
    for (path, text) in &runner {
        let lines = text.lines().count();
        if lines > 400 {
            long.push(format!("{}: {lines} lines", shown(&root, path)));
        }
    }
    for (path, text) in runner.iter().chain(&tests) {
        for (name, lines) in functions(text) {
            if lines > 80 {
                long.push(format!("{}: fn {name}, {lines} lines", shown(&root, path)));
            }
        }
    }
    assert!(
        runner.len() > 20 && tests.len() > 20 && long.is_empty(),
        "too long: {long:#?}"
    );
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Each function in rustfmt'd `text` by name, with its length in lines: from its `fn` line to
/// the `}` at the same indentation.
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let after_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
        ]
        .iter()
        .find_map(|prefix| body.strip_prefix(prefix));
        let Some(after_fn) = after_fn else {
            continue;
        };
        let name: String = after_fn
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = lines[start..]
            .iter()
            .position(|l| l.strip_prefix(indent) == Some("}") || l.ends_with(';') && l == line);
        if let Some(end) = end {
            found.push((name, end + 1));
        }
    }
    found
}

#[test]
fn functions_are_measured_to_their_closing_brace() {
    let text = "fn a() {\n    x();\n}\n\nimpl A {\n    pub fn b(\n        y: u8,\n    ) {\n        if y {\n        }\n    }\n    fn c();\n}\n";
    assert_eq!(
        functions(text),
        [
            ("a".to_owned(), 3),
            ("b".to_owned(), 6),
            ("c".to_owned(), 1)
        ]
    );
}

/// The modules of the runner and, for each, the others it names as `crate::MODULE`.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let sources: Vec<(String, String)> = rust_files(src)
        .into_iter()
        .map(|(path, text)| (module_of(src, &path), text))
        .collect();
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

/// Every `.rs` file under `dir`, with its text.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder of sources") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            files.push((path, text));
        }
    }
    files
}

/// The top-level module of the runner a file under `src` belongs to (`main` for the crate
/// root, whose `mod` lines are no imports).
fn module_of(src: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .expect("a file name");
    first.trim_end_matches(".rs").to_owned()
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
                let x = crate::catalogue::STEPS; crate::test::run();";
    let named: Vec<String> = crate_paths(text).into_iter().collect();
    assert_eq!(named, ["catalogue", "docker", "images", "launch", "test"]);
}
