//! AutoX's decisions as pure functions: given the trigger object's labels (or its absence),
//! a release spec and what was launched before, launch, relaunch, delete, or do nothing.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::config::ReleaseSpec;

/// The label whose presence means "a version is deployed: experiment on it".
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// The app name label passed to experiments.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// The track label passed to experiments.
pub const TRACK_LABEL: &str = "iter8.tools/track";
/// The values key that carries the trigger's labels (Iter8 v0.13's name).
pub const ADDITIONAL_VALUES: &str = "autoXAdditionalValues";

/// What was launched before for one release spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    /// Nothing under that name.
    None,
    /// Something under that name that AutoX did not create: left alone.
    NotOurs,
    /// AutoX's launch, with the values it was given.
    Ours(Value),
}

/// What to do for one release spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Launch with these values (nothing there yet).
    Launch(Value),
    /// Launch again with these values (the labels or the configured values changed).
    Relaunch(Value),
    /// Remove AutoX's launch (the version label or the trigger object went).
    Delete,
    /// Nothing to do, and why (for debug log lines).
    Nothing(&'static str),
}

/// The trigger's labels AutoX passes on: name, version and track, missing ones as "".
pub fn pruned_labels(labels: &BTreeMap<String, String>) -> Map<String, Value> {
    [NAME_LABEL, VERSION_LABEL, TRACK_LABEL]
        .into_iter()
        .map(|k| {
            (
                k.to_string(),
                Value::from(labels.get(k).cloned().unwrap_or_default()),
            )
        })
        .collect()
}

/// The values of a launch: the spec's values plus `autoXAdditionalValues` = pruned labels.
pub fn desired_values(spec: &ReleaseSpec, labels: &BTreeMap<String, String>) -> Value {
    let mut values = match &spec.values {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    values.insert(
        ADDITIONAL_VALUES.to_string(),
        Value::Object(pruned_labels(labels)),
    );
    Value::Object(values)
}

/// True when the trigger asks for experiments: it exists and has a non-empty version label.
pub fn wants_experiment(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(VERSION_LABEL))
        .is_some_and(|v| !v.is_empty())
}

/// The decision for one release spec. `labels` is `None` when the trigger object is gone.
pub fn decide(
    labels: Option<&BTreeMap<String, String>>,
    spec: &ReleaseSpec,
    existing: &Existing,
) -> Action {
    let Some(labels) = labels.filter(|l| wants_experiment(Some(l))) else {
        return match existing {
            Existing::Ours(_) => Action::Delete,
            Existing::NotOurs => Action::Nothing("not launched by autox"),
            Existing::None => Action::Nothing("no version label and nothing launched"),
        };
    };
    let desired = desired_values(spec, labels);
    match existing {
        Existing::None => Action::Launch(desired),
        Existing::NotOurs => Action::Nothing("not launched by autox"),
        Existing::Ours(previous) if same_values(previous, &desired) => {
            Action::Nothing("values unchanged")
        }
        Existing::Ours(_) => Action::Relaunch(desired),
    }
}

/// Values compared as data: integral floats equal integers (stored values pass through YAML
/// and Go's JSON, which may turn `1` into `1.0` or back).
pub fn same_values(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_values(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_values(v, w))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn spec() -> ReleaseSpec {
        ReleaseSpec {
            name: "iter8".into(),
            values: Some(json!({"tasks": ["http"], "http": {"numRequests": 10}})),
            version: "0.1.0".into(),
        }
    }

    /// A version label and nothing launched: launch with the spec's values and the three
    /// labels (missing ones as "") under autoXAdditionalValues; other labels are not passed.
    #[test]
    fn launch_with_labels_as_values() {
        let l = labels(&[
            (VERSION_LABEL, "1.0.0"),
            (NAME_LABEL, "httpbin"),
            ("x", "y"),
        ]);
        let Action::Launch(v) = decide(Some(&l), &spec(), &Existing::None) else {
            panic!("not a launch")
        };
        assert_eq!(v["tasks"], json!(["http"]));
        assert_eq!(
            v[ADDITIONAL_VALUES],
            json!({NAME_LABEL: "httpbin", VERSION_LABEL: "1.0.0", TRACK_LABEL: ""})
        );
    }

    /// Relaunch exactly when the passed labels or the configured values change; a change of
    /// another label, or numbers read back as floats, is no change.
    #[test]
    fn relaunch_only_on_change() {
        let l1 = labels(&[(VERSION_LABEL, "1.0.0")]);
        let launched = desired_values(&spec(), &l1);
        let existing = Existing::Ours(launched.clone());
        let other_label = labels(&[(VERSION_LABEL, "1.0.0"), ("team", "a")]);
        assert!(matches!(
            decide(Some(&other_label), &spec(), &existing),
            Action::Nothing(_)
        ));
        let mut as_floats = launched.clone();
        as_floats["http"]["numRequests"] = json!(10.0);
        assert!(matches!(
            decide(Some(&l1), &spec(), &Existing::Ours(as_floats)),
            Action::Nothing(_)
        ));
        let l2 = labels(&[(VERSION_LABEL, "2.0.0")]);
        assert!(matches!(
            decide(Some(&l2), &spec(), &existing),
            Action::Relaunch(v) if v[ADDITIONAL_VALUES][VERSION_LABEL] == "2.0.0"
        ));
        let track = labels(&[(VERSION_LABEL, "1.0.0"), (TRACK_LABEL, "candidate")]);
        assert!(matches!(
            decide(Some(&track), &spec(), &existing),
            Action::Relaunch(_)
        ));
        let mut changed = spec();
        changed.values = Some(json!({"tasks": ["http"], "http": {"numRequests": 20}}));
        assert!(matches!(
            decide(Some(&l1), &changed, &existing),
            Action::Relaunch(_)
        ));
    }

    /// The version label removed or empty, or the trigger gone: delete what AutoX launched,
    /// and never touch what it did not launch.
    #[test]
    fn delete_and_leave_alone() {
        let ours = Existing::Ours(json!({}));
        let no_version = labels(&[(NAME_LABEL, "httpbin")]);
        let empty_version = labels(&[(VERSION_LABEL, "")]);
        assert_eq!(decide(Some(&no_version), &spec(), &ours), Action::Delete);
        assert_eq!(decide(Some(&empty_version), &spec(), &ours), Action::Delete);
        assert_eq!(decide(None, &spec(), &ours), Action::Delete);
        assert!(matches!(
            decide(None, &spec(), &Existing::None),
            Action::Nothing(_)
        ));
        let v = labels(&[(VERSION_LABEL, "1.0.0")]);
        assert!(matches!(
            decide(Some(&v), &spec(), &Existing::NotOurs),
            Action::Nothing(_)
        ));
        assert!(matches!(
            decide(None, &spec(), &Existing::NotOurs),
            Action::Nothing(_)
        ));
    }

    /// A spec without values (null) still gets autoXAdditionalValues.
    #[test]
    fn null_values() {
        let s = ReleaseSpec {
            values: None,
            ..spec()
        };
        let v = desired_values(&s, &labels(&[(VERSION_LABEL, "1")]));
        assert_eq!(v.as_object().map(|m| m.len()), Some(1));
    }
}
