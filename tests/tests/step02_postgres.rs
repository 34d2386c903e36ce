//! Step 02: the survey on Postgres. Store tests get a fresh database each from
//! `#[sqlx::test]` (DATABASE_URL names the server); start-up tests use a cluster of their own
//! that they start late on purpose; the binary is run as a learner runs it.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use sqlx::PgPool;
use step_02_network::{DbArgs, MIGRATOR, PgStore, store::OpenError};
use survey::{Answer, Kept, Store, app, key};
use tests::{
    bad_input,
    cluster::{TempCluster, free_port},
    http,
    process::App,
    psql::{ids_hidden, psql},
};

async fn count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM cats")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// A valid answer becomes one committed row before the thank-you redirect.
#[sqlx::test(migrator = "MIGRATOR")]
async fn stores_a_row_then_redirects(pool: PgPool) {
    let app = app(PgStore::from_pool(&pool));
    let reply = http::post_form(&app, &http::PIKA).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let rows: Vec<(String, String, String)> = sqlx::query_as("SELECT name, coat, donut FROM cats")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert_eq!(
        rows,
        [("Pika".into(), "tortie".into(), "strawberry".into())]
    );
}

/// The list page reads Postgres newest first, 20 a page.
#[sqlx::test(migrator = "MIGRATOR")]
async fn lists_newest_first_in_pages(pool: PgPool) {
    let app = app(PgStore::from_pool(&pool));
    for n in 1..=21 {
        let name = format!("Cat {n}");
        http::post_form(
            &app,
            &[("name", &name), ("coat", "tabby"), ("donut", "jelly")],
        )
        .await;
    }
    let first = http::get(&app, "/answers").await;
    assert!(first.body.contains("21 answers, newest first."));
    assert!(first.body.find("Cat 21").expect("newest") < first.body.find("Cat 20").expect("next"));
    assert!(!first.body.contains("<td>Cat 1</td>"));
    let second = http::get(&app, "/answers?page=2").await;
    assert_eq!(second.body.matches("<tr><td>").count(), 1);
    assert!(second.body.contains("<td>Cat 1</td>"));
}

/// Every bad request gets its status and a readable page, and no row is written.
#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_input_is_refused_and_stores_nothing(pool: PgPool) {
    let app = app(PgStore::from_pool(&pool));
    for case in bad_input::cases() {
        let reply = http::send_case(&app, &case).await;
        bad_input::assert_answered(&case, reply.status, &reply.body);
    }
    assert_eq!(count(&pool).await, 0);
}

