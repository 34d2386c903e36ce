//! A named phase of an end-to-end test: when one fails, the test's output says which
//! behaviour broke before the panic's details, so a long test reads as a list of specs.

/// Held for the length of a phase; says the phase's name if a panic unwinds through it.
#[must_use = "a phase is named only while its guard is held"]
#[derive(Debug)]
pub struct Phase(&'static str);

impl Phase {
    /// Starts the phase `name` (a sentence: what the step does).
    pub fn named(name: &'static str) -> Self {
        eprintln!("--- {name}");
        Self(name)
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("FAILED: {}", self.0);
        }
    }
}
