//! Where the processor's time goes while wrk loads a step: each service's containers (read
//! from their control groups), Docker's proxies for the published port, wrk itself, and the
//! rest of the machine (the kernel's network work, mostly); and of each part's time, how much
//! the kernel spent on its behalf (its system time: sockets, mostly).

use std::{collections::BTreeMap, time::Instant};

use anyhow::Context;
use xshell::cmd;

use crate::{launch::Instance, report::CpuUse};

/// The kernel counts process times in ticks of 1/100 s (USER_HZ, 100 on Linux's platforms).
const TICKS_PER_SECOND: f64 = 100.0;

/// What to read: the step's containers by service, the proxies of its published port.
pub struct Meter {
    /// Per service, the CPU-time files of its containers' control groups.
    services: BTreeMap<String, Vec<CgroupClock>>,
    proxies: Vec<u32>,
}

/// One container's control group's CPU time.
enum CgroupClock {
    /// cgroup v2: `cpu.stat`'s `usage_usec` and `system_usec`.
    V2(String),
    /// cgroup v1: the folder of `cpuacct.usage` and `cpuacct.usage_sys`, in nanoseconds.
    V1(String),
}

/// Processor seconds: all of them, and those spent in the kernel.
#[derive(Debug, Clone, Copy, Default)]
struct Spent {
    all: f64,
    kernel: f64,
}

impl Spent {
    fn since(self, before: Self) -> Self {
        Self {
            all: self.all - before.all,
            kernel: self.kernel - before.kernel,
        }
    }
}

impl std::ops::AddAssign for Spent {
    fn add_assign(&mut self, other: Self) {
        self.all += other.all;
        self.kernel += other.kernel;
    }
}

impl CgroupClock {
    /// The clock of the control group process `pid` is in.
    fn of(pid: u32) -> anyhow::Result<Self> {
        let groups = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .with_context(|| format!("reading the control group of process {pid}"))?;
        for line in groups.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if controllers.split(',').any(|c| c == "cpuacct") {
                return Ok(Self::V1(format!("/sys/fs/cgroup/cpuacct{path}")));
            }
        }
        let path = groups
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .context("no cgroup v2 line and no cpuacct controller")?;
        Ok(Self::V2(format!("/sys/fs/cgroup{path}/cpu.stat")))
    }

    fn spent(&self) -> anyhow::Result<Spent> {
        match self {
            Self::V1(folder) => {
                let nanos = |file: &str| -> anyhow::Result<f64> {
                    Ok(read(&format!("{folder}/{file}"))?.trim().parse::<f64>()? / 1e9)
                };
                Ok(Spent {
                    all: nanos("cpuacct.usage")?,
                    kernel: nanos("cpuacct.usage_sys")?,
                })
            }
            Self::V2(file) => {
                let stat = read(file)?;
                let micros = |name: &str| -> anyhow::Result<f64> {
                    Ok(stat
                        .lines()
                        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                        .with_context(|| format!("{name} in cpu.stat"))?
                        .trim()
                        .parse::<f64>()?
                        / 1e6)
                };
                Ok(Spent {
                    all: micros("usage_usec")?,
                    kernel: micros("system_usec")?,
                })
            }
        }
    }
}

fn read(file: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("reading {file}"))
}

/// The counters at one moment.
struct Reading {
    at: Instant,
    services: BTreeMap<String, Spent>,
    proxies: Spent,
    children: Spent,
    busy: f64,
    all: f64,
}

impl Meter {
    /// Finds the containers of `copy`'s project and the proxies of `port`.
    pub fn of(copy: &Instance<'_>, port: u16) -> anyhow::Result<Self> {
        let sh = copy.sh;
        let ids = crate::launch::compose(copy)?
            .args(["ps", "--quiet"])
            .quiet()
            .read()?;
        let mut services: BTreeMap<String, Vec<CgroupClock>> = BTreeMap::new();
        for id in ids.split_whitespace() {
            let format = r#"{{index .Config.Labels "com.docker.compose.service"}} {{.State.Pid}}"#;
            let said = cmd!(sh, "docker inspect --format {format} {id}")
                .quiet()
                .read()?;
            let (service, pid) = said.split_once(' ').context("service and pid")?;
            let clock = CgroupClock::of(pid.trim().parse()?)?;
            services.entry(service.to_owned()).or_default().push(clock);
        }
        Ok(Self {
            services,
            proxies: proxies_of(port)?,
        })
    }

