//! Regression tests from public bug reports about HTTP clients of this kind,
//! one per report, named after its cause.

use nxlog_client::{Client, Error, RedirectRefusal, Selector, Target};
use nxlog_emulator::Fault;

use crate::support::{self, Recorder, answer, filter_param, form_decode, ok_json, params};

/// Sends `filter` (raw, exactly as written) with a count and returns the raw
/// query string that arrived.
async fn sent_query(filter: &str) -> String {
    let server = Recorder::spawn(|_| ok_json("0")).await;
    support::client(&server.base())
        .count(&Selector::raw_filter_unchecked(filter.to_owned()))
        .await
        .unwrap();
    server.seen()[0].query.clone().unwrap()
}

/// Sends the parsed, canonical `filter` and checks it arrives strictly
/// encoded and decodes back to the canonical text byte for byte.
async fn check_parsed_round_trip(filter: &str) {
    let filter = nxlog_filter::parse(filter).unwrap();
    let server = Recorder::spawn(|_| ok_json("0")).await;
    support::client(&server.base()).count(&Selector::Filter(filter.clone())).await.unwrap();
    let query = server.seen()[0].query.clone().unwrap();
    let value = filter_param(&query);
    assert!(!value.contains('+') && !value.contains(' '), "{value}");
    assert_eq!(form_decode(&value), filter.to_string());
}

#[tokio::test]
async fn b33_plus_in_an_offset_is_encoded_not_sent_as_a_space() {
    let input = "(certificate/not-after lt \"2024-09-22T02:00:00+02:00\")";
    let query = sent_query(input).await;
    let value = filter_param(&query);
    assert_eq!(
        value,
        "%28certificate%2Fnot-after%20lt%20%222024-09-22T02%3A00%3A00%2B02%3A00%22%29"
    );
    assert!(value.contains("%2B02") && !value.contains('+'));
    assert_eq!(form_decode(&value), input, "decodes back byte for byte, not `02:00:00 02:00`");
    check_parsed_round_trip(input).await;
}

#[tokio::test]
async fn b34_ampersand_in_a_value_does_not_split_the_query() {
    let input = "(q=\"a+b&c=d\")";
    let query = sent_query(input).await;
    assert_eq!(query, "filter=%28q%3D%22a%2Bb%26c%3Dd%22%29");
    assert_eq!(params(&query).len(), 1, "no extra `c` parameter");
    check_parsed_round_trip(input).await;

    // The emulator sees one filter and decodes it back.
    let emu = support::emulator(3).await;
    let client = support::client(&emu.base_url());
    let count = client.count(&Selector::raw_filter_unchecked(input.to_owned())).await.unwrap();
    assert_eq!(count, 0);
    let request = &emu.requests()[0];
    assert_eq!(request.query.as_deref(), Some("filter=%28q%3D%22a%2Bb%26c%3Dd%22%29"));
}

#[tokio::test]
async fn b36_space_is_percent_20_not_plus() {
    let input = "(displayName=\"EDU All staff\")";
    let query = sent_query(input).await;
    assert_eq!(filter_param(&query), "%28displayName%3D%22EDU%20All%20staff%22%29");
    check_parsed_round_trip(input).await;
}

#[tokio::test]
async fn b38_no_double_encoding_with_a_base_query_and_a_retry() {
    let input = "(path=\"a b\")";
    let expected = "%28path%3D%22a%20b%22%29";
    assert_eq!(filter_param(&sent_query(input).await), expected);

    // Against the emulator (which takes no other query parameter): the
    // retried request carries the same, once-encoded filter.
    let emu = support::emulator(3).await;
    emu.inject(Fault::status(503).times(1));
    let client = support::client(&emu.base_url());
    client.count(&Selector::raw_filter_unchecked(input.to_owned())).await.unwrap();
    client.renew(&Target::Select(Selector::raw_filter_unchecked(input.to_owned()))).await.unwrap();
    let requests = emu.requests();
    assert_eq!(requests.len(), 3, "503, its retry, the renew");
    for request in &requests {
        assert_eq!(request.query.as_deref(), Some(format!("filter={expected}").as_str()));
    }

    // With a query on the base URL (a gateway's routing key), against a
    // server that answers the first request 503.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = Recorder::spawn(move |seen| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            answer(503, &[], "")
        } else if seen.method == "POST" {
            ok_json("[]")
        } else {
            ok_json("0")
        }
    })
    .await;
    let client = support::client(&format!("{}/?tenant=x%20y", server.base()));
    client.count(&Selector::raw_filter_unchecked(input.to_owned())).await.unwrap();
    client.renew(&Target::Select(Selector::raw_filter_unchecked(input.to_owned()))).await.unwrap();

    let seen = server.seen();
    assert_eq!(seen.len(), 3, "503, its retry, the renew");
    for request in &seen {
        let query = request.query.as_deref().unwrap();
        assert_eq!(query, format!("tenant=x%20y&filter={expected}"));
        assert!(!query.contains("%25"), "{query}");
    }
}

#[tokio::test]
async fn b39_token_never_reaches_another_origin_after_a_redirect() {
    let other = Recorder::spawn(|_| ok_json("[]")).await;
    let port = other.addr.port();
    for location in [format!("http://localhost:{port}/search"), format!("//localhost:{port}/x")] {
        let target = location.clone();
        let first = Recorder::spawn(move |_| answer(307, &[("location", &target)], "")).await;
        let client =
            Client::new(support::config(&format!("{}/", first.base()), "tok123").build().unwrap())
                .unwrap();
        let filter = Selector::Filter(nxlog_filter::parse("(hostname=PC1)").unwrap());

        let post = client.renew(&Target::Select(filter.clone())).await.unwrap_err();
        let get = client.count(&filter).await.unwrap_err();

        assert!(
            matches!(&post, Error::Redirect { location: l, refusal: RedirectRefusal::Command, .. } if *l == location),
            "{post:?}"
        );
        assert!(
            matches!(&get, Error::Redirect { location: l, refusal: RedirectRefusal::CrossOrigin, .. } if *l == location),
            "{get:?}"
        );
        for error in [&post, &get] {
            assert!(error.to_string().contains(&format!("location `{location}`")), "{error}");
            assert!(error.to_string().contains("307"), "{error}");
        }
        assert_eq!(first.seen().len(), 2);
        assert!(first.seen().iter().all(|s| s.authorization().as_deref() == Some("Bearer tok123")));
    }
    assert!(
        other.seen().iter().all(|s| s.authorization().is_none()),
        "no token at the other origin"
    );
    assert!(other.seen().is_empty(), "not followed at all");
}

#[tokio::test]
async fn b40_post_redirect_is_an_error_not_a_silent_get() {
    for code in [302, 307, 308] {
        let server = Recorder::spawn(move |seen| {
            if seen.method == "POST" {
                answer(code, &[("location", "/v2/search")], "")
            } else {
                ok_json(r#"[{"id":"x","status":"success"}]"#)
            }
        })
        .await;
        let error = support::client(&server.base()).renew(&Target::all()).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&code.to_string()), "{message}");
        assert!(message.contains("`/v2/search`"), "{message}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(code));
        let seen = server.seen();
        assert_eq!(seen.len(), 1, "{code}: no follow-up request");
        assert_eq!(seen[0].method, "POST");
    }
}
