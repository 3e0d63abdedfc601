//! `iter8 assert`.

/// Not implemented yet.
pub fn run(_args: crate::AssertArgs) -> anyhow::Result<()> {
    anyhow::bail!("iter8 assert is not implemented yet")
}
