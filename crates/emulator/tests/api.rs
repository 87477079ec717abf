//! The emulator over real HTTP: endpoints, statuses, encodings, faults,
//! state on shutdown, and the binary.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nxlog_emulator::{DEFAULT_RO_TOKEN, DEFAULT_RW_TOKEN, Emulator, Fault, Role};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RW: &str = DEFAULT_RW_TOKEN;
const RO: &str = DEFAULT_RO_TOKEN;
const AGENTS: &str = "/api/demo/api/v1/agents";

fn now() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

async fn demo(count: usize) -> Emulator {
    Emulator::builder().demo(count, 7).now(now()).spawn().await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Sends `method target` (path and query exactly as given) and returns the
/// status, headers and body.
async fn send(
    emu: &Emulator,
    method: &str,
    target: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let url = format!("{}{}", emu.base_url(), target);
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn json(emu: &Emulator, method: &str, target: &str) -> Value {
    let (status, _, body) = send(emu, method, target, Some(RW)).await;
    assert_eq!(status, 200, "{method} {target}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Writes the request line byte for byte, as curl or Python would send it,
/// bypassing any client-side URL normalisation.
async fn raw(emu: &Emulator, method: &str, target: &str, token: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(emu.local_addr()).await.unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

fn ids(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

#[track_caller]
fn assert_status(got: (u16, String), want: u16, context: &str) {
    assert_eq!(got.0, want, "{context}: {}", got.1);
}

// --- statuses -----------------------------------------------------------

#[tokio::test]
async fn every_endpoint_answers_its_status() {
    let emu = demo(30).await;
    let id = emu.agent_records()[0].id();
    let unknown = "00000000-0000-4000-8000-000000000000";

    async fn check(emu: &Emulator, method: &str, target: &str, token: Option<&str>, want: u16) {
        let (status, _, body) = send(emu, method, target, token).await;
        assert_eq!(status, want, "{method} {target} with {token:?}: {body}");
        if status >= 400 {
            let body: Value = serde_json::from_str(&body).unwrap();
            assert!(body["message"].is_string() && body["help"].is_string(), "{body}");
        }
    }

    check(&emu, "GET", &format!("{AGENTS}/*"), Some(RW), 200).await;
    check(&emu, "GET", &format!("{AGENTS}/*/"), Some(RO), 200).await;
    check(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RO), 200).await;
    check(&emu, "GET", &format!("{AGENTS}/{id}"), Some(RO), 200).await;
    check(&emu, "POST", &format!("{AGENTS}/*/certificate/renew"), Some(RW), 200).await;
    check(&emu, "POST", &format!("{AGENTS}/{id}/certificate/renew"), Some(RW), 200).await;
    check(&emu, "POST", &format!("{AGENTS}/*/files-sync"), Some(RW), 200).await;
    check(&emu, "POST", &format!("{AGENTS}/{id}/files-sync/"), Some(RW), 200).await;
    check(&emu, "GET", &format!("{AGENTS}/*"), None, 401).await;
    check(&emu, "GET", &format!("{AGENTS}/*"), Some("wrong"), 401).await;
    check(&emu, "POST", &format!("{AGENTS}/*/certificate/renew"), None, 401).await;
    check(&emu, "POST", &format!("{AGENTS}/*/certificate/renew"), Some(RO), 403).await;
    check(&emu, "POST", &format!("{AGENTS}/{id}/files-sync"), Some(RO), 403).await;
    check(&emu, "POST", &format!("{AGENTS}/*/certificate/renew?filter=(("), Some(RO), 403).await;
    check(&emu, "GET", "/api/other/api/v1/agents/*", Some(RW), 404).await;
    check(&emu, "GET", &format!("{AGENTS}/{unknown}"), Some(RW), 404).await;
    check(&emu, "POST", &format!("{AGENTS}/{unknown}/certificate/renew"), Some(RW), 404).await;
    check(&emu, "POST", &format!("{AGENTS}/{unknown}/files-sync"), Some(RW), 404).await;
    check(&emu, "GET", &format!("{AGENTS}/PC1"), Some(RW), 404).await;
    check(&emu, "GET", "/api/demo/api/v1/templates/*", Some(RW), 404).await;
    check(&emu, "GET", "/nothing", Some(RW), 404).await;
    check(&emu, "GET", &format!("{AGENTS}/*/certificate/renew"), Some(RW), 405).await;
    check(&emu, "GET", &format!("{AGENTS}/*?filter=(hostname"), Some(RW), 400).await;
    check(&emu, "GET", &format!("{AGENTS}/*/count?filter=%28%29"), Some(RW), 400).await;
    check(
        &emu,
        "POST",
        &format!("{AGENTS}/{id}/certificate/renew?filter=(hostname=PC1)"),
        Some(RW),
        400,
    )
    .await;
    check(&emu, "GET", &format!("{AGENTS}/*?limit=0"), Some(RW), 400).await;
    check(&emu, "GET", &format!("{AGENTS}/*?limit=1001"), Some(RW), 400).await;
    check(&emu, "GET", &format!("{AGENTS}/*?limit=ten"), Some(RW), 400).await;
    check(&emu, "GET", &format!("{AGENTS}/*?offset=-1"), Some(RW), 400).await;
    check(&emu, "GET", &format!("{AGENTS}/*?offset=1&offset=2"), Some(RW), 400).await;
}

#[tokio::test]
async fn unauthorised_answers_carry_www_authenticate() {
    let emu = demo(1).await;
    let (status, headers, _) = send(&emu, "GET", &format!("{AGENTS}/*"), None).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn wrong_method_names_the_allowed_one() {
    let emu = demo(1).await;
    let (status, headers, _) =
        send(&emu, "DELETE", &format!("{AGENTS}/*/files-sync"), Some(RW)).await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "POST");
}

#[tokio::test]
async fn bad_filter_answers_message_and_caret_help() {
    let emu = demo(5).await;
    let (status, headers, body) =
        send(&emu, "GET", &format!("{AGENTS}/*?filter=%28hostname%3D%3DPC1%20and%29"), Some(RW))
            .await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&body).unwrap();
    let message = body["message"].as_str().unwrap();
    let help = body["help"].as_str().unwrap();
    assert!(!message.contains('\n'), "{message}");
    assert!(help.contains('^'), "{help}");
    assert!(help.contains("(hostname==PC1 and)"), "{help}");
}

// --- listing -------------------------------------------------------------

#[tokio::test]
async fn list_pages_by_page_number() {
    let emu = demo(250).await;
    let all: Vec<String> = emu.agent_records().iter().map(|a| a.id_str().to_string()).collect();

    let first = json(&emu, "GET", &format!("{AGENTS}/*")).await;
    assert_eq!(ids(&first), all[..100], "default limit is 100, fleet order");

    let mut paged = Vec::new();
    for page in 0.. {
        let items = json(&emu, "GET", &format!("{AGENTS}/*?offset={page}&limit=40")).await;
        let is_last_page = items.as_array().unwrap().is_empty();
        if is_last_page {
            assert_eq!(page, 7, "250 agents in pages of 40 end with page 7 empty");
            break;
        }
        paged.extend(ids(&items));
    }
    assert_eq!(paged, all);

    let last = json(&emu, "GET", &format!("{AGENTS}/*?offset=6&limit=40")).await;
    assert_eq!(ids(&last), all[240..]);
    let past = json(&emu, "GET", &format!("{AGENTS}/*?offset=999999&limit=1000")).await;
    assert_eq!(past, json!([]));
    let max = json(&emu, "GET", &format!("{AGENTS}/*?limit=1000")).await;
    assert_eq!(ids(&max), all);
}

#[tokio::test]
async fn count_get_and_list_agree() {
    let emu = demo(120).await;
    let records = emu.agent_records();
    let offline = records.iter().filter(|a| !a.online).count();

    let count = json(&emu, "GET", &format!("{AGENTS}/*/count")).await;
    assert_eq!(count, json!(120));
    let count = json(&emu, "GET", &format!("{AGENTS}/*/count?filter=(online=false)")).await;
    assert_eq!(count, json!(offline));
    let none = json(&emu, "GET", &format!("{AGENTS}/*/count?filter=(hostname=nobody)")).await;
    assert_eq!(none, json!(0));
    let empty = json(&emu, "GET", &format!("{AGENTS}/*?filter=(hostname=nobody)")).await;
    assert_eq!(empty, json!([]));

    let agent = &records[3];
    let one = json(&emu, "GET", &format!("{AGENTS}/{}", agent.id())).await;
    assert_eq!(one, agent.to_json());
    let upper = agent.id().hyphenated().to_string().to_uppercase();
    let same = json(&emu, "GET", &format!("{AGENTS}/{upper}")).await;
    assert_eq!(same, one, "ids are matched case-insensitively as UUIDs");
}

#[tokio::test]
async fn agent_records_have_the_documented_shape() {
    let emu = demo(50).await;
    let list = json(&emu, "GET", &format!("{AGENTS}/*?limit=50")).await;
    for agent in list.as_array().unwrap() {
        let keys: Vec<&str> = agent.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "address",
                "certificate",
                "hostname",
                "id",
                "needsFilesSync",
                "online",
                "os",
                "status",
                "version"
            ]
        );
        let not_after = agent["certificate"]["notAfter"].as_str().unwrap();
        assert!(
            DateTime::parse_from_rfc3339(not_after).is_ok() && not_after.ends_with('Z'),
            "{not_after}"
        );
        let status = agent["status"].as_str().unwrap();
        assert!(["online", "offline", "warning"].contains(&status), "{status}");
    }
}

// --- encodings -----------------------------------------------------------

/// Agents whose certificates straddle the vendor's example date.
fn straddling_fleet() -> String {
    let agent = |n: u32, host: &str, not_after: &str, online: bool| {
        json!({
            "id": format!("00000000-0000-4000-8000-{n:012}"),
            "hostname": host,
            "online": online,
            "version": "6.4.9394",
            "os": "Debian 12",
            "address": format!("10.0.0.{n}"),
            "certificate": { "notBefore": "2023-09-01T00:00:00Z", "notAfter": not_after },
            "needsFilesSync": false,
        })
    };
    json!([
        agent(1, "PC1", "2024-09-21T23:59:59Z", true),
        agent(2, "PC2", "2024-09-22T00:00:00Z", true),
        agent(3, "pc1", "2024-09-01T00:00:00+02:00", false),
        agent(4, "web-ams-001", "2025-09-22T00:00:00Z", true),
    ])
    .to_string()
}

#[tokio::test]
async fn vendor_curl_and_python_encodings_hit_the_same_agents() {
    let expected = json!([
        {"id": "00000000-0000-4000-8000-000000000001", "status": "success"},
        {"id": "00000000-0000-4000-8000-000000000003", "status": "success"},
    ]);

    // The vendor's curl line: `+` for spaces, single quotes, nothing escaped.
    let curl = "(certificate/not-after+lt+'2024-09-22+00:00:00+UTC')";
    // What Python requests sends for a URL holding the readable filter.
    let python = "(certificate/not-after%20lt%20%222024-09-22%2000:00:00%20UTC%22)";
    // What the project's client sends: everything outside unreserved escaped.
    let strict = "%28certificate%2Fnot-after%20lt%20%222024-09-22%2000%3A00%3A00%20UTC%22%29";

    for (form, filter) in [("curl", curl), ("python", python), ("strict", strict)] {
        for slash in ["", "/"] {
            // Renewing moves notAfter, so every form gets a fresh fleet.
            let emu = Emulator::builder()
                .fleet_json(straddling_fleet())
                .now(now())
                .spawn()
                .await
                .unwrap();
            let list = raw(&emu, "GET", &format!("{AGENTS}/*{slash}?filter={filter}"), RO).await;
            assert_status(list.clone(), 200, form);
            let list: Value = serde_json::from_str(&list.1).unwrap();
            assert_eq!(ids(&list), ids(&expected), "{form} list{slash}");

            let count =
                raw(&emu, "GET", &format!("{AGENTS}/*/count{slash}?filter={filter}"), RO).await;
            assert_eq!(count, (200, "2".to_string()), "{form} count{slash}");

            let target = format!("{AGENTS}/*/certificate/renew{slash}?filter={filter}");
            let renew = raw(&emu, "POST", &target, RW).await;
            assert_status(renew.clone(), 200, form);
            let renewed: Value = serde_json::from_str(&renew.1).unwrap();
            assert_eq!(renewed, expected, "{form} renew{slash}");
        }
    }
}

#[tokio::test]
async fn hostname_filter_is_case_sensitive_and_plus_in_values_needs_escaping() {
    let emu = Emulator::builder().fleet_json(straddling_fleet()).now(now()).spawn().await.unwrap();
    let one = json(&emu, "GET", &format!("{AGENTS}/*?filter=(hostname=PC1)")).await;
    assert_eq!(ids(&one), ["00000000-0000-4000-8000-000000000001"]);

    // A raw `+` in an offset reads as a space and breaks the timestamp; `%2B`
    // keeps it.
    let (status, _) = raw(
        &emu,
        "GET",
        &format!("{AGENTS}/*?filter=(certificate/not-after+lt+'2024-09-22T02:00:00+02:00')"),
        RO,
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = raw(
        &emu,
        "GET",
        &format!("{AGENTS}/*?filter=(certificate/not-after+lt+'2024-09-22T02:00:00%2B02:00')"),
        RO,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&serde_json::from_str(&body).unwrap()).len(), 2);
}

// --- commands ------------------------------------------------------------

#[tokio::test]
async fn renew_renews_online_agents_and_marks_offline_ones() {
    let emu = demo(60).await;
    let before = emu.agent_records();
    let renewed = json(&emu, "POST", &format!("{AGENTS}/*/certificate/renew")).await;
    let expected: Vec<Value> =
        before.iter().map(|a| json!({"id": a.id_str(), "status": "success"})).collect();
    assert_eq!(renewed, Value::Array(expected));

    let year = chrono::Duration::days(365);
    for (old, new) in before.iter().zip(emu.agent_records()) {
        if old.online {
            assert_eq!(
                (new.certificate.not_before, new.certificate.not_after),
                (now(), now() + year)
            );
            assert!(!new.needs_files_sync);
        } else {
            assert_eq!(new.certificate, old.certificate, "offline agents keep their certificate");
            assert!(new.needs_files_sync);
            assert_eq!(new.to_json()["status"], "offline");
        }
    }
}

#[tokio::test]
async fn files_sync_delivers_once_the_agent_is_back_online() {
    let emu = demo(60).await;
    let offline = emu.agent_records().into_iter().find(|a| !a.online).unwrap();
    let id = offline.id();

    let renew = json(&emu, "POST", &format!("{AGENTS}/{id}/certificate/renew")).await;
    assert_eq!(renew, json!([{"id": id, "status": "success"}]));
    let sync = json(&emu, "POST", &format!("{AGENTS}/{id}/files-sync")).await;
    assert_eq!(sync[0]["status"], "error");
    let inner: Value = serde_json::from_str(sync[0]["error"].as_str().unwrap()).unwrap();
    assert_eq!(inner["message"], "agent is offline");
    assert!(inner["help"].is_string());

    // Back online: a warning until the files sync delivers the certificate.
    let (status, _, _) =
        send_control(&emu, "POST", &format!("/_emulator/agents/{id}"), Some(r#"{"online":true}"#))
            .await;
    assert_eq!(status, 200);
    let agent = json(&emu, "GET", &format!("{AGENTS}/{id}")).await;
    assert_eq!(
        (agent["status"].clone(), agent["needsFilesSync"].clone()),
        (json!("warning"), json!(true))
    );
    let warned = json(&emu, "GET", &format!("{AGENTS}/*/count?filter=(status=warning)")).await;
    assert!(warned.as_u64().unwrap() >= 1);

    let sync = json(&emu, "POST", &format!("{AGENTS}/*/files-sync?filter=(id={id})")).await;
    assert_eq!(sync, json!([{"id": id, "status": "success"}]));
    let agent = json(&emu, "GET", &format!("{AGENTS}/{id}")).await;
    assert_eq!(agent["status"], "online");
    assert_eq!(agent["certificate"]["notBefore"], "2026-01-01T00:00:00Z");
    assert_eq!(agent["certificate"]["notAfter"], "2027-01-01T00:00:00Z");
}

#[tokio::test]
async fn renew_by_hostname_touches_one_agent_and_no_match_is_an_empty_array() {
    let emu = demo(60).await;
    let pc1 = emu.agent_records().into_iter().find(|a| a.hostname == "PC1").unwrap();
    let renewed =
        json(&emu, "POST", &format!("{AGENTS}/*/certificate/renew/?filter=(hostname=PC1)")).await;
    assert_eq!(renewed, json!([{"id": pc1.id_str(), "status": "success"}]));
    let none =
        json(&emu, "POST", &format!("{AGENTS}/*/certificate/renew?filter=(hostname=pc1)")).await;
    assert_eq!(none, json!([]));
    let renewed_now =
        emu.agent_records().iter().filter(|a| a.certificate.not_before == now()).count();
    assert_eq!(renewed_now, usize::from(pc1.online), "only PC1 renewed, if online");
}

// --- tokens and organisations ---------------------------------------------

#[tokio::test]
async fn configured_tokens_replace_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.txt");
    std::fs::write(&path, "# ops\nops-admin rw\nauditor ro\n").unwrap();
    let emu = Emulator::builder()
        .demo(5, 1)
        .org("acme")
        .tokens_file(&path)
        .token("extra", Role::ReadOnly)
        .spawn()
        .await
        .unwrap();
    assert_eq!(emu.api_base(), format!("{}/api/acme/api/v1/", emu.base_url()));
    let base = "/api/acme/api/v1/agents";

    for (method, target, token, want) in [
        ("GET", format!("{base}/*/count"), "ops-admin", 200),
        ("GET", format!("{base}/*/count"), "auditor", 200),
        ("GET", format!("{base}/*/count"), "extra", 200),
        ("GET", format!("{base}/*/count"), RW, 401),
        ("POST", format!("{base}/*/files-sync"), "ops-admin", 200),
        ("POST", format!("{base}/*/files-sync"), "auditor", 403),
        ("GET", format!("{AGENTS}/*/count"), "ops-admin", 404),
    ] {
        let (status, _, body) = send(&emu, method, &target, Some(token)).await;
        assert_eq!(status, want, "{method} {target} {token}: {body}");
    }
}

#[tokio::test]
async fn bad_tokens_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.txt");
    std::fs::write(&path, "a rw\nb admin\n").unwrap();
    let err = Emulator::builder().tokens_file(&path).spawn().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("tokens file `{}` line 2: expected `rw` or `ro`, found `admin`", path.display())
    );
}

// --- request log -----------------------------------------------------------

async fn send_control(
    emu: &Emulator,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method, format!("{}{}", emu.base_url(), path));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn request_log_keeps_raw_paths_and_never_the_token() {
    let emu = demo(5).await;
    send(&emu, "GET", &format!("{AGENTS}/*?filter=(hostname%3DPC1)&limit=5"), Some(RW)).await;
    send(&emu, "POST", &format!("{AGENTS}/*/certificate/renew"), None).await;
    send_control(&emu, "GET", "/_emulator/state", None).await;

    let expected = vec![
        nxlog_emulator::RequestRecord {
            method: "GET".into(),
            path: format!("{AGENTS}/*"),
            query: Some("filter=(hostname%3DPC1)&limit=5".into()),
            authorization: true,
            status: Some(200),
        },
        nxlog_emulator::RequestRecord {
            method: "POST".into(),
            path: format!("{AGENTS}/*/certificate/renew"),
            query: None,
            authorization: false,
            status: Some(401),
        },
    ];
    assert_eq!(emu.requests(), expected);

    let (status, _, body) = send_control(&emu, "GET", "/_emulator/requests", None).await;
    assert_eq!(status, 200);
    assert!(!body.contains(RW), "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        listed[0],
        json!({"method": "GET", "path": format!("{AGENTS}/*"), "query": "filter=(hostname%3DPC1)&limit=5", "authorization": true, "status": 200})
    );

    assert_eq!(send_control(&emu, "DELETE", "/_emulator/requests", None).await.0, 204);
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn state_endpoint_returns_the_fleet() {
    let emu = demo(7).await;
    let (status, _, body) = send_control(&emu, "GET", "/_emulator/state", None).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), Value::Array(emu.agents()));
    let (status, _, _) = send_control(
        &emu,
        "POST",
        "/_emulator/agents/00000000-0000-4000-8000-000000000000",
        Some(r#"{"online":true}"#),
    )
    .await;
    assert_eq!(status, 404);
    let id = emu.agent_records()[0].id();
    let (status, _, _) =
        send_control(&emu, "POST", &format!("/_emulator/agents/{id}"), Some(r#"{"online":"yes"}"#))
            .await;
    assert_eq!(status, 400);
}

// --- faults ----------------------------------------------------------------

#[tokio::test]
async fn status_fault_hits_the_first_n_matching_requests() {
    let emu = demo(5).await;
    emu.inject(Fault::status(503).method("POST").times(2));
    let renew = format!("{AGENTS}/*/certificate/renew");

    let (status, _, body) = send(&emu, "POST", &renew, Some(RW)).await;
    assert_eq!(status, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["message"],
        "injected fault: status 503"
    );
    assert_eq!(
        send(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RW)).await.0,
        200,
        "GET is out of scope"
    );
    assert_eq!(send(&emu, "POST", &renew, Some(RW)).await.0, 503);
    assert_eq!(send(&emu, "POST", &renew, Some(RW)).await.0, 200);

    let statuses: Vec<_> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(200), Some(503), Some(200)]);
    assert_eq!(emu.faults()[0].fired, 2);
    assert_eq!(emu.faults()[0].remaining, Some(0));
}

