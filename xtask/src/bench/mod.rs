//! `cargo xtask bench`: what a learner feels, and how fast each path is against what limit.
//!
//! The learner's figures ([`learner`]): `up` time of every step from built images, an edit
//! served again, idle memory, image sizes, and with `--lab` step 07's lab. Then throughput:
//! steps 04 (direct to Postgres) and 05 (queue + workers) run side by side under projects and
//! ports of their own, and each run loads them in turn with wrk (GET / and POST /, on
//! 127.0.0.1) and measures Postgres's own single-row INSERT rate with pgbench, inside the db
//! container (its socket) and from a container beside it (the network, as the app goes). The
//! runs are interleaved (04, 05, pgbench, 04, 05, pgbench, ...), so that both sides of a ratio
//! see the same minutes of a noisy machine; a ratio is the median of each run's own, with
//! its spread. Each POST run also counts where the cores went ([`cpu`]), and, as root, is
//! repeated from beside the app (wrk in the db container's network namespace, to the app's
//! address), without Docker's published port. Nothing here is asserted: it reports. `--save` keeps the report in
//! docs/bench/report.json, which the book's tables are rendered from (`cargo xtask codegen`).

mod cpu;
mod learner;
pub mod report;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use xshell::{Shell, cmd};

use crate::{
    docker, images,
    launch::{Input, Instance, Service, Up},
    steps::Step,
};

/// Where `--save` keeps the report.
pub const SAVED: &str = "docs/bench/report.json";

/// Measure what a learner feels, and the throughput and latency of steps 04 and 05.
#[derive(Debug, clap::Args)]
pub struct Bench {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Runs per measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Open connections (wrk) and clients (pgbench).
    #[arg(long, default_value_t = 16)]
    concurrency: u32,
    /// Workers for step 05.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// Also measure step 07's lab (up time and memory; a few minutes more).
    #[arg(long)]
    lab: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<String>,
    /// Keep the report in docs/bench/report.json and render the book's tables from it.
    #[arg(long)]
    save: bool,
}

/// Requests per second and latency percentiles of one wrk run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Load {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses that were neither 2xx nor 3xx (a thanked POST is a 303).
    #[serde(default)]
    pub failed: u64,
}

/// A median with the smallest and largest of the runs it is the median of.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        Self {
            median: values.get(values.len() / 2).copied().unwrap_or_default(),
            min: values.first().copied().unwrap_or_default(),
            max: values.last().copied().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StepResults {
    pub get: Load,
    pub post: Load,
    /// Postgres's one-row INSERTs inside the db container, through its socket.
    pub pgbench_socket_per_second: f64,
    /// The same from a container beside it, over the project's network, as the app goes.
    pub pgbench_network_per_second: f64,
    /// `POST /` from beside the app, without the published port (measured as root only).
    #[serde(default)]
    pub post_beside: Option<Load>,
    /// Where the cores went during the median `POST /` run.
    #[serde(default)]
    pub post_cpu: Option<cpu::CpuUse>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Queue {
    /// Step 05's POST with Redis fsyncing once a second instead of per entry (not durable).
    pub post_everysec: Load,
    pub drain_rows_per_second: f64,
}

/// When and where a report was measured.
#[derive(Debug, Serialize, Deserialize)]
pub struct Machine {
    pub measured_on: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub cpu: String,
    pub kernel: String,
    pub docker: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub machine: Machine,
    pub duration_seconds: u64,
    pub runs: usize,
    pub concurrency: u32,
    pub workers: u32,
    pub learner: learner::Learner,
    pub direct: StepResults,
    pub queue: StepResults,
    pub queue_only: Queue,
    pub ratios: Ratios,
}

/// Each the median (and spread) of the ratios of single runs measured one after the other.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ratios {
    /// The web layer's cost: step 04's POST over pgbench from the network, same run.
    pub direct_post_over_pgbench_network: Spread,
    /// What the network costs Postgres: pgbench from a container over pgbench on the socket.
    pub pgbench_network_over_socket: Spread,
    /// What fsyncing every entry costs the queue path: POST with everysec over always.
    pub queue_everysec_over_always: Spread,
    /// The same from beside the app (measured as root only).
    #[serde(default)]
    pub queue_everysec_over_always_beside: Option<Spread>,
    /// What the queue gains at the door: step 05's POST over step 04's, same run.
    pub queue_post_over_direct_post: Spread,
    /// What batches gain: the workers' drain over pgbench from the network.
    pub queue_drain_over_pgbench_network: Spread,
    /// What the published port costs: `POST /` through it over the same from beside the
    /// app, steps 04 and 05 (measured as root only).
    #[serde(default)]
    pub published_over_beside: Option<[Spread; 2]>,
}

