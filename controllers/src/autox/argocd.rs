//! Argo CD mode (Iter8 v0.13's): one `argoproj.io/v1alpha1` `Application` per release spec,
//! field by field as v0.13 writes it, owned by the group's Secret; pure builders and readers.

use serde_json::{Value, json};

use super::decide::Existing;

/// Namespace of the Applications and of the groups' owner Secrets.
pub const ARGOCD_NAMESPACE: &str = "argocd";
/// Label on the Secret that owns a group's Applications.
pub const GROUP_SECRET_LABEL: &str = "iter8.tools/autox-group";
/// The label that marks AutoX's Applications.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "iter8");
/// Iter8 v0.13.18's chart repository, the default `repoURL`.
pub const DEFAULT_REPO_URL: &str = "https://iter8-tools.github.io/iter8";
/// Argo CD's finalizer that deletes an Application's resources with it.
pub const FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// The Secret that owns a group's Applications.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub name: String,
    pub uid: String,
}

/// Everything an Application is made of.
#[derive(Debug, Clone)]
pub struct AppInput<'a> {
    pub app_name: &'a str,
    pub namespace: &'a str,
    pub owner: &'a Owner,
    /// Experiments go to the trigger's namespace.
    pub destination_namespace: &'a str,
    pub chart: &'a str,
    pub version: &'a str,
    pub repo_url: &'a str,
    pub values: &'a Value,
}

/// `v` with every object's keys in order, as Go's YAML encoder prints maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The Application of one release spec, as Iter8 v0.13 creates it (values as YAML with
/// sorted keys, as Go prints them).
pub fn application(a: &AppInput<'_>) -> Result<Value, serde_yaml_ng::Error> {
    let values = serde_yaml_ng::to_string(&sorted(a.values))?;
    Ok(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": a.app_name,
            "namespace": a.namespace,
            "ownerReferences": [{
                "apiVersion": "v1",
                "kind": "Secret",
                "name": a.owner.name,
                "uid": a.owner.uid,
            }],
            "finalizers": [FINALIZER],
            "labels": {MANAGED_BY.0: MANAGED_BY.1},
        },
        "spec": {
            "destination": {
                "namespace": a.destination_namespace,
                "server": "https://kubernetes.default.svc",
            },
            "project": "default",
            "source": {
                "chart": a.chart,
                "helm": {"values": values},
                "repoURL": a.repo_url,
                "targetRevision": a.version,
            },
            "ignoreDifferences": [{
                "kind": "Secret",
                "name": a.app_name,
                "namespace": a.destination_namespace,
                "jsonPointers": ["/data", "/metadata"],
            }],
            "syncPolicy": {
                "automated": {"selfHeal": true},
                "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"],
            },
        },
    }))
}

/// What an existing Application (or none) means for the decision: not ours without the
/// managed-by label; else its values, parsed from `spec.source.helm.values`.
pub fn existing(app: Option<&Value>) -> Existing {
    let Some(app) = app else {
        return Existing::None;
    };
    if app["metadata"]["labels"][MANAGED_BY.0] != MANAGED_BY.1 {
        return Existing::NotOurs;
    }
    let values = app["spec"]["source"]["helm"]["values"]
        .as_str()
        .and_then(|s| serde_yaml_ng::from_str::<Value>(s).ok())
        .unwrap_or(Value::Null);
    Existing::Ours(values)
}

/// The owner Secret among those labelled for the group: exactly one is required.
pub fn owner_of(group: &str, secrets: &[(String, String)]) -> Result<Owner, String> {
    match secrets {
        [(name, uid)] => Ok(Owner {
            name: name.clone(),
            uid: uid.clone(),
        }),
        _ => Err(format!(
            "expected exactly one Secret labelled {GROUP_SECRET_LABEL}={group} in namespace {ARGOCD_NAMESPACE}, found {}",
            secrets.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Application carries every field of v0.13's (names, owner, finalizer, label,
    /// destination, source with the values as YAML with sorted keys, ignoreDifferences, sync
    /// policy), and reading it back gives the values it was built from.
    #[test]
    fn application_fields_and_round_trip() {
        let owner = Owner {
            name: "autox-httpbin-ab12c".into(),
            uid: "u-1".into(),
        };
        // Keys out of order: the YAML has them sorted, as Go prints maps.
        let values = json!({"tasks": ["http"], "autoXAdditionalValues": {"app.kubernetes.io/version": "1.0.0"}});
        let app = application(&AppInput {
            app_name: "autox-httpbin-iter8",
            namespace: ARGOCD_NAMESPACE,
            owner: &owner,
            destination_namespace: "default",
            chart: "iter8",
            version: "0.13.0",
            repo_url: DEFAULT_REPO_URL,
            values: &values,
        })
        .expect("yaml");
        assert_eq!(app["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(app["metadata"]["finalizers"][0], FINALIZER);
        assert_eq!(app["spec"]["destination"]["namespace"], "default");
        assert_eq!(app["spec"]["source"]["targetRevision"], "0.13.0");
        assert_eq!(
            app["spec"]["ignoreDifferences"][0]["name"],
            "autox-httpbin-iter8"
        );
        assert_eq!(
            app["spec"]["syncPolicy"]["syncOptions"][1],
            "RespectIgnoreDifferences=true"
        );
        assert_eq!(
            app["spec"]["source"]["helm"]["values"],
            "autoXAdditionalValues:\n  app.kubernetes.io/version: 1.0.0\ntasks:\n- http\n"
        );
        assert_eq!(existing(Some(&app)), Existing::Ours(values));
        let mut foreign = app.clone();
        foreign["metadata"]["labels"] = json!({});
        assert_eq!(existing(Some(&foreign)), Existing::NotOurs);
        assert_eq!(existing(None), Existing::None);
    }

    /// Zero or two group Secrets are an error naming the label; one is the owner.
    #[test]
    fn one_owner_secret() {
        assert!(owner_of("g", &[]).is_err());
        let two = [("a".to_string(), "1".to_string()), ("b".into(), "2".into())];
        assert!(
            owner_of("g", &two)
                .expect_err("two")
                .contains("iter8.tools/autox-group=g")
        );
        assert_eq!(
            owner_of("g", &two[..1]).map(|o| o.name),
            Ok("a".to_string())
        );
    }
}
