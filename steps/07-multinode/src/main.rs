//! Step 07's binary: step 06's, unchanged. This lesson is all Docker: the lab of nodes that
//! `cargo xtask step 7 up` builds, and where compose/07-multinode.yaml places each task.

fn main() -> std::process::ExitCode {
    step_06_swarm::main()
}
