//! `cargo xtask ci`: the single gate, formatting then every test.

use xshell::{Shell, cmd};

/// Checks formatting, then runs every test of the workspace (unit, doc,
/// property, snapshot and end-to-end tests).
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        anyhow::bail!("unexpected argument `{arg}`; usage: cargo xtask ci");
    }
    let sh = Shell::new()?;
    sh.change_dir(crate::project_root());

    cmd!(sh, "cargo fmt --all --check").run()?;

    // Snapshot tests must fail on a difference, never write new files, so
    // that a missing snapshot is a failure in CI as well as locally.
    let _ci = sh.push_env("INSTA_UPDATE", "no");
    cmd!(sh, "cargo test --workspace").run()?;
    Ok(())
}
