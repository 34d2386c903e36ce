//! Ctrl-C, handled where stopping at once would leave something behind:
//! - work that must not be cut in half: while [`uninterrupted`] runs, an interrupt or a
//!   termination signal is held, and acted on (the runner stops, as it would have) once the work
//!   is done. `up` uses it where half the work would leave a state that `down` cannot read
//!   back, such as a swarm made but not yet marked as made by the runner;
//! - a run that started daemons: while a [`Deferred`] is held, an interrupt stops the commands
//!   the runner is running (the terminal sends it to them too) but not the runner, which then
//!   returns an error and so stops what it started on the way out.

use std::{
    process::Command,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use anyhow::Context;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// How many holders (an [`uninterrupted`] or a [`Deferred`]) keep a signal from acting at once,
/// whether it then acts, and which one came meanwhile.
struct Held {
    holders: AtomicUsize,
    acts: Arc<AtomicBool>,
    came: Arc<AtomicUsize>,
}

fn held() -> anyhow::Result<&'static Held> {
    static HELD: OnceLock<Held> = OnceLock::new();
    if let Some(held) = HELD.get() {
        return Ok(held);
    }
    let held = Held {
        holders: AtomicUsize::new(0),
        acts: Arc::new(AtomicBool::new(true)),
        came: Arc::new(AtomicUsize::new(0)),
    };
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        let number = usize::try_from(signal).unwrap_or_default();
        // First note it, then, unless held, do what the signal does by default (stop).
        signal_hook::flag::register_usize(signal, Arc::clone(&held.came), number)
            .context("watching for Ctrl-C")?;
        signal_hook::flag::register_conditional_default(signal, Arc::clone(&held.acts))
            .context("watching for Ctrl-C")?;
    }
    Ok(HELD.get_or_init(|| held))
}

impl Held {
    fn hold(&self) {
        self.holders.fetch_add(1, Ordering::SeqCst);
        self.acts.store(false, Ordering::SeqCst);
    }

    /// Lets go; the last holder lets a signal act again. Returns the signal that came, if one
    /// did and nothing holds it any more.
    fn release(&self) -> Option<i32> {
        if self.holders.fetch_sub(1, Ordering::SeqCst) != 1 {
            return None;
        }
        self.acts.store(true, Ordering::SeqCst);
        i32::try_from(self.came.swap(0, Ordering::SeqCst))
            .ok()
            .filter(|signal| *signal != 0)
    }
}

/// Runs `work` with Ctrl-C held until it returns. The commands it runs should be started with
/// [`shielded`], so that the terminal's Ctrl-C, which goes to every process in the foreground,
/// does not stop them either.
pub fn uninterrupted<T>(work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let held = held()?;
    held.hold();
    let result = work();
    if let Some(signal) = held.release() {
        eprintln!("Interrupted: the step is left as it was when the interrupt came.");
        signal_hook::low_level::emulate_default_handler(signal)
            .context("stopping on the interrupt that came")?;
    }
    result
}

/// While it is held, an interrupt does not stop the runner: see the module's docs.
#[derive(Debug)]
pub struct Deferred(());

impl Deferred {
    pub fn hold() -> anyhow::Result<Self> {
        held()?.hold();
        Ok(Self(()))
    }

    /// Fails if an interrupt came: the runner goes no further, and cleans up as it returns.
    pub fn check(&self) -> anyhow::Result<()> {
        check()
    }
}

/// [`Deferred::check`], for work deep inside a run that holds one (a loop of loads): where no
/// [`Deferred`] is held, an interrupt stopped the runner before this could be asked.
pub fn check() -> anyhow::Result<()> {
    if held()?.came.load(Ordering::SeqCst) != 0 {
        anyhow::bail!("interrupted");
    }
    Ok(())
}

impl Drop for Deferred {
    fn drop(&mut self) {
        // The runner is on its way out by now: an interrupt that came is reported as its error.
        if let Ok(held) = held() {
            let _ = held.release();
        }
    }
}

/// Runs `command` (printed first, as xshell prints the runner's commands) in a process group of
/// its own, out of reach of the terminal's Ctrl-C; fails with its standard error.
pub fn shielded(command: xshell::Cmd<'_>) -> anyhow::Result<String> {
    use std::os::unix::process::CommandExt;
    eprintln!("$ {command}");
    let mut command = Command::from(command);
    let output = command
        .process_group(0)
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{} ({})",
            String::from_utf8_lossy(&output.stderr).trim(),
            output.status
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
