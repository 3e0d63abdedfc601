//! What the lint rules know of Kubernetes: the stub every manifest is decoded into, object
//! name rules per kind (apimachinery's validators), and the deprecated API versions of
//! Kubernetes v1.35 (client-go v0.35.1, the version Helm v4.1.4 is built with).

use std::sync::OnceLock;

use regex::Regex;

use crate::value::Value;
use crate::yaml::json_string_field;

/// Helm's `k8sYamlStruct`: the fields of a manifest the rules look at.
#[derive(Debug, Clone, Default)]
pub(super) struct Head {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

/// encoding/json's field lookup: an exact key, else the last case-insensitive match.
fn field<'a>(m: &'a crate::value::Map, name: &str) -> Option<&'a Value> {
    if let Some(v) = m.get(name) {
        return Some(v);
    }
    m.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .next_back()
}

/// A string field as sigs.k8s.io/yaml fills it; `Err` is Go's decode error.
fn string_field(v: Option<&Value>, path: &str) -> Result<String, String> {
    match v {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(v) => json_string_field(v).ok_or_else(|| {
            format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {path} of type string",
                json_kind(v)
            )
        }),
    }
}

/// Decode one YAML document into the stub; `Ok(None)` for an empty document.
pub(super) fn decode_head(doc: &str) -> Result<Option<Head>, String> {
    let v = crate::yaml::parse_typed(doc).map_err(|e| e.helm_message())?;
    head_of(&v)
}

/// The stub of an already decoded document; `Ok(None)` for null.
pub(super) fn head_of(v: &Value) -> Result<Option<Head>, String> {
    let m = match v {
        Value::Nil => return Ok(None),
        Value::Map(m) => m.borrow().clone(),
        other => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type rules.k8sYamlStruct",
                json_kind(other)
            ));
        }
    };
    let api_version = string_field(field(&m, "apiVersion"), "k8sYamlStruct.apiVersion")?;
    let kind = string_field(field(&m, "Kind"), "k8sYamlStruct.Kind")?;
    let name = match field(&m, "Metadata") {
        None | Some(Value::Nil) => String::new(),
        Some(Value::Map(md)) => {
            let md = md.borrow();
            string_field(
                field(&md, "Namespace"),
                "k8sYamlMetadata.Metadata.Namespace",
            )?;
            string_field(field(&md, "Name"), "k8sYamlMetadata.Metadata.Name")?
        }
        Some(other) => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field k8sYamlStruct.Metadata of type rules.k8sYamlMetadata",
                json_kind(other)
            ));
        }
    };
    Ok(Some(Head {
        api_version,
        kind,
        name,
    }))
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("valid regex"))
}

fn subdomain(name: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let mut errs = Vec::new();
    if name.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !re(
        &RE,
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    )
    .is_match(name)
    {
        errs.push(SUBDOMAIN_MSG.to_string());
    }
    errs
}

fn label(name: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let mut errs = Vec::new();
    if name.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !re(&RE, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").is_match(name) {
        errs.push(LABEL_MSG.to_string());
    }
    errs
}

fn dns1035(name: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let mut errs = Vec::new();
    if name.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !re(&RE, r"^[a-z]([-a-z0-9]*[a-z0-9])?$").is_match(name) {
        errs.push(DNS1035_MSG.to_string());
    }
    errs
}

fn path_segment(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|s| name.contains(**s))
        .map(|s| format!("may not contain '{s}'"))
        .collect()
}

/// Helm's `validateMetadataName`: the name rule of the object's kind.
pub(super) fn check_name(h: &Head) -> Option<String> {
    let errs = match h.kind.to_ascii_lowercase().as_str() {
        "service" => dns1035(&h.name),
        "namespace" => label(&h.name),
        "certificatesigningrequest" => Vec::new(),
        "role" | "clusterrole" | "rolebinding" | "clusterrolebinding" => path_segment(&h.name),
        _ => subdomain(&h.name),
    };
    if errs.is_empty() {
        return None;
    }
    let q = crate::chart::strvals::go_quote(&h.name);
    let mut items: Vec<String> = Vec::new();
    for e in errs {
        let item = format!("metadata.name: Invalid value: {q}: {e}");
        if !items.contains(&item) {
            items.push(item);
        }
    }
    let agg = if items.len() == 1 {
        items.remove(0)
    } else {
        format!("[{}]", items.join(", "))
    };
    Some(format!(
        "object name does not conform to Kubernetes naming requirements: {q}: {agg}"
    ))
}

