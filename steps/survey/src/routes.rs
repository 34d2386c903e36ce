//! The router: which address does what. `app(store)` is all a test needs to call the whole
//! web app in memory, without a server (`app(store).oneshot(request)`).

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Query, Request, State, rejection::QueryRejection},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::{
    answer::{COAT_MAX, DONUT_MAX, FieldErrors, NAME_MAX, Submission},
    error::AppError,
    form::{BODY_LIMIT, SurveyForm},
    key::{self, FormKey},
    pages::{self, AnswersPage, FormPage, ResendPage, ThanksPage},
    store::{Kept, PAGE_SIZE, Store},
};

const LIMITS: [usize; 3] = [NAME_MAX, COAT_MAX, DONUT_MAX];

/// The whole web app on top of a store.
pub fn app<S: Store>(store: S) -> Router {
    Router::new()
        .route("/", get(show_form).post(submit::<S>))
        .route("/thanks", get(thanks::<S>))
        .route("/answers", get(list_answers::<S>))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/style.css", get(pages::style_sheet))
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(deadline))
        .layer(TraceLayer::new_for_http())
        // Last line of defence: a bug that panics answers this one request, not the process.
        .layer(CatchPanicLayer::new())
        .with_state(store)
}

/// The longest any request may take. The stores give up sooner on their own (a connection
/// waited for 5 s, a Redis reply 5 s), so this only ends a request stuck somewhere no timeout
/// reaches, such as a database that accepted a query and then froze.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

async fn deadline(request: Request, next: Next) -> Response {
    tokio::time::timeout(REQUEST_TIMEOUT, next.run(request))
        .await
        .unwrap_or_else(|_| AppError::TookTooLong.into_response())
}

async fn show_form() -> Response {
    let page = FormPage {
        submission: &Submission::default(),
        errors: &FieldErrors::default(),
        limits: LIMITS,
        key: key::fresh(),
        kept_instead: None,
    };
    form_response(StatusCode::OK, &page)
}

/// A form page, never kept by a browser or a cache: the Back button or a shared cache would
/// hand its key, which stands for one answer, to another.
fn form_response(status: StatusCode, page: &FormPage<'_>) -> Response {
    let mut response = pages::render(status, page);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// How long a store may take to keep an answer before the visitor is offered to send the
/// same form again (the request's own deadline, [`REQUEST_TIMEOUT`], is later).
const INSERT_TIMEOUT: Duration = Duration::from_secs(15);

/// Valid: store, then redirect (303) so a browser refresh cannot post the form twice.
/// Invalid: show the form again, as typed and with the same key, a note per field, and store
/// nothing. Storage failing or slow: offer to send the same form (same key) again. The key
/// already kept with another answer: say which, and offer the new one on a fresh form (409).
async fn submit<S: Store>(
    State(store): State<S>,
    SurveyForm(submission): SurveyForm,
) -> Result<Response, AppError> {
    let key: FormKey = key::from_form(&submission.key).map_err(|_| {
        AppError::BadRequest(
            "The form's hidden key was damaged on the way. Please reload the survey and send it again.",
        )
    })?;
    let answer = match submission.validate() {
        Ok(answer) => answer,
        Err(errors) => {
            let page = FormPage {
                submission: &submission,
                errors: &errors,
                limits: LIMITS,
                key,
                kept_instead: None,
            };
            return Ok(form_response(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let kept = match tokio::time::timeout(INSERT_TIMEOUT, store.insert(key, &answer)).await {
        Ok(Ok(kept)) => kept,
        failed => {
            let nothing_kept = match &failed {
                Ok(Err(err)) => {
                    tracing::error!(error = %crate::error::error_chain(err), "storage failed");
                    err.is_nothing_kept()
                }
                _ => {
                    tracing::error!("storage took longer than {INSERT_TIMEOUT:?}");
                    false
                }
            };
            // The same key: sent again, the answer is kept once whatever the first try did.
            let page = ResendPage {
                answer: &answer,
                key,
                nothing_kept,
            };
            return Ok(pages::render(StatusCode::SERVICE_UNAVAILABLE, &page));
        }
    };
    if let Kept::Instead(stored) = kept {
        let page = FormPage {
            submission: &Submission {
                name: answer.name().to_owned(),
                coat: answer.coat().to_owned(),
                donut: answer.donut().to_owned(),
                key: String::new(),
            },
            errors: &FieldErrors::default(),
            limits: LIMITS,
            key: key::fresh(),
            kept_instead: Some(&stored),
        };
        return Ok(form_response(StatusCode::CONFLICT, &page));
    }
    // DEBUG, not INFO: at thousands of answers a second, a line each through Docker's log
    // pipe cost a quarter of the throughput (cargo xtask bench). RUST_LOG=debug shows them.
    tracing::debug!(name = answer.name(), "answer accepted");
    let query = serde_urlencoded::to_string([("name", answer.name())]).unwrap_or_default();
    Ok(Redirect::to(&format!("/thanks?{query}")).into_response())
}

#[derive(Debug, Deserialize)]
struct ThanksQuery {
    name: Option<String>,
}

async fn thanks<S: Store>(query: Result<Query<ThanksQuery>, QueryRejection>) -> Response {
    let name = query.ok().and_then(|Query(q)| q.name);
    // The name comes from the address bar, so anyone can put anything there: show at most
    // what a stored name could be (askama escapes it either way).
    let name = name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= NAME_MAX);
    let receipt = S::RECEIPT.sentence();
    pages::render(StatusCode::OK, &ThanksPage { name, receipt })
}

/// The deepest page served: every page costs a walk past the ones before it, so a request
/// for page 10 million must not make the database walk 200 million rows.
pub const MAX_PAGE: u32 = 500;

#[derive(Debug, Deserialize)]
struct ListQuery {
    page: Option<u32>,
}

async fn list_answers<S: Store>(
    State(store): State<S>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let page = match query {
        Ok(Query(ListQuery { page: None })) => 1,
        Ok(Query(ListQuery { page: Some(n) })) if (1..=MAX_PAGE).contains(&n) => n,
        _ => {
            return Err(AppError::BadRequest(
                "The page number must be a whole number from 1 to 500.",
            ));
        }
    };
    let found = store.page(page).await?;
    let pages = u32::try_from(found.total.div_ceil(u64::from(PAGE_SIZE)))
        .unwrap_or(u32::MAX)
        .max(1);
    let view = AnswersPage {
        answers: &found.answers,
        total: found.total,
        page,
        pages,
    };
    Ok(pages::render(StatusCode::OK, &view))
}

/// Liveness: the process answers HTTP. Docker's HEALTHCHECK calls this.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers too. A load balancer sends visitors only when this is 200.
async fn readyz<S: Store>(State(store): State<S>) -> Response {
    match store.ready().await {
        Ok(()) => "ready\n".into_response(),
        Err(err) => {
            tracing::warn!(error = %crate::error::error_chain(&err), "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "storage unreachable\n").into_response()
        }
    }
}
