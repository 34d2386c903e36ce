//! A throwaway Postgres cluster (initdb + pg_ctl from Debian's `postgresql` package) that a
//! test can start whenever it likes: the way to test an app that starts before its database.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// A cluster in a temporary directory, stopped and deleted on drop.
#[derive(Debug)]
pub struct TempCluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    running: bool,
}

impl TempCluster {
    /// Creates the cluster (initdb, about a second) without starting it. Local connections
    /// are trusted: the cluster only listens on 127.0.0.1 and lives for one test.
    pub fn init() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let bindir = server_bindir();
        let dir = std::env::temp_dir().join(format!(
            "survey-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        if running_as_root() {
            // Postgres refuses to run as root: the files belong to the `postgres` user.
            check(
                Command::new("chown").arg("postgres:").arg(&dir).output(),
                "chown",
            );
        }
        let cluster = Self {
            port: free_port(),
            dir,
            bindir,
            running: false,
        };
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-U",
                "survey",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster
    }

    /// A URL for the `postgres` database as the `survey` superuser.
    pub fn url(&self) -> String {
        format!("postgres://survey@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log");
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        self.running = true;
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn pg(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bindir.join(tool);
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        check(command.args(args).current_dir(&self.dir).output(), tool)
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_quiet(&["-D", &self.data(), "-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TempCluster {
    fn pg_quiet(&self, args: &[&str]) -> std::io::Result<Output> {
        let program = self.bindir.join("pg_ctl");
        if running_as_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(program)
                .args(args)
                .output()
        } else {
            Command::new(program).args(args).output()
        }
    }
}

fn check(output: std::io::Result<Output>, what: &str) -> Output {
    let output = output.unwrap_or_else(|err| panic!("could not run {what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Where initdb and pg_ctl are: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin.
fn server_bindir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return dir.into();
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .max_by_key(|bin| version_of(bin));
    newest.unwrap_or_else(|| {
        panic!(
            "no Postgres server binaries found (initdb, pg_ctl). Install Debian's `postgresql` \
             package (apt-get install postgresql), or set PG_BINDIR to the directory holding them."
        )
    })
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|v| v.to_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Whether this process runs as root (CI does), read from `id -u`.
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}
