//! A real browser for the tests: Debian's headless Chromium, driven through chromedriver
//! (WebDriver) by fantoccini.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

/// chromedriver on a port of its own; stopped on drop.
#[derive(Debug)]
pub struct ChromeDriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    /// Starts chromedriver and waits until it answers.
    pub fn start() -> Self {
        // Port 0: it picks a free one and says which.
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start chromedriver ({err}): install Debian's chromium and chromium-driver packages")
            });
        let port = port_said(child.stdout.take().expect("its output"));
        crate::wait::until_listening("chromedriver listening", port, Duration::from_secs(20));
        let profile = tempfile::tempdir().expect("a browser profile directory");
        Self {
            child,
            port,
            profile,
        }
    }

    /// A new headless browser session.
    pub async fn browser(&self) -> Client {
        // Headless, no sandbox (tests may run as root), and none of the background traffic
        // (updates, sync, safe browsing) a browser would send to the internet.
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=900,700".to_owned(),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port chromedriver says it started on ("... started successfully on port 36783."); the
/// rest of what it prints is read and dropped, so that it never blocks writing.
fn port_said(output: std::process::ChildStdout) -> u16 {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(output).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let (_, port) = line.split_once("started successfully on port ")?;
            port.trim_end_matches('.').parse().ok()
        })
        .expect("chromedriver says which port it started on");
    std::thread::spawn(move || lines.for_each(drop));
    port
}
