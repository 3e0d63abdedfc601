//! `helm lint` (Helm v4.1.4, chart apiVersion v1/v2): rules that examine a chart directory
//! and report messages, each with a severity and the chart path it applies to.
//!
//! The rules run in Helm's order: [`chartfile`] (Chart.yaml), values (values.yaml and its
//! schema), templates (rendered in lint mode, then each output checked as Kubernetes YAML),
//! dependencies (Chart.yaml against `charts/`) and CRDs (`crds/`). [`lint_paths`] is the
//! whole `helm lint PATH...` command: it returns what Helm prints and whether it failed.
//!
//! ```no_run
//! use chartgen::lint::{LintOptions, lint_paths};
//! let report = lint_paths(&["charts/iter8".to_string()], &chartgen::Value::empty_map(), &LintOptions::default());
//! print!("{}", report.stdout);
//! ```

mod chartfile;
mod k8s;
mod rules;
mod urls;

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::template::LintNote;
use crate::value::Value;

/// How serious a lint message is (Helm's `support.*Sev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        })
    }
}

/// One finding; `Display` is Helm's `[SEVERITY] path: text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub severity: Severity,
    /// The chart-relative path (`Chart.yaml`, `templates/x.yaml`), the absolute chart
    /// directory (dependency rules) or empty (the chart failed to load).
    pub path: String,
    pub text: String,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.severity, self.path, self.text)
    }
}

/// Options of `helm lint` that reach the rules.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// `.Release.Namespace` while rendering.
    pub namespace: String,
    /// `--kube-version`: Capabilities and the deprecation checks (default: the profile's).
    pub kube_version: Option<String>,
    pub skip_schema_validation: bool,
    /// Warnings fail the chart too (`--strict`).
    pub strict: bool,
    /// Print only charts with warnings or errors, and no INFO lines (`--quiet`).
    pub quiet: bool,
    /// The Helm release reproduced (a Helm 4 one: lint follows Helm 4's rules).
    pub profile: &'static crate::profile::Profile,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            namespace: "default".into(),
            kube_version: None,
            skip_schema_validation: false,
            strict: false,
            quiet: false,
            profile: crate::profile::Profile::DEFAULT,
        }
    }
}

/// The messages of one chart, and what its templates logged in lint mode.
#[derive(Debug, Clone, Default)]
pub struct Linted {
    pub messages: Vec<Message>,
    /// `fail`/`required` calls that would have stopped a real render.
    pub notes: Vec<LintNote>,
    /// Every line Helm's logger prints on stderr while linting, in order: the values
    /// pipeline's warnings, then the notes.
    pub log: Vec<String>,
}

impl Linted {
    /// Record `text` at `severity` for `path`; true if there was nothing to record.
    fn rule(&mut self, severity: Severity, path: &str, text: Option<String>) -> bool {
        match text {
            None => true,
            Some(text) => {
                self.messages.push(Message {
                    severity,
                    path: path.to_string(),
                    text,
                });
                false
            }
        }
    }
}

/// Run every rule on the chart directory `dir` (Helm's `lint.RunAll`). `values` are the
/// user's values (`-f`, `--set`, ...), already merged.
pub fn run_all(dir: &Path, values: &Value, opts: &LintOptions) -> Linted {
    let dir = go_abs(dir);
    let mut l = Linted::default();
    chartfile::chartfile(&mut l, &dir);
    rules::values(&mut l, &dir, values, opts);
    rules::templates(&mut l, &dir, values, opts);
    rules::dependencies(&mut l, &dir);
    rules::crds(&mut l, &dir);
    l
}

/// Go's `filepath.Abs`: absolute and lexically cleaned.
fn go_abs(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Go's `filepath.Join` for display: joined and lexically cleaned, relative stays relative.
fn go_join(a: &str, b: &str) -> String {
    let joined = if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    };
    crate::funcs::go_path_clean(&joined)
}

