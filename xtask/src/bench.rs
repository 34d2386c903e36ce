//! `cargo xtask bench`: how fast is each path, and against what limit? It launches step 04
//! (direct to Postgres) and step 05 (queue + workers) under a project and port of its own,
//! loads them with wrk (GET / and POST /) on 127.0.0.1, measures Postgres's own single-row
//! INSERT rate with pgbench inside the db container at the same concurrency, and for step 05
//! the rate at which the workers drain a backlog. Each figure is the median of several runs;
//! the ratios compare figures of this one run. Nothing here is asserted: it reports.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use xshell::{Shell, cmd};

use crate::{
    docker, images,
    launch::{On, Up},
    steps::Step,
};

/// Measure throughput and latency of steps 04 and 05.
#[derive(Debug, clap::Args)]
pub struct Bench {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Open connections (wrk) and clients (pgbench).
    #[arg(long, default_value_t = 16)]
    concurrency: u32,
    /// Workers for step 05.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<String>,
    /// Also write the results as a Markdown table to this file; the book includes
    /// docs/src/bench-05.md, written this way.
    #[arg(long)]
    markdown: Option<String>,
}

/// Requests per second and latency percentiles of one wrk run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Load {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Serialize)]
struct StepResults {
    get: Load,
    post: Load,
    /// Step 05's POST with Redis fsyncing once a second instead of per entry (not durable).
    post_without_fsync_per_entry: Option<Load>,
    pgbench_inserts_per_second: f64,
    drain_rows_per_second: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    duration_seconds: u64,
    runs: usize,
    concurrency: u32,
    workers: u32,
    direct: StepResults,
    queue: StepResults,
    ratios: Ratios,
}

