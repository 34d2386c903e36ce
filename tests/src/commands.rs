//! The commands the tests run, recorded as a learner would type them, so that `cargo xtask
//! test` can check that every command the book tells a reader to type was run by a test.
//! What only a test adds (its own `--project` and `--port`, a temporary folder around a
//! file name) is left out of the record.

use std::io::Write;

use crate::xtask::workspace_root;

/// Where the records go: one file per test process, cleared by `cargo xtask test` first.
pub fn record_dir() -> std::path::PathBuf {
    workspace_root().join("target/book-commands")
}

/// Records `argv` (program first) as the learner's form of the command.
pub fn record(argv: &[&str]) {
    let line = serde_json::to_string(&as_typed(argv)).expect("strings serialise");
    let dir = record_dir();
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{}.jsonl", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(err) = written {
        panic!("recording a command in {}: {err}", file.display());
    }
}

/// `argv` without what only a test adds.
fn as_typed(argv: &[&str]) -> Vec<String> {
    let mut typed = Vec::new();
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--project" | "-p" | "--port" => {
                args.next();
            }
            "--file" => {
                typed.push("--file".to_owned());
                if let Some(path) = args.next() {
                    let name = std::path::Path::new(path)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| (*path).to_owned());
                    typed.push(name);
                }
            }
            other => typed.push(other.to_owned()),
        }
    }
    typed
}

#[cfg(test)]
mod tests {
    /// A test's project, port and temporary folder are not what a learner types.
    #[test]
    fn leaves_out_what_only_a_test_adds() {
        let argv = [
            "cargo",
            "xtask",
            "step",
            "4",
            "backup",
            "--file",
            "/tmp/x1/survey.sql",
            "--project",
            "survey-test-1-0",
        ];
        assert_eq!(
            super::as_typed(&argv),
            [
                "cargo",
                "xtask",
                "step",
                "4",
                "backup",
                "--file",
                "survey.sql"
            ]
        );
        let argv = [
            "docker",
            "compose",
            "-f",
            "compose/03-compose.yaml",
            "-p",
            "t",
            "ps",
        ];
        assert_eq!(
            super::as_typed(&argv),
            ["docker", "compose", "-f", "compose/03-compose.yaml", "ps"]
        );
    }
}

/// Runs `docker args...` as a learner would type it (recorded for the book check), with extra
/// environment variables; returns its output, whatever the exit status.
pub fn docker(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    docker_renamed(args, env, None)
}

/// Like `docker`, but recorded with a test's own name replaced by the one a learner has
/// (`rename` is (the test's, the learner's), e.g. a container name).
pub fn docker_renamed(
    args: &[&str],
    env: &[(&str, &str)],
    rename: Option<(&str, &str)>,
) -> std::process::Output {
    let mut argv = vec!["docker".to_owned()];
    argv.extend(args.iter().map(|a| match rename {
        Some((from, to)) => a.replace(from, to),
        None => (*a).to_owned(),
    }));
    record(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    std::process::Command::new("docker")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .output()
        .expect("docker runs")
}

/// A step's Compose file run by hand with `docker compose`, as a test's own project on a port
/// of its own; taken down with its volumes when dropped, passed or failed.
#[derive(Debug)]
pub struct ByHand {
    file: String,
    project: String,
}

impl ByHand {
    /// For `compose/<name>.yaml`.
    pub fn new(name: &str) -> Self {
        Self {
            file: format!("compose/{name}.yaml"),
            project: format!("survey-hand-{}-{name}", std::process::id()),
        }
    }

    /// `docker compose -f FILE -p PROJECT args...`; panics with its output unless it succeeds.
    pub fn compose(&self, args: &[&str]) -> String {
        let mut all = vec![
            "compose",
            "-f",
            self.file.as_str(),
            "-p",
            self.project.as_str(),
        ];
        all.extend_from_slice(args);
        // Any free port: Docker picks it (see `port`).
        let output = docker(&all, &[("SURVEY_PORT", "0")]);
        assert!(
            output.status.success(),
            "docker {} failed:\n{}{}",
            all.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The port on 127.0.0.1 Docker picked for the app.
    pub fn port(&self) -> u16 {
        port_in(&self.compose(&["port", "app", "5000"]))
    }

    /// The project's name, as Compose prefixes it to containers and volumes.
    pub fn project(&self) -> &str {
        &self.project
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        let _ = docker_unchecked(&[
            "compose",
            "-f",
            &self.file,
            "-p",
            &self.project,
            "down",
            "--volumes",
            "--remove-orphans",
        ]);
    }
}

/// Runs `docker args` behind the scenes (not recorded: no learner types it), fails the test
/// with its output unless it succeeds, and returns what it printed.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker_unchecked(args);
    assert!(
        output.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        printed(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `docker args` behind the scenes, from the checkout's root, whatever its exit status:
/// for probes, and for cleaning up what may already be gone. The one way, with [`docker`]
/// (what a learner types) and [`docker_ok`], that the tests run docker.
pub fn docker_unchecked(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("docker runs")
}

/// What a command printed: its output, then its errors.
pub fn printed(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The port on this machine that `container`'s TCP port `target` is published on, as Docker
/// picked it (`--port 0`, a port of 0 in a script).
pub fn published_port(container: &str, target: u16) -> u16 {
    port_in(&docker_ok(&["port", container, &format!("{target}/tcp")]))
}

/// The port of the first address `docker port` (or `docker compose port`) printed.
fn port_in(published: &str) -> u16 {
    published
        .lines()
        .next()
        .and_then(|address| address.trim().rsplit(':').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a published port: {published:?}"))
}
