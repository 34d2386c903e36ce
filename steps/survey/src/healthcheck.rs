//! `healthcheck`: a tiny HTTP client for Docker's HEALTHCHECK, so an image without curl
//! (like a `FROM scratch` one) can still check itself. Exit status 0 = healthy, 1 = not.

use std::{net::SocketAddr, time::Duration};

use axum::http::{Request, StatusCode, header::HOST};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long the probe waits in all; Docker's own `--timeout` should be longer than this.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Why the server was not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("no answer within {TIMEOUT:?}")]
    Timeout,
    #[error("could not connect")]
    Connect(#[source] std::io::Error),
    #[error("the HTTP exchange failed")]
    Http(#[source] hyper::Error),
    #[error("/healthz answered {0}")]
    Status(StatusCode),
}

/// Asks `http://{addr}/healthz` once and succeeds on 200.
pub async fn probe(addr: SocketAddr) -> Result<(), HealthcheckError> {
    tokio::time::timeout(TIMEOUT, ask(addr))
        .await
        .map_err(|_| HealthcheckError::Timeout)?
}

async fn ask(addr: SocketAddr) -> Result<(), HealthcheckError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(HealthcheckError::Connect)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(HealthcheckError::Http)?;
    tokio::spawn(connection);
    let request = Request::get("/healthz")
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .expect("a static request is valid");
    let response = sender
        .send_request(request)
        .await
        .map_err(HealthcheckError::Http)?;
    match response.status() {
        StatusCode::OK => Ok(()),
        other => Err(HealthcheckError::Status(other)),
    }
}
