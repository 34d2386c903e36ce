//! What a learner feels: how long `up` takes from built images, how long an edit takes to be
//! served, how much memory the app and a worker use when idle, how big the app image is.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::checkout::Checkout;
use crate::{
    catalogue::{STEPS, Step},
    images::{self, Images, Profile, Progress},
    launch::{ANY_PORT, Instance, Service, Up},
    report::{ImageSizes, Lab, Learner, ServiceFigure, Spread, StepFigure},
};

/// Measures every figure; each step's `up` is timed `ups` times (the lab's once: it takes a
/// minute).
pub fn measure(sh: &Shell, images: &Images, ups: usize, lab: bool) -> anyhow::Result<Learner> {
    let mut up_seconds = Vec::new();
    let mut idle_memory_mib = Vec::new();
    for step in STEPS.iter().filter(|s| s.nodes.is_none()) {
        let (seconds, memory) = timed_up(sh, images, *step, ups, |copy| {
            if step.workers {
                idle_memory(
                    copy,
                    &[Service::App, Service::Worker, Service::Db, Service::Redis],
                )
            } else {
                Ok(Vec::new())
            }
        })?;
        up_seconds.push(StepFigure {
            step: step.number,
            value: seconds,
        });
        idle_memory_mib.extend(memory);
    }
    let lab = if lab {
        let step = *STEPS
            .iter()
            .find(|s| s.nodes.is_some())
            .context("no step has a lab")?;
        let (seconds, memory) = timed_up(sh, images, step, 1, lab_memory)?;
        Some(Lab {
            nodes: step.nodes.map_or(0, |n| n.default),
            up_seconds: seconds,
            memory_mib: memory,
        })
    } else {
        None
    };
    Ok(Learner {
        edit_to_running_seconds: edit_loop(sh, images)?,
        edits: Some(EDITS),
        ups: Some(ups),
        up_seconds,
        idle_memory_mib,
        image_mb: image_sizes(sh, images)?,
        lab,
    })
}

