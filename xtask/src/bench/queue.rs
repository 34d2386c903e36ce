//! Step 05's queue under the bench's hands: its length, the workers held back and let go,
//! Redis recreated with another fsync policy.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::wrk::Wrk;
use crate::{
    launch::{Input, Instance, Service},
    report::Burst,
};

/// How often Redis fsyncs its append-only file.
#[derive(Debug, Clone, Copy)]
pub enum Fsync {
    /// Per entry: an accepted answer is on disk (the project's setting).
    Always,
    /// Once a second: faster, and a crash loses up to a second of answers.
    Everysec,
}

impl Fsync {
    fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
        }
    }
}

/// A burst with the workers held back, and its backlog drained: stop the workers, load the
/// app for [`Burst::MEASUREMENTS`] times the usual time (the rate it takes answers at while
/// nothing is stored), then start them (without waiting for their healthchecks, which would
/// overlap the draining) and time the queue until it is empty.
pub fn burst(copy: &Instance<'_>, wrk: Wrk, url: &str, workers: u32) -> anyhow::Result<Burst> {
    copy.launcher().scale(copy, 0)?;
    let accepted = wrk.post_for(copy.sh, url, wrk.seconds * Burst::MEASUREMENTS)?;
    let backlog = length(copy)?;
    let scale = format!("worker={workers}");
    // Timed from the start command: the workers' start-up is counted too, so the rate
    // is, if anything, understated.
    let started = Instant::now();
    crate::launch::compose(copy)?
        .args(["up", "--detach", "--no-recreate", "--scale", &scale])
        .quiet()
        .ignore_stderr()
        .run()
        .context("starting the workers")?;
    while length(copy)? > 0 {
        crate::interrupt::check()?;
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the workers did not drain the queue within 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Burst {
        accepted,
        backlog,
        drain_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Recreates step 05's Redis with `appendfsync` set to `fsync`, then loads it for a
/// discarded second while the app and workers reconnect.
pub fn set_fsync(copy: &Instance<'_>, wrk: Wrk, url: &str, fsync: Fsync) -> anyhow::Result<()> {
    let _fsync = copy.sh.push_env("REDIS_APPENDFSYNC", fsync.name());
    crate::launch::compose(copy)?
        .args(["up", "--detach", "--wait", "redis"])
        .quiet()
        .ignore_stderr()
        .run()
        .context("recreating Redis")?;
    wrk.post_for(copy.sh, url, 1)?;
    // The workers are back once they drain what that second queued. (Redis may still
    // be loading its data: that is not an answer yet.)
    let started = Instant::now();
    while length(copy).map_or(true, |n| n > 0) {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the workers did not drain the queue within 2 minutes of Redis's restart");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Entries waiting plus entries in a worker's hands.
fn length(copy: &Instance<'_>) -> anyhow::Result<u64> {
    let length = copy
        .exec(Service::Redis, Input::Closed)?
        .args(["redis-cli", "XLEN", "survey:answers"])
        .quiet()
        .read()?;
    length
        .trim()
        .parse()
        .with_context(|| format!("reading XLEN: {length}"))
}
