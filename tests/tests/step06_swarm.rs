//! Step 06: the queue stack on a one-node swarm, behind HAProxy. One test, since a stack
//! takes a while to deploy: it looks at what runs, sends forms through the proxy, checks that
//! no password shows in `docker inspect`, then, under continuous load, rolls out a new
//! version, rolls out a broken one (which Swarm rolls back), takes Postgres away for three
//! minutes, and kills an app and a worker task. Every request is counted and every thanked answer looked up in Postgres. Then a
//! plain `down` and `up` again: every answer is still there. On the way, `up --observe` adds
//! the swarm view, which a browser watches, and Prometheus, which counts what every task did;
//! a plain `up` takes them away again.

use std::time::Duration;

use tests::{
    chart::Line,
    commands::docker_ok as docker,
    load::{Load, stop_and_tally},
    phase::Phase,
    prometheus::{
        Drawn, Prometheus, STORED, TAKEN, WAITING, assert_never_stopped, now, taken as taken_line,
    },
    swarm_view::SwarmView,
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
    let name = format!("{project}_{service}");
    let what = format!("{name} at {want}/{want} replicas");
    tests::wait::until(&what, Duration::from_secs(120), || {
        let replicas = docker(&[
            "service",
            "ls",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Replicas}}",
        ]);
        if replicas.trim().starts_with(&format!("{want}/{want}")) {
            Ok(())
        } else {
            Err(replicas)
        }
    });
}

/// The whole lesson of step 06, under load, with nothing lost and no failed request during
/// updates: each phase below is one behaviour. See the module docs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_updates_rolls_back_and_heals_without_losing_anything() {
    let before = swarm_state();
    {
        let launched = Launched::up_official(6, &[]);
        shows_what_runs(&launched);
        answers_through_the_proxy(&launched).await;
        up_again_rolls_out_nothing(&launched);
        keeps_passwords_out_of_sight(&launched);
        launched.assert_exercises_hold();
        {
            let _phase = Phase::named("every task runs hardened, as the stack file asks");
            tests::hardening::assert_hardened(&launched);
        }
        observes_the_swarm(&launched).await;
        survives_updates_an_outage_and_killed_tasks(&launched).await;
        a_plain_up_removes_the_layer(&launched).await;
        down_and_up_keep_the_answers_and_the_swarm(&launched).await;
    }
    assert_eq!(
        swarm_state(),
        before,
        "down leaves the engine's swarm as it found it"
    );
}

/// `up`'s commands and `ps` as the book shows them, published on loopback only.
fn shows_what_runs(launched: &Launched) {
    let _phase = Phase::named("up prints its commands, ps shows the stack, on loopback only");
    let port = launched.port();
    let hostname = docker(&["info", "--format", "{{.Name}}"]).trim().to_owned();
    let filters = [
        (r"^[a-z0-9]{12}$", "[id]"),
        (&*format!(r"\b{}\b", regex::escape(&hostname)), "[node]"),
        (&*format!(r"\*:{port}->"), "*:2154->"),
    ];
    let filters: Vec<(&str, &str)> = filters.iter().map(|(r, s)| (*r, *s)).collect();
    snapshot_settings(launched, &filters)
        .bind(|| insta::assert_snapshot!("up_commands", launched.up_commands));
    let ps = redacted_tables(launched, &launched.run_ok(&["ps"]), &filters);
    insta::assert_snapshot!("ps", ps);
    // Private unless asked (checked from another machine in `learner.rs`, as root).
    assert!(
        launched
            .up_output
            .contains(&format!("Published on 127.0.0.1:{port} only")),
        "{}",
        launched.up_output
    );
}

/// Through the proxy: a form sent twice is one row, and the page says who answered.
async fn answers_through_the_proxy(launched: &Launched) {
    let _phase = Phase::named("answers go through the proxy, once each, and say who took them");
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
    launched.assert_reused_key_not_dropped().await;
    let page = tests::http::Remote::new(launched.base())
        .get_text("/")
        .await;
    assert!(
        page.contains(&format!("Answered by task {}_app.", launched.project)),
        "{page}"
    );
    assert!(page.contains(", version 1</footer>"), "{page}");
}

/// `up` again on the running stack, nothing changed: nothing is rolled out.
fn up_again_rolls_out_nothing(launched: &Launched) {
    let _phase = Phase::named("up on the running stack with nothing changed rolls out nothing");
    let again = launched.up_again(&[]);
    assert!(
        again.contains("is running: bringing it up to date")
            && again.contains("The app's image is unchanged: nothing to roll out."),
        "{again}"
    );
}

