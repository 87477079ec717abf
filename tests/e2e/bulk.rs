//! `certificate renew` and `files-sync`: preview, confirmation, dry run,
//! results, follow-ups, reports, exit codes.

use nxlog_emulator::Fault;
use serde_json::Value;

use crate::support::{NOW, RO_TOKEN, RW_TOKEN, Server, decoded_filter, read_json, redact_url, run};

/// Agents whose certificate expired before the fixed clock.
const EXPIRED: &str = "(certificate/not-after lt \"2026-01-15T12:00:00Z\")";

fn renew(server: &Server, args: &[&str]) -> crate::support::Output {
    run(server.cmd().args(["certificate", "renew"]).args(args))
}

#[test]
fn dry_run_sends_nothing_and_shows_the_exact_request() {
    let server = Server::demo(30, 7);
    let before = server.agents();
    let out = renew(&server, &["--filter", EXPIRED, "--dry-run", "--now", NOW]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.posts().is_empty(), "a dry run sends no command");
    assert_eq!(server.agents(), before, "a dry run changes nothing");
    assert!(out.stdout.contains("--header 'Authorization: Bearer ***'"), "{}", out.stdout);
    assert!(!out.stdout.contains(RW_TOKEN));
    insta::assert_snapshot!("dry_run", redact_url(&out.stdout, &server));

    // The request shown is the request a real run sends.
    let shown = out.stdout.lines().find(|l| l.trim_start().starts_with("curl ")).unwrap();
    renew(&server, &["--filter", EXPIRED, "--yes"]);
    let post = &server.posts()[0];
    let url = format!("{}{}?{}", server.url(), post.path, post.query.as_deref().unwrap());
    assert!(shown.contains(&format!("--url '{url}'")), "{shown}\n{url}");
}

