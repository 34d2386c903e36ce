//! The lab's registry: the nodes pull the stack's images from it, the runner pushes them
//! through its port on 127.0.0.1. This is how the lab ships what this engine builds.

use anyhow::{Context, bail};
use xshell::cmd;

use super::{manager_host, nodes::REGISTRY};
use crate::launch::{Instance, labelled, stack::rollout::Shipping};

/// The lab's registry, as this machine reaches it (127.0.0.1:PORT) and as the nodes do.
pub(super) struct Registry<'a> {
    copy: &'a Instance<'a>,
    local: String,
}

impl<'a> Registry<'a> {
    pub fn of(copy: &'a Instance<'a>) -> anyhow::Result<Self> {
        let sh = copy.sh;
        let registry = labelled::container(copy, "registry");
        let local = crate::docker::published(sh, &registry, 5000)?
            .into_iter()
            .find(|l| l.starts_with("127.0.0.1:"))
            .context("the registry's port on 127.0.0.1 (is the lab up?)")?;
        Ok(Self { copy, local })
    }

    /// Tags `image` for the registry, pushes it, returns the name the nodes pull it by.
    pub fn push(&self, image: &str) -> anyhow::Result<String> {
        let sh = self.copy.sh;
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
    pub fn forget_pushed(&self) -> anyhow::Result<()> {
        let sh = self.copy.sh;
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

impl Shipping for Registry<'_> {
    fn swarm_host(&self) -> Option<String> {
        Some(manager_host(self.copy))
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
