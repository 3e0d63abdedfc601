//! HTTP chart repositories: `index.yaml` fetched and read as Helm reads it, a chart chosen by
//! version or range, its archive downloaded from the entry's first URL (relative URLs
//! resolved against the repository URL) and checked against the entry's `digest`.

use std::path::Path;

use super::{Fetched, Options, SourceError, block_on, check_archive, sha256_digest, version};
use crate::value::Value;

/// One chart version of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Chart version.
    pub version: String,
    /// Download URLs (the first is used).
    pub urls: Vec<String>,
    /// sha256 hex of the archive, when the index gives one.
    pub digest: Option<String>,
}

/// A repository index: chart name to its versions.
#[derive(Debug, Clone, Default)]
pub struct RepoIndex {
    /// Entries by chart name.
    pub entries: std::collections::BTreeMap<String, Vec<IndexEntry>>,
}

/// Read an `index.yaml` (YAML or JSON) as Helm's `loadIndex` does; `source` names it in
/// errors.
pub fn parse_index(data: &[u8], source: &str) -> Result<RepoIndex, SourceError> {
    let bad = |m: &str| SourceError::msg(format!("{source}: {m}"));
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("empty index.yaml file"));
    }
    let text = std::str::from_utf8(data).map_err(|_| bad("index is not UTF-8 text"))?;
    let v = crate::yaml::parse_values(text).map_err(|e| bad(&e.to_string()))?;
    let Value::Map(m) = v else {
        return Err(bad("not an index file (expected a map)"));
    };
    let m = m.borrow();
    if m.get("apiVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(bad("no API version specified"));
    }
    let mut index = RepoIndex::default();
    let Some(Value::Map(entries)) = m.get("entries") else {
        return Ok(index);
    };
    for (name, list) in entries.borrow().iter() {
        let Value::List(list) = list else {
            return Err(bad(&format!("entries.{name} is not a list")));
        };
        let mut versions = Vec::new();
        for item in &list.items {
            let Value::Map(e) = item else { continue };
            let e = e.borrow();
            let Some(ver) = e.get("version").and_then(Value::as_str) else {
                continue;
            };
            let urls = match e.get("urls") {
                Some(Value::List(u)) => u
                    .items
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let digest = e
                .get("digest")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
                .map(str::to_string);
            versions.push(IndexEntry {
                version: ver.to_string(),
                urls,
                digest,
            });
        }
        index.entries.insert(name.clone(), versions);
    }
    Ok(index)
}

/// Resolve a chart URL against the repository URL (Helm's `ResolveReferenceURL`).
pub fn resolve_url(repo_url: &str, chart_url: &str) -> Result<String, SourceError> {
    let base = reqwest::Url::parse(&format!("{}/", repo_url.trim_end_matches('/')))
        .map_err(|e| SourceError::msg(format!("failed to parse {repo_url} as URL: {e}")))?;
    base.join(chart_url)
        .map(|u| u.to_string())
        .map_err(|e| SourceError::msg(format!("failed to parse {chart_url} as URL: {e}")))
}

fn read(path: &Path) -> Result<Vec<u8>, SourceError> {
    std::fs::read(path).map_err(|e| SourceError::io(path, e))
}

/// A reqwest client with the TLS options of `opts`.
pub(crate) fn client(opts: &Options) -> Result<reqwest::Client, SourceError> {
    super::crypto();
    let tls = |e: reqwest::Error| SourceError::Http {
        context: "can't create TLS config for client".into(),
        source: e,
    };
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("chartgen/", env!("CARGO_PKG_VERSION")))
        .danger_accept_invalid_certs(opts.insecure_skip_tls_verify);
    for der in super::fallback_roots() {
        b = b.tls_certs_merge([reqwest::Certificate::from_der(der).map_err(tls)?]);
    }
    if let Some(ca) = &opts.ca_file {
        for c in reqwest::Certificate::from_pem_bundle(&read(ca)?).map_err(tls)? {
            b = b.add_root_certificate(c);
        }
    }
    if let (Some(cert), Some(key)) = (&opts.cert_file, &opts.key_file) {
        let mut pem = read(cert)?;
        pem.extend_from_slice(&read(key)?);
        b = b.identity(reqwest::Identity::from_pem(&pem).map_err(tls)?);
    }
    b.build().map_err(tls)
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok().and_then(|u| {
        u.host_str()
            .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
    })
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    opts: &Options,
    send_auth: bool,
) -> Result<Vec<u8>, SourceError> {
    let mut req = client.get(url);
    if send_auth && let Some(user) = &opts.username {
        req = req.basic_auth(user, opts.password.as_deref());
    }
    let fail = |e: reqwest::Error| SourceError::Http {
        context: format!("failed to fetch {url}"),
        source: e,
    };
    let resp = req.send().await.map_err(fail)?;
    let status = resp.status();
    if !status.is_success() {
        let reason = status.canonical_reason().unwrap_or("");
        return Err(SourceError::msg(format!(
            "failed to fetch {url} : {} {reason}",
            status.as_u16()
        )));
    }
    Ok(resp.bytes().await.map_err(fail)?.to_vec())
}

