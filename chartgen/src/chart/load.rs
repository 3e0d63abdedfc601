//! Loading a chart from a directory, a `.tgz` archive or an in-memory file list (Helm's
//! `pkg/chart/v2/loader`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::ignore::Rules;
use super::metadata::Metadata;
use super::values::{first_document_values, load_values};
use super::{Blob, Chart, ChartError, File};
use crate::value::Value;

/// Helm's `MaxDecompressedFileSize`: the largest file of a chart.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Helm's `MaxDecompressedChartSize`: the largest decompressed chart.
pub const MAX_CHART_SIZE: u64 = 100 * 1024 * 1024;
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Go's wording for an I/O error on `path` (`open x: no such file or directory`).
pub(crate) fn go_io_error(op: &str, path: &str, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    };
    format!("{op} {path}: {what}")
}

pub(crate) fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(BOM) {
        data.drain(..3);
    }
    data
}

/// Load a chart from a directory or a `.tgz` file.
pub fn load(path: &Path) -> Result<Chart, ChartError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ChartError::msg(go_io_error("stat", &path.display().to_string(), &e)))?;
    if meta.is_dir() {
        load_dir(path)
    } else {
        load_file(path)
    }
}

/// Chart.yaml decoded (the loader's first step, and its metadata later).
fn parse_chart_yaml(data: &[u8]) -> Result<Value, ChartError> {
    let text = super::text_of(data);
    crate::yaml::parse_values(&text).map_err(|e| {
        ChartError::msg(format!(
            "cannot load Chart.yaml: error converting YAML to JSON: {e}"
        ))
    })
}

fn api_version_of(v: &Value) -> String {
    if let Value::Map(m) = v
        && let Some(a) = m.borrow().get("apiVersion")
    {
        return super::metadata::scalar_to_string(a).unwrap_or_default();
    }
    String::new()
}

fn check_api_version(api: &str) -> Result<(), ChartError> {
    match api {
        "v1" | "v2" | "" | "v3" => Ok(()),
        _ => Err(ChartError::msg("unsupported chart version")),
    }
}

fn load_dir(dir: &Path) -> Result<Chart, ChartError> {
    let (files, chart_yaml) = dir_files_checked(dir, true, true)?;
    load_files_with(files, chart_yaml)
}

/// The files of a chart directory as Helm's loader sees them: `.helmignore` applied,
/// symlinks followed, chart-relative `/` paths in walk order, UTF-8 BOMs stripped.
pub fn dir_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, ChartError> {
    Ok(dir_files_checked(dir, true, false)?
        .0
        .into_iter()
        .map(|(n, b)| (n, b.bytes().to_vec()))
        .collect())
}

/// Load a chart directory with Helm's v2 loader, which (unlike the version-dispatching
/// loader `helm template` uses) does not refuse unknown Chart.yaml apiVersions (`helm lint`).
pub fn load_dir_v2(dir: &Path) -> Result<Chart, ChartError> {
    load_files(dir_files_checked(dir, false, true)?.0)
}

/// True for the files the loader itself reads (metadata, values, templates, subcharts); any
/// other file is only reachable through `.Files` and may be read on first use.
fn loader_reads(rel: &str) -> bool {
    rel.starts_with("templates/")
        || rel.starts_with("charts/")
        || matches!(
            rel,
            "Chart.yaml"
                | "Chart.lock"
                | "values.yaml"
                | "values.schema.json"
                | "requirements.yaml"
                | "requirements.lock"
        )
}

/// True if the mode bits let this process read the file (world-readable, or owned by us and
/// owner-readable). Such files are read on first use; for any other file the loader opens it
/// now so that a permission error fails the load, as in Helm.
fn plainly_readable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode();
    if mode & 0o004 != 0 {
        return true;
    }
    // The owner of /proc/self is the process's effective user.
    mode & 0o400 != 0 && std::fs::metadata("/proc/self").is_ok_and(|me| me.uid() == meta.uid())
}

/// A chart directory's files (path, contents) and its Chart.yaml decoded, if read already.
type ChartFiles = (Vec<(String, Blob)>, Option<Value>);

