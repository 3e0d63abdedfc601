//! Packaging a chart into a chart archive (`helm package`): the files Helm keeps after
//! `.helmignore`, `Chart.yaml` rewritten from its metadata (keys sorted, empty fields left
//! out), subcharts stored as directories under `charts/`.
//!
//! The archive is reproducible: every entry gets the same mode (0644), owner (0/0) and
//! modification time (the caller's, e.g. `SOURCE_DATE_EPOCH`), and the gzip header carries
//! no time or name, so packaging the same chart twice gives the same bytes and digest.

use std::path::Path;

use super::load::{archive_files, dir_files, load_from_files};
use super::{ChartError, Metadata};

/// Chart files: (chart-relative path, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// What to override while packaging (`helm package --version/--app-version`).
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// Replaces `version` in Chart.yaml.
    pub version: Option<String>,
    /// Replaces `appVersion` in Chart.yaml.
    pub app_version: Option<String>,
    /// Modification time of every entry, seconds since the Unix epoch.
    pub mtime: u64,
}

/// A packaged chart.
#[derive(Debug, Clone)]
pub struct Package {
    /// `<name>-<version>.tgz`.
    pub file_name: String,
    /// The chart's metadata as packaged (overrides applied).
    pub metadata: Metadata,
    /// The gzip'd tar archive.
    pub bytes: Vec<u8>,
}

/// Package the chart in directory `dir`.
pub fn package_dir(dir: &Path, opts: &PackageOptions) -> Result<Package, ChartError> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        ChartError::msg(super::load::go_io_error(
            "stat",
            &dir.display().to_string(),
            &e,
        ))
    })?;
    if !meta.is_dir() {
        return Err(ChartError::msg(format!(
            "{} is not a chart directory (chartgen package takes a directory)",
            dir.display()
        )));
    }
    package_files(dir_files(dir)?, opts)
}

/// Package a chart given as (chart-relative path, bytes) pairs, `.helmignore` already applied.
pub fn package_files(files: Files, opts: &PackageOptions) -> Result<Package, ChartError> {
    let mut metadata = load_from_files(files.clone())?.metadata;
    if let Some(v) = &opts.version {
        metadata.version = v.clone();
    }
    if let Some(v) = &opts.app_version {
        metadata.app_version = v.clone();
    }
    metadata
        .validate()
        .map_err(|e| ChartError::msg(format!("validation: {e}")))?;
    let mut entries = Vec::new();
    chart_entries(&metadata.name, &metadata, files, &mut entries)?;
    let bytes = write_archive(&entries, opts.mtime)
        .map_err(|e| ChartError::msg(format!("cannot write chart archive: {e}")))?;
    Ok(Package {
        file_name: format!("{}-{}.tgz", metadata.name, metadata.version),
        metadata,
        bytes,
    })
}

/// Is `name` one of the files Helm writes itself rather than copying?
fn is_special(name: &str, api_version: &str) -> bool {
    match name {
        "Chart.yaml" | "Chart.lock" | "values.yaml" | "values.schema.json" => true,
        "requirements.yaml" | "requirements.lock" => api_version != "v1",
        _ => name.starts_with("templates/") || is_subchart_file(name),
    }
}

/// Files under `charts/` other than `.prov` files: subcharts (a directory or a `.tgz`), or
/// entries starting with `_` or `.`, which Helm's loader drops.
fn is_subchart_file(name: &str) -> bool {
    name.starts_with("charts/") && !name.ends_with(".prov")
}

/// The archive entries of one chart under `base`, in Helm's order: Chart.yaml, Chart.lock,
/// values.yaml, values.schema.json, templates, other files, then each subchart.
fn chart_entries(
    base: &str,
    metadata: &Metadata,
    files: Files,
    out: &mut Files,
) -> Result<(), ChartError> {
    let chart_yaml = crate::yaml::to_yaml(&metadata.to_json_value())
        .map_err(|e| ChartError::msg(format!("cannot write Chart.yaml: {e}")))?;
    out.push((format!("{base}/Chart.yaml"), chart_yaml.into_bytes()));
    for name in ["Chart.lock", "values.yaml", "values.schema.json"] {
        if let Some((_, data)) = files.iter().find(|(n, _)| n == name) {
            out.push((format!("{base}/{name}"), data.clone()));
        }
    }
    for (n, data) in files.iter().filter(|(n, _)| n.starts_with("templates/")) {
        out.push((format!("{base}/{n}"), data.clone()));
    }
    for (n, data) in files
        .iter()
        .filter(|(n, _)| !is_special(n, &metadata.api_version))
    {
        out.push((format!("{base}/{n}"), data.clone()));
    }
    // Subcharts, grouped by their entry under charts/ (a directory or an archive).
    let mut groups: Vec<(String, Files)> = Vec::new();
    for (n, data) in files.into_iter().filter(|(n, _)| is_subchart_file(n)) {
        let rest = &n["charts/".len()..];
        let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if head.starts_with('_') || head.starts_with('.') {
            continue;
        }
        match groups.iter_mut().find(|(h, _)| h == head) {
            Some((_, g)) => g.push((tail.to_string(), data)),
            None => groups.push((head.to_string(), vec![(tail.to_string(), data)])),
        }
    }
    for (head, group) in groups {
        let sub_files = if head.ends_with(".tgz") && group.len() == 1 && group[0].0.is_empty() {
            archive_files(&group[0].1)
                .map_err(|e| ChartError::msg(format!("error unpacking subchart {head}: {e}")))?
        } else {
            group
        };
        let sub = load_from_files(sub_files.clone())
            .map_err(|e| ChartError::msg(format!("error unpacking subchart {head}: {e}")))?;
        let sub_base = format!("{base}/charts/{}", sub.metadata.name);
        chart_entries(&sub_base, &sub.metadata, sub_files, out)?;
    }
    Ok(())
}

