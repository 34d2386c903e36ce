//! Step 02: answers in Postgres, in a second container on a network made by hand.
//!
//! What this step's code adds: waiting for a database that may start after the app
//! ([`connect`]), a pool of connections that costs no round trip per answer
//! ([`connections`]), settings from the environment including a password file for secrets
//! ([`settings`]), and the Postgres store with its migration ([`store`]).

pub mod connect;
pub mod connections;
pub mod settings;
pub mod store;

pub use settings::DbArgs;
pub use store::PgStore;

/// The schema, from `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The step-02 app's whole `main`: database settings on top of the shared ones, the Postgres
/// store, serving. Later steps whose lesson is all Docker run exactly this app.
pub fn main(about: &'static str) -> std::process::ExitCode {
    survey::cli::main(about, |db: DbArgs| async move {
        PgStore::open(&db).await.map_err(Into::into)
    })
}
