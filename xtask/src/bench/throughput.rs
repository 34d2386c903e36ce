//! Steps 04 and 05 side by side: each run loads them in turn (wrk GET and POST, from
//! 127.0.0.1 and, as root, from beside the app) and measures Postgres's own rate beside
//! them, so both sides of a ratio see the same minutes of a noisy machine. Then step 05
//! alone: its POST with each fsync policy, and its workers draining a backlog.

use xshell::Shell;

use super::{
    cpu::Meter,
    machine,
    pgbench::{Path, Pgbench},
    queue::{self, Fsync},
    wrk::{Beside, Wrk},
};
use crate::{
    catalogue::Step,
    images::{Images, Profile},
    launch::{ANY_PORT, Instance, Up},
    report::{
        Burst, CpuUse, DbPerRow, Load, Queue, Ratios, Side, Sides, Spread, StepResults, median_by,
    },
};

/// What the throughput phases measure, and how hard.
pub struct Throughput {
    pub runs: usize,
    pub workers: u32,
    pub wrk: Wrk,
    pub pgbench: Pgbench,
}

/// Everything the throughput phases found.
pub struct Figures {
    pub steps: Sides<StepResults>,
    pub queue_only: Queue,
    pub ratios: Ratios,
}

/// The two running steps, and what measures them.
struct Pair<'a> {
    instances: &'a Sides<Instance<'a>>,
    urls: Sides<String>,
    meters: Sides<Meter>,
    /// Where wrk goes from beside each app: None unless root.
    beside: Option<Sides<Beside>>,
}

impl Pair<'_> {
    fn beside(&self, side: Side) -> Option<&Beside> {
        self.beside.as_ref().map(|b| b.get(side))
    }
}

/// Figures of one run of steps 04 and 05, side by side.
struct Run {
    get: Sides<Load>,
    post: Sides<(Load, CpuUse)>,
    beside: Sides<Option<Load>>,
    socket: Sides<f64>,
    network: Sides<f64>,
    /// Postgres's processor time per row beside step 04: pgbench at its own rate, then
    /// paced at step 04's `POST /` rate.
    db: DbRun,
}

/// Postgres's processor time per row (µs) in one run, at its own rate and paced.
struct DbRun {
    full_micros: f64,
    paced_per_second: f64,
    paced_micros: f64,
}

/// Step 05's POST, run after run, with Redis fsyncing per entry and once a second.
#[derive(Default)]
struct FsyncRuns {
    always: Vec<Load>,
    everysec: Vec<Load>,
    always_beside: Vec<Load>,
    everysec_beside: Vec<Load>,
}

/// One burst taken and drained, with step 04's POST just before and pgbench's rate over
/// the network just after.
struct Drain {
    direct: Load,
    burst: Burst,
    pgbench_network: f64,
}

impl Throughput {
    /// Brings steps 04 and 05 up under projects and ports of their own, measures, and takes
    /// both down with their volumes whatever happened.
    pub fn measure(&self, sh: &Shell, images: &Images) -> anyhow::Result<Figures> {
        let instances = Sides::try_new(|side| {
            let step = Step::find(side.step())?;
            let project = format!("survey-bench-{:02}", step.number);
            Ok(Instance::with_images(sh, step, project, images.clone()))
        })?;
        let result = Sides::try_new(|side| self.start(instances.get(side), side))
            .and_then(|_| Sides::try_new(|side| instances.get(side).port()))
            .and_then(|ports| self.measure_running(&instances, &ports));
        for side in Side::BOTH {
            eprintln!("==> step {}: down", side.step());
            instances.get(side).down(true)?;
        }
        result
    }

    fn start(&self, copy: &Instance<'_>, side: Side) -> anyhow::Result<()> {
        eprintln!("\n==> step {}: up", copy.step.number);
        copy.up(loaded_up(side, self.workers))
    }

