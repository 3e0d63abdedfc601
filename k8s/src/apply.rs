//! Applying a release manifest to the cluster: parse its documents, resolve each kind to its
//! API resource, check ownership, server-side apply in manifest order (chartgen sorts it in
//! Helm's install order), and delete objects in reverse order; hook resources are created as
//! they are (`create`) and watched (`get`) by [`crate::hooks`].
//!
//! Objects carry Helm's ownership metadata (label `app.kubernetes.io/managed-by: Helm`,
//! annotations `meta.helm.sh/release-name` and `meta.helm.sh/release-namespace`), so real Helm
//! can upgrade and uninstall what we created, and we refuse to take over objects that belong to
//! something else, as Helm does.

use std::collections::HashMap;

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use kube::{Api, Client};
use serde_json::Value;

/// Helm's field manager name (Helm 4 applies server-side under it).
pub const FIELD_MANAGER: &str = "helm";
/// Helm's ownership label and annotations.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";

/// Why a manifest could not be parsed or applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("manifest document {index} is not valid YAML")]
    Yaml {
        index: usize,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("manifest document {index}: {message}")]
    Invalid { index: usize, message: String },
    #[error("resource mapping not found for kind {kind:?} in version {api_version:?}")]
    UnknownKind {
        api_version: String,
        kind: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "{object} exists and cannot be imported into the current release: invalid ownership metadata; {detail}"
    )]
    NotOwned { object: String, detail: String },
    #[error("{action} {object}")]
    Api {
        action: &'static str,
        object: String,
        #[source]
        source: Box<kube::Error>,
    },
}

/// Identity of one object of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// Namespace as written in the manifest (None: the release namespace, if namespaced).
    pub namespace: Option<String>,
}

impl ObjectRef {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// Identity ignoring the version, with the namespace defaulted to `namespace`.
    fn key(&self, namespace: &str) -> (String, String, String, String) {
        (
            self.group().to_string(),
            self.kind.clone(),
            self.namespace
                .clone()
                .unwrap_or_else(|| namespace.to_string()),
            self.name.clone(),
        )
    }

    /// Read the identity of a parsed object.
    pub fn of(obj: &Value, index: usize) -> Result<ObjectRef, ApplyError> {
        let field = |v: Option<&Value>, what: &str| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| ApplyError::Invalid {
                    index,
                    message: format!("object has no {what}"),
                })
        };
        Ok(ObjectRef {
            api_version: field(obj.get("apiVersion"), "apiVersion")?,
            kind: field(obj.get("kind"), "kind")?,
            name: field(obj.pointer("/metadata/name"), "metadata.name")?,
            namespace: obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        })
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {:?} in namespace {:?}", self.kind, self.name, ns),
            None => write!(f, "{} {:?}", self.kind, self.name),
        }
    }
}

/// The objects of a manifest (`---`-separated YAML documents), in order; empty documents and
/// comment-only documents are skipped.
pub fn parse_manifest(manifest: &str) -> Result<Vec<Value>, ApplyError> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(manifest).enumerate() {
        let index = i + 1;
        let v: Value = serde::Deserialize::deserialize(doc)
            .map_err(|source| ApplyError::Yaml { index, source })?;
        match v {
            Value::Null => {}
            Value::Object(_) => {
                ObjectRef::of(&v, index)?;
                out.push(v);
            }
            _ => {
                return Err(ApplyError::Invalid {
                    index,
                    message: "document is not an object".into(),
                });
            }
        }
    }
    Ok(out)
}

/// Objects of `old` that `new` no longer has (to delete after an upgrade), in reverse order.
pub fn removed_objects(old: &[ObjectRef], new: &[ObjectRef], namespace: &str) -> Vec<ObjectRef> {
    let keep: std::collections::HashSet<_> = new.iter().map(|r| r.key(namespace)).collect();
    old.iter()
        .rev()
        .filter(|r| !keep.contains(&r.key(namespace)))
        .cloned()
        .collect()
}

/// Why an existing object may not be taken over by release `release` in `namespace`, if so.
pub fn ownership_problem(existing: &Value, release: &str, namespace: &str) -> Option<String> {
    let label = existing
        .pointer("/metadata/labels")
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .and_then(Value::as_str);
    if label != Some("Helm") {
        return Some(format!(
            "label validation error: missing key {MANAGED_BY_LABEL:?}: must be set to \"Helm\""
        ));
    }
    let annotations = existing.pointer("/metadata/annotations");
    for (key, want) in [
        (RELEASE_NAME_ANNOTATION, release),
        (RELEASE_NAMESPACE_ANNOTATION, namespace),
    ] {
        match annotations.and_then(|a| a.get(key)).and_then(Value::as_str) {
            None => {
                return Some(format!(
                    "annotation validation error: missing key {key:?}: must be set to {want:?}"
                ));
            }
            Some(got) if got != want => {
                return Some(format!(
                    "annotation validation error: key {key:?} must equal {want:?}: current value is {got:?}"
                ));
            }
            Some(_) => {}
        }
    }
    None
}

