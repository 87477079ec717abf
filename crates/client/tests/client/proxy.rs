//! The proxy variables reqwest honours apply to the client.
//!
//! The process environment cannot be changed safely inside a multi-threaded
//! test binary, so this test runs itself again as a child process with
//! `HTTP_PROXY` set; the child does the request, the parent checks what the
//! proxy received.

use nxlog_client::Selector;

use crate::support::{self, Recorder, ok_json};

/// Set in the child: the base URL to count against.
const CHILD: &str = "NXLOG_CLIENT_TEST_PROXY_CHILD_BASE";

#[tokio::test]
async fn http_proxy_is_honoured() {
    if let Ok(base) = std::env::var(CHILD) {
        // The child: `agents.invalid` cannot resolve, so only the proxy
        // can answer.
        let count = support::client(&base).count(&Selector::All).await.unwrap();
        assert_eq!(count, 5);
        return;
    }

    let proxy = Recorder::spawn(|_| ok_json("5")).await;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "proxy::http_proxy_is_honoured", "--test-threads=1", "--quiet"])
        .env(CHILD, "http://agents.invalid:8080")
        .env("HTTP_PROXY", proxy.base());
    for name in ["http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
        child.env_remove(name);
    }
    let output = child.output().await.unwrap();

    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stdout));
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "the request went through the proxy");
    assert_eq!(seen[0].headers["host"], "agents.invalid:8080");
    assert_eq!(seen[0].path, "/api/demo/api/v1/agents/*/count");
}
