//! Render a chart into the stream `helm template` prints: values pipeline, one shared
//! template set in Helm's parse order, per-file execution, manifest splitting, hook
//! separation, kind ordering and `---\n# Source:` framing.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};
use regex::Regex;

use crate::chart::objects::{Capabilities, Files, HelmVersion, KubeVersion};
use crate::chart::strvals::{self, ValueMode};
use crate::chart::values::{self, Log};
use crate::chart::{Chart, schema};
use crate::funcs;
use crate::profile::Profile;
use crate::template::{ExecEnv, LintNote, Lookup, OfflineLookup, TemplateSet};
use crate::value::{Map, MapKind, MapRef, Value};

/// `helm template` options; `Default` gives helm template's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub release_name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_upgrade: bool,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// User values merged before the `-f` files (e.g. values built by a program).
    pub base_values: Option<Value>,
    pub values_files: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_file: Vec<String>,
    pub set_json: Vec<String>,
    pub set_literal: Vec<String>,
    pub show_only: Vec<String>,
    pub include_crds: bool,
    pub skip_tests: bool,
    pub no_hooks: bool,
    pub skip_schema_validation: bool,
    /// The Helm release reproduced (`--helm-version`).
    pub profile: &'static Profile,
    /// Fixed clock for `now` (tests); None = the current time.
    pub now: Option<DateTime<FixedOffset>>,
    /// Lint mode (`helm lint`): `fail`/`required` do not stop rendering, and the
    /// install-time checks (chart type, missing dependencies, release name) are skipped.
    pub lint: bool,
    /// Skip freeing parse trees and values when a render returns: for a process that exits
    /// right after rendering (the `chartgen` command), where freeing is about a twentieth of
    /// the work. Leaks memory otherwise.
    pub skip_free: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            release_name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
            kube_version: None,
            api_versions: Vec::new(),
            base_values: None,
            values_files: Vec::new(),
            set: Vec::new(),
            set_string: Vec::new(),
            set_file: Vec::new(),
            set_json: Vec::new(),
            set_literal: Vec::new(),
            show_only: Vec::new(),
            include_crds: false,
            skip_tests: false,
            no_hooks: false,
            skip_schema_validation: false,
            profile: Profile::DEFAULT,
            now: None,
            lint: false,
            skip_free: false,
        }
    }
}

/// A render failure; Display is exactly what Helm prints after `Error: `.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderError {
    /// Helm's message.
    pub message: String,
    /// Helm had a partial release: it appends a hint about `--debug`.
    pub partial: bool,
    /// Warnings Helm would have logged before failing.
    pub warnings: Vec<String>,
    /// What `helm template --debug` prints on stdout for a partial release: the rendered
    /// files (for a YAML error in them), else empty.
    pub manifest: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.partial {
            write!(
                f,
                "{}\n\nUse --debug flag to render out invalid YAML",
                self.message
            )
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for RenderError {}

fn err(m: impl Into<String>) -> RenderError {
    RenderError {
        message: m.into(),
        partial: false,
        warnings: Vec::new(),
        manifest: String::new(),
    }
}

fn partial(m: impl Into<String>) -> RenderError {
    RenderError {
        message: m.into(),
        partial: true,
        warnings: Vec::new(),
        manifest: String::new(),
    }
}

/// Build the user-supplied values (Helm's `MergeValues`): `-f` files, then `--set-json`,
/// `--set`, `--set-string`, `--set-file`, `--set-literal`, each in order.
pub fn user_values(opts: &Options) -> Result<Value, RenderError> {
    let mut base = match &opts.base_values {
        Some(v @ Value::Map(_)) => v.deep_copy(),
        _ => Value::empty_map(),
    };
    for f in &opts.values_files {
        let name = f.display().to_string();
        let raw = if name.trim() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| err(format!("read -: {e}")))?;
            s
        } else {
            let bytes = std::fs::read(f)
                .map_err(|e| err(crate::chart::load_go_io_error("open", &name, &e)))?;
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let read = |raw: &str| {
            if opts.profile.helm3() {
                // Helm 3 reads the first document only.
                values::first_document_values(raw)?.map_or_else(|| values::load_values(raw), Ok)
            } else {
                values::load_values(raw)
            }
        };
        let cur = read(&raw).map_err(|e| err(format!("failed to parse {name}: {e}")))?;
        base = values::merge_maps(&base, &cur);
    }
    for v in &opts.set_json {
        let t = v.trim();
        if t.starts_with('{') && opts.profile.set_json_objects {
            let parsed: serde_json::Value = serde_json::from_str(t)
                .map_err(|_| err(format!("failed parsing --set-json data JSON: {v}")))?;
            let jm = strvals::json_to_value(&parsed);
            if !matches!(jm, Value::Map(_)) {
                return Err(err(format!("failed parsing --set-json data JSON: {v}")));
            }
            base = values::merge_maps(&base, &jm);
        } else {
            strvals::parse_into(v, &base, ValueMode::Json)
                .map_err(|_| err(format!("failed parsing --set-json data {v}")))?;
        }
    }
    for v in &opts.set {
        strvals::parse_into(v, &base, ValueMode::Typed)
            .map_err(|e| err(format!("failed parsing --set data: {e}")))?;
    }
    for v in &opts.set_string {
        strvals::parse_into(v, &base, ValueMode::String)
            .map_err(|e| err(format!("failed parsing --set-string data: {e}")))?;
    }
    let reader = |p: &str| -> Result<Value, String> {
        if p.trim() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| e.to_string())?;
            return Ok(Value::str(s));
        }
        std::fs::read(p)
            .map(|b| Value::str(crate::value::go_string(&b)))
            .map_err(|e| crate::chart::load_go_io_error("open", p, &e))
    };
    for v in &opts.set_file {
        strvals::parse_into(v, &base, ValueMode::File(&reader))
            .map_err(|e| err(format!("failed parsing --set-file data: {e}")))?;
    }
    for v in &opts.set_literal {
        strvals::parse_into(v, &base, ValueMode::Literal)
            .map_err(|e| err(format!("failed parsing --set-literal data: {e}")))?;
    }
    Ok(base)
}

