//! Step 02: app and database wired by hand, a network and two `docker run`s. The commands are
//! the lesson, so `step 2 diff` shows them too.

use anyhow::Context;
use xshell::cmd;

use super::{Input, Instance, Launcher, Service, Up, labelled};

/// The database as the hand-written commands set it up.
const DB_ENV: [&str; 3] = [
    "POSTGRES_USER=survey",
    "POSTGRES_PASSWORD=survey",
    "POSTGRES_DB=survey",
];
const APP_DATABASE_URL: &str = "DATABASE_URL=postgres://survey:survey@db:5432/survey";

/// A network and two containers, created one command at a time.
pub struct ByHand;

/// The commands that wire app and database by hand, each with what it does. The app goes
/// first on purpose: it waits for its database by retrying.
pub fn wiring<'a>(
    copy: &'a Instance<'_>,
    publish: &str,
    postgres: &str,
) -> [(xshell::Cmd<'a>, &'static str); 3] {
    let sh = copy.sh;
    let (network, db, app) = (
        copy.project.clone(),
        labelled::container(copy, "db"),
        labelled::container(copy, "app"),
    );
    let label = labelled::label(copy);
    let image = copy.step.image(copy.sh);
    let env = DB_ENV.iter().flat_map(|e| ["--env", e]);
    [
        (
            cmd!(sh, "docker network create --label {label} {network}"),
            "creating the network",
        ),
        (
            cmd!(
                sh,
                "docker run --detach --name {app} --label {label} --network {network} --env {APP_DATABASE_URL} --publish {publish} --health-start-interval 100ms {image}"
            ),
            "starting the app container",
        ),
        (
            cmd!(
                sh,
                "docker run --detach --name {db} --label {label} --network {network} --network-alias db {env...} --health-cmd 'pg_isready -h 127.0.0.1 -U survey -d survey' --health-interval 2s {postgres}"
            ),
            "starting the database container",
        ),
    ]
}

impl Launcher for ByHand {
    fn running(&self, copy: &Instance<'_>) -> anyhow::Result<bool> {
        labelled::running(copy)
    }

    /// On a running copy, only the app is replaced, and only if it changed: the database
    /// (and its answers) stays.
    fn up(&self, copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
        let running = copy.runs_already(self, up.port)?;
        copy.build_app(up.profile)?;
        let publish = format!("127.0.0.1:{}:5000", up.port);
        let [network, (app, what), db] = wiring(copy, &publish, &copy.images()?.postgres);
        if running {
            labelled::replace_if_changed(copy, "app", &publish, app).context(what)?;
        } else {
            for (command, what) in [network, (app, what), db] {
                command.ignore_stdout().run().context(what)?;
            }
        }
        labelled::wait_healthy(copy, &["db", "app"])
    }

    fn down(&self, copy: &Instance<'_>, _volumes: bool) -> anyhow::Result<()> {
        labelled::down(copy)
    }

    fn ps(&self, copy: &Instance<'_>) -> anyhow::Result<()> {
        labelled::ps(copy)
    }

    fn logs(&self, copy: &Instance<'_>, follow: bool) -> anyhow::Result<()> {
        labelled::logs(copy, &["db", "app"], follow)
    }

    fn container(&self, copy: &Instance<'_>, service: Service) -> anyhow::Result<String> {
        Ok(labelled::container(copy, service.name()))
    }

    fn exec<'a>(
        &self,
        copy: &'a Instance<'_>,
        service: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        Ok(labelled::exec(copy, service.name(), input))
    }

    /// The same commands, with the copy's name and port as the script's variables and the
    /// app's image under its plain name, whatever SURVEY_TAG this shell has.
    fn lesson_script(&self, copy: &Instance<'_>) -> anyhow::Result<Option<(String, String)>> {
        let sh = xshell::Shell::new()?;
        sh.change_dir(copy.sh.current_dir());
        sh.set_var("SURVEY_TAG", "");
        let script = Instance::new(&sh, copy.step, "${PROJECT}".to_owned());
        let commands: Vec<String> = wiring(
            &script,
            "127.0.0.1:${PORT}:5000",
            crate::images::OFFICIAL_POSTGRES,
        )
        .into_iter()
        .map(|(command, _)| command.to_string())
        .collect();
        let (n, path) = (
            copy.step.number,
            format!("steps/{}/by-hand.sh", copy.step.dir),
        );
        let text = format!(
            "#!/bin/sh\n\
             # Rendered by `cargo xtask codegen` from the runner's own commands: do not edit, but for\n\
             # the exercises of chapter {n:02}. What `cargo xtask step {n} up` runs, to read, to type, or to\n\
             # run yourself once `cargo xtask step {n} build` has made the app's image:\n\
             #   sh {path}        (then open http://127.0.0.1:2154)\n\
             # PROJECT and PORT name the copy and its port (survey-{n:02} and 2154 unless set). What it\n\
             # makes carries the step's label: `cargo xtask step {n} ps`, `psql` and `down` work on it.\n\
             set -eu\n\
             PROJECT=\"${{PROJECT:-survey-{n:02}}}\"\n\
             PORT=\"${{PORT:-2154}}\"\n\
             {}\n",
            commands.join("\n")
        );
        Ok(Some((path, text)))
    }

    fn lesson_commands(&self, copy: &Instance<'_>) -> Vec<String> {
        wiring(
            copy,
            "127.0.0.1:2154:5000",
            crate::images::OFFICIAL_POSTGRES,
        )
        .into_iter()
        .map(|(command, _)| command.to_string())
        .collect()
    }
}
