//! Running `cargo xtask step N ...` as a learner does, on a copy of the step of the test's own
//! (its own project name and port), taken down with its volumes when the test ends, failed or not.

use std::{
    cell::Cell,
    path::PathBuf,
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// The workspace root, where `cargo xtask` runs.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// Runs `cargo xtask <args>` and returns its output, whatever the exit status.
pub fn xtask(args: &[&str]) -> Output {
    xtask_with_env(args, &[])
}

/// Runs `cargo xtask <args>` with extra environment variables.
pub fn xtask_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    xtask_in(&workspace_root(), args, env)
}

/// `cargo xtask <args>` in this checkout, to start as the test needs (recorded for the book
/// check as [`xtask`] is).
pub fn command(args: &[&str]) -> Command {
    command_in(&workspace_root(), args, &[])
}

/// Runs `cargo xtask <args>` in the checkout at `root` (this one, or a copy of it).
pub fn xtask_in(root: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command_in(root, args, env).output().expect("cargo runs")
}

/// Which names the images of a step run go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// The ones the test run's variables give (`POSTGRES_IMAGE` ...: the stand-ins, here).
    AsSet,
    /// The official ones (`postgres:15` ...), as a learner with Docker Hub has them: the
    /// variables unset, the runner finds them itself. `cargo xtask test` gives the stand-ins
    /// those names for its run.
    Official,
}

/// The variables that name the images a step runs; unset in [`Names::Official`].
const IMAGE_VARIABLES: [&str; 7] = [
    "BUILDER_IMAGE",
    "POSTGRES_IMAGE",
    "REDIS_IMAGE",
    "HAPROXY_IMAGE",
    "DIND_IMAGE",
    "REGISTRY_IMAGE",
    "PROMETHEUS_IMAGE",
];

/// The official names [`Names::Official`] needs, checked once per test process: fails, saying
/// how to get them, unless every one is here.
fn require_official_names() {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| {
        let official = [
            "rust:1.95-slim-bookworm",
            "postgres:15",
            "redis:7",
            "haproxy:2.6",
            "docker:26-dind",
            "registry:2",
            "prom/prometheus:v2.42.0",
        ];
        let missing: Vec<&str> = official
            .into_iter()
            .filter(|image| {
                !crate::commands::docker_unchecked(&[
                    "image", "inspect", "--format", "{{.Id}}", image,
                ])
                .status
                .success()
            })
            .collect();
        assert!(
            missing.is_empty(),
            "this test runs the step with the official images, and {missing:?} are not here: \
             run it through `cargo xtask test` or `cargo xtask step N test`, which give the \
             stand-ins those names for the run"
        );
    });
}

/// Like [`xtask_in`], with `input` on the command's standard input.
pub fn xtask_in_with_input(root: &std::path::Path, args: &[&str], input: &[u8]) -> Output {
    use std::{io::Write, process::Stdio};
    let mut child = command_in(root, args, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // Written beside the reading, so neither waits on a full pipe. A command that stops
    // reading early says why on its standard error, which the caller sees.
    std::thread::scope(|scope| {
        scope.spawn(move || stdin.write_all(input));
        child.wait_with_output().expect("cargo runs")
    })
}

/// `cargo xtask <args>` in `root`, not yet run.
fn command_in(root: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut argv = vec!["cargo", "xtask"];
    argv.extend_from_slice(args);
    crate::commands::record(&argv);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    if root != workspace_root() {
        // The copies build their runner in a target folder of their own, so that this
        // checkout's runner is not compiled again from the copies' sources, kept under this
        // checkout's so the next copy starts compiled (one binary serves every copy: it asks
        // Cargo at run time where its root is); a copy's app images get a tag of its own (the
        // tests beside it use this checkout's, or another copy's).
        command
            .env("CARGO_TARGET_DIR", workspace_root().join("target/copy"))
            .env("SURVEY_TAG", copy_tag(root));
    }
    command
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root);
    command
}

/// The tag of the app images the copy of the checkout at `root` builds: one of its own, so
/// that two copies built at once do not take each other's images.
pub fn copy_tag(root: &std::path::Path) -> String {
    let name = root.file_name().unwrap_or_default().to_string_lossy();
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("{COPY_TAG_PREFIX}{name}")
}

/// How the tags of a copy's app images begin.
const COPY_TAG_PREFIX: &str = "copy-";

/// The tag of the app images the learner's pass builds (`tests/tests/learner.rs`).
pub const LEARNER_TAG: &str = "learner";

