//! Step 06's HAProxy, with the stack's own configuration, in front of a server of the test's
//! own that takes each request and closes without an answer: it counts how often the proxy
//! sends a request. A POST that carries its form's key may be sent again (the key makes it one
//! row); one without a key must not, or one visitor's answer could be stored twice.
//! And the tasks' metrics never reach a visitor.

use std::{
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tests::cluster::free_port;

/// A server on 127.0.0.1 that reads each request whole, counts it, and hangs up.
fn hanging_up_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let (mut line, mut length) = (String::new(), 0);
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, seen)
}

/// The stack's HAProxy configuration, with the test's ports instead of Swarm's names: it
/// listens on 127.0.0.1 and sends to the one server above, unchecked (a check would count).
/// The backends of the `--observe` layer and the statistics page are left out: they are not
/// the path of a form.
fn configuration(front: u16, back: u16) -> String {
    let stack = std::fs::read_to_string(
        tests::xtask::workspace_root().join("compose/06-swarm/haproxy.cfg"),
    )
    .expect("the stack's haproxy.cfg");
    let mut replaced = 0;
    let mut section = String::new();
    let lines: Vec<String> = stack
        .lines()
        .filter(|line| {
            if !line.starts_with([' ', '#']) && !line.is_empty() {
                (*line).clone_into(&mut section);
            }
            let layer = ["use_backend view ", "use_backend prometheus "];
            !matches!(
                section.as_str(),
                "backend view" | "backend prometheus" | "frontend stats"
            ) && !layer.iter().any(|l| line.trim_start().starts_with(l))
        })
        .filter_map(|line| match line.trim_start() {
            "bind :8080" => {
                replaced += 1;
                Some(format!("  bind 127.0.0.1:{front}"))
            }
            l if l.starts_with("server-template app ") => {
                replaced += 1;
                Some(format!("  server app1 127.0.0.1:{back}"))
            }
            l if l.starts_with("default-server ") || l.starts_with("option httpchk") => {
                replaced += 1;
                None
            }
            _ => Some(line.to_owned()),
        })
        .collect();
    assert_eq!(
        replaced, 4,
        "the lines this test replaces are in haproxy.cfg"
    );
    lines.join("\n") + "\n"
}

/// The proxy, in a container on this machine's network (ports on 127.0.0.1 only), removed on
/// drop.
struct Proxy {
    name: String,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(front: u16, back: u16) -> Self {
        let dir = tempfile::tempdir().expect("a folder");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, configuration(front, back)).expect("the configuration");
        let image = std::env::var("HAPROXY_IMAGE").unwrap_or_else(|_| "haproxy:2.6".into());
        let name = format!("survey-test-proxy-{}", std::process::id());
        let proxy = Self { name, _dir: dir };
        let config = format!("{}:/usr/local/etc/haproxy/haproxy.cfg:ro", cfg.display());
        let run = [
            "run",
            "--detach",
            "--network",
            "host",
            "--name",
            &proxy.name,
            "--volume",
            &config,
            &image,
        ];
        tests::commands::docker_ok(&run);
        tests::wait::until("the proxy listening", Duration::from_secs(20), || {
            match std::net::TcpStream::connect(("127.0.0.1", front)) {
                Ok(_) => Ok(()),
                Err(err) => Err(format!(
                    "{err}; its logs: {:?}",
                    tests::commands::printed(&tests::commands::docker_unchecked(&[
                        "logs",
                        &proxy.name
                    ]))
                )),
            }
        });
        proxy
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = tests::commands::docker_unchecked(&["rm", "--force", &self.name]);
    }
}

/// A POST with its form's key is sent again when the server hangs up (one key is one row);
/// one without a key is sent once, and the visitor gets the proxy's error instead.
#[tokio::test]
async fn only_a_keyed_post_is_sent_again() {
    let (back, seen) = hanging_up_server();
    let front = free_port();
    let _proxy = Proxy::start(front, back);
    // A connection each, as the proxy closes one after its error page.
    let send = |body: &'static str| {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client")
            .post(format!("http://127.0.0.1:{front}/"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let status = send("name=Pika&coat=tabby&donut=jelly")
        .await
        .expect("an answer");
    assert_eq!(
        status.status().as_u16(),
        502,
        "the proxy says the server failed"
    );
    assert_eq!(
        seen.swap(0, Ordering::SeqCst),
        1,
        "a key-less POST is sent once"
    );
    let status = send("name=Pika&coat=tabby&donut=jelly&key=0190a0a0-0000-7000-8000-000000000001")
        .await
        .expect("an answer");
    assert_eq!(status.status().as_u16(), 502);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        4,
        "a keyed POST is sent again, three times (`retries 3`)"
    );
}

/// A task's metrics are not the visitors': the proxy answers 404 to `/metrics` itself, and
/// the app never sees the request.
#[tokio::test]
async fn metrics_are_not_served_to_visitors() {
    let (back, seen) = hanging_up_server();
    let front = free_port();
    let _proxy = Proxy::start(front, back);
    let client = reqwest::Client::new();
    for path in ["/metrics", "/metrics/", "/metrics?format=text"] {
        let response = client
            .get(format!("http://127.0.0.1:{front}{path}"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the app saw none of them");
}
