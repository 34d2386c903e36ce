//! The cat survey: the web app every step of the tutorial runs.
//!
//! A visitor names a cat, its coat and its favourite donut; the answer goes to a [`Store`].
//! Each step crate picks the store (in memory, Postgres, a queue) and the way it is deployed;
//! everything a visitor sees lives here.

pub mod answer;
pub mod cli;
pub mod error;
pub mod form;
pub mod healthcheck;
pub mod key;
pub mod metrics;
pub mod pages;
pub mod routes;
pub mod serve;
pub mod store;

pub use answer::{Answer, Submission};
pub use key::FormKey;
pub use routes::app;
pub use store::{AnswerPage, BoxError, Kept, Receipt, Store, StoreError};
