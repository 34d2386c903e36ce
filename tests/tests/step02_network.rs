//! Step 02 in Docker: a network and two containers wired by hand; the app starts first and
//! waits for its database.

use axum::http::StatusCode;
use tests::{http::Remote, psql::ids_hidden, xtask::Launched};

/// A posted form is a row in `select * from cats`, seen through psql in the db container.
#[tokio::test]
async fn form_lands_in_postgres() {
    let launched = Launched::up(2);
    // The commands a learner would type by hand; the image names depend on the mode.
    let images = [
        (r"\S*postgres:\d+", "[postgres image]"),
        (r"BUILDER_IMAGE=\S+", "BUILDER_IMAGE=[builder image]"),
    ];
    tests::xtask::snapshot_settings(&launched, &images)
        .bind(|| insta::assert_snapshot!("commands", launched.up_commands));
    let remote = Remote::new(launched.base());
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);
    insta::assert_snapshot!("table", ids_hidden(&launched.psql("select * from cats")));
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
    launched.assert_reused_key_not_dropped().await;
    let logs = launched.run_ok(&["logs"]);
    assert!(
        logs.contains("connected to Postgres at db:5432/survey"),
        "{logs}"
    );
}
