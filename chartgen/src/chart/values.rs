//! Values: reading values files, merging user values, coalescing them over chart defaults
//! (with globals and null deletion), and Helm's dependency processing (conditions, tags,
//! aliases, import-values).

use std::rc::Rc;

use super::Chart;
use crate::funcs::is_compatible_range;
use crate::profile::Profile;
use crate::value::{Map, MapRef, Value};

/// Coalescing context: which Helm's rules apply, and the warnings Helm logs on stderr.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// The lines Helm logs, as the profile's Helm prints them ([`crate::helmlog`]).
    pub warnings: Vec<String>,
    /// Helm 3 rules: a user null always deletes, import-values keep their v3 quirks.
    pub helm3: bool,
    /// Helm 4.3: nulls in a chart's own values.yaml are dropped ([`Profile::drop_chart_nulls`]).
    pub drop_chart_nulls: bool,
    /// Helm v3.11's import-values ([`Profile::v3_11_quirks`]), and its log lines.
    pub import_values_v311: bool,
}

/// Where Helm 3 logs a warning: its source file and line in v3.21.4 and in v3.11.1.
struct Site(&'static str, u32, u32);

impl Log {
    pub fn new(profile: &Profile) -> Log {
        Log {
            warnings: Vec::new(),
            helm3: profile.helm3(),
            drop_chart_nulls: profile.drop_chart_nulls,
            import_values_v311: profile.v3_11_quirks,
        }
    }

    /// A coalescing warning (Go `log.Printf` in coalesce.go): Helm 4 logs it through slog at
    /// INFO, Helm 3 with its file and line.
    fn coalesce(&mut self, site: Site, text: String) {
        let line = if self.helm3 {
            self.go_line(&site, &text)
        } else {
            crate::helmlog::slog_line("INFO", &text, &[])
        };
        self.warnings.push(line);
    }

    /// A dependency-processing warning: Helm 4's `slog.Warn` message and attributes, Helm 3's
    /// `log.Printf` text.
    fn dependency(&mut self, msg: &str, attrs: &[(&str, &str)], site: Site, v3_text: String) {
        let line = if self.helm3 {
            self.go_line(&site, &v3_text)
        } else {
            crate::helmlog::slog_line("WARN", msg, attrs)
        };
        self.warnings.push(line);
    }

    fn go_line(&self, site: &Site, text: &str) -> String {
        let n = if self.import_values_v311 {
            site.2
        } else {
            site.1
        };
        crate::helmlog::go_log_line(site.0, n, text)
    }
}

fn fmt_v(v: &Value) -> String {
    crate::template::fmt::format_v(v)
}

fn as_map(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn new_map() -> MapRef {
    MapRef::new(Map::new())
}

/// Split a multi-document YAML stream like k8s.io's YAMLReader: a line starting with `---`
/// ends a document (only spaces or a comment may follow the separator).
pub fn split_yaml_documents(text: &str) -> Result<Vec<String>, String> {
    Ok(split_documents(text)?
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// [`split_yaml_documents`] without copying: each document is the run of lines between two
/// separator lines, so a slice of `text`.
fn split_documents(text: &str) -> Result<Vec<&str>, String> {
    let mut docs = Vec::new();
    // Most files have no separator at all (`contains` is a fast vectorized search).
    if !text.contains("---") {
        if !text.is_empty() {
            docs.push(text);
        }
        return Ok(docs);
    }
    let mut start = 0;
    let mut line = 0;
    while line < text.len() {
        let line_end = text[line..].find('\n').map_or(text.len(), |e| line + e + 1);
        if text[line..line_end].starts_with("---") {
            let trimmed = text[line + 3..line_end].trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(format!("invalid Yaml document separator: {trimmed}"));
            }
            if start < line {
                docs.push(&text[start..line]);
            }
            start = line_end;
        }
        line = line_end;
    }
    if start < text.len() {
        docs.push(&text[start..]);
    }
    Ok(docs)
}

/// Read a values file (`values.yaml`, `-f`): every document is a map, deep-merged in order.
/// Errors are Helm's text after the file-specific prefix.
pub fn load_values(text: &str) -> Result<Value, String> {
    let docs = split_documents(text).map_err(|e| format!("error reading yaml document: {e}"))?;
    load_documents(docs)
}

/// Helm 3's reading of a values file with more than one document: only the first (leading
/// documents holding nothing but comments do not count). `None` when there is at most one
/// document, which reads as [`load_values`] reads it.
pub fn first_document_values(text: &str) -> Result<Option<Value>, String> {
    if !text.contains("---") {
        return Ok(None);
    }
    let docs = split_documents(text).map_err(|e| format!("error reading yaml document: {e}"))?;
    let blank = |d: &str| {
        d.lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    };
    let mut docs = docs.into_iter().skip_while(|d| blank(d));
    let Some(first) = docs.next() else {
        return Ok(None);
    };
    if docs.next().is_none() {
        return Ok(None);
    }
    load_documents(vec![first]).map(Some)
}

/// Each document read as a map and deep-merged in order.
fn load_documents(docs: Vec<&str>) -> Result<Value, String> {
    let mut values: Option<Value> = None;
    for doc in docs {
        let v = crate::yaml::parse_any(doc).map_err(|e| {
            format!("cannot unmarshal yaml document: error converting YAML to JSON: {e}")
        })?;
        let v = match v {
            Value::Map(_) => v,
            Value::Nil => Value::empty_map(),
            Value::List(_) => {
                return Err("cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}".into());
            }
            Value::String(_) => {
                return Err("cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}".into());
            }
            Value::Bool(_) => {
                return Err("cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal bool into Go value of type map[string]interface {}".into());
            }
            _ => {
                return Err("cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go value of type map[string]interface {}".into());
            }
        };
        // Merging the first document into an empty map would only copy it.
        values = Some(match values {
            None => v,
            Some(acc) => merge_maps(&acc, &v),
        });
    }
    Ok(values.unwrap_or_else(Value::empty_map))
}

/// Helm's `MergeMaps`: a new map with `b` deep-merged over `a` (maps merge, others replace).
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    let mut out: Map = as_map(a).map(|m| m.borrow().clone()).unwrap_or_default();
    if let Some(bm) = as_map(b) {
        for (k, v) in bm.borrow().iter() {
            if let Value::Map(_) = v
                && let Some(existing @ Value::Map(_)) = out.get(k)
            {
                let merged = merge_maps(existing, v);
                out.insert(k.clone(), merged);
                continue;
            }
            out.insert(k.clone(), v.clone());
        }
    }
    Value::map(out)
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Helm's `CoalesceValues`: user values (copied) over the chart's defaults, recursively into
/// subcharts, with nulls deleting chart defaults.
pub fn coalesce_values(log: &mut Log, chart: &Chart, vals: &Value) -> Result<Value, String> {
    let copy = match vals {
        Value::Map(_) => vals.deep_copy(),
        _ => Value::empty_map(),
    };
    let m = as_map(&copy).expect("copy is a map").clone();
    coalesce(log, chart, &m, "", false)?;
    Ok(Value::Map(m))
}

/// Helm's `MergeValues`: like coalescing but nulls are kept.
pub fn merge_values(log: &mut Log, chart: &Chart, vals: &Value) -> Result<Value, String> {
    let copy = match vals {
        Value::Map(_) => vals.deep_copy(),
        _ => Value::empty_map(),
    };
    let m = as_map(&copy).expect("copy is a map").clone();
    coalesce(log, chart, &m, "", true)?;
    Ok(Value::Map(m))
}

fn coalesce(
    log: &mut Log,
    ch: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
) -> Result<(), String> {
    coalesce_chart_values(log, ch, dest, prefix, merge);
    coalesce_deps(log, ch, dest, prefix, merge)
}

fn coalesce_deps(
    log: &mut Log,
    ch: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
) -> Result<(), String> {
    for sub in &ch.dependencies {
        let name = sub.name();
        let existing = dest.borrow().get(name).cloned();
        let dvmap = match existing {
            None => {
                let m = new_map();
                dest.borrow_mut()
                    .insert(name.to_string(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(m)) => m,
            Some(other) => {
                return Err(format!(
                    "type mismatch on {name}: %!t({}={})",
                    other.type_name(),
                    fmt_v(&other)
                ));
            }
        };
        let sub_prefix = concat_prefix(prefix, ch.name());
        coalesce_globals(log, &dvmap, dest, &sub_prefix);
        coalesce(log, sub, &dvmap, &sub_prefix, merge)?;
    }
    Ok(())
}

fn coalesce_globals(log: &mut Log, dest: &MapRef, src: &MapRef, prefix: &str) {
    let dg = match dest.borrow().get("global") {
        None => new_map(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => {
            log.coalesce(
                Site("coalesce.go", 138, 105),
                "warning: skipping globals because destination global is not a table.".into(),
            );
            return;
        }
    };
    let sg = match src.borrow().get("global") {
        None => new_map(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => {
            log.coalesce(
                Site("coalesce.go", 145, 112),
                "warning: skipping globals because source global is not a table.".into(),
            );
            return;
        }
    };
    if Rc::ptr_eq(&dg, &sg) {
        dest.borrow_mut().insert("global".into(), Value::Map(dg));
        return;
    }
    let entries: Vec<(String, Value)> = sg
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        if let Value::Map(vm) = &val {
            let vv: MapRef = MapRef::new(vm.borrow().clone());
            let existing = dg.borrow().get(&key).cloned();
            match existing {
                None => {
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(Value::Map(destv)) => {
                    let sub_prefix = concat_prefix(prefix, &key);
                    coalesce_tables(log, &vv, &destv, &sub_prefix, true);
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(_) => {
                    log.coalesce(
                        Site("coalesce.go", 161, 128),
                        format!(
                            "Conflict: cannot merge map onto non-map for {}. Skipping.",
                            super::strvals::go_quote(&key)
                        ),
                    );
                }
            }
        } else {
            let is_table = matches!(dg.borrow().get(&key), Some(Value::Map(_)));
            if is_table {
                log.coalesce(
                    Site("coalesce.go", 175, 139),
                    format!("key {key} is table. Skipping"),
                );
            } else {
                dg.borrow_mut().insert(key, val);
            }
        }
    }
    dest.borrow_mut().insert("global".into(), Value::Map(dg));
}

fn coalesce_chart_values(log: &mut Log, ch: &Chart, v: &MapRef, prefix: &str, merge: bool) {
    let sub_prefix = concat_prefix(prefix, ch.name());
    let vc = ch.values.deep_copy();
    let Some(vc) = as_map(&vc) else { return };
    let entries: Vec<(String, Value)> = vc
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let existing = v.borrow().get(&key).cloned();
        match existing {
            Some(Value::Nil) if !merge => {
                v.borrow_mut().remove(&key);
            }
            Some(Value::Map(dest)) => match &val {
                Value::Map(src) => {
                    let merge = merge || ch.dependencies.iter().any(|d| d.name() == key);
                    if log.drop_chart_nulls && !merge {
                        remove_nils(src);
                    }
                    coalesce_tables(log, &dest, src, &concat_prefix(&sub_prefix, &key), merge);
                }
                Value::Nil => {}
                _ => log.coalesce(
                    Site("coalesce.go", 237, 175),
                    format!("warning: skipped value for {sub_prefix}.{key}: Not a table."),
                ),
            },
            Some(_) => {}
            None => {
                if log.drop_chart_nulls && !merge {
                    match &val {
                        Value::Nil => continue,
                        Value::Map(sub) => remove_nils(sub),
                        _ => {}
                    }
                }
                v.borrow_mut().insert(key, val);
            }
        }
    }
}

/// Helm 4.3's `cleanNilValues`: removes null entries from a map and its nested maps.
fn remove_nils(m: &MapRef) {
    let mut m = m.borrow_mut();
    m.retain(|_, v| !v.is_nil());
    for v in m.values() {
        if let Value::Map(sub) = v {
            remove_nils(sub);
        }
    }
}

/// Helm's `coalesceTablesFullKey`: `src` fills gaps in `dst`; `dst` wins.
fn coalesce_tables(log: &mut Log, dst: &MapRef, src: &MapRef, prefix: &str, merge: bool) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    if log.helm3 {
        coalesce_tables_v3(log, dst, src, prefix);
        return;
    }
    let src_non_nil: Vec<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nils: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for k in dst_nils {
        src.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let full = concat_prefix(prefix, &key);
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(dv) => {
                if let Value::Map(vm) = &val {
                    if let Value::Map(dm) = &dv {
                        coalesce_tables(log, dm, vm, &full, merge);
                    } else {
                        log.coalesce(
                            Site("coalesce.go", 316, 220),
                            format!(
                                "warning: cannot overwrite table with non table for {full} ({})",
                                fmt_v(&val)
                            ),
                        );
                    }
                } else if matches!(dv, Value::Map(_)) && !val.is_nil() {
                    log.coalesce(Site("coalesce.go", 319, 223), format!(
                        "warning: destination for {full} is a table. Ignoring non-table value ({})",
                        fmt_v(&val)
                    ));
                }
            }
        }
    }
}

/// Helm 3.11's `coalesceTablesFullKey`: a nil in `dst` always deletes the key.
fn coalesce_tables_v3(log: &mut Log, dst: &MapRef, src: &MapRef, prefix: &str) {
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let full = concat_prefix(prefix, &key);
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(dv) => {
                if let Value::Map(vm) = &val {
                    if let Value::Map(dm) = &dv {
                        coalesce_tables_v3(log, dm, vm, &full);
                    } else {
                        log.coalesce(
                            Site("coalesce.go", 316, 220),
                            format!(
                                "warning: cannot overwrite table with non table for {full} ({})",
                                fmt_v(&val)
                            ),
                        );
                    }
                } else if matches!(dv, Value::Map(_)) && !val.is_nil() {
                    log.coalesce(Site("coalesce.go", 319, 223), format!(
                        "warning: destination for {full} is a table. Ignoring non-table value ({})",
                        fmt_v(&val)
                    ));
                }
            }
        }
    }
}

/// Helm's exported `CoalesceTables(dst, src)`: `src` fills what `dst` lacks, a null in `dst`
/// deletes the key; both are deep-copied first. Warnings go to `log` (`helm lint`).
pub fn coalesce_tables_copy(log: &mut Log, dst: &Value, src: &Value) -> Value {
    tables(log, &dst.deep_copy(), &src.deep_copy(), false)
}

/// `CoalesceTables(dst, src)` on fresh handles (`merge` = keep nulls).
fn tables(log: &mut Log, dst: &Value, src: &Value, merge: bool) -> Value {
    match (dst, src) {
        (Value::Map(d), Value::Map(s)) => {
            coalesce_tables(log, d, s, "", merge);
            dst.clone()
        }
        (Value::Map(_), _) => dst.clone(),
        _ => src.clone(),
    }
}

/// Why a `Values.Table` or `Values.PathValue` lookup failed; Display is Helm's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A path element is missing or not a map (`ErrNoTable`).
    #[error("{} is not a table", super::strvals::go_quote(.0))]
    NoTable(String),
    /// The last element is missing or a map (`ErrNoValue`).
    #[error("{} is not a value", super::strvals::go_quote(.0))]
    NoValue(String),
    #[error("YAML path cannot be empty")]
    EmptyPath,
}

/// `Values.Table("a.b")`: the nested map at a dotted path (`v` itself for no element).
pub fn table_at(v: &Value, path: &str) -> Result<Value, PathError> {
    let mut cur = v.clone();
    for part in path.split('.') {
        let next = match &cur {
            Value::Map(m) => match m.borrow().get(part) {
                Some(x @ Value::Map(_)) => x.clone(),
                _ => return Err(PathError::NoTable(part.to_string())),
            },
            _ => return Err(PathError::NoTable(part.to_string())),
        };
        cur = next;
    }
    Ok(cur)
}

/// [`table_at`] without the reason.
pub fn table(v: &Value, path: &str) -> Option<Value> {
    table_at(v, path).ok()
}

/// `Values.PathValue`: the non-table value at a dotted path.
pub fn path_value_at(v: &Value, path: &str) -> Result<Value, PathError> {
    if path.is_empty() {
        return Err(PathError::EmptyPath);
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (
            table_at(v, p).map_err(|_| PathError::NoValue(k.to_string()))?,
            k,
        ),
        None => (v.clone(), path),
    };
    let found = match &parent {
        Value::Map(m) => m.borrow().get(key).cloned(),
        _ => None,
    };
    match found {
        Some(Value::Map(_)) | None => Err(PathError::NoValue(key.to_string())),
        Some(x) => Ok(x),
    }
}

fn path_value(v: &Value, path: &str) -> Option<Value> {
    path_value_at(v, path).ok()
}

/// Helm's `ProcessDependencies`: drop disabled subcharts (conditions, tags), apply aliases,
/// then process `import-values`.
pub fn process_dependencies(log: &mut Log, c: &mut Chart, v: &Value) -> Result<(), String> {
    process_dependency_enabled(log, c, v, "")?;
    process_dependency_import_values(log, c)
}

fn process_dependency_enabled(
    log: &mut Log,
    c: &mut Chart,
    v: &Value,
    path: &str,
) -> Result<(), String> {
    let Some(reqs) = c.metadata.dependencies.as_mut() else {
        return Ok(());
    };
    let existing = std::mem::take(&mut c.dependencies);
    let mut chart_deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !reqs
                .iter()
                .flatten()
                .any(|r| e.name() == r.name && is_compatible_range(&r.version, &e.metadata.version))
        })
        .cloned()
        .collect();
    for req in reqs.iter_mut().flatten() {
        if let Some(found) = existing.iter().find(|e| {
            e.name() == req.name && is_compatible_range(&req.version, &e.metadata.version)
        }) {
            let mut out = found.clone();
            if !req.alias.is_empty() {
                out.metadata.name = req.alias.clone();
            }
            chart_deps.push(out);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for r in reqs.iter_mut().flatten() {
        r.enabled = true;
    }
    let cvals = coalesce_values(log, c, v)?;
    let reqs = c.metadata.dependencies.as_mut().expect("checked above");
    // Tags.
    if let Some(Value::Map(vt)) = table(&cvals, "tags") {
        let vt = vt.borrow();
        for r in reqs.iter_mut().flatten() {
            let (mut has_true, mut has_false) = (false, false);
            for k in &r.tags {
                match vt.get(k) {
                    Some(Value::Bool(true)) => has_true = true,
                    Some(Value::Bool(false)) => has_false = true,
                    Some(_) => log.dependency(
                        "returned non-bool value",
                        &[("tag", k), ("chart", &r.name)],
                        Site("dependencies.go", 95, 81),
                        format!(
                            "Warning: Tag '{k}' for chart {} returned non-bool value",
                            r.name
                        ),
                    ),
                    None => {}
                }
            }
            r.enabled = has_true || !has_false;
        }
    }
    // Conditions.
    for r in reqs.iter_mut().flatten() {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(vv) = path_value(&cvals, &format!("{path}{cond}")) {
                if let Value::Bool(b) = vv {
                    r.enabled = b;
                    break;
                }
                log.dependency(
                    "returned non-bool value",
                    &[("path", cond), ("chart", &r.name)],
                    Site("dependencies.go", 64, 49),
                    format!(
                        "Warning: Condition path '{cond}' for chart {} returned non-bool value",
                        r.name
                    ),
                );
            }
        }
    }
    let rm: Vec<String> = reqs
        .iter()
        .flatten()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    let mut cd: Vec<Chart> = std::mem::take(&mut c.dependencies)
        .into_iter()
        .filter(|d| !rm.iter().any(|n| n == d.name()))
        .collect();
    let kept: Vec<Option<super::metadata::Dependency>> = reqs
        .iter()
        .filter(|r| r.as_ref().is_some_and(|r| !rm.contains(&r.name)))
        .cloned()
        .collect();
    for t in cd.iter_mut() {
        let sub = format!("{path}{}.", t.name());
        process_dependency_enabled(log, t, &cvals, &sub)?;
    }
    c.metadata.dependencies = if kept.is_empty() { None } else { Some(kept) };
    c.dependencies = cd;
    Ok(())
}

fn process_dependency_import_values(log: &mut Log, c: &mut Chart) -> Result<(), String> {
    for d in c.dependencies.iter_mut() {
        process_dependency_import_values(log, d)?;
    }
    process_import_values(log, c)
}

fn path_to_map(path: &str, data: Value) -> Value {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), cur);
        cur = Value::map(m);
    }
    cur
}

