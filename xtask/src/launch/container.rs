//! Step 01: one container, `docker run`.

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Input, Instance, Launcher, Service, Up, labelled};

/// One container, started with `docker run`.
pub struct Container;

impl Launcher for Container {
    fn running(&self, on: &Instance<'_>) -> anyhow::Result<bool> {
        labelled::running(on)
    }

    fn up(&self, on: &Instance<'_>, up: Up) -> anyhow::Result<()> {
        let running = on.runs_already(self, up.port)?;
        on.build_app(up.profile)?;
        let (sh, app, image) = (on.sh, labelled::container(on, "app"), on.step.image(on.sh));
        let (label, publish) = (labelled::label(on), format!("127.0.0.1:{}:5000", up.port));
        let run = cmd!(
            sh,
            "docker run --detach --name {app} --label {label} --publish {publish} --health-start-interval 100ms {image}"
        );
        if running {
            labelled::replace_if_changed(on, "app", &publish, run)
        } else {
            run.ignore_stdout().run().map_err(Into::into)
        }
        .context("starting the app container")?;
        labelled::wait_healthy(on, &["app"])
    }

    fn down(&self, on: &Instance<'_>, _volumes: bool) -> anyhow::Result<()> {
        labelled::down(on)
    }

    fn ps(&self, on: &Instance<'_>) -> anyhow::Result<()> {
        labelled::ps(on)
    }

    fn logs(&self, on: &Instance<'_>, follow: bool) -> anyhow::Result<()> {
        labelled::logs(on, &["app"], follow)
    }

    fn container(&self, on: &Instance<'_>, service: Service) -> anyhow::Result<String> {
        Ok(labelled::container(on, service.name()))
    }

    fn exec<'a>(
        &self,
        on: &'a Instance<'_>,
        service: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        if service != Service::App {
            bail!("step {} runs only the app container", on.step.number);
        }
        Ok(labelled::exec(on, service.name(), input))
    }
}