/// Add Helm's ownership metadata to an object.
pub fn set_ownership(obj: &mut Value, release: &str, namespace: &str) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    if !meta.is_object() {
        *meta = Value::Object(Default::default());
    }
    let meta = meta.as_object_mut().expect("metadata is an object");
    for (field, key, value) in [
        ("labels", MANAGED_BY_LABEL, "Helm"),
        ("annotations", RELEASE_NAME_ANNOTATION, release),
        ("annotations", RELEASE_NAMESPACE_ANNOTATION, namespace),
    ] {
        let m = meta
            .entry(field)
            .or_insert_with(|| Value::Object(Default::default()));
        if !m.is_object() {
            *m = Value::Object(Default::default());
        }
        m.as_object_mut()
            .expect("labels/annotations is an object")
            .insert(key.to_string(), Value::from(value));
    }
}

/// A resolved object: its API and where it lives.
struct Target {
    api: Api<DynamicObject>,
    namespaced: bool,
}

/// Applies objects for one release in one namespace, resolving kinds through discovery once.
pub struct Applier {
    client: Client,
    release: String,
    namespace: String,
    resolved: HashMap<(String, String), (ApiResource, bool)>,
}

impl Applier {
    /// An applier for release `release` in `namespace`.
    pub fn new(client: Client, release: &str, namespace: &str) -> Applier {
        Applier {
            client,
            release: release.to_string(),
            namespace: namespace.to_string(),
            resolved: HashMap::new(),
        }
    }

