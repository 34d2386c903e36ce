//! The offline stand-ins are the official images' twins: the same checks run against whichever
//! image is in use (`POSTGRES_IMAGE`, `REDIS_IMAGE`, `HAPROXY_IMAGE`, as `cargo xtask test`
//! sets them: the stand-ins offline, the official images online).

use std::time::Duration;

use tests::commands::{docker_unchecked as docker, printed as text};

/// The image a variable names, as `cargo xtask images` set it.
fn image(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is set by cargo xtask test (cargo xtask images)"))
}

/// Runs `docker args`, panics with its output unless it succeeds; returns stdout, trimmed.
fn ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {}:\n{}",
        args.join(" "),
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Containers, volumes and networks of one test, removed on drop, passed or failed.
#[derive(Default)]
struct Made {
    containers: Vec<String>,
    volumes: Vec<String>,
    networks: Vec<String>,
}

impl Drop for Made {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = docker(&["rm", "--force", "--volumes", c]);
        }
        for v in &self.volumes {
            let _ = docker(&["volume", "rm", "--force", v]);
        }
        for n in &self.networks {
            let _ = docker(&["network", "rm", n]);
        }
    }
}

fn name(what: &str) -> String {
    format!("survey-twin-{}-{what}", std::process::id())
}

/// Waits until `args` succeeds.
fn until_ok(args: &[&str], limit: Duration) {
    let what = format!("docker {} succeeding", args.join(" "));
    tests::wait::until(&what, limit, || {
        let output = docker(args);
        if output.status.success() {
            Ok(())
        } else {
            Err(text(&output))
        }
    });
}

/// Postgres: no password, no start; the password from a file (a secret); a UTF8 cluster of the
/// major version the Compose files name, counting characters, not bytes; init scripts run; a
/// wrong password refused over the network; the password exported to the server's
/// environment on every start, the official image's fault.
#[test]
fn postgres_image_is_the_official_twin() {
    let postgres = image("POSTGRES_IMAGE");
    let mut made = Made::default();

    let refused = docker(&["run", "--rm", &postgres]);
    assert!(!refused.status.success(), "it starts without a password");
    let said = text(&refused).to_lowercase();
    assert!(
        said.contains("uninitialized") && said.contains("password"),
        "{said}"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("password"), "s3cret\n").expect("write the secret");
    std::fs::write(
        dir.path().join("init.sql"),
        "CREATE TABLE made_by_init (n int);\n",
    )
    .expect("write the init script");
    let secret = format!("{}:/run/secrets/pg:ro", dir.path().display());
    let db = name("postgres");
    made.containers.push(db.clone());
    ok(&[
        "run",
        "--detach",
        "--name",
        &db,
        "--env",
        "POSTGRES_USER=survey",
        "--env",
        "POSTGRES_PASSWORD_FILE=/run/secrets/pg/password",
        "--volume",
        &secret,
        "--volume",
        &format!(
            "{}/init.sql:/docker-entrypoint-initdb.d/init.sql:ro",
            dir.path().display()
        ),
        &postgres,
    ]);
    until_ok(
        &["exec", &db, "pg_isready", "-h", "127.0.0.1", "-U", "survey"],
        Duration::from_secs(60),
    );
    assert_serves_as_the_official_one(&db);
    let over_tcp = |password: &str| {
        docker(&[
            "exec",
            "--env",
            &format!("PGPASSWORD={password}"),
            &db,
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "survey",
            "-tAc",
            "select 1",
        ])
        .status
        .success()
    };
    assert!(over_tcp("s3cret"), "the password from the file works");
    assert!(!over_tcp("wrong"), "a wrong password is refused");
    assert_password_exported(&db, &postgres);
}

/// The official entry point exports the password it read from the file, on every start, and
/// the server runs with it in its environment: the stand-in does the same, so that the
/// stacks' test sees it unless they start the server without it.
fn assert_password_exported(db: &str, postgres: &str) {
    let exported = "POSTGRES_PASSWORD=s3cret";
    assert!(
        tests::inside::environments(db, postgres).contains(exported),
        "the server's environment holds the password, as the official image's does"
    );
    ok(&["restart", db]);
    until_ok(
        &["exec", db, "pg_isready", "-h", "127.0.0.1", "-U", "survey"],
        Duration::from_secs(60),
    );
    assert!(
        tests::inside::environments(db, postgres).contains(exported),
        "and again after a restart, on a cluster that has its password"
    );
}

/// UTF-8, Postgres 15, and the init script ran.
fn assert_serves_as_the_official_one(db: &str) {
    let sql = |query: &str| ok(&["exec", db, "psql", "-U", "survey", "-tAc", query]);
    assert_eq!(sql("show server_encoding"), "UTF8");
    assert_eq!(sql("select char_length('Рыжик三毛猫🍩')"), "9");
    assert_eq!(
        sql("select current_setting('server_version_num')::int / 10000"),
        "15"
    );
    assert_eq!(
        sql("select count(*) from made_by_init"),
        "0",
        "the init script ran"
    );
}

