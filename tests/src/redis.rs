//! A throwaway Redis server (Debian's `redis-server`) on 127.0.0.1, with no persistence, for
//! testing the worker against the real thing; it can be restarted empty, as Redis comes back
//! after losing its data.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A redis-server child process, killed on drop.
#[derive(Debug)]
pub struct TempRedis {
    child: Child,
    port: u16,
    options: Vec<String>,
}

impl TempRedis {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`TempRedis::start`], with more of redis-server's options (`--maxmemory-policy
    /// noeviction` ...).
    /// Its port was free when it was picked, but something may have taken it since
    /// (redis-server cannot pick one itself): then it tries another, up to five times.
    pub fn start_with(options: &[&str]) -> Self {
        let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
        for _ in 0..5 {
            let port = crate::cluster::free_port();
            if let Some(child) = spawn(port, &options) {
                return Self {
                    child,
                    port,
                    options,
                };
            }
        }
        panic!(
            "redis-server exited at once five times over: its port taken each time, or an option it refuses ({options:?})"
        );
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server and starts a new, empty one on the same port: what a worker sees when
    /// Redis restarts without its data.
    pub fn restart_empty(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, &self.options)
            .unwrap_or_else(|| panic!("port {} was taken while Redis restarted", self.port));
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// redis-server on `port`, listening; `None` if it could not bind it (it exits at once).
fn spawn(port: u16, options: &[String]) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
        .args(options)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server runs (Debian: apt-get install redis-server; cargo xtask setup)");
    crate::wait::until("redis-server listening", Duration::from_secs(10), || {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Some(status));
        }
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(_) => Ok(None),
            Err(err) => Err(err.to_string()),
        }
    })
    .is_none()
    .then_some(child)
}
