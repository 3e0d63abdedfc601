//! `iter8 launch`: render the experiment chart into `<runDir>/experiment.yaml` and run it.
//!
//! As Iter8 v0.13.0's local launch: the chart (by default our `charts/iter8`, built into the
//! binary) is rendered with the Helm value flags, only its `experiment` template is kept (a
//! template `{{- include "experiment" . }}` is added to the chart, as Iter8 did), the result is
//! written to `experiment.yaml`, and unless `--dry` the experiment runs at once. Everything is
//! rendered and checked in memory first; the file is written atomically only when it is valid.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::LaunchArgs;
use crate::log;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_chart.rs"));
}

/// Name of the template added to the chart to render only the experiment.
const EXPERIMENT_TEMPLATE: &str = "templates/experiment.yaml";
const EXPERIMENT_TEMPLATE_TEXT: &str = "{{- include \"experiment\" . }}";

/// Render, write `experiment.yaml`, and run unless `--dry`.
pub fn run(args: LaunchArgs) -> anyhow::Result<()> {
    if args.local_chart && args.chart_name.is_none() {
        anyhow::bail!("localChart specified; 'chartName' is required");
    }
    let text = render_experiment(&args)?;
    let path = super::experiment_path(&args.run_dir);
    let exp = runner::Experiment::from_yaml(&text)
        .map_err(|e| anyhow::anyhow!("the chart rendered an invalid experiment: {e}"))?;
    preflight(&exp, Path::new("(rendered experiment)"))?;

    if !Path::new(&args.run_dir).is_dir() {
        std::fs::create_dir_all(&args.run_dir)
            .with_context(|| format!("unable to create --runDir {}", args.run_dir))?;
    }
    if let Err(e) = super::write_atomic(&path, text.as_bytes()) {
        log::error_trace("unable to write experiment", &e.to_string());
        anyhow::bail!("unable to write experiment {}: {e}", path.display());
    }
    log::info("created experiment.yaml file");
    if args.dry {
        log::info("dry run complete");
        return Ok(());
    }
    log::info("starting local experiment");
    super::run::execute(&args.run_dir, false, !args.no_progress)
}

/// Render the chart's `experiment` template with the value flags, in memory.
fn render_experiment(args: &LaunchArgs) -> anyhow::Result<String> {
    let (mut files, source) = chart_source(args.chart_name.as_deref())?;
    files.retain(|(name, _)| name != EXPERIMENT_TEMPLATE);
    files.push((
        EXPERIMENT_TEMPLATE.to_string(),
        EXPERIMENT_TEMPLATE_TEXT.as_bytes().to_vec(),
    ));
    let chart = chartgen::chart::load_from_files(files).map_err(|e| {
        log::error_trace("unable to load experiment chart", &e.to_string());
        anyhow::anyhow!(
            "unable to load chart {source}: {}",
            one_line(&e.to_string())
        )
    })?;
    let opts = chartgen::render::Options {
        release_name: "default".to_string(),
        namespace: "default".to_string(),
        values_files: args.values.values.iter().map(PathBuf::from).collect(),
        set: args.values.set.clone(),
        set_string: args.values.set_string.clone(),
        set_file: args.values.set_file.clone(),
        ..Default::default()
    };
    let rendered = chartgen::render::render_files(&chart, &opts).map_err(|e| {
        log::error_trace("unable to render chart templates", &e.to_string());
        anyhow::anyhow!("{}", one_line(&e.to_string()))
    })?;
    rendered
        .iter()
        .find(|(k, _)| k.ends_with(EXPERIMENT_TEMPLATE) && k.split('/').count() == 3)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| anyhow::anyhow!("chart {source} has no experiment template output"))
}

/// A chart's files: path relative to the chart root, and bytes.
pub type ChartFiles = Vec<(String, Vec<u8>)>;

/// Files of the chart `--chartName` names (a directory or `.tgz`), else of the built-in
/// `charts/iter8`, and a description of where they came from.
pub fn chart_source(chart_name: Option<&str>) -> anyhow::Result<(ChartFiles, String)> {
    match chart_name {
        None => {
            if embedded::CHART_FILES.is_empty() {
                anyhow::bail!(
                    "this iter8 binary was built without charts/iter8 (hint: pass a chart with -c <path>)"
                );
            }
            let files = embedded::CHART_FILES
                .iter()
                .map(|(name, data)| (name.to_string(), data.to_vec()))
                .collect::<Vec<_>>();
            Ok((files, "built-in iter8 chart".to_string()))
        }
        Some(name) => Ok((chart_files(Path::new(name))?, name.to_string())),
    }
}

/// Files of a chart directory or `.tgz`, relative to the chart root.
fn chart_files(path: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    if !path.exists() {
        anyhow::bail!(
            "--chartName: path {:?} not found (hint: omit -c to use the built-in iter8 chart)",
            path.display().to_string()
        );
    }
    if path.is_dir() {
        let mut out = Vec::new();
        walk(path, path, &mut out)?;
        out.sort();
        return Ok(out);
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("--chartName: cannot open {}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    let entries = archive.entries().with_context(|| {
        format!(
            "--chartName: {} is not a chart archive (.tgz)",
            path.display()
        )
    })?;
    for entry in entries {
        let mut entry = entry.with_context(|| {
            format!(
                "--chartName: {} is not a chart archive (.tgz)",
                path.display()
            )
        })?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path()?.to_string_lossy().replace('\\', "/");
        // Strip the chart's top-level directory, as Helm's loader does.
        let Some((_, rel)) = name.split_once('/') else {
            continue;
        };
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .with_context(|| format!("--chartName: cannot read {name} in {}", path.display()))?;
        out.push((rel.to_string(), data));
    }
    Ok(out)
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read chart directory {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let p = entry.path();
        if p.is_dir() {
            walk(base, &p, out)?;
        } else if p.is_file() {
            let rel = p
                .strip_prefix(base)
                .expect("walked path is under the chart root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let data = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            out.push((rel, data));
        }
    }
    Ok(())
}

/// Collapse a multi-line message (e.g. a schema report) into one line.
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Check what can be checked before anything runs or is written: task names, and every task's
/// inputs (the runner's own checks, the same `iter8 run` applies), so bad input fails with one
/// line and no files.
pub fn preflight(exp: &runner::Experiment, location: &Path) -> anyhow::Result<()> {
    let kube = iter8_k8s::KubeOptions::default();
    super::run::with_tasks(&kube, |tasks| {
        let opts = runner::RunOptions {
            tasks,
            ..Default::default()
        };
        runner::task::check_experiment(exp, &opts)
    })
    .map_err(|e| match e {
        runner::RunError::UnknownTask { .. } => anyhow::anyhow!("{}: {e}", location.display()),
        other => anyhow::anyhow!(runner::task::error_chain(&other)),
    })
}
