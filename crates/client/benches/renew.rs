//! Renewing 10 000 agents one id at a time, concurrency 16, against the
//! in-process emulator: nxlog-client against a bare reqwest loop sending the
//! same requests, to measure what the client's funnel costs.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use nxlog_client::{AgentId, Client, Command, Config, SecretString, Target};
use nxlog_emulator::Emulator;

const AGENTS: usize = 10_000;
const CONCURRENCY: usize = 16;

fn renew(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let emu =
        runtime.block_on(Emulator::builder().demo(AGENTS, 7).request_log_limit(1).spawn()).unwrap();
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

    let mut group = c.benchmark_group("renew_10k_ids_c16");
    group.throughput(Throughput::Elements(AGENTS as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));

    group.bench_function("nxlog_client", |b| {
        b.to_async(&runtime).iter(|| async {
            let report = client.run(Command::Renew, &Target::Ids(ids.clone())).await.unwrap();
            assert_eq!(report.results.len(), AGENTS);
        })
    });

    group.bench_function("bare_reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
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
        })
    });
    group.finish();

    runtime.block_on(emu.shutdown()).unwrap();
}

criterion_group!(benches, renew);
criterion_main!(benches);
