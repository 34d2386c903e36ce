//! Steps 03 to 05: one Compose file under `compose/`.

mod app_alone;

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Input, Instance, Launcher, Service, Up};
use crate::images::Profile;

/// A Compose project.
pub struct Compose;

/// `docker compose -f FILE -p PROJECT`, ready for a subcommand that needs no image names
/// (`ps`, `logs`, `exec`, `down`).
pub fn command<'a>(copy: &'a Instance<'_>) -> xshell::Cmd<'a> {
    let (sh, file, project) = (copy.sh, copy.step.compose_file(), &copy.project);
    // Without it, every build first asks git about the checkout (a tenth of a second), for
    // provenance that an image in Docker's own store does not keep.
    cmd!(sh, "docker compose -f {file} -p {project}").env("BUILDX_GIT_INFO", "0")
}

/// [`command`] with the images the file names set in its environment, for a subcommand that
/// builds, starts or compares services (`build`, `up`, `config`).
pub fn configured<'a>(copy: &'a Instance<'_>) -> anyhow::Result<xshell::Cmd<'a>> {
    Ok(command(copy).envs(copy.images()?.vars()))
}

/// [`configured`] for `up` (and its `build`): the port and the profile too.
fn for_up<'a>(copy: &'a Instance<'_>, up: &Up) -> anyhow::Result<xshell::Cmd<'a>> {
    let (profile, name) = up.profile.var();
    Ok(configured(copy)?
        .env("SURVEY_PORT", up.port.to_string())
        .env(profile, name))
}

impl Launcher for Compose {
    /// Compose builds the image from the file's `build:` section: part of the lesson.
    fn build(&self, copy: &Instance<'_>, profile: Profile) -> anyhow::Result<()> {
        crate::docker::require_compose_v2(copy.sh)?;
        let (variable, name) = profile.var();
        configured(copy)?
            .env(variable, name)
            .args(["build", "app"])
            .run()
            .context("building the app image")
    }

    /// Any container of the project, running or not.
    fn running(&self, copy: &Instance<'_>) -> anyhow::Result<bool> {
        Ok(!containers(copy)?.is_empty())
    }

    /// Compose builds the app's image from the file's `build:` section (a change to the code
    /// is compiled again, nothing else), compares each service with what runs, and recreates
    /// only what changed. When the step runs and nothing but the app's services can have
    /// changed, they are replaced alone (see [`app_alone`]).
    fn up(&self, copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
        let running = copy.runs_already(self, up.port)?;
        let scale = up.workers.map(|n| format!("worker={n}"));
        let scale: Vec<&str> = scale.iter().flat_map(|s| ["--scale", s.as_str()]).collect();
        let alone = if running {
            app_alone::AppAlone::find(copy, &up)
        } else {
            None
        };
        let started = match alone {
            // Its wait shows the log of a container that does not get healthy.
            Some(app) => app.replace(copy, &up, &scale),
            None => whole(copy, &up, &["--build"], &scale)
                .inspect_err(|_| show_what_is_not_healthy(copy)),
        };
        if started.is_err() {
            crate::docker::require_compose_v2(copy.sh)?;
        }
        started.with_context(|| {
            format!(
                "starting the stack (above: why; everything: `cargo xtask step {} logs`)",
                copy.step.number
            )
        })
    }

    fn down(&self, copy: &Instance<'_>, volumes: bool) -> anyhow::Result<()> {
        crate::docker::require_compose_v2(copy.sh)?;
        let anonymous = anonymous_volumes(copy)?;
        if !volumes {
            // Postgres's image declares a VOLUME, so each db container also gets an
            // anonymous volume. Plain `down` would leave those behind, one per run;
            // `rm --volumes` removes them with the containers but keeps named volumes.
            command(copy)
                .args(["rm", "--stop", "--force", "--volumes"])
                .run()
                .context("removing the containers")?;
        }
        let mut down = command(copy).args(["down", "--remove-orphans"]);
        if volumes {
            down = down.arg("--volumes");
        }
        down.run().context("stopping the stack")?;
        // A container Compose recreated mounts its predecessor's anonymous volume by name,
        // and removing a container leaves the volumes it mounted by name.
        let sh = copy.sh;
        let left: Vec<&String> = anonymous
            .iter()
            .filter(|v| crate::docker::succeeds(cmd!(sh, "docker volume inspect {v}")))
            .collect();
        if !left.is_empty() {
            cmd!(sh, "docker volume rm {left...}")
                .ignore_stdout()
                .run()
                .context("removing the containers' anonymous volumes")?;
        }
        if let Some(volume) = copy.step.volume.filter(|_| !volumes) {
            println!(
                "The volume {}_{volume} is kept: `up` brings the answers back. `down --volumes` deletes it.",
                copy.project
            );
        }
        Ok(())
    }

    fn ps(&self, copy: &Instance<'_>) -> anyhow::Result<()> {
        command(copy).arg("ps").run()?;
        Ok(())
    }

    fn logs(&self, copy: &Instance<'_>, follow: bool) -> anyhow::Result<()> {
        command(copy)
            .arg("logs")
            .args(follow.then_some("--follow"))
            .run()?;
        Ok(())
    }

