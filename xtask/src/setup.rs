//! `cargo xtask setup`: installs every tool of `tools::TOOLS` that is missing, on Debian as
//! root (what CI is); elsewhere it says what to install. `--check-apt` proves, in a clean
//! bookworm (the debootstrap base image), that every apt package of the list can be installed
//! there and keeps bookworm's libc: a machine that already has a package cannot hide its
//! absence from the check.

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::tools::{self, Source, Tool};

/// Install the tools the steps and tests need (Debian, as root), or check that they install.
#[derive(Debug, clap::Args)]
pub struct Setup {
    /// Instead of installing, check in a clean bookworm container that every apt package of
    /// the list installs there and keeps bookworm's libc.
    #[arg(long)]
    check_apt: bool,
    /// With --check-apt: check these packages too.
    #[arg(long, requires = "check_apt", value_name = "PACKAGE")]
    also: Vec<String>,
}

impl Setup {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.check_apt {
            return check_apt(sh, &self.also);
        }
        install_missing(sh)?;
        println!("Every tool is here: see `cargo xtask doctor`.");
        Ok(())
    }
}

/// Whether this is a Debian machine and we are root: then we may install with apt.
fn debian_as_root() -> bool {
    std::path::Path::new("/etc/debian_version").exists() && throwaway_postgres::running_as_root()
}

/// Installs every missing tool on Debian as root; elsewhere fails with what to run.
pub fn install_missing(sh: &Shell) -> anyhow::Result<()> {
    let missing = tools::missing(sh);
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|t| t.name).collect();
    if !debian_as_root() {
        let fixes: Vec<String> = missing
            .iter()
            .map(|t| format!("  {:<26} {}", t.name, t.fix()))
            .collect();
        bail!(
            "missing: {}. On Debian, one command installs them all: sudo -E \"$(command -v cargo)\" xtask setup\n\
             Elsewhere, install each one:\n{}",
            names.join(", "),
            fixes.join("\n")
        );
    }
    let logs = crate::log_dir(sh)?;
    eprintln!(
        "==> installing what is missing: {} (logs in {})",
        names.join(", "),
        logs.display()
    );
    install_apt(sh, &missing, &logs)?;
    for tool in &missing {
        match tool.source {
            Source::Crate {
                name,
                version,
                features,
            } => {
                let log = logs.join(format!("cargo-install-{name}.log"));
                eprintln!(
                    "$ cargo install {name} --locked --version {version} --no-default-features --features {features}   (a few minutes; log: {})",
                    log.display()
                );
                logged(
                    cmd!(sh, "cargo install {name} --locked --version {version} --no-default-features --features {features}"),
                    &log,
                )
                .with_context(|| format!("installing {name} from crates.io"))?;
            }
            Source::Pip(package) => install_pip(sh, package, &logs)?,
            Source::Bookworm(_) | Source::Trixie(_) => {}
        }
    }
    let still: Vec<&str> = tools::missing(sh).iter().map(|t| t.name).collect();
    if !still.is_empty() {
        bail!(
            "still missing after installing: {} (see the logs in {})",
            still.join(", "),
            logs.display()
        );
    }
    Ok(())
}

/// One apt-get run for every apt package that is missing, trixie's added as a source first.
fn install_apt(sh: &Shell, missing: &[Tool], logs: &std::path::Path) -> anyhow::Result<()> {
    let packages = tools::apt_packages(missing);
    if packages.is_empty() {
        return Ok(());
    }
    if missing
        .iter()
        .any(|t| matches!(t.source, Source::Trixie(_)))
    {
        for (path, text) in [tools::TRIXIE_SOURCES, tools::TRIXIE_PIN] {
            if sh.path_exists(path) {
                continue;
            }
            eprintln!("$ write {path}");
            sh.write_file(path, text)
                .with_context(|| format!("writing {path}"))?;
        }
    }
    let log = logs.join("apt.log");
    let _frontend = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    // Packages such as postgresql and redis-server start their service when installed; the
    // tests start servers of their own, and nothing should be left running. Debian's way to
    // say "start no service now" is a policy-rc.d that answers 101.
    let policy = "/usr/sbin/policy-rc.d";
    let _no_services = if sh.path_exists(policy) {
        None
    } else {
        sh.write_file(policy, "#!/bin/sh\nexit 101\n")?;
        cmd!(sh, "chmod 755 {policy}").quiet().run()?;
        Some(RemoveOnDrop(policy))
    };
    eprintln!("$ apt-get update   (log: {})", log.display());
    logged(cmd!(sh, "apt-get update"), &log).context("apt-get update failed")?;
    eprintln!(
        "$ apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    logged(
        cmd!(
            sh,
            "apt-get install -y --no-install-recommends {packages...}"
        ),
        &log,
    )
    .context("apt-get install failed")
}