#[tokio::test]
async fn status_fault_with_body_and_path_scope() {
    let emu = demo(5).await;
    emu.inject(
        Fault::status(502).path(format!("{AGENTS}/*/count")).body("<html>bad gateway</html>"),
    );
    let (status, _, body) = send(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RW)).await;
    assert_eq!((status, body.as_str()), (502, "<html>bad gateway</html>"));
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await.0, 200);
    assert_eq!(
        send(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RW)).await.0,
        502,
        "no times: every time"
    );
}

#[tokio::test]
async fn informational_status_fault_becomes_500() {
    let emu = demo(1).await;
    emu.inject(Fault::status(101).times(1));
    let (status, _, body) = send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await;
    assert_eq!((status, body.contains("injected fault: status 101")), (500, true));
}

#[tokio::test]
async fn delay_fault_holds_the_answer() {
    let emu = demo(5).await;
    emu.inject(Fault::delay(Duration::from_millis(300)).times(1));
    let started = Instant::now();
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RW)).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "the delay is a lower bound");
}

#[tokio::test]
async fn drop_fault_closes_without_a_response() {
    let emu = demo(5).await;
    emu.inject(Fault::drop_connection().times(1));
    let url = format!("{}{AGENTS}/*/count", emu.base_url());
    let err = client().get(&url).bearer_auth(RW).send().await.unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert_eq!(emu.requests()[0].status, None);
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RW)).await.0, 200);
}

