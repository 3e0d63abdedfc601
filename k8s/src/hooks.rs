//! Chart hooks run as Helm runs them: the hooks of one event in order of `helm.sh/hook-weight`
//! (then name; ties keep the chart's kind order), each deleted first by the default
//! `before-hook-creation` policy, created as it is, and waited for (a Job until it completes or
//! fails, a Pod until it succeeds or fails, anything else at once) within a timeout. On
//! success every hook of the event with `hook-succeeded` is deleted (last first); on failure
//! the failed hook goes if it has `hook-failed`, and the earlier ones if they have
//! `hook-succeeded`. Each hook's `last_run` (start, end, phase) is kept in the release record,
//! in Helm's JSON, which `helm get hooks` reads. A hook with `helm.sh/hook-output-log-policy`
//! (Helm v4) has its pods' logs handed to the caller's [`OutputSink`] when it failed
//! (`hook-failed`, before the failed hook is deleted) or when the event succeeded
//! (`hook-succeeded`, last hook first, each before its deletion), as Helm copies them to its log.
//!
//! The order and the policies are pure functions ([`order`], [`Hook::from_rendered`]); the API
//! calls go through [`crate::apply::Applier`].

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use k8s_openapi::api::core::v1::Pod;

use crate::apply::{Applier, ApplyError, ObjectRef, parse_manifest};
use crate::release::go_time;

/// The hook annotation (events).
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
/// The weight annotation (an integer; anything else counts as 0, as in Helm).
pub const WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
/// The delete policy annotation (comma-separated).
pub const DELETE_POLICY_ANNOTATION: &str = "helm.sh/hook-delete-policy";
/// Delete the previous hook resource before creating it again (the default policy).
pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
/// Delete the hook resource after the event's hooks all succeeded.
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
/// Delete the hook resource when it failed.
pub const HOOK_FAILED: &str = "hook-failed";
/// The output log policy annotation (comma-separated: `hook-succeeded`, `hook-failed`).
pub const OUTPUT_LOG_POLICY_ANNOTATION: &str = "helm.sh/hook-output-log-policy";

/// The log of one container of a hook's pod, for an output log policy; `log` holds why it could
/// not be read instead (Helm logs that and goes on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookLog {
    /// The hook (its object's name).
    pub hook: String,
    pub pod: String,
    pub container: String,
    pub log: Result<String, String>,
}

/// Where the logs of hooks with an output log policy go (the binary prints them).
pub type OutputSink<'a> = &'a (dyn Fn(HookLog) + Send + Sync);

