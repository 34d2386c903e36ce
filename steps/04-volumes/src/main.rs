//! This step's lesson is all Docker (see its Dockerfile and compose/04-volumes.yaml): the app is
//! step 02's, unchanged.

fn main() -> std::process::ExitCode {
    step_02_network::main(
        "The cat survey, step 04: step 02's app, its database on the named volume donut-data",
    )
}
