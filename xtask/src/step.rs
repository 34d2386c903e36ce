//! `cargo xtask step N <action>`: build, launch, inspect, test and stop one step. Every docker
//! command is printed before it runs, so a learner sees what the runner does for them.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use xshell::Shell;

use crate::{
    docker, images,
    launch::{NodeOp, On, Up},
    steps::{STEPS, Step},
};

/// Work with one step.
#[derive(Debug, clap::Args)]
pub struct StepCmd {
    /// The step's number.
    number: u8,
    #[command(subcommand)]
    action: Action,
    /// Name of this copy of the step (containers, network, Compose project); tests use their own.
    #[arg(long, global = true)]
    project: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Build the images and start the step; ends with the URL.
    Up {
        /// Port on 127.0.0.1 to publish the survey on.
        #[arg(long, default_value_t = 2154)]
        port: u16,
        /// How many workers to start (steps 5 to 7).
        #[arg(long)]
        workers: Option<u32>,
        /// How many nodes step 7's lab has (node1 is the manager; 2 to 9, 3 unless told).
        #[arg(long)]
        nodes: Option<u32>,
        /// Build the app as it ships (thin LTO, one codegen unit): slower to build, smaller
        /// and faster. Without it, the quick profile: an edit is running again in seconds.
        #[arg(long)]
        release: bool,
        /// Publish the survey on every interface, not 127.0.0.1 alone (steps 6 and 7): anyone
        /// who reaches this machine can then answer it.
        #[arg(long)]
        public: bool,
    },
    /// Change the number of workers of a running step 5 or 6: `scale 5`.
    Scale {
        /// How many workers to run.
        workers: u32,
    },
    /// Roll out a new version of the app, watching `docker service ps` (step 6).
    Update {
        /// Roll out a version that never gets healthy, and watch Swarm roll it back.
        #[arg(long)]
        broken: bool,
    },
    /// Drain a node of step 7's lab: its tasks move to the others, and it takes no new ones.
    Drain {
        /// node2, say.
        node: String,
        /// Drain it even if it holds the data or the published port (the survey then stops
        /// answering until it is active again).
        #[arg(long)]
        force: bool,
    },
    /// Let a drained node of step 7's lab take tasks again.
    Activate {
        /// node2, say.
        node: String,
    },
    /// Kill a node of step 7's lab (its container): Swarm starts its tasks elsewhere.
    KillNode {
        /// node2 or node3 (node1 is the manager).
        node: String,
    },
    /// List the dead letters of a running step 5 or 6: entries the workers could not store.
    DeadLetters {
        /// Put them back on the queue (idempotent: no answer is stored twice).
        #[arg(long)]
        replay: bool,
    },
    /// Stop and remove the step's containers and network (named volumes are kept).
    Down {
        /// Remove the named volumes too: the data is gone for good.
        #[arg(long)]
        volumes: bool,
    },
    /// Build the step's app image.
    Build {
        /// As it ships (see `up --release`).
        #[arg(long)]
        release: bool,
    },
    /// List the step's containers.
    Ps,
    /// Show the step's logs.
    Logs {
        /// Keep following new lines.
        #[arg(long, short)]
        follow: bool,
    },
    /// Open psql in the database container (or run one command with -c).
    Psql {
        /// SQL to run instead of an interactive session.
        #[arg(short = 'c', long = "command")]
        sql: Option<String>,
    },
    /// Dump the database to a file (step 4): `backup --file survey.sql`.
    Backup {
        #[arg(long, default_value = "survey-backup.sql")]
        file: String,
    },
    /// Load a dump made by `backup` into the running database (step 4).
    Restore {
        #[arg(long, default_value = "survey-backup.sql")]
        file: String,
    },
    /// Run this step's end-to-end tests.
    Test,
    /// Show what this step adds to the one before.
    Diff,
}