#[tokio::test]
async fn truncate_fault_cuts_the_body_short() {
    let emu = demo(20).await;
    emu.inject(Fault::truncate().times(1));
    let url = format!("{}{AGENTS}/*", emu.base_url());
    let response = client().get(&url).bearer_auth(RW).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let announced = response.content_length().unwrap();
    assert!(announced > 100);
    let err = response.bytes().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err:?}");
}

#[tokio::test]
async fn non_json_fault_answers_html() {
    let emu = demo(5).await;
    emu.inject(Fault::non_json().times(1));
    let (status, headers, body) = send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(serde_json::from_str::<Value>(&body).is_err() && body.starts_with("<!DOCTYPE html>"));
}

#[tokio::test]
async fn rate_limit_fault_sends_retry_after() {
    let emu = demo(5).await;
    emu.inject(Fault::rate_limit(Some(5)).times(1));
    emu.inject(Fault::rate_limit(None).times(1));
    let (status, headers, _) = send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await;
    assert_eq!((status, headers["retry-after"].to_str().unwrap()), (429, "5"));
    let (status, headers, _) = send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await;
    assert_eq!((status, headers.get("retry-after")), (429, None));
}

#[tokio::test]
async fn redirect_fault_points_to_another_origin() {
    let emu = demo(5).await;
    let other = demo(5).await;
    let location = format!("http://localhost:{}{{path}}", other.local_addr().port());
    emu.inject(Fault::redirect(307, &location).method("POST").times(1));
    emu.inject(Fault::redirect(302, "/v2/search").times(1));

    let target = format!("{AGENTS}/*/certificate/renew?filter=(hostname%3DPC1)");
    let (status, headers, _) = send(&emu, "POST", &target, Some(RW)).await;
    assert_eq!(status, 307);
    let expected = format!("http://localhost:{}{target}", other.local_addr().port());
    assert_eq!(headers["location"].to_str().unwrap(), expected);

    let (status, headers, _) = send(&emu, "POST", &target, Some(RW)).await;
    assert_eq!((status, headers["location"].to_str().unwrap()), (302, "/v2/search"));
}

