//! Serving the app until SIGTERM or Ctrl-C, letting requests in flight finish.
//!
//! `axum::serve` has no read timeouts, so a client that opens a connection and sends its
//! headers one byte a minute would hold it (and a shutdown) for as long as it likes. This loop
//! serves each connection with hyper directly, which can time out the headers; the form's body
//! has its own deadline ([`crate::form::BODY_TIMEOUT`]) and every request one more
//! ([`crate::routes::REQUEST_TIMEOUT`]).

use std::{net::SocketAddr, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::net::TcpListener;

/// How long a client may take to send a request's headers (a browser needs milliseconds).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long requests in flight may take to finish once a stop is asked for; Docker's grace
/// period (10 s by default) is longer, so the process still exits on its own.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);

/// Listens on `addr` and serves `app` until a shutdown signal; then stops accepting
/// connections, lets the requests in flight finish, and returns.
pub async fn serve(addr: SocketAddr, app: Router) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!("listening on http://{local}");

    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let service = TowerToHyperService::new(app);
    let connections = GracefulShutdown::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                // A client that went away or sent its headers too slowly; nothing to fix here.
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not listen on {addr} (is another program using that port?)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
}

/// Resolves on SIGTERM (what `docker stop` sends) or SIGINT (Ctrl-C in a terminal).
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, finishing requests in flight"),
        _ = term.recv() => tracing::info!("SIGTERM received, finishing requests in flight"),
    }
}
