//! Step 05's promise, tested the hard way: under load, crash every part of the stack, send
//! forms twice, slip in an answer Postgres refuses, even wipe Redis once, and check that every
//! answer a visitor was thanked for is in Postgres exactly once, but for what the wipe took.

use std::{collections::HashSet, time::Duration};

use tests::{
    commands::docker_ok as docker,
    load::{Load, Shape, Target, stop_and_tally},
    phase::Phase,
    xtask::Launched,
};

/// About 150 forms a second, 16 at a time, every eighth sent twice (a double click); a
/// visitor waits 10 s for an answer.
const CHAOS: Shape = Shape {
    at_once: 16,
    twice_every: Some(8),
    patience: Duration::from_secs(10),
    pause: Duration::from_millis(100),
};

/// The name of the answer slipped onto the queue that the table's CHECK refuses.
const REFUSED: &str = "refused-and-far-too-long-for-the-table-which-takes-sixty-four-chars";

/// `kill -9` of a container's process, as a crash does (`docker kill` alone counts as a
/// manual stop, which restart policies respect: the test starts it again itself).
fn crash(container: &str) {
    docker(&["kill", "--signal", "KILL", container]);
}

fn crash_and_restart(container: &str) {
    crash(container);
    std::thread::sleep(Duration::from_secs(2));
    docker(&["start", container]);
}

/// Every answer a visitor was thanked for is stored exactly once, through: Redis's queue
/// wiped once (what it held is lost, and the rest recovers), `kill -9` of the app and Redis,
/// the pool scaled down and up, `kill -9` of Postgres, a worker killed holding a batch while
/// Postgres is down (another worker claims it: a real redelivery), and an entry Postgres
/// refuses slipped in meanwhile; all under load, with some forms sent twice and every refused
/// one sent again afterwards, as a visitor presses "Send again".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_or_doubled() {
    let launched = Launched::up_with(5, &["--workers", "3"]);
    let stack = Stack::of(&launched);
    // The promise rests on Redis fsyncing every entry before the app thanks anyone.
    let fsync = docker(&[
        "exec",
        &stack.redis,
        "redis-cli",
        "config",
        "get",
        "appendfsync",
    ]);
    assert!(fsync.contains("always"), "appendfsync is always: {fsync}");

    let load = Load::shaped(launched.base(), "chaos", CHAOS);
    load.until_thanked(40).await;
    // The chaos, one blow every few seconds.
    let target = load.target();
    let (wiped, port) = tokio::task::spawn_blocking(move || {
        let wiped = wipe_the_queue(&stack);
        pause();
        let port = crash_the_app_and_redis_and_rescale(&stack, &target);
        crash_postgres_and_a_worker_holding_a_batch(&stack);
        pause();
        (wiped, port)
    })
    .await
    .expect("the chaos ran");
    launched.moved_to(port);
    let _phase = Phase::named("every thanked answer is stored once, but what the wipe took");
    assert!(!wiped.is_empty(), "the wiped queue held answers");
    // It fails naming any thanked answer missing (but those the wipe took), stored twice, or
    // stored though never sent; once the queue has drained.
    stop_and_tally(load, &launched, "^chaos-", 1000, &wiped).await;
    let status = tests::http::wait_until_drained(&launched.base(), Duration::from_secs(10)).await;
    let letters = launched.run_ok(&["dead-letters"]);
    assert!(
        letters.contains(REFUSED) && status["dead_letters"] == 1,
        "the refused answer is the one dead letter: {status}\n{letters}"
    );
    assert!(
        redelivered(&launched) > 0,
        "another worker claimed the killed worker's batch and delivered it again"
    );
}

/// The containers the chaos strikes.
struct Stack {
    project: String,
    app: String,
    redis: String,
    db: String,
    workers: Vec<String>,
}

impl Stack {
    fn of(launched: &Launched) -> Self {
        let container = |service: &str| format!("{}-{service}-1", launched.project);
        Self {
            project: launched.project.clone(),
            app: container("app"),
            redis: container("redis"),
            db: container("db"),
            workers: (1..=3)
                .map(|n| format!("{}-worker-{n}", launched.project))
                .collect(),
        }
    }
}

