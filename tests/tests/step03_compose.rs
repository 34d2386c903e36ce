//! Step 03: the same two services as one Compose file.

use tests::{
    http::Remote,
    xtask::{Launched, snapshot_settings},
};

/// `ps` shows two healthy services, only the app published; the original tutorial's row
/// lands in the table; and with no volume, `down` then `up` starts from an empty table.
#[tokio::test]
async fn compose_stack_without_a_volume() {
    let launched = Launched::up(3);
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
