//! `nxlog-emulator`: a local NXLog Platform for rehearsals and tests.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Parser};
use nxlog_emulator::{Emulator, Fault};

/// Serve the NXLog Platform agents API on loopback from a fleet file or a
/// generated demo fleet. The first line on stdout is the base URL.
#[derive(Debug, Parser)]
#[command(name = "nxlog-emulator", version)]
#[command(group(ArgGroup::new("source").required(true).args(["fleet", "demo"])))]
struct Args {
    /// A JSON array of agent records to serve.
    #[arg(long, value_name = "FILE")]
    fleet: Option<PathBuf>,

    /// Generate a deterministic demo fleet of N agents.
    #[arg(long, value_name = "N")]
    demo: Option<usize>,

    /// Seed of the demo fleet.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "demo")]
    seed: u64,

    /// Fix the clock (RFC 3339): demo dates, renewals and `now` in filters use it.
    #[arg(long, value_name = "TIME")]
    now: Option<DateTime<Utc>>,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Organisation id served in `/api/<ORG>/api/v1/`.
    #[arg(long, value_name = "ID", default_value = nxlog_emulator::DEFAULT_ORG)]
    org: String,

    /// File of `TOKEN rw|ro` lines; without it `demo-rw-token` and
    /// `demo-ro-token` are accepted.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,

    /// Write the final fleet state here (atomically) on Ctrl-C or SIGTERM.
    #[arg(long, value_name = "FILE")]
    state_out: Option<PathBuf>,

    /// Validity of renewed certificates, in days (1 to 36525).
    #[arg(long, value_name = "DAYS", default_value_t = nxlog_emulator::DEFAULT_VALIDITY_DAYS)]
    validity_days: i64,

    /// Inject a fault, e.g. `status=503,times=2,method=POST` (repeatable).
    #[arg(long, value_name = "SPEC")]
    fault: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), nxlog_emulator::Error> {
    let mut builder = Emulator::builder().listen(args.listen).org(args.org);
    builder = match (args.fleet, args.demo) {
        (Some(path), _) => builder.fleet_file(path),
        (None, Some(count)) => builder.demo(count, args.seed),
        (None, None) => unreachable_source(),
    };
    if let Some(path) = args.tokens {
        builder = builder.tokens_file(path);
    }
    if let Some(path) = args.state_out {
        builder = builder.state_out(path);
    }
    if let Some(now) = args.now {
        builder = builder.now(now);
    }
    // Checked before building a duration, which panics on huge day counts.
    if !(1..=nxlog_emulator::MAX_VALIDITY_DAYS).contains(&args.validity_days) {
        return Err(nxlog_emulator::Error::Config(format!(
            "`--validity-days`: expected 1 to {}, found {}",
            nxlog_emulator::MAX_VALIDITY_DAYS,
            args.validity_days
        )));
    }
    builder = builder.validity(chrono::Duration::days(args.validity_days));
    for spec in &args.fault {
        builder = builder.fault(Fault::parse_spec(spec)?);
    }

    // Listen for signals before anyone learns the URL, so that a SIGTERM
    // sent right after it still stops the server gracefully.
    let signals = Signals::install()
        .map_err(|e| nxlog_emulator::Error::Config(format!("cannot listen for signals: {e}")))?;
    let emulator = builder.spawn().await?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", emulator.base_url());
    let _ = stdout.flush();
    drop(stdout);
    tracing::info!(api = %emulator.api_base(), agents = emulator.agent_count(), "serving");

    signals.wait().await;
    tracing::info!("shutting down");
    emulator.shutdown().await
}

// clap's required group guarantees a source; keep the fallback total.
fn unreachable_source() -> ! {
    eprintln!("error: expected `--fleet FILE` or `--demo N`");
    std::process::exit(2)
}

/// Ctrl-C and SIGTERM, registered when installed rather than when awaited.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }
}
