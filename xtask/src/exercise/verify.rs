//! `exercise verify`: every exercise's starting point fails its check and the file as shipped
//! (here, as it is in this checkout) passes it, rustlings' maintainer check for these files;
//! with `--project`, the running copy of the step passes the checks of what runs too.

use anyhow::bail;
use xshell::Shell;

use super::{Project, catalogue, findings, read};

pub fn run(sh: &Shell, step: Option<u8>, project: &Project) -> anyhow::Result<()> {
    let mut wrong = Vec::new();
    for exercise in catalogue::all().filter(|e| step.is_none_or(|n| e.step == n)) {
        let shipped = read(sh, exercise.file)?;
        if shipped.matches(exercise.solved).count() != 1 {
            wrong.push(format!(
                "{}: its passage is not in {} exactly once",
                exercise.id, exercise.file
            ));
            continue;
        }
        let start = shipped.replacen(exercise.solved, exercise.start, 1);
        let failing = |text: &str| -> anyhow::Result<usize> {
            Ok(findings(sh, exercise, text)?
                .iter()
                .filter(|(_, f)| f.is_err())
                .count())
        };
        let (at_start, solved) = (failing(&start)?, failing(&shipped)?);
        let mut line = format!(
            "{}: as started, {at_start} of {} checks fail; as solved, {}",
            exercise.id,
            exercise.checks.len(),
            match solved {
                0 => "none fails".to_owned(),
                n => format!("{n} fail"),
            }
        );
        let mut runs_wrong = Vec::new();
        if project.0.is_some() && !exercise.runs.is_empty() {
            let copy = project.of(sh, exercise)?;
            for runs in exercise.runs {
                if let Err(why) = (runs.test)(&copy) {
                    runs_wrong.push(format!("{}: {why}", runs.holds));
                }
            }
            line.push_str(&format!(
                "; running, {} of {} hold",
                exercise.runs.len() - runs_wrong.len(),
                exercise.runs.len()
            ));
        }
        println!("{line}");
        for why in &runs_wrong {
            println!("  {why}");
        }
        if at_start == 0 || solved > 0 || !runs_wrong.is_empty() {
            wrong.push(exercise.id.to_owned());
        }
    }
    if !wrong.is_empty() {
        bail!(
            "these exercises do not fail as started or pass as solved: {}",
            wrong.join(", ")
        );
    }
    Ok(())
}
