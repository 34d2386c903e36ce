//! Chapters 06 and 07's exercises: the stack files.

use super::{Check, Exercise, Runs, compose_only};
use crate::exercise::parsed::{list, service, services, text};
use crate::{exercise::running, launch::Service};

const STACK_06: &str = "compose/06-swarm.yaml";
const STACK_07: &str = "compose/07-multinode.yaml";

pub static EXERCISES: &[Exercise] = &[
    Exercise {
        id: "06-password-in-a-secret",
        step: 6,
        task: "Move Postgres's password out of the environment, into the secret it already has",
        teaches: "An environment variable shows in `docker inspect` and to every process of the container; a secret is a file in memory, given to the services that name it.",
        file: STACK_06,
        solved: "      POSTGRES_PASSWORD_FILE: /run/secrets/db-password\n",
        start: "      POSTGRES_PASSWORD: survey\n",
        checks: &[
            NO_PASSWORD_IN_THE_ENVIRONMENT,
            Check {
                holds: "db reads its password from a secret it is given",
                test: |parsed| {
                    let db = service(compose_only(parsed)?, "db")?;
                    let file = text(db, "/environment/POSTGRES_PASSWORD_FILE");
                    let given = db
                        .get("secrets")
                        .and_then(|s| s.as_array())
                        .into_iter()
                        .flatten()
                        .any(|s| text(s, "/target") == file);
                    if file.starts_with("/run/secrets/") && given {
                        Ok(())
                    } else {
                        Err("db's image reads the superuser's password from the file POSTGRES_PASSWORD_FILE names: point it at the secret db is given, /run/secrets/db-password.".to_owned())
                    }
                },
            },
        ],
        runs: &[Runs {
            holds: "the running db service has no password in its environment",
            test: |copy| {
                let env = running::service(
                    copy,
                    Service::Db,
                    "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
                )?;
                if env.contains("POSTGRES_PASSWORD=") {
                    Err(format!(
                        "the running db service has POSTGRES_PASSWORD in its environment, for `docker service inspect` to show. {}.",
                        running::up_again(copy)
                    ))
                } else {
                    Ok(())
                }
            },
        }],
        hints: &[
            "The official Postgres image reads any of its POSTGRES_* settings from a file when the variable's name ends in _FILE.",
            "db is given the secret db-password: Swarm mounts it at /run/secrets/db-password.",
        ],
    },
    Exercise {
        id: "06-roll-back-by-itself",
        step: 6,
        task: "Make an update that never gets healthy roll back by itself",
        teaches: "Swarm watches each new task for `monitor` after it starts; `failure_action` says what a failed update does: pause, continue, or roll back.",
        file: STACK_06,
        solved: "        failure_action: rollback\n",
        start: "        failure_action: pause\n",
        checks: &[Check {
            holds: "a failed update of the app rolls back by itself, watched by the app's healthcheck",
            test: |parsed| {
                let app = service(compose_only(parsed)?, "app")?;
                let action = text(app, "/deploy/update_config/failure_action");
                if action != "rollback" {
                    return Err(format!(
                        "when a new version never gets healthy, the update {}s: the service is left half on the broken version until someone steps in. `failure_action: rollback` under the app's `update_config:` brings the old one back by itself.",
                        if action.is_empty() { "pause" } else { action }
                    ));
                }
                if app.pointer("/healthcheck/test").is_none()
                    || text(app, "/deploy/update_config/monitor").is_empty()
                {
                    return Err("the update can only see a broken version through the app's healthcheck, for `monitor` after each task starts: keep both.".to_owned());
                }
                Ok(())
            },
        }],
        runs: &[Runs {
            holds: "the running app service rolls a failed update back",
            test: |copy| spec_says(copy, "{{.Spec.UpdateConfig.FailureAction}}", "rollback"),
        }],
        hints: &[
            "Look at the app's `deploy: update_config:`.",
            "Swarm's choices for a failed update are pause, continue and rollback.",
        ],
    },
    Exercise {
        id: "06-start-before-stop",
        step: 6,
        task: "Make an update start each new task before it stops an old one",
        teaches: "`order: stop-first` frees the old task's place first, and the service runs short a task at every step; start-first keeps every replica serving.",
        file: STACK_06,
        solved: "        parallelism: 1\n        order: start-first\n        delay: 2s\n",
        start: "        parallelism: 1\n        order: stop-first\n        delay: 2s\n",
        checks: &[Check {
            holds: "an update starts a new task, healthy, before it stops an old one",
            test: |parsed| {
                let app = service(compose_only(parsed)?, "app")?;
                match text(app, "/deploy/update_config/order") {
                    "start-first" => Ok(()),
                    order => Err(format!(
                        "with `order: {}`, each old task stops before its replacement is healthy: a third of the app is gone at every step of an update, and with one replica the survey goes dark. Use `order: start-first`.",
                        if order.is_empty() {
                            "stop-first"
                        } else {
                            order
                        }
                    )),
                }
            },
        }],
        runs: &[Runs {
            holds: "the running app service starts new tasks first",
            test: |copy| spec_says(copy, "{{.Spec.UpdateConfig.Order}}", "start-first"),
        }],
        hints: &[
            "`update_config:` has an `order:`; its values are stop-first (the default) and start-first.",
        ],
    },
    Exercise {
        id: "06-no-build-in-a-stack",
        step: 6,
        task: "Make the stack name the app's image, and build it before deploying",
        teaches: "`docker stack deploy` does not build: it ignores `build:` and runs whatever image has the name, on every node.",
        file: STACK_06,
        solved: "  app:\n    image: ${APP_IMAGE:-survey/step-06-swarm}\n",
        start: "  app:\n    build: { context: .., dockerfile: steps/06-swarm/Dockerfile }\n    image: ${APP_IMAGE:-survey/step-06-swarm}\n",
        checks: &[Check {
            holds: "no service of the stack has a `build:` section",
            test: |parsed| {
                for (name, service) in services(compose_only(parsed)?) {
                    if service.get("build").is_some() {
                        return Err(format!(
                            "{name} has a `build:` section, which `docker stack deploy` ignores (\"Ignoring unsupported options: build\"): your edits would never reach the swarm. Build the image first (`cargo xtask step 6 up` does, and names it by its id) and keep `image:` alone."
                        ));
                    }
                }
                Ok(())
            },
        }],
        runs: &[],
        hints: &[
            "A stack file is read by `docker stack deploy`, which knows images, not Dockerfiles.",
        ],
    },
    Exercise {
        id: "06-secrets-made-not-written",
        step: 6,
        task: "Make the stack use the secret `up` creates, not a file of the checkout",
        teaches: "A secret from a file is a password on disk, one `git add .` away from being published; an external secret is made once, in the swarm only.",
        file: STACK_06,
        solved: "  db-password:\n    external: true\n    name: ${STACK:-survey-06}_db-password\n",
        start: "  db-password:\n    file: ./06-swarm/db-password.txt\n",
        checks: &[Check {
            holds: "every secret of the stack is made in the swarm, none read from a file",
            test: |parsed| {
                let config = compose_only(parsed)?;
                for (name, secret) in config["secrets"].as_object().into_iter().flatten() {
                    if secret["external"] != true {
                        return Err(format!(
                            "the secret {name} is read from {}: a password in a file of the checkout, one commit away from being public. Make it `external: true`, named as `up` makes it (`${{STACK:-survey-06}}_{name}`).",
                            text(secret, "/file")
                        ));
                    }
                }
                Ok(())
            },
        }],
        runs: &[],
        hints: &[
            "Look at the top-level `secrets:` at the end of the file: how are the others declared?",
        ],
    },
    Exercise {
        id: "07-spread-the-app",
        step: 7,
        task: "Spread the app over the nodes: at most two of its tasks on one node",
        teaches: "Swarm places tasks where it likes; a limit per node is what makes losing a node lose only part of a service.",
        file: STACK_07,
        solved: "      # Spread over the nodes, at most two per node: losing one node loses a third of them.\n      placement:\n        preferences:\n          - spread: node.id\n        max_replicas_per_node: 2\n",
        start: "",
        checks: &[Check {
            holds: "no node runs more than two of the app's three tasks",
            test: |parsed| {
                let app = service(compose_only(parsed)?, "app")?;
                match app.pointer("/deploy/placement/max_replicas_per_node").and_then(|m| m.as_u64()) {
                    Some(1..=2) => Ok(()),
                    _ => Err("nothing keeps all of the app's tasks off one node: lose that node and the survey stops answering. Under the app's `deploy:`, set `placement: max_replicas_per_node: 2` (with three replicas, that is at least two nodes).".to_owned()),
                }
            },
        }],
        runs: &[Runs {
            holds: "the running app's tasks sit on at least two nodes, two at most on each",
            test: |copy| {
                let nodes = running::task_nodes(copy, Service::App)?;
                let most = nodes
                    .iter()
                    .map(|n| nodes.iter().filter(|m| *m == n).count())
                    .max()
                    .unwrap_or(0);
                let distinct: std::collections::BTreeSet<&String> = nodes.iter().collect();
                if distinct.len() >= 2 && most <= 2 {
                    Ok(())
                } else {
                    Err(format!(
                        "the app's running tasks are on {nodes:?}. {}.",
                        running::up_again(copy)
                    ))
                }
            },
        }],
        hints: &[
            "Where tasks may run is the service's `deploy: placement:`.",
            "placement takes constraints, preferences (spread: node.id) and max_replicas_per_node.",
        ],
    },
    Exercise {
        id: "07-data-stays-with-its-volume",
        step: 7,
        task: "Pin Postgres to the node that holds its volume",
        teaches: "A volume lives on one node; a stateful service scheduled elsewhere starts on an empty volume there.",
        file: STACK_07,
        solved: "        limits: { memory: 512M, pids: 256 }\n      restart_policy: { condition: any, delay: 1s }\n      placement:\n        constraints: [node.labels.survey-data == true]\n",
        start: "        limits: { memory: 512M, pids: 256 }\n      restart_policy: { condition: any, delay: 1s }\n",
        checks: &[Check {
            holds: "Postgres and Redis run only on the node labelled survey-data",
            test: |parsed| {
                let config = compose_only(parsed)?;
                for name in ["db", "redis"] {
                    if !constrained(service(config, name)?, "node.labels.survey-data==true") {
                        return Err(format!(
                            "{name} may be scheduled on any node, and its volume lives on one: moved, it starts on an empty volume there, and the answers seem gone. Add `placement: constraints: [node.labels.survey-data == true]` under its `deploy:` (`up` labels one node)."
                        ));
                    }
                }
                Ok(())
            },
        }],
        runs: &[Runs {
            holds: "the running database is on the node labelled survey-data",
            test: |copy| {
                for node in running::task_nodes(copy, Service::Db)? {
                    let label =
                        running::node(copy, &node, "{{index .Spec.Labels \"survey-data\"}}")?;
                    if label.trim() != "true" {
                        return Err(format!(
                            "the database runs on {node}, which does not hold its volume. {}.",
                            running::up_again(copy)
                        ));
                    }
                }
                Ok(())
            },
        }],
        hints: &[
            "Redis is already pinned: look at its `deploy: placement:`.",
            "`up` labels one node survey-data=true; a constraint can name a node label.",
        ],
    },
    Exercise {
        id: "07-publish-from-the-manager",
        step: 7,
        task: "Keep the proxy on the node whose port this machine maps",
        teaches: "A host-mode port is published on the node the task runs on, and nowhere else.",
        file: STACK_07,
        solved: "      # The lab maps this machine's 127.0.0.1:2154 to the manager's port: the proxy runs there.\n      placement:\n        constraints: [node.role == manager]\n",
        start: "",
        checks: &[Check {
            holds: "the proxy runs on the manager, node1, whose port 127.0.0.1:2154 maps",
            test: |parsed| {
                let proxy = service(compose_only(parsed)?, "proxy")?;
                if constrained(proxy, "node.role==manager") {
                    Ok(())
                } else {
                    Err("the proxy may land on any node, but it publishes its port in host mode, on the node it runs on, and this machine maps only node1's: elsewhere, http://127.0.0.1:2154 answers nothing. Constrain it to `node.role == manager`.".to_owned())
                }
            },
        }],
        runs: &[Runs {
            holds: "the running proxy is on the manager",
            test: |copy| {
                for node in running::task_nodes(copy, Service::Proxy)? {
                    let role = running::node(copy, &node, "{{.Spec.Role}}")?;
                    if role.trim() != "manager" {
                        return Err(format!(
                            "the proxy runs on {node}, a {}: this machine's 127.0.0.1 port maps the manager's. {}.",
                            role.trim(),
                            running::up_again(copy)
                        ));
                    }
                }
                Ok(())
            },
        }],
        hints: &[
            "With `mode: host`, a port is published by the node the task runs on; which node does the lab map to 127.0.0.1?",
        ],
    },
];

