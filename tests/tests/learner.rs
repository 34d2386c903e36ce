//! The tutorial as most learners run it: a normal user in the `docker` group (not root), in a
//! clone of their own, with their own Cargo: `step 3 up`, an answer, `psql`, `down`; the same
//! with step 6's stack on a swarm `up` makes and leaves, and with step 7's lab of nodes, whose
//! engine the runner reaches through a socket the user must be allowed to open; the swarm
//! step 6 made is checked from another machine, as it were. Then the learner runs the tests of
//! a Compose step and of a stack step, `step 4 test` and `step 6 test`.
//!
//! Run as root (CI), the test makes that user (`survey-learner`, kept for the next run) and
//! runs every command as it, with nothing of root's environment; run as anyone else, it runs
//! them as its own user, who is such a learner already.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The learner's account, made once and kept (its home holds its Cargo cache).
const USER: &str = "survey-learner";

/// The tag the learner's app images get, so that they never replace the ones the other tests run.
const TAG: &str = tests::xtask::LEARNER_TAG;

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A learner: the account, a copy of this checkout in its home, and the Rust toolchain's
/// folder, readable by it. The copy, and every copy of a step it started, go on drop. Run by
/// anyone but root, the test's own user is the learner, in a copy of the checkout.
struct Learner {
    /// The account made for the test, when run as root.
    made: Option<Made>,
    checkout: PathBuf,
    /// A copy of the checkout the test's own user works in (not root).
    _copy: Option<tempfile::TempDir>,
    projects: Vec<(u8, String)>,
}

/// The account the test made, and what it needs to run cargo as it.
struct Made {
    home: PathBuf,
    toolchain: PathBuf,
}

impl Learner {
    fn new() -> Self {
        let copy = tests::xtask::copy_of_checkout();
        if !throwaway_postgres::running_as_root() {
            commit_all(copy.path(), None);
            return Self {
                made: None,
                checkout: copy.path().to_path_buf(),
                _copy: Some(copy),
                projects: Vec::new(),
            };
        }
        if !Command::new("id")
            .arg(USER)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            run(Command::new("useradd").args(["--create-home", "--groups", "docker", USER]));
        }
        let home = PathBuf::from(format!("/home/{USER}"));
        let checkout = home.join(format!("survey-{}", std::process::id()));
        run(Command::new("cp").arg("-a").arg(copy.path()).arg(&checkout));
        run(Command::new("chown")
            .args(["-R", &format!("{USER}:{USER}")])
            .arg(&checkout));
        commit_all(&checkout, Some(USER));
        Self {
            made: Some(Made {
                toolchain: readable_toolchain(),
                home,
            }),
            checkout,
            _copy: None,
            projects: Vec::new(),
        }
    }

    /// Runs `cargo xtask ARGS` as the learner, in the learner's checkout (as the account the
    /// test made: with nothing of root's environment); returns what it printed, or panics with
    /// it if it failed.
    fn xtask(&self, args: &[&str]) -> String {
        let Some(made) = &self.made else {
            let output = tests::xtask::xtask_in(&self.checkout, args, &[]);
            assert!(output.status.success(), "cargo xtask {args:?}: {output:?}");
            return tests::xtask::stdout(&output) + &String::from_utf8_lossy(&output.stderr);
        };
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            made.toolchain.join("bin").display()
        );
        let output = run(Command::new("runuser")
            .args(["-u", USER, "--", "env", "-i"])
            .arg(format!("HOME={}", made.home.display()))
            .arg(format!("USER={USER}"))
            .arg(format!("PATH={path}"))
            .arg(format!("CARGO_HOME={}", made.home.join(".cargo").display()))
            // Kept with the account, as its Cargo cache is: the next run starts compiled.
            .arg(format!(
                "CARGO_TARGET_DIR={}",
                made.home.join("target").display()
            ))
            .arg(format!("SURVEY_TAG={TAG}"))
            .args(["cargo", "xtask"])
            .args(args)
            .current_dir(&self.checkout));
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// `step N up` on a port of its own; returns the project and the survey's address.
    fn up(&mut self, step: u8) -> (String, String) {
        let project = format!("survey-learner-{}-{step}", std::process::id());
        self.projects.push((step, project.clone()));
        (project.clone(), self.up_again(step, &project))
    }

    /// `step N up --port 0` of `project` (Docker picks the port); returns the survey's
    /// address, as `up` says it.
    fn up_again(&self, step: u8, project: &str) -> String {
        let n = step.to_string();
        let said = self.xtask(&["step", &n, "up", "--port", "0", "--project", project]);
        let port = tests::xtask::port_said(&said)
            .unwrap_or_else(|| panic!("step {step} up says no port:\n{said}"));
        format!("http://127.0.0.1:{port}")
    }
}

impl Learner {
    /// Adds the commands the learner's own test runs recorded to this checkout's record, which
    /// the book's commands are checked against.
    fn hand_over_recorded_commands(&self) {
        let (theirs, ours) = (
            self.checkout.join("target/book-commands"),
            tests::commands::record_dir(),
        );
        std::fs::create_dir_all(&ours).expect("the record's folder");
        for file in std::fs::read_dir(&theirs)
            .expect("the learner's record")
            .flatten()
        {
            let name = format!("learner-{}", file.file_name().to_string_lossy());
            std::fs::copy(file.path(), ours.join(name)).expect("a record copied");
        }
    }
}

