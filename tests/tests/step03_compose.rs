//! Step 03: the same two services as one Compose file.

use tests::{
    commands::ByHand,
    http::Remote,
    psql::ids_hidden,
    xtask::{Launched, redacted_tables, snapshot_settings},
};

/// `ps` shows two healthy services, only the app published; the original tutorial's row
/// lands in the table; psql reads a script from its input; and with no volume, `down` then `up` starts from an empty table.
#[tokio::test]
async fn compose_stack_without_a_volume() {
    let launched = Launched::up_official(3, &[]);
    tests::hardening::assert_hardened(&launched);
    launched.assert_exercises_hold();
    // What `up` ran: the Compose commands a learner could type instead.
    snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("up_commands", launched.up_commands));
    // Relative times vary between runs; the rest is what a learner sees, columns aligned.
    let ps = redacted_tables(&launched, &launched.run_ok(&["ps"]), &[]);
    insta::assert_snapshot!("ps", ps);

    let remote = Remote::new(launched.base());
    remote.answer_the_survey().await;
    insta::assert_snapshot!("table", ids_hidden(&launched.psql("select * from cats")));
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
    launched.assert_reused_key_not_dropped().await;
    // A script on psql's input runs as typed: `cargo xtask step 3 psql < file.sql`.
    let said = launched.psql_script("SELECT count(*) || ' rows, read from a script' FROM cats;\n");
    assert!(said.contains("rows, read from a script"), "{said}");

    launched.run_ok(&["down"]);
    launched.up_again(&[]);
    insta::assert_snapshot!(
        "table_after_down_up",
        ids_hidden(&launched.psql("select * from cats"))
    );
}

/// The step by hand, with the `docker compose` commands chapter 03 shows: up with a build,
/// a row read through `exec`, and `down`, which leaves the database's anonymous volume.
#[tokio::test]
async fn by_hand_with_docker_compose() {
    let hand = ByHand::new("03-compose");
    hand.compose(&["up", "--build", "--wait"]);
    Remote::new(format!("http://127.0.0.1:{}", hand.port()))
        .answer_the_survey()
        .await;
    let table = hand.compose(&[
        "exec",
        "db",
        "psql",
        "-U",
        "survey",
        "-c",
        "select * from cats",
    ]);
    assert!(table.contains(" Pika | tortie | strawberry"), "{table}");
    let db = format!("{}-db-1", hand.project());
    let anonymous = tests::commands::docker(
        &[
            "inspect",
            "--format",
            "{{range .Mounts}}{{.Name}}{{end}}",
            &db,
        ],
        &[],
    );
    let anonymous = String::from_utf8_lossy(&anonymous.stdout).trim().to_owned();
    assert!(
        !anonymous.is_empty(),
        "the db container has an anonymous volume"
    );
    hand.compose(&["down"]);
    let volumes = tests::commands::docker(&["volume", "ls"], &[]);
    let volumes = String::from_utf8_lossy(&volumes.stdout).into_owned();
    assert!(
        volumes.contains(&anonymous),
        "a plain `down` leaves the anonymous volume {anonymous}:\n{volumes}"
    );
    let _ = tests::commands::docker(&["volume", "rm", &anonymous], &[]);
}

/// A machine with only the old Compose v1 (`docker-compose`) gets a clear error with the fix.
/// The `docker` on PATH here answers `compose` as a CLI without the v2 plugin does, and
/// passes everything else to the real one.
#[test]
fn compose_v1_is_refused_with_a_fix() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v docker"])
            .output()
            .expect("sh runs")
            .stdout,
    )
    .expect("a path");
    let scripts = [
        (
            "docker",
            format!(
                "#!/bin/sh\nif [ \"$1\" = compose ]; then echo \"docker: 'compose' is not a docker command.\" >&2; exit 1; fi\nexec {} \"$@\"\n",
                real.trim()
            ),
        ),
        (
            "docker-compose",
            "#!/bin/sh\necho 'docker-compose version 1.29.2, build unknown'\n".to_owned(),
        ),
    ];
    for (name, text) in scripts {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write the script");
        let mut permissions = std::fs::metadata(&path)
            .expect("its metadata")
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).expect("make it executable");
    }
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = tests::xtask::xtask_with_env(
        &["step", "3", "down", "--project", "survey-test-compose-v1"],
        &[("PATH", path.as_str())],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    insta::assert_snapshot!("compose_v1", format!("$ cargo xtask step 3 down\n{error}"));
}