#[tokio::test]
async fn control_endpoint_injects_lists_and_clears_faults() {
    let emu = demo(5).await;
    let fault = r#"{"kind":"status","code":503,"times":1,"method":"GET","path":"/api/"}"#;
    let (status, _, body) = send_control(&emu, "POST", "/_emulator/faults", Some(fault)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await.0, 503);
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await.0, 200);

    let (_, _, listed) = send_control(&emu, "GET", "/_emulator/faults", None).await;
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed,
        json!([{"fault": serde_json::from_str::<Value>(fault).unwrap(), "fired": 1, "remaining": 0}])
    );

    for bad in [r#"{"kind":"status"}"#, r#"{"kind":"status","code":503,"time":1}"#, "not json"] {
        let (status, _, body) = send_control(&emu, "POST", "/_emulator/faults", Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    send_control(&emu, "POST", "/_emulator/faults", Some(r#"{"kind":"drop"}"#)).await;
    assert_eq!(send_control(&emu, "DELETE", "/_emulator/faults", None).await.0, 204);
    assert!(emu.faults().is_empty());
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await.0, 200);
}

#[tokio::test]
async fn control_endpoints_are_not_hit_by_faults() {
    let emu = demo(5).await;
    emu.inject(Fault::drop_connection());
    assert_eq!(send_control(&emu, "GET", "/_emulator/state", None).await.0, 200);
    assert_eq!(send_control(&emu, "DELETE", "/_emulator/faults", None).await.0, 204);
}

// --- state on shutdown -----------------------------------------------------

#[tokio::test]
async fn shutdown_writes_the_acknowledged_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().demo(40, 9).now(now()).state_out(&path).spawn().await.unwrap();
    let renewed =
        json(&emu, "POST", &format!("{AGENTS}/*/certificate/renew?filter=(hostname=PC1)")).await;
    assert_eq!(renewed.as_array().unwrap().len(), 1);
    let expected = emu.agents();
    emu.shutdown().await.unwrap();

    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written, Value::Array(expected));
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["state.json"], "no temporary file left behind");

    // The state file is a fleet file.
    let again = Emulator::builder().fleet_file(&path).spawn().await.unwrap();
    assert_eq!(Value::Array(again.agents()), written);
}

#[tokio::test]
async fn state_out_directory_removed_after_start_fails_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("out");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("state.json");
    let emu = Emulator::builder().demo(1, 1).state_out(&path).spawn().await.unwrap();
    std::fs::remove_dir(&sub).unwrap();
    let err = emu.shutdown().await.unwrap_err();
    let expected = format!("cannot write `{}`: ", path.display());
    assert!(err.to_string().starts_with(&expected), "{err}");
}

#[tokio::test]
async fn state_out_that_cannot_be_written_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let missing = "/nonexistent-dir/state.json".to_string();
    let is_dir = dir.path().display().to_string();
    for (path, needle) in [(&missing, "No such file"), (&is_dir, "it is a directory")] {
        let err = Emulator::builder().demo(1, 1).state_out(path).spawn().await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot write `{path}`: ")), "{text}");
        assert!(text.contains(needle), "{text}");
    }
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 0, "the probe file is removed");

    // A writable directory passes, and the probe leaves nothing behind.
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().demo(1, 1).state_out(&path).spawn().await.unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    emu.shutdown().await.unwrap();
    assert!(path.exists());
}

// --- fleet files -----------------------------------------------------------

