//! Step 05: the production shape. The app appends each accepted answer to a Redis stream and
//! thanks the visitor once Redis has it on disk; a pool of workers ferries the entries into
//! Postgres. Nothing acknowledged is lost, nothing is stored twice.
//!
//! - [`store`]: the app's side, enqueueing.
//! - [`worker`]: the workers' side, consumer group, batches, acknowledgements, dead letters.
//! - [`status`]: a page to watch the pool share the work.
//! - [`dead_letters`]: what the workers could not store, listed and replayed.
//! - [`metrics`]: what the app and each worker count, at `/metrics` for Prometheus.

pub mod dead_letters;
pub mod metrics;
pub mod queue;
pub mod scripts;
pub mod status;
pub mod store;
pub mod worker;

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use axum::{Router, routing::get};
use sqlx::migrate::Migrator;
use step_02_network::{DbArgs, connect::connect};
use survey::{BoxError, cli::Settings};

use crate::{
    queue::QueueArgs,
    store::QueueStore,
    worker::{Worker, WorkerArgs},
};

/// Step 02's migrations and this step's, in the order of their versions: the table gains
/// received_at and stored_by (and the id step 02 gives it, already here).
pub fn migrator() -> Migrator {
    static OWN: Migrator = sqlx::migrate!();
    let mut all: Vec<_> = step_02_network::MIGRATOR
        .iter()
        .chain(OWN.iter())
        .cloned()
        .collect();
    all.sort_by_key(|migration| migration.version);
    Migrator::with_migrations(all)
}

/// The app: waits for Postgres and Redis, migrates the schema (once: the app does it, the
/// workers never do, and sqlx's lock keeps even several apps from racing), serves.
pub async fn open_app(db: DbArgs, queue: QueueArgs) -> Result<Router, BoxError> {
    let pool = connect(db.connect_options()?, db.patience()).await?;
    migrator().run(&pool).await?;
    let redis = queue.connect(db.patience()).await?;
    let mut registry = survey::metrics::registry();
    let requests = survey::metrics::Requests::register(&mut registry);
    let counted = metrics::AppMetrics::register(&mut registry);
    let store = QueueStore::new(redis, pool).counting(counted.accepted.clone());
    let scrape = metrics::app_routes(store.clone(), counted, Arc::new(registry));
    let app = survey::app(store.clone()).merge(status::routes(store));
    Ok(requests.count(app).merge(scrape))
}

/// What the step's one binary can do: the app and the worker are one image.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the survey, queueing answers (the default).
    Serve,
    /// Ferry answers from the queue into Postgres.
    Worker(WorkerArgs),
    /// Exit 0 if the process on PORT answers /healthz (app or worker).
    Healthcheck,
    /// List the dead letters: entries the workers could not store, with why.
    DeadLetters {
        /// Put every dead letter that is a survey answer back on the queue (idempotent: an
        /// answer keeps its id, and one that is already stored is not stored again).
        #[arg(long)]
        replay: bool,
    },
}

/// Runs `command` (none: serve) to its end.
pub fn run(command: Option<Command>, settings: Settings, db: DbArgs, queue: QueueArgs) -> ExitCode {
    survey::cli::block_on(async move {
        match command {
            Some(Command::Healthcheck) => survey::cli::healthcheck(&settings).await,
            Some(Command::DeadLetters { replay }) => run_dead_letters(&queue, replay).await,
            Some(Command::Worker(args)) => run_worker(settings, db, queue, args).await,
            Some(Command::Serve) | None => {
                survey::cli::serve_app(&settings, open_app(db, queue)).await
            }
        }
    })
}

/// The `dead-letters` subcommand: prints the dead letters (and replays them).
pub async fn run_dead_letters(queue: &QueueArgs, replay: bool) -> ExitCode {
    let done = async {
        let mut redis = queue.connect(std::time::Duration::from_secs(10)).await?;
        Ok::<_, BoxError>(dead_letters::run(&mut redis, replay).await?)
    };
    match done.await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => survey::cli::fail("could not read the dead letters", &*err),
    }
}