/// Download `repo_url`'s `index.yaml` (raw bytes, checked to be an index).
pub fn download_index(repo_url: &str, opts: &Options) -> Result<Vec<u8>, SourceError> {
    let c = client(opts)?;
    let url = format!("{}/index.yaml", repo_url.trim_end_matches('/'));
    let data = block_on(get(&c, &url, opts, true))?.map_err(|e| {
        SourceError::msg(format!(
            "looks like {repo_url:?} is not a valid chart repository or cannot be reached: {}",
            chain(&e)
        ))
    })?;
    parse_index(&data, &url).map_err(|e| {
        SourceError::msg(format!(
            "looks like {repo_url:?} is not a valid chart repository or cannot be reached: {e}"
        ))
    })?;
    Ok(data)
}

/// An error and its causes on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Choose `name` at `opts.version` in an index.
pub fn find<'a>(
    index: &'a RepoIndex,
    name: &str,
    want: &str,
    repo_url: &str,
) -> Result<&'a IndexEntry, SourceError> {
    let mut what = format!("chart {name:?}");
    if !want.is_empty() {
        what = format!("{what} version {want:?}");
    }
    let not_found = || SourceError::msg(format!("{what} not found in {repo_url} repository"));
    let versions = index.entries.get(name).ok_or_else(not_found)?;
    let all: Vec<String> = versions.iter().map(|v| v.version.clone()).collect();
    let chosen = version::select(&all, want)
        .map_err(|_| not_found())?
        .ok_or_else(not_found)?;
    let entry = versions
        .iter()
        .find(|v| v.version == chosen)
        .ok_or_else(not_found)?;
    if entry.urls.is_empty() {
        return Err(SourceError::msg(format!("{what} has no downloadable URLs")));
    }
    Ok(entry)
}

/// Fetch chart `name` from the repository at `repo_url`.
pub fn fetch_chart(repo_url: &str, name: &str, opts: &Options) -> Result<Fetched, SourceError> {
    let index_bytes = download_index(repo_url, opts)?;
    let index = parse_index(&index_bytes, repo_url)?;
    fetch_from_index(&index, repo_url, name, opts)
}

/// Fetch chart `name` listed in `index` (of the repository at `repo_url`).
pub fn fetch_from_index(
    index: &RepoIndex,
    repo_url: &str,
    name: &str,
    opts: &Options,
) -> Result<Fetched, SourceError> {
    let entry = find(index, name, &opts.version, repo_url)?;
    let url = resolve_url(repo_url, &entry.urls[0])?;
    let same_host = host_of(&url) == host_of(repo_url);
    let c = client(opts)?;
    let archive = block_on(get(&c, &url, opts, same_host || opts.pass_credentials))??;
    let digest = sha256_digest(&archive);
    if let Some(want) = &entry.digest {
        let want = format!("sha256:{}", want.trim_start_matches("sha256:"));
        if want != digest {
            return Err(SourceError::Digest {
                what: url,
                expected: want,
                actual: digest,
            });
        }
    }
    let (chart_name, chart_version) = check_archive(&archive, &url)?;
    Ok(Fetched {
        name: chart_name,
        version: chart_version,
        archive,
        digest,
        manifest_digest: None,
        origin: url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative chart URLs resolve under the repository path; absolute ones stay.
    #[test]
    fn urls() {
        assert_eq!(
            resolve_url("http://h/charts", "a-1.tgz").expect("works"),
            "http://h/charts/a-1.tgz"
        );
        assert_eq!(
            resolve_url("http://h/charts/", "sub/a-1.tgz").expect("works"),
            "http://h/charts/sub/a-1.tgz"
        );
        assert_eq!(
            resolve_url("http://h/charts", "https://o/x/a-1.tgz").expect("works"),
            "https://o/x/a-1.tgz"
        );
    }

    /// An index that is not YAML, has no apiVersion, or is empty is refused in one line.
    #[test]
    fn bad_indexes() {
        for (text, want) in [
            ("", "empty index.yaml file"),
            ("entries: {}\n", "no API version specified"),
            ("apiVersion: v1\nentries: [\n", "idx:"),
            ("- a\n- b\n", "idx:"),
        ] {
            let e = parse_index(text.as_bytes(), "idx")
                .expect_err("fails")
                .to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    /// A range picks the newest matching entry; a missing version names what was asked.
    #[test]
    fn find_versions() {
        let idx = parse_index(
            b"apiVersion: v1\nentries:\n  a:\n  - version: 0.2.0\n    urls: [a-0.2.0.tgz]\n  - version: 0.1.1\n    urls: [a-0.1.1.tgz]\n",
            "idx",
        )
        .expect("works");
        assert_eq!(
            find(&idx, "a", "~0.1", "u").expect("works").version,
            "0.1.1"
        );
        assert_eq!(find(&idx, "a", "", "u").expect("works").version, "0.2.0");
        let e = find(&idx, "a", "9.9.9", "http://r")
            .expect_err("fails")
            .to_string();
        assert_eq!(
            e,
            "chart \"a\" version \"9.9.9\" not found in http://r repository"
        );
    }
}
