//! `view-timing`: how long the view's own work takes for one look at a swarm larger than a
//! lab (read the engine's JSON, make the picture, render the page), timed in the program as
//! it ships. It prints one line of JSON, which `cargo xtask bench` reports; the engine's and
//! the network's time are not in it, nor the browser's.

use std::{collections::HashMap, process::ExitCode, time::Instant};

use serde::Serialize;

use super::{
    page::Rendered,
    picture::{Seen, Served, picture},
    simulated,
};

/// The swarm to time, and how many times.
#[derive(Debug, Clone, clap::Args)]
pub struct TimingArgs {
    #[arg(long, default_value_t = 9)]
    pub nodes: usize,
    #[arg(long, default_value_t = 100)]
    pub tasks: usize,
    /// Looks to time; the median and the extremes are printed.
    #[arg(long, default_value_t = 51)]
    pub rounds: usize,
}

/// The line printed: what was timed, in words, and the times of its rounds.
#[derive(Debug, Serialize)]
struct Timed {
    what: String,
    unit: &'static str,
    rounds: usize,
    median: f64,
    min: f64,
    max: f64,
}

/// Times `rounds` looks and prints the figure.
pub fn run(args: &TimingArgs) -> ExitCode {
    let line = time(args).and_then(|timed| serde_json::to_string(&timed));
    match line {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => survey::cli::fail("could not time the view", &err),
    }
}

fn time(args: &TimingArgs) -> Result<Timed, serde_json::Error> {
    const STACK: &str = "survey-06";
    let bodies = simulated::bodies(STACK, args.nodes, args.tasks);
    // The proxy's word on every task, so that every chip is joined to its counters.
    let served: HashMap<_, _> = (1..=args.tasks)
        .filter_map(|t| simulated::address(t).parse().ok())
        .map(|ip| {
            (
                ip,
                Served {
                    status: "UP".into(),
                    per_second: 3,
                },
            )
        })
        .collect();
    let mut millis = Vec::with_capacity(args.rounds);
    let mut bytes = 0;
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        let engine = bodies.read()?;
        let now = picture(Seen {
            stack: STACK,
            engine: &engine,
            served: &served,
            answers: None,
            blind_spots: Vec::new(),
        });
        bytes = Rendered::of(now).html.len();
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    Ok(Timed {
        what: format!(
            "one look of the swarm view at {} tasks on {} nodes: the engine's JSON read, the \
             picture made, the page rendered ({} kB)",
            args.tasks,
            args.nodes,
            bytes / 1000
        ),
        unit: "ms",
        rounds: millis.len(),
        median: millis[millis.len() / 2],
        min: millis[0],
        max: millis[millis.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few rounds on a small swarm are timed, and the line says what was.
    #[test]
    fn times_a_look() {
        let args = TimingArgs {
            nodes: 3,
            tasks: 10,
            rounds: 3,
        };
        let timed = time(&args).expect("timed");
        assert_eq!(timed.rounds, 3);
        assert!(timed.min <= timed.median && timed.median <= timed.max);
        assert!(
            timed.what.contains("at 10 tasks on 3 nodes"),
            "{}",
            timed.what
        );
    }
}
