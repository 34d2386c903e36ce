//! Continuous load through the survey's published port, for the tests that update, drain or
//! kill parts of a running stack: every response is counted, every form carries its own key.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

/// What the load saw: the forms thanked, and the others (name, key, why).
#[derive(Debug, Default)]
pub struct Ledger {
    pub thanked: Vec<String>,
    pub failed: Vec<(String, String, String)>,
}

/// How a load sends its forms.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Forms in flight at once.
    pub at_once: usize,
    /// Every this many forms, one is sent twice at once (a double click), where set.
    pub twice_every: Option<usize>,
    /// How long a visitor waits for an answer before calling it failed.
    pub patience: Duration,
    /// The pause between two rounds.
    pub pause: Duration,
}

impl Shape {
    /// Steady visitors: 8 forms at a time, each sent once, patient for 30 s.
    pub const STEADY: Shape = Shape {
        at_once: 8,
        twice_every: None,
        patience: Duration::from_secs(30),
        pause: Duration::from_millis(50),
    };
}

/// Where a load sends its forms (`http://127.0.0.1:PORT`), which a test may move while it
/// runs: a port Docker picked changes when the container that publishes it starts again.
#[derive(Debug, Clone)]
pub struct Target(Arc<Mutex<String>>);

impl Target {
    /// Sends the forms to `base` from now on.
    pub fn moved_to(&self, base: String) {
        *self.0.lock().expect("lock") = base;
    }

    fn base(&self) -> String {
        self.0.lock().expect("lock").clone()
    }
}

/// A load running in the background until [`Load::stop`].
#[derive(Debug)]
pub struct Load {
    target: Target,
    phase: Arc<Mutex<&'static str>>,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    /// Starts posting forms to `base`, [`Shape::STEADY`]; each answer is named `PHASE-N`.
    pub fn start(base: String, phase: &'static str) -> Self {
        Self::shaped(base, phase, Shape::STEADY)
    }

    /// Starts posting forms to `base` as `shape` says; each answer is named `PHASE-N`.
    pub fn shaped(base: String, phase: &'static str, shape: Shape) -> Self {
        let target = Target(Arc::new(Mutex::new(base)));
        let phase = Arc::new(Mutex::new(phase));
        let stop = Arc::new(AtomicBool::new(false));
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let task = tokio::spawn(post_until_stopped(
            target.clone(),
            shape,
            Arc::clone(&phase),
            Arc::clone(&stop),
            Arc::clone(&ledger),
        ));
        Self {
            target,
            phase,
            stop,
            ledger,
            task,
        }
    }

    /// Where it sends its forms, to move it.
    pub fn target(&self) -> Target {
        self.target.clone()
    }

    /// Names the answers sent from now on `PHASE-N`.
    pub fn phase(&self, phase: &'static str) {
        *self.phase.lock().expect("lock") = phase;
    }

    /// Waits until `more` answers beyond those thanked so far are thanked: the load is
    /// flowing, where a fixed sleep would only hope so. Fails after two minutes.
    pub async fn until_thanked(&self, more: usize) {
        let thanked = || self.ledger.lock().expect("lock").thanked.len();
        let want = thanked() + more;
        let what = format!("{want} answers thanked");
        crate::wait::until_async(&what, Duration::from_secs(120), || async {
            match thanked() {
                n if n >= want => Ok(()),
                n => Err(format!("{n} thanked; failed: {:?}", self.failed())),
            }
        })
        .await;
    }

    /// The requests that failed so far.
    pub fn failed(&self) -> Vec<(String, String, String)> {
        self.ledger.lock().expect("lock").failed.clone()
    }

    /// Stops, and returns what it saw.
    pub async fn stop(self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the load ran");
        std::mem::take(&mut *self.ledger.lock().expect("lock"))
    }
}

async fn post_until_stopped(
    target: Target,
    shape: Shape,
    phase: Arc<Mutex<&'static str>>,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(shape.patience)
        .build()
        .expect("an HTTP client");
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let (now, base) = (*phase.lock().expect("lock"), target.base());
        let posts = (n..n + shape.at_once).map(|i| {
            let (client, base) = (client.clone(), base.clone());
            let twice = shape.twice_every.is_some_and(|every| i % every == 0);
            async move {
                let name = format!("{now}-{i}");
                let key = uuid::Uuid::now_v7().to_string();
                let mut outcome = post(&client, &base, &name, &key).await;
                if twice {
                    let again = post(&client, &base, &name, &key).await;
                    outcome = outcome.or(again);
                }
                (name, key, outcome)
            }
        });
        n += shape.at_once;
        let results = futures_util::future::join_all(posts).await;
        {
            let mut ledger = ledger.lock().expect("lock");
            for (name, key, outcome) in results {
                match outcome {
                    Ok(()) => ledger.thanked.push(name),
                    Err(why) => ledger.failed.push((name, key, why)),
                }
            }
        }
        tokio::time::sleep(shape.pause).await;
    }
}

/// Posts one form: Ok when the visitor is thanked (303), else why not.
async fn post(client: &reqwest::Client, base: &str, name: &str, key: &str) -> Result<(), String> {
    let form = [
        ("name", name),
        ("coat", "tabby"),
        ("donut", "jelly"),
        ("key", key),
    ];
    match client.post(format!("{base}/")).form(&form).send().await {
        Ok(r) if r.status().as_u16() == 303 => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status())),
        Err(err) => Err(err.to_string()),
    }
}

