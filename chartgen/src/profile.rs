//! Helm behaviour profiles: which Helm release chartgen reproduces (`--helm-version X.Y`).
//!
//! A profile is data (the version Helm reports, its default Kubernetes version and API
//! versions) plus a few switches where the releases behave differently; the renderer is
//! shared. [`Profile::DEFAULT`] is the newest Helm release.

use crate::chart::objects::HelmVersion;
use crate::funcs::Semver;

/// One Helm release chartgen can render as.
#[derive(Debug, PartialEq, Eq)]
pub struct Profile {
    /// The `--helm-version` name (`4.3`).
    pub name: &'static str,
    /// The release reproduced (`v4.3.2`), as `helm version` and `.Capabilities.HelmVersion`
    /// print it.
    pub version: &'static str,
    /// The Helm line: libraries, Go types and defaults shared by every release of it.
    pub family: HelmVersion,
    /// `.Capabilities.HelmVersion.GitCommit` (empty for releases built from the Go module).
    pub git_commit: &'static str,
    /// `.Capabilities.HelmVersion.GoVersion`.
    pub go_version: &'static str,
    /// `.Capabilities.HelmVersion.KubeClientVersion` (Helm 4 only).
    pub kube_client_version: &'static str,
    /// The client-go minor release linked (`37` for v0.37): the default
    /// `.Capabilities.KubeVersion` is `v1.<kube_minor>.0`, and the default
    /// `.Capabilities.APIVersions` are what that client-go registers ([`Profile::api_versions`]).
    pub kube_minor: u32,
    /// Helm #32565 (v4.2.0 on): a manifest whose template ends with a newline is followed by
    /// a blank line before the next `---`.
    pub blank_line_before_separator: bool,
    /// Null values in a chart's own values.yaml are dropped while coalescing (v4.3).
    pub drop_chart_nulls: bool,
    /// The text before `: <missing charts>` when Chart.yaml names dependencies that
    /// charts/ lacks.
    pub missing_dependencies: &'static str,
    /// Helm v3.11's own behaviour, changed by later Helm 3 releases: `tpl` parses its text as
    /// the calling file without that file's defines and words its errors as v3.11 did,
    /// import-values merge into the chart's values, `.Files.Lines` of a missing
    /// file is nil, `--kube-version` keeps its suffix, CRDs are printed under their path in
    /// their own chart (`# Source: crds/a.yaml`).
    pub v3_11_quirks: bool,
    /// The kind install order of manifests and hooks.
    pub kind_order: &'static [&'static str],
    /// `--set-json` also takes a whole JSON object (Helm 4).
    pub set_json_objects: bool,
    /// The Masterminds/semver release linked (error texts, limits, prerelease rule).
    pub semver: Semver,
    /// Template functions chartgen knows that this release lacks: a template naming one fails
    /// to parse (`function "mustToYaml" not defined`).
    pub missing_functions: &'static [&'static str],
    /// Built with Go 1.18's `text/template`: no `{{else with}}`, no range over an integer,
    /// and that release's error texts for comparisons and `call`.
    pub go118_template: bool,
    /// `--set-literal` exists (Helm v3.12 on).
    pub set_literal: bool,
}

impl Profile {
    /// Helm v4.3.2, the newest release: the default.
    pub const DEFAULT: &'static Profile = &V4_3;

    /// All profiles, newest first.
    pub const ALL: &'static [&'static Profile] = &[&V4_3, &V4_1, &V3_21, &V3_11];

    /// The profile named `name` (`4.3`, also `v4.3`, `4.3.2` or `v4.3.2`).
    pub fn find(name: &str) -> Result<&'static Profile, UnknownProfile> {
        let n = name.strip_prefix('v').unwrap_or(name);
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.name == n || &p.version[1..] == n)
            .ok_or_else(|| UnknownProfile(name.to_string()))
    }

    /// True for the Helm 3 line (`--helm3` behaviour: libraries, Go types, kind order).
    pub fn helm3(&self) -> bool {
        self.family == HelmVersion::V3
    }

    /// The default `.Capabilities.APIVersions`, in client-go's registration order.
    pub fn api_versions(&self) -> impl Iterator<Item = &'static str> + use<> {
        let minor = self.kube_minor;
        API_VERSIONS
            .iter()
            .filter(move |(_, first, last)| (*first..=*last).contains(&minor))
            .map(|(v, _, _)| *v)
    }

    /// The default `.Capabilities.KubeVersion` (`v1.37.0`).
    pub fn kube_version(&self) -> String {
        format!("v1.{}.0", self.kube_minor)
    }
}

/// `--helm-version` named no known profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Helm version {0:?}: supported are {list}", list = supported())]
pub struct UnknownProfile(pub String);

fn supported() -> String {
    Profile::ALL
        .iter()
        .map(|p| format!("{} ({})", p.name, p.version))
        .collect::<Vec<_>>()
        .join(", ")
}

