//! Metrics for Prometheus: a step makes a [`Registry`], registers what it counts, and serves
//! it at `/metrics` in the OpenMetrics text format. This module counts what every web app
//! has, the requests: by route, method and status.
//!
//! The registry is a value passed to whoever registers and serves, not a process-wide
//! recorder: two apps in one test process count apart.

use std::sync::Arc;

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{HeaderValue, StatusCode, header::CONTENT_TYPE},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};

pub use prometheus_client::registry::Registry;

/// Every metric's name starts with this: `survey_http_requests_total`.
pub const PREFIX: &str = "survey";

/// A registry whose metrics are named `survey_...`.
pub fn registry() -> Registry {
    Registry::with_prefix(PREFIX)
}

/// One kind of request: the route it matched (its pattern, `/answers`, not the path asked
/// for, so that a scan of random paths makes one series, not thousands), its method and the
/// status answered.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: String,
}

/// The requests answered, counted by [`RequestLabels`].
#[derive(Debug, Clone, Default)]
pub struct Requests(Family<RequestLabels, Counter>);

impl Requests {
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Self::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.0.clone(),
        );
        requests
    }

    /// `router`, with each of its requests counted once answered. A request no route
    /// matched counts under the route `unmatched`.
    pub fn count(self, router: Router) -> Router {
        router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let requests = self.clone();
            async move {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str)
                    .to_owned();
                let method = request.method().as_str().to_owned();
                let response = next.run(request).await;
                let status = response.status().as_str().to_owned();
                requests
                    .0
                    .get_or_create(&RequestLabels {
                        route,
                        method,
                        status,
                    })
                    .inc();
                response
            }
        }))
    }
}

/// Every metric of `registry`, in the OpenMetrics text format.
pub fn text(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    Ok(text)
}

/// The answer to a scrape: every metric of `registry`, as text.
pub fn render(registry: &Arc<Registry>) -> Response {
    match text(registry) {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "could not write the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::{Router, body::Body, http::Request, routing::get};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Requests count under their route's pattern, a path no route has under `unmatched`.
    #[tokio::test]
    async fn requests_count_by_route_and_status() {
        let mut registry = super::registry();
        let requests = super::Requests::register(&mut registry);
        let app = requests.count(Router::new().route("/cats/{name}", get(|| async { "meow" })));
        for path in ["/cats/tom", "/cats/felix", "/dogs"] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let response = super::render(&Arc::new(registry));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains(
                r#"survey_http_requests_total{route="/cats/{name}",method="GET",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"survey_http_requests_total{route="unmatched",method="GET",status="404"} 1"#
            ),
            "{text}"
        );
    }
}
