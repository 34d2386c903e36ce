//! `cargo xtask images`: makes sure every image the steps need exists. With Docker Hub, the
//! official images are pulled. Without it (air-gapped sites, this project's CI), stand-ins are
//! built from Debian packages: a debootstrap base, Postgres from Debian's `postgresql`, and a
//! Rust builder with this machine's toolchain. The Dockerfiles and Compose files are the same
//! either way: they take the image names from variables.

use std::{path::Path, time::Instant};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{docker, steps::Step};

/// The official images, the defaults in the Dockerfiles and Compose files.
const OFFICIAL_BUILDER: &str = "rust:1.95-slim-bookworm";
/// Postgres 15: the major version Debian bookworm has, so that the offline stand-in is the
/// official image's twin and a volume can move between them.
pub const OFFICIAL_POSTGRES: &str = "postgres:15";
const OFFICIAL_REDIS: &str = "redis:7";
/// HAProxy 2.6: the branch Debian bookworm has, so that the stand-in is the official's twin.
const OFFICIAL_HAPROXY: &str = "haproxy:2.6";

const OFFLINE_BASE: &str = "survey-offline/debian:bookworm";
const OFFLINE_POSTGRES: &str = "survey-offline/postgres:15";
const OFFLINE_REDIS: &str = "survey-offline/redis:7";
const OFFLINE_HAPROXY: &str = "survey-offline/haproxy:2.6";
/// Step 07's lab: Docker Engine 26 in a container, and a registry for its nodes.
const OFFICIAL_DIND: &str = "docker:26-dind";
const OFFICIAL_REGISTRY: &str = "registry:2";
const OFFLINE_DIND: &str = "survey-offline/dind:26";
const OFFLINE_REGISTRY: &str = "survey-offline/registry:2";

/// Make sure every image the steps need exists (pulled, or built offline).
#[derive(Debug, clap::Args)]
pub struct ImagesCmd {
    /// Rebuild the offline base image (debootstrap) even if it exists.
    #[arg(long)]
    rebuild_base: bool,
}

/// The images in use, by the variable that names them.
#[derive(Debug, Clone)]
pub struct Images {
    pub builder: String,
    pub postgres: String,
    pub redis: String,
    pub haproxy: String,
}

impl ImagesCmd {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        docker::require_engine(sh)?;
        let images = ensure(sh, self.rebuild_base)?;
        println!(
            "BUILDER_IMAGE={}\nPOSTGRES_IMAGE={}\nREDIS_IMAGE={}\nHAPROXY_IMAGE={}",
            images.builder, images.postgres, images.redis, images.haproxy
        );
        Ok(())
    }
}

impl Images {
    /// Sets the variables the Dockerfiles and Compose files read, for every command `sh` runs.
    pub fn export(&self, sh: &Shell) {
        sh.set_var("BUILDER_IMAGE", &self.builder);
        sh.set_var("POSTGRES_IMAGE", &self.postgres);
        sh.set_var("REDIS_IMAGE", &self.redis);
        sh.set_var("HAPROXY_IMAGE", &self.haproxy);
    }
}

/// Whether a build shows its progress (a learner's `up`) or only how long it took (a test run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Shown,
    Quiet,
}

/// Builds a step's app image from its Dockerfile, on the builder image in use. (Compose steps
/// build through Compose instead, which reads the same Dockerfile.)
pub fn build_app(
    sh: &Shell,
    step: &Step,
    images: &Images,
    progress: Progress,
) -> anyhow::Result<()> {
    let (file, image, builder) = (step.dockerfile(), step.image(), &images.builder);
    eprintln!("building {image} (the first build compiles every dependency: several minutes)");
    let started = Instant::now();
    let quiet = (progress == Progress::Quiet).then_some("--quiet");
    let build = cmd!(
        sh,
        "docker build {quiet...} --build-arg BUILDER_IMAGE={builder} -f {file} -t {image} ."
    );
    let build = match progress {
        Progress::Shown => build,
        Progress::Quiet => build.quiet().ignore_stdout(),
    };
    build.run().with_context(|| format!("building {image}"))?;
    eprintln!("built {image} in {:.0?}", started.elapsed());
    Ok(())
}

