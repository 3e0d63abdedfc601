//! Assertions over a finished (or running) experiment: `completed`, `nofailure`, `slos`, with
//! per-clause details (metric, version, observed value, limit) for every failing SLO.

use std::fmt;
use std::str::FromStr;

use crate::experiment::Experiment;

/// An assert condition (`iter8 k assert -c ...`), parsed case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertCondition {
    /// All tasks completed.
    Completed,
    /// No task failed.
    NoFailure,
    /// Every version satisfies every SLO.
    Slos,
    /// A version won the comparison on the reward metric (`crate::compare`); not in v0.13.
    Winner,
}

/// An unsupported condition name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported assert condition detected; {0}")]
pub struct UnknownCondition(pub String);

impl FromStr for AssertCondition {
    type Err = UnknownCondition;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "completed" => Ok(AssertCondition::Completed),
            "nofailure" => Ok(AssertCondition::NoFailure),
            "slos" => Ok(AssertCondition::Slos),
            "winner" => Ok(AssertCondition::Winner),
            _ => Err(UnknownCondition(s.to_string())),
        }
    }
}

impl fmt::Display for AssertCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AssertCondition::Completed => "completed",
            AssertCondition::NoFailure => "nofailure",
            AssertCondition::Slos => "slos",
            AssertCondition::Winner => "winner",
        })
    }
}

/// One SLO clause for one version.
#[derive(Debug, Clone, PartialEq)]
pub struct SloClause {
    /// Metric name.
    pub metric: String,
    /// Version index.
    pub version: usize,
    /// Version label (`version 0`, `canary (v2)`).
    pub version_name: String,
    /// True for an upper limit (value ≤ limit), false for a lower one (value ≥ limit).
    pub upper: bool,
    /// The limit.
    pub limit: f64,
    /// Current value; `None` when unavailable.
    pub observed: Option<f64>,
    /// The stored verdict (`SLOsSatisfied`).
    pub satisfied: bool,
}

impl fmt::Display for SloClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.upper { "<=" } else { ">=" };
        let obs = match self.observed {
            Some(v) => format!("{v:.2}"),
            None => "unavailable".to_string(),
        };
        write!(
            f,
            "{} ({}): observed {} but want {} {}",
            self.metric, self.version_name, obs, op, self.limit
        )
    }
}

/// Outcome of one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertOutcome {
    /// The condition.
    pub condition: AssertCondition,
    /// Whether it holds.
    pub satisfied: bool,
    /// For `slos`: the failing clauses; for others: a one-line reason when unsatisfied.
    pub failing_slos: Vec<SloClause>,
    /// Human-readable reason when unsatisfied (empty when satisfied).
    pub reason: String,
}

/// Every SLO clause of `exp` with its verdict and observed value.
pub fn slo_clauses(exp: &Experiment) -> Vec<SloClause> {
    let Some(ins) = exp.result.as_ref().and_then(|r| r.insights.as_ref()) else {
        return Vec::new();
    };
    let Some(slos) = &ins.slos else {
        return Vec::new();
    };
    let sat = ins.slos_satisfied.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (upper, list, verdicts) in [
        (true, &slos.upper, &sat.upper),
        (false, &slos.lower, &sat.lower),
    ] {
        for (i, slo) in list.iter().enumerate() {
            for j in 0..ins.num_versions {
                out.push(SloClause {
                    metric: slo.metric.clone(),
                    version: j,
                    version_name: ins.track_version_str(j),
                    upper,
                    limit: slo.limit,
                    observed: ins.scalar_metric_value(j, &slo.metric),
                    satisfied: verdicts
                        .get(i)
                        .and_then(|r| r.get(j))
                        .copied()
                        .unwrap_or(false),
                });
            }
        }
    }
    out
}

/// Evaluate `conditions` against `exp`.
pub fn check(exp: &Experiment, conditions: &[AssertCondition]) -> Vec<AssertOutcome> {
    conditions
        .iter()
        .map(|&condition| {
            let (satisfied, failing_slos, reason) = match condition {
                AssertCondition::Completed => {
                    let ok = exp.completed();
                    let reason = match &exp.result {
                        None => "experiment has no result".to_string(),
                        Some(r) => format!(
                            "{} of {} tasks completed",
                            r.num_completed_tasks,
                            exp.spec.len()
                        ),
                    };
                    (ok, Vec::new(), if ok { String::new() } else { reason })
                }
                AssertCondition::NoFailure => {
                    let ok = exp.no_failure();
                    let reason = if exp.result.is_none() {
                        "experiment has no result"
                    } else {
                        "a task failed"
                    };
                    (
                        ok,
                        Vec::new(),
                        if ok {
                            String::new()
                        } else {
                            reason.to_string()
                        },
                    )
                }
                AssertCondition::Slos => {
                    let ok = exp.slos();
                    let failing: Vec<SloClause> = slo_clauses(exp)
                        .into_iter()
                        .filter(|c| !c.satisfied)
                        .collect();
                    let reason = if ok {
                        String::new()
                    } else if exp
                        .result
                        .as_ref()
                        .and_then(|r| r.insights.as_ref())
                        .is_none()
                    {
                        "experiment has no insights (no metrics were collected)".to_string()
                    } else {
                        failing
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    };
                    (ok, failing, reason)
                }
                AssertCondition::Winner => {
                    let comparison = exp
                        .result
                        .as_ref()
                        .and_then(|r| r.insights.as_ref())
                        .and_then(crate::compare::compare);
                    match comparison {
                        None => (
                            false,
                            Vec::new(),
                            "no versions to compare (two or more versions with summary metrics are needed)".to_string(),
                        ),
                        Some(c) => (c.winner.is_some(), Vec::new(), c.reason),
                    }
                }
            };
            AssertOutcome {
                condition,
                satisfied,
                failing_slos,
                reason,
            }
        })
        .collect()
}
