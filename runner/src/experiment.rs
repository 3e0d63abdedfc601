//! The experiment model: `experiment.yaml` (spec + result) read and written as Iter8 v0.13 does.
//!
//! # Wire format
//!
//! One YAML document with two top-level keys (Go `encoding/json` rules over a YAML→JSON
//! conversion, so reads are **case-insensitive** on keys and ignore unknown keys):
//!
//! ```yaml
//! spec:                      # ordered list of tasks
//! - task: http               # task name, or...
//!   if: SLOs()               # optional condition (expr language, see `crate::cond`)
//!   with: {url: ...}         # task inputs (kept as raw JSON; each task parses its own)
//! - run: echo hello          # ...a shell task (`run` wins when both are present)
//! result:                    # absent/null = never initialised
//!   revision: 1              # omitted when 0
//!   startTime: "2023-05-15T10:00:00.123456789Z"   # RFC3339Nano; "" or null = zero time
//!   numLoops: 1
//!   numCompletedTasks: 3
//!   failure: false
//!   insights:                # omitted when null
//!     numVersions: 1
//!     versionNames: null     # or [{version: v1, track: canary}]; always written
//!     metricsInfo:           # omitted when empty
//!       http/latency-mean: {description: ..., units: msec, type: Gauge}
//!     nonHistMetricValues:   # one map per version: metric -> observations (last = current)
//!     - http/latency-mean: [1.5]
//!     histMetricValues:      # one map per version: metric -> buckets
//!     - http/latency: [{lower: 1, upper: 2, count: 10}]
//!     SummaryMetricValues:   # exact Go spelling (no JSON tag); [count, sum, min, max, sumSquares]
//!     - {}
//!     SLOs: {upper: [{metric: http/latency-mean, limit: 50}], lower: [...]}   # optional
//!     SLOsSatisfied: {upper: [[true]], lower: [[...]]}   # [SLO index][version index]
//!     protocols: {http: HTTP/1.1 over TLS}   # protocol each load provider spoke; omitted
//!                                            # when empty (not in Iter8 v0.13, Go ignores it)
//!   iter8Version: v0.13
//!   chart:                   # the chart the experiment was launched from, when it was
//!     name: iter8            # fetched from a repository or registry; omitted otherwise
//!     version: 0.13.8        # (not in Iter8 v0.13, Go ignores it); the runner keeps it
//!     source: oci://registry/charts/iter8    # repository URL or OCI reference, as given
//!     url: oci://registry/charts/iter8:0.13.8   # what was downloaded (chart URL / tag)
//!     digest: sha256:...     # sha256 of the chart archive (index.yaml's `digest`)
//!     manifestDigest: sha256:...   # OCI only: the manifest digest (`@sha256:` pins it)
//! ```
//!
//! On write, every map's keys are sorted the way Go's `sigs.k8s.io/yaml` (go-yaml v2) sorts
//! them (uppercase before lowercase, digit runs compared as numbers), `omitempty` fields are
//! dropped as Go drops them, and no anchors are used, so Go `iter8 k report` reads our files and we
//! read the Go runner's. Differences kept on purpose: floats are written with a decimal point
//! (`50.0` where Go writes `50`), which both readers accept.
//!
//! Metric names: `<provider>/<metric>` (Counter/Gauge/Sample/Histogram/Summary) or
//! `<provider>/<metric>/<aggregation>` (derived from a Sample or Summary metric, unless a
//! Counter/Gauge is recorded under that very name, as the grpc task records
//! `grpc/latency/mean`: Iter8 v0.13 derived it from a Sample of every call). Names starting
//! with `http/latency-p` or `grpc/latency/p` are normalised (`http/latency-p50.0` →
//! `http/latency-p50`).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::inputs::{Kind, Shape, canonicalize};

/// The Iter8 "major.minor" written into `result.iter8Version`.
pub const ITER8_VERSION: &str = "v0.13";

/// Task names the Go runner knows (`run` tasks are told apart by their `run` key).
pub const KNOWN_TASKS: &[&str] = &[
    "ready",
    "custommetrics",
    "http",
    "grpc",
    "abnmetrics",
    "assess",
    "notify",
];

/// Errors reading, writing or querying an experiment document.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The YAML text could not be parsed.
    #[error("unable to unmarshal experiment: {0}")]
    Yaml(String),
    /// The document parsed but a field had the wrong type.
    #[error("unable to unmarshal experiment: {0}")]
    Shape(String),
    /// A spec entry without `task` or `run` (Iter8's message).
    #[error("invalid task found without a task name or a run command (task {index})")]
    TaskWithoutName {
        /// 1-based task index.
        index: usize,
    },
    /// The experiment could not be serialised.
    #[error("unable to marshal experiment: {0}")]
    Serialize(String),
    /// A metric name Iter8 cannot normalise.
    #[error("cannot extract percent from metric {0}")]
    BadPercentile(String),
    /// `numVersions` disagrees with an earlier task's.
    #[error("inconsistent number for app versions; old ({old}); new ({new})")]
    InconsistentVersions {
        /// Versions already recorded.
        old: usize,
        /// Versions the new task wants.
        new: usize,
    },
    /// Per-version arrays of stored insights do not match `numVersions`.
    #[error(
        "inconsistent number for app versions in non hist metric values ({non_hist}), hist metric values ({hist}), num versions ({versions})"
    )]
    InconsistentArrays {
        /// `nonHistMetricValues` length.
        non_hist: usize,
        /// `histMetricValues` length.
        hist: usize,
        /// `numVersions`.
        versions: usize,
    },
    /// A metric registered twice with different metadata.
    #[error("old and new metric meta for {0} differ")]
    MetaConflict(String),
    /// Value kind does not match the metric type.
    #[error("metric value and type are incompatible; name: {0}")]
    TypeMismatch(String),
    /// Version index out of range.
    #[error("insufficient number of versions {versions} with version index {index}")]
    NoSuchVersion {
        /// `numVersions`.
        versions: usize,
        /// Requested index.
        index: usize,
    },
    /// `assess` found different SLOs already stored.
    #[error("old and new value of slos conflict")]
    SloConflict,
    /// `assess` found different rewards already stored.
    #[error("old and new value of rewards conflict")]
    RewardConflict,
}

