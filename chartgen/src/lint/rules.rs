//! The values, templates, dependencies and CRD rules of `helm lint`.

use std::path::Path;

use super::k8s::{Head, check_deprecation, check_name, decode_head, head_of};
use super::{LintOptions, Linted, Severity};
use crate::chart::objects::{HelmVersion, KubeVersion};
use crate::render::{Options, lint_render};
use crate::value::Value;

/// Decode every document of a manifest stream like apimachinery's `YAMLOrJSONDecoder`:
/// a stream starting with `{` is read as JSON values; if the first or second value fails,
/// the rest is read as YAML documents (reporting the JSON error if that fails too). Stops
/// at the first error (`Err` holds the heads decoded before it).
fn heads(text: &str) -> Result<Vec<Head>, (Vec<Head>, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut json_err = None;
    if text.trim_start().starts_with('{') {
        let mut pos = 0;
        // Values decoded so far (nulls included): past one, the stream is surely JSON.
        let mut count = 0;
        loop {
            let mut it =
                serde_json::Deserializer::from_str(&text[pos..]).into_iter::<serde_json::Value>();
            let (err, raw) = match it.next() {
                None => return Ok(out),
                Some(Ok(v)) => {
                    let end = pos + it.byte_offset();
                    match head_of(&crate::yaml::from_serde_json(&v)) {
                        Ok(h) => {
                            out.extend(h);
                            count += 1;
                            pos = end;
                            continue;
                        }
                        Err(e) => {
                            let e = e
                                .strip_prefix("error unmarshaling JSON: while decoding JSON: ")
                                .unwrap_or(&e)
                                .to_string();
                            (e.clone(), e)
                        }
                    }
                }
                Some(Err(e)) => go_json_error(&text[pos..], pos, &e),
            };
            if count > 1 {
                return Err((out, raw));
            }
            json_err = Some(err);
            rest = skip_to_line_end(&text[pos..]);
            break;
        }
    }
    let (docs, bad_separator) = documents(rest);
    for doc in docs {
        match decode_head(&doc) {
            Ok(Some(h)) => out.push(h),
            Ok(None) => {}
            Err(e) => return Err((out, json_err.take().unwrap_or(e))),
        }
        json_err = None;
    }
    match bad_separator {
        Some(e) => Err((out, json_err.take().unwrap_or(e))),
        None => Ok(out),
    }
}

/// apimachinery's `consumeWhitespace`: drop leading whitespace up to and including the
/// first newline.
fn skip_to_line_end(s: &str) -> &str {
    for (i, c) in s.char_indices() {
        if c == '\n' {
            return &s[i + 1..];
        }
        if !c.is_whitespace() {
            return &s[i..];
        }
    }
    ""
}

/// encoding/json's error for a bad streamed value: (as the decoder reports it with its
/// offset, as Go's json package prints it).
fn go_json_error(text: &str, base: usize, e: &serde_json::Error) -> (String, String) {
    if e.is_eof() {
        return ("unexpected EOF".into(), "unexpected EOF".into());
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let at = line_start + e.column().saturating_sub(1);
    let Some(c) = text.get(at..).and_then(|s| s.chars().next()) else {
        return (e.to_string(), e.to_string());
    };
    let prev = text[..at].chars().next_back();
    let what = if prev == Some('-') {
        "in numeric literal"
    } else {
        "looking for beginning of value"
    };
    let msg = format!("invalid character {} {what}", go_char(c));
    (format!("json: offset {}: {msg}", base + at + 1), msg)
}

/// Go's `quoteChar`: `'x'`, with `'\''` and `'\"'` escaped.
fn go_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\\\"'".into(),
        c => {
            let q = crate::chart::strvals::go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// Split a manifest stream like apimachinery's `YAMLReader`: on lines starting with
/// `---` followed by nothing but a comment. The documents before a bad separator, and the
/// reader's error text for it.
fn documents(text: &str) -> (Vec<String>, Option<String>) {
    let mut docs = Vec::new();
    let mut buf = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(after) = line.strip_prefix("---") {
            let rest = after.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return (
                    docs,
                    Some(format!("invalid Yaml document separator: {rest}")),
                );
            }
            if !buf.is_empty() {
                docs.push(std::mem::take(&mut buf));
            }
            continue;
        }
        buf.push_str(line);
    }
    if !buf.is_empty() {
        docs.push(buf);
    }
    (docs, None)
}

