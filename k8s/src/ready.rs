//! The `ready` task (Iter8 v0.13 §4.3): wait until a Kubernetes object exists and, if a
//! `condition` is given, until its `.status.conditions[]` entry of that type is `True`.
//!
//! Inputs (`with`, keys case-insensitive): `group`, `version`, `resource` (plural), `name`,
//! `namespace` (default: the namespace of the Kubernetes configuration), `condition`,
//! `timeout` (Go duration, default `10s`). The object is read about once a second until the
//! timeout; each failed attempt is reported as a warning, and the last one fails the task.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use kube::api::ApiResource;
use kube::core::DynamicObject;
use kube::{Api, Client};
use runner::experiment::Experiment;
use runner::task::{Task, TaskContext, TaskError};
use serde_json::Value;

use crate::secret_driver::{KubeOptions, connect_client};

/// The `ready` task; connects to the cluster on first use.
pub struct ReadyTask {
    opts: KubeOptions,
    conn: RefCell<Option<Connection>>,
}

struct Connection {
    rt: tokio::runtime::Runtime,
    client: Client,
    namespace: String,
}

/// Parsed inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyInputs {
    group: String,
    version: String,
    resource: String,
    name: String,
    namespace: Option<String>,
    condition: Option<String>,
    timeout: Duration,
}

fn bad(message: String) -> TaskError {
    TaskError::External(message.into())
}

impl ReadyInputs {
    /// Read `with` (case-insensitive keys; unknown keys ignored, as Go's JSON decoding does).
    pub fn parse(with: Option<&Value>) -> Result<ReadyInputs, TaskError> {
        let empty = serde_json::Map::new();
        let map = match with {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(bad("with must be a map".into())),
        };
        let get = |key: &str| -> Result<Option<String>, TaskError> {
            match map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                None | Some((_, Value::Null)) => Ok(None),
                Some((_, Value::String(s))) => Ok(Some(s.clone())),
                Some((k, v)) => Err(bad(format!("{k} must be a string, got {v}"))),
            }
        };
        let required = |key: &str| -> Result<String, TaskError> {
            get(key)?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad(format!("{key} is required")))
        };
        let timeout = match get("timeout")? {
            None => Duration::from_secs(10),
            Some(t) => runner::inputs::parse_go_duration(&t)
                .map_err(|_| bad(format!("invalid format for timeout {t:?}")))?,
        };
        Ok(ReadyInputs {
            group: get("group")?.unwrap_or_default(),
            version: get("version")?.unwrap_or_default(),
            resource: required("resource")?,
            name: required("name")?,
            namespace: get("namespace")?.filter(|s| !s.is_empty()),
            condition: get("condition")?.filter(|s| !s.is_empty()),
            timeout,
        })
    }

    fn api_resource(&self) -> ApiResource {
        let api_version = if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        };
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version,
            kind: String::new(),
            plural: self.resource.clone(),
        }
    }

    fn what(&self, namespace: &str) -> String {
        let gvr = if self.group.is_empty() {
            format!("{}/{}", self.version, self.resource)
        } else {
            format!("{}/{}/{}", self.group, self.version, self.resource)
        };
        format!("{gvr} {namespace}/{}", self.name)
    }
}

/// Is `obj` ready for `condition` (None: existence is enough)? Err says why not.
pub fn check_condition(obj: &Value, condition: Option<&str>) -> Result<(), String> {
    let Some(want) = condition else {
        return Ok(());
    };
    let status = obj
        .get("status")
        .ok_or("object does not contain a status")?;
    let conditions = status
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or("object status does not contain conditions")?;
    for c in conditions {
        let ty = c
            .get("type")
            .and_then(Value::as_str)
            .ok_or("condition does not have a type")?;
        if !ty.eq_ignore_ascii_case(want) {
            continue;
        }
        let value = c
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("condition {ty} does not have a value"))?;
        return if value.eq_ignore_ascii_case("true") {
            Ok(())
        } else {
            Err(format!("condition status not True ({ty} is {value})"))
        };
    }
    Err(format!("expected condition not found ({want})"))
}

impl ReadyTask {
    /// A ready task that connects with `opts` when it first runs.
    pub fn new(opts: KubeOptions) -> ReadyTask {
        ReadyTask {
            opts,
            conn: RefCell::new(None),
        }
    }

