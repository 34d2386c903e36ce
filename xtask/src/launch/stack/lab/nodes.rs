//! The lab's nodes: engines in privileged containers, made one swarm with node1 its manager,
//! or taking up the swarm they kept in their volumes; and a node lost on purpose.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::cmd;

use super::{network::LabNetwork, on_manager, socket_dir};
use crate::launch::{Instance, Up, labelled, stack::converge, stack::swarm};

/// The port the proxy publishes the survey on, inside node1; node1's container maps it to the
/// one `up` was given on this machine.
pub(super) const SURVEY_PORT: u16 = 2154;

/// The registry's name on the lab's network, as the nodes reach it.
pub(super) const REGISTRY: &str = "registry:5000";

/// The container of node `n`.
pub(super) fn node(copy: &Instance<'_>, n: u32) -> String {
    format!("{}-node{n}", copy.project)
}

/// The numbers of the lab's nodes that exist, running or not.
pub(super) fn numbers(copy: &Instance<'_>) -> anyhow::Result<Vec<u32>> {
    let prefix = format!("{}-node", copy.project);
    let mut numbers: Vec<u32> = labelled::names(copy, &[])?
        .iter()
        .filter_map(|name| name.strip_prefix(&prefix)?.parse().ok())
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// Starts the lab: its network, registry and nodes, made one swarm, node1 labelled for data.
pub(super) fn make_lab(copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
    let sh = copy.sh;
    let lab = crate::images::ensure_lab(sh, crate::images::Fetch::default())?;
    let network = LabNetwork::ensure(copy)?;
    start_registry(copy, &network, &lab.registry)?;
    let shared = socket_dir(copy);
    std::fs::create_dir_all(&shared).with_context(|| format!("creating {}", shared.display()))?;
    let count = up
        .nodes
        .or(copy.step.nodes.map(|n| n.default))
        .context("this step has no lab of nodes")?;
    for n in 1..=count {
        start_node(copy, &network, &lab.node, n, up)?;
    }
    for n in 1..=count {
        wait_engine(copy, &node(copy, n))?;
    }
    let manager = node(copy, 1);
    match swarm::State::of_node(sh, &manager)? {
        swarm::State::Inactive => {
            cmd!(
                sh,
                "docker exec {manager} docker swarm init --advertise-addr eth0"
            )
            .ignore_stdout()
            .run()
            .context("making the swarm on node1")?;
            join_workers(copy, count)?;
        }
        swarm::State::Manager { .. } => resume_swarm(copy, count)?,
        state => bail!(
            "node1's engine came back from its volume in swarm state {state:?}: `cargo xtask step {} down --volumes` deletes the lab, its answers too",
            copy.step.number
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

/// The registry, at its fixed address, its port published on 127.0.0.1 for the runner's
/// pushes, its data in a volume.
fn start_registry(copy: &Instance<'_>, network: &LabNetwork, image: &str) -> anyhow::Result<()> {
    let (sh, label) = (copy.sh, labelled::label(copy));
    let (registry, data, name, ip) = (
        labelled::container(copy, "registry"),
        format!("{}-registry", copy.project),
        &network.name,
        network.registry(),
    );
    cmd!(sh, "docker volume create --label {label} {data}")
        .ignore_stdout()
        .run()?;
    cmd!(
            sh,
            "docker run --detach --name {registry} --label {label} --network {name} --ip {ip} --network-alias registry --publish 127.0.0.1::5000 --volume {data}:/var/lib/registry {image}"
        )
        .ignore_stdout()
        .run()
        .context("starting the registry")
}

/// Node `n`, at its fixed address, its engine's data in a volume.
fn start_node(
    copy: &Instance<'_>,
    network: &LabNetwork,
    image: &str,
    n: u32,
    up: Up,
) -> anyhow::Result<()> {
    let (sh, label) = (copy.sh, labelled::label(copy));
    let (name, alias, data, ip, lab_network) = (
        node(copy, n),
        format!("node{n}"),
        format!("{}-node{n}", copy.project),
        network.node(n),
        &network.name,
    );
    cmd!(sh, "docker volume create --label {label} {data}")
        .ignore_stdout()
        .run()?;
    // The manager publishes the survey's port, on this machine's loopback only, and shares
    // its engine's socket with the runner.
    let manager: Vec<String> = if n == 1 {
        let on_address = if up.public { "" } else { "127.0.0.1:" };
        // A port of its own even where any will do: one Docker picks would change whenever
        // node1's container starts again, and a page open on the old one lose the survey.
        let port = match up.port {
            crate::launch::ANY_PORT => crate::docker::free_port()?,
            port => port,
        };
        vec![
            "--publish".into(),
            format!("{on_address}{port}:{SURVEY_PORT}"),
            "--volume".into(),
            format!("{}:/run/lab", socket_dir(copy).display()),
        ]
    } else {
        Vec::new()
    };
    // `dockerd` and its sockets named in full: given only options, the image's entry point
    // (the official one and its stand-in alike) would add a TCP listener on every interface
    // of the node, with TLS or, as `DOCKER_TLS_CERTDIR=` asks, without: a root door for
    // anything on the lab's network. node1 gets a second socket, for the runner.
    let mut sockets = vec!["--host=unix:///var/run/docker.sock".to_owned()];
    if n == 1 {
        // The socket the runner uses from this machine is made for the group that may use
        // this machine's engine (by number: the node knows no such group by name), not for
        // whatever group has the node's `docker` number here.
        sockets.extend([
            "--host=unix:///run/lab/docker.sock".to_owned(),
            format!("--group={}", docker_group(copy)?),
        ]);
    }
    // Its runtime state in memory, as /run is on a machine: a node stopped and started again
    // finds no pid file of its last run. containerd's would keep the engine from starting
    // whenever another process has that number by chance (both images' entry points remove
    // dockerd's pid files only).
    cmd!(
            sh,
            "docker run --detach --privileged --name {name} --hostname {alias} --label {label} --network {lab_network} --ip {ip} --network-alias {alias} --tmpfs /run --volume {data}:/var/lib/docker {manager...} {image} dockerd {sockets...} --insecure-registry {REGISTRY}"
        )
        .ignore_stdout()
        .run()
        .with_context(|| format!("starting {name}"))
}

/// Starts the lab's containers that are stopped (this machine restarted, say, or a node was
/// killed), then waits until their engines answer and the swarm has every node again.
/// Whether any was.
pub(super) fn wake(copy: &Instance<'_>) -> anyhow::Result<bool> {
    let sh = copy.sh;
    let stopped = labelled::names(copy, &["exited", "created"])?;
    if stopped.is_empty() {
        return Ok(false);
    }
    println!(
        "The lab's {} stopped: starting them again.",
        stopped.join(", ")
    );
    cmd!(sh, "docker start {stopped...}")
        .ignore_stdout()
        .run()?;
    let numbers = numbers(copy)?;
    for &n in &numbers {
        wait_engine(copy, &node(copy, n))?;
    }
    resume_swarm(copy, numbers.len().try_into()?)?;
    Ok(true)
}

/// The group number that may use this machine's engine: the group of the socket the runner
/// reaches it by, or else the runner's own group.
fn docker_group(copy: &Instance<'_>) -> anyhow::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    let host = copy.sh.var("DOCKER_HOST").unwrap_or_default();
    let socket = host
        .strip_prefix("unix://")
        .unwrap_or("/var/run/docker.sock");
    if let Ok(meta) = std::fs::metadata(socket) {
        return Ok(meta.gid());
    }
    let sh = copy.sh;
    let gid = cmd!(sh, "id -g")
        .quiet()
        .read()
        .context("asking for this user's group")?;
    gid.trim()
        .parse()
        .with_context(|| format!("this user's group number, `{gid}`"))
}

/// Waits until the engine in `container` answers.
fn wait_engine(copy: &Instance<'_>, container: &str) -> anyhow::Result<()> {
    let sh = copy.sh;
    let started = Instant::now();
    while !crate::docker::succeeds(cmd!(sh, "docker exec {container} docker info")) {
        if started.elapsed() > Duration::from_secs(90) {
            let logs = cmd!(sh, "docker logs --tail 20 {container}")
                .quiet()
                .ignore_stderr()
                .read()
                .unwrap_or_default();
            bail!("the engine in {container} did not start within 90 s:\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// Joins nodes 2 to `count` to node1's swarm as workers. The token is a password to the
/// swarm: it is passed along, never printed.
fn join_workers(copy: &Instance<'_>, count: u32) -> anyhow::Result<()> {
    let (sh, manager) = (copy.sh, node(copy, 1));
    let token = cmd!(
        sh,
        "docker exec {manager} docker swarm join-token --quiet worker"
    )
    .quiet()
    .read()?;
    for n in 2..=count {
        let name = node(copy, n);
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
/// `network.rs`), so the swarm comes together by itself; this waits until every node is Ready
/// again.
fn resume_swarm(copy: &Instance<'_>, count: u32) -> anyhow::Result<()> {
    let (sh, manager) = (copy.sh, node(copy, 1));
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
        if started.elapsed() > Duration::from_secs(90) {
            bail!(
                "the lab's swarm did not come together again within 90 s:\n{listed}\n(`cargo xtask step {} down --volumes` starts the lab afresh, its answers deleted)",
                copy.step.number
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Kills node `name`'s container (not node1, the manager and the runner's way in), waits
/// until the swarm sees it down and has started its tasks elsewhere, and lists the nodes.
pub(super) fn kill(copy: &Instance<'_>, name: &str) -> anyhow::Result<()> {
    let sh = copy.sh;
    let numbers = numbers(copy)?;
    let Some(n) = name
        .strip_prefix("node")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| numbers.contains(n))
    else {
        let names: Vec<String> = numbers.iter().map(|n| format!("node{n}")).collect();
        bail!(
            "there is no {name} in the lab {}: its nodes are {}",
            copy.project,
            if names.is_empty() {
                "none (is it up?)".to_owned()
            } else {
                names.join(", ")
            }
        );
    };
    if n == 1 {
        bail!("node1 is the manager, and the runner's way into the swarm: kill another node");
    }
    let container = node(copy, n);
    cmd!(sh, "docker kill {container}").ignore_stdout().run()?;
    on_manager(copy, || {
        wait_down(copy, name)?;
        converge::wait_converged(copy, converge::UP_PATIENCE)?;
        cmd!(sh, "docker node ls").run()?;
        Ok(())
    })
}

/// Swarm notices a silent node after its heartbeats stop (a few seconds), then starts the
/// node's tasks elsewhere.
fn wait_down(copy: &Instance<'_>, name: &str) -> anyhow::Result<()> {
    let sh = copy.sh;
    let started = Instant::now();
    let format = "{{.Status.State}}";
    while cmd!(sh, "docker node inspect --format {format} {name}")
        .quiet()
        .read()?
        .trim()
        != "down"
    {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the swarm did not see {name} go down within a minute");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}
