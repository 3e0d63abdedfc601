//! `iter8 launch`.

/// Not implemented yet.
pub fn run(_args: crate::LaunchArgs) -> anyhow::Result<()> {
    anyhow::bail!("iter8 launch is not implemented yet")
}
