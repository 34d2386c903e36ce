// ANCHOR: contract
//! The worker: ferries entries from the Redis stream into Postgres, losing and doubling none.
//!
//! - It reads through the consumer group, so each entry goes to one worker of the pool.
//! - It inserts a batch in one statement, idempotent on the answer's id (`ON CONFLICT DO
//!   NOTHING`), so an entry delivered twice still makes one row.
//! - It acknowledges (XACK) only after the insert committed. A worker killed before that
//!   leaves its entries pending; another worker claims them (XAUTOCLAIM) once they have been
//!   idle for a while.
//! - An entry that was delivered too often, or that Postgres refuses, goes to a dead-letter
//!   stream instead of blocking the queue.
//! - On SIGTERM it finishes the batch in hand, then exits.
// ANCHOR_END: contract

use std::{collections::HashMap, future::Future, time::Duration};

use redis::{
    Value,
    aio::ConnectionManager,
    streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::queue::{DEAD_LETTERS, GROUP, STREAM};

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
        }
    }

    /// Works until `shutdown` resolves, then returns after the batch in hand is done.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tracing::info!(worker = %self.name, "reading {STREAM} in group {GROUP}");
        tokio::pin!(shutdown);
        loop {
            let batch = tokio::select! {
                () = &mut shutdown => break,
                batch = self.next_batch() => batch,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "reading the queue failed; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                continue;
            }
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
            .arg("0-0")
            .arg("COUNT")
            .arg(self.args.batch)
            .query_async(&mut self.redis)
            .await?;
        if !claimed.claimed.is_empty() {
            tracing::info!(
                count = claimed.claimed.len(),
                "claimed entries another worker left pending"
            );
            return self.dead_letter_redelivered(claimed.claimed).await;
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
        let (dead, alive): (Vec<StreamId>, Vec<StreamId>) = entries
            .into_iter()
            .partition(|e| deliveries.get(&e.id).copied().unwrap_or(0) > self.args.max_deliveries);
        for entry in &dead {
            self.dead_letter(entry, "delivered too often").await?;
        }
        Ok(alive)
    }

    /// Stores a batch and acknowledges it. Returns false if it gave up because of shutdown.
    async fn store(
        &mut self,
        batch: &[StreamId],
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> bool {
        let mut entries = Vec::with_capacity(batch.len());
        for raw in batch {
            match parse(raw) {
                Some(entry) => entries.push(entry),
                None => {
                    if let Err(err) = self.dead_letter(raw, "not a survey answer").await {
                        tracing::warn!(error = %err, id = %raw.id, "could not dead-letter an entry");
                    }
                }
            }
        }
        let mut wait = Duration::from_millis(500);
        loop {
            match insert(&self.pool, &entries, &self.name).await {
                Ok(stored) => {
                    tracing::info!(received = entries.len(), stored, "batch stored");
                    break;
                }
                Err(err) if is_data_error(&err) => {
                    // One bad entry must not hold back the others: store them one by one.
                    self.store_one_by_one(&entries).await;
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "Postgres is unavailable; retrying the batch in {wait:?}");
                    tokio::select! {
                        () = &mut *shutdown => return false,
                        () = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        let ids: Vec<&str> = entries.iter().map(|e| e.stream_id.as_str()).collect();
        if let Err(err) = self.acknowledge(&ids).await {
            // Not acknowledged: the entries will be delivered again and the insert skips them.
            tracing::warn!(error = %err, "acknowledging a stored batch failed");
        }
        true
    }

    async fn store_one_by_one(&mut self, entries: &[Entry]) {
        for entry in entries {
            match insert(&self.pool, std::slice::from_ref(entry), &self.name).await {
                Ok(_) => {}
                Err(err) if is_data_error(&err) => {
                    let raw = StreamId {
                        id: entry.stream_id.clone(),
                        ..Default::default()
                    };
                    if let Err(err) = self
                        .dead_letter(&raw, &format!("refused by Postgres: {err}"))
                        .await
                    {
                        tracing::warn!(error = %err, "could not dead-letter an entry");
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "storing an entry failed; it will be delivered again")
                }
            }
        }
    }

    /// XACK, then XDEL: the stream holds only answers not yet stored, so its length is the
    /// queue's length.
    async fn acknowledge(&mut self, ids: &[&str]) -> redis::RedisResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(STREAM)
            .arg(GROUP)
            .arg(ids)
            .ignore()
            .cmd("XDEL")
            .arg(STREAM)
            .arg(ids)
            .ignore()
            .query_async(&mut self.redis)
            .await
    }

    async fn dead_letter(&mut self, entry: &StreamId, reason: &str) -> redis::RedisResult<()> {
        tracing::warn!(id = %entry.id, reason, "moving an entry to {DEAD_LETTERS}");
        let mut fields: Vec<(String, String)> = entry
            .map
            .iter()
            .map(|(k, v)| (k.clone(), text(v).unwrap_or_default()))
            .collect();
        fields.push(("stream_id".into(), entry.id.clone()));
        fields.push(("reason".into(), reason.into()));
        redis::pipe()
            .atomic()
            .cmd("XADD")
            .arg(DEAD_LETTERS)
            .arg("*")
            .arg(&fields)
            .ignore()
            .cmd("XACK")
            .arg(STREAM)
            .arg(GROUP)
            .arg(&entry.id)
            .ignore()
            .cmd("XDEL")
            .arg(STREAM)
            .arg(&entry.id)
            .ignore()
            .query_async(&mut self.redis)
            .await
    }
}

// ANCHOR: insert
/// One INSERT for the whole batch; returns how many rows were new.
async fn insert(pool: &PgPool, entries: &[Entry], worker: &str) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let coats: Vec<&str> = entries.iter().map(|e| e.coat.as_str()).collect();
    let donuts: Vec<&str> = entries.iter().map(|e| e.donut.as_str()).collect();
    let received: Vec<i64> = entries.iter().map(|e| e.received_ms).collect();
    let result = sqlx::query(
        "INSERT INTO cats (id, name, coat, donut, received_at, stored_by)
         SELECT id, name, coat, donut, to_timestamp(ms / 1000.0), $6
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[]) AS t(id, name, coat, donut, ms)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(ids)
    .bind(names)
    .bind(coats)
    .bind(donuts)
    .bind(received)
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
// ANCHOR_END: insert

/// Errors about the data itself (class 22, data exception; 23, integrity constraint), which
/// no retry fixes, as opposed to Postgres being down.
fn is_data_error(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("23")))
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

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
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
                .map(|(k, v)| ((*k).to_owned(), Value::BulkString(v.as_bytes().to_vec())))
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
