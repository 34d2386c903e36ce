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

/// The most connections one app process opens; Postgres's default limit is 100.
const MAX_CONNECTIONS: u32 = 10;
/// How long one attempt, and later one request, may wait for a connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

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
/// starting, for up to `patience`; then opens the pool. Waits grow from 250 ms to 2 s: quick
/// when the database is nearly up, gentle on it when it is not.
pub async fn connect(
    options: PgConnectOptions,
    patience: Duration,
) -> Result<PgPool, ConnectError> {
    let target = describe(&options);
    let started = Instant::now();
    let attempts = AtomicU32::new(0);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(2))
        .without_max_times();
    // One plain connection per attempt, not a pool: a pool retries on its own until its
    // timeout and then reports only "timed out", hiding the real reason from the log.
    let try_once = || {
        attempts.fetch_add(1, Ordering::Relaxed);
        probe(&options)
    };
    let result = try_once
        .retry(backoff)
        .when(|err| is_transient(err) && started.elapsed() < patience)
        .notify(|err, wait| {
            tracing::warn!(
                attempt = attempts.load(Ordering::Relaxed),
                "Postgres at {target} is not ready ({err}); next try in {wait:.1?}"
            );
        })
        .await;
    let attempts = attempts.load(Ordering::Relaxed);
    match result {
        Ok(()) => {
            tracing::info!("connected to Postgres at {target} (attempt {attempts})");
            Ok(PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(options))
        }
        Err(source) if is_transient(&source) => Err(ConnectError::GaveUp {
            target,
            waited: started.elapsed(),
            attempts,
            source,
        }),
        Err(source) => Err(ConnectError::Refused { target, source }),
    }
}

// ANCHOR_END: connect

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
