//! `bench --against REV`: this checkout's steps 04 and 05 beside another commit's, each built
//! from its own files, loaded in turn run after run. Absolute rates swing between days on a
//! shared machine; the ratio of two copies measured in the same minutes does not, so a change
//! that makes the app slower shows.

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::{checkout::Checkout, queue, throughput::loaded_up, wrk::Wrk};
use crate::{
    catalogue::Step,
    images::Images,
    launch::Instance,
    report::{Burst, Compared, Comparison, Load, Machine, Side, Sides, Spread},
};

/// What the comparison measures, and how hard.
pub struct Against {
    /// The other commit's full hash.
    pub commit: String,
    pub runs: usize,
    pub workers: u32,
    pub wrk: Wrk,
}

/// The same thing for this checkout and for the other commit.
#[derive(Default)]
struct Versions<T> {
    this: T,
    that: T,
}

/// Which of the two.
#[derive(Debug, Clone, Copy)]
enum Version {
    This,
    That,
}

impl<T> Versions<T> {
    fn try_new(mut of: impl FnMut(Version) -> anyhow::Result<T>) -> anyhow::Result<Self> {
        Ok(Self {
            this: of(Version::This)?,
            that: of(Version::That)?,
        })
    }

    fn get(&self, version: Version) -> &T {
        match version {
            Version::This => &self.this,
            Version::That => &self.that,
        }
    }

    fn get_mut(&mut self, version: Version) -> &mut T {
        match version {
            Version::This => &mut self.this,
            Version::That => &mut self.that,
        }
    }
}

/// One copy's figures in one run.
struct Run {
    get: Sides<Load>,
    post: Sides<Load>,
    burst: Burst,
}

/// Both versions' runs, and their app images' sizes (MB).
struct Measured {
    runs: Versions<Vec<Run>>,
    sizes: Versions<Sides<f64>>,
}

impl Against {
    pub fn measure(
        &self,
        sh: &Shell,
        images: &Images,
        machine: Machine,
    ) -> anyhow::Result<Comparison> {
        let (commit, short) = (&self.commit, &self.commit[..12]);
        let this = match hash(sh, "HEAD") {
            Ok(head) if changed(sh) => format!("{} with changes", &head[..12]),
            Ok(head) => head[..12].to_owned(),
            Err(_) => "this checkout".to_owned(),
        };
        let tag = format!("against-{short}");
        let other = Checkout::of_commit(sh, commit, &format!("target/bench/{tag}"), &tag)?;
        for side in Side::BOTH {
            let file = Step::find(side.step())?.compose_file();
            let text = other.read(&file).with_context(|| {
                format!("{short} has no {file}: pick a commit that has steps 04 and 05")
            })?;
            if !(text.contains("SURVEY_TAG") && text.contains("SURVEY_PORT")) {
                bail!(
                    "{short}'s {file} takes no SURVEY_TAG or SURVEY_PORT: its images would \
                     replace this checkout's; pick a commit that has the bench's variables"
                );
            }
        }
        let copies = Versions::try_new(|version| {
            Sides::try_new(|side| {
                let (sh, project) = match version {
                    Version::This => (sh, "survey-bench"),
                    Version::That => (&other.sh, "survey-against"),
                };
                let step = Step::find(side.step())?;
                let project = format!("{project}-{:02}", step.number);
                Ok(Instance::with_images(sh, step, project, images.clone()))
            })
        })?;
        let result = self.measure_copies(&copies);
        // Every copy goes, even when taking one down fails.
        let mut downs = Vec::new();
        for version in [Version::This, Version::That] {
            for side in Side::BOTH {
                let copy = copies.get(version).get(side);
                eprintln!("==> {}: down", copy.project);
                downs.push(copy.down(true));
            }
        }
        for side in Side::BOTH {
            let image = copies.that.get(side).step.image(&other.sh);
            let _ = cmd!(sh, "docker image rm {image}")
                .quiet()
                .ignore_stdout()
                .ignore_stderr()
                .run();
        }
        let measured = result?;
        downs.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        Ok(Comparison {
            machine,
            this,
            that: short.to_owned(),
            duration_seconds: self.wrk.seconds,
            runs: self.runs,
            concurrency: self.wrk.connections,
            workers: self.workers,
            figures: figures(&measured),
        })
    }

    /// Brings the four copies up, then loads them in turn, run after run (the two versions
    /// of a step one after the other, taking turns at going first); their image sizes too.
    fn measure_copies(&self, copies: &Versions<Sides<Instance<'_>>>) -> anyhow::Result<Measured> {
        for version in [Version::This, Version::That] {
            for side in Side::BOTH {
                let copy = copies.get(version).get(side);
                eprintln!("\n==> {}: build and up", copy.project);
                copy.up(loaded_up(side, self.workers))?;
            }
        }
        let urls = Versions::try_new(|version| {
            Sides::try_new(|side| {
                let port = copies.get(version).get(side).port()?;
                Ok(format!("http://127.0.0.1:{port}/"))
            })
        })?;
        let mut runs: Versions<Vec<Run>> = Versions::default();
        for run in 1..=self.runs {
            let order = if run % 2 == 1 {
                [Version::This, Version::That]
            } else {
                [Version::That, Version::This]
            };
            eprintln!(
                "    run {run} of {}: wrk GET and POST on 04 and 05, then a burst on 05, each \
                 version in turn",
                self.runs
            );
            let found = self.run(copies, &urls, order)?;
            runs.this.push(found.this);
            runs.that.push(found.that);
        }
        let sizes = Versions::try_new(|version| {
            Sides::try_new(|side| {
                let copy = copies.get(version).get(side);
                super::learner::size_mb(copy.sh, &copy.step.image(copy.sh))
            })
        })?;
        Ok(Measured { runs, sizes })
    }

