//! The `abnmetrics` task: the per-version metrics the A/B/n service collected (Iter8 v0.13
//! §4.8). Calls `GetApplicationData(application)` on `endpoint` (10 s), and records every
//! metric of every live track's version as `abn/<metric>` (type Summary, replacing the previous
//! value), one version per track.
//!
//! Unlike v0.13 (Go map order, so random), versions come in a stable order by track: the
//! baseline track `<name>` first, then `<name>-candidate-1`, `-2`, ... (by number), so version 0
//! is the baseline that [`crate::compare`] compares the candidates with, and per-version SLOs
//! (`assess`) keep their columns from run to run. `versionNames` holds `{version, track}`.
//!
//! Inputs: `endpoint` (`host:port`, plaintext), `application` (`<namespace>/<name>`); both
//! required (the `abn` experiment values of the chart fill them in).

use std::time::Duration;

use serde::Deserialize;

use crate::abn::{self, AppData};
use crate::experiment::{Experiment, MetricMeta, MetricType, MetricValue, VersionInfo};
use crate::inputs::{InputError, Kind, Shape, parse_inputs};
use crate::task::{TaskContext, TaskError};

/// How long the call may take (Iter8 v0.13).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Inputs of the task.
#[derive(Debug, Deserialize)]
pub struct Inputs {
    /// `host:port` of the A/B/n service.
    pub endpoint: String,
    /// `<namespace>/<name>`.
    pub application: String,
}

const SHAPE: Shape = Shape::Closed(&[
    ("endpoint", Shape::Typed(Kind::Str)),
    ("application", Shape::Typed(Kind::Str)),
]);

/// Parse and check the task's `with`.
pub fn parse(with: Option<&serde_json::Value>) -> Result<Inputs, InputError> {
    #[derive(Deserialize)]
    struct Raw {
        endpoint: Option<String>,
        application: Option<String>,
    }
    let raw: Raw = parse_inputs(with, &SHAPE)?;
    let endpoint = raw.endpoint.filter(|s| !s.is_empty()).ok_or_else(|| {
        InputError::new("endpoint", "is required").hint("the A/B/n service, e.g. iter8-abn:50051")
    })?;
    let application = raw.application.filter(|s| !s.is_empty()).ok_or_else(|| {
        InputError::new("application", "is required")
            .hint("<namespace>/<name>, e.g. default/backend")
    })?;
    Ok(Inputs {
        endpoint,
        application,
    })
}

/// The live tracks of `data` in the stable order: baseline, then candidates by number, then
/// any other track name bytewise.
pub fn ordered_tracks(data: &AppData) -> Vec<(String, String)> {
    let (_, name) = abn::split_app_key(&data.name);
    let rank = |track: &str| -> (u8, u64, String) {
        if track == name {
            return (0, 0, String::new());
        }
        match track
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix("-candidate-"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(i) => (1, i, String::new()),
            None => (2, 0, track.to_string()),
        }
    };
    let mut tracks: Vec<(String, String)> = data
        .tracks
        .iter()
        .map(|(t, v)| (t.clone(), v.clone()))
        .collect();
    tracks.sort_by_key(|(t, _)| rank(t));
    tracks
}

/// Run the task.
pub fn run(exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
    let inputs = parse(ctx.spec.with.as_ref())?;
    let data = abn::get_application_data(&inputs.endpoint, &inputs.application, TIMEOUT)
        .map_err(|e| TaskError::External(Box::new(e)))?;
    record(exp, &data, ctx)
}

/// Record `data` into the experiment's insights.
pub fn record(
    exp: &mut Experiment,
    data: &AppData,
    ctx: &TaskContext<'_>,
) -> Result<(), TaskError> {
    let tracks = ordered_tracks(data);
    if tracks.is_empty() {
        ctx.warn("no tracks detected in application");
        return Ok(());
    }
    let result = exp.result.as_mut().ok_or(TaskError::NoInsights)?;
    let ins = result.init_insights(tracks.len())?;
    ins.version_names = Some(
        tracks
            .iter()
            .map(|(track, version)| VersionInfo {
                version: version.clone(),
                track: track.clone(),
            })
            .collect(),
    );
    for (i, (_, version)) in tracks.iter().enumerate() {
        let v = data.versions.get(version).ok_or_else(|| {
            TaskError::External(format!("expected version {version} not found").into())
        })?;
        for (metric, summary) in &v.metrics {
            ins.update_metric(
                &format!("abn/{metric}"),
                MetricMeta::new("", MetricType::Summary, None),
                i,
                MetricValue::Summary(*summary),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tracks come baseline first, then candidates by number (10 after 2), whatever the map
    /// order.
    #[test]
    fn track_order() {
        let data: AppData = serde_json::from_value(serde_json::json!({
            "name": "ns/backend",
            "tracks": {"backend-candidate-10": "v4", "backend-candidate-2": "v3",
                       "backend": "v1", "backend-candidate-1": "v2"}
        }))
        .expect("valid");
        let order: Vec<String> = ordered_tracks(&data).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            order,
            [
                "backend",
                "backend-candidate-1",
                "backend-candidate-2",
                "backend-candidate-10"
            ]
        );
    }

    /// Missing inputs are refused naming the field.
    #[test]
    fn inputs() {
        let e = parse(Some(&serde_json::json!({"endpoint": "x:1"}))).expect_err("no app");
        assert!(e.to_string().contains("application"), "{e}");
        let e = parse(Some(&serde_json::json!({"application": "a/b", "bogus": 1})))
            .expect_err("unknown key");
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}