/// `up --observe` adds the view to the running stack, hardened, with the Docker socket in the
/// filter alone, which refuses writes. The page, opened once, shows the node with every
/// task, follows a `scale`, says what it cannot see while the filter is away and comes back
/// with it; Prometheus scrapes every task. The layer stays on for the load that follows.
async fn observes_the_swarm(launched: &Launched) {
    let _phase =
        Phase::named("up --observe: a live view, read through a filter that refuses writes");
    let observed = launched.up_again(&["--observe"]);
    assert!(observed.contains("/swarm"), "up names the view: {observed}");
    tests::hardening::assert_hardened(launched);
    tests::swarm_view::assert_filter_refuses_writes(&tasks(&launched.project, "docker-api")[0]);
    let view = SwarmView::open(launched).await;
    let patience = Duration::from_secs(60);
    let every_task = |shown: &tests::swarm_view::Shown| match &shown.nodes[..] {
        [node] if node.state == "ready" && node.runs("app") == 3 && node.runs("view") == 1 => {
            Ok(())
        }
        nodes => Err(format!("one ready node with every task: {nodes:?}")),
    };
    view.until("the node and its tasks", patience, every_task)
        .await;
    launched.run_ok(&["scale", "5"]);
    let workers = |want: usize| {
        move |shown: &tests::swarm_view::Shown| match shown.runs("worker") {
            n if n == want => Ok(()),
            n => Err(format!("{n} workers, not {want}")),
        }
    };
    view.until("five workers after `scale 5`", patience, workers(5))
        .await;
    let filter = format!("{}_docker-api", launched.project);
    docker(&["service", "scale", "--detach", &format!("{filter}=0")]);
    view.until("the last picture, and why it is old", patience, |shown| {
        workers(5)(shown)?;
        match shown.text.contains("cannot read the Docker API") {
            true => Ok(()),
            false => Err("no word of the missing filter".into()),
        }
    })
    .await;
    docker(&["service", "scale", "--detach", &format!("{filter}=1")]);
    view.until("the filter back", patience, |shown| {
        match shown.text.contains("cannot read") {
            false => every_task(shown),
            true => Err("still blind".into()),
        }
    })
    .await;
    launched.run_ok(&["scale", "3"]);
    tests::prometheus::assert_counts_every_task(launched, 3, 3).await;
    view.close().await;
}

/// A plain `up` removes the `--observe` layer, and `/swarm` then says how to start it.
async fn a_plain_up_removes_the_layer(launched: &Launched) {
    let _phase = Phase::named("a plain up removes the view and Prometheus");
    launched.up_again(&[]);
    // The view's task stops a moment after its service is removed, and the proxy's health
    // check then takes it out.
    let remote = tests::http::Remote::new(launched.base());
    let patience = Duration::from_secs(60);
    tests::wait::until_async("/swarm saying how to start the view", patience, || async {
        let page = remote.get_text("/swarm").await;
        match page.contains("up --observe") {
            true => Ok(()),
            false => Err(page),
        }
    })
    .await;
    assert!(
        tasks(&launched.project, "prometheus").is_empty(),
        "Prometheus went with the layer"
    );
}

/// The stack's passwords, as its tasks read them from their secrets.
fn secrets(project: &str) -> Vec<(&'static str, String)> {
    let db = &tasks(project, "db")[0];
    let mut secrets = Vec::new();
    for secret in ["db-password", "app-db-password"] {
        let value = docker(&["exec", db, "cat", &format!("/run/secrets/{secret}")]);
        assert!(
            value.trim().len() >= 32,
            "{secret} is a long random password"
        );
        secrets.push((secret, value.trim().to_owned()));
    }
    let redis = &tasks(project, "redis")[0];
    let redis_password = docker(&["exec", redis, "cat", "/run/secrets/redis-password"]);
    secrets.push(("redis-password", redis_password.trim().to_owned()));
    secrets
}

