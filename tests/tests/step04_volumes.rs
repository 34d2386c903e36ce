//! Step 04: the database on the named volume donut-data.

use axum::http::StatusCode;
use tests::{http::Remote, psql::ids_hidden, xtask::Launched};

/// Rows survive `down`/`up`, are gone after `down --volumes`, and come back from a backup.
#[tokio::test]
async fn volume_keeps_rows_until_removed_and_backups_restore_them() {
    let launched = Launched::up(4);
    launched.assert_hardened();
    let port = launched.port.to_string();
    let remote = Remote::new(launched.base());
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);

    let down = launched.run_ok(&["down"]);
    tests::xtask::snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("down_keeps_the_volume", down));
    let (ok, volumes) = launched.docker(&["volume", "ls"]);
    assert!(ok && volumes.contains("survey-04_donut-data"), "{volumes}");
    launched.run_ok(&["up", "--port", &port]);
    insta::assert_snapshot!(
        "after_down_up",
        ids_hidden(&launched.psql("select * from cats"))
    );
    // The database found its files on the volume, so POSTGRES_* were not read again.
    let logs = launched.run_ok(&["logs"]);
    let skipped = logs
        .lines()
        .filter_map(|line| line.split_once("| "))
        .find(|(_, text)| text.contains("Skipping initialization"))
        .map(|(service, text)| {
            // Compose may start a line with a terminal control sequence; the reader sees none.
            let service = regex::Regex::new(r"\x1b\[[0-9;]*[A-Za-z]")
                .expect("a valid pattern")
                .replace_all(service, "");
            format!("{} | {text}", service.trim())
        });
    insta::assert_snapshot!("skipping_initialization", skipped.unwrap_or(logs));

    // Removed when the test ends, passed or failed.
    let backup_dir = tempfile::tempdir().expect("a temporary directory");
    let backup = backup_dir.path().join("survey.sql");
    let backup = backup.to_str().expect("a UTF-8 path");
    launched.run_ok(&["backup", "--file", backup]);

    launched.run_ok(&["down", "--volumes"]);
    launched.run_ok(&["up", "--port", &port]);
    insta::assert_snapshot!(
        "after_down_volumes",
        ids_hidden(&launched.psql("select * from cats"))
    );

    launched.run_ok(&["restore", "--file", backup]);
    insta::assert_snapshot!(
        "after_restore",
        ids_hidden(&launched.psql("select * from cats"))
    );
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
}

/// `diff` shows the lesson: the volume in the Compose file, not the generated Dockerfile.
#[test]
fn diff_shows_the_volume() {
    let output = tests::xtask::xtask(&["step", "4", "diff"]);
    assert!(output.status.success(), "{output:?}");
    // git's blob ids change with every edit of the files; what they say is in the lines.
    insta::with_settings!({filters => vec![(r"(?m)^index [0-9a-f]+\.\.[0-9a-f]+.*\n", "")]}, {
        insta::assert_snapshot!("diff", tests::xtask::stdout(&output));
    });
}