/// The chart's files and, with `check`, its Chart.yaml decoded: read and decoded once, for the
/// version check and for the metadata.
fn dir_files_checked(dir: &Path, check: bool, lazy: bool) -> Result<ChartFiles, ChartError> {
    let top = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut chart_yaml = None;
    if check {
        let path = top.join("Chart.yaml");
        let data = std::fs::read(&path).map_err(|e| {
            let p = path.display().to_string();
            ChartError::msg(format!(
                "unable to detect chart at {p}: {}",
                go_io_error("open", &p, &e)
            ))
        })?;
        let data = strip_bom(data);
        let v = parse_chart_yaml(&data)?;
        check_api_version(&api_version_of(&v))?;
        chart_yaml = Some((data, v));
    }

    let mut rules = Rules::default();
    let ifile = top.join(".helmignore");
    if ifile.exists() {
        let text = std::fs::read_to_string(&ifile)
            .map_err(|e| ChartError::msg(go_io_error("open", &ifile.display().to_string(), &e)))?;
        rules = Rules::parse(&text).map_err(ChartError::msg)?;
    }
    rules.add_defaults();

    let mut files = Vec::new();
    let (read, parsed) = match chart_yaml {
        Some((data, v)) => (Some(data), Some(v)),
        None => (None, None),
    };
    let mut walk_state = Walk {
        rules: &rules,
        lazy,
        chart_yaml: read,
    };
    walk_state.walk(&top, "", &mut files)?;
    Ok((files, parsed))
}

/// A walk of a chart directory: the ignore rules, whether `.Files`-only files are read on
/// first use, and the top Chart.yaml's bytes when the version check has read them already.
struct Walk<'r> {
    rules: &'r Rules,
    lazy: bool,
    chart_yaml: Option<Vec<u8>>,
}

impl Walk<'_> {
    fn walk(
        &mut self,
        dir: &Path,
        rel: &str,
        out: &mut Vec<(String, Blob)>,
    ) -> Result<(), ChartError> {
        let (rules, lazy) = (self.rules, self.lazy);
        let rd = std::fs::read_dir(dir)
            .map_err(|e| ChartError::msg(go_io_error("open", &dir.display().to_string(), &e)))?;
        let mut entries: Vec<(String, std::fs::DirEntry)> = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| ChartError::msg(e.to_string()))?;
            entries.push((entry.file_name().to_string_lossy().into_owned(), entry));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path().cmp(&b.1.path())));
        for (name, entry) in entries {
            let path = entry.path();
            let n = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // The directory listing knows each entry's type; only symlinks need a stat (Helm's
            // sympath.Walk follows them).
            let ft = entry.file_type().map_err(|e| {
                ChartError::msg(go_io_error("stat", &path.display().to_string(), &e))
            })?;
            let (is_dir, is_file) = if ft.is_symlink() {
                let meta = std::fs::metadata(&path).map_err(|e| {
                    ChartError::msg(go_io_error("stat", &path.display().to_string(), &e))
                })?;
                (meta.is_dir(), meta.is_file())
            } else {
                (ft.is_dir(), ft.is_file())
            };
            if is_dir {
                if rules.ignore(&n, true) {
                    continue;
                }
                self.walk(&path, &n, out)?;
                continue;
            }
            if rules.ignore(&n, false) {
                continue;
            }
            if !is_file {
                return Err(ChartError::msg(format!(
                    "cannot load irregular file {} as it has file mode type bits set",
                    path.display()
                )));
            }
            // Go's os.ReadFile wording: `error reading x: open /abs/x: permission denied`.
            let io_err = |op: &str, e: std::io::Error| {
                let shown = path.display().to_string();
                ChartError::msg(format!(
                    "error reading {n}: {}",
                    go_io_error(op, &shown, &e)
                ))
            };
            let too_big = || {
                ChartError::msg(format!(
                    "chart file \"{name}\" is larger than the maximum file size {MAX_FILE_SIZE}"
                ))
            };
            if rel.is_empty()
                && n == "Chart.yaml"
                && let Some(data) = self.chart_yaml.take()
            {
                if data.len() as u64 > MAX_FILE_SIZE {
                    return Err(too_big());
                }
                out.push((n, Blob::new(data)));
                continue;
            }
            if lazy && !loader_reads(&n) {
                let meta = std::fs::metadata(&path).map_err(|e| io_err("stat", e))?;
                if meta.len() > MAX_FILE_SIZE {
                    return Err(too_big());
                }
                if plainly_readable(&meta) {
                    out.push((n, Blob::lazy(path)));
                    continue;
                }
            }
            let mut file = std::fs::File::open(&path).map_err(|e| io_err("open", e))?;
            let len = file.metadata().map_err(|e| io_err("stat", e))?.len();
            if len > MAX_FILE_SIZE {
                return Err(too_big());
            }
            let mut data = Vec::with_capacity(len as usize);
            // Through `take` (which is not specialised for files): std's `File::read_to_end`
            // would stat the file and seek again to size its buffer, which is sized already.
            (&mut file)
                .take(MAX_FILE_SIZE + 1)
                .read_to_end(&mut data)
                .map_err(|e| io_err("read", e))?;
            out.push((n, Blob::new(strip_bom(data))));
        }
        Ok(())
    }
}