/// No password in any service's or container's inspect output, in the environment of any
/// process of the stack's containers (Postgres's entry point exports the superuser's; the
/// stack starts the server without it), nor in anything `up` printed.
fn keeps_passwords_out_of_sight(launched: &Launched) {
    let _phase =
        Phase::named("no password shows in inspect, a process's environment or up's output");
    let project = &launched.project;
    let secrets = secrets(project);
    let mut inspect = vec!["service".to_owned(), "inspect".to_owned()];
    inspect.extend(["proxy", "app", "worker", "redis", "db"].map(|s| format!("{project}_{s}")));
    let label = format!("label=com.docker.stack.namespace={project}");
    let containers = docker(&["ps", "--quiet", "--filter", &label]);
    let inspect: Vec<&str> = inspect.iter().map(String::as_str).collect();
    let mut inspected = docker(&inspect);
    let mut containers_inspect = vec!["inspect"];
    containers_inspect.extend(containers.split_whitespace());
    inspected += &docker(&containers_inspect);
    let reader =
        std::env::var("POSTGRES_IMAGE").expect("POSTGRES_IMAGE, as cargo xtask test sets it");
    let environments: Vec<(&str, String)> = containers
        .split_whitespace()
        .map(|id| (id, tests::inside::environments(id, &reader)))
        .collect();
    for (secret, value) in &secrets {
        assert!(
            !value.is_empty() && !inspected.contains(value.as_str()),
            "{secret} shows in docker inspect"
        );
        for (id, environment) in &environments {
            assert!(
                !environment.contains(value.as_str()),
                "{secret} is in the environment of a process in {id}"
            );
        }
        assert!(
            !launched.up_output.contains(value.as_str())
                && !launched.up_commands.contains(value.as_str()),
            "{secret} shows in what up printed"
        );
    }
}

/// Under continuous load: a rolling update, a broken one rolled back, Postgres away for three
/// minutes, two killed tasks; then every failed form sent again, and every thanked answer
/// looked up in Postgres.
async fn survives_updates_an_outage_and_killed_tasks(launched: &Launched) {
    let started = now();
    let load = Load::start(launched.base(), "update");
    load.until_thanked(40).await;
    // The load alone for a while, so that the graph shows what the update changes.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let updates = rolls_out_and_back(launched, &load).await;
    let dead_before = dead_letters(launched).await;
    let outage = rides_out_a_database_outage(launched, &load).await;
    heals_killed_tasks(launched, &load).await;
    let _phase = Phase::named("every thanked answer is stored once, none a dead letter");
    // It fails naming any thanked answer missing from Postgres or stored twice.
    stop_and_tally(
        load,
        launched,
        "^(update|broken|outage|kill)-",
        200,
        &Default::default(),
    )
    .await;
    assert_eq!(
        dead_letters(launched).await,
        dead_before,
        "no answer became a dead letter while Postgres was away"
    );
    as_prometheus_saw_it(launched, started, &updates, &outage).await;
}

/// A rolling update, then a broken one that Swarm rolls back: no request fails in either.
/// Returns when each began, and when the rollback was over.
async fn rolls_out_and_back(launched: &Launched, load: &Load) -> [Moment; 3] {
    let _phase = Phase::named("a rolling update and a rolled-back broken one fail no request");
    let update = (now(), "update");
    launched.assert_updates_to(2).await;
    load.phase("broken");
    let broken_update = (now(), "broken update");
    let broken = launched.run_ok(&["update", "--broken"]);
    assert!(broken.contains("rolled"), "{broken}");
    let image = docker(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        &format!("{}_app", launched.project),
    ]);
    assert!(
        image.contains("step-06-swarm:2"),
        "back on version 2: {image}"
    );
    let failed = load.failed();
    assert!(failed.is_empty(), "failed during updates: {failed:?}");
    [update, broken_update, (now(), "rolled back")]
}

/// Postgres away for three minutes, with five workers: the proxy asks the apps' `/readyz`,
/// which needs Redis alone, so every answer is still taken and thanked; the workers wait with
/// their batches, healthy, so Swarm kills none.
/// Returns when Postgres went, and when it was back.
async fn rides_out_a_database_outage(launched: &Launched, load: &Load) -> [Moment; 2] {
    let _phase = Phase::named("with Postgres away for three minutes, every answer is thanked");
    let project = &launched.project;
    load.phase("outage");
    launched.run_ok(&["scale", "5"]);
    let db = format!("{project}_db");
    docker(&["service", "scale", "--detach", &format!("{db}=0")]);
    let away = (now(), "Postgres stopped");
    tokio::time::sleep(Duration::from_secs(180)).await;
    docker(&["service", "scale", "--detach", &format!("{db}=1")]);
    wait_replicas(project, "db", 1);
    let back = (now(), "Postgres back");
    let failed = load.failed();
    assert!(
        failed.is_empty(),
        "failed while Postgres was away: {failed:?}"
    );
    launched.run_ok(&["scale", "3"]);
    wait_replicas(project, "worker", 3);
    [away, back]
}

