//! Chart authoring commands: `chartgen package` (like `helm package`), `chartgen repo
//! index` (like `helm repo index`) and `chartgen lint` (like `helm lint`). Files are written to a temporary name and renamed, so a
//! failed run leaves nothing half-written.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use chartgen::chart::package::{PackageOptions, package_dir};
use chartgen::repo::{IndexOptions, index_dir};

#[derive(Args)]
pub struct PackageArgs {
    /// Chart directories to package.
    #[arg(required = true, value_name = "CHART_PATH")]
    paths: Vec<PathBuf>,
    /// Location to write the chart archives.
    #[arg(short = 'd', long = "destination", default_value = ".")]
    destination: PathBuf,
    /// Set the version on the chart to this semver version.
    #[arg(long = "version")]
    version: Option<String>,
    /// Set the appVersion on the chart to this version.
    #[arg(long = "app-version")]
    app_version: Option<String>,
}

#[derive(Subcommand)]
pub enum RepoCommand {
    /// Generate an index file for a directory of packaged charts (like `helm repo index`).
    Index(IndexArgs),
    /// Add a chart repository (like `helm repo add`).
    Add(Box<crate::remote::RepoAddArgs>),
    /// Update information of available charts from chart repositories.
    #[command(alias = "up")]
    Update {
        /// Repositories to update (all when none given).
        names: Vec<String>,
    },
    /// List chart repositories.
    #[command(alias = "ls")]
    List,
    /// Remove one or more chart repositories.
    #[command(alias = "rm")]
    Remove {
        /// Repositories to remove.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Args)]
pub struct IndexArgs {
    /// Directory holding the chart archives; index.yaml is written there.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// URL of the chart repository.
    #[arg(long = "url")]
    url: Option<String>,
    /// Merge the generated index into the given index.
    #[arg(long = "merge")]
    merge: Option<PathBuf>,
}

/// Seconds since the epoch from `SOURCE_DATE_EPOCH` (reproducible builds), else now.
fn build_time() -> Result<chrono::DateTime<chrono::Utc>, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => {
            let secs: i64 = s.trim().parse().map_err(|_| {
                format!("SOURCE_DATE_EPOCH must be seconds since 1970-01-01, got {s:?}")
            })?;
            chrono::DateTime::from_timestamp(secs, 0)
                .ok_or_else(|| format!("SOURCE_DATE_EPOCH out of range: {s}"))
        }
        Err(_) => Ok(chrono::Utc::now()),
    }
}

/// Write `data` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, data)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })
}

pub fn run_package(a: PackageArgs) -> Result<(), String> {
    let meta = std::fs::metadata(&a.destination)
        .map_err(|e| format!("failed to save: {}: {e}", a.destination.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "failed to save: {} is not a directory",
            a.destination.display()
        ));
    }
    let mtime = build_time()?.timestamp().max(0) as u64;
    let opts = PackageOptions {
        version: a.version,
        app_version: a.app_version,
        mtime,
    };
    for p in &a.paths {
        let pkg = package_dir(p, &opts).map_err(|e| e.to_string())?;
        let out = a.destination.join(&pkg.file_name);
        write_atomic(&out, &pkg.bytes)?;
        println!(
            "Successfully packaged chart and saved it to: {}",
            out.display()
        );
    }
    Ok(())
}

pub fn run_repo(cmd: RepoCommand) -> Result<(), String> {
    match cmd {
        RepoCommand::Index(a) => {
            let meta =
                std::fs::metadata(&a.dir).map_err(|e| format!("{}: {e}", a.dir.display()))?;
            if !meta.is_dir() {
                return Err(format!("{} is not a directory", a.dir.display()));
            }
            let opts = IndexOptions {
                url: a.url,
                merge: a.merge,
                now: build_time()?,
            };
            let index = index_dir(&a.dir, &opts).map_err(|e| e.to_string())?;
            for (file, why) in &index.skipped {
                eprintln!("warning: skipping {file}: not a chart archive: {why}");
            }
            write_atomic(&a.dir.join("index.yaml"), index.yaml.as_bytes())
        }
        RepoCommand::Add(a) => crate::remote::run_repo_add(*a),
        RepoCommand::Update { names } => crate::remote::run_repo_update(names),
        RepoCommand::List => crate::remote::run_repo_list(),
        RepoCommand::Remove { names } => crate::remote::run_repo_remove(names),
    }
}

