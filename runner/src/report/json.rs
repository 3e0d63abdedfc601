//! The JSON report (`iter8 report -o json`): the result in a versioned shape for scripts and
//! pipelines, described by `schemas/report.v1.schema.json` and `docs/report-json.md`.
//!
//! The shape is stable within its `apiVersion`: fields may be added, none renamed or removed.
//! Values a JSON number cannot hold (NaN, ±Inf) and values not recorded are `null`.

use serde_json::{Map, Value, json};

use super::{insights, load_warnings, sorted_scalar_and_slo_metrics, sorted_vector_metrics};
use crate::experiment::{Experiment, Insights, format_start_time, normalize_metric_name};
use crate::slo::{SloClause, slo_clauses};

/// The `apiVersion` of the shape this module writes.
pub const API_VERSION: &str = "iter8.tools/report/v1";

/// The JSON report of `exp`, pretty-printed, ending in a newline.
pub fn json(exp: &Experiment) -> String {
    let mut text = serde_json::to_string_pretty(&value(exp)).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON report of `exp` as a value.
pub fn value(exp: &Experiment) -> Value {
    let res = exp.result.as_ref();
    let ins = insights(exp);
    let clauses = slo_clauses(exp);
    // The same words `iter8 assert` logs for each failing clause.
    let failing: Vec<String> = clauses
        .iter()
        .filter(|c| !c.satisfied)
        .map(ToString::to_string)
        .collect();
    let mut report = json!({
        "apiVersion": API_VERSION,
        "summary": {
            "completed": exp.completed(),
            "noFailure": exp.no_failure(),
            "slos": exp.slos(),
            "numTasks": exp.spec.len(),
            "numCompletedTasks": res.map_or(0, |r| r.num_completed_tasks),
            "numLoops": res.map_or(0, |r| r.num_loops),
            "failure": res.is_some_and(|r| r.failure),
            "startTime": res.and_then(|r| r.start_time.as_ref()).map(format_start_time),
            "revision": res.map_or(0, |r| r.revision),
            "iter8Version": res.map(|r| r.iter8_version.clone()),
        },
        "tasks": exp.spec.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "versions": ins.map(versions).unwrap_or_default(),
        "slos": slo_rows(&clauses),
        "failingSLOs": failing,
        "metrics": ins.map(metrics).unwrap_or_default(),
        "histograms": ins.map(histograms).unwrap_or_default(),
        "protocols": ins.map(|i| i.protocols.clone()).unwrap_or_default(),
        "warnings": ins.map(load_warnings).unwrap_or_default(),
    });
    // Only when there is something to compare (two or more versions with summary metrics).
    if let (Some(c), Value::Object(m)) = (ins.and_then(comparison), &mut report) {
        m.insert("comparison".into(), c);
    }
    report
}

/// The comparison of versions (`crate::compare`): reward metric, winner, reason, and per
/// metric and candidate the means, difference, interval and verdict.
fn comparison(ins: &Insights) -> Option<Value> {
    let c = crate::compare::compare(ins)?;
    let metrics: Vec<Value> = c
        .metrics
        .iter()
        .map(|m| {
            json!({
                "metric": m.metric,
                "candidate": m.candidate,
                "candidateName": ins.track_version_str(m.candidate),
                "baselineCount": m.counts.0,
                "candidateCount": m.counts.1,
                "baselineMean": number(m.means.0),
                "candidateMean": number(m.means.1),
                "difference": number(m.difference),
                "interval": m.interval.map(|(lo, hi)| json!([number(Some(lo)), number(Some(hi))])),
                "verdict": m.verdict.as_str(),
            })
        })
        .collect();
    Some(json!({
        "confidence": crate::compare::CONFIDENCE,
        "reward": c.reward.as_ref().map(|(m, higher)| json!({
            "metric": m,
            "direction": if *higher { "max" } else { "min" },
        })),
        "winner": c.winner.map(|w| json!({"index": w, "name": ins.track_version_str(w)})),
        "reason": c.reason,
        "metrics": metrics,
    }))
}

/// A number, or `null` for NaN, ±Inf and missing values.
fn number(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from)
}

fn versions(ins: &Insights) -> Vec<Value> {
    (0..ins.num_versions)
        .map(|i| {
            let vi = ins.version_names.as_ref().and_then(|v| v.get(i));
            json!({
                "index": i,
                "name": ins.track_version_str(i),
                "version": vi.map(|v| v.version.clone()).unwrap_or_default(),
                "track": vi.map(|v| v.track.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Every scalar metric the text report lists, with its current value per version.
fn metrics(ins: &Insights) -> Vec<Value> {
    sorted_scalar_and_slo_metrics(ins)
        .into_iter()
        .filter_map(|name| {
            let meta = ins.metric_info(&name)?;
            let values: Vec<Value> = (0..ins.num_versions)
                .map(|v| number(ins.scalar_metric_value(v, &name)))
                .collect();
            let mut m = Map::new();
            m.insert("name".into(), name.into());
            m.insert("type".into(), meta.kind.to_string().into());
            m.insert("units".into(), meta.units.map_or(Value::Null, Value::from));
            m.insert("description".into(), meta.description.into());
            m.insert("values".into(), values.into());
            Some(Value::Object(m))
        })
        .collect()
}

/// Histogram metrics: buckets per version (`lower`, `upper`, `count`).
fn histograms(ins: &Insights) -> Vec<Value> {
    sorted_vector_metrics(ins)
        .into_iter()
        .filter_map(|name| {
            let meta = ins.metrics_info.get(&name)?;
            if meta.kind != crate::experiment::MetricType::Histogram {
                return None;
            }
            let per_version: Vec<Value> = (0..ins.num_versions)
                .map(|v| {
                    let buckets = ins
                        .hist_metric_values
                        .get(v)
                        .and_then(|m| m.get(&name))
                        .cloned()
                        .unwrap_or_default();
                    json!(buckets)
                })
                .collect();
            Some(json!({
                "name": name,
                "units": meta.units,
                "description": meta.description,
                "buckets": per_version,
            }))
        })
        .collect()
}

/// Each SLO clause for each version: the metric, the kind of limit, the limit, the observed
/// value and the stored verdict.
fn slo_rows(clauses: &[SloClause]) -> Vec<Value> {
    clauses
        .iter()
        .map(|c| {
            json!({
                "metric": normalize_metric_name(&c.metric).unwrap_or_else(|_| c.metric.clone()),
                "kind": if c.upper { "upper" } else { "lower" },
                "limit": number(Some(c.limit)),
                "version": c.version,
                "versionName": c.version_name,
                "observed": number(c.observed),
                "satisfied": c.satisfied,
            })
        })
        .collect()
}