// ---------------------------------------------------------------------------------------------
// Model

/// A whole experiment: ordered tasks plus the (possibly absent) result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Experiment {
    /// The tasks, in order.
    pub spec: Vec<TaskSpec>,
    /// Results so far; `None` when the document has no (or a null) `result`.
    pub result: Option<ExperimentResult>,
}

/// One entry of `spec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Task name (`http`, `assess`, ...). `None` for run tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Shell script of a run task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Condition (`if:`), an expr-language boolean expression.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Task inputs as raw JSON; each task parses its own (case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Value>,
}

impl TaskSpec {
    /// Name shown in logs: the `task` value, or `run` for shell tasks.
    pub fn name(&self) -> &str {
        if self.run.is_some() {
            return "run";
        }
        self.task.as_deref().unwrap_or("")
    }

    /// True for `run:` tasks (even when `task` is also set, as in Go).
    pub fn is_run(&self) -> bool {
        self.run.is_some()
    }
}

/// The `result` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResult {
    /// Driver revision (Helm release version); 0 = omitted.
    pub revision: i64,
    /// When the run started; `None` = Go's zero time (written as `""`).
    pub start_time: Option<DateTime<FixedOffset>>,
    /// Loops started (`numLoops`).
    pub num_loops: i64,
    /// Tasks completed in the current loop (skipped tasks count).
    pub num_completed_tasks: i64,
    /// True once a task failed.
    pub failure: bool,
    /// Metrics and SLO verdicts.
    pub insights: Option<Insights>,
    /// `iter8Version`, normally [`ITER8_VERSION`].
    pub iter8_version: String,
    /// Where the experiment's chart came from (fetched charts only).
    pub chart: Option<ChartOrigin>,
}

/// `result.chart`: the chart an experiment was launched from, when it was fetched from a chart
/// repository or an OCI registry. An addition to Iter8 v0.13's format (Go readers ignore it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartOrigin {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Chart version.
    #[serde(default)]
    pub version: String,
    /// The repository URL or OCI reference, as the user gave it.
    #[serde(default)]
    pub source: String,
    /// What was downloaded: the chart URL, or the OCI reference with its tag.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// `sha256:<hex>` of the chart archive.
    #[serde(default)]
    pub digest: String,
    /// OCI only: the manifest digest (`sha256:<hex>`), what an `@sha256:` reference pins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
}

impl ExperimentResult {
    /// A fresh result as the runner initialises it (`startTime` = now).
    pub fn new(revision: i64) -> Self {
        ExperimentResult {
            revision,
            start_time: Some(Utc::now().fixed_offset()),
            num_loops: 0,
            num_completed_tasks: 0,
            failure: false,
            insights: None,
            iter8_version: ITER8_VERSION.to_string(),
            chart: None,
        }
    }

    /// Create insights for `n` versions, or check that existing insights agree.
    pub fn init_insights(&mut self, n: usize) -> Result<&mut Insights, ExperimentError> {
        let ins = self.insights.get_or_insert_with(|| Insights {
            num_versions: n,
            ..Insights::default()
        });
        if ins.num_versions != n {
            return Err(ExperimentError::InconsistentVersions {
                old: ins.num_versions,
                new: n,
            });
        }
        ins.init_metrics()?;
        Ok(ins)
    }
}

/// `{version, track}` of one app version.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Version name.
    #[serde(default)]
    pub version: String,
    /// Track name.
    #[serde(default)]
    pub track: String,
}

/// Kind of metric (Go `MetricType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetricType {
    /// Monotone count; scalar, appended.
    Counter,
    /// Scalar gauge, appended; the current value is the last.
    Gauge,
    /// Vector of observations.
    Sample,
    /// List of buckets.
    Histogram,
    /// `[count, sum, min, max, sumSquares]`, replaced on update.
    Summary,
    /// Any other string (Go accepts anything).
    #[serde(other)]
    Unknown,
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            MetricType::Counter => "Counter",
            MetricType::Gauge => "Gauge",
            MetricType::Sample => "Sample",
            MetricType::Histogram => "Histogram",
            MetricType::Summary => "Summary",
            MetricType::Unknown => "",
        };
        f.write_str(s)
    }
}