/// How long one hook may take to be ready when no `--timeout` is given (Helm's 5m0s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// One hook of a release, as Helm records it (`release.Hook`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    #[serde(default)]
    pub last_run: LastRun,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy`, as Helm v4 reads it (each value trimmed and
    /// lowercased, none dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_log_policies: Vec<String>,
    /// Fields this model does not know, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// When a hook last ran and how it ended (`Running`, `Succeeded`, `Failed`, `Unknown`; empty
/// when it never ran).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started_at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completed_at: String,
    #[serde(default)]
    pub phase: String,
}

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("warning: Hook {event} {path} failed")]
    Create {
        event: String,
        path: String,
        #[source]
        source: ApplyError,
    },
    #[error("job {name} failed: {reason}")]
    JobFailed { name: String, reason: String },
    #[error("pod {name} failed")]
    PodFailed { name: String },
    #[error("hook {object} not ready: timed out after {timeout:?}")]
    Timeout { object: String, timeout: Duration },
    #[error("deleting hook {object}: still there after {timeout:?}")]
    DeleteTimeout { object: String, timeout: Duration },
    #[error("recording the release")]
    Record(#[source] crate::release::ReleaseError),
}

impl Hook {
    /// A hook from a rendered hook document: its name from the object, weight and delete
    /// policies from its annotations (unknown policies are dropped, as Helm does).
    pub fn from_rendered(
        path: &str,
        kind: &str,
        events: &[String],
        manifest: &str,
    ) -> Result<Hook, ApplyError> {
        let objects = parse_manifest(manifest)?;
        let obj = objects.first().ok_or_else(|| ApplyError::Invalid {
            index: 1,
            message: format!("hook {path} has no object"),
        })?;
        let r = ObjectRef::of(obj, 1)?;
        let annotation = |key: &str| {
            obj.pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let weight = annotation(WEIGHT_ANNOTATION)
            .and_then(|w| go_atoi(&w))
            .unwrap_or(0);
        let delete_policies = annotation(DELETE_POLICY_ANNOTATION)
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|p| [BEFORE_HOOK_CREATION, HOOK_SUCCEEDED, HOOK_FAILED].contains(p))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let output_log_policies = annotation(OUTPUT_LOG_POLICY_ANNOTATION)
            .map(|p| p.split(',').map(|v| v.trim().to_lowercase()).collect())
            .unwrap_or_default();
        Ok(Hook {
            name: r.name,
            kind: kind.to_string(),
            path: path.to_string(),
            manifest: manifest.to_string(),
            events: events.to_vec(),
            last_run: LastRun::default(),
            weight,
            delete_policies,
            output_log_policies,
            extra: Map::new(),
        })
    }

    fn has_policy(&self, policy: &str) -> bool {
        self.delete_policies.iter().any(|p| p == policy)
    }

    fn has_output_policy(&self, policy: &str) -> bool {
        self.output_log_policies.iter().any(|p| p == policy)
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, nothing else.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The hooks of `event`, as indices into `hooks`, in the order they run: by weight, then by
/// name; equal ones keep their order in `hooks` (the chart's kind order).
pub fn order(hooks: &[Hook], event: &str) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..hooks.len())
        .filter(|&i| hooks[i].events.iter().any(|e| e == event))
        .collect();
    idx.sort_by(|&a, &b| (hooks[a].weight, &hooks[a].name).cmp(&(hooks[b].weight, &hooks[b].name)));
    idx
}

/// The hooks as the release record's `hooks` field.
pub fn to_record(hooks: &[Hook]) -> Option<Value> {
    (!hooks.is_empty()).then(|| serde_json::to_value(hooks).unwrap_or(Value::Null))
}

/// The hooks of a release record (none when absent or unreadable).
pub fn from_record(hooks: Option<&Value>) -> Vec<Hook> {
    hooks
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn now() -> String {
    go_time(chrono::Utc::now())
}

/// Runs the hooks of `event`. `record` is called with the hooks when each starts (Helm
/// records the release then); `timeout` bounds each wait; the logs of hooks with an output log
/// policy go to `output`.
pub async fn run_event<R, Fut>(
    applier: &mut Applier,
    hooks: &mut [Hook],
    event: &str,
    timeout: Duration,
    output: Option<OutputSink<'_>>,
    mut record: R,
) -> Result<(), HookError>
where
    R: FnMut(Vec<Hook>) -> Fut,
    Fut: std::future::Future<Output = Result<(), HookError>>,
{
    let run = order(hooks, event);
    for (n, &i) in run.iter().enumerate() {
        if hooks[i].delete_policies.is_empty() {
            hooks[i].delete_policies = vec![BEFORE_HOOK_CREATION.to_string()];
        }
        delete_by_policy(applier, &hooks[i], BEFORE_HOOK_CREATION, timeout).await?;
        let objects = parse_manifest(&hooks[i].manifest)?;
        hooks[i].last_run = LastRun {
            started_at: now(),
            completed_at: String::new(),
            phase: "Running".into(),
        };
        record(hooks.to_vec()).await?;
        hooks[i].last_run.phase = "Unknown".into();
        let mut created = Vec::new();
        for (k, obj) in objects.iter().enumerate() {
            match applier.create(obj, k + 1).await {
                Ok(r) => created.push(r),
                Err(source) => {
                    hooks[i].last_run.completed_at = now();
                    hooks[i].last_run.phase = "Failed".into();
                    return Err(HookError::Create {
                        event: event.to_string(),
                        path: hooks[i].path.clone(),
                        source,
                    });
                }
            }
        }
        let mut ready = Ok(());
        for r in &created {
            ready = wait_ready(applier, r, timeout).await;
            if ready.is_err() {
                break;
            }
        }
        hooks[i].last_run.completed_at = now();
        if let Err(e) = ready {
            hooks[i].last_run.phase = "Failed".into();
            output_by_policy(applier, &hooks[i], HOOK_FAILED, output).await;
            delete_by_policy(applier, &hooks[i], HOOK_FAILED, timeout).await?;
            for &j in &run[..n] {
                delete_by_policy(applier, &hooks[j], HOOK_SUCCEEDED, timeout).await?;
            }
            return Err(e);
        }
        hooks[i].last_run.phase = "Succeeded".into();
    }
    for &i in run.iter().rev() {
        output_by_policy(applier, &hooks[i], HOOK_SUCCEEDED, output).await;
        delete_by_policy(applier, &hooks[i], HOOK_SUCCEEDED, timeout).await?;
    }
    Ok(())
}

/// Hands the logs of the hook's pods to `output` when the hook has output log `policy`: a
/// Job's pods (label `job-name`), or the Pod itself, every container in spec order, in the
/// hook object's namespace (else the release's). Failures to read go to `output` too.
async fn output_by_policy(
    applier: &Applier,
    hook: &Hook,
    policy: &str,
    output: Option<OutputSink<'_>>,
) {
    let Some(output) = output else { return };
    if !hook.has_output_policy(policy) || !matches!(hook.kind.as_str(), "Job" | "Pod") {
        return;
    }
    let namespace = parse_manifest(&hook.manifest)
        .ok()
        .and_then(|o| o.first().cloned())
        .and_then(|o| {
            o.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| applier.namespace().to_string());
    let pods: kube::Api<Pod> = kube::Api::namespaced(applier.client().clone(), &namespace);
    let lp = if hook.kind == "Job" {
        kube::api::ListParams::default().labels(&format!("job-name={}", hook.name))
    } else {
        kube::api::ListParams::default().fields(&format!("metadata.name={}", hook.name))
    };
    let list = match pods.list(&lp).await {
        Ok(l) => l.items,
        Err(e) => {
            output(HookLog {
                hook: hook.name.clone(),
                pod: String::new(),
                container: String::new(),
                log: Err(format!("listing the pods of hook {}: {e}", hook.name)),
            });
            return;
        }
    };
    for pod in list {
        let name = pod.metadata.name.clone().unwrap_or_default();
        for c in pod.spec.map(|s| s.containers).unwrap_or_default() {
            let lp = kube::api::LogParams {
                container: Some(c.name.clone()),
                ..Default::default()
            };
            let log = pods.logs(&name, &lp).await.map_err(|_| {
                format!(
                    "failed to stream pod logs for pod: {name}, container: {}",
                    c.name
                )
            });
            output(HookLog {
                hook: hook.name.clone(),
                pod: name.clone(),
                container: c.name,
                log,
            });
        }
    }
}

/// Deletes the hook's objects when it has `policy` (never a CustomResourceDefinition) and
/// waits until they are gone.
async fn delete_by_policy(
    applier: &mut Applier,
    hook: &Hook,
    policy: &str,
    timeout: Duration,
) -> Result<(), HookError> {
    if hook.kind == "CustomResourceDefinition" || !hook.has_policy(policy) {
        return Ok(());
    }
    let refs = parse_manifest(&hook.manifest)?
        .iter()
        .enumerate()
        .map(|(k, o)| ObjectRef::of(o, k + 1))
        .collect::<Result<Vec<_>, _>>()?;
    applier.delete(&refs).await?;
    let start = Instant::now();
    for r in &refs {
        while applier.get(r).await?.is_some() {
            if start.elapsed() > timeout {
                return Err(HookError::DeleteTimeout {
                    object: r.to_string(),
                    timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// What a hook object's state says: ready, failed (why), or not yet.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Failed(String),
    Waiting,
}

/// Helm's readiness of a hook object: a Job when its `Complete` condition is true (failed on
/// `Failed`), a Pod when `Succeeded` (failed on `Failed`), any other kind at once.
pub fn readiness(kind: &str, obj: &Value) -> Readiness {
    match kind {
        "Job" => {
            let conditions = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let is = |t: &str| {
                conditions
                    .iter()
                    .find(|c| c["type"] == t && c["status"] == "True")
            };
            if is("Complete").is_some() {
                Readiness::Ready
            } else if let Some(c) = is("Failed") {
                Readiness::Failed(c["reason"].as_str().unwrap_or("Failed").to_string())
            } else {
                Readiness::Waiting
            }
        }
        "Pod" => match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => Readiness::Ready,
            Some("Failed") => Readiness::Failed("Failed".into()),
            _ => Readiness::Waiting,
        },
        _ => Readiness::Ready,
    }
}

async fn wait_ready(
    applier: &mut Applier,
    r: &ObjectRef,
    timeout: Duration,
) -> Result<(), HookError> {
    let start = Instant::now();
    loop {
        let state = match applier.get(r).await? {
            Some(obj) => readiness(&r.kind, &obj),
            None => Readiness::Waiting,
        };
        match state {
            Readiness::Ready => return Ok(()),
            Readiness::Failed(reason) if r.kind == "Job" => {
                return Err(HookError::JobFailed {
                    name: r.name.clone(),
                    reason,
                });
            }
            Readiness::Failed(_) => {
                return Err(HookError::PodFailed {
                    name: r.name.clone(),
                });
            }
            Readiness::Waiting => {}
        }
        if start.elapsed() > timeout {
            return Err(HookError::Timeout {
                object: r.to_string(),
                timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str, events: &[&str], weight: &str, policy: &str) -> Hook {
        let mut annotations = format!("    helm.sh/hook: {}\n", events.join(","));
        if !weight.is_empty() {
            annotations.push_str(&format!("    helm.sh/hook-weight: \"{weight}\"\n"));
        }
        if !policy.is_empty() {
            annotations.push_str(&format!("    helm.sh/hook-delete-policy: {policy}\n"));
        }
        let doc = format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n{annotations}"
        );
        let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        Hook::from_rendered("c/templates/h.yaml", "Job", &events, &doc).expect("a hook")
    }

    /// Hooks of one event run by weight, then name; other events' hooks are left out.
    #[test]
    fn order_by_weight_then_name() {
        let hooks = vec![
            hook("b", &["pre-install"], "5", ""),
            hook("a", &["pre-install", "pre-upgrade"], "5", ""),
            hook("z", &["pre-install"], "-3", ""),
            hook("post", &["post-install"], "-10", ""),
            hook("c", &["pre-install"], "", ""),
        ];
        let names: Vec<&str> = order(&hooks, "pre-install")
            .into_iter()
            .map(|i| hooks[i].name.as_str())
            .collect();
        assert_eq!(names, ["z", "c", "a", "b"]);
        assert_eq!(order(&hooks, "pre-upgrade"), vec![1]);
        assert!(order(&hooks, "pre-delete").is_empty());
    }

    /// Weights parse as Go's Atoi (anything else is 0); unknown delete policies are dropped.
    #[test]
    fn weights_and_policies_from_annotations() {
        assert_eq!(hook("h", &["pre-install"], "-7", "").weight, -7);
        assert_eq!(hook("h", &["pre-install"], "+2", "").weight, 2);
        assert_eq!(hook("h", &["pre-install"], " 3", "").weight, 0);
        assert_eq!(hook("h", &["pre-install"], "x", "").weight, 0);
        let h = hook(
            "h",
            &["pre-install"],
            "",
            "hook-succeeded, bogus ,hook-failed",
        );
        assert_eq!(h.delete_policies, ["hook-succeeded", "hook-failed"]);
        assert!(
            hook("h", &["pre-install"], "", "")
                .delete_policies
                .is_empty()
        );
    }

    /// The record uses Helm's field names; a hook that never ran has `last_run: {phase: ""}`
    /// and no weight or policies when they are zero or empty, as Helm writes it.
    #[test]
    fn record_json_is_helms() {
        let h = hook("h", &["pre-delete"], "", "");
        let v = serde_json::to_value(&h).expect("json");
        let mut keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["events", "kind", "last_run", "manifest", "name", "path"]
        );
        assert_eq!(v["last_run"], serde_json::json!({"phase": ""}));
        let w =
            serde_json::to_value(hook("w", &["post-install"], "2", "hook-failed")).expect("json");
        assert_eq!(w["weight"], 2);
        assert_eq!(w["delete_policies"], serde_json::json!(["hook-failed"]));
        let back = from_record(to_record(std::slice::from_ref(&h)).as_ref());
        assert_eq!(back, vec![h]);
    }

    /// `helm.sh/hook-output-log-policy` is read as Helm v4 reads it (each value trimmed and
    /// lowercased, none dropped) and recorded as `output_log_policies`; absent, it is not
    /// recorded.
    #[test]
    fn output_log_policies_from_annotations() {
        let doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    \
                   helm.sh/hook: pre-install\n    \
                   helm.sh/hook-output-log-policy: \" Hook-Failed,hook-succeeded, other\"\n";
        let h = Hook::from_rendered("c/templates/p.yaml", "Pod", &["pre-install".into()], doc)
            .expect("a hook");
        assert_eq!(
            h.output_log_policies,
            ["hook-failed", "hook-succeeded", "other"]
        );
        assert!(h.has_output_policy(HOOK_FAILED) && h.has_output_policy(HOOK_SUCCEEDED));
        let v = serde_json::to_value(&h).expect("json");
        assert_eq!(
            v["output_log_policies"],
            serde_json::json!(["hook-failed", "hook-succeeded", "other"])
        );
        assert_eq!(
            from_record(to_record(std::slice::from_ref(&h)).as_ref()),
            vec![h]
        );
        let plain = hook("h", &["pre-install"], "", "");
        assert!(plain.output_log_policies.is_empty());
    }

    /// Jobs are ready when Complete and failed when Failed; Pods by phase; other kinds at once.
    #[test]
    fn readiness_of_hook_objects() {
        let job = |t: &str, s: &str| {
            serde_json::json!({"status": {"conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": t, "status": s, "reason": "BackoffLimitExceeded"}]}})
        };
        assert_eq!(readiness("Job", &job("Complete", "True")), Readiness::Ready);
        assert_eq!(
            readiness("Job", &job("Failed", "True")),
            Readiness::Failed("BackoffLimitExceeded".into())
        );
        assert_eq!(
            readiness("Job", &job("Complete", "False")),
            Readiness::Waiting
        );
        assert_eq!(readiness("Job", &serde_json::json!({})), Readiness::Waiting);
        let pod = |p: &str| serde_json::json!({"status": {"phase": p}});
        assert_eq!(readiness("Pod", &pod("Succeeded")), Readiness::Ready);
        assert_eq!(readiness("Pod", &pod("Running")), Readiness::Waiting);
        assert!(matches!(
            readiness("Pod", &pod("Failed")),
            Readiness::Failed(_)
        ));
        assert_eq!(
            readiness("ConfigMap", &serde_json::json!({})),
            Readiness::Ready
        );
    }
}
