//! The looking: every so often, read the engine, the proxy and the queue at once, make a
//! picture, and hand it to the page when it changed. What cannot be read is said on the
//! page; the engine's last good reading stays, marked as old, so a manager that restarts or
//! a node that goes down leaves the page standing.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use super::{
    ViewArgs,
    engine::{self, Engine},
    page::Rendered,
    picture::{self, Seen, Served},
    traffic::{self, ProxyServer},
};

/// Looks until SIGTERM or Ctrl-C; then drops `pictures`, which ends the pages' event streams
/// so that the server can stop.
pub async fn look(args: ViewArgs, pictures: tokio::sync::watch::Sender<Rendered>) {
    let stop = survey::serve::shutdown_signal();
    tokio::pin!(stop);
    let mut memory = Memory::default();
    loop {
        let round = Instant::now();
        // A round can take as long as a read's timeout: a stop is heard during it too.
        let picture = tokio::select! {
            picture = memory.look(&args) => picture,
            () = &mut stop => return,
        };
        pictures.send_if_modified(|shown| {
            let changed = shown.picture != picture;
            if changed {
                *shown = Rendered::of(picture);
            }
            changed
        });
        tokio::select! {
            () = tokio::time::sleep(args.every().saturating_sub(round.elapsed())) => {}
            () = &mut stop => return,
        }
    }
}

/// What the view keeps from one look to the next.
#[derive(Debug, Default)]
struct Memory {
    /// The engine's last good reading, and when it was made.
    engine: Option<(Engine, Instant)>,
    /// The proxy's counters at the last look, to tell requests per second.
    counters: Option<(HashMap<IpAddr, ProxyServer>, Instant)>,
}

impl Memory {
    async fn look(&mut self, args: &ViewArgs) -> picture::Picture {
        let (engine, proxy, answers) = tokio::join!(
            engine::read(&args.docker_api),
            traffic::proxy_servers(&args.proxy_stats, "app"),
            traffic::answers(&args.survey_status),
        );
        let mut blind_spots = Vec::new();
        match engine {
            Ok(engine) => self.engine = Some((engine, Instant::now())),
            Err(err) => blind_spots.push(match &self.engine {
                Some((_, at)) => format!(
                    "The swarm as it was {} s ago: cannot read the Docker API ({err}).",
                    at.elapsed().as_secs()
                ),
                None => format!("Cannot read the Docker API yet ({err})."),
            }),
        }
        let served = match proxy {
            Ok((now, at)) => self.rates(now, at),
            Err(err) => {
                blind_spots.push(format!(
                    "Cannot read the proxy's counters ({err}): no requests per task."
                ));
                self.counters = None;
                HashMap::new()
            }
        };
        let answers = answers
            .map_err(|err| {
                blind_spots.push(format!(
                    "Cannot count the answers: the app's status page failed ({err})."
                ));
            })
            .ok();
        let empty = Engine::default();
        picture::picture(Seen {
            stack: &args.stack,
            engine: self.engine.as_ref().map_or(&empty, |(e, _)| e),
            served: &served,
            answers,
            blind_spots,
        })
    }

    /// Requests per second of each server since the last look (none at the first).
    fn rates(&mut self, now: HashMap<IpAddr, ProxyServer>, at: Instant) -> HashMap<IpAddr, Served> {
        let before = self.counters.take();
        let served = now
            .iter()
            .map(|(ip, server)| {
                let per_second = before.as_ref().map_or(0, |(old, then)| {
                    let done = server
                        .requests
                        .saturating_sub(old.get(ip).map_or(server.requests, |o| o.requests));
                    per_second(done, at.duration_since(*then))
                });
                let status = server.status.clone();
                (*ip, Served { status, per_second })
            })
            .collect();
        self.counters = Some((now, at));
        served
    }
}

fn per_second(done: u64, over: Duration) -> u64 {
    let millis = u64::try_from(over.as_millis()).unwrap_or(u64::MAX).max(1);
    done.saturating_mul(1000) / millis
}
