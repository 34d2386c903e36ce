//! Prometheus's HTTP API as the tests read it: the targets it scrapes, and instant queries.
//! Every read returns an error instead of panicking, so that a test can wait on it while
//! Prometheus starts.

use std::time::Duration;

use serde::Deserialize;

use crate::xtask::Launched;

/// A Prometheus server at `base` (e.g. `http://127.0.0.1:2154/prometheus`).
#[derive(Debug)]
pub struct Prometheus {
    client: reqwest::Client,
    base: String,
}

/// One target, as `/api/v1/targets` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub labels: Labels,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
    #[serde(rename = "lastError")]
    pub last_error: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Labels {
    pub job: String,
    pub instance: String,
}

#[derive(Deserialize)]
struct Answer<T> {
    status: String,
    data: T,
}

#[derive(Deserialize)]
struct Targets {
    #[serde(rename = "activeTargets")]
    active: Vec<Target>,
}

#[derive(Deserialize)]
struct Vector {
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Matrix {
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    /// [time, "value"] at each step
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct Sample {
    /// [time, "value"]
    value: (f64, String),
}

impl Prometheus {
    pub fn at(base: impl Into<String>) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: base.into(),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, String> {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), query)
            .map_err(|e| format!("{}{path}: {e}", self.base))?;
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{url}: {status}: {body}"));
        }
        let answer: Answer<T> =
            serde_json::from_str(&body).map_err(|e| format!("{url}: {e}: {body}"))?;
        match answer.status.as_str() {
            "success" => Ok(answer.data),
            other => Err(format!("{url}: status {other}: {body}")),
        }
    }

    /// The targets it scrapes now.
    pub async fn targets(&self) -> Result<Vec<Target>, String> {
        let targets: Targets = self.get("/api/v1/targets", &[("state", "active")]).await?;
        Ok(targets.active)
    }

    /// The value of `promql`, which must give one sample (a `sum(...)`, say); `None` while it
    /// gives none (nothing scraped yet).
    pub async fn value(&self, promql: &str) -> Result<Option<f64>, String> {
        let vector: Vector = self.get("/api/v1/query", &[("query", promql)]).await?;
        match &vector.result[..] {
            [] => Ok(None),
            [sample] => sample
                .value
                .1
                .parse()
                .map(Some)
                .map_err(|e| format!("{promql}: {e}")),
            more => Err(format!("{promql}: {} samples, not one", more.len())),
        }
    }

    /// The values of `promql`, which must give one series (a `sum(...)`, say), every `step`
    /// seconds from `start` to `end` (Unix times, in seconds), as (time, value); a time at
    /// which it had none is left out.
    pub async fn range(
        &self,
        promql: &str,
        (start, end): (f64, f64),
        step: f64,
    ) -> Result<Vec<(f64, f64)>, String> {
        let (start, end, step) = (start.to_string(), end.to_string(), step.to_string());
        let query = [
            ("query", promql),
            ("start", &start),
            ("end", &end),
            ("step", &step),
        ];
        let matrix: Matrix = self.get("/api/v1/query_range", &query).await?;
        match &matrix.result[..] {
            [] => Ok(Vec::new()),
            [series] => series
                .values
                .iter()
                .map(|(t, v)| v.parse().map(|v| (*t, v)))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{promql}: {e}")),
            more => Err(format!("{promql}: {} series, not one", more.len())),
        }
    }

    /// `promql` every 2 s (the layer's scrape interval) through `window`; panics if
    /// Prometheus cannot say.
    pub async fn every_2s(&self, promql: &str, window: (f64, f64)) -> Vec<(f64, f64)> {
        self.range(promql, window, 2.0)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A picture for the book of what Prometheus saw: its file, title, vertical axis, window
/// (Unix times) and the moments marked on it.
#[derive(Debug, Clone, Copy)]
pub struct Drawn<'a> {
    pub file: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    pub window: (f64, f64),
    pub marks: &'a [(f64, &'a str)],
}

