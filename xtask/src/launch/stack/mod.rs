//! Step 06: a Swarm stack, `docker stack deploy` of a stack file under `compose/`.
//!
//! `up`, read top to bottom: build the app image, make this engine a one-node swarm if it is
//! in none (`swarm.rs`), name the image by its id (`rollout.rs`: a new image is a new name, so
//! a deploy of it is a rolling update), create the stack's secrets with random passwords
//! (`secrets.rs`), deploy, and wait until every service has all its replicas running and
//! healthy and the survey answers (`converge.rs`). Stacks do not build: the image is built
//! before. A plain `down` removes the stack and keeps the volumes, the secrets and the swarm
//! that holds them, so that the next `up` finds the answers with the passwords they need.
//!
//! Step 07 (`lab/`) deploys the same way on a swarm of engines in containers, reached through
//! the manager's socket; it ships images through a registry where step 06 has them here.

mod converge;
pub mod lab;
mod rollout;
mod secrets;
pub mod swarm;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Input, Instance, Launcher, Service, Up};
use converge::{Replicas, UP_PATIENCE};
use swarm::Reach;

/// A Swarm stack.
pub struct Stack;

impl Launcher for Stack {
    fn running(&self, copy: &Instance<'_>) -> anyhow::Result<bool> {
        Ok(Replicas::of(copy).is_ok_and(|r| !r.is_empty()))
    }

    /// The proxy publishes the survey, from a port on the node it runs on (host mode).
    fn published(&self, copy: &Instance<'_>) -> anyhow::Result<(String, u16)> {
        Ok((self.container(copy, Service::Proxy)?, PROXY_PORT))
    }

    fn up(&self, copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
        let running = copy.runs_already(self, up.port)?;
        copy.build_app(up.profile)?;
        let reach = swarm::ensure(copy.sh, Reach::asked(up.public))?;
        let images = copy.images()?;
        let layers = Layers::asked(up.observe, reach)?;
        let stack_images = StackImages {
            app: rollout::versioned(copy)?,
            postgres: images.postgres.clone(),
            redis: images.redis.clone(),
            haproxy: images.haproxy.clone(),
            prometheus: layers.prometheus(copy)?,
        };
        deploy(copy, up.port, up.workers, running, &stack_images, layers)?;
        let port = copy.port()?;
        converge::wait_answering(copy, port)?;
        swarm::say_reach(reach, port);
        Ok(())
    }

    fn down(&self, copy: &Instance<'_>, volumes: bool) -> anyhow::Result<()> {
        let (sh, stack) = (copy.sh, &copy.project);
        if self.running(copy)? {
            cmd!(sh, "docker stack rm {stack}")
                .run()
                .context("removing the stack")?;
        }
        let label = format!("label=com.docker.stack.namespace={stack}");
        wait_removed(copy, &label)?;
        if !volumes {
            let volume = copy
                .step
                .volume
                .map(|v| format!(" {stack}_{v},"))
                .unwrap_or_default();
            println!(
                "The volume{volume} the stack's secrets and the swarm that holds them are kept: `up` brings the answers back. \
                 `down --volumes` deletes them (and leaves the swarm, if `up` made it)."
            );
            return Ok(());
        }
        let names = cmd!(sh, "docker volume ls --quiet --filter {label}")
            .quiet()
            .read()?;
        let names: Vec<&str> = names.split_whitespace().collect();
        if !names.is_empty() {
            cmd!(sh, "docker volume rm {names...}")
                .ignore_stdout()
                .run()?;
        }
        secrets::remove(copy)?;
        rollout::remove_version_tags(copy);
        swarm::leave_if_made(sh)
    }

    fn ps(&self, copy: &Instance<'_>) -> anyhow::Result<()> {
        let (sh, stack) = (copy.sh, &copy.project);
        cmd!(sh, "docker stack services {stack}").run()?;
        cmd!(sh, "docker stack ps --filter desired-state=running {stack}").run()?;
        Ok(())
    }

    fn logs(&self, copy: &Instance<'_>, follow: bool) -> anyhow::Result<()> {
        let sh = copy.sh;
        if follow {
            let app = service(copy, Service::App);
            cmd!(sh, "docker service logs --follow {app}").run()?;
            return Ok(());
        }
        for name in Service::ALL {
            let name = service(copy, name);
            cmd!(sh, "docker service logs {name}").run()?;
        }
        Ok(())
    }

    /// A running task's container of `service` (there may be several: the first).
    fn container(&self, copy: &Instance<'_>, name: Service) -> anyhow::Result<String> {
        let sh = copy.sh;
        let label = format!(
            "label=com.docker.swarm.service.name={}",
            service(copy, name)
        );
        let format = "{{.Names}}";
        let names = cmd!(sh, "docker ps --filter {label} --format {format}")
            .quiet()
            .read()?;
        names.lines().next().map(str::to_owned).with_context(|| {
            format!(
                "no running task of {name} (is step {} up?)",
                copy.step.number
            )
        })
    }

    fn exec<'a>(
        &self,
        copy: &'a Instance<'_>,
        name: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        let container = self.container(copy, name)?;
        let (sh, options) = (copy.sh, input.exec_options());
        Ok(cmd!(sh, "docker exec {options...} {container}"))
    }

    fn update(&self, copy: &Instance<'_>, broken: bool) -> anyhow::Result<()> {
        rollout::update(copy, broken, &rollout::ThisEngine)
    }

    fn scale(&self, copy: &Instance<'_>, workers: u32) -> anyhow::Result<()> {
        let (sh, scale) = (
            copy.sh,
            format!("{}={workers}", service(copy, Service::Worker)),
        );
        cmd!(sh, "docker service scale --detach {scale}")
            .ignore_stdout()
            .run()
            .context("scaling the workers (is the step up?)")?;
        converge::wait_converged(copy, UP_PATIENCE)
    }
}