fn process_import_values(log: &mut Log, c: &mut Chart) -> Result<(), String> {
    if c.metadata.dependencies.is_none() {
        return Ok(());
    }
    let cvals = if log.import_values_v311 {
        coalesce_values(log, c, &Value::Nil)?
    } else {
        merge_values(log, c, &Value::Nil)?
    };
    let mut b = Value::empty_map();
    let reqs = c.metadata.dependencies.as_mut().expect("checked above");
    for r in reqs.iter_mut().flatten() {
        let mut out = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(iv) => {
                    let (child, parent) = {
                        let iv = iv.borrow();
                        let s = |k: &str| match iv.get(k) {
                            None | Some(Value::Nil) => "<nil>".to_string(),
                            Some(v) => fmt_v(v),
                        };
                        (s("child"), s("parent"))
                    };
                    let mut m = Map::new();
                    m.insert("child".into(), Value::str(child.as_str()));
                    m.insert("parent".into(), Value::str(parent.as_str()));
                    out.push(Value::map(m));
                    match table_at(&cvals, &format!("{}.{child}", r.name)) {
                        Err(e) => {
                            let e = e.to_string();
                            log.dependency(
                                "ImportValues missing table from chart",
                                &[("chart", &r.name), ("error", &e)],
                                Site("dependencies.go", 270, 247),
                                format!(
                                    "Warning: ImportValues missing table from chart {}: {e}",
                                    r.name
                                ),
                            );
                        }
                        Ok(vv) => {
                            let pm = path_to_map(&parent, vv);
                            // Helm 3.11 merged into the chart's values here, dropping
                            // earlier imports.
                            let into = if log.import_values_v311 {
                                cvals.clone()
                            } else {
                                b.clone()
                            };
                            b = tables(log, &into, &pm, true);
                        }
                    }
                }
                Value::String(s) => {
                    let child = format!("exports.{s}");
                    let mut m = Map::new();
                    m.insert("child".into(), Value::str(child.as_str()));
                    m.insert("parent".into(), Value::str("."));
                    out.push(Value::map(m));
                    match table_at(&cvals, &format!("{}.{child}", r.name)) {
                        Err(e) => {
                            let e = e.to_string();
                            log.dependency(
                                "ImportValues missing table",
                                &[("error", &e)],
                                Site("dependencies.go", 287, 260),
                                format!("Warning: ImportValues missing table: {e}"),
                            );
                        }
                        Ok(vm) => b = tables(log, &b, &vm, true),
                    }
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    let copied = if log.import_values_v311 {
        cvals
    } else {
        cvals.deep_copy()
    };
    c.values = tables(log, &copied, &b, true);
    Ok(())
}
