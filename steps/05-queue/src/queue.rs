//! The queue: a Redis stream of accepted answers, read by a consumer group of workers.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use step_02_network::connect::{Waited, wait_for};

/// The stream the app appends accepted answers to.
pub const STREAM: &str = "survey:answers";
/// The consumer group every worker reads in: each entry goes to one worker.
pub const GROUP: &str = "workers";
/// Where entries go that could not be stored after several tries, for a person to look at.
pub const DEAD_LETTERS: &str = "survey:dead-letters";
/// Each worker's sign of life, this prefix and its name: a key it sets again and again, which
/// expires when it stops. (What XINFO CONSUMERS calls `idle` cannot tell: before Redis 7.2 it
/// grows while a live worker polls an empty stream.)
pub const ALIVE_PREFIX: &str = "survey:worker-alive:";
/// How many dead letters there may be before the workers stop taking new answers: a flood
/// of bad entries must not fill Redis, which would then refuse good answers, and a dead
/// letter is an answer too, never dropped. At the cap the workers hold back (new answers wait
/// in the stream, `/status` and the workers' `/healthz` say why) until a person has looked at
/// the dead letters and replayed or removed them.
pub const DEAD_LETTERS_MAX: usize = 10_000;

/// Where Redis is.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// Redis URL, e.g. redis://redis:6379.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
}

/// Why Redis could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("REDIS_URL is not a valid Redis URL")]
    Url(#[source] redis::RedisError),
    #[error("gave up connecting to Redis after {waited:.0?} ({attempts} attempts)")]
    GaveUp {
        waited: Duration,
        attempts: u32,
        #[source]
        source: redis::RedisError,
    },
}

impl QueueArgs {
    /// Connects (waiting for Redis as step 02 waits for Postgres), and makes sure the stream
    /// and its consumer group exist. The connection reconnects by itself later.
    pub async fn connect(&self, patience: Duration) -> Result<ConnectionManager, QueueError> {
        let client = redis::Client::open(self.redis_url.as_str()).map_err(QueueError::Url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let open = || async {
            let mut connection =
                ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
            ensure_group(&mut connection).await?;
            Ok::<_, redis::RedisError>(connection)
        };
        wait_for("Redis", patience, open, |_| true).await.map_err(
            |Waited {
                 error,
                 attempts,
                 waited,
                 ..
             }| QueueError::GaveUp {
                waited,
                attempts,
                source: error,
            },
        )
    }
}

/// Creates the stream and the group, reading from the stream's start, unless they exist
/// (Redis full included: see [`crate::scripts`]).
pub async fn ensure_group(connection: &mut ConnectionManager) -> redis::RedisResult<()> {
    crate::scripts::run(connection, crate::scripts::ENSURE_GROUP, &[STREAM], GROUP)
        .await
        .map(drop)
}

/// Milliseconds since 1970, the time an answer was received.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A stream field's value as text (entries are written as UTF-8 strings).
pub fn text(value: &redis::Value) -> Option<String> {
    match value {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        redis::Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}
