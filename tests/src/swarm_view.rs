//! The swarm view (`up --observe`) as a learner sees it: the page at `/swarm` in headless
//! Chromium, opened once and never reloaded, so that every change a test waits for came to
//! the page by itself; and the Docker API's filter, sent what it must refuse.

use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::{browser::ChromeDriver, xtask::Launched};

/// One node as the page shows it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ShownNode {
    pub name: String,
    pub state: String,
    pub availability: String,
    /// `service` of every task on it, e.g. `app`.
    pub tasks: Vec<String>,
}

impl ShownNode {
    /// How many tasks of `service` the page places on this node.
    pub fn runs(&self, service: &str) -> usize {
        self.tasks.iter().filter(|t| *t == service).count()
    }
}

/// The page's content at one moment.
#[derive(Debug, Clone)]
pub struct Shown {
    pub nodes: Vec<ShownNode>,
    /// Its text, as a person reads it.
    pub text: String,
}

impl Shown {
    pub fn node(&self, name: &str) -> Option<&ShownNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Tasks of `service` on every node.
    pub fn runs(&self, service: &str) -> usize {
        self.nodes.iter().map(|n| n.runs(service)).sum()
    }
}

/// The page, open in a browser of its own.
#[derive(Debug)]
pub struct SwarmView {
    browser: Client,
    _driver: ChromeDriver,
}

/// Reads the nodes and their tasks out of the page's elements (their data attributes are
/// what the page shows as words).
const READ_NODES: &str = r#"return Array.from(document.querySelectorAll("article[data-node]"), (n) => ({
  name: n.dataset.node, state: n.dataset.state, availability: n.dataset.availability,
  tasks: Array.from(n.querySelectorAll("li.task"), (t) => t.dataset.service),
}));"#;

impl SwarmView {
    /// Opens `/swarm` of `launched`, in a window large enough for the book's picture.
    pub async fn open(launched: &Launched) -> Self {
        let driver = ChromeDriver::start();
        let browser = driver.browser().await;
        browser
            .set_window_size(1000, 1000)
            .await
            .expect("a window size");
        browser
            .goto(&format!("{}/swarm", launched.base()))
            .await
            .expect("the swarm view loads");
        browser
            .wait()
            .for_element(Locator::Css("article[data-node]"))
            .await
            .expect("the view shows a node");
        Self {
            browser,
            _driver: driver,
        }
    }

    /// What the page shows now.
    pub async fn shown(&self) -> Shown {
        let nodes = self
            .browser
            .execute(READ_NODES, Vec::new())
            .await
            .expect("reading the page");
        let text = self
            .browser
            .find(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("its text");
        Shown {
            nodes: serde_json::from_value(nodes).expect("nodes as the script returns them"),
            text,
        }
    }

    /// Waits until the page shows what `holds` wants (it says what is missing); panics with
    /// the page's text after `limit`.
    pub async fn until(
        &self,
        what: &str,
        limit: Duration,
        holds: impl Fn(&Shown) -> Result<(), String>,
    ) -> Shown {
        crate::wait::until_async(what, limit, || async {
            let shown = self.shown().await;
            holds(&shown)
                .map(|()| shown.clone())
                .map_err(|why| format!("{why}; the page says:\n{}", shown.text))
        })
        .await
    }

    /// Saves what the browser shows as the picture `NAME.png` (see [`crate::pictures`]).
    pub async fn screenshot(&self, name: &str) {
        let png = self.browser.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        crate::pictures::save(&format!("{name}.png"), &png);
    }

    pub async fn close(self) {
        self.browser.close().await.expect("closing the browser");
    }
}

/// Fails unless the filter in `container` (the stack's `docker-api` task, on this engine)
/// lets the view's reads through and answers 403 to everything else: writes, other paths,
/// and other spellings of them. Sent from inside the filter's own container, the only place
/// its port is reached from but the view.
pub fn assert_filter_refuses_writes(container: &str) {
    let node = crate::commands::docker_ok(&["info", "--format", "{{.Swarm.NodeID}}"]);
    let one_node = format!("GET /nodes/{}", node.trim());
    // v1.45 is Engine 26's API, the oldest the project runs on; later engines serve it too.
    let allowed = [
        "GET /nodes",
        &one_node,
        "GET /v1.45/tasks",
        "GET /services",
        "GET /info",
        "GET /version",
        "GET /_ping",
    ];
    let refused = [
        "POST /containers/create",
        "POST /v1.45/services/create",
        "DELETE /services/x",
        "GET /containers/json",
        "GET /secrets",
        "GET /swarm",
        "GET /services/x/logs",
        "GET /nodes/%2e%2e/containers/json",
        "GET /nodes/../containers/json",
        "GET //containers/json",
        "GET /v1.45//containers/json",
        "GET http://docker/containers/json",
        "GET /NODES",
        "POST /nodes",
        "HEAD /nodes",
    ];
    for (requests, status) in [(&allowed[..], "200"), (&refused[..], "403")] {
        for request in requests {
            let said = ask_filter(container, request);
            assert!(
                said.starts_with(&format!("HTTP/1.1 {status} ")),
                "{request} through the filter: {status} expected, got {said}"
            );
        }
    }
}

/// The status line of `request` (a method and a path) sent to the filter on its own
/// loopback, by bash (both the official HAProxy image and its stand-in have it).
fn ask_filter(container: &str, request: &str) -> String {
    // The request is an argument, not part of printf's format: `%2e` stays as it is.
    let send = "exec 3<>/dev/tcp/127.0.0.1/2375 && printf '%s HTTP/1.1\\r\\nHost: docker\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\n{}' \"$1\" >&3 && head -n 1 <&3";
    crate::commands::docker_ok(&["exec", container, "bash", "-c", send, "bash", request])
        .trim()
        .to_owned()
}
