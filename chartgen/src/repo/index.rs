//! Building a chart repository's `index.yaml` from the chart archives in a directory, as
//! `helm repo index DIR [--url URL] [--merge FILE]` does: archives found at the top level
//! and one directory down, each listed with its Chart.yaml metadata, `urls`, `created` and
//! `digest` (sha256 of the archive), versions newest first.
//!
//! One difference from Helm, for reproducible repositories: with `--merge`, an entry whose
//! name, version and digest are unchanged keeps its `created` time from the merged index.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::funcs::SemverVersion as Version;
use crate::value::{Map, Value};

/// How to build the index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Absolute URL the archives are served under (`--url`); empty: relative paths.
    pub url: Option<String>,
    /// An existing index to merge into (`--merge`); its entries stay unless a local archive
    /// has the same name and version.
    pub merge: Option<PathBuf>,
    /// Time written as `generated` and as `created` of new entries.
    pub now: DateTime<Utc>,
}

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The index to merge is not a valid index file.
    #[error("{path}: {message}")]
    BadIndex {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An archive's metadata is invalid.
    #[error("validate failed for {file}: {message}")]
    Invalid {
        /// The archive, relative to the directory.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// The index text (YAML) and the archives that were skipped because they are not charts.
#[derive(Debug, Clone)]
pub struct Index {
    /// `index.yaml` contents.
    pub yaml: String,
    /// Archives (relative paths) that could not be loaded as charts, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Go's `time.Time` JSON form in UTC: RFC 3339 with trailing zeros of the fraction dropped.
pub fn go_time(t: &DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

fn archives(dir: &Path) -> Result<Vec<String>, IndexError> {
    let io = |path: &Path, source| IndexError::Io {
        path: path.display().to_string(),
        source,
    };
    let list = |d: &Path| -> Result<Vec<(String, bool)>, IndexError> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(d).map_err(|e| io(d, e))? {
            let e = e.map_err(|e| io(d, e))?;
            let is_dir = std::fs::metadata(e.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
            v.push((e.file_name().to_string_lossy().into_owned(), is_dir));
        }
        v.sort();
        Ok(v)
    };
    let mut top = Vec::new();
    let mut nested = Vec::new();
    for (name, is_dir) in list(dir)? {
        if is_dir {
            for (sub, sub_is_dir) in list(&dir.join(&name))? {
                if !sub_is_dir && sub.ends_with(".tgz") {
                    nested.push(format!("{name}/{sub}"));
                }
            }
        } else if name.ends_with(".tgz") {
            top.push(name);
        }
    }
    top.extend(nested);
    Ok(top)
}

fn join_url(base: &str, rel: &str) -> String {
    if base.is_empty() {
        return rel.to_string();
    }
    format!("{}/{}", base.trim_end_matches('/'), rel)
}

fn field<'a>(m: &'a Map, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn version_order(a: &Value, b: &Value) -> Ordering {
    let ver = |v: &Value| match v {
        Value::Map(m) => field(&m.borrow(), "version").and_then(|s| Version::parse(s).ok()),
        _ => None,
    };
    match (ver(a), ver(b)) {
        (Some(x), Some(y)) => y.compare(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn load_merge(path: &Path) -> Result<Map, IndexError> {
    let bad = |message: String| IndexError::BadIndex {
        path: path.display().to_string(),
        message,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => {
            return Err(IndexError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let v = crate::yaml::parse_values(&text).map_err(|e| bad(e.to_string()))?;
    let Value::Map(m) = v else {
        return Err(bad("not an index file (expected a map)".into()));
    };
    let m = m.borrow();
    if m.get("apiVersion").and_then(Value::as_str).is_none() && !m.is_empty() {
        return Err(bad("no API version specified".into()));
    }
    match m.get("entries") {
        None | Some(Value::Nil) => Ok(Map::new()),
        Some(Value::Map(e)) => Ok(e.borrow().clone()),
        Some(_) => Err(bad("entries is not a map".into())),
    }
}

/// Build the index of the chart archives in `dir`.
pub fn index_dir(dir: &Path, opts: &IndexOptions) -> Result<Index, IndexError> {
    let base = opts.url.clone().unwrap_or_default();
    let old = match &opts.merge {
        Some(p) => load_merge(p)?,
        None => Map::new(),
    };
    let now = Value::str(go_time(&opts.now));
    let mut entries: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    let mut skipped = Vec::new();
    for rel in archives(dir)? {
        let path = dir.join(&rel);
        let raw = std::fs::read(&path).map_err(|source| IndexError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let chart = match crate::chart::load_archive(&raw) {
            Ok(c) => c,
            Err(e) => {
                skipped.push((rel, e.to_string()));
                continue;
            }
        };
        let mut md = chart.metadata;
        md.validate().map_err(|message| IndexError::Invalid {
            file: rel.clone(),
            message,
        })?;
        let digest = hex(&Sha256::digest(&raw));
        let same = |p: &Value| match p {
            Value::Map(pm) => {
                let pm = pm.borrow();
                (field(&pm, "version") == Some(md.version.as_str())
                    && field(&pm, "digest") == Some(digest.as_str()))
                .then(|| pm.get("created").cloned())
                .flatten()
            }
            _ => None,
        };
        let created = match old.get(&md.name) {
            Some(Value::List(prev)) => prev.items.iter().find_map(same),
            _ => None,
        }
        .unwrap_or_else(|| now.clone());
        let mut entry = match md.to_json_value() {
            Value::Map(m) => m.borrow().clone(),
            _ => Map::new(),
        };
        entry.insert("created".into(), created);
        entry.insert("digest".into(), Value::str(digest));
        entry.insert(
            "urls".into(),
            Value::list(vec![Value::str(join_url(&base, &rel))]),
        );
        entries
            .entry(md.name.clone())
            .or_default()
            .push(Value::map(entry));
    }
    // Entries of the merged index that no local archive replaces.
    let version_of = |v: &Value| match v {
        Value::Map(m) => field(&m.borrow(), "version").map(str::to_string),
        _ => None,
    };
    for (name, prev) in &old {
        let Value::List(prev) = prev else { continue };
        let items = entries.entry(name.clone()).or_default();
        for p in &prev.items {
            let pv = version_of(p);
            if !items.iter().any(|c| version_of(c) == pv) {
                items.push(p.clone());
            }
        }
    }
    let entries: Map = entries
        .into_iter()
        .map(|(name, mut items)| {
            items.sort_by(version_order);
            (name, Value::list(items))
        })
        .collect();
    let mut top = Map::new();
    top.insert("apiVersion".into(), Value::str("v1"));
    top.insert("entries".into(), Value::map(entries));
    top.insert("generated".into(), now);
    let yaml = crate::yaml::to_yaml(&Value::map(top)).map_err(|message| IndexError::BadIndex {
        path: dir.join("index.yaml").display().to_string(),
        message,
    })?;
    Ok(Index { yaml, skipped })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's time JSON drops trailing zeros of the fraction, and the fraction when zero.
    #[test]
    fn go_time_format() {
        let t = DateTime::from_timestamp(1_795_387_987, 723_666_000).expect("time");
        assert_eq!(go_time(&t), "2026-11-22T22:53:07.723666Z");
        let t = DateTime::from_timestamp(1_795_387_987, 0).expect("time");
        assert_eq!(go_time(&t), "2026-11-22T22:53:07Z");
    }

    /// URLs join the base with exactly one slash.
    #[test]
    fn urls() {
        assert_eq!(join_url("", "a-1.tgz"), "a-1.tgz");
        assert_eq!(join_url("https://x/c/", "a-1.tgz"), "https://x/c/a-1.tgz");
        assert_eq!(
            join_url("https://x/c", "sub/a-1.tgz"),
            "https://x/c/sub/a-1.tgz"
        );
    }
}
