//! `cargo xtask images`: makes sure every image the steps need exists. With Docker Hub, the
//! official images are pulled. Without it (air-gapped sites, this project's CI), stand-ins are
//! built from Debian packages: a debootstrap base, Postgres from Debian's `postgresql`, and a
//! Rust builder with this machine's toolchain. The Dockerfiles and Compose files are the same
//! either way: they take the image names from variables.

use std::time::Instant;

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::{catalogue::Step, docker};

mod official_names;
mod stand_ins;

pub use official_names::OfficialNames;
pub use stand_ins::ensure_base;
use stand_ins::{
    DIND, HAPROXY, POSTGRES, PROMETHEUS, REDIS, REGISTRY, StandIn, build_builder, build_stand_in,
    builder_tag,
};

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
/// The `--observe` layer's Prometheus: 2.42, the version Debian bookworm has, so that the
/// stand-in is the official image's twin.
const OFFICIAL_PROMETHEUS: &str = "prom/prometheus:v2.42.0";
const OFFLINE_PROMETHEUS: &str = "survey-offline/prometheus:2.42";

/// Make sure every image the steps need exists (pulled, or built offline).
#[derive(Debug, clap::Args)]
pub struct ImagesCmd {
    /// Rebuild the offline base image (debootstrap) even if it exists.
    #[arg(long)]
    rebuild_base: bool,
    /// Try Docker Hub again for the images that have stand-ins here (otherwise a stand-in,
    /// once made, is used without asking).
    #[arg(long)]
    online: bool,
}

/// How hard [`ensure`] tries: by default an image that is here is used as it is, and Docker
/// Hub is asked only for one that is not here in either form.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fetch {
    /// Make the debootstrap base again.
    pub rebuild_base: bool,
    /// Pull the official image even where a stand-in exists.
    pub online: bool,
    /// Build the stand-ins that exist again (from Docker's cache: quick unless their
    /// Dockerfile changed).
    pub rebuild_stand_ins: bool,
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
        let fetch = Fetch {
            rebuild_base: self.rebuild_base,
            online: self.online,
            rebuild_stand_ins: true,
        };
        let images = ensure(sh, fetch)?;
        println!(
            "BUILDER_IMAGE={}\nPOSTGRES_IMAGE={}\nREDIS_IMAGE={}\nHAPROXY_IMAGE={}",
            images.builder, images.postgres, images.redis, images.haproxy
        );
        Ok(())
    }
}

impl Images {
    /// The variables the Dockerfiles and Compose files read, for a command's own environment.
    pub fn vars(&self) -> [(&'static str, &str); 4] {
        [
            ("BUILDER_IMAGE", &self.builder),
            ("POSTGRES_IMAGE", &self.postgres),
            ("REDIS_IMAGE", &self.redis),
            ("HAPROXY_IMAGE", &self.haproxy),
        ]
    }
}

/// Whether a build shows its progress (a learner's `up`) or only how long it took (a test run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Shown,
    Quiet,
}

/// Which Cargo profile an app image is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `quick`: for the edit loop of `up` (no LTO, incremental); static and small still.
    Quick,
    /// `release`: the image that ships (thin LTO, one codegen unit).
    Release,
}

impl Profile {
    pub fn of(release: bool) -> Self {
        if release { Self::Release } else { Self::Quick }
    }

    /// The profile's name in Cargo.toml, which the Dockerfile's PROFILE argument takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Release => "release",
        }
    }

    /// The variable the Compose files pass to the Dockerfile as PROFILE, and its value.
    pub fn var(self) -> (&'static str, &'static str) {
        ("SURVEY_PROFILE", self.name())
    }
}

