//! The offline stand-ins: a debootstrap base, images built on it from Debian's packages, and a
//! Rust builder that carries this machine's toolchain.

use std::path::Path;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::{
    OFFICIAL_DIND, OFFICIAL_HAPROXY, OFFICIAL_POSTGRES, OFFICIAL_PROMETHEUS, OFFICIAL_REDIS,
    OFFICIAL_REGISTRY, OFFLINE_BASE, OFFLINE_DIND, OFFLINE_HAPROXY, OFFLINE_POSTGRES,
    OFFLINE_PROMETHEUS, OFFLINE_REDIS, OFFLINE_REGISTRY, id, remove_replaced,
};

/// An image that has an offline stand-in: the variable that names it when set, its official
/// name, and its stand-in's folder under images/ and tag.
pub(super) struct StandIn {
    pub variable: &'static str,
    pub official: &'static str,
    pub dir: &'static str,
    pub tag: &'static str,
}

pub(super) const POSTGRES: StandIn = StandIn {
    variable: "POSTGRES_IMAGE",
    official: OFFICIAL_POSTGRES,
    dir: "postgres",
    tag: OFFLINE_POSTGRES,
};
pub(super) const REDIS: StandIn = StandIn {
    variable: "REDIS_IMAGE",
    official: OFFICIAL_REDIS,
    dir: "redis",
    tag: OFFLINE_REDIS,
};
pub(super) const HAPROXY: StandIn = StandIn {
    variable: "HAPROXY_IMAGE",
    official: OFFICIAL_HAPROXY,
    dir: "haproxy",
    tag: OFFLINE_HAPROXY,
};
pub(super) const DIND: StandIn = StandIn {
    variable: "DIND_IMAGE",
    official: OFFICIAL_DIND,
    dir: "dind",
    tag: OFFLINE_DIND,
};
pub(super) const REGISTRY: StandIn = StandIn {
    variable: "REGISTRY_IMAGE",
    official: OFFICIAL_REGISTRY,
    dir: "registry",
    tag: OFFLINE_REGISTRY,
};
pub(super) const PROMETHEUS: StandIn = StandIn {
    variable: "PROMETHEUS_IMAGE",
    official: OFFICIAL_PROMETHEUS,
    dir: "prometheus",
    tag: OFFLINE_PROMETHEUS,
};

fn exists(sh: &Shell, image: &str) -> bool {
    crate::docker::succeeds(cmd!(sh, "docker image inspect {image}"))
}

/// A minimal Debian bookworm made by debootstrap and imported as an image (about a minute);
/// returns its name.
pub fn ensure_base(sh: &Shell, rebuild: bool) -> anyhow::Result<&'static str> {
    if exists(sh, OFFLINE_BASE) && !rebuild {
        return Ok(OFFLINE_BASE);
    }
    if !crate::docker::succeeds(cmd!(sh, "debootstrap --version")) {
        bail!("building the offline base image needs debootstrap: apt-get install debootstrap");
    }
    let work = sh.current_dir().join("target/xtask");
    let (rootfs, tarball, log) = (
        work.join("rootfs"),
        work.join("rootfs.tar"),
        work.join("debootstrap.log"),
    );
    let _ = sh.remove_path(&rootfs);
    sh.create_dir(&rootfs)?;
    eprintln!(
        "$ debootstrap --variant=minbase bookworm {} http://deb.debian.org/debian   (about a minute; log: {})",
        rootfs.display(),
        log.display()
    );
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let status = std::process::Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&rootfs)
        .arg("http://deb.debian.org/debian")
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .context("running debootstrap")?;
    if !status.success() {
        bail!(
            "debootstrap failed (it needs root and Debian's mirror); see {}",
            log.display()
        );
    }
    // debootstrap leaves the packages it installed in apt's cache: ~80 MB no image needs.
    for cache in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        for entry in sh.read_dir(rootfs.join(cache)).unwrap_or_default() {
            if entry.is_file() {
                sh.remove_path(entry)?;
            }
        }
    }
    let cmd_change = r#"CMD ["bash"]"#;
    let result = cmd!(sh, "tar -C {rootfs} -cf {tarball} .")
        .run()
        .and_then(|()| {
            cmd!(
                sh,
                "docker import --change {cmd_change} {tarball} {OFFLINE_BASE}"
            )
            .ignore_stdout()
            .run()
        })
        .context("importing the base image");
    let _ = sh.remove_path(&rootfs);
    let _ = sh.remove_path(&tarball);
    result.map(|()| OFFLINE_BASE)
}

/// A stand-in whose Dockerfile is images/`dir`, on the debootstrap base.
pub(super) fn build_stand_in(
    sh: &Shell,
    rebuild_base: bool,
    dir: &str,
    tag: &str,
) -> anyhow::Result<String> {
    ensure_base(sh, rebuild_base)?;
    let context = format!("images/{dir}");
    let old = id(sh, tag);
    cmd!(
        sh,
        "docker build --quiet --build-arg BASE_IMAGE={OFFLINE_BASE} -t {tag} {context}"
    )
    .ignore_stdout()
    .run()
    .with_context(|| format!("building the {dir} stand-in"))?;
    remove_replaced(sh, old, tag);
    Ok(tag.to_owned())
}

/// The builder stand-in's name: it carries this machine's toolchain, whose version it names.
pub(super) fn builder_tag(sh: &Shell) -> anyhow::Result<String> {
    let version = cmd!(sh, "rustc --version")
        .quiet()
        .read()
        .context("finding the Rust toolchain")?;
    let version = version.split_whitespace().nth(1).unwrap_or("local");
    Ok(format!("survey-offline/rust:{version}"))
}

/// The builder stand-in carries this machine's Rust toolchain and CA bundle.
pub(super) fn build_builder(sh: &Shell, rebuild_base: bool) -> anyhow::Result<String> {
    ensure_base(sh, rebuild_base)?;
    let sysroot = cmd!(sh, "rustc --print sysroot")
        .quiet()
        .read()
        .context("finding the Rust toolchain")?;
    let tag = builder_tag(sh)?;
    let ca_bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !ca_bundle.exists() {
        bail!(
            "no CA bundle at {}: apt-get install ca-certificates",
            ca_bundle.display()
        );
    }
    let certs = sh.current_dir().join("target/xtask/certs");
    sh.create_dir(&certs)?;
    sh.copy_file(ca_bundle, &certs)?;
    eprintln!("building {tag} (copies the toolchain at {sysroot}, about 600 MB)");
    let old = id(sh, &tag);
    cmd!(sh, "docker build --quiet --build-arg BASE_IMAGE={OFFLINE_BASE} --build-context toolchain={sysroot} --build-context certs={certs} -t {tag} images/rust-builder")
        .ignore_stdout()
        .run()
        .context("building the Rust builder stand-in")?;
    remove_replaced(sh, old, &tag);
    Ok(tag)
}