    /// Compose numbers a service's containers from 1.
    fn container(&self, copy: &Instance<'_>, service: Service) -> anyhow::Result<String> {
        Ok(format!("{}-{service}-1", copy.project))
    }

    fn exec<'a>(
        &self,
        copy: &'a Instance<'_>,
        service: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        // Compose gives exec a terminal unless told not to (-T).
        let options: &[&str] = match input {
            Input::Closed => &["-T"],
            Input::Open => &["--interactive", "-T"],
            Input::Terminal => &["--interactive"],
        };
        Ok(command(copy).arg("exec").args(options).arg(service.name()))
    }

    fn scale(&self, copy: &Instance<'_>, workers: u32) -> anyhow::Result<()> {
        let scale = format!("worker={workers}");
        configured(copy)?
            .args([
                "up",
                "--detach",
                "--wait",
                "--no-recreate",
                "--scale",
                &scale,
            ])
            .run()
            .context("scaling the workers (is the step up?)")
    }
}

/// The project's service containers, running or not (IDs).
fn containers(copy: &Instance<'_>) -> anyhow::Result<Vec<String>> {
    let ids = listed(copy, "{{.ID}}")?;
    Ok(ids.split_whitespace().map(str::to_owned).collect())
}

/// A line in `format` for each of the project's service containers, running or not, asked of
/// the engine by Compose's labels (quicker than starting Compose). Containers of
/// `docker compose run` are left out.
fn listed(copy: &Instance<'_>, format: &str) -> anyhow::Result<String> {
    let sh = copy.sh;
    let project = format!("label=com.docker.compose.project={}", copy.project);
    let service = "label=com.docker.compose.oneoff=False";
    cmd!(
        sh,
        "docker ps --all --filter {project} --filter {service} --format {format}"
    )
    .quiet()
    .read()
    .context("listing the project's containers")
}

/// The anonymous volumes (made for a VOLUME of an image, not named in the file) that the
/// project's containers mount.
fn anonymous_volumes(copy: &Instance<'_>) -> anyhow::Result<Vec<String>> {
    let sh = copy.sh;
    let ids = containers(copy)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let format = "{{range .Mounts}}{{if eq .Type \"volume\"}}{{println .Name}}{{end}}{{end}}";
    let mounted = cmd!(sh, "docker inspect --format {format} {ids...}")
        .quiet()
        .read()
        .context("listing the containers' volumes")?;
    let label = "label=com.docker.volume.anonymous";
    let anonymous = cmd!(sh, "docker volume ls --quiet --filter {label}")
        .quiet()
        .read()
        .context("listing the anonymous volumes")?;
    let anonymous: Vec<&str> = anonymous.lines().collect();
    Ok(mounted
        .lines()
        .filter(|v| anonymous.contains(v))
        .map(str::to_owned)
        .collect())
}

/// `up --detach` of every service, with `extra` options: Compose replaces what changed, then
/// the runner waits until every container is healthy, as `--wait` would, but looking ten
/// times a second where `--wait` looks every half second.
fn whole(copy: &Instance<'_>, up: &Up, extra: &[&str], scale: &[&str]) -> anyhow::Result<()> {
    for_up(copy, up)?
        .arg("up")
        .args(extra)
        .arg("--detach")
        .args(scale)
        .run()?;
    let names: Vec<String> = listed(copy, "{{.Names}}")?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    wait_healthy(copy, &names, "the project")
}

/// After an `up` that started `names`, the containers of `what`: waits until all are healthy
/// (failing with the log of one that turns unhealthy or exits).
fn wait_healthy(copy: &Instance<'_>, names: &[String], what: &str) -> anyhow::Result<()> {
    if names.is_empty() {
        bail!("no container of {what} after `up`");
    }
    crate::docker::wait_healthy(copy.sh, names, crate::docker::HEALTHY_WITHIN)
}

/// After a failed `up`: for each container that is not running healthy, its state, what its
/// last health check said, and the end of its log, so the reason is on screen.
fn show_what_is_not_healthy(copy: &Instance<'_>) {
    let sh = copy.sh;
    let format = "{{.Name}}\t{{.State}}\t{{.Health}}";
    let Ok(listed) = command(copy)
        .args(["ps", "--all", "--format", format])
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return;
    };
    for line in listed.lines() {
        let mut fields = line.split('\t');
        let (Some(name), Some(state), health) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let health = health.unwrap_or_default();
        if state == "running" && matches!(health, "" | "healthy") {
            continue;
        }
        eprintln!("\n{name}: {state} {health}");
        let last_check = "{{with .State.Health}}{{range .Log}}{{println .Output}}{{end}}{{end}}";
        if let Ok(said) = cmd!(sh, "docker inspect --format {last_check} {name}")
            .quiet()
            .ignore_stderr()
            .read()
            && let Some(last) = said.lines().rfind(|l| !l.trim().is_empty())
        {
            eprintln!("  its last health check: {last}");
        }
        if let Ok(log) = cmd!(sh, "docker logs --tail 15 {name}").quiet().output() {
            let log = [log.stdout, log.stderr].concat();
            if !log.is_empty() {
                eprintln!("  the end of its log:\n{}", String::from_utf8_lossy(&log));
            }
        }
    }
}
