//! Benchmarks: filter evaluation over a 1,000,000-agent fleet, the compiled
//! `nxlog-filter` predicate against a hand-written loop over the same records.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use nxlog_emulator::{Agent, demo_fleet};

const FLEET: usize = 1_000_000;

fn now() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn predicate(text: &str) -> nxlog_filter::Predicate {
    nxlog_filter::Options::new().now(now()).parse(text).unwrap().filter.compile()
}

fn scan(c: &mut Criterion) {
    let fleet = demo_fleet(FLEET, 1, now());
    let cutoff: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let mut group = c.benchmark_group("scan_1m");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));

    let expired = predicate(r#"(certificate/not-after lt "2026-06-01 00:00:00 UTC")"#);
    let hand = |a: &Agent| a.certificate.not_after < cutoff;
    assert_eq!(count(&fleet, |a| expired.matches(a)), count(&fleet, hand));
    group.bench_function("not_after_lt/predicate", |b| {
        b.iter(|| count(black_box(&fleet), |a| expired.matches(a)))
    });
    group.bench_function("not_after_lt/hand", |b| b.iter(|| count(black_box(&fleet), hand)));

    let host = predicate("(hostname=PC1)");
    let hand = |a: &Agent| a.hostname == "PC1";
    assert_eq!(count(&fleet, |a| host.matches(a)), count(&fleet, hand));
    group.bench_function("hostname_eq/predicate", |b| {
        b.iter(|| count(black_box(&fleet), |a| host.matches(a)))
    });
    group.bench_function("hostname_eq/hand", |b| b.iter(|| count(black_box(&fleet), hand)));

    let both = predicate(
        r#"(online=true and certificate/not-after lt "2026-06-01 00:00:00 UTC") or hostname LIKE "web-%""#,
    );
    let hand = |a: &Agent| {
        (a.online && a.certificate.not_after < cutoff) || a.hostname.starts_with("web-")
    };
    assert_eq!(count(&fleet, |a| both.matches(a)), count(&fleet, hand));
    group.bench_function("compound/predicate", |b| {
        b.iter(|| count(black_box(&fleet), |a| both.matches(a)))
    });
    group.bench_function("compound/hand", |b| b.iter(|| count(black_box(&fleet), hand)));
    group.finish();
}

fn count(fleet: &[Agent], mut keep: impl FnMut(&Agent) -> bool) -> usize {
    fleet.iter().filter(|a| keep(a)).count()
}

criterion_group!(benches, scan);
criterion_main!(benches);
