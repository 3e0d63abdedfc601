//! The capacity searches of an experiment as both reports show them: per provider, the probes
//! in order (rates, percentiles, errors, verdict) and how the search ended, read back from the
//! metrics [`crate::capacity::record`] wrote.

use serde::Serialize;

use crate::experiment::Insights;

/// One probe of a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ProbeRow {
    pub offered: f64,
    pub achieved: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub error_rate: f64,
    pub passed: bool,
}

/// The search of one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CapacityView {
    pub provider: String,
    pub probes: Vec<ProbeRow>,
    /// The capacity or lower bound named, if any.
    pub rate: Option<f64>,
    /// One sentence on the outcome.
    pub verdict: String,
}

/// The searches recorded in `ins` (version 0), by provider.
pub(crate) fn views(ins: &Insights) -> Vec<CapacityView> {
    let Some(values) = ins.non_hist_metric_values.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in ins.metrics_info.keys() {
        let Some(provider) = name.strip_suffix("/capacity-outcome") else {
            continue;
        };
        let col = |m: &str| {
            values
                .get(&format!("{provider}/capacity-probe-{m}"))
                .cloned()
                .unwrap_or_default()
        };
        let offered = col("offered-rate");
        let (achieved, p50, p90, p99, errors, passed) = (
            col("achieved-rate"),
            col("latency-p50"),
            col("latency-p90"),
            col("latency-p99"),
            col("error-rate"),
            col("passed"),
        );
        let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
        let probes = (0..offered.len())
            .map(|i| ProbeRow {
                offered: offered[i],
                achieved: at(&achieved, i),
                p50: at(&p50, i),
                p90: at(&p90, i),
                p99: at(&p99, i),
                error_rate: at(&errors, i),
                passed: at(&passed, i) == 1.0,
            })
            .collect();
        let rate = ins.scalar_metric_value(0, &format!("{provider}/capacity"));
        let code = ins
            .scalar_metric_value(0, name)
            .map_or(-1, |c| c.round() as i64);
        let r = rate.unwrap_or(0.0);
        let verdict = match code {
            0 => format!(
                "capacity {r:.1} requests/sec (within the tolerance of a failing rate, confirmed)"
            ),
            1 => format!(
                "capacity at least {r:.1} requests/sec (the maximum rate still met the SLOs)"
            ),
            2 => format!(
                "capacity at least {r:.1} requests/sec (out of probes or time before the bracket closed)"
            ),
            3 => "no capacity named: even the minimum rate failed the SLOs".to_string(),
            4 => "no capacity named: the load generator fell behind its own schedule".to_string(),
            5 => {
                "no capacity named: out of probes or time before any probe met the SLOs".to_string()
            }
            _ => "unknown outcome".to_string(),
        };
        out.push(CapacityView {
            provider: provider.to_string(),
            probes,
            rate,
            verdict,
        });
    }
    out
}
