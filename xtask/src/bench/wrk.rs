//! The HTTP load: wrk on 127.0.0.1, or from beside the app in the db container's network
//! namespace, and its report read back as a [`Load`].

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::{
    launch::{Instance, Service},
    report::Load,
};

/// Where the POST script is written for wrk to read: one place whichever checkout a copy
/// being loaded runs from.
fn post_script() -> std::path::PathBuf {
    crate::project_root().join("target/xtask/post.lua")
}

const POST_SCRIPT: &str = r#"-- wrk: POST the survey form, a different name each time.
counter = 0
request = function()
  counter = counter + 1
  local body = "name=Bench+cat+" .. counter .. "&coat=tabby&donut=jelly"
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"#;

/// wrk at a fixed concurrency, for a fixed time per load.
#[derive(Debug, Clone, Copy)]
pub struct Wrk {
    pub seconds: u64,
    pub connections: u32,
}

impl Wrk {
    /// Writes the POST script wrk reads.
    pub fn prepare(sh: &Shell) -> anyhow::Result<()> {
        let script = post_script();
        sh.create_dir(script.parent().context("the script's folder")?)?;
        sh.write_file(script, POST_SCRIPT)?;
        Ok(())
    }

    /// `GET /` (the form) on `url`.
    pub fn get(&self, sh: &Shell, url: &str) -> anyhow::Result<Load> {
        self.run(sh, url, None, self.seconds, None)
    }

    /// `POST /` (an answer, a new name each time) on `url`.
    pub fn post(&self, sh: &Shell, url: &str) -> anyhow::Result<Load> {
        self.post_for(sh, url, self.seconds)
    }

    pub fn post_for(&self, sh: &Shell, url: &str, seconds: u64) -> anyhow::Result<Load> {
        self.run(sh, url, Some(&post_script()), seconds, None)
    }

    /// `POST /` from beside the app ([`Beside`]); None when that is not measured.
    pub fn post_beside(&self, sh: &Shell, beside: Option<&Beside>) -> anyhow::Result<Option<Load>> {
        let Some(beside) = beside else {
            return Ok(None);
        };
        let script = Some(post_script());
        self.run(
            sh,
            &beside.url,
            script.as_deref(),
            self.seconds,
            Some(&beside.netns),
        )
        .map(Some)
    }

    /// wrk for `seconds`; from the network namespace of process `netns` when given.
    fn run(
        &self,
        sh: &Shell,
        url: &str,
        script: Option<&std::path::Path>,
        seconds: u64,
        netns: Option<&str>,
    ) -> anyhow::Result<Load> {
        let (connections, duration) = (self.connections.to_string(), format!("{seconds}s"));
        let script: Vec<&std::ffi::OsStr> = script
            .map(|s| vec!["--script".as_ref(), s.as_os_str()])
            .unwrap_or_default();
        let (program, then): (&str, Vec<&str>) = match netns {
            Some(pid) => ("nsenter", vec!["--target", pid, "--net", "wrk"]),
            None => ("wrk", Vec::new()),
        };
        let output = cmd!(sh, "{program} {then...} --threads 2 --connections {connections} --duration {duration} --latency {script...} {url}")
            .quiet()
            .read()
            .context("running wrk")?;
        // wrk stopped by Ctrl-C still reports, on what it had done: the bench stops there.
        crate::interrupt::check()?;
        parse(&output).with_context(|| format!("reading wrk's report:\n{output}"))
    }
}

/// Where `POST /` is sent from beside the app: wrk in the db container's network namespace
/// (entering it, with nsenter, needs root), to the app's address on the project's network,
/// so no published port (no userland proxy, no NAT) is on the way.
pub struct Beside {
    url: String,
    /// A process in the db container, whose network namespace wrk enters.
    netns: String,
}

impl Beside {
    pub fn of(copy: &Instance<'_>) -> anyhow::Result<Self> {
        let sh = copy.sh;
        let (app, db) = (copy.container(Service::App)?, copy.container(Service::Db)?);
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

/// Requests/sec and the 50% and 99% latencies from `wrk --latency`.
fn parse(output: &str) -> Option<Load> {
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
        let load = super::parse(report).expect("a report");
        assert_eq!(load.per_second, 1234.56);
        assert_eq!(load.failed, 0);
        let failing = format!("{report}  Non-2xx or 3xx responses: 17\n");
        assert_eq!(super::parse(&failing).map(|l| l.failed), Some(17));
        assert_eq!(load.p50_ms, 1.5);
        assert!((load.p99_ms - 0.85).abs() < 1e-9);
        assert_eq!(super::millis("1.2s"), Some(1200.0));
    }
}
