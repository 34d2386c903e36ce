//! Each chapter opens with a diagram of what its step runs, drawn in docs/diagrams/*.dot and
//! rendered by `cargo xtask docs`. They are drawn by hand, so this checks that each names what
//! its step really runs, and fails when a Compose file gains a service or a volume the picture
//! lacks.

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
    let output = std::process::Command::new("docker")
        .args(["compose", "-f"])
        .arg(file)
        .args(["config", what])
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
