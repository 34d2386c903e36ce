//! A strict extractor for the survey form.
//!
//! axum's `Form` decodes invalid UTF-8 into U+FFFD and would store the mangled text; this one
//! refuses it with a 400, checks the content type (415) and the size limit (413) first, and
//! keeps the raw fields so that an invalid form can be shown again as the visitor typed it.

use std::time::Duration;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{StatusCode, header::CONTENT_TYPE},
};
use percent_encoding::percent_decode;

use crate::{answer::Submission, error::AppError};

/// The largest form body accepted, in bytes: room for the three fields many times over.
pub const BODY_LIMIT: usize = 16 * 1024;

/// How long a client may take to send the form's body: a browser sends it in one go, so only
/// a broken or hostile client is ever this slow.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A survey form read from a request body; see the module docs for what it refuses.
#[derive(Debug)]
pub struct SurveyForm(pub Submission);

impl<S: Send + Sync> FromRequest<S> for SurveyForm {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_form_content_type(req.headers().get(CONTENT_TYPE)) {
            return Err(AppError::UnsupportedMediaType);
        }
        // `Bytes` honours the router's `DefaultBodyLimit`, so an oversized body stops here.
        let body = tokio::time::timeout(BODY_TIMEOUT, Bytes::from_request(req, state))
            .await
            .map_err(|_| AppError::BodyTimeout)?
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest("The form could not be read completely."),
            })?;
        parse(&body).map(SurveyForm)
    }
}

fn is_form_content_type(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    let charset_ok = parts
        .filter_map(|p| p.split_once('='))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case("charset"))
        .all(|(_, v)| v.trim_matches('"').eq_ignore_ascii_case("utf-8"));
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") && charset_ok
}

/// Decodes an `application/x-www-form-urlencoded` body into the three survey fields and the
/// form's key.
/// Unknown fields (a submit button's name, say) are ignored; a field sent twice is refused,
/// since we could not tell which one the visitor meant.
pub fn parse(body: &[u8]) -> Result<Submission, AppError> {
    let mut submission = Submission::default();
    let mut seen = [false; 4];
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let (slot, field) = match decode(key)?.as_str() {
            "name" => (0, &mut submission.name),
            "coat" => (1, &mut submission.coat),
            "donut" => (2, &mut submission.donut),
            "key" => (3, &mut submission.key),
            _ => continue,
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(AppError::BadRequest("A field of the form was sent twice."));
        }
        *field = decode(value)?;
    }
    Ok(submission)
}

fn decode(raw: &[u8]) -> Result<String, AppError> {
    // In this encoding '+' stands for a space; '%2B' is a real plus sign.
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| AppError::BadRequest("The form was not valid UTF-8 text."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plus signs are spaces, percent escapes are decoded, unknown fields are ignored.
    #[test]
    fn decodes_fields() {
        let s = parse(b"name=Pika+the%2Bcat&coat=tortie&donut=strawberry&submit=Send").expect("ok");
        assert_eq!(s.name, "Pika the+cat");
        assert_eq!(s.key, "");
        assert_eq!(
            (s.coat.as_str(), s.donut.as_str()),
            ("tortie", "strawberry")
        );
    }

    /// Invalid UTF-8, raw or percent-encoded, is refused instead of being mangled.
    #[test]
    fn refuses_invalid_utf8() {
        assert!(parse(b"name=%FF&coat=a&donut=b").is_err());
        assert!(parse(b"name=\xff&coat=a&donut=b").is_err());
    }

    /// A field sent twice is ambiguous and refused.
    #[test]
    fn refuses_duplicate_fields() {
        assert!(parse(b"name=a&name=b&coat=c&donut=d").is_err());
    }

    /// The content type must be a urlencoded form in UTF-8 (parameters and case may vary).
    #[test]
    fn content_types() {
        let ok =
            |v: &'static str| is_form_content_type(Some(&axum::http::HeaderValue::from_static(v)));
        assert!(ok("application/x-www-form-urlencoded"));
        assert!(ok("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!ok("application/x-www-form-urlencoded; charset=latin1"));
        assert!(!ok("application/json"));
        assert!(!ok("multipart/form-data; boundary=x"));
        assert!(!is_form_content_type(None));
    }
}