impl StepCmd {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let step = Step::find(self.number)?;
        let project = self.project.unwrap_or_else(|| step.default_project());
        let on = On { sh, step, project };
        match self.action {
            Action::Up {
                port,
                workers,
                nodes,
                release,
                public,
            } => up(
                &on,
                Up {
                    port,
                    workers,
                    nodes,
                    profile: images::Profile::of(release),
                    public,
                    running: false,
                },
            )
            .map(|_| ()),
            Action::Scale { workers } => scale(&on, workers),
            Action::Update { broken } => {
                docker::require_engine(sh)?;
                images::ensure(sh, images::Fetch::default())?.export(sh);
                on.launcher().update(&on, broken)
            }
            Action::Drain { node, force } => node_op(&on, NodeOp::Drain { force }, &node),
            Action::Activate { node } => node_op(&on, NodeOp::Activate, &node),
            Action::KillNode { node } => node_op(&on, NodeOp::Kill, &node),
            Action::DeadLetters { replay } => dead_letters(&on, replay),
            Action::Down { volumes } => down(&on, volumes),
            Action::Build { release } => {
                docker::require_engine(sh)?;
                build(&on, images::Profile::of(release), false).map(|_| ())
            }
            Action::Ps => {
                docker::require_engine(sh)?;
                on.launcher().ps(&on)
            }
            Action::Logs { follow } => {
                docker::require_engine(sh)?;
                on.launcher().logs(&on, follow)
            }
            Action::Psql { sql } => psql(&on, sql.as_deref()),
            Action::Backup { file } => backup(&on, &file),
            Action::Restore { file } => restore(&on, &file),
            Action::Test => crate::test::run_step_tests(sh, step),
            Action::Diff => crate::diff::show(sh, step),
        }
    }
}

/// Makes sure the images exist and builds the app's with `profile` (unless the launcher
/// builds it in `up`, and `for_up`); returns the images in use.
fn build(on: &On<'_>, profile: images::Profile, for_up: bool) -> anyhow::Result<images::Images> {
    let images = images::ensure(on.sh, images::Fetch::default())?;
    images.export(on.sh);
    profile.export(on.sh);
    if !(for_up && on.launcher().builds_in_up()) {
        on.launcher().build(on, &images, profile)?;
    }
    Ok(images)
}

/// Builds and starts a step, or brings a running one up to date (only what changed is
/// replaced), then says where it is and what to try next. Returns whether it was running.
pub fn up(on: &On<'_>, mut up: Up) -> anyhow::Result<bool> {
    if up.workers.is_some() {
        needs_workers(on)?;
    }
    if let Some(nodes) = up.nodes {
        needs_nodes(on, nodes)?;
    }
    if up.public {
        needs_public(on)?;
    }
    docker::require_engine(on.sh)?;
    up.running = on.launcher().running(on)?;
    if up.running {
        println!(
            "{} is running: bringing it up to date (only what changed is replaced).",
            on.project
        );
    } else {
        docker::require_free_port(up.port)?;
    }
    let image = on.step.image(on.sh);
    let old = images::id(on.sh, &image);
    let images = build(on, up.profile, true)?;
    on.launcher().up(on, up, &images)?;
    images::remove_replaced(on.sh, old, &image);
    let n = on.step.number;
    println!("\nStep {n} is up: http://127.0.0.1:{}", up.port);
    println!(
        "Next: fill in the form, then try `cargo xtask step {n} ps`, `cargo xtask step {n} logs`,"
    );
    if on.step.database {
        println!(
            "`cargo xtask step {n} psql -c 'select * from cats'`, and `cargo xtask step {n} down` when you are done."
        );
    } else {
        println!(
            "and `cargo xtask step {n} down` when you are done (the answers go with the container)."
        );
    }
    println!(
        "Changed the code? `cargo xtask step {n} up` again rebuilds and replaces only what changed."
    );
    Ok(up.running)
}

pub fn down(on: &On<'_>, volumes: bool) -> anyhow::Result<()> {
    docker::require_engine(on.sh)?;
    on.launcher().down(on, volumes)
}

