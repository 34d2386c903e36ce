//! The swarm this engine is in (step 06): made by `up` when there is none, kept by a plain
//! `down` (it holds the stack's secrets, which the data needs), left by `down --volumes` only
//! if `up` made it and nothing else is on it.
//!
//! A swarm `up` makes is private unless asked otherwise: its control ports listen on
//! 127.0.0.1, and its tasks' published ports too, since they are published through the
//! `docker_gwbridge` network, which `up` makes first with 127.0.0.1 as its address for
//! published ports. (Swarm itself has no `127.0.0.1:` form for a published port.)

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// The node label that says `up` made this swarm.
const MADE_BY: &str = "survey.swarm-made-by=xtask";

/// The bridge through which a swarm's tasks reach the host, and its ports are published.
const GWBRIDGE: &str = "docker_gwbridge";

/// What `docker info` is asked, for [`State::parse`].
const INFO: &str = "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}";

/// The engine's place in a swarm, as `docker info` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// In no swarm.
    Inactive,
    /// A manager of a swarm: stacks can be deployed here.
    Manager { node: String },
    /// A worker node of a swarm.
    Worker,
    /// Joining, leaving, or in error: `docker info` says which.
    Other(String),
}

impl State {
    /// Asks the engine `sh` talks to.
    pub fn of(sh: &Shell) -> anyhow::Result<Self> {
        let line = cmd!(sh, "docker info --format {INFO}")
            .quiet()
            .read()
            .context("asking Docker for its swarm state")?;
        Ok(Self::parse(&line))
    }

    /// Asks the engine in the container `node` (a node of step 07's lab).
    pub fn of_node(sh: &Shell, node: &str) -> anyhow::Result<Self> {
        let line = cmd!(sh, "docker exec {node} docker info --format {INFO}")
            .quiet()
            .read()
            .with_context(|| format!("asking the engine in {node} for its swarm state"))?;
        Ok(Self::parse(&line))
    }

    /// Reads `docker info`'s `STATE CONTROL NODE-ID` line.
    fn parse(line: &str) -> Self {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("inactive"), _, _) => Self::Inactive,
            (Some("active"), Some("true"), Some(node)) => Self::Manager { node: node.into() },
            (Some("active"), _, _) => Self::Worker,
            _ => Self::Other(line.trim().to_owned()),
        }
    }
}

/// Where a swarm's published ports (and its own ports) listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// 127.0.0.1 only: this machine.
    Private,
    /// Every interface: anyone who can reach this machine.
    Public,
}

impl Reach {
    /// As `up --public` asks, or not.
    pub fn asked(public: bool) -> Self {
        if public { Self::Public } else { Self::Private }
    }
}

/// Makes this engine a swarm manager: as it is, or a new one-node swarm reachable as `reach`
/// says. Returns where the swarm publishes.
pub fn ensure(sh: &Shell, reach: Reach) -> anyhow::Result<Reach> {
    match State::of(sh)? {
        State::Manager { .. } => {
            let publishes = publishes(sh);
            if reach == Reach::Public && publishes == Reach::Private {
                bail!(
                    "this engine's swarm publishes on 127.0.0.1 only (`up` made it so): for `--public`, \
                     `down --volumes` first (it deletes the answers), then `up --public`"
                );
            }
            Ok(publishes)
        }
        State::Worker => bail!(
            "this engine is a worker node of a swarm: stacks are deployed from a manager (`docker node promote` it from one, or run this there)"
        ),
        State::Inactive => {
            println!(
                "This engine is not in a swarm yet: making it a one-node swarm{} (`down --volumes` leaves it again).",
                match reach {
                    Reach::Private => ", reachable from this machine only",
                    Reach::Public => ", reachable from your network (--public)",
                }
            );
            // Made and marked as one: a Ctrl-C in between would leave a swarm that no
            // `down` knows it may leave.
            crate::interrupt::uninterrupted(|| make(sh, reach))?;
            Ok(reach)
        }
        State::Other(state) => {
            bail!("this engine's swarm is in state `{state}`: see `docker info`")
        }
    }
}

