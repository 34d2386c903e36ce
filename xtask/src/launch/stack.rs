//! Step 06: a Swarm stack, `docker stack deploy` of a stack file under `compose/`.
//!
//! `up` makes this engine a one-node swarm if it is not in one (see `swarm.rs`), creates the
//! stack's secrets with random passwords, deploys, and waits until every service has all its
//! replicas running and healthy. Stacks do not build: the app image is built and tagged
//! before. A plain `down` removes the stack and keeps the volumes, the secrets and the swarm
//! that holds them, so that the next `up` finds the answers with the passwords they need.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use xshell::cmd;

use super::{
    Launcher, On, Up,
    swarm::{self, Reach},
};
use crate::images::Images;

/// A Swarm stack.
pub struct Stack;

/// The stack's secrets: each gets a random password, except `redis-auth.conf`, which is the
/// Redis password as a line of Redis configuration.
const SECRETS: [&str; 4] = [
    "db-password",
    "app-db-password",
    "redis-password",
    "redis-auth.conf",
];

/// How long `up` waits for every replica to be running and healthy.
pub(super) const UP_PATIENCE: Duration = Duration::from_secs(240);

fn service(on: &On<'_>, name: &str) -> String {
    format!("{}_{name}", on.project)
}

/// A random password: 32 hexadecimal digits from the kernel's random source.
fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?,
        &mut bytes,
    )
    .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates the stack's secrets that do not exist yet. They outlive `down` with the volumes,
/// since the database in the volume knows its passwords; `down --volumes` removes both.
fn ensure_secrets(on: &On<'_>) -> anyhow::Result<()> {
    let sh = on.sh;
    let label = format!("survey.project={}", on.project);
    let exists = |name: &str| crate::docker::succeeds(cmd!(sh, "docker secret inspect {name}"));
    let redis = service(on, "redis-password");
    let redis_password = if exists(&redis) {
        None
    } else {
        Some(random_password()?)
    };
    for secret in SECRETS {
        let name = service(on, secret);
        if exists(&name) {
            continue;
        }
        let value = match secret {
            "redis-password" => redis_password.clone().unwrap_or_default(),
            "redis-auth.conf" => match &redis_password {
                Some(password) => format!("requirepass {password}\n"),
                None => bail!(
                    "the secret {name} is missing but {redis} exists: remove both (`cargo xtask step {} down --volumes`)",
                    on.step.number
                ),
            },
            _ => random_password()?,
        };
        // The value goes through standard input: it is never on a command line or in a file.
        cmd!(sh, "docker secret create --label {label} {name} -")
            .stdin(value)
            .ignore_stdout()
            .run()
            .with_context(|| format!("creating the secret {name}"))?;
    }
    Ok(())
}

/// The stack's services and their replicas, "NAME RUNNING/WANTED" per line.
fn replicas(on: &On<'_>) -> anyhow::Result<String> {
    let (sh, stack) = (on.sh, &on.project);
    let format = "{{.Name}} {{.Replicas}}";
    Ok(cmd!(sh, "docker stack services {stack} --format {format}")
        .quiet()
        .read()?)
}

