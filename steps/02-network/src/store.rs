//! Answers in Postgres, in the original tutorial's table `cats(name, coat, donut)`.

use sqlx::{PgConnection, PgPool, postgres::PgPoolOptions};
use survey::{
    Answer, AnswerPage, FormKey, Kept, Receipt, Store, StoreError,
    store::{PAGE_SIZE, page_offset},
};

use crate::{
    MIGRATOR,
    connect::{ConnectError, wait_until_up},
    connections::{Connection, Connections},
    settings::{DbArgs, SettingsError},
};

/// A Postgres-backed [`Store`]. Cloning shares the connections.
#[derive(Debug, Clone)]
pub struct PgStore {
    connections: Connections,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not bring the database schema up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not open a connection to run the migrations")]
    Connection(#[from] sqlx::Error),
}

impl PgStore {
    /// Connects (waiting for the database as long as the settings allow) and runs the
    /// migrations. Several replicas may start at once: sqlx takes an advisory lock, so the
    /// table is created exactly once.
    pub async fn open(args: &DbArgs) -> Result<Self, OpenError> {
        let options = args.connect_options()?;
        wait_until_up(&options, args.patience()).await?;
        // The migrations on a pool of one connection of their own: sqlx's migrator takes a
        // pool, and on a borrowed connection its future cannot be sent between threads.
        let migrating = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let migrated = MIGRATOR.run(&migrating).await;
        migrating.close().await;
        migrated?;
        Ok(Self {
            connections: Connections::new(options),
        })
    }

    /// A store on the database `pool` connects to, whose schema is already migrated (as
    /// `#[sqlx::test]` provides).
    pub fn from_pool(pool: &PgPool) -> Self {
        Self {
            connections: Connections::new((*pool.connect_options()).clone()),
        }
    }

    async fn connection(&self, action: &'static str) -> Result<Connection, StoreError> {
        self.connections
            .get()
            .await
            .map_err(|err| StoreError::nothing_kept(action, err))
    }
}

impl Store for PgStore {
    const RECEIPT: Receipt = Receipt::Stored;

    async fn insert(&self, key: FormKey, answer: &Answer) -> Result<Kept, StoreError> {
        // One statement is one transaction: when it returns, the row is committed. A row with
        // this key already there means this form was sent before: nothing is inserted, and
        // the row there says whether it was with this answer.
        let mut connection = self.connection("storing an answer").await?;
        let inserted = sqlx::query(
            "INSERT INTO cats (id, name, coat, donut) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(key)
        .bind(answer.name())
        .bind(answer.coat())
        .bind(answer.donut())
        .fetch_optional(&mut *connection)
        .await
        .map_err(insert_error)?;
        if inserted.is_some() {
            connection.done();
            return Ok(Kept::Yes);
        }
        // A statement of its own, so that it sees a row another request committed meanwhile.
        let (name, coat, donut): (String, String, String) =
            sqlx::query_as("SELECT name, coat, donut FROM cats WHERE id = $1")
                .bind(key)
                .fetch_one(&mut *connection)
                .await
                .map_err(|err| {
                    StoreError::new("reading the answer kept under a form's key", err)
                })?;
        connection.done();
        Ok(Kept::of(Answer::from_stored(name, coat, donut), answer))
    }

    async fn page(&self, number: u32) -> Result<AnswerPage, StoreError> {
        // The original table has no id or time column, so "newest first" uses each row's
        // physical position (ctid): rows are only ever appended here, never updated or
        // deleted, so later rows sit further on. Step 05 adds a real received-at column.
        let mut connection = self.connection("reading answers").await?;
        let page = read_page(
            &mut connection,
            number,
            "SELECT name, coat, donut FROM cats ORDER BY ctid DESC LIMIT $1 OFFSET $2",
        )
        .await?;
        connection.done();
        Ok(page)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let mut connection = self.connection("checking the database").await?;
        sqlx::query("SELECT 1")
            .execute(&mut *connection)
            .await
            .map_err(|err| StoreError::new("checking the database", err))?;
        connection.done();
        Ok(())
    }
}

/// A failed INSERT, saying whether the row is known not to be there: Postgres refused it (and
/// rolled it back). A connection that broke on the way may have broken after the commit.
fn insert_error(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(_) => StoreError::nothing_kept("storing an answer", err),
        _ => StoreError::new("storing an answer", err),
    }
}

/// Reads page `number` of the answers with `select`, a query for (name, coat, donut) that
/// takes the page size as $1 and the offset as $2, on connection `db`.
pub async fn read_page(
    db: &mut PgConnection,
    number: u32,
    select: &'static str,
) -> Result<AnswerPage, StoreError> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM cats")
        .fetch_one(&mut *db)
        .await
        .map_err(|err| StoreError::new("counting answers", err))?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(select)
        .bind(i64::from(PAGE_SIZE))
        .bind(i64::try_from(page_offset(number)).unwrap_or(i64::MAX))
        .fetch_all(&mut *db)
        .await
        .map_err(|err| StoreError::new("reading answers", err))?;
    Ok(AnswerPage {
        answers: rows
            .into_iter()
            .map(|(name, coat, donut)| Answer::from_stored(name, coat, donut))
            .collect(),
        total: u64::try_from(total).unwrap_or_default(),
    })
}