/// Markup and SQL are stored byte for byte (bound parameters, never spliced into SQL).
#[sqlx::test(migrator = "MIGRATOR")]
async fn script_and_sql_are_stored_literally(pool: PgPool) {
    let app = app(PgStore::from_pool(&pool));
    let (name, coat, donut) = (
        "<script>alert('meow')</script>",
        "'); DROP TABLE cats; --",
        "Robert\"); --",
    );
    let reply = http::post_form(&app, &[("name", name), ("coat", coat), ("donut", donut)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let row: (String, String, String) = sqlx::query_as("SELECT name, coat, donut FROM cats")
        .fetch_one(&pool)
        .await
        .expect("a row");
    assert_eq!(row, (name.into(), coat.into(), donut.into()));
    let list = http::get(&app, "/answers").await;
    assert!(!list.body.contains("<script>"), "{}", list.body);
}

/// The same form (the same key) sent twice is one row, and both sends are thanked.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_form_sent_twice_is_one_row(pool: PgPool) {
    let app = app(PgStore::from_pool(&pool));
    let key = http::get(&app, "/").await.form_key();
    let keyed = http::pika_with_key(&key);
    for _ in 0..2 {
        assert_eq!(
            http::post_form(&app, &keyed).await.status,
            StatusCode::SEE_OTHER
        );
    }
    assert_eq!(count(&pool).await, 1);
    let stored: String = sqlx::query_scalar("SELECT id::text FROM cats")
        .fetch_one(&pool)
        .await
        .expect("the row");
    assert_eq!(stored, key, "the row carries the form's key");
}

/// The migrations make the original table, three text columns plus the form key, and refuse
/// in the database what the app refuses in the form, and a second row for the same form.
#[sqlx::test(migrations = false)]
async fn migration_creates_the_cats_table(pool: PgPool) {
    MIGRATOR.run(&pool).await.expect("first run");
    MIGRATOR
        .run(&pool)
        .await
        .expect("a second run changes nothing");
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_name = 'cats' ORDER BY ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    let expected = [
        ("name", "text"),
        ("coat", "text"),
        ("donut", "text"),
        ("id", "uuid"),
    ]
    .map(|(c, t)| (c.to_owned(), t.to_owned()));
    assert_eq!(columns, expected);
    let twice = "INSERT INTO cats VALUES ('Pika', 'tortie', 'jelly', \
                 '019ac0de-0000-7000-8000-000000000001')";
    sqlx::query(twice)
        .execute(&pool)
        .await
        .expect("a first row");
    assert!(
        sqlx::query(twice).execute(&pool).await.is_err(),
        "a second row with the same form key is refused by the table"
    );
    let empty = sqlx::query("INSERT INTO cats VALUES ('', 'tabby', 'jelly')")
        .execute(&pool)
        .await;
    assert!(empty.is_err(), "an empty name is refused by the table too");
    let long = sqlx::query("INSERT INTO cats VALUES ('Pika', repeat('x', 33), 'jelly')")
        .execute(&pool)
        .await;
    assert!(
        long.is_err(),
        "an over-long coat is refused by the table too"
    );
}

/// An answer whose request is given up half way (the visitor left, or its deadline passed)
/// leaves its connection mid-statement (the store closes that one): every answer after it is
/// stored at the first try, once each.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_request_given_up_half_way_spoils_no_later_answer(pool: PgPool) {
    let store = PgStore::from_pool(&pool);
    let answer = |n: u32| Answer::from_stored(format!("Cat {n}"), "tabby".into(), "jelly".into());
    // The table locked, so the INSERT waits on the server; then the request is dropped.
    let mut lock = pool.begin().await.expect("a transaction");
    sqlx::query("LOCK TABLE cats IN EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("the lock");
    let given_up = tokio::time::timeout(
        Duration::from_millis(300),
        store.insert(key::fresh(), &answer(0)),
    )
    .await;
    assert!(given_up.is_err(), "the INSERT waited for the lock");
    lock.rollback().await.expect("the lock released");
    for n in 1..=40 {
        let kept = store.insert(key::fresh(), &answer(n)).await;
        assert_eq!(
            kept.expect("stored at the first try"),
            Kept::Yes,
            "answer {n}"
        );
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM cats WHERE name <> 'Cat 0'")
        .fetch_all(&pool)
        .await
        .expect("the rows");
    assert_eq!(names.len(), 40, "each later answer once: {names:?}");
}

/// The store waits for a server that starts after it, and works as soon as it is up.
#[tokio::test]
async fn open_waits_for_a_late_server() {
    let mut cluster = TempCluster::init();
    let args = DbArgs::for_url(cluster.url(), Duration::from_secs(60));
    let opening = tokio::spawn(async move { PgStore::open(&args).await });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!opening.is_finished(), "nothing to connect to yet");
    cluster.start();
    let store = tokio::time::timeout(Duration::from_secs(30), opening)
        .await
        .expect("connected soon after the server started")
        .expect("the task ran")
        .expect("the store opened");
    assert!(store.ready().await.is_ok(), "it answers");
    let pool = PgPool::connect(&cluster.url()).await.expect("a pool");
    assert_eq!(count(&pool).await, 0, "migrated and empty");
}

/// With no server at all, it gives up after its patience with an error that says where and
/// how long it tried.
#[tokio::test]
async fn open_gives_up_after_its_patience() {
    let port = free_port();
    let args = DbArgs::for_url(
        format!("postgres://survey@127.0.0.1:{port}/survey"),
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let err = PgStore::open(&args)
        .await
        .expect_err("nothing listens there");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it kept trying for its patience"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "and then stopped"
    );
    let message = err.to_string();
    assert!(matches!(err, OpenError::Connect(_)), "{message}");
    assert!(
        message.starts_with(&format!(
            "gave up connecting to Postgres at 127.0.0.1:{port}/survey as survey after"
        )),
        "{message}"
    );
}

/// An error no wait can fix (here: a database that does not exist) fails at once.
#[tokio::test]
async fn open_fails_fast_when_retrying_cannot_help() {
    let url = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL names a Postgres server (cargo xtask test checks this)");
    let mut url = url::Url::parse(&url).expect("DATABASE_URL is a URL");
    url.set_path("/no_such_database_for_the_survey");
    let args = DbArgs::for_url(url, Duration::from_secs(60));
    let started = Instant::now();
    let err = PgStore::open(&args).await.expect_err("no such database");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no retrying for a missing database"
    );
    assert!(err.to_string().contains("retrying cannot fix"), "{err}");
}