    /// The client in use.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The release's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn target(&mut self, r: &ObjectRef) -> Result<Target, ApplyError> {
        let key = (r.api_version.clone(), r.kind.clone());
        let (ar, namespaced) = match self.resolved.get(&key) {
            Some(found) => found.clone(),
            None => {
                let (group, version) = match r.api_version.rsplit_once('/') {
                    Some((g, v)) => (g, v),
                    None => ("", r.api_version.as_str()),
                };
                let gvk = GroupVersionKind::gvk(group, version, &r.kind);
                let (ar, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
                    .await
                    .map_err(|source| ApplyError::UnknownKind {
                        api_version: r.api_version.clone(),
                        kind: r.kind.clone(),
                        source: Box::new(source),
                    })?;
                let found = (ar, caps.scope == Scope::Namespaced);
                self.resolved.insert(key, found.clone());
                found
            }
        };
        let api = if namespaced {
            let ns = r.namespace.as_deref().unwrap_or(&self.namespace);
            Api::namespaced_with(self.client.clone(), ns, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        Ok(Target { api, namespaced })
    }

    fn display(&self, r: &ObjectRef, namespaced: bool) -> String {
        let ns = namespaced.then(|| {
            r.namespace
                .clone()
                .unwrap_or_else(|| self.namespace.clone())
        });
        ObjectRef {
            namespace: ns,
            ..r.clone()
        }
        .to_string()
    }

    /// Check every object before anything is written: its kind is served, it passes a
    /// server-side dry run, and an existing object with the same name belongs to this release.
    /// Objects of the release's current manifest (`current`) are the release's already and are
    /// not checked for ownership metadata (as Helm; Iter8 v0.13's runner strips it from the
    /// Secret).
    pub async fn check(
        &mut self,
        objects: &[Value],
        current: &[ObjectRef],
    ) -> Result<(), ApplyError> {
        let known: std::collections::HashSet<_> =
            current.iter().map(|r| r.key(&self.namespace)).collect();
        for (i, obj) in objects.iter().enumerate() {
            let r = ObjectRef::of(obj, i + 1)?;
            let ours = known.contains(&r.key(&self.namespace));
            let t = self.target(&r).await?;
            let shown = self.display(&r, t.namespaced);
            let existing = t
                .api
                .get_opt(&r.name)
                .await
                .map_err(|source| ApplyError::Api {
                    action: "reading",
                    object: shown.clone(),
                    source: Box::new(source),
                })?;
            if let Some(existing) = existing.filter(|_| !ours) {
                let v = serde_json::to_value(&existing).unwrap_or(Value::Null);
                if let Some(detail) = ownership_problem(&v, &self.release, &self.namespace) {
                    return Err(ApplyError::NotOwned {
                        object: shown,
                        detail,
                    });
                }
            }
            let obj = self.prepared(obj, t.namespaced);
            let mut pp = PatchParams::apply(FIELD_MANAGER).force();
            pp.dry_run = true;
            t.api
                .patch(&r.name, &pp, &Patch::Apply(&obj))
                .await
                .map_err(|source| ApplyError::Api {
                    action: "validating",
                    object: shown,
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }

    fn prepared(&self, obj: &Value, namespaced: bool) -> Value {
        let mut obj = obj.clone();
        set_ownership(&mut obj, &self.release, &self.namespace);
        if namespaced
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            && meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            meta.insert("namespace".into(), Value::from(self.namespace.clone()));
        }
        obj
    }

    /// Server-side apply every object, in order.
    pub async fn apply(&mut self, objects: &[Value]) -> Result<(), ApplyError> {
        for (i, obj) in objects.iter().enumerate() {
            let r = ObjectRef::of(obj, i + 1)?;
            let t = self.target(&r).await?;
            let obj = self.prepared(obj, t.namespaced);
            let pp = PatchParams::apply(FIELD_MANAGER).force();
            t.api
                .patch(&r.name, &pp, &Patch::Apply(&obj))
                .await
                .map_err(|source| ApplyError::Api {
                    action: "applying",
                    object: self.display(&r, t.namespaced),
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }

    /// Create an object as it is, in the release namespace unless it names one, without
    /// ownership metadata (Helm's create of a hook resource).
    pub async fn create(&mut self, obj: &Value, index: usize) -> Result<ObjectRef, ApplyError> {
        let r = ObjectRef::of(obj, index)?;
        let t = self.target(&r).await?;
        let mut obj = obj.clone();
        if t.namespaced
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            && meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            meta.insert("namespace".into(), Value::from(self.namespace.clone()));
        }
        let dynamic: DynamicObject =
            serde_json::from_value(obj).map_err(|e| ApplyError::Invalid {
                index,
                message: e.to_string(),
            })?;
        t.api
            .create(&PostParams::default(), &dynamic)
            .await
            .map_err(|source| ApplyError::Api {
                action: "creating",
                object: self.display(&r, t.namespaced),
                source: Box::new(source),
            })?;
        Ok(r)
    }

    /// The object as the API server has it now (`None` when absent).
    pub async fn get(&mut self, r: &ObjectRef) -> Result<Option<Value>, ApplyError> {
        let t = self.target(r).await?;
        let found = t
            .api
            .get_opt(&r.name)
            .await
            .map_err(|source| ApplyError::Api {
                action: "reading",
                object: self.display(r, t.namespaced),
                source: Box::new(source),
            })?;
        Ok(found.map(|o| serde_json::to_value(&o).unwrap_or(Value::Null)))
    }

    /// Delete objects in the given order (absent ones and unknown kinds are skipped); dependents
    /// such as a Job's pods go by garbage collection.
    pub async fn delete(&mut self, refs: &[ObjectRef]) -> Result<(), ApplyError> {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        for r in refs {
            let t = match self.target(r).await {
                Ok(t) => t,
                Err(ApplyError::UnknownKind { .. }) => continue,
                Err(e) => return Err(e),
            };
            match t.api.delete(&r.name, &dp).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => {
                    return Err(ApplyError::Api {
                        action: "deleting",
                        object: self.display(r, t.namespaced),
                        source: Box::new(source),
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

    fn r(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: if kind == "Job" { "batch/v1" } else { "v1" }.into(),
            kind: kind.into(),
            name: name.into(),
            namespace: None,
        }
    }

    /// A manifest with comment-only documents parses to its objects, in order.
    #[test]
    fn parse_manifest_skips_empty_documents() {
        let m = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n---\n# Source: c/templates/empty.yaml\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  namespace: other\n";
        let objs = parse_manifest(m).expect("parses");
        assert_eq!(objs.len(), 2);
        let refs: Vec<ObjectRef> = objs
            .iter()
            .enumerate()
            .map(|(i, o)| ObjectRef::of(o, i + 1).expect("ref"))
            .collect();
        assert_eq!(refs[0], r("Secret", "a"));
        assert_eq!(refs[1].namespace.as_deref(), Some("other"));
        assert_eq!(refs[1].group(), "batch");
    }

    /// An object without a name is refused with its document number.
    #[test]
    fn nameless_object_is_an_error() {
        let e = parse_manifest("kind: Secret\napiVersion: v1\n").expect_err("no name");
        assert_eq!(
            e.to_string(),
            "manifest document 1: object has no metadata.name"
        );
    }

    /// After an upgrade, the old Job (renamed per revision) is removed; kept objects are not,
    /// even when the namespace is spelled out in one manifest and implied in the other.
    #[test]
    fn removed_objects_after_upgrade() {
        let old = vec![r("Secret", "g"), r("Job", "g-1-job")];
        let mut kept = r("Secret", "g");
        kept.namespace = Some("ns".into());
        let new = vec![kept, r("Job", "g-2-job")];
        assert_eq!(removed_objects(&old, &new, "ns"), vec![r("Job", "g-1-job")]);
    }

    /// Objects not labelled and annotated for this release are not taken over.
    #[test]
    fn ownership_is_checked() {
        let mut obj = serde_json::json!({"metadata": {"name": "x"}});
        assert!(
            ownership_problem(&obj, "g", "ns")
                .expect("unowned")
                .contains("app.kubernetes.io/managed-by")
        );
        set_ownership(&mut obj, "g", "ns");
        assert_eq!(ownership_problem(&obj, "g", "ns"), None);
        let other = ownership_problem(&obj, "h", "ns").expect("other release");
        assert!(other.contains("current value is \"g\""), "{other}");
    }
}
