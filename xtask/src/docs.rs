//! `cargo xtask docs`: builds the book (docs/, an mdBook) and checks that everything it
//! includes exists. mdBook itself only logs a missing file, and shows an unknown anchor as
//! nothing, both with exit status 0; a tutorial whose outputs silently vanish would lie.

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// Build the book into target/book, checking every include.
#[derive(Debug, clap::Args)]
pub struct Docs {}

impl Docs {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        check(sh)?;
        println!("The book is at target/book/index.html");
        Ok(())
    }
}

/// Checks every `{{#include path[:anchor|:lines]}}`, then builds and tests the book.
pub fn check(sh: &Shell) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for chapter in sh.read_dir("docs/src")? {
        if chapter.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = sh.read_file(&chapter)?;
        let dir = chapter.parent().context("a chapter has a folder")?;
        for include in includes(&text) {
            let (path, selector) = include.split_once(':').unwrap_or((include, ""));
            let name = chapter.file_name().unwrap_or_default().to_string_lossy();
            match std::fs::read_to_string(dir.join(path)) {
                Err(_) => problems.push(format!("{name}: {path} does not exist")),
                Ok(target) => {
                    let is_anchor =
                        !selector.is_empty() && !selector.starts_with(|c: char| c.is_ascii_digit());
                    if is_anchor && !target.contains(&format!("ANCHOR: {selector}")) {
                        problems.push(format!("{name}: {path} has no anchor `{selector}`"));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "the book includes what is not there:\n  {}",
            problems.join("\n  ")
        );
    }
    let output = cmd!(sh, "mdbook build docs")
        .ignore_status()
        .output()
        .context("mdbook is missing: apt-get install mdbook, or cargo install mdbook")?;
    let log = String::from_utf8_lossy(&output.stderr);
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("[ERROR]") || l.contains("[WARN]"))
        .collect();
    if !output.status.success() || !complaints.is_empty() {
        bail!(
            "mdbook build failed:\n{}",
            if complaints.is_empty() {
                log.to_string()
            } else {
                complaints.join("\n")
            }
        );
    }
    cmd!(sh, "mdbook test docs")
        .quiet()
        .ignore_stderr()
        .run()
        .context("mdbook test failed")?;
    Ok(())
}

/// The argument of every `{{#include ...}}` in `text`.
fn includes(text: &str) -> Vec<&str> {
    text.split("{{#include ")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(arg, _)| arg.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    /// Include arguments are found with their selectors.
    #[test]
    fn finds_includes() {
        let text = "a {{#include ../x.rs:anchor}} b\n{{#include y.snap:5:}}";
        assert_eq!(super::includes(text), ["../x.rs:anchor", "y.snap:5:"]);
    }
}
