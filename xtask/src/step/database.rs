//! The database of a running step, from this machine: psql, and backups a restore takes
//! whole or not at all.

use std::io::IsTerminal;

use anyhow::{Context, bail};

use super::needs_volume;
use crate::{
    docker,
    launch::{Input, Instance, Service},
};

/// psql as the survey user, in the database container: nothing is published to the host.
pub(super) fn psql(copy: &Instance<'_>, sql: Option<&str>) -> anyhow::Result<()> {
    if !copy.step.database {
        bail!(
            "step {} keeps its answers in memory: there is no database until step 2",
            copy.step.number
        );
    }
    docker::require_engine(copy.sh)?;
    let input = if sql.is_none() && std::io::stdin().is_terminal() {
        Input::Terminal
    } else {
        Input::Open
    };
    let sql: Vec<&str> = sql.map(|s| vec!["-c", s]).unwrap_or_default();
    let psql = copy
        .exec(Service::Db, input)?
        .args(["psql", "-U", "survey", "-d", "survey"])
        .args(sql);
    // xshell gives a command an empty input; psql reads the learner's: the keyboard, or a
    // script (`cargo xtask step N psql < answers.sql`).
    eprintln!("$ {psql}");
    let status = std::process::Command::from(psql)
        .stdin(std::process::Stdio::inherit())
        .status()
        .context("running psql")?;
    if !status.success() {
        bail!("psql failed ({status})");
    }
    Ok(())
}

pub(super) fn backup(copy: &Instance<'_>, file: &str) -> anyhow::Result<()> {
    needs_volume(copy, "backup")?;
    docker::require_engine(copy.sh)?;
    // The real command, printed with the redirection a learner would type.
    let dump = copy.exec(Service::Db, Input::Closed)?.args([
        "pg_dump",
        "-U",
        "survey",
        "-d",
        "survey",
        "--clean",
        "--if-exists",
    ]);
    eprintln!("$ {dump} > {file}");
    let dump = dump
        .quiet()
        .read()
        .context("dumping the database (is the step up?)")?;
    // Written beside it, then renamed over it: a backup that fails half-way (a full disk)
    // leaves the last one whole.
    let path = copy.sh.current_dir().join(file);
    let partial = copy.sh.current_dir().join(format!("{file}.partial"));
    std::fs::write(&partial, dump + "\n")
        .and_then(|()| std::fs::rename(&partial, &path))
        .with_context(|| {
            let _ = std::fs::remove_file(&partial);
            format!("writing {file} (the last backup there, if any, is as it was)")
        })?;
    println!(
        "Backed up to {file}. Restore it with `cargo xtask step {} restore --file {file}`.",
        copy.step.number
    );
    Ok(())
}

pub(super) fn restore(copy: &Instance<'_>, file: &str) -> anyhow::Result<()> {
    needs_volume(copy, "restore")?;
    docker::require_engine(copy.sh)?;
    let dump = copy
        .sh
        .read_file(file)
        .with_context(|| format!("reading the backup {file}"))?;
    let (ours, theirs) = (schema_version(copy)?, dumped_schema_version(&dump));
    if let Some(theirs) = theirs.filter(|theirs| *theirs != ours) {
        let which = if theirs < ours {
            "an earlier"
        } else {
            "a later"
        };
        bail!(
            "{file} is a backup of {which} step's database (its schema is at migration {theirs}, \
             step {}'s at {ours}): restore it into the step it came from, where it fits; \
             nothing was changed",
            copy.step.number
        );
    }
    // One transaction: a restore that fails half-way leaves the database as it was.
    let load = copy.exec(Service::Db, Input::Open)?.args([
        "psql",
        "-U",
        "survey",
        "-d",
        "survey",
        "--quiet",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
    ]);
    eprintln!("$ {load} < {file}");
    load.stdin(dump)
        .quiet()
        .ignore_stdout()
        .run()
        .context("restoring the backup failed, and changed nothing (is the step up?)")?;
    println!("Restored {file}.");
    Ok(())
}

/// The last migration the running database has applied.
fn schema_version(copy: &Instance<'_>) -> anyhow::Result<i64> {
    let query = "SELECT coalesce(max(version), 0) FROM _sqlx_migrations";
    let version = copy
        .exec(Service::Db, Input::Closed)?
        .args(["psql", "-U", "survey", "-d", "survey", "-tAc", query])
        .quiet()
        .read()
        .context("reading the database's schema version (is the step up?)")?;
    version
        .trim()
        .parse()
        .with_context(|| format!("a schema version, not {version:?}"))
}

/// The last migration in a dump `backup` made: the first column of its
/// `_sqlx_migrations` rows. None for a dump without them (made otherwise).
fn dumped_schema_version(dump: &str) -> Option<i64> {
    let mut lines = dump.lines();
    lines.find(|line| line.starts_with("COPY public._sqlx_migrations "))?;
    lines
        .take_while(|line| *line != "\\.")
        .filter_map(|line| line.split('\t').next()?.parse().ok())
        .max()
}
