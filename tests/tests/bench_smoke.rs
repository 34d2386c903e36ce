//! `cargo xtask bench` runs end to end (one short run): the book includes the table it writes
//! (docs/bench/05-queue.md), so it must not rot. No number is asserted, only that each was measured.

/// A one-second bench of steps 04 and 05 completes and writes every figure as JSON, and the
/// table the book includes as Markdown.
#[test]
fn bench_runs_and_reports_every_figure() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("bench.json");
    let json_arg = json.to_str().expect("a UTF-8 path");
    let markdown = dir.path().join("bench.md");
    let markdown_arg = markdown.to_str().expect("a UTF-8 path");
    let output = tests::xtask::xtask(&[
        "bench",
        "--duration",
        "1",
        "--runs",
        "1",
        "--json",
        json_arg,
        "--markdown",
        markdown_arg,
    ]);
    assert!(
        output.status.success(),
        "cargo xtask bench failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("valid JSON");
    let table = std::fs::read_to_string(&markdown).expect("the Markdown report");
    assert!(
        table.contains("| step 04 `POST /` (a committed row per request) |")
            && table.contains("Ratios within that run:"),
        "{table}"
    );
    for figure in [
        "/direct/get/per_second",
        "/direct/post/per_second",
        "/direct/pgbench_inserts_per_second",
        "/queue/post/p99_ms",
        "/queue/drain_rows_per_second",
        "/ratios/queue_post_over_direct_post",
        "/queue/post_without_fsync_per_entry/per_second",
    ] {
        let value = report.pointer(figure).and_then(serde_json::Value::as_f64);
        assert!(
            value.is_some_and(|v| v > 0.0),
            "{figure} was not measured: {report}"
        );
    }
}
