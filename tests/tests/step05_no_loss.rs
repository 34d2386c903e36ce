//! Step 05's promise, tested the hard way: under load, crash every part of the stack and
//! check that every answer a visitor was thanked for is in Postgres exactly once.

use std::{
    collections::HashSet,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures_util::{StreamExt, stream};
use tests::xtask::Launched;

/// At most this many submissions; the load also stops when the chaos is over.
const MAX_SUBMISSIONS: usize = 8000;

/// `kill -9` of a container's process, then a start, as a crash and an orchestrator's restart
/// would do (`docker kill` alone counts as a manual stop, which restart policies respect).
fn crash_and_restart(container: &str) {
    docker(&["kill", "--signal", "KILL", container]);
    std::thread::sleep(Duration::from_secs(2));
    docker(&["start", container]);
}

fn docker(args: &[&str]) {
    let status = Command::new("docker")
        .args(args)
        .status()
        .expect("docker runs");
    assert!(status.success(), "docker {} failed", args.join(" "));
}

/// Every acknowledged answer is stored exactly once after a worker, the app and Redis are
/// killed with SIGKILL, Postgres restarts, and the pool is scaled down and up, all under load.
/// Answers are told apart by a unique name per submission (the client's id for it), and rows
/// by the id the app made at acceptance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_or_doubled() {
    let launched = Launched::up_with(5, &["--workers", "3"]);
    let container = |service: &str| format!("{}-{service}-1", launched.project);
    let base = launched.base();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");

    // The load: 16 at a time, about 150 a second, until the chaos is over.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let chaos_over = Arc::new(AtomicBool::new(false));
    let load = {
        let (client, base, acknowledged, chaos_over) = (
            client.clone(),
            base.clone(),
            Arc::clone(&acknowledged),
            Arc::clone(&chaos_over),
        );
        tokio::spawn(async move {
            let mut sent = 0;
            while sent < MAX_SUBMISSIONS && !chaos_over.load(Ordering::Relaxed) {
                let names: Vec<String> = (sent..sent + 16).map(|n| format!("chaos-{n}")).collect();
                sent += names.len();
                let posts = names.into_iter().map(|name| {
                    let (client, base) = (client.clone(), base.clone());
                    async move {
                        let form = [
                            ("name", name.as_str()),
                            ("coat", "tabby"),
                            ("donut", "jelly"),
                        ];
                        let response = client.post(format!("{base}/")).form(&form).send().await;
                        response
                            .is_ok_and(|r| r.status().as_u16() == 303)
                            .then_some(name)
                    }
                });
                let thanked: Vec<String> = stream::iter(posts)
                    .buffer_unordered(16)
                    .filter_map(|n| async { n })
                    .collect()
                    .await;
                acknowledged.lock().expect("lock").extend(thanked);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sent
        })
    };

    // The chaos, one blow every few seconds.
    let project = launched.project.clone();
    let (worker, app, redis, db) = (
        container("worker"),
        container("app"),
        container("redis"),
        container("db"),
    );
    tokio::task::spawn_blocking(move || {
        let pause = || std::thread::sleep(Duration::from_secs(3));
        pause();
        crash_and_restart(&worker);
        pause();
        crash_and_restart(&app);
        pause();
        crash_and_restart(&redis);
        pause();
        docker(&["restart", &db]);
        pause();
        for workers in ["1", "3"] {
            let output =
                tests::xtask::xtask(&["step", "5", "scale", workers, "--project", &project]);
            assert!(
                output.status.success(),
                "scale {workers}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        pause();
    })
    .await
    .expect("the chaos ran");
    chaos_over.store(true, Ordering::Relaxed);
    let sent = load.await.expect("the load ran");

    let final_status = tests::http::wait_until_drained(&base, Duration::from_secs(120)).await;

    let acknowledged: Vec<String> = acknowledged.lock().expect("lock").clone();
    let stored = launched.run_ok(&[
        "psql",
        "-c",
        "copy (select name from cats where name like 'chaos-%') to stdout",
    ]);
    let stored: Vec<&str> = stored.lines().collect();
    let stored_set: HashSet<&str> = stored.iter().copied().collect();
    let missing = acknowledged
        .iter()
        .filter(|name| !stored_set.contains(name.as_str()))
        .count();
    let doubled_names = stored.len() - stored_set.len();
    let doubled_ids =
        launched.psql("select count(*) - count(distinct id) as doubled_ids from cats");
    eprintln!(
        "sent {sent}, acknowledged {}, stored {} (the rest were refused while a part was down)",
        acknowledged.len(),
        stored.len()
    );
    assert!(
        acknowledged.len() > 1000,
        "too little load got through to prove anything: {}",
        acknowledged.len()
    );
    let summary = format!(
        "acknowledged answers missing from Postgres: {missing}\nnames stored more than once: {doubled_names}\n{doubled_ids}dead letters: {}",
        final_status["dead_letters"]
    );
    insta::assert_snapshot!("after_the_chaos", summary);
}
