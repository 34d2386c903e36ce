//! `exercise watch`: the check again on every save, until all holds, as `rustlings watch`
//! does. The folder is watched, not the file: editors often save by writing a new file and
//! renaming it over the old one. Events come debounced (an editor's save is several), through
//! notify, the watcher rustlings and cargo-watch use. It starts nothing: Ctrl-C leaves
//! nothing behind.

use std::{
    path::Path,
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::Context;
use notify_debouncer_mini::{new_debouncer, notify::RecursiveMode};
use xshell::Shell;

use super::{Project, catalogue::Exercise, check_and_record, checked};

pub fn run(sh: &Shell, exercise: &Exercise, project: &Project) -> anyhow::Result<()> {
    let (mut last, holds) = checked(sh, exercise, project)?;
    if holds {
        return check_and_record(sh, exercise, project);
    }
    print!("{last}");
    let file = sh.current_dir().join(exercise.file);
    let folder = file
        .parent()
        .context("the exercise's file is in a folder")?;
    let (events, saved) = mpsc::channel();
    let mut debouncer =
        new_debouncer(Duration::from_millis(200), events).context("watching for saves")?;
    debouncer
        .watcher()
        .watch(folder, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", folder.display()))?;
    println!(
        "\nWatching {}: save it to check again (Ctrl-C stops).",
        exercise.file
    );
    // Reading the file is an event too (the check reads it): only a change of its content
    // is checked again; and, every few seconds, what runs (an `up` in another terminal).
    let mut content = std::fs::read_to_string(&file).unwrap_or_default();
    let mut looked = Instant::now();
    loop {
        let on_save = match saved.recv_timeout(Duration::from_millis(500)) {
            Ok(batch) => {
                let events = batch.context("watching for saves")?;
                let now = std::fs::read_to_string(&file).unwrap_or_default();
                let saved = events.iter().any(|event| is(&event.path, &file)) && now != content;
                content = now;
                saved
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let look = !exercise.runs.is_empty() && looked.elapsed() >= Duration::from_secs(3);
        if !on_save && !look {
            continue;
        }
        looked = Instant::now();
        let (said, holds) = checked(sh, exercise, project)?;
        if holds {
            println!();
            return check_and_record(sh, exercise, project);
        }
        // A save is always answered; a look at what runs, only when it found a change.
        if on_save || said != last {
            print!("\n{said}");
            last = said;
        }
    }
}

/// Whether `path` (as the watcher reports it) is `file`.
fn is(path: &Path, file: &Path) -> bool {
    path == file || matches!((path.canonicalize(), file.canonicalize()), (Ok(a), Ok(b)) if a == b)
}
