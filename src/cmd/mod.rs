//! One module per `iter8` subcommand, plus helpers shared by them.

pub mod abn;
pub mod assert;
pub mod autox;
pub mod completion;
pub mod k;
pub mod launch;
pub mod report;
pub mod run;
pub mod target;
pub mod version;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The name of the experiment file inside `--runDir`.
pub const EXPERIMENT_FILE: &str = "experiment.yaml";

/// `a: b: c` from an error and its sources, each message once.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
    }
    parts.join(": ")
}

/// Print a command-line parse error as one `Error: ...` line (exit 1), or help/version (exit 0).
pub fn report_clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        // `iter8` alone prints the help and succeeds, as cobra does.
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            // The first paragraph, on one line (clap puts lists of arguments on their own lines).
            let first = rendered
                .trim_start()
                .split("\n\n")
                .next()
                .unwrap_or("invalid command line")
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let first = first.trim_start_matches("error: ").to_string();
            let tip = rendered
                .lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix("tip: "))
                .map(|t| format!(" (hint: {t})"))
                .unwrap_or_default();
            eprintln!("Error: {first}{tip}");
            ExitCode::FAILURE
        }
    }
}

/// Write `data` to `path` atomically (temporary file in the same directory, then rename), so a
/// reader never sees half a file and a failure leaves the old file untouched. Mode 0600 as Iter8.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Parse a Go duration (`5s`, `1m30s`, `250ms`, `0`) for flags such as `--timeout`.
pub fn parse_go_duration(s: &str) -> Result<std::time::Duration, String> {
    runner::inputs::parse_go_duration(s)
        .map_err(|_| format!("invalid duration {s:?} (examples: 5s, 1m30s, 250ms)"))
}

/// Path of `experiment.yaml` in `run_dir`.
pub fn experiment_path(run_dir: &str) -> std::path::PathBuf {
    Path::new(run_dir).join(EXPERIMENT_FILE)
}

/// Read and parse `<run_dir>/experiment.yaml`, logging Iter8's error line on failure.
pub fn read_experiment(run_dir: &str) -> anyhow::Result<runner::Experiment> {
    let path = experiment_path(run_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            crate::log::error_trace("unable to read experiment", &e.to_string());
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (hint: run `iter8 launch` first, or pass --runDir)"
            } else {
                ""
            };
            anyhow::bail!("unable to read experiment {}: {e}{hint}", path.display());
        }
    };
    runner::Experiment::from_yaml(&text).map_err(|e| {
        crate::log::error_trace("unable to unmarshal experiment", &e.to_string());
        anyhow::anyhow!("{}: {e}", path.display())
    })
}
