//! Step 07: a lab of three Docker-in-Docker nodes in one swarm, with a registry, and step
//! 06's stack spread over it, and the swarm view. One test, since the lab takes a while to
//! build: it looks at the nodes and where the tasks run, then, under continuous load, drains a
//! node, rolls out a new version and kills a node, counting every request and looking every
//! thanked answer up in Postgres; a browser watches each of these on the swarm view, and
//! Prometheus counts the answers taken all along. The manager stopped, the page open in the
//! browser says so; after `up`, it shows it all again.

use std::collections::HashSet;

use std::time::Duration;

use tests::{
    load::{Load, stop_and_tally},
    phase::Phase,
    prometheus::{Drawn, Prometheus, TAKEN, assert_never_stopped, now, taken as taken_line},
    swarm_view::{Shown, SwarmView},
    xtask::{Launched, redacted_tables},
};

/// How long the view may take to show a change the swarm has made: it looks every half
/// second, a task takes a few seconds to start.
const VIEW_PATIENCE: Duration = Duration::from_secs(60);

/// The nodes of `ps`'s `docker stack ps` lines for `service` (the NODE column).
fn nodes_of(ps: &str, service: &str) -> HashSet<String> {
    ps.lines()
        .filter(|line| line.contains(&format!("_{service}.")))
        .filter_map(|line| {
            line.split_whitespace()
                .find(|word| word.starts_with("node"))
                .map(str::to_owned)
        })
        .collect()
}

