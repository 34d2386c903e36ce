//! The answers flowing: the proxy's own counters (how many requests each task has answered,
//! and whether the proxy finds it healthy), and the queue's numbers from the app's
//! `/status.json`. Neither needs a password: the view holds no secret.

use std::{collections::HashMap, net::IpAddr, time::Instant};

use serde::{Deserialize, Serialize};

use super::fetch::{FetchError, get};

/// One server of the proxy's `app` backend: a task, by its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyServer {
    /// `UP`, `DOWN`, `UP 1/2` (going down)...
    pub status: String,
    /// Requests it has answered since the proxy started.
    pub requests: u64,
}

/// The proxy's servers of `backend`, by address, from its statistics page as CSV.
/// With them, the moment the proxy answered, so that a rate is timed by the counters and not
/// by the slowest of a round's other reads.
pub async fn proxy_servers(
    stats_url: &str,
    backend: &str,
) -> Result<(HashMap<IpAddr, ProxyServer>, Instant), FetchError> {
    let body = get(stats_url).await?;
    let at = Instant::now();
    Ok((parse_stats(&String::from_utf8_lossy(&body), backend), at))
}

/// HAProxy's CSV: a header line `# pxname,svname,...` naming the columns, then a line per
/// frontend, backend and server. Servers of `backend` with no address (an empty slot of a
/// server template) are left out. Requests are counted by `req_tot` (HTTP requests), or by
/// `stot` (sessions) where a proxy does not report it.
pub fn parse_stats(csv: &str, backend: &str) -> HashMap<IpAddr, ProxyServer> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return HashMap::new();
    };
    let column = |name: &str| header.split(',').position(|c| c == name);
    let (Some(px), Some(sv), Some(status), Some(sessions), Some(addr)) = (
        column("pxname"),
        column("svname"),
        column("status"),
        column("stot"),
        column("addr"),
    ) else {
        return HashMap::new();
    };
    let requests = column("req_tot");
    lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or_default();
            if field(px) != backend || matches!(field(sv), "FRONTEND" | "BACKEND") {
                return None;
            }
            let ip: IpAddr = field(addr).rsplit_once(':')?.0.parse().ok()?;
            let server = ProxyServer {
                status: field(status).to_owned(),
                requests: requests
                    .and_then(|i| field(i).parse().ok())
                    .or_else(|| field(sessions).parse().ok())
                    .unwrap_or_default(),
            };
            Some((ip, server))
        })
        .collect()
}

/// The queue and the table, as the app's `/status.json` says (step 05's status page).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Answers {
    /// In the stream, no worker has taken them yet.
    pub waiting: u64,
    /// Taken by a worker, not yet stored.
    pub pending: u64,
    pub dead_letters: u64,
    pub held_back: bool,
    pub rows_stored: i64,
}

/// Why the answers could not be counted.
#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("not the status page's JSON")]
    Json(#[from] serde_json::Error),
}

/// Reads `status_url`.
pub async fn answers(status_url: &str) -> Result<Answers, AnswersError> {
    Ok(serde_json::from_slice(&get(status_url).await?)?)
}

#[cfg(test)]
mod tests {
    /// Servers are found by address under the backend's name; empty slots and other
    /// proxies are not.
    #[test]
    fn the_proxys_servers_are_read_from_its_csv() {
        let csv = "# pxname,svname,qcur,stot,status,addr,\n\
                   survey,FRONTEND,,120,OPEN,,\n\
                   app,app1,0,70,UP,10.0.1.5:5000,\n\
                   app,app2,0,50,DOWN,10.0.1.6:5000,\n\
                   app,app3,0,0,MAINT,,\n\
                   app,BACKEND,0,120,UP,,\n\
                   view,view1,0,3,UP,10.0.1.9:5000,\n";
        let servers = super::parse_stats(csv, "app");
        assert_eq!(servers.len(), 2, "{servers:?}");
        let up = &servers[&"10.0.1.5".parse().unwrap()];
        assert_eq!((up.status.as_str(), up.requests), ("UP", 70));
        assert!(super::parse_stats("not a csv", "app").is_empty());
        let with_requests = "# pxname,svname,stot,req_tot,status,addr,\n\
                             app,app1,2,70,UP,10.0.1.5:5000,\n";
        let servers = super::parse_stats(with_requests, "app");
        assert_eq!(servers[&"10.0.1.5".parse().unwrap()].requests, 70);
    }
}
