//! The `assess` task: store SLOs and compute which versions satisfy them (Iter8 v0.13 §4.4).
//!
//! Input: `with.SLOs: {upper: [{metric, limit}], lower: [{metric, limit}]}` (keys matched
//! case-insensitively). `SLOsSatisfied.upper[i][j]` is true iff metric `i` has a value for
//! version `j` and it is ≤ the limit (≥ for `lower`); a missing value is false with a warning.
//!
//! Beyond v0.13: `with.rewards: {max: [metric], min: [metric]}` stores the metrics a version
//! should maximise or minimise in `insights.rewards`; the first one decides the winner of the
//! comparison of versions ([`crate::compare`]) shown in reports and checked by
//! `iter8 assert -c winner`.

use serde::Deserialize;

use crate::experiment::{
    Experiment, Insights, REWARDS_SHAPE, Rewards, SLO_LIMITS_SHAPE, Slo, SloLimits, SloResults,
};
use crate::inputs::{InputError, Shape, parse_inputs};
use crate::task::{TaskContext, TaskError};

/// Inputs of the task.
#[derive(Debug, Default, Deserialize)]
pub struct AssessInputs {
    /// SLO limits to store.
    #[serde(rename = "SLOs", default)]
    pub slos: Option<SloLimits>,
    /// Reward metrics to store.
    #[serde(default)]
    pub rewards: Option<Rewards>,
}

const ASSESS_SHAPE: Shape = Shape::Obj(&[("SLOs", SLO_LIMITS_SHAPE), ("rewards", REWARDS_SHAPE)]);

/// Parse the task's `with` (keys matched case-insensitively).
pub fn parse(with: Option<&serde_json::Value>) -> Result<AssessInputs, InputError> {
    parse_inputs(with, &ASSESS_SHAPE)
}

/// Run the task.
pub fn run(exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
    let inputs = parse(ctx.spec.with.as_ref())?;
    let ins = exp
        .result
        .as_mut()
        .and_then(|r| r.insights.as_mut())
        .ok_or(TaskError::NoInsights)?;
    if let Some(rewards) = &inputs.rewards {
        ins.set_rewards(rewards)?;
    }
    let Some(slos) = inputs.slos else {
        ctx.warn("nothing to do; returning");
        return Ok(());
    };
    if ins.num_versions == 0 {
        ctx.warn("nothing to do; returning");
        return Ok(());
    }
    ins.set_slos(&slos)?;
    let upper = evaluate(ins, &slos.upper, true, ctx);
    let lower = evaluate(ins, &slos.lower, false, ctx);
    ins.slos_satisfied = Some(SloResults { upper, lower });
    Ok(())
}

fn evaluate(ins: &Insights, slos: &[Slo], upper: bool, ctx: &TaskContext<'_>) -> Vec<Vec<bool>> {
    slos.iter()
        .map(|slo| {
            (0..ins.num_versions)
                .map(|j| {
                    let v = ins.scalar_metric_value(j, &slo.metric);
                    if v.is_none() {
                        ctx.warn(format!(
                            "unable to find value for version {j} and metric {}",
                            slo.metric
                        ));
                    }
                    holds(v, slo.limit, upper)
                })
                .collect()
        })
        .collect()
}

/// Whether an observed value meets a limit: `value <= limit` for an upper limit, `>=` for a
/// lower one; a missing value never does. The one SLO rule, shared with the capacity search.
pub fn holds(value: Option<f64>, limit: f64, upper: bool) -> bool {
    match value {
        None => false,
        Some(v) if upper => v <= limit,
        Some(v) => v >= limit,
    }
}
