//! `exercise watch`: the check again on every save, until all holds, as `rustlings watch`
//! does. The folder is watched, not the file: editors often save by writing a new file and
//! renaming it over the old one. Events come debounced (an editor's save is several), through
//! notify, the watcher rustlings and cargo-watch use. It starts nothing: Ctrl-C leaves
//! nothing behind.

use std::{path::Path, sync::mpsc, time::Duration};

use anyhow::Context;
use notify_debouncer_mini::{new_debouncer, notify::RecursiveMode};
use xshell::Shell;

use super::catalogue::Exercise;

pub fn run(sh: &Shell, exercise: &Exercise) -> anyhow::Result<()> {
    if super::check(sh, exercise)? {
        return super::check_and_record(sh, exercise);
    }
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
    // is checked again.
    let mut checked = std::fs::read_to_string(&file).unwrap_or_default();
    for batch in saved {
        let events = batch.context("watching for saves")?;
        if !events.iter().any(|event| is(&event.path, &file)) {
            continue;
        }
        let now = std::fs::read_to_string(&file).unwrap_or_default();
        if now == checked {
            continue;
        }
        checked = now;
        println!();
        if super::check(sh, exercise)? {
            return super::check_and_record(sh, exercise);
        }
    }
    Ok(())
}

/// Whether `path` (as the watcher reports it) is `file`.
fn is(path: &Path, file: &Path) -> bool {
    path == file || matches!((path.canonicalize(), file.canonicalize()), (Ok(a), Ok(b)) if a == b)
}
