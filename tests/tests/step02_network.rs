//! Step 02 in Docker: a network and two containers wired by hand; the app starts first and
//! waits for its database.

use axum::http::StatusCode;
use tests::{http::Remote, psql::ids_hidden, xtask::Launched};

/// A posted form is a row in `select * from cats`, seen through psql in the db container.
#[tokio::test]
async fn form_lands_in_postgres() {
    let launched = Launched::up(2);
    // The commands a learner would type by hand; the image names depend on the mode.
    let images = [
        (r"\S*postgres:\d+", "[postgres image]"),
        (r"BUILDER_IMAGE=\S+", "BUILDER_IMAGE=[builder image]"),
    ];
    tests::xtask::snapshot_settings(&launched, &images)
        .bind(|| insta::assert_snapshot!("commands", launched.up_commands));
    let remote = Remote::new(launched.base());
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);
    insta::assert_snapshot!("table", ids_hidden(&launched.psql("select * from cats")));
    launched.assert_wide_answer_kept().await;
    launched.assert_resend_kept_once().await;
    launched.assert_reused_key_not_dropped().await;
    let logs = launched.run_ok(&["logs"]);
    assert!(
        logs.contains("connected to Postgres at db:5432/survey"),
        "{logs}"
    );
}

/// `steps/02-network/by-hand.sh`, run as a learner would instead of `up`, under a project and
/// a port of the test's own: the app answers, the answer lands in Postgres, `step 2` commands
/// work on what it made, and the chapter's exercises hold on it.
#[tokio::test]
async fn the_script_wires_what_up_wires() {
    let script = Script::run();
    let app = format!("{}-app", script.project);
    tests::wait::until(
        "the app healthy",
        std::time::Duration::from_secs(120),
        || {
            let health = tests::commands::docker_unchecked(&[
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                &app,
            ]);
            match tests::commands::printed(&health).trim() {
                "healthy" => Ok(()),
                other => Err(other.to_owned()),
            }
        },
    );
    let port = tests::commands::published_port(&app, 5000);
    let remote = Remote::new(format!("http://127.0.0.1:{port}"));
    assert_eq!(remote.post_pika().await, StatusCode::SEE_OTHER);
    let rows = script.xtask(&["step", "2", "psql", "-c", "select count(*) from cats"]);
    assert!(rows.contains("\n     1\n"), "{rows}");
    script.xtask(&["exercise", "verify", "--step", "2"]);
}

/// The script's copy of step 02, taken down by `cargo xtask step 2 down` when the test ends.
struct Script {
    project: String,
}

impl Script {
    fn run() -> Self {
        let script = Self {
            project: format!("survey-test-script-{}", std::process::id()),
        };
        tests::commands::record(&["sh", "steps/02-network/by-hand.sh"]);
        let output = std::process::Command::new("sh")
            .arg("steps/02-network/by-hand.sh")
            .env("PROJECT", &script.project)
            .env("PORT", "0")
            .current_dir(tests::xtask::workspace_root())
            .output()
            .expect("sh runs");
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        script
    }

    /// `cargo xtask ARGS --project P`, which must succeed; returns stdout.
    fn xtask(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--project", &self.project]);
        let output = tests::xtask::xtask(&all);
        let said = tests::xtask::stdout(&output);
        assert!(
            output.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        said
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = tests::xtask::xtask(&["step", "2", "down", "--project", &self.project]);
    }
}
