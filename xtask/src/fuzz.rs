//! `cargo xtask fuzz`.

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask fuzz` is not written yet")
}
