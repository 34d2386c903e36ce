//! Step 05's worker, branch by branch, against a real Redis and a real Postgres (throwaway
//! servers of the test's own): it acknowledges exactly what it stored or dead-lettered, keeps
//! dead letters whole and replays them, survives Redis coming back empty, keeps its claim
//! through a Postgres outage, stores what a dead worker left pending, and forgets dead workers
//! only.

use std::time::Duration;

use redis::aio::ConnectionManager;
use sqlx::PgPool;
use step_05_queue::{
    metrics::WorkerMetrics,
    queue::{DEAD_LETTERS, GROUP, QueueArgs, STREAM},
    worker::{Worker, WorkerArgs},
};
use survey::metrics::Registry;
use tests::{cluster::TempCluster, redis::TempRedis};
use tokio::sync::oneshot;

/// Redis and Postgres (migrated) of the test's own.
struct Servers {
    redis: TempRedis,
    cluster: TempCluster,
    pool: PgPool,
}

impl Servers {
    async fn start() -> Self {
        Self::start_with(TempRedis::start()).await
    }

    async fn start_with(redis: TempRedis) -> Self {
        let mut cluster = TempCluster::init();
        cluster.start();
        let pool = PgPool::connect(&cluster.url()).await.expect("connect");
        step_05_queue::migrator().run(&pool).await.expect("migrate");
        Self {
            redis,
            cluster,
            pool,
        }
    }

    async fn connection(&self) -> ConnectionManager {
        let args = QueueArgs {
            redis_url: self.redis.url(),
        };
        args.connect(Duration::from_secs(10))
            .await
            .expect("connect to Redis")
    }

    /// Starts a worker named `name`; sending on the returned channel stops it.
    async fn worker(
        &self,
        name: &str,
        args: WorkerArgs,
    ) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let args = WorkerArgs {
            worker_name: Some(name.into()),
            ..args
        };
        let worker = Worker::new(self.connection().await, self.pool.clone(), args);
        run(worker)
    }

    /// Like `worker`, counting in a registry of its own; the returned registry is what its
    /// `/metrics` would serve.
    async fn counted_worker(
        &self,
        name: &str,
        args: WorkerArgs,
    ) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>, Registry) {
        let mut registry = survey::metrics::registry();
        let metrics = WorkerMetrics::register(&mut registry);
        let args = WorkerArgs {
            worker_name: Some(name.into()),
            ..args
        };
        let worker =
            Worker::new(self.connection().await, self.pool.clone(), args).counting_in(metrics);
        let (stop, task) = run(worker);
        (stop, task, registry)
    }

    async fn rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM cats")
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}

/// Fails unless `registry`'s metrics hold each of `lines`.
fn assert_counted(registry: &Registry, lines: &[&str]) {
    let text = survey::metrics::text(registry).expect("the metrics as text");
    for line in lines {
        assert!(
            text.lines().any(|l| l == *line),
            "the metrics say `{line}`:\n{text}"
        );
    }
}

/// Runs `worker` in a task of its own; sending on the returned channel stops it.
fn run(worker: Worker) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// Appends an entry with these fields, as the app does (or worse, for the bad ones).
async fn xadd(redis: &mut ConnectionManager, stream: &str, fields: &[(&str, String)]) {
    let _: String = redis::cmd("XADD")
        .arg(stream)
        .arg("*")
        .arg(fields)
        .query_async(redis)
        .await
        .expect("XADD");
}

/// A valid answer's fields, with a fresh id.
fn answer(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("id", uuid::Uuid::now_v7().to_string()),
        ("name", name.into()),
        ("coat", "tabby".into()),
        ("donut", "jelly".into()),
        ("received_ms", "1700000000000".into()),
    ]
}

async fn xlen(redis: &mut ConnectionManager, stream: &str) -> usize {
    redis::cmd("XLEN")
        .arg(stream)
        .query_async(redis)
        .await
        .expect("XLEN")
}

