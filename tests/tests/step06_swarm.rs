//! Step 06: the queue stack on a one-node swarm, behind HAProxy. One test, since a stack
//! takes a while to deploy: it looks at what runs, sends forms through the proxy, checks that
//! no password shows in `docker inspect`, then, under continuous load, rolls out a new
//! version, rolls out a broken one (which Swarm rolls back), takes Postgres away for three
//! minutes, and kills an app and a worker task. Every request is counted and every thanked answer looked up in Postgres. Then a
//! plain `down` and `up` again: every answer is still there.

use std::time::{Duration, Instant};

use tests::{
    commands::docker_ok as docker,
    load::{Load, send_failed_again, tally},
    xtask::{Launched, redacted_tables, snapshot_settings},
};

/// This engine's swarm state, as `docker info` tells it.
fn swarm_state() -> String {
    docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .trim()
        .to_owned()
}

/// The running containers of one of the stack's services.
fn tasks(project: &str, service: &str) -> Vec<String> {
    let label = format!("label=com.docker.swarm.service.name={project}_{service}");
    docker(&["ps", "--quiet", "--filter", &label])
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Waits until `service` runs `want` healthy replicas again.
fn wait_replicas(project: &str, service: &str, want: usize) {
    let started = Instant::now();
    let name = format!("{project}_{service}");
    loop {
        let replicas = docker(&[
            "service",
            "ls",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Replicas}}",
        ]);
        if replicas.trim().starts_with(&format!("{want}/{want}")) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{name} is at {replicas} replicas after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The whole lesson of step 06, under load, with nothing lost and no failed request during
/// updates. See the module docs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_updates_rolls_back_and_heals_without_losing_anything() {
    let before = swarm_state();
    {
        let launched = Launched::up_official(6, &[]);
        let project = launched.project.clone();
        let port = launched.port;
        let hostname = docker(&["info", "--format", "{{.Name}}"]).trim().to_owned();
        let filters = [
            (r"\b[a-z0-9]{25}\b", "[node id]"),
            (r"^[a-z0-9]{12}$", "[id]"),
            (&*format!(r"\b{}\b", regex::escape(&hostname)), "[node]"),
            (
                r"\b(Running|Starting|Preparing) (less than a second|(about )?(an?|\d+) (seconds?|minutes?)) ago",
                "$1 [time] ago",
            ),
            // The stack runs the app image by its id (`up` tags it so), which every build changes.
            (
                r"(survey/step-0[67]-[a-z]+):[0-9a-f]{12}\b",
                "$1:[image id]",
            ),
            (&*format!(r"\*:{port}->"), "*:2154->"),
        ];
        let filters: Vec<(&str, &str)> = filters.iter().map(|(r, s)| (*r, *s)).collect();
        snapshot_settings(&launched, &filters)
            .bind(|| insta::assert_snapshot!("up_commands", launched.up_commands));
        let ps = redacted_tables(&launched, &launched.run_ok(&["ps"]), &filters);
        insta::assert_snapshot!("ps", ps);

        // Private unless asked (checked from another machine in `learner.rs`, as root).
        assert!(
            launched
                .up_output
                .contains(&format!("Published on 127.0.0.1:{port} only")),
            "{}",
            launched.up_output
        );

        // Through the proxy: a form sent twice is one row, and the page says who answered.
        launched.assert_wide_answer_kept().await;
        launched.assert_resend_kept_once().await;
        launched.assert_reused_key_not_dropped().await;
        let page = tests::http::Remote::new(launched.base())
            .get_text("/")
            .await;
        assert!(
            page.contains(&format!("Answered by task {project}_app.")),
            "{page}"
        );
        assert!(page.contains(", version 1</footer>"), "{page}");

        // `up` again on the running stack, nothing changed: nothing is rolled out.
        let again = launched.run_ok(&["up", "--port", &port.to_string()]);
        assert!(
            again.contains("is running: bringing it up to date")
                && again.contains("The app's image is unchanged: nothing to roll out."),
            "{again}"
        );

        // No password in any service's or container's inspect output.
        let db = &tasks(&project, "db")[0];
        let mut secrets = Vec::new();
        for secret in ["db-password", "app-db-password"] {
            let value = docker(&["exec", db, "cat", &format!("/run/secrets/{secret}")]);
            if secret != "redis-password" {
                assert!(
                    value.trim().len() >= 32,
                    "{secret} is a long random password"
                );
            }
            secrets.push((secret, value.trim().to_owned()));
        }
        let redis = &tasks(&project, "redis")[0];
        let redis_password = docker(&["exec", redis, "cat", "/run/secrets/redis-password"]);
        secrets.push(("redis-password", redis_password.trim().to_owned()));
        let services: Vec<String> = ["proxy", "app", "worker", "redis", "db"]
            .iter()
            .map(|s| format!("{project}_{s}"))
            .collect();
        let label = format!("label=com.docker.stack.namespace={project}");
        let containers = docker(&["ps", "--quiet", "--filter", &label]);
        let mut inspected = docker(
            &[
                &["service", "inspect"][..],
                &services.iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        );
        inspected += &docker(
            &[
                &["inspect"][..],
                &containers.split_whitespace().collect::<Vec<_>>(),
            ]
            .concat(),
        );
        for (secret, value) in &secrets {
            assert!(
                !value.is_empty() && !inspected.contains(value.as_str()),
                "{secret} shows in docker inspect"
            );
        }
        // Nor in the environment of any process of any of the stack's containers (Postgres's
        // entry point exports the superuser's; the stack starts the server without it), nor
        // in anything `up` printed.
        let reader =
            std::env::var("POSTGRES_IMAGE").expect("POSTGRES_IMAGE, as cargo xtask test sets it");
        for id in containers.split_whitespace() {
            let environments = tests::inside::environments(id, &reader);
            for (secret, value) in &secrets {
                assert!(
                    !environments.contains(value.as_str()),
                    "{secret} is in the environment of a process in {id}"
                );
            }
        }
        for (secret, value) in &secrets {
            assert!(
                !launched.up_output.contains(value.as_str())
                    && !launched.up_commands.contains(value.as_str()),
                "{secret} shows in what up printed"
            );
        }

        // Every task runs hardened, as the stack file asks.
        for id in containers.split_whitespace() {
            let host = docker(&["inspect", "--format", "{{.Name}} {{json .HostConfig}}", id]);
            let (name, json) = host.trim().split_once(' ').expect("a name and a config");
            let host: serde_json::Value = serde_json::from_str(json).expect("JSON");
            let drops_all = host["CapDrop"]
                .as_array()
                .is_some_and(|caps| caps.iter().any(|c| c == "ALL"));
            assert!(
                host["ReadonlyRootfs"] == true,
                "{name}: a read-only root filesystem"
            );
            assert!(drops_all, "{name}: cap_drop ALL");
            assert!(
                host["Memory"].as_i64().is_some_and(|m| m > 0),
                "{name}: a memory limit"
            );
            assert!(
                host["PidsLimit"].as_i64().is_some_and(|p| p > 0),
                "{name}: a pids limit"
            );
            assert!(
                host["LogConfig"]["Config"]["max-size"].is_string(),
                "{name}: rotated logs"
            );
        }

        // Under load: a rolling update, a broken one, and two killed tasks.
        let load = Load::start(launched.base(), "update");
        tokio::time::sleep(Duration::from_secs(2)).await;

        launched.assert_updates_to(2).await;

        load.phase("broken");
        let broken = launched.run_ok(&["update", "--broken"]);
        assert!(broken.contains("rolled"), "{broken}");
        let image = docker(&[
            "service",
            "inspect",
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
            &format!("{project}_app"),
        ]);
        assert!(
            image.contains("step-06-swarm:2"),
            "back on version 2: {image}"
        );
        let failed_in_updates = load.failed();

        // Postgres away for three minutes, with five workers: the proxy asks the apps'
        // `/readyz`, which needs Redis alone, so every answer is still taken and thanked; the
        // workers wait with their batches, healthy, so Swarm kills none; once Postgres is
        // back every answer is stored once, and none became a dead letter.
        load.phase("outage");
        launched.run_ok(&["scale", "5"]);
        let dead_letters = || async {
            let status =
                tests::http::wait_until_drained(&launched.base(), Duration::from_secs(180)).await;
            status["dead_letters"]
                .as_u64()
                .expect("a count of dead letters")
        };
        let dead_before = dead_letters().await;
        let db = format!("{project}_db");
        docker(&["service", "scale", "--detach", &format!("{db}=0")]);
        tokio::time::sleep(Duration::from_secs(180)).await;
        docker(&["service", "scale", "--detach", &format!("{db}=1")]);
        wait_replicas(&project, "db", 1);
        let failed_in_outage: Vec<_> = load
            .failed()
            .into_iter()
            .filter(|(name, _, _)| name.starts_with("outage-"))
            .collect();
        launched.run_ok(&["scale", "3"]);
        wait_replicas(&project, "worker", 3);

        load.phase("kill");
        for service in ["app", "worker"] {
            let task = &tasks(&project, service)[0];
            docker(&["kill", task]);
            wait_replicas(&project, service, 3);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let ledger = load.stop().await;
        let failed = ledger.failed.len();
        // A visitor whose request failed when a task was killed sends the form again.
        let thanked = send_failed_again(&launched.base(), ledger).await;
        let tally = tally(&launched, "^(update|broken|outage|kill)-", &thanked).await;
        assert_eq!(
            dead_letters().await,
            dead_before,
            "no answer became a dead letter while Postgres was away"
        );
        eprintln!(
            "thanked {}, failed during updates {}, failed during kills {}, stored {}",
            thanked.len(),
            failed_in_updates.len(),
            failed - failed_in_updates.len(),
            tally.stored
        );
        assert!(
            thanked.len() > 200,
            "enough load to prove something: {}",
            thanked.len()
        );
        let summary = format!(
            "failed requests during the rolling update and the rollback: {}\n\
             thanked answers missing from Postgres: {}\n\
             names stored more than once: {}",
            failed_in_updates.len(),
            tally.missing,
            tally.doubled
        );
        assert!(
            failed_in_updates.is_empty(),
            "failed during updates: {failed_in_updates:?}"
        );
        assert!(
            failed_in_outage.is_empty(),
            "failed while Postgres was away: {failed_in_outage:?}"
        );
        insta::assert_snapshot!("under_load", summary);

        // Down tonight, up tomorrow: the swarm and its secrets stay, so the data's passwords
        // still open it.
        let down = launched.assert_down_up_keeps_answers().await;
        assert!(
            down.contains("secrets and the swarm that holds them are kept"),
            "{down}"
        );
        assert_ne!(swarm_state(), "inactive", "a plain down keeps the swarm");
    }
    assert_eq!(
        swarm_state(),
        before,
        "down leaves the engine's swarm as it found it"
    );
}
