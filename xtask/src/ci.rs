//! `cargo xtask ci`.

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask ci` is not written yet")
}
