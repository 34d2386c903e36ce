//! How a step runs. Each way of launching is a module behind one small interface,
//! [`Launcher`]; `step.rs` does what every step shares (checks, images, the closing message)
//! and asks the step's launcher for the rest.

mod by_hand;
mod compose;
mod container;
mod lab;
mod lab_network;
mod labelled;
mod stack;
mod swarm;

pub use compose::command as compose;

use anyhow::bail;
use xshell::Shell;

use crate::{
    images::{Images, Profile, Progress},
    steps::Step,
};

/// One copy of a step, named `project` (its containers, network, Compose project or stack).
pub struct On<'a> {
    pub sh: &'a Shell,
    pub step: Step,
    pub project: String,
}

impl On<'_> {
    /// The launcher of this step.
    pub fn launcher(&self) -> &'static dyn Launcher {
        self.step.launch.launcher()
    }

    /// The (first) container of `service`.
    pub fn container(&self, service: &str) -> anyhow::Result<String> {
        self.launcher().container(self, service)
    }

    /// A command that runs in the container of `service` (append the program and its
    /// arguments); `stdin` keeps standard input open, `tty` gives it a terminal.
    pub fn exec(&self, service: &str, stdin: bool, tty: bool) -> anyhow::Result<xshell::Cmd<'_>> {
        self.launcher().exec(self, service, stdin, tty)
    }
}

/// What `up` was asked for.
#[derive(Debug, Clone, Copy)]
pub struct Up {
    /// The port on this machine the survey is published on.
    pub port: u16,
    /// How many workers, where the step has a pool (`None`: its default).
    pub workers: Option<u32>,
    /// How many nodes, where the step runs a lab of them (`None`: its default).
    pub nodes: Option<u32>,
    /// The Cargo profile the app image is built with.
    pub profile: crate::images::Profile,
    /// Publish on every interface, not 127.0.0.1 alone (where the step offers it).
    pub public: bool,
    /// Whether this copy already runs: `up` then brings it up to date.
    pub running: bool,
}

/// One way of running a step: `docker run`, hand-wired containers, Compose, a Swarm stack.
pub trait Launcher: Sync {
    /// Builds the step's app image (the base images are in `images`).
    fn build(&self, on: &On<'_>, images: &Images, profile: Profile) -> anyhow::Result<()> {
        crate::images::build_app(on.sh, &on.step, images, profile, Progress::Shown)
    }

    /// Whether `up` builds the app image itself (Compose does, from the file's `build:`);
    /// otherwise the runner builds it first.
    fn builds_in_up(&self) -> bool {
        false
    }

    /// Whether this copy exists (`up` then replaces only what changed).
    fn running(&self, on: &On<'_>) -> anyhow::Result<bool>;

    /// Starts the step, its images built, and waits until it is healthy; if it runs
    /// (`up.running`), replaces only what changed.
    fn up(&self, on: &On<'_>, up: Up, images: &Images) -> anyhow::Result<()>;

    /// Stops and removes it; named volumes go only with `volumes`.
    fn down(&self, on: &On<'_>, volumes: bool) -> anyhow::Result<()>;

    /// Lists what runs.
    fn ps(&self, on: &On<'_>) -> anyhow::Result<()>;

    /// Shows the logs.
    fn logs(&self, on: &On<'_>, follow: bool) -> anyhow::Result<()>;

    /// The (first) container of `service`.
    fn container(&self, on: &On<'_>, service: &str) -> anyhow::Result<String>;

    /// A command that runs in `service`'s container (see [`On::exec`]).
    fn exec<'a>(
        &self,
        on: &'a On<'_>,
        service: &str,
        stdin: bool,
        tty: bool,
    ) -> anyhow::Result<xshell::Cmd<'a>>;

    /// Sets the number of workers of a running copy.
    fn scale(&self, on: &On<'_>, workers: u32) -> anyhow::Result<()> {
        let _ = workers;
        bail!("step {} cannot be scaled", on.step.number)
    }

    /// Rolls out a new version of the app (`broken`: one that never gets healthy, to watch
    /// it rolled back).
    fn update(&self, on: &On<'_>, broken: bool) -> anyhow::Result<()> {
        let _ = broken;
        bail!("step {} has no rolling updates; step 6 has", on.step.number)
    }

    /// Drains, activates or kills a node of a multi-node swarm.
    fn node(&self, on: &On<'_>, op: NodeOp, name: &str) -> anyhow::Result<()> {
        let _ = (op, name);
        bail!(
            "step {} runs on one node; step 7 has several",
            on.step.number
        )
    }

    /// The commands that are this step's lesson when it has no file of its own to show
    /// (`step N diff` prints them).
    fn lesson_commands(&self, on: &On<'_>) -> Vec<String> {
        let _ = on;
        Vec::new()
    }
}

/// What can be done to a node of a lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOp {
    /// No new tasks, and its tasks move to the other nodes; `force`: even the node that
    /// holds the data or the published port.
    Drain { force: bool },
    /// Takes tasks again.
    Activate,
    /// Its container is killed: the node is lost.
    Kill,
}

/// How a step is launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// One container, `docker run` (step 01).
    Container,
    /// App and database wired by hand: a network and two `docker run`s (step 02).
    ByHand,
    /// A Compose file under `compose/` (steps 03 to 05).
    Compose,
    /// A Swarm stack, `docker stack deploy` of a file under `compose/` (step 06).
    Stack,
    /// A lab of Docker-in-Docker nodes in one swarm, then a stack on it (step 07).
    Lab,
}

impl Launch {
    /// The module that knows how.
    pub fn launcher(self) -> &'static dyn Launcher {
        match self {
            Self::Container => &container::Container,
            Self::ByHand => &by_hand::ByHand,
            Self::Compose => &compose::Compose,
            Self::Stack => &stack::Stack,
            Self::Lab => &lab::Lab,
        }
    }
}
