//! Looking at the database the way a learner does: with `psql`.

use std::process::Command;

/// Runs `psql URL -c SQL` and returns what it prints, as a learner would see it.
pub fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args(["-X", "--no-psqlrc", url, "-c", sql])
        .env("PGCLIENTENCODING", "UTF8")
        .output()
        .unwrap_or_else(|err| {
            panic!("could not run psql ({err}): install Debian's postgresql-client package")
        });
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `text` with every UUID (the key each form is sent with, made anew each run) shown as
/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, the same width, so psql's table stays aligned.
pub fn ids_hidden(text: &str) -> String {
    let uuid =
        regex::Regex::new(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
            .expect("a valid pattern");
    uuid.replace_all(text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
        .into_owned()
}
