//! Answers in Postgres, in the original tutorial's table `cats(name, coat, donut)`.

use sqlx::PgPool;
use survey::{
    Answer, AnswerPage, FormKey, Kept, Receipt, Store, StoreError,
    store::{PAGE_SIZE, page_offset},
};

use crate::{
    MIGRATOR,
    connect::{ConnectError, connect},
    settings::{DbArgs, SettingsError},
};

/// A Postgres-backed [`Store`]. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
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
}

impl PgStore {
    /// Connects (waiting for the database as long as the settings allow) and runs the
    /// migrations. Several replicas may start at once: sqlx takes an advisory lock, so the
    /// table is created exactly once.
    pub async fn open(args: &DbArgs) -> Result<Self, OpenError> {
        let pool = connect(args.connect_options()?, args.patience()).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// A store on a pool whose schema is already migrated (as `#[sqlx::test]` provides).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool, for looking at the table directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Store for PgStore {
    const RECEIPT: Receipt = Receipt::Stored;

    async fn insert(&self, key: FormKey, answer: &Answer) -> Result<Kept, StoreError> {
        // One statement is one transaction: when it returns, the row is committed. A row with
        // this key already there means this form was sent before: nothing is inserted, and
        // the row there says whether it was with this answer.
        let inserted = sqlx::query(
            "INSERT INTO cats (id, name, coat, donut) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(key)
        .bind(answer.name())
        .bind(answer.coat())
        .bind(answer.donut())
        .fetch_optional(&self.pool)
        .await
        .map_err(insert_error)?;
        if inserted.is_some() {
            return Ok(Kept::Yes);
        }
        // A statement of its own, so that it sees a row another request committed meanwhile.
        let (name, coat, donut): (String, String, String) =
            sqlx::query_as("SELECT name, coat, donut FROM cats WHERE id = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await
                .map_err(|err| {
                    StoreError::new("reading the answer kept under a form's key", err)
                })?;
        Ok(Kept::of(Answer::from_stored(name, coat, donut), answer))
    }

    async fn page(&self, number: u32) -> Result<AnswerPage, StoreError> {
        // The original table has no id or time column, so "newest first" uses each row's
        // physical position (ctid): rows are only ever appended here, never updated or
        // deleted, so later rows sit further on. Step 05 adds a real received-at column.
        read_page(
            &self.pool,
            number,
            "SELECT name, coat, donut FROM cats ORDER BY ctid DESC LIMIT $1 OFFSET $2",
        )
        .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|err| StoreError::new("checking the database", err))?;
        Ok(())
    }
}

/// A failed INSERT, saying whether the row is known not to be there: the statement never
/// reached Postgres, or Postgres refused it (and rolled it back). A connection that broke on
/// the way may have broken after the commit.
fn insert_error(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Database(_) => {
            StoreError::nothing_kept("storing an answer", err)
        }
        _ => StoreError::new("storing an answer", err),
    }
}

/// Reads page `number` of the answers with `select`, a query for (name, coat, donut) that
/// takes the page size as $1 and the offset as $2.
pub async fn read_page(
    pool: &PgPool,
    number: u32,
    select: &'static str,
) -> Result<AnswerPage, StoreError> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM cats")
        .fetch_one(pool)
        .await
        .map_err(|err| StoreError::new("counting answers", err))?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(select)
        .bind(i64::from(PAGE_SIZE))
        .bind(i64::try_from(page_offset(number)).unwrap_or(i64::MAX))
        .fetch_all(pool)
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
