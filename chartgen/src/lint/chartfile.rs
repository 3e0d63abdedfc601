//! The Chart.yaml rule: parse (loosely, then strictly), field types, name, apiVersion,
//! version, maintainers, URLs, type and dependencies, as Helm's `rules.Chartfile` checks.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::urls::{is_email, is_request_url, is_url};
use super::{Linted, Severity};
use crate::chart::Metadata;
use crate::funcs::SemverVersion;
use crate::value::{Map, Value};

const FILE: &str = "Chart.yaml";

pub(super) fn chartfile(l: &mut Linted, dir: &Path) {
    let path = dir.join(FILE);
    let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
    l.rule(
        Severity::Error,
        FILE,
        is_dir.then(|| "should be a file, not a directory".to_string()),
    );
    let (md, raw) = match load(&path) {
        Ok(x) => x,
        Err(e) => {
            l.rule(
                Severity::Error,
                FILE,
                Some(format!("unable to parse YAML\n\t{e}")),
            );
            return;
        }
    };
    let text = std::fs::read(&path).unwrap_or_default();
    let strict = match duplicate_keys(&String::from_utf8_lossy(&text)) {
        Some(e) => Some(format!("error converting YAML to JSON: {e}")),
        None => strict_unknown_field(&raw)
            .map(|e| format!("error unmarshaling JSON: while decoding JSON: {e}")),
    };
    l.rule(
        Severity::Warning,
        FILE,
        strict.map(|e| format!("failed to strictly parse chart metadata file\n\t{e}")),
    );
    let e = Severity::Error;
    l.rule(e, FILE, check_name(&md));
    l.rule(e, FILE, check_api_version(&md));
    l.rule(e, FILE, check_string_type(&raw, "version"));
    l.rule(e, FILE, check_version(&md));
    l.rule(e, FILE, check_string_type(&raw, "appVersion"));
    l.rule(e, FILE, check_maintainers(&md));
    l.rule(e, FILE, check_sources(&md));
    l.rule(
        Severity::Info,
        FILE,
        md.icon
            .is_empty()
            .then(|| "icon is recommended".to_string()),
    );
    l.rule(
        e,
        FILE,
        (!md.icon.is_empty() && !is_request_url(&md.icon))
            .then(|| format!("invalid icon URL '{}'", md.icon)),
    );
    l.rule(e, FILE, check_type(&md));
    l.rule(e, FILE, check_dependencies(&md));
    l.rule(
        Severity::Warning,
        FILE,
        (!is_strict_semver(&md.version))
            .then(|| format!("version '{}' is not a valid SemVerV2", md.version)),
    );
}

/// Helm's `LoadChartfile` (no defaults, no validation) and the generic map of the file.
fn load(path: &Path) -> Result<(Metadata, Map), String> {
    let data = std::fs::read(path)
        .map_err(|e| crate::chart::load_go_io_error("read", &path.display().to_string(), &e))?;
    let text = String::from_utf8_lossy(&data);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let v = crate::yaml::parse_values(text).map_err(|e| e.helm_message())?;
    let md = Metadata::from_value(&v)?;
    let raw = match v {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    Ok((md, raw))
}

/// go-yaml's strict decoding errors for keys repeated within one block mapping
/// (`yaml: unmarshal errors:\n  line 4: key "name" already set in map`). A line-based
/// scan: enough for Chart.yaml's block style; flow mappings are not examined.
fn duplicate_keys(text: &str) -> Option<String> {
    // Open mappings: (indent of their keys, keys seen).
    let mut stack: Vec<(usize, Vec<String>)> = Vec::new();
    let mut errs = Vec::new();
    let mut block_scalar: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let content = line.trim_start();
        let indent = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(min) = block_scalar {
            if indent > min {
                continue;
            }
            block_scalar = None;
        }
        if content == "---" || content == "..." {
            stack.clear();
            continue;
        }
        // A list item opens a new mapping two columns in.
        let (indent, content) = match content.strip_prefix("- ") {
            Some(rest) => {
                let rest_trim = rest.trim_start();
                let ind = indent + 2 + (rest.len() - rest_trim.len());
                stack.retain(|(d, _)| *d < ind);
                stack.push((ind, Vec::new()));
                (ind, rest_trim)
            }
            None => (indent, content),
        };
        let Some(key) = mapping_key(content) else {
            continue;
        };
        stack.retain(|(d, _)| *d <= indent);
        match stack.last_mut() {
            Some((d, keys)) if *d == indent => {
                if keys.contains(&key) {
                    errs.push(format!(
                        "  line {}: key {} already set in map",
                        i + 1,
                        go_q(&key)
                    ));
                } else {
                    keys.push(key);
                }
            }
            _ => stack.push((indent, vec![key])),
        }
        let after = content.split_once(':').map_or("", |(_, v)| v).trim();
        if after.starts_with('|') || after.starts_with('>') {
            block_scalar = Some(indent);
        }
    }
    (!errs.is_empty()).then(|| format!("yaml: unmarshal errors:\n{}", errs.join("\n")))
}