/// Helm's release name pattern (a DNS-1123 subdomain), as its error message quotes it.
const RELEASE_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// True if `name` matches [`RELEASE_NAME_PATTERN`]: dot-separated labels of `[-a-z0-9]`
/// that neither start nor end with `-`.
fn is_release_name(name: &str) -> bool {
    name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    })
}

/// Helm's `ValidateReleaseName`; the error is the text after `release name "<n>": `.
pub fn validate_release_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("no name provided".into());
    }
    if name.len() > 53 || !is_release_name(name) {
        return Err(format!(
            "invalid release name, must match regex {RELEASE_NAME_PATTERN} and the length must not be longer than 53"
        ));
    }
    Ok(())
}

/// Everything prepared before templates run.
struct Prepared {
    chart: Chart,
    top: Value,
    caps: Rc<Capabilities>,
    profile: &'static Profile,
    log: Log,
}

fn prepare(chart: &Chart, opts: &Options) -> Result<Prepared, RenderError> {
    let kube = match &opts.kube_version {
        Some(k) if !k.is_empty() => Some(
            KubeVersion::parse_for(k, opts.profile)
                .map_err(|e| err(format!("invalid kube version '{k}': {e}")))?,
        ),
        _ => None,
    };
    let vals = user_values(opts)?;
    if !opts.lint {
        install_checks(chart, opts)?;
    }
    let mut log = Log::new(opts.profile);
    let mut chart = chart.clone();
    if opts.profile.helm3() {
        first_documents_only(&mut chart);
    }
    // In lint mode Helm gives up silently on these two (an empty message says so).
    let quiet = |e: String| if opts.lint { err("") } else { err(e) };
    values::process_dependencies(&mut log, &mut chart, &vals)
        .map_err(|e| quiet(format!("chart dependencies processing failed: {e}")))?;
    let caps = Rc::new(Capabilities::new(opts.profile, kube, &opts.api_versions));
    let coalesced = values::coalesce_values(&mut log, &chart, &vals).map_err(quiet)?;
    if !opts.skip_schema_validation {
        let mut sb = String::new();
        validate_schemas(&chart, &coalesced, !opts.skip_free, &mut sb);
        if !sb.is_empty() {
            return Err(err(format!(
                "values don't meet the specifications of the schema(s) in the following chart(s):\n{sb}"
            )));
        }
    }
    let mut release = Map::new();
    release.insert("Name".into(), Value::str(opts.release_name.as_str()));
    release.insert("Namespace".into(), Value::str(opts.namespace.as_str()));
    release.insert("IsUpgrade".into(), Value::Bool(opts.is_upgrade));
    release.insert("IsInstall".into(), Value::Bool(!opts.is_upgrade));
    release.insert("Revision".into(), Value::Int(opts.revision));
    release.insert("Service".into(), Value::str("Helm"));
    let mut top = Map::new();
    top.insert("Release".into(), Value::map(release));
    top.insert("Capabilities".into(), Value::Object(caps.clone()));
    top.insert("Values".into(), coalesced);
    Ok(Prepared {
        chart,
        top: Value::map(top),
        caps,
        profile: opts.profile,
        log,
    })
}

/// Helm 3 reads only the first document of each chart's values.yaml.
fn first_documents_only(chart: &mut Chart) {
    if let Some(v) = chart.values_first_document.take() {
        chart.values = v;
    }
    for d in &mut chart.dependencies {
        first_documents_only(d);
    }
}