/// The values flags `chartgen template` and `chartgen lint` share, as in Helm: `-f` and the
/// `--set` family.
#[derive(Args)]
pub struct ValueArgs {
    /// Specify values in a YAML file (can specify multiple).
    #[arg(short = 'f', long = "values")]
    pub values: Vec<String>,
    /// Set values on the command line (key1=val1,key2=val2).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Set STRING values on the command line.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Set values from files (key=path).
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Set JSON values on the command line.
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Set a literal STRING value on the command line.
    #[arg(long = "set-literal")]
    pub set_literal: Vec<String>,
}

impl ValueArgs {
    /// Render options carrying these flags (everything else at its default).
    pub fn options(self) -> chartgen::render::Options {
        chartgen::render::Options {
            values_files: self.values.iter().map(PathBuf::from).collect(),
            set: self.set,
            set_string: self.set_string,
            set_file: self.set_file,
            set_json: self.set_json,
            set_literal: self.set_literal,
            ..Default::default()
        }
    }
}

#[derive(Args)]
pub struct LintArgs {
    /// Chart directories or archives to lint.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    vals: ValueArgs,
    /// Namespace scope for this request.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    namespace: String,
    /// Fail on lint warnings.
    #[arg(long = "strict")]
    strict: bool,
    /// Lint dependent charts.
    #[arg(long = "with-subcharts")]
    with_subcharts: bool,
    /// Print only warnings and errors.
    #[arg(long = "quiet")]
    quiet: bool,
    /// Disable JSON schema validation.
    #[arg(long = "skip-schema-validation")]
    skip_schema_validation: bool,
    /// Kubernetes version used for capabilities and deprecation checks.
    #[arg(long = "kube-version")]
    kube_version: Option<String>,
    /// The Helm release to follow: 4.3 (default) or 4.1.
    #[arg(long = "helm-version")]
    helm_version: Option<String>,
}

/// The profile `--helm-version` (or the `--helm3` alias, Helm v3.11) names; the default is
/// the newest Helm release.
pub fn helm_profile(
    version: Option<&str>,
    helm3: bool,
) -> Result<&'static chartgen::profile::Profile, String> {
    use chartgen::profile::Profile;
    match (version, helm3) {
        (Some(v), true) if Profile::find(v).map(|p| p.name) != Ok("3.11") => Err(format!(
            "--helm3 (Helm v3.11) and --helm-version {v} disagree: give one of them"
        )),
        (Some(v), _) => Profile::find(v).map_err(|e| format!("--helm-version: {e}")),
        (None, true) => Profile::find("3.11").map_err(|e| e.to_string()),
        (None, false) => Ok(Profile::DEFAULT),
    }
}

pub fn run_lint(a: LintArgs) -> Result<(), String> {
    use chartgen::chart::objects::{HelmVersion, KubeVersion};
    use chartgen::lint::{LintOptions, lint_paths, subchart_paths};
    if a.paths.is_empty() {
        return Err(
            "\"chartgen lint\" requires at least 1 argument\n\nUsage:  chartgen lint PATH [flags]"
                .into(),
        );
    }
    let profile = helm_profile(a.helm_version.as_deref(), false)?;
    if profile.helm3() {
        return Err(format!(
            "chartgen lint follows Helm 4's rules: --helm-version {} is not supported here (use 4.3 or 4.1)",
            profile.name
        ));
    }
    let kube_version = a.kube_version.filter(|k| !k.is_empty());
    if let Some(k) = &kube_version {
        KubeVersion::parse(k, HelmVersion::V4)
            .map_err(|e| format!("invalid kube version '{k}': {e}"))?;
    }
    let mut paths = a.paths.clone();
    if a.with_subcharts {
        for p in &a.paths {
            paths.extend(subchart_paths(p));
        }
    }
    let ropts = a.vals.options();
    let values = chartgen::render::user_values(&ropts).map_err(|e| e.to_string())?;
    let opts = LintOptions {
        namespace: a.namespace,
        kube_version,
        skip_schema_validation: a.skip_schema_validation,
        strict: a.strict,
        quiet: a.quiet,
        profile,
    };
    let report = lint_paths(&paths, &values, &opts);
    for line in &report.log {
        eprintln!("{line}");
    }
    print!("{}", report.stdout);
    match report.failure {
        Some(summary) => Err(summary),
        None => Ok(()),
    }
}