/// Nothing leaves the lab's network but the survey's port on node1 and the registry's (which
/// this machine pushes to), both on 127.0.0.1 only.
fn assert_only_the_survey_and_registry_published(launched: &Launched) {
    let network = format!("{}-lab", launched.project);
    let format = "{{range .Containers}}{{.Name}} {{end}}";
    let names = tests::commands::docker_ok(&["network", "inspect", "--format", format, &network]);
    let mut published = Vec::new();
    for name in names.split_whitespace() {
        let ports = tests::commands::docker_ok(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Ports}}",
            name,
        ]);
        let ports: serde_json::Value = serde_json::from_str(&ports).expect("ports as JSON");
        for (port, bindings) in ports.as_object().into_iter().flatten() {
            for binding in bindings.as_array().into_iter().flatten() {
                published.push((
                    name.to_owned(),
                    port.clone(),
                    binding["HostIp"].as_str().unwrap_or_default().to_owned(),
                    binding["HostPort"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    let survey = launched.port().to_string();
    let registry = published
        .iter()
        .filter(|(name, port, ip, _)| {
            name.ends_with("-registry") && port == "5000/tcp" && ip == "127.0.0.1"
        })
        .count();
    let node1 = published
        .iter()
        .filter(|(name, _, ip, host_port)| {
            name.ends_with("-node1") && ip == "127.0.0.1" && *host_port == survey
        })
        .count();
    assert!(
        registry == 1 && node1 == 1 && published.len() == 2,
        "published from the lab's network: {published:?}"
    );
}

/// Three nodes Ready; app and worker tasks on at least two of them; a form through
/// 127.0.0.1 lands in Postgres; under load, draining a node and a rolling update across the
/// nodes fail no request and lose nothing; killing a node is healed on the others with every
/// thanked answer stored once; after a plain `down` and `up`, the lab has every answer and
/// three nodes again. Each phase below is one of these behaviours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lab_drains_and_loses_a_node_without_losing_anything() {
    let launched = Launched::up_official(7, &["--observe"]);
    spreads_over_three_private_nodes(&launched);
    let view = shows_the_nodes_and_their_tasks(&launched).await;
    launched.assert_exercises_hold();
    answers_and_says_which_node(&launched).await;
    {
        let _phase = Phase::named("Prometheus finds and scrapes the tasks on every node");
        tests::prometheus::assert_counts_every_task(&launched, 3, 3).await;
    }
    refuses_to_drain_the_data_node(&launched);
    let load = Load::start(launched.base(), "drain");
    load.until_thanked(40).await;
    drains_and_updates_without_a_failed_request(&launched, &load, &view).await;
    loses_a_node_and_heals(&launched, &load, &view).await;
    {
        let _phase = Phase::named("every thanked answer is stored once");
        // It fails naming any thanked answer missing from Postgres or stored twice.
        stop_and_tally(
            load,
            &launched,
            "^(drain|update|lost)-",
            100,
            &Default::default(),
        )
        .await;
    }
    rides_out_a_manager_restart(&launched, &view).await;
    view.close().await;
    down_and_up_keep_the_answers_and_the_nodes(&launched).await;
}

/// Three nodes Ready, none of whose engines listens on TCP, the survey private to this
/// machine, and the app's and the workers' tasks on two nodes or more.
fn spreads_over_three_private_nodes(launched: &Launched) {
    let _phase = Phase::named("three private nodes Ready, the tasks spread over them");
    let ps = launched.run_ok(&["ps"]);
    let node_ls: String = ps.lines().take(4).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!("nodes", redacted_tables(launched, &node_ls, &[]));
    assert_eq!(ps.matches(" Ready ").count(), 3, "three nodes Ready:\n{ps}");
    // No node's engine listens on TCP (2375 without TLS, 2376 with): a task on the lab's
    // network cannot drive one. From another machine, the survey does not answer.
    for n in 1..=3 {
        let node = format!("{}-node{n}", launched.project);
        let ports = tests::inside::listening_tcp_ports(&["docker"], &node);
        assert!(
            !ports.contains(&2375) && !ports.contains(&2376),
            "{node}'s engine listens on TCP: {ports:?}"
        );
    }
    if let Some(outside) = tests::outside::Outside::new_as_root() {
        assert!(
            !outside.answers(launched.port()),
            "the survey answers from another machine"
        );
    }
    assert_only_the_survey_and_registry_published(launched);
    for service in ["app", "worker"] {
        let nodes = nodes_of(&ps, service);
        assert!(nodes.len() >= 2, "{service} tasks run on {nodes:?}:\n{ps}");
    }
}

/// The swarm view, opened once in a browser: three ready nodes, and the app's tasks on two
/// of them or more, the data's on node1. The book's picture is taken here.
async fn shows_the_nodes_and_their_tasks(launched: &Launched) -> SwarmView {
    let _phase = Phase::named("the swarm view shows three nodes and the tasks spread over them");
    let view = SwarmView::open(launched).await;
    view.until("three nodes, the tasks spread", VIEW_PATIENCE, |shown| {
        let ready = shown.nodes.iter().filter(|n| n.state == "ready").count();
        let with_app = shown.nodes.iter().filter(|n| n.runs("app") > 0).count();
        let data = shown.node("node1").is_some_and(|n| n.runs("db") == 1);
        match (
            ready,
            with_app,
            data,
            shown.runs("app"),
            shown.runs("worker"),
        ) {
            (3, 2.., true, 3, 3) => Ok(()),
            seen => Err(format!(
                "(ready, nodes with app, db on node1, app, worker) = {seen:?}"
            )),
        }
    })
    .await;
    view.screenshot("swarm-view").await;
    view
}

/// The node as the view shows it, which must be there.
fn shown_node<'a>(
    shown: &'a Shown,
    name: &str,
) -> Result<&'a tests::swarm_view::ShownNode, String> {
    shown
        .node(name)
        .ok_or_else(|| format!("no {name} on the page"))
}

/// A form sent twice is one row, and the page names the node that answered.
async fn answers_and_says_which_node(launched: &Launched) {
    let _phase = Phase::named("a form lands once, and the page says which node answered");
    launched.assert_resend_kept_once().await;
    let page = tests::http::Remote::new(launched.base())
        .get_text("/")
        .await;
    assert!(
        page.contains(" on node"),
        "the page says which node answered: {page}"
    );
}

/// The node holding the data and the published port is not drained unless forced.
fn refuses_to_drain_the_data_node(launched: &Launched) {
    let _phase = Phase::named("draining node1, which holds the data, is refused with the reason");
    let refused = launched.run(&["drain", "node1"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && said.contains("node1 holds the data")
            && said.contains("--force"),
        "draining node1 is refused with the reason: {said}"
    );
}

/// node2 drained (its tasks move away) and activated again, then a rolling update across the
/// nodes through the registry: no request fails (the count returned, for the book, is that
/// none did).
async fn drains_and_updates_without_a_failed_request(
    launched: &Launched,
    load: &Load,
    view: &SwarmView,
) {
    let _phase = Phase::named("a drain and a rolling update across the nodes fail no request");
    let drained = launched.run_ok(&["drain", "node2"]);
    assert!(drained.contains("Drain"), "{drained}");
    let after = launched.run_ok(&["ps"]);
    assert!(
        !nodes_of(&after, "app").contains("node2") && !nodes_of(&after, "worker").contains("node2"),
        "nothing runs on the drained node:\n{after}"
    );
    view.until("node2 drained and empty", VIEW_PATIENCE, |shown| {
        let node2 = shown_node(shown, "node2")?;
        match (
            node2.availability.as_str(),
            &node2.tasks[..],
            shown.runs("app"),
        ) {
            ("drain", [], 3) => Ok(()),
            seen => Err(format!("node2 (availability, tasks), app tasks: {seen:?}")),
        }
    })
    .await;
    launched.run_ok(&["activate", "node2"]);
    view.until(
        "node2 active again",
        VIEW_PATIENCE,
        |shown| match shown_node(shown, "node2")?.availability.as_str() {
            "active" => Ok(()),
            other => Err(format!("node2 is {other}")),
        },
    )
    .await;
    load.phase("update");
    launched.assert_updates_to(2).await;
    let failed = load.failed();
    assert!(
        failed.is_empty(),
        "failed while draining or updating: {failed:?}"
    );
}

/// A node the lab lacks is named as such; node3 killed is marked Down, on the view too, its
/// tasks start on the other nodes, and the load goes on.
async fn loses_a_node_and_heals(launched: &Launched, load: &Load, view: &SwarmView) {
    let _phase = Phase::named("a killed node is marked Down and the survey goes on answering");
    load.phase("lost");
    let missing = launched.run(&["kill-node", "node4"]);
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && said.contains("its nodes are node1, node2, node3"),
        "a node the lab lacks is named as such: {said}"
    );
    let lost = (now(), "node3 killed");
    let killed = launched.run_ok(&["kill-node", "node3"]);
    assert!(killed.contains("Down"), "{killed}");
    view.until(
        "node3 down, its tasks started elsewhere",
        VIEW_PATIENCE,
        |shown| {
            let node3 = shown_node(shown, "node3")?;
            match (node3.state.as_str(), &node3.tasks[..], shown.runs("app")) {
                ("down", [], 3) => Ok(()),
                seen => Err(format!("node3 (state, tasks), app tasks: {seen:?}")),
            }
        },
    )
    .await;
    let healed = (now(), "its tasks elsewhere");
    load.until_thanked(40).await;
    as_prometheus_saw_it(launched, [lost, healed]).await;
}

/// What Prometheus saw of the lost node, checked and drawn for the book: answers taken
/// every 2 s all along, as the app's tasks on node3 went and new ones started elsewhere.
async fn as_prometheus_saw_it(launched: &Launched, moments: [(f64, &str); 2]) {
    let prometheus = Prometheus::at(format!("{}/prometheus", launched.base()));
    // Some time after, for the graph, and a scrape to show it.
    let around = (moments[0].0 - 20.0, moments[1].0 + 15.0);
    tokio::time::sleep(Duration::from_secs_f64((around.1 + 3.0 - now()).max(0.0))).await;
    let taken = prometheus.every_2s(TAKEN, around).await;
    assert_never_stopped(
        &taken,
        (moments[0].0, moments[1].0),
        "answers taken, node lost",
    );
    let drawn = Drawn {
        file: "lab-node-lost.svg",
        title: "A node of three lost, under load",
        unit: "answers per second",
        window: around,
        marks: &moments,
    };
    drawn.beside_stored(&prometheus, taken_line(taken)).await;
}

/// The manager stopped (its engine, with the proxy, the filter and the data), as when this
/// machine restarts: the page open in the browser says it lost the view and keeps what it saw
/// last. `up` then starts the lab's stopped nodes, node3 too, which was killed; never
/// reloaded, the page shows every node ready and every task running again.
async fn rides_out_a_manager_restart(launched: &Launched, view: &SwarmView) {
    let _phase =
        Phase::named("the manager stops: the open page says so; up, and it sees it all again");
    let before = view.shown().await;
    tests::commands::docker_ok(&["stop", &format!("{}-node1", launched.project)]);
    view.until(
        "word that the view is away",
        VIEW_PATIENCE,
        |shown| match shown.text.contains("the view does not answer") {
            true if shown.nodes.len() == before.nodes.len() => Ok(()),
            true => Err("the last picture changed".into()),
            false => Err("no word of the view gone".into()),
        },
    )
    .await;
    let up = launched.up_again(&["--observe"]);
    let p = &launched.project;
    assert!(
        up.contains(&format!(
            "The lab's {p}-node1, {p}-node3 stopped: starting them again."
        )),
        "up names the nodes it starts: {up}"
    );
    view.until("every node and task again", VIEW_PATIENCE, |shown| {
        let ready = shown.nodes.iter().filter(|n| n.state == "ready").count();
        let seen = (ready, shown.runs("app"), shown.runs("worker"));
        match seen {
            _ if shown.text.contains("does not answer") || shown.text.contains("annot read") => {
                Err("still blind".into())
            }
            (3, 3, 3) => Ok(()),
            seen => Err(format!("(ready nodes, app, worker): {seen:?}")),
        }
    })
    .await;
}

/// Down tonight, up tomorrow: the nodes keep their swarm in their volumes, and node1 takes it
/// up again on the lab's new network, with the answers.
async fn down_and_up_keep_the_answers_and_the_nodes(launched: &Launched) {
    let _phase = Phase::named("a plain down and up keep every answer and three Ready nodes");
    let down = launched.assert_down_up_keeps_answers().await;
    assert!(down.contains("volumes are kept"), "{down}");
    let ps = launched.run_ok(&["ps"]);
    assert_eq!(
        ps.matches(" Ready ").count(),
        3,
        "three nodes Ready again:\n{ps}"
    );
    assert_eq!(
        ps.matches(" Down ").count(),
        0,
        "no node left behind:\n{ps}"
    );
}

/// The size of the lab is checked before anything starts, and only step 7 has one; the swarm
/// view is refused on a swarm published on every interface, before anything starts too.
#[test]
fn options_out_of_place_are_refused_before_anything_starts() {
    for (args, expected) in [
        (
            &[
                "step",
                "7",
                "up",
                "--nodes",
                "1",
                "--project",
                "survey-test-one-node",
            ][..],
            "step 7's lab has 2 to 9 nodes",
        ),
        (
            &[
                "step",
                "3",
                "up",
                "--nodes",
                "2",
                "--project",
                "survey-test-no-lab",
            ][..],
            "step 3 runs on this machine's engine alone; step 7 runs a lab of nodes",
        ),
        (
            &[
                "step",
                "6",
                "up",
                "--observe",
                "--public",
                "--project",
                "survey-test-public-view",
            ][..],
            "so it runs on a swarm that publishes on 127.0.0.1 only",
        ),
    ] {
        let output = tests::xtask::xtask(args);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && said.contains(expected),
            "{args:?}: {said}"
        );
    }
}