/// Waits until every service runs all its replicas (with a healthcheck: all healthy),
/// printing the counts as they change.
pub(super) fn wait_converged(on: &On<'_>, patience: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last = String::new();
    eprintln!("waiting for every replica to be running and healthy:");
    loop {
        let now = replicas(on)?;
        let mut lines: Vec<&str> = now.lines().collect();
        lines.sort();
        let summary = lines
            .iter()
            .map(|l| l.replacen(&format!("{}_", on.project), "", 1))
            .collect::<Vec<_>>()
            .join(", ");
        let done = !lines.is_empty()
            && lines.iter().all(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|r| r.split_once('/'))
                    // More than wanted happens when a node is lost: its tasks still count
                    // until it is back, beside the ones that replace them.
                    .is_some_and(|(have, want)| {
                        let want = want.split(' ').next().unwrap_or(want);
                        have.parse::<u32>().ok() >= want.parse::<u32>().ok()
                    })
            });
        if summary != last {
            eprintln!("  {:>5.1}s  {summary}", started.elapsed().as_secs_f64());
            last = summary;
        }
        if done {
            return Ok(());
        }
        if started.elapsed() > patience {
            let stack = &on.project;
            let sh = on.sh;
            let format = "{{.Name}} {{.CurrentState}} {{.Error}}";
            let errors = cmd!(sh, "docker stack ps {stack} --no-trunc --format {format}")
                .quiet()
                .read()
                .unwrap_or_default();
            bail!("not every replica was healthy after {patience:?}; the stack's tasks:\n{errors}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until the survey answers through the proxy on 127.0.0.1:`port`.
fn wait_answering(on: &On<'_>, port: u16) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if readyz(port) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the proxy on port {port} does not pass requests to the app; see `cargo xtask step {} logs`",
                on.step.number
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether GET /readyz through 127.0.0.1:`port` answers 200.
fn readyz(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
    reply.starts_with("HTTP/1.1 200")
}

/// The app image tagged by its id (`survey/step-06-swarm:1a2b3c4d5e6f`), the name the stack
/// runs it by: a rebuilt image gets a new name, so deploying it again is a rolling update,
/// and deploying an unchanged one changes nothing. Older such tags nothing runs are dropped.
pub(super) fn versioned(on: &On<'_>) -> anyhow::Result<String> {
    let (sh, image) = (on.sh, on.step.image(on.sh));
    let id = crate::images::id(sh, &image).with_context(|| format!("{image} is not built"))?;
    let short = id
        .trim_start_matches("sha256:")
        .get(..12)
        .unwrap_or_default();
    let repository = image.split(':').next().unwrap_or_default();
    let tagged = format!("{repository}:{short}");
    cmd!(sh, "docker tag {image} {tagged}").run()?;
    remove_tags(on, |tag| tag != short && is_image_id(tag))?;
    Ok(tagged)
}

/// Whether `tag` is one [`versioned`] makes: the first 12 digits of an image's id.
fn is_image_id(tag: &str) -> bool {
    tag.len() == 12 && tag.chars().all(|c| c.is_ascii_hexdigit())
}

/// Removes the step's image tags that `which` picks, but those a container still uses.
fn remove_tags(on: &On<'_>, which: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let (sh, image) = (on.sh, on.step.image(on.sh));
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

/// Removes the tags `up` and `update` made for the stack: the image ids it ran, the versions
/// `update` built (`:2`, `:3`, ...) and `:broken`. The image `up` builds stays, for the cache.
pub(super) fn remove_version_tags(on: &On<'_>) {
    let made = |tag: &str| {
        is_image_id(tag)
            || tag == "broken"
            || (!tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Err(err) = remove_tags(on, made) {
        eprintln!("warning: the stack's image tags were not all removed: {err:#}");
    }
}

impl Launcher for Stack {
    fn running(&self, on: &On<'_>) -> anyhow::Result<bool> {
        Ok(replicas(on).is_ok_and(|r| !r.trim().is_empty()))
    }

    fn up(&self, on: &On<'_>, up: Up, _images: &Images) -> anyhow::Result<()> {
        let reach = swarm::ensure(
            on.sh,
            if up.public {
                Reach::Public
            } else {
                Reach::Private
            },
        )?;
        deploy(on, up, &[("APP_IMAGE", versioned(on)?)])?;
        swarm::say_reach(reach, up.port);
        Ok(())
    }

    fn down(&self, on: &On<'_>, volumes: bool) -> anyhow::Result<()> {
        let (sh, stack) = (on.sh, &on.project);
        if replicas(on).is_ok_and(|r| !r.trim().is_empty()) {
            cmd!(sh, "docker stack rm {stack}")
                .run()
                .context("removing the stack")?;
        }
        // `stack rm` returns at once; the containers and the network go a moment later, and a
        // volume can only be removed once no container uses it.
        let label = format!("label=com.docker.stack.namespace={stack}");
        let started = Instant::now();
        while !cmd!(sh, "docker ps --all --quiet --filter {label}")
            .quiet()
            .read()?
            .trim()
            .is_empty()
            || !cmd!(sh, "docker network ls --quiet --filter {label}")
                .quiet()
                .read()?
                .trim()
                .is_empty()
        {
            if started.elapsed() > Duration::from_secs(90) {
                bail!("the stack's containers or network were still there after 90 s");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        if !volumes {
            let volume = on
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
        for secret in SECRETS {
            let name = service(on, secret);
            if crate::docker::succeeds(cmd!(sh, "docker secret inspect {name}")) {
                cmd!(sh, "docker secret rm {name}").ignore_stdout().run()?;
            }
        }
        remove_version_tags(on);
        swarm::leave_if_made(sh)
    }

    fn ps(&self, on: &On<'_>) -> anyhow::Result<()> {
        let (sh, stack) = (on.sh, &on.project);
        cmd!(sh, "docker stack services {stack}").run()?;
        cmd!(sh, "docker stack ps --filter desired-state=running {stack}").run()?;
        Ok(())
    }

    fn logs(&self, on: &On<'_>, follow: bool) -> anyhow::Result<()> {
        let sh = on.sh;
        if follow {
            let app = service(on, "app");
            cmd!(sh, "docker service logs --follow {app}").run()?;
            return Ok(());
        }
        for name in ["proxy", "app", "worker", "redis", "db"] {
            let name = service(on, name);
            cmd!(sh, "docker service logs {name}").run()?;
        }
        Ok(())
    }

    /// A running task's container of `service` (there may be several: the first).
    fn container(&self, on: &On<'_>, name: &str) -> anyhow::Result<String> {
        let sh = on.sh;
        let label = format!("label=com.docker.swarm.service.name={}", service(on, name));
        let format = "{{.Names}}";
        let names = cmd!(sh, "docker ps --filter {label} --format {format}")
            .quiet()
            .read()?;
        names
            .lines()
            .next()
            .map(str::to_owned)
            .with_context(|| format!("no running task of {name} (is step {} up?)", on.step.number))
    }

    fn exec<'a>(
        &self,
        on: &'a On<'_>,
        name: &str,
        stdin: bool,
        tty: bool,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        let container = self.container(on, name)?;
        let sh = on.sh;
        let (stdin, tty) = (stdin.then_some("--interactive"), tty.then_some("--tty"));
        Ok(cmd!(sh, "docker exec {stdin...} {tty...} {container}"))
    }

    fn update(&self, on: &On<'_>, broken: bool) -> anyhow::Result<()> {
        update(on, broken, &Here)
    }

    fn scale(&self, on: &On<'_>, workers: u32) -> anyhow::Result<()> {
        let (sh, scale) = (on.sh, format!("{}={workers}", service(on, "worker")));
        cmd!(sh, "docker service scale --detach {scale}")
            .ignore_stdout()
            .run()
            .context("scaling the workers (is the step up?)")?;
        wait_converged(on, UP_PATIENCE)
    }
}

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
struct Here;

impl Shipping for Here {
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

/// Rolls out a new version of the app (and the workers), or with `broken` one that never gets
/// healthy, printing the tasks as Swarm replaces them. The new version is a real new image,
/// built FROM the running one with the next SURVEY_VERSION.
pub(super) fn update(on: &On<'_>, broken: bool, shipping: &dyn Shipping) -> anyhow::Result<()> {
    let sh = on.sh;
    let (app, worker) = (service(on, "app"), service(on, "worker"));
    let on_swarm = || {
        shipping
            .swarm_host()
            .map(|host| sh.push_env("DOCKER_HOST", host))
    };
    let image_format = "{{.Spec.TaskTemplate.ContainerSpec.Image}}";
    let running = {
        let _swarm = on_swarm();
        cmd!(sh, "docker service inspect --format {image_format} {app}")
            .quiet()
            .read()
            .with_context(|| format!("finding the app's image (is step {} up?)", on.step.number))?
    };
    // Drop the registry digest a reference may carry: the tag is what is built FROM.
    let current = shipping.local_name(running.split('@').next().unwrap_or_default())?;
    let env_format = "{{range .Config.Env}}{{println .}}{{end}}";
    let env = cmd!(sh, "docker image inspect --format {env_format} {current}")
        .quiet()
        .read()?;
    let version: u32 = env
        .lines()
        .find_map(|l| l.strip_prefix("SURVEY_VERSION="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let repository = current
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(current.as_str(), |(repository, _)| repository);
    let (next, dockerfile, services) = if broken {
        // Listens on 5001 while its healthcheck asks 5000: it starts, and never gets
        // healthy, so Swarm rolls the update back by itself.
        let tag = format!("{repository}:broken");
        let file = format!("FROM {current}\nENTRYPOINT [\"/survey\", \"--port\", \"5001\"]\n");
        (tag, file, vec![app.clone()])
    } else {
        let next = version + 1;
        let tag = format!("{repository}:{next}");
        let file = format!("FROM {current}\nENV SURVEY_VERSION={next}\n");
        (tag, file, vec![app.clone(), worker])
    };
    eprintln!(
        "$ docker build --tag {next} -   <<< '{}'",
        dockerfile.replace('\n', "; ").trim_end_matches("; ")
    );
    cmd!(sh, "docker build --quiet --tag {next} -")
        .stdin(dockerfile)
        .quiet()
        .ignore_stdout()
        .run()
        .context("building the new version")?;
    let next = shipping.ship(&next)?;
    let _swarm = on_swarm();
    for name in &services {
        cmd!(sh, "docker service update --detach --image {next} {name}")
            .ignore_stdout()
            .run()
            .with_context(|| format!("updating {name}"))?;
        watch_update(on, name)?;
    }
    Ok(())
}

/// Follows a rolling update of `name`, printing its state and tasks as they change, until it
/// is complete or rolled back.
fn watch_update(on: &On<'_>, name: &str) -> anyhow::Result<()> {
    let sh = on.sh;
    let state_format = "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}";
    let tasks_format = "{{.Name}}\t{{.Image}}\t{{.CurrentState}}";
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let state = cmd!(sh, "docker service inspect --format {state_format} {name}")
            .quiet()
            .read()?;
        let tasks = cmd!(
            sh,
            "docker service ps --filter desired-state=running --format {tasks_format} {name}"
        )
        .quiet()
        .read()?;
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
        let now = format!("{name}: update {state}\n    {tasks}");
        if now != last {
            println!("[{:>5.1}s] {now}", started.elapsed().as_secs_f64());
            last = now;
        }
        match state.trim() {
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

/// Creates the secrets, deploys the step's stack file (its image variables set from `images`),
/// and waits until every replica is healthy and the survey answers on 127.0.0.1:`up.port`.
/// On a running stack, a changed app image is rolled out, and watched.
pub(super) fn deploy(on: &On<'_>, up: Up, images: &[(&str, String)]) -> anyhow::Result<()> {
    ensure_secrets(on)?;
    let sh = on.sh;
    let (app, worker) = (service(on, "app"), service(on, "worker"));
    let image_format = "{{.Spec.TaskTemplate.ContainerSpec.Image}}";
    let before = if up.running {
        cmd!(sh, "docker service inspect --format {image_format} {app}")
            .quiet()
            .ignore_stderr()
            .read()
            .unwrap_or_default()
    } else {
        String::new()
    };
    let (file, stack) = (on.step.compose_file(), &on.project);
    let _port = sh.push_env("SURVEY_PORT", up.port.to_string());
    let _stack = sh.push_env("STACK", stack);
    let _images: Vec<_> = images
        .iter()
        .map(|(name, value)| sh.push_env(name, value))
        .collect();
    cmd!(
        sh,
        "docker stack deploy --detach=true --prune --compose-file {file} {stack}"
    )
    .run()
    .context("deploying the stack")?;
    if let Some(workers) = up.workers {
        Stack.scale(on, workers)?;
    }
    let new = images
        .iter()
        .find(|(name, _)| *name == "APP_IMAGE")
        .map(|(_, image)| image.as_str())
        .unwrap_or_default();
    if up.running {
        // Swarm keeps the digest it resolved beside the name: compare names only.
        let before = before.split('@').next().unwrap_or_default().trim();
        if before == new {
            println!("The app's image is unchanged: nothing to roll out.");
        } else {
            println!("A new app image: Swarm rolls it out, one task at a time.");
            watch_update(on, &app)?;
            watch_update(on, &worker)?;
        }
    }
    wait_converged(on, UP_PATIENCE)?;
    wait_answering(on, up.port)
}
