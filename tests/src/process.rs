//! Running a step's real binary, as a learner runs it on the host.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

/// Builds a step's binary (once per test process) and returns its path. Tests in this package
/// cannot name another package's binary directly, so we ask cargo, into the same target dir.
pub fn step_binary(package: &str) -> PathBuf {
    static BUILD: OnceLock<Mutex<()>> = OnceLock::new();
    let _one_at_a_time = BUILD.get_or_init(Default::default).lock();
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a cargo target dir");
    let target_dir = profile_dir.parent().expect("a cargo target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    // The same selection as `cargo xtask test`'s pre-build: `--package` alone would unify
    // features over that package only and rebuild shared dependencies in another flavour.
    build
        .args(["build", "--quiet", "--workspace", "--bins"])
        .env("CARGO_TARGET_DIR", target_dir);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building {package} failed");
    profile_dir.join(package)
}

/// A step binary running in the background, its output collected; killed on drop.
#[derive(Debug)]
pub struct App {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// The threads that read its output; each ends when the process has exited and its
    /// last line is read.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl App {
    /// Starts `package`'s binary on 127.0.0.1 with a port of its choosing and extra `env`.
    pub fn start(package: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(step_binary(package));
        command
            .env("BIND_ADDR", "127.0.0.1")
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied());
        Self::spawn(command)
    }

    /// Starts `command` (any program), its output read as it comes.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = Arc::clone(&lines);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().expect("log lock").push(line);
                }
            }));
        }
        Self {
            child,
            lines,
            readers,
        }
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().expect("log lock").join("\n")
    }

    /// Waits up to `limit` for a line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let what = format!("a line with {needle:?}");
        crate::wait::until(&what, limit, || {
            let found = self
                .lines
                .lock()
                .expect("log lock")
                .iter()
                .find(|l| l.contains(needle))
                .cloned();
            if let Some(line) = found {
                return Ok(line);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the app exited ({status}) before printing {needle:?}:\n{}",
                    self.output()
                );
            }
            Err(format!("the output so far:\n{}", self.output()))
        })
    }

    /// Waits for "listening on http://..." and returns that base URL.
    pub fn wait_until_serving(&mut self, limit: Duration) -> String {
        let line = self.wait_for_line("listening on http://", limit);
        let start = line.find("http://").expect("a URL in the line");
        line[start..].trim().to_owned()
    }

    /// Sends `signal` (e.g. "TERM") and waits for the exit, returning the exit code; then
    /// everything it printed is in [`Self::output`] (its last lines may still have been on
    /// their way when it exited).
    pub fn stop_with(&mut self, signal: &str, limit: Duration) -> Option<i32> {
        self.signal(signal, &self.child.id().to_string());
        self.wait_for_exit(limit)
    }

    /// Sends `signal` to every process of its process group, as a terminal's Ctrl-C does (it
    /// must have been started as the leader of a group of its own), and waits for its exit as
    /// [`Self::stop_with`] does.
    pub fn stop_group_with(&mut self, signal: &str, limit: Duration) -> Option<i32> {
        self.signal(signal, &format!("-{}", self.child.id()));
        self.wait_for_exit(limit)
    }

    fn signal(&self, signal: &str, target: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), "--", target])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {target} failed");
    }

    /// Waits up to `limit` for its exit, then for its last lines.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<i32> {
        let code = crate::wait::until("the app's exit", limit, || {
            match self.child.try_wait().expect("wait on the app") {
                Some(status) => Ok(status.code()),
                None => Err("still running".to_owned()),
            }
        });
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        code
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