/// Waits until `check` holds, for up to `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tests::wait::until_async(what, limit, || async {
        if check().await {
            Ok(())
        } else {
            Err("not yet".to_owned())
        }
    })
    .await
}

/// Good answers are stored; an entry that is not an answer and one Postgres refuses go to the
/// dead letters with every field they had; nothing stays pending or on the stream. The dead
/// letters are listed, and replaying them is idempotent.
#[tokio::test]
async fn acknowledges_exactly_what_it_stored_or_dead_lettered() {
    let servers = Servers::start().await;
    let mut redis = servers.connection().await;
    for name in ["Pika", "Mochi", "Tofu"] {
        xadd(&mut redis, STREAM, &answer(name)).await;
    }
    // Not an answer: no donut.
    xadd(&mut redis, STREAM, &answer("No donut")[..3]).await;
    // An answer Postgres refuses: the table's CHECK allows 64 characters for a name.
    let too_long = "x".repeat(100);
    xadd(&mut redis, STREAM, &answer(&too_long)).await;

    let (stop, task, registry) = servers.counted_worker("w1", WorkerArgs::default()).await;
    eventually(Duration::from_secs(20), "2 dead letters", || {
        let mut redis = redis.clone();
        async move { xlen(&mut redis, DEAD_LETTERS).await == 2 }
    })
    .await;
    eventually(Duration::from_secs(20), "3 rows", || async {
        servers.rows().await == 3
    })
    .await;
    let _ = stop.send(());
    task.await.expect("the worker stops");

    assert_eq!(xlen(&mut redis, STREAM).await, 0, "the stream is drained");
    let pending: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(&mut redis)
        .await
        .expect("XPENDING");
    assert_eq!(pending.count(), 0, "nothing left pending");
    // One batch of all five, three rows made, two dead letters, nothing claimed.
    assert_counted(
        &registry,
        &[
            "survey_batch_size_count 1",
            "survey_answers_stored_total 3",
            "survey_dead_lettered_total 2",
            "survey_claimed_total 0",
        ],
    );
    assert_dead_letters_whole(&mut redis, &too_long).await;
    assert_replay_is_idempotent(&servers, &mut redis).await;
}

/// The malformed entry is a dead letter saying why; the refused one is kept whole.
async fn assert_dead_letters_whole(redis: &mut ConnectionManager, too_long: &str) {
    let letters: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(DEAD_LETTERS)
        .arg("-")
        .arg("+")
        .query_async(redis)
        .await
        .expect("XRANGE");
    let field = |i: usize, name: &str| {
        letters.ids[i]
            .map
            .get(name)
            .and_then(step_05_queue::queue::text)
            .unwrap_or_default()
    };
    let (malformed, refused) = if field(0, "name") == "No donut" {
        (0, 1)
    } else {
        (1, 0)
    };
    assert_eq!(field(malformed, "reason"), "not a survey answer");
    assert_eq!(
        field(refused, "name"),
        too_long,
        "the refused entry is kept whole"
    );
    for name in ["id", "coat", "donut", "received_ms", "stream_id"] {
        assert!(
            !field(refused, name).is_empty(),
            "the dead letter has {name}"
        );
    }
    assert!(
        field(refused, "reason").starts_with("refused by Postgres"),
        "{}",
        field(refused, "reason")
    );
}

