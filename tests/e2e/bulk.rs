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
    let post = server.posts().pop().unwrap();
    assert_eq!(post.path, "/api/demo/api/v1/agents/*/files-sync");
    let expected =
        offline.iter().map(|id| format!("id = \"{id}\"")).collect::<Vec<_>>().join(" or ");
    assert_eq!(decoded_filter(&post), Some(format!("({expected})")));
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

#[test]
fn ids_select_exactly_those_agents() {
    let server = Server::demo(10, 7);
    let ids = server.ids_where(|_| true);
    let out = renew(&server, &["--id", &ids[3], "--id", &ids[5], "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let post = server.posts().pop().unwrap();
    assert_eq!(
        decoded_filter(&post),
        Some(format!("(id = \"{}\" or id = \"{}\")", ids[3], ids[5]))
    );
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("renewed") || l.starts_with("offline")).count(),
        2
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
