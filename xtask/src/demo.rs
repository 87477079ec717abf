//! `cargo xtask demo`: a real renew against a local emulator.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use xshell::{Shell, cmd};

/// Agents in the demo fleet.
const AGENTS: usize = 40;
/// Seed of the demo fleet, so every run shows the same fleet.
const SEED: u64 = 7;
/// The filter selects certificates that expire before this many days from
/// today. The demo fleet spreads expiry dates evenly from one year ago to two
/// years ahead, so this selects a bit over a third of the agents, a few of
/// them offline.
const DAYS_AHEAD: i64 = 30;

/// Builds the workspace, starts `nxlog-emulator --demo`, and runs
/// `nxagents certificate renew` against it with a date filter.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let (agents, seed) = parse_args(args)?;
    let root = crate::project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);

    // Cargo's own progress shows while the first build runs.
    cmd!(sh, "cargo build --package nxagents --package nxlog-emulator").run()?;
    let bin = target_dir(&root).join("debug");

    // Start the emulator; its first stdout line is its base URL.
    let (agents, seed) = (agents.to_string(), seed.to_string());
    // The emulator logs every request on stderr; keep that out of the way.
    let log_path = target_dir(&root).join("demo-emulator.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create `{}`", log_path.display()))?;
    let mut emulator = Command::new(bin.join("nxlog-emulator"))
        .args(["--demo", &agents, "--seed", &seed])
        .stdout(Stdio::piped())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .context("cannot start nxlog-emulator")?;
    let guard = KillOnDrop(&mut emulator);
    let url = first_line(guard.0)?;
    println!(
        "emulator: {agents} demo agents (seed {seed}) at {url}, organisation `demo`, \
         token `demo-rw-token`\n"
    );

    let date = (chrono::Utc::now() + chrono::Duration::days(DAYS_AHEAD)).format("%Y-%m-%d");
    let filter = format!("(certificate/not-after lt \"{date} 00:00:00 UTC\")");
    println!("$ nxagents certificate renew --filter '{filter}' --yes");
    let status = Command::new(bin.join("nxagents"))
        .args(["certificate", "renew", "--filter", &filter, "--yes"])
        .env("NXLOG_URL", &url)
        .env("NXLOG_ORG", "demo")
        .env("NXLOG_TOKEN", "demo-rw-token")
        .stdin(Stdio::null())
        .status()
        .context("cannot run nxagents")?;
    drop(guard);

    // Exit code 3 means some agents failed, which the demo fleet never does.
    anyhow::ensure!(status.success(), "nxagents exited with {status}");
    println!("\nemulator stopped (its request log: {})", log_path.display());
    Ok(())
}

fn parse_args(args: &[String]) -> anyhow::Result<(usize, u64)> {
    let (mut agents, mut seed) = (AGENTS, SEED);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().with_context(|| format!("`{arg}` needs a value"))?;
        match arg.as_str() {
            "--agents" => agents = value.parse().context("`--agents` expects a number")?,
            "--seed" => seed = value.parse().context("`--seed` expects a number")?,
            _ => anyhow::bail!(
                "unexpected argument `{arg}`; usage: cargo xtask demo [--agents N] [--seed S]"
            ),
        }
    }
    Ok((agents, seed))
}

/// Reads the emulator's first stdout line, its base URL.
fn first_line(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("emulator stdout is not piped")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).context("cannot read the emulator's URL")?;
    let url = line.trim().to_owned();
    anyhow::ensure!(url.starts_with("http"), "expected the emulator's base URL, found `{url}`");
    Ok(url)
}

/// The Cargo target folder, honouring `CARGO_TARGET_DIR`.
pub(crate) fn target_dir(root: &std::path::Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Stops the emulator however the demo ends.
struct KillOnDrop<'a>(&'a mut Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
