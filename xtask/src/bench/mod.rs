//! `cargo xtask bench`: what a learner feels, and how fast each path is against what limit.
//!
//! The learner's figures ([`learner`]): `up` time of every step from built images, an edit
//! served again, idle memory, image sizes, and with `--lab` step 07's lab. Then throughput
//! ([`throughput`]): steps 04 (direct to Postgres) and 05 (queue + workers) side by side,
//! loaded in turn with wrk ([`wrk`]) beside Postgres's own rate ([`pgbench`]), with where the
//! cores went ([`cpu`]). Last, what the steps' programs time of their own work
//! ([`timings`]). Nothing here is asserted: it reports. `--save` keeps the report in
//! docs/bench/report.json, which the book's tables are rendered from.

mod cpu;
mod learner;
mod machine;
mod pgbench;
mod queue;
mod throughput;
mod timings;
mod wrk;

use anyhow::bail;
use xshell::{Shell, cmd};

use crate::{
    docker, images,
    report::{self, Report},
};

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

impl Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        docker::require_engine(sh)?;
        docker::require_compose_v2(sh)?;
        if cmd!(sh, "which wrk").quiet().ignore_stdout().run().is_err() {
            bail!("the load generator wrk is missing: apt-get install wrk");
        }
        let images = images::ensure(sh, images::Fetch::default())?;
        wrk::Wrk::prepare(sh)?;
        let machine = machine::describe(sh)?;
        let learner = learner::measure(sh, &images, self.runs, self.lab)?;
        let throughput = throughput::Throughput {
            runs: self.runs,
            workers: self.workers,
            wrk: wrk::Wrk {
                seconds: self.duration,
                connections: self.concurrency,
            },
            pgbench: pgbench::Pgbench {
                seconds: self.duration,
                clients: self.concurrency,
            },
        };
        let figures = throughput.measure(sh, &images)?;
        let timings = timings::measure(sh, &images)?;
        let report = Report {
            machine,
            duration_seconds: self.duration,
            runs: self.runs,
            concurrency: self.concurrency,
            workers: self.workers,
            learner,
            direct: figures.steps.direct,
            queue: figures.steps.queue,
            queue_only: figures.queue_only,
            ratios: figures.ratios,
            timings,
        };
        self.write(sh, &report)
    }

    /// The report on the console, and in the files asked for.
    fn write(&self, sh: &Shell, report: &Report) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(report)? + "\n";
        println!("{}", report::tables::text(report));
        if let Some(path) = &self.json {
            sh.write_file(path, &json)?;
            println!("wrote {path}");
        }
        if self.save {
            sh.write_file(report::SAVED, &json)?;
            println!("wrote {}", report::SAVED);
            // The book's tables, as `cargo xtask codegen` renders them from the saved report.
            for (path, text) in report::tables::rendered(report) {
                sh.write_file(path, text)?;
                println!("wrote {path}");
            }
        }
        Ok(())
    }
}
