//! `cargo xtask docs`: builds the book (docs/, an mdBook) and checks that everything it
//! includes exists. mdBook itself only logs a missing file, and shows an unknown anchor as
//! nothing, both with exit status 0; a tutorial whose outputs silently vanish would lie.

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// Build the book into target/book, checking every include.
#[derive(Debug, clap::Args)]
pub struct Docs {
    /// Also check that every command in the book was run by the tests' last run (which
    /// `cargo xtask test` checks at its end).
    #[arg(long)]
    commands: bool,
}

impl Docs {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        check(sh)?;
        if self.commands {
            check_commands(sh)?;
        }
        println!("The book is at target/book/index.html");
        Ok(())
    }
}

/// Where the diagrams' sources are, and where their pictures go for the book.
const DIAGRAMS: &str = "docs/diagrams";
const PICTURES: &str = "docs/src/diagrams";

/// Renders every diagram (Graphviz's `dot`) to an SVG the book shows: drawn here, with no
/// script or font from the internet, so the book works offline.
fn render_diagrams(sh: &Shell) -> anyhow::Result<()> {
    sh.create_dir(PICTURES)?;
    for source in sh.read_dir(DIAGRAMS)? {
        if source.extension().is_none_or(|e| e != "dot") {
            continue;
        }
        let name = source.file_stem().unwrap_or_default().to_string_lossy();
        let picture = format!("{PICTURES}/{name}.svg");
        cmd!(sh, "dot -Tsvg -o {picture} {source}")
            .quiet()
            .run()
            .with_context(|| {
                format!(
                    "rendering {} (is Graphviz installed? see `cargo xtask doctor`)",
                    source.display()
                )
            })?;
    }
    Ok(())
}

/// Checks every `{{#include path[:anchor|:lines]}}` and every picture, then builds and tests
/// the book.
pub fn check(sh: &Shell) -> anyhow::Result<()> {
    render_diagrams(sh)?;
    let mut problems = Vec::new();
    for chapter in sh.read_dir("docs/src")? {
        if chapter.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = sh.read_file(&chapter)?;
        let dir = chapter.parent().context("a chapter has a folder")?;
        for picture in pictures(&text) {
            if !dir.join(picture).exists() {
                let name = chapter.file_name().unwrap_or_default().to_string_lossy();
                problems.push(format!("{name}: the picture {picture} does not exist"));
            }
        }
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

/// Where the tests record the commands they ran (see tests/src/commands.rs).
pub const RECORDED: &str = "target/book-commands";

/// Fails unless every command in the book's shell blocks was run by a test, as the tests
/// recorded them while `cargo xtask test` ran. Outputs and included snapshots are not
/// commands: only the lines typed in a `sh` block are.
pub fn check_commands(sh: &Shell) -> anyhow::Result<()> {
    let mut ran = std::collections::HashSet::new();
    for file in sh.read_dir(RECORDED).unwrap_or_default() {
        for line in sh.read_file(&file)?.lines() {
            let argv: Vec<String> = serde_json::from_str(line)
                .with_context(|| format!("reading {}", file.display()))?;
            ran.insert(argv);
        }
    }
    let mut untested = Vec::new();
    let mut chapters = sh.read_dir("docs/src")?;
    chapters.sort();
    for chapter in chapters {
        if chapter.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let name = chapter
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for command in shell_commands(&sh.read_file(&chapter)?) {
            let argv = shlex::split(&command)
                .with_context(|| format!("{name}: cannot read the command `{command}`"))?;
            if !ran.contains(&argv) {
                untested.push(format!("{name}: {command}"));
            }
        }
    }
    if !untested.is_empty() {
        bail!(
            "the book tells readers to type commands that no test ran (run each one in a test \
             in tests/, through tests::xtask or tests::commands):\n  {}",
            untested.join("\n  ")
        );
    }
    Ok(())
}

/// The commands of every ```sh block in `text`: not blank, not a comment, not an include, and
/// a line ending in `\` joined to the next, as the shell would read it.
fn shell_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_shell = false;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            in_shell = !in_shell && matches!(fence, "sh" | "bash" | "shell" | "console");
            continue;
        }
        if !in_shell {
            continue;
        }
        if !pending.is_empty() {
            pending.push(' ');
        } else if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("{{#") {
            continue;
        }
        pending.push_str(trimmed.trim_start_matches("$ "));
        match pending.strip_suffix('\\') {
            Some(head) => pending = head.trim_end().to_owned(),
            None => commands.push(std::mem::take(&mut pending)),
        }
    }
    commands
}

/// The target of every Markdown picture, `![text](target)`, in `text`.
fn pictures(text: &str) -> Vec<&str> {
    text.split("![")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once("](")
                .and_then(|(_, tail)| tail.split_once(')'))
        })
        .map(|(target, _)| target.trim())
        .collect()
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
    /// Pictures are found by their targets.
    #[test]
    fn finds_pictures() {
        let text = "![What runs](diagrams/03-compose.svg)\nno ![x] here\n![b](b.png)";
        assert_eq!(super::pictures(text), ["diagrams/03-compose.svg", "b.png"]);
    }

    /// Commands are read from shell blocks only, without comments and includes.
    #[test]
    fn finds_shell_commands() {
        let text = "```sh\ncargo xtask step 3 up\n# a comment\n{{#include x.snap}}\n```\n\
                    ```text\nnot a command\n```\n```sh\n$ docker volume ls\n```\n";
        assert_eq!(
            super::shell_commands(text),
            ["cargo xtask step 3 up", "docker volume ls"]
        );
    }

    /// A command split over lines with a trailing backslash is one command.
    #[test]
    fn joins_continued_lines() {
        let text = "```sh\ndocker run \\\n  --rm \\\n  debian\necho hi\n```\n";
        assert_eq!(
            super::shell_commands(text),
            ["docker run --rm debian", "echo hi"]
        );
    }

    /// A command no test ran fails the check, naming the chapter and the command.
    #[test]
    fn an_untested_command_fails() {
        let dir = std::env::temp_dir().join(format!("book-check-{}", std::process::id()));
        let (src, recorded) = (dir.join("docs/src"), dir.join(super::RECORDED));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&recorded).unwrap();
        std::fs::write(
            recorded.join("1.jsonl"),
            "[\"cargo\",\"xtask\",\"step\",\"3\",\"psql\",\"-c\",\"select * from cats\"]\n",
        )
        .unwrap();
        let chapter = src.join("03-compose.md");
        std::fs::write(
            &chapter,
            "```sh\ncargo xtask step 3 psql -c 'select * from cats'\n```\n",
        )
        .unwrap();
        let sh = xshell::Shell::new().unwrap();
        sh.change_dir(&dir);
        super::check_commands(&sh).expect("the one command was run");

        std::fs::write(&chapter, "```sh\ncargo xtask step 3 psql -c 'select * from cats'\ncargo xtask step 3 scale 9\n```\n").unwrap();
        let err = super::check_commands(&sh).expect_err("scale 9 was never run");
        assert!(
            err.to_string()
                .contains("03-compose.md: cargo xtask step 3 scale 9"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Include arguments are found with their selectors.
    #[test]
    fn finds_includes() {
        let text = "a {{#include ../x.rs:anchor}} b\n{{#include y.snap:5:}}";
        assert_eq!(super::includes(text), ["../x.rs:anchor", "y.snap:5:"]);
    }
}
