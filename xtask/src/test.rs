//! `cargo xtask test`: the one command that runs every check and test of the project, in the
//! order that fails fastest: formatting, lints, then the tests (which need Postgres).

use anyhow::Context;
use xshell::{Shell, cmd};

/// Run formatting and lint checks, then every test.
#[derive(Debug, clap::Args)]
pub struct Test {
    /// Skip `cargo fmt --check` and clippy (quicker while iterating; CI never skips them).
    #[arg(long)]
    no_lint: bool,
}

impl Test {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // What the tests need: the tools (installed on Debian as root, else named with their
        // fix), a Docker daemon, and a Postgres server on which they may create databases.
        crate::setup::install_missing(sh)?;
        // From here on, a Ctrl-C stops the commands under way, and the run, but the daemon
        // and the Postgres it started are stopped first (their guards drop on the way out).
        let interrupt = crate::interrupt::Deferred::hold()?;
        let _daemon = crate::docker::ensure_daemon(sh)?;
        let database = Database::for_tests(sh)?;

        let steps = if self.no_lint { 3 } else { 5 };
        let mut step = 0;
        let mut announce = |what: &str| -> anyhow::Result<()> {
            interrupt.check()?;
            step += 1;
            eprintln!("\n==> [{step}/{steps}] {what}");
            Ok(())
        };
        if !self.no_lint {
            announce("formatting")?;
            cmd!(sh, "cargo fmt --all --check")
                .run()
                .context("code is not formatted: run `cargo fmt --all`")?;
            announce("lints")?;
            crate::codegen::Codegen { check: true }.run(sh)?;
            crate::docs::check(sh)?;
            let dockerfiles: Vec<String> = crate::catalogue::STEPS
                .iter()
                .map(|s| s.dockerfile())
                .chain(
                    ["haproxy", "postgres", "prometheus", "redis", "rust-builder"]
                        .map(|i| format!("images/{i}/Dockerfile")),
                )
                .collect();
            cmd!(sh, "hadolint {dockerfiles...}")
                .run()
                .context("hadolint found problems in a Dockerfile")?;
            cmd!(
                sh,
                "cargo clippy --workspace --all-targets --quiet -- -D warnings"
            )
            .run()
            .context("clippy found problems")?;
        }
        announce("Docker images (the end-to-end tests run every step in containers)")?;
        let docker = prepare_docker(sh, crate::catalogue::STEPS)?;
        // Every apt package CI installs must exist on a clean bookworm, whatever this machine has.
        crate::setup::check_apt(sh, &[])?;
        announce("tests")?;
        // Snapshots are expected outputs: a difference fails the run instead of being written
        // as the new truth. Review changes with `cargo insta review`.
        // Doc tests first: nextest skips them, and its summary should close the output.
        cmd!(sh, "cargo test --workspace --doc --quiet")
            .run()
            .context("doc tests failed")?;
        let _ = sh.remove_path(crate::docs::RECORDED);
        run_tests(
            sh,
            &everything_but_what_the_learner_runs(sh),
            &docker,
            Some(&database),
        )?;
        announce("the book: every command it tells a reader to type was run by a test")?;
        crate::docs::check_commands(sh)?;
        eprintln!("\nAll checks and tests passed.");
        Ok(())
    }
}

/// The Postgres server the tests may create databases on (`#[sqlx::test]` makes one per
/// test), passed to them as DATABASE_URL.
struct Database {
    url: String,
    /// Ours, when DATABASE_URL named none: stopped and deleted when dropped.
    _cluster: Option<throwaway_postgres::Cluster>,
}

impl Database {
    /// The server named by DATABASE_URL, checked; without one, a throwaway cluster of our own.
    fn for_tests(sh: &Shell) -> anyhow::Result<Self> {
        if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            cmd!(sh, "psql -X {url} -tAc 'select 1'")
                .quiet()
                .ignore_stdout()
                .run()
                .context("the Postgres server in DATABASE_URL does not answer (unset DATABASE_URL to let the tests start their own)")?;
            return Ok(Self {
                url,
                _cluster: None,
            });
        }
        let cluster = throwaway()?;
        Ok(Self {
            url: cluster.url(),
            _cluster: Some(cluster),
        })
    }
}

/// A throwaway Postgres cluster, started.
fn throwaway() -> anyhow::Result<throwaway_postgres::Cluster> {
    // With a random password, so that the tests meet a server that checks it, as a real one
    // does, and no other user of this machine can guess it.
    let mut cluster = throwaway_postgres::Cluster::init(None)
        .context("making a throwaway Postgres for the tests")?;
    cluster.start().with_context(|| {
        format!(
            "starting a throwaway Postgres (log: {})",
            cluster.log().display()
        )
    })?;
    eprintln!(
        "==> no DATABASE_URL: the tests use a throwaway Postgres {} on 127.0.0.1:{}, deleted when they end",
        cluster.version(),
        cluster.port()
    );
    Ok(cluster)
}