#[tokio::test]
async fn bad_fleet_files_say_where_and_why() {
    let good = straddling_fleet();
    for (text, expected) in [
        (
            "[\n  {\"id\": 1}\n]",
            "fleet file `<inline>`: invalid type: integer `1`, expected a formatted UUID string at line 2 column 10",
        ),
        ("{}", "fleet file `<inline>`: invalid type: map, expected a sequence at line 1 column 0"),
        ("[\n", "fleet file `<inline>`: EOF while parsing a list at line 2 column 0"),
        (
            r#"[{"id":"00000000-0000-4000-8000-000000000001","hostname":"a","certificate":{"notBefore":"2024-01-01","notAfter":"2025-01-01T00:00:00Z"}}]"#,
            "fleet file `<inline>`: `certificate.notBefore`: expected an RFC 3339 timestamp, found `2024-01-01` at line 1 column 100",
        ),
        (
            r#"[{"id":"00000000-0000-4000-8000-000000000001","certificate":{"notBefore":"2024-01-01T00:00:00Z","notAfter":"2025-01-01T00:00:00Z"}}]"#,
            "fleet file `<inline>`: missing field `hostname` at line 1 column 131",
        ),
        (
            "[{\"id\":\"00000000-0000-4000-8000-000000000001\",\n  \"online\": \"yes\"}]",
            "fleet file `<inline>`: invalid type: string \"yes\", expected a boolean at line 2 column 17",
        ),
        (
            "[{\"hostname\":\"a\",\"hostname\":\"b\"}]",
            "fleet file `<inline>`: duplicate field `hostname` at line 1 column 32",
        ),
        (
            "[{\"team\":\"a\",\"team\":\"b\"}]",
            "fleet file `<inline>`: duplicate field `team` at line 1 column 24",
        ),
        (
            "[{\"status\": 3}]",
            "fleet file `<inline>`: invalid type: integer `3`, expected a string at line 1 column 13",
        ),
        (
            r#"[{"id":"00000000-0000-4000-8000-000000000001","hostname":"a","certificate":{"notBefore":"2024-01-01T00:00:00Z","notafter":"x"}}]"#,
            "fleet file `<inline>`: unknown field `notafter`, expected `notBefore` or `notAfter` at line 1 column 121",
        ),
        (
            "[[]]",
            "fleet file `<inline>`: invalid type: sequence, expected an agent record (a JSON object) at line 1 column 1",
        ),
    ] {
        let err = Emulator::builder().fleet_json(text).spawn().await.unwrap_err();
        assert_eq!(err.to_string(), expected, "{text}");
    }
    let doubled = good.replacen("000000000002", "000000000001", 1);
    let err = Emulator::builder().fleet_json(doubled).spawn().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "fleet file `<inline>`: agent 1 repeats id `00000000-0000-4000-8000-000000000001`"
    );
}

// --- the binary --------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_nxlog-emulator");

/// Starts the binary and returns it with the first stdout line.
fn start(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    (child, line)
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn binary_prints_its_url_first_and_writes_state_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let (mut child, line) = start(&[
        "--demo",
        "1000",
        "--seed",
        "3",
        "--now",
        "2026-01-01T00:00:00Z",
        "--state-out",
        state_arg,
        "--fault",
        "status=503,times=1,method=POST",
    ]);
    let url = line.trim_end();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with('/'), "{line:?}");

    let http = client();
    let count = http.get(format!("{url}{AGENTS}/*/count")).bearer_auth(RO).send().await.unwrap();
    assert_eq!(count.text().await.unwrap(), "1000");
    let renew = format!("{url}{AGENTS}/*/certificate/renew?filter=(hostname=PC1)");
    assert_eq!(
        http.post(&renew).bearer_auth(RW).send().await.unwrap().status(),
        503,
        "--fault applies"
    );
    let ok = http.post(&renew).bearer_auth(RW).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let renewed: Value = ok.json().await.unwrap();

    assert!(terminate(&mut child).success());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let written = written.as_array().unwrap();
    assert_eq!(written.len(), 1000);
    let pc1 = written.iter().find(|a| a["hostname"] == "PC1").unwrap();
    assert_eq!(pc1["id"], renewed[0]["id"]);
    if pc1["online"] == true {
        assert_eq!(pc1["certificate"]["notBefore"], "2026-01-01T00:00:00Z");
    } else {
        assert_eq!(pc1["needsFilesSync"], true);
    }
}

#[tokio::test]
async fn binary_same_seed_same_fleet() {
    let args = ["--demo", "50", "--seed", "11", "--now", "2026-01-01T00:00:00Z"];
    let mut fleets = Vec::new();
    for _ in 0..2 {
        let (mut child, line) = start(&args);
        let state =
            client().get(format!("{}/_emulator/state", line.trim_end())).send().await.unwrap();
        fleets.push(state.json::<Value>().await.unwrap());
        terminate(&mut child);
    }
    assert_eq!(fleets[0], fleets[1]);
    let built = Emulator::builder().demo(50, 11).now(now()).spawn().await.unwrap();
    assert_eq!(fleets[0], Value::Array(built.agents()), "binary and library agree");
}

#[test]
fn binary_rejects_a_bad_fleet_file_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    std::fs::write(
        &path,
        "[\n  {\"id\": \"00000000-0000-4000-8000-000000000001\",\n   \"hostname\": PC1}\n]\n",
    )
    .unwrap();
    let output = Command::new(BIN).args(["--fleet", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!("error: fleet file `{}`: expected value at line 3 column 16\n", path.display())
    );
}

#[test]
fn binary_rejects_bad_arguments() {
    for (args, code, needle) in [
        (
            &["--fleet", "/nonexistent/fleet.json"][..],
            1,
            "error: cannot read `/nonexistent/fleet.json`: ",
        ),
        (
            &["--demo", "3", "--fault", "status=99"][..],
            1,
            "error: fault `status=99`: expected a status code from 200 to 599, found 99",
        ),
        (
            &["--demo", "3", "--tokens", "/nonexistent/t"][..],
            1,
            "error: cannot read `/nonexistent/t`",
        ),
        (
            &["--demo", "3", "--validity-days", "0"][..],
            1,
            "error: `--validity-days`: expected 1 to 36525, found 0\n",
        ),
        (
            &["--demo", "3", "--state-out", "/nonexistent/x.json"][..],
            1,
            "error: cannot write `/nonexistent/x.json`: ",
        ),
        (
            &["--demo", "3", "--fault", "status=503,times=0"][..],
            1,
            "error: fault `status=503,times=0`: `times`: expected at least 1, found 0 (the fault could never fire)\n",
        ),
        (
            &["--demo", "3", "--fault", "delay=99999999999"][..],
            1,
            "error: fault `delay=99999999999`: `ms`: expected at most 600000 (10 minutes), found 99999999999\n",
        ),
        (
            &["--demo", "10000001"][..],
            1,
            "error: demo fleet: expected at most 10000000 agents, found 10000001",
        ),
        (&[][..], 2, "--fleet"),
        (&["--demo", "3", "--fleet", "x"][..], 2, "cannot be used with"),
        (&["--demo", "3", "--listen", "nowhere"][..], 2, "invalid socket address"),
    ] {
        let output = Command::new(BIN).args(args).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn binary_tokens_file_and_org() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "secret-one rw\n").unwrap();
    let (mut child, line) =
        start(&["--demo", "3", "--org", "acme", "--tokens", tokens.to_str().unwrap()]);
    let url = line.trim_end().to_string();
    let mut output = String::new();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = client();
        let ok = http
            .get(format!("{url}/api/acme/api/v1/agents/*/count"))
            .bearer_auth("secret-one")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "3");
        let denied = http
            .get(format!("{url}/api/acme/api/v1/agents/*/count"))
            .bearer_auth(RW)
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), 401);
    });
    assert!(terminate(&mut child).success());
    child.stderr.take().unwrap().read_to_string(&mut output).unwrap();
    assert!(!output.contains("secret-one"), "{output}");
}

