//! A swarm made up, larger than a lab on one machine can be: `nodes` nodes, one app service of
//! `tasks` tasks spread over them (the last one not placed), and a service of another stack,
//! written as the Docker API's JSON so that it is read the way a real engine's answers are.
//! The tests draw it, and `view-timing` times the view's work on it.

use serde_json::{Value, json};

use super::engine::{Engine, Node, Service, Task};

/// The bodies of `GET /nodes`, `/services` and `/tasks`.
#[derive(Debug, Clone)]
pub struct Bodies {
    pub nodes: Vec<u8>,
    pub services: Vec<u8>,
    pub tasks: Vec<u8>,
}

impl Bodies {
    /// Reads them as the view reads the engine's.
    pub fn read(&self) -> Result<Engine, serde_json::Error> {
        Ok(Engine {
            nodes: serde_json::from_slice::<Vec<Node>>(&self.nodes)?,
            services: serde_json::from_slice::<Vec<Service>>(&self.services)?,
            tasks: serde_json::from_slice::<Vec<Task>>(&self.tasks)?,
        })
    }
}

/// The engine's answers for a swarm of `nodes` nodes with `tasks` app tasks of `stack`.
pub fn bodies(stack: &str, nodes: usize, tasks: usize) -> Bodies {
    let node = |n: usize| {
        json!({
            "ID": format!("n{n}"),
            "Description": { "Hostname": format!("node{n}") },
            "Spec": { "Role": if n == 1 { "manager" } else { "worker" }, "Availability": "active" },
            "Status": { "State": "ready", "Addr": format!("10.9.0.{n}") },
            "ManagerStatus": (n == 1).then(|| json!({ "Leader": true, "Reachability": "reachable" })),
        })
    };
    let service = |id: &str, stack: &str| {
        json!({
            "ID": id,
            "Spec": {
                "Name": format!("{stack}_app"),
                "Labels": { "com.docker.stack.namespace": stack },
                "Mode": { "Replicated": { "Replicas": tasks } },
            },
        })
    };
    let task = |t: usize| {
        let placed = t != tasks;
        json!({
            "ID": format!("t{t}"),
            "ServiceID": "s1",
            "NodeID": if placed { format!("n{}", t % nodes.max(1) + 1) } else { String::new() },
            "Slot": t,
            "DesiredState": "running",
            "Spec": { "ContainerSpec": { "Image": "survey/step-06-swarm:abc@sha256:1" } },
            "Status": { "State": if placed { "running" } else { "pending" }, "Message": "started" },
            "NetworksAttachments": [{ "Addresses": [address(t) + "/16"] }],
        })
    };
    let body = |items: Vec<Value>| serde_json::to_vec(&items).expect("JSON of plain values");
    Bodies {
        nodes: body((1..=nodes).map(node).collect()),
        services: body(vec![service("s1", stack), service("s2", "other")]),
        tasks: body((1..=tasks).map(task).collect()),
    }
}

/// The address of app task `t` on the stack's network.
pub fn address(t: usize) -> String {
    format!("10.0.{}.{}", t / 250, t % 250 + 2)
}

/// The same swarm, read.
pub fn swarm(stack: &str, nodes: usize, tasks: usize) -> Engine {
    bodies(stack, nodes, tasks)
        .read()
        .expect("the made-up swarm reads as the engine's JSON")
}
