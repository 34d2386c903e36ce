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

/// A learner's clone of the project: a copy of the checkout committed to a git repository of
/// its own. Its step runs under a project name of its own, taken down with its volumes and
/// image when the test ends.
struct Clone {
    dir: tempfile::TempDir,
    project: String,
}

impl Clone {
    fn new() -> Self {
        let dir = copy_of_checkout();
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
                .current_dir(dir.path())
                .status()
                .expect("git runs");
            assert!(status.success(), "git {args:?}");
        }
        let project = format!("survey-test-exercises-{}", std::process::id());
        Self { dir, project }
    }

    /// The name of the clone's copy of step `step`: one per step, as a learner's are.
    fn project(&self, step: u8) -> String {
        format!("{}-{step:02}", self.project)
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `cargo xtask ARGS --project P` in the clone, P its copy of step `step`: whether it
    /// succeeded, and what it said on both streams.
    fn xtask(&self, step: u8, args: &[&str]) -> (bool, String) {
        let project = self.project(step);
        let mut all = args.to_vec();
        all.extend_from_slice(&["--project", &project]);
        let target = target();
        let env = [("CARGO_TARGET_DIR", target.as_str()), ("SURVEY_TAG", TAG)];
        let output = xtask_in(self.root(), &all, &env);
        let said = format!(
            "{}{}",
            stdout(&output),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), said)
    }

    /// `cargo xtask exercise ARGS` in the clone, on the copy of the step of the exercise
    /// named (`03-...`: step 3, which it is when none is).
    fn exercise(&self, args: &[&str]) -> (bool, String) {
        let step = args
            .get(1)
            .and_then(|id| id.get(..2))
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        let mut all = vec!["exercise"];
        all.extend_from_slice(args);
        self.xtask(step, &all)
    }
}

impl Drop for Clone {
    fn drop(&mut self) {
        self.xtask(3, &["step", "3", "down", "--volumes"]);
        let image = format!("survey/step-03-compose:{TAG}");
        let _ = tests::commands::docker_unchecked(&["image", "rm", &image]);
    }
}

/// The tag of the images the clone builds.
const TAG: &str = "exercises";

