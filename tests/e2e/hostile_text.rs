//! Text from agents, servers and users that holds control characters
//! (a host name with `\r\n` and escape sequences, a server message with
//! colour codes) reaches the terminal escaped, so it can neither forge a
//! table row nor drive the terminal; JSON output keeps it exact.

use nxlog_emulator::Fault;
use serde_json::Value;

use crate::support::{NOW, Server, read_json, run};

/// A host name that clears the screen, sets the window title, turns the
/// text red and starts a fake table row.
const EVIL_HOSTNAME: &str = "EVIL\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{1b}[31mRED\r\nFAKE-LINE";
/// How [`EVIL_HOSTNAME`] is shown.
const EVIL_SHOWN: &str = "EVIL\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED\\r\\nFAKE-LINE";
const EVIL_ID: &str = "2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e01";
const PLAIN_ID: &str = "2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e02";

/// A fleet of two agents, one with [`EVIL_HOSTNAME`] and one with a host
/// name that reverses the text after it (U+202E).
fn hostile_fleet() -> Server {
    let agent = |id: &str, hostname: &str, online: bool| {
        serde_json::json!({
            "id": id,
            "hostname": hostname,
            "online": online,
            "certificate": {"notBefore": "2025-01-01T00:00:00Z", "notAfter": "2026-01-01T00:00:00Z"},
        })
    };
    let fleet = Value::from(vec![
        agent(EVIL_ID, EVIL_HOSTNAME, false),
        agent(PLAIN_ID, "pc\u{202e}exe.txt", true),
    ]);
    Server::start(nxlog_emulator::Emulator::builder().fleet_json(fleet.to_string()))
}

/// Fails when `text` holds a character a terminal would act on, other than
/// the line breaks this program writes itself.
fn assert_terminal_safe(text: &str, what: &str) {
    let bad = text.char_indices().find(|&(_, c)| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    assert!(bad.is_none(), "{what}: raw {bad:?} in\n{text}");
}

#[test]
fn hostile_hostname_cannot_forge_a_row_of_the_agents_table() {
    let server = hostile_fleet();
    let out = run(server.cmd().args(["agents", "list", "--now", NOW]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_terminal_safe(&out.stdout, "agents list");
    assert_eq!(out.stdout.lines().count(), 3, "a header and one line per agent:\n{}", out.stdout);
    assert!(!out.stdout.lines().any(|l| l.starts_with("FAKE-LINE")), "{}", out.stdout);
    insta::assert_snapshot!("hostile_hostname_table", out.stdout);

    // JSON keeps the host name exact.
    let out = run(server.cmd().args(["agents", "list", "-o", "json"]));
    let agents: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(agents[0]["hostname"], EVIL_HOSTNAME);
}

#[test]
fn hostile_hostname_cannot_forge_the_renew_preview_or_results() {
    let server = hostile_fleet();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out =
        run(server.cmd().args(["certificate", "renew", "--all", "--yes", "--report"]).arg(&path));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_terminal_safe(&out.stdout, "renew stdout");
    assert_terminal_safe(&out.stderr, "renew stderr");
    assert!(!out.stdout.lines().any(|l| l.starts_with("FAKE-LINE")), "{}", out.stdout);
    // The preview row and the result line both show the escaped name.
    assert_eq!(out.stdout.matches(EVIL_SHOWN).count(), 2, "{}", out.stdout);
    assert!(out.stdout.contains("pc\\u{202e}exe.txt"), "{}", out.stdout);

    // The report keeps the host name exact.
    let report = read_json(&path);
    let evil = report["agents"].as_array().unwrap().iter().find(|a| a["id"] == EVIL_ID).unwrap();
    assert_eq!(evil["hostname"], EVIL_HOSTNAME);
}

#[test]
fn hostile_server_message_is_escaped_in_errors_and_result_lines() {
    let server = hostile_fleet();
    let body = r#"{"message":"bad \u001b[31mfilter\r\nFAKE: all good"}"#;
    server.inject(Fault::status(400).body(body).method("GET").times(1));
    let out = run(server.cmd().args(["agents", "list"]));
    assert_ne!(out.code, 0);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert_terminal_safe(&out.stderr, "error message");
    assert_eq!(out.stderr.lines().count(), 1, "one error line:\n{}", out.stderr);

    // The same message in JSON mode is exact JSON.
    server.inject(Fault::status(400).body(body).method("GET").times(1));
    let out = run(server.cmd().args(["agents", "list", "-o", "json"]));
    let error: Value = serde_json::from_str(&out.stderr).expect("a json error");
    assert!(error["error"]["message"].as_str().unwrap().contains("filter"), "{error}");
}

#[test]
fn hostile_filter_text_is_escaped_when_echoed() {
    // A quoted value with an escape sequence, read from stdin: whether the
    // filter is accepted or refused, nothing raw reaches the terminal.
    let evil = "(hostname=\"a\u{1b}]0;PWNED\u{7}\u{1b}[31mred\")";
    let out = run(crate::support::bare_cmd().args(["filter", "check", "-"]).write_stdin(evil));
    assert_terminal_safe(&out.stdout, "stdout");
    assert_terminal_safe(&out.stderr, "stderr");
    if out.code == 0 {
        assert_eq!(out.stdout.trim_end(), "(hostname = \"a\\x1b]0;PWNED\\x07\\x1b[31mred\")");
    }

    // An error message quoting the bad character, and its caret excerpt.
    let out = run(crate::support::bare_cmd().args(["filter", "check", "(a=b \u{1} \u{1b}[2J)"]));
    assert_eq!(out.code, 2);
    assert_terminal_safe(&out.stderr, "filter error");
    assert!(out.stderr.contains("U+0001") || out.stderr.contains("\\x01"), "{}", out.stderr);

    // The filter line of a bulk command, which echoes the canonical form.
    let server = hostile_fleet();
    let out = run(server.cmd().args([
        "files-sync",
        "--dry-run",
        "--filter",
        "(hostname=\"x\u{1b}[2Jy\")",
    ]));
    assert_terminal_safe(&out.stdout, "filter line");
    assert_terminal_safe(&out.stderr, "filter line stderr");
}
