//! Step 01: the survey with answers kept in memory. The router is called in memory
//! (`app(store).oneshot(...)`), and the binary is run for real where the process matters.

use std::time::Duration;

use axum::{Router, http::StatusCode};
use step_01_container::MemoryStore;
use survey::{Store, app};
use tests::{bad_input, http, process::App};

fn fresh() -> (Router, MemoryStore) {
    let store = MemoryStore::default();
    (app(store.clone()), store)
}

async fn stored(store: &MemoryStore) -> u64 {
    store.page(1).await.expect("memory never fails").total
}

/// The front page is the survey form with the original tutorial's placeholders.
#[tokio::test]
async fn form_page() {
    let (app, _) = fresh();
    let reply = http::get(&app, "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    for placeholder in ["Pika", "Tabby", "Jelly"] {
        assert!(
            reply
                .body
                .contains(&format!("placeholder=\"{placeholder}\""))
        );
    }
    insta::assert_snapshot!(reply.page());
}

/// A valid answer is stored, the visitor is sent (303) to "Thanks, Pika!", and the answer
/// shows on the list page.
#[tokio::test]
async fn submit_then_thanks_then_listed() {
    let (app, store) = fresh();
    let reply = http::post_form(&app, &http::PIKA).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/thanks?name=Pika");
    assert_eq!(stored(&store).await, 1);

    let thanks = http::get(&app, reply.location()).await;
    assert_eq!(thanks.status, StatusCode::OK);
    insta::assert_snapshot!(thanks.body);

    let list = http::get(&app, "/answers").await;
    assert!(
        list.body
            .contains("<tr><td>Pika</td><td>tortie</td><td>strawberry</td></tr>"),
        "{}",
        list.body
    );
}

