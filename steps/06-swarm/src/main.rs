//! Step 06's binary: step 05's app and worker, with the Redis password read from a secret file
//! and the answering task shown on every page (see the library).

fn main() -> std::process::ExitCode {
    step_06_swarm::main()
}