/// The id of `image`, if it exists.
pub fn id(sh: &Shell, image: &str) -> Option<String> {
    let format = "{{.Id}}";
    cmd!(sh, "docker image inspect --format {format} {image}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|id| id.trim().to_owned())
}

/// Removes `old`, an image a rebuild replaced, if nothing uses it any more: rebuilds leave no
/// untagged images behind. (One a container still runs stays; Docker refuses, quietly here.)
pub fn remove_replaced(sh: &Shell, old: Option<String>, image: &str) {
    let Some(old) = old else { return };
    if id(sh, image).as_deref() == Some(old.as_str()) {
        return;
    }
    let format = "{{len .RepoTags}}";
    let tags = cmd!(sh, "docker image inspect --format {format} {old}")
        .quiet()
        .ignore_stderr()
        .read()
        .unwrap_or_default();
    if tags.trim() == "0" {
        let _ = cmd!(sh, "docker image rm {old}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }
}

/// Builds a step's app image from its Dockerfile, on the builder image in use, with
/// `profile`. (Compose steps build through Compose instead, which reads the same Dockerfile.)
pub fn build_app(
    sh: &Shell,
    step: &Step,
    images: &Images,
    profile: Profile,
    progress: Progress,
) -> anyhow::Result<()> {
    let (file, image, builder) = (step.dockerfile(), step.image(sh), &images.builder);
    let profile = profile.name();
    eprintln!(
        "building {image}, profile {profile} (the first build compiles every dependency: several minutes)"
    );
    let started = Instant::now();
    let old = id(sh, &image);
    let quiet = (progress == Progress::Quiet).then_some("--quiet");
    let build = cmd!(
        sh,
        "docker build {quiet...} --build-arg BUILDER_IMAGE={builder} --build-arg PROFILE={profile} -f {file} -t {image} ."
    );
    let build = match progress {
        Progress::Shown => build,
        Progress::Quiet => build.quiet().ignore_stdout(),
    };
    build.run().with_context(|| format!("building {image}"))?;
    eprintln!("built {image} in {:.0?}", started.elapsed());
    remove_replaced(sh, old, &image);
    Ok(())
}

/// Finds or makes every image; a variable already set (BUILDER_IMAGE, POSTGRES_IMAGE) wins.
pub fn ensure(sh: &Shell, fetch: Fetch) -> anyhow::Result<Images> {
    let here = LocalImages::list(sh)?;
    let builder = match std::env::var("BUILDER_IMAGE") {
        Ok(image) => image,
        Err(_) => official_or(
            sh,
            &here,
            fetch,
            OFFICIAL_BUILDER,
            &builder_tag(sh)?,
            |sh| build_builder(sh, fetch.rebuild_base),
        )?,
    };
    Ok(Images {
        builder,
        postgres: named_or_found(sh, &here, fetch, &POSTGRES)?,
        redis: named_or_found(sh, &here, fetch, &REDIS)?,
        haproxy: named_or_found(sh, &here, fetch, &HAPROXY)?,
    })
}

/// The image `image.variable` names, if set; else the official one or its stand-in (see
/// [`official_or`]).
fn named_or_found(
    sh: &Shell,
    here: &LocalImages,
    fetch: Fetch,
    image: &StandIn,
) -> anyhow::Result<String> {
    match std::env::var(image.variable) {
        Ok(named) => Ok(named),
        Err(_) => official_or(sh, here, fetch, image.official, image.tag, |sh| {
            build_stand_in(sh, fetch.rebuild_base, image.dir, image.tag)
        }),
    }
}

/// The images of step 07's lab.
#[derive(Debug, Clone)]
pub struct LabImages {
    /// A node: Docker Engine in a privileged container.
    pub node: String,
    /// The registry the nodes pull the stack's images from.
    pub registry: String,
}

impl LabImages {
    /// The variables that name them, which [`ensure_lab`] reads, for a command's own
    /// environment.
    pub fn vars(&self) -> [(&'static str, &str); 2] {
        [
            ("DIND_IMAGE", &self.node),
            ("REGISTRY_IMAGE", &self.registry),
        ]
    }
}

/// Finds or makes the lab's images (only step 07 needs them; DIND_IMAGE and REGISTRY_IMAGE
/// win when set).
pub fn ensure_lab(sh: &Shell, fetch: Fetch) -> anyhow::Result<LabImages> {
    let here = LocalImages::list(sh)?;
    // The lab's stand-ins are built on the base as it is.
    let fetch = Fetch {
        rebuild_base: false,
        ..fetch
    };
    Ok(LabImages {
        node: named_or_found(sh, &here, fetch, &DIND)?,
        registry: named_or_found(sh, &here, fetch, &REGISTRY)?,
    })
}

/// The images of the `--observe` layer, beyond the step's own.
#[derive(Debug, Clone)]
pub struct ObserveImages {
    pub prometheus: String,
}

impl ObserveImages {
    /// The variables that name them, which [`ensure_observe`] reads, for a command's own
    /// environment.
    pub fn vars(&self) -> [(&'static str, &str); 1] {
        [("PROMETHEUS_IMAGE", &self.prometheus)]
    }
}

/// Finds or makes the `--observe` layer's images (only a stack with that layer needs them;
/// PROMETHEUS_IMAGE wins when set).
pub fn ensure_observe(sh: &Shell, fetch: Fetch) -> anyhow::Result<ObserveImages> {
    let here = LocalImages::list(sh)?;
    Ok(ObserveImages {
        prometheus: named_or_found(sh, &here, fetch, &PROMETHEUS)?,
    })
}

/// The official image if it is here or can be pulled; else the stand-in, which `build`
/// makes. A stand-in that is here is used without asking Docker Hub again (it was out of
/// reach when it was made) unless `fetch.online`.
fn official_or(
    sh: &Shell,
    here: &LocalImages,
    fetch: Fetch,
    official: &str,
    stand_in: &str,
    build: impl FnOnce(&Shell) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    if here.has(official) {
        return Ok(official.to_owned());
    }
    if here.has(stand_in) && !fetch.online {
        return if fetch.rebuild_stand_ins {
            build(sh)
        } else {
            Ok(stand_in.to_owned())
        };
    }
    eprintln!("$ docker pull {official}");
    if crate::docker::succeeds(cmd!(sh, "docker pull --quiet {official}")) {
        return Ok(official.to_owned());
    }
    eprintln!(
        "Docker Hub cannot be reached: using a stand-in for {official} built from Debian packages \
         (`cargo xtask images --online` tries Docker Hub again)"
    );
    build(sh)
}

/// The images this engine has, by name, listed once (one command instead of one per name).
struct LocalImages(std::collections::HashSet<String>);

impl LocalImages {
    fn list(sh: &Shell) -> anyhow::Result<Self> {
        let format = "{{.Repository}}:{{.Tag}}";
        let names = cmd!(sh, "docker image ls --format {format}")
            .quiet()
            .read()
            .context("listing the images")?;
        Ok(Self(names.lines().map(str::to_owned).collect()))
    }

    /// `image` is here (a name without a tag means `latest`).
    fn has(&self, image: &str) -> bool {
        let last = image.rsplit('/').next().unwrap_or(image);
        if last.contains(':') {
            self.0.contains(image)
        } else {
            self.0.contains(&format!("{image}:latest"))
        }
    }
}
