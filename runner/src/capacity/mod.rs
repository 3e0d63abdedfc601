//! Capacity search, a mode of the `http` and `grpc` load tasks (`with.capacity`): the highest
//! rate a target serves within its SLOs, found by short open-model probes (see [`search`] for
//! the decisions), and its results as metrics.
//!
//! # Inputs (`capacity`, keys case-insensitive)
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `startRate` | 10 | First rate offered (requests/sec). |
//! | `minRate` | 1 | Lowest rate of the downward search (when the start rate fails). |
//! | `maxRate` | 10000 | Highest rate offered; passing there gives a lower bound. |
//! | `growth` | 2 | Factor between rates until one fails (above 1). |
//! | `tolerance` | 0.02 | Final bracket width relative to the failing rate (0 < t < 1). |
//! | `probeDuration` | `5s` | Length of each probe. |
//! | `maxProbes` | 20 | Most probes, the confirmation included. |
//! | `maxTime` | `5m` | No probe starts that would end later than this after the first. |
//! | `maxGeneratorLag` | `5ms` | A probe whose generator lag p99 is above this refuses a capacity. |
//! | `SLOs` | the experiment's `assess` SLOs on this provider's metrics | `{upper: [{metric, limit}], lower: [...]}`, judged on each probe alone. |
//!
//! # Metrics (under the provider: `http`, `http-<id>`, `grpc`, `grpc-<id>`)
//!
//! `capacity` (Gauge, requests/sec): the capacity, or a lower bound of it; absent when none
//! can be named. `capacity-outcome` (Gauge): [`Outcome`] as a code, 0 = found within the
//! tolerance, 1 = lower bound (the maximum rate passed), 2 = lower bound (out of probes or
//! time), 3 = none (even the minimum rate failed), 4 = none (the generator fell behind), 5 =
//! none (out of probes or time before any probe passed). Per probe, in order, Samples:
//! `capacity-probe-offered-rate`, `capacity-probe-achieved-rate` (requests/sec),
//! `capacity-probe-latency-p50|p90|p99` (msec), `capacity-probe-error-rate`,
//! `capacity-probe-passed` (1 or 0). The task's ordinary metrics are those of the probe at the
//! named rate (or of the last probe), so `assess` reads the same figures the search judged.

pub mod search;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::experiment::{
    Insights, MetricMeta, MetricType, MetricValue, SLO_LIMITS_SHAPE, SloLimits, TaskSpec,
    format_go_float,
};
use crate::inputs::{InputError, Kind, Shape, parse_go_duration};
pub use search::{Limits, Next, Outcome, ProbeResult};

/// `with.capacity` of a load task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityInputs {
    /// First rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_rate: Option<f64>,
    /// Lowest rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rate: Option<f64>,
    /// Highest rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<f64>,
    /// Growth factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<f64>,
    /// Relative bracket width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Probe length (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_duration: Option<String>,
    /// Probe budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_probes: Option<i64>,
    /// Time budget (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time: Option<String>,
    /// Generator lag p99 above which a probe is the generator's, not the target's (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_generator_lag: Option<String>,
    /// SLOs judged per probe.
    #[serde(rename = "SLOs", default, skip_serializing_if = "Option::is_none")]
    pub slos: Option<SloLimits>,
}

const RATE: Shape = Shape::Typed(Kind::Num {
    min: 0.0,
    hint: Some("a rate in requests/sec above 0"),
});

/// Shape of `capacity`.
pub const CAPACITY_SHAPE: Shape = Shape::Closed(&[
    ("startRate", RATE),
    ("minRate", RATE),
    ("maxRate", RATE),
    (
        "growth",
        Shape::Typed(Kind::Num {
            min: 1.0,
            hint: None,
        }),
    ),
    (
        "tolerance",
        Shape::Typed(Kind::Num {
            min: 0.0,
            hint: Some("e.g. 0.02 for 2 %"),
        }),
    ),
    (
        "probeDuration",
        Shape::Typed(Kind::Duration { positive: true }),
    ),
    ("maxProbes", Shape::Typed(Kind::Int { min: 1, hint: None })),
    ("maxTime", Shape::Typed(Kind::Duration { positive: true })),
    (
        "maxGeneratorLag",
        Shape::Typed(Kind::Duration { positive: true }),
    ),
    ("SLOs", SLO_LIMITS_SHAPE),
]);

