//! Experiment reports: the text report (byte-compatible with Iter8 v0.13) and the HTML report.
//!
//! Both read an [`Experiment`] and return the whole report as a string, so a caller can write it
//! in one piece (nothing half-written).
//!
//! * [`text`]: the exact bytes `iter8 report` (v0.13) prints: summary, SLO table (when SLOs are
//!   set), metrics table, laid out by Go's `text/tabwriter` with `|` separators; see
//!   [`text`] for the layout.
//! * [`html`]: one self-contained page (inline CSS and plotly.js, no network needed) with the
//!   status, the SLO table, one latency histogram per histogram/sample metric (so one per
//!   endpoint when the load task records per-endpoint histograms) and the metrics table; and,
//!   not in Iter8 v0.13, the time series of each load (p50, p99, errors and achieved rate per
//!   interval) and each capacity search (latency against rate, the capacity marked).
//! * [`json`]: the result in a versioned JSON shape for scripts (`schemas/report.v1.schema.json`).
//!
//! ```
//! let exp = runner::Experiment::from_yaml("spec: []\nresult: {numLoops: 1}\n").expect("valid");
//! let text = runner::report::text(&exp);
//! assert!(text.starts_with("\nExperiment summary:\n"));
//! ```

mod capacity;
mod html;
mod json;
mod series;
mod text;

pub use html::html;
pub use json::{API_VERSION, json};
pub use text::text;

use crate::experiment::{Experiment, Insights, MetricType, normalize_metric_name};

/// Summary counts shown at the top of both reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub completed: bool,
    pub no_failure: bool,
    pub num_tasks: usize,
    pub num_completed_tasks: i64,
    pub num_loops: i64,
}

pub(crate) fn summary(exp: &Experiment) -> Summary {
    let (num_completed_tasks, num_loops) = exp
        .result
        .as_ref()
        .map(|r| (r.num_completed_tasks, r.num_loops))
        .unwrap_or((0, 0));
    Summary {
        completed: exp.completed(),
        no_failure: exp.no_failure(),
        num_tasks: exp.spec.len(),
        num_completed_tasks,
        num_loops,
    }
}

/// Insights of the experiment, if any.
pub(crate) fn insights(exp: &Experiment) -> Option<&Insights> {
    exp.result.as_ref().and_then(|r| r.insights.as_ref())
}

/// Counter/Gauge metrics, the five aggregations of each Summary metric and every SLO metric
/// (normalized), deduplicated and sorted bytewise (Go `SortedScalarAndSLOMetrics`).
pub(crate) fn sorted_scalar_and_slo_metrics(ins: &Insights) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (name, meta) in &ins.metrics_info {
        match meta.kind {
            MetricType::Counter | MetricType::Gauge => keys.push(name.clone()),
            MetricType::Summary => {
                for agg in ["count", "mean", "stddev", "min", "max"] {
                    keys.push(format!("{name}/{agg}"));
                }
            }
            _ => {}
        }
    }
    if let Some(slos) = &ins.slos {
        for slo in slos.upper.iter().chain(&slos.lower) {
            if let Ok(nm) = normalize_metric_name(&slo.metric) {
                keys.push(nm);
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Histogram and Sample metrics, sorted (Go `SortedVectorMetrics`).
pub(crate) fn sorted_vector_metrics(ins: &Insights) -> Vec<String> {
    ins.metrics_info
        .iter()
        .filter(|(_, m)| matches!(m.kind, MetricType::Histogram | MetricType::Sample))
        .map(|(k, _)| k.clone())
        .collect()
}

/// `name (units)` or `name`; `None` when the metric is unknown (Go logs and skips the row).
pub(crate) fn metric_with_units(ins: &Insights, metric: &str) -> Option<String> {
    let nm = normalize_metric_name(metric).ok()?;
    let meta = ins.metric_info(&nm)?;
    Some(match meta.units {
        Some(u) => format!("{nm} ({u})"),
        None => nm,
    })
}

/// Description of a metric (derived metrics included), empty when unknown.
pub(crate) fn metric_description(ins: &Insights, metric: &str) -> String {
    normalize_metric_name(metric)
        .ok()
        .and_then(|nm| ins.metric_info(&nm))
        .map(|m| m.description)
        .unwrap_or_default()
}

/// `%0.2f` of the current value, or `unavailable` (Go `ScalarMetricValueStr`).
pub(crate) fn value_str(ins: &Insights, version: usize, metric: &str) -> String {
    match ins.scalar_metric_value(version, metric) {
        Some(v) if v.is_nan() => "NaN".to_string(),
        Some(v) if v.is_infinite() => if v > 0.0 { "+Inf" } else { "-Inf" }.to_string(),
        Some(v) => format!("{v:.2}"),
        None => "unavailable".to_string(),
    }
}

/// Verdict of SLO `i` (upper or lower) for `version`; missing entries count as unsatisfied.
pub(crate) fn slo_satisfied(ins: &Insights, upper: bool, i: usize, version: usize) -> bool {
    ins.slos_satisfied
        .as_ref()
        .map(|s| if upper { &s.upper } else { &s.lower })
        .and_then(|rows| rows.get(i))
        .and_then(|row| row.get(version))
        .copied()
        .unwrap_or(false)
}

/// The load warnings of every paced `http` provider (the target could not carry the offered
/// rate, the generator fell behind), worded as the run logged them; empty when all kept up.
pub(crate) fn load_warnings(ins: &Insights) -> Vec<String> {
    let mut out = Vec::new();
    for name in ins.metrics_info.keys() {
        let Some(provider) = name.strip_suffix("/offered-rate") else {
            continue;
        };
        for v in 0..ins.num_versions {
            if let Some(n) = crate::task::http::LoadNotes::of_insights(ins, provider, v) {
                out.extend(n.overload(provider));
                out.extend(n.generator_late(provider));
            }
        }
    }
    out
}

/// The comparison of versions as table cells: metric, candidate, baseline and candidate means,
/// difference, interval, verdict (not in Iter8 v0.13; only with two or more versions and
/// summary metrics).
pub(crate) fn comparison_rows(ins: &Insights, c: &crate::compare::Comparison) -> Vec<[String; 6]> {
    let num = |v: Option<f64>| v.map_or("unavailable".to_string(), |x| format!("{x:.2}"));
    c.metrics
        .iter()
        .map(|m| {
            [
                m.metric.clone(),
                ins.track_version_str(m.candidate),
                format!("{} vs {}", num(m.means.1), num(m.means.0)),
                num(m.difference),
                match m.interval {
                    Some((lo, hi)) => format!("[{lo:.2}, {hi:.2}]"),
                    None => "too few values".to_string(),
                },
                m.verdict.as_str().to_string(),
            ]
        })
        .collect()
}

/// `Winner: <version>. <reason>` or `No winner: <reason>`.
pub(crate) fn winner_line(ins: &Insights, c: &crate::compare::Comparison) -> String {
    match c.winner {
        Some(w) => format!("Winner: {} ({})", ins.track_version_str(w), c.reason),
        None => format!("No winner: {}", c.reason),
    }
}

/// Whether the insights carry at least one SLO (Go: `not (empty .Result.Insights.SLOs)`).
pub(crate) fn has_slos(ins: &Insights) -> bool {
    ins.slos.is_some()
}