/// The numbers of the steps that `has`, "5, 6, 7", for an error that names them.
fn steps_with(has: impl Fn(&Step) -> bool) -> String {
    STEPS
        .iter()
        .filter(|s| has(s))
        .map(|s| s.number.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn needs_workers(on: &On<'_>) -> anyhow::Result<()> {
    if !on.step.workers {
        bail!(
            "step {} has no workers; step {} has",
            on.step.number,
            steps_with(|s| s.workers)
        );
    }
    Ok(())
}

fn needs_nodes(on: &On<'_>, nodes: u32) -> anyhow::Result<()> {
    let Some(range) = on.step.nodes else {
        bail!(
            "step {} runs on this machine's engine alone; step {} runs a lab of nodes",
            on.step.number,
            steps_with(|s| s.nodes.is_some())
        );
    };
    if !(range.min..=range.max).contains(&nodes) {
        bail!(
            "step {}'s lab has {} to {} nodes (the app's three replicas, at most two per node, need two)",
            on.step.number,
            range.min,
            range.max
        );
    }
    Ok(())
}

fn needs_public(on: &On<'_>) -> anyhow::Result<()> {
    if !on.step.public {
        bail!(
            "step {} publishes on 127.0.0.1 only (`--public` is for steps {})",
            on.step.number,
            steps_with(|s| s.public)
        );
    }
    Ok(())
}

fn needs_volume(on: &On<'_>, what: &str) -> anyhow::Result<()> {
    if on.step.volume.is_none() {
        bail!(
            "`{what}` is for the steps whose data lives in a volume (steps {})",
            steps_with(|s| s.volume.is_some())
        );
    }
    Ok(())
}

fn node_op(on: &On<'_>, op: NodeOp, node: &str) -> anyhow::Result<()> {
    docker::require_engine(on.sh)?;
    on.launcher().node(on, op, node)
}

/// Lists (and replays) the dead letters, with the app's own `dead-letters` command.
fn dead_letters(on: &On<'_>, replay: bool) -> anyhow::Result<()> {
    needs_workers(on)?;
    docker::require_engine(on.sh)?;
    images::ensure(on.sh, images::Fetch::default())?.export(on.sh);
    on.exec("app", false, false)?
        .args(["/survey", "dead-letters"])
        .args(replay.then_some("--replay"))
        .run()
        .context("reading the dead letters (is the step up?)")?;
    Ok(())
}

/// More or fewer workers on a running copy; the others keep running.
pub fn scale(on: &On<'_>, workers: u32) -> anyhow::Result<()> {
    needs_workers(on)?;
    docker::require_engine(on.sh)?;
    images::ensure(on.sh, images::Fetch::default())?.export(on.sh);
    on.launcher().scale(on, workers)?;
    let plural = if workers == 1 { "" } else { "s" };
    println!("{workers} worker{plural} running. Watch them share the work at /status.");
    Ok(())
}

/// psql as the survey user, in the database container: nothing is published to the host.
fn psql(on: &On<'_>, sql: Option<&str>) -> anyhow::Result<()> {
    if !on.step.database {
        bail!(
            "step {} keeps its answers in memory: there is no database until step 2",
            on.step.number
        );
    }
    docker::require_engine(on.sh)?;
    let tty = sql.is_none() && std::io::stdin().is_terminal();
    let sql: Vec<&str> = sql.map(|s| vec!["-c", s]).unwrap_or_default();
    let psql = on
        .exec("db", true, tty)?
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

fn backup(on: &On<'_>, file: &str) -> anyhow::Result<()> {
    needs_volume(on, "backup")?;
    docker::require_engine(on.sh)?;
    // The real command, printed with the redirection a learner would type.
    let dump = on.exec("db", false, false)?.args([
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
    let path = on.sh.current_dir().join(file);
    let partial = on.sh.current_dir().join(format!("{file}.partial"));
    std::fs::write(&partial, dump + "\n")
        .and_then(|()| std::fs::rename(&partial, &path))
        .with_context(|| {
            let _ = std::fs::remove_file(&partial);
            format!("writing {file} (the last backup there, if any, is as it was)")
        })?;
    println!(
        "Backed up to {file}. Restore it with `cargo xtask step {} restore --file {file}`.",
        on.step.number
    );
    Ok(())
}

fn restore(on: &On<'_>, file: &str) -> anyhow::Result<()> {
    needs_volume(on, "restore")?;
    docker::require_engine(on.sh)?;
    let dump = on
        .sh
        .read_file(file)
        .with_context(|| format!("reading the backup {file}"))?;
    let (ours, theirs) = (schema_version(on)?, dumped_schema_version(&dump));
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
            on.step.number
        );
    }
    // One transaction: a restore that fails half-way leaves the database as it was.
    let load = on.exec("db", true, false)?.args([
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
fn schema_version(on: &On<'_>) -> anyhow::Result<i64> {
    let query = "SELECT coalesce(max(version), 0) FROM _sqlx_migrations";
    let version = on
        .exec("db", false, false)?
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
