//! Step 01: one container, `docker run`.

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Launcher, On, Up, labelled};
use crate::images::Images;

/// One container, started with `docker run`.
pub struct Container;

impl Launcher for Container {
    fn running(&self, on: &On<'_>) -> anyhow::Result<bool> {
        labelled::running(on)
    }

    fn up(&self, on: &On<'_>, up: Up, _images: &Images) -> anyhow::Result<()> {
        let (sh, app, image) = (on.sh, labelled::container(on, "app"), on.step.image(on.sh));
        let (label, publish) = (
            labelled::label_arg(on),
            format!("127.0.0.1:{}:5000", up.port),
        );
        let run = cmd!(
            sh,
            "docker run --detach --name {app} --label {label} --publish {publish} --health-start-interval 100ms {image}"
        );
        if up.running {
            labelled::replace_if_changed(on, "app", &publish, run)
        } else {
            run.ignore_stdout().run().map_err(Into::into)
        }
        .context("starting the app container")?;
        labelled::wait_healthy(on, &["app"])
    }

    fn down(&self, on: &On<'_>, _volumes: bool) -> anyhow::Result<()> {
        labelled::down(on)
    }

    fn ps(&self, on: &On<'_>) -> anyhow::Result<()> {
        labelled::ps(on)
    }

    fn logs(&self, on: &On<'_>, follow: bool) -> anyhow::Result<()> {
        labelled::logs(on, &["app"], follow)
    }

    fn container(&self, on: &On<'_>, service: &str) -> anyhow::Result<String> {
        Ok(labelled::container(on, service))
    }

    fn exec<'a>(
        &self,
        on: &'a On<'_>,
        service: &str,
        stdin: bool,
        tty: bool,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        if service != "app" {
            bail!("step {} runs only the app container", on.step.number);
        }
        Ok(labelled::exec(on, service, stdin, tty))
    }
}
