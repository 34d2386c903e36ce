//! The app's side: accepting an answer means appending it to the stream. The visitor is
//! thanked when Redis has it on disk (appendfsync always), not when it is in Postgres.

use prometheus_client::metrics::counter::Counter;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use step_02_network::store::read_page;
use survey::{Answer, AnswerPage, FormKey, Kept, Receipt, Store, StoreError};

use crate::queue::{STREAM, now_millis};

/// One page of answers, newest first: the order of the index cats_newest_first, which serves
/// it without sorting the table.
pub const PAGE_QUERY: &str = "SELECT name, coat, donut FROM cats \
     ORDER BY received_at DESC NULLS LAST, id DESC NULLS LAST LIMIT $1 OFFSET $2";

/// A [`Store`] that enqueues answers and reads the stored ones from Postgres.
#[derive(Clone)]
pub struct QueueStore {
    redis: ConnectionManager,
    pool: PgPool,
    /// Answers put on the queue, for `/metrics`.
    accepted: Counter,
}

impl std::fmt::Debug for QueueStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueStore").finish_non_exhaustive()
    }
}

impl QueueStore {
    pub fn new(redis: ConnectionManager, pool: PgPool) -> Self {
        Self {
            redis,
            pool,
            accepted: Counter::default(),
        }
    }

    /// Counts each answer it puts on the queue in `accepted` (a metric registered by the
    /// caller).
    pub fn counting(self, accepted: Counter) -> Self {
        Self { accepted, ..self }
    }

    /// The Redis connection, for the status page.
    pub fn redis(&self) -> ConnectionManager {
        self.redis.clone()
    }

    /// The Postgres pool, for the status page.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Store for QueueStore {
    const RECEIPT: Receipt = Receipt::Received;

    /// Always [`Kept::Yes`] once Redis has the entry: what Postgres holds under the key is
    /// only known to the worker that stores it. One that finds another answer there makes
    /// the new one a dead letter, kept whole, not a row dropped in silence.
    async fn insert(&self, key: FormKey, answer: &Answer) -> Result<Kept, StoreError> {
        // The form's key is the row's id: however often the form is sent and each entry
        // delivered, the one row they become is the one with this id.
        let id = key.to_string();
        let _entry_id: String = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(&[
                ("id", id.as_str()),
                ("name", answer.name()),
                ("coat", answer.coat()),
                ("donut", answer.donut()),
            ])
            .arg("received_ms")
            .arg(now_millis())
            .query_async(&mut self.redis.clone())
            .await
            .map_err(queue_error)?;
        self.accepted.inc();
        Ok(Kept::Yes)
    }

    async fn page(&self, number: u32) -> Result<AnswerPage, StoreError> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|err| StoreError::new("reading answers", err))?;
        read_page(&mut connection, number, PAGE_QUERY).await
    }

    /// Ready when Redis answers: taking answers needs the queue alone. While Postgres is away
    /// the workers wait and the queue holds the answers, so a proxy that asks `/readyz` goes
    /// on sending them here (only the answers page needs Postgres, and says when it is away).
    async fn ready(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.redis.clone())
            .await
            .map_err(|err| StoreError::new("pinging Redis", err))?;
        Ok(())
    }
}

/// A failed XADD, saying whether the entry is known not to be there: Redis was not reached,
/// or it answered with an error (the queue is full, say). A connection lost or a reply that
/// never came may have followed the write.
fn queue_error(err: redis::RedisError) -> StoreError {
    let unknown = err.is_timeout()
        || err.is_connection_dropped()
        || (err.is_io_error() && !err.is_connection_refusal());
    if unknown {
        StoreError::new("queueing an answer", err)
    } else {
        StoreError::nothing_kept("queueing an answer", err)
    }
}