// --- text users read ---------------------------------------------------------

#[tokio::test]
async fn error_bodies() {
    let emu = demo(3).await;
    let id = emu.agent_records()[0].id();
    let mut out = String::new();
    for (method, target, token) in [
        ("GET", format!("{AGENTS}/*"), None),
        ("GET", format!("{AGENTS}/*"), Some("nope")),
        ("POST", format!("{AGENTS}/*/certificate/renew"), Some(RO)),
        ("GET", "/api/acme/api/v1/agents/*".to_string(), Some(RW)),
        ("GET", format!("{AGENTS}/00000000-0000-4000-8000-000000000000"), Some(RW)),
        ("GET", format!("{AGENTS}/PC1"), Some(RW)),
        ("GET", format!("{AGENTS}/*?limit=0"), Some(RW)),
        ("GET", format!("{AGENTS}/*?offset=next"), Some(RW)),
        ("GET", format!("{AGENTS}/*?filter=a&filter=b"), Some(RW)),
        ("POST", format!("{AGENTS}/{id}/files-sync?filter=(hostname=PC1)"), Some(RW)),
        ("PUT", format!("{AGENTS}/*/certificate/renew"), Some(RW)),
    ] {
        let (status, _, body) = send(&emu, method, &target, token).await;
        let target = target.replace(&id.to_string(), "<id>");
        out.push_str(&format!("{method} {target} ({token:?}) -> {status}\n{body}\n\n"));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn help_text() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
}

// --- regressions from public reports -------------------------------------------

#[tokio::test]
async fn query_is_decoded_exactly_once() {
    let fleet = r#"[{"id":"00000000-0000-4000-8000-000000000001","hostname":"PC1","path":"a b","q":"a+b&c=d",
        "certificate":{"notBefore":"2024-01-01T00:00:00Z","notAfter":"2025-01-01T00:00:00Z"}}]"#;
    let emu = Emulator::builder().fleet_json(fleet).spawn().await.unwrap();
    for (query, expected) in [
        ("%28path%3D%22a%20b%22%29", "1"),
        ("%28path%3D%22a+b%22%29", "1"),
        ("%28q%3D%22a%2Bb%26c%3Dd%22%29", "1"),
        ("%28q%3D%22a+b%26c%3Dd%22%29", "0"),
        ("%28path%3D%22a%2520b%22%29", "0"),
    ] {
        let (status, body) =
            raw(&emu, "GET", &format!("{AGENTS}/*/count?filter={query}"), RO).await;
        assert_eq!((status, body.as_str()), (200, expected), "{query}");
    }
    let (status, _) = raw(
        &emu,
        "GET",
        &format!("{AGENTS}/*/count?filter=%2528path%253D%2522a%2520b%2522%2529"),
        RO,
    )
    .await;
    assert_eq!(status, 400, "a doubly encoded filter is not a filter once decoded");
}

#[tokio::test]
async fn cross_origin_redirect_shows_whether_authorization_followed() {
    let emu = demo(5).await;
    let other = demo(5).await;
    let location = format!("http://localhost:{}{{path}}", other.local_addr().port());
    emu.inject(Fault::redirect(307, location).times(1));

    // reqwest's default policy follows, and drops the header across origins.
    let url = format!("{}{AGENTS}/*/count", emu.base_url());
    let response = reqwest::Client::new().get(&url).bearer_auth(RW).send().await.unwrap();
    assert_eq!(response.status(), 401, "the other origin saw no token");
    assert!(emu.requests()[0].authorization);
    assert!(!other.requests()[0].authorization);
    assert_eq!(other.requests()[0].path, format!("{AGENTS}/*/count"));
}

#[test]
fn binary_never_logs_the_token_even_at_trace() {
    let mut child = Command::new(BIN)
        .args(["--demo", "3"])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim_end().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = client();
        for token in [RW, "tok-SECRET-0123"] {
            let target = format!("{url}{AGENTS}/*/certificate/renew?filter=(hostname=PC1)");
            http.post(&target).bearer_auth(token).send().await.unwrap();
        }
    });
    assert!(terminate(&mut child).success());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("status=200") && stderr.contains("status=401"), "{stderr}");
    assert!(!stderr.contains(RW) && !stderr.contains("SECRET"), "{stderr}");
}

#[tokio::test]
async fn listening_on_every_interface_still_prints_a_loopback_url() {
    let emu = Emulator::builder().listen("0.0.0.0:0".parse().unwrap()).spawn().await.unwrap();
    let expected = format!("http://127.0.0.1:{}", emu.local_addr().port());
    assert_eq!(emu.base_url(), expected);
    assert_eq!(send(&emu, "GET", &format!("{AGENTS}/*/count"), Some(RO)).await.2, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_loses_no_acknowledged_renew() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let renewed_at: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().unwrap();
    let fleet = nxlog_emulator::demo_fleet(300, 5, now());
    let emu =
        Emulator::builder().agents(fleet).now(renewed_at).state_out(&path).spawn().await.unwrap();
    let base = emu.base_url();
    let ids: Vec<String> = emu.agent_records().iter().map(|a| a.id_str().to_string()).collect();

    let http = client();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let (http, base, answered) = (http.clone(), base.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let url = format!("{base}{AGENTS}/{id}/certificate/renew");
            let response = http.post(url).bearer_auth(RW).send().await;
            let acknowledged = matches!(&response, Ok(r) if r.status() == 200);
            answered.fetch_add(usize::from(acknowledged), std::sync::atomic::Ordering::SeqCst);
            (id, acknowledged)
        }));
    }
    // Stop once some renews are answered and others are still arriving.
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        tokio::task::yield_now().await;
    }
    emu.shutdown().await.unwrap();

    let mut acknowledged = Vec::new();
    for task in tasks {
        let (id, ok) = task.await.unwrap();
        if ok {
            acknowledged.push(id);
        }
    }
    assert!(acknowledged.len() >= 20);
    let state: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for id in &acknowledged {
        let agent = state.iter().find(|a| a["id"] == id.as_str()).unwrap();
        let renewed = if agent["online"] == true {
            agent["certificate"]["notBefore"] == "2026-02-01T00:00:00Z"
        } else {
            agent["needsFilesSync"] == true
        };
        assert!(renewed, "acknowledged renew of {id} missing from the state: {agent}");
    }
}

#[test]
fn binary_reports_an_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(BIN).args(["--demo", "1", "--listen", &addr]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no URL is printed");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with(&format!("error: cannot listen on `{addr}`: ")), "{stderr}");
}

// --- hostile input -------------------------------------------------------------

