// ANCHOR: contract
//! The worker: ferries entries from the Redis stream into Postgres, losing and doubling none.
//!
//! - It reads through the consumer group, so each entry goes to one worker of the pool.
//! - It inserts a batch in one statement, idempotent on the answer's id (`ON CONFLICT DO
//!   NOTHING`), so an entry delivered twice still makes one row.
//! - It acknowledges (XACK) exactly the entries it stored or dead-lettered, and only after the
//!   insert committed. A worker killed before that leaves its entries pending; another worker
//!   claims them (XAUTOCLAIM) once they have been idle for a while.
//! - Acknowledging and dead-lettering are Redis scripts that run with Redis full (at its
//!   `maxmemory`, which refuses whatever may grow it): what frees the room is never refused,
//!   so a full queue drains by itself.
//! - While Postgres is down it keeps retrying, and keeps its claim on the batch fresh, so no
//!   other worker takes it over and no delivery is counted against it: an outage never makes a
//!   valid answer a dead letter. Waiting so is work: its health check stays healthy, and a
//!   worker that starts while Postgres is down waits for it rather than exits.
//! - An entry that was delivered too often, that is not a survey answer, that Postgres
//!   refuses, or whose form's key holds another answer, goes whole (every field, and the
//!   reason) to a dead-letter stream instead of blocking the queue; `dead-letters --replay`
//!   puts it back. Dead letters are never dropped: at their cap the workers take no new
//!   entries, and say why, until a person has looked at them.
//! - It forgets the consumer a gone worker left in the group only if that one holds nothing
//!   and its sign of life (a key each worker sets again and again) has expired, checked and
//!   done in one step on the server: a live worker is never forgotten, on any Redis 7.
//! - If Redis lost its data, the consumer group is made again, reading from the stream's start.
//! - On SIGTERM it finishes the batch in hand, then exits.
// ANCHOR_END: contract

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use redis::{
    aio::ConnectionManager,
    streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    metrics::WorkerMetrics,
    queue::{
        ALIVE_PREFIX, DEAD_LETTERS, DEAD_LETTERS_MAX, GROUP, STREAM, ensure_group, now_millis, text,
    },
    scripts,
};

/// How a worker reads.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Name of this worker in the consumer group and in the `stored_by` column. Default: the
    /// host name, which Docker sets to the container's id.
    #[arg(long, env = "WORKER_NAME")]
    pub worker_name: Option<String>,
    /// Entries per batch (one INSERT and one XACK each).
    #[arg(long, env = "WORKER_BATCH", default_value_t = 200)]
    pub batch: usize,
    /// Claim entries another worker left pending this long (milliseconds).
    #[arg(long, env = "WORKER_CLAIM_IDLE_MS", default_value_t = 15_000)]
    pub claim_idle_ms: u64,
    /// Deliveries after which an entry goes to the dead letters.
    #[arg(long, env = "WORKER_MAX_DELIVERIES", default_value_t = 5)]
    pub max_deliveries: usize,
    /// Forget other consumers of the group that hold nothing and gave no sign of life this
    /// long (milliseconds): what is left of workers whose containers are gone.
    #[arg(long, env = "WORKER_FORGET_IDLE_MS", default_value_t = 3_600_000)]
    pub forget_idle_ms: u64,
}

impl Default for WorkerArgs {
    fn default() -> Self {
        Self {
            worker_name: None,
            batch: 200,
            claim_idle_ms: 15_000,
            max_deliveries: 5,
            forget_idle_ms: 3_600_000,
        }
    }
}

/// One answer read from the stream.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    stream_id: String,
    id: Uuid,
    name: String,
    coat: String,
    donut: String,
    received_ms: i64,
}

