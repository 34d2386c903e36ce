//! The HTML pages, as askama templates (under `templates/`, compiled into the binary and
//! escaped automatically, so `<script>` in a cat's name is shown, never run).

use askama::Template;
use axum::{
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::{
    answer::{Answer, FieldErrors, Submission},
    key::FormKey,
};

/// Who answers, shown at the foot of every page when set: a step with several replicas says
/// which one (and which version) served the page, so load balancing and rolling updates can
/// be seen happening.
static ANSWERED_BY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the foot of every page, once, at start-up (e.g. "task survey_app.2, version 1").
pub fn set_answered_by(who: String) {
    let _ = ANSWERED_BY.set(who);
}

/// The foot of every page, if a step set one.
pub fn answered_by() -> Option<&'static str> {
    ANSWERED_BY.get().map(String::as_str)
}

/// The survey form, empty or filled in again with what needs fixing.
#[derive(Debug, Template)]
#[template(path = "form.html")]
pub struct FormPage<'a> {
    pub submission: &'a Submission,
    pub errors: &'a FieldErrors,
    pub limits: [usize; 3],
    /// Sent back in a hidden field, so a resend of this form is recognised.
    pub key: FormKey,
    /// The answer kept under the key this form was sent with, when it was another one: the
    /// visitor's new answer is filled in, on a fresh form.
    pub kept_instead: Option<&'a Answer>,
}

/// "Thanks, Pika!"
#[derive(Debug, Template)]
#[template(path = "thanks.html")]
pub struct ThanksPage<'a> {
    pub name: Option<&'a str>,
    /// What happened to the answer, in the store's own words.
    pub receipt: &'a str,
}

/// Storage failed: say what is known, and offer to send the same answer (same key) again.
#[derive(Debug, Template)]
#[template(path = "resend.html")]
pub struct ResendPage<'a> {
    pub answer: &'a Answer,
    pub key: FormKey,
    /// The store knows nothing was kept; otherwise the first try may have got through.
    pub nothing_kept: bool,
}

/// The answers so far, newest first, a page at a time.
#[derive(Debug, Template)]
#[template(path = "answers.html")]
pub struct AnswersPage<'a> {
    pub answers: &'a [Answer],
    pub total: u64,
    pub page: u32,
    pub pages: u32,
}

/// Every error: a status, a short title and what the visitor can do about it.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub explanation: &'a str,
}

/// Renders a page with a status. Rendering our own templates cannot fail in practice; if it
/// ever did, the visitor still gets a plain answer rather than a dropped connection.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

/// The style sheet, compiled in: the page needs nothing from the internet.
pub async fn style_sheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
}