#[test]
fn without_a_terminal_and_without_yes_nothing_is_sent() {
    let server = Server::demo(30, 7);
    let out = renew(&server, &["--filter", EXPIRED]);
    assert_eq!(out.code, 2);
    assert!(server.posts().is_empty());
    insta::assert_snapshot!("refused_without_terminal", out.stderr);

    let out = run(server.cmd().args(["files-sync", "--all"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("refusing to files-sync 30 agents without confirmation"));
    assert!(server.posts().is_empty());
}

#[test]
fn offline_agents_are_reported_with_one_follow_up_command() {
    let server = Server::demo(40, 7);
    let offline = server.ids_where(|a| a["online"] == false);
    assert!(offline.len() >= 2, "the test fleet has offline agents");

    let out = renew(&server, &["--all", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let follow_up = format!("nxagents files-sync --id {}", offline.join(" --id "));
    assert!(out.stdout.contains(&format!("  {follow_up}\n")), "{}", out.stdout);
    for id in &offline {
        let line = out.stdout.lines().find(|l| l.contains(id.as_str())).expect("a line per agent");
        assert!(line.starts_with("offline"), "{line}");
    }
    let renewed = out.stdout.lines().filter(|l| l.starts_with("renewed")).count();
    assert_eq!(renewed + offline.len(), 40);
    assert!(
        out.stdout.contains(&format!("{renewed} renewed, {} offline, 0 failed", offline.len()))
    );

    // The follow-up itself: once back online, the agents are synced.
    for id in &offline {
        server_set_online(&server, id);
    }
    let state = |id: &str| {
        let out = run(server
            .cmd()
            .args(["agents", "list", "-o", "jsonl", "--filter"])
            .arg(format!("id={id}")));
        let agent: Value = serde_json::from_str(out.stdout.trim()).expect("one agent");
        agent["status"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(state(&offline[0]), "warning", "back online, waiting for files-sync");
    let table = run(server.cmd().args(["agents", "list"]));
    let line = table.stdout.lines().find(|l| l.contains(offline[0].as_str())).unwrap();
    assert!(line.contains(" warning "), "{line}");
    let args: Vec<&str> = follow_up.split(' ').skip(1).collect();
    let out = run(server.cmd().args(&args).arg("--yes"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().filter(|l| l.starts_with("synced")).count(), offline.len());
    // One request per agent, after the one renew request.
    let posts = server.posts();
    let mut paths: Vec<&str> = posts[1..].iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    let mut expected: Vec<String> =
        offline.iter().map(|id| format!("/api/demo/api/v1/agents/{id}/files-sync")).collect();
    expected.sort_unstable();
    assert_eq!(paths, expected);
    assert_eq!(state(&offline[0]), "online");
}

fn server_set_online(server: &Server, id: &str) {
    let id: uuid::Uuid = id.parse().unwrap();
    assert!(server.set_online(id, true));
}

#[test]
fn report_is_written_when_the_server_fails_midway() {
    let server = Server::demo(30, 7);
    server.inject(Fault::status(500).method("POST"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = renew(&server, &["--filter", EXPIRED, "--yes", "--report", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = read_json(&path);
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["exit_code"], 1);
    assert!(report["matched"].as_u64().unwrap() > 0);
    assert!(report["agents"].as_array().unwrap().iter().all(|a| a["result"] == "pending"));
    assert!(report["error"]["message"].as_str().unwrap().contains("500"), "{report}");

    // A dropped connection is reported the same way.
    let server = Server::demo(30, 7);
    server.inject(Fault::drop_connection().method("POST"));
    let out = renew(&server, &["--all", "--yes", "--report", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(read_json(&path)["outcome"], "failed");
}

#[test]
fn report_is_written_for_usage_errors_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let server = Server::demo(3, 7);
    let out = renew(&server, &["--filter", "(hostname=", "--report", path.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    let report = read_json(&path);
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["error"]["kind"], "invalid-filter");
    assert!(server.requests().is_empty());
}

#[test]
fn failed_agents_exit_3_with_the_server_message() {
    let server = Server::demo(5, 7);
    let ids = server.ids_where(|_| true);
    let body = serde_json::json!([
        {"id": ids[0], "status": "success"},
        {"id": ids[1], "status": "error", "error": "{\"message\":\"certificate authority unavailable\",\"help\":\"retry later\"}"},
        {"id": ids[2], "status": "success"},
        {"id": ids[3], "status": "success"},
        {"id": ids[4], "status": "success"},
        // An agent the listing did not show (it matched in between).
        {"id": "00000000-0000-4000-8000-000000000001", "status": "success"},
    ]);
    server.inject(Fault::status(200).method("POST").body(body.to_string()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = renew(&server, &["--all", "--yes", "--report", path.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let line = out.stdout.lines().find(|l| l.starts_with("failed")).expect("a failed line");
    assert!(line.contains(&ids[1]), "{line}");
    assert!(line.contains("certificate authority unavailable"), "{line}");
    let report = read_json(&path);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["renewed"], 5);
    assert_eq!(report["agents"].as_array().unwrap().len(), 6);
    assert_eq!(report["exit_code"], 3);
}

#[test]
fn read_only_token_exits_4() {
    let server = Server::demo(5, 7);
    let out = run(server.cmd().env("NXLOG_TOKEN", RO_TOKEN).args([
        "certificate",
        "renew",
        "--all",
        "--yes",
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("403"), "{}", out.stderr);
}

#[test]
fn nothing_matched_sends_no_command() {
    let server = Server::demo(5, 7);
    let out = renew(&server, &["--filter", "(hostname=nope)", "--yes"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("no agent matches"), "{}", out.stdout);
    let out = renew(&server, &["--filter", "(hostname=nope)", "--yes", "--fail-on-empty"]);
    assert_eq!(out.code, 5);
    assert!(server.posts().is_empty());
}

#[test]
fn empty_filter_is_refused_before_any_request() {
    let server = Server::demo(5, 7);
    for filter in ["", "   "] {
        let out = renew(&server, &["--filter", filter, "--yes"]);
        assert_eq!(out.code, 2, "{filter:?}");
        assert_eq!(out.stderr.trim_end(), "error: filter must not be empty");
    }
    assert!(server.requests().is_empty());
}

#[test]
fn expiry_options_and_the_effective_filter() {
    let server = Server::demo(30, 7);
    let cases = [
        (vec!["--all", "--expired"], "(certificate/not-after lt \"2026-01-15T12:00:00Z\")"),
        (
            vec!["--all", "--expiring-within", "2w"],
            "(certificate/not-after lt \"2026-01-29T12:00:00Z\")",
        ),
        (
            vec!["--filter", "(hostname=PC1) or (hostname=PC2)", "--expiring-within", "30d"],
            "((hostname = \"PC1\" or hostname = \"PC2\") and certificate/not-after lt \"2026-02-14T12:00:00Z\")",
        ),
    ];
    for (args, filter) in cases {
        let out = renew(&server, &[&args[..], &["--dry-run", "--now", NOW]].concat());
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.starts_with(&format!("filter: {filter}\n")), "{args:?}: {}", out.stdout);
        let list = server.requests().pop().unwrap();
        assert_eq!(decoded_filter(&list).as_deref(), Some(filter), "{args:?}");
    }
    let out = renew(&server, &["--all", "--expiring-within", "soon"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid duration `soon`"), "{}", out.stderr);
}

/// The path `command` is sent to for one agent.
fn id_path(id: &str, command: &str) -> String {
    format!("/api/demo/api/v1/agents/{id}/{command}")
}

/// The paths of the `POST`s so far, sorted (they complete in any order).
fn post_paths(server: &Server) -> Vec<String> {
    let mut paths: Vec<String> = server
        .posts()
        .iter()
        .map(|p| {
            assert_eq!(p.query, None, "a per-agent command carries no filter");
            p.path.clone()
        })
        .collect();
    paths.sort_unstable();
    paths
}

/// The result line of one agent (not the filter line or the preview).
fn result_line<'a>(stdout: &'a str, id: &str) -> &'a str {
    let results = ["renewed ", "synced ", "offline ", "failed ", "unknown "];
    stdout
        .lines()
        .find(|l| l.contains(id) && results.iter().any(|r| l.starts_with(r)))
        .unwrap_or_else(|| panic!("no result line for {id}:\n{stdout}"))
}

fn sorted_paths(ids: &[String], command: &str) -> Vec<String> {
    let mut paths: Vec<String> = ids.iter().map(|id| id_path(id, command)).collect();
    paths.sort_unstable();
    paths
}

#[test]
fn ids_select_exactly_those_agents() {
    let server = Server::demo(10, 7);
    let ids = server.ids_where(|_| true);
    let out = renew(&server, &["--id", &ids[3], "--id", &ids[5], "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("renewed") || l.starts_with("offline")).count(),
        2
    );
    assert_eq!(
        post_paths(&server),
        sorted_paths(&[ids[3].clone(), ids[5].clone()], "certificate/renew")
    );
    let list = server.requests().into_iter().find(|r| r.method == "GET").unwrap();
    assert_eq!(
        decoded_filter(&list),
        Some(format!("(id = \"{}\" or id = \"{}\")", ids[3], ids[5]))
    );

    let unknown = "00000000-0000-4000-8000-000000000000";
    let out = renew(&server, &["--id", unknown, "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("warning: no agent has the id `{unknown}`")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("no agent matches"), "{}", out.stdout);

    let out = renew(&server, &["--id", "PC1", "--yes"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid `--id` value `PC1`: expected a uuid"), "{}", out.stderr);
}

#[test]
fn json_output_is_the_report() {
    let server = Server::demo(8, 7);
    let out = renew(&server, &["--filter", EXPIRED, "--yes", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut report: Value = serde_json::from_str(&out.stdout).expect("one json document");
    report["started_at"] = "<time>".into();
    report["finished_at"] = "<time>".into();
    let text = redact_url(&serde_json::to_string_pretty(&report).unwrap(), &server);
    insta::assert_snapshot!("renew_json", text);
}

#[test]
fn the_token_never_appears_in_any_output() {
    let server = Server::demo(10, 7);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let runs = [
        renew(&server, &["--all", "--yes", "-vv", "--report", path.to_str().unwrap()]),
        renew(&server, &["--all", "--dry-run", "-vv"]),
        run(server.cmd().args(["agents", "list", "-vv"])),
        run(server.cmd().env("NXLOG_URL", "http://127.0.0.1:9").args(["agents", "list", "-vv"])),
    ];
    for out in &runs {
        assert!(
            !out.stdout.contains(RW_TOKEN) && !out.stderr.contains(RW_TOKEN),
            "{}{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(runs[0].stderr.contains("TRACE"), "-vv logs every request: {}", runs[0].stderr);
    assert!(runs[0].stderr.contains("token read from `NXLOG_TOKEN`"), "{}", runs[0].stderr);
    assert!(!std::fs::read_to_string(&path).unwrap().contains(RW_TOKEN));

    // A token the server refuses is not shown either.
    let secret = "tok-SECRET-9999";
    let out = run(server.cmd().env("NXLOG_TOKEN", secret).args([
        "certificate",
        "renew",
        "--all",
        "--yes",
        "-vv",
    ]));
    assert_eq!(out.code, 4);
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_the_report_and_exits_130() {
    let server = Server::demo(10, 7);
    server.inject(Fault::delay(std::time::Duration::from_secs(30)).method("POST"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let bin = assert_cmd::cargo::cargo_bin("nxagents");
    let mut child = std::process::Command::new(bin)
        .args(["certificate", "renew", "--all", "--yes", "--report"])
        .arg(&path)
        .env("NXLOG_URL", server.url())
        .env("NXLOG_ORG", "demo")
        .env("NXLOG_TOKEN", RW_TOKEN)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Wait (at most ten seconds) until the command is in flight.
    let started = std::time::Instant::now();
    while server.posts().is_empty() && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!server.posts().is_empty(), "the renew request arrived");
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(kill.unwrap().success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let report = read_json(&path);
    assert_eq!(report["outcome"], "interrupted");
    assert_eq!(report["exit_code"], 130);
}

/// Runs `nxagents ARGS` on a pseudo-terminal (util-linux `script`), typing
/// `answer` at the prompt.
fn on_a_terminal(server: &Server, args: &str, answer: &str) -> crate::support::Output {
    on_a_terminal_with(server, args, answer, Some("1"))
}

/// Like [`on_a_terminal`], with `NO_COLOR` set to `no_color` or unset.
fn on_a_terminal_with(
    server: &Server,
    args: &str,
    answer: &str,
    no_color: Option<&str>,
) -> crate::support::Output {
    let bin = assert_cmd::cargo::cargo_bin("nxagents");
    let command = format!("{} {args}", bin.display());
    let mut cmd = assert_cmd::Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .env("NXLOG_URL", server.url())
        .env("NXLOG_ORG", "demo")
        .env("NXLOG_TOKEN", RW_TOKEN)
        .env("XDG_CONFIG_HOME", "/nonexistent/nxagents-tests")
        .env_remove("NO_COLOR")
        .write_stdin(answer.to_owned());
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    run(&mut cmd)
}

#[cfg(unix)]
#[test]
fn colour_only_on_a_terminal_and_never_under_no_color() {
    let server = Server::demo(12, 7);
    // Colour escapes (SGR 3x); the spinner's cursor controls are not colour.
    let escape = "\x1b[3";
    let coloured = on_a_terminal_with(&server, "agents list", "", None);
    assert!(coloured.stdout.contains(escape), "{}", coloured.stdout);
    let plain = on_a_terminal_with(&server, "agents list", "", Some("1"));
    assert!(!plain.stdout.contains(escape), "{}", plain.stdout);
    let piped = run(server.cmd().env_remove("NO_COLOR").args(["agents", "list"]));
    assert!(!piped.stdout.contains(escape) && piped.stderr.is_empty(), "{}", piped.stderr);
    let forced = run(server.cmd().args(["agents", "list", "--color", "always"]));
    assert!(forced.stdout.contains(escape));
}

#[cfg(unix)]
#[test]
fn on_a_terminal_the_question_defaults_to_no() {
    let server = Server::demo(6, 7);
    for answer in ["n\n", "\n", "whatever\n"] {
        let out = on_a_terminal(&server, "certificate renew --all", answer);
        assert!(out.stdout.contains("Renew 6 agents? [y/N]"), "{}", out.stdout);
        assert!(out.stdout.contains("declined; nothing was sent"), "{}", out.stdout);
        assert_eq!(out.code, 1, "{answer:?}");
    }
    assert!(server.posts().is_empty());

    let out = on_a_terminal(&server, "certificate renew --all", "y\n");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("6 renewed, 0 offline, 0 failed"), "{}", out.stdout);
    assert_eq!(server.posts().len(), 1);
}

#[test]
fn three_ids_send_three_requests_one_per_agent() {
    let server = Server::demo(10, 7);
    let ids = server.ids_where(|_| true);
    let chosen = [ids[1].clone(), ids[4].clone(), ids[8].clone()];
    let args = ["--id", &chosen[0], "--id", &chosen[1], "--id", &chosen[2], "--yes"];
    let out = renew(&server, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(post_paths(&server), sorted_paths(&chosen, "certificate/renew"));
    for id in &chosen {
        let line = result_line(&out.stdout, id);
        assert!(line.starts_with("renewed") || line.starts_with("offline"), "{line}");
    }

    // files-sync the same way; the same id twice (any case) is sent once.
    let server = Server::demo(10, 7);
    let upper = chosen[0].to_uppercase();
    let args = ["files-sync", "--id", &chosen[0], "--id", &chosen[1], "--id", &chosen[2]];
    let out = run(server.cmd().args(args).args(["--id", &upper, "--yes", "--concurrency", "1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(post_paths(&server), sorted_paths(&chosen, "files-sync"));
}

#[test]
fn many_ids_are_listed_in_bounded_batches_and_all_renewed() {
    let server = Server::demo(150, 7);
    let ids: Vec<String> =
        server.agents().iter().take(120).map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let mut args: Vec<&str> = ids.iter().flat_map(|id| ["--id", id.as_str()]).collect();
    args.extend(["--yes", "--report", path.to_str().unwrap()]);
    let out = renew(&server, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Several listings, each URL bounded, each id in exactly one of them.
    let lists: Vec<_> = server.requests().into_iter().filter(|r| r.method == "GET").collect();
    let filters: std::collections::BTreeSet<String> =
        lists.iter().map(|r| decoded_filter(r).expect("a filter")).collect();
    assert_eq!(filters.len(), 3, "120 ids in batches of at most 50: {filters:#?}");
    for list in &lists {
        let length = list.path.len() + 1 + list.query.as_deref().unwrap_or_default().len();
        assert!(length < 4096, "a listing URL of {length} bytes");
    }
    for id in &ids {
        let quoted = format!("\"{id}\"");
        assert_eq!(filters.iter().filter(|f| f.contains(&quoted)).count(), 1, "{id}");
    }

    // Every id renewed with its own request, and reported.
    assert_eq!(post_paths(&server), sorted_paths(&ids, "certificate/renew"));
    let report = read_json(&path);
    assert_eq!(report["matched"], 120);
    let summary = &report["summary"];
    assert_eq!(summary["renewed"].as_u64().unwrap() + summary["offline"].as_u64().unwrap(), 120);
    assert_eq!(summary["failed"], 0);
    let renewed =
        out.stdout.lines().filter(|l| l.starts_with("renewed") || l.starts_with("offline"));
    assert_eq!(renewed.count(), 120);
}

#[test]
fn a_per_agent_fault_fails_only_that_agent() {
    let server = Server::demo(10, 7);
    let ids = server.ids_where(|a| a["online"] == true);
    let chosen = [ids[0].clone(), ids[1].clone(), ids[2].clone()];
    server.inject(Fault::status(500).path(id_path(&chosen[1], "certificate/renew")));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let report_path = path.to_str().unwrap();
    let args = ["--id", &chosen[0], "--id", &chosen[1], "--id", &chosen[2], "--yes", "--report"];
    let out = renew(&server, &[&args[..], &[report_path]].concat());
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(post_paths(&server), sorted_paths(&chosen, "certificate/renew"));

    let line = result_line(&out.stdout, &chosen[1]);
    assert!(line.starts_with("failed") && line.contains("500"), "{line}");
    assert!(out.stdout.contains("2 renewed, 0 offline, 1 failed"), "{}", out.stdout);
    let report = read_json(&path);
    assert_eq!(report["outcome"], "completed");
    assert_eq!(report["exit_code"], 3);
    for agent in report["agents"].as_array().unwrap() {
        let want = if agent["id"] == chosen[1].as_str() { "failed" } else { "renewed" };
        assert_eq!(agent["result"], want, "{agent}");
    }
    let failed = report["agents"].as_array().unwrap().iter().find(|a| a["result"] == "failed");
    assert!(failed.unwrap()["message"].as_str().unwrap().contains("500"), "{report}");
}

#[test]
fn dry_run_with_ids_sends_nothing_and_shows_the_first_request() {
    let server = Server::demo(10, 7);
    let ids = server.ids_where(|_| true);
    let chosen = [ids[2].clone(), ids[6].clone(), ids[7].clone()];
    let args = ["--id", &chosen[0], "--id", &chosen[1], "--id", &chosen[2], "--dry-run"];
    let out = renew(&server, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.posts().is_empty(), "a dry run sends no command");
    assert!(
        out.stdout
            .contains("dry run: would renew 3 agents with one request each, at most 16 at a time:"),
        "{}",
        out.stdout
    );
    let url = format!("{}{}", server.url(), id_path(&chosen[0], "certificate/renew"));
    let curl = format!(
        "  curl --request POST --url '{url}' --header 'Authorization: Bearer ***' --data ''\n  ... and 2 more\n"
    );
    assert!(out.stdout.contains(&curl), "{}", out.stdout);
    assert!(!out.stdout.contains(RW_TOKEN));
}

#[test]
fn ids_with_an_expiry_option_select_only_the_matching_agents() {
    let server = Server::demo(30, 7);
    let expired = server.ids_where(|a| a["certificate"]["notAfter"].as_str().unwrap() < NOW);
    let valid = server.ids_where(|a| a["certificate"]["notAfter"].as_str().unwrap() >= NOW);
    assert!(expired.len() >= 2 && !valid.is_empty(), "the test fleet has both");
    let chosen = [expired[0].clone(), valid[0].clone(), expired[1].clone()];
    let args = ["--id", &chosen[0], "--id", &chosen[1], "--id", &chosen[2], "--expired"];
    let out = renew(&server, &[&args[..], &["--yes", "--now", NOW]].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = server.requests().into_iter().find(|r| r.method == "GET").unwrap();
    let filter = decoded_filter(&list).unwrap();
    assert!(
        filter.ends_with(" and certificate/not-after lt \"2026-01-15T12:00:00Z\")"),
        "{filter}"
    );
    assert_eq!(
        post_paths(&server),
        sorted_paths(&[expired[0].clone(), expired[1].clone()], "certificate/renew")
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: no agent with the id `{}` matches `(certificate/not-after lt",
            valid[0]
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn ids_with_a_read_only_token_exit_4_and_report_every_agent() {
    let server = Server::demo(5, 7);
    let ids = server.ids_where(|_| true);
    let out = run(server.cmd().env("NXLOG_TOKEN", RO_TOKEN).args([
        "files-sync",
        "--id",
        &ids[0],
        "--id",
        &ids[1],
        "--yes",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("the report");
    assert_eq!(report["exit_code"], 4);
    assert_eq!(report["summary"]["failed"], 2, "{report}");
    assert!(report["error"]["message"].as_str().unwrap().contains("403"), "{report}");
}

/// The renew carries the filter, not the previewed ids: an agent that comes
/// to match between the preview and the command is renewed although nobody
/// confirmed it. The run says so, marks it in the report and exits 3.
#[test]
fn agent_matching_after_the_preview_is_named_and_exits_3() {
    let server = Server::demo(12, 7);
    let online = server.ids_where(|a| a["online"] == true);
    let offline = server.ids_where(|a| a["online"] == false);
    assert!(!online.is_empty() && !offline.is_empty(), "the test fleet has both");
    // Hold the renew long enough to take an agent offline meanwhile.
    server.inject(Fault::delay(std::time::Duration::from_millis(1500)).method("POST").times(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");

    let mut cmd = server.cmd();
    cmd.args(["certificate", "renew", "--filter", "(online=false)", "--yes", "--report"])
        .arg(&path);
    let running = std::thread::spawn(move || run(&mut cmd));
    let started = std::time::Instant::now();
    while server.posts().is_empty() && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(server.posts().len(), 1, "the renew request arrived");
    let newcomer = &online[0];
    assert!(server.set_online(newcomer.parse().unwrap(), false));
    let out = running.join().unwrap();

    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("{} agents match:", offline.len())), "{}", out.stdout);
    // Only its result line names it: it was not in the preview.
    assert_eq!(out.stdout.matches(newcomer.as_str()).count(), 1, "{}", out.stdout);
    let line = result_line(&out.stdout, newcomer);
    assert!(line.contains("(NOT IN THE PREVIEW)"), "{line}");
    assert!(out.stdout.contains(", 1 not in the preview"), "{}", out.stdout);
    let warning = "warning: the renew also reached 1 agent that the preview did not list";
    let warning = out.stderr.lines().find(|l| l.starts_with(warning));
    let warning = warning.unwrap_or_else(|| panic!("a warning:\n{}", out.stderr));
    assert!(warning.contains(&format!("`{newcomer}`")), "{warning}");

    let report = read_json(&path);
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["matched"], offline.len());
    assert_eq!(report["summary"]["not_previewed"], 1);
    for agent in report["agents"].as_array().unwrap() {
        let previewed = agent["id"] != newcomer.as_str();
        assert_eq!(agent["previewed"], previewed, "{agent}");
    }
}

/// `--report` to a place that cannot be written is a usage error found
/// before any request, not after the renew ran.
#[test]
fn unwritable_report_path_is_refused_before_anything_is_sent() {
    let server = Server::demo(5, 7);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("r.json");
    for path in [missing.as_path(), dir.path()] {
        let out = renew(&server, &["--all", "--yes", "--report", path.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.starts_with("error: cannot write the report to `"), "{}", out.stderr);
        assert!(out.stderr.contains("nothing was sent"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    assert!(server.requests().is_empty(), "nothing was listed or sent");

    // An existing report is replaced whole, not appended to or left longer.
    let path = dir.path().join("r.json");
    std::fs::write(&path, "x".repeat(100_000)).unwrap();
    let out = renew(&server, &["--filter", "(hostname=nope)", "--report", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read_json(&path)["outcome"], "nothing-matched");
}

/// A negative `--expiring-within` gets our own message, not clap's
/// "unexpected argument `-5`".
#[test]
fn negative_expiring_within_is_a_clear_usage_error() {
    let server = Server::demo(5, 7);
    for args in [
        &["--expiring-within", "-5d"][..],
        &["--expiring-within=-5d"],
        &["--expiring-within", "0d"],
    ] {
        let out = renew(&server, &[&["--all", "--yes"], args].concat());
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("duration must be positive"), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("unexpected argument"), "{}", out.stderr);
    }
    let out = renew(&server, &["--all", "--yes", "--expiring-within", "--dry-run"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("a value is required for `--expiring-within`"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

/// `--expired` and `--expiring-within` without `--now` take the system
/// clock, cut to whole seconds: no nanoseconds in the filter sent.
#[test]
fn expiry_from_the_system_clock_has_whole_seconds() {
    let server = Server::demo(5, 7);
    for args in [&["--expired"][..], &["--expiring-within", "1d"]] {
        let out = renew(&server, &[&["--all", "--dry-run"], args].concat());
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let line = out.stdout.lines().next().unwrap_or_default();
        assert!(line.starts_with("filter: (certificate/not-after lt \""), "{line}");
        assert!(line.ends_with("Z\")") && !line.contains('.'), "{args:?}: {line}");
        let list = server.requests().pop().unwrap();
        assert!(!decoded_filter(&list).unwrap().contains('.'), "{list:?}");
    }
}

/// files-sync reaches an agent only while it is online. Offline agents are
/// still sent the command (the server decides), but the run warns first,
/// reports them `offline` with the server's message rather than a bare
/// failure, ends with the command to repeat, and exits 3.
#[test]
fn files_sync_to_offline_agents_warns_and_gives_the_follow_up() {
    let server = Server::demo(12, 7);
    let offline = server.ids_where(|a| a["online"] == false);
    let online = server.ids_where(|a| a["online"] == true);
    assert!(offline.len() >= 2 && !online.is_empty(), "the test fleet has both");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");

    let out = run(server.cmd().args(["files-sync", "--all", "--yes", "--report"]).arg(&path));
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let warning = format!(
        "warning: {} of the 12 agents are offline, and files-sync reaches an agent only when \
         it is online; they are sent the command anyway",
        offline.len()
    );
    assert!(out.stderr.contains(&warning), "{}", out.stderr);
    assert_eq!(server.posts().len(), 1, "the offline agents were still sent the command");
    for id in &offline {
        let line = result_line(&out.stdout, id);
        assert!(line.starts_with("offline"), "{line}");
        assert!(line.contains("(offline: run again once it is back online)"), "{line}");
        assert!(line.contains("agent is offline"), "the server's message: {line}");
    }
    let follow_up = format!("  nxagents files-sync --id {}\n", offline.join(" --id "));
    assert!(out.stdout.contains(&follow_up), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "{} synced, {} offline, 0 failed\n{} agents were offline and did not sync; \
             once they are back online, run:\n",
            online.len(),
            offline.len(),
            offline.len()
        )),
        "{}",
        out.stdout
    );
    let report = read_json(&path);
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["summary"]["offline"], offline.len());
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["follow_up"], follow_up.trim());

    // The same with one request per agent, and the follow-up works once the
    // agent is back.
    let server = Server::demo(12, 7);
    let out =
        run(server.cmd().args(["files-sync", "--id", &offline[0], "--id", &online[0], "--yes"]));
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("warning: 1 of the 2 agents is offline"), "{}", out.stderr);
    assert!(result_line(&out.stdout, &offline[0]).starts_with("offline"), "{}", out.stdout);
    assert!(result_line(&out.stdout, &online[0]).starts_with("synced"), "{}", out.stdout);
    let follow_up = format!("nxagents files-sync --id {}", offline[0]);
    assert!(out.stdout.contains(&format!(
        "1 agent was offline and did not sync; once it is back online, run:\n  {follow_up}\n"
    )));
    server_set_online(&server, &offline[0]);
    let args: Vec<&str> = follow_up.split(' ').skip(1).collect();
    let out = run(server.cmd().args(&args).arg("--yes"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("offline"), "{}", out.stderr);
    assert!(result_line(&out.stdout, &offline[0]).starts_with("synced"), "{}", out.stdout);
}

/// An invalid filter used to leave `filter: null`, which also means "every
/// agent"; the report now records how agents were selected and the filter
/// text as given, and names the error with the kind stderr shows.
#[test]
fn report_of_an_invalid_filter_is_not_mistaken_for_all() {
    let server = Server::demo(3, 7);
    let out = renew(&server, &["--filter", "(hostname=", "--yes", "-o", "json"]);
    assert_eq!(out.code, 2);
    let report: Value = serde_json::from_str(&out.stdout).expect("the report");
    let stderr: Value = serde_json::from_str(&out.stderr).expect("a json error");
    assert_eq!(report["selection"], "filter", "{report}");
    assert_eq!(report["filter_input"], "(hostname=", "{report}");
    assert_eq!(report["filter"], Value::Null, "{report}");
    assert_eq!(report["error"]["kind"], "invalid-filter", "{report}");
    assert_eq!(report["error"]["kind"], stderr["error"]["kind"], "{stderr}");
    assert_eq!(report["error"]["code"], "missing-value", "{report}");
    assert_eq!(report["error"]["code"], stderr["error"]["code"], "{stderr}");

    let selected = |args: &[&str]| {
        let out = renew(&server, &[args, &["--dry-run", "-o", "json"]].concat());
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let report: Value = serde_json::from_str(&out.stdout).expect("the report");
        (report["selection"].clone(), report["filter_input"].clone(), report["filter"].clone())
    };
    let id = server.ids_where(|_| true).remove(0);
    let (selection, input, filter) = selected(&["--all"]);
    assert_eq!((selection, input, filter), ("all".into(), Value::Null, Value::Null));
    let (selection, input, _) = selected(&["--filter", "hostname=PC1"]);
    assert_eq!((selection, input), ("filter".into(), "hostname=PC1".into()));
    let (selection, input, filter) = selected(&["--id", &id]);
    assert_eq!((selection, input), ("ids".into(), Value::Null));
    assert_eq!(filter, format!("(id = \"{id}\")").as_str());
}

/// One id is listed in one batch, and the log says so in the singular.
#[test]
fn one_id_is_logged_as_one_batch() {
    let server = Server::demo(3, 7);
    let id = server.ids_where(|_| true).remove(0);
    let out = renew(&server, &["--id", &id, "--dry-run", "-v"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("listing 1 id in 1 batch\n"), "{}", out.stderr);
}

/// `--concurrency` shapes only the one-request-per-agent sending of `--id`;
/// with `--filter` or `--all` it used to be accepted and ignored.
#[test]
fn concurrency_without_id_is_a_usage_error() {
    let server = Server::demo(3, 7);
    for args in [&["--all"][..], &["--filter", "hostname=PC1"]] {
        for command in [&["certificate", "renew"][..], &["files-sync"]] {
            let out =
                run(server.cmd().args(command).args(args).args(["--concurrency", "4", "--yes"]));
            assert_eq!(out.code, 2, "{command:?} {args:?}: {}", out.stderr);
            assert!(out.stderr.contains("--concurrency"), "{}", out.stderr);
            assert!(out.stdout.is_empty(), "{}", out.stdout);
        }
    }
    assert!(server.requests().is_empty());
}
