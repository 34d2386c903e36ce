//! `cargo xtask exercise`: tasks done in a step's own files (its Dockerfile, its Compose or
//! stack file), each checked. `start` puts a starting point in the file the step's commands
//! use (a passage with a gap or a fault), `check` says what holds and what does not, and why,
//! `watch` checks again on every save. The file as the project ships it is each exercise's
//! solution; `verify` proves, for every exercise, that its starting point fails its check and
//! its solution passes.
//!
//! - `catalogue/`: the exercises, as data;
//! - `parsed.rs`: a file as the checks read it (Compose's own reading of a Compose file);
//! - `progress.rs`: where the learner is, in a file of theirs;
//! - `running.rs`: what runs, as the checks of a running step ask Docker;
//! - `verify.rs`: the proof that every exercise fails as started and passes as solved;
//! - `watch.rs`: checking again on every save;
//! - `book.rs`: each chapter's "Try it yourself", rendered for the book.

pub mod book;
mod catalogue;
mod parsed;
mod progress;
mod running;
mod verify;
mod watch;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{catalogue::Step, launch::Instance};
use catalogue::Exercise;
use progress::{Progress, State};

/// Exercises that check your own work: `cargo xtask exercise list`.
#[derive(Debug, clap::Args)]
pub struct ExerciseCmd {
    #[command(subcommand)]
    action: Action,
    /// The copy of the step whose running part is checked (as given to `step N --project`).
    #[arg(long, global = true)]
    project: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Every exercise, its chapter, and whether you have done it.
    List,
    /// Put an exercise's starting point in its file (your other edits there stay).
    Start {
        id: String,
        /// Put the file back as the project ships it first, even over your own edits.
        #[arg(long)]
        force: bool,
    },
    /// Check your work: what holds, what does not yet and why. Exits 0 only when all holds.
    Check { id: String },
    /// One more hint each time.
    Hint { id: String },
    /// Put the reference solution in place (it replaces your edits of the exercise's passage).
    Solve { id: String },
    /// Put the starting point back, to begin again.
    Reset { id: String },
    /// Check again on every save of the exercise's file, until all holds (Ctrl-C stops).
    Watch { id: String },
    /// For maintainers: every starting point fails its check, every solution passes (with
    /// `--project`, in the running copy of `--step` too).
    #[command(hide = true)]
    Verify {
        #[arg(long)]
        step: Option<u8>,
    },
}

impl ExerciseCmd {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let project = Project(self.project);
        match self.action {
            Action::List => list(sh),
            Action::Start { id, force } => start(sh, catalogue::find(&id)?, force),
            Action::Check { id } => {
                let exercise = started(sh, &id)?;
                check_and_record(sh, exercise, &project)
            }
            Action::Hint { id } => hint(sh, started(sh, &id)?),
            Action::Solve { id } => solve(sh, catalogue::find(&id)?, &project),
            Action::Reset { id } => reset(sh, catalogue::find(&id)?),
            Action::Watch { id } => watch::run(sh, started(sh, &id)?, &project),
            Action::Verify { step } => verify::run(sh, step, &project),
        }
    }
}

fn list(sh: &Shell) -> anyhow::Result<()> {
    let progress = Progress::load(sh)?;
    let width = catalogue::all().map(|e| e.id.len()).max().unwrap_or(0);
    let mut done = 0;
    for exercise in catalogue::all() {
        let state = match progress.get(exercise.id).map(|e| e.state) {
            Some(State::Done) => {
                done += 1;
                "done"
            }
            Some(State::Solved) => "solved",
            Some(State::Started) => "started",
            None => "",
        };
        println!(
            "{:<width$}  step {}  {state:<7}  {}",
            exercise.id, exercise.step, exercise.task
        );
    }
    let total = catalogue::all().count();
    println!(
        "\n{done} of {total} done. Begin one with `cargo xtask exercise start ID`; your progress is in {} (delete it to start over).",
        progress::FILE
    );
    Ok(())
}

/// The exercise `id`, once `start` has been run for it.
fn started(sh: &Shell, id: &str) -> anyhow::Result<&'static Exercise> {
    let exercise = catalogue::find(id)?;
    if Progress::load(sh)?.get(id).is_none() {
        bail!(
            "{id} is not started: `cargo xtask exercise start {id}` puts its starting point in {}",
            exercise.file
        );
    }
    Ok(exercise)
}