/// Sends every failed form again (a visitor pressing "Send again": same form, same key) and
/// returns every name thanked in the end.
pub async fn send_failed_again(base: &str, ledger: Ledger) -> Vec<String> {
    let remote = crate::http::Remote::new(base);
    let mut thanked = ledger.thanked;
    for (name, key, _) in &ledger.failed {
        let form = [
            ("name", name.as_str()),
            ("coat", "tabby"),
            ("donut", "jelly"),
        ];
        let (status, page) = remote.post_keyed(&form, key).await;
        assert_eq!(status.as_u16(), 303, "{name} sent again: {page}");
        thanked.push(name.clone());
    }
    thanked
}

/// Stops `load`; every visitor whose request failed sends the form again (a killed task or
/// node may fail a request, never lose a thanked answer); then every thanked answer is looked
/// up among the rows whose name matches `pattern`, where only those in `may_be_lost` may be
/// missing ([`tally`]). Fails unless more than `at_least` answers were thanked: too little
/// load proves nothing.
pub async fn stop_and_tally(
    load: Load,
    launched: &crate::xtask::Launched,
    pattern: &str,
    at_least: usize,
    may_be_lost: &HashSet<String>,
) -> Tally {
    let ledger = load.stop().await;
    let failed = ledger.failed.len();
    let thanked = send_failed_again(&launched.base(), ledger).await;
    let tally = tally(launched, pattern, &thanked, may_be_lost).await;
    eprintln!(
        "thanked {}, {failed} of them after a failed request, stored {}, lost as allowed {}",
        thanked.len(),
        tally.stored,
        tally.lost
    );
    assert!(
        thanked.len() > at_least,
        "enough load to prove something: {}",
        thanked.len()
    );
    tally
}

/// How the thanked answers fared in Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Rows whose name matches the pattern.
    pub stored: usize,
    /// Thanked answers with no row (but those that may be lost).
    pub missing: usize,
    /// Thanked answers with no row that were allowed to be lost.
    pub lost: usize,
    /// Rows beyond the first of a name.
    pub doubled: usize,
    /// Rows of a name never thanked: no visitor sent it.
    pub unexpected: usize,
}

/// Looks every thanked name up among the rows whose name matches `pattern` (a Postgres
/// regular expression), once the queue has drained. Postgres compares them (the names go in
/// on psql's input; a few numbers come out, where tens of thousands of names through
/// `docker exec` could come back cut short). When one is missing (and not in `may_be_lost`),
/// doubled, or stored though no visitor sent it, it fails naming them, with the queue's
/// status and the dead letters.
pub async fn tally(
    launched: &crate::xtask::Launched,
    pattern: &str,
    thanked: &[String],
    may_be_lost: &HashSet<String>,
) -> Tally {
    let status = crate::http::wait_until_drained(&launched.base(), Duration::from_secs(180)).await;
    let mut script =
        String::from("\\set ON_ERROR_STOP on\n\\pset tuples_only on\n\\pset format unaligned\n");
    copied(&mut script, "thanked", thanked);
    copied(&mut script, "may_be_lost", may_be_lost);
    script.push_str(&format!(
        "CREATE TEMP VIEW stored AS SELECT name FROM cats WHERE name ~ '{pattern}';\n\
         CREATE TEMP VIEW absent AS SELECT DISTINCT name FROM thanked\n\
           WHERE name NOT IN (SELECT name FROM stored);\n\
         CREATE TEMP VIEW missing AS SELECT name FROM absent\n\
           WHERE name NOT IN (SELECT name FROM may_be_lost);\n\
         CREATE TEMP VIEW doubled AS SELECT name FROM stored GROUP BY name HAVING count(*) > 1;\n\
         SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM missing),\n\
           (SELECT count(*) - count(DISTINCT name) FROM stored),\n\
           (SELECT coalesce(string_agg(name, ' '), '') FROM\n\
             (SELECT name FROM missing ORDER BY name LIMIT 10) AS first),\n\
           (SELECT coalesce(string_agg(name, ' '), '') FROM\n\
             (SELECT name FROM doubled ORDER BY name LIMIT 10) AS first),\n\
           (SELECT count(*) FROM absent) - (SELECT count(*) FROM missing),\n\
           (SELECT count(DISTINCT name) FROM stored WHERE name NOT IN (SELECT name FROM thanked));\n"
    ));
    let said = launched.psql_script(&script);
    let line = said.lines().rfind(|l| l.contains('|')).unwrap_or_default();
    let fields: Vec<&str> = line.split('|').collect();
    let number = |i: usize| -> usize {
        fields
            .get(i)
            .and_then(|f| f.trim().parse().ok())
            .unwrap_or_else(|| panic!("psql's counts: {said}"))
    };
    let tally = Tally {
        stored: number(0),
        missing: number(1),
        doubled: number(2),
        lost: number(5),
        unexpected: number(6),
    };
    if tally.missing > 0 || tally.doubled > 0 || tally.unexpected > 0 {
        let dead_letters = launched.run(&["dead-letters"]);
        panic!(
            "thanked {}, {tally:?}; the first missing: {}; the first doubled: {}\n\
             the queue: {status}\n\
             the dead letters:\n{}{}",
            thanked.len(),
            fields.get(3).unwrap_or(&""),
            fields.get(4).unwrap_or(&""),
            String::from_utf8_lossy(&dead_letters.stdout),
            String::from_utf8_lossy(&dead_letters.stderr),
        );
    }
    tally
}

/// Appends to `script` a temporary table `table` of `names`, loaded by COPY from psql's input.
fn copied<'a>(script: &mut String, table: &str, names: impl IntoIterator<Item = &'a String>) {
    script.push_str(&format!(
        "CREATE TEMP TABLE {table} (name text);\nCOPY {table} FROM STDIN;\n"
    ));
    for name in names {
        assert!(
            !name.contains(['\t', '\n', '\\']),
            "a name COPY takes as it is: {name:?}"
        );
        script.push_str(name);
        script.push('\n');
    }
    script.push_str("\\.\n");
}
