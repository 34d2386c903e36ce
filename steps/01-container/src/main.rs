//! Step 01's binary: the survey with an in-memory store.

use std::process::ExitCode;

use step_01_container::MemoryStore;
use survey::cli::NoExtra;

fn main() -> ExitCode {
    survey::cli::main(
        "The cat survey, step 01: answers kept in memory (gone when the container is replaced)",
        |_: NoExtra| async { Ok(MemoryStore::default()) },
    )
}
