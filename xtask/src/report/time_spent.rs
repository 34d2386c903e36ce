//! Where the processor's time went during the loads, as the Markdown the book includes:
//! each part's share of the cores under `POST /`, and Postgres's time per row under pgbench.

use std::fmt::Write;

use super::{CpuUse, Report, spread};

impl CpuUse {
    /// The cores the part `name` kept busy, if it was measured.
    pub fn cores_of(&self, name: &str) -> Option<f64> {
        find(&self.parts, name)
    }

    /// The processor time per request (µs) of the part `name`, if it was measured.
    pub fn micros_of(&self, name: &str) -> Option<f64> {
        self.cores_of(name).map(|cores| self.micros(cores))
    }

    /// The part of that the kernel spent on the part's behalf (µs), if it was measured.
    pub fn kernel_micros_of(&self, name: &str) -> Option<f64> {
        find(&self.kernel, name).map(|cores| self.micros(cores))
    }

    /// `cores` kept busy during the load, as processor time per request (µs).
    fn micros(&self, cores: f64) -> f64 {
        let busy: f64 = self.parts.iter().map(|(_, cores)| cores).sum();
        self.micros_per_request * cores / busy
    }
}

/// The figure of the part `name` in `parts`.
fn find(parts: &[(String, f64)], name: &str) -> Option<f64> {
    parts
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| *value)
}

/// Where the cores went during the median `POST /` runs, step 04 beside step 05.
pub fn cores(r: &Report) -> String {
    let (Some(direct), Some(queue)) = (&r.direct.post_cpu, &r.queue.post_cpu) else {
        return String::new();
    };
    let mut text = format!(
        "\nWhere the {} cores went during the median `POST /` runs (cores kept busy, and each \
         part's processor time per request, with the part of it the kernel spent on its \
         behalf, in its sockets mostly; `rest` is the rest, mostly network work the kernel \
         charges to no process):\n\n\
         | | step 04 | step 05 |\n|---|---:|---:|\n",
        r.machine.cores
    );
    let mut names: Vec<&str> = direct.parts.iter().map(|(n, _)| n.as_str()).collect();
    for (name, _) in &queue.parts {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    // The services first, by name; then the proxy, wrk and the rest, as measured.
    let tail = ["docker-proxy", "wrk", "rest"];
    names.sort_by_key(|n| (tail.iter().position(|t| t == n), *n));
    let of = |used: &CpuUse, name: &str| {
        let (Some(cores), Some(micros)) = (used.cores_of(name), used.micros_of(name)) else {
            return String::new();
        };
        match used.kernel_micros_of(name) {
            Some(kernel) => format!("{cores:.2} ({micros:.0} µs, {kernel:.0} in the kernel)"),
            None => format!("{cores:.2} ({micros:.0} µs)"),
        }
    };
    for name in names {
        let _ = writeln!(
            text,
            "| {name} | {} | {} |",
            of(direct, name),
            of(queue, name)
        );
    }
    let _ = writeln!(
        text,
        "| idle | {:.2} | {:.2} |\n| processor time per request | {:.0} µs | {:.0} µs |",
        direct.idle, queue.idle, direct.micros_per_request, queue.micros_per_request
    );
    text
}

/// Postgres's time per row under pgbench, at its own rate and at the direct path's.
pub fn db_per_row(r: &Report) -> String {
    let Some(db) = &r.direct.pgbench_db else {
        return String::new();
    };
    let from = if r.direct.post_beside.is_some() {
        "from beside the app"
    } else {
        "through the published port"
    };
    format!(
        "\nPostgres's own processor time per one-row `INSERT` under pgbench over the network \
         (step 04's): {} µs at pgbench's own rate, {} µs with pgbench paced at {:.0} a second, \
         the rate of step 04's `POST /` {from} in the same run.\n",
        spread(&db.full_micros, 0),
        spread(&db.paced_micros, 0),
        db.paced_per_second
    )
}
