//! The stand-ins under their official names, for a test run in official-image mode.

use anyhow::Context;
use xshell::{Shell, cmd};

use super::{
    Images, LabImages, LocalImages, OFFICIAL_BUILDER, OFFICIAL_DIND, OFFICIAL_HAPROXY,
    OFFICIAL_POSTGRES, OFFICIAL_PROMETHEUS, OFFICIAL_REDIS, OFFICIAL_REGISTRY, ObserveImages,
};

/// The images in use under their official names, as a machine with Docker Hub has them, for
/// a test run: each stand-in in use is tagged with its official image's name (an official
/// image that is here already is left as it is), so that the tests run in official-image mode
/// find them by those names, through the runner's own choice, with no variable set. The tags
/// made are removed on drop, Ctrl-C included (the test run holds it).
#[derive(Debug)]
pub struct OfficialNames {
    made: Vec<&'static str>,
}

impl OfficialNames {
    pub fn tag(
        sh: &Shell,
        images: &Images,
        lab: &LabImages,
        observe: &ObserveImages,
    ) -> anyhow::Result<Self> {
        let here = LocalImages::list(sh)?;
        let pairs = [
            (&images.builder, OFFICIAL_BUILDER),
            (&images.postgres, OFFICIAL_POSTGRES),
            (&images.redis, OFFICIAL_REDIS),
            (&images.haproxy, OFFICIAL_HAPROXY),
            (&lab.node, OFFICIAL_DIND),
            (&lab.registry, OFFICIAL_REGISTRY),
            (&observe.prometheus, OFFICIAL_PROMETHEUS),
        ];
        let mut names = Self { made: Vec::new() };
        for (in_use, official) in pairs {
            if here.has(official) {
                continue;
            }
            cmd!(sh, "docker tag {in_use} {official}")
                .run()
                .with_context(|| format!("naming {in_use} {official}"))?;
            names.made.push(official);
        }
        Ok(names)
    }
}

impl Drop for OfficialNames {
    fn drop(&mut self) {
        if self.made.is_empty() {
            return;
        }
        let made = &self.made;
        // The stand-ins keep their own names: only these go.
        if let Ok(sh) = Shell::new() {
            let _ = cmd!(sh, "docker image rm {made...}").ignore_stdout().run();
        }
    }
}
