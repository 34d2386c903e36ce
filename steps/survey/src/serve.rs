//! Serving the app until SIGTERM or Ctrl-C, letting requests in flight finish.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Listens on `addr` and serves `app` until a shutdown signal; then stops accepting
/// connections, lets the requests in flight finish, and returns.
pub async fn serve(addr: SocketAddr, app: Router) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!("listening on http://{local}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)?;
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