/// The dead letters are listed; a dead letter of an answer already stored, replayed, is still
/// one row; the refused one is refused again, and the malformed one never replayed.
async fn assert_replay_is_idempotent(servers: &Servers, redis: &mut ConnectionManager) {
    let listed = step_05_queue::dead_letters::run(redis, false)
        .await
        .expect("list");
    assert!(listed.contains("2 dead letters."), "{listed}");
    let stored_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM cats WHERE name = 'Pika'")
        .fetch_one(&servers.pool)
        .await
        .expect("Pika's id");
    let mut again = answer("Pika");
    again[0].1 = stored_id.to_string();
    again.push(("reason", "a test".into()));
    xadd(redis, DEAD_LETTERS, &again).await;
    let replayed = step_05_queue::dead_letters::run(redis, true)
        .await
        .expect("replay");
    assert!(
        replayed.contains("Replayed 2 onto survey:answers; kept 1"),
        "{replayed}"
    );
    let (stop, task) = servers.worker("w1", WorkerArgs::default()).await;
    eventually(Duration::from_secs(20), "the replay worked through", || {
        let mut redis = redis.clone();
        async move { xlen(&mut redis, STREAM).await == 0 }
    })
    .await;
    let _ = stop.send(());
    task.await.expect("the worker stops");
    assert_eq!(
        servers.rows().await,
        3,
        "a replayed answer is not stored twice"
    );
    assert_eq!(xlen(redis, DEAD_LETTERS).await, 2);
}

