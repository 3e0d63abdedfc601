//! The AutoX configuration (Iter8 v0.13's `CONFIG` file): groups of one trigger object and
//! release specs (chart name, version, values), and its validation with v0.13's messages.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unable to read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid autox configuration")]
    Parse {
        path: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("trigger in spec group {group:?} does not have a {field}")]
    MissingField { group: String, field: &'static str },
    #[error(
        "multiple release specs with the same trigger: name: {:?}, namespace: {:?}, group: {:?}, version: {:?}, resource: {:?},",
        .0.name, .0.namespace, .0.group, .0.version, .0.resource
    )]
    DuplicateTrigger(Trigger),
    #[error("spec {spec:?} in spec group {group:?} does not have a chart name")]
    MissingChart { group: String, spec: String },
}

/// The whole configuration: spec groups by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub specs: BTreeMap<String, Group>,
}

/// One group: the object whose labels trigger launches, and the experiments to launch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(default)]
    pub trigger: Trigger,
    #[serde(default, rename = "releaseSpecs")]
    pub release_specs: BTreeMap<String, ReleaseSpec>,
}

/// The trigger object: any group/version/resource, by name and namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trigger {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    /// API group; empty for the core group (e.g. `services`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub group: String,
    #[serde(default)]
    pub version: String,
    /// Plural resource name, e.g. `deployments`.
    #[serde(default)]
    pub resource: String,
}

/// One experiment: a chart by name and version, and its values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    /// Chart name in the chart repository (or an `oci://` reference).
    #[serde(default)]
    pub name: String,
    /// Chart values; `null` (as the autox chart renders a spec without values) means none.
    #[serde(default)]
    pub values: Option<serde_json::Value>,
    /// Chart version (exact or a range).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub version: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    // The autox chart prints an empty group as `group: ` (YAML null); numbers as versions
    // (`version: 1.0`) are read as text.
    let v = Option::<serde_yaml_ng::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_yaml_ng::Value::Null) => String::new(),
        Some(serde_yaml_ng::Value::String(s)) => s,
        Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
        Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
        Some(_) => return Err(serde::de::Error::custom("expected a string")),
    })
}

impl Config {
    /// Read and validate the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Config::from_yaml(&text, &shown)
    }

    /// Parse and validate configuration text; `path` names it in errors.
    pub fn from_yaml(text: &str, path: &str) -> Result<Config, ConfigError> {
        let config: Option<Config> =
            serde_yaml_ng::from_str(text).map_err(|source| ConfigError::Parse {
                path: path.to_string(),
                source,
            })?;
        let config = config.unwrap_or_default();
        config.validate()?;
        Ok(config)
    }

    /// v0.13's checks, groups in name order: every trigger has a name, namespace, version and
    /// resource (the group may be empty), and no two groups share a trigger. Beyond v0.13,
    /// every release spec names a chart.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (name, group) in &self.specs {
            let t = &group.trigger;
            for (field, value) in [
                ("name", &t.name),
                ("namespace", &t.namespace),
                ("version", &t.version),
                ("resource", &t.resource),
            ] {
                if value.is_empty() {
                    return Err(ConfigError::MissingField {
                        group: name.clone(),
                        field,
                    });
                }
            }
            if !seen.insert(t.clone()) {
                return Err(ConfigError::DuplicateTrigger(t.clone()));
            }
            for (spec, rs) in &group.release_specs {
                if rs.name.is_empty() {
                    return Err(ConfigError::MissingChart {
                        group: name.clone(),
                        spec: spec.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match Config::from_yaml(text, "config.yaml") {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// The file the autox chart renders (groups with and without values, an empty API group
    /// printed as null) is read with every field in place.
    #[test]
    fn reads_the_chart_rendered_config() {
        let text = "specs:\n  myApp:\n    trigger:\n      group: apps\n      version: v1\n      resource: deployments\n      name: myApp\n      namespace: default\n    releaseSpecs:\n      iter8:\n        name: iter8\n        values: \n          http:\n            url: http://myApp.default\n          tasks:\n          - http\n        version: 0.13.0\n  other:\n    trigger:\n      group: \n      version: v1\n      resource: services\n      name: svc\n      namespace: test\n    releaseSpecs:\n      s1:\n        name: iter8\n        values: \n          null\n        version: 1.0.0\n";
        let c = Config::from_yaml(text, "config.yaml").expect("valid");
        assert_eq!(c.specs.len(), 2);
        let my = &c.specs["myApp"];
        assert_eq!(my.trigger.group, "apps");
        assert_eq!(my.release_specs["iter8"].version, "0.13.0");
        assert_eq!(
            my.release_specs["iter8"].values.as_ref().expect("values")["http"]["url"],
            "http://myApp.default"
        );
        let other = &c.specs["other"];
        assert_eq!(other.trigger.group, "");
        assert_eq!(other.release_specs["s1"].values, None);
    }

    /// Each missing trigger field is named with v0.13's message, checked in v0.13's order.
    #[test]
    fn missing_trigger_fields() {
        assert_eq!(
            err(
                "specs:\n  test:\n    trigger: {namespace: default, version: v1, resource: deployments}\n"
            ),
            "trigger in spec group \"test\" does not have a name"
        );
        assert_eq!(
            err("specs:\n  test:\n    trigger: {name: test}\n"),
            "trigger in spec group \"test\" does not have a namespace"
        );
        assert_eq!(
            err("specs:\n  test:\n    trigger: {name: test, namespace: default}\n"),
            "trigger in spec group \"test\" does not have a version"
        );
        assert_eq!(
            err("specs:\n  test:\n    trigger: {name: test, namespace: default, version: v1}\n"),
            "trigger in spec group \"test\" does not have a resource"
        );
    }

    /// Two groups with the same trigger are refused with v0.13's message (trailing comma
    /// included); the same name in another namespace is a different trigger.
    #[test]
    fn duplicate_trigger() {
        let t = "{name: test, namespace: default, version: v1, resource: deployments}";
        assert_eq!(
            err(&format!(
                "specs:\n  test:\n    trigger: {t}\n  test2:\n    trigger: {t}\n"
            )),
            "multiple release specs with the same trigger: name: \"test\", namespace: \"default\", group: \"\", version: \"v1\", resource: \"deployments\","
        );
        let other = "{name: test, namespace: other, version: v1, resource: deployments}";
        let ok = format!("specs:\n  a:\n    trigger: {t}\n  b:\n    trigger: {other}\n");
        assert_eq!(Config::from_yaml(&ok, "c").expect("valid").specs.len(), 2);
    }

    /// An empty file is an empty configuration; text that is not the schema names the file.
    #[test]
    fn empty_and_malformed() {
        assert!(
            Config::from_yaml("", "c.yaml")
                .expect("empty")
                .specs
                .is_empty()
        );
        assert!(
            err("specs: [1, 2]\n").starts_with("config.yaml is not a valid autox configuration")
        );
        assert_eq!(
            err(
                "specs:\n  g:\n    trigger: {name: a, namespace: b, version: v1, resource: r}\n    releaseSpecs:\n      s: {version: 1.0.0}\n"
            ),
            "spec \"s\" in spec group \"g\" does not have a chart name"
        );
    }
}
