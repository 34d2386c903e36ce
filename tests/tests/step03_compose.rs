//! Step 03: the same two services as one Compose file.

use tests::{
    commands::ByHand,
    http::Remote,
    xtask::{Launched, snapshot_settings},
};

/// `ps` shows two healthy services, only the app published; the original tutorial's row
/// lands in the table; and with no volume, `down` then `up` starts from an empty table.
#[tokio::test]
async fn compose_stack_without_a_volume() {
    let launched = Launched::up(3);
    // What `up` ran: the Compose commands a learner could type instead.
    snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("up_commands", launched.up_commands));
    // Relative times, the database image (official or stand-in) and the column padding
    // (which follows the longest name) vary between runs; the rest is what a learner sees.
    let varying = [
        (r"(About )?(an?|\d+) (second|minute|hour)s?", "[time]"),
        (r"\S*postgres:\d+", "[postgres image]"),
        (r" {2,}", "   "),
    ];
    let ps = launched.run_ok(&["ps"]);
    snapshot_settings(&launched, &varying).bind(|| insta::assert_snapshot!("ps", ps));

    let remote = Remote::new(launched.base());
    remote.answer_the_survey().await;
    insta::assert_snapshot!("table", launched.psql("select * from cats"));

    launched.run_ok(&["down"]);
    launched.run_ok(&["up", "--port", &launched.port.to_string()]);
    insta::assert_snapshot!("table_after_down_up", launched.psql("select * from cats"));
}

/// The step by hand, with the `docker compose` commands chapter 03 shows: up with a build,
/// a row read through `exec`, and `down`, which leaves the database's anonymous volume.
#[tokio::test]
async fn by_hand_with_docker_compose() {
    let hand = ByHand::new("03-compose");
    hand.compose(&["up", "--build", "--wait"]);
    Remote::new(format!("http://127.0.0.1:{}", hand.port))
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
