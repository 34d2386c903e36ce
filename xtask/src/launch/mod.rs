//! How a step runs. Each way of launching is a module behind one small interface,
//! [`Launcher`]; `step.rs` does what every step shares (checks, the closing message) and asks
//! the step's launcher for the rest. A launcher's `up` owns the whole of it: whether the copy
//! runs already, building the app image, starting, waiting until it is healthy.
//!
//! - `container.rs`: step 01, one `docker run`.
//! - `by_hand.rs`: step 02, a network and two `docker run`s (`labelled.rs`: what both share).
//! - `compose/`: steps 03 to 05, a Compose file.
//! - `stack/`: step 06, a Swarm stack on this engine; `stack/lab/`: step 07, the same stack on
//!   a lab of engines in containers.

mod by_hand;
mod compose;
mod container;
mod labelled;
mod stack;

pub use compose::configured as compose;
pub use stack::observe_is_private;
pub use stack::swarm;

use std::cell::OnceCell;

use anyhow::bail;
use xshell::Shell;

use crate::{
    catalogue::{Launch, Step},
    images::{Fetch, Images, Profile, Progress},
};

/// One copy of a step, named `project` (its containers, network, Compose project or stack),
/// whether it runs yet or not.
pub struct Instance<'a> {
    pub sh: &'a Shell,
    pub step: Step,
    pub project: String,
    /// The images it runs, found (or made) the first time a command needs them.
    images: OnceCell<Images>,
}

impl<'a> Instance<'a> {
    pub fn new(sh: &'a Shell, step: Step, project: String) -> Self {
        Self {
            sh,
            step,
            project,
            images: OnceCell::new(),
        }
    }

    /// A copy that runs `images`, already found.
    pub fn with_images(sh: &'a Shell, step: Step, project: String, images: Images) -> Self {
        let instance = Self::new(sh, step, project);
        let _ = instance.images.set(images);
        instance
    }

    /// The images this copy runs: official, or their offline stand-ins.
    pub fn images(&self) -> anyhow::Result<&Images> {
        if let Some(images) = self.images.get() {
            return Ok(images);
        }
        let images = crate::images::ensure(self.sh, Fetch::default())?;
        Ok(self.images.get_or_init(|| images))
    }

    /// The launcher of this step.
    pub fn launcher(&self) -> &'static dyn Launcher {
        launcher(self.step.launch)
    }

    /// Builds and starts this copy, or brings a running one up to date (see
    /// [`Launcher::up`]); the app image a rebuild replaced goes, unless something still uses it.
    pub fn up(&self, up: Up) -> anyhow::Result<()> {
        let image = self.step.image(self.sh);
        let old = crate::images::id(self.sh, &image);
        self.launcher().up(self, up)?;
        crate::images::remove_replaced(self.sh, old, &image);
        Ok(())
    }

    /// Stops and removes this copy; its named volumes go only with `volumes`.
    pub fn down(&self, volumes: bool) -> anyhow::Result<()> {
        self.launcher().down(self, volumes)
    }

    /// The (first) container of `service`.
    pub fn container(&self, service: Service) -> anyhow::Result<String> {
        self.launcher().container(self, service)
    }

    /// A command that runs in the container of `service` (append the program and its
    /// arguments), with `input`.
    pub fn exec(&self, service: Service, input: Input) -> anyhow::Result<xshell::Cmd<'_>> {
        self.launcher().exec(self, service, input)
    }

    /// The port on this machine the survey answers on: the one `up` was given, or the one
    /// Docker picked for `--port 0`.
    pub fn port(&self) -> anyhow::Result<u16> {
        let (container, target) = self.launcher().published(self)?;
        crate::docker::published_port(self.sh, &container, target)
    }

    /// Builds the step's app image from its Dockerfile with `profile`, showing progress.
    fn build_app(&self, profile: Profile) -> anyhow::Result<()> {
        crate::images::build_app(
            self.sh,
            &self.step,
            self.images()?,
            profile,
            Progress::Shown,
        )
    }

    /// Whether this copy runs already (`launcher` says): if so, says that `up` brings it up
    /// to date; if not, checks that `port` is free for it (0, any port: Docker picks one).
    fn runs_already(&self, launcher: &dyn Launcher, port: u16) -> anyhow::Result<bool> {
        let running = launcher.running(self)?;
        if running {
            println!(
                "{} is running: bringing it up to date (only what changed is replaced).",
                self.project
            );
        } else if port != ANY_PORT {
            crate::docker::require_free_port(port)?;
        }
        Ok(running)
    }
}

/// A service of the steps, by its name in their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Proxy,
    App,
    Worker,
    Redis,
    Db,
}

impl Service {
    /// Every service, in the order their logs are shown.
    pub const ALL: [Service; 5] = [
        Service::Proxy,
        Service::App,
        Service::Worker,
        Service::Redis,
        Service::Db,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::App => "app",
            Self::Worker => "worker",
            Self::Redis => "redis",
            Self::Db => "db",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a command run in a container reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Nothing: its output is what is wanted.
    Closed,
    /// What it is given (a script, a dump).
    Open,
    /// A terminal: a learner types at it.
    Terminal,
}

impl Input {
    /// `docker exec`'s options for it.
    fn exec_options(self) -> &'static [&'static str] {
        match self {
            Self::Closed => &[],
            Self::Open => &["--interactive"],
            Self::Terminal => &["--interactive", "--tty"],
        }
    }
}