    fn read(&self) -> anyhow::Result<Reading> {
        let mut services = BTreeMap::new();
        for (service, clocks) in &self.services {
            let mut spent = Spent::default();
            for clock in clocks {
                spent += clock.spent()?;
            }
            services.insert(service.clone(), spent);
        }
        let mut proxies = Spent::default();
        for pid in &self.proxies {
            proxies += process_seconds(&read(&format!("/proc/{pid}/stat"))?, 13)?;
        }
        // wrk is this process's child: its times join ours once it has been waited for.
        let children = process_seconds(&read("/proc/self/stat")?, 15)?;
        let (busy, all) = machine_seconds()?;
        Ok(Reading {
            at: Instant::now(),
            services,
            proxies,
            children,
            busy,
            all,
        })
    }

    /// Runs `load` (wrk, returning how many requests it made) and measures around it.
    pub fn around<T>(
        &self,
        load: impl FnOnce() -> anyhow::Result<(T, f64)>,
    ) -> anyhow::Result<(T, CpuUse)> {
        let before = self.read()?;
        let (value, requests) = load()?;
        let after = self.read()?;
        let wall = after.at.duration_since(before.at).as_secs_f64();
        let cores = |seconds: f64| seconds / wall;
        let mut spent: Vec<(String, Spent)> = after
            .services
            .iter()
            .map(|(service, now)| {
                let then = before.services.get(service).copied().unwrap_or_default();
                (service.clone(), now.since(then))
            })
            .collect();
        spent.push(("docker-proxy".into(), after.proxies.since(before.proxies)));
        spent.push(("wrk".into(), after.children.since(before.children)));
        let mut parts: Vec<(String, f64)> = spent
            .iter()
            .map(|(name, s)| (name.clone(), cores(s.all)))
            .collect();
        let kernel = spent
            .iter()
            .map(|(name, s)| (name.clone(), cores(s.kernel)))
            .collect();
        let busy = after.busy - before.busy;
        let named: f64 = parts.iter().map(|(_, c)| c).sum();
        parts.push(("rest".into(), (cores(busy) - named).max(0.0)));
        let idle = cores((after.all - before.all) - busy).max(0.0);
        Ok((
            value,
            CpuUse {
                parts,
                kernel,
                idle,
                micros_per_request: busy / requests.max(1.0) * 1e6,
            },
        ))
    }
}

/// The processes of Docker's userland proxy for `port` (one per address family).
fn proxies_of(port: u16) -> anyhow::Result<Vec<u32>> {
    let wanted = ["-host-port".to_owned(), port.to_string()];
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_proxy = args.first().is_some_and(|a| a.ends_with("docker-proxy"));
        if is_proxy && args.windows(2).any(|w| w == wanted) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// User plus system time, and system time, from a `/proc/PID/stat` line, starting at field
/// `first` (0-based, after the command name): 13 for the process's own, 15 for its
/// waited-for children's.
fn process_seconds(stat: &str, first: usize) -> anyhow::Result<Spent> {
    // The command name is in parentheses and may hold spaces: count fields after it.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("a /proc stat line")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 2 (the state), so field N is at N - 2.
    let ticks = |n: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(n - 2)
            .context("a field of a /proc stat line")?
            .parse::<f64>()?)
    };
    let (user, system) = (ticks(first)?, ticks(first + 1)?);
    Ok(Spent {
        all: (user + system) / TICKS_PER_SECOND,
        kernel: system / TICKS_PER_SECOND,
    })
}

/// The machine's busy and total processor seconds so far, all cores together.
fn machine_seconds() -> anyhow::Result<(f64, f64)> {
    let stat = read("/proc/stat")?;
    let cpu = stat
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .context("the cpu line of /proc/stat")?;
    let ticks: Vec<f64> = cpu
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let all: f64 = ticks.iter().take(8).sum();
    // idle and iowait are not busy.
    let idle =
        ticks.get(3).copied().unwrap_or_default() + ticks.get(4).copied().unwrap_or_default();
    Ok(((all - idle) / TICKS_PER_SECOND, all / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times are read after the command name, however many spaces it holds.
    #[test]
    fn reads_process_times() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0";
        let own = process_seconds(stat, 13).unwrap();
        assert_eq!((own.all, own.kernel), (3.0, 0.5));
        let children = process_seconds(stat, 15).unwrap();
        assert_eq!((children.all, children.kernel), (0.1, 0.03));
    }
}
