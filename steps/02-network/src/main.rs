//! Step 02's binary: the survey with answers in Postgres.

fn main() -> std::process::ExitCode {
    step_02_network::main(
        "The cat survey, step 02: answers stored in Postgres, which may start after the app",
    )
}
