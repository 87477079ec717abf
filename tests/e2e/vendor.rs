//! The vendor's three documented renew examples produce exactly the
//! documented requests: all agents, by host name, expired before a date.

use nxlog_emulator::Emulator;
use nxlog_filter::Filter;

use crate::support::{Server, decoded_filter, run};

/// A fleet dated so that some certificates expired before 2024-09-22.
fn server() -> Server {
    Server::start_at(Emulator::builder().demo(30, 7), "2024-10-01T00:00:00Z")
}

/// Runs `certificate renew ARGS --yes` and returns the one command request.
fn renew(server: &Server, args: &[&str]) -> nxlog_emulator::RequestRecord {
    let out = run(server.cmd().args(["certificate", "renew"]).args(args).arg("--yes"));
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    let posts = server.posts();
    assert_eq!(posts.len(), 1, "{args:?}: one command request");
    posts[0].clone()
}

fn same_filter(sent: Option<String>, documented: &str) {
    let sent: Filter = sent.expect("a filter was sent").parse().expect("the sent filter parses");
    let documented: Filter = documented.parse().expect("the documented filter parses");
    assert_eq!(sent, documented);
}

#[test]
fn renew_all_agents() {
    let server = server();
    let post = renew(&server, &["--all"]);
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/api/demo/api/v1/agents/*/certificate/renew")
    );
    assert_eq!(post.query, None);
    assert!(post.authorization);
}

#[test]
fn renew_by_hostname() {
    let server = server();
    let post = renew(&server, &["--filter", "(hostname=PC1)"]);
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/api/demo/api/v1/agents/*/certificate/renew")
    );
    same_filter(decoded_filter(&post), "(hostname=PC1)");
}

#[test]
fn renew_expired_before_a_date() {
    let server = server();
    let documented = "(certificate/not-after lt \"2024-09-22 00:00:00 UTC\")";
    let post = renew(&server, &["--filter", documented]);
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/api/demo/api/v1/agents/*/certificate/renew")
    );
    same_filter(decoded_filter(&post), documented);
    // The form-encoded spelling of the same example is the same filter.
    let form =
        nxlog_filter::parse_form_encoded("(certificate/not-after+lt+'2024-09-22+00:00:00+UTC')")
            .unwrap();
    assert_eq!(decoded_filter(&post).unwrap().parse::<Filter>().unwrap(), form);

    // Online agents that matched were renewed; only the offline ones still
    // hold a certificate that ended before the date.
    let expired_now = server.ids_where(|a| expired_before(a, "2024-09-22T00:00:00Z"));
    let offline = server.ids_where(|a| a["online"] == false);
    assert!(expired_now.iter().all(|id| offline.contains(id)), "{expired_now:?}");
}

fn expired_before(agent: &serde_json::Value, cutoff: &str) -> bool {
    let cutoff: chrono::DateTime<chrono::Utc> = cutoff.parse().unwrap();
    let not_after = agent["certificate"]["notAfter"].as_str().unwrap();
    not_after.parse::<chrono::DateTime<chrono::Utc>>().unwrap() < cutoff
}

#[test]
fn the_date_example_selects_some_but_not_all_agents() {
    let server = server();
    let expired = server.ids_where(|a| expired_before(a, "2024-09-22T00:00:00Z"));
    assert!(!expired.is_empty() && expired.len() < 30, "{}", expired.len());
}