fn start(sh: &Shell, exercise: &Exercise, force: bool) -> anyhow::Result<()> {
    let text = read(sh, exercise.file)?;
    let mut progress = Progress::load(sh)?;
    let from = if text.matches(exercise.solved).count() == 1 {
        text
    } else if !force
        && progress
            .get(exercise.id)
            .is_some_and(|e| e.state == State::Started)
    {
        println!(
            "{} is started already: edit {}, then `cargo xtask exercise check {0}` (`reset {0}` begins again).",
            exercise.id, exercise.file
        );
        return Ok(());
    } else if force {
        println!(
            "Putting {} back as the project ships it first.",
            exercise.file
        );
        shipped(sh, exercise)?
    } else {
        bail!(
            "the passage of {} that {} starts from has changed (your edits, or another exercise's starting point; `git diff {0}` shows them): \
             `cargo xtask exercise start {1} --force` puts the file back as shipped first, replacing them",
            exercise.file,
            exercise.id
        );
    };
    write(
        sh,
        exercise.file,
        &from.replacen(exercise.solved, exercise.start, 1),
    )?;
    *progress.entry(exercise.id) = progress::Entry::default();
    progress.save(sh)?;
    println!(
        "{}: {}.\n{}\n",
        exercise.id, exercise.task, exercise.teaches
    );
    println!(
        "The starting point is in {}. Edit it, then `cargo xtask exercise check {}` says what holds and what does not \
         (`watch {1}` checks on every save, `hint {1}` helps).",
        exercise.file, exercise.id
    );
    Ok(())
}

/// Checks the exercise and says how it went; records it done when all holds, and fails
/// when something does not.
fn check_and_record(sh: &Shell, exercise: &Exercise, project: &Project) -> anyhow::Result<()> {
    if !check(sh, exercise, project)? {
        bail!(
            "{} is not done yet: what is marked above does not hold",
            exercise.id
        );
    }
    let mut progress = Progress::load(sh)?;
    progress.entry(exercise.id).state = State::Done;
    progress.save(sh)?;
    let next = catalogue::all().find(|e| {
        progress.get(e.id).is_none_or(|e| e.state == State::Started) && e.id != exercise.id
    });
    println!("\n{} is done.", exercise.id);
    if let Some(next) = next {
        println!("Next: `cargo xtask exercise start {}`.", next.id);
    }
    Ok(())
}

/// Prints what holds and what does not, in the exercise's file and then in the running
/// step; true when all holds.
fn check(sh: &Shell, exercise: &Exercise, project: &Project) -> anyhow::Result<bool> {
    let (said, all_holds) = checked(sh, exercise, project)?;
    print!("{said}");
    Ok(all_holds)
}

/// What [`check`] prints, and whether all holds.
fn checked(sh: &Shell, exercise: &Exercise, project: &Project) -> anyhow::Result<(String, bool)> {
    let text = read(sh, exercise.file)?;
    let mut said = format!("Checking {} in {}:\n", exercise.id, exercise.file);
    let mut failures = match findings(sh, exercise, &text) {
        Ok(findings) => said_of(&mut said, findings),
        Err(unreadable) => {
            said.push_str(&format!("  ✗ {unreadable:#}\n"));
            1
        }
    };
    if exercise.runs.is_empty() {
        return Ok((said, failures == 0));
    }
    if failures > 0 {
        said.push_str("  · what runs is checked once the file is right\n");
        return Ok((said, false));
    }
    let copy = project.of(sh, exercise)?;
    let n = exercise.step;
    match copy.launcher().running(&copy) {
        Ok(true) => {
            let runs = exercise
                .runs
                .iter()
                .map(|r| (r.holds, (r.test)(&copy)))
                .collect();
            failures += said_of(&mut said, runs);
        }
        Ok(false) => {
            said.push_str(&format!(
                "  ○ what runs: step {n} is not up ({}); `cargo xtask step {n} up` starts it from your file, then check again\n",
                copy.project
            ));
            failures += 1;
        }
        Err(err) => {
            said.push_str(&format!(
                "  ○ what runs: Docker does not say ({err:#}); `cargo xtask doctor`\n"
            ));
            failures += 1;
        }
    }
    Ok((said, failures == 0))
}

/// Appends a line (and why, when it fails) per finding; returns how many fail.
fn said_of(said: &mut String, findings: Vec<(&str, Result<(), String>)>) -> usize {
    let mut failing = 0;
    for (holds, finding) in findings {
        match finding {
            Ok(()) => said.push_str(&format!("  ✓ {holds}\n")),
            Err(why) => {
                said.push_str(&format!("  ✗ {holds}: not yet.\n    {why}\n"));
                failing += 1;
            }
        }
    }
    failing
}