/// pip, with Debian's python3-pip first where there is no pip at all. As root on a Debian
/// Python, pip must be told that it may install beside apt's packages.
fn install_pip(sh: &Shell, package: &str, logs: &std::path::Path) -> anyhow::Result<()> {
    let log = logs.join("pip.log");
    if !crate::docker::succeeds(cmd!(sh, "python3 -m pip --version")) {
        eprintln!("$ apt-get install -y --no-install-recommends python3-pip");
        logged(
            cmd!(sh, "apt-get install -y --no-install-recommends python3-pip"),
            &log,
        )
        .context("installing pip")?;
    }
    eprintln!(
        "$ python3 -m pip install {package}   (log: {})",
        log.display()
    );
    logged(
        cmd!(
            sh,
            "python3 -m pip install --break-system-packages {package}"
        ),
        &log,
    )
    .with_context(|| format!("pip install {package} failed"))?;
    // pyenv finds new scripts only after a rehash.
    if tools::on_path("pyenv").is_some() {
        let _ = cmd!(sh, "pyenv rehash").quiet().run();
    }
    Ok(())
}

/// Runs `cmd` with its output appended to `log`; on failure, the log's last lines are shown.
fn logged(cmd: xshell::Cmd<'_>, log: &std::path::Path) -> anyhow::Result<()> {
    let output = cmd.quiet().ignore_status().output()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    if !output.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{} (the end of {}):\n{}",
            output.status,
            log.display(),
            tail.join("\n")
        );
    }
    Ok(())
}

/// Resolves the apt list (and `also`) with `apt-get install --simulate` in a fresh container
/// of the debootstrap base image, with trixie added exactly as `install_apt` adds it.
pub fn check_apt(sh: &Shell, also: &[String]) -> anyhow::Result<()> {
    crate::docker::require_engine(sh)?;
    let base = crate::images::ensure_base(sh, false)?;
    let mut packages = tools::apt_packages(tools::TOOLS);
    packages.extend(also.iter().cloned());
    let (sources, sources_text) = tools::TRIXIE_SOURCES;
    let (pin, pin_text) = tools::TRIXIE_PIN;
    let script = format!(
        "printf '%s' \"$SOURCES\" > {sources} && printf '%s' \"$PIN\" > {pin} \
         && apt-get update -qq >/dev/null && apt-get install --simulate --no-install-recommends \"$@\""
    );
    let (sources_env, pin_env) = (format!("SOURCES={sources_text}"), format!("PIN={pin_text}"));
    eprintln!(
        "$ docker run --rm {base} apt-get install --simulate --no-install-recommends {}",
        packages.join(" ")
    );
    let output = cmd!(
        sh,
        "docker run --rm --env {sources_env} --env {pin_env} {base} bash -c {script} check {packages...}"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("running the apt check in a container")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        let refused = refused_packages(&text);
        if refused.is_empty() {
            bail!(
                "apt cannot install the list on a clean {}:\n{text}",
                tools::DEBIAN_RELEASE
            );
        }
        bail!(
            "these packages cannot be installed on a clean {}: {}",
            tools::DEBIAN_RELEASE,
            refused.join(", ")
        );
    }
    if let Some(line) = text.lines().find(|l| l.starts_with("Inst libc6 ")) {
        bail!(
            "installing the list would replace {}'s libc: {line}",
            tools::DEBIAN_RELEASE
        );
    }
    let count = text.lines().filter(|l| l.starts_with("Inst ")).count();
    let asked = tools::apt_packages(tools::TOOLS).len() + also.len();
    println!(
        "ok: the {} apt packages of the list install on a clean {} ({count} packages in all), keeping its libc",
        asked,
        tools::DEBIAN_RELEASE
    );
    Ok(())
}

/// The packages apt names in its refusals ("Unable to locate package X", "Package 'X' has no
/// installation candidate", "Release 'trixie' for 'X' was not found", " X : Depends: libc6
/// (>= 2.39) but 2.36 is to be installed").
fn refused_packages(apt_output: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in apt_output.lines() {
        if let Some((name, _)) = line.strip_prefix(' ').and_then(|l| l.split_once(" : ")) {
            if !names.iter().any(|m: &String| m == name.trim()) {
                names.push(name.trim().to_owned());
            }
            continue;
        }
        if !line.starts_with("E: ") {
            continue;
        }
        // The quoted words: "E: Release 'trixie' for 'bar' was not found" names bar second.
        let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
        let name = if let Some(rest) = line.strip_prefix("E: Unable to locate package ") {
            Some(rest.trim())
        } else if line.contains("has no installation candidate") {
            quoted.first().copied()
        } else if line.contains("was not found") {
            quoted.get(1).copied()
        } else {
            None
        };
        if let Some(name) = name.filter(|n| !names.iter().any(|m: &String| m == n)) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Deletes a file when dropped, whatever happened meanwhile.
struct RemoveOnDrop(&'static str);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

#[cfg(test)]
mod tests {
    /// apt's refusals are read for the package each one names.
    #[test]
    fn reads_refusals() {
        let apt = "Reading package lists...\n\
                   E: Unable to locate package mdbook\n\
                   E: Package 'foo' has no installation candidate\n\
                   E: Release 'trixie' for 'bar' was not found\n\
                   E: Unable to locate package mdbook\n\
                   The following packages have unmet dependencies:\n \
                   rustc : Depends: libc6 (>= 2.39) but 2.36-9 is to be installed\n\
                   E: Unable to correct problems, you have held broken packages.\n";
        assert_eq!(
            super::refused_packages(apt),
            ["mdbook", "foo", "bar", "rustc"]
        );
    }
}