    fn measure_running(
        &self,
        instances: &Sides<Instance<'_>>,
        ports: &Sides<u16>,
    ) -> anyhow::Result<Figures> {
        let urls = Sides::new(|side| format!("http://127.0.0.1:{}/", ports.get(side)));
        let meters = Sides::try_new(|side| Meter::of(instances.get(side), *ports.get(side)))?;
        let beside = if machine::is_root() {
            Some(Sides::try_new(|side| Beside::of(instances.get(side)))?)
        } else {
            eprintln!(
                "    (not root: POST from beside the app, through no published port, is not measured)"
            );
            None
        };
        let pair = Pair {
            instances,
            urls,
            meters,
            beside,
        };
        let runs = self.side_by_side(&pair)?;
        let fsync = self.fsync_runs(&pair)?;
        let drains = self.drains(&pair)?;
        Ok(Figures {
            steps: Sides::new(|side| results(&runs, side)),
            ratios: ratios(&runs, &fsync, &drains, pair.beside.is_some()),
            queue_only: Queue {
                post_everysec: Load::median(fsync.everysec),
                drain_rows_per_second: Spread::of(
                    drains.iter().map(|d| d.burst.drain_rate()).collect(),
                )
                .median,
                burst: median_by(drains.iter().map(|d| d.burst).collect(), |b| {
                    b.accepted.per_second
                }),
            },
        })
    }

    /// The interleaved runs: 04, 05, pgbench beside each, run after run.
    fn side_by_side(&self, pair: &Pair<'_>) -> anyhow::Result<Vec<Run>> {
        let copy = |side| pair.instances.get(side);
        let sh = pair.instances.direct.sh;
        let mut runs = Vec::new();
        for run in 1..=self.runs {
            eprintln!(
                "    run {run} of {}: wrk GET and POST on 04 and 05, pgbench",
                self.runs
            );
            let get = Sides::try_new(|side| self.wrk.get(sh, pair.urls.get(side)))?;
            let post = Sides::try_new(|side| {
                pair.meters.get(side).around(|| {
                    let load = self.wrk.post(sh, pair.urls.get(side))?;
                    Ok((load, load.per_second * self.wrk.seconds as f64))
                })
            })?;
            let beside = Sides::try_new(|side| self.wrk.post_beside(sh, pair.beside(side)))?;
            let socket = Sides::try_new(|side| self.pgbench.rate(copy(side), Path::Socket, None))?;
            // Step 04's Postgres metered, as fast as it goes, then at the direct path's rate.
            let pgbench_metered = |paced: Option<f64>| {
                pair.meters.direct.around(|| {
                    let rate = self
                        .pgbench
                        .rate(copy(Side::Direct), Path::Network, paced)?;
                    Ok((rate, rate * self.pgbench.seconds as f64))
                })
            };
            let (full, full_used) = pgbench_metered(None)?;
            let network = Sides {
                direct: full,
                queue: self.pgbench.rate(copy(Side::Queue), Path::Network, None)?,
            };
            let pace = beside.direct.unwrap_or(post.direct.0).per_second;
            let (paced, paced_used) = pgbench_metered(Some(pace))?;
            let db = |used: &CpuUse| used.micros_of("db").unwrap_or_default();
            runs.push(Run {
                get,
                post,
                beside,
                socket,
                network,
                db: DbRun {
                    full_micros: db(&full_used),
                    paced_per_second: paced,
                    paced_micros: db(&paced_used),
                },
            });
        }
        Ok(runs)
    }

    /// Step 05's POST with fsync per entry, then once a second, run after run; Redis is left
    /// fsyncing per entry, as the step ships.
    fn fsync_runs(&self, pair: &Pair<'_>) -> anyhow::Result<FsyncRuns> {
        let (queue, url) = (&pair.instances.queue, &pair.urls.queue);
        let beside = pair.beside(Side::Queue);
        let mut found = FsyncRuns::default();
        for run in 1..=self.runs {
            eprintln!(
                "    run {run} of {}: step 05 POST with fsync always, then everysec",
                self.runs
            );
            queue::set_fsync(queue, self.wrk, url, Fsync::Always)?;
            found.always.push(self.wrk.post(queue.sh, url)?);
            found
                .always_beside
                .extend(self.wrk.post_beside(queue.sh, beside)?);
            queue::set_fsync(queue, self.wrk, url, Fsync::Everysec)?;
            found.everysec.push(self.wrk.post(queue.sh, url)?);
            found
                .everysec_beside
                .extend(self.wrk.post_beside(queue.sh, beside)?);
        }
        queue::set_fsync(queue, self.wrk, url, Fsync::Always)?;
        Ok(found)
    }

