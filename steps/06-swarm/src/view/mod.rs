//! `view`: a live page of the swarm, served by the stack at `/swarm` behind its proxy: every
//! node and the tasks placed on it, every service's replicas and rolling update, and the
//! answers flowing. It reads the Docker API only through a filter that allows a few reads
//! (`compose/swarm-view/docker-api.cfg`), the proxy's counters, and the app's
//! `/status.json`: it mounts no socket and holds no secret.
//!
//! - [`engine`]: the Docker API's nodes, services and tasks.
//! - [`traffic`]: the proxy's counters and the queue's numbers.
//! - [`picture`]: what the page shows, made from those.
//! - [`page`]: the page, and the events that keep it up to date.
//! - [`timing`]: the view's own work timed on a [`simulated`] swarm of a hundred tasks.

pub mod engine;
mod fetch;
pub mod page;
pub mod picture;
pub mod simulated;
pub mod timing;
pub mod traffic;
mod watch;

use std::{process::ExitCode, time::Duration};

use survey::cli::Settings;

/// Where the view reads from.
#[derive(Debug, Clone, clap::Args)]
pub struct ViewArgs {
    /// The Docker API, through the filter that allows only reads of the swarm.
    #[arg(long, env = "DOCKER_API", default_value = "http://docker-api:2375")]
    pub docker_api: String,

    /// The proxy's statistics, as CSV.
    #[arg(
        long,
        env = "PROXY_STATS",
        default_value = "http://proxy:8404/stats;csv"
    )]
    pub proxy_stats: String,

    /// The app's queue status (step 05's `/status.json`).
    #[arg(
        long,
        env = "SURVEY_STATUS",
        default_value = "http://app:5000/status.json"
    )]
    pub survey_status: String,

    /// The stack whose services are shown (empty: every service of the swarm).
    #[arg(long, env = "STACK", default_value = "")]
    pub stack: String,

    /// How often to look, in milliseconds.
    #[arg(long, env = "VIEW_EVERY_MS", default_value_t = 500)]
    pub every_ms: u64,
}

impl ViewArgs {
    fn every(&self) -> Duration {
        Duration::from_millis(self.every_ms.max(100))
    }
}

/// The `view` subcommand: looks at the swarm every so often, and serves the page until
/// SIGTERM or Ctrl-C.
pub fn run(settings: Settings, args: ViewArgs) -> ExitCode {
    survey::cli::block_on(async move {
        survey::cli::init_logging(settings.log_format);
        let (pictures, latest) = tokio::sync::watch::channel(page::Rendered::default());
        let looking = tokio::spawn(watch::look(args, pictures));
        let served = survey::serve::serve(settings.listen_addr(), page::routes(latest)).await;
        looking.abort();
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => survey::cli::fail("could not serve the view", &err),
        }
    })
}
