//! Step 01: answers kept in the memory of the process.
//!
//! Good enough to see the page work in a container, and a good way to learn why we need a
//! database: replace the container and every answer is gone.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use survey::{
    Answer, AnswerPage, FormKey, Kept, Receipt, Store, StoreError,
    store::{PAGE_SIZE, page_offset},
};

/// Answers in a `Vec`, oldest first, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    kept: Arc<RwLock<Held>>,
}

#[derive(Debug, Default)]
struct Held {
    answers: Vec<Answer>,
    /// The key of every answer kept, and where it is, so a form sent twice is kept once.
    keys: HashMap<FormKey, usize>,
}

impl Store for MemoryStore {
    const RECEIPT: Receipt = Receipt::InMemory;

    async fn insert(&self, key: FormKey, answer: &Answer) -> Result<Kept, StoreError> {
        // A panic while holding the lock cannot leave a half-written answer (the key goes in
        // last), so a poisoned lock is still safe to use.
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&at) = kept.keys.get(&key) {
            return Ok(Kept::of(kept.answers[at].clone(), answer));
        }
        kept.answers.push(answer.clone());
        let at = kept.answers.len() - 1;
        kept.keys.insert(key, at);
        Ok(Kept::Yes)
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
