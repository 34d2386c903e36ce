//! Each chapter opens with a diagram of what its step runs, drawn in docs/diagrams/*.dot and
//! rendered by `cargo xtask docs`. They are drawn by hand, so this checks that each names what
//! its step really runs, and fails when a Compose file gains a service or a volume the picture
//! lacks, and that each fits the width of the book.

use std::path::Path;

use tests::xtask::workspace_root;

/// Every step has a diagram; every service and named volume of a step's Compose file, or the
/// image of a step without one, is in it.
#[test]
fn diagrams_show_what_each_step_runs() {
    let root = workspace_root();
    let mut steps: Vec<String> = std::fs::read_dir(root.join("steps"))
        .expect("steps/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    steps.sort();
    assert!(!steps.is_empty());
    for step in steps {
        let path = root.join(format!("docs/diagrams/{step}.dot"));
        let dot = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("step {step} has no diagram at {}", path.display()));
        let compose = root.join(format!("compose/{step}.yaml"));
        if !compose.exists() {
            let image = format!("survey/step-{step}");
            assert!(dot.contains(&image), "{step}.dot does not show {image}");
            continue;
        }
        for (what, pattern) in [("--services", "{} [label="), ("--volumes", "volume {}")] {
            for item in compose_config(&compose, what).lines() {
                let shown = pattern.replace("{}", item);
                assert!(
                    dot.contains(&shown),
                    "{step}.dot does not show `{item}` ({what} of {}): add it",
                    compose.display()
                );
            }
        }
    }
}

/// `docker compose config --services` (or `--volumes`): the names, one a line.
fn compose_config(file: &Path, what: &str) -> String {
    let file = file.to_str().expect("a UTF-8 path");
    tests::commands::docker_ok(&["compose", "-f", file, "config", what])
}

/// The widest a diagram may be drawn, in points: the width of the book's text column (mdBook
/// lays its content out at most 750 pixels wide), so that no picture is shrunk until its
/// labels are a few pixels high.
const BOOK_WIDTH_PT: f64 = 720.0;

/// Every diagram, as Graphviz draws it, fits the book's column.
#[test]
fn diagrams_fit_the_book() {
    let dir = workspace_root().join("docs/diagrams");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("docs/diagrams").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "dot") {
            continue;
        }
        seen += 1;
        let svg = std::process::Command::new("dot")
            .arg("-Tsvg")
            .arg(&path)
            .output()
            .expect("Graphviz's dot runs (cargo xtask setup installs it)");
        assert!(svg.status.success(), "dot {}", path.display());
        let svg = String::from_utf8_lossy(&svg.stdout);
        let width: f64 = svg
            .split("<svg width=\"")
            .nth(1)
            .and_then(|rest| rest.split("pt\"").next())
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{}: no width in the drawing", path.display()));
        assert!(
            width <= BOOK_WIDTH_PT,
            "{} is drawn {width} pt wide, wider than the book's {BOOK_WIDTH_PT} pt: lay it out top to bottom (rankdir=TB) or split it",
            path.display()
        );
    }
    assert!(seen >= 7, "a diagram per step: {seen}");
}
