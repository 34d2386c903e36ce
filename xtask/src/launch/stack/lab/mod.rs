//! Step 07: a lab of Docker engines, each in a privileged container on a network of its own
//! (`network.rs`), made into one swarm (`nodes.rs`), with a registry they all pull from
//! (`registry.rs`); then the stack, deployed as step 06 deploys it, spread over them.
//!
//! The runner talks to the manager's engine through its socket, which the manager's container
//! shares in a folder under target/lab/: with DOCKER_HOST pointing there, every `docker`
//! command of the stack launcher works on the lab's swarm unchanged. Nothing is sent over the
//! network but to 127.0.0.1 (the survey, the registry) and between the lab's own containers.

mod network;
mod nodes;
mod registry;

use std::path::PathBuf;

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Stack, StackImages, converge};
use crate::launch::{Input, Instance, Launcher, NodeOp, Service, Up, labelled};
use registry::Registry;

/// Several engines in containers, one swarm.
pub struct Lab;

impl Launcher for Lab {
    /// The manager's container exists.
    fn running(&self, copy: &Instance<'_>) -> anyhow::Result<bool> {
        Ok(nodes::numbers(copy)?.contains(&1))
    }

    fn up(&self, copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
        let running = copy.runs_already(self, up.port)?;
        copy.build_app(up.profile)?;
        let mut woken = false;
        if !running {
            nodes::make_lab(copy, up)?;
        } else {
            woken = nodes::wake(copy)?;
            if let Some(wanted) = up.nodes {
                let have = nodes::numbers(copy)?.len();
                if usize::try_from(wanted).ok() != Some(have) {
                    println!(
                        "The lab runs {have} nodes: --nodes applies when it is made (`down`, then `up --nodes {wanted}`)."
                    );
                }
            }
        }
        let images = copy.images()?;
        let registry = Registry::of(copy)?;
        let layers = super::Layers::asked(up.observe, super::Reach::asked(up.public))?;
        let pulled = StackImages {
            app: registry.push(&super::rollout::versioned(copy)?)?,
            postgres: registry.push(&images.postgres)?,
            redis: registry.push(&images.redis)?,
            haproxy: registry.push(&images.haproxy)?,
            prometheus: match layers.prometheus(copy)? {
                Some(image) => Some(registry.push(&image)?),
                None => None,
            },
        };
        on_manager(copy, || {
            if woken {
                // A rollout is judged on the health of its new tasks: it begins once the
                // stack the nodes brought back has settled.
                converge::wait_settled(copy)?;
            }
            super::deploy(
                copy,
                nodes::SURVEY_PORT,
                up.workers,
                running,
                &pulled,
                layers,
            )?;
            if woken {
                converge::wait_settled(copy)?;
            }
            Ok(())
        })?;
        let port = copy.port()?;
        converge::wait_answering(copy, port)?;
        // The lab's swarm talks on the lab's network alone; only node1's mapped port is here.
        if up.public {
            println!(
                "Published on every interface: anyone who reaches this machine can answer the survey on port {port}."
            );
        } else {
            println!(
                "Published on 127.0.0.1:{port} only; the lab's swarm talks on the lab's own network."
            );
        }
        Ok(())
    }

    fn swarm_engine(&self, copy: &Instance<'_>) -> Option<String> {
        Some(manager_host(copy))
    }

    /// node1, the manager, maps the port its proxy publishes on to one on this machine.
    fn published(&self, copy: &Instance<'_>) -> anyhow::Result<(String, u16)> {
        Ok((nodes::node(copy, 1), nodes::SURVEY_PORT))
    }

    fn down(&self, copy: &Instance<'_>, volumes: bool) -> anyhow::Result<()> {
        let sh = copy.sh;
        if let Ok(registry) = Registry::of(copy) {
            registry.forget_pushed()?;
        }
        // The network stays with the volumes: it keeps the nodes' addresses.
        labelled::remove_containers(copy)?;
        if volumes {
            network::remove(copy)?;
            super::rollout::remove_version_tags(copy);
        }
        let dir = socket_dir(copy);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        let label = format!("label=survey.project={}", copy.project);
        let names = cmd!(sh, "docker volume ls --quiet --filter {label}")
            .quiet()
            .read()?;
        let names: Vec<&str> = names.split_whitespace().collect();
        if volumes && !names.is_empty() {
            cmd!(sh, "docker volume rm {names...}")
                .ignore_stdout()
                .run()?;
        } else if !names.is_empty() {
            println!(
                "The nodes' and the registry's volumes are kept ({}), and the lab's network: `up` takes up their swarm and its answers again. `down --volumes` deletes them.",
                names.join(", ")
            );
        }
        Ok(())
    }

    fn ps(&self, copy: &Instance<'_>) -> anyhow::Result<()> {
        on_manager(copy, || {
            cmd!(copy.sh, "docker node ls").run()?;
            Stack.ps(copy)
        })
    }

