//! Step 05's promise, tested the hard way: under load, crash every part of the stack, send
//! forms twice, slip in an answer Postgres refuses, even wipe Redis once, and check that every
//! answer a visitor was thanked for is in Postgres exactly once, but for what the wipe took.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures_util::{StreamExt, stream};
use tests::{commands::docker_ok as docker, phase::Phase, xtask::Launched};

/// At most this many submissions; the load also stops when the chaos is over.
const MAX_SUBMISSIONS: usize = 8000;

/// Every this many submissions, the form is sent twice (a double click).
const SENT_TWICE_EVERY: usize = 8;

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

/// One visitor's form: a unique name (the test's id for the answer) and the form's key.
#[derive(Debug, Clone)]
struct Form {
    name: String,
    key: String,
}

/// Sends a form; true when the visitor is thanked (303).
async fn send(client: &reqwest::Client, base: &str, form: &Form) -> bool {
    let fields = [
        ("name", form.name.as_str()),
        ("coat", "tabby"),
        ("donut", "jelly"),
        ("key", form.key.as_str()),
    ];
    let response = client.post(format!("{base}/")).form(&fields).send().await;
    response.is_ok_and(|r| r.status().as_u16() == 303)
}

/// What happened to every form sent.
#[derive(Debug, Default)]
struct Ledger {
    thanked: Vec<String>,
    refused: Vec<Form>,
    sent: usize,
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

    let visitors = Visitors::start(launched.base());
    // The chaos, one blow every few seconds.
    let wiped = tokio::task::spawn_blocking(move || {
        pause();
        let wiped = wipe_the_queue(&stack);
        pause();
        crash_the_app_and_redis_and_rescale(&stack);
        crash_postgres_and_a_worker_holding_a_batch(&stack);
        pause();
        wiped
    })
    .await
    .expect("the chaos ran");
    let (ledger, sent_again) = visitors.stop_and_send_again().await;
    tally(&launched, &ledger, &wiped, sent_again).await;
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
/// one worker and back up to three.
fn crash_the_app_and_redis_and_rescale(stack: &Stack) {
    let _phase = Phase::named("the app and Redis crash, the pool shrinks and grows");
    crash_and_restart(&stack.app);
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

/// The load: 16 forms at a time, about 150 a second, until stopped.
struct Visitors {
    client: reqwest::Client,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Visitors {
    fn start(base: String) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(visit(
            client.clone(),
            base.clone(),
            Arc::clone(&ledger),
            Arc::clone(&stop),
        ));
        Self {
            client,
            base,
            ledger,
            stop,
            task,
        }
    }

    /// Stops the load; then every visitor who got an error page presses "Send again": the
    /// same form, the same key. Returns the ledger and how many were sent again.
    async fn stop_and_send_again(self) -> (Ledger, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the load ran");
        let mut ledger = std::mem::take(&mut *self.ledger.lock().expect("lock"));
        let refused = std::mem::take(&mut ledger.refused);
        let sent_again = refused.len();
        for form in refused {
            assert!(
                send(&self.client, &self.base, &form).await,
                "{} is accepted once the stack is whole",
                form.name
            );
            ledger.thanked.push(form.name);
        }
        (ledger, sent_again)
    }
}

/// Sends forms until `stop`, some twice, writing down each one's fate in `ledger`.
async fn visit(
    client: reqwest::Client,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let mut sent = 0;
    while sent < MAX_SUBMISSIONS && !stop.load(Ordering::Relaxed) {
        let forms: Vec<Form> = (sent..sent + 16)
            .map(|n| Form {
                name: format!("chaos-{n}"),
                key: uuid::Uuid::now_v7().to_string(),
            })
            .collect();
        sent += forms.len();
        let posts = forms.into_iter().enumerate().map(|(i, form)| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let mut thanked = send(&client, &base, &form).await;
                if i % SENT_TWICE_EVERY == 0 {
                    thanked |= send(&client, &base, &form).await;
                }
                (form, thanked)
            }
        });
        let results: Vec<(Form, bool)> = stream::iter(posts).buffer_unordered(16).collect().await;
        {
            let mut ledger = ledger.lock().expect("lock");
            ledger.sent = sent;
            for (form, thanked) in results {
                if thanked {
                    ledger.thanked.push(form.name);
                } else {
                    ledger.refused.push(form);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

/// Once the queue drains: every thanked answer in Postgres once, but for what the wiped
/// queue held; nothing stored that was never sent; the refused answer a dead letter.
async fn tally(launched: &Launched, ledger: &Ledger, wiped: &HashSet<String>, sent_again: usize) {
    let _phase = Phase::named("every thanked answer is stored once, but what the wipe took");
    let final_status =
        tests::http::wait_until_drained(&launched.base(), Duration::from_secs(120)).await;
    let stored = launched.run_ok(&[
        "psql",
        "-c",
        "copy (select name from cats where name like 'chaos-%') to stdout",
    ]);
    let stored: Vec<&str> = stored.lines().collect();
    let stored_set: HashSet<&str> = stored.iter().copied().collect();
    let missing: Vec<&String> = ledger
        .thanked
        .iter()
        .filter(|name| !stored_set.contains(name.as_str()))
        .collect();
    let lost_with_the_queue = missing.iter().filter(|name| wiped.contains(**name)).count();
    let never_sent = stored
        .iter()
        .filter(|name| {
            name.strip_prefix("chaos-")
                .and_then(|n| n.parse::<usize>().ok())
                .is_none_or(|n| n >= ledger.sent)
        })
        .count();
    let doubled = stored.len() - stored_set.len();
    let redelivered = redelivered(launched);
    let letters = launched.run_ok(&["dead-letters"]);
    eprintln!(
        "sent {}, thanked {} ({sent_again} after sending again), stored {}, lost with the \
         wiped queue {lost_with_the_queue} of {} it held, redelivered {redelivered}",
        ledger.sent,
        ledger.thanked.len(),
        stored.len(),
        wiped.len(),
    );
    assert!(
        ledger.thanked.len() > 1000,
        "too little load got through to prove anything: {}",
        ledger.thanked.len()
    );
    assert!(!wiped.is_empty(), "the wiped queue held answers");
    assert!(
        letters.contains(REFUSED),
        "the refused answer is a dead letter:\n{letters}"
    );
    let summary = format!(
        "thanked answers missing from Postgres, beyond what the wiped queue held: {}\n\
         names stored more than once: {doubled}\n\
         names stored that were never sent: {never_sent}\n\
         entries another worker claimed and delivered again: {}\n\
         dead letters: {}",
        missing.len() - lost_with_the_queue,
        if redelivered > 0 { "some" } else { "none" },
        final_status["dead_letters"]
    );
    insta::assert_snapshot!("after_the_chaos", summary);
}