/// Description of a metric (`metricsInfo` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricMeta {
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// Units such as `msec`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// Metric type.
    #[serde(rename = "type")]
    pub kind: MetricType,
}

impl MetricMeta {
    /// Shorthand constructor.
    pub fn new(description: impl Into<String>, kind: MetricType, units: Option<&str>) -> Self {
        MetricMeta {
            description: description.into(),
            units: units.map(str::to_string),
            kind,
        }
    }
}

/// One histogram bucket, `[lower, upper)` with a count (msec for latency).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistBucket {
    /// Lower end.
    #[serde(default)]
    pub lower: f64,
    /// Upper end.
    #[serde(default)]
    pub upper: f64,
    /// Observations in the bucket.
    #[serde(default)]
    pub count: u64,
}

/// One service-level objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Metric name (`a/b` or `a/b/c`).
    #[serde(default)]
    pub metric: String,
    /// The limit.
    #[serde(default)]
    pub limit: f64,
}

/// `SLOs`: upper and lower limits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SloLimits {
    /// Value must be ≤ limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upper: Vec<Slo>,
    /// Value must be ≥ limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lower: Vec<Slo>,
}

/// `SLOsSatisfied`: `[slo][version]` verdicts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SloResults {
    /// Verdicts for the upper limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upper: Vec<Vec<bool>>,
    /// Verdicts for the lower limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lower: Vec<Vec<bool>>,
}

/// `rewards`: metrics a version should maximise or minimise; the first one listed (`max`
/// before `min`) decides the winner of an A/B/n comparison (`crate::compare`). Not in Iter8
/// v0.13's format (its readers ignore it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rewards {
    /// Higher is better.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub max: Vec<String>,
    /// Lower is better.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub min: Vec<String>,
}

/// A value recorded for one version.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// Counter or Gauge observation.
    Scalar(f64),
    /// Sample observations (appended).
    Sample(Vec<f64>),
    /// Histogram buckets (appended).
    Hist(Vec<HistBucket>),
    /// Summary `[count, sum, min, max, sumSquares]` (replaces).
    Summary([f64; 5]),
}

/// The `insights` section: metric metadata, values per version, SLOs and verdicts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Insights {
    /// Number of app versions.
    pub num_versions: usize,
    /// Version names, if known (`null` otherwise).
    pub version_names: Option<Vec<VersionInfo>>,
    /// Metric metadata by full name.
    pub metrics_info: BTreeMap<String, MetricMeta>,
    /// Per version: Counter/Gauge/Sample values.
    pub non_hist_metric_values: Vec<BTreeMap<String, Vec<f64>>>,
    /// Per version: Histogram buckets.
    pub hist_metric_values: Vec<BTreeMap<String, Vec<HistBucket>>>,
    /// Per version: Summary metrics.
    pub summary_metric_values: Vec<BTreeMap<String, [f64; 5]>>,
    /// SLOs set by `assess`.
    pub slos: Option<SloLimits>,
    /// Verdicts computed by `assess`.
    pub slos_satisfied: Option<SloResults>,
    /// The protocol each load provider spoke (`http` → `HTTP/1.1 over TLS`); not in Iter8 v0.13.
    pub protocols: BTreeMap<String, String>,
    /// Reward metrics set by `assess` (for the comparison of versions); not in Iter8 v0.13.
    pub rewards: Option<Rewards>,
}

impl Insights {
    /// Make the per-version arrays (or check stored ones), as Go's `initMetrics`.
    pub fn init_metrics(&mut self) -> Result<(), ExperimentError> {
        let n = self.num_versions;
        let stored = !self.non_hist_metric_values.is_empty()
            || !self.hist_metric_values.is_empty()
            || !self.summary_metric_values.is_empty();
        if stored {
            // Go files may omit empty arrays (omitempty); pad rather than reject those.
            if self.hist_metric_values.is_empty() {
                self.hist_metric_values = vec![BTreeMap::new(); n];
            }
            if self.non_hist_metric_values.is_empty() {
                self.non_hist_metric_values = vec![BTreeMap::new(); n];
            }
            if self.summary_metric_values.is_empty() {
                self.summary_metric_values = vec![BTreeMap::new(); n];
            }
            if self.non_hist_metric_values.len() != n
                || self.hist_metric_values.len() != n
                || self.summary_metric_values.len() != n
            {
                return Err(ExperimentError::InconsistentArrays {
                    non_hist: self.non_hist_metric_values.len(),
                    hist: self.hist_metric_values.len(),
                    versions: n,
                });
            }
            return Ok(());
        }
        self.non_hist_metric_values = vec![BTreeMap::new(); n];
        self.hist_metric_values = vec![BTreeMap::new(); n];
        self.summary_metric_values = vec![BTreeMap::new(); n];
        Ok(())
    }

