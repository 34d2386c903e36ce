//! Step 01: one container, `docker run`.

use anyhow::{Context, bail};
use xshell::cmd;

use super::{Input, Instance, Launcher, Service, Up, labelled};

/// One container, started with `docker run`.
pub struct Container;

impl Launcher for Container {
    fn running(&self, copy: &Instance<'_>) -> anyhow::Result<bool> {
        labelled::running(copy)
    }

    fn up(&self, copy: &Instance<'_>, up: Up) -> anyhow::Result<()> {
        let running = copy.runs_already(self, up.port)?;
        copy.build_app(up.profile)?;
        let (sh, app, image) = (
            copy.sh,
            labelled::container(copy, "app"),
            copy.step.image(copy.sh),
        );
        let (label, publish) = (labelled::label(copy), format!("127.0.0.1:{}:5000", up.port));
        let run = cmd!(
            sh,
            "docker run --detach --name {app} --label {label} --publish {publish} --health-start-interval 100ms {image}"
        );
        if running {
            labelled::replace_if_changed(copy, "app", &publish, run)
        } else {
            run.ignore_stdout().run().map_err(Into::into)
        }
        .context("starting the app container")?;
        labelled::wait_healthy(copy, &["app"])
    }

    fn down(&self, copy: &Instance<'_>, _volumes: bool) -> anyhow::Result<()> {
        labelled::down(copy)
    }

    fn ps(&self, copy: &Instance<'_>) -> anyhow::Result<()> {
        labelled::ps(copy)
    }

    fn logs(&self, copy: &Instance<'_>, follow: bool) -> anyhow::Result<()> {
        labelled::logs(copy, &["app"], follow)
    }

    fn container(&self, copy: &Instance<'_>, service: Service) -> anyhow::Result<String> {
        Ok(labelled::container(copy, service.name()))
    }

    fn exec<'a>(
        &self,
        copy: &'a Instance<'_>,
        service: Service,
        input: Input,
    ) -> anyhow::Result<xshell::Cmd<'a>> {
        if service != Service::App {
            bail!("step {} runs only the app container", copy.step.number);
        }
        Ok(labelled::exec(copy, service.name(), input))
    }
}
