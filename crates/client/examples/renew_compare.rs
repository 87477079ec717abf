//! Interleaved comparison for a shared, noisy machine: renews 10 000 agents
//! one id at a time (concurrency 16) against the in-process emulator,
//! alternating nxlog-client and a bare reqwest loop sending the same
//! requests, and prints requests per second and the overhead ratio.
//!
//! ```console
//! $ cargo run --release -p nxlog-client --example renew_compare -- 7
//! ```
//! The argument is the number of rounds (default 5).

use std::time::{Duration, Instant};

use futures::StreamExt;
use nxlog_client::{AgentId, Client, Command, Config, SecretString, Target};
use nxlog_emulator::Emulator;

const AGENTS: usize = 10_000;
const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let emu = Emulator::builder().demo(AGENTS, 7).request_log_limit(1).spawn().await.unwrap();
    let ids: Vec<AgentId> =
        emu.agents().iter().map(|a| AgentId::parse(a["id"].as_str().unwrap()).unwrap()).collect();

    let token = SecretString::from("demo-rw-token".to_owned());
    let config =
        Config::builder(&emu.base_url(), "demo", token).concurrency(CONCURRENCY).build().unwrap();
    let client = Client::new(config).unwrap();
    let bare = reqwest::Client::builder()
        // The same reqwest settings the client uses, so only the client's
        // own work differs: no redirects, the default timeouts.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let urls: Vec<String> =
        ids.iter().map(|id| format!("{}agents/{id}/certificate/renew", emu.api_base())).collect();

    let run_client = || async {
        let report = client.run(Command::Renew, &Target::Ids(ids.clone())).await.unwrap();
        assert_eq!(report.results.len(), AGENTS);
    };
    let run_bare = || async {
        let ok = futures::stream::iter(&urls)
            .map(|url| {
                let bare = &bare;
                async move {
                    let response = bare
                        .post(url)
                        .header("authorization", "Bearer demo-rw-token")
                        .header("content-length", "0")
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    let body = response.bytes().await.unwrap();
                    status.is_success() && !body.is_empty()
                }
            })
            .buffer_unordered(CONCURRENCY)
            .filter(|ok| std::future::ready(*ok))
            .count()
            .await;
        assert_eq!(ok, AGENTS);
    };

    // `only-client` / `only-bare` as a second argument runs one side, for
    // profiling each on its own.
    match std::env::args().nth(2).as_deref() {
        Some("only-client") => {
            for _ in 0..rounds {
                run_client().await;
            }
            return;
        }
        Some("only-bare") => {
            for _ in 0..rounds {
                run_bare().await;
            }
            return;
        }
        _ => {}
    }

    // Warm up both paths (connections, allocator, emulator state).
    run_client().await;
    run_bare().await;

    let mut client_times = Vec::new();
    let mut bare_times = Vec::new();
    for round in 0..rounds {
        // Alternate which goes first so drift in machine load hits both.
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for is_client in order {
            let started = Instant::now();
            if is_client {
                run_client().await
            } else {
                run_bare().await
            }
            let took = started.elapsed();
            if is_client { client_times.push(took) } else { bare_times.push(took) }
        }
    }

    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (client_median, bare_median) = (median(&mut client_times), median(&mut bare_times));
    let rate = |d: Duration| AGENTS as f64 / d.as_secs_f64();
    println!("rounds: {rounds}, {AGENTS} renews each, concurrency {CONCURRENCY}");
    println!("nxlog-client: median {client_median:?} = {:.0} requests/s", rate(client_median));
    println!("bare reqwest: median {bare_median:?} = {:.0} requests/s", rate(bare_median));
    println!(
        "ratio (client / bare time): {:.2}",
        client_median.as_secs_f64() / bare_median.as_secs_f64()
    );
    emu.shutdown().await.unwrap();
}