    /// Record `value` for `version` under metric `name` with metadata `meta` (Go `updateMetric`).
    pub fn update_metric(
        &mut self,
        name: &str,
        meta: MetricMeta,
        version: usize,
        value: MetricValue,
    ) -> Result<(), ExperimentError> {
        let ok = matches!(
            (&value, meta.kind),
            (
                MetricValue::Scalar(_),
                MetricType::Counter | MetricType::Gauge
            ) | (MetricValue::Sample(_), MetricType::Sample)
                | (MetricValue::Hist(_), MetricType::Histogram)
                | (MetricValue::Summary(_), MetricType::Summary)
        );
        if !ok {
            return Err(ExperimentError::TypeMismatch(name.to_string()));
        }
        if version >= self.num_versions {
            return Err(ExperimentError::NoSuchVersion {
                versions: self.num_versions,
                index: version,
            });
        }
        if self.non_hist_metric_values.len() != self.num_versions {
            self.init_metrics()?;
        }
        let nm = normalize_metric_name(name)?;
        if let Some(old) = self.metrics_info.get(&nm)
            && *old != meta
        {
            return Err(ExperimentError::MetaConflict(nm));
        }
        self.metrics_info.insert(nm.clone(), meta);
        match value {
            MetricValue::Scalar(v) => self.non_hist_metric_values[version]
                .entry(nm)
                .or_default()
                .push(v),
            MetricValue::Sample(v) => self.non_hist_metric_values[version]
                .entry(nm)
                .or_default()
                .extend(v),
            MetricValue::Hist(b) => self.hist_metric_values[version]
                .entry(nm)
                .or_default()
                .extend(b),
            MetricValue::Summary(s) => {
                self.summary_metric_values[version].insert(nm, s);
            }
        }
        Ok(())
    }

    /// Store rewards (error if different rewards are already stored, as for SLOs).
    pub fn set_rewards(&mut self, rewards: &Rewards) -> Result<(), ExperimentError> {
        match &self.rewards {
            Some(old) if old == rewards => Ok(()),
            Some(_) => Err(ExperimentError::RewardConflict),
            None => {
                self.rewards = Some(rewards.clone());
                Ok(())
            }
        }
    }

    /// Store SLOs (error if different SLOs are already stored).
    pub fn set_slos(&mut self, slos: &SloLimits) -> Result<(), ExperimentError> {
        match &self.slos {
            Some(old) if old == slos => Ok(()),
            Some(_) => Err(ExperimentError::SloConflict),
            None => {
                self.slos = Some(slos.clone());
                Ok(())
            }
        }
    }

