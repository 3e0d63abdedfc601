//! `iter8 report`: text or HTML report of `<runDir>/experiment.yaml` on stdout.

use std::io::Write;

use anyhow::Context;

use crate::ReportArgs;

/// Read the experiment and print the report in the requested format.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let format = args.output_format.to_ascii_lowercase();
    if format != "text" && format != "html" {
        let msg = format!("unsupported report format {}", args.output_format);
        crate::log::error(&msg);
        anyhow::bail!("{msg} (hint: use -o text or -o html)");
    }
    let exp = super::read_experiment(&args.run_dir)?;
    let out = if format == "text" {
        runner::report::text(&exp)
    } else {
        runner::report::html(&exp).context("unable to execute template")?
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        .context("cannot write the report to stdout")
}