fn write_archive(entries: &[(String, Vec<u8>)], mtime: u64) -> std::io::Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(data.len() as u64);
        tar.append_data(&mut h, name, data.as_slice())?;
    }
    tar.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(extra: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        let mut files = vec![
            (
                "Chart.yaml".to_string(),
                b"name: demo\nversion: 1.0.0\napiVersion: v2\n".to_vec(),
            ),
            ("values.yaml".to_string(), b"a: 1\n".to_vec()),
            (
                "templates/cm.yaml".to_string(),
                b"kind: ConfigMap\n".to_vec(),
            ),
            ("README.md".to_string(), b"hi\n".to_vec()),
        ];
        files.extend(
            extra
                .iter()
                .map(|(n, d)| (n.to_string(), d.as_bytes().to_vec())),
        );
        files
    }

    fn names(p: &Package) -> Vec<String> {
        archive_names(&p.bytes)
    }

    fn archive_names(bytes: &[u8]) -> Vec<String> {
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        ar.entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect()
    }

    /// Entries come in Helm's order under a top directory named after the chart.
    #[test]
    fn helm_entry_order() {
        let p = package_files(chart(&[]), &PackageOptions::default()).expect("package");
        assert_eq!(p.file_name, "demo-1.0.0.tgz");
        assert_eq!(
            names(&p),
            [
                "demo/Chart.yaml",
                "demo/values.yaml",
                "demo/templates/cm.yaml",
                "demo/README.md"
            ]
        );
    }

    /// Packaging twice gives the same bytes; another mtime gives other bytes.
    #[test]
    fn reproducible() {
        let o = PackageOptions {
            mtime: 1_700_000_000,
            ..Default::default()
        };
        let a = package_files(chart(&[]), &o).expect("a");
        let b = package_files(chart(&[]), &o).expect("b");
        assert_eq!(a.bytes, b.bytes);
        let c = package_files(chart(&[]), &PackageOptions::default()).expect("c");
        assert_ne!(a.bytes, c.bytes);
    }

    /// --version and --app-version rewrite Chart.yaml; a bad version is refused.
    #[test]
    fn overrides() {
        let o = PackageOptions {
            version: Some("2.0.0".into()),
            app_version: Some("9".into()),
            ..Default::default()
        };
        let p = package_files(chart(&[]), &o).expect("package");
        assert_eq!(p.file_name, "demo-2.0.0.tgz");
        let files = archive_files(&p.bytes).expect("unpack");
        let cy = String::from_utf8(files[0].1.clone()).expect("utf8");
        assert_eq!(
            cy,
            "apiVersion: v2\nappVersion: \"9\"\nname: demo\nversion: 2.0.0\n"
        );
        let bad = PackageOptions {
            version: Some("abc".into()),
            ..Default::default()
        };
        let e = package_files(chart(&[]), &bad).expect_err("bad version");
        assert_eq!(
            e.to_string(),
            "validation: chart.metadata.version \"abc\" is invalid"
        );
    }

    /// A subchart directory is stored under charts/<its name>/ with its own Chart.yaml rewritten;
    /// `.prov` files stay, hidden entries under charts/ are dropped as Helm's loader drops them.
    #[test]
    fn subchart_directory() {
        let p = package_files(
            chart(&[
                ("charts/sub/Chart.yaml", "version: 0.1.0\nname: sub\n"),
                ("charts/sub/templates/x.yaml", "x: 1\n"),
                ("charts/.hidden", "dropped\n"),
                ("charts/sub.prov", "kept\n"),
            ]),
            &PackageOptions::default(),
        )
        .expect("package");
        let n = names(&p);
        assert!(!n.contains(&"demo/charts/.hidden".to_string()), "{n:?}");
        assert!(n.contains(&"demo/charts/sub.prov".to_string()), "{n:?}");
        assert!(
            n.contains(&"demo/charts/sub/Chart.yaml".to_string()),
            "{n:?}"
        );
        assert!(
            n.contains(&"demo/charts/sub/templates/x.yaml".to_string()),
            "{n:?}"
        );
        let files = archive_files(&p.bytes).expect("unpack");
        let sub = files
            .iter()
            .find(|(f, _)| f == "charts/sub/Chart.yaml")
            .expect("sub Chart.yaml");
        assert_eq!(sub.1, b"apiVersion: v1\nname: sub\nversion: 0.1.0\n");
    }
}
