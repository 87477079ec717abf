//! Redirects: commands never follow; reads follow only to the same origin,
//! so the token never reaches another server.

use nxlog_client::{Client, Error, RedirectRefusal, Selector, Target};
use nxlog_emulator::Fault;

use crate::support::{self, Recorder, answer, ok_json};

/// The second server, on another port, reached as `localhost`: another
/// origin by host and by port. It records whatever reaches it.
async fn elsewhere() -> Recorder {
    Recorder::spawn(|_| ok_json("1")).await
}

fn refusal(error: &Error) -> (u16, String, RedirectRefusal) {
    match error {
        Error::Redirect { status, location, refusal, .. } => {
            (status.as_u16(), location.clone(), *refusal)
        }
        other => panic!("expected a redirect error, found {other:?}"),
    }
}

#[tokio::test]
async fn get_does_not_follow_to_another_origin() {
    let other = elsewhere().await;
    let emu = support::emulator(3).await;
    let absolute = format!("http://localhost:{}/x", other.addr.port());
    let protocol_relative = format!("//localhost:{}/x", other.addr.port());
    let other_scheme = format!("https://127.0.0.1:{}/x", emu.local_addr().port());
    let client = support::client(&emu.base_url());

    for (code, location) in
        [(302, &absolute), (307, &absolute), (301, &protocol_relative), (308, &other_scheme)]
    {
        emu.clear_faults();
        emu.inject(Fault::redirect(code, location.clone()));
        let error = client.count(&Selector::All).await.unwrap_err();
        assert_eq!(refusal(&error), (code, location.clone(), RedirectRefusal::CrossOrigin));
        assert!(error.to_string().contains(location.as_str()), "{error}");
    }
    assert!(other.seen().is_empty(), "nothing, and so no token, reached the other origin");
}

#[tokio::test]
async fn get_follows_a_same_origin_redirect_with_the_token() {
    let emu = support::emulator(3).await;
    emu.inject(Fault::redirect(302, "{path}").times(1));
    let count = support::client(&emu.base_url()).count(&Selector::All).await.unwrap();
    assert_eq!(count, 3);
    let requests = emu.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.authorization && r.method == "GET"));
    assert_eq!(requests[0].path, requests[1].path);
}

#[tokio::test]
async fn get_follows_a_bounded_number_of_redirects() {
    let emu = support::emulator(3).await;
    emu.inject(Fault::redirect(307, "{path}"));
    let client = Client::new(
        support::config(&emu.base_url(), support::RW).max_redirects(3).build().unwrap(),
    )
    .unwrap();
    let error = client.count(&Selector::All).await.unwrap_err();
    assert_eq!(refusal(&error).2, RedirectRefusal::TooMany);
    assert_eq!(emu.requests().len(), 4, "the first request and 3 redirects");
}

#[tokio::test]
async fn post_never_follows_a_redirect() {
    for code in [301, 302, 303, 307, 308] {
        let emu = support::emulator(3).await;
        emu.inject(Fault::redirect(code, "{path}"));
        let error = support::client(&emu.base_url()).renew(&Target::all()).await.unwrap_err();
        assert_eq!(refusal(&error).2, RedirectRefusal::Command, "{code}");
        let requests = emu.requests();
        assert_eq!(requests.len(), 1, "{code}: not sent again, and not turned into a GET");
    }
}

#[tokio::test]
async fn a_redirect_without_location_is_an_error() {
    let server = Recorder::spawn(|_| answer(302, &[], "")).await;
    let error = support::client(&server.base()).count(&Selector::All).await.unwrap_err();
    assert_eq!(refusal(&error), (302, String::new(), RedirectRefusal::NoLocation));
}

#[tokio::test]
async fn same_origin_redirects_from_a_recording_server_keep_the_path_and_token() {
    let server = Recorder::spawn(|seen| {
        if seen.path.starts_with("/old") {
            answer(308, &[("location", "/api/demo/api/v1/agents/*/count")], "")
        } else {
            ok_json("2")
        }
    })
    .await;
    let client = support::client(&format!("{}/old", server.base()));
    assert_eq!(client.count(&Selector::All).await.unwrap(), 2);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].authorization().as_deref(), Some("Bearer demo-rw-token"));
}
