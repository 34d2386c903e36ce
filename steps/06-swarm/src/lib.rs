//! Step 06: step 05's app and workers, run as a Swarm stack. The program is step 05's; what
//! this lesson adds to it:
//!
//! - the Redis password read from a file (a Swarm secret mounted under `/run/secrets`), as
//!   step 02 reads the database's with `PGPASSWORD_FILE`, so that no password is in an
//!   environment variable or in `docker service inspect`;
//! - a line at the foot of every page saying which task and which version answered, so that
//!   a learner sees the proxy spread requests over the replicas and a rolling update happen;
//! - [`view`]: a live page of the swarm, its nodes, tasks and answers (`up --observe`).

pub mod view;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::Parser;
use step_02_network::DbArgs;
use step_05_queue::{Command, queue::QueueArgs};
use survey::cli::Settings;

/// The cat survey, step 06: step 05's queue and workers, run as a Swarm stack.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<StepCommand>,
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    queue: QueueArgs,
    #[command(flatten)]
    swarm: SwarmArgs,
}

/// Step 05's commands, and the view of the swarm.
#[derive(Debug, clap::Subcommand)]
enum StepCommand {
    #[command(flatten)]
    Queue(Command),
    /// Serve a live view of the swarm at /swarm, read through the Docker API's filter.
    View(view::ViewArgs),
    /// Time the view's work on a made-up swarm (one look: read, picture, page), as JSON.
    ViewTiming(view::timing::TimingArgs),
}

/// The binary: step 05's, with the Redis password read from a secret file and the answering
/// task shown on every page; or the view of the swarm.
pub fn main() -> ExitCode {
    let Cli {
        command,
        settings,
        db,
        mut queue,
        swarm,
    } = Cli::parse();
    let command = match command {
        Some(StepCommand::View(args)) => return view::run(settings, args),
        Some(StepCommand::ViewTiming(args)) => return view::timing::run(&args),
        Some(StepCommand::Queue(command)) => Some(command),
        None => None,
    };
    if let Some(file) = &swarm.redis_password_file {
        match with_password_file(&queue.redis_url, file) {
            Ok(url) => queue.redis_url = url,
            Err(err) => {
                survey::cli::init_logging(settings.log_format);
                return survey::cli::fail("could not use the Redis password", &err);
            }
        }
    }
    survey::pages::set_answered_by(answered_by(&swarm));
    step_05_queue::run(command, settings, db, queue)
}

/// Where this step's extra settings come from.
#[derive(Debug, Clone, clap::Args)]
pub struct SwarmArgs {
    /// File holding the Redis password (a Swarm secret); it goes into REDIS_URL. A trailing
    /// newline is ignored.
    #[arg(long, env = "REDIS_PASSWORD_FILE")]
    pub redis_password_file: Option<PathBuf>,

    /// The task's name, for the foot of the page (the stack sets it to SERVICE.SLOT).
    #[arg(long, env = "TASK_NAME")]
    pub task_name: Option<String>,

    /// The node the task runs on, for the foot of the page (the stack sets it).
    #[arg(long, env = "NODE_NAME")]
    pub node_name: Option<String>,

    /// The version of the app, for the foot of the page (each image sets its own). Not
    /// `--version`, which prints the program's.
    #[arg(
        id = "survey_version",
        long = "survey-version",
        env = "SURVEY_VERSION",
        default_value = "1"
    )]
    pub version: String,
}

/// Why the Redis password could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the Redis password file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("REDIS_URL is not a valid URL")]
    Url(#[source] url::ParseError),
    #[error("REDIS_URL cannot carry a password")]
    NoPassword,
}

// ANCHOR: password_file
/// `redis_url` with the password in `file` put into it.
pub fn with_password_file(redis_url: &str, file: &Path) -> Result<String, SecretError> {
    let password = std::fs::read_to_string(file).map_err(|source| SecretError::Read {
        path: file.to_owned(),
        source,
    })?;
    let mut url = url::Url::parse(redis_url).map_err(SecretError::Url)?;
    url.set_password(Some(password.trim_end_matches(['\r', '\n'])))
        .map_err(|()| SecretError::NoPassword)?;
    Ok(url.into())
}
// ANCHOR_END: password_file

/// What the foot of every page says, e.g. "task survey-06_app.2 on node vm, version 1".
pub fn answered_by(args: &SwarmArgs) -> String {
    let task = args.task_name.as_ref().map(|task| format!("task {task}"));
    let node = args
        .node_name
        .as_ref()
        .map(|node| format!("on node {node}"));
    let who: Vec<String> = task.into_iter().chain(node).collect();
    match who.as_slice() {
        [] => format!("version {}", args.version),
        _ => format!("{}, version {}", who.join(" "), args.version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line holds together (clap checks it only in debug builds, at parse time).
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// The password lands in the URL, percent-encoded, without the file's newline.
    #[test]
    fn password_from_a_file() {
        let dir = std::env::temp_dir().join(format!("redis-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let file = dir.join("redis-password");
        std::fs::write(&file, "s3cret/with@odd:chars\n").expect("write");
        let url = with_password_file("redis://redis:6379", &file).expect("a URL");
        assert_eq!(url, "redis://:s3cret%2Fwith%40odd%3Achars@redis:6379");
        std::fs::remove_dir_all(&dir).expect("clean up");
        let missing = with_password_file("redis://redis:6379", &dir.join("nothing"));
        assert!(matches!(missing, Err(SecretError::Read { .. })));
    }
}
