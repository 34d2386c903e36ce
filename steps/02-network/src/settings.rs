//! Where the database is and how long to wait for it, from flags or the environment.

use std::{path::PathBuf, time::Duration};

use sqlx::postgres::PgConnectOptions;

/// Database settings. Without `DATABASE_URL`, the libpq variables are read as `psql` would:
/// PGHOST (default localhost), PGPORT (5432), PGUSER (the OS user), PGPASSWORD, PGDATABASE
/// (the user name), PGSSLMODE.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Postgres URL, e.g. postgres://survey:secret@db:5432/survey. Its value never shows in --help.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding the database password (a Docker or Swarm secret); wins over any password
    /// in DATABASE_URL or PGPASSWORD. A trailing newline is ignored.
    #[arg(long, env = "PGPASSWORD_FILE")]
    pub password_file: Option<PathBuf>,

    /// Seconds to keep retrying the first connection (the database may still be starting).
    #[arg(long, env = "DB_CONNECT_TIMEOUT", default_value_t = 60)]
    pub db_connect_timeout: u64,
}

/// A database setting that cannot work, whatever we wait for.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    // sqlx's message is kept but not the URL itself: it may hold a password.
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    Url(String),
    #[error("cannot read the password file {path}")]
    PasswordFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DbArgs {
    /// Settings for a server at `url`, with a given patience (handy in tests).
    pub fn for_url(url: impl Into<String>, patience: Duration) -> Self {
        Self {
            database_url: Some(url.into()),
            password_file: None,
            db_connect_timeout: patience.as_secs(),
        }
    }

    /// How long to keep retrying the first connection.
    pub fn patience(&self) -> Duration {
        Duration::from_secs(self.db_connect_timeout)
    }

    /// The connection options these settings describe.
    pub fn connect_options(&self) -> Result<PgConnectOptions, SettingsError> {
        let options = match &self.database_url {
            Some(url) => url
                .parse::<PgConnectOptions>()
                .map_err(|err| SettingsError::Url(err.to_string()))?,
            None => PgConnectOptions::new(),
        };
        let options = match &self.password_file {
            Some(path) => {
                let password = std::fs::read_to_string(path).map_err(|source| {
                    SettingsError::PasswordFile {
                        path: path.clone(),
                        source,
                    }
                })?;
                options.password(password.trim_end_matches(['\n', '\r']))
            }
            None => options,
        };
        Ok(options.application_name("survey"))
    }
}
