//! The one way the tests wait for something: a probe asked again and again until it says
//! yes, failing after a limit with what was awaited and what the probe saw last. No test
//! sleeps on a fixed timer where a probe can say when.

use std::{
    future::Future,
    time::{Duration, Instant},
};

/// How long between two probes: short, since most probes are cheap and a test waits on them.
const INTERVAL: Duration = Duration::from_millis(50);

/// Asks `probe` until it gives `Ok`, and returns that; `Err` says what it saw instead. Panics
/// after `limit`, naming `what` was awaited and the last answer.
pub fn until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        let seen = match probe() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}; last seen: {seen}"
        );
        std::thread::sleep(INTERVAL);
    }
}

/// [`until`], for a probe that is a future.
pub async fn until_async<T, F>(what: &str, limit: Duration, mut probe: impl FnMut() -> F) -> T
where
    F: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        let seen = match probe().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}; last seen: {seen}"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Until a TCP connection to 127.0.0.1:`port` is taken.
pub fn until_listening(what: &str, port: u16, limit: Duration) {
    until(what, limit, || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .map(drop)
            .map_err(|err| err.to_string())
    });
}
