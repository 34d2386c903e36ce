//! This step's lesson is all Docker (see its Dockerfile and compose/03-compose.yaml): the app is
//! step 02's, unchanged.

fn main() -> std::process::ExitCode {
    step_02_network::main("The cat survey, step 03: step 02's app, run by Docker Compose")
}