/// The checks `helm template` makes before rendering that `helm lint` does not.
fn install_checks(chart: &Chart, opts: &Options) -> Result<(), RenderError> {
    match chart.metadata.chart_type.as_str() {
        "" | "application" => {}
        t => return Err(err(format!("{t} charts are not installable"))),
    }
    let missing: Vec<&str> = chart
        .metadata
        .deps()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(err(format!(
            "{}: found in Chart.yaml, but missing in charts/ directory: {}",
            opts.profile.missing_dependencies,
            missing.join(", ")
        )));
    }
    // Helm 4 refuses charts of the next chart API; Helm 3 renders them as v2.
    if chart.metadata.api_version == "v3" && !opts.profile.helm3() {
        return Err(err("invalid chart apiVersion"));
    }
    if let Err(e) = validate_release_name(&opts.release_name) {
        // Helm 4 wraps the check's error; Helm 3 returns it as is.
        let prefix = if opts.profile.helm3() {
            ""
        } else {
            "release name check failed: "
        };
        return Err(err(format!(
            "{prefix}release name {}: {e}",
            strvals::go_quote(&opts.release_name)
        )));
    }
    Ok(())
}

fn validate_schemas(chart: &Chart, values: &Value, free: bool, sb: &mut String) {
    if let Some(s) = &chart.schema
        && let Err(e) = schema::validate_then(values, s, free)
    {
        sb.push_str(&format!("{}:\n{e}", chart.name()));
    }
    for sub in &chart.dependencies {
        let raw = match values {
            Value::Map(m) => m.borrow().get(sub.name()).cloned(),
            _ => None,
        };
        match raw {
            None | Some(Value::Nil) => {}
            Some(v @ Value::Map(_)) => validate_schemas(sub, &v, free, sb),
            Some(other) => sb.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
}

/// The `.Values` the root chart's templates would see (user values processed for
/// dependencies, coalesced over the chart defaults, schema-checked).
pub fn coalesced_values(chart: &Chart, opts: &Options) -> Result<Value, RenderError> {
    let p = prepare(chart, opts)?;
    match &p.top {
        Value::Map(m) => Ok(m.borrow().get("Values").cloned().unwrap_or(Value::Nil)),
        _ => Ok(Value::Nil),
    }
}

/// One template file to parse (and maybe execute).
struct Renderable {
    text: Rc<[u8]>,
    vals: MapRef,
    base_path: String,
}

fn chart_value(chart: &Chart, is_root: bool, helm: HelmVersion) -> Value {
    match helm {
        HelmVersion::V4 => {
            let v = chart.metadata.to_value();
            if let Value::Map(m) = &v {
                m.borrow_mut().insert("IsRoot".into(), Value::Bool(is_root));
            }
            v
        }
        HelmVersion::V3 => Value::Object(Rc::new(chart.metadata.go_struct(is_root))),
    }
}

/// Helm's Go type for the template data and `.Values` (`common.Values` in v4).
fn values_kind(helm: HelmVersion) -> MapKind {
    match helm {
        HelmVersion::V4 => MapKind::Values,
        HelmVersion::V3 => MapKind::ValuesV3,
    }
}

/// A values map typed as Helm's `Values`.
fn as_values(v: Value, helm: HelmVersion) -> Value {
    match v {
        Value::Map(m) => Value::Map(m.with_kind(values_kind(helm))),
        other => other,
    }
}

fn all_templates(
    chart: &Chart,
    parent: &MapRef,
    full_path: &str,
    is_root: bool,
    profile: &Profile,
    out: &mut BTreeMap<String, Renderable>,
) -> MapRef {
    let (helm, quirks_v311) = (profile.family, profile.v3_11_quirks);
    let subcharts: MapRef = MapRef::new(Map::new());
    let mut next = Map::new();
    next.insert("Chart".into(), chart_value(chart, is_root, helm));
    let files = if quirks_v311 {
        Files::new_helm3(&chart.files)
    } else {
        Files::new(&chart.files)
    };
    next.insert("Files".into(), Value::Object(Rc::new(files)));
    {
        let p = parent.borrow();
        next.insert(
            "Release".into(),
            p.get("Release").cloned().unwrap_or(Value::Nil),
        );
        next.insert(
            "Capabilities".into(),
            p.get("Capabilities").cloned().unwrap_or(Value::Nil),
        );
        let vals = if is_root {
            p.get("Values").cloned().unwrap_or_else(Value::empty_map)
        } else {
            p.get("Values")
                .and_then(|v| values::table(v, chart.name()))
                .unwrap_or_else(Value::empty_map)
        };
        next.insert("Values".into(), as_values(vals, helm));
    }
    next.insert("Subcharts".into(), Value::Map(subcharts.clone()));
    let next: MapRef = MapRef::new(next);
    for child in &chart.dependencies {
        let child_path = format!("{full_path}/charts/{}", child.name());
        let sub = all_templates(child, &next, &child_path, false, profile, out);
        subcharts
            .borrow_mut()
            .insert(child.name().to_string(), Value::Map(sub));
    }
    let library = chart.is_library();
    for t in &chart.templates {
        if library && !t.name.rsplit('/').next().unwrap_or("").starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: t.data.bytes().clone(),
                vals: next.with_kind(values_kind(helm)),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}

/// A template error as the profile's Helm reports it (Helm 3 keeps Go's one-line text).
fn template_message(e: &crate::template::TemplateError, profile: &Profile) -> String {
    if profile.helm3() {
        e.helm3_message()
    } else {
        e.helm_message()
    }
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Render every template file (Helm's `engine.Render`): path -> output, `<no value>` stripped.
fn render_engine(p: &Prepared, opts: &Options) -> Result<BTreeMap<String, String>, RenderError> {
    render_engine_with(p, opts, None)
}

fn render_engine_with(
    p: &Prepared,
    opts: &Options,
    lint_log: Option<Rc<RefCell<Vec<LintNote>>>>,
) -> Result<BTreeMap<String, String>, RenderError> {
    let mut tpls = BTreeMap::new();
    let top: MapRef = match &p.top {
        Value::Map(m) => m.clone(),
        _ => unreachable!("top is a map"),
    };
    all_templates(&p.chart, &top, p.chart.name(), true, p.profile, &mut tpls);
    let mut keys: Vec<&String> = tpls.keys().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    let mut set = TemplateSet::for_profile(opts.profile);
    if let Some(log) = lint_log {
        set.set_lint_log(log);
    }
    for k in &keys {
        let text = crate::chart::text_of(&tpls[*k].text);
        set.add(k, &text)
            .map_err(|e| partial(template_message(&e, opts.profile)))?;
    }
    let lookup = OfflineLookup;
    let env = ExecEnv {
        lookup: &lookup as &dyn Lookup,
        now: opts
            .now
            .unwrap_or_else(|| chrono::Local::now().fixed_offset()),
        profile: opts.profile,
    };
    let mut rendered = BTreeMap::new();
    for k in keys {
        if base_name(k).starts_with('_') {
            continue;
        }
        let r = &tpls[k];
        let mut t = Map::new();
        t.insert("Name".into(), Value::str(k.as_str()));
        t.insert("BasePath".into(), Value::str(r.base_path.as_str()));
        r.vals.borrow_mut().insert("Template".into(), Value::map(t));
        let out = set
            .execute(k, &Value::Map(r.vals.clone()), &env)
            .map_err(|e| partial(template_message(&e, opts.profile)))?;
        let out = if out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        };
        rendered.insert(k.clone(), out);
    }
    if opts.skip_free {
        std::mem::forget(set);
        std::mem::forget(tpls);
    }
    Ok(rendered)
}

/// Render the chart and return each non-partial template's output (path -> text), for
/// callers that want one named file (the iter8 CLI).
pub fn render_files(
    chart: &Chart,
    opts: &Options,
) -> Result<BTreeMap<String, String>, RenderError> {
    let p = prepare(chart, opts)?;
    check_kube_version(&p)?;
    render_engine(&p, opts).map_err(|mut e| {
        e.partial = false;
        e
    })
}

/// What `helm lint`'s template rule gets from Helm's engine in lint mode.
#[derive(Debug, Clone)]
pub struct LintRender {
    /// `Ok(None)`: Helm gave up without a message (dependency or values processing);
    /// `Err`: the message of a values-schema or template error; else path -> output.
    pub files: Result<Option<BTreeMap<String, String>>, String>,
    /// What `fail`/`required` logged instead of failing, in execution order.
    pub notes: Vec<LintNote>,
    /// What the values pipeline logged before rendering (Helm's slog lines).
    pub warnings: Vec<String>,
}

/// Render `chart` as `helm lint` does (`opts.lint` is implied): every template file, with
/// `fail`/`required` non-fatal.
pub fn lint_render(chart: &Chart, opts: &Options) -> LintRender {
    let opts = Options {
        lint: true,
        ..opts.clone()
    };
    let p = match prepare(chart, &opts) {
        Ok(p) => p,
        Err(e) if e.message.is_empty() => {
            return LintRender {
                files: Ok(None),
                notes: Vec::new(),
                warnings: Vec::new(),
            };
        }
        Err(e) => {
            return LintRender {
                files: Err(e.message),
                notes: Vec::new(),
                warnings: Vec::new(),
            };
        }
    };
    let log = Rc::new(RefCell::new(Vec::new()));
    let files = render_engine_with(&p, &opts, Some(log.clone()))
        .map(Some)
        .map_err(|e| e.message);
    let notes = log.borrow().clone();
    // `helm lint` coalesces once more than `helm template` (before ToRenderValues), so the
    // coalescing warnings appear twice.
    let mut warnings = p.log.warnings.clone();
    if let Ok(vals) = user_values(&opts) {
        let mut again = Log::new(opts.profile);
        if values::coalesce_values(&mut again, &p.chart, &vals).is_ok() {
            warnings.extend(again.warnings);
        }
    }
    LintRender {
        files,
        notes,
        warnings,
    }
}

fn check_kube_version(p: &Prepared) -> Result<(), RenderError> {
    let kv = &p.chart.metadata.kube_version;
    let compatible = match p.profile.semver {
        funcs::Semver::V3_2 => funcs::is_compatible_range_helm3,
        _ => funcs::is_compatible_range,
    };
    if !kv.is_empty() && !compatible(kv, p.caps.kube_version.string()) {
        return Err(partial(format!(
            "chart requires kubeVersion: {kv} which is incompatible with Kubernetes {}",
            p.caps.kube_version.version
        )));
    }
    Ok(())
}

/// Go's `[\t\n\f\r ]` (the `\s` of Helm's separator pattern).
fn is_sep_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// The next match of Helm's separator pattern `(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*` in
/// `s` at or after `from` (leftmost-first, as Go's regexp finds it): (start, end).
fn next_separator(s: &[u8], from: usize) -> Option<(usize, usize)> {
    let (start, mut end) = if from == 0 && s.starts_with(b"---") {
        (0, 3)
    } else {
        // The first "\n---" decides: a match ends its whitespace run with that newline,
        // and starts where the run does (not before `from`).
        let nl = from + s[from..].windows(4).position(|w| w == b"\n---")?;
        let mut start = nl;
        while start > from && is_sep_space(s[start - 1]) {
            start -= 1;
        }
        (start, nl + 4)
    };
    while end < s.len() && is_sep_space(s[end]) {
        end += 1;
    }
    Some((start, end))
}

/// Helm's `SplitManifests`: documents of one rendered file, trimmed, empties dropped.
pub fn split_manifests(big: &str) -> Vec<String> {
    let s = big.trim();
    let mut pieces: Vec<&str> = Vec::new();
    if s.is_empty() {
        return Vec::new();
    }
    let bytes = s.as_bytes();
    let mut beg = 0;
    let mut end = 0;
    while let Some((m_start, m_end)) = next_separator(bytes, beg) {
        end = m_start;
        pieces.push(&s[beg..end]);
        beg = m_end;
    }
    if end != s.len() {
        pieces.push(&s[beg..]);
    }
    pieces
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_string())
        .collect()
}

/// Helm 4.2's `SplitManifests` (Helm #32565): separators are `(?m)^---[ \t]*` (a `---` at
/// the start of a line), and each document is only trimmed on the left, so a document keeps
/// its trailing newline and the stream shows a blank line before the next `---`.
pub fn split_manifests_v42(big: &str) -> Vec<String> {
    let s = big.trim_start();
    let bytes = s.as_bytes();
    let mut pieces: Vec<&str> = Vec::new();
    let mut beg = 0;
    // Each `---` at a line start ends a piece; the separator runs to the end of its
    // spaces and tabs (never past the line).
    let starts = bytes
        .starts_with(b"---")
        .then_some(0)
        .into_iter()
        .chain(memchr::memmem::find_iter(bytes, b"\n---").map(|nl| nl + 1));
    for line in starts {
        let mut end = line + 3;
        while end < bytes.len() && matches!(bytes[end], b' ' | b'\t') {
            end += 1;
        }
        pieces.push(&s[beg..line]);
        beg = end;
    }
    pieces.push(&s[beg..]);
    pieces
        .into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim_start().to_string())
        .collect()
}

/// The `SplitManifests` of a Helm release.
fn split_for(profile: &Profile, big: &str) -> Vec<String> {
    if profile.blank_line_before_separator {
        split_manifests_v42(big)
    } else {
        split_manifests(big)
    }
}

fn sort_by_kind<T>(items: &mut [T], kind: impl Fn(&T) -> &str, profile: &Profile) {
    let order = profile.kind_order;
    let rank = |k: &str| order.iter().position(|o| *o == k);
    items.sort_by(|a, b| {
        let (ka, kb) = (kind(a), kind(b));
        match (rank(ka), rank(kb)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ka.cmp(kb),
        }
    });
}

struct Manifest {
    path: String,
    content: String,
    kind: String,
}

struct Hook {
    path: String,
    content: String,
    kind: String,
    test: bool,
    events: Vec<String>,
}

/// A hook document as Helm keeps it apart from the release manifest: its template path, kind,
/// events (`helm.sh/hook`, lower-cased, in annotation order) and text. Hooks come in Helm's
/// order (kind install order, then template order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookManifest {
    /// `<chart>/templates/<file>`.
    pub path: String,
    /// The object's kind.
    pub kind: String,
    /// Its hook events (`pre-install`, `post-upgrade`, ...).
    pub events: Vec<String>,
    /// The document's text.
    pub manifest: String,
}

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        _ => "number",
    }
}