/// Redis comes back without its data: the app's next XADD makes a stream with no group. The
/// worker makes the group again, from the stream's start, and stores the answer.
#[tokio::test]
async fn recovers_when_redis_comes_back_empty() {
    let mut servers = Servers::start().await;
    let (stop, task) = servers.worker("w1", WorkerArgs::default()).await;
    let mut redis = servers.connection().await;
    xadd(&mut redis, STREAM, &answer("Before")).await;
    eventually(
        Duration::from_secs(20),
        "the first answer stored",
        || async { servers.rows().await == 1 },
    )
    .await;

    servers.redis.restart_empty();
    // As the app would: its XADD makes the stream again, with no consumer group.
    let mut fresh = redis::Client::open(servers.redis.url())
        .expect("a URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: String = redis::cmd("XADD")
        .arg(STREAM)
        .arg("*")
        .arg(answer("After"))
        .query_async(&mut fresh)
        .await
        .expect("XADD");
    eventually(
        Duration::from_secs(30),
        "the answer after the restart stored",
        || async { servers.rows().await == 2 },
    )
    .await;
    let _ = stop.send(());
    task.await.expect("the worker stops");
}

/// While Postgres is down, a worker holding a batch keeps retrying and keeps its claim fresh:
/// a second worker, idle and looking for entries left pending longer than the (short) claim
/// time, never takes the batch over, so no delivery is counted against it, and with only one
/// delivery allowed nothing is dead-lettered. Everything is stored once Postgres is back.
#[tokio::test]
async fn an_outage_dead_letters_nothing() {
    let mut servers = Servers::start().await;
    let args = || WorkerArgs {
        claim_idle_ms: 300,
        max_deliveries: 1,
        ..WorkerArgs::default()
    };
    servers.cluster.stop();
    let mut redis = servers.connection().await;
    for n in 0..3 {
        xadd(&mut redis, STREAM, &answer(&format!("Cat {n}"))).await;
    }
    let (stop1, task1) = servers.worker("w1", args()).await;
    eventually(Duration::from_secs(10), "w1 holds the batch", || {
        let mut redis = redis.clone();
        async move {
            let pending: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
                .arg(STREAM)
                .arg(GROUP)
                .query_async(&mut redis)
                .await
                .expect("XPENDING");
            pending.count() == 3
        }
    })
    .await;
    let (stop2, task2) = servers.worker("w2", args()).await;
    // Many claim times long: a claim that went stale would be taken over by w2, and counted.
    tokio::time::sleep(Duration::from_secs(5)).await;
    servers.cluster.start();
    eventually(
        Duration::from_secs(30),
        "3 rows after the outage",
        || async { servers.rows().await == 3 },
    )
    .await;
    let _ = (stop1.send(()), stop2.send(()));
    task1.await.expect("w1 stops");
    task2.await.expect("w2 stops");
    assert_eq!(xlen(&mut redis, DEAD_LETTERS).await, 0, "no dead letters");
    let by_w1: i64 = sqlx::query_scalar("SELECT count(*) FROM cats WHERE stored_by = 'w1'")
        .fetch_one(&servers.pool)
        .await
        .expect("count");
    assert_eq!(by_w1, 3, "w1 kept its batch");
}

/// A worker that read entries and died leaves them pending; another claims them once they are
/// idle, stores them, and later forgets the dead consumer, which holds nothing any more.
#[tokio::test]
async fn stores_what_a_dead_worker_left_pending() {
    let servers = Servers::start().await;
    let mut redis = servers.connection().await;
    for name in ["Left 1", "Left 2", "Left 3"] {
        xadd(&mut redis, STREAM, &answer(name)).await;
    }
    // The dead worker: it read them (so they are pending for it), and never acknowledged.
    let _: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg("dead-worker")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(STREAM)
        .arg(">")
        .query_async(&mut redis)
        .await
        .expect("XREADGROUP");
    let (stop, task, registry) = servers
        .counted_worker(
            "w1",
            WorkerArgs {
                claim_idle_ms: 200,
                forget_idle_ms: 0,
                ..WorkerArgs::default()
            },
        )
        .await;
    eventually(Duration::from_secs(20), "3 rows stored by w1", || async {
        let by_w1: i64 = sqlx::query_scalar("SELECT count(*) FROM cats WHERE stored_by = 'w1'")
            .fetch_one(&servers.pool)
            .await
            .expect("count");
        by_w1 == 3
    })
    .await;
    eventually(
        Duration::from_secs(20),
        "the dead consumer forgotten",
        || {
            let mut redis = redis.clone();
            async move {
                let consumers: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
                    .arg("CONSUMERS")
                    .arg(STREAM)
                    .arg(GROUP)
                    .query_async(&mut redis)
                    .await
                    .expect("XINFO");
                consumers.consumers.iter().all(|c| c.name != "dead-worker")
            }
        },
    )
    .await;
    let _ = stop.send(());
    task.await.expect("the worker stops");
    // Each of the three claimed once, at its second delivery (the dead worker had the first).
    assert_counted(
        &registry,
        &[
            "survey_claimed_total 3",
            "survey_deliveries_count 3",
            "survey_deliveries_sum 6.0",
            "survey_answers_stored_total 3",
        ],
    );
}

/// Redis full (at its `maxmemory`, with `noeviction`, as the stacks run it) refuses every
/// command that may grow it, and every command inside MULTI: the worker still acknowledges and
/// dead-letters, so the stream drains by itself, every answer is stored once, and Redis takes
/// new answers again.
#[tokio::test]
async fn drains_a_full_redis_by_itself() {
    let servers =
        Servers::start_with(TempRedis::start_with(&["--maxmemory-policy", "noeviction"])).await;
    let mut redis = servers.connection().await;
    step_05_queue::queue::ensure_group(&mut redis)
        .await
        .expect("the group");
    xadd(&mut redis, STREAM, &[("junk", "not an answer".into())]).await;
    // Room for a megabyte more than Redis holds now, then answers until it refuses one.
    let memory: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut redis)
        .await
        .expect("INFO");
    let used: u64 = memory
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("used_memory");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used + 1_000_000)
        .query_async(&mut redis)
        .await
        .expect("CONFIG SET");
    let mut added = 0_i64;
    loop {
        let fields = answer(&format!("Full {added}"));
        let refused: redis::RedisResult<String> = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(&fields)
            .query_async(&mut redis)
            .await;
        match refused {
            Ok(_) => added += 1,
            Err(err) if err.to_string().contains("OOM") => break,
            Err(err) => panic!("XADD: {err}"),
        }
    }
    assert!(added > 1_000, "Redis was full after {added} answers");

    let (stop, task) = servers.worker("w1", WorkerArgs::default()).await;
    eventually(Duration::from_secs(60), "every answer stored", || async {
        servers.rows().await == added
    })
    .await;
    eventually(Duration::from_secs(10), "the stream empty", || {
        let mut redis = redis.clone();
        async move { xlen(&mut redis, STREAM).await == 0 }
    })
    .await;
    assert_eq!(
        xlen(&mut redis, DEAD_LETTERS).await,
        1,
        "the entry that is not an answer, and it alone, is a dead letter"
    );
    xadd(&mut redis, STREAM, &answer("After the flood")).await;
    eventually(Duration::from_secs(20), "the new answer stored", || async {
        servers.rows().await == added + 1
    })
    .await;
    let _ = stop.send(());
    task.await.expect("the worker stops");
}

