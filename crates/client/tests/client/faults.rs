//! Every fault the emulator can inject, and the error each one becomes.

use std::time::Duration;

use nxlog_client::{Client, Error, ErrorClass, RetryPolicy, Selector, Target};
use nxlog_emulator::{Emulator, Fault};

use crate::support::{self, Recorder, answer};

/// A client that never retries, so one fault gives one error.
fn no_retry(emu: &Emulator) -> Client {
    Client::new(
        support::config(&emu.base_url(), support::RW)
            .retry(RetryPolicy::none())
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// Injects `fault`, lists all agents and renews all agents, and checks the
/// class and message start of both errors.
async fn check(fault: Fault, class: ErrorClass, get_start: &str, post_start: &str) {
    let emu = support::emulator(3).await;
    emu.inject(fault);
    let client = no_retry(&emu);

    let get = client.list_all(&Selector::All).await.unwrap_err();
    let post = client.renew(&Target::all()).await.unwrap_err();

    assert_eq!(get.class(), class, "{get:?}");
    assert_eq!(post.class(), class, "{post:?}");
    assert!(get.to_string().starts_with(get_start), "{get}");
    assert!(post.to_string().starts_with(post_start), "{post}");
    assert!(!get.is_auth() && !post.is_auth());
}

const LIST: &str = "/api/demo/api/v1/agents/*";
const RENEW: &str = "/api/demo/api/v1/agents/*/certificate/renew";

#[tokio::test]
async fn status_with_a_json_body_is_an_api_error() {
    check(
        Fault::status(500),
        ErrorClass::Api,
        &format!("`GET {LIST}` failed with 500 internal server error: "),
        &format!("`POST {RENEW}` failed with 500 internal server error: "),
    )
    .await;
}

#[tokio::test]
async fn status_with_an_html_body_keeps_the_body() {
    check(
        Fault::status(502).body("<html><body>upstream down</body></html>"),
        ErrorClass::Api,
        &format!("`GET {LIST}` answered 502 bad gateway: <html><body>upstream down</body></html>"),
        &format!(
            "`POST {RENEW}` answered 502 bad gateway: <html><body>upstream down</body></html>"
        ),
    )
    .await;
}

#[tokio::test]
async fn status_with_an_empty_body_says_so() {
    check(
        Fault::status(500).body(""),
        ErrorClass::Api,
        &format!("`GET {LIST}` answered 500 internal server error with an empty body"),
        &format!("`POST {RENEW}` answered 500 internal server error with an empty body"),
    )
    .await;
}

#[tokio::test]
async fn injected_401_and_403_are_auth_errors() {
    let emu = support::emulator(1).await;
    emu.inject(Fault::status(401).times(1));
    emu.inject(Fault::status(403).times(1));
    let client = no_retry(&emu);

    let first = client.count(&Selector::All).await.unwrap_err();
    let second = client.count(&Selector::All).await.unwrap_err();

    assert!(matches!(first, Error::Unauthenticated { .. }), "{first:?}");
    assert!(matches!(second, Error::Forbidden { .. }), "{second:?}");
    assert!(first.is_auth() && second.is_auth());
    assert_eq!(first.class(), ErrorClass::Authentication);
    assert_eq!(second.class(), ErrorClass::Authorization);
}

#[tokio::test]
async fn delay_past_the_timeout_is_a_timeout() {
    check(
        Fault::delay(Duration::from_secs(3)),
        ErrorClass::Network,
        &format!("`GET {LIST}` timed out after 500ms"),
        &format!("`POST {RENEW}` timed out after 500ms"),
    )
    .await;
}

#[tokio::test]
async fn delay_within_the_timeout_is_fine() {
    let emu = support::emulator(3).await;
    emu.inject(Fault::delay(Duration::from_millis(50)));
    assert_eq!(no_retry(&emu).count(&Selector::All).await.unwrap(), 3);
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    check(
        Fault::drop_connection(),
        ErrorClass::Network,
        &format!("cannot reach the platform for `GET {LIST}`: "),
        &format!("cannot reach the platform for `POST {RENEW}`: "),
    )
    .await;
}

#[tokio::test]
async fn a_truncated_body_is_a_transport_error() {
    check(
        Fault::truncate(),
        ErrorClass::Network,
        &format!("cannot reach the platform for `GET {LIST}`: "),
        &format!("cannot reach the platform for `POST {RENEW}`: "),
    )
    .await;
}

#[tokio::test]
async fn a_non_json_body_is_a_decode_error_with_a_snippet() {
    let emu = support::emulator(3).await;
    emu.inject(Fault::non_json());
    let error = no_retry(&emu).count(&Selector::All).await.unwrap_err();
    let Error::Decode { snippet, .. } = &error else { panic!("{error:?}") };
    assert!(snippet.starts_with('<'), "{snippet}");
    assert!(!snippet.contains('\n'));
    assert_eq!(error.class(), ErrorClass::Protocol);
    assert!(
        error.to_string().starts_with(&format!("cannot decode the answer to `GET {LIST}/count`: ")),
        "{error}"
    );
}

#[tokio::test]
async fn rate_limit_without_retries_is_an_api_error() {
    let emu = support::emulator(3).await;
    emu.inject(Fault::rate_limit(Some(0)));
    let error = no_retry(&emu).count(&Selector::All).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::new(
        support::config(&format!("http://127.0.0.1:{port}"), support::RW)
            .retry(RetryPolicy::none())
            .build()
            .unwrap(),
    )
    .unwrap();
    let error = client.count(&Selector::All).await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(error.to_string().to_lowercase().contains("connection refused"), "{error}");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let big = format!("[{}]", vec!["1"; 5000].join(","));
    let server = Recorder::spawn(move |_| answer(200, &[], &big)).await;
    let client =
        Client::new(support::config(&server.base(), support::RW).max_body(1024).build().unwrap())
            .unwrap();
    let error = client.count(&Selector::All).await.unwrap_err();
    assert!(matches!(error, Error::BodyTooLarge { limit: 1024, .. }), "{error:?}");
    assert_eq!(server.seen().len(), 1, "not retried");
}

#[tokio::test]
async fn a_long_error_body_is_kept_up_to_two_kibibytes() {
    let body = format!("<html>{}</html>", "é".repeat(4000));
    let server = Recorder::spawn(move |_| answer(500, &[], &body)).await;
    let error = support::client(&server.base()).count(&Selector::All).await.unwrap_err();
    let Error::UnexpectedStatus { body, truncated, .. } = &error else { panic!("{error:?}") };
    assert!(*truncated);
    assert!(body.len() <= 2048 && body.len() >= 2046, "{}", body.len());
    assert!(error.to_string().chars().count() < 400, "the message stays one short line");
}

#[tokio::test]
async fn server_text_in_errors_has_control_characters_escaped() {
    let server = Recorder::spawn(|seen| {
        let path = seen.path.as_str();
        if path.ends_with("/count") {
            answer(
                400,
                &[],
                r#"{"message":"bad \u001b[31mfilter\r\nFAKE","help":"see \u001b]0;PWNED\u0007"}"#,
            )
        } else if path.ends_with("/files-sync") {
            answer(401, &[], r#"{"message":"who \u009b2J"}"#)
        } else if seen.method == "POST" {
            // A `Location` with obs-text bytes that decode to U+009B (CSI).
            let mut response = answer(307, &[], "");
            let location = axum::http::HeaderValue::from_bytes(b"/x\xc2\x9b2J").unwrap();
            response.headers_mut().insert("location", location);
            response
        } else {
            answer(502, &[], "<html>\u{1b}[2J\u{7}oops\u{0}</html>")
        }
    })
    .await;
    let client = Client::new(
        support::config(&server.base(), support::RW).retry(RetryPolicy::none()).build().unwrap(),
    )
    .unwrap();

    let api = client.count(&Selector::All).await.unwrap_err();
    let html = client.list_all(&Selector::All).await.unwrap_err();
    let redirect = client.renew(&Target::all()).await.unwrap_err();
    let auth = client.files_sync(&Target::all()).await.unwrap_err();

    assert_eq!(
        api.to_string(),
        "`GET /api/demo/api/v1/agents/*/count` failed with 400 bad request: \
         bad \\u{1b}[31mfilter\\r\\nFAKE (help: see \\u{1b}]0;PWNED\\u{7})"
    );
    assert_eq!(
        html.to_string(),
        "`GET /api/demo/api/v1/agents/*` answered 502 bad gateway: <html>\\u{1b}[2J\\u{7}oops\\u{0}</html>"
    );
    assert_eq!(
        redirect.to_string(),
        "`POST /api/demo/api/v1/agents/*/certificate/renew` answered 307 temporary redirect \
         with location `/x\\u{9b}2J`, not followed: commands never follow redirects"
    );
    assert_eq!(
        auth.to_string(),
        "the platform did not accept the token for `POST /api/demo/api/v1/agents/*/files-sync` \
         (401 unauthorized): who \\u{9b}2J"
    );
    for error in [&api, &html, &redirect, &auth] {
        assert!(!error.to_string().chars().any(char::is_control), "{error}");
    }
    // The typed fields keep the text as sent.
    let Error::Api { message, .. } = &api else { panic!("{api:?}") };
    assert_eq!(message.message, "bad \u{1b}[31mfilter\r\nFAKE");
    let Error::Redirect { location, .. } = &redirect else { panic!("{redirect:?}") };
    assert_eq!(location, "/x\u{9b}2J");
}

#[tokio::test]
async fn item_errors_in_a_command_answer_display_escaped() {
    let server = Recorder::spawn(|_| {
        support::ok_json(
            r#"[{"id":"a","status":"error","error":"{\"message\":\"off\\u001b[2Jline\",\"help\":\"\\u0007\"}"},
                {"id":"b","status":"error","error":"raw \u001b]0;t\u0007"}]"#,
        )
    })
    .await;
    let report = support::client(&server.base()).renew(&Target::all()).await.unwrap();
    let shown: Vec<String> =
        report.results.iter().map(|r| r.error.as_ref().unwrap().to_string()).collect();
    assert_eq!(shown, ["off\\u{1b}[2Jline (help: \\u{7})", "raw \\u{1b}]0;t\\u{7}"]);
    assert_eq!(
        report.results[0].error.as_ref().unwrap().message.as_deref(),
        Some("off\u{1b}[2Jline")
    );
}
