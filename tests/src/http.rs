//! Sending requests to the app: in memory through the router, or over real HTTP.

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header::CONTENT_TYPE},
};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::bad_input::Case;

/// The original tutorial's answer, the one every chapter shows in `select * from cats`.
pub const PIKA: [(&str, &str); 3] = [
    ("name", "Pika"),
    ("coat", "tortie"),
    ("donut", "strawberry"),
];

/// [`PIKA`] sent with a form's key, as a browser sends the form.
pub fn pika_with_key(key: &str) -> [(&str, &str); 4] {
    [PIKA[0], PIKA[1], PIKA[2], ("key", key)]
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body with the form's key (a fresh UUID per page) shown as `[key]`, for snapshots.
    pub fn page(&self) -> String {
        form_key()
            .replace_all(&self.body, r#"name="key" value="[key]""#)
            .into_owned()
    }

    /// The form's key in this page, as a visitor's browser would send it back.
    pub fn form_key(&self) -> String {
        form_key()
            .captures(&self.body)
            .map(|c| c[1].to_owned())
            .unwrap_or_else(|| panic!("no form key in this page:\n{}", self.body))
    }

    /// The `Location` header of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

fn form_key() -> regex::Regex {
    regex::Regex::new(r#"name="key" value="([0-9a-f-]{36})""#).expect("a valid pattern")
}

/// Calls the router once, in memory, as a server would.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("the router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body that can be read")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET path`.
pub async fn get(app: &Router, path: &str) -> Reply {
    send(
        app,
        Request::get(path)
            .body(Body::empty())
            .expect("valid request"),
    )
    .await
}

/// Posts a urlencoded form built from `fields`.
pub async fn post_form(app: &Router, fields: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(fields).expect("strings always encode");
    let request = Request::post("/")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("valid request");
    send(app, request).await
}

/// A bad-input case as an in-memory request.
pub async fn send_case(app: &Router, case: &Case) -> Reply {
    let mut request = Request::builder()
        .method(case.method.clone())
        .uri(case.path);
    if let Some(content_type) = case.content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    send(
        app,
        request
            .body(Body::from(case.body.clone()))
            .expect("valid request"),
    )
    .await
}

/// A running app reached over real HTTP, as a browser would; redirects are shown, not
/// followed, so a test can check the 303.
#[derive(Debug)]
pub struct Remote {
    client: reqwest::Client,
    base: String,
}

impl Remote {
    /// The app at `base`, e.g. `http://127.0.0.1:5000`.
    pub fn new(base: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self {
            client,
            base: base.into(),
        }
    }

    /// Posts the original tutorial's answer (Pika, tortie, strawberry); returns the status.
    pub async fn post_pika(&self) -> StatusCode {
        self.post_answer(PIKA[0].1, PIKA[1].1, PIKA[2].1).await
    }

    /// Posts an answer; returns the status.
    pub async fn post_answer(&self, name: &str, coat: &str, donut: &str) -> StatusCode {
        let response = self
            .client
            .post(format!("{}/", self.base))
            .form(&[("name", name), ("coat", coat), ("donut", donut)])
            .send()
            .await
            .expect("the app answers");
        StatusCode::from_u16(response.status().as_u16()).expect("a valid status")
    }

    /// Opens the form, as a browser does, and returns the key it carries.
    pub async fn form_key(&self) -> String {
        let page = self.get_text("/").await;
        form_key()
            .captures(&page)
            .map(|c| c[1].to_owned())
            .unwrap_or_else(|| panic!("no form key in the form page:\n{page}"))
    }

    /// Posts an answer with the form's `key`, as a browser sends the form; returns the status
    /// and the page.
    pub async fn post_keyed(&self, fields: &[(&str, &str); 3], key: &str) -> (StatusCode, String) {
        let mut form = fields.to_vec();
        form.push(("key", key));
        let response = self
            .client
            .post(format!("{}/", self.base))
            .form(&form)
            .send()
            .await
            .expect("the app answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("a valid status");
        (status, response.text().await.expect("a readable body"))
    }

    /// Posts an answer in other scripts, at or near the limits the form counts in characters:
    /// a 40-character Cyrillic name, a 32-character Japanese coat, a 32-emoji donut (many more
    /// bytes than characters). Returns the status and the answer.
    pub async fn post_wide(&self) -> (StatusCode, [String; 3]) {
        let answer = wide_answer();
        let response = self
            .client
            .post(format!("{}/", self.base))
            .form(&[
                ("name", answer[0].as_str()),
                ("coat", answer[1].as_str()),
                ("donut", answer[2].as_str()),
            ])
            .send()
            .await
            .expect("the app answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("a valid status");
        (status, answer)
    }

    /// Does what a visitor does: opens the form, then sends the original tutorial's answer and
    /// is redirected (303) to the thank-you page.
    pub async fn answer_the_survey(&self) {
        assert!(
            self.get_text("/").await.contains("Tell us about your cat"),
            "the form is shown"
        );
        assert_eq!(
            self.post_pika().await,
            StatusCode::SEE_OTHER,
            "the answer is accepted"
        );
    }

    /// `GET path`, read as text.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the app answers");
        response.text().await.expect("a readable body")
    }

    /// Sends a bad-input case; returns the status and body.
    pub async fn send_case(&self, case: &Case) -> (StatusCode, String) {
        let method =
            reqwest::Method::from_bytes(case.method.as_str().as_bytes()).expect("a valid method");
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, case.path))
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = request.send().await.expect("the app answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("a valid status");
        (status, response.text().await.expect("a readable body"))
    }
}

/// Step 05: waits until the queue is empty and no worker holds an entry (those a killed worker
/// held are claimed by another after 15 s); returns the last `/status.json`. A status that
/// cannot be read (the app restarting) counts as not drained yet.
pub async fn wait_until_drained(base: &str, limit: std::time::Duration) -> serde_json::Value {
    let client = reqwest::Client::new();
    crate::wait::until_async("the queue drained", limit, || async {
        let response = client
            .get(format!("{base}/status.json"))
            .send()
            .await
            .map_err(|err| err.to_string())?;
        let text = response.text().await.map_err(|err| err.to_string())?;
        let status: serde_json::Value = serde_json::from_str(&text).map_err(|_| text.clone())?;
        if status["waiting"] == 0 && status["pending"] == 0 {
            Ok(status)
        } else {
            Err(status.to_string())
        }
    })
    .await
}

/// The answer `Remote::post_wide` sends.
pub fn wide_answer() -> [String; 3] {
    let name: String = "Рыжик".chars().cycle().take(40).collect();
    let coat: String = "三毛猫の長い毛".chars().cycle().take(32).collect();
    let donut = "🍩".repeat(32);
    [name, coat, donut]
}