/// Why a path could not be linted at all; `Display` is what Helm prints after `Error `.
#[derive(Debug, thiserror::Error)]
pub enum LintPathError {
    /// The directory has no readable Chart.yaml (Go's stat error text).
    #[error("unable to check Chart.yaml file in chart: {0}")]
    NoChartYaml(String),
    #[error("unable to create temp dir to extract tarball: {0}")]
    TempDir(#[source] std::io::Error),
    /// The archive could not be opened (Go's open error text).
    #[error("unable to open tarball: {0}")]
    Open(String),
    /// The archive could not be read or unpacked (Go's error text).
    #[error("unable to extract tarball: {0}")]
    Extract(String),
}

/// Lint one path as `helm lint` does: a chart directory or a `.tgz`/`.tar.gz` archive.
pub fn lint_path(path: &str, values: &Value, opts: &LintOptions) -> Result<Linted, LintPathError> {
    if path.ends_with(".tgz") || path.ends_with(".tar.gz") {
        let tmp = TempDir::new().map_err(LintPathError::TempDir)?;
        let raw = std::fs::read(path).map_err(|e| match e.kind() {
            // Go opens a directory fine and fails on the first read.
            std::io::ErrorKind::IsADirectory => {
                LintPathError::Extract(crate::chart::load_go_io_error("read", path, &e))
            }
            _ => LintPathError::Open(crate::chart::load_go_io_error("open", path, &e)),
        })?;
        let dir = expand(&raw, tmp.path()).map_err(LintPathError::Extract)?;
        return Ok(run_all(&dir, values, opts));
    }
    let chart_yaml = go_join(path, "Chart.yaml");
    if let Err(e) = std::fs::metadata(&chart_yaml) {
        return Err(LintPathError::NoChartYaml(crate::chart::load_go_io_error(
            "stat",
            &chart_yaml,
            &e,
        )));
    }
    Ok(run_all(Path::new(path), values, opts))
}

/// Helm's `chartutil.Expand`: write the archive's files under `dest/<chart name>/`.
fn expand(raw: &[u8], dest: &Path) -> Result<PathBuf, String> {
    let files = crate::chart::archive_files(raw).map_err(|e| {
        // Go's gzip and tar readers word these failures differently.
        match e.to_string().as_str() {
            "invalid gzip header" => "gzip: invalid header".to_string(),
            "unexpected end of file" | "failed to read entire block" => {
                "unexpected EOF".to_string()
            }
            other => other.to_string(),
        }
    })?;
    let mut name = String::new();
    for (n, d) in &files {
        if n == "Chart.yaml" {
            let v = crate::yaml::parse_values(&String::from_utf8_lossy(d))
                .map_err(|e| format!("cannot load Chart.yaml: {}", e.helm_message()))?;
            let md = crate::chart::Metadata::from_value(&v)
                .map_err(|e| format!("cannot load Chart.yaml: {e}"))?;
            name = md.name;
        }
    }
    if name.is_empty() {
        return Err("chart name not specified".into());
    }
    let q = crate::chart::strvals::go_quote(&name);
    if name == "." || name == ".." {
        return Err(format!("chart name {q} is not allowed"));
    }
    if name.contains('/') {
        return Err(format!("chart name {q} must not contain path separators"));
    }
    let top = dest.join(&name);
    for (n, data) in &files {
        let p = top.join(n);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&p, data).map_err(|e| e.to_string())?;
    }
    Ok(top)
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("helm-lint{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The paths `--with-subcharts` adds for one chart path: every directory under
/// `<path>/charts` holding a Chart.yaml and every `.tgz`/`.tar.gz` file, in walk order.
pub fn subchart_paths(path: &str) -> Vec<String> {
    fn walk(dir: &str, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let p = format!("{dir}/{n}");
            if n == "Chart.yaml" {
                out.push(dir.to_string());
            } else if p.ends_with(".tgz") || p.ends_with(".tar.gz") {
                out.push(p.clone());
            }
            if Path::new(&p).is_dir() {
                walk(&p, out);
            }
        }
    }
    let mut out = Vec::new();
    let root = go_join(path, "charts");
    if Path::new(&root).is_dir() {
        walk(&root, &mut out);
    }
    out
}

/// What `helm lint PATH...` prints.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Everything printed on stdout (the per-chart sections and, on success, the summary).
    pub stdout: String,
    /// Lines Helm's logger prints on stderr (`level=WARN msg=...`), in order.
    pub log: Vec<String>,
    /// `Some(summary)` when a chart failed: Helm prints `Error: <summary>` and exits 1.
    pub failure: Option<String>,
}

/// Lint each path and assemble Helm's output (`helm lint`'s command body).
pub fn lint_paths(paths: &[String], values: &Value, opts: &LintOptions) -> Report {
    let mut out = String::new();
    let mut log = Vec::new();
    let mut failed = 0;
    let mut flagged = 0;
    for path in paths {
        let (messages, errors): (Vec<Message>, Vec<String>) = match lint_path(path, values, opts) {
            Err(e) => (Vec::new(), vec![e.to_string()]),
            Ok(l) => {
                log.extend(l.log.iter().cloned());
                let worst = if opts.strict {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let errors = l
                    .messages
                    .iter()
                    .filter(|m| m.severity >= worst)
                    .map(|m| m.text.clone())
                    .collect();
                (l.messages, errors)
            }
        };
        let has_problems =
            !errors.is_empty() || messages.iter().any(|m| m.severity > Severity::Info);
        if has_problems {
            flagged += 1;
        }
        if opts.quiet && !has_problems {
            continue;
        }
        out.push_str(&format!("==> Linting {path}\n"));
        if messages.is_empty() {
            for e in &errors {
                out.push_str(&format!("Error {e}\n"));
            }
        }
        for m in &messages {
            if !opts.quiet || m.severity > Severity::Info {
                out.push_str(&format!("{m}\n"));
            }
        }
        if !errors.is_empty() {
            failed += 1;
        }
        out.push('\n');
    }
    let summary = format!("{} chart(s) linted, {failed} chart(s) failed", paths.len());
    let mut failure = None;
    if failed > 0 {
        failure = Some(summary);
    } else if !opts.quiet || flagged > 0 {
        out.push_str(&summary);
        out.push('\n');
    }
    Report {
        stdout: out,
        log,
        failure,
    }
}

/// Go `log/slog`'s text handler line for a lint note (no time: Helm's handler drops it).
pub fn slog_line(n: &LintNote) -> String {
    crate::helmlog::slog_line(n.level, n.msg, &[("message", &n.message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go_join cleans like Go's filepath.Join.
    #[test]
    fn join_cleans() {
        assert_eq!(go_join("chart/", "Chart.yaml"), "chart/Chart.yaml");
        assert_eq!(go_join("./a/../b", "charts"), "b/charts");
        assert_eq!(go_join("/x/", "y"), "/x/y");
        assert_eq!(go_join("..", "c"), "../c");
    }
}
