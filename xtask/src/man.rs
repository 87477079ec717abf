//! `cargo xtask man`: man pages for `nxagents`, one per command.

use std::path::PathBuf;

use xshell::{Shell, cmd};

/// Builds `nxagents` and lets it write its man pages (clap_mangen) into
/// `--out DIR`, `target/man` by default.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let root = crate::project_root();
    let out = match args {
        [] => root.join("target").join("man"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => anyhow::bail!("usage: cargo xtask man [--out DIR]"),
    };
    let out = if out.is_relative() { std::env::current_dir()?.join(out) } else { out };

    let sh = Shell::new()?;
    sh.change_dir(&root);
    cmd!(sh, "cargo run --quiet --package nxagents -- generate-man --out {out}").run()?;

    let mut pages: Vec<String> = std::fs::read_dir(&out)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    println!("wrote {} man pages into {}:", pages.len(), out.display());
    for page in pages {
        println!("  {page}");
    }
    Ok(())
}