/// An invalid form comes back as typed (422), with a note at each bad field, and stores nothing.
#[tokio::test]
async fn invalid_form_is_shown_again() {
    let (app, store) = fresh();
    let long_donut = "sprinkles".repeat(4);
    let reply = http::post_form(
        &app,
        &[("name", "  "), ("coat", "tabby"), ("donut", &long_donut)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("value=\"tabby\""),
        "the valid field keeps its text"
    );
    assert!(
        reply.body.contains(&format!("value=\"{long_donut}\"")),
        "the bad field keeps its text"
    );
    assert_eq!(stored(&store).await, 0);
    insta::assert_snapshot!(reply.page());
}

/// The form carries a key made when it is rendered; a second send of the same form (same key)
/// is thanked again and kept once, a form shown again for fixing keeps its key, and forms
/// without a key (as `curl` sends them) are each kept.
#[tokio::test]
async fn a_form_sent_twice_is_kept_once() {
    let (app, store) = fresh();
    let form = http::get(&app, "/").await;
    let key = form.form_key();
    assert_ne!(
        key,
        http::get(&app, "/").await.form_key(),
        "a new key per form"
    );

    let invalid = http::post_form(
        &app,
        &[
            ("name", ""),
            ("coat", "tabby"),
            ("donut", "jelly"),
            ("key", &key),
        ],
    )
    .await;
    assert_eq!(
        invalid.form_key(),
        key,
        "the form shown again keeps its key"
    );

    let keyed = http::pika_with_key(&key);
    for _ in 0..2 {
        let reply = http::post_form(&app, &keyed).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(stored(&store).await, 1);

    for _ in 0..2 {
        http::post_form(&app, &http::PIKA).await;
    }
    assert_eq!(stored(&store).await, 3);
}

/// Mochi's answer, sent with `key`.
async fn post_mochi(app: &Router, key: &str) -> http::Reply {
    let mochi = [
        ("name", "Mochi"),
        ("coat", "calico"),
        ("donut", "cruller"),
        ("key", key),
    ];
    http::post_form(app, &mochi).await
}

/// A form's key stands for one answer. The form page is never cached (the Back button or a
/// shared cache would hand its key on); a second, different answer sent with a key already
/// kept is not thanked: the visitor is told which answer is kept (409) and gets the new one
/// back on a fresh form, which then stores it as an answer of its own.
#[tokio::test]
async fn a_key_kept_with_another_answer_is_not_thanked() {
    let (app, store) = fresh();
    let form = http::get(&app, "/").await;
    assert_eq!(
        form.headers
            .get(axum::http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "the form page is never stored by a browser or a cache"
    );
    let key = form.form_key();
    let pika = http::post_form(&app, &http::pika_with_key(&key)).await;
    assert_eq!(pika.status, StatusCode::SEE_OTHER);
    let refused = post_mochi(&app, &key).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("sent before, with another answer")
            && refused.body.contains("Pika (tortie, strawberry)")
            && refused.body.contains(r#"value="Mochi""#),
        "the page says which answer is kept and offers the new one:\n{}",
        refused.body
    );
    let fresh_key = refused.form_key();
    assert_ne!(fresh_key, key, "the new answer comes on a fresh form");
    assert_eq!(
        stored(&store).await,
        1,
        "Mochi is not kept under Pika's key"
    );
    let kept = post_mochi(&app, &fresh_key).await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER);
    assert_eq!(
        stored(&store).await,
        2,
        "sent on its fresh form, Mochi is kept"
    );
}

/// Every bad request gets its status and a readable page, and nothing is stored.
#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    let (app, store) = fresh();
    for case in bad_input::cases() {
        let reply = http::send_case(&app, &case).await;
        bad_input::assert_answered(&case, reply.status, &reply.body);
    }
    assert_eq!(stored(&store).await, 0);
}

/// Markup and SQL in answers are stored as typed and shown escaped, never run.
#[tokio::test]
async fn script_and_sql_are_stored_literally_and_escaped() {
    let (app, store) = fresh();
    let name = "<script>alert('meow')</script>";
    let coat = "'); DROP TABLE cats; --";
    let reply = http::post_form(
        &app,
        &[("name", name), ("coat", coat), ("donut", "\"glazed\" & co")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    let page = store.page(1).await.expect("memory never fails");
    assert_eq!(page.answers[0].name(), name);
    assert_eq!(page.answers[0].coat(), coat);

    let list = http::get(&app, "/answers").await;
    assert!(
        !list.body.contains("<script>"),
        "markup must be escaped:\n{}",
        list.body
    );
    assert!(
        list.body
            .contains("&#60;script&#62;alert(&#39;meow&#39;)&#60;/script&#62;"),
        "{}",
        list.body
    );
    let thanks = http::get(&app, reply.location()).await;
    assert!(!thanks.body.contains("<script>"), "{}", thanks.body);
}

/// The list shows 20 answers a page, newest first, with links between pages.
#[tokio::test]
async fn answers_are_paged_newest_first() {
    let (app, _) = fresh();
    for n in 1..=45 {
        let name = format!("Cat {n}");
        let reply = http::post_form(
            &app,
            &[("name", &name), ("coat", "tabby"), ("donut", "jelly")],
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
    }
    let first = http::get(&app, "/answers").await;
    assert!(first.body.contains("45 answers, newest first."));
    assert!(first.body.find("Cat 45").expect("newest") < first.body.find("Cat 44").expect("next"));
    assert!(!first.body.contains("Cat 25<"), "page 1 ends at Cat 26");
    assert!(first.body.contains("Page 1 of 3"));
    let last = http::get(&app, "/answers?page=3").await;
    assert_eq!(last.body.matches("<tr><td>").count(), 5);
    assert!(last.body.contains("<td>Cat 1</td>"));
    let beyond = http::get(&app, "/answers?page=4").await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert!(beyond.body.contains("There are only 3 pages of answers."));
}

/// The probes Docker and load balancers use.
#[tokio::test]
async fn health_and_readiness() {
    let (app, _) = fresh();
    assert_eq!(http::get(&app, "/healthz").await.body, "ok\n");
    assert_eq!(http::get(&app, "/readyz").await.body, "ready\n");
    let css = http::get(&app, "/style.css").await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
}

/// Error pages are friendly: what went wrong, and a way back.
#[tokio::test]
async fn not_found_page() {
    let (app, _) = fresh();
    let reply = http::get(&app, "/litter-box").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    insta::assert_snapshot!(reply.page());
}

/// The lesson of step 01: replace the process and the answers are gone.
/// Also: `healthcheck` says 0/1, and SIGTERM stops the server cleanly.
#[tokio::test]
async fn binary_forgets_answers_when_replaced() {
    let mut first = App::start("step-01-container", &[]);
    let base = first.wait_until_serving(Duration::from_secs(60));
    let remote = http::Remote::new(&base);
    let port = base.rsplit(':').next().expect("a port").to_owned();

    let healthcheck = |port: &str| {
        std::process::Command::new(tests::process::step_binary("step-01-container"))
            .arg("healthcheck")
            .env("PORT", port)
            .status()
            .expect("healthcheck runs")
            .code()
    };
    assert_eq!(healthcheck(&port), Some(0), "healthy while serving");

    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);
    let listed = remote.get_text("/answers").await;
    assert!(listed.contains("<td>Pika</td>"));

    assert_eq!(
        first.stop_with("TERM", Duration::from_secs(10)),
        Some(0),
        "SIGTERM is a clean exit"
    );
    assert!(
        first.output().contains("SIGTERM received"),
        "{}",
        first.output()
    );
    assert_eq!(healthcheck(&port), Some(1), "unhealthy once stopped");

    let mut second = App::start("step-01-container", &[]);
    let remote = http::Remote::new(second.wait_until_serving(Duration::from_secs(60)));
    let listed = remote.get_text("/answers").await;
    assert!(
        listed.contains("No answers yet."),
        "a new process starts empty:\n{listed}"
    );
}

/// A slow client holds nothing for long: headers sent a piece at a time are cut off after
/// `HEADER_TIMEOUT`, a form body that never finishes gets 408 after `BODY_TIMEOUT`, and such
/// clients do not keep SIGTERM from stopping the server promptly.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    use std::{
        io::{Read, Write},
        net::TcpStream,
        time::Instant,
    };
    use survey::{form::BODY_TIMEOUT, serve::HEADER_TIMEOUT};

    let mut app = App::start("step-01-container", &[]);
    let base = app.wait_until_serving(Duration::from_secs(10));
    let addr = base.trim_start_matches("http://").to_owned();
    // Reads until the server closes the connection; returns what it sent and when it closed.
    let read_all = |mut stream: TcpStream| {
        let started = Instant::now();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        (
            String::from_utf8_lossy(&reply).into_owned(),
            started.elapsed(),
        )
    };
    let slow_headers = {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: cats\r\n")
            .expect("write");
        std::thread::spawn(move || read_all(stream))
    };
    let slow_body = {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nHost: cats\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 100\r\nConnection: close\r\n\r\nname=Pi",
            )
            .expect("write");
        std::thread::spawn(move || read_all(stream))
    };
    let (reply, after) = slow_headers.join().expect("reader");
    assert!(!reply.contains("Tell us about your cat"), "{reply}");
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(500) && after < HEADER_TIMEOUT * 2,
        "headers cut off after {after:?}"
    );
    let (reply, after) = slow_body.join().expect("reader");
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("The form arrived too slowly"), "{reply}");
    assert!(after < BODY_TIMEOUT * 2, "body cut off after {after:?}");

    // A stop while a slow client is connected still ends the process in good time.
    let mut stalling = TcpStream::connect(&addr).expect("connect");
    stalling.write_all(b"GET / HT").expect("write");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(app.stop_with("TERM", Duration::from_secs(10)), Some(0));
    assert!(
        started.elapsed() <= HEADER_TIMEOUT + Duration::from_secs(1),
        "stopped after {:?}",
        started.elapsed()
    );
}
