//! Versions and rolling updates. The stack runs the app image by a name made of its id
//! (`survey/step-06-swarm:1a2b3c4d5e6f`): a rebuilt image gets a new name, so deploying it
//! again is a rolling update, and deploying an unchanged one changes nothing. `update` builds
//! a real new version FROM the running one, and watches Swarm roll it out, or back.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::cmd;

use super::service;
use crate::launch::{Instance, Service};

/// Where the swarm is, seen from the engine that builds the images: the same engine (step
/// 06), or one that ships images through a registry (step 07's lab).
pub(super) trait Shipping {
    /// The swarm's engine, for `DOCKER_HOST`, when it is not this one.
    fn swarm_host(&self) -> Option<String>;
    /// The name, on the building engine, of an image the swarm runs as `running`.
    fn local_name(&self, running: &str) -> anyhow::Result<String>;
    /// Makes the image `built` available to the swarm; returns the name the swarm knows.
    fn ship(&self, built: &str) -> anyhow::Result<String>;
}

/// The swarm runs on this engine: its images are the swarm's.
pub(super) struct ThisEngine;

impl Shipping for ThisEngine {
    fn swarm_host(&self) -> Option<String> {
        None
    }
    fn local_name(&self, running: &str) -> anyhow::Result<String> {
        Ok(running.to_owned())
    }
    fn ship(&self, built: &str) -> anyhow::Result<String> {
        Ok(built.to_owned())
    }
}

/// The app image tagged by its id, the name the stack runs it by. Older such tags that
/// nothing runs are dropped.
pub(super) fn versioned(copy: &Instance<'_>) -> anyhow::Result<String> {
    let (sh, image) = (copy.sh, copy.step.image(copy.sh));
    let id = crate::images::id(sh, &image).with_context(|| format!("{image} is not built"))?;
    let short = id
        .trim_start_matches("sha256:")
        .get(..12)
        .unwrap_or_default();
    let repository = image.split(':').next().unwrap_or_default();
    let tagged = format!("{repository}:{short}");
    cmd!(sh, "docker tag {image} {tagged}").run()?;
    remove_tags(copy, |tag| tag != short && is_image_id(tag))?;
    Ok(tagged)
}

/// The image the stack's app service runs, as its spec names it.
pub(super) fn app_image(copy: &Instance<'_>) -> anyhow::Result<String> {
    let (sh, app) = (copy.sh, service(copy, Service::App));
    let format = "{{.Spec.TaskTemplate.ContainerSpec.Image}}";
    Ok(cmd!(sh, "docker service inspect --format {format} {app}")
        .quiet()
        .read()?)
}

/// After a deploy on a running stack: says whether the app image changed from `before` to
/// `now`, and if so watches Swarm roll it out.
pub(super) fn watch_deployed(copy: &Instance<'_>, before: &str, now: &str) -> anyhow::Result<()> {
    if !changes(before, now) {
        println!("The app's image is unchanged: nothing to roll out.");
        return Ok(());
    }
    println!("A new app image: Swarm rolls it out, one task at a time.");
    watch_update(copy, &service(copy, Service::App))?;
    watch_update(copy, &service(copy, Service::Worker))
}

/// Whether deploying the app image `now` over `before` (as the service's spec names it) is a
/// new image. Swarm keeps the digest it resolved beside the name: names are compared.
pub(super) fn changes(before: &str, now: &str) -> bool {
    before.split('@').next().unwrap_or_default().trim() != now
}

/// An image's repository: its name without its tag, or the digest Swarm adds
/// (`registry:5000/survey/step-07-multinode:2@sha256:…` is
/// `registry:5000/survey/step-07-multinode`).
pub(super) fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    image
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(image, |(repository, _)| repository)
}

