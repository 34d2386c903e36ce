//! `cargo xtask doctor`: is everything this project needs here? Each missing piece is
//! reported with how to get it (the same fix `cargo xtask setup` applies); the exit status is
//! non-zero when something required is missing.

use anyhow::bail;
use xshell::{Shell, cmd};

use crate::tools::{self, first_line};

/// Check the tools this project needs.
#[derive(Debug, clap::Args)]
pub struct Doctor {}

/// One line of the report.
struct Check {
    what: &'static str,
    found: Result<String, String>,
    /// What cannot run without it (empty: optional).
    needed_for: &'static str,
}

impl Doctor {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Go templates for `docker --format`, passed as variables: `cmd!` reads braces itself.
        let server_version = "{{.ServerVersion}}";
        let mut checks = vec![Check {
            what: "Docker daemon",
            found: first_line(cmd!(sh, "docker info --format {server_version}")).ok_or_else(|| {
                "start it (systemctl start docker, or `dockerd > /var/log/dockerd.log 2>&1 &` where there is no systemd; `cargo xtask test` starts one as root) and make sure your user may use it".into()
            }),
            needed_for: "running the steps in containers",
        }];
        checks.push(Check {
            what: "Swarm",
            found: swarm(sh),
            needed_for: "",
        });
        checks.push(Check {
            what: "IPVS (routing mesh)",
            found: ipvs(),
            needed_for: "",
        });
        checks.push(Check {
            what: "Compose is v2",
            found: compose_v2(sh),
            needed_for: "steps 03 and later",
        });
        for tool in tools::TOOLS {
            checks.push(Check {
                what: tool.name,
                found: tool.found(sh).ok_or_else(|| tool.fix()),
                needed_for: tool.needed_for,
            });
        }
        checks.extend([
            Check {
                what: "Docker Hub",
                found: docker_hub(sh),
                needed_for: "",
            },
            Check {
                what: "DATABASE_URL",
                found: database_url(sh),
                needed_for: "",
            },
            Check {
                what: "cargo-nextest",
                found: first_line(cmd!(sh, "cargo nextest --version")).ok_or_else(|| {
                    "optional, faster tests: cargo install cargo-nextest --locked".into()
                }),
                needed_for: "",
            },
        ]);
        let mut missing = 0;
        for check in &checks {
            match &check.found {
                Ok(version) => println!("ok       {:<26} {version}", check.what),
                Err(fix) if check.needed_for.is_empty() => {
                    println!("note     {:<26} {fix}", check.what)
                }
                Err(fix) => {
                    missing += 1;
                    println!(
                        "MISSING  {:<26} needed for {}\n         {:<26} fix: {fix}",
                        check.what, check.needed_for, ""
                    );
                }
            }
        }
        if missing > 0 {
            bail!(
                "{missing} of the checks above failed; each says how to fix it (on Debian as root, `cargo xtask setup` installs every missing tool)"
            );
        }
        println!("\nAll set.");
        Ok(())
    }
}

/// Whether this engine is in a swarm, and as what.
fn swarm(sh: &Shell) -> Result<String, String> {
    use crate::launch::swarm::State;
    match State::of(sh) {
        Ok(State::Manager { .. }) => Ok("this engine is a swarm manager".into()),
        Ok(State::Worker) => {
            Err("this engine is a worker of a swarm: deploy stacks from a manager".into())
        }
        Ok(State::Inactive) => {
            let step = crate::catalogue::STEPS
                .iter()
                .find(|s| s.launch == crate::catalogue::Launch::Stack)
                .map_or(0, |s| s.number);
            Ok(format!(
                "not in a swarm (`cargo xtask step {step} up` makes a one-node swarm, and `down` leaves it)"
            ))
        }
        Ok(State::Other(state)) => Err(format!("swarm state `{state}`: see `docker info`")),
        Err(_) => Err("unknown: the daemon does not answer".into()),
    }
}

/// Whether the kernel has IPVS, which Swarm's routing mesh and service VIPs are built on.
fn ipvs() -> Result<String, String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let module_dir = format!("/lib/modules/{}/kernel/net/netfilter/ipvs", release.trim());
    let loaded = std::path::Path::new("/proc/net/ip_vs").exists()
        || std::path::Path::new("/sys/module/ip_vs").exists();
    if loaded || std::path::Path::new(&module_dir).exists() {
        Ok("available: Swarm's routing mesh and service VIPs work here".into())
    } else {
        Err("not in this kernel: a port published through Swarm's routing mesh, or a service VIP, refuses connections here. Steps 06-07 do not use them (DNS round robin and HAProxy, published in host mode), so they work anyway".into())
    }
}

/// Online mode pulls the official images; offline mode builds stand-ins (both work).
fn docker_hub(sh: &Shell) -> Result<String, String> {
    match cmd!(sh, "docker manifest inspect hello-world:latest")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
    {
        Ok(()) => Ok("reachable: the steps use the official images".into()),
        Err(_) => Err("unreachable: offline mode, `cargo xtask images` builds stand-ins from Debian packages (fine)".into()),
    }
}

fn compose_v2(sh: &Shell) -> Result<String, String> {
    if let Some(version) = first_line(cmd!(sh, "docker compose version --short")) {
        return if crate::docker::is_compose_v2(&version) {
            Ok(version)
        } else {
            Err(format!(
                "found Compose {version}; this tutorial needs v2 (`cargo xtask setup`, or Docker's docker-compose-plugin package)"
            ))
        };
    }
    if first_line(cmd!(sh, "docker-compose --version")).is_some() {
        return Err("only the old `docker-compose` (v1) is installed; install Compose v2, the `docker compose` plugin".into());
    }
    Err("install the Compose v2 plugin (`cargo xtask setup`; Docker's repository: docker-compose-plugin)".into())
}

fn database_url(sh: &Shell) -> Result<String, String> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return Err(
            "unset: `cargo xtask test` starts a throwaway Postgres of its own (fine)".into(),
        );
    };
    match cmd!(sh, "psql -X {url} -tAc 'select version()'")
        .quiet()
        .ignore_stderr()
        .read()
    {
        Ok(version) => Ok(version.split(" on ").next().unwrap_or_default().to_owned()),
        Err(_) => Err(
            "set, but the server does not answer: is it running, and are user and password right? (unset it to let the tests start their own)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    /// Compose v1 is told apart from v2 and later, with or without a leading "v".
    #[test]
    fn compose_versions() {
        assert!(crate::docker::is_compose_v2("2.26.1"));
        assert!(crate::docker::is_compose_v2("v2.29.7"));
        assert!(crate::docker::is_compose_v2("5.0.0"));
        assert!(!crate::docker::is_compose_v2("1.29.2"));
        assert!(!crate::docker::is_compose_v2("garbage"));
    }
}