/// `docker swarm init`, private or public, and the node marked as made by the runner.
fn make(sh: &Shell, reach: Reach) -> anyhow::Result<()> {
    use crate::interrupt::shielded;
    // An earlier swarm's bridge stays after it is left, and the new swarm would take it as it
    // is: kept if it already publishes as asked, else made again.
    let bridge = crate::docker::succeeds(cmd!(sh, "docker network inspect {GWBRIDGE}"));
    if bridge && publishes(sh) != reach {
        shielded(cmd!(sh, "docker network rm {GWBRIDGE}"))
            .context("removing the docker_gwbridge network an earlier swarm left")?;
    }
    let init = match reach {
        Reach::Private => {
            if publishes(sh) != Reach::Private {
                // Docker's usual options for this bridge, and 127.0.0.1 for what is published.
                let made = shielded(cmd!(
                    sh,
                    "docker network create --opt com.docker.network.bridge.name={GWBRIDGE} --opt com.docker.network.bridge.enable_icc=false --opt com.docker.network.bridge.enable_ip_masquerade=true --opt com.docker.network.bridge.host_binding_ipv4=127.0.0.1 {GWBRIDGE}"
                ));
                // Another `up` may have made it meanwhile (tests run in parallel): fine too.
                if made.is_err() && publishes(sh) != Reach::Private {
                    made.context("making the docker_gwbridge network")?;
                }
            }
            shielded(cmd!(
                sh,
                "docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 --data-path-addr 127.0.0.1"
            ))
        }
        Reach::Public => shielded(cmd!(sh, "docker swarm init")),
    };
    let node = match (init, State::of(sh)?) {
        (_, State::Manager { node }) => node,
        (Err(err), _) => {
            return Err(err).context(
                "making a swarm (with several network interfaces, run `docker swarm init --advertise-addr ADDRESS` yourself)",
            );
        }
        (Ok(_), state) => bail!("made a swarm, but this engine is in state {state:?}"),
    };
    shielded(cmd!(sh, "docker node update --label-add {MADE_BY} {node}"))
        .context("marking the node as made by this runner")?;
    Ok(())
}

/// Where the tasks' published ports listen: on 127.0.0.1 when the swarm's bridge says so.
pub fn publishes(sh: &Shell) -> Reach {
    let format = "{{index .Options \"com.docker.network.bridge.host_binding_ipv4\"}}";
    match cmd!(sh, "docker network inspect --format {format} {GWBRIDGE}")
        .quiet()
        .ignore_stderr()
        .read()
    {
        Ok(address) if address.trim() == "127.0.0.1" => Reach::Private,
        _ => Reach::Public,
    }
}

/// One line on who can reach the survey on `port`.
pub fn say_reach(reach: Reach, port: u16) {
    match reach {
        Reach::Private => println!(
            "Published on 127.0.0.1:{port} only, and the swarm's own ports too: nothing answers from your network (UDP 4789, VXLAN's, is the kernel's: see the chapter)."
        ),
        Reach::Public => println!(
            "Published on every interface: anyone who reaches this machine can answer the survey on port {port}, and may reach the swarm's ports (2377, 7946, 4789)."
        ),
    }
}

/// Leaves the swarm if `up` made it and nothing is left on it (stacks, services, secrets,
/// configs: leaving would delete them).
pub fn leave_if_made(sh: &Shell) -> anyhow::Result<()> {
    let State::Manager { node } = State::of(sh)? else {
        return Ok(());
    };
    let labels_format = "{{json .Spec.Labels}}";
    let labels = cmd!(sh, "docker node inspect --format {labels_format} {node}")
        .quiet()
        .read()
        .unwrap_or_default();
    if !labels.contains("\"survey.swarm-made-by\":\"xtask\"") {
        return Ok(());
    }
    let format = "{{.Name}}";
    let mut left = Vec::new();
    for kind in ["service", "secret", "config"] {
        let names = cmd!(sh, "docker {kind} ls --format {format}")
            .quiet()
            .read()?;
        left.extend(names.split_whitespace().map(|n| format!("{kind} {n}")));
    }
    if !left.is_empty() {
        println!(
            "The swarm `up` made stays: other things are on it ({}).",
            left.join(", ")
        );
        return Ok(());
    }
    println!("Leaving the swarm `up` made, as the engine was before.");
    cmd!(sh, "docker swarm leave --force")
        .ignore_stdout()
        .run()?;
    // Swarm made (or took) this bridge for its containers' outside traffic; leaving keeps it.
    if crate::docker::succeeds(cmd!(sh, "docker network inspect {GWBRIDGE}")) {
        cmd!(sh, "docker network rm {GWBRIDGE}")
            .ignore_stdout()
            .run()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::State;

    #[test]
    fn states_read_from_docker_info() {
        assert_eq!(State::parse("inactive false "), State::Inactive);
        assert_eq!(
            State::parse("active true abc123"),
            State::Manager {
                node: "abc123".into()
            }
        );
        assert_eq!(State::parse("active false abc123"), State::Worker);
        assert_eq!(
            State::parse("error false "),
            State::Other("error false".into())
        );
    }
}