/// The values.yaml rule: it parses, and with the user's values on top it satisfies
/// values.schema.json.
pub(super) fn values(l: &mut Linted, dir: &Path, overrides: &Value, opts: &LintOptions) {
    const FILE: &str = "values.yaml";
    let path = dir.join(FILE);
    let exists = std::fs::metadata(&path).is_ok();
    if !l.rule(
        Severity::Info,
        FILE,
        (!exists).then(|| "file does not exist".to_string()),
    ) {
        return;
    }
    let mut warnings = Vec::new();
    let res = check_values_file(dir, &path, overrides, opts, &mut warnings);
    l.log.extend(warnings);
    l.rule(Severity::Error, FILE, res.err());
}

fn check_values_file(
    dir: &Path,
    path: &Path,
    overrides: &Value,
    opts: &LintOptions,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| {
        format!(
            "unable to parse YAML: {}",
            crate::chart::load_go_io_error("read", &path.display().to_string(), &e)
        )
    })?;
    let text = String::from_utf8_lossy(&data);
    let vals = crate::yaml::parse_values(&text).map_err(|e| {
        // Helm decodes into its `common.Values` map type.
        let m = e.helm_message();
        let m = m.replace(
            "Go value of type map[string]interface {}",
            "Go value of type common.Values",
        );
        format!("unable to parse YAML: {m}")
    })?;
    let mut log = crate::chart::values::Log::new(opts.profile);
    let merged =
        crate::chart::values::coalesce_tables_copy(&mut log, &Value::empty_map(), overrides);
    let merged = crate::chart::values::coalesce_tables_copy(&mut log, &merged, &vals);
    warnings.extend(log.warnings.iter().cloned());
    let schema = std::fs::read(dir.join("values.schema.json")).unwrap_or_default();
    if schema.is_empty() || opts.skip_schema_validation {
        return Ok(());
    }
    crate::chart::schema::validate(&merged, &schema)
}

/// The major and minor of the cluster version the deprecation checks use.
fn kube_major_minor(opts: &LintOptions) -> (u32, u32) {
    let kv = opts
        .kube_version
        .as_deref()
        .and_then(|k| KubeVersion::parse(k, HelmVersion::V4).ok())
        .unwrap_or_else(|| KubeVersion::default_for(opts.profile));
    (kv.major.parse().unwrap_or(0), kv.minor.parse().unwrap_or(0))
}