/// Parse a manifest's head (`apiVersion`, `kind`, `metadata.annotations`) like Helm's
/// `SimpleHead`; returns (kind, annotations).
fn simple_head(doc: &str, helm: HelmVersion) -> Result<(String, Vec<(String, String)>), String> {
    let v =
        crate::yaml::parse_head(doc).map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let head_type = match helm {
        HelmVersion::V4 => "util.SimpleHead",
        HelmVersion::V3 => "releaseutil.SimpleHead",
    };
    let prefix = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal";
    let m = match &v {
        Value::Nil => return Ok((String::new(), Vec::new())),
        Value::Map(m) => m.borrow().clone(),
        other => {
            return Err(format!(
                "{prefix} {} into Go value of type {head_type}",
                json_kind(other)
            ));
        }
    };
    let str_field = |v: Option<&Value>, field: &str| -> Result<String, String> {
        match v {
            None | Some(Value::Nil) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.to_string()),
            // sigs.k8s.io/yaml converts scalars for string fields (`name: yes` is "true").
            Some(v @ (Value::Bool(_) | Value::Int(_) | Value::Int64(_) | Value::Float(_))) => {
                Ok(crate::chart::metadata::scalar_to_string(v).unwrap_or_default())
            }
            Some(other) => Err(format!(
                "{prefix} {} into Go struct field SimpleHead.{field} of type string",
                json_kind(other)
            )),
        }
    };
    str_field(m.get("apiVersion"), "apiVersion")?;
    let kind = str_field(m.get("kind"), "kind")?;
    let mut annotations = Vec::new();
    match m.get("metadata") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(md)) => {
            let md = md.borrow();
            str_field(md.get("name"), "metadata.name")?;
            match md.get("annotations") {
                None | Some(Value::Nil) => {}
                Some(Value::Map(a)) => {
                    for (k, v) in a.borrow().iter() {
                        let s = str_field(Some(v), &format!("metadata.annotations.{k}"))?;
                        annotations.push((k.clone(), s));
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "{prefix} {} into Go struct field SimpleHead.metadata.annotations of type map[string]string",
                        json_kind(other)
                    ));
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "{prefix} {} into Go struct field SimpleHead.metadata of type struct {{ Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }}",
                json_kind(other)
            ));
        }
    }
    Ok((kind, annotations))
}