    /// One run of both versions, in `order`.
    fn run(
        &self,
        copies: &Versions<Sides<Instance<'_>>>,
        urls: &Versions<Sides<String>>,
        order: [Version; 2],
    ) -> anyhow::Result<Versions<Run>> {
        let mut loads: Versions<Vec<(Load, Load)>> = Versions::default();
        for side in Side::BOTH {
            for version in order {
                let copy = copies.get(version).get(side);
                let url = urls.get(version).get(side);
                let (get, post) = (self.wrk.get(copy.sh, url)?, self.wrk.post(copy.sh, url)?);
                for (load, what) in [(get, "GET /"), (post, "POST /")] {
                    if load.failed > 0 {
                        bail!(
                            "{}: {} responses to {what} were neither 2xx nor 3xx, so its rates \
                             are not those of answers served",
                            copy.project,
                            load.failed
                        );
                    }
                }
                loads.get_mut(version).push((get, post));
            }
        }
        let mut bursts: Versions<Option<Burst>> = Versions::default();
        for version in order {
            let (queue, url) = (&copies.get(version).queue, &urls.get(version).queue);
            *bursts.get_mut(version) = Some(queue::burst(queue, self.wrk, url, self.workers)?);
        }
        Versions::try_new(|version| {
            // Step 04's loads first, as they were taken.
            let loads = loads.get(version);
            Ok(Run {
                get: Sides::new(|side| loads[usize::from(side == Side::Queue)].0),
                post: Sides::new(|side| loads[usize::from(side == Side::Queue)].1),
                burst: bursts
                    .get_mut(version)
                    .take()
                    .context("a burst of each version")?,
            })
        })
    }
}

/// The figures compared: each the median of this checkout's runs and of the other's, and
/// the ratio of the two within each run.
fn figures(measured: &Measured) -> Vec<Compared> {
    let (runs, sizes) = (&measured.runs, &measured.sizes);
    type Of = Box<dyn Fn(&Run) -> f64>;
    let mut rates: Vec<(String, &str, bool, Of)> = Vec::new();
    for side in Side::BOTH {
        let step = side.step();
        rates.extend([
            (
                format!("step {step:02} GET /"),
                "requests/s",
                true,
                Box::new(move |r: &Run| r.get.get(side).per_second) as Of,
            ),
            (
                format!("step {step:02} POST /"),
                "answers/s",
                true,
                Box::new(move |r: &Run| r.post.get(side).per_second),
            ),
            (
                format!("step {step:02} POST / p99"),
                "ms",
                false,
                Box::new(move |r: &Run| r.post.get(side).p99_ms),
            ),
        ]);
    }
    rates.push((
        "step 05 burst, workers held back".to_owned(),
        "answers/s",
        true,
        Box::new(|r| r.burst.accepted.per_second),
    ));
    rates.push((
        "step 05 workers draining the burst".to_owned(),
        "rows/s",
        true,
        Box::new(|r| r.burst.drain_rate()),
    ));
    let mut figures: Vec<Compared> = rates
        .into_iter()
        .map(|(figure, unit, higher_is_better, of)| {
            let median = |runs: &[Run]| Spread::of(runs.iter().map(&of).collect()).median;
            Compared {
                figure,
                unit: unit.to_owned(),
                higher_is_better,
                this: median(&runs.this),
                that: median(&runs.that),
                ratio: Spread::of(
                    runs.this
                        .iter()
                        .zip(&runs.that)
                        .map(|(a, b)| of(a) / of(b))
                        .collect(),
                ),
            }
        })
        .collect();
    for side in Side::BOTH {
        let (this, that) = (*sizes.this.get(side), *sizes.that.get(side));
        figures.push(Compared {
            figure: format!("step {:02} image, as it ships", side.step()),
            unit: "MB".to_owned(),
            higher_is_better: false,
            this,
            that,
            ratio: Spread::of(vec![this / that]),
        });
    }
    figures
}

/// The full hash of the commit `rev` (a hash, a branch, `HEAD~3`) names.
pub fn commit(sh: &Shell, rev: &str) -> anyhow::Result<String> {
    hash(sh, &format!("{rev}^{{commit}}"))
        .with_context(|| format!("{rev:?} is not a commit of this repository"))
}

/// The full hash of `rev`.
fn hash(sh: &Shell, rev: &str) -> anyhow::Result<String> {
    let hash = cmd!(sh, "git rev-parse --verify --quiet {rev}")
        .quiet()
        .ignore_stderr()
        .read()?;
    Ok(hash.trim().to_owned())
}

/// Whether the files git tracks differ from HEAD.
fn changed(sh: &Shell) -> bool {
    cmd!(sh, "git diff --quiet HEAD")
        .quiet()
        .ignore_stderr()
        .run()
        .is_err()
}
