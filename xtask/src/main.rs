//! `cargo xtask ...`: the tutorial's runner. Each command is a module with a `run`.

#[cfg(test)]
mod architecture;
mod bench;
mod catalogue;
mod codegen;
mod diff;
mod docker;
mod docs;
mod doctor;
mod exercise;
mod images;
mod interrupt;
mod launch;
mod report;
mod setup;
mod step;
mod test;
mod tools;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use xshell::Shell;

/// Runs, checks and tests the steps of the Docker orchestration tutorial.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build, launch, inspect, test or stop one step: `cargo xtask step 3 up`.
    Step(step::StepCmd),
    /// Make sure every image the steps need exists (official, or offline stand-ins).
    Images(images::ImagesCmd),
    /// Build the book (docs/) into target/book, checking everything it includes.
    Docs(docs::Docs),
    /// Exercises that check your own work: `cargo xtask exercise list`.
    Exercise(exercise::ExerciseCmd),
    /// Measure what a learner feels (up, edit, memory, sizes), and steps 04 and 05 under load.
    Bench(bench::Bench),
    /// Render generated files: the steps' Dockerfiles, the book's bench tables.
    Codegen(codegen::Codegen),
    /// Check the tools this project needs, and say how to get each missing one.
    Doctor(doctor::Doctor),
    /// Install the tools the steps and tests need that are missing (Debian, as root).
    Setup(setup::Setup),
    /// Run every check and test of the project (formatting, lints, all tests).
    Test(test::Test),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One readable line with its causes; no backtrace even when RUST_BACKTRACE is set.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match command {
        Command::Step(cmd) => cmd.run(&sh),
        Command::Images(cmd) => cmd.run(&sh),
        Command::Bench(cmd) => cmd.run(&sh),
        Command::Codegen(cmd) => cmd.run(&sh),
        Command::Docs(cmd) => cmd.run(&sh),
        Command::Doctor(cmd) => cmd.run(&sh),
        Command::Exercise(cmd) => cmd.run(&sh),
        Command::Setup(cmd) => cmd.run(&sh),
        Command::Test(cmd) => cmd.run(&sh),
    }
}

/// The workspace's root, where the runner works (xtask lives one level below it). Cargo
/// says at run time where the package it runs is: one runner binary may serve several
/// checkouts with the same sources (copies sharing a target folder), and the folder it was
/// compiled in may be gone. Run by hand, it knows where it was compiled.
pub fn project_root() -> std::path::PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    manifest_dir
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Where installs and daemons log to.
fn log_dir(sh: &Shell) -> anyhow::Result<std::path::PathBuf> {
    let dir = sh.current_dir().join("target/logs");
    sh.create_dir(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
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