    /// Step 05 taking a burst with its workers held back, then draining it, run after run,
    /// each beside step 04's POST and pgbench's rate.
    fn drains(&self, pair: &Pair<'_>) -> anyhow::Result<Vec<Drain>> {
        let (queue, url) = (&pair.instances.queue, &pair.urls.queue);
        let mut drains = Vec::new();
        for run in 1..=self.runs {
            eprintln!(
                "    run {run} of {}: step 04 POST, then a burst on step 05 with its workers held back, drained",
                self.runs
            );
            drains.push(Drain {
                direct: self.wrk.post(queue.sh, &pair.urls.direct)?,
                burst: queue::burst(queue, self.wrk, url, self.workers)?,
                pgbench_network: self.pgbench.rate(queue, Path::Network, None)?,
            });
        }
        Ok(drains)
    }
}

/// `up` for a step the bench loads: any free port, `workers` for step 05, and the image that
/// ships, since that is the one measured.
pub fn loaded_up(side: Side, workers: u32) -> Up {
    Up {
        port: ANY_PORT,
        workers: (side == Side::Queue).then_some(workers),
        nodes: None,
        profile: Profile::Release,
        public: false,
        observe: false,
    }
}

/// One side's figures: the medians of its runs.
fn results(runs: &[Run], side: Side) -> StepResults {
    let median = |of: fn(&Run) -> &Sides<f64>| {
        Spread::of(runs.iter().map(|r| *of(r).get(side)).collect()).median
    };
    StepResults {
        get: Load::median(runs.iter().map(|r| *r.get.get(side)).collect()),
        post: Load::median(runs.iter().map(|r| r.post.get(side).0).collect()),
        post_beside: runs
            .iter()
            .map(|r| *r.beside.get(side))
            .collect::<Option<Vec<_>>>()
            .map(Load::median),
        post_cpu: median_cpu(runs.iter().map(|r| r.post.get(side).clone()).collect()),
        pgbench_socket_per_second: median(|r| &r.socket),
        pgbench_network_per_second: median(|r| &r.network),
        pgbench_db: (side == Side::Direct).then(|| DbPerRow {
            full_micros: Spread::of(runs.iter().map(|r| r.db.full_micros).collect()),
            paced_per_second: Spread::of(runs.iter().map(|r| r.db.paced_per_second).collect())
                .median,
            paced_micros: Spread::of(runs.iter().map(|r| r.db.paced_micros).collect()),
        }),
    }
}

/// Each ratio within single runs, then its median and spread over the runs.
fn ratios(runs: &[Run], fsync: &FsyncRuns, drains: &[Drain], beside: bool) -> Ratios {
    let over = |a: &[Load], b: &[Load]| {
        Spread::of(
            a.iter()
                .zip(b)
                .map(|(a, b)| a.per_second / b.per_second)
                .collect(),
        )
    };
    let post = |r: &Run, side| r.post.get(side).0.per_second;
    Ratios {
        direct_post_over_pgbench_network: Spread::of(
            runs.iter()
                .map(|r| post(r, Side::Direct) / r.network.direct)
                .collect(),
        ),
        direct_beside_over_pgbench_network: beside.then(|| {
            Spread::of(
                runs.iter()
                    .filter_map(|r| Some(r.beside.direct?.per_second / r.network.direct))
                    .collect(),
            )
        }),
        pgbench_network_over_socket: Spread::of(
            runs.iter()
                .flat_map(|r| Side::BOTH.map(|s| r.network.get(s) / r.socket.get(s)))
                .collect(),
        ),
        queue_everysec_over_always: over(&fsync.everysec, &fsync.always),
        queue_everysec_over_always_beside: beside
            .then(|| over(&fsync.everysec_beside, &fsync.always_beside)),
        queue_post_over_direct_post: Spread::of(
            runs.iter()
                .map(|r| post(r, Side::Queue) / post(r, Side::Direct))
                .collect(),
        ),
        queue_burst_over_direct_post: Some(Spread::of(
            drains
                .iter()
                .map(|d| d.burst.accepted.per_second / d.direct.per_second)
                .collect(),
        )),
        queue_drain_over_pgbench_network: Spread::of(
            drains
                .iter()
                .map(|d| d.burst.drain_rate() / d.pgbench_network)
                .collect(),
        ),
        published_over_beside: beside.then(|| {
            Sides::new(|side| {
                Spread::of(
                    runs.iter()
                        .filter_map(|r| Some(post(r, side) / (*r.beside.get(side))?.per_second))
                        .collect(),
                )
            })
        }),
    }
}

/// Where the cores went in the run with the median requests per second.
fn median_cpu(runs: Vec<(Load, CpuUse)>) -> Option<CpuUse> {
    median_by(runs, |(load, _)| load.per_second).map(|(_, used)| used)
}