static V4_3: Profile = Profile {
    name: "4.3",
    version: "v4.3.2",
    family: HelmVersion::V4,
    git_commit: "",
    go_version: GO_BUILT,
    kube_client_version: "v1.37",
    kube_minor: 37,
    blank_line_before_separator: true,
    drop_chart_nulls: true,
    missing_dependencies: MISSING_DEPS_4_3,
    v3_11_quirks: false,
    kind_order: KIND_ORDER_V4,
    set_json_objects: true,
    semver: Semver::V3_5,
    missing_functions: &[],
    go118_template: false,
    set_literal: true,
};

static V4_1: Profile = Profile {
    name: "4.1",
    version: "v4.1.4",
    family: HelmVersion::V4,
    git_commit: "05fa37973dc9e42b76e1d2883494c87174b6074f",
    go_version: "go1.25.9",
    kube_client_version: "v1.35",
    kube_minor: 35,
    blank_line_before_separator: false,
    drop_chart_nulls: false,
    missing_dependencies: MISSING_DEPS_4_1,
    v3_11_quirks: false,
    kind_order: KIND_ORDER_V4,
    set_json_objects: true,
    semver: Semver::V3_4,
    missing_functions: &[],
    go118_template: false,
    set_literal: true,
};

static V3_21: Profile = Profile {
    name: "3.21",
    version: "v3.21.4",
    family: HelmVersion::V3,
    git_commit: "",
    go_version: GO_BUILT,
    kube_client_version: "",
    kube_minor: 36,
    blank_line_before_separator: false,
    drop_chart_nulls: false,
    missing_dependencies: MISSING_DEPS_3,
    v3_11_quirks: false,
    kind_order: KIND_ORDER_V3_21,
    set_json_objects: false,
    semver: Semver::V3_5,
    missing_functions: MISSING_FUNCS_V3_21,
    go118_template: false,
    set_literal: true,
};

static V3_11: Profile = Profile {
    name: "3.11",
    version: "v3.11.1",
    family: HelmVersion::V3,
    git_commit: "293b50c65d4d56187cd4e2f390f0ada46b4c4737",
    go_version: "go1.18.10",
    kube_client_version: "",
    kube_minor: 26,
    blank_line_before_separator: false,
    drop_chart_nulls: false,
    missing_dependencies: MISSING_DEPS_3,
    v3_11_quirks: true,
    kind_order: KIND_ORDER_V3_11,
    set_json_objects: false,
    semver: Semver::V3_2,
    missing_functions: MISSING_FUNCS_V3_11,
    go118_template: true,
    set_literal: false,
};

const MISSING_DEPS_4_3: &str = "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies";
const MISSING_DEPS_4_1: &str = "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies";
const MISSING_DEPS_3: &str = "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies";

/// Helm v3.21 lacks Helm 4's `mustToYaml`.
const MISSING_FUNCS_V3_21: &[&str] = &["mustToYaml"];
/// Helm v3.11 also lacks `fromToml` and `toYamlPretty` (later Helm 3 releases added them) and
/// Sprig v3.3's `sha512sum` (it links Sprig v3.2.3).
const MISSING_FUNCS_V3_11: &[&str] = &["mustToYaml", "fromToml", "toYamlPretty", "sha512sum"];

/// Helm 4's `InstallOrder`.
const KIND_ORDER_V4: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];
/// Helm v3.21: without the admission webhook configurations.
const KIND_ORDER_V3_21: &[&str] = KIND_ORDER_V4.split_at(KIND_ORDER_V4.len() - 2).0;
/// Helm v3.11: also without PriorityClass.
const KIND_ORDER_V3_11: &[&str] = KIND_ORDER_V3_21.split_at(1).1;

/// The Go toolchain `tools/fetch-helm.sh` builds the Go-module releases with.
const GO_BUILT: &str = "go1.26.8";

