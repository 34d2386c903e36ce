//! Step 04: the database on the named volume donut-data.

use axum::http::StatusCode;
use tests::{http::Remote, xtask::Launched};

/// Rows survive `down`/`up`, are gone after `down --volumes`, and come back from a backup.
#[tokio::test]
async fn volume_keeps_rows_until_removed_and_backups_restore_them() {
    let launched = Launched::up(4);
    let port = launched.port.to_string();
    let remote = Remote::new(launched.base());
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);

    let down = launched.run_ok(&["down"]);
    tests::xtask::snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("down_keeps_the_volume", down));
    launched.run_ok(&["up", "--port", &port]);
    insta::assert_snapshot!("after_down_up", launched.psql("select * from cats"));

    // Removed when the test ends, passed or failed.
    let backup_dir = tempfile::tempdir().expect("a temporary directory");
    let backup = backup_dir.path().join("survey.sql");
    let backup = backup.to_str().expect("a UTF-8 path");
    launched.run_ok(&["backup", "--file", backup]);

    launched.run_ok(&["down", "--volumes"]);
    launched.run_ok(&["up", "--port", &port]);
    insta::assert_snapshot!("after_down_volumes", launched.psql("select * from cats"));

    launched.run_ok(&["restore", "--file", backup]);
    insta::assert_snapshot!("after_restore", launched.psql("select * from cats"));
}
