//! HTML report: one self-contained page (inline CSS and plotly.js), usable offline.
//!
//! Sections as Iter8 v0.13's HTML report: experiment status (with the protocol each load
//! provider spoke, which Iter8 did not show), SLO table (when SLOs are set),
//! histograms of every Histogram and Sample metric (one chart per metric, one trace per
//! version), and the table of latest metric values. Where Iter8 loaded Bootstrap, Font Awesome
//! and Plotly from CDNs, this page carries its own small stylesheet and plotly.js (from the
//! `plotly` crate, read at build time), so it opens without network access. Histogram buckets
//! are drawn as bars of their exact width and share of observations, rather than re-sampled
//! at random as Iter8 did, so the same experiment always gives the same picture.
//!
//! Not in Iter8 v0.13: for each load provider, its time series (p50 and p99 latency, errors
//! and achieved rate per interval); for each capacity search, its probes as latency percentiles against the
//! achieved rate, the capacity marked, and the table of probes.

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use super::{
    has_slos, insights, load_warnings, metric_description, metric_with_units, slo_satisfied,
    sorted_scalar_and_slo_metrics, sorted_vector_metrics, summary, value_str,
};
use crate::experiment::{Experiment, Insights, MetricType, format_go_float};

const TEMPLATE: &str = include_str!("report.html");

#[derive(Serialize)]
struct SloRow {
    condition: String,
    description: String,
    satisfied: Vec<bool>,
}

#[derive(Serialize)]
struct MetricRow {
    name: String,
    description: String,
    values: Vec<String>,
}

/// One plotly trace: bars (histogram buckets) or a histogram of raw samples.
#[derive(Serialize)]
struct Trace {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    x: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    histnorm: Option<&'static str>,
    opacity: f64,
}

#[derive(Serialize)]
struct Chart {
    id: String,
    title: String,
    observations: u64,
    traces: Vec<Trace>,
    /// Shown under the chart, e.g. which endpoints a shared histogram covers.
    note: Option<String>,
}

