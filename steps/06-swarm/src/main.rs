//! Step 06's binary: step 05's app and worker, with the Redis password read from a secret file
//! and the answering task shown on every page.

use std::process::ExitCode;

use clap::Parser;
use step_02_network::DbArgs;
use step_05_queue::{Command, queue::QueueArgs};
use step_06_swarm::SwarmArgs;
use survey::cli::Settings;

/// The cat survey, step 06: step 05's queue and workers, run as a Swarm stack.
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
    #[command(flatten)]
    swarm: SwarmArgs,
}

fn main() -> ExitCode {
    let Cli {
        command,
        settings,
        db,
        mut queue,
        swarm,
    } = Cli::parse();
    if let Some(file) = &swarm.redis_password_file {
        match step_06_swarm::with_password_file(&queue.redis_url, file) {
            Ok(url) => queue.redis_url = url,
            Err(err) => {
                survey::cli::init_logging(settings.log_format);
                return survey::cli::fail("could not use the Redis password", &err);
            }
        }
    }
    survey::pages::set_answered_by(step_06_swarm::answered_by(&swarm));
    step_05_queue::run(command, settings, db, queue)
}