/// Default first rate (requests/sec).
pub const DEFAULT_START_RATE: f64 = 10.0;
/// Default lowest rate.
pub const DEFAULT_MIN_RATE: f64 = 1.0;
/// Default highest rate.
pub const DEFAULT_MAX_RATE: f64 = 10_000.0;
/// Default growth factor.
pub const DEFAULT_GROWTH: f64 = 2.0;
/// Default tolerance (2 %).
pub const DEFAULT_TOLERANCE: f64 = 0.02;
/// Default probe length.
pub const DEFAULT_PROBE: Duration = Duration::from_secs(5);
/// Default probe budget.
pub const DEFAULT_MAX_PROBES: usize = 20;
/// Default time budget.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(300);
/// Default limit of the generator's lag p99 (timers tick every millisecond; more than a few
/// means the generator was short of CPU).
pub const DEFAULT_MAX_GENERATOR_LAG: Duration = Duration::from_millis(5);

/// A search's settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Rates and steps.
    pub limits: Limits,
    /// Length of each probe.
    pub probe: Duration,
    /// Time budget.
    pub max_time: Duration,
    /// Generator lag p99 above which no capacity is named.
    pub max_generator_lag: Duration,
    /// The SLOs each probe must meet.
    pub slos: SloLimits,
}

impl Settings {
    /// Check `c` (found at `capacity`) and fill its defaults; the SLOs are `c.SLOs`, else those
    /// of the `assess` tasks in `spec` on metrics of `provider` (its capacity metrics left out).
    pub fn of(c: &CapacityInputs, spec: &[TaskSpec], provider: &str) -> Result<Self, InputError> {
        for (path, v) in [
            ("capacity.startRate", c.start_rate),
            ("capacity.minRate", c.min_rate),
            ("capacity.maxRate", c.max_rate),
            ("capacity.tolerance", c.tolerance),
        ] {
            if v == Some(0.0) {
                return Err(InputError::new(path, "0 must be above 0"));
            }
        }
        let min = c.min_rate.unwrap_or(DEFAULT_MIN_RATE);
        let max = c.max_rate.unwrap_or(DEFAULT_MAX_RATE);
        if min > max {
            return Err(InputError::new(
                "capacity.minRate",
                format!(
                    "{} is above capacity.maxRate {}",
                    format_go_float(min),
                    format_go_float(max)
                ),
            ));
        }
        let start = c.start_rate.unwrap_or(DEFAULT_START_RATE.clamp(min, max));
        if start < min || start > max {
            return Err(InputError::new(
                "capacity.startRate",
                format!(
                    "{} is outside [minRate {}, maxRate {}]",
                    format_go_float(start),
                    format_go_float(min),
                    format_go_float(max)
                ),
            ));
        }
        let growth = c.growth.unwrap_or(DEFAULT_GROWTH);
        if growth <= 1.0 {
            return Err(InputError::new(
                "capacity.growth",
                format!("{} is not above 1", format_go_float(growth)),
            )
            .hint("e.g. 2 doubles the rate after each passing probe"));
        }
        let tolerance = c.tolerance.unwrap_or(DEFAULT_TOLERANCE);
        if tolerance >= 1.0 {
            return Err(InputError::new(
                "capacity.tolerance",
                format!("{} is not below 1", format_go_float(tolerance)),
            )
            .hint("a fraction: 0.02 for 2 %"));
        }
        let duration = |path: &str, v: &Option<String>, default: Duration| match v {
            None => Ok(default),
            Some(s) => parse_go_duration(s)
                .map_err(|_| InputError::new(path, format!("{s:?} is not a duration"))),
        };
        let probe = duration("capacity.probeDuration", &c.probe_duration, DEFAULT_PROBE)?;
        let max_time = duration("capacity.maxTime", &c.max_time, DEFAULT_MAX_TIME)?;
        let max_generator_lag = duration(
            "capacity.maxGeneratorLag",
            &c.max_generator_lag,
            DEFAULT_MAX_GENERATOR_LAG,
        )?;
        if max_time < probe {
            return Err(InputError::new(
                "capacity.maxTime",
                "is shorter than one probe (capacity.probeDuration)",
            ));
        }
        let max_probes = c
            .max_probes
            .map_or(DEFAULT_MAX_PROBES, |n| usize::try_from(n).unwrap_or(1));
        let slos = match &c.slos {
            Some(s) => s.clone(),
            None => assess_slos(spec, provider),
        };
        if slos.upper.is_empty() && slos.lower.is_empty() {
            return Err(InputError::new(
                "capacity.SLOs",
                format!("missing: the search judges each probe on SLOs, and no assess task sets one on {provider}/ metrics"),
            )
            .hint(format!("e.g. capacity.SLOs.upper: [{{metric: {provider}/error-rate, limit: 0}}], or assess SLOs on {provider}/latency-p99")));
        }
        Ok(Settings {
            limits: Limits {
                start,
                min,
                max,
                growth,
                tolerance,
                max_probes,
            },
            probe,
            max_time,
            max_generator_lag,
            slos,
        })
    }
}

