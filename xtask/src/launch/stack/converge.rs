//! Convergence: when a stack's every replica runs (and, with a healthcheck, is healthy), and
//! the survey answers through the proxy.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use anyhow::bail;
use xshell::cmd;

use crate::launch::Instance;

/// How long `up` waits for every replica to be running and healthy.
pub(in crate::launch) const UP_PATIENCE: Duration = Duration::from_secs(240);

/// One service of a stack and its tasks, as `docker stack services` counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::launch) struct Replicas {
    /// The service, without the stack's prefix.
    pub service: String,
    /// What Swarm shows: `2/3`, or `1/1 (max 2 per node)`.
    pub shown: String,
    pub running: u32,
    pub wanted: u32,
}

impl Replicas {
    /// The stack's services, sorted by name.
    pub fn of(copy: &Instance<'_>) -> anyhow::Result<Vec<Self>> {
        let (sh, stack) = (copy.sh, &copy.project);
        let format = "{{.Name}} {{.Replicas}}";
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

    /// Reads a `NAME RUNNING/WANTED[ (max N per node)]` line.
    fn parse(line: &str, prefix: &str) -> Option<Self> {
        let (name, shown) = line.trim().split_once(' ')?;
        let (running, wanted) = shown.split_once('/')?;
        let wanted = wanted.split(' ').next().unwrap_or(wanted);
        Some(Self {
            service: name.strip_prefix(prefix).unwrap_or(name).to_owned(),
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
    let started = Instant::now();
    let mut last = String::new();
    eprintln!("waiting for every replica to be running and healthy:");
    loop {
        let now = Replicas::of(copy)?;
        let summary = now
            .iter()
            .map(Replicas::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if summary != last {
            eprintln!("  {:>5.1}s  {summary}", started.elapsed().as_secs_f64());
            last = summary;
        }
        if !now.is_empty() && now.iter().all(Replicas::complete) {
            return Ok(());
        }
        if started.elapsed() > patience {
            let (sh, stack) = (copy.sh, &copy.project);
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
        let proxy = read("survey-06_proxy 1/1 (max 1 per node)").expect("parsed");
        assert_eq!(
            (proxy.service.as_str(), proxy.running, proxy.wanted),
            ("proxy", 1, 1)
        );
        assert_eq!(proxy.to_string(), "proxy 1/1 (max 1 per node)");
        assert!(proxy.complete());
        let app = read("survey-06_app 2/3").expect("parsed");
        assert!(!app.complete());
        // A lost node's tasks still count beside their replacements.
        assert!(read("survey-06_worker 4/3").expect("parsed").complete());
        assert_eq!(read("garbage"), None);
    }
}
