//! A learner's file as the checks read it: a Compose or stack file as Compose resolves it
//! (anchors merged, variables filled in, `docker compose config`), a Dockerfile as its
//! instructions. A file that does not parse is an answer too: where, and what is wrong.

use anyhow::{Context, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

/// A file, parsed.
pub enum Parsed {
    /// `docker compose config --format json` of it.
    Compose(Value),
    Dockerfile(Dockerfile),
    /// A shell script of docker commands.
    Script(Script),
}

/// Parses `text`, the content of `path` (from the project's root). A YAML syntax error
/// names its line and column.
pub fn parse(sh: &Shell, path: &str, text: &str) -> anyhow::Result<Parsed> {
    if path.ends_with(".yaml") {
        yaml_rust2::YamlLoader::load_from_str(text).map_err(|err| {
            let at = err.marker();
            anyhow::anyhow!(
                "{path}, line {}, column {}: {} (the YAML does not parse)",
                at.line(),
                at.col() + 1,
                err.info()
            )
        })?;
        compose_config(sh, path, text).map(Parsed::Compose)
    } else if path.ends_with("Dockerfile") {
        Ok(Parsed::Dockerfile(Dockerfile::parse(text)))
    } else if path.ends_with(".sh") {
        Script::parse(text)
            .map(Parsed::Script)
            .map_err(|line| anyhow::anyhow!("{path}, line {line}: its quotes do not close"))
    } else {
        bail!("{path}: no exercise reads a file of this kind")
    }
}

/// What Compose makes of `text`, read beside `path` (relative paths resolve as for `path`).
fn compose_config(sh: &Shell, path: &str, text: &str) -> anyhow::Result<Value> {
    let dir = std::path::Path::new(path)
        .parent()
        .context("a Compose file is in a folder")?;
    let output = cmd!(
        sh,
        "docker compose -f - --project-directory {dir} -p exercise config --format json"
    )
    .stdin(text)
    .quiet()
    .ignore_status()
    .output()
    .context("running `docker compose config` (is Docker's Compose plugin installed? `cargo xtask doctor`)")?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        bail!(
            "{path}: Compose cannot read it: {}",
            said.trim().trim_start_matches("error: ")
        );
    }
    serde_json::from_slice(&output.stdout).context("reading `docker compose config`'s JSON")
}

/// A Dockerfile's instructions, stage by stage.
#[derive(Debug, Default)]
pub struct Dockerfile {
    /// Each stage's instructions, a stage beginning at its FROM.
    pub stages: Vec<Vec<Instruction>>,
}

/// One instruction, continuation lines joined.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// Upper case: `FROM`, `USER`, `HEALTHCHECK`.
    pub keyword: String,
    pub args: String,
}

impl Dockerfile {
    /// Splits `text` into instructions (comments and blank lines dropped, lines ending in a
    /// backslash joined to the next) and the instructions into stages.
    pub fn parse(text: &str) -> Self {
        let mut instructions = Vec::new();
        let mut pending = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
                continue;
            }
            match trimmed.strip_suffix('\\') {
                Some(part) => pending.push_str(part),
                None => {
                    pending.push_str(trimmed);
                    let (keyword, args) = pending.split_once(' ').unwrap_or((&pending, ""));
                    instructions.push(Instruction {
                        keyword: keyword.to_uppercase(),
                        args: args.trim().to_owned(),
                    });
                    pending.clear();
                }
            }
        }
        let mut file = Self::default();
        for instruction in instructions {
            if instruction.keyword == "FROM" || file.stages.is_empty() {
                file.stages.push(Vec::new());
            }
            file.stages.last_mut().expect("a stage").push(instruction);
        }
        file
    }

    /// The stage the image is made of: the last.
    pub fn final_stage(&self) -> &[Instruction] {
        self.stages.last().map(Vec::as_slice).unwrap_or_default()
    }

    /// The last `keyword` instruction of the final stage, if any.
    pub fn last(&self, keyword: &str) -> Option<&Instruction> {
        self.final_stage().iter().rfind(|i| i.keyword == keyword)
    }
}

