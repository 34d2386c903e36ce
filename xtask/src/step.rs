//! `cargo xtask step N <action>`: build, launch, inspect, test and stop one step. Every docker
//! command is printed before it runs, so a learner sees what the runner does for them.

use std::{io::IsTerminal, time::Duration};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{
    docker, images,
    steps::{Launch, Step},
};

/// The database every step uses, as its Compose files and hand-written commands set it up.
const DB_ENV: [&str; 3] = [
    "POSTGRES_USER=survey",
    "POSTGRES_PASSWORD=survey",
    "POSTGRES_DB=survey",
];
const APP_DATABASE_URL: &str = "DATABASE_URL=postgres://survey:survey@db:5432/survey";

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
        /// How many workers to start (step 5).
        #[arg(long)]
        workers: Option<u32>,
    },
    /// Change the number of workers of a running step 5: `scale 5`.
    Scale {
        /// How many workers to run.
        workers: u32,
    },
    /// List the dead letters of a running step 5: entries the workers could not store.
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
    Build,
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
            Action::Up { port, workers } => on.up(port, workers),
            Action::Scale { workers } => on.scale(workers),
            Action::DeadLetters { replay } => on.dead_letters(replay),
            Action::Down { volumes } => on.down(volumes),
            Action::Build => on.build().map(|_| ()),
            Action::Ps => on.ps(),
            Action::Logs { follow } => on.logs(follow),
            Action::Psql { sql } => on.psql(sql.as_deref()),
            Action::Backup { file } => on.backup(&file),
            Action::Restore { file } => on.restore(&file),
            Action::Test => crate::test::run_step_tests(sh, step),
            Action::Diff => crate::diff::show(sh, step),
        }
    }
}

/// One copy of a step, named `project`.
pub struct On<'a> {
    pub sh: &'a Shell,
    pub step: Step,
    pub project: String,
}

