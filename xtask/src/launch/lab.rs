//! Step 07: a lab of Docker engines, each in a privileged container on a network of its own,
//! made into one swarm, with a registry they all pull from; then step 06's stack, spread over
//! them.
//!
//! The runner talks to the manager's engine through its socket, which the manager's container
//! shares in a folder under target/lab/: with DOCKER_HOST pointing there, every `docker`
//! command of the stack launcher works on the lab's swarm unchanged. Nothing is sent over the
//! network but to 127.0.0.1 (the survey, the registry) and between the lab's own containers.

use std::{path::PathBuf, time::Instant};

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Launcher, NodeOp, On, Up, lab_network::LabNetwork, labelled, stack, swarm};
use crate::images::Images;

/// Several engines in containers, one swarm.
pub struct Lab;

/// The registry's name on the lab's network, as the nodes reach it.
const REGISTRY: &str = "registry:5000";

fn node(on: &On<'_>, n: u32) -> String {
    format!("{}-node{n}", on.project)
}

/// The numbers of the lab's nodes that exist, running or not.
fn nodes(on: &On<'_>) -> anyhow::Result<Vec<u32>> {
    let sh = on.sh;
    let (label, format) = (format!("label=survey.project={}", on.project), "{{.Names}}");
    let names = cmd!(sh, "docker ps --all --filter {label} --format {format}")
        .quiet()
        .read()?;
    let prefix = format!("{}-node", on.project);
    let mut numbers: Vec<u32> = names
        .lines()
        .filter_map(|name| name.strip_prefix(&prefix)?.parse().ok())
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The folder the manager's container shares its engine's socket in.
fn socket_dir(on: &On<'_>) -> PathBuf {
    on.sh.current_dir().join("target/lab").join(&on.project)
}

/// `DOCKER_HOST` for the manager's engine.
fn manager_host(on: &On<'_>) -> String {
    format!("unix://{}/docker.sock", socket_dir(on).display())
}

/// Runs `f` with every docker command going to the lab's manager.
fn on_manager<T>(on: &On<'_>, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    if !socket_dir(on).join("docker.sock").exists() {
        bail!("the lab {} is not up: `cargo xtask step 7 up`", on.project);
    }
    let _host = on.sh.push_env("DOCKER_HOST", manager_host(on));
    f()
}