/// The templates rule: the chart renders in lint mode and every YAML output is sound.
pub(super) fn templates(l: &mut Linted, dir: &Path, values: &Value, opts: &LintOptions) {
    const DIR: &str = "templates/";
    let tdir = dir.join("templates");
    let meta = std::fs::metadata(&tdir);
    if matches!(&meta, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
        l.rule(
            Severity::Warning,
            DIR,
            Some("directory does not exist".into()),
        );
        return;
    }
    match &meta {
        Err(e) => {
            let msg = crate::chart::load_go_io_error("stat", &tdir.display().to_string(), e);
            l.rule(Severity::Error, DIR, Some(msg));
            return;
        }
        Ok(m) if !m.is_dir() => {
            l.rule(Severity::Error, DIR, Some("not a directory".into()));
            return;
        }
        Ok(_) => {}
    }
    let chart = match crate::chart::load_dir_v2(dir) {
        Ok(c) => c,
        Err(e) => {
            l.rule(Severity::Error, DIR, Some(e.to_string()));
            return;
        }
    };
    let ropts = Options {
        release_name: "test-release".into(),
        namespace: opts.namespace.clone(),
        kube_version: opts.kube_version.clone(),
        base_values: Some(values.clone()),
        skip_schema_validation: opts.skip_schema_validation,
        lint: true,
        profile: opts.profile,
        ..Options::default()
    };
    let out = lint_render(&chart, &ropts);
    l.log.extend(out.warnings.iter().cloned());
    l.log.extend(out.notes.iter().map(super::slog_line));
    l.notes.extend(out.notes);
    let rendered = match out.files {
        Ok(Some(files)) => files,
        Ok(None) => return,
        Err(e) => {
            l.rule(Severity::Error, DIR, Some(e));
            return;
        }
    };
    let (major, minor) = kube_major_minor(opts);
    for t in &chart.templates {
        let name = t.name.as_str();
        l.rule(Severity::Error, name, check_extension(name));
        let ext = extension(name).to_ascii_lowercase();
        if ext != ".yaml" && ext != ".yml" {
            continue;
        }
        let key = format!("{}/{}", chart.name(), name);
        let content = rendered.get(&key).map(String::as_str).unwrap_or("");
        if content.trim().is_empty() {
            continue;
        }
        l.rule(Severity::Warning, name, check_top_indent(content));
        let (found, error) = match heads(content) {
            Ok(h) => (h, None),
            Err((h, e)) => (h, Some(e)),
        };
        for head in found {
            l.rule(Severity::Warning, name, check_name(&head));
            l.rule(
                Severity::Warning,
                name,
                check_deprecation(&head, major, minor),
            );
            l.rule(Severity::Error, name, check_selector(&head, content));
            l.rule(
                Severity::Error,
                name,
                check_list_annotations(&head, content),
            );
        }
        if let Some(e) = error {
            l.rule(
                Severity::Error,
                name,
                Some(format!("unable to parse YAML: {e}")),
            );
            return;
        }
    }
}

/// Go's `filepath.Ext`.
fn extension(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) => &base[i..],
        None => "",
    }
}

fn check_extension(name: &str) -> Option<String> {
    let ext = extension(name);
    (![".yaml", ".yml", ".tpl", ".txt"].contains(&ext)).then(|| {
        format!("file extension '{ext}' not valid. Valid extensions are .yaml, .yml, .tpl, or .txt")
    })
}

fn check_top_indent(content: &str) -> Option<String> {
    let line = content.lines().find(|l| !l.trim().is_empty())?;
    (line.starts_with(' ') || line.starts_with('\t')).then(|| {
        format!(
            "document starts with an illegal indent: {}, which may cause parsing problems",
            crate::chart::strvals::go_quote(line)
        )
    })
}

fn check_selector(h: &Head, manifest: &str) -> Option<String> {
    let workload = matches!(
        h.kind.as_str(),
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet"
    );
    (workload && !manifest.contains("matchLabels") && !manifest.contains("matchExpressions")).then(
        || {
            format!(
                "a {} must contain matchLabels or matchExpressions, and {} does not",
                h.kind,
                crate::chart::strvals::go_quote(&h.name)
            )
        },
    )
}

fn check_list_annotations(h: &Head, manifest: &str) -> Option<String> {
    if h.kind != "List" {
        return None;
    }
    let v = match crate::yaml::parse_any(manifest) {
        Ok(v) => v,
        Err(e) => return Some(format!("unable to parse YAML: {}", e.helm_message())),
    };
    let get = |v: &Value, key: &str| -> Option<Value> {
        match v {
            Value::Map(m) => {
                let m = m.borrow();
                m.get(key)
                    .or_else(|| {
                        m.iter()
                            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                            .map(|(_, v)| v)
                            .next_back()
                    })
                    .cloned()
            }
            _ => None,
        }
    };
    let Some(Value::List(items)) = get(&v, "Items") else {
        return None;
    };
    let kept = items.items.iter().any(|item| {
        let ann = get(item, "Metadata").and_then(|m| get(&m, "Annotations"));
        matches!(ann, Some(Value::Map(a)) if a.borrow().contains_key("helm.sh/resource-policy"))
    });
    kept.then(|| "annotation 'helm.sh/resource-policy' within List objects are ignored".into())
}