/// Every API version a profile's client-go registers by default, in registration order (the
/// order of `.Capabilities.APIVersions`), with the client-go minor releases that register it
/// (first, last; each profile links client-go `v0.<kube_minor>`). One shared list: a release's
/// defaults are the entries whose range holds its minor.
const API_VERSIONS: &[(&str, u32, u32)] = &[
    ("v1", 26, 37),
    ("admissionregistration.k8s.io/v1", 26, 37),
    ("admissionregistration.k8s.io/v1alpha1", 26, 37),
    ("admissionregistration.k8s.io/v1beta1", 26, 37),
    ("internal.apiserver.k8s.io/v1alpha1", 26, 37),
    ("apps/v1", 26, 37),
    ("apps/v1beta1", 26, 37),
    ("apps/v1beta2", 26, 37),
    ("authentication.k8s.io/v1", 26, 37),
    ("authentication.k8s.io/v1alpha1", 26, 37),
    ("authentication.k8s.io/v1beta1", 26, 37),
    ("authorization.k8s.io/v1", 26, 37),
    ("authorization.k8s.io/v1beta1", 26, 37),
    ("autoscaling/v1", 26, 37),
    ("autoscaling/v2", 26, 37),
    ("autoscaling/v2beta1", 26, 35),
    ("autoscaling/v2beta2", 26, 35),
    ("batch/v1", 26, 37),
    ("batch/v1beta1", 26, 37),
    ("certificates.k8s.io/v1", 26, 37),
    ("certificates.k8s.io/v1beta1", 26, 37),
    ("certificates.k8s.io/v1alpha1", 35, 37),
    ("coordination.k8s.io/v1alpha2", 35, 37),
    ("coordination.k8s.io/v1beta1", 26, 37),
    ("coordination.k8s.io/v1", 26, 37),
    ("discovery.k8s.io/v1", 26, 37),
    ("discovery.k8s.io/v1beta1", 26, 37),
    ("events.k8s.io/v1", 26, 37),
    ("events.k8s.io/v1beta1", 26, 37),
    ("extensions/v1beta1", 26, 37),
    ("flowcontrol.apiserver.k8s.io/v1", 35, 37),
    ("flowcontrol.apiserver.k8s.io/v1alpha1", 26, 26),
    ("flowcontrol.apiserver.k8s.io/v1beta1", 26, 37),
    ("flowcontrol.apiserver.k8s.io/v1beta2", 26, 37),
    ("flowcontrol.apiserver.k8s.io/v1beta3", 26, 37),
    ("lifecycle.k8s.io/v1alpha1", 37, 37),
    ("networking.k8s.io/v1", 26, 37),
    ("networking.k8s.io/v1alpha1", 26, 26),
    ("networking.k8s.io/v1beta1", 26, 37),
    ("node.k8s.io/v1", 26, 37),
    ("node.k8s.io/v1alpha1", 26, 37),
    ("node.k8s.io/v1beta1", 26, 37),
    ("policy/v1", 26, 37),
    ("policy/v1beta1", 26, 37),
    ("rbac.authorization.k8s.io/v1", 26, 37),
    ("rbac.authorization.k8s.io/v1beta1", 26, 37),
    ("rbac.authorization.k8s.io/v1alpha1", 26, 37),
    ("resource.k8s.io/v1", 35, 37),
    ("resource.k8s.io/v1beta2", 35, 37),
    ("resource.k8s.io/v1beta1", 35, 37),
    ("resource.k8s.io/v1alpha3", 35, 37),
    ("resource.k8s.io/v1alpha1", 26, 26),
    ("scheduling.k8s.io/v1alpha1", 26, 35),
    ("scheduling.k8s.io/v1alpha2", 36, 36),
    ("scheduling.k8s.io/v1alpha3", 37, 37),
    ("scheduling.k8s.io/v1beta1", 26, 37),
    ("scheduling.k8s.io/v1", 26, 37),
    ("storage.k8s.io/v1beta1", 26, 37),
    ("storage.k8s.io/v1", 26, 37),
    ("storage.k8s.io/v1alpha1", 26, 37),
    ("storagemigration.k8s.io/v1", 37, 37),
    ("storagemigration.k8s.io/v1beta1", 35, 37),
    ("apiextensions.k8s.io/v1beta1", 26, 37),
    ("apiextensions.k8s.io/v1", 26, 37),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each profile's default API versions come from the one shared table: no version twice,
    /// every table entry used by some profile, and 4.3's list is 3.21's with client-go
    /// v0.37's changes (lifecycle, scheduling v1alpha3, storagemigration v1).
    #[test]
    fn api_versions_from_one_table() {
        for p in Profile::ALL {
            let v: Vec<&str> = p.api_versions().collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), v.len(), "{}: a version twice", p.name);
        }
        for (v, first, last) in API_VERSIONS {
            assert!(first <= last, "{v}");
            assert!(
                Profile::ALL
                    .iter()
                    .any(|p| p.api_versions().any(|x| x == *v)),
                "{v} is in no profile"
            );
        }
        let v4_3: Vec<&str> = V4_3.api_versions().collect();
        let v3_21: Vec<&str> = V3_21.api_versions().collect();
        let added: Vec<&str> = v4_3
            .iter()
            .copied()
            .filter(|v| !v3_21.contains(v))
            .collect();
        let removed: Vec<&str> = v3_21
            .iter()
            .copied()
            .filter(|v| !v4_3.contains(v))
            .collect();
        assert_eq!(
            added,
            [
                "lifecycle.k8s.io/v1alpha1",
                "scheduling.k8s.io/v1alpha3",
                "storagemigration.k8s.io/v1"
            ]
        );
        assert_eq!(removed, ["scheduling.k8s.io/v1alpha2"]);
    }

    /// A profile is found by its short or full name; an unknown one lists the supported ones.
    #[test]
    fn find_accepts_short_and_full_names() {
        assert_eq!(Profile::find("4.3").map(|p| p.version), Ok("v4.3.2"));
        assert_eq!(Profile::find("v3.21.4").map(|p| p.name), Ok("3.21"));
        let e = Profile::find("4.2").expect_err("4.2 is not a profile");
        assert_eq!(
            e.to_string(),
            "unknown Helm version \"4.2\": supported are 4.3 (v4.3.2), 4.1 (v4.1.4), 3.21 (v3.21.4), 3.11 (v3.11.1)"
        );
    }
}