/// Helm's blob of rendered files for `--debug` after a YAML error: each non-empty file as
/// `---\n# Source: <path>\n<content>\n`. Helm walks a Go map (random order); this is sorted.
fn debug_blob(files: &BTreeMap<String, String>) -> String {
    let mut b = String::new();
    for (path, content) in files {
        if base_name(path).starts_with('_') || content.trim().is_empty() {
            continue;
        }
        b.push_str("---\n# Source: ");
        b.push_str(path);
        b.push('\n');
        b.push_str(content);
        b.push('\n');
    }
    b
}

fn sort_manifests(
    files: &BTreeMap<String, String>,
    profile: &Profile,
) -> Result<(Vec<Hook>, Vec<Manifest>), RenderError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        if base_name(path).starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_for(profile, content) {
            let (kind, annotations) = simple_head(&doc, profile.family).map_err(|e| {
                let mut e = partial(format!("YAML parse error on {path}: {e}"));
                e.manifest = debug_blob(files);
                e
            })?;
            let hook = annotations
                .iter()
                .find(|(k, _)| k == "helm.sh/hook")
                .map(|(_, v)| v.clone());
            let Some(hook_types) = hook else {
                generic.push(Manifest {
                    path: path.clone(),
                    content: doc,
                    kind,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for h in hook_types.split(',') {
                let h = h.trim().to_lowercase();
                if !HOOK_EVENTS.contains(&h.as_str()) {
                    unknown = true;
                    break;
                }
                events.push(h);
            }
            if unknown {
                continue;
            }
            let test = events.iter().any(|e| e == "test" || e == "test-success");
            hooks.push(Hook {
                path: path.clone(),
                content: doc,
                kind,
                test,
                events,
            });
        }
    }
    sort_by_kind(&mut generic, |m| &m.kind, profile);
    sort_by_kind(&mut hooks, |h| &h.kind, profile);
    Ok((hooks, generic))
}

/// The `crds/` files of the chart and its subcharts, named by their path from the top chart
/// (`t/charts/sub/crds/a.yaml`) or, as Helm v3.11 names them, in their own chart
/// (`crds/a.yaml`).
fn crd_objects(chart: &Chart, full_path: &str, own_path: bool, out: &mut Vec<(String, Rc<[u8]>)>) {
    for f in &chart.files {
        let lower = f.name.to_lowercase();
        if f.name.starts_with("crds/")
            && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json"))
        {
            let name = if own_path {
                f.name.clone()
            } else {
                format!("{full_path}/{}", f.name)
            };
            out.push((name, f.data.bytes().clone()));
        }
    }
    for d in &chart.dependencies {
        crd_objects(
            d,
            &format!("{full_path}/charts/{}", d.name()),
            own_path,
            out,
        );
    }
}

fn source_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"# Source: [^/]+/(.+)").expect("valid regex"))
}

