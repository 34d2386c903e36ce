//! What every step's binary shares: settings from flags or the environment, logging, the
//! `healthcheck` subcommand, and the start-up sequence. A step's `main` only says which store
//! it uses.

use std::{
    future::Future,
    io::IsTerminal,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::ExitCode,
};

use axum::Router;
use tracing_subscriber::EnvFilter;

use crate::{
    error::error_chain,
    healthcheck,
    routes::app,
    serve::serve,
    store::{BoxError, Store},
};

/// Settings every step takes. Each flag can also be set by the environment variable named
/// in `--help`, which is how Docker and Compose pass them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on: 0.0.0.0 in a container (so the published port reaches it),
    /// 127.0.0.1 to stay private to this machine.
    #[arg(long, env = "BIND_ADDR", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind_addr: IpAddr,

    /// Port to listen on. 5000 is the container port; the tutorial publishes it as 2154.
    #[arg(long, env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// Log format: `text` for people, `json` for log collectors. The level comes from
    /// RUST_LOG (default `info`; try `debug` or `survey=debug,sqlx=warn`).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Settings {
    /// The address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind_addr, self.port)
    }

    /// Where the `healthcheck` subcommand finds this server: itself, from inside the container.
    pub fn probe_addr(&self) -> SocketAddr {
        let ip = if self.bind_addr.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.bind_addr
        };
        SocketAddr::new(ip, self.port)
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// What to do; serving is the default.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Serve the survey (the default).
    Serve,
    /// Ask the server on PORT for /healthz and exit 0 if it is healthy, 1 if not
    /// (for Docker's HEALTHCHECK in images without curl).
    Healthcheck,
}

/// A step binary's command line: the shared [`Settings`] plus what the step adds (`Extra`,
/// e.g. step 02's database settings; [`NoExtra`] for none).
#[derive(Debug, clap::Parser)]
#[command(version)]
pub struct Cli<Extra: clap::Args> {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(flatten)]
    pub extra: Extra,
}

/// For a step that adds no settings of its own.
#[derive(Debug, Clone, clap::Args)]
pub struct NoExtra {}

/// The whole `main` of a step binary: parses the command line (with the step's one-line
/// description for `--help`), then runs the healthcheck, or opens the store with
/// `open_store` and serves until SIGTERM or Ctrl-C.
pub fn main<Extra, S, F>(about: &'static str, open_store: impl FnOnce(Extra) -> F) -> ExitCode
where
    Extra: clap::Args,
    S: Store,
    F: Future<Output = Result<S, BoxError>>,
{
    let matches = <Cli<Extra> as clap::CommandFactory>::command()
        .about(about)
        .get_matches();
    let cli = <Cli<Extra> as clap::FromArgMatches>::from_arg_matches(&matches)
        .unwrap_or_else(|err| err.exit());
    block_on(run(cli.command, cli.settings, open_store(cli.extra)))
}

/// Runs `future` to completion on a new multi-threaded runtime.
pub fn block_on(future: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(future),
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a step's binary: the healthcheck, or logging + `open_store` + serving until a signal.
/// `open_store` may take a while (step 02 waits for its database), so it runs after logging is
/// set up and its progress shows.
pub async fn run<S, F>(command: Option<Command>, settings: Settings, open_store: F) -> ExitCode
where
    S: Store,
    F: Future<Output = Result<S, BoxError>>,
{
    match command {
        Some(Command::Healthcheck) => healthcheck(&settings).await,
        Some(Command::Serve) | None => {
            serve_app(&settings, async { open_store.await.map(app) }).await
        }
    }
}

/// The `healthcheck` subcommand: 0 when `/healthz` of the server on PORT answers 200.
pub async fn healthcheck(settings: &Settings) -> ExitCode {
    let addr = settings.probe_addr();
    match healthcheck::probe(addr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("unhealthy: http://{addr}/healthz: {}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging, builds the router with `open` (which may wait for its storage), and serves
/// it until SIGTERM or Ctrl-C. For steps that add routes of their own to [`app`].
pub async fn serve_app<F>(settings: &Settings, open: F) -> ExitCode
where
    F: Future<Output = Result<Router, BoxError>>,
{
    init_logging(settings.log_format);
    // SIGTERM while still waiting for the database (`docker stop` of an app whose database
    // never came) stops it at once, not after Docker's grace period and a SIGKILL.
    let router = tokio::select! {
        opened = open => match opened {
            Ok(router) => router,
            Err(err) => return fail("could not open the store", &*err),
        },
        () = crate::serve::shutdown_signal() => {
            tracing::info!("stopped before it was ready");
            return ExitCode::SUCCESS;
        }
    };
    match serve(settings.listen_addr(), router).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail("could not serve", &err),
    }
}

/// Logs `err` with its causes and returns a failure exit code.
pub fn fail(what: &str, err: &(dyn std::error::Error + 'static)) -> ExitCode {
    tracing::error!(error = %error_chain(err), "{what}");
    ExitCode::FAILURE
}

/// Sets up logging to stdout (where `docker logs` looks), in the chosen format.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: `docker logs` and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    // A second call (tests start several apps in one process) keeps the first set-up.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    /// The command line holds together (clap checks it only in debug builds, at parse time).
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::<super::NoExtra>::command().debug_assert();
    }
}