/// How long the worker loop may go without progress before `/healthz` says it is stuck: the
/// loop wakes at least every 2 s when the queue is empty, and while it waits for Postgres it
/// keeps its claim fresh, which is progress too, so this is a loop stuck on something.
const STUCK_AFTER_MS: u64 = 30_000;

/// The `worker` subcommand: the worker loop, plus `/healthz` on PORT for Docker's healthcheck,
/// healthy while the loop makes progress, and while it waits for Postgres and Redis at start:
/// an outage is the queue's to ride out, and a restart would only wait again.
pub async fn run_worker(
    settings: Settings,
    db: DbArgs,
    queue: QueueArgs,
    args: WorkerArgs,
) -> ExitCode {
    survey::cli::init_logging(settings.log_format);
    let progress = Arc::new(AtomicU64::new(now_ms()));
    let held_back = Arc::new(AtomicBool::new(false));
    let mut registry = survey::metrics::registry();
    let counted = metrics::WorkerMetrics::register(&mut registry);
    let routes = health_routes(progress.clone(), held_back.clone())
        .merge(metrics::worker_routes(Arc::new(registry)));
    let health = survey::serve::serve(settings.listen_addr(), routes);
    let work = async {
        let opened = async {
            let pool = connect_patiently(&db).await?;
            let redis = queue.connect(db.patience()).await?;
            let worker = Worker::new(redis, pool, args)
                .reporting_to(progress.clone(), held_back.clone())
                .counting_in(counted.clone());
            Ok::<_, BoxError>(worker)
        };
        tokio::pin!(opened);
        let shutdown = survey::serve::shutdown_signal();
        tokio::pin!(shutdown);
        let worker = loop {
            tokio::select! {
                opened = &mut opened => match opened {
                    Ok(worker) => break worker,
                    Err(err) => return survey::cli::fail("could not start the worker", &*err),
                },
                // Waiting is the work at hand.
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                    progress.store(now_ms(), Ordering::Relaxed);
                }
                // As the app: SIGTERM while still waiting stops it at once.
                () = &mut shutdown => {
                    tracing::info!("stopped before it was ready");
                    return ExitCode::SUCCESS;
                }
            }
        };
        worker.run(shutdown).await;
        ExitCode::SUCCESS
    };
    tokio::pin!(work);
    tokio::select! {
        code = &mut work => code,
        served = health => match served {
            // The shutdown signal stopped it: the worker finishes the batch in hand too.
            Ok(()) => work.await,
            Err(err) => survey::cli::fail("the health endpoint failed", &err),
        },
    }
}

/// `/healthz`: 200 while the loop made progress in the last [`STUCK_AFTER_MS`], else 503.
/// Held back by the dead letters' cap, it is healthy (a restart would change nothing) and
/// says so.
fn health_routes(progress: Arc<AtomicU64>, held_back: Arc<AtomicBool>) -> Router {
    Router::new().route(
        "/healthz",
        get(move || async move {
            let idle = now_ms().saturating_sub(progress.load(Ordering::Relaxed));
            if idle < STUCK_AFTER_MS && held_back.load(Ordering::Relaxed) {
                let why = "held back: the dead letters are at their cap; look at them (dead-letters), then replay or remove them\n";
                (axum::http::StatusCode::OK, why.to_owned())
            } else if idle < STUCK_AFTER_MS {
                (axum::http::StatusCode::OK, "ok\n".to_owned())
            } else {
                let seconds = idle / 1000;
                (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    format!("stuck: no progress for {seconds} s\n"),
                )
            }
        }),
    )
}

/// Postgres, waited for as long as it takes while it does not answer (each round of the
/// step's patience logs that it gave up, then starts again); what no wait fixes, such as a
/// wrong password, fails at once.
async fn connect_patiently(db: &DbArgs) -> Result<sqlx::PgPool, BoxError> {
    loop {
        match connect(db.connect_options()?, db.patience()).await {
            Ok(pool) => return Ok(pool),
            Err(step_02_network::connect::ConnectError::GaveUp { .. }) => {
                tracing::warn!("Postgres still does not answer: the worker waits on");
            }
            Err(err) => return Err(err.into()),
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(queue::now_millis()).unwrap_or_default()
}
