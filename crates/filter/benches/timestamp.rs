//! Timestamp normalisation against the `time` crate (RFC 3339, RFC 2822)
//! and `asn1-rs` (UTCTime, GeneralizedTime) reading the same values.
//!
//! Run with `cargo bench -p nxlog-filter --bench timestamp --
//! --measurement-time 3 --warm-up-time 1`; figures are in the crate's
//! timestamp notes.

use std::hint::black_box;

use asn1_rs::{FromDer, GeneralizedTime, UtcTime};
use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use nxlog_filter::{format_timestamp, parse_timestamp};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

/// The clock for relative times; no input here is relative.
fn clock() -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_750_600, 0).expect("valid instant")
}

/// The DER encoding of an ASN.1 time: tag, short-form length, the text.
fn der(tag: u8, text: &str) -> Vec<u8> {
    let mut bytes = vec![tag, u8::try_from(text.len()).expect("short-form length")];
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn rfc3339(c: &mut Criterion) {
    let text = "2024-09-22T02:00:00.069+02:00";
    let now = clock();
    let mut group = c.benchmark_group("rfc3339");
    group.bench_function("nxlog_filter::parse_timestamp", |b| {
        b.iter(|| parse_timestamp(black_box(text), now).expect("valid"))
    });
    group.bench_function("time::OffsetDateTime::parse", |b| {
        b.iter(|| OffsetDateTime::parse(black_box(text), &Rfc3339).expect("valid"))
    });
    group.bench_function("nxlog_filter::parse_then_format", |b| {
        b.iter(|| format_timestamp(parse_timestamp(black_box(text), now).expect("valid")))
    });
    group.finish();
}

fn rfc2822(c: &mut Criterion) {
    let text = "Sun, 22 Sep 2024 02:00:00 +0200";
    let now = clock();
    let mut group = c.benchmark_group("rfc2822");
    group.bench_function("nxlog_filter::parse_timestamp", |b| {
        b.iter(|| parse_timestamp(black_box(text), now).expect("valid"))
    });
    group.bench_function("time::OffsetDateTime::parse", |b| {
        b.iter(|| OffsetDateTime::parse(black_box(text), &Rfc2822).expect("valid"))
    });
    group.finish();
}

fn asn1(c: &mut Criterion) {
    // UTCTime (tag 0x17) and GeneralizedTime (tag 0x18) of the same value:
    // our parser reads the text, asn1-rs reads its DER encoding.
    let utc_text = "240922000000Z";
    let utc_der = der(0x17, utc_text);
    let now = clock();
    let mut group = c.benchmark_group("utctime");
    group.bench_function("nxlog_filter::parse_timestamp", |b| {
        b.iter(|| parse_timestamp(black_box(utc_text), now).expect("valid"))
    });
    group.bench_function("asn1_rs::UtcTime::from_der", |b| {
        b.iter(|| UtcTime::from_der(black_box(&utc_der)).expect("valid").1)
    });
    group.bench_function("asn1_rs::UtcTime::from_der+utc_adjusted_datetime", |b| {
        b.iter(|| {
            let (_, t) = UtcTime::from_der(black_box(&utc_der)).expect("valid");
            t.utc_adjusted_datetime().expect("valid")
        })
    });
    group.finish();

    let gen_text = "20240922000000Z";
    let gen_der = der(0x18, gen_text);
    let now = clock();
    let mut group = c.benchmark_group("generalizedtime");
    group.bench_function("nxlog_filter::parse_timestamp", |b| {
        b.iter(|| parse_timestamp(black_box(gen_text), now).expect("valid"))
    });
    group.bench_function("asn1_rs::GeneralizedTime::from_der", |b| {
        b.iter(|| GeneralizedTime::from_der(black_box(&gen_der)).expect("valid").1)
    });
    group.bench_function("asn1_rs::GeneralizedTime::from_der+utc_datetime", |b| {
        b.iter(|| {
            let (_, t) = GeneralizedTime::from_der(black_box(&gen_der)).expect("valid");
            t.utc_datetime().expect("valid")
        })
    });
    group.finish();
}

criterion_group!(benches, rfc3339, rfc2822, asn1);
criterion_main!(benches);
