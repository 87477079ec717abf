//! `nxagents agents list`.

use crate::support::{RO_TOKEN, Server, decoded_filter, run};

#[test]
fn table_of_matching_agents() {
    let server = Server::demo(12, 7);
    let out = run(server.cmd().args(["agents", "list", "--now", crate::support::NOW]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("list_table", out.stdout);
}

#[test]
fn json_and_jsonl_share_one_schema() {
    let server = Server::demo(4, 7);
    let out =
        run(server.cmd().args(["agents", "list", "-o", "json", "--now", crate::support::NOW]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let array: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!("list_json", array);

    let out =
        run(server.cmd().args(["agents", "list", "-o", "jsonl", "--now", crate::support::NOW]));
    let lines: Vec<serde_json::Value> =
        out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(serde_json::Value::from(lines), array);
}

#[test]
fn filter_is_sent_canonical_and_encoded_once() {
    let server = Server::demo(30, 7);
    let out = run(server.cmd().args(["agents", "list", "-o", "jsonl", "--filter", "hostname=PC1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1);
    let request = &server.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/api/demo/api/v1/agents/*");
    assert_eq!(decoded_filter(request).as_deref(), Some("(hostname = \"PC1\")"));
    assert!(request.query.as_deref().unwrap().contains("%28hostname%20%3D%20%22PC1%22%29"));
}

#[test]
fn nothing_matched() {
    let server = Server::demo(5, 7);
    let args = ["agents", "list", "--filter", "(hostname=nope)"];
    let out = run(server.cmd().args(args));
    assert_eq!(out.code, 0);
    assert_eq!(out.stderr.trim(), "no agent matches");
    let out = run(server.cmd().args(args).arg("--fail-on-empty"));
    assert_eq!(out.code, 5);
    let out = run(server.cmd().args(args).args(["--fail-on-empty", "-o", "json"]));
    assert_eq!((out.code, out.stdout.trim()), (5, "[]"));
}

#[test]
fn authentication_failures_exit_4_and_json_errors_are_json() {
    let server = Server::demo(5, 7);
    let out = run(server.cmd().env("NXLOG_TOKEN", "not-a-known-token").args(["agents", "list"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(!out.stderr.contains("not-a-known-token"));

    let out = run(server
        .cmd()
        .env("NXLOG_TOKEN", "not-a-known-token")
        .args(["agents", "list", "-o", "json"]));
    assert_eq!(out.code, 4);
    let error: serde_json::Value = serde_json::from_str(&out.stderr).expect("a json error");
    assert_eq!(error["error"]["kind"], "auth");
    assert_eq!(error["error"]["exit_code"], 4);

    // A read-only token may list.
    let out = run(server.cmd().env("NXLOG_TOKEN", RO_TOKEN).args(["agents", "list"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// The message names the server that could not be reached, not only the path.
#[test]
fn unreachable_server_exits_1() {
    let out = run(crate::support::bare_cmd()
        .env("NXLOG_URL", "http://127.0.0.1:9")
        .env("NXLOG_ORG", "demo")
        .env("NXLOG_TOKEN", "t")
        .args(["agents", "list"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: cannot reach"), "{}", out.stderr);
    assert!(out.stderr.contains("(http://127.0.0.1:9)"), "{}", out.stderr);
}

/// `-v` logs the filter the listing carries, as the README promises and as
/// `certificate renew` does.
#[test]
fn verbose_list_logs_the_effective_filter() {
    let server = Server::demo(5, 7);
    let out = run(server.cmd().args(["agents", "list", "-v", "--filter", "hostname=PC1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("effective filter: (hostname = \"PC1\")"), "{}", out.stderr);
    let out = run(server.cmd().args(["agents", "list", "-v"]));
    assert!(out.stderr.contains("effective filter: none"), "{}", out.stderr);
    // Without `-v`, nothing is logged.
    let out = run(server.cmd().args(["agents", "list", "--filter", "hostname=PC1"]));
    assert!(!out.stderr.contains("effective filter"), "{}", out.stderr);
}
