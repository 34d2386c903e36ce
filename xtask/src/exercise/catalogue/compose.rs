//! Chapters 03 to 05's exercises: the Compose files.

use super::{Check, Exercise, Runs, compose_only};
use crate::exercise::parsed::{list, option_value, seconds, service, services, text};
use crate::{exercise::running, launch::Service};

pub static EXERCISES: &[Exercise] = &[
    Exercise {
        id: "03-wait-for-the-database",
        step: 3,
        task: "Start the app only once Postgres is healthy, not merely started",
        teaches: "A started container is not a ready server: `depends_on` with a condition waits for the healthcheck.",
        file: "compose/03-compose.yaml",
        solved: "      db:\n        # Start the app once the database is healthy, not merely started.\n        condition: service_healthy\n",
        start: "      db:\n        condition: service_started\n",
        checks: &[WAITS_FOR_HEALTHY_DB],
        runs: &[Runs {
            holds: "Compose started the running app once db was healthy",
            test: |copy| {
                let format = "{{index .Config.Labels \"com.docker.compose.depends_on\"}}";
                let depends = running::container(copy, Service::App, format)?;
                if depends
                    .split(',')
                    .any(|d| d.starts_with("db:service_healthy"))
                {
                    Ok(())
                } else {
                    Err(format!(
                        "the running app was started waiting for db as `{depends}`. {}.",
                        running::up_again(copy)
                    ))
                }
            },
        }],
        hints: &[
            "The app's `depends_on:` says which services start first, and with `condition:` what they must be first.",
            "The conditions are service_started, service_healthy and service_completed_successfully; db has a healthcheck.",
        ],
    },
    Exercise {
        id: "03-database-unpublished",
        step: 3,
        task: "Keep Postgres unreachable from this machine and its network",
        teaches: "Services on a project's network reach each other by name; a published port is a door to the host and to everyone who reaches it.",
        file: "compose/03-compose.yaml",
        solved: "    # No `ports:` on purpose: nothing publishes Postgres on this machine. The services on\n    # this project's network reach it (and any port it listens on) whether or not it is in\n    # `expose`, which only documents the port.\n    expose:\n      - \"5432\"\n",
        start: "    ports:\n      - \"5432:5432\"\n",
        checks: &[Check {
            holds: "db publishes no port",
            test: |parsed| {
                let db = service(compose_only(parsed)?, "db")?;
                match db.get("ports").and_then(|p| p.as_array()) {
                    Some(ports) if !ports.is_empty() => Err("db publishes Postgres's port on this machine, on every interface: anyone on your network can try passwords on it. The app reaches it over the project's network as db:5432 with no published port: remove db's `ports:`.".to_owned()),
                    _ => Ok(()),
                }
            },
        }],
        runs: &[Runs {
            holds: "the running database publishes no port",
            test: |copy| {
                let format =
                    "{{range $p, $b := .NetworkSettings.Ports}}{{if $b}}{{$p}} {{end}}{{end}}";
                match running::container(copy, Service::Db, format)?.trim() {
                    "" => Ok(()),
                    ports => Err(format!(
                        "the running db publishes {ports}: it was made before your edit. {}.",
                        running::up_again(copy)
                    )),
                }
            },
        }],
        hints: &[
            "How does the app reach the database? Look at DATABASE_URL: by the service's name, on the project's network.",
            "`ports:` publishes on the host; `expose:` only documents a port. One of them has to go.",
        ],
    },
    Exercise {
        id: "03-loopback-only",
        step: 3,
        task: "Publish the survey on this machine only, never on every interface",
        teaches: "A port published without an address listens on every interface, and Docker's own firewall rules open it past the host's firewall.",
        file: "compose/03-compose.yaml",
        solved: "      # Published on this machine only (127.0.0.1), never on every interface.\n      - \"127.0.0.1:${SURVEY_PORT:-2154}:5000\"\n",
        start: "      - \"${SURVEY_PORT:-2154}:5000\"\n",
        checks: &[PUBLISHED_ON_LOOPBACK],
        runs: &[Runs {
            holds: "the running app listens on 127.0.0.1 only",
            test: running_app_on_loopback,
        }],
        hints: &[
            "A port mapping can name the host address it listens on: ADDRESS:HOST_PORT:CONTAINER_PORT.",
            "127.0.0.1 is this machine alone.",
        ],
    },
    Exercise {
        id: "04-keep-the-answers",
        step: 4,
        task: "Make the answers outlive `down`: keep Postgres's data on the named volume",
        teaches: "A container's files go with it; a named volume stays until it is removed on purpose (`down --volumes`).",
        file: "compose/04-volumes.yaml",
        solved: "      - donut-data:/var/lib/postgresql/data/donut\n",
        start: "",
        checks: &[PGDATA_ON_A_NAMED_VOLUME],
        runs: &[RUNNING_PGDATA_ON_THE_VOLUME],
        hints: &[
            "The file declares a volume, donut-data, at the bottom; does any service mount it?",
            "A service mounts a volume under its `volumes:` as NAME:PATH_IN_THE_CONTAINER; Postgres writes where PGDATA says.",
        ],
    },
    Exercise {
        id: "04-volume-where-the-data-is",
        step: 4,
        task: "Make Postgres write its files where the volume is mounted",
        teaches: "A volume keeps what is written under its mount point, nothing else: the program must write there.",
        file: "compose/04-volumes.yaml",
        solved: "      PGDATA: /var/lib/postgresql/data/donut\n",
        start: "      PGDATA: /var/lib/postgresql/pgdata\n",
        checks: &[PGDATA_ON_A_NAMED_VOLUME],
        runs: &[RUNNING_PGDATA_ON_THE_VOLUME],
        hints: &[
            "Compare db's PGDATA with where db mounts donut-data.",
            "The image's own VOLUME is /var/lib/postgresql/data; a folder inside the named volume's mount point keeps the data there.",
        ],
    },
    Exercise {
        id: "05-thanked-means-on-disk",
        step: 5,
        task: "Make Redis keep every entry on disk before the app thanks anyone",
        teaches: "The app thanks a visitor once Redis has the answer; without an append-only file, a crash of Redis loses what it held.",
        file: "compose/05-queue.yaml",
        solved: "\"--appendonly\", \"yes\", \"--appendfsync\", \"${REDIS_APPENDFSYNC:-always}\", ",
        start: "\"--appendonly\", \"no\", ",
        checks: &[Check {
            holds: "Redis writes every entry to its append-only file, fsynced, before it answers",
            test: |parsed| {
                let redis = service(compose_only(parsed)?, "redis")?;
                let command = list(redis, "/command");
                let value = |option: &str| option_value(&command, option);
                if value("--appendonly") != Some("yes") {
                    return Err("Redis keeps the queue in memory only (no `--appendonly yes`): a `kill -9` of Redis loses every answer visitors were thanked for that no worker has stored yet. Add `\"--appendonly\", \"yes\"` to its command.".to_owned());
                }
                if value("--appendfsync") != Some("always") {
                    return Err("the append-only file is fsynced once a second (or less): a power cut loses the last second of thanked answers. Add `\"--appendfsync\", \"always\"`.".to_owned());
                }
                Ok(())
            },
        }],
        runs: &[Runs {
            holds: "the running Redis has appendonly yes and appendfsync always",
            test: |copy| {
                for (setting, wanted) in [("appendonly", "yes"), ("appendfsync", "always")] {
                    let said = running::exec(
                        copy,
                        Service::Redis,
                        &["redis-cli", "config", "get", setting],
                    )?;
                    if said.lines().nth(1).map(str::trim) != Some(wanted) {
                        return Err(format!(
                            "the running Redis has {setting} {}: it was started before your edit. {}.",
                            said.lines().nth(1).unwrap_or("?"),
                            running::up_again(copy)
                        ));
                    }
                }
                Ok(())
            },
        }],
        hints: &[
            "Redis's options are on its `command:` line in the file.",
            "Two options: one turns the append-only file on, the other says how often it is fsynced.",
        ],
    },
    Exercise {
        id: "05-refuse-dont-evict",
        step: 5,
        task: "Make a full Redis refuse new answers instead of dropping queued ones",
        teaches: "Redis as a cache evicts keys when full; as a queue, evicting is losing what it promised to keep.",
        file: "compose/05-queue.yaml",
        solved: "\"--maxmemory-policy\", \"noeviction\"",
        start: "\"--maxmemory-policy\", \"allkeys-lru\"",
        checks: &[Check {
            holds: "a full Redis refuses new entries (noeviction)",
            test: |parsed| {
                let redis = service(compose_only(parsed)?, "redis")?;
                let command = list(redis, "/command");
                let policy = option_value(&command, "--maxmemory-policy")
                    .unwrap_or("noeviction (the default)");
                if policy.starts_with("noeviction") {
                    Ok(())
                } else {
                    Err(format!(
                        "with `--maxmemory-policy {policy}` a full Redis deletes keys to make room, the queue's among them: answers visitors were thanked for vanish. With noeviction it refuses new ones instead (the app says 503, and the visitor sends again)."
                    ))
                }
            },
        }],
        runs: &[Runs {
            holds: "the running Redis refuses new entries when full",
            test: |copy| {
                let said = running::exec(
                    copy,
                    Service::Redis,
                    &["redis-cli", "config", "get", "maxmemory-policy"],
                )?;
                match said.lines().nth(1).map(str::trim) {
                    Some("noeviction") => Ok(()),
                    policy => Err(format!(
                        "the running Redis evicts ({}): it was started before your edit. {}.",
                        policy.unwrap_or("?"),
                        running::up_again(copy)
                    )),
                }
            },
        }],
        hints: &[
            "Look at `--maxmemory-policy` on Redis's command line: what does Redis do when it reaches `--maxmemory`?",
        ],
    },
    Exercise {
        id: "05-finish-the-batch",
        step: 5,
        task: "Give a stopping worker time to finish the batch in its hands",
        teaches: "`docker stop` sends SIGTERM, then SIGKILL after a grace period; a worker needs that time to store what it holds.",
        file: "compose/05-queue.yaml",
        solved: "    stop_grace_period: 30s\n",
        start: "    stop_grace_period: 1s\n",
        checks: &[Check {
            holds: "a worker gets at least 10 s between SIGTERM and SIGKILL",
            test: |parsed| {
                let worker = service(compose_only(parsed)?, "worker")?;
                let grace = text(worker, "/stop_grace_period");
                match seconds(if grace.is_empty() { "10s" } else { grace }) {
                    Some(s) if s >= 10.0 => Ok(()),
                    _ => Err(format!(
                        "a worker gets {grace} after SIGTERM before SIGKILL: a batch in hand is cut off, and another worker delivers it again only once it has been pending for 15 s. Give it time: `stop_grace_period: 30s`."
                    )),
                }
            },
        }],
        runs: &[Runs {
            holds: "a running worker gets at least 10 s to stop",
            test: |copy| {
                let timeout = running::container(copy, Service::Worker, "{{.Config.StopTimeout}}")?;
                match timeout.trim().parse::<u64>() {
                    Ok(seconds) if seconds >= 10 => Ok(()),
                    _ => Err(format!(
                        "the running workers get {}s to stop: they were made before your edit. {}.",
                        timeout.trim(),
                        running::up_again(copy)
                    )),
                }
            },
        }],
        hints: &[
            "The key that sets how long Docker waits between SIGTERM and SIGKILL is the worker's stop_grace_period.",
        ],
    },
];