/// Render a chart exactly as `helm template` prints it on stdout.
pub fn template(chart: &Chart, opts: &Options) -> Result<String, RenderError> {
    template_with_warnings(chart, opts).map(|(s, _)| s)
}

/// One file `helm template --output-dir` writes a document into: its `# Source:` path (under
/// the output directory) and the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub content: String,
    pub kind: OutputKind,
}

/// Where a document of `--output-dir` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A file of a chart's `crds/` (`--include-crds`): never under the release name.
    Crd,
    Manifest,
    /// Helm appends a hook to a file that already exists in the output directory.
    Hook,
}

/// What `helm template --output-dir` writes, in order (CRDs with `--include-crds`, manifests,
/// then hooks), and the warnings Helm logs.
pub fn template_files(
    chart: &Chart,
    opts: &Options,
) -> Result<(Vec<OutputFile>, Vec<String>), RenderError> {
    let (parts, warnings) = render_parts(chart, opts)?;
    let mut files = Vec::new();
    for (path, content) in parts.crds {
        files.push(OutputFile {
            path,
            content,
            kind: OutputKind::Crd,
        });
    }
    for m in parts.manifests {
        files.push(OutputFile {
            path: m.path,
            content: m.content,
            kind: OutputKind::Manifest,
        });
    }
    for h in parts.hooks.into_iter().filter(|h| printed(opts, h)) {
        files.push(OutputFile {
            path: h.path,
            content: h.content,
            kind: OutputKind::Hook,
        });
    }
    Ok((files, warnings))
}

