//! Where answers are kept: one small trait, implemented in memory by step 01 and on Postgres
//! by step 02, so the web code never knows which one it talks to.

use std::{error::Error as StdError, future::Future};

use crate::answer::Answer;

/// Any error a store implementation wants to report as the cause.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// How many answers the list page shows at once.
pub const PAGE_SIZE: u32 = 20;

/// Storage for survey answers. Cloning is cheap (a handle to shared state, like a pool).
pub trait Store: Clone + Send + Sync + 'static {
    /// Stores one answer. When this returns `Ok`, the answer is stored durably: the visitor is
    /// only thanked after that.
    fn insert(&self, answer: &Answer) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads one page of answers, newest first. `number` counts from 1.
    fn page(&self, number: u32) -> impl Future<Output = Result<AnswerPage, StoreError>> + Send;

    /// Succeeds when the store can serve requests right now (the `/readyz` probe).
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One page of the answer list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerPage {
    /// Newest first, at most [`PAGE_SIZE`].
    pub answers: Vec<Answer>,
    /// How many answers are stored in all.
    pub total: u64,
}

/// A store that could not do what was asked; the web layer answers 503 and logs the cause.
#[derive(Debug, thiserror::Error)]
#[error("{action} failed")]
pub struct StoreError {
    action: &'static str,
    #[source]
    source: BoxError,
}

impl StoreError {
    /// Wraps a store's own error with what it was doing, e.g. `"inserting an answer"`.
    pub fn new(action: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            action,
            source: source.into(),
        }
    }
}

/// The offset of the first answer on page `number` (counted from 1).
pub fn page_offset(number: u32) -> u64 {
    u64::from(number.saturating_sub(1)) * u64::from(PAGE_SIZE)
}
