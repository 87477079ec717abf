//! Filter parsing and matching, with peers measured in the same run:
//! `ldap3::parse_filter` on the same text (or its LDAP spelling), and a
//! hand-written loop doing the same comparison over the same records.
//!
//! Run with `cargo bench -p nxlog-filter --bench filter --
//! --warm-up-time 1 --measurement-time 3`; figures are in the README.

mod workloads;

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use workloads::{VENDOR, VENDOR_LDAP, fleet, long_filter, options};

fn short(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostname");
    let text = "(hostname=PC1)";
    let options = options();
    group.bench_function("nxlog_filter", |b| b.iter(|| options.parse(black_box(text)).unwrap()));
    group.bench_function("ldap3", |b| b.iter(|| ldap3::parse_filter(black_box(text)).unwrap()));
    group.finish();
}

fn vendor_date(c: &mut Criterion) {
    let mut group = c.benchmark_group("vendor_date");
    let options = options();
    // End to end: parse, validate, normalise, print, encode.
    group.bench_function("nxlog_filter", |b| {
        b.iter(|| options.parse(black_box(VENDOR)).unwrap().filter.to_query())
    });
    group.bench_function("ldap3", |b| {
        b.iter(|| ldap3::parse_filter(black_box(VENDOR_LDAP)).unwrap())
    });
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling");
    let options = options();
    for n in [1, 100] {
        let text = long_filter(n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("or_terms", n), &text, |b, text| {
            b.iter(|| options.parse(black_box(text)).unwrap())
        });
    }
    group.finish();
}

fn matching(c: &mut Criterion) {
    let agents = fleet(1_000_000);
    let mut group = c.benchmark_group("match_1m");
    group.sample_size(10);
    group.throughput(Throughput::Elements(agents.len() as u64));

    let predicate = nxlog_filter::parse("(hostname=PC1)").unwrap().compile();
    group.bench_function("hostname/predicate", |b| {
        b.iter(|| agents.iter().filter(|a| predicate.matches(*a)).count())
    });
    group.bench_function("hostname/hand_written", |b| {
        b.iter(|| agents.iter().filter(|a| a.hostname == black_box("PC1")).count())
    });

    let filter = r#"(certificate/not-after lt "2024-09-22 00:00:00 UTC")"#;
    let predicate = nxlog_filter::parse(filter).unwrap().compile();
    let bound: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 9, 22, 0, 0, 0).unwrap();
    group.bench_function("not_after/predicate", |b| {
        b.iter(|| agents.iter().filter(|a| predicate.matches(*a)).count())
    });
    group.bench_function("not_after/hand_written", |b| {
        b.iter(|| {
            agents
                .iter()
                .filter(|a| {
                    DateTime::parse_from_rfc3339(&a.not_after)
                        .is_ok_and(|t| t.with_timezone(&Utc) < black_box(bound))
                })
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, short, vendor_date, scaling, matching);
criterion_main!(benches);