/// The SLOs of the `assess` tasks of `spec` on metrics of `provider`, except its capacity
/// metrics (which only the finished search produces).
fn assess_slos(spec: &[TaskSpec], provider: &str) -> SloLimits {
    let mut out = SloLimits::default();
    let ours = |m: &str| {
        m.split_once('/')
            .is_some_and(|(p, rest)| p == provider && !rest.starts_with("capacity"))
    };
    for t in spec.iter().filter(|t| !t.is_run() && t.name() == "assess") {
        let Ok(a) = crate::task::assess::parse(t.with.as_ref()) else {
            continue;
        };
        let Some(s) = a.slos else { continue };
        out.upper
            .extend(s.upper.into_iter().filter(|x| ours(&x.metric)));
        out.lower
            .extend(s.lower.into_iter().filter(|x| ours(&x.metric)));
    }
    out
}

/// One probe: the load's own report (`R`), the metrics recorded from it, and the verdict.
#[derive(Debug, Clone)]
pub struct Probe<R> {
    /// The search's view.
    pub result: ProbeResult,
    /// The provider's metrics of this probe alone (version 0).
    pub insights: Insights,
    /// The load generator's report.
    pub report: R,
    /// The SLOs that failed, as `metric observed limit` text.
    pub failed: Vec<String>,
}

/// A finished search.
#[derive(Debug, Clone)]
pub struct Search<R> {
    /// How it ended.
    pub outcome: Outcome,
    /// Every probe, in order.
    pub probes: Vec<Probe<R>>,
}

/// What a probe run hands back to [`run`].
pub struct Measured<R> {
    /// Achieved rate (requests/sec).
    pub achieved: f64,
    /// The generator's lag, 99th percentile.
    pub generator_lag_p99: Duration,
    /// The provider's metrics of the probe.
    pub insights: Insights,
    /// The report.
    pub report: R,
}

/// Run the search: `probe(n, rate, duration)` runs probe `n` (1-based) at `rate` for
/// `duration` and measures it.
pub fn run<R, E>(
    s: &Settings,
    mut probe: impl FnMut(usize, f64, Duration) -> Result<Measured<R>, E>,
) -> Result<Search<R>, E> {
    let began = Instant::now();
    let mut probes: Vec<Probe<R>> = Vec::new();
    let mut history: Vec<ProbeResult> = Vec::new();
    loop {
        let rate = match search::decide(&s.limits, &history) {
            Next::Done(outcome) => return Ok(Search { outcome, probes }),
            Next::Probe(r) => r,
        };
        if !history.is_empty() && began.elapsed() + s.probe > s.max_time {
            return Ok(Search {
                outcome: search::stopped(&history),
                probes,
            });
        }
        let m = probe(probes.len() + 1, rate, s.probe)?;
        let failed = judge(&m.insights, &s.slos);
        let result = ProbeResult {
            offered: rate,
            achieved: m.achieved,
            passed: failed.is_empty(),
            generator_late: m.generator_lag_p99 > s.max_generator_lag,
        };
        history.push(result);
        probes.push(Probe {
            result,
            insights: m.insights,
            report: m.report,
            failed,
        });
    }
}