    fn logs(&self, copy: &Instance<'_>, follow: bool) -> anyhow::Result<()> {
        on_manager(copy, || Stack.logs(copy, follow))
    }

    fn container(&self, copy: &Instance<'_>, service: Service) -> anyhow::Result<String> {
        on_manager(copy, || Stack.container(copy, service))
    }

    fn exec<'a>(
        &self,
        copy: &'a Instance<'_>,
        service: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        // The data's services run on node1, whose engine the runner reaches.
        let container = self.container(copy, service)?;
        let (sh, host, options) = (copy.sh, manager_host(copy), input.exec_options());
        Ok(cmd!(
            sh,
            "docker --host {host} exec {options...} {container}"
        ))
    }

    fn scale(&self, copy: &Instance<'_>, workers: u32) -> anyhow::Result<()> {
        on_manager(copy, || Stack.scale(copy, workers))
    }

    /// As on step 06, but the new version is built here and shipped through the registry.
    fn update(&self, copy: &Instance<'_>, broken: bool) -> anyhow::Result<()> {
        super::rollout::update(copy, broken, &Registry::of(copy)?)
    }

    fn node(&self, copy: &Instance<'_>, op: NodeOp, name: &str) -> anyhow::Result<()> {
        match op {
            NodeOp::Drain { force } => on_manager(copy, || {
                if !force {
                    refuse_draining_what_stays(copy, name)?;
                }
                set_availability(copy, name, "drain")
            }),
            NodeOp::Activate => on_manager(copy, || set_availability(copy, name, "active")),
            NodeOp::Kill => nodes::kill(copy, name),
        }
    }
}

/// Sets a node's availability, waits until the stack has moved its tasks, and lists the
/// nodes.
fn set_availability(copy: &Instance<'_>, name: &str, availability: &str) -> anyhow::Result<()> {
    let sh = copy.sh;
    cmd!(
        sh,
        "docker node update --availability {availability} {name}"
    )
    .ignore_stdout()
    .run()
    .with_context(|| format!("setting {name} to {availability}"))?;
    converge::wait_converged(copy, converge::UP_PATIENCE)?;
    cmd!(sh, "docker node ls").run()?;
    Ok(())
}

/// The folder the manager's container shares its engine's socket in.
fn socket_dir(copy: &Instance<'_>) -> PathBuf {
    copy.sh.current_dir().join("target/lab").join(&copy.project)
}

/// `DOCKER_HOST` for the manager's engine.
fn manager_host(copy: &Instance<'_>) -> String {
    format!("unix://{}/docker.sock", socket_dir(copy).display())
}

/// Runs `f` with every docker command going to the lab's manager.
fn on_manager<T>(copy: &Instance<'_>, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    if !socket_dir(copy).join("docker.sock").exists() {
        bail!(
            "the lab {} is not up: `cargo xtask step {} up`",
            copy.project,
            copy.step.number
        );
    }
    let _host = copy.sh.push_env("DOCKER_HOST", manager_host(copy));
    f()
}

/// What a node is to the stack, as its spec says.
struct NodeSpec {
    manager: bool,
    /// Labelled `survey-data`: Postgres and Redis run there, with their volumes.
    holds_data: bool,
}

impl NodeSpec {
    /// `name`'s spec, or `None` for a node the swarm does not know.
    fn of(copy: &Instance<'_>, name: &str) -> Option<Self> {
        let sh = copy.sh;
        let format = "{{.Spec.Role}} {{index .Spec.Labels \"survey-data\"}}";
        let spec = cmd!(sh, "docker node inspect --format {format} {name}")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()?;
        let mut words = spec.split_whitespace();
        Some(Self {
            manager: words.next() == Some("manager"),
            holds_data: words.next() == Some("true"),
        })
    }
}

/// Fails when `name` is a node the stack cannot do without: the one holding the data (Postgres
/// and Redis may run there alone) or the manager, where the proxy publishes the survey. Swarm
/// would drain it all the same, and those tasks would wait, pending, for it to come back.
fn refuse_draining_what_stays(copy: &Instance<'_>, name: &str) -> anyhow::Result<()> {
    // An unknown node: Swarm's own error says so.
    let Some(node) = NodeSpec::of(copy, name) else {
        return Ok(());
    };
    let mut holds = Vec::new();
    if node.holds_data {
        holds.push("the data (Postgres and Redis run on the node labelled survey-data, with their volumes)");
    }
    if node.manager {
        holds.push(
            "the published port (the proxy runs on the manager, whose port this machine maps)",
        );
    }
    if !holds.is_empty() {
        bail!(
            "{name} holds {}: drained, those tasks would wait for it, pending, and the survey would stop answering. \
             Drain another node, or `drain {name} --force` to watch it happen.",
            holds.join(", and ")
        );
    }
    Ok(())
}