/// A worker bound to Redis and Postgres.
pub struct Worker {
    redis: ConnectionManager,
    pool: PgPool,
    name: String,
    args: WorkerArgs,
    /// Where XAUTOCLAIM goes on from: it scans the pending entries a page at a time.
    claim_cursor: String,
    /// When the loop last made progress (ms since the epoch), for the health check.
    progress: Arc<AtomicU64>,
    /// When this worker last set its sign of life (ms since the epoch).
    last_alive_ms: u64,
    /// Whether it takes no new entries, the dead letters being at their cap.
    held_back: Arc<AtomicBool>,
    /// What it counts for `/metrics`.
    metrics: WorkerMetrics,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Worker {
    pub fn new(redis: ConnectionManager, pool: PgPool, args: WorkerArgs) -> Self {
        let name = args.worker_name.clone().unwrap_or_else(host_name);
        Self {
            redis,
            pool,
            name,
            args,
            claim_cursor: "0-0".into(),
            progress: Arc::new(AtomicU64::new(now_ms())),
            last_alive_ms: 0,
            held_back: Arc::new(AtomicBool::new(false)),
            metrics: WorkerMetrics::default(),
        }
    }

    /// Makes the worker count what it does in `metrics` (registered by the caller, served
    /// beside the health check).
    pub fn counting_in(self, metrics: WorkerMetrics) -> Self {
        Self { metrics, ..self }
    }

    /// Whether the worker takes no new entries because the dead letters are at their cap
    /// ([`DEAD_LETTERS_MAX`]), for its health check to say so.
    pub fn held_back(&self) -> Arc<AtomicBool> {
        self.held_back.clone()
    }

    /// Makes the worker record its progress in `progress` (when the loop last made progress,
    /// in ms since the epoch, which the health check compares with the clock, so that a worker
    /// stuck for any reason is reported unhealthy), and whether it is held back in `held_back`
    /// (both the health check's, made before the worker was).
    pub fn reporting_to(mut self, progress: Arc<AtomicU64>, held_back: Arc<AtomicBool>) -> Self {
        progress.store(now_ms(), Ordering::Relaxed);
        self.progress = progress;
        self.held_back = held_back;
        self
    }

    fn made_progress(&self) {
        self.progress.store(now_ms(), Ordering::Relaxed);
    }

    /// Works until `shutdown` resolves, then returns after the batch in hand is done.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tracing::info!(worker = %self.name, "reading {STREAM} in group {GROUP}");
        tokio::pin!(shutdown);
        self.show_alive().await;
        if let Err(err) = self.forget_idle_consumers().await {
            tracing::warn!(error = %err, "could not clean up idle consumers");
        }
        loop {
            let batch = tokio::select! {
                () = &mut shutdown => break,
                batch = self.next_batch() => batch,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(err) if err.code() == Some("NOGROUP") => {
                    // Redis came back without its data: the app's XADD made a new stream with
                    // no group. Reading it from its start loses nothing that is in it.
                    tracing::warn!(
                        "the consumer group is gone (Redis lost its data?): making it again"
                    );
                    self.claim_cursor = "0-0".into();
                    if let Err(err) = ensure_group(&mut self.redis).await {
                        tracing::warn!(error = %err, "making the consumer group failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "reading the queue failed; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.made_progress();
            self.show_alive().await;
            if batch.is_empty() {
                continue;
            }
            self.metrics.batch_sizes.observe(batch.len() as f64);
            // From here on the batch is finished even if SIGTERM arrives meanwhile, unless
            // Postgres stays down: then the entries stay pending for another worker.
            if !self.store(&batch, &mut shutdown).await {
                break;
            }
        }
        tracing::info!(worker = %self.name, "stopped");
    }

    /// Entries to work on: first those other (dead) workers left pending too long, then new
    /// ones, waiting up to 2 s for some to arrive.
    async fn next_batch(&mut self) -> redis::RedisResult<Vec<StreamId>> {
        let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(STREAM)
            .arg(GROUP)
            .arg(&self.name)
            .arg(self.args.claim_idle_ms)
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(self.args.batch)
            .query_async(&mut self.redis)
            .await?;
        // Go on where this scan stopped; "0-0" means it went round, so start again.
        self.claim_cursor = claimed.next_stream_id.clone();
        if self.claim_cursor == "0-0"
            && let Err(err) = self.forget_idle_consumers().await
        {
            tracing::warn!(error = %err, "could not clean up idle consumers");
        }
        if !claimed.claimed.is_empty() {
            tracing::info!(
                count = claimed.claimed.len(),
                "claimed entries another worker left pending"
            );
            self.metrics.claimed.inc_by(claimed.claimed.len() as u64);
            return self.dead_letter_redelivered(claimed.claimed).await;
        }
        if self.dead_letters_full().await? {
            tokio::time::sleep(Duration::from_secs(2)).await;
            return Ok(Vec::new());
        }
        let read: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.name)
            .arg("COUNT")
            .arg(self.args.batch)
            .arg("BLOCK")
            .arg(2000)
            .arg("STREAMS")
            .arg(STREAM)
            .arg(">")
            .query_async(&mut self.redis)
            .await?;
        Ok(read
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    /// Whether the dead letters are at their cap: then the worker takes no new entries (the
    /// ones it holds or claims it still finishes), and says so once, and again when it goes
    /// on.
    async fn dead_letters_full(&mut self) -> redis::RedisResult<bool> {
        let length: usize = redis::cmd("XLEN")
            .arg(DEAD_LETTERS)
            .query_async(&mut self.redis)
            .await?;
        let full = length >= DEAD_LETTERS_MAX;
        if self.held_back.swap(full, Ordering::Relaxed) != full {
            if full {
                tracing::warn!(
                    length,
                    "{DEAD_LETTERS} is at its cap of {DEAD_LETTERS_MAX}: taking no new answers until they are looked at (dead-letters) and replayed or removed"
                );
            } else {
                tracing::info!(
                    length,
                    "{DEAD_LETTERS} is below its cap: taking answers again"
                );
            }
        }
        Ok(full)
    }

    /// Moves entries delivered more than `max_deliveries` times to the dead letters; returns
    /// the others.
    async fn dead_letter_redelivered(
        &mut self,
        entries: Vec<StreamId>,
    ) -> redis::RedisResult<Vec<StreamId>> {
        let (first, last) = match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => (first.id.clone(), last.id.clone()),
            _ => return Ok(entries),
        };
        let pending: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(STREAM)
            .arg(GROUP)
            .arg(&first)
            .arg(&last)
            .arg(entries.len())
            .arg(&self.name)
            .query_async(&mut self.redis)
            .await?;
        let deliveries: HashMap<String, usize> = pending
            .ids
            .into_iter()
            .map(|p| (p.id, p.times_delivered))
            .collect();
        for times in deliveries.values() {
            self.metrics.deliveries.observe(*times as f64);
        }
        let (dead, alive): (Vec<StreamId>, Vec<StreamId>) = entries
            .into_iter()
            .partition(|e| deliveries.get(&e.id).copied().unwrap_or(0) > self.args.max_deliveries);
        for entry in &dead {
            self.dead_letter(entry, "delivered too often").await?;
        }
        Ok(alive)
    }

    /// Stores a batch, then acknowledges exactly the entries stored or dead-lettered. Returns
    /// false if it gave up because of shutdown: what it had not finished stays pending.
    async fn store(
        &mut self,
        batch: &[StreamId],
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> bool {
        let mut entries = Vec::with_capacity(batch.len());
        for raw in batch {
            match parse(raw) {
                Some(entry) => entries.push(entry),
                // Dead-lettering acknowledges the entry itself, or, if it fails, leaves it.
                None => self.dead_letter_or_leave(raw, "not a survey answer").await,
            }
        }
        let (pool, name) = (self.pool.clone(), self.name.clone());
        let ids: Vec<String> = entries.iter().map(|e| e.stream_id.clone()).collect();
        let insert_all = || insert(&pool, &entries, &name);
        let (stored, finished) = match self
            .until_postgres_answers(&ids, shutdown, insert_all)
            .await
        {
            Some(Ok((rows, others))) => {
                tracing::info!(received = entries.len(), rows, "batch stored");
                self.metrics.stored.inc_by(rows);
                let stored = self.dead_letter_others(ids, &others, batch).await;
                (stored, true)
            }
            // One bad entry must not hold back the others: store them one by one.
            Some(Err(_)) => self.store_one_by_one(&entries, batch, shutdown).await,
            None => (Vec::new(), false),
        };
        if let Err(err) = self.acknowledge(&stored).await {
            // Not acknowledged: the entries will be delivered again and the insert skips them.
            tracing::warn!(error = %err, "acknowledging a stored batch failed");
        }
        self.made_progress();
        finished
    }

    /// Moves the entries `others` names (stream id, why) to the dead letters; returns the
    /// rest of `ids`, the ones stored, to acknowledge.
    async fn dead_letter_others(
        &mut self,
        ids: Vec<String>,
        others: &[(String, String)],
        batch: &[StreamId],
    ) -> Vec<String> {
        for (id, why) in others {
            if let Some(raw) = batch.iter().find(|raw| &raw.id == id) {
                self.dead_letter_or_leave(raw, why).await;
            }
        }
        ids.into_iter()
            .filter(|id| !others.iter().any(|(other, _)| other == id))
            .collect()
    }

    /// Inserts entry by entry; one Postgres refuses goes to the dead letters whole. Returns
    /// the entries stored, and false if shutdown came before the end.
    async fn store_one_by_one(
        &mut self,
        entries: &[Entry],
        batch: &[StreamId],
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> (Vec<String>, bool) {
        let (pool, name) = (self.pool.clone(), self.name.clone());
        let mut stored = Vec::new();
        for entry in entries {
            let ids = [entry.stream_id.clone()];
            let insert_one = || insert(&pool, std::slice::from_ref(entry), &name);
            match self
                .until_postgres_answers(&ids, shutdown, insert_one)
                .await
            {
                Some(Ok((rows, others))) => {
                    self.metrics.stored.inc_by(rows);
                    let ids = vec![entry.stream_id.clone()];
                    stored.extend(self.dead_letter_others(ids, &others, batch).await);
                }
                Some(Err(err)) => {
                    if let Some(raw) = batch.iter().find(|raw| raw.id == entry.stream_id) {
                        let reason = format!("refused by Postgres: {}", refusal(&err));
                        self.dead_letter_or_leave(raw, &reason).await;
                    }
                }
                None => return (stored, false),
            }
        }
        (stored, true)
    }

    /// Runs `op` until Postgres answers: `Some(Ok)`, or `Some(Err)` for an error about the
    /// data itself, which no retry fixes. While Postgres is down it retries with a growing
    /// pause. All along, an attempt that hangs included (a pool waits for a connection), it
    /// keeps the claim on `ids` fresh (XCLAIM with JUSTID resets their idle time and counts no
    /// delivery), so no other worker takes them over. `None`: shutdown came first.
    async fn until_postgres_answers<T, F>(
        &mut self,
        ids: &[String],
        shutdown: &mut (impl Future<Output = ()> + Unpin),
        op: impl Fn() -> F,
    ) -> Option<Result<T, sqlx::Error>>
    where
        F: Future<Output = Result<T, sqlx::Error>>,
    {
        // Often enough that the claim never goes stale between two refreshes.
        let refresh =
            Duration::from_millis(self.args.claim_idle_ms / 3).max(Duration::from_millis(10));
        let longest_pause = Duration::from_secs(5);
        let mut pause = Duration::from_millis(500);
        loop {
            let attempt = op();
            tokio::pin!(attempt);
            let result = loop {
                tokio::select! {
                    result = &mut attempt => break result,
                    () = tokio::time::sleep(refresh) => self.keep_claim_or_warn(ids).await,
                }
            };
            match result {
                Ok(value) => return Some(Ok(value)),
                Err(err) if is_data_error(&err) => return Some(Err(err)),
                Err(err) => {
                    tracing::warn!(error = %err, "Postgres is unavailable; retrying in {pause:?}");
                    let until = tokio::time::Instant::now() + pause;
                    while tokio::time::Instant::now() < until {
                        self.keep_claim_or_warn(ids).await;
                        tokio::select! {
                            () = &mut *shutdown => return None,
                            () = tokio::time::sleep_until(until.min(tokio::time::Instant::now() + refresh)) => {}
                        }
                    }
                    pause = (pause * 2).min(longest_pause);
                }
            }
        }
    }

    /// Keeps the claim on `ids`; done, that is progress: waiting for Postgres with a batch
    /// held is the worker's work, and its health says so.
    async fn keep_claim_or_warn(&mut self, ids: &[String]) {
        match self.keep_claim(ids).await {
            Ok(()) => self.made_progress(),
            Err(err) => tracing::warn!(error = %err, "could not keep the claim on the batch"),
        }
    }

    /// Resets the idle time of entries this worker holds, without counting a delivery.
    async fn keep_claim(&mut self, ids: &[String]) -> redis::RedisResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::cmd("XCLAIM")
            .arg(STREAM)
            .arg(GROUP)
            .arg(&self.name)
            .arg(0)
            .arg(ids)
            .arg("JUSTID")
            .exec_async(&mut self.redis)
            .await
    }

    /// Sets this worker's sign of life again (a key that expires after `forget_idle_ms`)
    /// once a quarter of that time has passed since it last did. A failure (Redis full
    /// refuses a SET) is only logged, and tried again a quarter later: at worst another worker
    /// forgets this one while it holds nothing, and its next read makes it again.
    async fn show_alive(&mut self) {
        let now = now_ms();
        let lasts = self.args.forget_idle_ms.max(1);
        if now.saturating_sub(self.last_alive_ms) < lasts / 4 {
            return;
        }
        let set = redis::cmd("SET")
            .arg(format!("{ALIVE_PREFIX}{}", self.name))
            .arg(now)
            .arg("PX")
            .arg(lasts)
            .exec_async(&mut self.redis)
            .await;
        self.last_alive_ms = now;
        if let Err(err) = set {
            tracing::warn!(error = %err, "could not show this worker alive");
        }
    }

    /// Removes other consumers that hold no entries and have shown no sign of life for long:
    /// workers whose containers are gone. One that still holds entries is kept: removing it
    /// would drop them.
    async fn forget_idle_consumers(&mut self) -> redis::RedisResult<()> {
        let reply: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(STREAM)
            .arg(GROUP)
            .query_async(&mut self.redis)
            .await?;
        for consumer in reply.consumers {
            let idle = u64::try_from(consumer.idle).unwrap_or(u64::MAX);
            if consumer.name == self.name
                || consumer.pending != 0
                || idle < self.args.forget_idle_ms
            {
                continue;
            }
            let alive = format!("{ALIVE_PREFIX}{}", consumer.name);
            let forgotten = scripts::run(
                &mut self.redis,
                scripts::FORGET_IF_GONE,
                &[STREAM, &alive],
                (GROUP, &consumer.name),
            )
            .await?;
            if forgotten == 1 {
                tracing::info!(consumer = %consumer.name, "forgot a consumer that is gone");
            }
        }
        Ok(())
    }

    /// XACK, then XDEL, in one step that works with Redis full: the stream holds only
    /// answers not yet stored, so its length is the queue's length.
    async fn acknowledge(&mut self, ids: &[String]) -> redis::RedisResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        scripts::run(
            &mut self.redis,
            scripts::ACKNOWLEDGE,
            &[STREAM],
            (GROUP, ids),
        )
        .await
        .map(drop)
    }

    /// Moves `entry` to the dead letters; if that fails, leaves it pending, to be delivered
    /// again (it is not acknowledged either).
    async fn dead_letter_or_leave(&mut self, entry: &StreamId, reason: &str) {
        if let Err(err) = self.dead_letter(entry, reason).await {
            tracing::warn!(error = %err, id = %entry.id, "could not dead-letter an entry; it stays pending");
        }
    }

    /// Appends the whole entry (every field, its stream id, the reason) to the dead letters,
    /// and acknowledges and deletes it, all in one transaction.
    async fn dead_letter(&mut self, entry: &StreamId, reason: &str) -> redis::RedisResult<()> {
        tracing::warn!(id = %entry.id, reason, "moving an entry to {DEAD_LETTERS}");
        let mut fields: Vec<(String, String)> = entry
            .map
            .iter()
            .map(|(k, v)| (k.clone(), text(v).unwrap_or_default()))
            .collect();
        fields.push(("stream_id".into(), entry.id.clone()));
        fields.push(("reason".into(), reason.into()));
        let length = scripts::run(
            &mut self.redis,
            scripts::DEAD_LETTER,
            &[STREAM, DEAD_LETTERS],
            (GROUP, &entry.id, &fields),
        )
        .await?;
        self.metrics.dead_lettered.inc();
        let length = usize::try_from(length).unwrap_or_default();
        if length >= DEAD_LETTERS_MAX * 9 / 10 {
            tracing::warn!(
                length,
                "{DEAD_LETTERS} is nearly full: at {DEAD_LETTERS_MAX} the workers take no new answers; look at them (dead-letters) and replay or remove them"
            );
        }
        Ok(())
    }
}

// ANCHOR: insert
/// One INSERT for the whole batch; an entry whose id is already a row changes nothing.
/// Returns how many rows it made, and the entries that were not stored because their id
/// holds another answer (a form sent again with a new one), each with why.
async fn insert(
    pool: &PgPool,
    entries: &[Entry],
    worker: &str,
) -> Result<(u64, Vec<(String, String)>), sqlx::Error> {
    let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let coats: Vec<&str> = entries.iter().map(|e| e.coat.as_str()).collect();
    let donuts: Vec<&str> = entries.iter().map(|e| e.donut.as_str()).collect();
    let received: Vec<i64> = entries.iter().map(|e| e.received_ms).collect();
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO cats (id, name, coat, donut, received_at, stored_by)
         SELECT id, name, coat, donut, to_timestamp(ms / 1000.0), $6
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[]) AS t(id, name, coat, donut, ms)
         ON CONFLICT (id) DO NOTHING
         RETURNING id",
    )
    .bind(ids)
    .bind(names)
    .bind(coats)
    .bind(donuts)
    .bind(received)
    .bind(worker)
    .fetch_all(pool)
    .await?;
    // To compare with what the row holds: entries that made no row, and any whose id is in
    // the batch more than once (only one of those made the row).
    let rows = inserted.len() as u64;
    let inserted: HashSet<Uuid> = inserted.into_iter().collect();
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for entry in entries {
        *seen.entry(entry.id).or_default() += 1;
    }
    let others: Vec<&Entry> = entries
        .iter()
        .filter(|e| !inserted.contains(&e.id) || seen.get(&e.id).is_some_and(|n| *n > 1))
        .collect();
    if others.is_empty() {
        return Ok((rows, Vec::new()));
    }
    Ok((rows, other_answers(pool, &others).await?))
}
// ANCHOR_END: insert

/// Of `entries`, whose ids were rows already, those whose row holds another answer, each
/// with why. (A statement of its own: it sees what another worker committed meanwhile.)
async fn other_answers(
    pool: &PgPool,
    entries: &[&Entry],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
    let rows: Vec<(Uuid, String, String, String)> =
        sqlx::query_as("SELECT id, name, coat, donut FROM cats WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    let rows: HashMap<Uuid, (String, String, String)> = rows
        .into_iter()
        .map(|(id, name, coat, donut)| (id, (name, coat, donut)))
        .collect();
    Ok(entries
        .iter()
        .filter_map(|e| {
            let why = match rows.get(&e.id) {
                Some((name, coat, donut))
                    if (name, coat, donut) == (&e.name, &e.coat, &e.donut) =>
                {
                    return None;
                }
                Some((name, coat, donut)) => format!(
                    "its form was sent before with another answer, the one stored: {name} ({coat}, {donut})"
                ),
                None => "not stored, and no row holds its id".to_owned(),
            };
            Some((e.stream_id.clone(), why))
        })
        .collect())
}

/// Errors about the data itself (class 22, data exception; 23, integrity constraint), which
/// no retry fixes, as opposed to Postgres being down.
fn is_data_error(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("23")))
}

/// What Postgres said, without the wrapping (nor the line of Postgres's source it came from).
fn refusal(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

fn parse(raw: &StreamId) -> Option<Entry> {
    let field = |name: &str| raw.map.get(name).and_then(text);
    Some(Entry {
        stream_id: raw.id.clone(),
        id: field("id")?.parse().ok()?,
        name: field("name")?,
        coat: field("coat")?,
        donut: field("donut")?,
        received_ms: field("received_ms")?.parse().ok()?,
    })
}

fn now_ms() -> u64 {
    u64::try_from(now_millis()).unwrap_or_default()
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("worker-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(fields: &[(&str, &str)]) -> StreamId {
        StreamId {
            id: "1-0".into(),
            map: fields
                .iter()
                .map(|(k, v)| {
                    (
                        (*k).to_owned(),
                        redis::Value::BulkString(v.as_bytes().to_vec()),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    /// A complete entry parses; one with a missing field or a bad id does not.
    #[test]
    fn parses_entries() {
        let id = Uuid::now_v7().to_string();
        let good = [
            ("id", id.as_str()),
            ("name", "Pika"),
            ("coat", "tortie"),
            ("donut", "jelly"),
            ("received_ms", "1700000000000"),
        ];
        let entry = parse(&raw(&good)).expect("a complete entry");
        assert_eq!(
            (entry.name.as_str(), entry.received_ms),
            ("Pika", 1_700_000_000_000)
        );
        assert!(parse(&raw(&good[..4])).is_none(), "no received_ms");
        let mut bad_id = good;
        bad_id[0] = ("id", "not-a-uuid");
        assert!(parse(&raw(&bad_id)).is_none());
    }
}