/// A form's key sent again: with the same answer it is stored once and acknowledged; with
/// another answer (in the same batch or a later one), the first stays the row and the other
/// becomes a dead letter, whole, saying which answer is stored.
#[tokio::test]
async fn a_key_sent_again_with_another_answer_is_a_dead_letter() {
    let servers = Servers::start().await;
    let mut redis = servers.connection().await;
    let key = uuid::Uuid::now_v7().to_string();
    let with_key = |name: &str| {
        let mut fields = answer(name);
        fields[0].1.clone_from(&key);
        fields
    };
    for name in ["Keyed", "Keyed", "Rekeyed"] {
        xadd(&mut redis, STREAM, &with_key(name)).await;
    }
    let (stop, task) = servers.worker("w1", WorkerArgs::default()).await;
    eventually(Duration::from_secs(20), "the stream empty", || {
        let mut redis = redis.clone();
        async move { xlen(&mut redis, STREAM).await == 0 }
    })
    .await;
    // A later batch, too.
    xadd(&mut redis, STREAM, &with_key("Later")).await;
    eventually(Duration::from_secs(20), "two dead letters", || {
        let mut redis = redis.clone();
        async move { xlen(&mut redis, DEAD_LETTERS).await == 2 }
    })
    .await;
    let _ = stop.send(());
    task.await.expect("the worker stops");
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM cats")
        .fetch_all(&servers.pool)
        .await
        .expect("names");
    assert_eq!(names, ["Keyed"], "the first answer is the one row");
    let listed = step_05_queue::dead_letters::run(&mut redis, false)
        .await
        .expect("list");
    for name in ["Rekeyed", "Later"] {
        assert!(
            listed.lines().any(|line| line.contains(name)
                && line.contains(
                    "sent before with another answer, the one stored: Keyed (tabby, jelly)"
                )),
            "{name} is a dead letter, saying why:\n{listed}"
        );
    }
}

