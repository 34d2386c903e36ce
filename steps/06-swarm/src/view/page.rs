//! The page at `/swarm`, its events at `/swarm/events` (server-sent events: each carries the
//! page's content anew whenever it changed; the page's script opens a new stream whenever
//! one breaks, see `static/live.js`), the same as JSON at `/swarm/state.json`, and `/healthz` for the healthcheck and
//! the proxy. Its style and its one script are served from here too: the page loads
//! nothing from elsewhere, and says so to the browser (Content-Security-Policy).

use std::{convert::Infallible, sync::Arc, time::Duration};

use askama::Template;
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures_util::Stream;
use tokio::sync::watch;

use super::picture::Picture;

/// A picture and its HTML, rendered once for every page and event stream.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub picture: Picture,
    pub html: Arc<str>,
}

impl Rendered {
    pub fn of(picture: Picture) -> Self {
        let html = Now { now: &picture }.render().unwrap_or_else(|err| {
            tracing::error!(error = %err, "the swarm view failed to render");
            "<p>The view failed to render; its log says why.</p>".to_owned()
        });
        Self {
            picture,
            html: html.into(),
        }
    }
}

/// The content that events replace.
#[derive(Debug, Template)]
#[template(path = "swarm_now.html")]
struct Now<'a> {
    now: &'a Picture,
}

/// The whole page, with the content as it is now.
#[derive(Debug, Template)]
#[template(path = "swarm.html")]
struct Page<'a> {
    now: &'a str,
}

type Latest = watch::Receiver<Rendered>;

/// The view's routes.
pub fn routes(latest: Latest) -> Router {
    Router::new()
        .route("/swarm", get(page))
        .route("/swarm/", get(page))
        .route("/swarm/events", get(events))
        .route("/swarm/state.json", get(state))
        .route(
            "/swarm/view.css",
            get(|| asset("text/css", include_str!("../../static/view.css"))),
        )
        .route(
            "/swarm/live.js",
            get(|| asset("text/javascript", include_str!("../../static/live.js"))),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not here: the view is at /swarm.\n") })
        .with_state(latest)
}

async fn page(State(latest): State<Latest>) -> Response {
    let html = latest.borrow().html.clone();
    let page = Page { now: &html };
    let mut response = survey::pages::render(StatusCode::OK, &page);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("default-src 'self'"),
    );
    response
}

async fn state(State(latest): State<Latest>) -> Json<Picture> {
    Json(latest.borrow().picture.clone())
}

/// The content now, then again at every change; a comment every 15 s keeps the connection
/// open through the proxy. The stream ends when the view stops.
async fn events(
    State(mut latest): State<Latest>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    latest.mark_changed();
    let stream = futures_util::stream::unfold(latest, |mut latest| async move {
        latest.changed().await.ok()?;
        // One line: an event's data may not hold line breaks of its own.
        let html = latest.borrow_and_update().html.replace(['\r', '\n'], " ");
        Some((Ok(Event::default().event("swarm").data(html)), latest))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use crate::view::{
        picture::{Seen, picture},
        simulated::swarm,
    };

    /// A hundred tasks on nine nodes render, each on its node; text is escaped.
    #[test]
    fn a_large_swarm_renders_every_task() {
        let engine = swarm("survey-06", 9, 101);
        let served = Default::default();
        let mut now = picture(Seen {
            stack: "survey-06",
            engine: &engine,
            served: &served,
            answers: None,
            blind_spots: vec!["<b>cannot</b>".into()],
        });
        now.nodes[0].name = "<script>".into();
        let html = super::Rendered::of(now).html;
        assert_eq!(html.matches("data-service=\"app\"").count(), 101, "{html}");
        assert_eq!(html.matches("data-node=").count(), 9);
        // Escaped, as askama does it: `<` is `&#60;`.
        assert!(
            html.contains("&#60;script&#62;") && !html.contains("<script>"),
            "{html}"
        );
        assert!(html.contains("&#60;b&#62;cannot"), "{html}");
    }
}
