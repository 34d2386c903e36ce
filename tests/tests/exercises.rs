//! `cargo xtask exercise`: every exercise fails as started and passes as solved, from the
//! maintainers' `verify` and from the learner's own commands; and a learner's session, with
//! `watch` running while they edit: a wrong edit, a YAML error, the right edit.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use tests::{
    phase::Phase,
    xtask::{copy_of_checkout, stdout, xtask, xtask_in},
};

/// What `exercise` says on both streams, and whether it succeeded.
fn exercise(root: &Path, args: &[&str]) -> (bool, String) {
    let mut all = vec!["exercise"];
    all.extend_from_slice(args);
    let output = xtask_in(root, &all, &[("CARGO_TARGET_DIR", &target())]);
    let said = format!(
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// The clone's runner is built in a target folder of its own: it knows its checkout's root
/// by where it was built, and another copy's tests build theirs in `target/copy`.
fn target() -> String {
    let dir = tests::xtask::workspace_root().join("target/copy-exercises");
    dir.to_str().expect("a UTF-8 path").to_owned()
}

/// A copy of the checkout committed to a git repository of its own, as a learner's clone is.
fn learners_clone() -> tempfile::TempDir {
    let copy = copy_of_checkout();
    for args in [
        &["init", "--quiet"][..],
        &["add", "--all"],
        &[
            "-c",
            "user.name=Learner",
            "-c",
            "user.email=learner@example.invalid",
            "commit",
            "--quiet",
            "--message",
            "as shipped",
        ],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(copy.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }
    copy
}

/// At least 16 exercises, 6 on Swarm, each failing as started and passing as solved.
#[test]
fn verify_proves_every_exercise_both_ways() {
    let output = xtask(&["exercise", "verify"]);
    let said = stdout(&output);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ids: Vec<&str> = said.lines().filter_map(|l| l.split(':').next()).collect();
    let swarm = ids
        .iter()
        .filter(|id| id.starts_with("06-") || id.starts_with("07-"))
        .count();
    assert!(
        ids.len() >= 16 && swarm >= 6,
        "{} exercises, {swarm} on Swarm:\n{said}",
        ids.len()
    );
    insta::assert_snapshot!("verify", said);
}

/// A learner's session, in a clone of theirs: the commands' clear refusals, `start`, `watch`
/// running while a wrong edit, a YAML error and the right edit are saved, `hint`, `reset`, and
/// `start` over edits of theirs; then, through the same commands, every exercise's `start`
/// makes its `check` fail and `solve` makes it pass.
#[test]
fn a_learner_works_through_every_exercise() {
    let clone = learners_clone();
    let root = clone.path();
    refuses_clearly(root);
    let file = root.join("compose/03-compose.yaml");
    let (started, said) = exercise(root, &["start", "03-loopback-only"]);
    assert!(started, "{said}");
    let (_, failing) = exercise(root, &["check", "03-loopback-only"]);
    insta::assert_snapshot!("check_failing", failing);
    watch_sees_each_save(root, &file);
    let (passed, passing) = exercise(root, &["check", "03-loopback-only"]);
    assert!(passed, "{passing}");
    insta::assert_snapshot!("check_passing", passing);
    hints_reset_and_force(root, &file);
    every_exercise_starts_failing_and_is_solved_passing(root);
}

/// Every exercise's `start` makes its `check` fail, and `solve` makes it pass; `list` then
/// counts them all, and the files are as shipped again.
fn every_exercise_starts_failing_and_is_solved_passing(root: &Path) {
    let _phase = Phase::named("every exercise fails as started and passes as solved");
    let (_, listed) = exercise(root, &["list"]);
    let ids: Vec<String> = listed
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(ids.len() >= 16, "{listed}");
    for id in &ids {
        let (started, said) = exercise(root, &["start", id]);
        assert!(started, "start {id}: {said}");
        let (passed, said) = exercise(root, &["check", id]);
        assert!(
            !passed && said.contains('✗'),
            "{id} passes as started:\n{said}"
        );
        let (solved, said) = exercise(root, &["solve", id]);
        assert!(
            solved && !said.contains('✗'),
            "{id}'s solution fails:\n{said}"
        );
        let (passed, said) = exercise(root, &["check", id]);
        assert!(
            passed && said.contains(&format!("{id} is done")),
            "check {id}:\n{said}"
        );
    }
    let (_, listed) = exercise(root, &["list"]);
    assert!(
        listed.contains(&format!("{} of {} done", ids.len(), ids.len())),
        "{listed}"
    );
    let status = Command::new("git")
        .args(["diff", "--quiet"])
        .current_dir(root)
        .status()
        .expect("git runs");
    assert!(status.success(), "the solutions are the files as shipped");
}

fn refuses_clearly(root: &Path) {
    let _phase =
        Phase::named("an unknown exercise, or one not started, is refused with the way on");
    let (ok, unknown) = exercise(root, &["check", "no-such-exercise"]);
    assert!(
        !ok && unknown.contains("there is no exercise `no-such-exercise`; there are: 01-not-root"),
        "{unknown}"
    );
    let (ok, early) = exercise(root, &["check", "03-loopback-only"]);
    assert!(
        !ok && early.contains("`cargo xtask exercise start 03-loopback-only`"),
        "{early}"
    );
}

/// `watch` checks on every save: a wrong edit fails, a YAML error names its line and column,
/// the right edit passes and ends it.
fn watch_sees_each_save(root: &Path, file: &Path) {
    let _phase = Phase::named("watch checks each save, and ends when all holds");
    let mut watch = Watch::start(root, "03-loopback-only");
    watch.until("Watching compose/03-compose.yaml");
    let gap = "\"${SURVEY_PORT:-2154}:5000\"";
    edit(file, gap, "\"0.0.0.0:${SURVEY_PORT:-2154}:5000\"");
    watch.until("app publishes 5000 on every interface");
    edit(file, "\"0.0.0.0:", "\"127.0.0.1:");
    edit(file, ":5000\"", ":5000");
    let error = watch.until("(the YAML does not parse)");
    assert!(
        error.contains("compose/03-compose.yaml, line ") && error.contains(", column "),
        "{error}"
    );
    edit(file, "2154}:5000\n", "2154}:5000\"\n");
    watch.until("03-loopback-only is done");
    let status = watch.child.wait().expect("watch ends");
    assert!(status.success(), "watch ends with success once all holds");
}

fn hints_reset_and_force(root: &Path, file: &Path) {
    let _phase = Phase::named("hints one at a time, reset, and start over the learner's own edits");
    let (_, first) = exercise(root, &["hint", "03-wait-for-the-database"]);
    assert!(first.contains("is not started"), "{first}");
    exercise(root, &["start", "03-wait-for-the-database"]);
    let (_, one) = exercise(root, &["hint", "03-wait-for-the-database"]);
    let (_, two) = exercise(root, &["hint", "03-wait-for-the-database"]);
    assert!(one.contains("Hint 1") && !one.contains("Hint 2"), "{one}");
    assert!(
        two.contains("Hint 2") && two.contains("That is every hint"),
        "{two}"
    );
    // The learner's own edit of the passage: `start` will not replace it unless forced.
    edit(
        file,
        "condition: service_started",
        "condition: service_completed_successfully",
    );
    let (reset, said) = exercise(root, &["reset", "03-wait-for-the-database"]);
    assert!(
        reset && said.contains("back as the project ships it"),
        "{said}"
    );
    let (_, check) = exercise(root, &["check", "03-wait-for-the-database"]);
    assert!(
        check.contains("the app starts once db is started"),
        "{check}"
    );
    exercise(root, &["solve", "03-wait-for-the-database"]);
    edit(
        file,
        "condition: service_healthy",
        "condition: service_completed_successfully",
    );
    let (started, said) = exercise(root, &["start", "03-database-unpublished"]);
    assert!(
        started,
        "another exercise's passage is untouched by the edit: {said}"
    );
    let (started, said) = exercise(root, &["start", "03-wait-for-the-database"]);
    assert!(!started && said.contains("--force"), "{said}");
    let (started, said) = exercise(root, &["start", "03-wait-for-the-database", "--force"]);
    assert!(
        started && said.contains("back as the project ships it first"),
        "{said}"
    );
}

/// Saves `file` with its one `from` replaced by `to`, as an editor would.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("the file");
    assert_eq!(text.matches(from).count(), 1, "{from:?} once in:\n{text}");
    std::fs::write(file, text.replace(from, to)).expect("saving the file");
}

/// `exercise watch`, its output read as it comes.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Watch {
    fn start(root: &Path, id: &str) -> Self {
        tests::commands::record(&["cargo", "xtask", "exercise", "watch", id]);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut child = Command::new(cargo)
            .args([
                "run",
                "--quiet",
                "--package",
                "xtask",
                "--",
                "exercise",
                "watch",
                id,
            ])
            .env(
                "CARGO_TARGET_DIR",
                tests::xtask::workspace_root().join("target/copy"),
            )
            .current_dir(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cargo runs");
        let out = child.stdout.take().expect("its output");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// Waits until it prints `text`; returns what it printed since the last wait.
    fn until(&mut self, text: &str) -> String {
        let mut since = String::new();
        while !since.contains(text) {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    since.push_str(&line);
                    since.push('\n');
                }
                Err(_) => panic!(
                    "watch did not say {text:?} within a minute; it said:\n{}{since}",
                    self.seen
                ),
            }
        }
        self.seen.push_str(&since);
        since
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
