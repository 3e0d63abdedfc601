//! Helm-compatible release records: what `helm list`, `helm get`, `helm upgrade` and
//! `helm uninstall` read, stored as Helm 3 and 4 store them by default.
//!
//! One Secret per revision, named `sh.helm.release.v1.<name>.v<version>`, type
//! `helm.sh/release.v1`, labels `name`, `owner=helm`, `status`, `version`; its data key
//! `release` holds base64 of the gzip of the release JSON:
//!
//! ```text
//! {"name", "info": {"first_deployed", "last_deployed", "deleted"?, "description", "status",
//!   "notes"?}, "chart": {"metadata", "lock", "templates": [{"name", "data"(base64)}],
//!   "values", "schema", "files"}, "config" (user values), "manifest", "hooks"?,
//!   "version", "namespace"}
//! ```
//!
//! Fields this model does not know (Helm 4's `apply_method`, modification times) are kept as
//! read, so rewriting a record written by Helm (e.g. marking it superseded) loses nothing.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The Secret type of a release record.
pub const RELEASE_SECRET_TYPE: &str = "helm.sh/release.v1";
/// Helm's `owner` label value.
pub const OWNER: &str = "helm";

/// Status of one release revision (Helm's strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    #[serde(rename = "unknown")]
    Unknown,
    #[serde(rename = "deployed")]
    Deployed,
    #[serde(rename = "uninstalled")]
    Uninstalled,
    #[serde(rename = "superseded")]
    Superseded,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "uninstalling")]
    Uninstalling,
    #[serde(rename = "pending-install")]
    PendingInstall,
    #[serde(rename = "pending-upgrade")]
    PendingUpgrade,
    #[serde(rename = "pending-rollback")]
    PendingRollback,
}

impl Status {
    /// Helm's text (the `status` label).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// True while an operation is in progress (Helm refuses to upgrade then).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

/// `info` of a release record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// RFC 3339 time with nanoseconds, as Go's `time.Time` marshals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_deployed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Fields this model does not name, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One revision of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub name: String,
    pub info: Info,
    /// The chart as Helm serializes it (see [`chart_json`]).
    #[serde(default)]
    pub chart: Value,
    /// The values the user supplied (not merged with the chart's).
    #[serde(default, skip_serializing_if = "is_empty_config")]
    pub config: Value,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Value>,
    pub version: i64,
    #[serde(default)]
    pub namespace: String,
    /// Fields this model does not name (e.g. Helm 4's `apply_method`), kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_empty_config(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Why a release record could not be encoded, decoded, read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("release {secret}: data is not base64")]
    Base64 {
        secret: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error("release {secret}: data is not valid gzip")]
    Gzip {
        secret: String,
        #[source]
        source: std::io::Error,
    },
    #[error("release {secret}: data is not a release")]
    Json {
        secret: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("release {secret} has no release data")]
    NoData { secret: String },
    #[error("encoding release {name} v{version}")]
    Encode {
        name: String,
        version: i64,
        #[source]
        source: std::io::Error,
    },
    #[error("{action} release records of {name} in namespace {namespace}")]
    Api {
        action: &'static str,
        name: String,
        namespace: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("release {name} v{version} already exists in namespace {namespace}")]
    Exists {
        name: String,
        version: i64,
        namespace: String,
    },
}

/// Name of the Secret holding revision `version` of release `name`.
pub fn secret_name(name: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// Go's `time.Time` JSON (RFC 3339, nanoseconds with trailing zeros trimmed, `Z` for UTC).
pub fn go_time(t: chrono::DateTime<chrono::Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// base64 of the gzip (best compression) of the release JSON: the Secret's `release` value.
pub fn encode(rel: &Release) -> Result<String, ReleaseError> {
    let json = serde_json::to_vec(rel).map_err(|e| ReleaseError::Encode {
        name: rel.name.clone(),
        version: rel.version,
        source: std::io::Error::other(e),
    })?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zipped = gz
        .write_all(&json)
        .and_then(|()| gz.finish())
        .map_err(|source| ReleaseError::Encode {
            name: rel.name.clone(),
            version: rel.version,
            source,
        })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(zipped))
}

/// Decode a Secret's `release` value (gzip optional, as Helm reads old records too).
pub fn decode(secret: &str, data: &[u8]) -> Result<Release, ReleaseError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(data.trim_ascii())
        .map_err(|source| ReleaseError::Base64 {
            secret: secret.to_string(),
            source,
        })?;
    let json = if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|source| ReleaseError::Gzip {
                secret: secret.to_string(),
                source,
            })?;
        out
    } else {
        raw
    };
    serde_json::from_slice(&json).map_err(|source| ReleaseError::Json {
        secret: secret.to_string(),
        source,
    })
}

