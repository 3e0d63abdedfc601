//! The time series of an experiment's load tasks as the HTML report draws them: per provider,
//! the per-interval p50, p99, error count and achieved rate the load task recorded
//! (`<provider>/series-*`, see [`crate::task::http::record_series`]).

use serde::Serialize;

use crate::experiment::Insights;

/// The series of one provider (version 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SeriesView {
    pub provider: String,
    /// Start of each interval, sec from the start of the load.
    pub time: Vec<f64>,
    pub rate: Vec<f64>,
    pub p50: Vec<f64>,
    pub p99: Vec<f64>,
    pub errors: Vec<f64>,
}

/// The series recorded in `ins`, by provider.
pub(crate) fn views(ins: &Insights) -> Vec<SeriesView> {
    let Some(values) = ins.non_hist_metric_values.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, time) in values {
        let Some(provider) = name.strip_suffix("/series-time") else {
            continue;
        };
        let col = |m: &str| {
            values
                .get(&format!("{provider}/series-{m}"))
                .cloned()
                .unwrap_or_default()
        };
        out.push(SeriesView {
            provider: provider.to_string(),
            time: time.clone(),
            rate: col("rate"),
            p50: col("latency-p50"),
            p99: col("latency-p99"),
            errors: col("error-count"),
        });
    }
    out
}

/// Whether `metric` is one of the per-probe or per-interval series, which the reports draw as
/// series rather than as histograms of values.
pub(crate) fn is_series(metric: &str) -> bool {
    metric
        .split_once('/')
        .is_some_and(|(_, m)| m.starts_with("capacity-probe-") || m.starts_with("series-"))
}
