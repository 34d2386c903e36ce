//! Every kind of bad request the survey must answer clearly, and with what status. Each
//! store's tests send all of them and then check that nothing was stored.

use axum::http::{Method, StatusCode};

/// One bad request and the status it must get.
#[derive(Debug, Clone)]
pub struct Case {
    pub what: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    pub status: StatusCode,
}

const FORM: &str = "application/x-www-form-urlencoded";

fn post_form(what: &'static str, body: impl Into<Vec<u8>>, status: StatusCode) -> Case {
    Case {
        what,
        method: Method::POST,
        path: "/",
        content_type: Some(FORM),
        body: body.into(),
        status,
    }
}

fn request(what: &'static str, method: Method, path: &'static str, status: StatusCode) -> Case {
    Case {
        what,
        method,
        path,
        content_type: None,
        body: Vec::new(),
        status,
    }
}

/// The whole list: every kind of bad input the survey must refuse.
pub fn cases() -> Vec<Case> {
    [bad_fields(), bad_bodies(), bad_requests()].concat()
}

/// Forms whose fields are missing, empty, too long or hold what no answer may.
fn bad_fields() -> Vec<Case> {
    use StatusCode as S;
    let long = |n: usize| "x".repeat(n);
    vec![
        post_form(
            "empty fields",
            "name=&coat=&donut=",
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form("no fields at all", "", S::UNPROCESSABLE_ENTITY),
        post_form(
            "whitespace-only name",
            "name=+%20%09+&coat=tabby&donut=jelly",
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "one field missing",
            "name=Pika&coat=tortie",
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "name over 64 characters",
            format!("name={}&coat=tabby&donut=jelly", long(65)),
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "coat over 32 characters",
            format!("name=Pika&coat={}&donut=jelly", long(33)),
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "donut over 32 characters",
            format!("name=Pika&coat=tabby&donut={}", long(33)),
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "NUL in a field",
            "name=Pi%00ka&coat=tabby&donut=jelly",
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "line break in a field",
            "name=Pika&coat=tab%0Aby&donut=jelly",
            S::UNPROCESSABLE_ENTITY,
        ),
        post_form(
            "escape character in a field",
            "name=Pika&coat=tabby&donut=%1B%5B31mjelly",
            S::UNPROCESSABLE_ENTITY,
        ),
    ]
}

/// Bodies that are no form the survey reads: too big, not UTF-8, not a form at all.
fn bad_bodies() -> Vec<Case> {
    use StatusCode as S;
    let long = |n: usize| "x".repeat(n);
    vec![
        post_form(
            "body over 16 KiB",
            format!(
                "name=Pika&coat=tabby&donut=jelly&padding={}",
                long(17 * 1024)
            ),
            S::PAYLOAD_TOO_LARGE,
        ),
        post_form(
            "invalid UTF-8, percent-encoded",
            "name=%C3%28&coat=tabby&donut=jelly",
            S::BAD_REQUEST,
        ),
        post_form(
            "invalid UTF-8, raw bytes",
            b"name=\xff\xfe&coat=tabby&donut=jelly".to_vec(),
            S::BAD_REQUEST,
        ),
        post_form(
            "a form key that is not one",
            "name=Pika&coat=tabby&donut=jelly&key=1%27%3B+DROP+TABLE+cats",
            S::BAD_REQUEST,
        ),
        post_form(
            "a field sent twice",
            "name=Pika&name=Tom&coat=tabby&donut=jelly",
            S::BAD_REQUEST,
        ),
        Case {
            content_type: Some("application/json"),
            ..post_form(
                "JSON instead of a form",
                r#"{"name":"Pika","coat":"tabby","donut":"jelly"}"#,
                S::UNSUPPORTED_MEDIA_TYPE,
            )
        },
        Case {
            content_type: None,
            ..post_form(
                "no content type",
                "name=Pika&coat=tabby&donut=jelly",
                S::UNSUPPORTED_MEDIA_TYPE,
            )
        },
        Case {
            content_type: Some("application/x-www-form-urlencoded; charset=iso-8859-1"),
            ..post_form(
                "a charset other than UTF-8",
                "name=Pika&coat=tabby&donut=jelly",
                S::UNSUPPORTED_MEDIA_TYPE,
            )
        },
    ]
}

/// Methods and paths the survey does not serve.
fn bad_requests() -> Vec<Case> {
    use StatusCode as S;
    vec![
        request(
            "DELETE on the form",
            Method::DELETE,
            "/",
            S::METHOD_NOT_ALLOWED,
        ),
        request(
            "PUT on the answers",
            Method::PUT,
            "/answers",
            S::METHOD_NOT_ALLOWED,
        ),
        request(
            "POST on the health probe",
            Method::POST,
            "/healthz",
            S::METHOD_NOT_ALLOWED,
        ),
        request("an unknown page", Method::GET, "/cats.php", S::NOT_FOUND),
        request(
            "a path with SQL in it",
            Method::GET,
            "/answers%27%3B%20DROP%20TABLE%20cats",
            S::NOT_FOUND,
        ),
        request(
            "page 0 of the answers",
            Method::GET,
            "/answers?page=0",
            S::BAD_REQUEST,
        ),
        request(
            "a page number that is not a number",
            Method::GET,
            "/answers?page=two",
            S::BAD_REQUEST,
        ),
        request(
            "a page deeper than the app serves",
            Method::GET,
            "/answers?page=501",
            S::BAD_REQUEST,
        ),
        request(
            "a page number too large for the type",
            Method::GET,
            "/answers?page=99999999999999",
            S::BAD_REQUEST,
        ),
    ]
}

/// Checks one answer to a bad request: the status named, and a page a person can read
/// (our HTML, with a heading), never an empty body or a bare error string.
pub fn assert_answered(case: &Case, status: StatusCode, body: &str) {
    assert_eq!(
        status, case.status,
        "{}: wrong status; body:\n{body}",
        case.what
    );
    assert!(
        body.starts_with("<!doctype html>") && body.contains("<h1>"),
        "{}: expected a friendly HTML page, got:\n{body}",
        case.what
    );
}
