//! The tutorial's steps, as the runner knows them.

use anyhow::{Context, bail};

/// How a step is launched (`launch/` has a launcher for each).
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
    /// Whether `update` rolls out a new version of the app (`update --broken`: one Swarm
    /// rolls back).
    pub updates: bool,
    /// Whether `up --public` can publish the survey on every interface (the others publish
    /// on 127.0.0.1 alone).
    pub public: bool,
    /// Whether `up --observe` adds the swarm view (`compose/swarm-view.yaml`) to the stack.
    pub observe: bool,
    /// Arguments of the step's program that time part of its own work and print the figure
    /// as one line of JSON; `cargo xtask bench` runs each in the step's image.
    pub timings: &'static [&'static [&'static str]],
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
        updates: false,
        public: false,
        observe: false,
        timings: &[],
    },
    Step {
        number: 2,
        dir: "02-network",
        launch: Launch::ByHand,
        database: true,
        workers: false,
        volume: None,
        nodes: None,
        updates: false,
        public: false,
        observe: false,
        timings: &[],
    },
    Step {
        number: 3,
        dir: "03-compose",
        launch: Launch::Compose,
        database: true,
        workers: false,
        volume: None,
        nodes: None,
        updates: false,
        public: false,
        observe: false,
        timings: &[],
    },
    Step {
        number: 4,
        dir: "04-volumes",
        launch: Launch::Compose,
        database: true,
        workers: false,
        volume: Some("donut-data"),
        nodes: None,
        updates: false,
        public: false,
        observe: false,
        timings: &[],
    },
    Step {
        number: 5,
        dir: "05-queue",
        launch: Launch::Compose,
        database: true,
        workers: true,
        volume: Some("donut-data"),
        nodes: None,
        updates: false,
        public: false,
        observe: false,
        timings: &[],
    },
    Step {
        number: 6,
        dir: "06-swarm",
        launch: Launch::Stack,
        database: true,
        workers: true,
        volume: Some("donut-data"),
        nodes: None,
        updates: true,
        public: true,
        observe: true,
        timings: &[&["view-timing", "--nodes", "9", "--tasks", "100"]],
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
        updates: true,
        public: true,
        observe: true,
        timings: &[],
    },
];

/// The steps that `has`, for a text that names them: `step 4`, `steps 6 and 7`, `steps 5 to 7`.
pub fn named_where(has: impl Fn(&Step) -> bool) -> String {
    let numbers: Vec<u8> = STEPS.iter().filter(|s| has(s)).map(|s| s.number).collect();
    let listed = |numbers: &[u8]| {
        numbers
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match numbers[..] {
        [] => "no step".to_owned(),
        [one] => format!("step {one}"),
        [first, second] => format!("steps {first} and {second}"),
        [first, .., last] if usize::from(last - first) + 1 == numbers.len() => {
            format!("steps {first} to {last}")
        }
        [.., last] => format!("steps {} and {last}", listed(&numbers[..numbers.len() - 1])),
    }
}

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

#[cfg(test)]
mod tests {
    use super::named_where;

    #[test]
    fn steps_are_named_as_a_sentence_would() {
        assert_eq!(named_where(|s| s.workers), "steps 5 to 7");
        assert_eq!(named_where(|s| s.public), "steps 6 and 7");
        assert_eq!(named_where(|s| s.nodes.is_some()), "step 7");
        assert_eq!(named_where(|s| s.number % 2 == 1), "steps 1, 3, 5 and 7");
        assert_eq!(named_where(|_| false), "no step");
    }
}
