//! The stack's secrets: each a random password, except `redis-auth.conf`, which is the Redis
//! password as a line of Redis configuration. They outlive a plain `down` with the volumes,
//! since the database in the volume knows its passwords; `down --volumes` removes both.

use anyhow::{Context, bail};
use xshell::cmd;

use super::scoped;
use crate::launch::Instance;

/// The secrets the stack file names (each as `STACK_NAME`).
const SECRETS: [&str; 4] = [
    "db-password",
    "app-db-password",
    "redis-password",
    "redis-auth.conf",
];

/// Creates the stack's secrets that do not exist yet.
pub(super) fn ensure(copy: &Instance<'_>) -> anyhow::Result<()> {
    let sh = copy.sh;
    let label = format!("survey.project={}", copy.project);
    let existing = existing(copy)?;
    let exists = |name: &String| existing.contains(name);
    let redis = scoped(copy, "redis-password");
    let redis_password = if exists(&redis) {
        None
    } else {
        Some(random_password()?)
    };
    for secret in SECRETS {
        let name = scoped(copy, secret);
        if exists(&name) {
            continue;
        }
        let value = match secret {
            "redis-password" => redis_password.clone().unwrap_or_default(),
            "redis-auth.conf" => match &redis_password {
                Some(password) => format!("requirepass {password}\n"),
                None => bail!(
                    "the secret {name} is missing but {redis} exists: remove both (`cargo xtask step {} down --volumes`)",
                    copy.step.number
                ),
            },
            _ => random_password()?,
        };
        // The value goes through standard input: it is never on a command line or in a file.
        cmd!(sh, "docker secret create --label {label} {name} -")
            .stdin(value)
            .ignore_stdout()
            .run()
            .with_context(|| format!("creating the secret {name}"))?;
    }
    Ok(())
}

/// Removes the stack's secrets (`down --volumes`).
pub(super) fn remove(copy: &Instance<'_>) -> anyhow::Result<()> {
    let sh = copy.sh;
    let existing = existing(copy)?;
    let ours: Vec<String> = SECRETS
        .iter()
        .map(|secret| scoped(copy, secret))
        .filter(|name| existing.contains(name))
        .collect();
    if !ours.is_empty() {
        cmd!(sh, "docker secret rm {ours...}")
            .ignore_stdout()
            .run()
            .context("removing the stack's secrets")?;
    }
    Ok(())
}

/// The names of the secrets the swarm holds whose names start as the stack's do: one
/// question to the engine, not one per secret.
fn existing(copy: &Instance<'_>) -> anyhow::Result<Vec<String>> {
    let sh = copy.sh;
    let (prefix, format) = (format!("name={}_", copy.project), "{{.Name}}");
    let listed = cmd!(sh, "docker secret ls --filter {prefix} --format {format}")
        .quiet()
        .read()
        .context("listing the swarm's secrets")?;
    Ok(listed.lines().map(str::to_owned).collect())
}

/// A random password: 32 hexadecimal digits from the kernel's random source.
fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?,
        &mut bytes,
    )
    .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