/// The app waits until db is healthy, and db has a healthcheck to be healthy by.
const WAITS_FOR_HEALTHY_DB: Check = Check {
    holds: "the app waits until the database is healthy",
    test: |parsed| {
        let config = compose_only(parsed)?;
        let (app, db) = (service(config, "app")?, service(config, "db")?);
        let condition = text(app, "/depends_on/db/condition");
        if condition != "service_healthy" {
            return Err(format!(
                "the app starts once db is {}, before Postgres accepts connections: its first requests fail. Set `condition: service_healthy` under the app's `depends_on: db:`.",
                condition
                    .strip_prefix("service_")
                    .unwrap_or("anything at all")
            ));
        }
        if db.pointer("/healthcheck/test").is_none() {
            return Err(
                "db has no healthcheck, so it can never be healthy: put its `healthcheck:` back."
                    .to_owned(),
            );
        }
        Ok(())
    },
};

/// Every published port listens on 127.0.0.1 alone.
const PUBLISHED_ON_LOOPBACK: Check = Check {
    holds: "every published port listens on 127.0.0.1 only",
    test: |parsed| {
        for (name, service) in services(compose_only(parsed)?) {
            for port in service
                .get("ports")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                if port["host_ip"].as_str() != Some("127.0.0.1") {
                    return Err(format!(
                        "{name} publishes {} on every interface: on a shared network anyone can reach it. Put 127.0.0.1: in front, as in \"127.0.0.1:2154:5000\".",
                        port["target"]
                    ));
                }
            }
        }
        Ok(())
    },
};

