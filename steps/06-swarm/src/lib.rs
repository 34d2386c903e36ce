//! Step 06: step 05's app and workers, run as a Swarm stack. The program is step 05's; what
//! this lesson adds to it:
//!
//! - the Redis password read from a file (a Swarm secret mounted under `/run/secrets`), as
//!   step 02 reads the database's with `PGPASSWORD_FILE`, so that no password is in an
//!   environment variable or in `docker service inspect`;
//! - a line at the foot of every page saying which task and which version answered, so that
//!   a learner sees the proxy spread requests over the replicas and a rolling update happen.

use std::path::{Path, PathBuf};

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

    /// The version of the app, for the foot of the page (each image sets its own).
    #[arg(long, env = "SURVEY_VERSION", default_value = "1")]
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

/// What the foot of every page says, e.g. "task survey-06_app.2, version 1".
pub fn answered_by(args: &SwarmArgs) -> String {
    match &args.task_name {
        Some(task) => format!("task {task}, version {}", args.version),
        None => format!("version {}", args.version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
