//! Where answers are kept: one small trait, implemented in memory by step 01 and on Postgres
//! by step 02, so the web code never knows which one it talks to.

use std::{error::Error as StdError, future::Future};

use crate::{answer::Answer, key::FormKey};

/// Any error a store implementation wants to report as the cause.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// How many answers the list page shows at once.
pub const PAGE_SIZE: u32 = 20;

/// Storage for survey answers. Cloning is cheap (a handle to shared state, like a pool).
pub trait Store: Clone + Send + Sync + 'static {
    /// What the thank-you page can truthfully say once [`Store::insert`] returned `Ok`.
    const RECEIPT: Receipt;

    /// Keeps one answer, sent with the form's `key`. When this returns [`Kept::Yes`], the
    /// answer is kept as [`Store::RECEIPT`] says: the visitor is only thanked after that. The
    /// same answer sent again with the same key is not kept twice (and is [`Kept::Yes`]);
    /// another answer with a key already kept is not kept, and says which answer is.
    fn insert(
        &self,
        key: FormKey,
        answer: &Answer,
    ) -> impl Future<Output = Result<Kept, StoreError>> + Send;

    /// Reads one page of answers, newest first. `number` counts from 1.
    fn page(&self, number: u32) -> impl Future<Output = Result<AnswerPage, StoreError>> + Send;

    /// Succeeds when the store can serve requests right now (the `/readyz` probe).
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What became of an answer sent with a form's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Kept as the store's [`Receipt`] says (or was already, sent before with this key).
    Yes,
    /// This form was sent before with another answer, the one kept under its key: the new
    /// one is not kept.
    Instead(Answer),
}

impl Kept {
    /// What a store that found `stored` under the key of `answer` did with it.
    pub fn of(stored: Answer, answer: &Answer) -> Self {
        if &stored == answer {
            Self::Yes
        } else {
            Self::Instead(stored)
        }
    }
}

/// How far an answer has got when the visitor is thanked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// In the memory of the app's process: gone when the process is.
    InMemory,
    /// Committed to the database.
    Stored,
    /// Safely on disk in a queue; a worker stores it shortly.
    Received,
}

impl Receipt {
    /// The thank-you page's sentence.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::InMemory => {
                "Your answer is kept in the app's memory (until its container is replaced)."
            }
            Self::Stored => "Your answer is stored.",
            Self::Received => {
                "Your answer is received: it is safely queued, and shows in the list as soon as a worker has stored it."
            }
        }
    }
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
    nothing_kept: bool,
    #[source]
    source: BoxError,
}

impl StoreError {
    /// Wraps a store's own error with what it was doing, e.g. `"inserting an answer"`. Whether
    /// an answer was kept is not known: a connection lost after the write but before its
    /// reply looks the same as one lost before it.
    pub fn new(action: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            action,
            nothing_kept: false,
            source: source.into(),
        }
    }

    /// Like [`StoreError::new`], when the store knows nothing was kept (the request never
    /// left, or the store refused it).
    pub fn nothing_kept(action: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            nothing_kept: true,
            ..Self::new(action, source)
        }
    }

    /// Whether the store knows that nothing was kept.
    pub fn is_nothing_kept(&self) -> bool {
        self.nothing_kept
    }
}

/// The offset of the first answer on page `number` (counted from 1).
pub fn page_offset(number: u32) -> u64 {
    u64::from(number.saturating_sub(1)) * u64::from(PAGE_SIZE)
}