/// The images a stack runs, under the names its swarm knows them by.
#[derive(Debug, Clone)]
pub(super) struct StackImages {
    pub app: String,
    pub postgres: String,
    pub redis: String,
    pub haproxy: String,
    /// The `--observe` layer's, when it is deployed.
    pub prometheus: Option<String>,
}

impl StackImages {
    /// The variables the stack files read, for `docker stack deploy`'s environment.
    fn vars(&self) -> Vec<(&'static str, &str)> {
        let mut vars = vec![
            ("APP_IMAGE", self.app.as_str()),
            ("POSTGRES_IMAGE", &self.postgres),
            ("REDIS_IMAGE", &self.redis),
            ("HAPROXY_IMAGE", &self.haproxy),
        ];
        vars.extend(self.prometheus.as_deref().map(|p| ("PROMETHEUS_IMAGE", p)));
        vars
    }
}

/// The stack files deployed after the step's own: layers a learner can add or leave off.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layers {
    /// The swarm view, the Docker API's filter it reads through, and Prometheus.
    pub view: bool,
}

impl Layers {
    /// The layers `up` asks for, on a swarm that publishes as `reach` says. The view shows
    /// the swarm's nodes, their addresses and every service to whoever opens it: it is for
    /// this machine alone.
    pub fn asked(observe: bool, reach: Reach) -> anyhow::Result<Self> {
        if observe && reach == Reach::Public {
            bail!("{}", observe_is_private());
        }
        Ok(Self { view: observe })
    }

    /// The Prometheus image the layers run, found or made (none without the view's layer).
    pub fn prometheus(self, copy: &Instance<'_>) -> anyhow::Result<Option<String>> {
        if !self.view {
            return Ok(None);
        }
        let images = crate::images::ensure_observe(copy.sh, crate::images::Fetch::default())?;
        Ok(Some(images.prometheus))
    }

    fn files(self) -> Vec<&'static str> {
        self.view.then_some(VIEW_LAYER).into_iter().collect()
    }
}

/// Why `--observe` is refused on a swarm that publishes on every interface.
pub fn observe_is_private() -> &'static str {
    "the swarm view (`--observe`) shows the swarm's nodes, their addresses and every service to whoever opens it, \
     so it runs on a swarm that publishes on 127.0.0.1 only, and this one publishes on every interface (`--public`): \
     leave off `--observe`, or `down --volumes` (it deletes the answers) and `up --observe` without `--public`"
}

/// The swarm view's layer (`up --observe`).
const VIEW_LAYER: &str = "compose/swarm-view.yaml";

/// The port the proxy listens on in its container (the stack file's `target`).
const PROXY_PORT: u16 = 8080;

/// Creates the secrets, deploys the step's stack file with `images`, the survey published on
/// the node's `port` ([`ANY_PORT`](crate::launch::ANY_PORT): Docker picks), with `workers`
/// (`None`: the file's number) and the `layers` asked for (the ones not asked for are
/// removed), and waits until every replica is healthy. On a `running` stack, a changed app
/// image is rolled out, and watched.
pub(super) fn deploy(
    copy: &Instance<'_>,
    port: u16,
    workers: Option<u32>,
    running: bool,
    images: &StackImages,
    layers: Layers,
) -> anyhow::Result<()> {
    secrets::ensure(copy)?;
    let before = if running {
        rollout::app_image(copy).unwrap_or_default()
    } else {
        String::new()
    };
    if running && rollout::changes(&before, &images.app) {
        converge::wait_app_needs(copy, &before)?;
    }
    let (sh, file, stack) = (copy.sh, copy.step.compose_file(), &copy.project);
    let layers: Vec<String> = layers
        .files()
        .into_iter()
        .flat_map(|layer| ["--compose-file".to_owned(), layer.to_owned()])
        .collect();
    cmd!(
        sh,
        "docker stack deploy --detach=true --prune --compose-file {file} {layers...} {stack}"
    )
    .env("SURVEY_PORT", port.to_string())
    .env("STACK", stack)
    .envs(images.vars())
    .run()
    .context("deploying the stack")?;
    if let Some(workers) = workers {
        Stack.scale(copy, workers)?;
    }
    if running {
        rollout::watch_deployed(copy, &before, &images.app)?;
    }
    converge::wait_converged(copy, UP_PATIENCE)
}

/// The name of a stack's `service`, as Swarm knows it: `STACK_SERVICE`.
fn service(copy: &Instance<'_>, service: Service) -> String {
    scoped(copy, service.name())
}

/// A name in the stack's scope (a service, a secret): `STACK_NAME`.
fn scoped(copy: &Instance<'_>, name: &str) -> String {
    format!("{}_{name}", copy.project)
}

/// Waits until the stack's containers and network, labelled `label`, are gone: `stack rm`
/// returns at once, they go a moment later, and a volume can only be removed once no
/// container uses it.
fn wait_removed(copy: &Instance<'_>, label: &str) -> anyhow::Result<()> {
    let sh = copy.sh;
    let started = Instant::now();
    let listed = |list: xshell::Cmd<'_>| -> anyhow::Result<bool> {
        Ok(!list.quiet().read()?.trim().is_empty())
    };
    while listed(cmd!(sh, "docker ps --all --quiet --filter {label}"))?
        || listed(cmd!(sh, "docker network ls --quiet --filter {label}"))?
    {
        if started.elapsed() > Duration::from_secs(90) {
            bail!("the stack's containers or network were still there after 90 s");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}
