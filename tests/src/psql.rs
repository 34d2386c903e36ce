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
