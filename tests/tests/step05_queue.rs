//! Step 05: a Redis stream and a pool of workers between the app and Postgres.

use std::time::Duration;

use axum::http::StatusCode;
use tests::xtask::Launched;

/// Posts `count` answers, 16 at a time; returns how many the app acknowledged (303).
async fn post_many(base: &str, prefix: &str, count: usize) -> usize {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let mut accepted = 0;
    let names: Vec<String> = (0..count).map(|n| format!("{prefix} {n}")).collect();
    for chunk in names.chunks(16) {
        let sends = chunk.iter().map(|name| {
            client
                .post(format!("{base}/"))
                .form(&[
                    ("name", name.as_str()),
                    ("coat", "tabby"),
                    ("donut", "jelly"),
                ])
                .send()
        });
        for response in futures_util::future::join_all(sends).await {
            if response.is_ok_and(|r| r.status().as_u16() == StatusCode::SEE_OTHER.as_u16()) {
                accepted += 1;
            }
        }
    }
    accepted
}

/// With 3 workers, a few hundred answers posted at once all reach Postgres exactly once
/// (counted by id), stored by more than one worker; scaled up to five workers, and down to
/// one, it goes on.
#[tokio::test]
async fn three_workers_share_the_work() {
    let launched = Launched::up_with(5, &["--workers", "3"]);
    tests::xtask::snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("up_commands", launched.up_commands));
    let accepted = post_many(&launched.base(), "Cat", 300).await;
    let status = tests::http::wait_until_drained(&launched.base(), Duration::from_secs(90)).await;
    let workers = status["rows_per_worker"].as_array().map_or(0, Vec::len);
    let rows = launched.psql("select count(*) as rows, count(distinct id) as ids from cats");
    let summary = format!(
        "accepted: {accepted}\nin Postgres:\n{rows}dead letters: {}\nmore than one worker stored rows: {}",
        status["dead_letters"],
        workers > 1
    );
    insta::assert_snapshot!("three_workers", summary);

    let scale = launched.run_ok_commands(&["scale", "5"]);
    tests::xtask::snapshot_settings(&launched, &[])
        .bind(|| insta::assert_snapshot!("scale_commands", scale));
    let ps = launched.run_ok(&["ps"]);
    assert_eq!(ps.matches("-worker-").count(), 5, "{ps}");
    launched.run_ok(&["scale", "1"]);
    let more = post_many(&launched.base(), "Later cat", 20).await;
    assert_eq!(more, 20);
    let status = tests::http::wait_until_drained(&launched.base(), Duration::from_secs(90)).await;
    assert_eq!(status["rows_stored"], 320, "{status}");
}
