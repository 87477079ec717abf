//! Renewing 10 000 agents one id at a time, concurrency 16, against the
//! in-process emulator: nxlog-client against a bare reqwest loop sending the
//! same requests, to measure what the client's funnel costs.

mod common;

use std::time::Duration;

use common::{AGENTS, Setup};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn renew(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let setup = runtime.block_on(Setup::new());

    let mut group = c.benchmark_group("renew_10k_ids_c16");
    group.throughput(Throughput::Elements(AGENTS as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));

    group.bench_function("nxlog_client", |b| {
        b.to_async(&runtime).iter(|| setup.renew_with_client())
    });
    group.bench_function("bare_reqwest", |b| b.to_async(&runtime).iter(|| setup.renew_bare()));
    group.finish();

    runtime.block_on(setup.emu.shutdown()).unwrap();
}

criterion_group!(benches, renew);
criterion_main!(benches);