/// Redis: run plainly it serves the other containers on its network (protected mode off, as
/// the official image builds it); options alone run redis-server with them; data survives a
/// stop and start.
#[test]
fn redis_image_is_the_official_twin() {
    let redis = image("REDIS_IMAGE");
    let mut made = Made::default();
    let network = name("net");
    ok(&["network", "create", &network]);
    made.networks.push(network.clone());

    let plain = name("redis-plain");
    made.containers.push(plain.clone());
    ok(&[
        "run",
        "--detach",
        "--name",
        &plain,
        "--network",
        &network,
        &redis,
    ]);
    let cli = |host: &str, args: &[&str]| {
        let mut all = vec![
            "run",
            "--rm",
            "--network",
            network.as_str(),
            "--entrypoint",
            "redis-cli",
            redis.as_str(),
            "-h",
            host,
        ];
        all.extend_from_slice(args);
        docker(&all)
    };
    tests::wait::until(
        "PONG from another container",
        Duration::from_secs(30),
        || {
            let pong = text(&cli(&plain, &["ping"]));
            if pong.contains("PONG") {
                Ok(())
            } else {
                Err(pong)
            }
        },
    );

    let volume = name("data");
    made.volumes.push(volume.clone());
    let with_options = name("redis-options");
    made.containers.push(with_options.clone());
    assert_options_run_the_server(&redis, &network, &volume, &with_options);
}

/// Options alone run redis-server with them, and its data survives a stop and start.
fn assert_options_run_the_server(redis: &str, network: &str, volume: &str, with_options: &str) {
    ok(&[
        "run",
        "--detach",
        "--name",
        with_options,
        "--network",
        network,
        "--volume",
        &format!("{volume}:/data"),
        redis,
        "--appendonly",
        "yes",
    ]);
    until_ok(
        &["exec", with_options, "redis-cli", "ping"],
        Duration::from_secs(30),
    );
    assert_eq!(
        ok(&[
            "exec",
            with_options,
            "redis-cli",
            "config",
            "get",
            "appendonly"
        ]),
        "appendonly\nyes"
    );
    ok(&["exec", with_options, "redis-cli", "set", "cat", "Pika"]);
    ok(&["stop", with_options]);
    ok(&["start", with_options]);
    until_ok(
        &["exec", with_options, "redis-cli", "ping"],
        Duration::from_secs(30),
    );
    assert_eq!(
        ok(&["exec", with_options, "redis-cli", "get", "cat"]),
        "Pika"
    );
}

/// HAProxy: step 06's configuration, mounted where the official image reads it, is valid
/// (a bare option runs haproxy with it); the proxy runs as a user other than root, and starts
/// in the foreground with the image's own command.
#[test]
fn haproxy_image_is_the_official_twin() {
    let haproxy = image("HAPROXY_IMAGE");
    let config = tests::xtask::workspace_root().join("compose/06-swarm/haproxy.cfg");
    let mount = format!(
        "type=bind,source={},target=/usr/local/etc/haproxy/haproxy.cfg,readonly",
        config.display()
    );
    let checked = ok(&[
        "run",
        "--rm",
        "--mount",
        &mount,
        &haproxy,
        "-c",
        "-f",
        "/usr/local/etc/haproxy/haproxy.cfg",
    ]);
    assert!(checked.contains("Configuration file is valid"), "{checked}");
    let user = ok(&["run", "--rm", "--entrypoint", "id", &haproxy, "-u"]);
    assert_ne!(user, "0", "haproxy runs as a user other than root");

    let mut made = Made::default();
    let proxy = name("haproxy");
    made.containers.push(proxy.clone());
    ok(&[
        "run", "--detach", "--name", &proxy, "--mount", &mount, &haproxy,
    ]);
    std::thread::sleep(Duration::from_secs(2));
    let running = ok(&["inspect", "--format", "{{.State.Running}}", &proxy]);
    let logs = text(&docker(&["logs", &proxy]));
    assert_eq!(running, "true", "haproxy keeps running:\n{logs}");
}