/// db mounts a named volume where PGDATA is.
const PGDATA_ON_A_NAMED_VOLUME: Check = Check {
    holds: "Postgres writes its data on the named volume",
    test: |parsed| {
        let config = compose_only(parsed)?;
        let db = service(config, "db")?;
        let pgdata = match text(db, "/environment/PGDATA") {
            "" => "/var/lib/postgresql/data",
            set => set,
        };
        let volumes = db
            .get("volumes")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten();
        let named: Vec<(&str, &str)> = volumes
            .filter(|v| {
                v["type"] == "volume" && v["source"].as_str().is_some_and(|s| !s.is_empty())
            })
            .map(|v| (text(v, "/source"), text(v, "/target")))
            .collect();
        if named.is_empty() {
            return Err("db mounts no named volume: Postgres writes into the container (and the image's anonymous volume), and `down` deletes both. Mount the file's volume: `- donut-data:/var/lib/postgresql/data/donut` under db's `volumes:`.".to_owned());
        }
        if !named
            .iter()
            .any(|(_, target)| pgdata == *target || pgdata.starts_with(&format!("{target}/")))
        {
            let (source, target) = named[0];
            return Err(format!(
                "Postgres writes to PGDATA, {pgdata}, but {source} is mounted at {target}: the data is not on the volume, and `down` loses it. Make PGDATA and the volume's target agree."
            ));
        }
        Ok(())
    },
};

