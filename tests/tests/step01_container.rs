//! Step 01 in Docker: `cargo xtask step 1 up` builds the image and runs one container; the
//! answers live in its memory, so replacing the container loses them.

use tests::{http::Remote, xtask::Launched};

/// The form, a submission and the thank-you page, then the answers gone after the container
/// is replaced: why the next steps add a database.
#[tokio::test]
async fn answers_vanish_with_the_container() {
    let launched = Launched::up(1);
    launched.assert_exercises_hold();
    let builder = [(r"BUILDER_IMAGE=\S+", "BUILDER_IMAGE=[builder image]")];
    tests::xtask::snapshot_settings(&launched, &builder).bind(|| {
        insta::assert_snapshot!(launched.up_output);
        insta::assert_snapshot!("up_commands", launched.up_commands);
    });
    let remote = Remote::new(launched.base());
    remote.answer_the_survey().await;
    assert!(
        remote
            .get_text("/thanks?name=Pika")
            .await
            .contains("Thanks, Pika!")
    );
    assert!(remote.get_text("/answers").await.contains("<td>Pika</td>"));

    // No shell in an image that holds one binary; the binary itself can still be asked.
    let app = format!("{}-app", launched.project);
    let (ok, no_shell) = launched.docker(&["exec", &app, "sh"]);
    assert!(!ok, "{no_shell}");
    let (ok, health) = launched.docker(&["exec", &app, "/survey", "healthcheck"]);
    assert!(ok, "{health}");
    insta::assert_snapshot!("no_shell", no_shell.trim());

    launched.run_ok(&["down"]);
    launched.up_again(&[]);
    // A new client: the old one's kept-alive connection went with the old container.
    let after = Remote::new(launched.base()).get_text("/answers").await;
    assert!(
        after.contains("No answers yet."),
        "a new container starts empty:\n{after}"
    );
}

/// Size and user of `image`, as Docker reports them.
fn size_and_user(image: &str) -> (u64, String) {
    let output = tests::commands::docker_unchecked(&[
        "image",
        "inspect",
        "--format",
        "{{.Size}} {{.Config.User}}",
        image,
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{image} is built (cargo xtask test builds it)"
    );
    let (size, user) = text.trim().split_once(' ').expect("size and user");
    (size.parse().expect("a size"), user.to_owned())
}

/// The runtime image holds the static binary and nothing else, run by a user that is not
/// root: under 25 MB as `up` builds it (the quick profile), under 6 MB as it ships
/// (`--release`), as chapter 01 says. The release image is built under a tag of its own.
#[test]
fn app_image_is_small() {
    let (quick, user) = size_and_user("survey/step-01-container");
    assert!(quick < 25_000_000, "the quick image is {quick} bytes");
    assert_eq!(user, "10001:10001");
    let tag = [("SURVEY_TAG", "release-size")];
    let built = tests::xtask::xtask_with_env(&["step", "1", "build", "--release"], &tag);
    let image = "survey/step-01-container:release-size";
    let size = (built.status.success()).then(|| size_and_user(image));
    let _ = tests::commands::docker(&["image", "rm", image], &[]);
    let (release, user) = size.unwrap_or_else(|| {
        panic!(
            "the release build failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        )
    });
    assert!(release < 6_000_000, "the release image is {release} bytes");
    assert_eq!(user, "10001:10001");
}

/// Clear errors: an unknown step, a port that is taken, Docker not running.
#[test]
fn clear_errors() {
    let unknown = tests::xtask::xtask(&["step", "9", "up"]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("there is no step 9; the steps are 1, 2, 3, 4, 5"),
        "{stderr}"
    );
    let mut seen = format!("$ cargo xtask step 9 up\n{}", errors(&stderr));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").port().to_string();
    let busy = tests::xtask::xtask(&[
        "step",
        "1",
        "up",
        "--port",
        &port,
        "--project",
        "survey-test-busy",
    ]);
    assert!(!busy.status.success());
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(
        stderr.contains(&format!("port {port} on 127.0.0.1 is taken")),
        "{stderr}"
    );
    seen.push_str(&format!(
        "\n$ cargo xtask step 1 up\n{}",
        errors(&stderr).replace(&port, "2154")
    ));

    let no_daemon = tests::xtask::xtask_with_env(
        &["step", "3", "ps"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(!no_daemon.status.success());
    let stderr = String::from_utf8_lossy(&no_daemon.stderr);
    assert!(
        stderr.contains("Docker is not running, or you may not use it"),
        "{stderr}"
    );
    seen.push_str(&format!("\n$ cargo xtask step 3 ps\n{}", errors(&stderr)));
    insta::assert_snapshot!("clear_errors", seen);
}

/// The runner's error lines, without anything cargo may say around them.
fn errors(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| line.starts_with("error: "))
        .map(|line| format!("{line}\n"))
        .collect()
}
