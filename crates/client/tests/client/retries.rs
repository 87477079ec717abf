//! Retries: what is retried, how often, how long it waits, when it gives up.
//!
//! Time bounds here are generous correctness checks (a wait was honoured,
//! a budget was not blown), not speed measurements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use nxlog_client::{Client, RetryPolicy, Selector, Target};
use nxlog_emulator::Fault;

use crate::support::{self, Recorder, answer, ok_json};

fn client_with(base: &str, retry: RetryPolicy) -> Client {
    Client::new(support::config(base, support::RW).retry(retry).build().unwrap()).unwrap()
}

#[tokio::test]
async fn get_retries_503_then_succeeds() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::status(503).times(2));
    let count = support::client(&emu.base_url()).count(&Selector::All).await.unwrap();
    assert_eq!(count, 4);
    let statuses: Vec<Option<u16>> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
}

#[tokio::test]
async fn get_gives_up_after_the_retry_limit() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::status(503));
    let started = Instant::now();
    let error = support::client(&emu.base_url()).count(&Selector::All).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error:?}");
    assert_eq!(emu.requests().len(), 4, "the first attempt and 3 retries");
    assert!(started.elapsed() < Duration::from_secs(5), "within the budget");
}

#[tokio::test]
async fn get_retries_429_and_honours_retry_after_seconds() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::rate_limit(Some(1)).times(1));
    let started = Instant::now();
    let count = support::client(&emu.base_url()).count(&Selector::All).await.unwrap();
    assert_eq!(count, 4);
    assert_eq!(emu.requests().len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn get_honours_retry_after_as_an_http_date() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = Recorder::spawn(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            answer(503, &[("retry-after", &when)], "")
        } else {
            ok_json("7")
        }
    })
    .await;
    let started = Instant::now();
    let count = support::client(&server.base()).count(&Selector::All).await.unwrap();
    assert_eq!(count, 7);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(started.elapsed() >= Duration::from_millis(900), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn a_retry_after_past_the_budget_gives_up_at_once() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::rate_limit(Some(30)));
    let started = Instant::now();
    let retry = support::fast_retry().budget(Duration::from_secs(2));
    let error = client_with(&emu.base_url(), retry).count(&Selector::All).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(emu.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_budget_bounds_the_total_time() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::status(503));
    let retry = RetryPolicy::default()
        .max_retries(100)
        .backoff(Duration::from_millis(300), Duration::from_millis(300))
        .budget(Duration::from_secs(1));
    let started = Instant::now();
    let error = client_with(&emu.base_url(), retry).count(&Selector::All).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    let attempts = emu.requests().len();
    assert!((2..=8).contains(&attempts), "{attempts} attempts");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up within the budget: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn get_retries_dropped_connections() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::drop_connection().times(2));
    let count = support::client(&emu.base_url()).count(&Selector::All).await.unwrap();
    assert_eq!(count, 4);
    assert_eq!(emu.requests().len(), 3);
}

#[tokio::test]
async fn get_retries_truncated_bodies() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::truncate().times(1));
    let agents = support::client(&emu.base_url()).list_page(&Selector::All, 0).await.unwrap();
    assert_eq!(agents.len(), 4);
    assert_eq!(emu.requests().len(), 2);
}

#[tokio::test]
async fn get_does_not_retry_other_statuses() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::status(500));
    support::client(&emu.base_url()).count(&Selector::All).await.unwrap_err();
    assert_eq!(emu.requests().len(), 1);
}

#[tokio::test]
async fn post_is_not_retried_on_503_429_or_a_dropped_connection() {
    for fault in [Fault::status(503), Fault::rate_limit(Some(0)), Fault::drop_connection()] {
        let emu = support::emulator(4).await;
        emu.inject(fault.clone());
        let error = support::client(&emu.base_url()).renew(&Target::all()).await.unwrap_err();
        assert_eq!(emu.requests().len(), 1, "{fault:?} -> {error}");
    }
}

#[tokio::test]
async fn post_is_retried_when_the_connection_was_refused() {
    // Reserve a port, free it, and start a server there only after the
    // client's first attempt has been refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let retry = RetryPolicy::default()
        .max_retries(20)
        .backoff(Duration::from_millis(100), Duration::from_millis(200))
        .budget(Duration::from_secs(10));
    let client = client_with(&format!("http://127.0.0.1:{port}"), retry);

    let late_server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        Recorder::serve(listener, Arc::new(|_| ok_json(r#"[{"id":"x","status":"success"}]"#)))
    });
    let report = client.renew(&Target::all()).await.unwrap();
    let server = late_server.await.unwrap();

    assert_eq!(report.results.len(), 1);
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "the command arrived exactly once");
    assert_eq!(seen[0].method, "POST");
}

#[tokio::test]
async fn the_retried_request_is_the_same_request() {
    let emu = support::emulator(4).await;
    emu.inject(Fault::status(503).times(1));
    let selector = Selector::Filter(nxlog_filter::parse("(hostname=\"a b+c\")").unwrap());
    support::client(&emu.base_url()).count(&selector).await.unwrap();
    let requests = emu.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].query, requests[1].query);
    assert_eq!(requests[0].path, requests[1].path);
    assert!(requests[1].authorization);
}
