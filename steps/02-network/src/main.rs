//! Step 02's binary: the survey with answers in Postgres.

use std::process::ExitCode;

use clap::Parser;
use step_02_network::{DbArgs, PgStore};

/// The cat survey, step 02: answers stored in Postgres, which may start after the app.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<survey::cli::Command>,
    #[command(flatten)]
    settings: survey::cli::Settings,
    #[command(flatten)]
    db: DbArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Cli {
        command,
        settings,
        db,
    } = Cli::parse();
    let open_store = async move { PgStore::open(&db).await.map_err(Into::into) };
    survey::cli::run(command, settings, open_store).await
}
