//! The edit loop: with step 03 running, a learner changes the form's template and runs `up`
//! again. The runner rebuilds the app image, Compose replaces the app container alone (the
//! database and its rows stay), the old image is removed, and undoing the edit serves the
//! old page again, replacing the app alone each time; an unchanged step is left alone before
//! and after; a change to the database's service in the Compose file replaces the database
//! too (the app alone is replaced only while the rest is as the file says), and `down` then
//! removes the anonymous volume the new database container took over. Last,
//! another step's image is built from the undone sources: Docker's
//! cache hands that build the files with the times they had before the edit, older than what
//! the edit compiled, and the build must still compile the template as it is now. The edits
//! are made in a copy of the checkout (with a comment of its own, so that its sources differ
//! from this one's), so that the tests running beside this one build from files nobody
//! edits.

use std::time::Duration;

use tests::{
    http::Remote,
    phase::Phase,
    xtask::{Launched, copy_of_checkout},
};

const TEMPLATE: &str = "steps/survey/templates/form.html";
const HEADING: &str = "Tell us about your cat";

async fn heading_served(launched: &Launched) -> String {
    let page = Remote::new(launched.base()).get_text("/").await;
    let start = page.find("<h1>").expect("the form has a heading") + 4;
    let end = page[start..].find("</h1>").expect("the heading ends") + start;
    page[start..end].to_owned()
}

fn app_image(launched: &Launched) -> String {
    let container = format!("{}-app-1", launched.project);
    let (ok, id) = launched.docker(&["inspect", "--format", "{{.Image}}", &container]);
    assert!(ok, "the app container exists: {id}");
    id.trim().to_owned()
}

/// Removes the app images of the copy at `.0` when the test ends, failed or not.
struct CopyImages(std::path::PathBuf);

impl Drop for CopyImages {
    fn drop(&mut self) {
        for package in ["step-03-compose", "step-02-network"] {
            let image = format!("survey/{package}:{}", tests::xtask::copy_tag(&self.0));
            let _ = tests::commands::docker(&["image", "rm", &image], &[]);
        }
    }
}

