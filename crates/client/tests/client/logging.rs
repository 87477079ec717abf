//! Logging: a whole request cycle at TRACE level, successes and failures,
//! with the output of reqwest and hyper captured too; the token appears
//! nowhere.

use std::time::Duration;

use nxlog_client::{AgentId, Client, Config, RetryPolicy, Selector, Target};
use nxlog_emulator::{Emulator, Fault, Role};

use crate::support::{self, Recorder, answer, secret};

const SECRET: &str = "tok-SECRET-0123";

fn secret_client(base: &str) -> Client {
    let config = Config::builder(base, "demo", secret(SECRET))
        .retry(support::fast_retry())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    Client::new(config).unwrap()
}

#[tokio::test]
async fn b41_the_token_never_appears_in_logs_or_errors() {
    support::init();
    let emu = Emulator::builder().demo(6, 7).token(SECRET, Role::ReadWrite).spawn().await.unwrap();
    let client = secret_client(&emu.base_url());
    let mut texts = Vec::new();

    // Successes.
    let agents = client.list_all(&Selector::All).await.unwrap();
    let id = AgentId::parse(&agents[0].id).unwrap();
    client.count(&Selector::Filter(nxlog_filter::parse("(hostname=PC1)").unwrap())).await.unwrap();
    client.get(&id).await.unwrap();
    client.renew(&Target::Id(id.clone())).await.unwrap();
    let ids = agents.iter().map(|a| AgentId::parse(&a.id).unwrap()).collect();
    texts.push(format!("{:?}", client.files_sync(&Target::Ids(ids)).await.unwrap()));

    // Failures of every kind.
    let other = Recorder::spawn(|_| answer(200, &[], "[]")).await;
    for fault in [
        Fault::status(500),
        Fault::status(503),
        Fault::drop_connection(),
        Fault::truncate(),
        Fault::non_json(),
        Fault::delay(Duration::from_secs(2)),
        Fault::redirect(307, format!("http://localhost:{}/x", other.addr.port())),
        Fault::redirect(302, "{path}".to_owned()),
    ] {
        emu.clear_faults();
        emu.inject(fault);
        for error in [
            client.count(&Selector::All).await.unwrap_err(),
            client.renew(&Target::all()).await.unwrap_err(),
        ] {
            texts.push(format!("{error} {error:?}"));
        }
    }
    emu.clear_faults();
    let refused = Client::new(
        Config::builder(&emu.base_url(), "demo", secret("tok-SECRET-0124"))
            .retry(RetryPolicy::none())
            .build()
            .unwrap(),
    )
    .unwrap();
    let error = refused.count(&Selector::All).await.unwrap_err();
    texts.push(format!("{error} {error:?}"));
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error =
        secret_client(&format!("http://127.0.0.1:{dead}")).count(&Selector::All).await.unwrap_err();
    texts.push(format!("{error} {error:?} {client:?}"));

    let log = support::log_text();
    assert!(log.contains("nxlog_client"), "our own events were captured");
    assert!(log.contains("status=200") && log.contains("elapsed_ms="), "per-request trace lines");
    assert!(log.contains("hyper_util::client"), "the HTTP stack's own client events were captured");
    assert!(log.contains("retrying"), "retry decisions are logged");
    for text in texts.iter().chain([&log]) {
        assert!(
            !text.contains("SECRET-012"),
            "token leaked: {}",
            &text[text.find("SECRET-012").unwrap().saturating_sub(300)..]
        );
        assert!(!text.to_lowercase().contains("bearer tok"), "token leaked");
    }
    assert!(other.seen().is_empty());
}
