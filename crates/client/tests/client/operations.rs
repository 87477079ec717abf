//! Every operation against the emulator: list, count, get, renew, files-sync.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use nxlog_client::{AgentId, Client, Command, Error, Selector, Status, Target};
use serde_json::Value;

use crate::support::{self, Recorder, ok_json};

fn ids_of(agents: &[Value]) -> Vec<String> {
    agents.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

fn filter(text: &str) -> Selector {
    Selector::Filter(nxlog_filter::parse(text).expect("a valid filter"))
}

fn small_pages(base: &str, size: u32) -> Client {
    Client::new(support::config(base, support::RW).page_size(size).build().unwrap()).unwrap()
}

#[tokio::test]
async fn list_walks_every_page_until_an_empty_one() {
    let emu = support::emulator(50).await;
    let client = small_pages(&emu.base_url(), 7);

    let agents = client.list_all(&Selector::All).await.unwrap();

    let got: Vec<String> = agents.iter().map(|a| a.id.clone()).collect();
    assert_eq!(got, ids_of(&emu.agents()));
    let offsets: Vec<String> =
        emu.requests().iter().map(|r| r.query.clone().unwrap_or_default()).collect();
    let expected: Vec<String> = (0..=8).map(|page| format!("offset={page}&limit=7")).collect();
    assert_eq!(offsets, expected, "8 pages of agents, then an empty one");
    assert!(
        emu.requests().iter().all(|r| r.method == "GET" && r.path == "/api/demo/api/v1/agents/*")
    );
}

#[tokio::test]
async fn list_keeps_typed_and_unknown_members() {
    let emu = support::emulator(3).await;
    let agents = support::client(&emu.base_url()).list_all(&Selector::All).await.unwrap();
    for (agent, json) in agents.iter().zip(emu.agents()) {
        assert_eq!(agent.hostname.as_deref(), json["hostname"].as_str());
        assert_eq!(agent.online, json["online"].as_bool());
        let certificate = agent.certificate.as_ref().unwrap();
        assert_eq!(certificate.not_after.as_deref(), json["certificate"]["notAfter"].as_str());
        assert!(certificate.not_after_time().is_some());
        assert_eq!(agent.extra["os"], json["os"]);
        assert_eq!(agent.to_json(), json, "nothing lost");
    }
}

#[tokio::test]
async fn list_is_lazy_and_streams() {
    let emu = support::emulator(30).await;
    let client = small_pages(&emu.base_url(), 10);
    let mut stream = std::pin::pin!(client.list(&Selector::All));
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.id, ids_of(&emu.agents())[0]);
    assert_eq!(emu.requests().len(), 1, "only the first page was fetched");
}

#[tokio::test]
async fn list_and_count_with_a_filter() {
    let emu = support::emulator(40).await;
    let client = small_pages(&emu.base_url(), 5);
    let selector = filter("(hostname LIKE \"PC%\")");

    let agents = client.list_all(&selector).await.unwrap();
    let count = client.count(&selector).await.unwrap();

    let expected: Vec<String> = emu
        .agents()
        .iter()
        .filter(|a| a["hostname"].as_str().unwrap().starts_with("PC"))
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(agents.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), expected);
    assert_eq!(count, expected.len() as u64);
    assert_eq!(client.count(&Selector::All).await.unwrap(), 40);
}

#[tokio::test]
async fn list_page_fetches_one_page() {
    let emu = support::emulator(12).await;
    let client = small_pages(&emu.base_url(), 5);
    let page = client.list_page(&Selector::All, 2).await.unwrap();
    assert_eq!(page.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), ids_of(&emu.agents())[10..]);
}

#[tokio::test]
async fn get_one_agent_and_an_unknown_one() {
    let emu = support::emulator(5).await;
    let client = support::client(&emu.base_url());
    let json = &emu.agents()[3];
    let id = AgentId::parse(json["id"].as_str().unwrap()).unwrap();

    let agent = client.get(&id).await.unwrap();
    assert_eq!(agent.to_json(), *json);

    let unknown = AgentId::parse("00000000-0000-4000-8000-000000000000").unwrap();
    let error = client.get(&unknown).await.unwrap_err();
    assert!(matches!(&error, Error::Api { status, .. } if status.as_u16() == 404), "{error:?}");
    assert_eq!(
        error.to_string(),
        "`GET /api/demo/api/v1/agents/00000000-0000-4000-8000-000000000000` failed with 404 not found: \
         no agent with id `00000000-0000-4000-8000-000000000000` (help: list agents with `GET agents/*`)"
    );
}