/// The rendered documents before framing.
struct Parts {
    crds: Vec<(String, String)>,
    manifests: Vec<Manifest>,
    /// Every hook, test hooks too (an install records them all); [`printed`] says which
    /// `helm template` prints.
    hooks: Vec<Hook>,
}

/// Whether `helm template` prints hook `h` (not with `--no-hooks`, no tests with `--skip-tests`).
fn printed(opts: &Options, h: &Hook) -> bool {
    !(opts.no_hooks || (opts.skip_tests && h.test))
}

fn render_parts(chart: &Chart, opts: &Options) -> Result<(Parts, Vec<String>), RenderError> {
    let p = prepare(chart, opts)?;
    let with_log = |mut e: RenderError| {
        e.warnings = p.log.warnings.clone();
        e
    };
    check_kube_version(&p).map_err(with_log)?;
    let mut files = render_engine(&p, opts).map_err(with_log)?;
    files.retain(|k, _| !k.ends_with("NOTES.txt"));
    let (hooks, manifests) = sort_manifests(&files, p.profile).map_err(with_log)?;
    let warnings = p.log.warnings.clone();
    if opts.skip_free {
        std::mem::forget(files);
    }
    let mut crds = Vec::new();
    if opts.include_crds {
        let mut raw = Vec::new();
        crd_objects(&p.chart, p.chart.name(), p.profile.v3_11_quirks, &mut raw);
        crds = raw
            .into_iter()
            .map(|(name, data)| (name, String::from_utf8_lossy(&data).into_owned()))
            .collect();
    }
    if opts.skip_free {
        std::mem::forget(p);
    }
    Ok((
        Parts {
            crds,
            manifests,
            hooks,
        },
        warnings,
    ))
}

/// Like [`template`], also returning the warnings Helm logs on stderr.
pub fn template_with_warnings(
    chart: &Chart,
    opts: &Options,
) -> Result<(String, Vec<String>), RenderError> {
    let (parts, warnings) = render_parts(chart, opts)?;
    let out = frame(&parts, opts, &warnings)?;
    Ok((out, warnings))
}

/// What an install or upgrade needs: the release manifest (as [`template`] prints it with
/// `no_hooks`) and the hooks apart, as Helm records them in the release.
pub fn template_with_hooks(
    chart: &Chart,
    opts: &Options,
) -> Result<(String, Vec<HookManifest>), RenderError> {
    let opts = Options {
        no_hooks: true,
        ..opts.clone()
    };
    let (parts, warnings) = render_parts(chart, &opts)?;
    let manifest = frame(&parts, &opts, &warnings)?;
    let hooks = parts
        .hooks
        .into_iter()
        .map(|h| HookManifest {
            path: h.path,
            kind: h.kind,
            events: h.events,
            manifest: h.content,
        })
        .collect();
    Ok((manifest, hooks))
}

