//! `iter8 launch`: render the experiment chart into `<runDir>/experiment.yaml` and run it.
//!
//! As Iter8 v0.13.0's local launch: the chart (by default our `charts/iter8`, built into the
//! binary) is rendered with the Helm value flags, only its `experiment` template is kept (a
//! template `{{- include "experiment" . }}` is added to the chart, as Iter8 did), the result is
//! written to `experiment.yaml`, and unless `--dry` the experiment runs at once. Everything is
//! rendered and checked in memory first; the file is written atomically only when it is valid.

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
    let ChartSource {
        mut files,
        description: source,
        origin,
    } = chart_source(args.chart_name.as_deref(), &args.remote)?;
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
    let text = rendered
        .iter()
        .find(|(k, _)| k.ends_with(EXPERIMENT_TEMPLATE) && k.split('/').count() == 3)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| anyhow::anyhow!("chart {source} has no experiment template output"))?;
    match origin {
        Some(origin) => with_chart_origin(&text, origin),
        None => Ok(text),
    }
}

/// The experiment `text` with `result.chart` set to `origin` (written as the runner writes
/// experiments; the runner keeps `result.chart` when it starts a fresh result).
pub fn with_chart_origin(text: &str, origin: runner::ChartOrigin) -> anyhow::Result<String> {
    let mut exp = runner::Experiment::from_yaml(text)
        .map_err(|e| anyhow::anyhow!("the chart rendered an invalid experiment: {e}"))?;
    exp.result
        .get_or_insert_with(|| runner::ExperimentResult::new(0))
        .chart = Some(origin);
    exp.to_yaml()
        .map_err(|e| anyhow::anyhow!("unable to write the experiment: {e}"))
}

/// A chart's files: path relative to the chart root, and bytes.
pub type ChartFiles = Vec<(String, Vec<u8>)>;

/// The chart `-c` named: its files, a description for messages, and, for a chart fetched from
/// a repository or registry, where it came from (recorded in the result and the release).
pub struct ChartSource {
    /// The chart's files.
    pub files: ChartFiles,
    /// Where it came from, for messages.
    pub description: String,
    /// Repository or registry, version and digests of a fetched chart.
    pub origin: Option<runner::ChartOrigin>,
}

/// Our hub (`hub/` of the repository, served by GitHub Pages), where `-c <name>` looks without
/// `--repo`, as Iter8 v0.13 looked in its own hub. Our charts are published there as `0.13.N`
/// so that v0.13's range finds them (docs/charts.md).
pub const DEFAULT_REPO: &str = "https://iter8-rust.github.io/iter8/hub";
/// Names another default repository (a mirror, an air-gapped copy of hub/, tests).
pub const DEFAULT_REPO_ENV: &str = "ITER8_HUB";
/// The version range Iter8 v0.13 asks of the default repository.
pub const DEFAULT_REPO_VERSION: &str = "0.13.x";

/// The default repository: `$ITER8_HUB` if set, else [`DEFAULT_REPO`].
fn default_hub() -> String {
    std::env::var(DEFAULT_REPO_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_REPO.to_string())
}

/// Files of the chart `--chartName` names, else of the built-in `charts/iter8`, and a
/// description of where they came from. As Iter8 v0.13 (Helm's LocateChart): an existing
/// path is used as is; a missing path that starts with `.` or `/` is an error; `oci://` is
/// pulled from the registry; any other name is a chart in `--repo` (default: our hub, or
/// `$ITER8_HUB`, at version `0.13.x` as v0.13 asked). A fetched chart's digest is logged and returned in
/// [`ChartSource::origin`].
pub fn chart_source(
    chart_name: Option<&str>,
    remote: &crate::RemoteChartArgs,
) -> anyhow::Result<ChartSource> {
    if let Some(name) = chart_name
        && is_remote(name, remote)
    {
        return fetch_chart(name, remote);
    }
    if chart_name.is_none() && (remote.repo.is_some() || remote.version.is_some()) {
        anyhow::bail!("--repo and --version need a chart: pass -c <name or oci:// reference>");
    }
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
            Ok(ChartSource {
                files,
                description: "built-in iter8 chart".to_string(),
                origin: None,
            })
        }
        Some(name) => Ok(ChartSource {
            files: chart_files(Path::new(name))?,
            description: name.to_string(),
            origin: None,
        }),
    }
}

fn is_remote(name: &str, remote: &crate::RemoteChartArgs) -> bool {
    let p = Path::new(name);
    name.starts_with("oci://")
        || remote.repo.is_some()
        || !(p.exists() || p.is_absolute() || name.starts_with('.'))
}

fn fetch_chart(name: &str, remote: &crate::RemoteChartArgs) -> anyhow::Result<ChartSource> {
    use chartgen::source::{self, ChartRef, Options};
    let oci = name.starts_with("oci://");
    let default_repo = !oci && remote.repo.is_none();
    let version = match (&remote.version, default_repo) {
        (Some(v), _) => v.clone(),
        (None, true) => DEFAULT_REPO_VERSION.to_string(),
        (None, false) => String::new(),
    };
    let repo = if oci {
        None
    } else {
        Some(remote.repo.clone().unwrap_or_else(default_hub))
    };
    let reference =
        ChartRef::parse(name, repo.as_deref()).map_err(|e| anyhow::anyhow!("--chartName: {e}"))?;
    let opts = Options {
        version,
        username: remote.username.clone(),
        password: remote.password.clone(),
        ca_file: remote.ca_file.as_ref().map(PathBuf::from),
        insecure_skip_tls_verify: remote.insecure_skip_tls_verify,
        plain_http: remote.plain_http,
        ..Options::default()
    };
    let fetched = source::fetch(&reference, &opts).map_err(|e| {
        let msg = error_chain(&e);
        log::error_trace("unable to get chart", &msg);
        anyhow::anyhow!("--chartName {name}: {msg}")
    })?;
    log::info(&format!(
        "pulled chart {} {} from {} (digest {})",
        fetched.name,
        fetched.version,
        fetched.origin,
        fetched
            .manifest_digest
            .as_deref()
            .unwrap_or(&fetched.digest)
    ));
    let files = chartgen::chart::archive_files(&fetched.archive)
        .map_err(|e| anyhow::anyhow!("--chartName {name}: {e}"))?;
    let origin = runner::ChartOrigin {
        name: fetched.name,
        version: fetched.version.clone(),
        source: repo.unwrap_or_else(|| name.to_string()),
        url: fetched.origin,
        digest: fetched.digest,
        manifest_digest: fetched.manifest_digest,
    };
    Ok(ChartSource {
        files,
        description: format!("{name} {}", fetched.version),
        origin: Some(origin),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
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
    let raw = std::fs::read(path)
        .with_context(|| format!("--chartName: cannot open {}", path.display()))?;
    // chartgen's archive reader: Helm's size limits, no `..`, absolute paths or links.
    chartgen::chart::archive_files(&raw).map_err(|e| {
        anyhow::anyhow!(
            "--chartName: {} is not a chart archive (.tgz): {e}",
            path.display()
        )
    })
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
