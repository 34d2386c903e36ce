//! What the steps' programs time of their own work (`Step::timings`): each is run in its
//! step's image, as `up` builds it, with no network, and prints one line of JSON.

use anyhow::Context;
use serde::Deserialize;
use xshell::{Shell, cmd};

use crate::{
    catalogue::STEPS,
    images::{self, Images, Profile, Progress},
    report::{Spread, Timing},
};

/// The line a timing prints.
#[derive(Debug, Deserialize)]
struct Timed {
    what: String,
    unit: String,
    rounds: usize,
    median: f64,
    min: f64,
    max: f64,
}

/// Runs every step's timings.
pub fn measure(sh: &Shell, images: &Images) -> anyhow::Result<Vec<Timing>> {
    let mut timings = Vec::new();
    for step in STEPS.iter().filter(|s| !s.timings.is_empty()) {
        eprintln!("\n==> step {}: its program times its own work", step.number);
        images::build_app(sh, step, images, Profile::Quick, Progress::Quiet)?;
        let image = step.image(sh);
        for &args in step.timings {
            let command = args.join(" ");
            let line = cmd!(
                sh,
                "docker run --rm --network none --read-only --cap-drop ALL {image} {args...}"
            )
            .quiet()
            .read()
            .with_context(|| format!("running `{command}` in {image}"))?;
            let timed: Timed = serde_json::from_str(line.trim())
                .with_context(|| format!("`{command}` in {image} printed {line:?}"))?;
            timings.push(Timing {
                step: step.number,
                command,
                what: timed.what,
                unit: timed.unit,
                rounds: timed.rounds,
                spread: Spread {
                    median: timed.median,
                    min: timed.min,
                    max: timed.max,
                },
            });
        }
    }
    Ok(timings)
}
