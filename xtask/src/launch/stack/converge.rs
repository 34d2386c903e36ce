//! Convergence: when a stack's every replica runs (and, with a healthcheck, is healthy), and
//! the survey answers through the proxy.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use anyhow::bail;
use xshell::cmd;

use super::rollout::repository;
use crate::launch::Instance;

/// How long `up` waits for every replica to be running and healthy.
pub(in crate::launch) const UP_PATIENCE: Duration = Duration::from_secs(240);

/// One service of a stack and its tasks, as `docker stack services` counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::launch) struct Replicas {
    /// The service, without the stack's prefix.
    pub service: String,
    /// The image its spec names, without the digest Swarm adds.
    pub image: String,
    /// What Swarm shows: `2/3`, or `1/1 (max 2 per node)`.
    pub shown: String,
    pub running: u32,
    pub wanted: u32,
}

impl Replicas {
    /// The stack's services, sorted by name.
    pub fn of(copy: &Instance<'_>) -> anyhow::Result<Vec<Self>> {
        let (sh, stack) = (copy.sh, &copy.project);
        let format = "{{.Name}} {{.Image}} {{.Replicas}}";
        let listed = cmd!(sh, "docker stack services {stack} --format {format}")
            .quiet()
            .read()?;
        let prefix = format!("{stack}_");
        let mut all: Vec<Self> = listed
            .lines()
            .filter_map(|line| Self::parse(line, &prefix))
            .collect();
        all.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(all)
    }

    /// Reads a `NAME IMAGE RUNNING/WANTED[ (max N per node)]` line.
    fn parse(line: &str, prefix: &str) -> Option<Self> {
        let (name, rest) = line.trim().split_once(' ')?;
        let (image, shown) = rest.split_once(' ')?;
        let (running, wanted) = shown.split_once('/')?;
        let wanted = wanted.split(' ').next().unwrap_or(wanted);
        Some(Self {
            service: name.strip_prefix(prefix).unwrap_or(name).to_owned(),
            image: image.split('@').next().unwrap_or(image).to_owned(),
            shown: shown.to_owned(),
            running: running.parse().ok()?,
            wanted: wanted.parse().ok()?,
        })
    }

    /// All its replicas run. More than wanted happens when a node is lost: its tasks still
    /// count until it is back, beside the ones that replace them.
    pub fn complete(&self) -> bool {
        self.running >= self.wanted
    }

    /// As many replicas run as are wanted, no more: no task of a node that came back still
    /// counts beside the one that replaced it.
    pub fn exact(&self) -> bool {
        self.running == self.wanted
    }
}

impl std::fmt::Display for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.service, self.shown)
    }
}

/// Waits until every service runs all its replicas (with a healthcheck: all healthy),
/// printing the counts as they change.
pub(in crate::launch) fn wait_converged(
    copy: &Instance<'_>,
    patience: Duration,
) -> anyhow::Result<()> {
    let wait = Wait {
        what: "every replica to be running and healthy",
        say: Say::Always,
        pick: |_: &Replicas| true,
        enough: Replicas::complete,
    };
    wait.until_enough(copy, patience)
}

/// After nodes started again: waits until every service runs as many replicas as it wants,
/// the tasks Swarm replaced while the nodes were away gone, so that what `up` leaves is what
/// `ps` and the swarm view show. Says nothing when it does already.
pub(in crate::launch) fn wait_settled(copy: &Instance<'_>) -> anyhow::Result<()> {
    let wait = Wait {
        what: "the tasks replaced while nodes were away to go",
        say: Say::IfWaiting,
        pick: |_: &Replicas| true,
        enough: Replicas::exact,
    };
    wait.until_enough(copy, UP_PATIENCE)
}

/// Before a new app image is rolled out onto a running stack: waits until the services that
/// do not run the app's image `app`, in any version (the database, the queue, the proxy),
/// run all their replicas healthy. Swarm judges each new task by its health, which needs
/// them: a rollout begun while they start again (the machine or the lab's nodes restarted)
/// would see the new tasks fail and roll back. Says nothing when they are already.
pub(super) fn wait_app_needs(copy: &Instance<'_>, app: &str) -> anyhow::Result<()> {
    // By repository: the app's services may run different versions of it.
    let app = repository(app);
    let wait = Wait {
        what: "the services the app needs before rolling it out",
        say: Say::IfWaiting,
        pick: |r: &Replicas| repository(&r.image) != app,
        enough: Replicas::complete,
    };
    wait.until_enough(copy, UP_PATIENCE)
}

/// A wait on the services `pick` picks, until they run their replicas as `enough` says.
struct Wait<P> {
    /// What is waited for, as `waiting for …` says it.
    what: &'static str,
    say: Say,
    pick: P,
    enough: fn(&Replicas) -> bool,
}

/// When a wait says what it waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Say {
    Always,
    /// Only if the first look finds the services not there yet.
    IfWaiting,
}

impl<P: Fn(&Replicas) -> bool> Wait<P> {
    /// Waits, printing the counts as they change.
    fn until_enough(&self, copy: &Instance<'_>, patience: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut last = String::new();
        let mut said = self.say == Say::Always;
        if said {
            eprintln!("waiting for {}:", self.what);
        }
        loop {
            let now: Vec<Replicas> = Replicas::of(copy)?
                .into_iter()
                .filter(|r| (self.pick)(r))
                .collect();
            let enough = now.iter().all(self.enough);
            if !said {
                if enough {
                    return Ok(());
                }
                eprintln!("waiting for {}:", self.what);
                said = true;
            }
            let summary = now
                .iter()
                .map(Replicas::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if summary != last {
                eprintln!("  {:>5.1}s  {summary}", started.elapsed().as_secs_f64());
                last = summary;
            }
            if !now.is_empty() && enough {
                return Ok(());
            }
            if started.elapsed() > patience {
                let (sh, stack) = (copy.sh, &copy.project);
                let format = "{{.Name}} {{.CurrentState}} {{.Error}}";
                let errors = cmd!(sh, "docker stack ps {stack} --no-trunc --format {format}")
                    .quiet()
                    .read()
                    .unwrap_or_default();
                bail!(
                    "not every replica was healthy after {patience:?}; the stack's tasks:\n{errors}"
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Waits until the survey answers through the proxy on 127.0.0.1:`port`.
pub(super) fn wait_answering(copy: &Instance<'_>, port: u16) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if readyz(port) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the proxy on port {port} does not pass requests to the app; see `cargo xtask step {} logs`",
                copy.step.number
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

#[cfg(test)]
mod tests {
    use super::Replicas;

    #[test]
    fn replicas_read_from_stack_services() {
        let read = |line| Replicas::parse(line, "survey-06_");
        let proxy =
            read("survey-06_proxy haproxy:2.6@sha256:0a1b 1/1 (max 1 per node)").expect("parsed");
        assert_eq!(
            (
                proxy.service.as_str(),
                proxy.image.as_str(),
                proxy.running,
                proxy.wanted
            ),
            ("proxy", "haproxy:2.6", 1, 1)
        );
        assert_eq!(proxy.to_string(), "proxy 1/1 (max 1 per node)");
        assert!(proxy.complete());
        let app = read("survey-06_app survey/step-06-swarm:1a2b3c4d5e6f 2/3").expect("parsed");
        assert!(!app.complete());
        // A lost node's tasks still count beside their replacements.
        let worker = read("survey-06_worker w:1 4/3").expect("parsed");
        assert!(worker.complete() && !worker.exact());
        assert_eq!(read("garbage"), None);
    }
}
