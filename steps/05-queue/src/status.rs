//! The status page: watch the pool share the work. `/status` for people, `/status.json` for
//! tests and scripts.

use askama::Template;
use axum::{Json, Router, extract::State, http::StatusCode, response::Response, routing::get};
use serde::Serialize;
use survey::{StoreError, error::AppError, pages};

use crate::{
    queue::{DEAD_LETTERS, DEAD_LETTERS_MAX, GROUP, STREAM},
    store::QueueStore,
};

/// What the queue and the table hold right now.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Entries in the stream no worker has taken yet.
    pub waiting: u64,
    /// Entries a worker took and has not acknowledged (in hand, or left by a dead worker).
    pub pending: u64,
    pub dead_letters: u64,
    /// The dead letters are at their cap: the workers take no new answers until a person
    /// has replayed or removed them.
    pub held_back: bool,
    pub rows_stored: i64,
    pub rows_per_worker: Vec<WorkerRows>,
}

/// Rows stored by one worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRows {
    pub worker: String,
    pub rows: i64,
}

#[derive(Debug, Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    status: &'a Status,
}

/// The status routes, to merge into the app.
pub fn routes(store: QueueStore) -> Router {
    Router::new()
        .route("/status", get(page))
        .route("/status.json", get(json))
        .with_state(store)
}

async fn page(State(store): State<QueueStore>) -> Result<Response, AppError> {
    let status = read(&store).await?;
    Ok(pages::render(
        StatusCode::OK,
        &StatusPage { status: &status },
    ))
}

async fn json(State(store): State<QueueStore>) -> Result<Json<Status>, AppError> {
    Ok(Json(read(&store).await?))
}

/// Reads the numbers from Redis and Postgres.
pub async fn read(store: &QueueStore) -> Result<Status, StoreError> {
    let queue = queue(store).await?;
    let rows_stored: i64 = sqlx::query_scalar("SELECT count(*) FROM cats")
        .fetch_one(store.pool())
        .await
        .map_err(|err| StoreError::new("counting rows", err))?;
    let per_worker: Vec<(String, i64)> = sqlx::query_as(
        "SELECT stored_by, count(*) FROM cats WHERE stored_by IS NOT NULL GROUP BY stored_by ORDER BY stored_by",
    )
    .fetch_all(store.pool())
    .await
    .map_err(|err| StoreError::new("counting rows per worker", err))?;
    Ok(Status {
        waiting: queue.waiting,
        pending: queue.pending,
        dead_letters: queue.dead_letters,
        held_back: usize::try_from(queue.dead_letters).unwrap_or(usize::MAX) >= DEAD_LETTERS_MAX,
        rows_stored,
        rows_per_worker: per_worker
            .into_iter()
            .map(|(worker, rows)| WorkerRows { worker, rows })
            .collect(),
    })
}

/// The queue as Redis holds it: what Postgres being away does not keep from being read.
#[derive(Debug, Clone, Copy)]
pub struct Queue {
    pub waiting: u64,
    pub pending: u64,
    pub dead_letters: u64,
}

/// Reads the queue's numbers from Redis alone.
pub async fn queue(store: &QueueStore) -> Result<Queue, StoreError> {
    let mut redis = store.redis();
    // The workers delete what they acknowledge, so the stream holds only unstored answers.
    let (length, pending_summary, dead): (u64, redis::Value, u64) = redis::pipe()
        .cmd("XLEN")
        .arg(STREAM)
        .cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .cmd("XLEN")
        .arg(DEAD_LETTERS)
        .query_async(&mut redis)
        .await
        .map_err(|err| StoreError::new("reading the queue", err))?;
    let pending = match pending_summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => u64::try_from(*n).unwrap_or_default(),
            _ => 0,
        },
        _ => 0,
    };
    Ok(Queue {
        waiting: length.saturating_sub(pending),
        pending,
        dead_letters: dead,
    })
}
