//! Another machine on the learner's network, as seen by this one: a network namespace the test
//! makes, joined to this machine by a veth pair with addresses of its own (10.231.N.1 here,
//! .2 there). What answers on this machine's end of the pair would answer anyone on the
//! learner's Wi-Fi; what is published on 127.0.0.1 alone does not. Needs root (`ip netns`).
//! The namespace and the pair go when it is dropped, passed or failed.

use std::{
    net::TcpListener,
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// The namespace, and this machine's address as seen from it.
#[derive(Debug)]
pub struct Outside {
    namespace: String,
    /// This machine's end of the pair.
    pub host: String,
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().expect("ip runs")
}

fn ip_ok(args: &[&str]) {
    let output = ip(args);
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Outside {
    /// Makes the namespace and the pair, and checks the path: a port this test opens on every
    /// interface answers from there (else a refusal later would prove nothing). Only root may
    /// make them: run as anyone else, it says so and gives none (CI runs as root, and checks).
    pub fn new_as_root() -> Option<Self> {
        if !throwaway_postgres::running_as_root() {
            eprintln!(
                "not checked from another machine: a network namespace needs root (CI checks it)"
            );
            return None;
        }
        Some(Self::new())
    }

    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let namespace = format!(
            "survey-outside-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ip_ok(&["netns", "add", &namespace]);
        let mut outside = Self {
            namespace: namespace.clone(),
            host: String::new(),
        };
        // The first pair name (and subnet) that no other test holds.
        let start = std::process::id() % 250;
        let n = (0..250)
            .map(|i| (start + i) % 250)
            .find(|n| {
                let (here, there) = (format!("svy{n}h"), format!("svy{n}o"));
                ip(&[
                    "link", "add", &here, "type", "veth", "peer", "name", &there, "netns",
                    &namespace,
                ])
                .status
                .success()
            })
            .expect("a free veth name");
        let (here, there) = (format!("svy{n}h"), format!("svy{n}o"));
        let host = format!("10.231.{n}.1");
        outside.host.clone_from(&host);
        ip_ok(&["addr", "add", &format!("{host}/30"), "dev", &here]);
        ip_ok(&["link", "set", &here, "up"]);
        let in_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &namespace, "ip"];
            all.extend_from_slice(args);
            ip_ok(&all);
        };
        in_ns(&["addr", "add", &format!("10.231.{n}.2/30"), "dev", &there]);
        in_ns(&["link", "set", &there, "up"]);
        in_ns(&["link", "set", "lo", "up"]);

        let open = TcpListener::bind("0.0.0.0:0").expect("a port on every interface");
        let port = open.local_addr().expect("its address").port();
        assert!(
            outside.answers(port),
            "a port open on every interface answers from the namespace (the test's own path)"
        );
        outside
    }

    /// Whether a TCP connection from the namespace to this machine's `port` is accepted
    /// (within 3 s).
    pub fn answers(&self, port: u16) -> bool {
        let target = format!("exec 3<>/dev/tcp/{}/{port}", self.host);
        ip(&[
            "netns",
            "exec",
            &self.namespace,
            "timeout",
            "3",
            "bash",
            "-c",
            &target,
        ])
        .status
        .success()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and so the pair.
        let _ = ip(&["netns", "delete", &self.namespace]);
    }
}