/// Dead letters are never dropped: at their cap the worker takes no new answers (they wait
/// in the stream) and says so, and once a person has removed some, it goes on.
#[tokio::test]
async fn at_the_dead_letters_cap_new_answers_wait() {
    let servers = Servers::start().await;
    let mut redis = servers.connection().await;
    let max = step_05_queue::queue::DEAD_LETTERS_MAX;
    for chunk in (0..max).collect::<Vec<_>>().chunks(1_000) {
        let mut pipe = redis::pipe();
        for n in chunk {
            pipe.cmd("XADD")
                .arg(DEAD_LETTERS)
                .arg("*")
                .arg("junk")
                .arg(n)
                .ignore();
        }
        let () = pipe.query_async(&mut redis).await.expect("XADD");
    }
    for name in ["Wait 1", "Wait 2"] {
        xadd(&mut redis, STREAM, &answer(name)).await;
    }
    let worker = Worker::new(
        servers.connection().await,
        servers.pool.clone(),
        WorkerArgs {
            worker_name: Some("w1".into()),
            ..WorkerArgs::default()
        },
    );
    let held_back = worker.held_back();
    let (stop, task) = run(worker);
    eventually(Duration::from_secs(10), "the worker held back", || async {
        held_back.load(std::sync::atomic::Ordering::Relaxed)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(servers.rows().await, 0, "no new answer taken at the cap");
    assert_eq!(xlen(&mut redis, DEAD_LETTERS).await, max, "none dropped");
    // A person looks at them, and removes some.
    let _: i64 = redis::cmd("XTRIM")
        .arg(DEAD_LETTERS)
        .arg("MAXLEN")
        .arg(max - 10)
        .query_async(&mut redis)
        .await
        .expect("XTRIM");
    eventually(
        Duration::from_secs(20),
        "the waiting answers stored",
        || async { servers.rows().await == 2 },
    )
    .await;
    assert!(!held_back.load(std::sync::atomic::Ordering::Relaxed));
    let _ = stop.send(());
    task.await.expect("the worker stops");
}

/// The names of the group's consumers.
async fn consumers(redis: &mut ConnectionManager) -> Vec<String> {
    let reply: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(redis)
        .await
        .expect("XINFO");
    reply.consumers.into_iter().map(|c| c.name).collect()
}

/// Workers forget the consumer of a worker that is gone, never a live one: not even one that
/// polled an empty stream for longer than the limit. Before Redis 7.2 (Debian's 7.0, here)
/// XINFO's `idle` grows all that time; from 7.2 on it does not: the worker goes by a sign of
/// life of its own, so it acts the same on both.
#[tokio::test]
async fn forgets_workers_that_are_gone_not_quiet_ones() {
    let servers = Servers::start().await;
    let mut redis = servers.connection().await;
    let args = WorkerArgs {
        forget_idle_ms: 1_500,
        ..WorkerArgs::default()
    };
    // Both workers are consumers from the start (Redis makes one only once it has read).
    step_05_queue::queue::ensure_group(&mut redis)
        .await
        .expect("the group");
    for name in ["w1", "w2"] {
        let _: i64 = redis::cmd("XGROUP")
            .arg("CREATECONSUMER")
            .arg(STREAM)
            .arg(GROUP)
            .arg(name)
            .query_async(&mut redis)
            .await
            .expect("XGROUP CREATECONSUMER");
    }
    let (stop1, task1) = servers.worker("w1", args.clone()).await;
    let (stop2, task2) = servers.worker("w2", args).await;
    // Quiet for well over the limit: both poll, neither reads a thing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut redis)
        .await
        .expect("INFO");
    assert!(
        !stats.contains("cmdstat_xgroup|delconsumer"),
        "a live worker was forgotten:\n{stats}"
    );
    let mut both = consumers(&mut redis).await;
    both.sort();
    assert_eq!(both, ["w1", "w2"], "both workers are consumers");

    // w2 stops: once its sign of life runs out, w1 forgets it, and still stores what comes.
    let _ = stop2.send(());
    task2.await.expect("w2 stops");
    eventually(Duration::from_secs(20), "w2 forgotten", || {
        let mut redis = redis.clone();
        async move { consumers(&mut redis).await == ["w1"] }
    })
    .await;
    xadd(&mut redis, STREAM, &answer("After w2")).await;
    eventually(Duration::from_secs(20), "the answer stored", || async {
        servers.rows().await == 1
    })
    .await;
    let _ = stop1.send(());
    task1.await.expect("w1 stops");
}

/// The answers page's query walks an index in its own order: no sort of the table, however
/// large it grows.
#[tokio::test]
async fn answers_page_is_served_by_an_index() {
    let servers = Servers::start().await;
    let mut tx = servers.pool.begin().await.expect("a transaction");
    // With sorting priced out, a plan can only avoid a Sort node if an index gives the order.
    sqlx::query("SET LOCAL enable_sort = off")
        .execute(&mut *tx)
        .await
        .expect("SET");
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN {}",
        step_05_queue::store::PAGE_QUERY
    )))
    .bind(20_i64)
    .bind(0_i64)
    .fetch_all(&mut *tx)
    .await
    .expect("EXPLAIN");
    let plan = plan.join("\n");
    assert!(
        plan.contains("cats_newest_first") && !plan.contains("Sort"),
        "{plan}"
    );
}