impl Drawn<'_> {
    /// Draws `first` beside the answers the workers stored per second, read from
    /// `prometheus`, and saves the picture (see [`crate::pictures`]).
    pub async fn beside_stored(self, prometheus: &Prometheus, first: crate::chart::Line) {
        let stored = crate::chart::Line {
            name: "stored, per second",
            points: prometheus.every_2s(STORED, self.window).await,
        };
        let svg = crate::chart::svg(
            self.title,
            self.unit,
            self.window,
            &[first, stored],
            self.marks,
        );
        crate::pictures::save(self.file, svg.as_bytes());
    }
}

/// Answers taken per second, as a line of a picture.
pub fn taken(points: Vec<(f64, f64)>) -> crate::chart::Line {
    crate::chart::Line {
        name: "taken, per second",
        points,
    }
}

/// Answers taken, summed over the app's tasks, and stored, summed over the workers.
pub const TAKEN: &str = "sum(rate(survey_answers_accepted_total[6s]))";
pub const STORED: &str = "sum(rate(survey_answers_stored_total[6s]))";
/// Every app task reads the same queue: its depth is any one's.
pub const WAITING: &str = "max(survey_queue_waiting)";

/// Fails unless `points` (every 2 s, of a rate that was flowing before `from`) hold a
/// value above zero all through `from` to `to`, with at most one time left out.
pub fn assert_never_stopped(points: &[(f64, f64)], (from, to): (f64, f64), what: &str) {
    let inside: Vec<&(f64, f64)> = points
        .iter()
        .filter(|(t, _)| *t >= from && *t <= to)
        .collect();
    let expected = ((to - from) / 2.0).floor() as usize;
    let stopped: Vec<&&(f64, f64)> = inside.iter().filter(|(_, v)| *v <= 0.0).collect();
    assert!(
        stopped.is_empty() && inside.len() + 1 >= expected,
        "{what}: {} of {expected} times have a value, stopped at {stopped:?}",
        inside.len()
    );
}

/// Now, as a Unix time in seconds: the times Prometheus is asked about.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

/// The targets of `job` that are up, or what the others say.
pub fn up_in(targets: &[Target], job: &str) -> Result<usize, String> {
    let of_job: Vec<&Target> = targets.iter().filter(|t| t.labels.job == job).collect();
    let down: Vec<String> = of_job
        .iter()
        .filter(|t| t.health != "up")
        .map(|t| format!("{} {}: {}", t.labels.instance, t.health, t.last_error))
        .collect();
    match down.is_empty() {
        true => Ok(of_job.len()),
        false => Err(format!("{job}: {}", down.join("; "))),
    }
}

/// Fails unless Prometheus, in the `--observe` layer of `launched`, finds `app` app tasks
/// and `workers` worker tasks by the swarm's DNS and scrapes each one, and the answers the
/// workers count as stored, summed, come to the table's rows.
pub async fn assert_counts_every_task(launched: &Launched, app: usize, workers: usize) {
    let prometheus = Prometheus::at(format!("{}/prometheus", launched.base()));
    let patience = Duration::from_secs(60);
    crate::wait::until_async("every app and worker task scraped", patience, || async {
        let targets = prometheus.targets().await?;
        match (up_in(&targets, "app")?, up_in(&targets, "worker")?) {
            seen if seen == (app, workers) => Ok(()),
            seen => Err(format!(
                "{seen:?} app and worker targets up, not {app} and {workers}"
            )),
        }
    })
    .await;
    let rows: f64 = launched
        .psql("select count(*) from cats")
        .lines()
        .find_map(|line| line.trim().parse().ok())
        .expect("a count of rows");
    let stored = "sum(survey_answers_stored_total)";
    crate::wait::until_async("the workers' stored answers, summed", patience, || async {
        match prometheus.value(stored).await? {
            Some(sum) if sum == rows => Ok(()),
            other => Err(format!("{stored} is {other:?}, the table has {rows} rows")),
        }
    })
    .await;
}