/// A bad DATABASE_URL is reported without echoing it (it may hold a password).
#[tokio::test]
async fn bad_url_is_reported_without_the_password() {
    let args = DbArgs::for_url(
        "postgres://survey:hunter2@127.0.0.1:notaport/survey",
        Duration::from_secs(1),
    );
    let err = PgStore::open(&args).await.expect_err("not a URL");
    assert!(
        err.to_string()
            .starts_with("DATABASE_URL is not a valid Postgres URL"),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// The step-02 binary, started before its database: it waits, serves as soon as the database
/// is up, stores a form as one row of `select * from cats`, refuses every bad input over real
/// HTTP without storing it, and stops cleanly on SIGTERM.
#[tokio::test]
async fn binary_starts_before_its_database() {
    let mut cluster = TempCluster::init();
    let url = cluster.url();
    let mut app = App::start("step-02-network", &[("DATABASE_URL", url.as_str())]);
    app.wait_for_line("is not ready", Duration::from_secs(60));
    cluster.start();
    let base = app.wait_until_serving(Duration::from_secs(30));

    let remote = http::Remote::new(&base);
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);
    insta::assert_snapshot!(ids_hidden(&psql(&url, "select * from cats")));

    for case in bad_input::cases() {
        let (status, body) = remote.send_case(&case).await;
        bad_input::assert_answered(&case, status, &body);
    }
    assert!(
        psql(&url, "select count(*) from cats").contains("\n     1\n"),
        "still one row"
    );

    assert_eq!(app.stop_with("TERM", Duration::from_secs(10)), Some(0));
}

/// A running cluster of our own, its URL, the binary serving on it, and a client for it.
fn serving() -> (TempCluster, String, App, http::Remote) {
    let mut cluster = TempCluster::init();
    let url = cluster.url();
    cluster.start();
    let mut app = App::start("step-02-network", &[("DATABASE_URL", url.as_str())]);
    let base = app.wait_until_serving(Duration::from_secs(30));
    let remote = http::Remote::new(&base);
    (cluster, url, app, remote)
}

/// With its database gone, the binary answers a POST with 503 and a page that offers to send
/// the same answer again (same key); once the database is back, that one click stores it,
/// and a second click stores nothing more.
#[tokio::test]
async fn a_failed_send_can_be_sent_again() {
    let (mut cluster, url, mut app, remote) = serving();
    let key = remote.form_key().await;

    cluster.stop();
    let (status, page) = remote.post_keyed(&http::PIKA, &key).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("Send again"), "{page}");
    assert!(
        page.contains(&format!(r#"name="key" value="{key}""#)),
        "{page}"
    );
    assert!(!page.contains("Your answer is stored"), "{page}");

    cluster.start();
    for click in ["first", "second"] {
        let (status, page) = remote.post_keyed(&http::PIKA, &key).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the {click} click: {page}");
    }
    assert!(
        psql(&url, "select count(*) from cats").contains("\n     1\n"),
        "one row"
    );
    assert_eq!(app.stop_with("TERM", Duration::from_secs(10)), Some(0));
}

/// The database restarts while the app is idle: every answer sent after it is stored at the
/// first try. The pool hands out a connection used a moment ago without a check (one round
/// trip less per request under load) but checks one that sat idle, as these did while the
/// restart broke them, and opens a new one in its place.
#[tokio::test]
async fn answers_after_a_database_restart_are_stored_at_once() {
    let (mut cluster, url, mut app, remote) = serving();
    // Four at once, so that the pool holds several connections, each broken by the restart.
    let post_four = |round: &'static str| {
        let remote = &remote;
        async move {
            let names = [1, 2, 3, 4].map(|n| format!("{round} {n}"));
            let [a, b, c, d] = names
                .each_ref()
                .map(|name| remote.post_answer(name, "tabby", "jelly"));
            let statuses = tokio::join!(a, b, c, d);
            [statuses.0, statuses.1, statuses.2, statuses.3]
        }
    };
    assert_eq!(post_four("Before").await, [StatusCode::SEE_OTHER; 4]);
    cluster.stop();
    cluster.start();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        post_four("After").await,
        [StatusCode::SEE_OTHER; 4],
        "answers sent after the restart were refused"
    );
    assert!(
        psql(&url, "select count(*) from cats").contains("\n     8\n"),
        "eight rows"
    );
    assert_eq!(app.stop_with("TERM", Duration::from_secs(10)), Some(0));
}

