//! The machine a report was measured on, and what of it the bench needs to know.

use xshell::{Shell, cmd};

use crate::report::Machine;

/// This machine, as a report names it.
pub fn describe(sh: &Shell) -> anyhow::Result<Machine> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let format = "{{.Server.Version}}";
    Ok(Machine {
        measured_on: cmd!(sh, "date -u +%Y-%m-%d").quiet().read()?,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        memory_gib: (memory_kib / 1024.0 / 1024.0).round(),
        cpu,
        kernel: cmd!(sh, "uname -r").quiet().read()?,
        docker: cmd!(sh, "docker version --format {format}")
            .quiet()
            .read()?,
    })
}

/// Whether this process runs as root (which entering another network namespace needs).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