#[tokio::test]
async fn renew_all_renews_every_agent() {
    let emu = support::emulator(20).await;
    let before = emu.agents();

    let report = support::client(&emu.base_url()).renew(&Target::all()).await.unwrap();

    assert_eq!(report.results.len(), 20);
    assert!(report.all_succeeded(), "{report:?}");
    let requests = emu.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/api/demo/api/v1/agents/*/certificate/renew");
    assert_eq!(requests[0].query, None);
    let renewed = before
        .iter()
        .zip(emu.agents())
        .filter(|(old, new)| old["certificate"] != new["certificate"])
        .count();
    let online = before.iter().filter(|a| a["online"] == true).count();
    assert_eq!(renewed, online, "online agents get a new certificate");
}

#[tokio::test]
async fn renew_with_a_filter_renews_only_matches() {
    let emu = support::emulator(20).await;
    let hostname = emu.agents()[4]["hostname"].as_str().unwrap().to_owned();
    let id = emu.agents()[4]["id"].as_str().unwrap().to_owned();
    let selector = filter(&format!("(hostname=\"{hostname}\")"));

    let report = support::client(&emu.base_url()).renew(&Target::from(selector)).await.unwrap();

    assert_eq!(report.results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), vec![id]);
    assert_eq!(report.results[0].status, Status::Success);
}

#[tokio::test]
async fn renew_with_a_filter_matching_nothing_is_empty() {
    let emu = support::emulator(5).await;
    let report = support::client(&emu.base_url())
        .renew(&Target::from(filter("(hostname=no-such-host)")))
        .await
        .unwrap();
    assert!(
        report.results.is_empty() && report.failures.is_empty() && report.unreported.is_empty()
    );
}

#[tokio::test]
async fn renew_one_id() {
    let emu = support::emulator(5).await;
    let id = AgentId::parse(emu.agents()[2]["id"].as_str().unwrap()).unwrap();

    let report = support::client(&emu.base_url()).renew(&Target::Id(id.clone())).await.unwrap();

    assert_eq!(report.results.len(), 1);
    assert_eq!(report.results[0].id, id.as_str());
    assert!(report.all_succeeded());
    assert_eq!(emu.requests()[0].path, format!("/api/demo/api/v1/agents/{id}/certificate/renew"));
}

#[tokio::test]
async fn renew_one_unknown_id_is_an_error() {
    let emu = support::emulator(5).await;
    let id = AgentId::parse("00000000-0000-4000-8000-000000000000").unwrap();
    let error = support::client(&emu.base_url()).renew(&Target::Id(id)).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404), "{error:?}");
}

#[tokio::test]
async fn renew_many_ids_reports_every_id_in_order() {
    let emu = support::emulator(30).await;
    let mut ids: Vec<AgentId> =
        ids_of(&emu.agents()).iter().map(|id| AgentId::parse(id).unwrap()).collect();
    let unknown = [
        AgentId::parse("00000000-0000-4000-8000-000000000001").unwrap(),
        AgentId::parse("00000000-0000-4000-8000-000000000002").unwrap(),
    ];
    ids.insert(3, unknown[0].clone());
    ids.push(unknown[1].clone());
    let client =
        Client::new(support::config(&emu.base_url(), support::RW).concurrency(4).build().unwrap())
            .unwrap();

    let report = client.renew(&Target::Ids(ids.clone())).await.unwrap();

    let known: Vec<String> = ids_of(&emu.agents());
    assert_eq!(
        report.results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        known,
        "input order"
    );
    let failed: Vec<AgentId> = report.failures.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(failed, unknown.to_vec());
    assert!(report.failures.iter().all(|(_, e)| e.status().map(|s| s.as_u16()) == Some(404)));
    assert!(report.unreported.is_empty());
    assert_eq!(emu.requests().len(), 32, "one request per id");
    assert!(!report.all_succeeded());
}

#[tokio::test]
async fn run_each_yields_one_outcome_per_id() {
    let emu = support::emulator(25).await;
    let ids: Vec<AgentId> =
        ids_of(&emu.agents()).iter().map(|id| AgentId::parse(id).unwrap()).collect();
    let client = support::client(&emu.base_url());

    let outcomes: Vec<_> =
        futures::StreamExt::collect::<Vec<_>>(client.run_each(Command::FilesSync, ids.clone()))
            .await;

    let seen: BTreeSet<AgentId> = outcomes.iter().map(|o| o.id.clone()).collect();
    assert_eq!(seen, ids.into_iter().collect());
    assert!(outcomes.iter().all(|o| o.result.as_ref().is_ok_and(|r| r.len() == 1)));
    assert!(emu.requests().iter().all(|r| r.path.ends_with("/files-sync")));
}

#[tokio::test]
async fn many_ids_with_none_sends_nothing() {
    let emu = support::emulator(5).await;
    let report = support::client(&emu.base_url()).renew(&Target::Ids(Vec::new())).await.unwrap();
    assert!(report.results.is_empty() && report.failures.is_empty());
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn files_sync_clears_the_pending_sync_of_offline_renewed_agents() {
    let emu = support::emulator(40).await;
    let client = support::client(&emu.base_url());
    let offline: Vec<String> = emu
        .agents()
        .iter()
        .filter(|a| a["online"] == false)
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!offline.is_empty());

    client.renew(&Target::all()).await.unwrap();
    for id in &offline {
        emu.set_online(id.parse().unwrap(), true);
    }
    let pending = |emu: &nxlog_emulator::Emulator| {
        emu.agents().iter().filter(|a| a["needsFilesSync"] == true).count()
    };
    assert!(pending(&emu) >= offline.len());

    let report = client.files_sync(&Target::all()).await.unwrap();
    assert_eq!(report.results.len(), 40);
    assert_eq!(pending(&emu), 0);
    assert_eq!(emu.requests()[1].path, "/api/demo/api/v1/agents/*/files-sync");
}

