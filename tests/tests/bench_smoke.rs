//! `cargo xtask bench` runs end to end (one short run): the book's tables are rendered from
//! the report it keeps (docs/bench/report.json), so it must not rot. No number is asserted,
//! only that each was measured.

use std::time::Duration;

/// A one-second bench completes and writes every figure as JSON: the learner's (up times,
/// the edit loop, idle memory, image sizes) and the throughput, with interleaved ratios and
/// where the cores went, and what the steps' programs time of themselves.
#[test]
fn bench_runs_and_reports_every_figure() {
    let (output, report) = short_bench(&[]);
    let printed = tests::xtask::stdout(&output);
    // POST from beside the app enters a network namespace, which needs root; otherwise the
    // bench says it was not measured.
    let as_root = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    };
    assert!(
        as_root || String::from_utf8_lossy(&output.stderr).contains("is not measured"),
        "the bench says what it skipped"
    );
    assert!(
        printed.contains("step 04 POST / (a committed row per request)")
            && printed.contains("Ratios:"),
        "{printed}"
    );
    for figure in figures(as_root) {
        let value = report.pointer(figure).and_then(serde_json::Value::as_f64);
        assert!(
            value.is_some_and(|v| v > 0.0),
            "{figure} was not measured: {report}"
        );
    }
    assert!(
        report
            .pointer("/machine/measured_on")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|d| d.len() == 10),
        "the report says when: {report}"
    );
}

/// `bench --against REV` builds that commit's steps 04 and 05 from its own files, measures
/// them beside this checkout's, and reports every figure of both with their ratio; the other
/// commit's copies, images and files are gone when it ends.
#[test]
fn against_compares_another_commit_figure_by_figure() {
    let (output, report) = short_bench(&["--against", "HEAD"]);
    let printed = tests::xtask::stdout(&output);
    assert!(printed.contains("this / that"), "{printed}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(tests::xtask::workspace_root())
        .output()
        .expect("git runs");
    let head = String::from_utf8_lossy(&head.stdout);
    assert_eq!(
        report["that"].as_str(),
        Some(&head.trim()[..12]),
        "{report}"
    );
    let figures = report["figures"].as_array().expect("a list of figures");
    let named = |name: &str| figures.iter().any(|f| f["figure"] == name);
    for name in [
        "step 04 POST /",
        "step 05 POST /",
        "step 05 burst, workers held back",
        "step 05 workers draining the burst",
        "step 05 image, as it ships",
    ] {
        assert!(named(name), "{name} is compared: {report}");
    }
    for figure in figures {
        for value in ["/this", "/that", "/ratio/median"] {
            let measured = figure.pointer(value).and_then(serde_json::Value::as_f64);
            assert!(
                measured.is_some_and(|v| v > 0.0 && v.is_finite()),
                "{value} of {figure}"
            );
        }
    }
    let left =
        tests::commands::docker_ok(&["ps", "--all", "--quiet", "--filter", "name=survey-against-"]);
    assert_eq!(left.trim(), "", "the other commit's containers are removed");
    nothing_of_the_other_commit_is_left();

    // A name that is no commit gets a clear answer, before anything is built.
    let output = tests::xtask::xtask(&["bench", "--against", "no-such-commit"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("\"no-such-commit\" is not a commit"),
        "{stderr}"
    );
}

/// Ctrl-C in the middle of `bench --against`, sent to every process of the run as a terminal
/// sends it, stops the run, which takes down what it started on its way out: both commits'
/// copies, the other commit's images and its files.
#[test]
fn an_interrupted_bench_leaves_nothing_behind() {
    use std::os::unix::process::CommandExt;
    let mut command = tests::xtask::command(&[
        "bench",
        "--against",
        "HEAD",
        "--duration",
        "2",
        "--runs",
        "3",
    ]);
    command.process_group(0);
    let mut bench = tests::process::App::spawn(command);
    bench.wait_for_line("run 1 of 3", Duration::from_secs(600));
    let code = bench.stop_group_with("INT", Duration::from_secs(300));
    let said = bench.output();
    assert!(
        code.is_some_and(|c| c != 0) && said.contains("interrupted"),
        "the bench stops, saying why ({code:?}):\n{said}"
    );
    for project in ["survey-against-", "survey-bench-"] {
        let left = tests::commands::docker_ok(&[
            "ps",
            "--all",
            "--quiet",
            "--filter",
            &format!("name={project}"),
        ]);
        assert_eq!(
            left.trim(),
            "",
            "{project}* containers are removed:\n{said}"
        );
    }
    nothing_of_the_other_commit_is_left();
}

/// No image tagged for another commit, and no checkout of it under target/bench/.
fn nothing_of_the_other_commit_is_left() {
    let tags = tests::commands::docker_ok(&["images", "--format", "{{.Tag}}"]);
    assert!(
        !tags.lines().any(|t| t.starts_with("against-")),
        "the other commit's images are removed: {tags}"
    );
    let bench_dir = tests::xtask::workspace_root().join("target/bench");
    let files_left = std::fs::read_dir(&bench_dir)
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("against-"))
        })
        .unwrap_or(false);
    assert!(!files_left, "the other commit's files are removed");
}

/// `cargo xtask bench` for one run of one second, with `args`: its output, once it passed,
/// and the report it wrote as JSON.
fn short_bench(args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("bench.json");
    let json_arg = json.to_str().expect("a UTF-8 path");
    let short = [
        "bench",
        "--duration",
        "1",
        "--runs",
        "1",
        "--json",
        json_arg,
    ];
    let output = tests::xtask::xtask(&[&short[..], args].concat());
    assert!(
        output.status.success(),
        "cargo xtask bench {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
        .expect("valid JSON");
    (output, report)
}

/// Every figure the report must hold, as JSON pointers; the figures measured from beside
/// the app only as root.
fn figures(as_root: bool) -> Vec<&'static str> {
    let mut figures = vec![
        "/learner/edit_to_running_seconds/median",
        "/learner/edits",
        "/learner/ups",
        "/learner/up_seconds/0/value",
        "/learner/up_seconds/5/value",
        "/learner/idle_memory_mib/0/value",
        "/learner/idle_memory_mib/1/value",
        "/learner/image_mb/quick",
        "/learner/image_mb/release",
        "/direct/get/per_second",
        "/direct/post/per_second",
        "/direct/pgbench_socket_per_second",
        "/direct/pgbench_network_per_second",
        "/queue/post/p99_ms",
        "/queue_only/drain_rows_per_second",
        "/queue_only/post_everysec/per_second",
        // The burst taken with the workers held back, and its drain.
        "/queue_only/burst/accepted/per_second",
        "/queue_only/burst/backlog",
        "/queue_only/burst/drain_seconds",
        "/ratios/queue_burst_over_direct_post/median",
        "/ratios/queue_post_over_direct_post/median",
        "/ratios/pgbench_network_over_socket/max",
        "/machine/cores",
        // Where the cores went: the app's share, and all parts per request.
        "/direct/post_cpu/parts/0/1",
        "/queue/post_cpu/parts/0/1",
        "/queue/post_cpu/micros_per_request",
        // What step 06's program times of its own view.
        "/timings/0/spread/median",
    ];
    if as_root {
        figures.extend([
            "/direct/post_beside/per_second",
            "/queue/post_beside/per_second",
            "/ratios/published_over_beside/queue/median",
            "/ratios/direct_beside_over_pgbench_network/median",
            "/ratios/queue_everysec_over_always_beside/median",
        ]);
    }
    figures
}