/// Brings `step` up once (building what it needs), then `times` times down and up again,
/// timed: the median. `look` measures what it wants while the last one runs. It is taken
/// down, with its volumes, whatever happens.
fn timed_up<T>(
    sh: &Shell,
    images: &Images,
    step: Step,
    times: usize,
    look: impl FnOnce(&Instance<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<(f64, T)> {
    let project = format!("survey-bench-up-{:02}", step.number);
    let copy = Instance::with_images(sh, step, project, images.clone());
    let up = quick_up(ANY_PORT);
    eprintln!(
        "\n==> step {}: up, then {times} times down and up again timed",
        step.number
    );
    let result = (|| {
        copy.up(up)?;
        let mut seconds = Vec::new();
        for _ in 0..times {
            copy.down(true)?;
            let started = Instant::now();
            copy.up(up)?;
            seconds.push(started.elapsed().as_secs_f64());
        }
        // Idle: what is left once start-up is over.
        std::thread::sleep(Duration::from_secs(3));
        Ok((Spread::of(seconds).median, look(&copy)?))
    })();
    copy.down(true)?;
    result
}

/// `up` on `port` as a learner runs it: the quick profile, the step's defaults.
fn quick_up(port: u16) -> Up {
    Up {
        port,
        workers: None,
        nodes: None,
        profile: Profile::Quick,
        public: false,
        observe: false,
    }
}

/// Memory in use by the first container of each of `services`, from `docker stats`.
fn idle_memory(copy: &Instance<'_>, services: &[Service]) -> anyhow::Result<Vec<ServiceFigure>> {
    services
        .iter()
        .map(|service| {
            let container = copy.container(*service)?;
            Ok(ServiceFigure {
                step: copy.step.number,
                service: service.name().to_owned(),
                value: memory_mib(copy.sh, &[container])?,
            })
        })
        .collect()
}

/// The lab's containers' memory together.
fn lab_memory(copy: &Instance<'_>) -> anyhow::Result<f64> {
    let sh = copy.sh;
    let (label, format) = (
        format!("label=survey.project={}", copy.project),
        "{{.Names}}",
    );
    let names = cmd!(sh, "docker ps --filter {label} --format {format}")
        .quiet()
        .read()?;
    let names: Vec<String> = names.lines().map(str::to_owned).collect();
    memory_mib(sh, &names)
}

/// The memory `containers` use together (MiB), as `docker stats` reports it.
fn memory_mib(sh: &Shell, containers: &[String]) -> anyhow::Result<f64> {
    let format = "{{.MemUsage}}";
    let stats = cmd!(
        sh,
        "docker stats --no-stream --format {format} {containers...}"
    )
    .quiet()
    .read()
    .context("reading docker stats")?;
    stats
        .lines()
        .map(|line| {
            let used = line.split('/').next().unwrap_or_default().trim();
            parse_size_mib(used).with_context(|| format!("reading docker stats: {line}"))
        })
        .sum()
}

/// "12.5MiB", "1.2GiB", "800KiB" as MiB.
fn parse_size_mib(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let factor = match unit {
        "B" => 1.0 / 1024.0 / 1024.0,
        "KiB" | "kB" => 1.0 / 1024.0,
        "MiB" | "MB" => 1.0,
        "GiB" | "GB" => 1024.0,
        _ => return None,
    };
    number.trim().parse::<f64>().ok().map(|n| n * factor)
}

/// How many edits the edit loop times; their median is reported.
const EDITS: usize = 5;

/// Edits the form's template in a copy of this checkout (under target/bench/) [`EDITS`]
/// times, each time timing `up` on the running step 03 until the new heading is served.
fn edit_loop(sh: &Shell, images: &Images) -> anyhow::Result<Spread> {
    // Its own image name, so this checkout's images stay as they are.
    let checkout = Checkout::of_working_tree(sh, "target/bench/checkout", "bench")?;
    let project = "survey-bench-edit".to_owned();
    let copy = Instance::with_images(&checkout.sh, Step::find(3)?, project, images.clone());
    let up = quick_up(ANY_PORT);
    let template = checkout.path("steps/survey/templates/form.html");
    let original = checkout.read("steps/survey/templates/form.html")?;
    let heading = "Tell us about your cat";
    if !original.contains(heading) {
        bail!("the form's heading is no longer {heading:?}: update the bench");
    }
    eprintln!("\n==> step 3: the edit loop, {EDITS} edits of the form's template");
    let result = (|| {
        copy.up(up)?;
        let mut seconds = Vec::new();
        for edit in 1..=EDITS {
            let word = format!("Tell us (edit {edit}) about your cat");
            std::fs::write(&template, original.replace(heading, &word))?;
            let started = Instant::now();
            copy.up(up)?;
            // Docker picks a new port for the app container that replaces the old one.
            let port = copy.port()?;
            while !page(port)?.contains(&word) {
                if started.elapsed() > Duration::from_secs(300) {
                    bail!("the edit was not served within 5 minutes");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            seconds.push(started.elapsed().as_secs_f64());
        }
        Ok(Spread::of(seconds))
    })();
    copy.down(true)?;
    let image = copy.step.image(&checkout.sh);
    let _ = cmd!(sh, "docker image rm {image}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
    result
}

/// GET / on 127.0.0.1:`port`, as text.
fn page(port: u16) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// Step 01's image as `up` builds it (already built) and as it ships (built under a tag of its
/// own, then removed), in MB.
fn image_sizes(sh: &Shell, images: &Images) -> anyhow::Result<ImageSizes> {
    let step = Step::find(1)?;
    let quick = size_mb(sh, &step.image(sh))?;
    let _tag = sh.push_env("SURVEY_TAG", "bench-release");
    images::build_app(sh, &step, images, Profile::Release, Progress::Quiet)?;
    let image = step.image(sh);
    let release = size_mb(sh, &image);
    let _ = cmd!(sh, "docker image rm {image}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
    Ok(ImageSizes {
        quick,
        release: release?,
    })
}

/// The size of `image`, in MB.
pub fn size_mb(sh: &Shell, image: &str) -> anyhow::Result<f64> {
    let format = "{{.Size}}";
    let bytes = cmd!(sh, "docker image inspect --format {format} {image}")
        .quiet()
        .read()?;
    Ok(bytes.trim().parse::<f64>().context("an image size")? / 1e6)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_docker_stats_sizes() {
        assert_eq!(super::parse_size_mib("12.5MiB"), Some(12.5));
        assert_eq!(super::parse_size_mib("1GiB"), Some(1024.0));
        assert_eq!(super::parse_size_mib("512KiB"), Some(0.5));
        assert_eq!(super::parse_size_mib("lots"), None);
    }
}