/// The copy of a step whose running part a check looks at: `--project`, or the step's own.
#[derive(Debug, Clone, Default)]
pub struct Project(Option<String>);

impl Project {
    fn of<'a>(&self, sh: &'a Shell, exercise: &Exercise) -> anyhow::Result<Instance<'a>> {
        let step = Step::find(exercise.step)?;
        let project = self.0.clone().unwrap_or_else(|| step.default_project());
        Ok(Instance::new(sh, step, project))
    }
}

/// Each check of `exercise` on `text`: what it says holds, and whether it does. `Err` when
/// `text` does not parse.
fn findings(
    sh: &Shell,
    exercise: &Exercise,
    text: &str,
) -> anyhow::Result<Vec<(&'static str, Result<(), String>)>> {
    let parsed = parsed::parse(sh, exercise.file, text)?;
    Ok(exercise
        .checks
        .iter()
        .map(|check| (check.holds, (check.test)(&parsed)))
        .collect())
}

fn hint(sh: &Shell, exercise: &Exercise) -> anyhow::Result<()> {
    let mut progress = Progress::load(sh)?;
    let entry = progress.entry(exercise.id);
    entry.hints = (entry.hints + 1).min(exercise.hints.len());
    let shown = entry.hints;
    progress.save(sh)?;
    for (n, hint) in exercise.hints.iter().take(shown).enumerate() {
        println!("Hint {}: {hint}", n + 1);
    }
    if shown == exercise.hints.len() {
        println!(
            "That is every hint. `cargo xtask exercise solve {}` puts the solution in place.",
            exercise.id
        );
    }
    Ok(())
}

fn solve(sh: &Shell, exercise: &Exercise, project: &Project) -> anyhow::Result<()> {
    let text = read(sh, exercise.file)?;
    let solved = if text.contains(exercise.solved) {
        text
    } else if !exercise.start.is_empty() && text.matches(exercise.start).count() == 1 {
        println!(
            "Putting the solution of {} in {}, in place of its starting point.",
            exercise.id, exercise.file
        );
        text.replacen(exercise.start, exercise.solved, 1)
    } else {
        println!(
            "Putting {} back as the project ships it: that is the solution of {}, and it replaces your edits there (`git diff` showed them).",
            exercise.file, exercise.id
        );
        shipped(sh, exercise)?
    };
    write(sh, exercise.file, &solved)?;
    let mut progress = Progress::load(sh)?;
    progress.entry(exercise.id).state = State::Solved;
    progress.save(sh)?;
    check(sh, exercise, project).map(drop)
}

fn reset(sh: &Shell, exercise: &Exercise) -> anyhow::Result<()> {
    let text = read(sh, exercise.file)?;
    let from = if text.matches(exercise.solved).count() == 1 {
        text
    } else {
        println!(
            "Putting {} back as the project ships it, then the starting point of {} (your edits there go).",
            exercise.file, exercise.id
        );
        shipped(sh, exercise)?
    };
    write(
        sh,
        exercise.file,
        &from.replacen(exercise.solved, exercise.start, 1),
    )?;
    let mut progress = Progress::load(sh)?;
    *progress.entry(exercise.id) = progress::Entry::default();
    progress.save(sh)?;
    println!(
        "{} is at its starting point again, in {}.",
        exercise.id, exercise.file
    );
    Ok(())
}

/// The exercise's file as the project ships it: git's copy of it at HEAD, which must hold
/// the exercise's passage.
fn shipped(sh: &Shell, exercise: &Exercise) -> anyhow::Result<String> {
    let at_head = format!("HEAD:{}", exercise.file);
    let text = cmd!(sh, "git show {at_head}")
        .quiet()
        .read()
        .with_context(|| {
            format!(
                "asking git for {} as shipped (is this the project's git checkout?)",
                exercise.file
            )
        })?;
    if !text.contains(exercise.solved) {
        bail!(
            "{} as committed at HEAD no longer holds the passage {} starts from",
            exercise.file,
            exercise.id
        );
    }
    Ok(text + "\n")
}

fn read(sh: &Shell, file: &str) -> anyhow::Result<String> {
    sh.read_file(file)
        .with_context(|| format!("reading {file}"))
}

fn write(sh: &Shell, file: &str, text: &str) -> anyhow::Result<()> {
    sh.write_file(file, text)
        .with_context(|| format!("writing {file}"))
}
