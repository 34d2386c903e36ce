//! What the view reads of the Docker API: nodes, services and tasks, as the engine's JSON
//! has them (only the fields the page shows), through the filter that allows these reads
//! and nothing else.

use std::net::IpAddr;

use serde::Deserialize;

use super::fetch::{FetchError, get};

/// The swarm as one round of reads saw it.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub nodes: Vec<Node>,
    pub services: Vec<Service>,
    pub tasks: Vec<Task>,
}

/// Why the engine could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("GET {path}: {source}")]
    Fetch {
        path: &'static str,
        #[source]
        source: FetchError,
    },
    #[error("GET {path}: not the engine's JSON: {source}")]
    Json {
        path: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads nodes, services and tasks from the Docker API at `base` (`http://docker-api:2375`).
pub async fn read(base: &str) -> Result<Engine, EngineError> {
    let (nodes, services, tasks) = tokio::try_join!(
        list(base, "/nodes"),
        list(base, "/services"),
        list(base, "/tasks"),
    )?;
    Ok(Engine {
        nodes,
        services,
        tasks,
    })
}

async fn list<T: for<'de> Deserialize<'de>>(
    base: &str,
    path: &'static str,
) -> Result<Vec<T>, EngineError> {
    let body = get(&format!("{base}{path}"))
        .await
        .map_err(|source| EngineError::Fetch { path, source })?;
    serde_json::from_slice(&body).map_err(|source| EngineError::Json { path, source })
}

/// `GET /nodes`: one node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    pub description: NodeDescription,
    pub spec: NodeSpec,
    pub status: NodeStatus,
    pub manager_status: Option<ManagerStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDescription {
    pub hostname: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeSpec {
    /// `manager` or `worker`.
    pub role: String,
    /// `active`, `pause` or `drain`.
    pub availability: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeStatus {
    /// `ready`, `down`, `disconnected` or `unknown`.
    pub state: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ManagerStatus {
    pub leader: bool,
    pub reachability: String,
}

/// `GET /services`: one service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Service {
    #[serde(rename = "ID")]
    pub id: String,
    pub spec: ServiceSpec,
    pub update_status: Option<UpdateStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceSpec {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub mode: ServiceMode,
    pub task_template: TaskSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceMode {
    pub replicated: Option<Replicated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Replicated {
    pub replicas: u64,
}

/// Where a rolling update (or its rollback) stands: `updating`, `completed`,
/// `rollback_started`, `rollback_completed`, `paused`...
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStatus {
    pub state: String,
    pub message: String,
}

/// `GET /tasks`: one task.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Task {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ServiceID")]
    pub service_id: String,
    /// Empty until the task is placed.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub slot: Option<u64>,
    pub spec: TaskSpec,
    pub status: TaskStatus,
    pub desired_state: String,
    pub networks_attachments: Vec<NetworkAttachment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskSpec {
    pub container_spec: ContainerSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerSpec {
    pub image: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskStatus {
    /// `new`, `pending`, ..., `starting`, `running`, `complete`, `failed`, `shutdown`...
    pub state: String,
    pub message: String,
    pub err: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAttachment {
    /// `10.0.1.5/24`.
    pub addresses: Vec<String>,
}

impl Task {
    /// Its addresses on the stack's networks.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.networks_attachments
            .iter()
            .flat_map(|a| &a.addresses)
            .filter_map(|a| a.split('/').next()?.parse().ok())
    }

    /// Whether the swarm means the task to run: the ones a page shows on their node. A task
    /// that is being stopped, or whose node went down, is not, even while its last reported
    /// state still says running.
    pub fn current(&self) -> bool {
        matches!(self.desired_state.as_str(), "running" | "ready")
    }
}

/// An image's version as a person reads it: its tag (the stack names each build by its id),
/// without registry, repository or digest.
pub fn version(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split_once(':').map_or("latest", |(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tag is found behind a registry's port and before a digest.
    #[test]
    fn a_version_is_the_tag() {
        assert_eq!(
            version("registry:5000/survey/step-06-swarm:1a2b3c4d5e6f@sha256:00"),
            "1a2b3c4d5e6f"
        );
        assert_eq!(version("haproxy:2.6"), "2.6");
        assert_eq!(version("survey/step-06-swarm"), "latest");
    }

    /// The engine's JSON, as Docker 26 writes it (trimmed), reads into the view's types.
    #[test]
    fn the_engines_json_reads() {
        let task: Task = serde_json::from_str(
            r#"{"ID":"t1","ServiceID":"s1","NodeID":"n1","Slot":2,"DesiredState":"running",
                "Spec":{"ContainerSpec":{"Image":"survey/step-06-swarm:abc@sha256:1"}},
                "Status":{"State":"running","Message":"started","ContainerStatus":{}},
                "NetworksAttachments":[{"Network":{},"Addresses":["10.0.1.5/24"]}]}"#,
        )
        .expect("a task");
        assert_eq!(
            task.addresses().collect::<Vec<_>>(),
            ["10.0.1.5".parse::<IpAddr>().unwrap()]
        );
        assert!(task.current());
        let stopping = Task {
            desired_state: "shutdown".into(),
            ..task
        };
        assert!(!stopping.current(), "a task on a node that went down");
        let node: Node = serde_json::from_str(
            r#"{"ID":"n1","Description":{"Hostname":"node1"},"Spec":{"Role":"manager","Availability":"drain"},
                "Status":{"State":"ready","Addr":"172.18.0.2"},"ManagerStatus":{"Leader":true,"Reachability":"reachable"}}"#,
        )
        .expect("a node");
        assert!(node.manager_status.is_some_and(|m| m.leader));
        let service: Service = serde_json::from_str(
            r#"{"ID":"s1","Spec":{"Name":"survey-06_app","Mode":{"Replicated":{"Replicas":3}}},
                "UpdateStatus":{"State":"rollback_completed","Message":"rollback completed"}}"#,
        )
        .expect("a service");
        assert_eq!(service.spec.mode.replicated.map(|r| r.replicas), Some(3));
    }
}
