//! Chapter 02's exercises: the commands that wire the app to Postgres by hand, in the script
//! `cargo xtask codegen` renders from the runner's own (steps/02-network/by-hand.sh).

use super::{Check, Exercise, Runs, script_only};
use crate::{
    exercise::{parsed::option, running},
    launch::Service,
};

const SCRIPT: &str = "steps/02-network/by-hand.sh";

pub static EXERCISES: &[Exercise] = &[
    Exercise {
        id: "02-one-network",
        step: 2,
        task: "Put the app on the network the database is on",
        teaches: "Containers find each other by name only on a network of their own; on Docker's default bridge, `db` means nothing.",
        file: SCRIPT,
        solved: " --network ${PROJECT} --env DATABASE_URL=",
        start: " --env DATABASE_URL=",
        checks: &[Check {
            holds: "the app joins the network the script makes, with the database",
            test: |parsed| {
                let script = script_only(parsed)?;
                let networks = script.networks();
                let app = script.run_of("-app").ok_or(
                    "there is no `docker run` of the app container (--name ...-app) any more",
                )?;
                if option(app, "--network")
                    .iter()
                    .any(|n| networks.contains(n))
                {
                    Ok(())
                } else {
                    Err(format!(
                        "the app's `docker run` joins no network the script makes ({}): it lands on Docker's default bridge, where containers cannot find each other by name, and waits for `db` until it gives up. Add `--network` with the script's network to it.",
                        networks.join(", ")
                    ))
                }
            },
        }],
        runs: &[Runs {
            holds: "the running app shares a network with the database",
            test: |copy| {
                let format = "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}";
                let app = running::container(copy, Service::App, format)?;
                let db = running::container(copy, Service::Db, format)?;
                if app
                    .split_whitespace()
                    .any(|n| n != "bridge" && db.split_whitespace().any(|d| d == n))
                {
                    Ok(())
                } else {
                    Err(format!(
                        "the running app is on {}, the database on {}: run the script again once `cargo xtask step 2 down` has removed them.",
                        app.trim(),
                        db.trim()
                    ))
                }
            },
        }],
        hints: &[
            "Compare the app's `docker run` with the database's: which option does only one of them have?",
            "The script makes the network first, with `docker network create`; a container joins it with `--network NAME`.",
        ],
    },
    Exercise {
        id: "02-db-by-name",
        step: 2,
        task: "Let the app find the database by the name in its DATABASE_URL",
        teaches: "On a user-defined network Docker's DNS answers to container names and to aliases; the app's URL names the database `db`.",
        file: SCRIPT,
        solved: " --network-alias db ",
        start: " ",
        checks: &[Check {
            holds: "something on the network answers to the host in the app's DATABASE_URL",
            test: |parsed| {
                let script = script_only(parsed)?;
                let app = script
                    .run_of("-app")
                    .ok_or("there is no `docker run` of the app container any more")?;
                let url = option(app, "--env")
                    .into_iter()
                    .find_map(|e| e.strip_prefix("DATABASE_URL="))
                    .unwrap_or("");
                let host = url
                    .split('@')
                    .nth(1)
                    .and_then(|rest| rest.split([':', '/']).next())
                    .unwrap_or("");
                let db = script
                    .run_of("-db")
                    .ok_or("there is no `docker run` of the database container any more")?;
                if option(db, "--network-alias").contains(&host)
                    || option(db, "--name").contains(&host)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "the app looks for its database at `{host}` (its DATABASE_URL), but the database container is called {} and has no such alias: the app never finds it. Give it the name the app looks for, `--network-alias {host}`.",
                        option(db, "--name").join("")
                    ))
                }
            },
        }],
        runs: &[Runs {
            holds: "the running database answers to `db` on its network",
            test: |copy| {
                let format =
                    "{{range .NetworkSettings.Networks}}{{range .Aliases}}{{.}} {{end}}{{end}}";
                let aliases = running::container(copy, Service::Db, format)?;
                if aliases.split_whitespace().any(|a| a == "db") {
                    Ok(())
                } else {
                    Err("the running database has no alias `db`: run the script again once `cargo xtask step 2 down` has removed it.".to_owned())
                }
            },
        }],
        hints: &[
            "Read the host in the app's DATABASE_URL, then the database container's name.",
            "`docker run --network-alias NAME` gives a container a second name on its network.",
        ],
    },
];
