//! Waiting for the database, the step-02 way: retry with backoff, log every attempt, give up
//! with a clear error after a set time. No `sleep 10` before start (the original tutorial's
//! trick), which is too long when the database is quick and too short when it is slow.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use backon::{ExponentialBuilder, Retryable};
use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::connections::{ACQUIRE_TIMEOUT, CHECK_AFTER_IDLE, MAX_CONNECTIONS};

/// Why we stopped trying to connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("gave up connecting to Postgres at {target} after {waited:.0?} ({attempts} attempts)")]
    GaveUp {
        target: String,
        waited: Duration,
        attempts: u32,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "Postgres at {target} refused us in a way retrying cannot fix (check the user, password and database name)"
    )]
    Refused {
        target: String,
        #[source]
        source: sqlx::Error,
    },
}

// ANCHOR: connect
/// Waits until the server accepts a connection, retrying while it is unreachable or still
/// starting, for up to `patience`.
pub async fn wait_until_up(
    options: &PgConnectOptions,
    patience: Duration,
) -> Result<(), ConnectError> {
    let target = describe(options);
    // One plain connection per attempt, not a pool: a pool retries on its own until its
    // timeout and then reports only "timed out", hiding the real reason from the log.
    match wait_for(
        &format!("Postgres at {target}"),
        patience,
        || probe(options),
        is_transient,
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(Waited {
            error,
            attempts,
            waited,
            gave_up: true,
        }) => Err(ConnectError::GaveUp {
            target,
            waited,
            attempts,
            source: error,
        }),
        Err(Waited { error, .. }) => Err(ConnectError::Refused {
            target,
            source: error,
        }),
    }
}

/// Calls `attempt` until it succeeds, logging each failure, as long as the error is one that
/// waiting can heal (`is_transient`) and `patience` lasts. Waits grow from 250 ms to 1 s:
/// quick when the server is nearly up, gentle on it when it is not. (Up to 2 s, an app
/// started beside a database that needs 2 s to start found it up a second and a half late.)
pub async fn wait_for<T, E, Fut>(
    what: &str,
    patience: Duration,
    mut attempt: impl FnMut() -> Fut,
    is_transient: impl Fn(&E) -> bool,
) -> Result<T, Waited<E>>
where
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let attempts = AtomicU32::new(0);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(1))
        .without_max_times();
    let result = (|| {
        attempts.fetch_add(1, Ordering::Relaxed);
        attempt()
    })
    .retry(backoff)
    .when(|err| is_transient(err) && started.elapsed() < patience)
    .notify(|err, wait| {
        let attempt = attempts.load(Ordering::Relaxed);
        tracing::warn!(
            attempt,
            "{what} is not ready ({err}); next try in {wait:.1?}"
        );
    })
    .await;
    let attempts = attempts.load(Ordering::Relaxed);
    match result {
        Ok(value) => {
            tracing::info!("connected to {what} (attempt {attempts})");
            Ok(value)
        }
        Err(error) => Err(Waited {
            gave_up: is_transient(&error),
            error,
            attempts,
            waited: started.elapsed(),
        }),
    }
}

/// How waiting ended without success.
#[derive(Debug)]
pub struct Waited<E> {
    /// The last error.
    pub error: E,
    pub attempts: u32,
    pub waited: Duration,
    /// True when patience ran out; false when the error was one retrying cannot fix.
    pub gave_up: bool,
}

// ANCHOR_END: connect

/// Waits as [`wait_until_up`] does, then opens sqlx's pool (step 05's pages and workers).
pub async fn connect(
    options: PgConnectOptions,
    patience: Duration,
) -> Result<PgPool, ConnectError> {
    wait_until_up(&options, patience).await?;
    Ok(pool_options().connect_lazy_with(options))
}

/// The settings of sqlx's pool, for step 05's pages and workers, where a connection serves a
/// page or a batch rather than one answer. sqlx checks a connection with a round trip when it
/// is given back and, by default, again before the next use; the second check is made only
/// after the connection sat idle, when the server may have restarted meanwhile.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, used| {
            Box::pin(async move {
                if used.idle_for > CHECK_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Opens and closes one connection, within [`ACQUIRE_TIMEOUT`] (a firewall that drops
/// packets would otherwise keep us waiting for the operating system's TCP timeout).
async fn probe(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let connection = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(options))
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer",
            ))
        })??;
    connection.close().await
}

/// "host:port/database as user", for messages (never the password).
pub fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{} as {}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username()),
        options.get_username()
    )
}

// ANCHOR: transient
/// Worth another try: the server is unreachable, starting up, shutting down or full.
/// Not worth it: a wrong password, an unknown user or database, a bad TLS or URL setting.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => !matches!(
            db.code().as_deref(),
            // invalid_authorization_specification, invalid_password, invalid_catalog_name
            Some("28000" | "28P01" | "3D000")
        ),
        _ => false,
    }
}
// ANCHOR_END: transient