/// The HTML report of `exp` (a complete document, ending with a newline).
pub fn html(exp: &Experiment) -> Result<String, minijinja::Error> {
    let s = summary(exp);
    let message = format!(
        "{} {} {} out of {} tasks are complete. {} loops have completed.",
        if s.completed {
            "Experiment completed."
        } else {
            "Experiment has not completed."
        },
        if s.no_failure {
            "Experiment has no failures."
        } else {
            "Experiment has failures."
        },
        s.num_completed_tasks,
        s.num_tasks,
        s.num_loops
    );
    let ins = insights(exp);
    let headers: Vec<String> = match ins {
        Some(i) if i.num_versions > 1 => (0..i.num_versions)
            .map(|v| i.track_version_str(v))
            .collect(),
        _ => Vec::new(),
    };
    let slo_rows = ins.filter(|i| has_slos(i)).map(slo_rows);
    let charts = ins.map(charts).unwrap_or_default();
    let metric_rows = ins.map(metric_rows);
    let load_warnings = ins.map(load_warnings).unwrap_or_default();
    let capacity = ins.map(super::capacity::views).unwrap_or_default();
    let series = ins.map(super::series::views).unwrap_or_default();
    let comparison = ins.and_then(|i| {
        crate::compare::compare(i).map(|c| {
            context! {
                rows => super::comparison_rows(i, &c),
                winner => super::winner_line(i, &c),
            }
        })
    });

    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    let tmpl = env.get_template("report.html")?;
    let mut out = tmpl.render(context! {
        no_failure => s.no_failure,
        message => message,
        has_insights => ins.is_some(),
        protocols => ins.map(|i| i.protocols.clone()).unwrap_or_default(),
        headers => headers,
        slo_rows => Value::from(Serde(&slo_rows)),
        charts => Value::from(Serde(&charts)),
        metric_rows => Value::from(Serde(&metric_rows)),
        load_warnings => load_warnings,
        capacity => Value::from(Serde(&capacity)),
        series => Value::from(Serde(&series)),
        comparison => comparison,
        plotly_js => Value::from_safe_string(plotly_js()),
    })?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn slo_rows(ins: &Insights) -> Vec<SloRow> {
    let mut rows = Vec::new();
    if let Some(slos) = &ins.slos {
        for (upper, list) in [(true, &slos.upper), (false, &slos.lower)] {
            for (i, slo) in list.iter().enumerate() {
                let Some(mwu) = metric_with_units(ins, &slo.metric) else {
                    continue;
                };
                let limit = format_go_float(slo.limit);
                rows.push(SloRow {
                    condition: if upper {
                        format!("{mwu} ≤ {limit}")
                    } else {
                        format!("{limit} ≤ {mwu}")
                    },
                    description: metric_description(ins, &slo.metric),
                    satisfied: (0..ins.num_versions.max(1))
                        .map(|j| slo_satisfied(ins, upper, i, j))
                        .collect(),
                });
            }
        }
    }
    rows
}

fn metric_rows(ins: &Insights) -> Vec<MetricRow> {
    sorted_scalar_and_slo_metrics(ins)
        .into_iter()
        .filter_map(|m| {
            let name = metric_with_units(ins, &m)?;
            Some(MetricRow {
                name,
                description: metric_description(ins, &m),
                values: (0..ins.num_versions.max(1))
                    .map(|j| value_str(ins, j, &m))
                    .collect(),
            })
        })
        .collect()
}

fn charts(ins: &Insights) -> Vec<Chart> {
    let mut out = Vec::new();
    let histograms = sorted_vector_metrics(ins)
        .into_iter()
        .filter(|m| !super::series::is_series(m));
    for (n, metric) in histograms.enumerate() {
        let Some(meta) = ins.metrics_info.get(&metric) else {
            continue;
        };
        let title = metric_with_units(ins, &metric).unwrap_or_else(|| metric.clone());
        let mut traces = Vec::new();
        let mut observations = 0u64;
        for v in 0..ins.num_versions {
            let name = if ins.num_versions > 1 {
                ins.track_version_str(v)
            } else {
                format!("Version {v}")
            };
            match meta.kind {
                MetricType::Histogram => {
                    let buckets = ins
                        .hist_metric_values
                        .get(v)
                        .and_then(|m| m.get(&metric))
                        .cloned()
                        .unwrap_or_default();
                    let total: u64 = buckets.iter().map(|b| b.count).sum();
                    observations += total;
                    let denom = total.max(1) as f64;
                    traces.push(Trace {
                        name,
                        kind: "bar",
                        x: buckets.iter().map(|b| (b.lower + b.upper) / 2.0).collect(),
                        y: Some(
                            buckets
                                .iter()
                                .map(|b| b.count as f64 * 100.0 / denom)
                                .collect(),
                        ),
                        width: Some(
                            buckets
                                .iter()
                                .map(|b| (b.upper - b.lower).max(0.0))
                                .collect(),
                        ),
                        histnorm: None,
                        opacity: 0.6,
                    });
                }
                _ => {
                    let values = ins
                        .non_hist_metric_values
                        .get(v)
                        .and_then(|m| m.get(&metric))
                        .cloned()
                        .unwrap_or_default();
                    observations += values.len() as u64;
                    traces.push(Trace {
                        name,
                        kind: "histogram",
                        x: values,
                        y: None,
                        width: None,
                        histnorm: Some("percent"),
                        opacity: 0.6,
                    });
                }
            }
        }
        out.push(Chart {
            id: format!("hist-{n}"),
            title,
            observations,
            traces,
            note: shared_histogram_note(ins, &metric),
        });
    }
    out
}

/// For `http/latency` (`grpc/...` likewise) in a multi-endpoint experiment: the load task
/// records one histogram for all endpoints together, so say which ones it covers.
fn shared_histogram_note(ins: &Insights, metric: &str) -> Option<String> {
    let (provider, _) = metric.split_once('/')?;
    let prefix = format!("{provider}-");
    let mut endpoints: Vec<&str> = ins
        .metrics_info
        .keys()
        .filter_map(|k| k.split_once('/').map(|(p, _)| p))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    endpoints.dedup();
    if endpoints.is_empty()
        || ins
            .metrics_info
            .keys()
            .any(|k| k.starts_with(&format!("{provider}/")) && k != metric)
    {
        return None;
    }
    Some(format!(
        "Observations of all endpoints together: {}.",
        endpoints.join(", ")
    ))
}

/// The `<script>` element carrying plotly.js, as the `plotly` crate embeds it (its first
/// `<script>` element; the second is MathJax, which the report does not need).
fn plotly_js() -> String {
    let all = plotly::Plot::offline_js_sources();
    let first = all.find("<script").and_then(|start| {
        all[start..]
            .find("</script>")
            .map(|end| &all[start..start + end + 9])
    });
    first.unwrap_or(&all).to_string()
}
