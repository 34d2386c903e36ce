//! Talking to Docker: checks with clear fixes, and waiting for containers to be healthy.

use std::{
    io::Write,
    net::TcpListener,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// Whether `cmd` runs and exits 0; its output is not shown.
pub fn succeeds(cmd: xshell::Cmd<'_>) -> bool {
    cmd.quiet().ignore_stdout().ignore_stderr().run().is_ok()
}

/// Fails with a fix when the Docker CLI is missing or its daemon does not answer.
pub fn require_engine(sh: &Shell) -> anyhow::Result<()> {
    // `docker version` asks the daemon too, and answers faster than `docker info`; only
    // when it fails is the reason looked for.
    let format = "{{.Server.Version}}";
    if succeeds(cmd!(sh, "docker version --format {format}")) {
        return Ok(());
    }
    if !succeeds(cmd!(sh, "docker --version")) {
        bail!(
            "the docker command is missing: install Docker Engine (Debian: apt-get install docker.io; see `cargo xtask doctor`)"
        );
    }
    bail!(
        "Docker is not running, or you may not use it: start the daemon (systemctl start docker, \
         or `dockerd > dockerd.log 2>&1 &` without systemd) and check `docker info`"
    )
}

/// Fails with a fix when only Compose v1 (or no Compose) is installed. (Asked once per run.)
pub fn require_compose_v2(sh: &Shell) -> anyhow::Result<()> {
    static FOUND: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if FOUND.get().is_some() {
        return Ok(());
    }
    match cmd!(sh, "docker compose version --short")
        .quiet()
        .ignore_stderr()
        .read()
    {
        Ok(version) if is_compose_v2(&version) => {
            let _ = FOUND.set(());
            Ok(())
        }
        Ok(version) => {
            bail!("Compose {version} is too old: this tutorial needs Compose v2 (`docker compose`)")
        }
        Err(_) if crate::docker::succeeds(cmd!(sh, "docker-compose --version")) => {
            bail!(
                "only Compose v1 (`docker-compose`) is installed: install Compose v2, the `docker compose` plugin \
             (Debian, as root: `cargo xtask setup`; elsewhere Docker's docker-compose-plugin package)"
            )
        }
        Err(_) => bail!(
            "Docker Compose v2 is missing: install the `docker compose` plugin (see `cargo xtask doctor`)"
        ),
    }
}

/// "2.26.1" or "v2.26.1" is v2 or later; "1.29.2" is not.
pub fn is_compose_v2(version: &str) -> bool {
    version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 2)
}

/// The addresses on this machine (`127.0.0.1:32768`, say) that `container`'s TCP port `target`
/// is published on, as `docker port` lists them.
pub fn published(sh: &Shell, container: &str, target: u16) -> anyhow::Result<Vec<String>> {
    let port = format!("{target}/tcp");
    let listed = cmd!(sh, "docker port {container} {port}")
        .quiet()
        .read()
        .with_context(|| {
            format!("asking Docker which port {container}'s {target} is published on")
        })?;
    Ok(listed.lines().map(str::to_owned).collect())
}

/// The port on this machine `container`'s TCP port `target` is published on (the same on
/// every address it listens on).
pub fn published_port(sh: &Shell, container: &str, target: u16) -> anyhow::Result<u16> {
    let addresses = published(sh, container, target)?;
    addresses
        .first()
        .and_then(|address| address.rsplit(':').next())
        .and_then(|port| port.parse().ok())
        .with_context(|| format!("{container}'s port {target} is not published: {addresses:?}"))
}

/// A port free on 127.0.0.1 now, for a container that must keep its port when it is started
/// again (Docker picks a new one each time it picks).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Fails when something already listens on 127.0.0.1:`port`. A port this user may not bind
/// (below 1024, as anyone but root) is left to Docker, whose daemon may publish it.
pub fn require_free_port(port: u16) -> anyhow::Result<()> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            println!(
                "Port {port} is one this user may not open; Docker's daemon may, so it is left to Docker to say whether it is free."
            );
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {port} on 127.0.0.1 is taken: stop what uses it (another step? `cargo xtask step N down`), \
             or pick another port with --port"
        ),
        Err(err) => {
            Err(err).with_context(|| format!("checking that port {port} on 127.0.0.1 is free"))
        }
    }
}

/// How long `up` waits for a step's containers to report healthy.
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(120);

/// Waits until every container reports `healthy`, printing progress; fails with the
/// container's last health output if one turns unhealthy or `limit` passes.
pub fn wait_healthy(sh: &Shell, containers: &[String], limit: Duration) -> anyhow::Result<()> {
    let format = "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}";
    let started = Instant::now();
    let mut last_dot = started;
    eprint!("waiting for {} to be healthy", containers.join(", "));
    loop {
        let mut all_healthy = true;
        // One line per container, in the order asked.
        let statuses = cmd!(sh, "docker inspect --format {format} {containers...}")
            .quiet()
            .read()
            .with_context(|| format!("inspecting {}", containers.join(", ")))?;
        for (name, status) in containers.iter().zip(statuses.lines()) {
            match status.trim() {
                "healthy" => {}
                "unhealthy" | "exited" | "dead" => {
                    eprintln!();
                    let logs = cmd!(sh, "docker logs --tail 20 {name}")
                        .quiet()
                        .ignore_stderr()
                        .read()
                        .unwrap_or_default();
                    bail!("container {name} is {status}; its last log lines:\n{logs}");
                }
                _ => all_healthy = false,
            }
        }
        if all_healthy {
            eprintln!(": it was after {:.0?}", started.elapsed());
            return Ok(());
        }
        if started.elapsed() > limit {
            eprintln!();
            bail!(
                "not healthy after {limit:?}; see `docker logs` of {}",
                containers.join(", ")
            );
        }
        // Asked ten times a second (a container that starts fast is seen at once), a dot
        // each second.
        if last_dot.elapsed() >= Duration::from_secs(1) {
            eprint!(".");
            let _ = std::io::stderr().flush();
            last_dot = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A dockerd this runner started itself, stopped (SIGTERM, then waited for) when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: std::process::Child,
}

/// Makes sure a Docker daemon answers. Where none does, and we are root on a machine with
/// dockerd but no service manager running it (CI's), starts one for the caller, logging to
/// target/logs/dockerd.log; it stops when the returned `Daemon` is dropped.
pub fn ensure_daemon(sh: &Shell) -> anyhow::Result<Option<Daemon>> {
    if succeeds(cmd!(sh, "docker info")) {
        return Ok(None);
    }
    if !throwaway_postgres::running_as_root() || crate::tools::on_path("dockerd").is_none() {
        require_engine(sh)?;
        return Ok(None);
    }
    let log = crate::log_dir(sh)?.join("dockerd.log");
    eprintln!(
        "$ dockerd   (no Docker daemon was running; log: {})",
        log.display()
    );
    let file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let child = std::process::Command::new("dockerd")
        .stdout(file.try_clone()?)
        .stderr(file)
        .stdin(std::process::Stdio::null())
        .spawn()
        .context("starting dockerd")?;
    let daemon = Daemon { child };
    let started = Instant::now();
    while !succeeds(cmd!(sh, "docker info")) {
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "dockerd did not answer within a minute; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(Some(daemon))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                eprintln!("stopped the dockerd started for this run");
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
