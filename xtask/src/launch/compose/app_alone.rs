//! `up` on a running step when only the app's services can have changed: `--no-deps` names the
//! services that run the app's image, so Compose neither touches the others nor waits half a
//! second for each of them to report healthy again, and the runner waits for the app's
//! health itself, ten times a second, where `--wait` looks every half second.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use xshell::cmd;

use super::{containers, for_up, listed, wait_healthy, whole};
use crate::launch::{Instance, Up};

/// What runs, when the app's services alone may need replacing.
pub struct AppAlone {
    /// The services that run the step's image (the app, and the workers where there are).
    services: Vec<String>,
    /// Every other service: running, healthy, configured as the file says now.
    others: Vec<String>,
    /// Whether the app's containers were all started with the rest (their configuration hash
    /// is the whole project's). Compose hashes a service named with `--no-deps` without its
    /// `depends_on` on the services left out, so such a container would be replaced even if
    /// nothing changed: the image is then built first, and if it did not change, Compose
    /// weighs every service as usual. (The workers depend on the app alone, which is named
    /// with them, so their hash is the same either way.)
    started_with_the_rest: bool,
    /// The images the app's containers run (IDs).
    running_images: BTreeSet<String>,
}

impl AppAlone {
    /// Whether only the app's services can have changed: every service that does not run the
    /// step's image runs healthy, one container each, with the configuration the file gives it
    /// now (Compose keeps a hash of it in a label; `config --hash` gives the file's). `None`
    /// when anything else differs or cannot be told.
    pub fn find(copy: &Instance<'_>, up: &Up) -> Option<Self> {
        let sh = copy.sh;
        // Probes: when one fails, Compose's own `up` weighs every service.
        let wanted = for_up(copy, up)
            .ok()?
            .args(["config", "--hash", "*"])
            .quiet()
            .ignore_stderr()
            .read()
            .ok()?;
        let wanted: BTreeMap<&str, &str> = wanted
            .lines()
            .filter_map(|line| line.split_once(' '))
            .collect();
        let ids = containers(copy).ok()?;
        if ids.is_empty() {
            return None;
        }
        let format = "{{index .Config.Labels \"com.docker.compose.service\"}} {{.Config.Image}} {{.Image}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{index .Config.Labels \"com.docker.compose.config-hash\"}}";
        let states = cmd!(sh, "docker inspect --format {format} {ids...}")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()?;
        let image = tagged(copy.step.image(sh));
        let mut found = Self {
            services: Vec::new(),
            others: Vec::new(),
            started_with_the_rest: true,
            running_images: BTreeSet::new(),
        };
        let mut services = BTreeSet::new();
        for line in states.lines() {
            let [service, runs, id, state, health, hash] = line.split(' ').collect::<Vec<_>>()[..]
            else {
                return None;
            };
            let as_the_file_says = wanted.get(service) == Some(&hash);
            if !wanted.contains_key(service) {
                // A service the file no longer has: Compose's own `up` says what to do.
                return None;
            }
            if runs == image {
                services.insert(service.to_owned());
                found.running_images.insert(id.to_owned());
                found.started_with_the_rest &= as_the_file_says;
            } else if state == "running"
                && matches!(health, "healthy" | "none")
                && as_the_file_says
                && !found.others.iter().any(|o| o == service)
            {
                found.others.push(service.to_owned());
            } else {
                return None;
            }
        }
        let every_service_runs = wanted
            .keys()
            .all(|s| services.contains(*s) || found.others.iter().any(|o| o == s));
        found.services = services.into_iter().collect();
        (every_service_runs && !found.services.is_empty() && !found.others.is_empty())
            .then_some(found)
    }

    /// Replaces the app's services alone (with `scale`), if their image changed, and waits
    /// until they are healthy.
    pub fn replace(&self, copy: &Instance<'_>, up: &Up, scale: &[&str]) -> anyhow::Result<()> {
        let sh = copy.sh;
        println!(
            "The rest ({}) runs as the file says, and is healthy: only the app's services can have changed.",
            self.others.join(", ")
        );
        let mut build = Some("--build");
        if self.started_with_the_rest {
            for_up(copy, up)?
                .arg("build")
                .args(&self.services)
                .run()
                .context("building the app's image")?;
            let built = crate::images::id(sh, &copy.step.image(sh)).unwrap_or_default();
            if self.running_images.iter().all(|id| *id == built) {
                println!("The app's image did not change.");
                return whole(copy, up, &[], scale);
            }
            build = None;
        }
        println!(
            "`--no-deps` names {} alone: Compose replaces what changed there and leaves {} be.",
            self.services.join(", "),
            self.others.join(", ")
        );
        for_up(copy, up)?
            .args(["up", "--detach", "--no-deps"])
            .args(build)
            .args(scale)
            .args(&self.services)
            .run()?;
        let names = service_containers(copy, &self.services)?;
        wait_healthy(copy, &names, &self.services.join(", "))
    }
}

/// The Compose files name the tag, `latest` unless SURVEY_TAG says otherwise.
fn tagged(image: String) -> String {
    match image.rsplit('/').next() {
        Some(last) if last.contains(':') => image,
        _ => format!("{image}:latest"),
    }
}

/// The containers of `services`.
fn service_containers(copy: &Instance<'_>, services: &[String]) -> anyhow::Result<Vec<String>> {
    let listed = listed(copy, "{{.Names}} {{.Label \"com.docker.compose.service\"}}")?;
    Ok(listed
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, service)| services.iter().any(|s| s == service))
        .map(|(name, _)| name.to_owned())
        .collect())
}
