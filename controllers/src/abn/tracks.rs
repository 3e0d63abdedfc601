//! Which tracks of an application are live, and which finalizers to add or remove: pure
//! decisions over the objects the watcher read (Iter8 v0.13 §10.3).
//!
//! Tracks of application `A` with `maxNumCandidates: n` are the object names `A`,
//! `A-candidate-1` ... `A-candidate-n`. A track is live when every configured kind has an
//! object of that name that is not being deleted, they all carry one non-empty
//! `app.kubernetes.io/version` label, and each is ready (its configured condition `True`).
//! Objects not being deleted get the finalizer `iter8.tools/finalizer`; an object being
//! deleted loses it once the tracks no longer count it.

use std::collections::BTreeMap;

use crate::abn::config::AppConfig;

/// The label holding an object's version.
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// The finalizer the service puts on the objects it watches.
pub const FINALIZER: &str = "iter8.tools/finalizer";

/// What the decision needs of one object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectState {
    /// `app.kubernetes.io/version`, if set.
    pub version: Option<String>,
    /// `status.conditions` as (type, status).
    pub conditions: Vec<(String, String)>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `metadata.finalizers` holds [`FINALIZER`].
    pub has_finalizer: bool,
}

impl ObjectState {
    /// Read the state out of an object's JSON.
    pub fn from_json(obj: &serde_json::Value) -> ObjectState {
        let meta = &obj["metadata"];
        let conditions = obj["status"]["conditions"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        (
                            c["type"].as_str().unwrap_or_default().to_string(),
                            c["status"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ObjectState {
            version: meta["labels"][VERSION_LABEL].as_str().map(str::to_string),
            conditions,
            deleting: !meta["deletionTimestamp"].is_null(),
            has_finalizer: meta["finalizers"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x.as_str() == Some(FINALIZER))),
        }
    }

    /// Ready for `condition` (none: always; else that condition's status is `True`, compared
    /// case-insensitively as v0.13 does).
    pub fn ready(&self, condition: Option<&str>) -> bool {
        match condition {
            None => true,
            Some(want) => self
                .conditions
                .iter()
                .any(|(t, s)| t.eq_ignore_ascii_case(want) && s.eq_ignore_ascii_case("true")),
        }
    }
}

/// Track names of application `name`: the baseline, then the candidates.
pub fn track_names(name: &str, max_num_candidates: usize) -> Vec<String> {
    std::iter::once(name.to_string())
        .chain((1..=max_num_candidates).map(|i| format!("{name}-candidate-{i}")))
        .collect()
}

/// What to do for one application.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Live tracks: track → version.
    pub tracks: BTreeMap<String, String>,
    /// Objects (track, resource index) to give the finalizer.
    pub add_finalizer: Vec<(String, usize)>,
    /// Objects (track, resource index) to release.
    pub remove_finalizer: Vec<(String, usize)>,
}

/// Decide for application `name` given the objects found, keyed by (track, resource index).
pub fn plan(
    name: &str,
    config: &AppConfig,
    objects: &BTreeMap<(String, usize), ObjectState>,
) -> Plan {
    let mut out = Plan::default();
    for track in track_names(name, config.max_num_candidates) {
        let mut version: Option<&str> = None;
        let mut live = true;
        for (i, r) in config.resources.iter().enumerate() {
            let Some(o) = objects.get(&(track.clone(), i)) else {
                live = false;
                continue;
            };
            if o.deleting {
                live = false;
                if o.has_finalizer {
                    out.remove_finalizer.push((track.clone(), i));
                }
                continue;
            }
            if !o.has_finalizer {
                out.add_finalizer.push((track.clone(), i));
            }
            match (o.version.as_deref().filter(|v| !v.is_empty()), version) {
                (None, _) => live = false,
                (Some(v), None) => version = Some(v),
                (Some(v), Some(seen)) if v != seen => live = false,
                _ => {}
            }
            if !o.ready(r.condition.as_deref()) {
                live = false;
            }
        }
        if let (true, Some(v)) = (live, version) {
            out.tracks.insert(track, v.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abn::config::Resource;

    fn config() -> AppConfig {
        AppConfig {
            max_num_candidates: 1,
            resources: vec![
                Resource {
                    group: "apps".into(),
                    version: "v1".into(),
                    resource: "deployments".into(),
                    condition: Some("Available".into()),
                },
                Resource {
                    group: String::new(),
                    version: "v1".into(),
                    resource: "services".into(),
                    condition: None,
                },
            ],
        }
    }

    fn obj(version: &str, available: bool) -> ObjectState {
        ObjectState {
            version: Some(version.into()),
            conditions: vec![(
                "Available".into(),
                if available { "True" } else { "False" }.into(),
            )],
            deleting: false,
            has_finalizer: true,
        }
    }

    /// A track is live only with every kind present, one version label, ready; a track whose
    /// Deployment is not Available or whose objects disagree on the version is not.
    #[test]
    fn live_tracks() {
        let mut objs = BTreeMap::new();
        objs.insert(("backend".to_string(), 0), obj("v1", true));
        objs.insert(("backend".to_string(), 1), obj("v1", false));
        objs.insert(("backend-candidate-1".to_string(), 0), obj("v2", false));
        objs.insert(("backend-candidate-1".to_string(), 1), obj("v2", true));
        let p = plan("backend", &config(), &objs);
        assert_eq!(p.tracks.len(), 1);
        assert_eq!(p.tracks["backend"], "v1");

        objs.insert(("backend-candidate-1".to_string(), 0), obj("v3", true));
        assert_eq!(plan("backend", &config(), &objs).tracks.len(), 1);
        objs.insert(("backend-candidate-1".to_string(), 0), obj("v2", true));
        assert_eq!(
            plan("backend", &config(), &objs).tracks["backend-candidate-1"],
            "v2"
        );
        objs.remove(&("backend-candidate-1".to_string(), 1));
        assert_eq!(plan("backend", &config(), &objs).tracks.len(), 1);
    }

    /// New objects get the finalizer; an object being deleted drops out of the tracks and
    /// loses the finalizer.
    #[test]
    fn finalizers() {
        let mut objs = BTreeMap::new();
        let mut fresh = obj("v1", true);
        fresh.has_finalizer = false;
        objs.insert(("backend".to_string(), 0), fresh);
        let mut going = obj("v1", true);
        going.deleting = true;
        objs.insert(("backend".to_string(), 1), going);
        let p = plan("backend", &config(), &objs);
        assert!(p.tracks.is_empty());
        assert_eq!(p.add_finalizer, vec![("backend".to_string(), 0)]);
        assert_eq!(p.remove_finalizer, vec![("backend".to_string(), 1)]);
    }

    /// Conditions read from JSON, compared case-insensitively.
    #[test]
    fn from_json() {
        let o = ObjectState::from_json(&serde_json::json!({
            "metadata": {"labels": {VERSION_LABEL: "v1"}, "finalizers": [FINALIZER]},
            "status": {"conditions": [{"type": "available", "status": "true"}]}
        }));
        assert!(o.ready(Some("Available")) && o.has_finalizer && !o.deleting);
        assert!(!o.ready(Some("Progressing")));
        assert_eq!(track_names("a", 2), ["a", "a-candidate-1", "a-candidate-2"]);
    }
}
