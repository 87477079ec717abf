//! Filter evaluation over a large demo fleet: the compiled `nxlog-filter`
//! predicate against a hand-written loop, run alternately so that a busy
//! machine slows both alike; prints the best of each and their ratio.
//!
//! ```text
//! cargo run --release -p nxlog-emulator --example scan -- 1000000 15
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nxlog_emulator::{Agent, demo_fleet};

type Case<'a> = (&'a str, &'a str, Box<dyn Fn(&Agent) -> bool + 'a>);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size: usize =
        args.first().and_then(|s| s.parse().ok()).unwrap_or(1_000_000).min(10_000_000);
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(15).clamp(1, 1000);

    let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let cutoff: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let fleet = demo_fleet(size, 1, now);

    let cases: Vec<Case<'_>> = vec![
        (
            "not_after_lt",
            r#"(certificate/not-after lt "2026-06-01 00:00:00 UTC")"#,
            Box::new(move |a: &Agent| a.certificate.not_after < cutoff),
        ),
        ("hostname_eq", "(hostname=PC1)", Box::new(|a: &Agent| a.hostname == "PC1")),
        (
            "compound",
            r#"(online=true and certificate/not-after lt "2026-06-01 00:00:00 UTC") or hostname LIKE "web-%""#,
            Box::new(move |a: &Agent| {
                (a.online && a.certificate.not_after < cutoff) || a.hostname.starts_with("web-")
            }),
        ),
    ];

    for (name, filter, hand) in &cases {
        let predicate =
            nxlog_filter::Options::new().now(now).parse(filter).unwrap().filter.compile();
        let by_predicate = || fleet.iter().filter(|a| predicate.matches(*a)).count();
        let by_hand = || fleet.iter().filter(|a| hand(a)).count();
        assert_eq!(by_predicate(), by_hand(), "{name}: both loops select the same agents");

        let (mut best_p, mut best_h) = (Duration::MAX, Duration::MAX);
        for _ in 0..rounds {
            best_p = best_p.min(time(|| black_box(by_predicate())));
            best_h = best_h.min(time(|| black_box(by_hand())));
        }
        println!(
            "{name:14} {size} agents: predicate {:7.2} ms, hand {:7.2} ms, ratio {:.2}",
            ms(best_p),
            ms(best_h),
            best_p.as_secs_f64() / best_h.as_secs_f64()
        );
    }
}

fn time(f: impl FnOnce() -> usize) -> Duration {
    let started = Instant::now();
    black_box(f());
    started.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