impl Drop for Learner {
    fn drop(&mut self) {
        // As root, from this checkout: whatever the learner's runs left, failed or not.
        for (step, project) in &self.projects {
            let step = step.to_string();
            let _ =
                tests::xtask::xtask(&["step", &step, "down", "--volumes", "--project", project]);
        }
        // The images the account built under a tag of its own (a copy's own tag, `copy`, is
        // shared with the other tests that run copies, and stays).
        if self.made.is_some() {
            for package in [
                "step-03-compose",
                "step-04-volumes",
                "step-06-swarm",
                "step-07-multinode",
            ] {
                let image = format!("survey/{package}:{TAG}");
                let _ = tests::commands::docker_unchecked(&["image", "rm", &image]);
            }
            let _ = std::fs::remove_dir_all(&self.checkout);
        }
    }
}

/// The swarm the learner's `up` made is private: from another machine on the learner's
/// network (a network namespace this test makes, as root), neither the survey at `base` nor
/// the swarm's control and gossip ports answer.
fn assert_private(base: &str) {
    let Some(outside) = tests::outside::Outside::new_as_root() else {
        return;
    };
    let survey: u16 = base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    for (what, port) in [
        ("the survey", survey),
        ("swarm control", 2377),
        ("gossip", 7946),
    ] {
        assert!(
            !outside.answers(port),
            "{what} (port {port}) answers from another machine"
        );
    }
}

/// Makes `checkout` a git repository with every file committed, as a clone is (`step N diff`
/// asks git), as `user` when given.
fn commit_all(checkout: &Path, user: Option<&str>) {
    let git = |args: &[&str]| {
        let mut command = match user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "git"]);
                c
            }
            None => Command::new("git"),
        };
        run(command
            .args([
                "-c",
                "user.name=Learner",
                "-c",
                "user.email=learner@localhost",
            ])
            .args(args)
            .current_dir(checkout));
    };
    git(&["init", "--quiet"]);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "--message", "The tutorial, as cloned"]);
}

/// The Rust toolchain this test runs with, in a folder the learner may read: where it is, if
/// every folder above it lets others in, else a copy of it made of hard links (no space
/// taken, the files as they are) under /var/tmp, made once per toolchain version.
fn readable_toolchain() -> PathBuf {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let learner_may_run = |dir: &Path| {
        Command::new("runuser")
            .args(["-u", USER, "--", "test", "-x"])
            .arg(dir.join("bin/cargo"))
            .status()
            .is_ok_and(|s| s.success())
    };
    if learner_may_run(&sysroot) {
        return sysroot;
    }
    let name = sysroot
        .file_name()
        .expect("a toolchain's folder")
        .to_string_lossy();
    let version = Command::new("rustc")
        .arg("--version")
        .output()
        .expect("rustc runs");
    let version = String::from_utf8_lossy(&version.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or("unknown")
        .to_owned();
    let copy = PathBuf::from(format!("/var/tmp/survey-toolchain-{version}-{name}"));
    if !learner_may_run(&copy) {
        let _ = std::fs::remove_dir_all(&copy);
        let linked = Command::new("cp")
            .arg("-al")
            .arg(&sysroot)
            .arg(&copy)
            .status()
            .is_ok_and(|s| s.success());
        if !linked {
            let _ = std::fs::remove_dir_all(&copy);
            run(Command::new("cp").arg("-a").arg(&sysroot).arg(&copy));
        }
        run(Command::new("chmod").arg("a+rX").arg(&copy));
    }
    assert!(
        learner_may_run(&copy),
        "{} is not usable by {USER}",
        copy.display()
    );
    copy
}

/// As a user in the docker group: step 3 up, an answer stored and read back with psql, down;
/// step 6 up (a swarm made, private), an answer through the proxy, down --volumes (the swarm
/// left); step 7's lab up, an answer, down, up (the answer is back), down --volumes; then
/// `step 4 test` and `step 6 test`.
#[tokio::test]
async fn a_docker_group_user_runs_steps_3_6_and_7_and_tests_4_and_6() {
    let mut learner = Learner::new();
    for step in [3, 6, 7] {
        let (project, base) = learner.up(step);
        if step == 6 {
            assert_private(&base);
        }
        let name = format!("Learner {step}");
        let status = tests::http::Remote::new(base.clone())
            .post_answer(&name, "tabby", "jelly")
            .await;
        assert_eq!(status.as_u16(), 303, "step {step}: the answer is accepted");
        if step >= 5 {
            tests::http::wait_until_drained(&base, std::time::Duration::from_secs(60)).await;
        }
        let n = step.to_string();
        let sql = format!("select count(*) from cats where name = '{name}'");
        let rows = learner.xtask(&["step", &n, "psql", "-c", &sql, "--project", &project]);
        assert!(
            rows.contains("\n     1\n"),
            "step {step}: stored once:\n{rows}"
        );
        if step == 7 {
            // Down tonight, up tomorrow: the lab comes back with the answer (step 6's own
            // test does the same, run as this user below).
            learner.xtask(&["step", &n, "down", "--project", &project]);
            let base = learner.up_again(step, &project);
            let page = tests::http::Remote::new(base).get_text("/answers").await;
            assert!(page.contains(&name), "step 7: the answer is back:\n{page}");
        }
        let down = learner.xtask(&["step", &n, "down", "--volumes", "--project", &project]);
        if step == 6 {
            assert!(down.contains("Leaving the swarm `up` made"), "{down}");
        }
    }
    // `cargo xtask test` leaves these tests to this pass (they run once, as a learner's).
    let passed = regex::Regex::new(r"\b[1-9][0-9]* passed").expect("a valid pattern");
    for step in ["4", "6"] {
        let said = learner.xtask(&["step", step, "test"]);
        assert!(
            passed.is_match(&said),
            "step {step} test ran its tests:\n{said}"
        );
    }
    learner.hand_over_recorded_commands();
}
