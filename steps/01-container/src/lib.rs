//! Step 01: answers kept in the memory of the process.
//!
//! Good enough to see the page work in a container, and a good way to learn why we need a
//! database: replace the container and every answer is gone.

use std::{
    collections::HashSet,
    sync::{Arc, PoisonError, RwLock},
};

use survey::{
    Answer, AnswerPage, FormKey, Receipt, Store, StoreError,
    store::{PAGE_SIZE, page_offset},
};

/// Answers in a `Vec`, oldest first, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    kept: Arc<RwLock<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    answers: Vec<Answer>,
    /// The key of every answer kept, so a form sent twice is kept once.
    keys: HashSet<FormKey>,
}

impl Store for MemoryStore {
    const RECEIPT: Receipt = Receipt::InMemory;

    async fn insert(&self, key: FormKey, answer: &Answer) -> Result<(), StoreError> {
        // A panic while holding the lock cannot leave a half-written answer (the key goes in
        // last), so a poisoned lock is still safe to use.
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if !kept.keys.contains(&key) {
            kept.answers.push(answer.clone());
            kept.keys.insert(key);
        }
        Ok(())
    }

    async fn page(&self, number: u32) -> Result<AnswerPage, StoreError> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let answers = &kept.answers;
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