/// Sends `request` byte for byte and returns the status, the head and the body.
async fn raw_request(emu: &Emulator, request: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(emu.local_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    // The server may close before reading a body it refused; what it sent
    // before that is the answer.
    let _ = stream.read_to_end(&mut bytes).await;
    let text = String::from_utf8(bytes).unwrap();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (status, head.to_string(), body.to_string())
}

#[track_caller]
fn assert_error(got: (u16, String), status: u16, message: &str) {
    assert_eq!(got.0, status, "{message}: {}", got.1);
    let body: Value = serde_json::from_str(&got.1).unwrap();
    assert_eq!(body["message"], message, "{body}");
    assert!(body["help"].as_str().is_some_and(|h| !h.is_empty()), "{body}");
}

#[tokio::test]
async fn huge_validity_days_is_refused_at_start_up() {
    for (days, code, needle) in [
        ("99999999999", 1, "error: `--validity-days`: expected 1 to 36525, found 99999999999\n"),
        ("36526", 1, "error: `--validity-days`: expected 1 to 36525, found 36526\n"),
        ("3000000", 1, "error: `--validity-days`: expected 1 to 36525, found 3000000\n"),
        ("99999999999999999999", 2, "--validity-days"),
    ] {
        let output = Command::new(BIN)
            .args(["--demo", "5", "--now", "2026-01-01T00:00:00Z", "--validity-days", days])
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(code), "{days}: {stderr}");
        assert!(stderr.contains(needle), "{days}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The library refuses the same, without a panic for the largest duration.
    for validity in
        [chrono::Duration::days(36_526), chrono::Duration::MAX, chrono::Duration::zero()]
    {
        let err = Emulator::builder().demo(1, 1).validity(validity).spawn().await.unwrap_err();
        assert!(err.to_string().starts_with("validity: expected 1 second to 36525 days"), "{err}");
    }
    let longest = chrono::Duration::days(36_525);
    let emu = Emulator::builder().demo(3, 1).now(now()).validity(longest).spawn().await.unwrap();
    let renewed = json(&emu, "POST", &format!("{AGENTS}/*/certificate/renew")).await;
    assert!(renewed.as_array().unwrap().iter().all(|r| r["status"] == "success"));
    let online = emu.agent_records().into_iter().find(|a| a.online).unwrap();
    assert_eq!(
        online.to_json()["certificate"]["notAfter"],
        "2126-01-02T00:00:00Z",
        "36525 days, 24 leap days"
    );
}

#[tokio::test]
async fn clock_whose_renewals_would_pass_year_9999_is_refused_at_start_up() {
    let late: DateTime<Utc> = "9999-12-31T23:59:59Z".parse().unwrap();
    let err = Emulator::builder().agents(Vec::new()).now(late).spawn().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "clock: certificates renewed at `9999-12-31T23:59:59Z` for 365 days would end after \
         9999-12-31T23:59:59Z; expected an earlier time"
    );
    // The demo fleet's own dates must fit too: two years after the clock.
    let err = Emulator::builder()
        .demo(3, 1)
        .now("9998-06-01T00:00:00Z".parse().unwrap())
        .validity(chrono::Duration::days(1))
        .spawn()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "demo fleet: dates from 4 years before to 2 years after `9998-06-01T00:00:00Z` leave \
         the years 0000 to 9999"
    );
    let output =
        Command::new(BIN).args(["--demo", "3", "--now", "9999-12-31T23:59:59Z"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8(output.stderr).unwrap().starts_with("error: "));
}

#[tokio::test]
async fn fleet_dates_outside_years_0000_to_9999_are_refused() {
    let fleet = |not_after: &str| {
        format!(
            r#"[{{"id":"00000000-0000-4000-8000-000000000001","hostname":"a","certificate":{{"notBefore":"2024-01-01T00:00:00Z","notAfter":"{not_after}"}}}}]"#
        )
    };
    for (not_after, column) in
        [("9999-12-31T23:00:00-05:00", 150), ("0000-01-01T00:00:00+01:00", 150)]
    {
        let err = Emulator::builder().fleet_json(fleet(not_after)).spawn().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "fleet file `<inline>`: `certificate.notAfter`: expected a time in the years 0000 \
                 to 9999 in UTC, found `{not_after}` at line 1 column {column}"
            )
        );
    }
    let emu = Emulator::builder()
        .fleet_json(fleet("9999-12-31T23:59:59Z"))
        .now(now())
        .spawn()
        .await
        .unwrap();
    let listed = json(&emu, "GET", &format!("{AGENTS}/*")).await;
    assert_eq!(listed[0]["certificate"]["notAfter"], "9999-12-31T23:59:59Z");

    // Typed agents given to the library are checked as well.
    let mut agents = nxlog_emulator::demo_fleet(2, 1, now());
    agents[1].certificate.not_after = "+10239-09-22T00:00:00Z".parse().unwrap();
    let id = agents[1].id();
    let err = Emulator::builder().agents(agents).spawn().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "fleet `<agents>`: agent 1 (`{id}`): `certificate.notAfter` is outside the years 0000 to 9999"
        )
    );
}