/// Docker-in-Docker: options only start an engine that listens on TCP on every interface of
/// its container, with TLS (certificates made at start) or, with `DOCKER_TLS_CERTDIR` set
/// empty, without: the official image's behaviour, unsafe case included, so that a test sees
/// it. `dockerd` named with its socket listens on that socket alone, as step 07's lab starts
/// its nodes.
#[test]
fn dind_image_is_the_official_twin() {
    let dind = image("DIND_IMAGE");
    let mut made = Made::default();
    /// How a node is started, and the TCP ports its engine should then listen on.
    struct Start {
        case: &'static str,
        env: &'static [&'static str],
        command: &'static [&'static str],
        tcp: &'static [u16],
    }
    let starts = [
        Start {
            case: "plain",
            env: &["--env", "DOCKER_TLS_CERTDIR="],
            command: &[],
            tcp: &[2375],
        },
        Start {
            case: "tls",
            env: &[],
            command: &["--log-level", "warn"],
            tcp: &[2376],
        },
        Start {
            case: "socket",
            env: &["--env", "DOCKER_TLS_CERTDIR="],
            command: &["dockerd", "--host=unix:///var/run/docker.sock"],
            tcp: &[],
        },
    ];
    for Start {
        case,
        env,
        command,
        tcp,
    } in starts
    {
        let container = name(&format!("dind-{case}"));
        made.containers.push(container.clone());
        let mut args = vec!["run", "--detach", "--privileged", "--name", &container];
        args.extend_from_slice(env);
        args.push(&dind);
        args.extend_from_slice(command);
        ok(&args);
        until_ok(
            &["exec", &container, "docker", "info"],
            Duration::from_secs(90),
        );
        let ports = tests::inside::listening_tcp_ports(&["docker"], &container);
        let engine: Vec<u16> = ports
            .iter()
            .copied()
            .filter(|p| [2375, 2376].contains(p))
            .collect();
        assert_eq!(engine, tcp, "{case}: the engine's TCP ports ({ports:?})");
    }
    let client = name("dind-tls");
    let certs = ok(&["exec", &client, "ls", "/certs/client"]);
    for file in ["ca.pem", "cert.pem", "key.pem"] {
        assert!(certs.contains(file), "the client's {file} is made: {certs}");
    }
}

/// Prometheus: the stack's configuration passes `promtool` where the official image reads
/// it; it runs as nobody; started as `compose/swarm-view.yaml` starts it (its data in a
/// tmpfs, its pages under /prometheus/), it scrapes what its configuration names and answers
/// queries; and it listens on every interface of its container, to anyone, as the official
/// image does: the layer keeps it behind the stack's proxy, which publishes on loopback.
#[tokio::test]
async fn prometheus_image_is_the_official_twin() {
    let prometheus = image("PROMETHEUS_IMAGE");
    let config = tests::xtask::workspace_root().join("compose/swarm-view/prometheus.yml");
    let mount = |source: &std::path::Path| {
        format!(
            "type=bind,source={},target=/etc/prometheus/prometheus.yml,readonly",
            source.display()
        )
    };
    let checked = docker(&[
        "run",
        "--rm",
        "--mount",
        &mount(&config),
        "--entrypoint",
        "promtool",
        &prometheus,
        "check",
        "config",
        "/etc/prometheus/prometheus.yml",
    ]);
    assert!(
        checked.status.success() && text(&checked).contains("SUCCESS"),
        "the stack's configuration: {}",
        text(&checked)
    );
    let user = ok(&["run", "--rm", "--entrypoint", "id", &prometheus, "-u"]);
    assert_eq!(user, "65534", "prometheus runs as nobody");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let itself = dir.path().join("prometheus.yml");
    std::fs::write(
        &itself,
        "global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: itself\n    metrics_path: /prometheus/metrics\n    static_configs: [{ targets: [\"localhost:9090\"] }]\n",
    )
    .expect("write a configuration");
    let mut made = Made::default();
    let server = name("prometheus");
    made.containers.push(server.clone());
    ok(&[
        "run",
        "--detach",
        "--name",
        &server,
        "--read-only",
        "--mount",
        &mount(&itself),
        "--mount",
        "type=tmpfs,target=/prometheus/data",
        "--publish",
        "127.0.0.1::9090",
        &prometheus,
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus/data",
        "--web.external-url=/prometheus/",
    ]);
    let published = ok(&["port", &server, "9090/tcp"]);
    let port = published.lines().next().and_then(|l| l.rsplit(':').next());
    let api = tests::prometheus::Prometheus::at(format!(
        "http://127.0.0.1:{}/prometheus",
        port.unwrap_or_else(|| panic!("a published port: {published}"))
    ));
    tests::wait::until_async("itself scraped, up", Duration::from_secs(60), || async {
        match api.value("up{job=\"itself\"}").await? {
            Some(1.0) => Ok(()),
            other => Err(format!(
                "up is {other:?}; logs:\n{}",
                text(&docker(&["logs", &server]))
            )),
        }
    })
    .await;
    let listening = ok(&["exec", &server, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
    // 9090 is 2382 in hexadecimal; the address, all zeros, is every interface.
    let everywhere = listening.lines().any(|line| {
        let local = line.split_whitespace().nth(1).unwrap_or_default();
        local.ends_with(":2382") && local.trim_end_matches(":2382").chars().all(|c| c == '0')
    });
    assert!(everywhere, "it listens on every interface:\n{listening}");
}
