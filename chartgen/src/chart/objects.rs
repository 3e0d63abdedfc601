//! The built-in objects templates see: `.Capabilities` (with `KubeVersion`, `APIVersions`,
//! `HelmVersion`), `.Files`, and Helm 3's struct-shaped `.Chart`.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::OnceLock;

use base64::Engine as _;
use regex::Regex;

use super::File;
use crate::profile::Profile;
use crate::value::{Map, Object, Value};

/// The Helm lines whose libraries and Go types chartgen reproduces; the release within a line
/// is a [`Profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelmVersion {
    /// Helm 4 (v4.1, v4.3).
    V4,
    /// Helm 3 (v3.11: Iter8 v0.13's era; v3.21).
    V3,
}

fn go_list_string(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

fn arg_str<'a>(name: &str, args: &'a [Value], n: usize) -> Result<Vec<&'a str>, String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    args.iter()
        .map(|a| match a {
            Value::String(s) => Ok(&**s),
            other => Err(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )),
        })
        .collect()
}

/// `.Capabilities.KubeVersion`.
#[derive(Debug, Clone)]
pub struct KubeVersion {
    /// As given (`v1.30.1-gke.100`).
    pub version: String,
    /// Normalised for constraint checks (`v1.30.1`); Helm 3 prints `version` instead.
    pub normalized: String,
    pub major: String,
    pub minor: String,
    pub helm: HelmVersion,
}

impl KubeVersion {
    /// The default `helm template` cluster version of a Helm release.
    pub fn default_for(profile: &Profile) -> KubeVersion {
        let v = profile.kube_version();
        KubeVersion {
            normalized: v.clone(),
            version: v,
            major: "1".into(),
            minor: profile.kube_minor.to_string(),
            helm: profile.family,
        }
    }

    /// Parse `--kube-version` as a Helm release does: Masterminds semver up to Helm v3.11,
    /// k8s `ParseGeneric` since (Helm 3 still prints the version as given).
    pub fn parse_for(s: &str, profile: &Profile) -> Result<KubeVersion, String> {
        if profile.semver == crate::funcs::Semver::V3_2 {
            return KubeVersion::parse(s, HelmVersion::V3);
        }
        let mut k = KubeVersion::parse(s, HelmVersion::V4)?;
        k.helm = profile.family;
        if profile.family == HelmVersion::V3 {
            // Helm 3 keeps only the normalised version.
            k.version = k.normalized.clone();
        }
        Ok(k)
    }

    /// Parse `--kube-version` (k8s `ParseGeneric` for Helm 4, Masterminds semver for Helm 3);
    /// the error is the text after `invalid kube version '<v>': `.
    pub fn parse(s: &str, helm: HelmVersion) -> Result<KubeVersion, String> {
        let version = if s.starts_with('v') {
            s.to_string()
        } else {
            format!("v{s}")
        };
        match helm {
            HelmVersion::V3 => {
                let v = crate::funcs::SemverVersion::parse_helm3(s)?;
                Ok(KubeVersion {
                    normalized: version.clone(),
                    version,
                    major: v.major.to_string(),
                    minor: v.minor.to_string(),
                    helm,
                })
            }
            HelmVersion::V4 => {
                static RE: OnceLock<Regex> = OnceLock::new();
                let re = RE.get_or_init(|| {
                    Regex::new(r"^\s*v?([0-9]+(?:\.[0-9]+)*)(.*)$").expect("valid regex")
                });
                let caps = re.captures(s).ok_or_else(|| {
                    format!("could not parse {} as version", super::strvals::go_quote(s))
                })?;
                let nums = caps.get(1).map(|m| m.as_str()).unwrap_or("");
                let parts: Vec<&str> = nums.split('.').collect();
                if parts.len() < 2 {
                    return Err(format!(
                        "illegal version string {}",
                        super::strvals::go_quote(s)
                    ));
                }
                let mut comps = Vec::new();
                for p in &parts {
                    let n: u64 = p.parse().map_err(|_| {
                        // The regex leaves only digits: the number is out of range.
                        format!(
                            "illegal non-numeric version component {} in {}: strconv.ParseUint: parsing {}: value out of range",
                            super::strvals::go_quote(p),
                            super::strvals::go_quote(s),
                            super::strvals::go_quote(p)
                        )
                    })?;
                    comps.push(n.to_string());
                }
                Ok(KubeVersion {
                    version,
                    normalized: format!("v{}", comps.join(".")),
                    major: comps[0].clone(),
                    minor: comps[1].clone(),
                    helm,
                })
            }
        }
    }

