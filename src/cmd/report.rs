//! `iter8 report`.

/// Not implemented yet.
pub fn run(_args: crate::ReportArgs) -> anyhow::Result<()> {
    anyhow::bail!("iter8 report is not implemented yet")
}