/// A moment of the test, for the graphs: a Unix time, and what the test did then.
type Moment = (f64, &'static str);

/// What Prometheus saw since the load `started`, checked and drawn for the book: answers
/// taken every second all through the updates; while Postgres was away, answers taken still,
/// none stored, and the queue growing; after, the queue drained.
async fn as_prometheus_saw_it(
    launched: &Launched,
    started: f64,
    updates: &[Moment; 3],
    outage: &[Moment; 2],
) {
    let _phase = Phase::named(
        "Prometheus saw answers taken all through the updates and the outage, and the queue drain",
    );
    let prometheus = Prometheus::at(format!("{}/prometheus", launched.base()));
    saw_the_updates(&prometheus, started, updates).await;
    saw_the_outage(&prometheus, outage).await;
}

async fn saw_the_updates(prometheus: &Prometheus, started: f64, updates: &[Moment; 3]) {
    // From the load's start to the end of the rollback, before Postgres goes.
    let rollout = (started, updates[2].0 + 1.0);
    let taken = prometheus.every_2s(TAKEN, rollout).await;
    assert_never_stopped(
        &taken,
        (updates[0].0, updates[2].0),
        "answers taken, updates",
    );
    let drawn = Drawn {
        file: "swarm-rolling-update.svg",
        title: "A rolling update, and a broken one rolled back, under load",
        unit: "answers per second",
        window: rollout,
        marks: updates,
    };
    drawn.beside_stored(prometheus, taken_line(taken)).await;
}

async fn saw_the_outage(prometheus: &Prometheus, outage: &[Moment; 2]) {
    let around = (outage[0].0 - 20.0, outage[1].0 + 60.0);
    let (away, back) = (outage[0].0, outage[1].0);
    let taken = prometheus.every_2s(TAKEN, around).await;
    assert_never_stopped(&taken, (away, back), "answers taken, outage");
    let queue = prometheus.every_2s(WAITING, around).await;
    let deepest = queue.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(
        deepest >= 10.0,
        "the queue grew while Postgres was away: {queue:?}"
    );
    let stored_while_away = prometheus.every_2s(STORED, (away + 10.0, back)).await;
    assert!(
        stored_while_away.iter().all(|p| p.1 == 0.0),
        "nothing stored while Postgres was away: {stored_while_away:?}"
    );
    let patience = Duration::from_secs(30);
    tests::wait::until_async("Prometheus seeing the queue drained", patience, || async {
        match prometheus.value(WAITING).await? {
            Some(0.0) => Ok(()),
            other => Err(format!("{WAITING} is {other:?}")),
        }
    })
    .await;
    let drawn = Drawn {
        file: "swarm-postgres-away.svg",
        title: "Postgres away for three minutes, under load",
        unit: "answers",
        window: around,
        marks: outage,
    };
    let waiting = Line {
        name: "waiting in the queue",
        points: queue,
    };
    drawn.beside_stored(prometheus, waiting).await;
}

/// An app and a worker task killed: Swarm starts new ones, and the load goes on.
async fn heals_killed_tasks(launched: &Launched, load: &Load) {
    let _phase = Phase::named("a killed app task and a killed worker are replaced");
    load.phase("kill");
    for service in ["app", "worker"] {
        let task = &tasks(&launched.project, service)[0];
        docker(&["kill", task]);
        wait_replicas(&launched.project, service, 3);
    }
    load.until_thanked(40).await;
}

/// The dead letters so far, once the queue has drained.
async fn dead_letters(launched: &Launched) -> u64 {
    let status = tests::http::wait_until_drained(&launched.base(), Duration::from_secs(180)).await;
    status["dead_letters"]
        .as_u64()
        .expect("a count of dead letters")
}

/// Down tonight, up tomorrow: the swarm and its secrets stay, so the data's passwords still
/// open it.
async fn down_and_up_keep_the_answers_and_the_swarm(launched: &Launched) {
    let _phase = Phase::named("a plain down and up keep every answer, the swarm and its secrets");
    let down = launched.assert_down_up_keeps_answers().await;
    assert!(
        down.contains("secrets and the swarm that holds them are kept"),
        "{down}"
    );
    assert_ne!(swarm_state(), "inactive", "a plain down keeps the swarm");
}
