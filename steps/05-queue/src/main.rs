//! Step 05's binary: the app (`serve`, the default) or a worker (`worker`), one image for both.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use step_02_network::DbArgs;
use step_05_queue::{queue::QueueArgs, worker::WorkerArgs};
use survey::cli::Settings;

/// The cat survey, step 05: answers queued in Redis, stored in Postgres by a pool of workers.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    queue: QueueArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
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

fn main() -> ExitCode {
    let Cli {
        command,
        settings,
        db,
        queue,
    } = Cli::parse();
    survey::cli::block_on(async move {
        match command {
            Some(Command::Healthcheck) => survey::cli::healthcheck(&settings).await,
            Some(Command::DeadLetters { replay }) => {
                step_05_queue::run_dead_letters(&queue, replay).await
            }
            Some(Command::Worker(args)) => {
                step_05_queue::run_worker(settings, db, queue, args).await
            }
            Some(Command::Serve) | None => {
                survey::cli::serve_app(&settings, step_05_queue::open_app(db, queue)).await
            }
        }
    })
}