impl On<'_> {
    /// The (first) container of `service`: Compose numbers its containers, steps 01-02 don't.
    pub fn container(&self, service: &str) -> String {
        match self.step.launch {
            Launch::Compose => format!("{}-{service}-1", self.project),
            Launch::Container | Launch::ByHand => format!("{}-{service}", self.project),
        }
    }

    pub fn compose(&self) -> xshell::Cmd<'_> {
        let (file, project) = (self.step.compose_file(), &self.project);
        cmd!(self.sh, "docker compose -f {file} -p {project}")
    }

    fn needs_compose(&self, what: &str) -> anyhow::Result<()> {
        if self.step.launch != Launch::Compose {
            bail!(
                "`{what}` is for the steps run by Compose (3 and later), where the data lives in a volume"
            );
        }
        Ok(())
    }

    /// Makes sure the images exist and builds the app's; returns the images in use.
    fn build(&self) -> anyhow::Result<images::Images> {
        docker::require_engine(self.sh)?;
        let images = images::ensure(self.sh, false)?;
        images.export(self.sh);
        eprintln!(
            "building the app image (the first build compiles every dependency: several minutes)"
        );
        match self.step.launch {
            Launch::Compose => {
                docker::require_compose_v2(self.sh)?;
                self.compose()
                    .args(["build", "app"])
                    .run()
                    .context("building the app image")?;
            }
            Launch::Container | Launch::ByHand => {
                let (file, image, builder) =
                    (self.step.dockerfile(), self.step.image(), &images.builder);
                cmd!(
                    self.sh,
                    "docker build --build-arg BUILDER_IMAGE={builder} -f {file} -t {image} ."
                )
                .run()
                .context("building the app image")?;
            }
        }
        Ok(images)
    }

    pub fn up(&self, port: u16, workers: Option<u32>) -> anyhow::Result<()> {
        if workers.is_some() {
            self.needs_workers()?;
        }
        docker::require_engine(self.sh)?;
        docker::require_free_port(port)?;
        let images = self.build()?;
        let port_text = port.to_string();
        let publish = format!("127.0.0.1:{port}:5000");
        let image = self.step.image();
        match self.step.launch {
            Launch::Container => {
                let app = self.container("app");
                let label = format!("survey.project={}", self.project);
                cmd!(
                    self.sh,
                    "docker run --detach --name {app} --label {label} --publish {publish} {image}"
                )
                .ignore_stdout()
                .run()
                .context("starting the app container")?;
                docker::wait_healthy(self.sh, &[app], Duration::from_secs(120))?;
            }
            Launch::ByHand => {
                for (command, what) in self.wiring(&publish, &images.postgres) {
                    command.ignore_stdout().run().context(what)?;
                }
                let (db, app) = (self.container("db"), self.container("app"));
                docker::wait_healthy(self.sh, &[db, app], Duration::from_secs(120))?;
            }
            Launch::Compose => {
                let _port = self.sh.push_env("SURVEY_PORT", &port_text);
                let scale = workers.map(|n| format!("worker={n}"));
                let scale: Vec<&str> = scale.iter().flat_map(|s| ["--scale", s.as_str()]).collect();
                self.compose()
                    .args(["up", "--detach", "--wait"])
                    .args(scale)
                    .run()
                    .context("starting the stack (see `cargo xtask step N logs`)")?;
            }
        }
        let n = self.step.number;
        println!("\nStep {n} is up: http://127.0.0.1:{port}");
        println!(
            "Next: fill in the form, then try `cargo xtask step {n} ps`, `cargo xtask step {n} logs`,"
        );
        if self.step.launch == Launch::Container {
            println!(
                "and `cargo xtask step {n} down` when you are done (the answers go with the container)."
            );
        } else {
            println!(
                "`cargo xtask step {n} psql -c 'select * from cats'`, and `cargo xtask step {n} down` when you are done."
            );
        }
        Ok(())
    }

    /// Step 02's lesson: the commands that wire app and database by hand, each with what it
    /// does. The app goes first on purpose: it waits for its database by retrying.
    pub fn wiring(&self, publish: &str, postgres: &str) -> [(xshell::Cmd<'_>, &'static str); 3] {
        let (network, db, app) = (
            self.project.clone(),
            self.container("db"),
            self.container("app"),
        );
        let label = format!("survey.project={}", self.project);
        let image = self.step.image();
        let env = DB_ENV.iter().flat_map(|e| ["--env", e]);
        [
            (
                cmd!(self.sh, "docker network create --label {label} {network}"),
                "creating the network",
            ),
            (
                cmd!(
                    self.sh,
                    "docker run --detach --name {app} --label {label} --network {network} --env {APP_DATABASE_URL} --publish {publish} {image}"
                ),
                "starting the app container",
            ),
            (
                cmd!(
                    self.sh,
                    "docker run --detach --name {db} --label {label} --network {network} --network-alias db {env...} --health-cmd 'pg_isready -h 127.0.0.1 -U survey -d survey' --health-interval 2s {postgres}"
                ),
                "starting the database container",
            ),
        ]
    }

    fn needs_workers(&self) -> anyhow::Result<()> {
        if !self.step.workers {
            let with: Vec<String> = crate::steps::STEPS
                .iter()
                .filter(|s| s.workers)
                .map(|s| s.number.to_string())
                .collect();
            bail!(
                "step {} has no workers; step {} has",
                self.step.number,
                with.join(", ")
            );
        }
        Ok(())
    }

    /// Lists (and replays) the dead letters, with the app's own `dead-letters` command.
    pub fn dead_letters(&self, replay: bool) -> anyhow::Result<()> {
        self.needs_workers()?;
        docker::require_engine(self.sh)?;
        images::ensure(self.sh, false)?.export(self.sh);
        self.compose()
            .args(["exec", "app", "/survey", "dead-letters"])
            .args(replay.then_some("--replay"))
            .run()
            .context("reading the dead letters (is the step up?)")?;
        Ok(())
    }

    /// More or fewer workers on a running stack; the others keep running.
    pub fn scale(&self, workers: u32) -> anyhow::Result<()> {
        self.needs_workers()?;
        docker::require_engine(self.sh)?;
        let images = images::ensure(self.sh, false)?;
        images.export(self.sh);
        let scale = format!("worker={workers}");
        self.compose()
            .args([
                "up",
                "--detach",
                "--wait",
                "--no-recreate",
                "--scale",
                &scale,
            ])
            .run()
            .context("scaling the workers (is the step up?)")?;
        let plural = if workers == 1 { "" } else { "s" };
        println!("{workers} worker{plural} running. Watch them share the work at /status.");
        Ok(())
    }

    pub fn down(&self, volumes: bool) -> anyhow::Result<()> {
        docker::require_engine(self.sh)?;
        let label = format!("label=survey.project={}", self.project);
        match self.step.launch {
            Launch::Container | Launch::ByHand => {
                let ids = cmd!(self.sh, "docker ps --all --quiet --filter {label}")
                    .quiet()
                    .read()?;
                let ids: Vec<&str> = ids.split_whitespace().collect();
                if !ids.is_empty() {
                    // -v: the database image's anonymous volume goes too; step 02 keeps nothing.
                    cmd!(self.sh, "docker rm --force --volumes {ids...}")
                        .ignore_stdout()
                        .run()?;
                }
                let networks = cmd!(self.sh, "docker network ls --quiet --filter {label}")
                    .quiet()
                    .read()?;
                let networks: Vec<&str> = networks.split_whitespace().collect();
                if !networks.is_empty() {
                    cmd!(self.sh, "docker network rm {networks...}")
                        .ignore_stdout()
                        .run()?;
                }
            }
            Launch::Compose => {
                docker::require_compose_v2(self.sh)?;
                if !volumes {
                    // Postgres's image declares a VOLUME, so each db container also gets an
                    // anonymous volume. Plain `down` would leave those behind, one per run;
                    // `rm --volumes` removes them with the containers but keeps named volumes.
                    self.compose()
                        .args(["rm", "--stop", "--force", "--volumes"])
                        .run()
                        .context("removing the containers")?;
                }
                let mut down = self.compose().args(["down", "--remove-orphans"]);
                if volumes {
                    down = down.arg("--volumes");
                }
                down.run().context("stopping the stack")?;
                if let Some(volume) = self.step.volume.filter(|_| !volumes) {
                    println!(
                        "The volume {}_{volume} is kept: `up` brings the answers back. `down --volumes` deletes it.",
                        self.project
                    );
                }
            }
        }
        Ok(())
    }

    fn ps(&self) -> anyhow::Result<()> {
        docker::require_engine(self.sh)?;
        match self.step.launch {
            Launch::Compose => self.compose().arg("ps").run()?,
            Launch::Container | Launch::ByHand => {
                let label = format!("label=survey.project={}", self.project);
                let format = "table {{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}";
                cmd!(
                    self.sh,
                    "docker ps --all --filter {label} --format {format}"
                )
                .run()?;
            }
        }
        Ok(())
    }

    fn logs(&self, follow: bool) -> anyhow::Result<()> {
        docker::require_engine(self.sh)?;
        let follow = follow.then_some("--follow");
        match self.step.launch {
            Launch::Compose => self.compose().arg("logs").args(follow).run()?,
            Launch::Container | Launch::ByHand => {
                for service in ["db", "app"] {
                    let name = self.container(service);
                    if crate::docker::succeeds(cmd!(self.sh, "docker inspect {name}")) {
                        cmd!(self.sh, "docker logs {follow...} {name}").run()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// psql as the survey user, in the database container: nothing is published to the host.
    fn psql(&self, sql: Option<&str>) -> anyhow::Result<()> {
        docker::require_engine(self.sh)?;
        let tty = (sql.is_none() && std::io::stdin().is_terminal()).then_some("--tty");
        let sql: Vec<&str> = sql.map(|s| vec!["-c", s]).unwrap_or_default();
        let psql = ["psql", "-U", "survey", "-d", "survey"];
        match self.step.launch {
            Launch::Container => {
                bail!("step 1 keeps its answers in memory: there is no database until step 2")
            }
            Launch::ByHand => {
                let db = self.container("db");
                cmd!(
                    self.sh,
                    "docker exec --interactive {tty...} {db} {psql...} {sql...}"
                )
                .run()?;
            }
            Launch::Compose => {
                let no_tty = tty.is_none().then_some("-T");
                self.compose()
                    .args(["exec", "--interactive"])
                    .args(no_tty)
                    .arg("db")
                    .args(psql)
                    .args(sql)
                    .run()?;
            }
        }
        Ok(())
    }

    fn backup(&self, file: &str) -> anyhow::Result<()> {
        self.needs_compose("backup")?;
        docker::require_engine(self.sh)?;
        eprintln!(
            "$ docker compose ... exec -T db pg_dump -U survey -d survey --clean --if-exists > {file}"
        );
        let dump = self
            .compose()
            .args([
                "exec",
                "-T",
                "db",
                "pg_dump",
                "-U",
                "survey",
                "-d",
                "survey",
                "--clean",
                "--if-exists",
            ])
            .quiet()
            .read()
            .context("dumping the database (is the step up?)")?;
        self.sh
            .write_file(file, dump + "\n")
            .with_context(|| format!("writing {file}"))?;
        println!(
            "Backed up to {file}. Restore it with `cargo xtask step {} restore --file {file}`.",
            self.step.number
        );
        Ok(())
    }

    fn restore(&self, file: &str) -> anyhow::Result<()> {
        self.needs_compose("restore")?;
        docker::require_engine(self.sh)?;
        let dump = self
            .sh
            .read_file(file)
            .with_context(|| format!("reading the backup {file}"))?;
        eprintln!("$ docker compose ... exec -T db psql -U survey -d survey < {file}");
        self.compose()
            .args([
                "exec",
                "-T",
                "db",
                "psql",
                "-U",
                "survey",
                "-d",
                "survey",
                "--quiet",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .stdin(dump)
            .ignore_stdout()
            .run()
            .context("restoring the backup (is the step up?)")?;
        println!("Restored {file}.");
        Ok(())
    }
}
