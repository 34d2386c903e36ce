//! Where a learner is: a small TOML file at the project's root, theirs to read and to delete
//! (deleted, every exercise is new again; the files keep what was written in them).

use std::collections::BTreeMap;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use xshell::Shell;

/// The file, from the project's root (git ignores it).
pub const FILE: &str = "exercise-progress.toml";

const HEADER: &str = "# Your progress in `cargo xtask exercise`. Delete this file to start over (your edits stay).\n\n";

/// Every exercise started, by id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    exercises: BTreeMap<String, Entry>,
}

/// One exercise's state.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub state: State,
    /// How many hints were shown.
    #[serde(default)]
    pub hints: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Started,
    /// Its check passed.
    Done,
    /// The reference solution was put in place.
    Solved,
}

impl Progress {
    /// The file as it is, or no progress if there is none.
    pub fn load(sh: &Shell) -> anyhow::Result<Self> {
        let Ok(text) = sh.read_file(FILE) else {
            return Ok(Self::default());
        };
        toml::from_str(&text).with_context(|| {
            format!("{FILE} does not read as progress: fix it, or delete it to start over")
        })
    }

    pub fn save(&self, sh: &Shell) -> anyhow::Result<()> {
        let text = toml::to_string(self).context("writing the progress")?;
        sh.write_file(FILE, format!("{HEADER}{text}"))
            .with_context(|| format!("writing {FILE}"))
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.exercises.get(id)
    }

    /// The entry of `id`, made if it has none.
    pub fn entry(&mut self, id: &str) -> &mut Entry {
        self.exercises.entry(id.to_owned()).or_default()
    }
}