/// Every port of the running app is published on 127.0.0.1.
fn running_app_on_loopback(copy: &crate::launch::Instance<'_>) -> Result<(), String> {
    let format = "{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostIp}} {{end}}{{end}}";
    let addresses = running::container(copy, Service::App, format)?;
    if addresses.split_whitespace().all(|a| a == "127.0.0.1") {
        Ok(())
    } else {
        Err(format!(
            "the running app is published on {}: it was made before your edit. {}.",
            addresses.trim(),
            running::up_again(copy)
        ))
    }
}

/// The running database's PGDATA is on a named volume of the project's.
const RUNNING_PGDATA_ON_THE_VOLUME: Runs = Runs {
    holds: "the running database writes its data on the named volume",
    test: |copy| {
        let format = "{{range .Config.Env}}{{println .}}{{end}}";
        let env = running::container(copy, Service::Db, format)?;
        let pgdata = env
            .lines()
            .find_map(|l| l.strip_prefix("PGDATA="))
            .unwrap_or("/var/lib/postgresql/data")
            .to_owned();
        let format =
            "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{.Destination}}\n{{end}}{{end}}";
        let mounts = running::container(copy, Service::Db, format)?;
        let named = mounts
            .lines()
            .filter_map(|l| l.split_once(' '))
            .any(|(name, at)| {
                name.starts_with(&format!("{}_", copy.project))
                    && (pgdata == at || pgdata.starts_with(&format!("{at}/")))
            });
        if named {
            Ok(())
        } else {
            Err(format!(
                "the running database writes {pgdata} outside the project's named volume: it was made before your edit. {}.",
                running::up_again(copy)
            ))
        }
    },
};
