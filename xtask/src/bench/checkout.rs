//! A second checkout of the project under target/, with a shell that works in it and gives
//! its app images a tag of their own (SURVEY_TAG), so this checkout's images stay as they
//! are. It is removed when dropped.

use std::path::PathBuf;

use anyhow::Context;
use xshell::{Shell, cmd};

pub struct Checkout {
    dir: PathBuf,
    /// A shell in the checkout, with SURVEY_TAG set.
    pub sh: Shell,
}

impl Checkout {
    /// The files git tracks here, as they are now (edits not yet committed included), in
    /// `dir` (under this checkout), with images tagged `tag`.
    pub fn of_working_tree(sh: &Shell, dir: &str, tag: &str) -> anyhow::Result<Self> {
        let checkout = Self::empty(sh, dir, tag)?;
        let files = cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
            .quiet()
            .read()
            .context("listing the checkout's files (git)")?;
        for file in files.split('\0').filter(|f| !f.is_empty()) {
            let from = sh.current_dir().join(file);
            if from.is_file() {
                let target = checkout.dir.join(file);
                sh.create_dir(target.parent().context("a folder")?)?;
                sh.copy_file(&from, &target)
                    .with_context(|| format!("copying {file}"))?;
            }
        }
        Ok(checkout)
    }

    /// The files of `commit` in `dir` (under this checkout), with images tagged `tag`.
    pub fn of_commit(sh: &Shell, commit: &str, dir: &str, tag: &str) -> anyhow::Result<Self> {
        let checkout = Self::empty(sh, dir, tag)?;
        let archive = format!("{dir}.tar");
        cmd!(sh, "git archive --output {archive} {commit}")
            .quiet()
            .run()
            .with_context(|| format!("taking the files of {commit} out of git"))?;
        let into = &checkout.dir;
        let unpacked = cmd!(sh, "tar --extract --file {archive} --directory {into}")
            .quiet()
            .run();
        let _ = sh.remove_path(&archive);
        unpacked.with_context(|| format!("unpacking the files of {commit}"))?;
        Ok(checkout)
    }

    fn empty(sh: &Shell, dir: &str, tag: &str) -> anyhow::Result<Self> {
        let dir = sh.current_dir().join(dir);
        let _ = sh.remove_path(&dir);
        sh.create_dir(&dir)?;
        let copy_sh = Shell::new()?;
        copy_sh.change_dir(&dir);
        copy_sh.set_var("SURVEY_TAG", tag);
        Ok(Self { dir, sh: copy_sh })
    }

    /// The text of `path` in the checkout.
    pub fn read(&self, path: &str) -> anyhow::Result<String> {
        std::fs::read_to_string(self.dir.join(path)).with_context(|| format!("reading {path}"))
    }

    /// Where `path` is in the checkout.
    pub fn path(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