/// The parts as `helm template` prints them on stdout (framing, hooks last, `--show-only`).
fn frame(parts: &Parts, opts: &Options, warnings: &[String]) -> Result<String, RenderError> {
    let mut b = String::new();
    for (name, data) in &parts.crds {
        b.push_str("---\n# Source: ");
        b.push_str(name);
        b.push('\n');
        b.push_str(data);
        b.push('\n');
    }
    for m in &parts.manifests {
        b.push_str("---\n# Source: ");
        b.push_str(&m.path);
        b.push('\n');
        b.push_str(&m.content);
        b.push('\n');
    }
    let mut out = String::with_capacity(b.len() + 1);
    out.push_str(b.trim());
    out.push('\n');
    for h in parts.hooks.iter().filter(|h| printed(opts, h)) {
        out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.content));
    }
    if opts.show_only.is_empty() {
        return Ok(out);
    }
    let docs = split_for(opts.profile, &out);
    let mut shown = String::new();
    for f in &opts.show_only {
        let f = f.replace('\\', "/");
        let mut missing = true;
        for m in &docs {
            let Some(c) = source_re().captures(m) else {
                continue;
            };
            let path = c.get(1).map(|x| x.as_str()).unwrap_or("");
            if !crate::chart::ignore::glob_match(&f, path).unwrap_or(false) {
                continue;
            }
            shown.push_str("---\n");
            shown.push_str(m);
            shown.push('\n');
            missing = false;
        }
        if missing {
            let mut e = err(format!("could not find template {f} in chart"));
            e.warnings = warnings.to_vec();
            return Err(e);
        }
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Helm's `SplitManifests` with Go's regexp, as the oracle for the hand-written scanner.
    fn split_with_regex(re: &Regex, big: &str) -> Vec<String> {
        let s = big.trim();
        if s.is_empty() {
            return Vec::new();
        }
        let (mut pieces, mut beg, mut end) = (Vec::new(), 0, 0);
        for m in re.find_iter(s) {
            end = m.start();
            pieces.push(&s[beg..end]);
            beg = m.end();
        }
        if end != s.len() {
            pieces.push(&s[beg..]);
        }
        pieces
            .into_iter()
            .filter(|d| !d.is_empty())
            .map(|d| d.trim().to_string())
            .collect()
    }

    /// The separator scanner splits exactly where Helm's regular expression does, on every
    /// string built from separator-relevant pieces.
    #[test]
    fn split_manifests_matches_helm_regex() {
        let parts = [
            "---", "-", "\n", " ", "\t", "\r", "a", "b: 1", "\x0b", "--- x",
        ];
        let mut cases = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for c in &cases {
                for p in parts {
                    next.push(format!("{c}{p}"));
                }
            }
            cases.extend(next);
            cases.sort();
            cases.dedup();
        }
        assert!(cases.len() > 10_000);
        let re = Regex::new(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*").expect("valid regex");
        for c in &cases {
            assert_eq!(split_manifests(c), split_with_regex(&re, c), "input {c:?}");
        }
    }

    /// Helm 4.2's splitter (separators `(?m)^---[ \t]*`) cuts where its regular expression
    /// does, on every string built from separator-relevant pieces.
    #[test]
    fn split_manifests_v42_matches_helm_regex() {
        let parts = ["---", "-", "\n", " ", "\t", "a", "b: 1", "\r", "--- x"];
        let mut cases = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for c in &cases {
                for p in parts {
                    next.push(format!("{c}{p}"));
                }
            }
            cases.extend(next);
            cases.sort();
            cases.dedup();
        }
        assert!(cases.len() > 5_000);
        let re = Regex::new(r"(?m)^---[ \t]*").expect("valid regex");
        for c in &cases {
            let s = c.trim_start();
            let mut pieces = Vec::new();
            let mut beg = 0;
            for m in re.find_iter(s) {
                pieces.push(&s[beg..m.start()]);
                beg = m.end();
            }
            pieces.push(&s[beg..]);
            let want: Vec<String> = pieces
                .into_iter()
                .filter(|d| !d.trim().is_empty())
                .map(|d| d.trim_start().to_string())
                .collect();
            assert_eq!(split_manifests_v42(c), want, "input {c:?}");
        }
    }

    /// Release names follow Helm's DNS-1123 pattern.
    #[test]
    fn release_names() {
        let re = Regex::new(RELEASE_NAME_PATTERN).expect("valid regex");
        for n in [
            "a", "a-b", "a.b", "-a", "a-", "a..b", ".a", "a.", "A", "a_b", "0", "a.-b", "x-1.y2",
        ] {
            assert_eq!(is_release_name(n), re.is_match(n), "{n}");
        }
    }
}
