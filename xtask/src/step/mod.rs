//! `cargo xtask step N <action>`: build, launch, inspect, test and stop one step. Every docker
//! command is printed before it runs, so a learner sees what the runner does for them.

mod database;
mod help;

use anyhow::{Context, bail};
use xshell::Shell;

use crate::{
    catalogue::{STEPS, Step, named_where},
    docker, images,
    launch::{Input, Instance, NodeOp, Service, Up},
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
        /// Port on 127.0.0.1 to publish the survey on (0: any free one, which Docker picks
        /// and `up` names; a new one whenever the container that publishes it starts again).
        #[arg(long, default_value_t = 2154)]
        port: u16,
        #[arg(long, help = help::workers())]
        workers: Option<u32>,
        #[arg(long, help = help::nodes())]
        nodes: Option<u32>,
        /// Build the app as it ships (thin LTO, one codegen unit): slower to build, smaller
        /// and faster. Without it, the quick profile: an edit is running again in seconds.
        #[arg(long)]
        release: bool,
        #[arg(long, help = help::public())]
        public: bool,
        #[arg(long, help = help::observe())]
        observe: bool,
    },
    #[command(about = help::scale())]
    Scale {
        /// How many workers to run.
        workers: u32,
    },
    #[command(about = help::update())]
    Update {
        /// Roll out a version that never gets healthy, and watch Swarm roll it back.
        #[arg(long)]
        broken: bool,
    },
    #[command(about = help::lab("Drain a node", ": its tasks move to the others, and it takes no new ones"))]
    Drain {
        /// node2, say.
        node: String,
        /// Drain it even if it holds the data or the published port (the survey then stops
        /// answering until it is active again).
        #[arg(long)]
        force: bool,
    },
    #[command(about = help::lab("Let a drained node", " take tasks again"))]
    Activate {
        /// node2, say.
        node: String,
    },
    #[command(about = help::lab("Kill a node", " (its container): Swarm starts its tasks elsewhere"))]
    KillNode {
        /// node2 or node3 (node1 is the manager).
        node: String,
    },
    #[command(about = help::dead_letters())]
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
    #[command(about = help::volume("Dump the database to a file", ": `backup --file survey.sql`"))]
    Backup {
        #[arg(long, default_value = "survey-backup.sql")]
        file: String,
    },
    #[command(about = help::volume("Load a dump made by `backup` into the running database", ""))]
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
        let copy = Instance::new(sh, step, project);
        match self.action {
            Action::Up {
                port,
                workers,
                nodes,
                release,
                public,
                observe,
            } => up(
                &copy,
                Up {
                    port,
                    workers,
                    nodes,
                    profile: images::Profile::of(release),
                    public,
                    observe,
                },
            ),
            Action::Scale { workers } => scale(&copy, workers),
            Action::Update { broken } => update(&copy, broken),
            Action::Drain { node, force } => node_op(&copy, NodeOp::Drain { force }, &node),
            Action::Activate { node } => node_op(&copy, NodeOp::Activate, &node),
            Action::KillNode { node } => node_op(&copy, NodeOp::Kill, &node),
            Action::DeadLetters { replay } => dead_letters(&copy, replay),
            Action::Down { volumes } => down(&copy, volumes),
            Action::Build { release } => {
                docker::require_engine(sh)?;
                copy.launcher().build(&copy, images::Profile::of(release))
            }
            Action::Ps => {
                docker::require_engine(sh)?;
                copy.launcher().ps(&copy)
            }
            Action::Logs { follow } => {
                docker::require_engine(sh)?;
                copy.launcher().logs(&copy, follow)
            }
            Action::Psql { sql } => database::psql(&copy, sql.as_deref()),
            Action::Backup { file } => database::backup(&copy, &file),
            Action::Restore { file } => database::restore(&copy, &file),
            Action::Test => crate::test::run_step_tests(sh, step),
            Action::Diff => crate::diff::show(sh, step),
        }
    }
}