/// Whether `service` may only run where `constraint` (written without spaces) holds.
fn constrained(service: &serde_json::Value, constraint: &str) -> bool {
    list(service, "/deploy/placement/constraints")
        .iter()
        .any(|c| c.replace(' ', "") == constraint)
}

/// No variable of any service holds a password: a name with PASSWORD (not a `_FILE`), or a
/// URL with one in it.
const NO_PASSWORD_IN_THE_ENVIRONMENT: Check = Check {
    holds: "no service has a password in its environment",
    test: |parsed| {
        for (name, service) in services(compose_only(parsed)?) {
            for (key, value) in service["environment"].as_object().into_iter().flatten() {
                let value = value.as_str().unwrap_or("");
                let in_url = value.split_once("://").is_some_and(|(_, rest)| {
                    rest.split_once('@')
                        .is_some_and(|(user, _)| user.contains(':'))
                });
                if (key.contains("PASSWORD") && !key.ends_with("_FILE")) || in_url {
                    return Err(format!(
                        "{name} has {key} in its environment: `docker service inspect` shows it to anyone who may run docker, and every process of the container can read it. Give the service the secret, and the variable that names its file (`{key}_FILE: /run/secrets/...`) instead."
                    ));
                }
            }
        }
        Ok(())
    },
};

/// The running app service's spec says `wanted` at `format`.
fn spec_says(copy: &crate::launch::Instance<'_>, format: &str, wanted: &str) -> Result<(), String> {
    match running::service(copy, Service::App, format)?.trim() {
        said if said == wanted => Ok(()),
        said => Err(format!(
            "the running app service says {said}: it was deployed before your edit. {}.",
            running::up_again(copy)
        )),
    }
}