/// A password file (a Docker or Swarm secret, with its trailing newline) wins over a wrong
/// password in the URL. Against a server that checks passwords, as CI's does, the wrong one
/// alone would be refused.
#[tokio::test]
async fn password_file_wins_over_the_url() {
    let url = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL names a Postgres server (cargo xtask test checks this)");
    let mut url = url::Url::parse(&url).expect("DATABASE_URL is a URL");
    let password = url.password().unwrap_or_default().to_owned();
    url.set_password(Some("wrong")).expect("a URL with a host");
    let file = std::env::temp_dir().join(format!("survey-secret-{}", std::process::id()));
    std::fs::write(&file, format!("{password}\n")).expect("write the secret");
    let mut args = DbArgs::for_url(url, Duration::from_secs(5));
    args.password_file = Some(file.clone());
    let opened = PgStore::open(&args).await;
    std::fs::remove_file(&file).expect("remove the secret");
    opened.expect("the password from the file is used");
}

/// A password file that cannot be read is named in the error, at once.
#[tokio::test]
async fn unreadable_password_file_is_named() {
    let mut args = DbArgs::for_url(
        "postgres://survey@127.0.0.1/survey",
        Duration::from_secs(60),
    );
    args.password_file = Some("/run/secrets/no-such-secret".into());
    let err = PgStore::open(&args).await.expect_err("no such file");
    assert_eq!(
        err.to_string(),
        "cannot read the password file /run/secrets/no-such-secret"
    );
}

/// SIGTERM while the app still waits for its database (`docker stop` of an app whose database
/// never came) stops it at once, with status 0, instead of after Docker's grace period.
#[tokio::test]
async fn sigterm_while_waiting_for_the_database_stops_it() {
    let url = format!("postgres://survey@127.0.0.1:{}/survey", free_port());
    let mut app = App::start("step-02-network", &[("DATABASE_URL", url.as_str())]);
    app.wait_for_line("is not ready", Duration::from_secs(30));
    assert_eq!(app.stop_with("TERM", Duration::from_secs(5)), Some(0));
}
