//! Step 07's lab network, on which every node keeps the same address from one `up` to the
//! next. A swarm's manager is known to its nodes by its address: were node1 to come back at
//! another one after a plain `down`, the other nodes could not find it (a swarm records its
//! managers' addresses, and even `swarm init --force-new-cluster` keeps the old one). So the
//! network is made with a subnet of its own, the one Docker picks for it, each container gets
//! a fixed address in it, and a plain `down` keeps the network, and with it the subnet.

use std::net::Ipv4Addr;

use anyhow::{Context, bail};
use xshell::cmd;

use crate::launch::{Instance, labelled};

/// The lab's network and the addresses on it.
pub struct LabNetwork {
    pub name: String,
    base: u32,
}

/// Where the fixed addresses start in the subnet: past the gateway and the few addresses
/// Docker hands out first.
const FIRST_FIXED: u32 = 200;

impl LabNetwork {
    /// The network, as a plain `down` kept it, or made now.
    pub fn ensure(copy: &Instance<'_>) -> anyhow::Result<Self> {
        let sh = copy.sh;
        let name = format!("{}-lab", copy.project);
        if !crate::docker::succeeds(cmd!(sh, "docker network inspect {name}")) {
            let label = labelled::label(copy);
            // Docker picks a free subnet; made again with it, the subnet is the network's own,
            // and a container may be given a fixed address in it.
            cmd!(sh, "docker network create --label {label} {name}")
                .ignore_stdout()
                .run()
                .context("creating the lab's network")?;
            let subnet = subnet(copy, &name)?;
            cmd!(sh, "docker network rm {name}").ignore_stdout().run()?;
            cmd!(
                sh,
                "docker network create --label {label} --subnet {subnet} {name}"
            )
            .ignore_stdout()
            .run()
            .context("creating the lab's network with its own subnet")?;
        }
        let subnet = subnet(copy, &name)?;
        let (address, prefix) = subnet
            .split_once('/')
            .with_context(|| format!("the lab's subnet {subnet}"))?;
        let (address, prefix): (Ipv4Addr, u32) = (
            address
                .parse()
                .with_context(|| format!("the lab's subnet {subnet}"))?,
            prefix
                .parse()
                .with_context(|| format!("the lab's subnet {subnet}"))?,
        );
        if prefix > 24 {
            bail!("the lab's network {name} has the subnet {subnet}: it needs a /24 or larger");
        }
        Ok(Self {
            name,
            base: u32::from(address),
        })
    }

    /// The registry's address.
    pub fn registry(&self) -> String {
        Ipv4Addr::from(self.base + FIRST_FIXED).to_string()
    }

    /// Node `n`'s address.
    pub fn node(&self, n: u32) -> String {
        Ipv4Addr::from(self.base + FIRST_FIXED + n).to_string()
    }
}

/// The IPv4 subnet of the network `name`.
fn subnet(copy: &Instance<'_>, name: &str) -> anyhow::Result<String> {
    let sh = copy.sh;
    let format = "{{range .IPAM.Config}}{{.Subnet}} {{end}}";
    let subnets = cmd!(sh, "docker network inspect --format {format} {name}")
        .quiet()
        .read()?;
    subnets
        .split_whitespace()
        .find(|s| s.contains('.'))
        .map(str::to_owned)
        .with_context(|| format!("the network {name} has no IPv4 subnet"))
}

/// Removes the lab's network (`down --volumes`).
pub fn remove(copy: &Instance<'_>) -> anyhow::Result<()> {
    labelled::remove_networks(copy)
}