/// Finds or makes every image; a variable already set (BUILDER_IMAGE, POSTGRES_IMAGE) wins.
pub fn ensure(sh: &Shell, rebuild_base: bool) -> anyhow::Result<Images> {
    let builder = match std::env::var("BUILDER_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(sh, OFFICIAL_BUILDER, |sh| build_builder(sh, rebuild_base))?,
    };
    let postgres = match std::env::var("POSTGRES_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(sh, OFFICIAL_POSTGRES, |sh| {
            build_stand_in(sh, rebuild_base, "postgres", OFFLINE_POSTGRES)
        })?,
    };
    let redis = match std::env::var("REDIS_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(sh, OFFICIAL_REDIS, |sh| {
            build_stand_in(sh, rebuild_base, "redis", OFFLINE_REDIS)
        })?,
    };
    let haproxy = match std::env::var("HAPROXY_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(sh, OFFICIAL_HAPROXY, |sh| {
            build_stand_in(sh, rebuild_base, "haproxy", OFFLINE_HAPROXY)
        })?,
    };
    Ok(Images {
        builder,
        postgres,
        redis,
        haproxy,
    })
}

/// The images of step 07's lab.
#[derive(Debug, Clone)]
pub struct LabImages {
    /// A node: Docker Engine in a privileged container.
    pub node: String,
    /// The registry the nodes pull the stack's images from.
    pub registry: String,
}

/// Finds or makes the lab's images (only step 07 needs them; DIND_IMAGE and REGISTRY_IMAGE
/// win when set).
pub fn ensure_lab(sh: &Shell) -> anyhow::Result<LabImages> {
    let node = match std::env::var("DIND_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(sh, OFFICIAL_DIND, |sh| {
            build_stand_in(sh, false, "dind", OFFLINE_DIND)
        })?,
    };
    let registry = match std::env::var("REGISTRY_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(sh, OFFICIAL_REGISTRY, |sh| {
            build_stand_in(sh, false, "registry", OFFLINE_REGISTRY)
        })?,
    };
    Ok(LabImages { node, registry })
}

/// The official image if it is here or can be pulled; else the stand-in `offline` builds.
fn official_or(
    sh: &Shell,
    official: &str,
    offline: impl FnOnce(&Shell) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    if exists(sh, official) {
        return Ok(official.to_owned());
    }
    eprintln!("$ docker pull {official}");
    if crate::docker::succeeds(cmd!(sh, "docker pull --quiet {official}")) {
        return Ok(official.to_owned());
    }
    eprintln!(
        "Docker Hub cannot be reached: using a stand-in for {official} built from Debian packages"
    );
    offline(sh)
}

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
fn build_stand_in(sh: &Shell, rebuild_base: bool, dir: &str, tag: &str) -> anyhow::Result<String> {
    ensure_base(sh, rebuild_base)?;
    let context = format!("images/{dir}");
    cmd!(
        sh,
        "docker build --quiet --build-arg BASE_IMAGE={OFFLINE_BASE} -t {tag} {context}"
    )
    .ignore_stdout()
    .run()
    .with_context(|| format!("building the {dir} stand-in"))?;
    Ok(tag.to_owned())
}

/// The builder stand-in carries this machine's Rust toolchain and CA bundle.
fn build_builder(sh: &Shell, rebuild_base: bool) -> anyhow::Result<String> {
    ensure_base(sh, rebuild_base)?;
    let sysroot = cmd!(sh, "rustc --print sysroot")
        .quiet()
        .read()
        .context("finding the Rust toolchain")?;
    let version = cmd!(sh, "rustc --version").quiet().read()?;
    let version = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("local")
        .to_owned();
    let tag = format!("survey-offline/rust:{version}");
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
    cmd!(sh, "docker build --quiet --build-arg BASE_IMAGE={OFFLINE_BASE} --build-context toolchain={sysroot} --build-context certs={certs} -t {tag} images/rust-builder")
        .ignore_stdout()
        .run()
        .context("building the Rust builder stand-in")?;
    Ok(tag)
}
