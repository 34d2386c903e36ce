//! Helpers for the end-to-end tests in `tests/`: the bad-input catalogue every store must
//! refuse, HTTP in memory and over the wire, a throwaway Postgres cluster, step binaries.

pub mod bad_input;
pub mod browser;
pub mod chart;
pub mod cluster;
pub mod commands;
pub mod hardening;
pub mod http;
pub mod inside;
pub mod load;
pub mod outside;
pub mod phase;
pub mod pictures;
pub mod process;
pub mod prometheus;
pub mod psql;
pub mod redis;
pub mod swarm_view;
pub mod wait;
pub mod xtask;