/// One deprecated group/version/kind with its lifecycle (major, minor) releases.
struct Deprecated {
    gv: &'static str,
    kind: &'static str,
    deprecated: (u32, u32),
    removed: (u32, u32),
    replacement_gv: &'static str,
    replacement_kind: &'static str,
}

const fn dep(
    gv: &'static str,
    kind: &'static str,
    deprecated: (u32, u32),
    removed: (u32, u32),
    replacement_gv: &'static str,
    replacement_kind: &'static str,
) -> Deprecated {
    Deprecated {
        gv,
        kind,
        deprecated,
        removed,
        replacement_gv,
        replacement_kind,
    }
}

/// Helm's `validateNoDeprecations` for a cluster of version `major.minor`.
pub(super) fn check_deprecation(h: &Head, major: u32, minor: u32) -> Option<String> {
    if h.api_version.is_empty() || h.kind.is_empty() {
        return None;
    }
    let d = DEPRECATED
        .iter()
        .find(|d| d.gv == h.api_version && d.kind == h.kind)?;
    let current_is_zero = major == 0 && minor == 0;
    if !current_is_zero && d.deprecated > (major, minor) {
        return None;
    }
    let mut msg = format!(
        "{} {} is deprecated in v{}.{}+",
        d.gv, d.kind, d.deprecated.0, d.deprecated.1
    );
    if d.removed != (0, 0) {
        msg.push_str(&format!(
            ", unavailable in v{}.{}+",
            d.removed.0, d.removed.1
        ));
    }
    if !d.replacement_kind.is_empty() {
        msg.push_str(&format!(
            "; use {} {}",
            d.replacement_gv, d.replacement_kind
        ));
    }
    Some(msg)
}

