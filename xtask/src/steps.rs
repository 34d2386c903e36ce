//! The tutorial's steps, as the runner knows them.

use anyhow::{Context, bail};

pub use crate::launch::Launch;

/// One step of the tutorial.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub number: u8,
    /// Directory under `steps/`, e.g. `03-compose`; the package is `step-` + this.
    pub dir: &'static str,
    pub launch: Launch,
    /// A Postgres database (`psql`); step 01 keeps its answers in memory.
    pub database: bool,
    /// A pool of workers that `up --workers N` and `scale N` size (Compose service `worker`).
    pub workers: bool,
    /// The named volume that keeps the data across `down` and `up`, if any.
    pub volume: Option<&'static str>,
    /// A lab of nodes that `up --nodes N` sizes, if the step runs one.
    pub nodes: Option<Nodes>,
    /// Whether `up --public` can publish the survey on every interface (the others publish
    /// on 127.0.0.1 alone).
    pub public: bool,
}

/// How many nodes a lab may have, and has unless told.
#[derive(Debug, Clone, Copy)]
pub struct Nodes {
    pub min: u32,
    pub default: u32,
    pub max: u32,
}

/// Every step that exists so far.
pub const STEPS: &[Step] = &[
    Step {
        number: 1,
        dir: "01-container",
        launch: Launch::Container,
        database: false,
        workers: false,
        volume: None,
        nodes: None,
        public: false,
    },
    Step {
        number: 2,
        dir: "02-network",
        launch: Launch::ByHand,
        database: true,
        workers: false,
        volume: None,
        nodes: None,
        public: false,
    },
    Step {
        number: 3,
        dir: "03-compose",
        launch: Launch::Compose,
        database: true,
        workers: false,
        volume: None,
        nodes: None,
        public: false,
    },
    Step {
        number: 4,
        dir: "04-volumes",
        launch: Launch::Compose,
        database: true,
        workers: false,
        volume: Some("donut-data"),
        nodes: None,
        public: false,
    },
    Step {
        number: 5,
        dir: "05-queue",
        launch: Launch::Compose,
        database: true,
        workers: true,
        volume: Some("donut-data"),
        nodes: None,
        public: false,
    },
    Step {
        number: 6,
        dir: "06-swarm",
        launch: Launch::Stack,
        database: true,
        workers: true,
        volume: Some("donut-data"),
        nodes: None,
        public: true,
    },
    Step {
        number: 7,
        dir: "07-multinode",
        launch: Launch::Lab,
        database: true,
        workers: true,
        volume: Some("donut-data"),
        nodes: Some(Nodes {
            // The app's three replicas, at most two per node, need two nodes.
            min: 2,
            default: 3,
            max: 9,
        }),
        public: true,
    },
];

impl Step {
    /// Finds step `number`, or says which steps there are.
    pub fn find(number: u8) -> anyhow::Result<Step> {
        match STEPS.iter().find(|s| s.number == number) {
            Some(step) => Ok(*step),
            None => bail!(
                "there is no step {number}; the steps are {}",
                STEPS
                    .iter()
                    .map(|s| s.number.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The name a learner's copy of the step gets (its Compose project, network, prefix).
    pub fn default_project(&self) -> String {
        format!("survey-{:02}", self.number)
    }

    /// The Cargo package (and binary) name.
    pub fn package(&self) -> String {
        format!("step-{}", self.dir)
    }

    /// Path of its Dockerfile, from the workspace root.
    pub fn dockerfile(&self) -> String {
        format!("steps/{}/Dockerfile", self.dir)
    }

    /// Path of its Compose (or stack) file, from the workspace root.
    pub fn compose_file(&self) -> String {
        format!("compose/{}.yaml", self.dir)
    }

    /// The app image's name: `survey/PACKAGE`, with the tag SURVEY_TAG if it is set (a
    /// second checkout running the same step beside this one keeps its own image so).
    pub fn image(&self, sh: &xshell::Shell) -> String {
        let repository = format!("survey/{}", self.package());
        match sh.var("SURVEY_TAG") {
            Ok(tag) if !tag.is_empty() => format!("{repository}:{tag}"),
            _ => repository,
        }
    }

    /// Its Cargo.toml, parsed.
    pub fn manifest(&self, sh: &xshell::Shell) -> anyhow::Result<toml::Table> {
        let path = format!("steps/{}/Cargo.toml", self.dir);
        sh.read_file(&path)
            .with_context(|| format!("reading {path}"))?
            .parse()
            .with_context(|| format!("parsing {path}"))
    }

    /// The `description` of its Cargo package.
    pub fn description(&self, sh: &xshell::Shell) -> anyhow::Result<String> {
        let path = format!("steps/{}/Cargo.toml", self.dir);
        self.manifest(sh)?
            .get("package")
            .and_then(|p| p.get("description"))
            .and_then(|d| d.as_str())
            .map(str::to_owned)
            .with_context(|| format!("{path} has no package.description"))
    }
}
