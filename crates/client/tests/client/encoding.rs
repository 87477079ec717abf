//! Filters travel percent-encoded exactly once: the server decodes them back
//! byte for byte, whatever the values hold.

use nxlog_client::{Selector, Target};
use nxlog_emulator::Emulator;

use crate::support::{self, Recorder, filter_param, form_decode, ok_json};

/// Host names that break naive encoders: form `+`, separators, `%`, quotes.
const AWKWARD: &[&str] = &[
    "a+b",
    "a b",
    "a&b=c",
    "a#b",
    "100%",
    "%2B",
    "say \"hi\"",
    "it's",
    "back\\slash",
    "mixed +&#%\"' x",
    "café",
    "PC1",
];

fn agent_json(index: usize, hostname: &str) -> serde_json::Value {
    serde_json::json!({
        "id": format!("00000000-0000-4000-8000-{index:012}"),
        "hostname": hostname,
        "online": true,
        "version": "6.4.9394",
        "os": "Debian 12",
        "address": "10.0.0.1",
        "certificate": { "notBefore": "2025-01-01T00:00:00Z", "notAfter": "2026-01-01T00:00:00Z" }
    })
}

/// The filter for `hostname`, quoting `"` and `\` as the language wants.
fn hostname_filter(hostname: &str) -> nxlog_filter::Filter {
    let quoted = hostname.replace('\\', "\\\\").replace('"', "\\\"");
    nxlog_filter::parse(&format!("(hostname=\"{quoted}\")")).expect("a valid filter")
}

