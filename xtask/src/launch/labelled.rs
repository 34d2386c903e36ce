//! What the two plain-docker launchers share: their containers and network carry the label
//! `survey.project=NAME`, so `down`, `ps` and `logs` find them by it.

use xshell::cmd;

use super::{Input, Instance};

/// The `--filter` that finds what carries the label.
fn filter(copy: &Instance<'_>) -> String {
    format!("label=survey.project={}", copy.project)
}

/// The label itself, for `docker run --label` and `docker network create --label`.
pub fn label(copy: &Instance<'_>) -> String {
    format!("survey.project={}", copy.project)
}

/// Removes every labelled container (with its anonymous volumes: these steps keep nothing)
/// and network.
pub fn down(copy: &Instance<'_>) -> anyhow::Result<()> {
    remove_containers(copy)?;
    remove_networks(copy)
}

/// Removes every labelled container, with its anonymous volumes.
pub fn remove_containers(copy: &Instance<'_>) -> anyhow::Result<()> {
    let (sh, filter) = (copy.sh, filter(copy));
    let ids = cmd!(sh, "docker ps --all --quiet --filter {filter}")
        .quiet()
        .read()?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        cmd!(sh, "docker rm --force --volumes {ids...}")
            .ignore_stdout()
            .run()?;
    }
    Ok(())
}

/// Removes every labelled network.
pub fn remove_networks(copy: &Instance<'_>) -> anyhow::Result<()> {
    let (sh, filter) = (copy.sh, filter(copy));
    let networks = cmd!(sh, "docker network ls --quiet --filter {filter}")
        .quiet()
        .read()?;
    let networks: Vec<&str> = networks.split_whitespace().collect();
    if !networks.is_empty() {
        cmd!(sh, "docker network rm {networks...}")
            .ignore_stdout()
            .run()?;
    }
    Ok(())
}

/// Whether any labelled container exists, running or not.
pub fn running(copy: &Instance<'_>) -> anyhow::Result<bool> {
    let (sh, filter) = (copy.sh, filter(copy));
    let ids = cmd!(sh, "docker ps --all --quiet --filter {filter}")
        .quiet()
        .read()?;
    Ok(!ids.trim().is_empty())
}

/// The names of the labelled containers, sorted: all of them, or those whose status is one
/// of `statuses` (`exited`, `created`, ...).
pub fn names(copy: &Instance<'_>, statuses: &[&str]) -> anyhow::Result<Vec<String>> {
    let (sh, filter, format) = (copy.sh, filter(copy), "{{.Names}}");
    let statuses: Vec<String> = statuses
        .iter()
        .flat_map(|s| ["--filter".to_owned(), format!("status={s}")])
        .collect();
    let names = cmd!(
        sh,
        "docker ps --all --filter {filter} {statuses...} --format {format}"
    )
    .quiet()
    .read()?;
    let mut names: Vec<String> = names.split_whitespace().map(str::to_owned).collect();
    names.sort_unstable();
    Ok(names)
}

/// Whether `service`'s container runs, from `image` as it is now, published as `publish`
/// (`127.0.0.1:PORT:5000`): if not, `up` replaces it.
pub fn is_current(copy: &Instance<'_>, service: &str, image: &str, publish: &str) -> bool {
    let (sh, name) = (copy.sh, container(copy, service));
    let format = "{{.Image}} {{.State.Running}} {{range $port, $to := .HostConfig.PortBindings}}{{range $to}}{{.HostIp}}:{{.HostPort}}:{{$port}}{{end}}{{end}}";
    let Ok(state) = cmd!(sh, "docker inspect --format {format} {name}")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return false;
    };
    let wanted = format!(
        "{} true {}/tcp",
        crate::images::id(sh, image).unwrap_or_default(),
        publish
    );
    state.trim() == wanted
}

/// Replaces `service`'s container if it is not current (see [`is_current`]) with what
/// `run` starts, and says which it did.
pub fn replace_if_changed(
    copy: &Instance<'_>,
    service: &str,
    publish: &str,
    run: xshell::Cmd<'_>,
) -> anyhow::Result<()> {
    let (sh, name) = (copy.sh, container(copy, service));
    if is_current(copy, service, &copy.step.image(copy.sh), publish) {
        println!("{name} is up to date.");
        return Ok(());
    }
    println!("{name}: its image or port changed, so it is replaced.");
    if crate::docker::succeeds(cmd!(sh, "docker inspect {name}")) {
        cmd!(sh, "docker rm --force {name}").ignore_stdout().run()?;
    }
    run.ignore_stdout().run()?;
    Ok(())
}

/// `docker ps` of the labelled containers.
pub fn ps(copy: &Instance<'_>) -> anyhow::Result<()> {
    let (sh, filter) = (copy.sh, filter(copy));
    let format = "table {{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}";
    cmd!(sh, "docker ps --all --filter {filter} --format {format}").run()?;
    Ok(())
}

/// `docker logs` of each of `services` that exists.
pub fn logs(copy: &Instance<'_>, services: &[&str], follow: bool) -> anyhow::Result<()> {
    let (sh, follow) = (copy.sh, follow.then_some("--follow"));
    for service in services {
        let name = container(copy, service);
        if crate::docker::succeeds(cmd!(sh, "docker inspect {name}")) {
            cmd!(sh, "docker logs {follow...} {name}").run()?;
        }
    }
    Ok(())
}

/// The container of `service`: these launchers name it PROJECT-SERVICE.
pub fn container(copy: &Instance<'_>, service: &str) -> String {
    format!("{}-{service}", copy.project)
}

/// Waits for `services`' containers to be healthy.
pub fn wait_healthy(copy: &Instance<'_>, services: &[&str]) -> anyhow::Result<()> {
    let names: Vec<String> = services.iter().map(|s| container(copy, s)).collect();
    crate::docker::wait_healthy(copy.sh, &names, crate::docker::HEALTHY_WITHIN)
}

/// `docker exec` into `service`'s container.
pub fn exec<'a>(copy: &'a Instance<'_>, service: &str, input: Input) -> xshell::Cmd<'a> {
    let name = container(copy, service);
    let (sh, options) = (copy.sh, input.exec_options());
    cmd!(sh, "docker exec {options...} {name}")
}
