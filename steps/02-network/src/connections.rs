//! The store's connections to Postgres: a pool (deadpool) of sqlx connections that gives a
//! connection back as it is, and throws away one whose work did not finish.
//!
//! Why not sqlx's own pool: it checks every connection given back with a round trip (a `Sync`
//! message answered by `ReadyForQuery`), and no setting turns that off. At one answer per
//! connection use, that was a round trip per answer for nothing (chapter 05, "Where the time
//! goes"). What the check was for is kept another way: a connection goes back only when
//! everything done on it succeeded ([`Connection::done`]); one left mid-statement (an error, a
//! request cancelled) is closed, never reused.

use std::{
    ops::{Deref, DerefMut},
    time::Duration,
};

use deadpool::{
    Runtime,
    managed::{self, Metrics, Object, RecycleResult},
};
use sqlx::{Connection as _, PgConnection, postgres::PgConnectOptions};

/// The most connections one app process opens; Postgres's default limit is 100. With fewer
/// than the sixteen visitors the bench sends at once, some waited for a connection.
pub const MAX_CONNECTIONS: u32 = 16;
/// How long a request may wait for a connection, and a new connection may take.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection idle for longer is checked before use: in that time the server may have
/// restarted (`answers_after_a_database_restart_are_stored_at_once`). One used more recently
/// finished its work a moment ago, on a live server.
pub(crate) const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The pool. Cloning shares it.
#[derive(Clone)]
pub struct Connections {
    pool: managed::Pool<Manager>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("status", &self.pool.status())
            .finish()
    }
}

/// Why no connection was handed out. None of these sent a statement.
pub type GetError = managed::PoolError<sqlx::Error>;

impl Connections {
    /// A pool that connects with `options` when a connection is first asked for.
    pub fn new(options: PgConnectOptions) -> Self {
        let pool = managed::Pool::builder(Manager { options })
            .max_size(MAX_CONNECTIONS as usize)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(ACQUIRE_TIMEOUT))
            .build()
            // Only a timeout without a runtime fails to build, and the runtime is set.
            .expect("a pool with a runtime for its timeouts");
        Self { pool }
    }

    /// A connection, within [`ACQUIRE_TIMEOUT`]. Call [`Connection::done`] once the work on it
    /// has succeeded; otherwise dropping it closes it.
    pub async fn get(&self) -> Result<Connection, GetError> {
        Ok(Connection(Some(self.pool.get().await?)))
    }
}

/// A connection out of the pool.
pub struct Connection(Option<Object<Manager>>);

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Gives the connection back to the pool: every statement on it has finished.
    pub fn done(mut self) {
        drop(self.0.take());
    }
}

impl Drop for Connection {
    /// Not given back with [`Connection::done`]: a statement failed or was cancelled half way,
    /// so what the server will send next on it is unknown. Closed; the pool opens another.
    fn drop(&mut self) {
        if let Some(object) = self.0.take() {
            drop(Object::take(object));
        }
    }
}

impl Deref for Connection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.0.as_ref().expect("a connection until done")
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.0.as_mut().expect("a connection until done")
    }
}

/// How the pool opens and checks connections.
struct Manager {
    options: PgConnectOptions,
}

impl managed::Manager for Manager {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options).await
    }

    async fn recycle(
        &self,
        connection: &mut PgConnection,
        used: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        if used.last_used() > CHECK_AFTER_IDLE {
            connection.ping().await?;
        }
        Ok(())
    }
}
