//! Step 01: answers kept in the memory of the process.
//!
//! Good enough to see the page work in a container, and a good way to learn why we need a
//! database: replace the container and every answer is gone.

use std::sync::{Arc, PoisonError, RwLock};

use survey::{
    Answer, AnswerPage, Store, StoreError,
    store::{PAGE_SIZE, page_offset},
};

/// Answers in a `Vec`, oldest first, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    answers: Arc<RwLock<Vec<Answer>>>,
}

impl Store for MemoryStore {
    async fn insert(&self, answer: &Answer) -> Result<(), StoreError> {
        // A panic while holding the lock cannot leave a half-written answer in a Vec push,
        // so a poisoned lock is still safe to use.
        let mut answers = self.answers.write().unwrap_or_else(PoisonError::into_inner);
        answers.push(answer.clone());
        Ok(())
    }

    async fn page(&self, number: u32) -> Result<AnswerPage, StoreError> {
        let answers = self.answers.read().unwrap_or_else(PoisonError::into_inner);
        let skip = usize::try_from(page_offset(number)).unwrap_or(usize::MAX);
        Ok(AnswerPage {
            answers: answers
                .iter()
                .rev()
                .skip(skip)
                .take(PAGE_SIZE as usize)
                .cloned()
                .collect(),
            total: answers.len() as u64,
        })
    }

    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
