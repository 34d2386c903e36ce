//! `cargo xtask bench`: what a learner feels, and how fast each path is against what limit.
//!
//! The learner's figures ([`learner`]): `up` time of every step from built images, an edit
//! served again, idle memory, image sizes, and with `--lab` step 07's lab. Then throughput
//! ([`throughput`]): steps 04 (direct to Postgres) and 05 (queue + workers) side by side,
//! loaded in turn with wrk ([`wrk`]) beside Postgres's own rate ([`pgbench`]), with where the
//! cores went ([`cpu`]). Last, what the steps' programs time of their own work
//! ([`timings`]). Nothing here is asserted: it reports. `--save` keeps the report in
//! docs/bench/report.json, which the book's tables are rendered from. `--against REV` measures
//! instead this checkout's steps 04 and 05 beside another commit's ([`against`]).

mod against;
mod checkout;
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
    /// Instead, measure steps 04 and 05 of this checkout beside those of another commit (a
    /// hash, a branch, `HEAD~3`), built from its own files, and report each figure's ratio.
    #[arg(long, value_name = "REV", conflicts_with_all = ["save", "lab"])]
    against: Option<String>,
}

impl Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        docker::require_engine(sh)?;
        docker::require_compose_v2(sh)?;
        let wrk = wrk::Wrk {
            seconds: self.duration,
            connections: self.concurrency,
        };
        if cmd!(sh, "which wrk").quiet().ignore_stdout().run().is_err() {
            bail!("the load generator wrk is missing: apt-get install wrk");
        }
        // A name that is no commit is told before anything is built.
        let against = self
            .against
            .as_deref()
            .map(|rev| -> anyhow::Result<_> {
                Ok(against::Against {
                    commit: against::commit(sh, rev)?,
                    runs: self.runs,
                    workers: self.workers,
                    wrk,
                })
            })
            .transpose()?;
        // From here on, a Ctrl-C stops the command under way, and the bench, which then takes
        // down what it started on its way out, and says it was interrupted (rather than that
        // the command under way failed).
        let interrupt = crate::interrupt::Deferred::hold()?;
        let measured = self.measure(sh, wrk, against);
        interrupt.check()?;
        measured
    }

    fn measure(
        &self,
        sh: &Shell,
        wrk: wrk::Wrk,
        against: Option<against::Against>,
    ) -> anyhow::Result<()> {
        let images = images::ensure(sh, images::Fetch::default())?;
        wrk::Wrk::prepare(sh)?;
        let machine = machine::describe(sh)?;
        if let Some(against) = against {
            let comparison = against.measure(sh, &images, machine)?;
            println!("{}", report::tables::comparison(&comparison));
            return self.write_json(sh, &comparison);
        }
        let learner = learner::measure(sh, &images, self.runs, self.lab)?;
        let throughput = throughput::Throughput {
            runs: self.runs,
            workers: self.workers,
            wrk,
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
        println!("{}", report::tables::text(report));
        self.write_json(sh, report)?;
        if self.save {
            let json = serde_json::to_string_pretty(report)? + "\n";
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

    /// `report` as JSON in the file `--json` names, if it names one.
    fn write_json(&self, sh: &Shell, report: &impl serde::Serialize) -> anyhow::Result<()> {
        if let Some(path) = &self.json {
            sh.write_file(path, serde_json::to_string_pretty(report)? + "\n")?;
            println!("wrote {path}");
        }
        Ok(())
    }
}
