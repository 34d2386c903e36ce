//! A bench report: what `cargo xtask bench` measured, as data. `bench` fills it in, `--save`
//! keeps it in docs/bench/report.json, and [`tables`] renders it, for the console and as the
//! Markdown tables the book includes (`bench --save` and `codegen` both call it, and neither
//! knows the other).

pub mod tables;
mod time_spent;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use xshell::Shell;

/// Where `bench --save` keeps the report.
pub const SAVED: &str = "docs/bench/report.json";

/// The report `bench --save` kept.
pub fn saved(sh: &Shell) -> anyhow::Result<Report> {
    let saved = sh
        .read_file(SAVED)
        .with_context(|| format!("reading {SAVED} (`cargo xtask bench --save` writes it)"))?;
    serde_json::from_str(&saved).with_context(|| format!("reading {SAVED}"))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub machine: Machine,
    pub duration_seconds: u64,
    pub runs: usize,
    pub concurrency: u32,
    pub workers: u32,
    pub learner: Learner,
    pub direct: StepResults,
    pub queue: StepResults,
    pub queue_only: Queue,
    pub ratios: Ratios,
    /// What the steps' programs timed of their own work (see `Step::timings`).
    #[serde(default)]
    pub timings: Vec<Timing>,
}

/// `bench --against REV`: this checkout beside another commit, figure by figure.
#[derive(Debug, Serialize, Deserialize)]
pub struct Comparison {
    pub machine: Machine,
    /// This checkout: its commit, "with changes" when files differ from it.
    pub this: String,
    /// The other commit.
    pub that: String,
    pub duration_seconds: u64,
    pub runs: usize,
    pub concurrency: u32,
    pub workers: u32,
    pub figures: Vec<Compared>,
}

/// One figure of both versions: the median of each one's runs, and this over that within
/// each run.
#[derive(Debug, Serialize, Deserialize)]
pub struct Compared {
    pub figure: String,
    pub unit: String,
    /// Whether more is better (a rate) or worse (a latency, a size).
    pub higher_is_better: bool,
    pub this: f64,
    pub that: f64,
    pub ratio: Spread,
}

impl Compared {
    /// What the runs say: better or worse in every run, or either way.
    pub fn verdict(&self) -> &'static str {
        let (better, worse) = if self.higher_is_better {
            (self.ratio.min > 1.0, self.ratio.max < 1.0)
        } else {
            (self.ratio.max < 1.0, self.ratio.min > 1.0)
        };
        match (better, worse) {
            (true, _) => "better in every run",
            (_, true) => "worse in every run",
            _ => "either way",
        }
    }
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

/// The two paths a throughput comparison sets side by side: step 04 straight to Postgres,
/// step 05 through the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Direct,
    Queue,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Direct, Side::Queue];

    /// The step that goes this way.
    pub fn step(self) -> u8 {
        match self {
            Side::Direct => 4,
            Side::Queue => 5,
        }
    }
}

/// One value for each side.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Sides<T> {
    pub direct: T,
    pub queue: T,
}

impl<T> Sides<T> {
    /// Each side's value from `of`, step 04's first.
    pub fn try_new(mut of: impl FnMut(Side) -> anyhow::Result<T>) -> anyhow::Result<Self> {
        Ok(Self {
            direct: of(Side::Direct)?,
            queue: of(Side::Queue)?,
        })
    }

    pub fn new(mut of: impl FnMut(Side) -> T) -> Self {
        Self {
            direct: of(Side::Direct),
            queue: of(Side::Queue),
        }
    }

    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Direct => &self.direct,
            Side::Queue => &self.queue,
        }
    }
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

impl Load {
    /// The run with the median requests per second.
    pub fn median(runs: Vec<Load>) -> Load {
        median_by(runs, |load| load.per_second).expect("at least one run")
    }
}

/// The item with the median `rate` (the upper one of an even count); None if there is none.
pub fn median_by<T>(mut items: Vec<T>, rate: impl Fn(&T) -> f64) -> Option<T> {
    items.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let middle = items.len() / 2;
    items.into_iter().nth(middle)
}

/// A median in bold, then the lowest and highest in brackets, with `digits` decimals.
fn spread(s: &Spread, digits: usize) -> String {
    format!(
        "**{:.digits$}** ({:.digits$} to {:.digits$})",
        s.median, s.min, s.max
    )
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
    pub post_cpu: Option<CpuUse>,
    /// Postgres's processor time per row under pgbench over the network, at its own rate and
    /// at this step's (step 04 only; none in older reports).
    #[serde(default)]
    pub pgbench_db: Option<DbPerRow>,
}

/// Postgres's processor time per one-row INSERT (µs) under pgbench over the network: as fast
/// as it goes, and paced at the rate the direct path's `POST /` reached in the same run (from
/// beside the app where that was measured). Fewer commits a second share fewer WAL flushes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DbPerRow {
    pub full_micros: Spread,
    /// The paced rate pgbench kept, rows per second (the median run's).
    pub paced_per_second: f64,
    pub paced_micros: Spread,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Queue {
    /// Step 05's POST with Redis fsyncing once a second instead of per entry (not durable).
    pub post_everysec: Load,
    pub drain_rows_per_second: f64,
    /// The median burst taken with the workers held back, and its backlog drained.
    #[serde(default)]
    pub burst: Option<Burst>,
}