    /// Current scalar value of metric `m` for `version` (Go `ScalarMetricValue`); `None` when
    /// unavailable.
    pub fn scalar_metric_value(&self, version: usize, m: &str) -> Option<f64> {
        let parts: Vec<&str> = m.split('/').collect();
        match parts.len() {
            2 => {
                let nm = normalize_metric_name(m).ok()?;
                let meta = self.metrics_info.get(&nm)?;
                if !matches!(meta.kind, MetricType::Counter | MetricType::Gauge) {
                    return None;
                }
                self.non_hist_metric_values
                    .get(version)?
                    .get(&nm)?
                    .last()
                    .copied()
            }
            3 => {
                let nm = normalize_metric_name(m).ok()?;
                if let Some(v) = self.recorded_scalar(version, &nm) {
                    return Some(v);
                }
                let base = format!("{}/{}", parts[0], parts[1]);
                let meta = self.metrics_info.get(&base)?;
                match meta.kind {
                    MetricType::Sample => {
                        let vals = self.non_hist_metric_values.get(version)?.get(&base)?;
                        sample_aggregation(vals, parts[2])
                    }
                    MetricType::Summary => {
                        let s = self.summary_metric_values.get(version)?.get(&base)?;
                        summary_aggregation(s, parts[2])
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The last value of a Counter/Gauge recorded under `a/b/c` itself (the grpc task's
    /// `grpc/latency/mean`, computed from histograms rather than derived from a Sample).
    fn recorded_scalar(&self, version: usize, nm: &str) -> Option<f64> {
        let meta = self.metrics_info.get(nm)?;
        if !matches!(meta.kind, MetricType::Counter | MetricType::Gauge) {
            return None;
        }
        self.non_hist_metric_values
            .get(version)?
            .get(nm)?
            .last()
            .copied()
    }

    /// Metadata of `a/b` or derived `a/b/c` (Go `GetMetricsInfo`).
    pub fn metric_info(&self, name: &str) -> Option<MetricMeta> {
        let parts: Vec<&str> = name.split('/').collect();
        match parts.len() {
            2 => self.metrics_info.get(name).cloned(),
            3 => {
                if let Some(meta) = self.metrics_info.get(name) {
                    return Some(meta.clone());
                }
                let base = format!("{}/{}", parts[0], parts[1]);
                let mm = self.metrics_info.get(&base)?;
                let kind = if parts[2] == "count" {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                };
                let agg = match parts[2].strip_prefix('p') {
                    Some(pct) => format!("{pct}-th percentile value"),
                    None => format!("{} value", parts[2]),
                };
                Some(MetricMeta {
                    description: format!("{agg} of {base}"),
                    units: mm.units.clone(),
                    kind,
                })
            }
            _ => None,
        }
    }

    /// Column header for version `i` (Go `TrackVersionStr`).
    pub fn track_version_str(&self, i: usize) -> String {
        let vi = self.version_names.as_ref().and_then(|v| v.get(i));
        match vi {
            Some(v) if !(v.version.is_empty() && v.track.is_empty()) => {
                if v.track.is_empty() {
                    v.version.clone()
                } else if v.version.is_empty() {
                    v.track.clone()
                } else {
                    format!("{} ({})", v.track, v.version)
                }
            }
            _ => format!("version {i}"),
        }
    }

    /// Versions satisfying every SLO (all versions when no SLOs are set).
    pub fn slos_satisfied_by(&self) -> Vec<usize> {
        let n = self.num_versions;
        let Some(slos) = &self.slos else {
            return (0..n).collect();
        };
        let empty = SloResults::default();
        let sat = self.slos_satisfied.as_ref().unwrap_or(&empty);
        let get = |m: &Vec<Vec<bool>>, i: usize, j: usize| {
            m.get(i).and_then(|r| r.get(j)).copied().unwrap_or(false)
        };
        (0..n)
            .filter(|&j| {
                (0..slos.upper.len()).all(|i| get(&sat.upper, i, j))
                    && (0..slos.lower.len()).all(|i| get(&sat.lower, i, j))
            })
            .collect()
    }
}

/// Normalise built-in percentile metric names (`http/latency-p50.0` → `http/latency-p50`).
pub fn normalize_metric_name(m: &str) -> Result<String, ExperimentError> {
    for pre in ["http/latency-p", "grpc/latency/p"] {
        if let Some(rest) = m.strip_prefix(pre) {
            let p: f64 = rest
                .parse()
                .map_err(|_| ExperimentError::BadPercentile(m.to_string()))?;
            return Ok(format!("{pre}{}", format_go_float(p)));
        }
    }
    Ok(m.to_string())
}

/// Go's `%v` of a float64 (shortest representation, `e` notation for large/small exponents).
pub fn format_go_float(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        // Go: 1e+21, 1e-05
        let s = format!("{v:e}");
        let (mant, e) = s.split_once('e').expect("{:e} always has an exponent");
        let e: i32 = e.parse().expect("{:e} exponent is an integer");
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", e.abs());
    }
    let s = format!("{v}");
    s
}

fn sample_aggregation(vals: &[f64], agg: &str) -> Option<f64> {
    if vals.is_empty() {
        return None;
    }
    if vals.len() == 1 {
        return Some(vals[0]);
    }
    let n = vals.len() as f64;
    match agg {
        "mean" => return Some(vals.iter().sum::<f64>() / n),
        "stddev" => {
            let mean = vals.iter().sum::<f64>() / n;
            let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            return Some(var.sqrt());
        }
        "min" => return vals.iter().copied().reduce(f64::min),
        "max" => return vals.iter().copied().reduce(f64::max),
        _ => {}
    }
    let pct = agg.strip_prefix('p')?;
    if !is_decimal(pct) {
        return None;
    }
    let p: f64 = pct.parse().ok()?;
    if p <= 0.0 || p > 100.0 {
        return None;
    }
    let mut sorted = vals.to_vec();
    sorted.sort_by(f64::total_cmp);
    let idx = p / 100.0 * n;
    if idx == idx.floor() {
        let i = idx as usize;
        return sorted.get(i.checked_sub(1)?).copied();
    }
    if idx > 1.0 {
        let i = idx.floor() as usize;
        return Some((sorted[i - 1] + sorted[i]) / 2.0);
    }
    None
}

fn is_decimal(s: &str) -> bool {
    // ^([\d]+(\.[\d]*)?|\.[\d]+)$
    let (int, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
    }
}

fn summary_aggregation(s: &[f64; 5], agg: &str) -> Option<f64> {
    let [count, sum, min, max, ss] = *s;
    match agg {
        "count" => Some(count),
        "mean" => Some(sum / count),
        "stddev" => {
            let mean = sum / count;
            let n1 = count - 1.0;
            Some((ss / n1 - mean * mean * count / n1).sqrt())
        }
        "min" => Some(min),
        "max" => Some(max),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Predicates

impl Experiment {
    /// Go `Completed()`: result present and every task completed.
    pub fn completed(&self) -> bool {
        self.result
            .as_ref()
            .is_some_and(|r| r.num_completed_tasks == self.spec.len() as i64)
    }

    /// Go `NoFailure()`: result present and no task failed.
    pub fn no_failure(&self) -> bool {
        self.result.as_ref().is_some_and(|r| !r.failure)
    }

    /// Go `SLOs()`: every version satisfies every SLO.
    pub fn slos(&self) -> bool {
        match self.result.as_ref().and_then(|r| r.insights.as_ref()) {
            None => false,
            Some(ins) if ins.num_versions == 0 => true,
            Some(ins) => ins.slos_satisfied_by().len() == ins.num_versions,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: YAML -> JSON value -> case-insensitive key canonicalisation -> typed model

const SLO_SHAPE: Shape = Shape::Obj(&[
    ("metric", Shape::Typed(Kind::Str)),
    (
        "limit",
        Shape::Typed(Kind::Num {
            min: f64::NEG_INFINITY,
            hint: None,
        }),
    ),
]);
/// Shape of `SLOs` (used by `assess` too).
pub const SLO_LIMITS_SHAPE: Shape = Shape::Obj(&[
    ("upper", Shape::List(&SLO_SHAPE)),
    ("lower", Shape::List(&SLO_SHAPE)),
]);
const SLO_RESULTS_SHAPE: Shape = Shape::Obj(&[("upper", Shape::Leaf), ("lower", Shape::Leaf)]);
const META_SHAPE: Shape = Shape::Obj(&[
    ("description", Shape::Leaf),
    ("units", Shape::Leaf),
    ("type", Shape::Leaf),
]);
const BUCKET_SHAPE: Shape = Shape::Obj(&[
    ("lower", Shape::Leaf),
    ("upper", Shape::Leaf),
    ("count", Shape::Leaf),
]);
const BUCKETS_SHAPE: Shape = Shape::List(&BUCKET_SHAPE);
const VERSION_SHAPE: Shape = Shape::Obj(&[("version", Shape::Leaf), ("track", Shape::Leaf)]);
const INSIGHTS_SHAPE: Shape = Shape::Obj(&[
    ("numVersions", Shape::Leaf),
    ("versionNames", Shape::List(&VERSION_SHAPE)),
    ("metricsInfo", Shape::Map(&META_SHAPE)),
    ("nonHistMetricValues", Shape::Leaf),
    ("histMetricValues", Shape::List(&Shape::Map(&BUCKETS_SHAPE))),
    ("SummaryMetricValues", Shape::Leaf),
    ("SLOs", SLO_LIMITS_SHAPE),
    ("SLOsSatisfied", SLO_RESULTS_SHAPE),
    ("protocols", Shape::Leaf),
    ("rewards", REWARDS_SHAPE),
]);
/// Shape of `rewards` (used by `assess` too).
pub const REWARDS_SHAPE: Shape = Shape::Obj(&[
    ("max", Shape::List(&Shape::Typed(Kind::Str))),
    ("min", Shape::List(&Shape::Typed(Kind::Str))),
]);
const RESULT_SHAPE: Shape = Shape::Obj(&[
    ("revision", Shape::Leaf),
    ("startTime", Shape::Leaf),
    ("numLoops", Shape::Leaf),
    ("numCompletedTasks", Shape::Leaf),
    ("failure", Shape::Leaf),
    ("insights", INSIGHTS_SHAPE),
    ("iter8Version", Shape::Leaf),
    ("chart", CHART_SHAPE),
]);
const CHART_SHAPE: Shape = Shape::Obj(&[
    ("name", Shape::Leaf),
    ("version", Shape::Leaf),
    ("source", Shape::Leaf),
    ("url", Shape::Leaf),
    ("digest", Shape::Leaf),
    ("manifestDigest", Shape::Leaf),
]);
const TASK_SHAPE: Shape = Shape::Obj(&[
    ("task", Shape::Leaf),
    ("run", Shape::Leaf),
    ("if", Shape::Leaf),
    ("with", Shape::Leaf),
]);
const EXPERIMENT_SHAPE: Shape =
    Shape::Obj(&[("spec", Shape::List(&TASK_SHAPE)), ("result", RESULT_SHAPE)]);

/// Parse YAML text into a JSON value (YAML→JSON as `sigs.k8s.io/yaml` does).
pub fn yaml_to_json(text: &str) -> Result<Value, ExperimentError> {
    let v: Value =
        serde_yaml_ng::from_str(text).map_err(|e| ExperimentError::Yaml(e.to_string()))?;
    Ok(v)
}

#[derive(Deserialize)]
struct RawExperiment {
    #[serde(default)]
    spec: Option<Vec<TaskSpec>>,
    #[serde(default)]
    result: Option<RawResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResult {
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    num_loops: Option<i64>,
    #[serde(default)]
    num_completed_tasks: Option<i64>,
    #[serde(default)]
    failure: Option<bool>,
    #[serde(default)]
    insights: Option<RawInsights>,
    #[serde(default)]
    iter8_version: Option<String>,
    #[serde(default)]
    chart: Option<ChartOrigin>,
}

/// Per-version maps as Go may write them (null entries allowed).
type PerVersion<T> = Option<Vec<Option<BTreeMap<String, T>>>>;

#[derive(Deserialize, Serialize)]
struct RawInsights {
    #[serde(rename = "numVersions", default)]
    num_versions: Option<usize>,
    #[serde(rename = "versionNames", default)]
    version_names: Option<Vec<VersionInfo>>,
    #[serde(rename = "metricsInfo", default)]
    metrics_info: Option<BTreeMap<String, MetricMeta>>,
    #[serde(rename = "nonHistMetricValues", default)]
    non_hist: PerVersion<Option<Vec<f64>>>,
    #[serde(rename = "histMetricValues", default)]
    hist: PerVersion<Option<Vec<HistBucket>>>,
    #[serde(rename = "SummaryMetricValues", default)]
    summary: PerVersion<[f64; 5]>,
    #[serde(rename = "SLOs", default)]
    slos: Option<SloLimits>,
    #[serde(rename = "SLOsSatisfied", default)]
    slos_satisfied: Option<SloResults>,
    #[serde(default)]
    protocols: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rewards: Option<Rewards>,
}

fn flatten<T>(v: PerVersion<Option<Vec<T>>>) -> Vec<BTreeMap<String, Vec<T>>> {
    v.unwrap_or_default()
        .into_iter()
        .map(|m| {
            m.unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect()
        })
        .collect()
}

/// Parse Go's RFC3339Nano (`""` = zero time).
pub fn parse_start_time(s: &str) -> Result<Option<DateTime<FixedOffset>>, ExperimentError> {
    if s.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(s)
        .map(Some)
        .map_err(|e| ExperimentError::Shape(format!("startTime {s:?}: {e}")))
}

/// Format like Go's `time.RFC3339Nano` (fraction without trailing zeros; `Z` for UTC).
pub fn format_start_time(t: &DateTime<FixedOffset>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ns = t.nanosecond() % 1_000_000_000;
    let mut frac = String::new();
    if ns != 0 {
        frac = format!(".{ns:09}");
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    let off = t.offset().local_minus_utc();
    let zone = if off == 0 {
        "Z".to_string()
    } else {
        let sign = if off < 0 { '-' } else { '+' };
        let a = off.abs();
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    };
    format!("{base}{frac}{zone}")
}

impl Experiment {
    /// Read an `experiment.yaml` document (Go v0.13 rules: case-insensitive keys, unknown keys
    /// ignored, `""`/`null` start time accepted).
    pub fn from_yaml(text: &str) -> Result<Experiment, ExperimentError> {
        let mut v = yaml_to_json(text)?;
        if v.is_null() {
            v = Value::Object(Map::new());
        }
        Experiment::from_json(v)
    }

    /// Build from a JSON value (same rules as [`Experiment::from_yaml`]).
    pub fn from_json(mut v: Value) -> Result<Experiment, ExperimentError> {
        canonicalize(&mut v, &EXPERIMENT_SHAPE);
        let raw: RawExperiment =
            serde_json::from_value(v).map_err(|e| ExperimentError::Shape(e.to_string()))?;
        let spec = raw.spec.unwrap_or_default();
        for (i, t) in spec.iter().enumerate() {
            if t.run.is_none() && t.task.as_deref().unwrap_or("").is_empty() {
                return Err(ExperimentError::TaskWithoutName { index: i + 1 });
            }
        }
        let result = match raw.result {
            None => None,
            Some(r) => Some(ExperimentResult {
                revision: r.revision.unwrap_or(0),
                start_time: parse_start_time(r.start_time.as_deref().unwrap_or(""))?,
                num_loops: r.num_loops.unwrap_or(0),
                num_completed_tasks: r.num_completed_tasks.unwrap_or(0),
                failure: r.failure.unwrap_or(false),
                insights: r.insights.map(|i| Insights {
                    num_versions: i.num_versions.unwrap_or(0),
                    version_names: i.version_names,
                    metrics_info: i.metrics_info.unwrap_or_default(),
                    non_hist_metric_values: flatten(i.non_hist),
                    hist_metric_values: flatten(i.hist),
                    summary_metric_values: i
                        .summary
                        .unwrap_or_default()
                        .into_iter()
                        .map(Option::unwrap_or_default)
                        .collect(),
                    slos: i.slos,
                    slos_satisfied: i.slos_satisfied,
                    protocols: i.protocols.unwrap_or_default(),
                    rewards: i.rewards,
                }),
                iter8_version: r.iter8_version.unwrap_or_default(),
                chart: r.chart,
            }),
        };
        Ok(Experiment { spec, result })
    }

    /// The document as a JSON value with Go's field set (before key sorting).
    pub fn to_json(&self) -> Result<Value, ExperimentError> {
        let ser = |e: serde_json::Error| ExperimentError::Serialize(e.to_string());
        let mut top = Map::new();
        top.insert(
            "spec".into(),
            serde_json::to_value(&self.spec).map_err(ser)?,
        );
        let result = match &self.result {
            None => Value::Null,
            Some(r) => {
                let mut m = Map::new();
                if r.revision != 0 {
                    m.insert("revision".into(), r.revision.into());
                }
                m.insert(
                    "startTime".into(),
                    r.start_time
                        .as_ref()
                        .map(format_start_time)
                        .unwrap_or_default()
                        .into(),
                );
                m.insert("numLoops".into(), r.num_loops.into());
                m.insert("numCompletedTasks".into(), r.num_completed_tasks.into());
                m.insert("failure".into(), r.failure.into());
                if let Some(i) = &r.insights {
                    m.insert("insights".into(), insights_json(i).map_err(ser)?);
                }
                m.insert("iter8Version".into(), r.iter8_version.clone().into());
                if let Some(c) = &r.chart {
                    m.insert("chart".into(), serde_json::to_value(c).map_err(ser)?);
                }
                Value::Object(m)
            }
        };
        top.insert("result".into(), result);
        Ok(Value::Object(top))
    }

    /// Serialise as Go writes it: sorted keys, omitempty rules, no anchors.
    pub fn to_yaml(&self) -> Result<String, ExperimentError> {
        let mut v = self.to_json()?;
        sort_keys_go(&mut v);
        let text =
            serde_yaml_ng::to_string(&v).map_err(|e| ExperimentError::Serialize(e.to_string()))?;
        // YAML 1.1 readers (go-yaml v2) see an unquoted RFC3339 value as a timestamp; quote it
        // as Go's writer does.
        let mut out = String::with_capacity(text.len() + 2);
        for line in text.split_inclusive('\n') {
            match line.strip_prefix("  startTime: ") {
                Some(rest)
                    if !rest.starts_with('\'')
                        && !rest.starts_with('"')
                        && rest.trim_end() != "''" =>
                {
                    out.push_str("  startTime: \"");
                    out.push_str(rest.trim_end());
                    out.push_str("\"\n");
                }
                _ => out.push_str(line),
            }
        }
        Ok(out)
    }
}

fn insights_json(i: &Insights) -> Result<Value, serde_json::Error> {
    let mut m = Map::new();
    m.insert("numVersions".into(), i.num_versions.into());
    m.insert(
        "versionNames".into(),
        serde_json::to_value(&i.version_names)?,
    );
    if !i.metrics_info.is_empty() {
        m.insert("metricsInfo".into(), serde_json::to_value(&i.metrics_info)?);
    }
    if !i.non_hist_metric_values.is_empty() {
        m.insert(
            "nonHistMetricValues".into(),
            serde_json::to_value(finite_lists(&i.non_hist_metric_values))?,
        );
    }
    if !i.hist_metric_values.is_empty() {
        m.insert(
            "histMetricValues".into(),
            serde_json::to_value(&i.hist_metric_values)?,
        );
    }
    m.insert(
        "SummaryMetricValues".into(),
        serde_json::to_value(&i.summary_metric_values)?,
    );
    if let Some(s) = &i.slos {
        m.insert("SLOs".into(), serde_json::to_value(s)?);
    }
    if let Some(s) = &i.slos_satisfied {
        m.insert("SLOsSatisfied".into(), serde_json::to_value(s)?);
    }
    if !i.protocols.is_empty() {
        m.insert("protocols".into(), serde_json::to_value(&i.protocols)?);
    }
    if let Some(r) = &i.rewards {
        m.insert("rewards".into(), serde_json::to_value(r)?);
    }
    Ok(Value::Object(m))
}

/// Drop non-finite observations (Go cannot marshal NaN/Inf; JSON has no such numbers).
fn finite_lists(v: &[BTreeMap<String, Vec<f64>>]) -> Vec<BTreeMap<String, Vec<f64>>> {
    v.iter()
        .map(|m| {
            m.iter()
                .map(|(k, vals)| {
                    (
                        k.clone(),
                        vals.iter().copied().filter(|x| x.is_finite()).collect(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Sort every map's keys like go-yaml v2 (`sigs.k8s.io/yaml` output).
pub fn sort_keys_go(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| go_yaml_key_cmp(&a.0, &b.0));
            for (k, mut val) in entries {
                sort_keys_go(&mut val);
                map.insert(k, val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys_go),
        _ => {}
    }
}

/// go-yaml v2's key order: letters compare by code point, non-letters before letters, digit
/// runs compared numerically.
pub fn go_yaml_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .saturating_mul(10)
                .saturating_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .saturating_mul(10)
                .saturating_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-yaml orders uppercase keys first and compares digit runs numerically.
    #[test]
    fn key_order() {
        let mut keys = vec![
            "numVersions",
            "SummaryMetricValues",
            "SLOsSatisfied",
            "SLOs",
            "histMetricValues",
            "http/latency-p99.9",
            "http/latency-p50",
            "http/latency-p9",
            "http/latency-p99",
        ];
        keys.sort_by(|a, b| go_yaml_key_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                "SLOs",
                "SLOsSatisfied",
                "SummaryMetricValues",
                "histMetricValues",
                "http/latency-p9",
                "http/latency-p50",
                "http/latency-p99",
                "http/latency-p99.9",
                "numVersions",
            ]
        );
    }

    /// Percentile names are normalised as Go's `%v` prints the float.
    #[test]
    fn normalize() {
        assert_eq!(
            normalize_metric_name("http/latency-p50.0").ok().as_deref(),
            Some("http/latency-p50")
        );
        assert_eq!(
            normalize_metric_name("http/latency-p99.90").ok().as_deref(),
            Some("http/latency-p99.9")
        );
        assert_eq!(
            normalize_metric_name("http-a/latency-p50.0")
                .ok()
                .as_deref(),
            Some("http-a/latency-p50.0")
        );
        assert!(normalize_metric_name("http/latency-pX").is_err());
    }

    /// The montanaflynn percentile rule and Sample aggregations.
    #[test]
    fn sample_aggs() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(sample_aggregation(&v, "p50"), Some(2.0));
        assert_eq!(sample_aggregation(&v, "p60"), Some(2.5));
        assert_eq!(sample_aggregation(&v, "p10"), None);
        assert_eq!(sample_aggregation(&v, "mean"), Some(2.5));
        assert_eq!(sample_aggregation(&v, "max"), Some(4.0));
        assert_eq!(sample_aggregation(&v, "bogus"), None);
    }

    /// RFC3339Nano formatting trims trailing zeros and writes Z for UTC.
    #[test]
    fn start_time_format() {
        let t = DateTime::parse_from_rfc3339("2023-05-15T10:00:00.120000Z").expect("valid");
        assert_eq!(format_start_time(&t), "2023-05-15T10:00:00.12Z");
        let t = DateTime::parse_from_rfc3339("2023-05-15T10:00:00-04:00").expect("valid");
        assert_eq!(format_start_time(&t), "2023-05-15T10:00:00-04:00");
    }
}