/// The SLOs of `slos` that do not hold on version 0 of `ins` (a missing value fails), worded
/// for the log.
pub fn judge(ins: &Insights, slos: &SloLimits) -> Vec<String> {
    let mut out = Vec::new();
    for (upper, list) in [(true, &slos.upper), (false, &slos.lower)] {
        for slo in list {
            let v = ins.scalar_metric_value(0, &slo.metric);
            if crate::task::assess::holds(v, slo.limit, upper) {
                continue;
            }
            let op = if upper { "<=" } else { ">=" };
            out.push(match v {
                Some(v) => format!(
                    "{} {v:.2} (want {op} {})",
                    slo.metric,
                    format_go_float(slo.limit)
                ),
                None => format!("{} unavailable", slo.metric),
            });
        }
    }
    out
}

impl<R> Search<R> {
    /// The probe whose measurements stand for the task: the last passing probe at the named
    /// rate (or the lower bound), else the last probe.
    pub fn chosen(&self) -> Option<&Probe<R>> {
        let named = match self.outcome {
            Outcome::Capacity { .. } | Outcome::LowerBound { .. } => {
                let rate = self.rate()?;
                self.probes
                    .iter()
                    .rev()
                    .find(|p| p.result.passed && p.result.achieved >= rate)
            }
            Outcome::Stopped {
                passing: Some(r), ..
            } => self
                .probes
                .iter()
                .rev()
                .find(|p| p.result.passed && p.result.achieved >= r),
            _ => None,
        };
        named.or(self.probes.last())
    }

    /// The rate named: the capacity or a lower bound of it.
    pub fn rate(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Capacity { rate, .. } | Outcome::LowerBound { rate } => Some(rate),
            Outcome::Stopped { passing, .. } => passing,
            Outcome::BelowMinimum { .. } | Outcome::GeneratorLate { .. } => None,
        }
    }
}

/// `capacity-outcome` of an outcome (see the module header).
pub fn outcome_code(o: &Outcome) -> f64 {
    match o {
        Outcome::Capacity { .. } => 0.0,
        Outcome::LowerBound { .. } => 1.0,
        Outcome::Stopped {
            passing: Some(_), ..
        } => 2.0,
        Outcome::BelowMinimum { .. } => 3.0,
        Outcome::GeneratorLate { .. } => 4.0,
        Outcome::Stopped { passing: None, .. } => 5.0,
    }
}

/// One line on how the search of `provider` ended; `None` when a capacity was found.
pub fn warning<R>(provider: &str, s: &Search<R>, settings: &Settings) -> Option<String> {
    let (limits, max_lag) = (&settings.limits, settings.max_generator_lag);
    Some(match s.outcome {
        Outcome::Capacity { .. } => return None,
        Outcome::LowerBound { rate } => format!(
            "{provider}: capacity search: the maximum rate {} requests/sec still met the SLOs; \
             the capacity is at least {rate:.1} requests/sec (raise capacity.maxRate to find it)",
            format_go_float(limits.max)
        ),
        Outcome::Stopped { passing, failing } => {
            let range = match (passing, failing) {
                (Some(p), Some(f)) => format!("between {p:.1} and {f:.1} requests/sec"),
                (Some(p), None) => format!("at least {p:.1} requests/sec"),
                (None, Some(f)) => format!("below {f:.1} requests/sec"),
                (None, None) => "unknown".to_string(),
            };
            format!(
                "{provider}: capacity search stopped after {} probes (capacity.maxProbes or \
                 capacity.maxTime) before the bracket was within the tolerance: the capacity is \
                 {range}",
                s.probes.len()
            )
        }
        Outcome::BelowMinimum { min } => format!(
            "{provider}: capacity search: even the minimum rate {} requests/sec failed the \
             SLOs; no capacity named",
            format_go_float(min)
        ),
        Outcome::GeneratorLate { probe } => {
            let p = &s.probes[probe];
            format!(
                "{provider}: capacity search: the load generator fell behind its own schedule \
                 in probe {} (offered {:.1}, achieved {:.1} requests/sec; generator lag p99 \
                 above capacity.maxGeneratorLag {} ms; short of CPU?): its measurements describe \
                 the generator, not the target, so no capacity is named",
                probe + 1,
                p.result.offered,
                p.result.achieved,
                format_go_float(max_lag.as_secs_f64() * 1000.0),
            )
        }
    })
}