/// The images the tests run, by the variables that name them, and their official names for
/// as long as this is held: the tests in official-image mode run the steps by those names, as
/// a learner with Docker Hub does.
struct Prepared {
    vars: Vec<(&'static str, String)>,
    _official_names: crate::images::OfficialNames,
}

/// Checks Docker and Compose, makes sure the base images exist, and builds the app images of
/// `steps` up front (with progress), so the tests that launch them start quickly.
fn prepare_docker(sh: &Shell, steps: &[crate::catalogue::Step]) -> anyhow::Result<Prepared> {
    crate::docker::require_engine(sh)?;
    crate::docker::require_compose_v2(sh)?;
    // The stand-ins are built again (from Docker's cache) in case their Dockerfiles changed.
    let fetch = crate::images::Fetch {
        rebuild_stand_ins: true,
        ..Default::default()
    };
    let images = crate::images::ensure(sh, fetch)?;
    let lab = crate::images::ensure_lab(sh, fetch)?;
    let observe = crate::images::ensure_observe(sh, fetch)?;
    for step in steps {
        crate::images::build_app(
            sh,
            step,
            &images,
            crate::images::Profile::Quick,
            crate::images::Progress::Quiet,
        )?;
    }
    let vars = images
        .vars()
        .into_iter()
        .chain(lab.vars())
        .chain(observe.vars())
        .map(|(name, image)| (name, image.to_owned()))
        .collect();
    Ok(Prepared {
        vars,
        _official_names: crate::images::OfficialNames::tag(sh, &images, &lab, &observe)?,
    })
}

/// The test targets the learner's pass (`tests/tests/learner.rs`) runs, as a user in the
/// docker group, through `cargo xtask step 4 test` and `cargo xtask step 6 test`: the whole
/// run leaves them to it rather than running them twice.
const RUN_BY_THE_LEARNER: [&str; 2] = ["step04_volumes", "step06_swarm"];

/// The arguments that select every test but [`RUN_BY_THE_LEARNER`], through nextest's filter.
/// (`cargo test` has none: without nextest, those run twice.)
fn everything_but_what_the_learner_runs(sh: &Shell) -> Vec<String> {
    let mut args = vec!["--workspace".to_owned(), "--no-fail-fast".to_owned()];
    if crate::docker::succeeds(cmd!(sh, "cargo nextest --version")) {
        let binaries: Vec<String> = RUN_BY_THE_LEARNER
            .iter()
            .map(|t| format!("binary({t})"))
            .collect();
        args.extend(["-E".to_owned(), format!("not ({})", binaries.join(" | "))]);
    }
    args
}

/// The test targets in tests/tests whose names start with `prefix`, sorted.
fn test_targets(sh: &Shell, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut targets: Vec<String> = sh
        .read_dir("tests/tests")?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| name.starts_with(prefix))
        .collect();
    targets.sort();
    Ok(targets)
}

/// `cargo xtask step N test`: the tests of one step (the files tests/tests/stepNN_*.rs).
pub fn run_step_tests(sh: &Shell, step: crate::catalogue::Step) -> anyhow::Result<()> {
    let targets = test_targets(sh, &format!("step{:02}_", step.number))?;
    // Only this step's image: the others are not needed to test it.
    let interrupt = crate::interrupt::Deferred::hold()?;
    let docker = prepare_docker(sh, &[step])?;
    // A step with a database may have tests that make their own on a server (step 02's).
    let database = if step.database {
        Some(Database::for_tests(sh)?)
    } else {
        None
    };
    interrupt.check()?;
    let mut args = vec!["--package".to_owned(), "tests".to_owned()];
    args.extend(
        targets
            .iter()
            .flat_map(|t| ["--test".to_owned(), t.clone()]),
    );
    run_tests(sh, &args, &docker, database.as_ref())
}

/// Runs tests with `args`, the images in `docker` named in their environment: through
/// cargo-nextest when it is installed (a process per test, one summary at the end), else
/// `cargo test`. Snapshots are expected outputs: a difference fails the run instead of being
/// written as the new truth (review with `cargo insta review`).
fn run_tests(
    sh: &Shell,
    args: &[String],
    docker: &Prepared,
    database: Option<&Database>,
) -> anyhow::Result<()> {
    // The end-to-end tests run the step binaries and `cargo xtask` itself: build them once
    // here, instead of in every test at once, each waiting for cargo's lock.
    cmd!(sh, "cargo build --workspace --bins --quiet")
        .run()
        .context("building the binaries the tests run")?;
    let nextest = crate::docker::succeeds(cmd!(sh, "cargo nextest --version"));
    let runner: &[&str] = if nextest {
        &["nextest", "run"]
    } else {
        &["test"]
    };
    cmd!(sh, "cargo {runner...} {args...}")
        .env("INSTA_UPDATE", "no")
        .envs(docker.vars.iter().map(|(name, image)| (name, image)))
        .envs(database.map(|d| ("DATABASE_URL", &d.url)))
        .run()
        .context("tests failed")
}
