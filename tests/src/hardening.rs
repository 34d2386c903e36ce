//! Every running container of a step hardened, as its Compose or stack file asks: one check
//! for both, since a stack asks the same of each task but for `no-new-privileges`, which
//! `docker stack deploy` cannot set.

use crate::{commands::docker_ok, xtask::Launched};

/// Fails unless every running container of `launched` runs hardened (a read-only root
/// filesystem, every capability dropped, no-new-privileges where Compose runs it, memory and
/// process limits, rotated logs), no container but the Docker API's filter mounts the Docker
/// socket (and that one read-only), the app's database role is no superuser, and Redis, where
/// there is one, wants a password.
pub fn assert_hardened(launched: &Launched) {
    let containers = containers(launched);
    assert!(
        !containers.is_empty(),
        "no running containers in {}",
        launched.project
    );
    let missing: Vec<String> = containers
        .iter()
        .flat_map(|c| {
            missing_settings(c, launched.stack())
                .into_iter()
                .map(move |what| format!("{}: {what}", c.name))
        })
        .collect();
    assert!(missing.is_empty(), "not hardened:\n{}", missing.join("\n"));
    assert_app_role_is_plain(launched);
    if let Some(redis) = containers.iter().find(|c| c.service.ends_with("redis")) {
        let (_, reply) = launched.docker(&[
            "exec",
            &redis.name,
            "env",
            "-u",
            "REDISCLI_AUTH",
            "redis-cli",
            "ping",
        ]);
        assert!(reply.contains("NOAUTH"), "Redis wants a password: {reply}");
    }
}

/// A running container of the step, as `docker inspect` tells it.
struct Container {
    name: String,
    service: String,
    host: serde_json::Value,
}

/// The step's running containers: by Compose's project label, or the stack's namespace.
fn containers(launched: &Launched) -> Vec<Container> {
    let label = if launched.stack() {
        format!("label=com.docker.stack.namespace={}", launched.project)
    } else {
        format!("label=com.docker.compose.project={}", launched.project)
    };
    let format = concat!(
        r#"{{.Name}} {{index .Config.Labels "com.docker.compose.service"}}"#,
        r#"{{index .Config.Labels "com.docker.swarm.service.name"}} {{json .HostConfig}}"#
    );
    docker_ok(&["ps", "--quiet", "--filter", &label])
        .split_whitespace()
        .map(|id| {
            let said = docker_ok(&["inspect", "--format", format, id]);
            let mut fields = said.trim().splitn(3, ' ');
            let (Some(name), Some(service), Some(json)) =
                (fields.next(), fields.next(), fields.next())
            else {
                panic!("a name, a service and a config: {said}");
            };
            Container {
                name: name.trim_start_matches('/').to_owned(),
                service: service.to_owned(),
                host: serde_json::from_str(json).expect("HostConfig as JSON"),
            }
        })
        .collect()
}

/// What `container` lacks of the hardening its file asks for.
fn missing_settings(container: &Container, stack: bool) -> Vec<&'static str> {
    let host = &container.host;
    let has = |key: &str, value: &str| {
        host[key]
            .as_array()
            .is_some_and(|list| list.iter().any(|v| v == value))
    };
    let checks = [
        (
            "a read-only root filesystem",
            host["ReadonlyRootfs"] == true,
        ),
        ("cap_drop: [ALL]", has("CapDrop", "ALL")),
        (
            "no-new-privileges",
            stack || has("SecurityOpt", "no-new-privileges:true"),
        ),
        (
            "a memory limit",
            host["Memory"].as_i64().is_some_and(|m| m > 0),
        ),
        (
            "a pids limit",
            host["PidsLimit"].as_i64().is_some_and(|p| p > 0),
        ),
        (
            "rotated logs",
            host["LogConfig"]["Config"]["max-size"].is_string(),
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(what, _)| what)
        .chain(socket_rule(container))
        .collect()
}

/// Whatever reaches the Docker socket owns the machine: only the filter of the swarm view
/// (`compose/swarm-view.yaml`) may mount it, and only read-only.
fn socket_rule(container: &Container) -> Option<&'static str> {
    let host = &container.host;
    let socket = reaches_the_socket;
    let mounts = host["Mounts"].as_array().into_iter().flatten();
    let mounted: Vec<bool> = mounts
        .filter(|m| m["Source"].as_str().is_some_and(socket))
        .map(|m| m["ReadOnly"] == true)
        .chain(
            host["Binds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b.as_str())
                .filter(|b| socket(b.split(':').next().unwrap_or_default()))
                .map(|b| b.ends_with(":ro")),
        )
        .collect();
    if mounted.is_empty() {
        None
    } else if !container.service.ends_with("_docker-api") {
        Some("no Docker socket (only the Docker API's filter may mount it)")
    } else if mounted.contains(&false) {
        Some("the Docker socket mounted read-only")
    } else {
        None
    }
}

/// Whether a mount's source is the Docker socket, or a folder that holds it (`/`, `/run`,
/// `/var/run`...): either gives the container the socket.
fn reaches_the_socket(source: &str) -> bool {
    let source = source.trim_end_matches('/');
    source.ends_with("docker.sock")
        || ["/run/docker.sock", "/var/run/docker.sock"]
            .iter()
            .any(|socket| socket.starts_with(&format!("{source}/")))
}

/// The app's role owns the table it made, and may do nothing a superuser may.
fn assert_app_role_is_plain(launched: &Launched) {
    let owner = launched.psql("select tableowner from pg_tables where tablename = 'cats'");
    assert!(
        owner.contains(" survey_app\n"),
        "cats is the app's:\n{owner}"
    );
    let powers = launched.psql(
        "select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls as powers \
         from pg_roles where rolname = 'survey_app'",
    );
    assert!(
        powers.contains("\n f\n"),
        "survey_app has no special powers:\n{powers}"
    );
}

#[cfg(test)]
mod tests {
    /// The socket is reached through itself or any folder above it, and through nothing else.
    #[test]
    fn the_socket_is_reached_through_its_folders() {
        for source in [
            "/var/run/docker.sock",
            "/run/docker.sock",
            "/var/run",
            "/run/",
            "/var",
            "/",
        ] {
            assert!(super::reaches_the_socket(source), "{source}");
        }
        for source in [
            "/srv/data",
            "/var/lib/postgresql",
            "/running",
            "survey-06_answers",
        ] {
            assert!(!super::reaches_the_socket(source), "{source}");
        }
    }
}
