//! Step 05's binary: the app (`serve`, the default) or a worker (`worker`), one image for both.

use std::process::ExitCode;

use clap::Parser;
use step_02_network::DbArgs;
use step_05_queue::{Command, queue::QueueArgs};
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

fn main() -> ExitCode {
    let Cli {
        command,
        settings,
        db,
        queue,
    } = Cli::parse();
    step_05_queue::run(command, settings, db, queue)
}

#[cfg(test)]
mod tests {
    /// The command line holds together (clap checks it only in debug builds, at parse time).
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