/// Removes the tags `up` and `update` made for the stack: the image ids it ran, the versions
/// `update` built (`:2`, `:3`, ...) and `:broken`. The image `up` builds stays, for the cache.
pub(in crate::launch) fn remove_version_tags(copy: &Instance<'_>) {
    let made = |tag: &str| {
        is_image_id(tag)
            || tag == "broken"
            || (!tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Err(err) = remove_tags(copy, made) {
        eprintln!("warning: the stack's image tags were not all removed: {err:#}");
    }
}

/// Rolls out a new version of the app (and the workers), or with `broken` one that never gets
/// healthy, printing the tasks as Swarm replaces them. The new version is a real new image,
/// built FROM the running one with the next SURVEY_VERSION.
pub(super) fn update(
    copy: &Instance<'_>,
    broken: bool,
    shipping: &dyn Shipping,
) -> anyhow::Result<()> {
    let sh = copy.sh;
    let on_swarm = || {
        shipping
            .swarm_host()
            .map(|host| sh.push_env("DOCKER_HOST", host))
    };
    let running = {
        let _swarm = on_swarm();
        app_image(copy).with_context(|| {
            format!("finding the app's image (is step {} up?)", copy.step.number)
        })?
    };
    // Drop the registry digest a reference may carry: the tag is what is built FROM.
    let current = shipping.local_name(running.split('@').next().unwrap_or_default())?;
    let next = Version::after(copy, &current, broken)?;
    eprintln!(
        "$ docker build --tag {} -   <<< '{}'",
        next.tag,
        next.dockerfile.replace('\n', "; ").trim_end_matches("; ")
    );
    let tag = &next.tag;
    cmd!(sh, "docker build --quiet --tag {tag} -")
        .stdin(&next.dockerfile)
        .quiet()
        .ignore_stdout()
        .run()
        .context("building the new version")?;
    let shipped = shipping.ship(tag)?;
    let _swarm = on_swarm();
    for name in next.services.iter().map(|s| service(copy, *s)) {
        cmd!(
            sh,
            "docker service update --detach --image {shipped} {name}"
        )
        .ignore_stdout()
        .run()
        .with_context(|| format!("updating {name}"))?;
        watch_update(copy, &name)?;
    }
    Ok(())
}

/// The version `update` builds: its tag, its Dockerfile, the services that take it.
struct Version {
    tag: String,
    dockerfile: String,
    services: Vec<Service>,
}

impl Version {
    /// The one after `current`, or the broken one.
    fn after(copy: &Instance<'_>, current: &str, broken: bool) -> anyhow::Result<Self> {
        let sh = copy.sh;
        let env_format = "{{range .Config.Env}}{{println .}}{{end}}";
        let env = cmd!(sh, "docker image inspect --format {env_format} {current}")
            .quiet()
            .read()?;
        let version: u32 = env
            .lines()
            .find_map(|l| l.strip_prefix("SURVEY_VERSION="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let repository = repository(current);
        Ok(if broken {
            // Listens on 5001 while its healthcheck asks 5000: it starts, and never gets
            // healthy, so Swarm rolls the update back by itself.
            Self {
                tag: format!("{repository}:broken"),
                dockerfile: format!(
                    "FROM {current}\nENTRYPOINT [\"/survey\", \"--port\", \"5001\"]\n"
                ),
                services: vec![Service::App],
            }
        } else {
            let next = version + 1;
            Self {
                tag: format!("{repository}:{next}"),
                dockerfile: format!("FROM {current}\nENV SURVEY_VERSION={next}\n"),
                services: vec![Service::App, Service::Worker],
            }
        })
    }
}

/// Follows a rolling update of `name`, printing its state and tasks as they change, until it
/// is complete or rolled back.
fn watch_update(copy: &Instance<'_>, name: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let (state, tasks, on_spec) = update_state(copy, name)?;
        let now = format!("{name}: update {state}\n    {tasks}");
        if now != last {
            println!("[{:>5.1}s] {now}", started.elapsed().as_secs_f64());
            last = now;
        }
        match state.trim() {
            // The state of the last update stays until Swarm begins the next: done when the
            // tasks run what the spec now names.
            "completed" | "rollback_completed" if !on_spec => {}
            "completed" => return Ok(()),
            "rollback_completed" => {
                println!(
                    "The new version never got healthy: Swarm rolled {name} back to the previous one."
                );
                return Ok(());
            }
            "paused" | "rollback_paused" => {
                bail!("the update of {name} is {state}: see `docker service ps {name}`")
            }
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the update of {name} did not finish within 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The state of `name`'s update, its running tasks (a line each), and whether they all run
/// the image its spec names.
fn update_state(copy: &Instance<'_>, name: &str) -> anyhow::Result<(String, String, bool)> {
    let sh = copy.sh;
    let state_format = "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}} {{.Spec.TaskTemplate.ContainerSpec.Image}}";
    let tasks_format = "{{.Name}}\t{{.Image}}\t{{.CurrentState}}";
    let inspected = cmd!(sh, "docker service inspect --format {state_format} {name}")
        .quiet()
        .read()?;
    let (state, spec) = inspected.rsplit_once(' ').unwrap_or(("", &inspected));
    let spec = spec.split('@').next().unwrap_or_default();
    let tasks = cmd!(
        sh,
        "docker service ps --filter desired-state=running --format {tasks_format} {name}"
    )
    .quiet()
    .read()?;
    let on_spec = tasks
        .lines()
        .all(|line| line.split('\t').nth(1).is_some_and(|image| image == spec));
    let tasks = tasks
        .lines()
        .map(|line| {
            // "Running 3 seconds ago" changes every second; the state is what matters.
            let mut fields: Vec<&str> = line.split('\t').collect();
            if let Some(current) = fields.get_mut(2) {
                *current = current.split_whitespace().next().unwrap_or_default();
            }
            fields.join("  ")
        })
        .collect::<Vec<_>>()
        .join("\n    ");
    Ok((state.trim().to_owned(), tasks, on_spec))
}

/// Whether `tag` is one [`versioned`] makes: the first 12 digits of an image's id.
fn is_image_id(tag: &str) -> bool {
    tag.len() == 12 && tag.chars().all(|c| c.is_ascii_hexdigit())
}

/// Removes the step's image tags that `which` picks, but those a container still uses.
fn remove_tags(copy: &Instance<'_>, which: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let (sh, image) = (copy.sh, copy.step.image(copy.sh));
    let repository = image.split(':').next().unwrap_or_default();
    let format = "{{.Tag}}";
    let tags = cmd!(sh, "docker image ls {repository} --format {format}")
        .quiet()
        .read()?;
    for tag in tags.lines().filter(|t| which(t)) {
        // Refused while a container (a task kept in the service's history) uses it.
        let _ = cmd!(sh, "docker image rm {repository}:{tag}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }
    Ok(())
}
