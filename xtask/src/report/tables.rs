//! A report as text: on the console, and as the Markdown tables the book includes, rendered
//! from the saved report by `bench --save` and by `codegen` alike (so no figure in the book is
//! typed by hand).

use std::fmt::Write;

use super::{Comparison, Report, spread};

/// The files rendered from a saved report: (path, Markdown).
pub fn rendered(report: &Report) -> Vec<(&'static str, String)> {
    vec![
        ("docs/bench/learner.md", learner(report)),
        ("docs/bench/05-queue.md", throughput(report)),
        ("docs/bench/lab.md", lab(report)),
        ("docs/bench/timings.md", timings(report)),
    ]
}

/// The whole report for the console.
pub fn text(r: &Report) -> String {
    let mut text = String::from("\n");
    text.push_str(&strip_markdown(&learner(r)));
    text.push('\n');
    text.push_str(&strip_markdown(&throughput(r)));
    if r.learner.lab.is_some() {
        text.push('\n');
        text.push_str(&strip_markdown(&lab(r)));
    }
    text.push('\n');
    text.push_str(&strip_markdown(&timings(r)));
    text
}

/// `bench --against`: each figure of both versions and their ratio, for the console.
pub fn comparison(c: &Comparison) -> String {
    let m = &c.machine;
    let mut text = format!(
        "\nThis checkout ({}) against {}, measured on {} ({} cores, {}): steps 04 and 05 of \
         each loaded in turn, {} runs of {} s with {} connections (step 05 with {} workers). \
         Figures are medians; this over that is the median of each run's own ratio, lowest to \
         highest in brackets.\n\n\
         | figure | this | {} | this / that | |\n|---|---:|---:|---:|---|\n",
        c.this,
        c.that,
        m.measured_on,
        m.cores,
        m.cpu,
        c.runs,
        c.duration_seconds,
        c.concurrency,
        c.workers,
        c.that
    );
    for f in &c.figures {
        let digits = if f.unit == "ms" || f.unit == "MB" {
            2
        } else {
            0
        };
        let _ = writeln!(
            text,
            "| {} ({}) | {:.digits$} | {:.digits$} | {} | {} |",
            f.figure,
            f.unit,
            f.this,
            f.that,
            spread(&f.ratio, 2),
            f.verdict()
        );
    }
    strip_markdown(&text)
}

fn strip_markdown(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("<!--") && !l.starts_with("|---"))
        .map(|l| l.replace("**", "").replace('`', ""))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn header(r: &Report) -> String {
    let m = &r.machine;
    format!(
        "<!-- Rendered by `cargo xtask codegen` from docs/bench/report.json, which `cargo xtask bench --save` writes: edit neither by hand. -->\n\
         Measured on {} on a {}-core machine ({}, {} GiB, Linux {}, Docker {}), the load \
         generator on the same cores.\n\n",
        m.measured_on, m.cores, m.cpu, m.memory_gib, m.kernel, m.docker
    )
}

/// What a learner feels: chapter 03 and the introduction include it.
fn learner(r: &Report) -> String {
    let l = &r.learner;
    let mut text = header(r);
    let _ = writeln!(
        text,
        "- From a one-word edit of the form's template to `cargo xtask step 3 up` done and the \
         new page served: {} s (median of {} edits, lowest to highest).",
        spread(&l.edit_to_running_seconds, 1),
        l.edits.unwrap_or(r.runs)
    );
    let ups = l
        .up_seconds
        .iter()
        .map(|f| format!("{:02}: {:.1} s", f.step, f.value))
        .collect::<Vec<_>>()
        .join(", ");
    let times = match l.ups {
        Some(n) if n > 1 => format!(" (the median of {n} ups each)"),
        _ => String::new(),
    };
    let _ = writeln!(
        text,
        "- `cargo xtask step N up`, images built, until every service is healthy{times}: {ups}."
    );
    let mut steps: Vec<u8> = l.idle_memory_mib.iter().map(|f| f.step).collect();
    steps.dedup();
    for step in steps {
        let memory = l
            .idle_memory_mib
            .iter()
            .filter(|f| f.step == step)
            .map(|f| format!("{} {:.1} MiB", f.service, f.value))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            text,
            "- Memory in use by step {step:02}'s services, idle (the first container of each): {memory}."
        );
    }
    let _ = writeln!(
        text,
        "- Step 01's app image: {:.1} MB as `up` builds it (profile `quick`), {:.1} MB as it \
         ships (`--release`).",
        l.image_mb.quick, l.image_mb.release
    );
    text
}

/// Steps 04 and 05 under load: chapter 05 includes it.
fn throughput(r: &Report) -> String {
    let mut text = header(r);
    let _ = writeln!(
        text,
        "Steps 04 and 05 ran side by side and were loaded in turn, {} runs of {} s each with {} \
         connections (step 05 with {} workers); figures are medians, ratios the median of each \
         run's own ratio, lowest to highest in brackets.\n",
        r.runs, r.duration_seconds, r.concurrency, r.workers
    );
    text.push_str(&loads(r));
    text.push_str(&ratios(r));
    text.push_str(&super::time_spent::cores(r));
    text.push_str(&super::time_spent::db_per_row(r));
    text
}

