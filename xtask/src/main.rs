//! Project automation, run as `cargo xtask <task>`.
//!
//! Each task lives in a module of its own; this file only dispatches.

mod bench;
mod ci;
mod demo;
mod fuzz;
mod man;

use std::path::{Path, PathBuf};

const HELP: &str = "\
usage: cargo xtask <task> [args]

tasks:
  ci                   formatting check and every test of the workspace
  fuzz [--seconds N]   run each fuzz target for N seconds (needs a nightly toolchain)
  bench [ARGS]         criterion benchmarks and whole-command timings
  demo [--agents N] [--seed S]
                       start the emulator on a demo fleet of N agents (from seed S)
                       and renew through nxagents
  man [--out DIR]      generate man pages for nxagents
";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    match task.as_deref() {
        Some("ci") => ci::run(&rest),
        Some("fuzz") => fuzz::run(&rest),
        Some("bench") => bench::run(&rest),
        Some("demo") => demo::run(&rest),
        Some("man") => man::run(&rest),
        Some("help" | "-h" | "--help") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

/// The workspace root, found from this crate's manifest directory.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::HELP;

    /// Every task's options are in the help, as each task's own usage
    /// message spells them.
    #[test]
    fn help_shows_each_tasks_options() {
        for usage in [
            "ci",
            "fuzz [--seconds N]",
            "bench [ARGS]",
            "demo [--agents N] [--seed S]",
            "man [--out DIR]",
        ] {
            assert!(HELP.lines().any(|l| l.starts_with(&format!("  {usage}"))), "{usage}:\n{HELP}");
        }
    }
}