/// Only unreserved characters and `%XX` escapes.
fn is_strictly_encoded(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => i += 1,
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn the_emulator_decodes_each_filter_back_byte_for_byte() {
    let fleet: Vec<_> = AWKWARD.iter().enumerate().map(|(i, h)| agent_json(i, h)).collect();
    let emu = Emulator::builder()
        .fleet_json(serde_json::to_string(&fleet).unwrap())
        .spawn()
        .await
        .unwrap();
    let client = support::client(&emu.base_url());

    for (index, hostname) in AWKWARD.iter().enumerate() {
        emu.clear_requests();
        let filter = hostname_filter(hostname);
        let selector = Selector::Filter(filter.clone());

        let agents = client.list_all(&selector).await.unwrap();
        let count = client.count(&selector).await.unwrap();
        let report = client.renew(&Target::Select(selector)).await.unwrap();

        let id = format!("00000000-0000-4000-8000-{index:012}");
        assert_eq!(
            agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            [id.as_str()],
            "{hostname}"
        );
        assert_eq!(count, 1, "{hostname}");
        assert_eq!(
            report.results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
            [id],
            "{hostname}"
        );
        for request in emu.requests() {
            let value = filter_param(request.query.as_deref().unwrap());
            assert!(is_strictly_encoded(&value), "{hostname}: `{value}`");
            assert_eq!(form_decode(&value), filter.to_string(), "{hostname}");
        }
    }
}

#[tokio::test]
async fn the_sent_value_is_the_filter_crates_encoding() {
    let server = Recorder::spawn(|_| ok_json("0")).await;
    let client = support::client(&server.base());
    for hostname in AWKWARD {
        let filter = hostname_filter(hostname);
        client.count(&Selector::Filter(filter.clone())).await.unwrap();
        let seen = server.seen();
        let query = seen.last().unwrap().query.clone().unwrap();
        assert_eq!(
            query,
            format!("filter={}", nxlog_filter::encode_query_value(&filter.to_string()))
        );
        assert_eq!(query, format!("filter={}", filter.to_query()));
    }
}

#[tokio::test]
async fn raw_filters_are_encoded_once_too() {
    let server = Recorder::spawn(|_| ok_json("0")).await;
    let client = support::client(&server.base());
    let raw = "(hostname=a+b&c=d #x %41)";
    client.count(&Selector::raw_filter_unchecked(raw.to_owned())).await.unwrap();
    let query = server.seen()[0].query.clone().unwrap();
    assert_eq!(query, "filter=%28hostname%3Da%2Bb%26c%3Dd%20%23x%20%2541%29");
    assert_eq!(form_decode(&filter_param(&query)), raw);
}

#[tokio::test]
async fn star_stays_literal_in_the_path() {
    let server = Recorder::spawn(|_| ok_json("[]")).await;
    support::client(&server.base()).renew(&Target::all()).await.unwrap();
    assert_eq!(server.seen()[0].path, "/api/demo/api/v1/agents/*/certificate/renew");
    assert_eq!(server.seen()[0].query, None);
}

#[test]
fn strict_encoding_check() {
    for (value, ok) in [
        ("%28a%29", true),
        ("a-b.c_d~", true),
        ("a+b", false),
        ("a b", false),
        ("%2", false),
        ("%zz", false),
    ] {
        assert_eq!(is_strictly_encoded(value), ok, "{value}");
    }
}

#[tokio::test]
async fn command_urls_are_the_urls_sent() {
    let server = Recorder::spawn(|_| {
        ok_json(r#"[{"id":"1589a98a-66b3-11ee-80d5-4f584c6f672d","status":"success"}]"#)
    })
    .await;
    let client = support::client(&format!("{}/?tenant=x%20y", server.base()));
    let selector = Selector::Filter(hostname_filter("a b+c"));
    let id = nxlog_client::AgentId::parse("1589a98a-66b3-11ee-80d5-4f584c6f672d").unwrap();

    client.run(nxlog_client::Command::Renew, &Target::Select(selector.clone())).await.unwrap();
    client.run(nxlog_client::Command::FilesSync, &Target::Id(id.clone())).await.unwrap();

    let sent: Vec<String> = server
        .seen()
        .iter()
        .map(|s| {
            format!("{}{}", s.path, s.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default())
        })
        .collect();
    let expected: Vec<String> = [
        client.command_url(nxlog_client::Command::Renew, &selector),
        client.id_command_url(nxlog_client::Command::FilesSync, &id),
    ]
    .iter()
    .map(|url| url[url::Position::BeforePath..].to_owned())
    .collect();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn an_encoded_base_path_is_not_encoded_again() {
    let id = nxlog_client::AgentId::parse("1589a98a-66b3-11ee-80d5-4f584c6f672d").unwrap();
    for (prefix, expected) in [
        ("/a b/", "/a%20b/"),
        ("/a%20b/", "/a%20b/"),
        ("/a%2Fb/", "/a%2Fb/"),
        ("/a%25b", "/a%25b/"),
        ("/gw/日本/", "/gw/%E6%97%A5%E6%9C%AC/"),
        ("/a%20b/api/demo/api/v1/", "/a%20b/"),
    ] {
        let server =
            Recorder::spawn(|seen| ok_json(if seen.path.ends_with("/count") { "0" } else { "[]" }))
                .await;
        let client = support::client(&format!("{}{prefix}", server.base()));
        let api = format!("{expected}api/demo/api/v1/");
        assert_eq!(client.api_base().path(), api, "{prefix}");

        client.count(&Selector::All).await.unwrap();
        client.list_all(&Selector::All).await.unwrap();
        client.renew(&Target::all()).await.unwrap();
        client.files_sync(&Target::Id(id.clone())).await.unwrap();
        let paths: Vec<String> = server.seen().iter().map(|s| s.path.clone()).collect();
        assert_eq!(
            paths,
            [
                format!("{api}agents/*/count"),
                format!("{api}agents/*"),
                format!("{api}agents/*/certificate/renew"),
                format!("{api}agents/{id}/files-sync"),
            ],
            "{prefix}"
        );
        assert!(paths.iter().all(|p| !p.contains("%25") || prefix.contains("%25")), "{paths:?}");
    }
}

#[tokio::test]
async fn a_base_url_naming_another_organisation_is_refused() {
    for base in ["http://127.0.0.1:9/api/other/api/v1/", "http://127.0.0.1:9/gw/api/other/api/v1"] {
        let error = support::config(base, support::RW).build().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "invalid base url `{base}`: expected the api path of organisation `demo`, found that of `other`; \
                 give the platform base or the matching organisation"
            )
        );
    }
    // The full API base of the right organisation is used as it is.
    let emu = support::emulator(2).await;
    let client = support::client(&emu.api_base());
    assert_eq!(client.api_base().as_str(), emu.api_base());
    assert_eq!(client.count(&Selector::All).await.unwrap(), 2);
}