/// The time between two blows, so the load sees each on its own.
fn pause() {
    std::thread::sleep(Duration::from_secs(3));
}

/// Redis loses its data. With the workers paused the queue fills up; then the app is paused
/// too, so nothing is thanked while the queue is listed and wiped. Returns the names it held.
fn wipe_the_queue(stack: &Stack) -> HashSet<String> {
    let _phase = Phase::named("Redis's data wiped: only what the queue held is lost");
    for worker in &stack.workers {
        docker(&["pause", worker]);
    }
    tests::wait::until("answers queued", Duration::from_secs(30), || {
        let length = docker(&["exec", &stack.redis, "redis-cli", "xlen", "survey:answers"]);
        match length.trim().parse::<u64>() {
            Ok(n) if n >= 100 => Ok(()),
            _ => Err(length),
        }
    });
    docker(&["pause", &stack.app]);
    let queued = docker(&[
        "exec",
        &stack.redis,
        "redis-cli",
        "xrange",
        "survey:answers",
        "-",
        "+",
    ]);
    let wiped: HashSet<String> = queued
        .lines()
        .filter(|line| line.starts_with("chaos-"))
        .map(str::to_owned)
        .collect();
    crash(&stack.redis);
    let volume = format!("{}_queue-data", stack.project);
    let image = docker(&["inspect", "--format", "{{.Config.Image}}", &stack.redis]);
    docker(&[
        "run",
        "--rm",
        "--volume",
        &format!("{volume}:/data"),
        "--entrypoint",
        "sh",
        image.trim(),
        "-c",
        "rm -rf /data/*",
    ]);
    docker(&["start", &stack.redis]);
    docker(&["unpause", &stack.app]);
    for worker in &stack.workers {
        docker(&["unpause", worker]);
    }
    wiped
}

/// The app and Redis crash (Redis keeps its data this time), and the pool is scaled down to
/// one worker and back up to three. The app starts again on a new port, Docker's pick (`up
/// --port 0`), where the load follows it; returns it.
fn crash_the_app_and_redis_and_rescale(stack: &Stack, load: &Target) -> u16 {
    let _phase = Phase::named("the app and Redis crash, the pool shrinks and grows");
    crash_and_restart(&stack.app);
    let port = tests::commands::published_port(&stack.app, 5000);
    load.moved_to(format!("http://127.0.0.1:{port}"));
    pause();
    crash_and_restart(&stack.redis);
    pause();
    for count in ["1", "3"] {
        let output =
            tests::xtask::xtask(&["step", "5", "scale", count, "--project", &stack.project]);
        assert!(
            output.status.success(),
            "scale {count}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    pause();
    port
}

/// Postgres crashes. While it is down the workers hold their batches, retrying; one of them
/// is killed holding its batch, which another worker must claim. An answer the table refuses
/// is slipped onto the queue meanwhile.
fn crash_postgres_and_a_worker_holding_a_batch(stack: &Stack) {
    let _phase = Phase::named("Postgres crashes, and a worker holding a batch is killed");
    crash(&stack.db);
    // Long enough for every worker to take a batch it cannot store.
    std::thread::sleep(Duration::from_secs(3));
    crash_and_restart(&stack.workers[0]);
    docker(&[
        "exec",
        &stack.redis,
        "redis-cli",
        "xadd",
        "survey:answers",
        "*",
        "id",
        &uuid::Uuid::now_v7().to_string(),
        "name",
        REFUSED,
        "coat",
        "tabby",
        "donut",
        "jelly",
        "received_ms",
        "0",
    ]);
    docker(&["start", &stack.db]);
}

/// Entries another worker claimed and delivered again, as the workers' logs count them.
fn redelivered(launched: &Launched) -> usize {
    let logs: String = (1..=3)
        .map(|n| {
            let worker = format!("{}-worker-{n}", launched.project);
            tests::commands::printed(&tests::commands::docker_unchecked(&["logs", &worker]))
        })
        .collect();
    logs.lines()
        .filter(|line| line.contains("claimed entries another worker left pending"))
        .filter_map(|line| {
            let count = line.split("count=").nth(1)?;
            count.split_whitespace().next()?.parse::<usize>().ok()
        })
        .sum()
}