const POST_SCRIPT: &str = r#"-- wrk: POST the survey form, a different name each time.
counter = 0
request = function()
  counter = counter + 1
  local body = "name=Bench+cat+" .. counter .. "&coat=tabby&donut=jelly"
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"#;

const INSERT_SCRIPT: &str =
    "INSERT INTO cats (name, coat, donut) VALUES ('Bench cat', 'tabby', 'jelly');\n";

/// A free port on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Figures of one run of steps 04 and 05, side by side.
struct Run {
    get: [Load; 2],
    post: [(Load, cpu::CpuUse); 2],
    beside: [Option<Load>; 2],
    socket: [f64; 2],
    network: [f64; 2],
}

impl Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        docker::require_engine(sh)?;
        docker::require_compose_v2(sh)?;
        if cmd!(sh, "which wrk").quiet().ignore_stdout().run().is_err() {
            bail!("the load generator wrk is missing: apt-get install wrk");
        }
        let images = images::ensure(sh, images::Fetch::default())?;
        sh.create_dir("target/xtask")?;
        sh.write_file("target/xtask/post.lua", POST_SCRIPT)?;
        let machine = machine(sh)?;
        let learner = learner::measure(sh, &images, self.runs, self.lab)?;
        let (direct, queue, queue_only, ratios) = self.throughput(sh, &images)?;
        let report = Report {
            machine,
            duration_seconds: self.duration,
            runs: self.runs,
            concurrency: self.concurrency,
            workers: self.workers,
            learner,
            direct,
            queue,
            queue_only,
            ratios,
        };
        let json = serde_json::to_string_pretty(&report)? + "\n";
        println!("{}", report::text(&report));
        if let Some(path) = &self.json {
            sh.write_file(path, &json)?;
            println!("wrote {path}");
        }
        if self.save {
            sh.write_file(SAVED, &json)?;
            println!("wrote {SAVED}");
            // The book's tables, as `cargo xtask codegen` renders them from the saved report.
            for (path, text) in report::rendered(&report) {
                sh.write_file(path, text)?;
                println!("wrote {path}");
            }
        }
        Ok(())
    }

    /// Steps 04 and 05 side by side, measured in turn, run after run.
    fn throughput(
        &self,
        sh: &Shell,
        images: &images::Images,
    ) -> anyhow::Result<(StepResults, StepResults, Queue, Ratios)> {
        let (direct, queue) = (Step::find(4)?, Step::find(5)?);
        let on = |step: Step| {
            let project = format!("survey-bench-{:02}", step.number);
            Instance::with_images(sh, step, project, images.clone())
        };
        let (on_direct, on_queue) = (on(direct), on(queue));
        let ports = (free_port()?, free_port()?);
        let result = self
            .start(&on_direct, ports.0, None)
            .and_then(|()| self.start(&on_queue, ports.1, Some(self.workers)))
            .and_then(|()| self.measure_side_by_side(&on_direct, &on_queue, ports));
        for on in [&on_direct, &on_queue] {
            eprintln!("==> step {}: down", on.step.number);
            on.down(true)?;
        }
        result
    }

    fn start(&self, on: &Instance<'_>, port: u16, workers: Option<u32>) -> anyhow::Result<()> {
        eprintln!("\n==> step {}: up on 127.0.0.1:{port}", on.step.number);
        let up = Up {
            port,
            workers,
            nodes: None,
            // The image that ships is the one measured.
            profile: images::Profile::Release,
            public: false,
        };
        on.up(up)
    }

    fn measure_side_by_side(
        &self,
        direct: &Instance<'_>,
        queue: &Instance<'_>,
        ports: (u16, u16),
    ) -> anyhow::Result<(StepResults, StepResults, Queue, Ratios)> {
        let urls = [
            format!("http://127.0.0.1:{}/", ports.0),
            format!("http://127.0.0.1:{}/", ports.1),
        ];
        let post = Some("target/xtask/post.lua");
        let meters = [
            cpu::Meter::of(direct, ports.0)?,
            cpu::Meter::of(queue, ports.1)?,
        ];
        let beside = if is_root() {
            Some([Beside::of(direct)?, Beside::of(queue)?])
        } else {
            eprintln!(
                "    (not root: POST from beside the app, through no published port, is not measured)"
            );
            None
        };
        let beside_of = |side: usize| beside.as_ref().map(|b| &b[side]);
        let mut runs = Vec::new();
        for run in 1..=self.runs {
            eprintln!(
                "    run {run} of {}: wrk GET and POST on 04 and 05, pgbench",
                self.runs
            );
            runs.push(Run {
                get: [
                    self.wrk(direct.sh, &urls[0], None)?,
                    self.wrk(direct.sh, &urls[1], None)?,
                ],
                post: [
                    self.metered_post(&meters[0], direct.sh, &urls[0])?,
                    self.metered_post(&meters[1], direct.sh, &urls[1])?,
                ],
                beside: [
                    self.wrk_beside(direct.sh, beside_of(0))?,
                    self.wrk_beside(queue.sh, beside_of(1))?,
                ],
                socket: [self.pgbench(direct, false)?, self.pgbench(queue, false)?],
                network: [self.pgbench(direct, true)?, self.pgbench(queue, true)?],
            });
        }
        let (mut always, mut everysec) = (Vec::new(), Vec::new());
        // The same from beside the app, with no published port in the way.
        let (mut always_beside, mut everysec_beside) = (Vec::new(), Vec::new());
        for run in 1..=self.runs {
            eprintln!(
                "    run {run} of {}: step 05 POST with fsync always, then everysec",
                self.runs
            );
            self.redis_fsync(queue, &urls[1], "always")?;
            always.push(self.wrk(queue.sh, &urls[1], post)?);
            always_beside.extend(self.wrk_beside(queue.sh, beside_of(1))?);
            self.redis_fsync(queue, &urls[1], "everysec")?;
            everysec.push(self.wrk(queue.sh, &urls[1], post)?);
            everysec_beside.extend(self.wrk_beside(queue.sh, beside_of(1))?);
        }
        self.redis_fsync(queue, &urls[1], "always")?;
        let mut drains = Vec::new();
        for run in 1..=self.runs {
            eprintln!(
                "    run {run} of {}: the workers drain a backlog",
                self.runs
            );
            drains.push((
                self.drain_rate(queue, &urls[1])?,
                self.pgbench(queue, true)?,
            ));
        }
        let results = |side: usize| StepResults {
            get: median_load(runs.iter().map(|r| r.get[side]).collect()),
            post: median_load(runs.iter().map(|r| r.post[side].0).collect()),
            post_beside: runs
                .iter()
                .map(|r| r.beside[side])
                .collect::<Option<Vec<_>>>()
                .map(median_load),
            post_cpu: median_cpu(runs.iter().map(|r| r.post[side].clone()).collect()),
            pgbench_socket_per_second: Spread::of(runs.iter().map(|r| r.socket[side]).collect())
                .median,
            pgbench_network_per_second: Spread::of(runs.iter().map(|r| r.network[side]).collect())
                .median,
        };
        let ratios = Ratios {
            direct_post_over_pgbench_network: Spread::of(
                runs.iter()
                    .map(|r| r.post[0].0.per_second / r.network[0])
                    .collect(),
            ),
            pgbench_network_over_socket: Spread::of(
                runs.iter()
                    .flat_map(|r| [r.network[0] / r.socket[0], r.network[1] / r.socket[1]])
                    .collect(),
            ),
            queue_everysec_over_always: Spread::of(
                always
                    .iter()
                    .zip(&everysec)
                    .map(|(a, e)| e.per_second / a.per_second)
                    .collect(),
            ),
            queue_everysec_over_always_beside: beside.is_some().then(|| {
                Spread::of(
                    always_beside
                        .iter()
                        .zip(&everysec_beside)
                        .map(|(a, e)| e.per_second / a.per_second)
                        .collect(),
                )
            }),
            queue_post_over_direct_post: Spread::of(
                runs.iter()
                    .map(|r| r.post[1].0.per_second / r.post[0].0.per_second)
                    .collect(),
            ),
            queue_drain_over_pgbench_network: Spread::of(
                drains
                    .iter()
                    .map(|(drain, pgbench)| drain / pgbench)
                    .collect(),
            ),
            published_over_beside: beside.is_some().then(|| {
                [0, 1].map(|side| {
                    Spread::of(
                        runs.iter()
                            .filter_map(|r| {
                                let beside = r.beside[side]?;
                                Some(r.post[side].0.per_second / beside.per_second)
                            })
                            .collect(),
                    )
                })
            }),
        };
        let queue_only = Queue {
            post_everysec: median_load(everysec),
            drain_rows_per_second: Spread::of(drains.iter().map(|(d, _)| *d).collect()).median,
        };
        Ok((results(0), results(1), queue_only, ratios))
    }

    fn wrk(&self, sh: &Shell, url: &str, script: Option<&str>) -> anyhow::Result<Load> {
        self.wrk_for(sh, url, script, self.duration, None)
    }

    /// `POST /` on `url`, counting where the cores go meanwhile.
    fn metered_post(
        &self,
        meter: &cpu::Meter,
        sh: &Shell,
        url: &str,
    ) -> anyhow::Result<(Load, cpu::CpuUse)> {
        meter.around(|| {
            let load = self.wrk(sh, url, Some("target/xtask/post.lua"))?;
            Ok((load, load.per_second * self.duration as f64))
        })
    }

    /// `POST /` from beside the app ([`Beside`]); None when that is not measured.
    fn wrk_beside(&self, sh: &Shell, beside: Option<&Beside>) -> anyhow::Result<Option<Load>> {
        let Some(beside) = beside else {
            return Ok(None);
        };
        let script = Some("target/xtask/post.lua");
        self.wrk_for(sh, &beside.url, script, self.duration, Some(&beside.netns))
            .map(Some)
    }

    /// wrk for `seconds`; from the network namespace of process `netns` when given.
    fn wrk_for(
        &self,
        sh: &Shell,
        url: &str,
        script: Option<&str>,
        seconds: u64,
        netns: Option<&str>,
    ) -> anyhow::Result<Load> {
        let (connections, duration) = (self.concurrency.to_string(), format!("{seconds}s"));
        let script: Vec<&str> = script.map(|s| vec!["--script", s]).unwrap_or_default();
        let (program, then): (&str, Vec<&str>) = match netns {
            Some(pid) => ("nsenter", vec!["--target", pid, "--net", "wrk"]),
            None => ("wrk", Vec::new()),
        };
        let output = cmd!(sh, "{program} {then...} --threads 2 --connections {connections} --duration {duration} --latency {script...} {url}")
            .quiet()
            .read()
            .context("running wrk")?;
        parse_wrk(&output).with_context(|| format!("reading wrk's report:\n{output}"))
    }

    /// Rows per second the workers store from a backlog: stop them, queue answers, start them
    /// (without waiting for their healthchecks, which would overlap the draining), and time the
    /// queue until it is empty.
    fn drain_rate(&self, on: &Instance<'_>, url: &str) -> anyhow::Result<f64> {
        on.launcher().scale(on, 0)?;
        for _ in 0..2 {
            self.wrk(on.sh, url, Some("target/xtask/post.lua"))?;
        }
        let backlog = self.queue_length(on)?;
        let scale = format!("worker={}", self.workers);
        // Timed from the start command: the workers' start-up is counted too, so the rate
        // is, if anything, understated.
        let started = Instant::now();
        crate::launch::compose(on)?
            .args(["up", "--detach", "--no-recreate", "--scale", &scale])
            .quiet()
            .ignore_stderr()
            .run()
            .context("starting the workers")?;
        while self.queue_length(on)? > 0 {
            if started.elapsed() > Duration::from_secs(300) {
                bail!("the workers did not drain the queue within 5 minutes");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(backlog as f64 / started.elapsed().as_secs_f64())
    }

    /// Recreates step 05's Redis with `appendfsync` set to `fsync`, then loads it for a
    /// discarded second while the app and workers reconnect.
    fn redis_fsync(&self, on: &Instance<'_>, url: &str, fsync: &str) -> anyhow::Result<()> {
        let _fsync = on.sh.push_env("REDIS_APPENDFSYNC", fsync);
        crate::launch::compose(on)?
            .args(["up", "--detach", "--wait", "redis"])
            .quiet()
            .ignore_stderr()
            .run()
            .context("recreating Redis")?;
        self.wrk_for(on.sh, url, Some("target/xtask/post.lua"), 1, None)?;
        // The workers are back once they drain what that second queued. (Redis may still
        // be loading its data: that is not an answer yet.)
        let started = Instant::now();
        while self.queue_length(on).map_or(true, |n| n > 0) {
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the workers did not drain the queue within 2 minutes of Redis's restart");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Entries waiting plus entries in a worker's hands.
    fn queue_length(&self, on: &Instance<'_>) -> anyhow::Result<u64> {
        let length = on
            .exec(Service::Redis, Input::Closed)?
            .args(["redis-cli", "XLEN", "survey:answers"])
            .quiet()
            .read()?;
        length
            .trim()
            .parse()
            .with_context(|| format!("reading XLEN: {length}"))
    }

    /// Postgres's own single-row INSERT rate at the same concurrency: inside the db container
    /// through its socket, or (`network`) from a container beside it on the project's
    /// network, as the app reaches it.
    fn pgbench(&self, on: &Instance<'_>, network: bool) -> anyhow::Result<f64> {
        let sh = on.sh;
        let (clients, duration) = (self.concurrency.to_string(), self.duration.to_string());
        let pgbench = format!(
            "pgbench -U survey --no-vacuum --client {clients} --jobs 2 --time {duration} --file /dev/stdin survey"
        );
        let pgbench: Vec<&str> = pgbench.split(' ').collect();
        let output = if network {
            let db = on.container(Service::Db)?;
            let format = "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}";
            let net = cmd!(sh, "docker inspect --format {format} {db}").quiet().read()?;
            let image = &on.images()?.postgres;
            cmd!(sh, "docker run --rm -i --network {net} --env PGPASSWORD=survey --entrypoint pgbench {image} -h db")
                .args(&pgbench[1..])
                .stdin(INSERT_SCRIPT)
                .quiet()
                .read()
        } else {
            on.exec(Service::Db, Input::Open)?
                .args(&pgbench)
                .stdin(INSERT_SCRIPT)
                .quiet()
                .read()
        }
        .context("running pgbench")?;
        output
            .lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .with_context(|| format!("reading pgbench's report:\n{output}"))
    }
}

/// The run with the median requests per second.
fn median_load(mut runs: Vec<Load>) -> Load {
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    runs[runs.len() / 2]
}

/// Where the cores went in the run with the median requests per second.
fn median_cpu(mut runs: Vec<(Load, cpu::CpuUse)>) -> Option<cpu::CpuUse> {
    runs.sort_by(|a, b| a.0.per_second.total_cmp(&b.0.per_second));
    let middle = runs.len() / 2;
    runs.into_iter().nth(middle).map(|(_, used)| used)
}

/// Where `POST /` is sent from beside the app: wrk in the db container's network namespace
/// (entering it, with nsenter, needs root), to the app's address on the project's network,
/// so no published port (no userland proxy, no NAT) is on the way.
struct Beside {
    url: String,
    /// A process in the db container, whose network namespace wrk enters.
    netns: String,
}

impl Beside {
    fn of(on: &Instance<'_>) -> anyhow::Result<Self> {
        let sh = on.sh;
        let (app, db) = (on.container(Service::App)?, on.container(Service::Db)?);
        let format = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}";
        let addresses = cmd!(sh, "docker inspect --format {format} {app}")
            .quiet()
            .read()?;
        let address = addresses
            .split_whitespace()
            .next()
            .context("the app's address on the project's network")?;
        let format = "{{.State.Pid}}";
        let pid = cmd!(sh, "docker inspect --format {format} {db}")
            .quiet()
            .read()?;
        Ok(Self {
            url: format!("http://{address}:5000/"),
            netns: pid.trim().to_owned(),
        })
    }
}

/// Whether this process runs as root (which entering another network namespace needs).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// This machine, as a report names it.
fn machine(sh: &Shell) -> anyhow::Result<Machine> {
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

/// Requests/sec and the 50% and 99% latencies from `wrk --latency`.
fn parse_wrk(output: &str) -> Option<Load> {
    let per_second = output
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let failed = match output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
    {
        Some(count) => count.trim().parse().ok()?,
        None => 0,
    };
    let percentile = |p: &str| -> Option<f64> {
        let line = output.lines().find(|l| l.trim_start().starts_with(p))?;
        millis(line.split_whitespace().nth(1)?)
    };
    Some(Load {
        per_second,
        p50_ms: percentile("50%")?,
        p99_ms: percentile("99%")?,
        failed,
    })
}

/// "1.23ms", "456.00us", "1.20s" as milliseconds.
fn millis(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    /// wrk's report is read: requests per second and the 50%/99% latencies in ms.
    #[test]
    fn reads_wrk_report() {
        let report = "  Latency Distribution\n     50%    1.50ms\n     75%    2.00ms\n     90%    3.00ms\n     99%  850.00us\n  1000 requests in 1.00s, 1.00MB read\nRequests/sec:   1234.56\n";
        let load = super::parse_wrk(report).expect("a report");
        assert_eq!(load.per_second, 1234.56);
        assert_eq!(load.failed, 0);
        let failing = format!("{report}  Non-2xx or 3xx responses: 17\n");
        assert_eq!(super::parse_wrk(&failing).map(|l| l.failed), Some(17));
        assert_eq!(load.p50_ms, 1.5);
        assert!((load.p99_ms - 0.85).abs() < 1e-9);
        assert_eq!(super::millis("1.2s"), Some(1200.0));
    }
}
