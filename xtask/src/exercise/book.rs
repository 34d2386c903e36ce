//! The book's "Try it yourself" sections, one per chapter with exercises, rendered from the
//! catalogue by `cargo xtask codegen` (docs/exercises/NN.md, which each chapter includes).

use super::catalogue;

/// Where the section of step `step` goes.
pub fn path(step: u8) -> String {
    format!("docs/exercises/{step:02}.md")
}

/// Every chapter's section: (path, Markdown).
pub fn rendered() -> Vec<(String, String)> {
    let mut steps: Vec<u8> = catalogue::all().map(|e| e.step).collect();
    steps.dedup();
    steps
        .into_iter()
        .map(|step| (path(step), section(step)))
        .collect()
}

fn section(step: u8) -> String {
    let mut text = String::from(
        "<!-- Rendered by `cargo xtask codegen` from xtask/src/exercise/catalogue/: do not edit. -->\n\
         Each exercise below changes a passage of a file this chapter's commands use, into a gap or\n\
         a fault. `check` reads the file as Docker does and says what holds, what does not yet, and\n\
         why; `hint` helps, `solve` shows the answer ([how the exercises work](exercises.md)).\n",
    );
    for exercise in catalogue::all().filter(|e| e.step == step) {
        text.push_str(&format!(
            "\n- **{}** (in `{}`). {}\n\n  ```sh\n  cargo xtask exercise start {}\n  ```\n",
            exercise.task, exercise.file, exercise.teaches, exercise.id
        ));
    }
    text
}