/// The key of a `key: value` line (plain or quoted), if it is one.
fn mapping_key(content: &str) -> Option<String> {
    if let Some(q) = content.strip_prefix('"') {
        let end = q.find('"')?;
        return q[end + 1..].starts_with(':').then(|| q[..end].to_string());
    }
    if let Some(q) = content.strip_prefix('\'') {
        let end = q.find('\'')?;
        return q[end + 1..].starts_with(':').then(|| q[..end].to_string());
    }
    if content.starts_with(['[', '{', '&', '*', '!', '|', '>', '%', '@', '`']) {
        return None;
    }
    let b = content.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t'))
        .map(|i| content[..i].trim_end().to_string())
        .filter(|k| !k.contains(" #"))
}

/// The first field `json.Decoder.DisallowUnknownFields` rejects (keys in sorted order, as
/// sigs.k8s.io/yaml hands them over), as Go's error text.
fn strict_unknown_field(raw: &Map) -> Option<String> {
    const TOP: &[&str] = &[
        "name",
        "home",
        "sources",
        "version",
        "description",
        "keywords",
        "maintainers",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "deprecated",
        "annotations",
        "kubeVersion",
        "dependencies",
        "type",
    ];
    const MAINTAINER: &[&str] = &["name", "email", "url"];
    const DEPENDENCY: &[&str] = &[
        "name",
        "version",
        "repository",
        "condition",
        "tags",
        "enabled",
        "import-values",
        "alias",
    ];
    let known = |set: &[&str], k: &str| set.iter().any(|f| f.eq_ignore_ascii_case(k));
    let nested = |v: &Value, set: &[&str]| -> Option<String> {
        let Value::List(l) = v else { return None };
        for item in &l.items {
            if let Value::Map(m) = item {
                for k in m.borrow().keys() {
                    if !known(set, k) {
                        return Some(format!("json: unknown field {}", go_q(k)));
                    }
                }
            }
        }
        None
    };
    for (k, v) in raw {
        if !known(TOP, k) {
            return Some(format!("json: unknown field {}", go_q(k)));
        }
        let sub = if k.eq_ignore_ascii_case("maintainers") {
            nested(v, MAINTAINER)
        } else if k.eq_ignore_ascii_case("dependencies") {
            nested(v, DEPENDENCY)
        } else {
            None
        };
        if sub.is_some() {
            return sub;
        }
    }
    None
}

fn go_q(s: &str) -> String {
    crate::chart::strvals::go_quote(s)
}

/// `%T` of a value decoded by sigs.k8s.io/yaml into `interface{}`.
fn go_type(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => "float64".into(),
        Value::String(_) => "string".into(),
        Value::List(_) => "[]interface {}".into(),
        Value::Map(_) => "map[string]interface {}".into(),
        other => other.type_name(),
    }
}

fn check_string_type(raw: &Map, key: &str) -> Option<String> {
    let v = raw.get(key)?;
    let t = go_type(v);
    (t != "string").then(|| format!("{key} should be of type string but it's of type {t}"))
}

/// Go's `filepath.Base`.
fn go_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

