//! Chapter 01's exercises: the image, in the step's Dockerfile.

use xshell::cmd;

use super::{Check, Exercise, Runs, dockerfile_only};
use crate::{exercise::running, launch::Service};

const DOCKERFILE: &str = "steps/01-container/Dockerfile";

pub static EXERCISES: &[Exercise] = &[
    Exercise {
        id: "01-not-root",
        step: 1,
        task: "Make the image run the app as a user other than root",
        teaches: "A process in a container is root unless the image says otherwise; a break-in then starts with root's privileges.",
        file: DOCKERFILE,
        solved: "# Any user but root: a break-in gets no privileges. scratch has no /etc/passwd, so a number.\nUSER 10001:10001\n",
        start: "# Exercise 01-not-root: as it stands, the app runs as root.\n",
        checks: &[Check {
            holds: "the final stage runs the app as a user other than root",
            test: |parsed| {
                let file = dockerfile_only(parsed)?;
                match file.last("USER").map(|i| i.args.split(':').next().unwrap_or("").to_owned()) {
                    None => Err("the final stage sets no USER, so the app runs as root (user 0): a break-in would start with root's privileges in the container. Add a `USER` line to the final stage; scratch has no /etc/passwd, so give numbers, such as `USER 10001:10001`.".to_owned()),
                    Some(user) if user == "root" || user == "0" => Err(format!("the final stage's USER is {user}, which is root. Pick a number of no one's, such as 10001.")),
                    Some(_) => Ok(()),
                }
            },
        }],
        runs: &[Runs {
            holds: "the running app container runs as a user other than root",
            test: |copy| {
                let user = running::container(copy, Service::App, "{{.Config.User}}")?;
                match user.split(':').next().unwrap_or("") {
                    "" | "0" | "root" => Err(format!(
                        "the running app container runs as root: it was built before your edit. {}.",
                        running::up_again(copy)
                    )),
                    _ => Ok(()),
                }
            },
        }],
        hints: &[
            "The instruction that sets who runs the image's command is USER, and only the final stage counts.",
            "scratch has no /etc/passwd, so a name such as `app` means nothing there: use numbers, user:group.",
        ],
    },
    Exercise {
        id: "01-healthcheck",
        step: 1,
        task: "Let Docker tell whether the app works, not only whether it runs",
        teaches: "A HEALTHCHECK turns a running container into a healthy or unhealthy one, which `up --wait`, Compose's depends_on and Swarm's updates all wait on.",
        file: DOCKERFILE,
        solved: "HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 \\\n    CMD [\"/survey\", \"healthcheck\"]\n",
        start: "# Exercise 01-healthcheck: Docker cannot tell here whether the app works.\n",
        checks: &[
            Check {
                holds: "the image has a HEALTHCHECK",
                test: |parsed| {
                    let file = dockerfile_only(parsed)?;
                    match file.last("HEALTHCHECK") {
                        None => Err("the final stage has no HEALTHCHECK: Docker sees the container running, never whether the app answers, so nothing can wait for it to be ready. Add one.".to_owned()),
                        Some(check) if check.args.eq_ignore_ascii_case("NONE") => Err("HEALTHCHECK NONE turns the check off: give it a command.".to_owned()),
                        Some(_) => Ok(()),
                    }
                },
            },
            Check {
                holds: "the check runs the binary's own `healthcheck`, in exec form",
                test: |parsed| {
                    let file = dockerfile_only(parsed)?;
                    let Some(check) = file.last("HEALTHCHECK") else {
                        return Err("there is no HEALTHCHECK to look at yet".to_owned());
                    };
                    let command = check
                        .args
                        .split_once("CMD")
                        .map(|(_, c)| c.trim())
                        .unwrap_or("");
                    if !command.starts_with('[') {
                        return Err(format!(
                            "the check's command `{command}` is in shell form, and scratch has no shell (nor curl): use the exec form, a JSON list such as [\"/survey\", \"healthcheck\"]."
                        ));
                    }
                    if !command.contains("\"/survey\"") || !command.contains("\"healthcheck\"") {
                        return Err(format!(
                            "the check runs {command}, which is not in the image: the only program there is /survey, and `/survey healthcheck` asks the app itself."
                        ));
                    }
                    Ok(())
                },
            },
        ],
        runs: &[Runs {
            holds: "Docker reports the running app healthy",
            test: |copy| {
                let format = "{{if .State.Health}}{{.State.Health.Status}}{{end}}";
                match running::container(copy, Service::App, format)?.as_str() {
                    "healthy" => Ok(()),
                    "" => Err(format!(
                        "the running app container has no healthcheck: it was built before your edit. {}.",
                        running::up_again(copy)
                    )),
                    status => Err(format!(
                        "the running app is {status}: `cargo xtask step 1 logs` shows why, and `docker inspect` the check's last output."
                    )),
                }
            },
        }],
        hints: &[
            "The instruction is HEALTHCHECK [options] CMD command; it goes in the final stage.",
            "The image holds one program, /survey, and it has a `healthcheck` subcommand; without a shell, write the command as a JSON list.",
            "`--interval=5s --start-period=60s` checks every 5 s, and forgives failures while the app starts.",
        ],
    },
    Exercise {
        id: "01-small-image",
        step: 1,
        task: "Ship the binary, not the compiler: make the final stage small again",
        teaches: "A multi-stage build compiles in one image and ships only the result in another; the Rust toolchain stays behind.",
        file: DOCKERFILE,
        solved: "FROM ${RUNTIME_IMAGE}\n",
        start: "FROM ${BUILDER_IMAGE}\n",
        checks: &[
            Check {
                holds: "the final stage starts from the runtime image (scratch), not the build stage's",
                test: |parsed| {
                    let file = dockerfile_only(parsed)?;
                    let from = file
                        .final_stage()
                        .first()
                        .map(|i| i.args.as_str())
                        .unwrap_or("");
                    if from.contains("BUILDER_IMAGE") || from.starts_with("rust") || from == "build"
                    {
                        return Err(format!(
                            "the final stage starts FROM {from}, the Rust toolchain: the image ships a compiler and about a gigabyte it never runs. Start it from ${{RUNTIME_IMAGE}} (scratch) instead."
                        ));
                    }
                    Ok(())
                },
            },
            Check {
                holds: "the final stage copies the binary from the build stage",
                test: |parsed| {
                    let file = dockerfile_only(parsed)?;
                    let copies = file.final_stage().iter().any(|i| {
                        i.keyword == "COPY"
                            && i.args.contains("--from=build")
                            && i.args.contains("/survey")
                    });
                    if copies {
                        Ok(())
                    } else {
                        Err("the final stage does not copy /survey from the build stage: `COPY --from=build /survey /survey`.".to_owned())
                    }
                },
            },
        ],
        runs: &[Runs {
            holds: "the running app's image is under 50 MB",
            test: |copy| {
                let image = running::container(copy, Service::App, "{{.Image}}")?;
                let format = "{{.Size}}";
                let size = cmd!(copy.sh, "docker image inspect --format {format} {image}")
                    .quiet()
                    .read()
                    .map_err(|e| e.to_string())?;
                match size.trim().parse::<u64>() {
                    Ok(bytes) if bytes < 50_000_000 => Ok(()),
                    Ok(bytes) => Err(format!(
                        "the running app's image is {} MB: it was built before your edit, or its final stage still carries the toolchain. {}.",
                        bytes / 1_000_000,
                        running::up_again(copy)
                    )),
                    Err(_) => Err(format!("Docker gave no size for {image}")),
                }
            },
        }],
        hints: &[
            "Look at the FROM of the last stage: every stage starts from an image, and the last one is what ships.",
            "The build arguments at the top name two images: one to build with, one to run on.",
        ],
    },
];
