//! What the page shows, made from what the view read: every node with the tasks placed on
//! it, every service with its replicas, the answers flowing, and what could not be seen.
//! A pure function of its inputs, so that it is tested without a swarm.

use std::{collections::HashMap, net::IpAddr};

use serde::Serialize;

use super::{
    engine::{self, Engine},
    traffic::Answers,
};

/// The page's content.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Picture {
    pub nodes: Vec<NodeCard>,
    /// Tasks the swarm has not placed on a node (no node may take them).
    pub unplaced: Vec<TaskChip>,
    pub services: Vec<ServiceRow>,
    /// `None` while they cannot be read (see `blind_spots`).
    pub answers: Option<Answers>,
    /// What the view cannot see right now, and why.
    pub blind_spots: Vec<String>,
}

/// A node and what runs on it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeCard {
    pub name: String,
    pub role: String,
    pub leader: bool,
    pub state: String,
    pub availability: String,
    pub tasks: Vec<TaskChip>,
}

/// One task.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaskChip {
    /// The service's name in its stack: `app`.
    pub service: String,
    pub slot: u64,
    pub state: String,
    pub version: String,
    /// What the proxy says of it (`UP`, `DOWN`), where the proxy sends it requests.
    pub proxy: Option<String>,
    /// Requests it answered per second, lately.
    pub per_second: Option<u64>,
}

/// A service: replicas wanted and running, and its rolling update.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceRow {
    pub name: String,
    /// `None` for a global service.
    pub wanted: Option<u64>,
    pub running: u64,
    /// `updating`, `rollback_started`, ... while one happens or after it.
    pub update: Option<String>,
    /// The versions its current tasks run, oldest rollout first as the tasks list them.
    pub versions: Vec<String>,
}

impl ServiceRow {
    /// Whether it runs as many tasks as it wants.
    pub fn converged(&self) -> bool {
        self.wanted.is_none_or(|wanted| wanted == self.running)
    }
}

/// What the proxy says of the task at an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub status: String,
    pub per_second: u64,
}

/// The inputs of one picture.
#[derive(Debug)]
pub struct Seen<'a> {
    /// The stack whose services are shown (its namespace label).
    pub stack: &'a str,
    pub engine: &'a Engine,
    pub served: &'a HashMap<IpAddr, Served>,
    pub answers: Option<Answers>,
    pub blind_spots: Vec<String>,
}

/// Puts it together.
pub fn picture(seen: Seen<'_>) -> Picture {
    let Seen {
        stack,
        engine,
        served,
        answers,
        blind_spots,
    } = seen;
    let names: HashMap<&str, String> = engine
        .services
        .iter()
        .filter(|s| in_stack(s, stack))
        .map(|s| (s.id.as_str(), short_name(&s.spec.name, stack)))
        .collect();
    let mut tasks: Vec<(&engine::Task, TaskChip)> = engine
        .tasks
        .iter()
        .filter(|t| t.current())
        .filter_map(|t| Some((t, chip(t, names.get(t.service_id.as_str())?, served))))
        .collect();
    tasks.sort_by(|(_, a), (_, b)| (&a.service, a.slot).cmp(&(&b.service, b.slot)));
    let mut nodes: Vec<NodeCard> = engine
        .nodes
        .iter()
        .map(|n| NodeCard {
            name: n.description.hostname.clone(),
            role: n.spec.role.clone(),
            leader: n.manager_status.as_ref().is_some_and(|m| m.leader),
            state: n.status.state.clone(),
            availability: n.spec.availability.clone(),
            tasks: tasks
                .iter()
                .filter(|(t, _)| t.node_id == n.id)
                .map(|(_, c)| c.clone())
                .collect(),
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let known = |id: &str| engine.nodes.iter().any(|n| n.id == id);
    let unplaced = tasks
        .iter()
        .filter(|(t, _)| !known(&t.node_id))
        .map(|(_, c)| c.clone())
        .collect();
    let mut services: Vec<ServiceRow> = engine
        .services
        .iter()
        .filter(|s| in_stack(s, stack))
        .map(|s| row(s, &names[s.id.as_str()], &tasks))
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Picture {
        nodes,
        unplaced,
        services,
        answers,
        blind_spots,
    }
}

fn in_stack(service: &engine::Service, stack: &str) -> bool {
    stack.is_empty()
        || service
            .spec
            .labels
            .get("com.docker.stack.namespace")
            .is_some_and(|s| s == stack)
}

/// `survey-06_app` is `app` in stack `survey-06`.
fn short_name(name: &str, stack: &str) -> String {
    name.strip_prefix(stack)
        .and_then(|n| n.strip_prefix('_'))
        .unwrap_or(name)
        .to_owned()
}

fn chip(task: &engine::Task, service: &str, served: &HashMap<IpAddr, Served>) -> TaskChip {
    let proxied = task.addresses().find_map(|ip| served.get(&ip));
    TaskChip {
        service: service.to_owned(),
        slot: task.slot.unwrap_or_default(),
        state: task.status.state.clone(),
        version: engine::version(&task.spec.container_spec.image).to_owned(),
        proxy: proxied.map(|s| s.status.clone()),
        per_second: proxied.map(|s| s.per_second),
    }
}

fn row(service: &engine::Service, name: &str, tasks: &[(&engine::Task, TaskChip)]) -> ServiceRow {
    let own: Vec<&TaskChip> = tasks
        .iter()
        .filter(|(t, _)| t.service_id == service.id)
        .map(|(_, c)| c)
        .collect();
    let mut versions: Vec<String> = Vec::new();
    for chip in &own {
        if !versions.contains(&chip.version) {
            versions.push(chip.version.clone());
        }
    }
    ServiceRow {
        name: name.to_owned(),
        wanted: service.spec.mode.replicated.as_ref().map(|r| r.replicas),
        running: own.iter().filter(|c| c.state == "running").count() as u64,
        update: service
            .update_status
            .as_ref()
            .map(|u| u.state.clone())
            .filter(|s| !s.is_empty()),
        versions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::simulated::swarm;

    /// Tasks land on their nodes, the unplaced one apart, the other stack's service is left
    /// out, and the proxy's word is joined by address.
    #[test]
    fn tasks_are_placed_on_their_nodes() {
        let engine = swarm("survey-06", 3, 4);
        let served = [(
            "10.0.0.3".parse().unwrap(),
            Served {
                status: "UP".into(),
                per_second: 7,
            },
        )]
        .into();
        let picture = picture(Seen {
            stack: "survey-06",
            engine: &engine,
            served: &served,
            answers: None,
            blind_spots: Vec::new(),
        });
        let on: Vec<usize> = picture.nodes.iter().map(|n| n.tasks.len()).collect();
        assert_eq!(on, [1, 1, 1]);
        assert_eq!(picture.unplaced.len(), 1);
        assert_eq!(picture.services.len(), 1);
        let row = &picture.services[0];
        assert_eq!(
            (row.name.as_str(), row.wanted, row.running),
            ("app", Some(4), 3)
        );
        assert_eq!(row.versions, ["abc"]);
        let busy = picture.nodes[1].tasks[0].clone();
        assert_eq!((busy.slot, busy.per_second), (1, Some(7)));
    }
}