    /// What `String()` returns (used for the `kubeVersion` constraint check).
    pub fn string(&self) -> &str {
        match self.helm {
            HelmVersion::V4 => &self.normalized,
            HelmVersion::V3 => &self.version,
        }
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        match self.helm {
            HelmVersion::V4 => "common.KubeVersion",
            HelmVersion::V3 => "chartutil.KubeVersion",
        }
    }
    fn kind_name(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str(self.version.as_str())),
            "Major" => Some(Value::str(self.major.as_str())),
            "Minor" => Some(Value::str(self.minor.as_str())),
            _ => None,
        }
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "String" | "GitVersion")
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        arg_str(name, args, 0)?;
        match name {
            "String" => Ok(Value::str(self.string())),
            "GitVersion" => Ok(Value::str(self.version.as_str())),
            _ => Err(format!(
                "can't evaluate field {name} in type {}",
                self.type_name()
            )),
        }
    }
    fn format_v(&self) -> String {
        self.string().to_string()
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Version".into(), Value::str(self.version.as_str()));
        m.insert("Major".into(), Value::str(self.major.as_str()));
        m.insert("Minor".into(), Value::str(self.minor.as_str()));
        Value::map(m)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.APIVersions` (a `VersionSet` with `Has`).
#[derive(Debug, Clone)]
pub struct VersionSet {
    pub versions: Vec<String>,
    pub helm: HelmVersion,
}

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        match self.helm {
            HelmVersion::V4 => "common.VersionSet",
            HelmVersion::V3 => "chartutil.VersionSet",
        }
    }
    fn kind_name(&self) -> &str {
        "slice"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match name {
            "Has" => {
                let a = arg_str(name, args, 1)?;
                Ok(Value::Bool(self.versions.iter().any(|v| v == a[0])))
            }
            _ => Err(format!(
                "can't evaluate field {name} in type {}",
                self.type_name()
            )),
        }
    }
    fn format_v(&self) -> String {
        go_list_string(&self.versions)
    }
    fn to_data(&self) -> Value {
        Value::list(
            self.versions
                .iter()
                .map(|s| Value::str(s.as_str()))
                .collect(),
        )
    }
    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.versions
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), Value::str(v.as_str())))
                .collect(),
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.HelmVersion` (Helm's `version.BuildInfo`).
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub profile: &'static Profile,
}

impl BuildInfo {
    fn parts(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let p = self.profile;
        let mut parts = vec![
            ("Version", "version", p.version),
            ("GitCommit", "git_commit", p.git_commit),
            ("GitTreeState", "git_tree_state", "clean"),
            ("GoVersion", "go_version", p.go_version),
        ];
        if p.family == HelmVersion::V4 {
            parts.push((
                "KubeClientVersion",
                "kube_client_version",
                p.kube_client_version,
            ));
        }
        parts
    }
}

impl Object for BuildInfo {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn kind_name(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.parts()
            .into_iter()
            .find(|(f, _, _)| *f == name)
            .map(|(_, _, v)| Value::str(v))
    }
    fn format_v(&self) -> String {
        let vals: Vec<String> = self
            .parts()
            .into_iter()
            .map(|(_, _, v)| v.to_string())
            .collect();
        format!("{{{}}}", vals.join(" "))
    }
    fn to_data(&self) -> Value {
        Value::map(
            self.parts()
                .into_iter()
                .map(|(_, j, v)| (j.to_string(), Value::str(v)))
                .collect(),
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub kube_version: Rc<KubeVersion>,
    pub api_versions: Rc<VersionSet>,
    pub helm_version: Rc<BuildInfo>,
}

impl Capabilities {
    /// `helm template`'s capabilities: the default (or given) Kubernetes version and the
    /// default API versions plus `extra`.
    pub fn new(
        profile: &'static Profile,
        kube: Option<KubeVersion>,
        extra: &[String],
    ) -> Capabilities {
        let helm = profile.family;
        let mut versions: Vec<String> = profile.api_versions().map(str::to_string).collect();
        versions.extend(extra.iter().cloned());
        Capabilities {
            kube_version: Rc::new(kube.unwrap_or_else(|| KubeVersion::default_for(profile))),
            api_versions: Rc::new(VersionSet { versions, helm }),
            helm_version: Rc::new(BuildInfo { profile }),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        match self.api_versions.helm {
            HelmVersion::V4 => "*common.Capabilities",
            HelmVersion::V3 => "*chartutil.Capabilities",
        }
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(self.kube_version.clone())),
            "APIVersions" => Some(Value::Object(self.api_versions.clone())),
            "HelmVersion" => Some(Value::Object(self.helm_version.clone())),
            _ => None,
        }
    }
    fn format_v(&self) -> String {
        let k = &self.kube_version;
        format!(
            "&{{{{{} {} {} {}}} {} {}}}",
            k.version,
            k.normalized,
            k.major,
            k.minor,
            self.api_versions.format_v(),
            self.helm_version.format_v()
        )
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("KubeVersion".into(), self.kube_version.to_data());
        m.insert("APIVersions".into(), self.api_versions.to_data());
        m.insert("HelmVersion".into(), self.helm_version.to_data());
        Value::map(m)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Files`: the chart's non-template files, with Helm's accessor methods.
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub files: BTreeMap<String, super::Blob>,
    /// Helm 3.11's `Lines` keeps the empty line after a trailing newline.
    pub helm3: bool,
}

impl Files {
    pub fn new(files: &[File]) -> Files {
        Files {
            files: files
                .iter()
                .map(|f| (f.name.clone(), f.data.clone()))
                .collect(),
            helm3: false,
        }
    }

    /// `.Files` with Helm 3.11's behaviour.
    pub fn new_helm3(files: &[File]) -> Files {
        Files {
            helm3: true,
            ..Files::new(files)
        }
    }

    fn get_bytes(&self, name: &str) -> Rc<[u8]> {
        self.files
            .get(name)
            .map(|b| b.bytes().clone())
            .unwrap_or_else(|| Rc::from(Vec::new()))
    }

    /// Files whose path matches a gobwas/glob pattern (`/` separator).
    pub fn glob(&self, pattern: &str) -> Files {
        let re =
            glob_regex(pattern).unwrap_or_else(|| Regex::new("^(?s:.*)$").expect("valid regex"));
        Files {
            files: self
                .files
                .iter()
                .filter(|(k, _)| re.is_match(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            helm3: self.helm3,
        }
    }

    fn basename_map(&self, f: impl Fn(&[u8]) -> String) -> String {
        let mut m = Map::new();
        for (k, v) in &self.files {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), Value::str(f(v)));
        }
        match crate::yaml::to_yaml(&Value::map(m)) {
            Ok(s) => s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
            Err(_) => String::new(),
        }
    }
}

/// Translate a gobwas/glob pattern (separator `/`) into an anchored regex.
pub fn glob_regex(pattern: &str) -> Option<Regex> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^(?s:");
    let mut i = 0;
    let mut depth = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => {
                if i + 1 < chars.len() && chars[i + 1] == '*' {
                    re.push_str(".*");
                    i += 1;
                } else {
                    re.push_str("[^/]*");
                }
            }
            '?' => re.push_str("[^/]"),
            '\\' => {
                i += 1;
                let n = *chars.get(i)?;
                re.push_str(&regex::escape(&n.to_string()));
            }
            '[' => {
                let mut j = i + 1;
                let mut class = String::from("[");
                if j < chars.len() && chars[j] == '!' {
                    class.push('^');
                    j += 1;
                }
                let start = j;
                while j < chars.len() && chars[j] != ']' {
                    let ch = chars[j];
                    if ch == '\\' || ch == '[' || ch == '^' || ch == '&' || ch == '~' {
                        class.push('\\');
                    }
                    class.push(ch);
                    j += 1;
                }
                if j >= chars.len() || j == start {
                    return None;
                }
                class.push(']');
                re.push_str(&class);
                i = j;
            }
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    re.push_str(")$");
    Regex::new(&re).ok()
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind_name(&self) -> &str {
        "map"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match self.files.get(name) {
            Some(b) => Value::Bytes(b.bytes().clone()),
            None => Value::Bytes(Rc::from(Vec::new())),
        })
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Get" | "GetBytes" | "Glob" | "AsConfig" | "AsSecrets" | "Lines"
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match name {
            "Get" => {
                let a = arg_str(name, args, 1)?;
                // A Go string keeps a binary file's bytes (`.Files.Get "x.bin" | b64enc`).
                Ok(Value::str(crate::value::go_string(&self.get_bytes(a[0]))))
            }
            "GetBytes" => {
                let a = arg_str(name, args, 1)?;
                Ok(Value::Bytes(self.get_bytes(a[0])))
            }
            "Glob" => {
                let a = arg_str(name, args, 1)?;
                Ok(Value::Object(Rc::new(self.glob(a[0]))))
            }
            "AsConfig" => {
                arg_str(name, args, 0)?;
                Ok(Value::str(
                    self.basename_map(|b| String::from_utf8_lossy(b).into_owned()),
                ))
            }
            "AsSecrets" => {
                arg_str(name, args, 0)?;
                Ok(Value::str(self.basename_map(|b| {
                    base64::engine::general_purpose::STANDARD.encode(b)
                })))
            }
            "Lines" => {
                let a = arg_str(name, args, 1)?;
                let Some(data) = self.files.get(a[0]) else {
                    return Ok(Value::string_list(Vec::new()));
                };
                let s = crate::value::go_string(data);
                let s = if self.helm3 {
                    &s[..]
                } else {
                    s.strip_suffix('\n').unwrap_or(&s)
                };
                Ok(Value::string_list(s.split('\n').map(str::to_string)))
            }
            _ => Err(format!(
                "can't evaluate field {name} in type {}",
                self.type_name()
            )),
        }
    }
    fn format_v(&self) -> String {
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(|b| b.to_string()).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", parts.join(" "))
    }
    fn to_data(&self) -> Value {
        Value::map(
            self.files
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Value::str(base64::engine::general_purpose::STANDARD.encode(v.bytes())),
                    )
                })
                .collect(),
        )
    }
    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.files
                .iter()
                .map(|(k, v)| (Value::str(k.as_str()), Value::Bytes(v.bytes().clone())))
                .collect(),
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A Go struct (or pointer to one) as Helm 3 hands it to templates: fields by Go name (an
/// unknown field is an error), and what `encoding/json` makes of it: its json-tag members in
/// declaration order (`.Chart` and its maintainers and dependencies).
#[derive(Debug, Clone)]
pub struct GoStruct {
    /// `%T`: `chart.Metadata`, `*chart.Dependency`.
    type_name: &'static str,
    /// `kindOf`: `struct` or `ptr`.
    kind: &'static str,
    fields: Map,
    json: Vec<(&'static str, Value)>,
}

impl GoStruct {
    pub fn new(
        type_name: &'static str,
        kind: &'static str,
        fields: Map,
        json: Vec<(&'static str, Value)>,
    ) -> GoStruct {
        GoStruct {
            type_name,
            kind,
            fields,
            json,
        }
    }
}

/// `v` with every object replaced by its plain data.
fn plain(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.to_data(),
        Value::List(l) => Value::list(l.items.iter().map(plain).collect()),
        other => other.clone(),
    }
}

impl Object for GoStruct {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn kind_name(&self) -> &str {
        self.kind
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.fields.get(name).cloned()
    }
    fn format_v(&self) -> String {
        crate::template::fmt::format_v(&Value::map(self.fields.clone()))
    }
    fn to_data(&self) -> Value {
        Value::map(
            self.json
                .iter()
                .map(|(k, v)| ((*k).to_string(), plain(v)))
                .collect(),
        )
    }
    fn json_members(&self) -> Option<&[(&'static str, Value)]> {
        Some(&self.json)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