fn check_name(md: &Metadata) -> Option<String> {
    if md.name.is_empty() {
        return Some("name is required".into());
    }
    (go_base(&md.name) != md.name).then(|| format!("chart name {} is invalid", go_q(&md.name)))
}

fn check_api_version(md: &Metadata) -> Option<String> {
    match md.api_version.as_str() {
        "" => Some("apiVersion is required. The value must be either \"v1\" or \"v2\"".into()),
        "v1" | "v2" => None,
        other => Some(format!(
            "apiVersion '{other}' is not valid. The value must be either \"v1\" or \"v2\""
        )),
    }
}

fn check_version(md: &Metadata) -> Option<String> {
    if md.version.is_empty() {
        return Some("version is required".into());
    }
    let Ok(v) = SemverVersion::parse(&md.version) else {
        return Some(format!("version '{}' is not a valid SemVer", md.version));
    };
    // The constraint `>0.0.0-0`: only 0.0.0-0 itself fails.
    let floor = SemverVersion::parse("0.0.0-0").expect("a valid version");
    (v.compare(&floor) != std::cmp::Ordering::Greater)
        .then(|| format!("version {} is less than or equal to 0.0.0-0", v.string()))
}

/// Masterminds `StrictNewVersion`: exactly SemVer 2.0.0.
fn is_strict_semver(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
            .expect("valid regex")
    })
    .is_match(s)
}

fn check_maintainers(md: &Metadata) -> Option<String> {
    for m in &md.maintainers {
        let Some(m) = m else {
            return Some("a maintainer entry is empty".into());
        };
        if m.name.is_empty() {
            return Some("each maintainer requires a name".into());
        }
        if !m.email.is_empty() && !is_email(&m.email) {
            return Some(format!(
                "invalid email '{}' for maintainer '{}'",
                m.email, m.name
            ));
        }
        if !m.url.is_empty() && !is_url(&m.url) {
            return Some(format!(
                "invalid url '{}' for maintainer '{}'",
                m.url, m.name
            ));
        }
    }
    None
}

fn check_sources(md: &Metadata) -> Option<String> {
    md.sources
        .iter()
        .find(|s| s.is_empty() || !is_request_url(s))
        .map(|s| format!("invalid source URL '{s}'"))
}

fn check_type(md: &Metadata) -> Option<String> {
    (!md.chart_type.is_empty() && md.api_version != "v2").then(|| {
        format!(
            "chart type is not valid in apiVersion '{}'. It is valid in apiVersion 'v2'",
            md.api_version
        )
    })
}

fn check_dependencies(md: &Metadata) -> Option<String> {
    let n = md.dependencies.as_ref().map_or(0, |d| d.len());
    (n > 0 && md.api_version != "v2").then(|| {
        format!(
            "dependencies are not valid in the Chart file with apiVersion '{}'. They are valid in apiVersion 'v2'",
            md.api_version
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strict SemVer 2 rejects what Masterminds' loose parser accepts.
    #[test]
    fn strict_semver() {
        assert!(is_strict_semver("1.2.3-rc.1+b5"));
        assert!(!is_strict_semver("v1.2.3"));
        assert!(!is_strict_semver("1.2"));
        assert!(!is_strict_semver("01.2.3"));
    }

    /// Repeated keys are found per mapping, with go-yaml's line numbers.
    #[test]
    fn duplicates() {
        let t =
            "name: a\nmaintainers:\n  - name: x\n    email: y\n  - name: z\n    name: w\nname: b\n";
        assert_eq!(
            duplicate_keys(t).as_deref(),
            Some(
                "yaml: unmarshal errors:\n  line 6: key \"name\" already set in map\n  line 7: key \"name\" already set in map"
            )
        );
        assert_eq!(duplicate_keys("a: |\n  a: 1\n  a: 2\nb: 1\n"), None);
    }

    /// filepath.Base as Go computes it.
    #[test]
    fn base() {
        assert_eq!(go_base("foo/bar"), "bar");
        assert_eq!(go_base("foo/"), "foo");
        assert_eq!(go_base("foo"), "foo");
    }
}
