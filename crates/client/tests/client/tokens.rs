//! Token handling: trimmed, checked before any request, sent only as a
//! sensitive bearer header, refused tokens classified as auth errors.

use nxlog_client::{Client, Config, Error, ErrorClass, Selector, Target};

use crate::support::{self, Recorder, ok_json, secret};

fn build(base: &str, token: &str) -> Result<Client, Error> {
    let config = Config::builder(base, "demo", secret(token)).build()?;
    Client::new(config)
}

fn check_refused(token: &str, expected: &str) {
    let error = build("http://127.0.0.1:9", token).unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{token:?}: {error:?}");
    assert_eq!(error.class(), ErrorClass::Usage);
    assert_eq!(error.to_string(), expected, "{token:?}");
    assert!(!format!("{error:?}").contains("secret"), "{token:?}");
}

#[test]
fn bad_tokens_are_refused_before_any_request() {
    check_refused("", "token is empty");
    check_refused("   \n", "token is empty");
    check_refused("secret\nX-Injected: 1", "token holds a control character at byte 6");
    check_refused("sec\0ret", "token holds a control character at byte 3");
    check_refused("sec\tret", "token holds a control character at byte 3");
    check_refused("secrét", "token holds a non-ASCII character at byte 4");
}

#[tokio::test]
async fn a_token_with_an_inner_space_or_a_unicode_space_is_refused_before_any_request() {
    check_refused("secret rw", "token holds a space at byte 6");
    check_refused("  secret rw\n", "token holds a space at byte 6");
    check_refused("\u{a0}secret", "token holds a non-ASCII character at byte 0");
    check_refused("secret\u{a0}\n", "token holds a non-ASCII character at byte 6");
    check_refused("\u{feff}secret", "token holds a non-ASCII character at byte 0");
    check_refused("sec\u{7f}ret", "token holds a control character at byte 3");
    check_refused(
        "Bearer secret",
        "token starts with `Bearer `; give the token alone, without the scheme",
    );
    // Nothing reached the server for any of them.
    let server = Recorder::spawn(|_| ok_json("0")).await;
    for token in ["secret rw", "\u{a0}secret", "Bearer secret"] {
        assert!(build(&server.base(), token).is_err());
    }
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn the_token_is_trimmed_and_sent_as_a_bearer_header() {
    let server = Recorder::spawn(|_| ok_json("0")).await;
    let client = build(&server.base(), "  tok123\r\n").unwrap();
    client.count(&Selector::All).await.unwrap();
    client.renew(&Target::all()).await.unwrap_err();
    let seen = server.seen();
    assert!(seen.iter().all(|s| s.authorization().as_deref() == Some("Bearer tok123")), "{seen:?}");
}

#[tokio::test]
async fn a_token_file_with_a_newline_works_against_the_emulator() {
    let emu = support::emulator(2).await;
    let client = build(&emu.base_url(), "demo-rw-token\n").unwrap();
    assert_eq!(client.count(&Selector::All).await.unwrap(), 2);
}

#[tokio::test]
async fn an_unknown_token_is_an_authentication_error() {
    let emu = support::emulator(2).await;
    let client = build(&emu.base_url(), "no-such-token").unwrap();
    let error = client.count(&Selector::All).await.unwrap_err();
    assert!(matches!(error, Error::Unauthenticated { .. }), "{error:?}");
    assert!(error.is_auth());
    assert_eq!(error.class(), ErrorClass::Authentication);
    assert_eq!(
        error.to_string(),
        "the platform did not accept the token for `GET /api/demo/api/v1/agents/*/count` (401 unauthorized): \
         unknown token (help: send `Authorization: Bearer <token>` with a known token)"
    );
    assert!(!format!("{error:?}").contains("no-such-token"));
    assert_eq!(emu.requests().len(), 1, "a refused token is not retried");
}

#[tokio::test]
async fn a_read_only_token_reads_but_cannot_run_commands() {
    let emu = support::emulator(2).await;
    let client = build(&emu.base_url(), support::RO).unwrap();
    assert_eq!(client.count(&Selector::All).await.unwrap(), 2);

    let error = client.renew(&Target::all()).await.unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Authorization);
    assert!(error.is_auth());
    assert_eq!(
        error.to_string(),
        "the token may not `POST /api/demo/api/v1/agents/*/certificate/renew` (403 forbidden): \
         a read-only token cannot run commands (help: use a token with the read-write role)"
    );
}

#[tokio::test]
async fn debug_output_never_shows_the_token() {
    let token = "tok-DEBUG-4242";
    let config = Config::builder("http://127.0.0.1:9/", "demo", secret(token)).build().unwrap();
    let client = Client::new(config.clone()).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{:?}", Config::builder("http://x", "o", secret(token))),
    ] {
        assert!(!text.contains(token), "{text}");
    }
}

#[tokio::test]
async fn many_ids_stop_sending_after_the_token_is_refused() {
    let emu = support::emulator(40).await;
    let ids: Vec<nxlog_client::AgentId> = emu
        .agents()
        .iter()
        .map(|a| nxlog_client::AgentId::parse(a["id"].as_str().unwrap()).unwrap())
        .collect();
    for (token, refused) in [("no-such-token", 401), (support::RO, 403)] {
        emu.clear_requests();
        let config = support::config(&emu.base_url(), token).concurrency(4).build().unwrap();
        let report = Client::new(config).unwrap().renew(&Target::Ids(ids.clone())).await.unwrap();

        assert!(report.results.is_empty());
        assert_eq!(report.failures.len(), 40, "every id is reported");
        let sent = emu.requests().len();
        assert!((1..=4).contains(&sent), "{token}: at most one round in flight, {sent} sent");
        let not_sent =
            report.failures.iter().filter(|(_, e)| matches!(e, Error::NotSent { .. })).count();
        assert_eq!(not_sent, 40 - sent);
        for (_, error) in &report.failures {
            assert!(error.is_auth(), "{error:?}");
            assert_eq!(error.status().map(|s| s.as_u16()), Some(refused), "{error:?}");
        }
        let skipped =
            report.failures.iter().find(|(_, e)| matches!(e, Error::NotSent { .. })).unwrap();
        assert_eq!(
            skipped.1.to_string(),
            format!(
                "`POST /api/demo/api/v1/agents/{}/certificate/renew` not sent: an earlier request was refused with {}",
                skipped.0,
                if refused == 401 { "401 unauthorized" } else { "403 forbidden" }
            )
        );
    }
}