#[derive(Debug, Serialize)]
struct Ratios {
    direct_post_over_pgbench: f64,
    /// What fsyncing every entry costs the queue path: POST with everysec / with always.
    queue_everysec_over_always: f64,
    queue_post_over_direct_post: f64,
    queue_drain_over_pgbench: f64,
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

impl Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        docker::require_engine(sh)?;
        docker::require_compose_v2(sh)?;
        if !crate::docker::succeeds(cmd!(sh, "wrk --version"))
            && cmd!(sh, "which wrk").quiet().ignore_stdout().run().is_err()
        {
            bail!("the load generator wrk is missing: apt-get install wrk");
        }
        images::ensure(sh, false)?.export(sh);
        sh.write_file("target/xtask/post.lua", POST_SCRIPT)?;
        let direct = self.measure(sh, Step::find(4)?, None)?;
        let queue = self.measure(sh, Step::find(5)?, Some(self.workers))?;
        let drain = queue.drain_rows_per_second.unwrap_or_default();
        let report = Report {
            duration_seconds: self.duration,
            runs: self.runs,
            concurrency: self.concurrency,
            workers: self.workers,
            ratios: Ratios {
                direct_post_over_pgbench: direct.post.per_second
                    / direct.pgbench_inserts_per_second,
                queue_everysec_over_always: queue
                    .post_without_fsync_per_entry
                    .map_or(0.0, |l| l.per_second)
                    / queue.post.per_second,
                queue_post_over_direct_post: queue.post.per_second / direct.post.per_second,
                queue_drain_over_pgbench: drain / queue.pgbench_inserts_per_second,
            },
            direct,
            queue,
        };
        print_report(&report);
        if let Some(path) = &self.json {
            sh.write_file(path, serde_json::to_string_pretty(&report)? + "\n")?;
            println!("\nwrote {path}");
        }
        if let Some(path) = &self.markdown {
            sh.write_file(path, markdown(&report, path))?;
            println!("wrote {path}");
        }
        Ok(())
    }

    /// Brings `step` up under a bench project, measures it, and always takes it down again.
    fn measure(&self, sh: &Shell, step: Step, workers: Option<u32>) -> anyhow::Result<StepResults> {
        let on = On {
            sh,
            step,
            project: format!("survey-bench-{:02}", step.number),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        eprintln!("\n==> step {}: up on 127.0.0.1:{port}", step.number);
        let result = crate::step::up(
            &on,
            Up {
                port,
                workers,
                nodes: None,
            },
        )
        .and_then(|()| self.measure_running(&on, port, workers));
        eprintln!("==> step {}: down", step.number);
        crate::step::down(&on, true)?;
        result
    }

    fn measure_running(
        &self,
        on: &On<'_>,
        port: u16,
        workers: Option<u32>,
    ) -> anyhow::Result<StepResults> {
        let url = format!("http://127.0.0.1:{port}/");
        let get = self.median_load(on.sh, &url, None)?;
        let post = self.median_load(on.sh, &url, Some("target/xtask/post.lua"))?;
        let (drain, post_without_fsync_per_entry) = match workers {
            Some(n) => (
                Some(self.drain_rate(on, &url, n)?),
                Some(self.post_everysec(on, &url)?),
            ),
            None => (None, None),
        };
        let pgbench = self.pgbench(on)?;
        Ok(StepResults {
            get,
            post,
            post_without_fsync_per_entry,
            pgbench_inserts_per_second: pgbench,
            drain_rows_per_second: drain,
        })
    }

    fn median_load(&self, sh: &Shell, url: &str, script: Option<&str>) -> anyhow::Result<Load> {
        let mut runs = Vec::new();
        for run in 1..=self.runs {
            let what = if script.is_some() { "POST /" } else { "GET /" };
            eprintln!("    wrk {what}, run {run} of {}", self.runs);
            runs.push(self.wrk(sh, url, script)?);
        }
        runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        Ok(runs[runs.len() / 2])
    }

    fn wrk(&self, sh: &Shell, url: &str, script: Option<&str>) -> anyhow::Result<Load> {
        self.wrk_for(sh, url, script, self.duration)
    }

    fn wrk_for(
        &self,
        sh: &Shell,
        url: &str,
        script: Option<&str>,
        seconds: u64,
    ) -> anyhow::Result<Load> {
        let (connections, duration) = (self.concurrency.to_string(), format!("{seconds}s"));
        let script: Vec<&str> = script.map(|s| vec!["--script", s]).unwrap_or_default();
        let output = cmd!(sh, "wrk --threads 2 --connections {connections} --duration {duration} --latency {script...} {url}")
            .quiet()
            .read()
            .context("running wrk")?;
        parse_wrk(&output).with_context(|| format!("reading wrk's report:\n{output}"))
    }

    /// Rows per second the workers store from a backlog: stop them, queue answers, start them
    /// (without waiting for their healthchecks, which would overlap the draining), and time the
    /// queue until it is empty.
    fn drain_rate(&self, on: &On<'_>, url: &str, workers: u32) -> anyhow::Result<f64> {
        let mut rates = Vec::new();
        for run in 1..=self.runs {
            eprintln!("    drain, run {run} of {}", self.runs);
            crate::step::scale(on, 0)?;
            for _ in 0..2 {
                self.wrk(on.sh, url, Some("target/xtask/post.lua"))?;
            }
            let backlog = self.queue_length(on)?;
            let scale = format!("worker={workers}");
            // Timed from the start command: the workers' start-up is counted too, so the rate
            // is, if anything, understated.
            let started = Instant::now();
            crate::launch::compose(on)
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
            let elapsed = started.elapsed();
            rates.push(backlog as f64 / elapsed.as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        Ok(rates[rates.len() / 2])
    }

    /// Step 05's POST rate with Redis on `appendfsync everysec`: what durability per entry
    /// costs. Redis is recreated with that setting, measured, and put back.
    fn post_everysec(&self, on: &On<'_>, url: &str) -> anyhow::Result<Load> {
        let recreate_redis = |fsync: &str| -> anyhow::Result<()> {
            let _fsync = on.sh.push_env("REDIS_APPENDFSYNC", fsync);
            eprintln!("    Redis with appendfsync {fsync}");
            crate::launch::compose(on)
                .args(["up", "--detach", "--wait", "redis"])
                .quiet()
                .ignore_stderr()
                .run()
                .context("recreating Redis")?;
            // One discarded second of load while the app and workers reconnect.
            self.wrk_for(on.sh, url, Some("target/xtask/post.lua"), 1)?;
            Ok(())
        };
        recreate_redis("everysec")?;
        let load = self.median_load(on.sh, url, Some("target/xtask/post.lua"));
        recreate_redis("always")?;
        load
    }

    /// Entries waiting plus entries in a worker's hands.
    fn queue_length(&self, on: &On<'_>) -> anyhow::Result<u64> {
        let redis = on.container("redis")?;
        let length = cmd!(on.sh, "docker exec {redis} redis-cli XLEN survey:answers")
            .quiet()
            .read()?;
        length.trim().parse().context("reading XLEN")
    }

    /// Postgres's own single-row INSERT rate, inside its container, at the same concurrency.
    fn pgbench(&self, on: &On<'_>) -> anyhow::Result<f64> {
        let db = on.container("db")?;
        let (clients, duration) = (self.concurrency.to_string(), self.duration.to_string());
        let mut rates = Vec::new();
        for run in 1..=self.runs {
            eprintln!("    pgbench single-row INSERT, run {run} of {}", self.runs);
            let output = cmd!(on.sh, "docker exec -i {db} pgbench -U survey -d survey --no-vacuum --client {clients} --jobs 2 --time {duration} --file /dev/stdin")
                .stdin(INSERT_SCRIPT)
                .quiet()
                .read()
                .context("running pgbench in the db container")?;
            let tps = output
                .lines()
                .find(|l| l.starts_with("tps = "))
                .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
                .with_context(|| format!("reading pgbench's report:\n{output}"))?;
            rates.push(tps);
        }
        rates.sort_by(f64::total_cmp);
        Ok(rates[rates.len() / 2])
    }
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
    if let Some(errors) = output
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses"))
    {
        eprintln!("    wrk: {}", errors.trim());
    }
    let percentile = |p: &str| -> Option<f64> {
        let line = output.lines().find(|l| l.trim_start().starts_with(p))?;
        millis(line.split_whitespace().nth(1)?)
    };
    Some(Load {
        per_second,
        p50_ms: percentile("50%")?,
        p99_ms: percentile("99%")?,
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

fn print_report(r: &Report) {
    println!(
        "\nMedians of {} runs of {} s, {} connections; step 05 with {} workers.\n",
        r.runs, r.duration_seconds, r.concurrency, r.workers
    );
    println!(
        "{:<34} {:>12} {:>10} {:>10}",
        "", "per second", "p50 ms", "p99 ms"
    );
    let mut rows = vec![
        ("step 04 (direct)  GET /", r.direct.get),
        ("step 04 (direct)  POST /", r.direct.post),
        ("step 05 (queue)   GET /", r.queue.get),
        ("step 05 (queue)   POST /", r.queue.post),
    ];
    rows.extend(
        r.queue
            .post_without_fsync_per_entry
            .map(|l| ("step 05 POST, fsync everysec", l)),
    );
    for (name, load) in rows {
        println!(
            "{name:<34} {:>12.0} {:>10.2} {:>10.2}",
            load.per_second, load.p50_ms, load.p99_ms
        );
    }
    println!(
        "{:<34} {:>12.0}",
        "Postgres single-row INSERT (04)", r.direct.pgbench_inserts_per_second
    );
    println!(
        "{:<34} {:>12.0}",
        "Postgres single-row INSERT (05)", r.queue.pgbench_inserts_per_second
    );
    println!(
        "{:<34} {:>12.0}",
        "step 05 workers drain (rows)",
        r.queue.drain_rows_per_second.unwrap_or_default()
    );
    println!("\nratios:");
    println!(
        "  direct POST / pgbench INSERT     {:.2}x (the web layer's cost)",
        r.ratios.direct_post_over_pgbench
    );
    println!(
        "  queue POST / direct POST         {:.2}x (what the queue gains at the door)",
        r.ratios.queue_post_over_direct_post
    );
    println!(
        "  queue drain / pgbench INSERT     {:.2}x (what batches gain)",
        r.ratios.queue_drain_over_pgbench
    );
    println!(
        "  queue POST everysec / always     {:.2}x (what an fsync per entry costs)",
        r.ratios.queue_everysec_over_always
    );
}

/// The report as the book shows it: one table and the ratios, all from this one run.
fn markdown(r: &Report, path: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut text = format!(
        "<!-- Written by `cargo xtask bench --markdown {path}`; run that again rather than edit. -->\n\
         One run on a {cores}-core machine, with `wrk` on the same cores: medians of {} runs of \
         {} s, {} connections, step 05 with {} workers.\n\n\
         | | per second | p50 | p99 |\n|---|---:|---:|---:|\n",
        r.runs, r.duration_seconds, r.concurrency, r.workers
    );
    let mut rows = vec![
        (
            "step 04 `POST /` (a committed row per request)",
            r.direct.post,
        ),
        (
            "step 05 `POST /` (an fsynced stream entry per request)",
            r.queue.post,
        ),
    ];
    rows.extend(r.queue.post_without_fsync_per_entry.map(|l| {
        (
            "step 05 `POST /` with `appendfsync everysec` (not durable)",
            l,
        )
    }));
    for (name, load) in rows {
        text.push_str(&format!(
            "| {name} | {:.0} | {:.1} ms | {:.1} ms |\n",
            load.per_second, load.p50_ms, load.p99_ms
        ));
    }
    for (name, rate) in [
        ("step 04's", r.direct.pgbench_inserts_per_second),
        ("step 05's", r.queue.pgbench_inserts_per_second),
    ] {
        text.push_str(&format!(
            "| Postgres alone, one-row `INSERT`s ({name} database) | {rate:.0} | | |\n"
        ));
    }
    text.push_str(&format!(
        "| step 05's {} workers draining a backlog | {:.0} rows | | |\n\n",
        r.workers,
        r.queue.drain_rows_per_second.unwrap_or_default()
    ));
    let ratios = [
        (
            "step 04 `POST /` over Postgres's own one-row rate (step 04's database)",
            r.ratios.direct_post_over_pgbench,
        ),
        (
            "step 05 `POST /` over step 04 `POST /`",
            r.ratios.queue_post_over_direct_post,
        ),
        (
            "step 05 `POST /` with `everysec` over the same with `always`",
            r.ratios.queue_everysec_over_always,
        ),
        (
            "the workers' drain over Postgres's own one-row rate (step 05's database)",
            r.ratios.queue_drain_over_pgbench,
        ),
    ];
    text.push_str("Ratios within that run:\n\n");
    for (name, ratio) in ratios {
        text.push_str(&format!("- {name}: **{ratio:.2}**\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    /// wrk's report is read: requests per second and the 50%/99% latencies in ms.
    #[test]
    fn reads_wrk_report() {
        let report = "  Latency Distribution\n     50%    1.50ms\n     75%    2.00ms\n     90%    3.00ms\n     99%  850.00us\n  1000 requests in 1.00s, 1.00MB read\nRequests/sec:   1234.56\n";
        let load = super::parse_wrk(report).expect("a report");
        assert_eq!(load.per_second, 1234.56);
        assert_eq!(load.p50_ms, 1.5);
        assert!((load.p99_ms - 0.85).abs() < 1e-9);
        assert_eq!(super::millis("1.2s"), Some(1200.0));
    }
}
