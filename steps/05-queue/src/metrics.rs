//! What the app and the workers count, for Prometheus (`/metrics` on each, on its own port:
//! the app's 5000, the worker's health port). Each task counts its own; a sum over the tasks
//! is Prometheus's to make. The queue's depth is read from Redis when scraped, so it shows
//! while Postgres is away, which is when it grows.

use std::sync::Arc;

use axum::{Router, extract::State, response::Response, routing::get};
use prometheus_client::metrics::{
    counter::Counter,
    gauge::Gauge,
    histogram::{Histogram, exponential_buckets},
};
use survey::metrics::Registry;

use crate::{status, store::QueueStore};

/// The app's: answers it accepted (Redis has them), and the queue as Redis holds it.
#[derive(Debug, Clone, Default)]
pub struct AppMetrics {
    pub accepted: Counter,
    waiting: Gauge,
    pending: Gauge,
    dead_letters: Gauge,
}

impl AppMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "answers_accepted",
            "Answers this app put on the queue (Redis has them on disk)",
            metrics.accepted.clone(),
        );
        registry.register(
            "queue_waiting",
            "Answers in the queue that no worker has taken yet",
            metrics.waiting.clone(),
        );
        registry.register(
            "queue_pending",
            "Answers a worker took and has not acknowledged",
            metrics.pending.clone(),
        );
        registry.register(
            "dead_letters",
            "Entries the workers could not store, kept for a person",
            metrics.dead_letters.clone(),
        );
        metrics
    }
}

/// `/metrics` for the app: reads the queue's depth, then answers with every metric. If
/// Redis does not answer, the depth stays as last read and the request counts still go out.
pub fn app_routes(store: QueueStore, metrics: AppMetrics, registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/metrics", get(scrape_app))
        .with_state((store, metrics, registry))
}

async fn scrape_app(
    State((store, metrics, registry)): State<(QueueStore, AppMetrics, Arc<Registry>)>,
) -> Response {
    match status::queue(&store).await {
        Ok(queue) => {
            metrics.waiting.set(as_gauge(queue.waiting));
            metrics.pending.set(as_gauge(queue.pending));
            metrics.dead_letters.set(as_gauge(queue.dead_letters));
        }
        Err(err) => tracing::warn!(error = %err, "metrics: could not read the queue's depth"),
    }
    survey::metrics::render(&registry)
}

fn as_gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A worker's: what it stored, in batches of what size, what it claimed from other workers
/// and how often those had been delivered, what it dead-lettered.
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    /// Rows this worker inserted (an entry whose row was there already is not one).
    pub stored: Counter,
    /// Entries per batch read.
    pub batch_sizes: Histogram,
    /// Entries claimed after another worker left them pending too long.
    pub claimed: Counter,
    /// How often each claimed entry had been delivered, this delivery included.
    pub deliveries: Histogram,
    pub dead_lettered: Counter,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self {
            stored: Counter::default(),
            // 1, 2, 4 ... 512: a batch holds up to 200 unless told.
            batch_sizes: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            claimed: Counter::default(),
            deliveries: Histogram::new(exponential_buckets(1.0, 2.0, 6)),
            dead_lettered: Counter::default(),
        }
    }
}

impl WorkerMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "answers_stored",
            "Rows this worker inserted into Postgres",
            metrics.stored.clone(),
        );
        registry.register(
            "batch_size",
            "Entries per batch this worker read from the queue",
            metrics.batch_sizes.clone(),
        );
        registry.register(
            "claimed",
            "Entries this worker claimed after another left them pending too long",
            metrics.claimed.clone(),
        );
        registry.register(
            "deliveries",
            "How often each claimed entry had been delivered",
            metrics.deliveries.clone(),
        );
        registry.register(
            "dead_lettered",
            "Entries this worker moved to the dead letters",
            metrics.dead_lettered.clone(),
        );
        metrics
    }
}

/// `/metrics` for a worker, beside its `/healthz`.
pub fn worker_routes(registry: Arc<Registry>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move { survey::metrics::render(&registry) }),
    )
}