/// The port the app listens on in its container (the tutorial's 5000).
const APP_PORT: u16 = 5000;

/// `--port 0`: any free port on this machine, which Docker picks when it publishes; `up` then
/// says which it got. Asked again of a running copy, it keeps the one it has, unless the
/// container that publishes it is replaced or starts again: Docker picks anew each time.
pub const ANY_PORT: u16 = 0;

/// What `up` was asked for.
#[derive(Debug, Clone, Copy)]
pub struct Up {
    /// The port on this machine the survey is published on ([`ANY_PORT`]: Docker picks).
    pub port: u16,
    /// How many workers, where the step has a pool (`None`: its default).
    pub workers: Option<u32>,
    /// How many nodes, where the step runs a lab of them (`None`: its default).
    pub nodes: Option<u32>,
    /// The Cargo profile the app image is built with.
    pub profile: Profile,
    /// Publish on every interface, not 127.0.0.1 alone (where the step offers it).
    pub public: bool,
    /// Add the swarm view to the stack (where the step offers it).
    pub observe: bool,
}

/// One way of running a step: `docker run`, hand-wired containers, Compose, a Swarm stack.
pub trait Launcher: Sync {
    /// Builds the step's app image (`step N build`).
    fn build(&self, copy: &Instance<'_>, profile: Profile) -> anyhow::Result<()> {
        copy.build_app(profile)
    }

    /// The container that publishes the survey on this machine, and its port inside it
    /// (see [`Instance::port`]).
    fn published(&self, copy: &Instance<'_>) -> anyhow::Result<(String, u16)> {
        Ok((self.container(copy, Service::App)?, APP_PORT))
    }

    /// `DOCKER_HOST` for the engine that manages this copy's swarm, when that is not this
    /// machine's (a lab's manager); `None` for a step on this engine alone.
    fn swarm_engine(&self, copy: &Instance<'_>) -> Option<String> {
        let _ = copy;
        None
    }

    /// Whether this copy exists (`up` then replaces only what changed).
    fn running(&self, copy: &Instance<'_>) -> anyhow::Result<bool>;

    /// Builds what the step runs and starts it, or brings a running copy up to date (only
    /// what changed is replaced), and waits until it is healthy.
    fn up(&self, copy: &Instance<'_>, up: Up) -> anyhow::Result<()>;

    /// Stops and removes it; named volumes go only with `volumes`.
    fn down(&self, copy: &Instance<'_>, volumes: bool) -> anyhow::Result<()>;

    /// Lists what runs.
    fn ps(&self, copy: &Instance<'_>) -> anyhow::Result<()>;

    /// Shows the logs.
    fn logs(&self, copy: &Instance<'_>, follow: bool) -> anyhow::Result<()>;

    /// The (first) container of `service`.
    fn container(&self, copy: &Instance<'_>, service: Service) -> anyhow::Result<String>;

    /// A command that runs in `service`'s container (see [`Instance::exec`]).
    fn exec<'a>(
        &self,
        copy: &'a Instance<'_>,
        service: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>>;

    /// Sets the number of workers of a running copy (steps whose catalogue entry has
    /// workers).
    fn scale(&self, copy: &Instance<'_>, workers: u32) -> anyhow::Result<()> {
        let _ = workers;
        bail!("step {} cannot be scaled", copy.step.number)
    }

    /// Rolls out a new version of the app (`broken`: one that never gets healthy, to watch
    /// it rolled back), on steps whose catalogue entry has rolling updates.
    fn update(&self, copy: &Instance<'_>, broken: bool) -> anyhow::Result<()> {
        let _ = broken;
        bail!("step {} has no rolling updates", copy.step.number)
    }

    /// Drains, activates or kills a node, on steps whose catalogue entry has nodes.
    fn node(&self, copy: &Instance<'_>, op: NodeOp, name: &str) -> anyhow::Result<()> {
        let _ = (op, name);
        bail!("step {} runs on one node", copy.step.number)
    }

    /// A script of the commands that are this step's lesson, for a learner to read, type or
    /// run instead of `up`, as (path, text): `cargo xtask codegen` renders it.
    fn lesson_script(&self, copy: &Instance<'_>) -> anyhow::Result<Option<(String, String)>> {
        let _ = copy;
        Ok(None)
    }

    /// The commands that are this step's lesson when it has no file of its own to show
    /// (`step N diff` prints them).
    fn lesson_commands(&self, copy: &Instance<'_>) -> Vec<String> {
        let _ = copy;
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

/// The module that knows how to launch as `launch` says.
pub fn launcher(launch: Launch) -> &'static dyn Launcher {
    match launch {
        Launch::Container => &container::Container,
        Launch::ByHand => &by_hand::ByHand,
        Launch::Compose => &compose::Compose,
        Launch::Stack => &stack::Stack,
        Launch::Lab => &stack::lab::Lab,
    }
}
