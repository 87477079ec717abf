//! The benchmarks' workloads as a plain program, for counting
//! instructions with callgrind, which stays exact on a busy machine where
//! criterion's times wander.
//!
//! ```text
//! cargo build --release -p nxlog-filter --example workload
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/workload hostname/nxlog_filter 20000
//! ```
//!
//! Run each case twice, with N and 2N repetitions, and divide the
//! difference of the two totals by N: that removes start-up and set-up
//! (building the fleet) and leaves the instructions of one repetition.
//! Matching cases repeat a scan over a 10 000-agent fleet.

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use workloads::{VENDOR, VENDOR_LDAP, fleet, long_filter, options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let case = args.first().map_or("hostname/nxlog_filter", String::as_str);
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let options = options();
    let long = long_filter(100);
    let one = long_filter(1);
    let agents = if case.starts_with("match") { fleet(10_000) } else { Vec::new() };
    let bound: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 9, 22, 0, 0, 0).unwrap();
    let by_host = nxlog_filter::parse("(hostname=PC1)").unwrap().compile();
    let by_date = nxlog_filter::parse(VENDOR).unwrap().compile();

    let mut sink = 0usize;
    for _ in 0..n {
        sink += match case {
            "hostname/nxlog_filter" => {
                options.parse(black_box("(hostname=PC1)")).unwrap().warnings.len()
            }
            "hostname/ldap3" => {
                drop(black_box(ldap3::parse_filter(black_box("(hostname=PC1)")).unwrap()));
                0
            }
            "vendor_date/nxlog_filter" => {
                options.parse(black_box(VENDOR)).unwrap().filter.to_query().len()
            }
            "vendor_date/ldap3" => {
                drop(black_box(ldap3::parse_filter(black_box(VENDOR_LDAP)).unwrap()));
                0
            }
            "scaling/1" => options.parse(black_box(&one)).unwrap().warnings.len(),
            "scaling/100" => options.parse(black_box(&long)).unwrap().warnings.len(),
            "match/hostname/predicate" => agents.iter().filter(|a| by_host.matches(*a)).count(),
            "match/hostname/hand_written" => {
                agents.iter().filter(|a| a.hostname == black_box("PC1")).count()
            }
            "match/not_after/predicate" => agents.iter().filter(|a| by_date.matches(*a)).count(),
            "match/not_after/hand_written" => agents
                .iter()
                .filter(|a| {
                    DateTime::parse_from_rfc3339(&a.not_after)
                        .is_ok_and(|t| t.with_timezone(&Utc) < black_box(bound))
                })
                .count(),
            other => {
                eprintln!("unknown case `{other}`");
                std::process::exit(2);
            }
        };
    }
    println!("{sink}");
}