/// Names of the latency percentile metrics of a provider (`http/latency-p99`,
/// `grpc/latency/p99`), given the percentile.
pub type LatencyName<'a> = &'a dyn Fn(&str, f64) -> String;

/// Percentiles kept per probe.
pub const PROBE_PERCENTILES: [f64; 3] = [50.0, 90.0, 99.0];

/// Record the search's metrics for `provider` into version 0 of `ins` (see the module
/// header); `latency` names the provider's percentile metrics.
pub fn record<R>(
    ins: &mut Insights,
    provider: &str,
    s: &Search<R>,
    latency: LatencyName<'_>,
) -> Result<(), crate::experiment::ExperimentError> {
    let rate_meta = |d: &str, kind| MetricMeta::new(d, kind, Some("requests/sec"));
    let name = |m: &str| format!("{provider}/{m}");
    if let Some(r) = s.rate() {
        ins.update_metric(
            &name("capacity"),
            rate_meta(
                "highest request rate that met the SLOs (or a lower bound of it: see capacity-outcome)",
                MetricType::Gauge,
            ),
            0,
            MetricValue::Scalar(r),
        )?;
    }
    ins.update_metric(
        &name("capacity-outcome"),
        MetricMeta::new(
            "how the capacity search ended: 0 found, 1 lower bound (maximum rate passed), 2 lower bound (out of probes or time), 3 none (minimum rate failed), 4 none (generator fell behind), 5 none (out of probes or time)",
            MetricType::Gauge,
            None,
        ),
        0,
        MetricValue::Scalar(outcome_code(&s.outcome)),
    )?;
    let column = |f: &dyn Fn(&Probe<R>) -> f64| -> Vec<f64> { s.probes.iter().map(f).collect() };
    let mut sample = |m: &str, meta: MetricMeta, v: Vec<f64>| {
        ins.update_metric(&name(m), meta, 0, MetricValue::Sample(v))
    };
    sample(
        "capacity-probe-offered-rate",
        rate_meta("offered rate of each capacity probe", MetricType::Sample),
        column(&|p| p.result.offered),
    )?;
    sample(
        "capacity-probe-achieved-rate",
        rate_meta("achieved rate of each capacity probe", MetricType::Sample),
        column(&|p| p.result.achieved),
    )?;
    for pct in PROBE_PERCENTILES {
        let ps = format_go_float(pct);
        let metric = latency(provider, pct);
        sample(
            &format!("capacity-probe-latency-p{ps}"),
            MetricMeta::new(
                format!("{ps}-th percentile latency of each capacity probe"),
                MetricType::Sample,
                Some("msec"),
            ),
            column(&|p| p.insights.scalar_metric_value(0, &metric).unwrap_or(0.0)),
        )?;
    }
    let errors = name("error-rate");
    sample(
        "capacity-probe-error-rate",
        MetricMeta::new(
            "fraction of responses that were errors, per capacity probe",
            MetricType::Sample,
            None,
        ),
        column(&|p| p.insights.scalar_metric_value(0, &errors).unwrap_or(0.0)),
    )?;
    sample(
        "capacity-probe-passed",
        MetricMeta::new(
            "whether each capacity probe met the SLOs (1) or not (0)",
            MetricType::Sample,
            None,
        ),
        column(&|p| if p.result.passed { 1.0 } else { 0.0 }),
    )?;
    Ok(())
}

