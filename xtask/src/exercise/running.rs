//! What runs, as a check sees it: the containers, services and tasks of a running copy of
//! the step, asked of Docker quietly (a check prints its findings, not its commands).

use xshell::cmd;

use crate::launch::{Instance, Service};

/// One thing a check looks at in the running step.
pub struct Runs {
    /// What holds when it passes, said as a fact.
    pub holds: &'static str,
    /// `Err` says what is wrong instead, and what fixes it.
    pub test: fn(&Instance<'_>) -> Result<(), String>,
}

/// What runs is the file as it was at the last `up`: the fix for a running step that lags
/// behind a right file.
pub fn up_again(copy: &Instance<'_>) -> String {
    format!(
        "`cargo xtask step {} up` applies your file",
        copy.step.number
    )
}

/// `docker inspect --format FORMAT` of `service`'s (first) container.
pub fn container(copy: &Instance<'_>, service: Service, format: &str) -> Result<String, String> {
    let name = copy.container(service).map_err(|e| format!("{e:#}"))?;
    quiet(cmd!(copy.sh, "docker inspect --format {format} {name}"))
}

/// `docker service inspect --format FORMAT` of the stack's `service`.
pub fn service(copy: &Instance<'_>, service: Service, format: &str) -> Result<String, String> {
    let _engine = on_swarm(copy);
    let name = format!("{}_{service}", copy.project);
    quiet(cmd!(
        copy.sh,
        "docker service inspect --format {format} {name}"
    ))
}

/// The nodes the running tasks of the stack's `service` are on, one per task.
pub fn task_nodes(copy: &Instance<'_>, service: Service) -> Result<Vec<String>, String> {
    let _engine = on_swarm(copy);
    let (name, format) = (format!("{}_{service}", copy.project), "{{.Node}}");
    let nodes = quiet(cmd!(
        copy.sh,
        "docker service ps --filter desired-state=running --format {format} {name}"
    ))?;
    Ok(nodes.lines().map(str::to_owned).collect())
}

/// `docker node inspect --format FORMAT NODE`.
pub fn node(copy: &Instance<'_>, node: &str, format: &str) -> Result<String, String> {
    let _engine = on_swarm(copy);
    quiet(cmd!(
        copy.sh,
        "docker node inspect --format {format} {node}"
    ))
}

/// `args` run in `service`'s container.
pub fn exec(copy: &Instance<'_>, service: Service, args: &[&str]) -> Result<String, String> {
    let command = copy
        .exec(service, crate::launch::Input::Closed)
        .map_err(|e| format!("{e:#}"))?;
    quiet(command.args(args))
}

/// Points this shell's docker commands at the copy's swarm while the guard lives.
fn on_swarm<'a>(copy: &'a Instance<'_>) -> Option<xshell::PushEnv<'a>> {
    copy.launcher()
        .swarm_engine(copy)
        .map(|host| copy.sh.push_env("DOCKER_HOST", host))
}

fn quiet(command: xshell::Cmd<'_>) -> Result<String, String> {
    command
        .quiet()
        .ignore_stderr()
        .read()
        .map_err(|e| format!("Docker could not say: {e}"))
}