/// Generated from k8s.io/api v0.35.1 `zz_generated.prerelease-lifecycle.go` (and the
/// hand-written core/v1 `lifecycle.go`) for the groups client-go's scheme registers (types
/// whose deprecated release is set).
#[rustfmt::skip]
static DEPRECATED: &[Deprecated] = &[
    dep("v1", "ComponentStatus", (1, 19), (0, 0), "", ""),
    dep("v1", "ComponentStatusList", (1, 19), (0, 0), "", ""),
    dep("v1", "Endpoints", (1, 33), (0, 0), "discovery.k8s.io/v1", "EndpointSlice"),
    dep("v1", "EndpointsList", (1, 33), (0, 0), "discovery.k8s.io/v1", "EndpointSliceList"),
    dep("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicy", (1, 35), (1, 38), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyBinding", (1, 35), (1, 38), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyBindingList", (1, 35), (1, 38), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyList", (1, 35), (1, 38), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy", (1, 29), (1, 32), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBinding", (1, 29), (1, 32), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBindingList", (1, 29), (1, 32), "", ""),
    dep("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyList", (1, 29), (1, 32), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicy", (1, 37), (1, 40), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyBinding", (1, 37), (1, 40), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyBindingList", (1, 37), (1, 40), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyList", (1, 37), (1, 40), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", (1, 16), (1, 22), "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    dep("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfigurationList", (1, 16), (1, 22), "admissionregistration.k8s.io/v1", "MutatingWebhookConfigurationList"),
    dep("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicy", (1, 31), (1, 34), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding", (1, 31), (1, 34), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBindingList", (1, 31), (1, 34), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyList", (1, 31), (1, 34), "", ""),
    dep("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", (1, 16), (1, 22), "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    dep("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfigurationList", (1, 16), (1, 22), "admissionregistration.k8s.io/v1", "ValidatingWebhookConfigurationList"),
    dep("apps/v1beta1", "ControllerRevision", (1, 8), (1, 16), "apps/v1", "ControllerRevision"),
    dep("apps/v1beta1", "ControllerRevisionList", (1, 8), (1, 16), "apps/v1", "ControllerRevisionList"),
    dep("apps/v1beta1", "Deployment", (1, 8), (1, 16), "apps/v1", "Deployment"),
    dep("apps/v1beta1", "DeploymentList", (1, 8), (1, 16), "apps/v1", "DeploymentList"),
    dep("apps/v1beta1", "DeploymentRollback", (1, 8), (1, 16), "apps/v1", "DeploymentRollback"),
    dep("apps/v1beta1", "Scale", (1, 8), (1, 16), "autoscaling/v1", "Scale"),
    dep("apps/v1beta1", "StatefulSet", (1, 8), (1, 16), "apps/v1", "StatefulSet"),
    dep("apps/v1beta1", "StatefulSetList", (1, 8), (1, 16), "apps/v1", "StatefulSetList"),
    dep("apps/v1beta2", "ControllerRevision", (1, 9), (1, 16), "apps/v1", "ControllerRevision"),
    dep("apps/v1beta2", "ControllerRevisionList", (1, 9), (1, 16), "apps/v1", "ControllerRevisionList"),
    dep("apps/v1beta2", "DaemonSet", (1, 9), (1, 16), "apps/v1", "DaemonSet"),
    dep("apps/v1beta2", "DaemonSetList", (1, 9), (1, 16), "apps/v1", "DaemonSetList"),
    dep("apps/v1beta2", "Deployment", (1, 9), (1, 16), "apps/v1", "Deployment"),
    dep("apps/v1beta2", "DeploymentList", (1, 9), (1, 16), "apps/v1", "DeploymentList"),
    dep("apps/v1beta2", "ReplicaSet", (1, 9), (1, 16), "apps/v1", "ReplicaSet"),
    dep("apps/v1beta2", "ReplicaSetList", (1, 9), (1, 16), "apps/v1", "ReplicaSetList"),
    dep("apps/v1beta2", "Scale", (1, 9), (1, 16), "autoscaling/v1", "Scale"),
    dep("apps/v1beta2", "StatefulSet", (1, 9), (1, 16), "apps/v1", "StatefulSet"),
    dep("apps/v1beta2", "StatefulSetList", (1, 9), (1, 16), "apps/v1", "StatefulSetList"),
    dep("authentication.k8s.io/v1alpha1", "SelfSubjectReview", (1, 29), (1, 32), "", ""),
    dep("authentication.k8s.io/v1beta1", "SelfSubjectReview", (1, 30), (1, 33), "", ""),
    dep("authentication.k8s.io/v1beta1", "TokenReview", (1, 19), (1, 22), "authentication.k8s.io/v1", "TokenReview"),
    dep("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview", (1, 19), (1, 22), "authorization.k8s.io/v1", "LocalSubjectAccessReview"),
    dep("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview", (1, 19), (1, 22), "authorization.k8s.io/v1", "SelfSubjectAccessReview"),
    dep("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview", (1, 19), (1, 22), "authorization.k8s.io/v1", "SelfSubjectRulesReview"),
    dep("authorization.k8s.io/v1beta1", "SubjectAccessReview", (1, 19), (1, 22), "authorization.k8s.io/v1", "SubjectAccessReview"),
    dep("autoscaling/v2beta1", "HorizontalPodAutoscaler", (1, 22), (1, 25), "autoscaling/v2", "HorizontalPodAutoscaler"),
    dep("autoscaling/v2beta1", "HorizontalPodAutoscalerList", (1, 22), (1, 25), "autoscaling/v2beta2", "HorizontalPodAutoscalerList"),
    dep("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 23), (1, 26), "autoscaling/v2", "HorizontalPodAutoscaler"),
    dep("autoscaling/v2beta2", "HorizontalPodAutoscalerList", (1, 22), (1, 25), "", ""),
    dep("batch/v1beta1", "CronJob", (1, 21), (1, 25), "batch/v1", "CronJob"),
    dep("batch/v1beta1", "CronJobList", (1, 21), (1, 25), "batch/v1", "CronJobList"),
    dep("certificates.k8s.io/v1beta1", "CertificateSigningRequest", (1, 19), (1, 22), "certificates.k8s.io/v1", "CertificateSigningRequest"),
    dep("certificates.k8s.io/v1beta1", "CertificateSigningRequestList", (1, 19), (1, 22), "certificates.k8s.io/v1", "CertificateSigningRequestList"),
    dep("certificates.k8s.io/v1beta1", "ClusterTrustBundle", (1, 36), (1, 39), "", ""),
    dep("certificates.k8s.io/v1beta1", "ClusterTrustBundleList", (1, 36), (1, 39), "", ""),
    dep("certificates.k8s.io/v1beta1", "PodCertificateRequest", (1, 38), (1, 41), "", ""),
    dep("certificates.k8s.io/v1beta1", "PodCertificateRequestList", (1, 38), (1, 41), "", ""),
    dep("certificates.k8s.io/v1alpha1", "ClusterTrustBundle", (1, 34), (1, 37), "", ""),
    dep("certificates.k8s.io/v1alpha1", "ClusterTrustBundleList", (1, 34), (1, 37), "", ""),
    dep("coordination.k8s.io/v1alpha2", "LeaseCandidate", (1, 35), (1, 38), "", ""),
    dep("coordination.k8s.io/v1alpha2", "LeaseCandidateList", (1, 35), (1, 38), "", ""),
    dep("coordination.k8s.io/v1beta1", "Lease", (1, 19), (1, 22), "coordination.k8s.io/v1", "Lease"),
    dep("coordination.k8s.io/v1beta1", "LeaseCandidate", (1, 36), (1, 39), "", ""),
    dep("coordination.k8s.io/v1beta1", "LeaseCandidateList", (1, 36), (1, 39), "", ""),
    dep("coordination.k8s.io/v1beta1", "LeaseList", (1, 19), (1, 22), "coordination.k8s.io/v1", "LeaseList"),
    dep("discovery.k8s.io/v1beta1", "EndpointSlice", (1, 21), (1, 25), "discovery.k8s.io/v1", "EndpointSlice"),
    dep("discovery.k8s.io/v1beta1", "EndpointSliceList", (1, 21), (1, 25), "discovery.k8s.io/v1", "EndpointSlice"),
    dep("events.k8s.io/v1beta1", "Event", (1, 22), (1, 25), "", ""),
    dep("events.k8s.io/v1beta1", "EventList", (1, 22), (1, 25), "", ""),
    dep("extensions/v1beta1", "DaemonSet", (1, 8), (1, 16), "apps/v1", "DaemonSet"),
    dep("extensions/v1beta1", "DaemonSetList", (1, 8), (1, 16), "apps/v1", "DaemonSetList"),
    dep("extensions/v1beta1", "Deployment", (1, 8), (1, 16), "apps/v1", "Deployment"),
    dep("extensions/v1beta1", "DeploymentList", (1, 8), (1, 16), "apps/v1", "DeploymentList"),
    dep("extensions/v1beta1", "DeploymentRollback", (1, 8), (1, 16), "", ""),
    dep("extensions/v1beta1", "Ingress", (1, 14), (1, 22), "networking.k8s.io/v1", "Ingress"),
    dep("extensions/v1beta1", "IngressList", (1, 14), (1, 22), "networking.k8s.io/v1", "IngressList"),
    dep("extensions/v1beta1", "NetworkPolicy", (1, 9), (1, 16), "networking.k8s.io/v1", "NetworkPolicy"),
    dep("extensions/v1beta1", "NetworkPolicyList", (1, 9), (1, 16), "networking.k8s.io/v1", "NetworkPolicyList"),
    dep("extensions/v1beta1", "ReplicaSet", (1, 8), (1, 16), "apps/v1", "ReplicaSet"),
    dep("extensions/v1beta1", "ReplicaSetList", (1, 8), (1, 16), "apps/v1", "ReplicaSetList"),
    dep("extensions/v1beta1", "Scale", (1, 2), (1, 16), "", ""),
    dep("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", (1, 23), (1, 26), "flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    dep("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchemaList", (1, 23), (1, 26), "flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList"),
    dep("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration", (1, 23), (1, 26), "flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"),
    dep("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfigurationList", (1, 23), (1, 26), "flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList"),
    dep("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", (1, 26), (1, 29), "flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    dep("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchemaList", (1, 26), (1, 29), "flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList"),
    dep("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration", (1, 26), (1, 29), "flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"),
    dep("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfigurationList", (1, 26), (1, 29), "flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList"),
    dep("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", (1, 29), (1, 32), "flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
    dep("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList", (1, 29), (1, 32), "flowcontrol.apiserver.k8s.io/v1", "FlowSchemaList"),
    dep("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", (1, 29), (1, 32), "flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"),
    dep("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList", (1, 29), (1, 32), "flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfigurationList"),
    dep("networking.k8s.io/v1beta1", "IPAddress", (1, 34), (1, 37), "", ""),
    dep("networking.k8s.io/v1beta1", "IPAddressList", (1, 34), (1, 37), "", ""),
    dep("networking.k8s.io/v1beta1", "Ingress", (1, 19), (1, 22), "networking.k8s.io/v1", "Ingress"),
    dep("networking.k8s.io/v1beta1", "IngressClass", (1, 19), (1, 22), "networking.k8s.io/v1", "IngressClassList"),
    dep("networking.k8s.io/v1beta1", "IngressClassList", (1, 19), (1, 22), "networking.k8s.io/v1", "IngressClassList"),
    dep("networking.k8s.io/v1beta1", "IngressList", (1, 19), (1, 22), "networking.k8s.io/v1", "IngressList"),
    dep("networking.k8s.io/v1beta1", "ServiceCIDR", (1, 34), (1, 37), "", ""),
    dep("networking.k8s.io/v1beta1", "ServiceCIDRList", (1, 34), (1, 37), "", ""),
    dep("node.k8s.io/v1beta1", "RuntimeClass", (1, 22), (1, 25), "", ""),
    dep("node.k8s.io/v1beta1", "RuntimeClassList", (1, 22), (1, 25), "", ""),
    dep("policy/v1beta1", "Eviction", (1, 22), (1, 25), "", ""),
    dep("policy/v1beta1", "PodDisruptionBudget", (1, 21), (1, 25), "policy/v1", "PodDisruptionBudget"),
    dep("policy/v1beta1", "PodDisruptionBudgetList", (1, 21), (1, 25), "policy/v1", "PodDisruptionBudgetList"),
    dep("rbac.authorization.k8s.io/v1beta1", "ClusterRole", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "ClusterRole"),
    dep("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    dep("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBindingList", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "ClusterRoleBindingList"),
    dep("rbac.authorization.k8s.io/v1beta1", "ClusterRoleList", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "ClusterRoleList"),
    dep("rbac.authorization.k8s.io/v1beta1", "Role", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "Role"),
    dep("rbac.authorization.k8s.io/v1beta1", "RoleBinding", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "RoleBinding"),
    dep("rbac.authorization.k8s.io/v1beta1", "RoleBindingList", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "RoleBindingList"),
    dep("rbac.authorization.k8s.io/v1beta1", "RoleList", (1, 17), (1, 22), "rbac.authorization.k8s.io/v1", "RoleList"),
    dep("resource.k8s.io/v1beta2", "DeviceClass", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "DeviceClassList", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "ResourceClaim", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "ResourceClaimList", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "ResourceClaimTemplate", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "ResourceClaimTemplateList", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "ResourceSlice", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta2", "ResourceSliceList", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1beta1", "DeviceClass", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "DeviceClassList", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "ResourceClaim", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "ResourceClaimList", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "ResourceClaimTemplate", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "ResourceClaimTemplateList", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "ResourceSlice", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1beta1", "ResourceSliceList", (1, 35), (1, 38), "", ""),
    dep("resource.k8s.io/v1alpha3", "DeviceTaintRule", (1, 36), (1, 39), "", ""),
    dep("resource.k8s.io/v1alpha3", "DeviceTaintRuleList", (1, 36), (1, 39), "", ""),
    dep("scheduling.k8s.io/v1beta1", "PriorityClass", (1, 14), (1, 22), "scheduling.k8s.io/v1", "PriorityClass"),
    dep("scheduling.k8s.io/v1beta1", "PriorityClassList", (1, 14), (1, 22), "scheduling.k8s.io/v1", "PriorityClassList"),
    dep("storage.k8s.io/v1beta1", "CSIDriver", (1, 19), (1, 22), "storage.k8s.io/v1", "CSIDriver"),
    dep("storage.k8s.io/v1beta1", "CSIDriverList", (1, 19), (1, 22), "storage.k8s.io/v1", "CSIDriverList"),
    dep("storage.k8s.io/v1beta1", "CSINode", (1, 17), (1, 22), "storage.k8s.io/v1", "CSINode"),
    dep("storage.k8s.io/v1beta1", "CSINodeList", (1, 17), (1, 22), "storage.k8s.io/v1", "CSINode"),
    dep("storage.k8s.io/v1beta1", "CSIStorageCapacity", (1, 24), (1, 27), "storage.k8s.io/v1", "CSIStorageCapacity"),
    dep("storage.k8s.io/v1beta1", "CSIStorageCapacityList", (1, 24), (1, 27), "storage.k8s.io/v1", "CSIStorageCapacityList"),
    dep("storage.k8s.io/v1beta1", "StorageClass", (1, 19), (1, 22), "storage.k8s.io/v1", "StorageClass"),
    dep("storage.k8s.io/v1beta1", "StorageClassList", (1, 19), (1, 22), "storage.k8s.io/v1", "StorageClassList"),
    dep("storage.k8s.io/v1beta1", "VolumeAttachment", (1, 19), (1, 22), "storage.k8s.io/v1", "VolumeAttachment"),
    dep("storage.k8s.io/v1beta1", "VolumeAttachmentList", (1, 19), (1, 22), "storage.k8s.io/v1", "VolumeAttachmentList"),
    dep("storage.k8s.io/v1beta1", "VolumeAttributesClass", (1, 34), (1, 37), "storage.k8s.io/v1", "VolumeAttributesClass"),
    dep("storage.k8s.io/v1beta1", "VolumeAttributesClassList", (1, 34), (1, 37), "storage.k8s.io/v1", "VolumeAttributesClassList"),
    dep("storage.k8s.io/v1alpha1", "CSIStorageCapacity", (1, 21), (1, 24), "storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    dep("storage.k8s.io/v1alpha1", "CSIStorageCapacityList", (1, 21), (1, 24), "storage.k8s.io/v1beta1", "CSIStorageCapacityList"),
    dep("storage.k8s.io/v1alpha1", "VolumeAttachment", (1, 21), (1, 24), "storage.k8s.io/v1", "VolumeAttachment"),
    dep("storage.k8s.io/v1alpha1", "VolumeAttachmentList", (1, 21), (1, 24), "storage.k8s.io/v1", "VolumeAttachmentList"),
    dep("storage.k8s.io/v1alpha1", "VolumeAttributesClass", (1, 32), (1, 35), "storage.k8s.io/v1", "VolumeAttributesClass"),
    dep("storage.k8s.io/v1alpha1", "VolumeAttributesClassList", (1, 32), (1, 35), "storage.k8s.io/v1", "VolumeAttributesClassList"),
    dep("storagemigration.k8s.io/v1beta1", "StorageVersionMigration", (1, 38), (1, 41), "", ""),
    dep("storagemigration.k8s.io/v1beta1", "StorageVersionMigrationList", (1, 38), (1, 41), "", ""),
];