fn load_file(path: &Path) -> Result<Chart, ChartError> {
    let name = path.display().to_string();
    let raw = std::fs::read(path).map_err(|e| ChartError::msg(go_io_error("open", &name, &e)))?;
    if !raw.starts_with(&[0x1f, 0x8b, 0x08]) {
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            return Err(ChartError::msg(format!(
                "file '{name}' seems to be a YAML file, but expected a gzipped archive"
            )));
        }
        let ct = if std::str::from_utf8(&raw[..raw.len().min(512)]).is_ok() {
            "text/plain; charset=utf-8"
        } else {
            "application/octet-stream"
        };
        return Err(ChartError::msg(format!(
            "file '{name}' does not appear to be a gzipped archive; got '{ct}'"
        )));
    }
    load_archive(&raw)
}

/// Read the files of a gzip'd tar chart archive (top directory stripped).
pub fn archive_files(raw: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ChartError> {
    let gz = flate2::read::GzDecoder::new(raw);
    let mut ar = tar::Archive::new(gz);
    let mut files = Vec::new();
    let mut remaining = MAX_CHART_SIZE;
    let entries = ar.entries().map_err(|e| ChartError::msg(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ChartError::msg(e.to_string()))?;
        let et = entry.header().entry_type();
        if et.is_dir() || et.is_pax_global_extensions() || et.is_pax_local_extensions() {
            continue;
        }
        let hname = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // Helm reads links and device entries as empty files; chartgen refuses them, so an
        // extracted chart (`pull --untar`) never holds anything but regular files.
        if et.is_symlink() || et.is_hard_link() {
            return Err(ChartError::msg(format!(
                "chart archive entry \"{hname}\" is a link; chart archives hold regular files only"
            )));
        }
        if et.is_character_special() || et.is_block_special() || et.is_fifo() {
            return Err(ChartError::msg(format!(
                "chart archive entry \"{hname}\" is a device or pipe; chart archives hold regular files only"
            )));
        }
        let delim = if hname.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = hname.split(delim).collect();
        let n = parts[1..].join("/");
        if n.starts_with('/') {
            return Err(ChartError::msg("chart illegally contains absolute paths"));
        }
        let n = crate::funcs::go_path_clean(&n);
        if n == "." {
            return Err(ChartError::msg(format!(
                "chart illegally contains content outside the base directory: \"{hname}\""
            )));
        }
        if n.starts_with("..") {
            return Err(ChartError::msg(
                "chart illegally references parent directory",
            ));
        }
        let b = n.as_bytes();
        if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
            return Err(ChartError::msg("chart contains illegally named files"));
        }
        if parts[0] == "Chart.yaml" {
            return Err(ChartError::msg("chart yaml not in base directory"));
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(ChartError::msg(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART_SIZE}"
            )));
        }
        if size > MAX_FILE_SIZE {
            return Err(ChartError::msg(format!(
                "decompressed chart file \"{hname}\" is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| ChartError::msg(e.to_string()))?;
        remaining = remaining.saturating_sub(data.len() as u64);
        files.push((n, strip_bom(data)));
    }
    if files.is_empty() {
        return Err(ChartError::msg("no files in chart archive"));
    }
    Ok(files)
}

/// Load a chart from the bytes of a `.tgz` archive.
pub fn load_archive(raw: &[u8]) -> Result<Chart, ChartError> {
    let files = archive_files(raw).map_err(|e| {
        if raw.starts_with(&[0x1f, 0x8b]) {
            e
        } else {
            ChartError::msg(
                "stream does not appear to be a valid chart file (details: gzip: invalid header)",
            )
        }
    })?;
    match files.iter().find(|(n, _)| n == "Chart.yaml") {
        None => Err(ChartError::msg(
            "unable to detect chart version, no Chart.yaml found",
        )),
        Some((_, data)) => {
            let v = parse_chart_yaml(data)?;
            check_api_version(&api_version_of(&v))?;
            load_files(in_memory(files))
        }
    }
}

/// Load a chart from (path, bytes) pairs with chart-relative `/` paths (Helm's `LoadFiles`).
pub fn load_from_files(files: Vec<(String, Vec<u8>)>) -> Result<Chart, ChartError> {
    load_files(in_memory(files))
}

fn in_memory(files: Vec<(String, Vec<u8>)>) -> Vec<(String, Blob)> {
    files.into_iter().map(|(n, d)| (n, Blob::new(d))).collect()
}

fn load_files(files: Vec<(String, Blob)>) -> Result<Chart, ChartError> {
    load_files_with(files, None)
}

/// [`load_files`] with the top Chart.yaml decoded already (`chart_yaml`).
fn load_files_with(
    files: Vec<(String, Blob)>,
    mut chart_yaml: Option<Value>,
) -> Result<Chart, ChartError> {
    let mut metadata: Option<Metadata> = None;
    for (name, data) in &files {
        if name == "Chart.yaml" {
            let v = match chart_yaml.take() {
                Some(v) => v,
                None => parse_chart_yaml(data.bytes())?,
            };
            let mut md = Metadata::from_value(&v)
                .map_err(|e| ChartError::msg(format!("cannot load Chart.yaml: {e}")))?;
            if md.api_version.is_empty() {
                md.api_version = "v1".into();
            }
            metadata = Some(md);
        }
    }
    let mut templates = Vec::new();
    let mut chart_files = Vec::new();
    let mut values = Value::empty_map();
    let mut values_first_document = None;
    let mut schema = None;
    let mut subcharts: BTreeMap<String, Vec<(String, Blob)>> = BTreeMap::new();
    for (name, data) in files {
        match name.as_str() {
            "Chart.yaml" | "Chart.lock" => continue,
            "values.yaml" => {
                let text = super::text_of(&data);
                let e = |e| ChartError::msg(format!("cannot load values.yaml: {e}"));
                values = load_values(&text).map_err(e)?;
                values_first_document = first_document_values(&text).map_err(e)?;
                continue;
            }
            "values.schema.json" => {
                schema = Some(data.bytes().clone());
                continue;
            }
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                let text = super::text_of(&data);
                let v = crate::yaml::parse_values(&text).map_err(|e| {
                    ChartError::msg(format!(
                        "cannot load requirements.yaml: error converting YAML to JSON: {e}"
                    ))
                })?;
                if let Value::Map(m) = &v {
                    md.merge_from(&m.borrow()).map_err(|e| {
                        ChartError::msg(format!(
                            "cannot load requirements.yaml: error unmarshaling JSON: while decoding JSON: {e}"
                        ))
                    })?;
                }
                if md.api_version == "v1" {
                    chart_files.push(File { name, data });
                }
                continue;
            }
            "requirements.lock" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                if md.api_version == "v1" {
                    chart_files.push(File { name, data });
                }
                continue;
            }
            _ => {}
        }
        if name.starts_with("templates/") {
            templates.push(File { name, data });
        } else if let Some(rest) = name.strip_prefix("charts/") {
            if name.ends_with(".prov") {
                chart_files.push(File { name, data });
                continue;
            }
            let cname = rest.split('/').next().unwrap_or("").to_string();
            subcharts
                .entry(cname)
                .or_default()
                .push((rest.to_string(), data));
        } else {
            chart_files.push(File { name, data });
        }
    }
    let Some(mut metadata) = metadata else {
        return Err(ChartError::msg("Chart.yaml file is missing"));
    };
    metadata
        .validate()
        .map_err(|e| ChartError::msg(format!("validation: {e}")))?;
    let mut chart = Chart {
        metadata,
        templates,
        values,
        values_first_document,
        schema,
        files: chart_files,
        dependencies: Vec::new(),
    };
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let res = if n.ends_with(".tgz") {
            let (fname, data) = &files[0];
            if *fname != n {
                return Err(ChartError::msg(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {fname}",
                    chart.name()
                )));
            }
            load_archive(data)
        } else {
            let buff: Vec<(String, Blob)> = files
                .into_iter()
                .filter_map(|(f, d)| f.split_once('/').map(|(_, rest)| (rest.to_string(), d)))
                .collect();
            load_files(buff)
        };
        match res {
            Ok(sc) => chart.dependencies.push(sc),
            Err(e) => {
                return Err(ChartError::msg(format!(
                    "error unpacking subchart {n} in {}: {e}",
                    chart.name()
                )));
            }
        }
    }
    Ok(chart)
}
