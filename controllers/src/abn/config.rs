//! The A/B/n service's watcher configuration (Iter8 v0.13's `WATCHER_CONFIG` file):
//! `<namespace>: {<application>: {maxNumCandidates: <int>, resources: [{group, version,
//! resource, condition?}]}}`. Unlike v0.13, which started with an empty configuration when the
//! file was unreadable or invalid, a bad file is refused naming the file and the field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unable to read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid A/B/n watcher configuration")]
    Parse {
        path: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("{path}: {field}: {problem}")]
    Field {
        path: String,
        field: String,
        problem: String,
    },
}

/// One kind of object that makes up a track.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Resource {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Plural resource name (`deployments`).
    #[serde(default)]
    pub resource: String,
    /// Status condition that must be `True` for the object to be ready (none: always ready).
    #[serde(default)]
    pub condition: Option<String>,
}

/// One application.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppConfig {
    /// Candidate tracks `<name>-candidate-1` ... `-<n>` besides the baseline `<name>`.
    #[serde(default, rename = "maxNumCandidates")]
    pub max_num_candidates: usize,
    /// The kinds of object every track has.
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// The whole configuration: applications by key `<namespace>/<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub apps: BTreeMap<String, AppConfig>,
}

impl Config {
    /// Read the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_yaml(&text, &path.display().to_string())
    }

    /// Parse `text` (from `path`, named in errors).
    pub fn from_yaml(text: &str, path: &str) -> Result<Config, ConfigError> {
        let raw: Option<BTreeMap<String, Option<BTreeMap<String, AppConfig>>>> =
            serde_yaml_ng::from_str(text).map_err(|source| ConfigError::Parse {
                path: path.to_string(),
                source,
            })?;
        let mut apps = BTreeMap::new();
        for (ns, list) in raw.unwrap_or_default() {
            for (name, app) in list.unwrap_or_default() {
                let field = |f: &str, problem: &str| ConfigError::Field {
                    path: path.to_string(),
                    field: format!("{ns}.{name}.{f}"),
                    problem: problem.to_string(),
                };
                if app.resources.is_empty() {
                    return Err(field(
                        "resources",
                        "no resource kinds; a track needs at least one",
                    ));
                }
                for (i, r) in app.resources.iter().enumerate() {
                    if r.version.is_empty() {
                        return Err(field(&format!("resources[{i}].version"), "is required"));
                    }
                    if r.resource.is_empty() {
                        return Err(field(
                            &format!("resources[{i}].resource"),
                            "is required (the plural name, e.g. deployments)",
                        ));
                    }
                }
                apps.insert(format!("{ns}/{name}"), app);
            }
        }
        Ok(Config { apps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chart's rendering of v0.13's values parses into applications keyed by namespace
    /// and name; a resource without its plural name is refused naming the field.
    #[test]
    fn parse() {
        let text = "default:\n  backend:\n    maxNumCandidates: 1\n    resources:\n    - group: apps\n      version: v1\n      resource: deployments\n      condition: Available\n    - version: v1\n      resource: services\n";
        let c = Config::from_yaml(text, "abn.yaml").expect("valid");
        let app = &c.apps["default/backend"];
        assert_eq!(app.max_num_candidates, 1);
        assert_eq!(app.resources[0].condition.as_deref(), Some("Available"));
        assert_eq!(app.resources[1].group, "");
        let e = Config::from_yaml("ns:\n  a:\n    resources:\n    - version: v1\n", "c.yaml")
            .expect_err("no resource");
        assert_eq!(
            e.to_string(),
            "c.yaml: ns.a.resources[0].resource: is required (the plural name, e.g. deployments)"
        );
        assert!(
            Config::from_yaml("", "c.yaml")
                .expect("empty")
                .apps
                .is_empty()
        );
    }
}
