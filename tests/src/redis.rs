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
    pub fn start_with(options: &[&str]) -> Self {
        let port = crate::cluster::free_port();
        let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
        Self {
            child: spawn(port, &options),
            port,
            options,
        }
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
        self.child = spawn(self.port, &self.options);
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, options: &[String]) -> Child {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
        .args(options)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server runs (Debian: apt-get install redis-server; cargo xtask setup)");
    crate::wait::until_listening("redis-server listening", port, Duration::from_secs(10));
    child
}
