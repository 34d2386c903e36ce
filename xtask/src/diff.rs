//! `cargo xtask step N diff`: what step N adds to step N-1. Not a diff of whole crates (later
//! steps reuse earlier code instead of copying it) but of what a lesson is about: the step's
//! own code, its new dependencies and the Compose file. The Dockerfiles are left out: they
//! are rendered from one template and differ only in the step's name.

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::catalogue::{STEPS, Step};

pub fn show(sh: &Shell, step: Step) -> anyhow::Result<()> {
    let Some(previous) = STEPS.iter().rev().find(|s| s.number < step.number) else {
        println!(
            "Step {} is the first: everything in steps/{} is new.",
            step.number, step.dir
        );
        return Ok(());
    };
    let pairs = file_pairs(sh, previous, &step)?;
    println!(
        "What step {} adds to step {}:",
        step.number, previous.number
    );
    let copy = crate::launch::Instance::new(sh, step, step.default_project());
    let lesson = copy.launcher().lesson_commands(&copy);
    if !lesson.is_empty() {
        // This step's lesson is commands, not a file: show them as `up` runs them.
        println!(
            "The commands that are this step's lesson (`cargo xtask step {} up` runs them):",
            step.number
        );
        for command in lesson {
            println!("$ {command}");
        }
    }
    let (had, has) = (dependencies(sh, previous)?, dependencies(sh, &step)?);
    let added: Vec<&str> = has
        .iter()
        .filter(|d| !had.contains(d))
        .map(String::as_str)
        .collect();
    if !added.is_empty() {
        println!(
            "New dependencies in steps/{}/Cargo.toml: {}",
            step.dir,
            added.join(", ")
        );
    }
    for (old, new) in pairs.into_iter().filter(|(old, new)| old != new) {
        // git diff --no-index exits 1 when the files differ: that is the normal case here.
        cmd!(
            sh,
            "git --no-pager diff --no-index --color=auto {old} {new}"
        )
        .ignore_status()
        .run()?;
    }
    Ok(())
}

/// The files a lesson shows, as (before, after) paths; /dev/null where one side has none.
fn file_pairs(sh: &Shell, previous: &Step, step: &Step) -> anyhow::Result<Vec<(String, String)>> {
    let (before, after) = (lesson_files(sh, previous)?, lesson_files(sh, step)?);
    let mut pairs: Vec<(String, String)> = after
        .iter()
        .map(|f| {
            let old = if before.contains(f) {
                format!("steps/{}/{f}", previous.dir)
            } else {
                "/dev/null".into()
            };
            (old, format!("steps/{}/{f}", step.dir))
        })
        .collect();
    let compose = |s: &Step| {
        let path = s.compose_file();
        if sh.path_exists(&path) {
            path
        } else {
            "/dev/null".into()
        }
    };
    pairs.push((compose(previous), compose(step)));
    Ok(pairs)
}

/// A step crate's own files, relative to it: its code, not its manifest or Dockerfile.
fn lesson_files(sh: &Shell, step: &Step) -> anyhow::Result<Vec<String>> {
    let dir = format!("steps/{}", step.dir);
    let mut files: Vec<String> = cmd!(
        sh,
        "git ls-files --cached --others --exclude-standard {dir}"
    )
    .quiet()
    .read()
    .context("listing the step's files with git")?
    .lines()
    .filter(|f| !f.ends_with("Cargo.toml") && !f.ends_with("Dockerfile"))
    .map(|f| f.trim_start_matches(&format!("{dir}/")).to_owned())
    .collect();
    files.sort();
    Ok(files)
}

/// The names of a step's dependencies, from its Cargo.toml.
fn dependencies(sh: &Shell, step: &Step) -> anyhow::Result<Vec<String>> {
    Ok(step
        .manifest(sh)?
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|deps| deps.keys().cloned().collect())
        .unwrap_or_default())
}
