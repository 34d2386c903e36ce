//! The help texts that name steps, from the catalogue: they say what it says.

use crate::catalogue::{STEPS, named_where};

pub fn workers() -> String {
    format!("How many workers to start ({})", named_where(|s| s.workers))
}

pub fn nodes() -> String {
    let lab = STEPS.iter().find_map(|s| Some((s.number, s.nodes?)));
    match lab {
        Some((number, nodes)) => format!(
            "How many nodes step {number}'s lab has (node1 is the manager; {} to {}, {} unless told)",
            nodes.min, nodes.max, nodes.default
        ),
        None => "How many nodes the lab has (no step has one)".to_owned(),
    }
}

pub fn public() -> String {
    format!(
        "Publish the survey on every interface, not 127.0.0.1 alone ({}): anyone who reaches this machine can then answer it",
        named_where(|s| s.public)
    )
}

pub fn observe() -> String {
    format!(
        "Add the swarm view ({}): a live page of the nodes, tasks and answers at /swarm, read through a filter of the Docker API, and Prometheus at /prometheus/; for this machine only, so not with --public",
        named_where(|s| s.observe)
    )
}

pub fn scale() -> String {
    format!(
        "Change the number of workers of a running step ({}): `scale 5`",
        named_where(|s| s.workers)
    )
}

pub fn update() -> String {
    format!(
        "Roll out a new version of the app, watching `docker service ps` ({})",
        named_where(|s| s.updates)
    )
}

pub fn dead_letters() -> String {
    format!(
        "List the dead letters of a running step ({}): entries the workers could not store",
        named_where(|s| s.workers)
    )
}

/// `what` of the lab (`step 7's lab`), then `then`.
pub fn lab(what: &str, then: &str) -> String {
    format!(
        "{what} of the lab ({}){then}",
        named_where(|s| s.nodes.is_some())
    )
}

/// `what` for the steps whose data lives in a volume, then `then`.
pub fn volume(what: &str, then: &str) -> String {
    format!("{what} ({}){then}", named_where(|s| s.volume.is_some()))
}