/// Empty insights for one probe's metrics.
pub fn probe_insights() -> Insights {
    let mut ins = Insights {
        num_versions: 1,
        ..Insights::default()
    };
    // One version and no stored arrays: this cannot fail.
    let _ = ins.init_metrics();
    ins
}

/// One debug line per probe of a finished search: rates and verdict.
pub fn log_probes<R>(provider: &str, s: &Search<R>, ctx: &crate::task::TaskContext<'_>) {
    for (i, p) in s.probes.iter().enumerate() {
        let verdict = if p.failed.is_empty() {
            "met the SLOs".to_string()
        } else {
            format!("failed {}", p.failed.join(", "))
        };
        ctx.debug(format!(
            "{provider}: capacity probe {} at {:.1} requests/sec: achieved {:.1}, {verdict}",
            i + 1,
            p.result.offered,
            p.result.achieved
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(c: CapacityInputs) -> Result<Settings, String> {
        let slos = SloLimits {
            upper: vec![crate::experiment::Slo {
                metric: "http/error-rate".into(),
                limit: 0.0,
            }],
            lower: Vec::new(),
        };
        Settings::of(
            &CapacityInputs {
                slos: c.slos.clone().or(Some(slos)),
                ..c
            },
            &[],
            "http",
        )
        .map_err(|e| e.to_string())
    }

    /// Defaults fill in; rules spanning fields name the field they blame.
    #[test]
    fn rules() {
        let s = settings(CapacityInputs::default()).expect("defaults");
        assert_eq!(s.limits.start, DEFAULT_START_RATE);
        assert_eq!(s.probe, DEFAULT_PROBE);
        let bad = |c: CapacityInputs| settings(c).expect_err("refused");
        assert_eq!(
            bad(CapacityInputs {
                min_rate: Some(50.0),
                max_rate: Some(20.0),
                ..Default::default()
            }),
            "invalid input capacity.minRate: 50 is above capacity.maxRate 20"
        );
        assert_eq!(
            bad(CapacityInputs {
                start_rate: Some(0.5),
                ..Default::default()
            }),
            "invalid input capacity.startRate: 0.5 is outside [minRate 1, maxRate 10000]"
        );
        assert!(
            bad(CapacityInputs {
                growth: Some(1.0),
                ..Default::default()
            })
            .starts_with("invalid input capacity.growth: 1 is not above 1")
        );
        assert!(
            bad(CapacityInputs {
                tolerance: Some(1.0),
                ..Default::default()
            })
            .starts_with("invalid input capacity.tolerance: 1 is not below 1")
        );
        assert_eq!(
            bad(CapacityInputs {
                tolerance: Some(0.0),
                ..Default::default()
            }),
            "invalid input capacity.tolerance: 0 must be above 0"
        );
        assert_eq!(
            bad(CapacityInputs {
                probe_duration: Some("10s".into()),
                max_time: Some("5s".into()),
                ..Default::default()
            }),
            "invalid input capacity.maxTime: is shorter than one probe (capacity.probeDuration)"
        );
    }

    /// Without its own SLOs the search takes the assess SLOs on its provider's metrics, except
    /// the capacity ones.
    #[test]
    fn slos_from_assess() {
        let spec: Vec<TaskSpec> = serde_json::from_value(serde_json::json!([
            {"task": "http"},
            {"task": "assess", "with": {"SLOs": {
                "upper": [{"metric": "http/latency-p99", "limit": 50},
                          {"metric": "grpc/error-rate", "limit": 0}],
                "lower": [{"metric": "http/capacity", "limit": 100}]}}}
        ]))
        .expect("spec");
        let s = Settings::of(&CapacityInputs::default(), &spec, "http").expect("settings");
        assert_eq!(s.slos.upper.len(), 1);
        assert_eq!(s.slos.upper[0].metric, "http/latency-p99");
        assert!(s.slos.lower.is_empty());
        let e = Settings::of(&CapacityInputs::default(), &spec, "http-a").expect_err("none");
        assert!(
            e.to_string()
                .starts_with("invalid input capacity.SLOs: missing"),
            "{e}"
        );
    }
}
