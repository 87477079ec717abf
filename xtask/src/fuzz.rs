//! `cargo xtask fuzz [--seconds N]`: runs every fuzz target of `fuzz/`
//! for N seconds each (default 60) with cargo-fuzz on nightly.
//!
//! Without a nightly toolchain the task says so and succeeds, so it can
//! sit in scripts on machines that only have stable. cargo-fuzz is
//! installed when missing. New inputs go to a scratch corpus under
//! `fuzz/target/`, so the committed seed corpus stays small; crashes land
//! in `fuzz/artifacts/<target>/`, and each one should become a file in
//! `fuzz/regressions/` (replayed by `cargo test -p nxlog-filter`).

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::project_root;

/// The targets, in the order they run.
const TARGETS: [&str; 2] = ["never_panics", "round_trip"];

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let seconds = parse_args(args)?;
    let sh = Shell::new()?;
    let fuzz_dir = project_root().join("fuzz");
    sh.change_dir(&fuzz_dir);

    if !has_toolchain(&sh, "nightly") {
        println!("fuzz: no nightly toolchain found; fuzz smoke skipped");
        return Ok(());
    }

    let has_cargo_fuzz = cmd!(sh, "cargo +nightly fuzz --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    if !has_cargo_fuzz {
        println!("fuzz: cargo-fuzz not found; installing it");
        cmd!(sh, "cargo +nightly install cargo-fuzz --locked")
            .run()
            .context("installing cargo-fuzz")?;
    }

    let max_time = format!("-max_total_time={seconds}");
    for target in TARGETS {
        let scratch = fuzz_dir.join("target").join("corpus").join(target);
        sh.create_dir(&scratch)?;
        let seeds = fuzz_dir.join("corpus").join(target);
        println!("fuzz: {target} for {seconds} s");
        cmd!(sh, "cargo +nightly fuzz run {target} {scratch} {seeds} -- {max_time}")
            .run()
            .with_context(|| {
                format!("fuzz target `{target}` failed; see fuzz/artifacts/{target}/")
            })?;
    }
    Ok(())
}

/// Whether `cargo +<toolchain>` runs here.
fn has_toolchain(sh: &Shell, toolchain: &str) -> bool {
    let toolchain = format!("+{toolchain}");
    cmd!(sh, "cargo {toolchain} --version").quiet().ignore_stdout().ignore_stderr().run().is_ok()
}

/// `--seconds N` or `--seconds=N`; nothing else.
fn parse_args(args: &[String]) -> anyhow::Result<u64> {
    let mut seconds = 60;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--seconds") {
            Some("") => args.next().context("expected a number after `--seconds`")?.as_str(),
            Some(rest) if rest.starts_with('=') => &rest[1..],
            _ => bail!("unknown argument `{arg}`; usage: cargo xtask fuzz [--seconds N]"),
        };
        seconds = value
            .parse()
            .with_context(|| format!("expected a number of seconds, found `{value}`"))?;
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_toolchain_is_detected() {
        let sh = Shell::new().unwrap();
        assert!(!has_toolchain(&sh, "nxagents-no-such-toolchain"));
    }

    #[test]
    fn arguments() {
        let check = |args: &[&str], expected: Option<u64>| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            assert_eq!(parse_args(&args).ok(), expected, "{args:?}");
        };
        check(&[], Some(60));
        check(&["--seconds", "5"], Some(5));
        check(&["--seconds=7"], Some(7));
        check(&["--seconds"], None);
        check(&["--seconds", "x"], None);
        check(&["--minutes", "1"], None);
    }
}
