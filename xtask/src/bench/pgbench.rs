//! Postgres's own rate for the app's one-row INSERT, at the same concurrency: the limit the
//! direct path is measured against.

use anyhow::Context;
use xshell::cmd;

use crate::launch::{Input, Instance, Service};

const INSERT_SCRIPT: &str =
    "INSERT INTO cats (name, coat, donut) VALUES ('Bench cat', 'tabby', 'jelly');\n";

/// pgbench with `clients` for `seconds` per measurement.
#[derive(Debug, Clone, Copy)]
pub struct Pgbench {
    pub seconds: u64,
    pub clients: u32,
}

/// The way pgbench reaches Postgres.
#[derive(Debug, Clone, Copy)]
pub enum Path {
    /// Inside the db container, through its socket.
    Socket,
    /// From a container beside it, on the project's network, as the app reaches it.
    Network,
}

impl Pgbench {
    /// One-row INSERTs per second on `copy`'s Postgres, over `path`: as many as it takes, or
    /// `paced` at that many a second (pgbench's `--rate`).
    pub fn rate(&self, copy: &Instance<'_>, path: Path, paced: Option<f64>) -> anyhow::Result<f64> {
        let sh = copy.sh;
        let (clients, duration) = (self.clients.to_string(), self.seconds.to_string());
        let pace = paced.map_or_else(String::new, |rate| format!(" --rate {rate:.0}"));
        let pgbench = format!(
            "pgbench -U survey --no-vacuum --client {clients} --jobs 2 --time {duration}{pace} --file /dev/stdin survey"
        );
        let pgbench: Vec<&str> = pgbench.split(' ').collect();
        let output = match path {
            Path::Network => {
                let db = copy.container(Service::Db)?;
                let format = "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}";
                let net = cmd!(sh, "docker inspect --format {format} {db}").quiet().read()?;
                let image = &copy.images()?.postgres;
                cmd!(sh, "docker run --rm -i --network {net} --env PGPASSWORD=survey --entrypoint pgbench {image} -h db")
                    .args(&pgbench[1..])
                    .stdin(INSERT_SCRIPT)
                    .quiet()
                    .read()
            }
            Path::Socket => copy
                .exec(Service::Db, Input::Open)?
                .args(&pgbench)
                .stdin(INSERT_SCRIPT)
                .quiet()
                .read(),
        }
        .context("running pgbench")?;
        parse(&output).with_context(|| format!("reading pgbench's report:\n{output}"))
    }
}

/// The transactions per second pgbench reports.
fn parse(output: &str) -> Option<f64> {
    output
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_pgbench_report() {
        let report = "number of failed transactions: 0 (0.000%)\ntps = 2345.678901 (without initial connection time)\n";
        assert_eq!(super::parse(report), Some(2345.678901));
        assert_eq!(super::parse("no figure"), None);
    }
}