/// A copy of the checkout, with a comment of its own so that its sources differ from this
/// one's.
fn marked_copy() -> tempfile::TempDir {
    let copy = copy_of_checkout();
    let lib = copy.path().join("steps/survey/src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).expect("the survey's lib.rs");
    source.push_str("\n// A copy, built beside its original.\n");
    std::fs::write(&lib, source).expect("mark the copy");
    copy
}

/// Removes an image by its ID when the test ends, failed or not.
struct ImageById(String);

impl Drop for ImageById {
    fn drop(&mut self) {
        let _ = tests::commands::docker(&["image", "rm", self.0.trim()], &[]);
    }
}

/// The program in `image`, as bytes.
fn binary_of(image: &str) -> Vec<u8> {
    let created = tests::commands::docker(&["create", image], &[]);
    assert!(created.status.success(), "docker create {image}");
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let to = dir.path().join("survey");
    let copied = tests::commands::docker(
        &["cp", &format!("{id}:/survey"), to.to_str().expect("UTF-8")],
        &[],
    );
    let _ = tests::commands::docker(&["rm", &id], &[]);
    assert!(copied.status.success(), "docker cp from {image}");
    std::fs::read(&to).expect("the program")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// `up` on the running step, which must succeed: what it printed, and what it logged.
fn up_again(launched: &Launched) -> (String, String) {
    let output = launched.run_up(&[]);
    let (out, said) = (
        tests::xtask::stdout(&output),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(output.status.success(), "{out}\n{said}");
    (out, said)
}

/// `up` after an edit of the app's code: it says so, and replaces the app alone.
fn app_alone_replaced(launched: &Launched) {
    let (out, said) = up_again(launched);
    assert!(
        out.contains("is running: bringing it up to date")
            && out.contains("`--no-deps` names app alone"),
        "up says what it does:\n{out}"
    );
    assert!(
        said.contains(&format!("Container {}-app-1  Recreated", launched.project))
            && !said.contains(&format!("Container {}-db-1  Recreate", launched.project)),
        "only the app is replaced:\n{said}"
    );
}

/// `up` again on a running step 03 replaces only what changed: nothing when nothing did, the
/// app alone for an edit of its sources (served at once, its old image removed, the rows
/// kept), every service for a change to another service's settings; `down` removes even the
/// database's volumes of earlier containers; another step built later carries the sources as
/// they are now.
#[tokio::test(flavor = "multi_thread")]
async fn up_again_serves_an_edit_and_keeps_the_rest() {
    let copy = marked_copy();
    let _images = CopyImages(copy.path().to_owned());
    let template = copy.path().join(TEMPLATE);
    let original = std::fs::read_to_string(&template).expect("the template");
    assert!(
        original.contains(HEADING),
        "the form's heading is {HEADING:?}"
    );
    let launched = Launched::up_in(copy.path(), 3, &[]);
    assert_eq!(heading_served(&launched).await, HEADING);
    let stored = Remote::new(launched.base()).post_pika().await;
    assert_eq!(stored.as_u16(), 303, "an answer before the edit");
    let edited = "Tell us all about your cat";
    serves_an_edit_and_its_undoing(&launched, &template, &original, edited).await;
    replaces_the_database_for_its_own_change(&launched, copy.path());
    down_removes_every_volume(&launched);
    {
        let _phase = Phase::named("another step built later carries the sources as they are");
        let built = tests::xtask::xtask_in(copy.path(), &["step", "2", "build"], &[]);
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let program = binary_of(&format!(
            "survey/step-02-network:{}",
            tests::xtask::copy_tag(copy.path())
        ));
        assert!(
            contains(&program, HEADING) && !contains(&program, edited),
            "step 02's image carries the template as it is now, not as it was edited"
        );
    }
}

/// By hand, `docker compose watch` gives the same loop: with step 03 up, a save of the form's
/// template is built again (quick, as `up` builds) and served by a new app container, while
/// the database's container runs on untouched; stopping the watch leaves the step running.
#[test]
fn compose_watch_serves_a_save_and_leaves_the_database() {
    let copy = marked_copy();
    let _images = CopyImages(copy.path().to_owned());
    let template = copy.path().join(TEMPLATE);
    let original = std::fs::read_to_string(&template).expect("the template");
    let launched = Launched::up_in(copy.path(), 3, &[]);
    let db = format!("{}-db-1", launched.project);
    let db_before = tests::commands::docker_ok(&["inspect", "--format", "{{.Id}}", &db]);
    let app = format!("{}-app-1", launched.project);
    // Compose 2.26 leaves the image a rebuild replaced: it goes when the test ends.
    let _replaced = ImageById(tests::commands::docker_ok(&[
        "inspect",
        "--format",
        "{{.Image}}",
        &app,
    ]));
    let file = "compose/03-compose.yaml";
    tests::commands::record(&[
        "SURVEY_PROFILE=quick",
        "docker",
        "compose",
        "-f",
        file,
        "watch",
        "--no-up",
    ]);
    let mut watch = std::process::Command::new("docker");
    watch
        .args([
            "compose",
            "-f",
            file,
            "-p",
            &launched.project,
            "watch",
            "--no-up",
        ])
        .env("SURVEY_PROFILE", "quick")
        .env("SURVEY_TAG", tests::xtask::copy_tag(copy.path()))
        .env("SURVEY_PORT", "0")
        .current_dir(copy.path());
    let mut watch = tests::process::App::spawn(watch);
    watch.wait_for_line("Watch enabled", Duration::from_secs(60));
    let edited = "Tell us, watched, about your cat";
    std::fs::write(&template, original.replace(HEADING, edited)).expect("edit the template");
    tests::wait::until("the saved page served", Duration::from_secs(180), || {
        // The new container is published on a port Docker picks anew.
        let running = tests::commands::docker_unchecked(&["port", &app, "5000/tcp"]);
        let published = String::from_utf8_lossy(&running.stdout).into_owned();
        let page = published
            .trim()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .map(page_on)
            .unwrap_or_default();
        if page.contains(edited) {
            Ok(())
        } else {
            Err(format!("watch said:\n{}", watch.output()))
        }
    });
    let db_after = tests::commands::docker_ok(&["inspect", "--format", "{{.Id}}", &db]);
    assert_eq!(db_before, db_after, "the database's container runs on");
    watch.stop_with("INT", Duration::from_secs(30));
    let running = tests::commands::docker_ok(&["inspect", "--format", "{{.State.Running}}", &app]);
    assert_eq!(
        running.trim(),
        "true",
        "Ctrl-C stops the watch, not the step"
    );
}

/// `GET /` on 127.0.0.1:`port`, as text; empty while nothing answers there.
fn page_on(port: u16) -> String {
    use std::io::{Read, Write};
    let mut reply = String::new();
    if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if stream.write_all(request).is_ok() {
            let _ = stream.read_to_string(&mut reply);
        }
    }
    reply
}

/// Nothing changed: nothing is replaced. One word changed: the app alone is replaced, and its
/// old image goes; the rows stay. The edit undone: the old page again, though Docker's cache
/// gives back old file times; and nothing is replaced the time after.
async fn serves_an_edit_and_its_undoing(
    launched: &Launched,
    template: &std::path::Path,
    original: &str,
    edited: &str,
) {
    let _phase = Phase::named("an edit replaces the app alone, served at once, rows kept");
    let before = app_image(launched);
    let (_, said) = up_again(launched);
    assert!(
        !said.contains("Recreate"),
        "an unchanged step is left alone:\n{said}"
    );
    assert_eq!(app_image(launched), before);
    std::fs::write(template, original.replace(HEADING, edited)).expect("edit the template");
    app_alone_replaced(launched);
    assert_eq!(heading_served(launched).await, edited);
    let count = launched.psql("select count(*) from cats where name = 'Pika'");
    assert_eq!(
        count.lines().nth(2).map(str::trim),
        Some("1"),
        "the database and its rows stay:\n{count}"
    );
    let (kept, _) = launched.docker(&["image", "inspect", &before]);
    assert!(!kept, "the image the edit replaced is removed");
    std::fs::write(template, original).expect("undo the edit");
    app_alone_replaced(launched);
    assert_eq!(heading_served(launched).await, HEADING);
    let (_, said) = up_again(launched);
    assert!(
        !said.contains("Recreate"),
        "an app replaced alone is left alone next time:\n{said}"
    );
}

/// The database's configuration changed: Compose is asked about every service, and replaces
/// the database too.
fn replaces_the_database_for_its_own_change(launched: &Launched, copy: &std::path::Path) {
    let _phase = Phase::named("a change to the database's settings replaces it too");
    let file = copy.join("compose/03-compose.yaml");
    let compose = std::fs::read_to_string(&file).expect("the Compose file");
    let limit = "mem_limit: 512m";
    assert_eq!(compose.matches(limit).count(), 1, "the db's memory limit");
    std::fs::write(&file, compose.replace(limit, "mem_limit: 500m")).expect("edit the file");
    let (out, said) = up_again(launched);
    assert!(
        !out.contains("`--no-deps` names")
            && said.contains(&format!("Container {}-db-1  Recreated", launched.project)),
        "a change to the database's service replaces it:\n{out}\n{said}"
    );
}

/// The new database container mounts its predecessor's anonymous volume by name, which
/// Docker does not remove with the container: `down` removes it all the same.
fn down_removes_every_volume(launched: &Launched) {
    let _phase = Phase::named("down removes the volumes of earlier database containers too");
    let db = format!("{}-db-1", launched.project);
    let format = "{{range .Mounts}}{{if eq .Destination \"/var/lib/postgresql/data\"}}{{.Name}}{{end}}{{end}}";
    let (ok, volume) = launched.docker(&["inspect", "--format", format, &db]);
    let volume = volume.trim().to_owned();
    assert!(ok && !volume.is_empty(), "the database's data volume");
    let down = launched.run(&["down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let (kept, _) = launched.docker(&["volume", "inspect", &volume]);
    assert!(
        !kept,
        "down leaves the database's anonymous volume {volume} behind"
    );
}