/// Builds and starts a step, or brings a running one up to date (only what changed is
/// replaced), then says where it is and what to try next.
fn up(copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
    if up.workers.is_some() {
        needs_workers(copy)?;
    }
    if let Some(nodes) = up.nodes {
        needs_nodes(copy, nodes)?;
    }
    if up.public {
        needs_public(copy)?;
    }
    if up.observe {
        needs_observe(copy)?;
        if up.public {
            bail!("{}", crate::launch::observe_is_private());
        }
    }
    docker::require_engine(copy.sh)?;
    copy.up(up)?;
    let n = copy.step.number;
    let port = copy.port()?;
    println!("\nStep {n} is up: http://127.0.0.1:{port}");
    if up.observe {
        println!("The swarm, live: http://127.0.0.1:{port}/swarm");
        println!("What every task counts, in Prometheus: http://127.0.0.1:{port}/prometheus/");
    }
    println!(
        "Next: fill in the form, then try `cargo xtask step {n} ps`, `cargo xtask step {n} logs`,"
    );
    if copy.step.database {
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
    Ok(())
}

fn down(copy: &Instance<'_>, volumes: bool) -> anyhow::Result<()> {
    docker::require_engine(copy.sh)?;
    copy.down(volumes)
}

/// The verb for the steps `has` picks: `one` ("has") for a single step, else `many`.
fn agreeing(has: impl Fn(&Step) -> bool, one: &'static str, many: &'static str) -> &'static str {
    if STEPS.iter().filter(|s| has(s)).count() == 1 {
        one
    } else {
        many
    }
}

fn needs_workers(copy: &Instance<'_>) -> anyhow::Result<()> {
    if !copy.step.workers {
        bail!(
            "step {} has no workers; {} {}",
            copy.step.number,
            named_where(|s| s.workers),
            agreeing(|s| s.workers, "has", "have")
        );
    }
    Ok(())
}

fn needs_nodes(copy: &Instance<'_>, nodes: u32) -> anyhow::Result<()> {
    let range = has_nodes(copy)?;
    if !(range.min..=range.max).contains(&nodes) {
        bail!(
            "step {}'s lab has {} to {} nodes (the app's three replicas, at most two per node, need two)",
            copy.step.number,
            range.min,
            range.max
        );
    }
    Ok(())
}

/// The lab's sizes, for a step that runs one.
fn has_nodes(copy: &Instance<'_>) -> anyhow::Result<crate::catalogue::Nodes> {
    copy.step.nodes.with_context(|| {
        format!(
            "step {} runs on this machine's engine alone; {} {} a lab of nodes",
            copy.step.number,
            named_where(|s| s.nodes.is_some()),
            agreeing(|s| s.nodes.is_some(), "runs", "run")
        )
    })
}

fn needs_updates(copy: &Instance<'_>) -> anyhow::Result<()> {
    if !copy.step.updates {
        bail!(
            "step {} has no rolling updates; {} {}",
            copy.step.number,
            named_where(|s| s.updates),
            agreeing(|s| s.updates, "has", "have")
        );
    }
    Ok(())
}

fn needs_public(copy: &Instance<'_>) -> anyhow::Result<()> {
    if !copy.step.public {
        bail!(
            "step {} publishes on 127.0.0.1 only (`--public` is for {})",
            copy.step.number,
            named_where(|s| s.public)
        );
    }
    Ok(())
}

fn needs_observe(copy: &Instance<'_>) -> anyhow::Result<()> {
    if !copy.step.observe {
        bail!(
            "step {} runs no swarm to observe (`--observe` is for {})",
            copy.step.number,
            named_where(|s| s.observe)
        );
    }
    Ok(())
}

fn needs_volume(copy: &Instance<'_>, what: &str) -> anyhow::Result<()> {
    if copy.step.volume.is_none() {
        bail!(
            "`{what}` is for the steps whose data lives in a volume ({})",
            named_where(|s| s.volume.is_some())
        );
    }
    Ok(())
}

fn node_op(copy: &Instance<'_>, op: NodeOp, node: &str) -> anyhow::Result<()> {
    has_nodes(copy)?;
    docker::require_engine(copy.sh)?;
    copy.launcher().node(copy, op, node)
}

/// Rolls out a new version of the app, watching Swarm replace its tasks.
fn update(copy: &Instance<'_>, broken: bool) -> anyhow::Result<()> {
    needs_updates(copy)?;
    docker::require_engine(copy.sh)?;
    copy.launcher().update(copy, broken)
}

/// Lists (and replays) the dead letters, with the app's own `dead-letters` command.
fn dead_letters(copy: &Instance<'_>, replay: bool) -> anyhow::Result<()> {
    needs_workers(copy)?;
    docker::require_engine(copy.sh)?;
    copy.exec(Service::App, Input::Closed)?
        .args(["/survey", "dead-letters"])
        .args(replay.then_some("--replay"))
        .run()
        .context("reading the dead letters (is the step up?)")?;
    Ok(())
}

/// More or fewer workers on a running copy; the others keep running.
fn scale(copy: &Instance<'_>, workers: u32) -> anyhow::Result<()> {
    needs_workers(copy)?;
    docker::require_engine(copy.sh)?;
    copy.launcher().scale(copy, workers)?;
    let plural = if workers == 1 { "" } else { "s" };
    println!("{workers} worker{plural} running. Watch them share the work at /status.");
    Ok(())
}
