//! Step 04: the database on the named volume donut-data.

use axum::http::StatusCode;
use tests::{http::Remote, psql::ids_hidden, xtask::Launched};

/// Rows survive `down`/`up`, are gone after `down --volumes`, and come back from a backup.
#[tokio::test]
async fn volume_keeps_rows_until_removed_and_backups_restore_them() {
    let launched = Launched::up(4);
    tests::hardening::assert_hardened(&launched);
    launched.assert_exercises_hold();
    let remote = Remote::new(launched.base());
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);

    let down = launched.run_ok(&["down"]);
    tests::xtask::snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("down_keeps_the_volume", down));
    let (ok, volumes) = launched.docker(&["volume", "ls"]);
    assert!(ok && volumes.contains("survey-04_donut-data"), "{volumes}");
    launched.up_again(&[]);
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
    launched.up_again(&[]);
    insta::assert_snapshot!(
        "after_down_volumes",
        ids_hidden(&launched.psql("select * from cats"))
    );

    launched.run_ok(&["restore", "--file", backup]);
    insta::assert_snapshot!(
        "after_restore",
        ids_hidden(&launched.psql("select * from cats"))
    );
    assert_backups_are_all_or_nothing(&launched, backup_dir.path(), backup);
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
    launched.assert_reused_key_not_dropped().await;
}

/// A restore that fails half-way changes nothing (one transaction); a backup of another
/// step's schema is refused before anything changes, saying why; a backup that cannot be
/// written leaves the last one whole.
fn assert_backups_are_all_or_nothing(launched: &Launched, dir: &std::path::Path, backup: &str) {
    let table = launched.psql("select * from cats");
    let dump = std::fs::read_to_string(backup).expect("the backup");
    let refused = |name: &str, text: &str, why: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("a file");
        let output = launched.run(&["restore", "--file", path.to_str().expect("UTF-8")]);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && said.contains(why),
            "{name}: {said}"
        );
        assert_eq!(
            launched.psql("select * from cats"),
            table,
            "{name} changed the table"
        );
    };
    // Its first row of answers damaged: the old table is dropped, the new one made, then
    // the load fails.
    let rows = dump
        .find("COPY public.cats ")
        .expect("the answers in the dump");
    let first_row = rows + dump[rows..].find('\n').expect("a line") + 1;
    let broken = format!("{}not a row\n{}", &dump[..first_row], &dump[first_row..]);
    refused("broken.sql", &broken, "changed nothing");
    let migrations = dump
        .find("COPY public._sqlx_migrations ")
        .expect("the migrations in the dump");
    let rows = migrations + dump[migrations..].find('\n').expect("a line") + 1;
    let later = format!(
        "{}99990101000000\tfrom a later step\n{}",
        &dump[..rows],
        &dump[rows..]
    );
    refused("later.sql", &later, "a backup of a later step's database");

    // The disk fills up, as it were: the new backup cannot be written, and the last one stays.
    std::fs::create_dir(format!("{backup}.partial")).expect("a folder in the way");
    let failed = launched.run(&["backup", "--file", backup]);
    assert!(!failed.status.success(), "the backup cannot be written");
    assert_eq!(
        std::fs::read_to_string(backup).expect("the backup"),
        dump,
        "the last backup is whole"
    );
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