/// Fails when `name` is a node the stack cannot do without: the one holding the data (Postgres
/// and Redis may run there alone) or the manager, where the proxy publishes the survey. Swarm
/// would drain it all the same, and those tasks would wait, pending, for it to come back.
fn refuse_draining_what_stays(on: &On<'_>, name: &str) -> anyhow::Result<()> {
    let sh = on.sh;
    let format = "{{.Spec.Role}} {{index .Spec.Labels \"survey-data\"}}";
    let Ok(node) = cmd!(sh, "docker node inspect --format {format} {name}")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        // An unknown node: Swarm's own error says so.
        return Ok(());
    };
    let mut holds = Vec::new();
    if node.split_whitespace().nth(1) == Some("true") {
        holds.push("the data (Postgres and Redis run on the node labelled survey-data, with their volumes)");
    }
    if node.starts_with("manager") {
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

/// The group number that may use this machine's engine: the group of the socket the runner
/// reaches it by, or else the runner's own group.
fn docker_group(on: &On<'_>) -> anyhow::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    let host = on.sh.var("DOCKER_HOST").unwrap_or_default();
    let socket = host
        .strip_prefix("unix://")
        .unwrap_or("/var/run/docker.sock");
    if let Ok(meta) = std::fs::metadata(socket) {
        return Ok(meta.gid());
    }
    let sh = on.sh;
    let gid = cmd!(sh, "id -g")
        .quiet()
        .read()
        .context("asking for this user's group")?;
    gid.trim()
        .parse()
        .with_context(|| format!("this user's group number, `{gid}`"))
}

/// Waits until the engine in `container` answers.
fn wait_engine(on: &On<'_>, container: &str) -> anyhow::Result<()> {
    let sh = on.sh;
    let started = Instant::now();
    while !crate::docker::succeeds(cmd!(sh, "docker exec {container} docker info")) {
        if started.elapsed() > std::time::Duration::from_secs(90) {
            let logs = cmd!(sh, "docker logs --tail 20 {container}")
                .quiet()
                .ignore_stderr()
                .read()
                .unwrap_or_default();
            bail!("the engine in {container} did not start within 90 s:\n{logs}");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    Ok(())
}

/// Tags each of `images` for the lab's registry, pushes it through 127.0.0.1, and returns
/// the names the nodes pull them by.
fn push(
    on: &On<'_>,
    images: &[(&'static str, String)],
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let registry = Registry::of(on)?;
    images
        .iter()
        .map(|(variable, image)| Ok((*variable, registry.push(image)?)))
        .collect()
}

/// The lab's registry, as this machine reaches it (127.0.0.1:PORT) and as the nodes do.
struct Registry<'a> {
    on: &'a On<'a>,
    local: String,
}

impl<'a> Registry<'a> {
    fn of(on: &'a On<'a>) -> anyhow::Result<Self> {
        let sh = on.sh;
        let registry = labelled::container(on, "registry");
        let published = cmd!(sh, "docker port {registry} 5000/tcp").quiet().read()?;
        let local = published
            .lines()
            .find(|l| l.starts_with("127.0.0.1:"))
            .context("the registry's port on 127.0.0.1 (is the lab up?)")?
            .to_owned();
        Ok(Self { on, local })
    }

    /// Tags `image` for the registry, pushes it, returns the name the nodes pull it by.
    fn push(&self, image: &str) -> anyhow::Result<String> {
        let sh = self.on.sh;
        let path = image.split('@').next().unwrap_or(image);
        let path = path
            .strip_prefix(&format!("{}/", self.local))
            .unwrap_or(path);
        let (pushed, pulled) = (
            format!("{}/{path}", self.local),
            format!("{REGISTRY}/{path}"),
        );
        if pushed != image {
            cmd!(sh, "docker tag {image} {pushed}").run()?;
        }
        cmd!(sh, "docker push --quiet {pushed}")
            .ignore_stdout()
            .run()
            .with_context(|| format!("pushing {image} to the lab's registry"))?;
        Ok(pulled)
    }

    /// Removes this machine's names for what was pushed to the registry (its port changes
    /// with each lab), and so the images only the lab used.
    fn forget_pushed(&self) -> anyhow::Result<()> {
        let sh = self.on.sh;
        let format = "{{.Repository}}:{{.Tag}}";
        let listed = cmd!(sh, "docker image ls --format {format}")
            .quiet()
            .read()?;
        let prefix = format!("{}/", self.local);
        let names: Vec<&str> = listed.lines().filter(|n| n.starts_with(&prefix)).collect();
        if !names.is_empty() {
            cmd!(sh, "docker image rm {names...}")
                .quiet()
                .ignore_stdout()
                .run()
                .context("removing the images pushed to the lab's registry")?;
        }
        Ok(())
    }
}

impl stack::Shipping for Registry<'_> {
    fn swarm_host(&self) -> Option<String> {
        Some(manager_host(self.on))
    }
    fn local_name(&self, running: &str) -> anyhow::Result<String> {
        match running.strip_prefix(&format!("{REGISTRY}/")) {
            Some(path) => Ok(format!("{}/{path}", self.local)),
            None => bail!("the lab runs {running}, which is not from its registry"),
        }
    }
    fn ship(&self, built: &str) -> anyhow::Result<String> {
        self.push(built)
    }
}

/// Starts the lab: its network, registry and nodes, made one swarm, node1 labelled for data.
fn make_lab(on: &On<'_>, up: Up) -> anyhow::Result<()> {
    let sh = on.sh;
    let lab = crate::images::ensure_lab(sh, crate::images::Fetch::default())?;
    let label = labelled::label_arg(on);
    let lab_network = LabNetwork::ensure(on)?;
    let network = &lab_network.name;
    let (registry, registry_data) = (
        labelled::container(on, "registry"),
        format!("{}-registry", on.project),
    );
    cmd!(sh, "docker volume create --label {label} {registry_data}")
        .ignore_stdout()
        .run()?;
    let (registry_image, registry_ip) = (&lab.registry, lab_network.registry());
    cmd!(
            sh,
            "docker run --detach --name {registry} --label {label} --network {network} --ip {registry_ip} --network-alias registry --publish 127.0.0.1::5000 --volume {registry_data}:/var/lib/registry {registry_image}"
        )
        .ignore_stdout()
        .run()
        .context("starting the registry")?;

    let shared = socket_dir(on);
    std::fs::create_dir_all(&shared).with_context(|| format!("creating {}", shared.display()))?;
    let shared = shared.display().to_string();
    let node_image = &lab.node;
    let count = up
        .nodes
        .or(on.step.nodes.map(|n| n.default))
        .context("this step has no lab of nodes")?;
    for n in 1..=count {
        let (name, alias, data, ip) = (
            node(on, n),
            format!("node{n}"),
            format!("{}-node{n}", on.project),
            lab_network.node(n),
        );
        cmd!(sh, "docker volume create --label {label} {data}")
            .ignore_stdout()
            .run()?;
        // The manager publishes the survey's port, on this machine's loopback only, and
        // shares its engine's socket with the runner.
        let manager: Vec<String> = if n == 1 {
            let on = if up.public { "" } else { "127.0.0.1:" };
            vec![
                "--publish".into(),
                format!("{on}{0}:{0}", up.port),
                "--volume".into(),
                format!("{shared}:/run/lab"),
            ]
        } else {
            Vec::new()
        };
        // `dockerd` and its sockets named in full: given only options, the image's entry point
        // (the official one and its stand-in alike) would add a TCP listener on every
        // interface of the node, with TLS or, as `DOCKER_TLS_CERTDIR=` asks, without: a root
        // door for anything on the lab's network. node1 gets a second socket, for the runner.
        let mut sockets = vec!["--host=unix:///var/run/docker.sock".to_owned()];
        if n == 1 {
            // The socket the runner uses from this machine is made for the group that may use
            // this machine's engine (by number: the node knows no such group by name), not for
            // whatever group has the node's `docker` number here.
            sockets.extend([
                "--host=unix:///run/lab/docker.sock".to_owned(),
                format!("--group={}", docker_group(on)?),
            ]);
        }
        cmd!(
                sh,
                "docker run --detach --privileged --name {name} --hostname {alias} --label {label} --network {network} --ip {ip} --network-alias {alias} --volume {data}:/var/lib/docker {manager...} {node_image} dockerd {sockets...} --insecure-registry {REGISTRY}"
            )
            .ignore_stdout()
            .run()
            .with_context(|| format!("starting {name}"))?;
    }
    for n in 1..=count {
        wait_engine(on, &node(on, n))?;
    }
    let manager = node(on, 1);
    match swarm::State::of_node(sh, &manager)? {
        swarm::State::Inactive => {
            cmd!(
                sh,
                "docker exec {manager} docker swarm init --advertise-addr eth0"
            )
            .ignore_stdout()
            .run()
            .context("making the swarm on node1")?;
            join_workers(on, count)?;
        }
        swarm::State::Manager { .. } => resume_swarm(on, count)?,
        state => bail!(
            "node1's engine came back from its volume in swarm state {state:?}: `cargo xtask step 7 down --volumes` deletes the lab, its answers too"
        ),
    }
    // The data lives where the database and Redis run: on node1, which `up` labels so.
    cmd!(
        sh,
        "docker exec {manager} docker node update --label-add survey-data=true node1"
    )
    .ignore_stdout()
    .run()?;
    Ok(())
}

/// Joins nodes 2 to `count` to node1's swarm as workers. The token is a password to the
/// swarm: it is passed along, never printed.
fn join_workers(on: &On<'_>, count: u32) -> anyhow::Result<()> {
    let (sh, manager) = (on.sh, node(on, 1));
    let token = cmd!(
        sh,
        "docker exec {manager} docker swarm join-token --quiet worker"
    )
    .quiet()
    .read()?;
    for n in 2..=count {
        let name = node(on, n);
        eprintln!("$ docker exec {name} docker swarm join --token [the worker token] node1:2377");
        cmd!(
            sh,
            "docker exec {name} docker swarm join --token {token} node1:2377"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("joining {name} to the swarm"))?;
    }
    Ok(())
}

/// Takes up the swarm the nodes kept in their volumes after a plain `down`: its services,
/// secrets and the data's volumes are all there, and every node is back at its address (see
/// `lab_network.rs`), so the swarm comes together by itself; this waits until every node is
/// Ready again.
fn resume_swarm(on: &On<'_>, count: u32) -> anyhow::Result<()> {
    let (sh, manager) = (on.sh, node(on, 1));
    println!(
        "The nodes kept their swarm in their volumes, and their addresses: it comes together again by itself."
    );
    let format = "{{.Hostname}} {{.Status}}";
    let wanted: Vec<String> = (1..=count).map(|n| format!("node{n} Ready")).collect();
    let started = Instant::now();
    loop {
        let listed = cmd!(sh, "docker exec {manager} docker node ls --format {format}")
            .quiet()
            .ignore_stderr()
            .read()
            .unwrap_or_default();
        let ready: Vec<&str> = listed.lines().collect();
        if wanted.iter().all(|w| ready.contains(&w.as_str())) {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(90) {
            bail!(
                "the lab's swarm did not come together again within 90 s:\n{listed}\n(`cargo xtask step {} down --volumes` starts the lab afresh, its answers deleted)",
                on.step.number
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

impl Launcher for Lab {
    /// The manager's container exists.
    fn running(&self, on: &On<'_>) -> anyhow::Result<bool> {
        Ok(nodes(on)?.contains(&1))
    }

    fn up(&self, on: &On<'_>, up: Up, images: &Images) -> anyhow::Result<()> {
        if !up.running {
            make_lab(on, up)?;
        } else if let Some(wanted) = up.nodes {
            let have = nodes(on)?.len();
            if usize::try_from(wanted).ok() != Some(have) {
                println!(
                    "The lab runs {have} nodes: --nodes applies when it is made (`down`, then `up --nodes {wanted}`)."
                );
            }
        }
        let pulled = push(
            on,
            &[
                ("APP_IMAGE", stack::versioned(on)?),
                ("POSTGRES_IMAGE", images.postgres.clone()),
                ("REDIS_IMAGE", images.redis.clone()),
                ("HAPROXY_IMAGE", images.haproxy.clone()),
            ],
        )?;
        on_manager(on, || stack::deploy(on, up, &pulled))?;
        // The lab's swarm talks on the lab's network alone; only node1's mapped port is here.
        if up.public {
            println!(
                "Published on every interface: anyone who reaches this machine can answer the survey on port {}.",
                up.port
            );
        } else {
            println!(
                "Published on 127.0.0.1:{} only; the lab's swarm talks on the lab's own network.",
                up.port
            );
        }
        Ok(())
    }

    fn down(&self, on: &On<'_>, volumes: bool) -> anyhow::Result<()> {
        let sh = on.sh;
        if let Ok(registry) = Registry::of(on) {
            registry.forget_pushed()?;
        }
        // The network stays with the volumes: it keeps the nodes' addresses.
        labelled::remove_containers(on)?;
        if volumes {
            super::lab_network::remove(on)?;
            stack::remove_version_tags(on);
        }
        let dir = socket_dir(on);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        let label = format!("label=survey.project={}", on.project);
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

    fn ps(&self, on: &On<'_>) -> anyhow::Result<()> {
        on_manager(on, || {
            cmd!(on.sh, "docker node ls").run()?;
            super::stack::Stack.ps(on)
        })
    }

    fn logs(&self, on: &On<'_>, follow: bool) -> anyhow::Result<()> {
        on_manager(on, || super::stack::Stack.logs(on, follow))
    }

    fn container(&self, on: &On<'_>, service: &str) -> anyhow::Result<String> {
        on_manager(on, || super::stack::Stack.container(on, service))
    }

    fn exec<'a>(
        &self,
        on: &'a On<'_>,
        service: &str,
        stdin: bool,
        tty: bool,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        // The data's services run on node1, whose engine the runner reaches.
        let container = self.container(on, service)?;
        let sh = on.sh;
        let host = manager_host(on);
        let (stdin, tty) = (stdin.then_some("--interactive"), tty.then_some("--tty"));
        Ok(cmd!(
            sh,
            "docker --host {host} exec {stdin...} {tty...} {container}"
        ))
    }

    fn scale(&self, on: &On<'_>, workers: u32) -> anyhow::Result<()> {
        on_manager(on, || super::stack::Stack.scale(on, workers))
    }

    /// As on step 06, but the new version is built here and shipped through the registry.
    fn update(&self, on: &On<'_>, broken: bool) -> anyhow::Result<()> {
        stack::update(on, broken, &Registry::of(on)?)
    }

    fn node(&self, on: &On<'_>, op: NodeOp, name: &str) -> anyhow::Result<()> {
        let sh = on.sh;
        match op {
            NodeOp::Drain { .. } | NodeOp::Activate => {
                let availability = if op == NodeOp::Activate {
                    "active"
                } else {
                    "drain"
                };
                on_manager(on, || {
                    if op == (NodeOp::Drain { force: false }) {
                        refuse_draining_what_stays(on, name)?;
                    }
                    cmd!(
                        sh,
                        "docker node update --availability {availability} {name}"
                    )
                    .ignore_stdout()
                    .run()
                    .with_context(|| format!("setting {name} to {availability}"))?;
                    stack::wait_converged(on, stack::UP_PATIENCE)?;
                    cmd!(sh, "docker node ls").run()?;
                    Ok(())
                })
            }
            NodeOp::Kill => {
                let numbers = nodes(on)?;
                let Some(n) = name
                    .strip_prefix("node")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| numbers.contains(n))
                else {
                    let names: Vec<String> = numbers.iter().map(|n| format!("node{n}")).collect();
                    bail!(
                        "there is no {name} in the lab {}: its nodes are {}",
                        on.project,
                        if names.is_empty() {
                            "none (is it up?)".to_owned()
                        } else {
                            names.join(", ")
                        }
                    );
                };
                if n == 1 {
                    bail!(
                        "node1 is the manager, and the runner's way into the swarm: kill another node"
                    );
                }
                let container = node(on, n);
                cmd!(sh, "docker kill {container}").ignore_stdout().run()?;
                on_manager(on, || {
                    // Swarm notices a silent node after its heartbeats stop (a few seconds),
                    // then starts the node's tasks elsewhere.
                    let started = Instant::now();
                    loop {
                        let format = "{{.Status.State}}";
                        let state = cmd!(sh, "docker node inspect --format {format} {name}")
                            .quiet()
                            .read()?;
                        if state.trim() == "down" {
                            break;
                        }
                        if started.elapsed() > std::time::Duration::from_secs(60) {
                            bail!("the swarm did not see {name} go down within a minute");
                        }
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                    stack::wait_converged(on, stack::UP_PATIENCE)?;
                    cmd!(sh, "docker node ls").run()?;
                    Ok(())
                })
            }
        }
    }
}
