//! `iter8 run`.

/// Not implemented yet.
pub fn run(_args: crate::RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("iter8 run is not implemented yet")
}