/// A copy of this checkout's files (those git tracks, as they are now) in a new temporary
/// folder: a second clone, to edit without touching this one.
pub fn copy_of_checkout() -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary folder");
    let files = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("git runs");
    assert!(files.status.success(), "git ls-files failed");
    for file in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = std::str::from_utf8(file).expect("a UTF-8 path");
        let (from, to) = (workspace_root().join(file), copy.path().join(file));
        if !from.is_file() {
            continue; // deleted here, not yet in git
        }
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("make its folder");
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    copy
}

/// The commands the runner printed before running them (`$ docker ...`, on stderr).
fn commands_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("$ "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a command printed on stdout, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A step launched by `cargo xtask step N up`, with its own project name and port.
#[derive(Debug)]
pub struct Launched {
    pub step: u8,
    pub project: String,
    /// The port the survey answers on, as the last `up` said (Docker picks it: `--port 0`).
    port: Cell<u16>,
    /// What `up` printed on stdout.
    pub up_output: String,
    /// The commands `up` ran, as it printed them (`$ docker ...`).
    pub up_commands: String,
    /// The checkout it runs from.
    pub root: PathBuf,
    /// Which names its images go by.
    pub names: Names,
}

impl Launched {
    /// Brings step `step` up; panics with everything it printed if that fails.
    pub fn up(step: u8) -> Self {
        Self::up_with(step, &[])
    }

    /// Brings step `step` up with extra arguments to `up` (e.g. `--workers 3`).
    pub fn up_with(step: u8, extra: &[&str]) -> Self {
        Self::up_in(&workspace_root(), step, extra)
    }

    /// Brings step `step` up with the images under their official names, as a learner with
    /// Docker Hub runs it (see [`Names::Official`]); every later command of the step runs so
    /// too, and each fails the test if it names a stand-in.
    pub fn up_official(step: u8, extra: &[&str]) -> Self {
        require_official_names();
        Self::launch(&workspace_root(), step, extra, Names::Official)
    }

    /// Brings step `step` up from the checkout at `root`.
    pub fn up_in(root: &std::path::Path, step: u8, extra: &[&str]) -> Self {
        Self::launch(root, step, extra, Names::AsSet)
    }

    fn launch(root: &std::path::Path, step: u8, extra: &[&str], names: Names) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let project = format!(
            "survey-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut launched = Self {
            step,
            project,
            port: Cell::new(0),
            up_output: String::new(),
            up_commands: String::new(),
            root: root.to_path_buf(),
            names,
        };
        let output = launched.run_up(extra);
        launched.check(&output, "up");
        launched.up_output = stdout(&output);
        launched.up_commands = commands_of(&output);
        if names == Names::Official {
            let ps = launched.run_ok(&["ps"]);
            assert!(
                !ps.contains("survey-offline/"),
                "step {step} runs a stand-in by its own name, not the official one:\n{ps}"
            );
        }
        launched
    }

    /// The port the survey answers on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port.get()
    }

    /// The survey moved to `port`: the container that publishes it started again, and Docker
    /// picked a new one (see [`Self::run_up`]).
    pub fn moved_to(&self, port: u16) {
        self.port.set(port);
    }

    /// `up --port 0` and `extra`, whatever its exit status: Docker picks the port, and a
    /// running copy keeps the one it has unless the container that publishes it is replaced
    /// or starts again.
    /// The port `up` says the survey is on becomes this copy's.
    pub fn run_up(&self, extra: &[&str]) -> Output {
        let mut args = vec!["up", "--port", "0"];
        args.extend_from_slice(extra);
        let output = self.run(&args);
        if let Some(port) = port_said(&stdout(&output)) {
            self.port.set(port);
        }
        output
    }

    /// [`Self::run_up`], which must succeed; returns stdout.
    pub fn up_again(&self, extra: &[&str]) -> String {
        let output = self.run_up(extra);
        self.check(&output, "up");
        stdout(&output)
    }

    /// Like `run_ok`, but returns the docker commands it printed (`$ docker ...`).
    pub fn run_ok_commands(&self, args: &[&str]) -> String {
        let output = self.run(args);
        self.check(&output, &args.join(" "));
        commands_of(&output)
    }

    /// Runs `cargo xtask step N <args> --project P`.
    pub fn run(&self, args: &[&str]) -> Output {
        let step = self.step.to_string();
        let mut all = vec!["step", step.as_str()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--project", &self.project]);
        let mut command = command_in(&self.root, &all, &[]);
        if self.names == Names::Official {
            for variable in IMAGE_VARIABLES {
                command.env_remove(variable);
            }
        }
        command.output().expect("cargo runs")
    }

    /// Like `run`, but panics with the output unless it succeeds; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        self.check(&output, &args.join(" "));
        stdout(&output)
    }

    fn check(&self, output: &Output, what: &str) {
        let (out, err) = (stdout(output), String::from_utf8_lossy(&output.stderr));
        assert!(
            output.status.success(),
            "cargo xtask step {} {what} failed:\n{out}\n{err}",
            self.step,
        );
        // The runner found the official names itself, and ran nothing by another. (What
        // BuildKit prints may still name one: it shows an image by any of its names.)
        assert!(
            self.names != Names::Official || !commands_of(output).contains("survey-offline/"),
            "cargo xtask step {} {what} ran a stand-in by its own name, not the official one:\n{out}\n{err}",
            self.step,
        );
    }

    /// `docker args...` against this copy of the step, recorded with the learner's names
    /// (survey-0N instead of the test's project); returns stdout and stderr, whatever the
    /// exit status.
    pub fn docker(&self, args: &[&str]) -> (bool, String) {
        let learner = format!("survey-{:02}", self.step);
        let output =
            crate::commands::docker_renamed(args, &[], Some((self.project.as_str(), &learner)));
        let text = format!(
            "{}{}",
            stdout(&output),
            String::from_utf8_lossy(&output.stderr)
        );
        (
            output.status.success(),
            text.replace(&self.project, &learner),
        )
    }

    /// Whether answers go through a queue (steps 05 and later): then a test waits for the
    /// workers before it looks in Postgres.
    pub fn queued(&self) -> bool {
        self.step >= 5
    }

    /// Whether it runs as a Swarm stack (steps 06 and later), not as a Compose project.
    pub fn stack(&self) -> bool {
        self.step >= 6
    }

    /// Posts `Remote::post_wide`'s answer (Cyrillic, Japanese, emoji at the form's limits)
    /// and checks that Postgres stored it whole and the answers page shows it.
    pub async fn assert_wide_answer_kept(&self) {
        let remote = crate::http::Remote::new(self.base());
        let (status, [name, coat, donut]) = remote.post_wide().await;
        assert_eq!(status.as_u16(), 303, "the answer is accepted");
        if self.queued() {
            crate::http::wait_until_drained(&self.base(), std::time::Duration::from_secs(60)).await;
        }
        let row = self.psql(&format!(
            "select name, coat, donut from cats where name = '{name}'"
        ));
        for field in [&name, &coat, &donut] {
            assert!(
                row.contains(field.as_str()),
                "{field} is stored whole:\n{row}"
            );
        }
        let page = remote.get_text("/answers").await;
        assert!(page.contains(&name), "the answers page shows {name}");
    }

    /// Sends one form twice, as a double click or a resend after a lost reply does: both are
    /// thanked, and one row is stored.
    pub async fn assert_resend_kept_once(&self) {
        let remote = crate::http::Remote::new(self.base());
        let key = remote.form_key().await;
        let echo = [("name", "Echo"), ("coat", "calico"), ("donut", "cruller")];
        for send in ["first", "second"] {
            let (status, page) = remote.post_keyed(&echo, &key).await;
            assert_eq!(status.as_u16(), 303, "the {send} send is thanked:\n{page}");
        }
        if self.queued() {
            crate::http::wait_until_drained(&self.base(), std::time::Duration::from_secs(60)).await;
        }
        let rows = self.psql("select count(*) from cats where name = 'Echo'");
        assert!(
            rows.contains("\n     1\n"),
            "one row for one form sent twice:\n{rows}"
        );
    }

    /// A form's key stands for one answer: sent again with another answer, one is stored and
    /// the other is not dropped in silence. Without a queue the first is kept and the visitor
    /// told so at once (409, with the answer kept); with one, the visitor was thanked on
    /// receipt, and the worker that finds the key taken makes its entry a dead letter, kept
    /// whole, saying which answer is stored.
    pub async fn assert_reused_key_not_dropped(&self) {
        let remote = crate::http::Remote::new(self.base());
        let key = remote.form_key().await;
        let (status, page) = remote
            .post_keyed(
                &[("name", "Keyed"), ("coat", "tabby"), ("donut", "jelly")],
                &key,
            )
            .await;
        assert_eq!(status.as_u16(), 303, "the first answer is thanked:\n{page}");
        let (status, page) = remote
            .post_keyed(
                &[
                    ("name", "Rekeyed"),
                    ("coat", "calico"),
                    ("donut", "cruller"),
                ],
                &key,
            )
            .await;
        let rows = |sql: &str| self.psql(sql);
        if self.queued() {
            // Two workers may take the two entries at once: whichever stores first is the row.
            assert_eq!(status.as_u16(), 303, "queued on receipt:\n{page}");
            crate::http::wait_until_drained(&self.base(), std::time::Duration::from_secs(60)).await;
            let stored = rows("select name from cats where name in ('Keyed', 'Rekeyed')");
            let (kept, other) = match stored.lines().map(str::trim).find(|l| l.ends_with("eyed")) {
                Some("Rekeyed") => ("Rekeyed (calico, cruller)", "Keyed"),
                _ => ("Keyed (tabby, jelly)", "Rekeyed"),
            };
            let letters = self.run_ok(&["dead-letters"]);
            assert!(
                letters.lines().any(|l| l.contains(&format!(" {other} /"))
                    && l.contains(&format!(
                        "sent before with another answer, the one stored: {kept}"
                    ))),
                "the other answer is a dead letter, saying why:\n{letters}"
            );
        } else {
            assert_eq!(status.as_u16(), 409, "not thanked:\n{page}");
            assert!(page.contains("Keyed (tabby, jelly)"), "{page}");
        }
        let count = rows("select count(*) from cats where name in ('Keyed', 'Rekeyed')");
        assert!(
            count.contains("\n     1\n"),
            "one of the two answers is the row:\n{count}"
        );
        if !self.queued() {
            let first = rows("select count(*) from cats where name = 'Keyed'");
            assert!(
                first.contains("\n     1\n"),
                "the first is the one kept:\n{first}"
            );
        }
    }

    /// The exercises of this step hold in the file as shipped and in this running copy: every
    /// check of what runs passes (`cargo xtask exercise verify --step N --project P`).
    pub fn assert_exercises_hold(&self) {
        let _phase = crate::phase::Phase::named("the step's exercises, solved, hold in what runs");
        let step = self.step.to_string();
        let args = [
            "exercise",
            "verify",
            "--step",
            &step,
            "--project",
            &self.project,
        ];
        let output = command_in(&self.root, &args, &[])
            .output()
            .expect("cargo runs");
        let said = stdout(&output);
        assert!(
            output.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            said.contains("; running, "),
            "no check of what runs:\n{said}"
        );
    }

    /// `down`, then `up` again, as a learner does at night and the next morning: every answer
    /// stored before is there again, and a new one is stored. Returns what `down` printed.
    pub async fn assert_down_up_keeps_answers(&self) -> String {
        let count = "select count(*) from cats";
        let before = self.psql(count);
        let down = self.run_ok(&["down"]);
        self.up_again(&[]);
        assert_eq!(
            self.psql(count),
            before,
            "the answers are back after down and up"
        );
        let name = format!("Morning {}", std::process::id());
        let remote = crate::http::Remote::new(self.base());
        let status = remote.post_answer(&name, "tabby", "cruller").await;
        assert_eq!(
            status.as_u16(),
            303,
            "a new answer is accepted after down and up"
        );
        if self.queued() {
            crate::http::wait_until_drained(&self.base(), std::time::Duration::from_secs(60)).await;
        }
        let stored = self.psql(&format!("select count(*) from cats where name = '{name}'"));
        assert!(
            stored.contains("\n     1\n"),
            "the new answer is stored once:\n{stored}"
        );
        down
    }

    /// Runs `update` (steps 06 and 07), which must complete, and checks that the page then
    /// comes from `version`.
    pub async fn assert_updates_to(&self, version: u32) {
        let update = self.run_ok(&["update"]);
        assert!(update.contains("update completed"), "{update}");
        let page = crate::http::Remote::new(self.base()).get_text("/").await;
        assert!(
            page.contains(&format!(", version {version}</footer>")),
            "version {version} answers: {page}"
        );
    }

    /// `psql -c SQL` in the step's database container.
    pub fn psql(&self, sql: &str) -> String {
        self.run_ok(&["psql", "-c", sql])
    }

    /// `psql` in the step's database container, reading `script` (SQL and psql commands, a
    /// `COPY ... FROM STDIN` with its data too) from its input; returns what it printed.
    pub fn psql_script(&self, script: &str) -> String {
        let step = self.step.to_string();
        let args = ["step", &step, "psql", "--project", &self.project];
        let output = xtask_in_with_input(&self.root, &args, script.as_bytes());
        self.check(&output, "psql (a script on its input)");
        stdout(&output)
    }

    /// The survey's address.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let output = self.run(&["down", "--volumes"]);
        if !output.status.success() {
            eprintln!(
                "cleaning up {} failed: {}",
                self.project,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// The offline stand-ins' names, and what a learner with Docker Hub sees in their place: the
/// official images (the builder's tag names this machine's toolchain, the official one a
/// release line), and the engine's version as its packager spells it.
pub const AS_ONLINE: &[(&str, &str)] = &[
    (r"survey-offline/rust:[0-9.]+", "rust:1.95-slim-bookworm"),
    (r"survey-offline/postgres:15\b", "postgres:15"),
    (r"survey-offline/redis:7\b", "redis:7"),
    (r"survey-offline/haproxy:2\.6\b", "haproxy:2.6"),
    (r"survey-offline/dind:26\b", "docker:26-dind"),
    (r"survey-offline/registry:2\b", "registry:2"),
    (
        r"survey-offline/prometheus:2\.42\b",
        "prom/prometheus:v2.42.0",
    ),
    (r"\b26\.\d+\.\d+(\+dfsg\d*)?\b", "[engine version]"),
];

/// What Docker prints that differs from run to run: how long ago a container or task
/// started, a swarm node's id, and the tag by which a stack runs the app image (its id).
const DOCKER_VARIES: &[(&str, &str)] = &[
    (
        r"\b(Up|Running|Starting|Preparing) (less than a second|(About |about )?(an?|\d+) (second|minute|hour)s?)",
        "$1 [time]",
    ),
    (
        r"\b(less than a second|(About |about )?(an?|\d+) (second|minute|hour)s?) ago\b",
        "[time] ago",
    ),
    (r"\b[a-z0-9]{25}\b", "[node id]"),
    (
        r"(survey/step-0[67]-[a-z]+):[0-9a-f]{12}\b",
        "$1:[image id]",
    ),
];

/// Snapshot settings that redact what varies between runs of a step: the test's own project
/// name and port become the defaults a learner gets (survey-0N, 2154), and the stand-ins the
/// official images ([`AS_ONLINE`]), so the snapshots read as the chapters' expected output;
/// Docker's times and ids ([`DOCKER_VARIES`]); plus any `extra` (regex, replacement) pairs.
pub fn snapshot_settings(launched: &Launched, extra: &[(&str, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (regex, replacement) in redactions(launched, extra) {
        settings.add_filter(&regex, replacement);
    }
    settings
}

/// The (regex, replacement) pairs of [`snapshot_settings`], in the order they apply.
fn redactions(launched: &Launched, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    // A step run by the official names shows them as they are: a stand-in's name there fails.
    let mut all: Vec<(String, String)> = AS_ONLINE
        .iter()
        .filter(|(r, _)| launched.names == Names::AsSet || !r.starts_with("survey-offline/"))
        .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
        .collect();
    all.push((
        regex::escape(&launched.project),
        format!("survey-{:02}", launched.step),
    ));
    // The tags a copy's or the learner's images get, so as not to replace this checkout's:
    // a learner's are untagged.
    all.push((
        format!(r"\b(survey/step-\d\d-[a-z]+):({COPY_TAG_PREFIX}\w+|{LEARNER_TAG})\b"),
        "$1".to_owned(),
    ));
    all.push((
        format!(r"127\.0\.0\.1:{}\b", launched.port()),
        "127.0.0.1:2154".to_owned(),
    ));
    // The port the test asked for, `--port 0`, as Docker's commands show it.
    all.push((r"127\.0\.0\.1:0:".to_owned(), "127.0.0.1:2154:".to_owned()));
    all.extend(
        DOCKER_VARIES
            .iter()
            .map(|(r, s)| ((*r).to_owned(), (*s).to_owned())),
    );
    all.extend(
        extra
            .iter()
            .map(|(r, s)| ((*r).to_owned(), (*s).to_owned())),
    );
    all
}

/// The port on 127.0.0.1 that `up`'s closing line (`Step N is up: http://127.0.0.1:PORT`)
/// says the survey is on.
pub fn port_said(up_stdout: &str) -> Option<u16> {
    up_stdout
        .lines()
        .find_map(|line| line.split(" is up: http://127.0.0.1:").nth(1))
        .and_then(|port| port.trim().parse().ok())
}

/// Docker's tables in `text` (`ps`, `stack ps`, `node ls`: a header of capitals, then rows
/// up to a blank line or the next header),
/// each cell redacted as [`snapshot_settings`] would, then laid out again as Docker lays
/// them out: every column as wide as its widest cell and three spaces more, ten at the least.
/// A redaction that makes a cell shorter or longer so keeps the columns straight, as a
/// learner sees them. Lines outside a table are redacted as they are.
pub fn redacted_tables(launched: &Launched, text: &str, extra: &[(&str, &str)]) -> String {
    let redactions: Vec<(regex::Regex, String)> = redactions(launched, extra)
        .into_iter()
        .map(|(r, s)| (regex::Regex::new(&r).expect("a valid pattern"), s))
        .collect();
    realigned(text, |cell| {
        redactions
            .iter()
            .fold(cell.to_owned(), |cell, (regex, with)| {
                regex.replace_all(&cell, with.as_str()).into_owned()
            })
    })
}

/// `text` with `redact` applied to each cell of its tables (and to each line outside them),
/// the tables laid out again (see [`redacted_tables`]).
fn realigned(text: &str, redact: impl Fn(&str) -> String) -> String {
    let mut out = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for line in text.lines() {
        if let Some(header) = column_starts(line) {
            out.extend(laid_out(&std::mem::take(&mut table)));
            starts = header;
        } else if line.trim().is_empty() || starts.is_empty() {
            out.extend(laid_out(&std::mem::take(&mut table)));
            starts.clear();
            out.push(redact(line));
            continue;
        }
        let cell = |i: usize| {
            let (start, end) = (starts[i], starts.get(i + 1).copied().unwrap_or(line.len()));
            let cell = line.get(start.min(line.len())..end.min(line.len()));
            redact(cell.unwrap_or_default().trim())
        };
        table.push((0..starts.len()).map(cell).collect());
    }
    out.extend(laid_out(&table));
    out.join("\n")
}

/// Where the columns of a table start, if `line` is its header: words of capitals, two
/// columns or more, at least two spaces apart.
fn column_starts(line: &str) -> Option<Vec<usize>> {
    let is_header = !line.trim().is_empty()
        && line.chars().all(|c| c.is_ascii_uppercase() || c == ' ')
        && line.trim().contains("  ");
    if !is_header {
        return None;
    }
    let bytes = line.as_bytes();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i] != b' ' && (i == 0 || (i >= 2 && bytes[i - 1] == b' ' && bytes[i - 2] == b' '))
        })
        .collect();
    (starts.len() >= 2).then_some(starts)
}

/// Rows of cells as Docker's tab writer prints them (padding 3, minimum width 10).
fn laid_out(table: &[Vec<String>]) -> Vec<String> {
    let columns = table.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let widest = table
                .iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            (widest + 3).max(10)
        })
        .collect();
    table
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
            line.trim_end().to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Cells made shorter by a redaction, an empty cell in the middle, a table ended by a blank
    /// line, a line of text, and a table right after it: the columns stay straight.
    #[test]
    fn tables_are_laid_out_again() {
        let docker = "\
ID             NAME                 IMAGE                        ERROR     PORTS
abc            survey-06_db.1       survey-offline/postgres:15             
def            survey-06_proxy.1    survey-offline/haproxy:2.6             *:2154->8080/tcp

some text
ID                            HOSTNAME   STATUS    MANAGER STATUS   ENGINE VERSION
70exmjq0y0muccfqh05hrmtxr *   node1      Ready     Leader           26.1.5+dfsg1";
        let shorter = |cell: &str| {
            cell.replace("survey-offline/", "")
                .replace("70exmjq0y0muccfqh05hrmtxr", "[node id]")
        };
        let expected = "\
ID        NAME                IMAGE         ERROR     PORTS
abc       survey-06_db.1      postgres:15
def       survey-06_proxy.1   haproxy:2.6             *:2154->8080/tcp

some text
ID            HOSTNAME   STATUS    MANAGER STATUS   ENGINE VERSION
[node id] *   node1      Ready     Leader           26.1.5+dfsg1";
        assert_eq!(super::realigned(docker, shorter), expected);
    }
}
