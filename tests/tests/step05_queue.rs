//! Step 05: a Redis stream and a pool of workers between the app and Postgres.

use std::time::Duration;

use axum::http::StatusCode;
use tests::{phase::Phase, xtask::Launched};

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
/// (counted by id), stored by more than one worker; an entry Postgres refuses becomes a dead
/// letter and can be replayed; a full queue refuses answers and drains by itself; scaled up
/// to five workers, and down to one, it goes on; a plain `down` and `up` keep every answer.
/// Each phase below is one of these behaviours.
#[tokio::test]
async fn three_workers_share_the_work() {
    let launched = Launched::up_official(5, &["--workers", "3"]);
    {
        let _phase = Phase::named("every container runs hardened, as the Compose file asks");
        tests::hardening::assert_hardened(&launched);
    }
    launched.assert_exercises_hold();
    shares_a_burst_among_the_workers(&launched).await;
    keeps_a_refused_entry_as_a_dead_letter(&launched);
    refuses_an_answer_when_the_queue_is_full(&launched).await;
    let flooded = drains_a_filled_queue_by_itself(&launched).await;
    scales_up_and_down(&launched, flooded).await;
    let _phase = Phase::named("a plain down and up keep every answer");
    launched.assert_down_up_keeps_answers().await;
    launched.assert_reused_key_not_dropped().await;
}

/// 300 answers posted 16 at a time: every one stored once, by more than one worker.
async fn shares_a_burst_among_the_workers(launched: &Launched) {
    let _phase = Phase::named("a burst of answers is stored once each, by several workers");
    tests::xtask::snapshot_settings(launched, &[])
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
    assert_app_counted(launched, accepted).await;
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
}

