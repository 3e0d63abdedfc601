//! `iter8 report`: text, HTML or JSON report of `<runDir>/experiment.yaml` on stdout.

use std::io::Write;

use anyhow::Context;

use crate::ReportArgs;

/// Read `<runDir>/experiment.yaml` and print the report in the requested format.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let run_dir = args.run_dir.clone();
    print(&args.output_format, &mut || {
        super::read_experiment(&run_dir)
    })
}

/// Print the report of the experiment `read` returns, in `output_format` (text, html or json).
pub fn print(
    output_format: &str,
    read: &mut dyn FnMut() -> anyhow::Result<runner::Experiment>,
) -> anyhow::Result<()> {
    let format = output_format.to_ascii_lowercase();
    if !["text", "html", "json"].contains(&format.as_str()) {
        let msg = format!("unsupported report format {output_format}");
        crate::log::error(&msg);
        anyhow::bail!("{msg} (hint: use -o text, -o html or -o json)");
    }
    let exp = read()?;
    let out = match format.as_str() {
        "text" => runner::report::text(&exp),
        "json" => runner::report::json(&exp),
        _ => runner::report::html(&exp).context("unable to execute template")?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        .context("cannot write the report to stdout")
}