/// The dependencies rule: Chart.yaml's dependencies and `charts/` agree.
pub(super) fn dependencies(l: &mut Linted, dir: &Path) {
    let chart = match crate::chart::load_dir_v2(dir) {
        Ok(c) => c,
        Err(e) => {
            l.rule(
                Severity::Error,
                "",
                Some(format!("unable to load chart\n\t{e}")),
            );
            return;
        }
    };
    let path = dir.display().to_string();
    let declared: Vec<&str> = chart.metadata.deps().map(|d| d.name.as_str()).collect();
    let present: Vec<&str> = chart.dependencies.iter().map(|d| d.name()).collect();
    let undeclared: Vec<&str> = present
        .iter()
        .copied()
        .filter(|p| !declared.contains(p))
        .collect();
    l.rule(
        Severity::Error,
        &path,
        (!undeclared.is_empty()).then(|| {
            format!(
                "chart metadata is missing these dependencies: {}",
                undeclared.join(",")
            )
        }),
    );
    let mut seen: Vec<&str> = Vec::new();
    let mut shadowing: Vec<&str> = Vec::new();
    for d in chart.metadata.deps() {
        let key = if d.alias.is_empty() {
            d.name.as_str()
        } else {
            d.alias.as_str()
        };
        if seen.contains(&key) {
            shadowing.push(key);
        }
        seen.push(key);
    }
    l.rule(
        Severity::Error,
        &path,
        (!shadowing.is_empty()).then(|| {
            format!(
                "multiple dependencies with name or alias: {}",
                shadowing.join(",")
            )
        }),
    );
    let missing: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|d| !present.contains(d))
        .collect();
    l.rule(
        Severity::Warning,
        &path,
        (!missing.is_empty()).then(|| {
            format!(
                "chart directory is missing these dependencies: {}",
                missing.join(",")
            )
        }),
    );
}

/// CRD files of a chart and its subcharts (Helm's `CRDObjects`): name and bytes.
fn crd_files(chart: &crate::chart::Chart, out: &mut Vec<(String, std::rc::Rc<[u8]>)>) {
    for f in &chart.files {
        let ext = extension(&f.name);
        if f.name.starts_with("crds/") && [".yaml", ".yml", ".json"].contains(&ext) {
            out.push((f.name.clone(), f.data.bytes().clone()));
        }
    }
    for d in &chart.dependencies {
        crd_files(d, out);
    }
}

/// The CRD rule: files under `crds/` are plain CustomResourceDefinitions.
pub(super) fn crds(l: &mut Linted, dir: &Path) {
    const DIR: &str = "crds/";
    let cdir = dir.join("crds");
    match std::fs::metadata(&cdir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            let msg = crate::chart::load_go_io_error("stat", &cdir.display().to_string(), &e);
            l.rule(Severity::Error, DIR, Some(msg));
            return;
        }
        Ok(m) if !m.is_dir() => {
            l.rule(Severity::Error, DIR, Some("not a directory".into()));
            return;
        }
        Ok(_) => {}
    }
    let chart = match crate::chart::load_dir_v2(dir) {
        Ok(c) => c,
        Err(e) => {
            l.rule(Severity::Error, DIR, Some(e.to_string()));
            return;
        }
    };
    let mut files = Vec::new();
    crd_files(&chart, &mut files);
    for (name, data) in files {
        let text = String::from_utf8_lossy(&data);
        let (found, error) = match heads(&text) {
            Ok(h) => (h, None),
            Err((h, e)) => (h, Some(e)),
        };
        for head in found {
            l.rule(
                Severity::Error,
                &name,
                (!head.api_version.starts_with("apiextensions.k8s.io"))
                    .then(|| "apiVersion is not in 'apiextensions.k8s.io'".to_string()),
            );
            l.rule(
                Severity::Error,
                &name,
                (head.kind != "CustomResourceDefinition")
                    .then(|| "object kind is not 'CustomResourceDefinition'".to_string()),
            );
        }
        if let Some(e) = error {
            l.rule(
                Severity::Error,
                &name,
                Some(format!("unable to parse YAML: {e}")),
            );
            return;
        }
    }
}
