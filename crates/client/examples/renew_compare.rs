//! Interleaved comparison for a shared, noisy machine: renews 10 000 agents
//! one id at a time (concurrency 16) against the in-process emulator,
//! alternating nxlog-client and a bare reqwest loop sending the same
//! requests, and prints requests per second and the overhead ratio.
//!
//! ```console
//! $ cargo run --release -p nxlog-client --example renew_compare -- 7
//! ```
//! The argument is the number of rounds (default 5).

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{AGENTS, CONCURRENCY, Setup};

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let setup = Setup::new().await;
    let run_client = || setup.renew_with_client();
    let run_bare = || setup.renew_bare();

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
    setup.emu.shutdown().await.unwrap();
}
