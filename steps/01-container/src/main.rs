//! Step 01's binary: the survey with an in-memory store.

use std::process::ExitCode;

use clap::Parser;
use step_01_container::MemoryStore;

/// The cat survey, step 01: answers kept in memory (gone when the container is replaced).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<survey::cli::Command>,
    #[command(flatten)]
    settings: survey::cli::Settings,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    survey::cli::run(cli.command, cli.settings, async {
        Ok(MemoryStore::default())
    })
    .await
}
