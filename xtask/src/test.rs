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

        let steps = if self.no_lint { 1 } else { 3 };
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
            cmd!(
                sh,
                "cargo clippy --workspace --all-targets --quiet -- -D warnings"
            )
            .run()
            .context("clippy found problems")?;
        }
        announce("tests");
        // Snapshots are expected outputs: a difference fails the run instead of being written
        // as the new truth. Review changes with `cargo insta review`.
        let _insta = sh.push_env("INSTA_UPDATE", "no");
        if cmd!(sh, "cargo nextest --version")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok()
        {
            // nextest skips doc tests, so they run first; its summary then closes the output.
            cmd!(sh, "cargo test --workspace --doc --quiet")
                .run()
                .context("doc tests failed")?;
            cmd!(sh, "cargo nextest run --workspace --no-fail-fast")
                .run()
                .context("tests failed")?;
        } else {
            cmd!(sh, "cargo test --workspace --no-fail-fast")
                .run()
                .context("tests failed")?;
        }
        eprintln!("\nAll checks and tests passed.");
        Ok(())
    }
}