#[tokio::test]
async fn misspelt_or_unknown_query_parameters_are_refused_and_run_nothing() {
    let emu = demo(30).await;
    let before = emu.agents();
    let sync = format!("{AGENTS}/*/files-sync");
    let renew = format!("{AGENTS}/*/certificate/renew");
    let id = emu.agent_records()[0].id();
    for (method, target, message) in [
        ("POST", format!("{sync}?Filter=(hostname=PC1)"), "unknown query parameter `Filter`"),
        ("POST", format!("{sync}?fiter=(hostname=PC1)"), "unknown query parameter `fiter`"),
        (
            "POST",
            format!("{sync}?filter%3D(hostname=PC1)"),
            "unknown query parameter `filter=(hostname`",
        ),
        (
            "POST",
            format!("{renew}/?filter=(hostname=PC1)&offset=3"),
            "unknown query parameter `offset`",
        ),
        ("POST", format!("{renew}?limit=1"), "unknown query parameter `limit`"),
        ("POST", format!("{AGENTS}/{id}/certificate/renew?x=1"), "unknown query parameter `x`"),
        (
            "GET",
            format!("{AGENTS}/*?filter=(hostname=PC1)&sort=hostname"),
            "unknown query parameter `sort`",
        ),
        ("GET", format!("{AGENTS}/*/count?offset=1"), "unknown query parameter `offset`"),
        ("GET", format!("{AGENTS}/{id}?limit=1"), "unknown query parameter `limit`"),
    ] {
        let (status, body) = raw(&emu, method, &target, RW).await;
        assert_error((status, body), 400, message);
    }
    assert_eq!(emu.agents(), before, "no command ran");

    // What the project's client sends still works.
    let pc1 = json(&emu, "POST", &format!("{sync}?filter=(hostname=PC1)")).await;
    assert_eq!(pc1.as_array().unwrap().len(), 1);
    let page =
        json(&emu, "GET", &format!("{AGENTS}/*?filter=(online=true)&offset=0&limit=5")).await;
    assert_eq!(page.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn command_with_a_body_is_refused_and_runs_nothing() {
    let emu = demo(30).await;
    let before = emu.agents();
    let sync = format!("{AGENTS}/*/files-sync");
    let head = |extra: &str| {
        format!(
            "POST {sync} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {RW}\r\n{extra}Connection: close\r\n\r\n"
        )
    };
    let filter = r#"{"filter":"(hostname=PC1)"}"#;
    for (request, message) in [
        (
            format!("{}{filter}", head("Content-Type: application/json\r\nContent-Length: 26\r\n")),
            "expected an empty body, found 26 bytes",
        ),
        (
            head("Transfer-Encoding: chunked\r\n") + "1a\r\n" + filter + "\r\n0\r\n\r\n",
            "expected an empty body, found a body",
        ),
    ] {
        let (status, _, body) = raw_request(&emu, &request).await;
        assert_error((status, body), 400, message);
    }
    // A malformed chunked body is not a command either.
    let (status, _, body) =
        raw_request(&emu, &(head("Transfer-Encoding: chunked\r\n") + "zz\r\nhello\r\n")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cannot read the request body"), "{body}");
    assert_eq!(emu.agents(), before, "no command ran");

    // Empty bodies, announced or chunked, are fine.
    let (status, _, _) = raw_request(&emu, &head("Content-Length: 0\r\n")).await;
    assert_eq!(status, 200);
    let (status, _, _) =
        raw_request(&emu, &(head("Transfer-Encoding: chunked\r\n") + "0\r\n\r\n")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_percent_escape_in_the_query_is_named_not_parsed_as_a_filter() {
    let emu = demo(5).await;
    for (target, message) in [
        (format!("{AGENTS}/*?filter=%ZZ"), "invalid percent escape `%ZZ` at byte 8 of the query"),
        (
            format!("{AGENTS}/*/count?filter=(hostname=PC%1)"),
            "invalid percent escape `%1)` at byte 20 of the query",
        ),
        (
            format!("{AGENTS}/*?limit=5&filter=100%"),
            "invalid percent escape `%` at byte 19 of the query",
        ),
    ] {
        assert_error(raw(&emu, "GET", &target, RO).await, 400, message);
    }
}

#[tokio::test]
async fn head_is_served_wherever_get_is() {
    let emu = demo(5).await;
    let id = emu.agent_records()[0].id();
    for target in [format!("{AGENTS}/*"), format!("{AGENTS}/*/count"), format!("{AGENTS}/{id}")] {
        let (status, headers, body) = send(&emu, "HEAD", &target, Some(RO)).await;
        assert_eq!((status, body.as_str()), (200, ""), "{target}");
        assert_eq!(headers["content-type"], "application/json");
    }
    let (status, headers, _) =
        send(&emu, "HEAD", &format!("{AGENTS}/*/files-sync"), Some(RW)).await;
    assert_eq!((status, headers["allow"].to_str().unwrap()), (405, "POST"));
    let (status, headers, _) = send(&emu, "POST", &format!("{AGENTS}/*/count"), Some(RW)).await;
    assert_eq!((status, headers["allow"].to_str().unwrap()), (405, "GET, HEAD"));
}

#[tokio::test]
async fn two_authorization_headers_are_a_bad_request() {
    let emu = demo(5).await;
    for (first, second) in [(RW, "bad"), ("bad", RW), (RW, RW)] {
        let request = format!(
            "GET {AGENTS}/*/count HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {first}\r\n\
             Authorization: Bearer {second}\r\nConnection: close\r\n\r\n"
        );
        let (status, _, body) = raw_request(&emu, &request).await;
        assert_error((status, body), 400, "the authorization header is given twice");
    }
}

// FIXME: hyper answers a request it cannot parse (a raw space or a byte
// outside ASCII in the target, a request line or headers too long) before
// the router sees it, with an empty body; answering JSON there needs a
// hand-written HTTP/1 front end, which is not worth it for a test server.
#[tokio::test]
async fn requests_hyper_cannot_parse_get_its_empty_answer() {
    let emu = demo(1).await;
    let request = format!(
        "GET {AGENTS}/*?filter=(hostname=PC 1) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let (status, _, body) = raw_request(&emu, &request).await;
    assert_eq!((status, body.as_str()), (400, ""));
    assert!(emu.requests().is_empty(), "the router never saw it");
}

#[tokio::test]
async fn control_endpoints_refuse_a_foreign_host_or_a_non_json_post() {
    let emu = demo(5).await;
    let control = |method: &str, path: &str, headers: &str, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let fault = r#"{"kind":"status","code":418}"#;
    let port = emu.local_addr().port();
    for (request, status, message) in [
        (
            control("GET", "/_emulator/state", "Host: evil.example\r\n", ""),
            403,
            "control endpoints need a loopback `Host` header, found `evil.example`".to_string(),
        ),
        (
            control("GET", "/_emulator/state", &format!("Host: rebound.example:{port}\r\n"), ""),
            403,
            format!(
                "control endpoints need a loopback `Host` header, found `rebound.example:{port}`"
            ),
        ),
        (
            control("DELETE", "/_emulator/faults", "Host: localhost.evil.example\r\n", ""),
            403,
            "control endpoints need a loopback `Host` header, found `localhost.evil.example`"
                .to_string(),
        ),
        (
            control(
                "POST",
                "/_emulator/faults",
                "Host: localhost\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n",
                fault,
            ),
            415,
            "expected content type `application/json`, found `text/plain`".to_string(),
        ),
        (
            control("POST", "/_emulator/faults", "Host: 127.0.0.1\r\n", fault),
            415,
            "expected content type `application/json`, found none".to_string(),
        ),
    ] {
        let (got, _, body) = raw_request(&emu, &request).await;
        assert_error((got, body), status, &message);
    }
    assert!(emu.faults().is_empty(), "no fault was injected");

    let json_post = control(
        "POST",
        "/_emulator/faults",
        &format!("Host: [::1]:{port}\r\nContent-Type: application/json; charset=utf-8\r\n"),
        fault,
    );
    assert_eq!(raw_request(&emu, &json_post).await.0, 201);
    assert_eq!(emu.faults().len(), 1);

    // A wrong method on a control path is a JSON error too.
    let (status, _, body) = send_control(&emu, "PUT", "/_emulator/faults", None).await;
    assert_error((status, body), 405, "method `PUT` is not served here");
}

#[tokio::test]
async fn faults_that_cannot_work_are_refused_at_injection() {
    let emu = demo(5).await;
    for (fault, message) in [
        (
            r#"{"kind":"redirect","location":"http://x/\r\nX-Evil: 1"}"#,
            "`location`: expected no control characters, found U+000D at byte 10",
        ),
        (
            r#"{"kind":"delay","ms":99999999999}"#,
            "`ms`: expected at most 600000 (10 minutes), found 99999999999",
        ),
        (
            r#"{"kind":"status","code":503,"times":0}"#,
            "`times`: expected at least 1, found 0 (the fault could never fire)",
        ),
    ] {
        let (status, _, body) = send_control(&emu, "POST", "/_emulator/faults", Some(fault)).await;
        assert_error((status, body), 400, &format!("fault `{fault}`: {message}"));
    }
    assert!(emu.faults().is_empty());

    // A library-built redirect with a bad location says so instead of
    // answering a redirect without a `Location`.
    emu.inject(Fault::redirect(307, "http://x/\r\nX-Evil: 1").times(1));
    let (status, headers, body) = send(&emu, "GET", &format!("{AGENTS}/*"), Some(RW)).await;
    assert_eq!(status, 500, "{body}");
    assert!(headers.get("x-evil").is_none());
    assert!(body.contains("not a valid header value"), "{body}");
}

#[tokio::test]
async fn tokens_file_with_invisible_or_non_ascii_tokens_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.txt");
    for (text, expected) in [
        (
            "\u{feff}ops rw\n",
            "line 1: expected visible ASCII characters, found U+FEFF (a byte order mark) at column 1",
        ),
        (
            "ops rw\nt\u{f6}k rw\n",
            "line 2: expected visible ASCII characters, found U+00F6 at column 2",
        ),
        (
            "# x\n\nops\u{a0}2 ro\n",
            "line 3: expected visible ASCII characters, found U+00A0 at column 4",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = Emulator::builder().tokens_file(&path).spawn().await.unwrap_err();
        assert_eq!(err.to_string(), format!("tokens file `{}` {expected}", path.display()));
    }
}
