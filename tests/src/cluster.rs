//! A throwaway Postgres cluster that a test can start whenever it likes: the way to test an
//! app that starts before its database. The cluster itself is the `throwaway-postgres` crate,
//! which `cargo xtask test` also uses; here a failure is a panic, as tests want.

/// A cluster in a private temporary folder with a random password, stopped and deleted on drop.
#[derive(Debug)]
pub struct TempCluster(throwaway_postgres::Cluster);

impl TempCluster {
    /// Makes the cluster (initdb, about a second) without starting it.
    pub fn init() -> Self {
        Self(throwaway_postgres::Cluster::init(None).unwrap_or_else(|err| panic!("{err}")))
    }

    /// A URL for the `postgres` database as the `survey` superuser, with its password.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        self.0.start().unwrap_or_else(|err| panic!("{err}"));
    }

    /// Stops the server; `start` starts it again on the same port.
    pub fn stop(&mut self) {
        self.0.stop().unwrap_or_else(|err| panic!("{err}"));
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    throwaway_postgres::free_port().expect("a free port on 127.0.0.1")
}