/// The Secret object storing `rel` (labels as Helm sets them).
pub fn to_secret(rel: &Release) -> Result<Secret, ReleaseError> {
    let labels = BTreeMap::from([
        ("name".to_string(), rel.name.clone()),
        ("owner".to_string(), OWNER.to_string()),
        ("status".to_string(), rel.info.status.as_str().to_string()),
        ("version".to_string(), rel.version.to_string()),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(&rel.name, rel.version)),
            namespace: Some(rel.namespace.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        type_: Some(RELEASE_SECRET_TYPE.to_string()),
        data: Some(BTreeMap::from([(
            "release".to_string(),
            ByteString(encode(rel)?.into_bytes()),
        )])),
        ..Secret::default()
    })
}

/// Turn JSON floats with an integral value into integers, as Go's encoding/json prints a
/// float64 `1` (chartgen's values hold YAML numbers as float64).
pub fn normalize_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && n.is_f64()
                && f.fract() == 0.0
                && f.abs() < 9.007_199_254_740_992e15
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Object(m) => m.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

/// One chart file as Helm's release JSON holds it.
pub struct ChartFile<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
}

/// The `chart` object of a release record: metadata (Chart.yaml as JSON), templates and files
/// (base64), default values and schema. Subcharts are not stored (Helm does not either).
pub fn chart_json(
    metadata: Value,
    templates: &[ChartFile<'_>],
    values: Value,
    schema: Option<&[u8]>,
    files: &[ChartFile<'_>],
) -> Value {
    let b64 = |d: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(d));
    let list = |fs: &[ChartFile<'_>]| {
        Value::Array(
            fs.iter()
                .map(|f| serde_json::json!({"name": f.name, "data": b64(f.data)}))
                .collect(),
        )
    };
    let mut values = values;
    normalize_numbers(&mut values);
    serde_json::json!({
        "metadata": metadata,
        "lock": null,
        "templates": list(templates),
        "values": values,
        "schema": schema.map_or(Value::Null, b64),
        "files": list(files),
    })
}

/// The release records of one namespace.
#[derive(Clone)]
pub struct ReleaseStore {
    api: Api<Secret>,
    namespace: String,
}

impl ReleaseStore {
    /// Records in `namespace`.
    pub fn new(client: Client, namespace: &str) -> ReleaseStore {
        ReleaseStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    fn api_err(&self, action: &'static str, name: &str, source: kube::Error) -> ReleaseError {
        ReleaseError::Api {
            action,
            name: name.to_string(),
            namespace: self.namespace.clone(),
            source: Box::new(source),
        }
    }

    /// Every revision of release `name`, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<Release>, ReleaseError> {
        let lp = ListParams::default().labels(&format!("owner={OWNER},name={name}"));
        let list = self
            .api
            .list(&lp)
            .await
            .map_err(|e| self.api_err("listing", name, e))?;
        let mut out = Vec::new();
        for s in list.items {
            let sname = s.metadata.name.clone().unwrap_or_default();
            let data = s
                .data
                .as_ref()
                .and_then(|d| d.get("release"))
                .ok_or_else(|| ReleaseError::NoData {
                    secret: sname.clone(),
                })?;
            let rel = decode(&sname, &data.0)?;
            // The label selector matched; the record must be this release's too.
            if rel.name == name {
                out.push(rel);
            }
        }
        out.sort_by_key(|r| r.version);
        Ok(out)
    }

    /// Store a new revision; fails if that revision exists.
    pub async fn create(&self, rel: &Release) -> Result<(), ReleaseError> {
        let mut secret = to_secret(rel)?;
        secret
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(
                "createdAt".to_string(),
                chrono::Utc::now().timestamp().to_string(),
            );
        match self.api.create(&PostParams::default(), &secret).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(ReleaseError::Exists {
                name: rel.name.clone(),
                version: rel.version,
                namespace: self.namespace.clone(),
            }),
            Err(e) => Err(self.api_err("creating", &rel.name, e)),
        }
    }

    /// Rewrite an existing revision (e.g. a new status).
    pub async fn update(&self, rel: &Release) -> Result<(), ReleaseError> {
        let name = secret_name(&rel.name, rel.version);
        let mut secret = to_secret(rel)?;
        let current = self
            .api
            .get(&name)
            .await
            .map_err(|e| self.api_err("reading", &rel.name, e))?;
        secret.metadata.resource_version = current.metadata.resource_version;
        let labels = secret.metadata.labels.get_or_insert_with(BTreeMap::new);
        if let Some(created) = current
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("createdAt"))
        {
            labels.insert("createdAt".to_string(), created.clone());
        }
        labels.insert(
            "modifiedAt".to_string(),
            chrono::Utc::now().timestamp().to_string(),
        );
        self.api
            .replace(&name, &PostParams::default(), &secret)
            .await
            .map(|_| ())
            .map_err(|e| self.api_err("updating", &rel.name, e))
    }

    /// Remove one revision's record (absent is fine).
    pub async fn delete(&self, name: &str, version: i64) -> Result<(), ReleaseError> {
        match self
            .api
            .delete(&secret_name(name, version), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.api_err("deleting", name, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Release {
        serde_json::from_value(serde_json::json!({
            "name": "exp",
            "info": {"first_deployed": "2026-11-23T01:30:22.592354837Z",
                     "last_deployed": "2026-11-23T01:30:22.592354837Z",
                     "description": "Install complete", "status": "deployed"},
            "chart": {"metadata": {"name": "iter8", "version": "0.1.0"}},
            "config": {"runner": "job"},
            "manifest": "---\n# Source: iter8/templates/k8s.yaml\nkind: Secret\n",
            "version": 1,
            "namespace": "ns",
            "apply_method": "ssa"
        }))
        .expect("sample release")
    }

    /// A record survives encode/decode unchanged, including fields the model does not name.
    #[test]
    fn encode_decode_round_trip() {
        let rel = sample();
        let text = encode(&rel).expect("encode");
        let back = decode("s", text.as_bytes()).expect("decode");
        assert_eq!(back, rel);
        assert_eq!(back.extra.get("apply_method"), Some(&Value::from("ssa")));
        assert_eq!(back.info.status, Status::Deployed);
    }

    /// Records stored without gzip (old Helm 3) still decode; garbage is an error naming the
    /// Secret.
    #[test]
    fn decode_plain_json_and_reject_garbage() {
        let json = serde_json::to_vec(&sample()).expect("json");
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        assert_eq!(decode("s", b64.as_bytes()).expect("plain").version, 1);
        let e = decode("sh.x", b"%%%").expect_err("not base64");
        assert!(e.to_string().contains("sh.x"), "{e}");
    }

    /// The Secret carries Helm's name, type and labels.
    #[test]
    fn secret_has_helm_labels() {
        let s = to_secret(&sample()).expect("secret");
        assert_eq!(
            s.metadata.name.as_deref(),
            Some("sh.helm.release.v1.exp.v1")
        );
        assert_eq!(s.type_.as_deref(), Some("helm.sh/release.v1"));
        let labels = s.metadata.labels.expect("labels");
        assert_eq!(labels["status"], "deployed");
        assert_eq!(labels["version"], "1");
        assert_eq!(labels["owner"], "helm");
    }

    /// Go's time format trims trailing zeros of the fraction.
    #[test]
    fn go_time_format() {
        use chrono::TimeZone;
        let t = chrono::Utc
            .timestamp_opt(1_795_397_422, 592_354_800)
            .single()
            .expect("time");
        assert_eq!(go_time(t), "2026-11-23T01:30:22.5923548Z");
        let t = chrono::Utc
            .timestamp_opt(1_795_397_422, 0)
            .single()
            .expect("time");
        assert_eq!(go_time(t), "2026-11-23T01:30:22Z");
    }

    /// Integral floats become integers; others stay.
    #[test]
    fn numbers_normalized() {
        let mut v = serde_json::json!({"a": 1.0, "b": [2.5, 3.0], "c": "x"});
        normalize_numbers(&mut v);
        assert_eq!(v.to_string(), r#"{"a":1,"b":[2.5,3],"c":"x"}"#);
    }
}