/// The app's `/metrics` counts every answer it accepted, once as a POST thanked and once
/// as an answer queued, and the drained queue as empty.
async fn assert_app_counted(launched: &Launched, accepted: usize) {
    let metrics = tests::http::Remote::new(launched.base())
        .get_text("/metrics")
        .await;
    for line in [
        format!("survey_answers_accepted_total {accepted}"),
        format!(r#"survey_http_requests_total{{route="/",method="POST",status="303"}} {accepted}"#),
        "survey_queue_waiting 0".to_owned(),
        "survey_queue_pending 0".to_owned(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "the app's metrics say `{line}`:\n{metrics}"
        );
    }
}

/// An entry Postgres refuses (a name longer than the table allows), slipped onto the stream
/// behind the app's back: the worker moves it to the dead letters, whole, to be replayed.
fn keeps_a_refused_entry_as_a_dead_letter(launched: &Launched) {
    let _phase = Phase::named("an entry Postgres refuses becomes a dead letter, replayable");
    let letters = launched.run_ok(&["dead-letters"]);
    assert!(letters.contains("No dead letters."), "{letters}");
    let long_name = "x".repeat(70);
    let (ok, out) = launched.docker(&[
        "exec",
        &redis(launched),
        "redis-cli",
        "XADD",
        "survey:answers",
        "*",
        "id",
        "0190a0a0-0000-7000-8000-000000000001",
        "name",
        &long_name,
        "coat",
        "tabby",
        "donut",
        "jelly",
        "received_ms",
        "1700000000000",
    ]);
    assert!(ok, "{out}");
    let letters = tests::wait::until("one dead letter", Duration::from_secs(30), || {
        let letters = launched.run_ok(&["dead-letters"]);
        if letters.contains("1 dead letter.") {
            Ok(letters)
        } else {
            Err(letters)
        }
    });
    let replayed = launched.run_ok(&["dead-letters", "--replay"]);
    let stream_ids = [(r"\b\d{13}-\d+\b", "[stream id]")];
    tests::xtask::snapshot_settings(launched, &stream_ids).bind(|| {
        insta::assert_snapshot!("dead_letters", letters);
        insta::assert_snapshot!("dead_letters_replayed", replayed);
    });
}

/// The step's Redis container.
fn redis(launched: &Launched) -> String {
    format!("{}-redis-1", launched.project)
}

/// Sets Redis's `maxmemory`.
fn set_maxmemory(launched: &Launched, bytes: &str) {
    let (ok, out) = launched.docker(&[
        "exec",
        &redis(launched),
        "redis-cli",
        "config",
        "set",
        "maxmemory",
        bytes,
    ]);
    assert!(ok && out.contains("OK"), "{out}");
}

/// With no memory left Redis refuses new entries (noeviction, never evicting accepted ones),
/// and the app answers 503 and stores nothing.
async fn refuses_an_answer_when_the_queue_is_full(launched: &Launched) {
    let _phase = Phase::named("a full queue refuses an answer with a 503 and stores nothing");
    let remote = tests::http::Remote::new(launched.base());
    set_maxmemory(launched, "1");
    let key = remote.form_key().await;
    let full = [
        ("name", "Full queue"),
        ("coat", "tabby"),
        ("donut", "jelly"),
    ];
    let (status, page) = remote.post_keyed(&full, &key).await;
    set_maxmemory(launched, "64mb");
    assert_eq!(status.as_u16(), 503, "a full queue refuses the answer");
    assert!(
        page.contains("nothing was saved") && page.contains("Send again"),
        "Redis refused the entry, so the page can say nothing was saved:\n{page}"
    );
    tests::http::wait_until_drained(&launched.base(), Duration::from_secs(60)).await;
    assert!(
        launched
            .psql("select count(*) from cats where name = 'Full queue'")
            .contains("     0\n"),
        "nothing stored"
    );
}

/// Filled for real: with the workers held back, answers until Redis is full (a small Redis
/// here, so that it fills quickly) and the app refuses one. Given a worker again, the queue
/// drains by itself, no command typed: every thanked answer is stored once, and the app takes
/// answers again. Returns how many the flood stored.
async fn drains_a_filled_queue_by_itself(launched: &Launched) -> i64 {
    let _phase = Phase::named("a queue filled to the brim drains by itself once a worker runs");
    let remote = tests::http::Remote::new(launched.base());
    launched.run_ok(&["scale", "0"]);
    let (ok, memory) = launched.docker(&["exec", &redis(launched), "redis-cli", "info", "memory"]);
    assert!(ok, "{memory}");
    let used: u64 = memory
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("used_memory in: {memory}"));
    set_maxmemory(launched, &(used + 200_000).to_string());
    let mut flood = Vec::new();
    loop {
        let name = format!("Flood {}", flood.len());
        let status = remote.post_answer(&name, "tabby", "jelly").await;
        if status.as_u16() == 503 {
            break;
        }
        assert_eq!(
            status.as_u16(),
            303,
            "{name} is thanked, or refused with a 503"
        );
        flood.push(name);
        assert!(flood.len() < 50_000, "Redis never filled up");
    }
    launched.run_ok(&["scale", "1"]);
    let tally = tests::load::tally(launched, "^Flood ", &flood, &Default::default()).await;
    assert_eq!(
        tally.stored,
        flood.len(),
        "every thanked answer is stored once"
    );
    assert_eq!(
        remote
            .post_answer("After the flood", "tabby", "jelly")
            .await
            .as_u16(),
        303,
        "the app takes answers again"
    );
    set_maxmemory(launched, "64mb");
    i64::try_from(flood.len()).expect("a count")
}

/// Scaled to five workers and back to one, the pool goes on storing every answer.
async fn scales_up_and_down(launched: &Launched, flooded: i64) {
    let _phase = Phase::named("scaled up to five workers and down to one, it goes on");
    let scale = launched.run_ok_commands(&["scale", "5"]);
    tests::xtask::snapshot_settings(launched, &[])
        .bind(|| insta::assert_snapshot!("scale_commands", scale));
    let ps = launched.run_ok(&["ps"]);
    assert_eq!(ps.matches("-worker-").count(), 5, "{ps}");
    launched.run_ok(&["scale", "1"]);
    let more = post_many(&launched.base(), "Later cat", 20).await;
    assert_eq!(more, 20);
    let status = tests::http::wait_until_drained(&launched.base(), Duration::from_secs(90)).await;
    // 300 cats, the wide answer, Echo (sent twice, stored once), the flood, the one after it
    // and 20 later cats.
    assert_eq!(status["rows_stored"], 323 + flooded, "{status}");
}
