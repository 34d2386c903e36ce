//! A throwaway Postgres cluster from the server binaries of Debian's `postgresql` package
//! (`initdb` + `pg_ctl`), in a temporary folder, stopped and deleted when dropped. The tests
//! start one whenever they like (an app that starts before its database), and `cargo xtask
//! test` starts one when no `DATABASE_URL` is set. Postgres refuses to run as root, so as
//! root the cluster belongs to the `postgres` user, made if missing.

use std::{
    io,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The superuser every cluster is made with.
pub const SUPERUSER: &str = "survey";

/// A cluster in a temporary folder, stopped and deleted on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    password: String,
    running: bool,
    /// Stops the server and deletes the folder if this process dies first (a Ctrl-C or a
    /// kill, which skip `drop`): the server is a daemon of its own, out of reach of both.
    watcher: Option<std::process::Child>,
}

impl Cluster {
    /// Makes the cluster (initdb, about a second) without starting it. Every connection must
    /// give the superuser's password (scram-sha-256), as a real server's would: `password`,
    /// or a random one. Its folder, under a name no one can guess, is its owner's alone, and so
    /// is its socket in there; it listens on 127.0.0.1 only.
    pub fn init(password: Option<&str>) -> io::Result<Self> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let bindir = server_bindir()?;
        let dir = std::env::temp_dir().join(format!("survey-pg-{}", random_hex()?));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let cluster = Self {
            port: free_port()?,
            dir,
            bindir,
            password: match password {
                Some(password) => password.to_owned(),
                None => random_hex()?,
            },
            running: false,
            watcher: None,
        };
        let pwfile = cluster.dir.join("pwfile");
        std::io::Write::write_all(
            &mut std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&pwfile)?,
            format!("{}\n", cluster.password).as_bytes(),
        )?;
        if running_as_root() {
            ensure_postgres_user()?;
            run(Command::new("chown")
                .arg("postgres:")
                .arg(&cluster.dir)
                .arg(&pwfile))?;
        }
        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        let args = [
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-A",
            "scram-sha-256",
            &pwfile_arg,
        ];
        cluster.pg("initdb", &args)?;
        std::fs::remove_file(&pwfile)?;
        Ok(cluster)
    }

    /// A URL for the `postgres` database as the superuser.
    pub fn url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/postgres",
            self.password, self.port
        )
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's major version, from the folder its binaries are in (e.g. "15").
    pub fn version(&self) -> String {
        self.bindir
            .parent()
            .and_then(Path::file_name)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Where the server logs to; deleted with the cluster.
    pub fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// Starts the server and waits until it accepts connections. fsync is off: nothing
    /// here needs to survive a power cut, and the tests make many databases.
    ///
    /// Its port was free when it was picked, but something may have taken it since (a port
    /// Postgres cannot pick itself): the first start then takes another free port, up to
    /// five times. A start after [`TempCluster::stop`] keeps the port it has.
    pub fn start(&mut self) -> io::Result<()> {
        let first = self.watcher.is_none();
        let mut tries = 1;
        while let Err(err) = self.start_on_its_port() {
            let taken = std::fs::read_to_string(self.log())
                .is_ok_and(|log| log.contains("Address already in use"));
            if !(first && taken && tries < 5) {
                return Err(err);
            }
            self.port = free_port()?;
            tries += 1;
        }
        self.running = true;
        if self.watcher.is_none() {
            self.watcher = Some(self.watch(std::process::id())?);
        }
        Ok(())
    }

    fn start_on_its_port(&self) -> io::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.log().to_string_lossy().into_owned();
        let args = ["-l", &log, "-o", &options, "-w", "-t", "60", "start"];
        self.pg("pg_ctl", &args).map(drop)
    }

    /// A shell that waits for process `owner` to end, then stops the server at once and
    /// deletes the cluster's folder. In a process group of its own, so that the Ctrl-C that
    /// stops the owner's group leaves it be.
    fn watch(&self, owner: u32) -> io::Result<std::process::Child> {
        use std::os::unix::process::CommandExt;
        let script = r#"owner=$1 dir=$2; shift 2
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1; rm -rf "$dir""#;
        let mut command = Command::new("sh");
        command
            .args(["-c", script, "watcher"])
            .arg(owner.to_string())
            .arg(&self.dir);
        if running_as_root() {
            command.args(["runuser", "-u", "postgres", "--"]);
        }
        command
            .arg(self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
    }

    /// Stops the server (fast shutdown: sessions end, nothing is lost); `start` starts it
    /// again on the same port.
    pub fn stop(&mut self) -> io::Result<()> {
        self.pg("pg_ctl", &["-m", "fast", "-w", "stop"])?;
        self.running = false;
        Ok(())
    }

    /// Runs one of the server's tools (initdb, pg_ctl) on this cluster's data folder
    /// (`-D`, then `args`), as the postgres user when this process is root.
    fn pg(&self, tool: &str, args: &[&str]) -> io::Result<Output> {
        let program = self.bindir.join(tool);
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command.arg("-D").arg(self.dir.join("data")).args(args);
        run(command.current_dir(&self.dir))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut watcher) = self.watcher.take() {
            let _ = watcher.kill();
            let _ = watcher.wait();
        }
        if self.running {
            let _ = self.pg("pg_ctl", &["-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command`; an error names it and carries what it printed.
fn run(command: &mut Command) -> io::Result<Output> {
    let what = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .map_err(|err| io::Error::new(err.kind(), format!("could not run {what}: {err}")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(output)
}

/// The `postgres` user that Debian's package makes; a machine with the binaries from
/// elsewhere may lack it.
fn ensure_postgres_user() -> io::Result<()> {
    if run(Command::new("id").arg("postgres")).is_ok() {
        return Ok(());
    }
    run(Command::new("useradd").args(["--system", "--no-create-home", "postgres"])).map(drop)
}

/// Where initdb and pg_ctl are: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin.
pub fn server_bindir() -> io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return Ok(dir.into());
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .max_by_key(|bin| version_of(bin))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no Postgres server binaries found (initdb, pg_ctl): install Debian's \
                 `postgresql` package, or set PG_BINDIR to the folder holding them",
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

/// Whether this process runs as root (CI does), read from `id -u` once.
pub fn running_as_root() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.trim_ascii() == b"0")
            .unwrap_or(false)
    })
}

/// 32 hexadecimal digits from the kernel's random source: a password, or a name no one guesses.
fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> io::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When the process that started a cluster dies without dropping it, the watcher stops
    /// the server and deletes its folder.
    #[test]
    fn a_dead_owner_leaves_no_server_behind() {
        let mut cluster = Cluster::init(None).expect("initdb");
        cluster.start().expect("start");
        let mut owner = Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("sleep runs");
        let mut watcher = cluster.watch(owner.id()).expect("a watcher");
        let (dir, port) = (cluster.dir.clone(), cluster.port);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        owner.kill().expect("kill");
        owner.wait().expect("wait");
        let started = std::time::Instant::now();
        while dir.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the server outlived its owner by 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        watcher.wait().expect("the watcher ends");
        // The server is gone already: dropping the cluster now has nothing left to do.
        cluster.running = false;
    }

    /// A port taken between picking it and starting: the first start takes another.
    #[test]
    fn a_port_taken_meanwhile_is_traded_for_a_free_one() {
        let mut cluster = Cluster::init(None).expect("initdb");
        let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
        cluster.port = taken.local_addr().expect("its address").port();
        cluster.start().expect("start on another port");
        assert_ne!(
            cluster.port(),
            taken.local_addr().expect("its address").port()
        );
        assert!(std::net::TcpStream::connect(("127.0.0.1", cluster.port())).is_ok());
    }
}