/// Step 05 taking answers with its workers held back, then the workers catching up.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Burst {
    /// The app's `POST /` while no answer is stored.
    pub accepted: Load,
    /// Answers queued by the end of the burst.
    pub backlog: u64,
    /// Seconds from starting the workers to the queue empty.
    pub drain_seconds: f64,
}

impl Burst {
    /// How long a burst lasts, in the bench's measurements: long enough for a backlog the
    /// workers take seconds to drain.
    pub const MEASUREMENTS: u64 = 2;

    /// Rows per second the workers stored.
    pub fn drain_rate(&self) -> f64 {
        self.backlog as f64 / self.drain_seconds
    }
}

/// Each the median (and spread) of the ratios of single runs measured one after the other.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ratios {
    /// The web layer's cost: step 04's POST over pgbench from the network, same run.
    pub direct_post_over_pgbench_network: Spread,
    /// The same path on both sides: step 04's POST from beside the app (no published port,
    /// as pgbench has none) over pgbench from the network (measured as root only).
    #[serde(default)]
    pub direct_beside_over_pgbench_network: Option<Spread>,
    /// What the network costs Postgres: pgbench from a container over pgbench on the socket.
    pub pgbench_network_over_socket: Spread,
    /// What fsyncing every entry costs the queue path: POST with everysec over always.
    pub queue_everysec_over_always: Spread,
    /// The same from beside the app (measured as root only).
    #[serde(default)]
    pub queue_everysec_over_always_beside: Option<Spread>,
    /// What the queue gains at the door: step 05's POST over step 04's, same run.
    pub queue_post_over_direct_post: Spread,
    /// What the queue takes in a burst: step 05's POST with its workers held back over step
    /// 04's POST just before.
    #[serde(default)]
    pub queue_burst_over_direct_post: Option<Spread>,
    /// What batches gain: the workers' drain over pgbench from the network.
    pub queue_drain_over_pgbench_network: Spread,
    /// What the published port costs: `POST /` through it over the same from beside the
    /// app (measured as root only).
    #[serde(default)]
    pub published_over_beside: Option<Sides<Spread>>,
}

/// How many cores, on average, each part kept busy during a load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CpuUse {
    /// Part name (a service, `docker-proxy`, `wrk`, `rest`) and the cores it kept busy.
    pub parts: Vec<(String, f64)>,
    /// Of those, the cores the kernel kept busy for each part but `rest` (its system time);
    /// none in older reports.
    #[serde(default)]
    pub kernel: Vec<(String, f64)>,
    /// Cores nobody used.
    pub idle: f64,
    /// Processor time per request, in microseconds, all parts together.
    pub micros_per_request: f64,
}

/// What a learner feels: how long `up` takes, an edit takes to be served, how much memory
/// the services use idle, how big the app image is.
#[derive(Debug, Serialize, Deserialize)]
pub struct Learner {
    /// Seconds from a one-word change of the form's template to `cargo xtask step 3 up`
    /// done, with the new page served.
    pub edit_to_running_seconds: Spread,
    /// How many edits that is the median of (older reports: as many as the runs).
    #[serde(default)]
    pub edits: Option<usize>,
    /// Seconds of `up` for each step, its images built, to every service healthy.
    pub up_seconds: Vec<StepFigure>,
    /// How many ups each of those is the median of (older reports: one).
    #[serde(default)]
    pub ups: Option<usize>,
    /// Memory each service of the steps with workers uses, idle after start (MiB).
    pub idle_memory_mib: Vec<ServiceFigure>,
    /// Step 01's app image, as `up` builds it and as it ships (MB).
    pub image_mb: ImageSizes,
    /// Step 07's lab, when measured (`--lab`).
    pub lab: Option<Lab>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StepFigure {
    pub step: u8,
    pub value: f64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ServiceFigure {
    pub step: u8,
    pub service: String,
    pub value: f64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ImageSizes {
    pub quick: f64,
    pub release: f64,
}

/// One figure a step's program measured of itself, in its image as `up` builds it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Timing {
    pub step: u8,
    /// The program's arguments that printed it.
    pub command: String,
    /// What was timed, in the program's words.
    pub what: String,
    pub unit: String,
    pub rounds: usize,
    pub spread: Spread,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Lab {
    pub nodes: u32,
    /// `cargo xtask step 7 up` from built images to every replica healthy.
    pub up_seconds: f64,
    /// Memory of the nodes' and the registry's containers together, idle (MiB).
    pub memory_mib: f64,
}

#[cfg(test)]
mod tests {
    /// The saved report reads as today's model (a renamed field would drop it silently).
    #[test]
    fn the_saved_report_reads() {
        let sh = xshell::Shell::new().expect("a shell");
        sh.change_dir(crate::project_root());
        let report = super::saved(&sh).expect("the saved report");
        assert!(report.ratios.published_over_beside.is_some());
    }
}
