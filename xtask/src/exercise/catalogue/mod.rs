//! Every exercise, as data: the step it belongs to, the file it is done in, how its starting
//! point differs from the file as the project ships it (which is its solution), what the
//! check looks at, and the hints. A file per part of the tutorial.

mod compose;
mod hand;
mod image;
mod swarm;

use super::parsed::Parsed;
pub use super::running::Runs;

/// One exercise.
pub struct Exercise {
    /// What the learner types: `03-wait-for-the-database`.
    pub id: &'static str,
    /// The step (and chapter) it belongs to.
    pub step: u8,
    /// The task, as an order: "Start the app only once Postgres is healthy".
    pub task: &'static str,
    /// Why it matters, in a sentence, for the book and `start`.
    pub teaches: &'static str,
    /// The file it is done in, from the project's root: the one the step's commands use.
    pub file: &'static str,
    /// The passage of the shipped file that the starting point changes.
    pub solved: &'static str,
    /// What the starting point has in its place.
    pub start: &'static str,
    /// What must hold in the file for the exercise to be done.
    pub checks: &'static [Check],
    /// And in the running step, once the file is right (`up` applied it).
    pub runs: &'static [Runs],
    /// Shown one more each time `hint` is asked.
    pub hints: &'static [&'static str],
}

/// One thing the check looks at.
pub struct Check {
    /// What holds when it passes, said as a fact: "the app waits until the database is healthy".
    pub holds: &'static str,
    /// `Err` says what is wrong instead, why it matters, and what fixes it.
    pub test: fn(&Parsed) -> Result<(), String>,
}

/// The exercises, in the tutorial's order.
pub fn all() -> impl Iterator<Item = &'static Exercise> {
    image::EXERCISES
        .iter()
        .chain(hand::EXERCISES)
        .chain(compose::EXERCISES)
        .chain(swarm::EXERCISES)
}

/// The exercise `id`, or an error listing the ones there are.
pub fn find(id: &str) -> anyhow::Result<&'static Exercise> {
    all().find(|e| e.id == id).ok_or_else(|| {
        let ids: Vec<&str> = all().map(|e| e.id).collect();
        anyhow::anyhow!(
            "there is no exercise `{id}`; there are: {} (`cargo xtask exercise list` says what each is)",
            ids.join(", ")
        )
    })
}

/// A check of a Compose config: `test` gets the resolved config.
fn compose_only(parsed: &Parsed) -> Result<&serde_json::Value, String> {
    match parsed {
        Parsed::Compose(config) => Ok(config),
        _ => Err("this check reads a Compose file".to_owned()),
    }
}

/// A check of a Dockerfile.
fn dockerfile_only(parsed: &Parsed) -> Result<&super::parsed::Dockerfile, String> {
    match parsed {
        Parsed::Dockerfile(file) => Ok(file),
        _ => Err("this check reads a Dockerfile".to_owned()),
    }
}

/// A check of a script of docker commands.
fn script_only(parsed: &Parsed) -> Result<&super::parsed::Script, String> {
    match parsed {
        Parsed::Script(script) => Ok(script),
        _ => Err("this check reads a script".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::all;

    /// An id is unique and begins with its step's number (`03-...`), as the book and the
    /// tests read it; every exercise has a check and a hint.
    #[test]
    fn ids_are_unique_and_name_their_step() {
        let mut seen = std::collections::HashSet::new();
        for exercise in all() {
            assert!(seen.insert(exercise.id), "{} twice", exercise.id);
            assert!(
                exercise.id.starts_with(&format!("{:02}-", exercise.step)),
                "{} is not named for step {}",
                exercise.id,
                exercise.step
            );
            assert!(
                !exercise.checks.is_empty() && !exercise.hints.is_empty(),
                "{} has no check or no hint",
                exercise.id
            );
        }
    }
}
