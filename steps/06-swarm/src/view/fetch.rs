//! One GET over plain HTTP, with a deadline: all the view ever sends. A small client of its
//! own (hyper's, as the healthcheck), so the image gains no HTTP library.

use std::time::Duration;

use axum::http::{Request, StatusCode, Uri, header::HOST};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one read may take; the view asks again soon after.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The most a body may hold: a hundred tasks' JSON is far less.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Why a read failed, in words for the page.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http:// URL")]
    Url(String),
    #[error("no answer within {TIMEOUT:?}")]
    Timeout,
    #[error("cannot connect to {0}")]
    Connect(String, #[source] std::io::Error),
    #[error("the HTTP exchange failed")]
    Http(#[source] hyper::Error),
    #[error("the body is too large or broke off")]
    Body,
    #[error("it answered {0}")]
    Status(StatusCode),
}

/// The body of `GET url`, which must answer 200.
pub async fn get(url: &str) -> Result<Bytes, FetchError> {
    tokio::time::timeout(TIMEOUT, ask(url))
        .await
        .map_err(|_| FetchError::Timeout)?
}

async fn ask(url: &str) -> Result<Bytes, FetchError> {
    let uri: Uri = url.parse().map_err(|_| FetchError::Url(url.to_owned()))?;
    let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(FetchError::Url(url.to_owned()));
    };
    let address = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|err| FetchError::Connect(address.clone(), err))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(FetchError::Http)?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|_| FetchError::Url(url.to_owned()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(FetchError::Http)?;
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status(response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| FetchError::Body)?;
    Ok(body.to_bytes())
}