    fn with_connection<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, TaskError>,
    ) -> Result<T, TaskError> {
        let mut slot = self.conn.borrow_mut();
        if slot.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| bad(format!("unable to reach the cluster: {e}")))?;
            let (client, namespace) = rt
                .block_on(connect_client(&self.opts))
                .map_err(|e| bad(format!("unable to reach the cluster: {e}")))?;
            *slot = Some(Connection {
                rt,
                client,
                namespace,
            });
        }
        let conn = slot
            .as_ref()
            .ok_or_else(|| bad("no connection to the cluster".into()))?;
        f(conn)
    }
}

impl Task for ReadyTask {
    fn check(&self, with: Option<&Value>) -> Result<(), TaskError> {
        ReadyInputs::parse(with).map(drop)
    }

    fn run(&self, _exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
        let inputs = ReadyInputs::parse(ctx.spec.with.as_ref())?;
        self.with_connection(|conn| {
            let namespace = inputs.namespace.clone().unwrap_or(conn.namespace.clone());
            let api: Api<DynamicObject> =
                Api::namespaced_with(conn.client.clone(), &namespace, &inputs.api_resource());
            let what = inputs.what(&namespace);
            let deadline = Instant::now() + inputs.timeout;
            loop {
                let attempt = Instant::now();
                let outcome = match conn.rt.block_on(api.get(&inputs.name)) {
                    Ok(obj) => serde_json::to_value(&obj)
                        .map_err(|e| e.to_string())
                        .and_then(|v| check_condition(&v, inputs.condition.as_deref())),
                    Err(kube::Error::Api(s)) => Err(format!("{} ({})", s.message, s.code)),
                    Err(e) => Err(e.to_string()),
                };
                let why = match outcome {
                    Ok(()) => return Ok(()),
                    Err(why) => why,
                };
                let next = attempt + Duration::from_secs(1);
                if next >= deadline {
                    return Err(bad(format!("{what} is not ready: {why}")));
                }
                ctx.warn(format!("{what} is not ready yet: {why}"));
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Keys are case-insensitive, timeout defaults to 10s, resource and name are required.
    #[test]
    fn inputs() {
        let w = json!({"Resource": "deployments", "NAME": "app", "group": "apps",
                       "version": "v1", "condition": "Available", "timeout": "2m"});
        let i = ReadyInputs::parse(Some(&w)).expect("parse");
        assert_eq!(i.timeout, Duration::from_secs(120));
        assert_eq!(i.api_resource().api_version, "apps/v1");
        assert_eq!(i.what("ns"), "apps/v1/deployments ns/app");
        let i = ReadyInputs::parse(Some(
            &json!({"resource": "services", "name": "s", "version": "v1"}),
        ))
        .expect("parse");
        assert_eq!(i.timeout, Duration::from_secs(10));
        assert_eq!(i.api_resource().api_version, "v1");
        let e = ReadyInputs::parse(Some(&json!({"name": "x"}))).expect_err("no resource");
        assert_eq!(e.to_string(), "resource is required");
        let e = ReadyInputs::parse(Some(
            &json!({"name": "x", "resource": "r", "timeout": "soon"}),
        ))
        .expect_err("bad timeout");
        assert_eq!(e.to_string(), "invalid format for timeout \"soon\"");
    }

    /// Iter8's condition rules: case-insensitive type and status, each failure named.
    #[test]
    fn conditions() {
        let obj = |c: Value| json!({"status": {"conditions": c}});
        assert_eq!(check_condition(&json!({}), None), Ok(()));
        assert_eq!(
            check_condition(&json!({}), Some("Available")),
            Err("object does not contain a status".into())
        );
        assert_eq!(
            check_condition(&json!({"status": {}}), Some("Available")),
            Err("object status does not contain conditions".into())
        );
        assert_eq!(
            check_condition(
                &obj(json!([{"type": "available", "status": "TRUE"}])),
                Some("Available")
            ),
            Ok(())
        );
        assert_eq!(
            check_condition(
                &obj(json!([{"type": "Available", "status": "False"}])),
                Some("Available")
            ),
            Err("condition status not True (Available is False)".into())
        );
        assert_eq!(
            check_condition(
                &obj(json!([{"type": "Progressing", "status": "True"}])),
                Some("Available")
            ),
            Err("expected condition not found (Available)".into())
        );
        assert_eq!(
            check_condition(&obj(json!([{"status": "True"}])), Some("Available")),
            Err("condition does not have a type".into())
        );
    }
}
