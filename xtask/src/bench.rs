//! `cargo xtask bench`: criterion benchmarks and whole-command timings.
//!
//! Whole commands are timed with hyperfine, when it is installed, against a
//! release-built emulator on loopback:
//!
//! - `nxagents certificate renew --filter ... --yes` against the single
//!   `curl` request a person would otherwise send, and against an equivalent
//!   Python script using `requests`;
//! - `nxagents filter check` against `curl --version` (process start-up).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::Context;
use xshell::{Shell, cmd};

/// The agent every renew run selects (present in the demo fleet of any size).
const HOSTNAME: &str = "PC1";

/// Runs `cargo bench --workspace ARGS`, then the hyperfine comparisons.
///
/// `--commands-only` skips criterion; `--criterion-only` skips hyperfine.
/// Every other argument goes to `cargo bench` as it is.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let commands_only = args.iter().any(|a| a == "--commands-only");
    let criterion_only = args.iter().any(|a| a == "--criterion-only");
    let passed: Vec<&String> =
        args.iter().filter(|a| *a != "--commands-only" && *a != "--criterion-only").collect();

    let root = crate::project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);

    if !commands_only {
        cmd!(sh, "cargo bench --workspace {passed...}").run()?;
    }
    if criterion_only {
        return Ok(());
    }
    if cmd!(sh, "hyperfine --version").quiet().ignore_stdout().run().is_err() {
        println!(
            "hyperfine is not installed (`apt-get install -y hyperfine`); skipping command timings"
        );
        return Ok(());
    }
    commands(&sh, &root)
}

fn commands(sh: &Shell, root: &std::path::Path) -> anyhow::Result<()> {
    cmd!(sh, "cargo build --release --quiet --package nxagents --package nxlog-emulator").run()?;
    let bin = crate::demo::target_dir(root).join("release");
    let out_dir = crate::demo::target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir)?;

    let mut emulator = Command::new(bin.join("nxlog-emulator"))
        .args(["--demo", "200", "--seed", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .context("cannot start nxlog-emulator")?;
    let mut line = String::new();
    let stdout = emulator.stdout.take().context("emulator stdout is not piped")?;
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line.trim().to_owned();

    let result = compare(sh, &bin, &url, &out_dir);
    let _ = emulator.kill();
    let _ = emulator.wait();
    result
}

fn compare(
    sh: &Shell,
    bin: &std::path::Path,
    url: &str,
    out_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let nxagents = bin.join("nxagents");
    let nxagents = nxagents.display();
    let api = format!("{url}/api/demo/api/v1/agents");

    // The vendor's curl line for one renew by host name.
    let curl = format!(
        "curl --silent --show-error --fail --request POST \
         --url '{api}/*/certificate/renew/?filter=(hostname={HOSTNAME})' \
         --header 'Authorization: Bearer demo-rw-token' --data '' --output /dev/null"
    );
    let python_script = out_dir.join("renew.py");
    std::fs::write(&python_script, python_renew(&api))?;
    let python = format!("python3 {}", python_script.display());
    let ours = format!(
        "{nxagents} certificate renew --filter '(hostname={HOSTNAME})' --yes --fail-on-empty \
         --url {url} --org demo --color never"
    );
    let check =
        format!("{nxagents} filter check '(certificate/not-after lt \"2024-09-22 00:00:00 UTC\")'");

    let renew_md = out_dir.join("renew.md");
    let check_md = out_dir.join("filter-check.md");
    let _token = sh.push_env("NXLOG_TOKEN", "demo-rw-token");
    cmd!(
        sh,
        "hyperfine --shell=none --warmup 5 --runs 40 --style basic --output=null
            --export-markdown {renew_md} --command-name curl {curl}
            --command-name nxagents {ours} --command-name python {python}"
    )
    .run()?;
    cmd!(
        sh,
        "hyperfine --shell=none --warmup 5 --runs 100 --style basic --output=null
            --export-markdown {check_md} --command-name 'curl --version' 'curl --version'
            --command-name 'nxagents filter check' {check}"
    )
    .run()?;
    println!("\nmarkdown tables: {} and {}", renew_md.display(), check_md.display());
    Ok(())
}

/// A Python script that renews by host name with `requests`, as the
/// vendor's documentation suggests doing by hand.
fn python_renew(api: &str) -> String {
    format!(
        r#"import sys
import requests

url = "{api}/*/certificate/renew/?filter=(hostname={HOSTNAME})"
response = requests.post(url, headers={{"Authorization": "Bearer demo-rw-token"}})
if response.status_code != 200:
    sys.exit("renew failed: {{}} {{}}".format(response.status_code, response.text))
print(response.json())
"#
    )
}