/// The table of rates and latencies.
fn loads(r: &Report) -> String {
    let mut text =
        String::from("| | per second | p50 | p99 | failed |\n|---|---:|---:|---:|---:|\n");
    let rows = [
        (
            "step 04 `POST /` (a committed row per request)",
            Some(r.direct.post),
        ),
        (
            "step 05 `POST /` (an fsynced stream entry per request)",
            Some(r.queue.post),
        ),
        (
            "step 05 `POST /` with `appendfsync everysec` (not durable)",
            Some(r.queue_only.post_everysec),
        ),
        (
            "step 05 `POST /` with its workers held back (a burst, nothing stored)",
            r.queue_only.burst.map(|b| b.accepted),
        ),
        ("step 04 `GET /` (the form)", Some(r.direct.get)),
        (
            "step 04 `POST /` from beside the app (no published port)",
            r.direct.post_beside,
        ),
        (
            "step 05 `POST /` from beside the app (no published port)",
            r.queue.post_beside,
        ),
    ];
    let measured = rows
        .into_iter()
        .filter_map(|(name, load)| Some((name, load?)));
    for (name, load) in measured {
        let _ = writeln!(
            text,
            "| {name} | {:.0} | {:.1} ms | {:.1} ms | {} |",
            load.per_second, load.p50_ms, load.p99_ms, load.failed
        );
    }
    for (name, rate) in [
        (
            "Postgres alone, one-row `INSERT`s over its socket (step 04's)",
            r.direct.pgbench_socket_per_second,
        ),
        (
            "Postgres alone, one-row `INSERT`s over the network (step 04's)",
            r.direct.pgbench_network_per_second,
        ),
    ] {
        let _ = writeln!(text, "| {name} | {rate:.0} | | | |");
    }
    let _ = writeln!(
        text,
        "| step 05's {} workers draining a backlog | {:.0} rows | | | |\n",
        r.workers, r.queue_only.drain_rows_per_second
    );
    if let Some(burst) = &r.queue_only.burst {
        let _ = writeln!(
            text,
            "The median burst ({} s) left {} answers queued; the workers stored them in {:.1} s.\n",
            r.duration_seconds * super::Burst::MEASUREMENTS,
            burst.backlog,
            burst.drain_seconds
        );
    }
    text
}

/// The ratios, each measured within single runs.
fn ratios(r: &Report) -> String {
    let ratios = &r.ratios;
    let mut text = String::from("Ratios:\n\n");
    // Those a report lacks (older, or not measured as root) are left out.
    let rows = [
        (
            "step 04 `POST /` over Postgres's own one-row rate over the network",
            Some(&ratios.direct_post_over_pgbench_network),
        ),
        (
            "Postgres's one-row rate over the network over the same through its socket",
            Some(&ratios.pgbench_network_over_socket),
        ),
        (
            "step 05 `POST /` over step 04 `POST /`",
            Some(&ratios.queue_post_over_direct_post),
        ),
        (
            "step 05 `POST /` with `everysec` over the same with `always`",
            Some(&ratios.queue_everysec_over_always),
        ),
        (
            "step 05 `POST /` with its workers held back over step 04 `POST /` just before",
            ratios.queue_burst_over_direct_post.as_ref(),
        ),
        (
            "the workers' drain over Postgres's own one-row rate over the network",
            Some(&ratios.queue_drain_over_pgbench_network),
        ),
        (
            "step 05 `POST /` with `everysec` over the same with `always`, both from beside the app",
            ratios.queue_everysec_over_always_beside.as_ref(),
        ),
        (
            "step 04 `POST /` from beside the app over Postgres's own one-row rate over the \
             network: the same path, no published port on either side",
            ratios.direct_beside_over_pgbench_network.as_ref(),
        ),
    ];
    for (name, value) in rows.into_iter().filter_map(|(n, v)| Some((n, v?))) {
        let _ = writeln!(text, "- {name}: {}", spread(value, 2));
    }
    if let Some(sides) = &ratios.published_over_beside {
        for side in super::Side::BOTH {
            let _ = writeln!(
                text,
                "- step {:02} `POST /` through the published port over the same from beside the app: {}",
                side.step(),
                spread(sides.get(side), 2)
            );
        }
    }
    text
}

/// Step 07's lab: chapter 07 includes it.
fn lab(r: &Report) -> String {
    let mut text = header(r);
    match &r.learner.lab {
        Some(lab) => {
            let _ = writeln!(
                text,
                "- `cargo xtask step 7 up`, images built, to every replica healthy on {} nodes: \
                 {:.0} s.\n- Memory in use by the nodes and the registry together, idle: {:.0} MiB.",
                lab.nodes, lab.up_seconds, lab.memory_mib
            );
        }
        None => text.push_str(
            "This report did not measure the lab: `cargo xtask bench --lab --save` does.\n",
        ),
    }
    text
}

/// What the steps' programs timed of themselves: the chapters of those steps include it.
fn timings(r: &Report) -> String {
    let mut text = header(r);
    if r.timings.is_empty() {
        text.push_str("This report timed no step's program: `cargo xtask bench --save` does.\n");
    }
    for t in &r.timings {
        let _ = writeln!(
            text,
            "- Step {:02}, `{}` in its image as `up` builds it: {}: {} {} (median of {} rounds, \
             lowest to highest).",
            t.step,
            t.command,
            t.what,
            spread(&t.spread, 2),
            t.unit,
            t.rounds
        );
    }
    text
}
