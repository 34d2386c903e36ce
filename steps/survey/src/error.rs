//! The one error type of the web layer: every failure becomes a friendly page with the right
//! status, and the cause goes to the log, never to the visitor.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{pages, store::StoreError};

/// Everything a request can fail with, apart from an invalid form (which is shown again).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("the body arrived too slowly")]
    BodyTimeout,
    #[error("the request took too long")]
    TookTooLong,
    #[error("storage unavailable")]
    Storage(#[from] StoreError),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TookTooLong => StatusCode::SERVICE_UNAVAILABLE,
            // The request was fine; the database is not. 503 tells clients and load balancers
            // to try again later, which a 500 would not.
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn explanation(&self) -> &'static str {
        match self {
            Self::NotFound => "There is no page at this address. The survey is on the front page.",
            Self::MethodNotAllowed => "This page does not take that kind of request.",
            Self::BadRequest(why) => why,
            Self::UnsupportedMediaType => {
                "The survey takes an ordinary HTML form (application/x-www-form-urlencoded, UTF-8)."
            }
            Self::PayloadTooLarge => "That was far more text than the survey takes.",
            Self::BodyTimeout => "The form arrived too slowly. Please send it again.",
            Self::TookTooLong => "That took too long on our side. Please try again in a moment.",
            Self::Storage(_) => {
                "The answers could not be read just now. Please try again in a moment."
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Storage(err) = &self {
            tracing::error!(error = %error_chain(err), "storage failed");
        } else if let Self::TookTooLong = &self {
            tracing::error!("a request ran out of time");
        } else {
            tracing::debug!(%status, error = %self, "request refused");
        }
        pages::render(
            status,
            &pages::ErrorPage {
                status: status.as_u16(),
                title: status.canonical_reason().unwrap_or("Error"),
                explanation: self.explanation(),
            },
        )
    }
}

/// "a: b: c" for an error and its sources, so one log line tells the whole story.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