/// The clone's runner is built in a target folder of its own: it knows its checkout's root
/// by where it was built, and another copy's tests build theirs in `target/copy`.
fn target() -> String {
    let dir = tests::xtask::workspace_root().join("target/copy-exercises");
    dir.to_str().expect("a UTF-8 path").to_owned()
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
/// running while a wrong edit, a YAML error and the right edit are saved, then `step 3 up`
/// applying it; `hint`, `reset`, and `start` over edits of theirs; then, through the same
/// commands, every exercise's `start` makes its `check` fail and `solve` makes it pass.
#[test]
fn a_learner_works_through_every_exercise() {
    let clone = Clone::new();
    refuses_clearly(&clone);
    let file = clone.root().join("compose/03-compose.yaml");
    let (started, said) = clone.exercise(&["start", "03-loopback-only"]);
    assert!(started, "{said}");
    let (_, failing) = clone.exercise(&["check", "03-loopback-only"]);
    insta::assert_snapshot!("check_failing", failing);
    watch_sees_each_save_and_the_step_up(&clone, &file);
    let (passed, passing) = clone.exercise(&["check", "03-loopback-only"]);
    assert!(passed, "{passing}");
    insta::assert_snapshot!("check_passing", passing);
    hints_reset_and_force(&clone, &file);
    every_exercise_starts_failing_and_is_solved_passing(&clone);
}

/// Every exercise's `start` makes its `check` fail, and `solve` makes it pass; `list` then
/// counts them all, and the files are as shipped again.
fn every_exercise_starts_failing_and_is_solved_passing(clone: &Clone) {
    let _phase = Phase::named("every exercise fails as started and passes as solved");
    let (_, listed) = clone.exercise(&["list"]);
    let ids: Vec<String> = listed
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(ids.len() >= 16, "{listed}");
    for id in &ids {
        let (started, said) = clone.exercise(&["start", id]);
        assert!(started, "start {id}: {said}");
        let (passed, said) = clone.exercise(&["check", id]);
        assert!(
            !passed && said.contains('✗'),
            "{id} passes as started:\n{said}"
        );
        let (solved, said) = clone.exercise(&["solve", id]);
        assert!(
            solved && !said.contains('✗'),
            "{id}'s solution fails:\n{said}"
        );
        // The file is right; what runs is checked where the step is up (step 3, here).
        let (passed, said) = clone.exercise(&["check", id]);
        assert!(
            passed != said.contains(" is not up ("),
            "check {id}:\n{said}"
        );
    }
    let status = Command::new("git")
        .args(["diff", "--quiet"])
        .current_dir(clone.root())
        .status()
        .expect("git runs");
    assert!(status.success(), "the solutions are the files as shipped");
}

fn refuses_clearly(clone: &Clone) {
    let _phase =
        Phase::named("an unknown exercise, or one not started, is refused with the way on");
    let (ok, unknown) = clone.exercise(&["check", "no-such-exercise"]);
    assert!(
        !ok && unknown.contains("there is no exercise `no-such-exercise`; there are: 01-not-root"),
        "{unknown}"
    );
    let (ok, early) = clone.exercise(&["check", "03-loopback-only"]);
    assert!(
        !ok && early.contains("`cargo xtask exercise start 03-loopback-only`"),
        "{early}"
    );
}

/// `watch` checks on every save: a wrong edit fails, a YAML error names its line and column;
/// the right edit makes the file right, and `check` then says which command starts the step;
/// once `up` has applied it, `watch` sees it run, and ends.
fn watch_sees_each_save_and_the_step_up(clone: &Clone, file: &Path) {
    let _phase = Phase::named("watch checks each save, and ends once the step runs the file");
    let mut watch = Watch::start(clone, "03-loopback-only");
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
    watch.until("is not up");
    let (passed, not_up) = clone.exercise(&["check", "03-loopback-only"]);
    assert!(!passed, "{not_up}");
    insta::assert_snapshot!(
        "check_not_up",
        not_up.replace(&clone.project(3), "survey-03")
    );
    let (up, said) = clone.xtask(3, &["step", "3", "up", "--port", "0"]);
    assert!(up, "{said}");
    watch.until("03-loopback-only is done");
    let status = watch.child.wait().expect("watch ends");
    assert!(status.success(), "watch ends with success once all holds");
}

fn hints_reset_and_force(clone: &Clone, file: &Path) {
    let _phase = Phase::named("hints one at a time, reset, and start over the learner's own edits");
    let id = "03-wait-for-the-database";
    let (_, first) = clone.exercise(&["hint", id]);
    assert!(first.contains("is not started"), "{first}");
    clone.exercise(&["start", id]);
    let (_, one) = clone.exercise(&["hint", id]);
    let (_, two) = clone.exercise(&["hint", id]);
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
    let (reset, said) = clone.exercise(&["reset", id]);
    assert!(
        reset && said.contains("back as the project ships it"),
        "{said}"
    );
    let (_, check) = clone.exercise(&["check", id]);
    assert!(
        check.contains("the app starts once db is started"),
        "{check}"
    );
    clone.exercise(&["solve", id]);
    edit(
        file,
        "condition: service_healthy",
        "condition: service_completed_successfully",
    );
    let (started, said) = clone.exercise(&["start", "03-database-unpublished"]);
    assert!(
        started,
        "another exercise's passage is untouched by the edit: {said}"
    );
    let (started, said) = clone.exercise(&["start", id]);
    assert!(!started && said.contains("--force"), "{said}");
    let (started, said) = clone.exercise(&["start", id, "--force"]);
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
    fn start(clone: &Clone, id: &str) -> Self {
        tests::commands::record(&["cargo", "xtask", "exercise", "watch", id]);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut child = Command::new(cargo)
            .args(["run", "--quiet", "--package", "xtask", "--"])
            .args(["exercise", "watch", id, "--project", &clone.project(3)])
            .env("CARGO_TARGET_DIR", target())
            .env("SURVEY_TAG", TAG)
            .current_dir(clone.root())
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

    /// Waits until it prints `text` (five minutes at most: an `up` may be building); returns
    /// what it printed since the last wait.
    fn until(&mut self, text: &str) -> String {
        let mut since = String::new();
        while !since.contains(text) {
            match self.lines.recv_timeout(Duration::from_secs(300)) {
                Ok(line) => {
                    since.push_str(&line);
                    since.push('\n');
                }
                Err(_) => panic!(
                    "watch did not say {text:?} in time; it said:\n{}{since}",
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
