//! Work a Ctrl-C must not cut in half: while [`uninterrupted`] runs, an interrupt or a
//! termination signal is held, and acted on (the runner stops, as it would have) once the work
//! is done. `up` uses it where half the work would leave a state that `down` cannot read back,
//! such as a swarm made but not yet marked as made by the runner.

use std::{
    process::Command,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use anyhow::Context;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Whether a signal acts at once (outside [`uninterrupted`]), and which one came meanwhile.
struct Held {
    acts: Arc<AtomicBool>,
    came: Arc<AtomicUsize>,
}

fn held() -> anyhow::Result<&'static Held> {
    static HELD: OnceLock<Held> = OnceLock::new();
    if let Some(held) = HELD.get() {
        return Ok(held);
    }
    let held = Held {
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

/// Runs `work` with Ctrl-C held until it returns. The commands it runs should be started with
/// [`shielded`], so that the terminal's Ctrl-C, which goes to every process in the foreground,
/// does not stop them either.
pub fn uninterrupted<T>(work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let held = held()?;
    held.acts.store(false, Ordering::SeqCst);
    let result = work();
    held.acts.store(true, Ordering::SeqCst);
    let came = held.came.swap(0, Ordering::SeqCst);
    if let Ok(signal) = i32::try_from(came)
        && signal != 0
    {
        eprintln!("Interrupted: the step is left as it was when the interrupt came.");
        signal_hook::low_level::emulate_default_handler(signal)
            .context("stopping on the interrupt that came")?;
    }
    result
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