/// A script's commands, each split as the shell splits it (variables left as written).
#[derive(Debug, Default)]
pub struct Script {
    pub commands: Vec<Vec<String>>,
}

impl Script {
    /// Its commands: comments, blank lines and variable settings left out. `Err` holds the
    /// line whose quoting does not close.
    pub fn parse(text: &str) -> Result<Self, usize> {
        let mut commands = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || !line.contains(' ') {
                continue;
            }
            commands.push(shlex::split(line).ok_or(n + 1)?);
        }
        Ok(Self { commands })
    }

    /// The `docker run` of the container whose `--name` ends in `suffix` (`-app`).
    pub fn run_of(&self, suffix: &str) -> Option<&[String]> {
        self.commands
            .iter()
            .find(|c| {
                c.get(..2) == Some(&["docker".to_owned(), "run".to_owned()][..])
                    && option(c, "--name").iter().any(|n| n.ends_with(suffix))
            })
            .map(Vec::as_slice)
    }

    /// The networks its `docker network create`s make.
    pub fn networks(&self) -> Vec<&str> {
        self.commands
            .iter()
            .filter(|c| {
                c.iter()
                    .take(3)
                    .map(String::as_str)
                    .eq(["docker", "network", "create"])
            })
            .filter_map(|c| c.last().map(String::as_str))
            .collect()
    }
}

/// Every value of `name` in `command` (`--network X` or `--network=X`).
pub fn option<'a>(command: &'a [String], name: &str) -> Vec<&'a str> {
    let mut values = Vec::new();
    let mut args = command.iter();
    while let Some(arg) = args.next() {
        if arg == name {
            values.extend(args.next().map(String::as_str));
        } else if let Some(value) = arg.strip_prefix(&format!("{name}=")) {
            values.push(value);
        }
    }
    values
}

/// A service of a Compose config, or why it is missing.
pub fn service<'a>(config: &'a Value, name: &str) -> Result<&'a Value, String> {
    config["services"]
        .get(name)
        .ok_or_else(|| format!("there is no `{name}` service any more: put it back"))
}

/// Every service of a Compose config, by name.
pub fn services(config: &Value) -> impl Iterator<Item = (&String, &Value)> {
    config["services"].as_object().into_iter().flatten()
}

/// A string at `pointer` in `value` (`/deploy/update_config/order`), or "".
pub fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The strings of the list at `pointer` in `value`.
pub fn list<'a>(value: &'a Value, pointer: &str) -> Vec<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The value after `option` in a command line (`--appendonly yes`), if it is there.
pub fn option_value<'a>(command: &[&'a str], option: &str) -> Option<&'a str> {
    let at = command.iter().position(|c| *c == option)?;
    command.get(at + 1).copied()
}

/// A Compose duration (`30s`, `1m30s`, `500ms`) in seconds; `None` if it is none.
pub fn seconds(duration: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = duration.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += match c {
            'h' => value * 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                value / 1000.0
            }
            'm' => value * 60.0,
            's' => value,
            _ => return None,
        };
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_compose_writes_them() {
        assert_eq!(seconds("30s"), Some(30.0));
        assert_eq!(seconds("1m30s"), Some(90.0));
        assert_eq!(seconds("500ms"), Some(0.5));
        assert_eq!(seconds("ten"), None);
    }

    #[test]
    fn a_dockerfile_splits_into_stages_with_continuations_joined() {
        let file = Dockerfile::parse(
            "# c\nARG A=1\nFROM x AS build\nRUN a \\\n  b\nFROM scratch\nUSER 1:1\n",
        );
        assert_eq!(file.stages.len(), 3);
        assert_eq!(file.stages[1][1].args, "a b");
        assert_eq!(file.last("USER").map(|i| i.args.as_str()), Some("1:1"));
    }
}