#[tokio::test]
async fn an_empty_array_for_one_id_is_reported_as_unreported() {
    let server = Recorder::spawn(|_| ok_json("[]")).await;
    let id = AgentId::parse("1589a98a-66b3-11ee-80d5-4f584c6f672d").unwrap();
    let report = support::client(&server.base()).renew(&Target::Id(id.clone())).await.unwrap();
    assert_eq!(report.unreported, vec![id]);
    assert!(!report.all_succeeded());
}

#[tokio::test]
async fn item_errors_and_unknown_statuses_are_kept() {
    let body = r#"[
        {"id":"a","status":"success"},
        {"id":"b","status":"error","error":"{\"message\":\"agent is offline\",\"help\":\"run files-sync later\"}"},
        {"id":"c","status":"error","error":"<html>plain</html>"},
        {"id":"d","status":"queued","extra":1}
    ]"#;
    let server = Recorder::spawn(move |_| ok_json(body)).await;
    let report = support::client(&server.base()).renew(&Target::all()).await.unwrap();
    let rows: Vec<String> = report
        .results
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.id,
                r.status,
                r.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "a success ",
            "b error agent is offline (help: run files-sync later)",
            "c error <html>plain</html>",
            "d queued ",
        ]
    );
    assert_eq!(report.results[3].status, Status::Other("queued".into()));
    assert_eq!(report.results[3].extra["extra"], 1);
    assert!(!report.all_succeeded());
}

#[tokio::test]
async fn a_server_that_ignores_offset_stops_the_listing() {
    let page = r#"[{"id":"a"},{"id":"b"}]"#;
    let server = Recorder::spawn(move |_| ok_json(page)).await;
    let client = small_pages(&server.base(), 2);

    let mut got = Vec::new();
    let mut stream = std::pin::pin!(client.list(&Selector::All));
    let error = loop {
        match stream.try_next().await {
            Ok(Some(agent)) => got.push(agent.id),
            Ok(None) => panic!("the listing must not end quietly"),
            Err(error) => break error,
        }
    };

    assert_eq!(got, ["a", "b"], "the first page is delivered once");
    assert!(matches!(error, Error::Paging { page: 1, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "listing `/api/demo/api/v1/agents/*` stopped at page 1: the server sent the previous page again; it seems to ignore `offset`"
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_listing_stops_at_the_page_limit() {
    let server = Recorder::spawn(|seen| {
        let offset = seen.query.as_deref().unwrap_or("").to_owned();
        ok_json(&format!(r#"[{{"id":"{offset}"}}]"#))
    })
    .await;
    let client =
        Client::new(support::config(&server.base(), support::RW).max_pages(3).build().unwrap())
            .unwrap();
    let error = client.list_all(&Selector::All).await.unwrap_err();
    assert!(matches!(error, Error::Paging { page: 3, .. }), "{error:?}");
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn count_needs_a_bare_integer() {
    let server = Recorder::spawn(|_| ok_json(r#"{"count": 3}"#)).await;
    let error = support::client(&server.base()).count(&Selector::All).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_eq!(server.seen()[0].path, "/api/demo/api/v1/agents/*/count");
}

#[tokio::test]
async fn one_connection_pool_serves_every_call_and_clone() {
    let server = Recorder::spawn(|_| ok_json("1")).await;
    let client = support::client(&server.base());
    let clone = client.clone();
    for _ in 0..3 {
        client.count(&Selector::All).await.unwrap();
        clone.count(&Selector::All).await.unwrap();
    }
    let peers: BTreeSet<_> = server.seen().iter().map(|s| s.peer).collect();
    assert_eq!(peers.len(), 1, "sequential calls reuse one connection: {peers:?}");
}

#[tokio::test]
async fn many_ids_run_at_most_the_configured_concurrency() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // A server that holds each request 30 ms and records the most in flight.
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (in_flight, peak) = (now.clone(), most.clone());
    let app = axum::Router::new().fallback(move || {
        let (in_flight, peak) = (in_flight.clone(), peak.clone());
        async move {
            let current = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(current, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            ok_json("[]")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let ids: Vec<AgentId> = (0..24)
        .map(|i| AgentId::parse(&format!("00000000-0000-4000-8000-{i:012}")).unwrap())
        .collect();
    for concurrency in [1, 4] {
        most.store(0, Ordering::SeqCst);
        let config = support::config(&base, support::RW).concurrency(concurrency).build().unwrap();
        let report = Client::new(config).unwrap().renew(&Target::Ids(ids.clone())).await.unwrap();
        assert_eq!(report.unreported.len(), 24, "every id accounted for");
        assert_eq!(most.load(Ordering::SeqCst), concurrency, "peak in flight");
    }
    server.abort();
}

const ID1: &str = "2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e01";
const ID2: &str = "2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e02";
const ID3: &str = "2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e03";

/// `id status message` for each result, and the raw item for malformed ones.
fn rows(results: &[nxlog_client::AgentResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| match (&r.error, r.is_malformed()) {
            (Some(e), true) => format!("{} {} {} | {}", r.id, r.status, e, e.raw),
            (e, _) => format!(
                "{} {} {}",
                r.id,
                r.status,
                e.as_ref().map(|e| e.to_string()).unwrap_or_default()
            ),
        })
        .collect()
}

#[tokio::test]
async fn one_malformed_item_does_not_discard_the_rest_of_a_command_answer() {
    let body = format!(
        r#"[{{"id":"{ID1}","status":"success"}},{{"id":"{ID2}"}},{{"status":"success"}},{{"id":"{ID3}","status":null}},5]"#
    );
    let server = Recorder::spawn(move |_| ok_json(&body)).await;
    let client = support::client(&server.base());
    for command in [Command::Renew, Command::FilesSync] {
        let report = client.run(command, &Target::Select(filter("(hostname=PC1)"))).await.unwrap();
        assert_eq!(
            rows(&report.results),
            [
                format!("{ID1} success "),
                format!(
                    "{ID2} malformed expected a string `status`, found no `status` member | {{\"id\":\"{ID2}\"}}"
                ),
                " malformed expected a string `id`, found no `id` member | {\"status\":\"success\"}"
                    .to_owned(),
                format!(
                    "{ID3} malformed expected a string `status`, found `null` | {{\"id\":\"{ID3}\",\"status\":null}}"
                ),
                " malformed expected an object with `id` and `status`, found `5` | 5".to_owned(),
            ]
        );
        assert_eq!(report.malformed().count(), 4);
        assert_eq!(report.results[1].status, Status::Malformed);
        assert!(report.failures.is_empty() && report.unreported.is_empty());
        assert!(!report.all_succeeded());
    }
}

#[tokio::test]
async fn a_malformed_answer_for_one_id_of_many_names_that_id_not_a_failure() {
    // Each id's request is answered for that id; the second one's item has
    // no status, the third one's answer is not an object.
    let server = Recorder::spawn(|seen| {
        let id = seen.path.split('/').nth(6).unwrap_or_default().to_owned();
        if id == ID2 {
            ok_json(&format!(r#"[{{"id":"{id}","status":null}}]"#))
        } else if id == ID3 {
            ok_json(r#"["renewed"]"#)
        } else {
            ok_json(&format!(r#"[{{"id":"{id}","status":"success"}}]"#))
        }
    })
    .await;
    let ids: Vec<AgentId> = [ID1, ID2, ID3].iter().map(|id| AgentId::parse(id).unwrap()).collect();
    let report = support::client(&server.base()).renew(&Target::Ids(ids.clone())).await.unwrap();
    assert_eq!(
        rows(&report.results),
        [
            format!("{ID1} success "),
            format!(
                "{ID2} malformed expected a string `status`, found `null` | {{\"id\":\"{ID2}\",\"status\":null}}"
            ),
            " malformed expected an object with `id` and `status`, found a string | \"renewed\""
                .to_owned(),
        ]
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.unreported, vec![ids[2].clone()], "an item without an id names no id");
    assert!(!report.all_succeeded());
}

#[tokio::test]
async fn an_answer_that_is_not_an_array_is_still_a_decode_error() {
    let server = Recorder::spawn(|_| ok_json(r#"{"id":"x","status":"success"}"#)).await;
    let error = support::client(&server.base()).renew(&Target::all()).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}
