//! Charts: loading (directory or `.tgz`), Chart.yaml metadata, `.helmignore`, values
//! (`--set` grammar, coalescing, dependencies), values.schema.json validation and the
//! built-in objects templates see.

pub mod ignore;
mod load;
pub mod metadata;
pub mod objects;
pub mod package;
pub mod schema;
pub mod strvals;
pub mod values;

use std::cell::OnceCell;
use std::path::PathBuf;
use std::rc::Rc;

pub(crate) use load::go_io_error as load_go_io_error;
pub use load::{
    MAX_CHART_SIZE, MAX_FILE_SIZE, archive_files, dir_files, load, load_archive, load_dir_v2,
    load_from_files,
};
pub use metadata::{Dependency, Metadata};

use crate::value::Value;

/// A file's bytes as text, invalid UTF-8 replaced by U+FFFD like `String::from_utf8_lossy`,
/// but validated with the fast `str::from_utf8` first (the lossy decoder walks byte by byte,
/// which shows on a chart's hundreds of kilobytes of templates).
pub(crate) fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// One file of a chart: its path relative to the chart root and its bytes.
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub data: Blob,
}

/// A chart file's bytes, cheap to clone. Files that templates only reach through `.Files`
/// (READMEs, changelogs, test values) are opened when a chart directory is loaded, so an
/// unreadable file still fails the load as in Helm, but read on first use: most charts never
/// use most of them.
#[derive(Clone)]
pub struct Blob(Rc<BlobInner>);

struct BlobInner {
    bytes: OnceCell<Rc<[u8]>>,
    path: Option<PathBuf>,
}

impl Blob {
    /// Bytes already in memory.
    pub fn new(bytes: impl Into<Rc<[u8]>>) -> Blob {
        Blob(Rc::new(BlobInner {
            bytes: OnceCell::from(bytes.into()),
            path: None,
        }))
    }

    /// A file read on first use (a UTF-8 byte-order mark is dropped, as on load).
    pub(crate) fn lazy(path: PathBuf) -> Blob {
        Blob(Rc::new(BlobInner {
            bytes: OnceCell::new(),
            path: Some(path),
        }))
    }

    /// The file's bytes. A file that vanished or became unreadable after the chart was
    /// loaded reads as empty.
    pub fn bytes(&self) -> &Rc<[u8]> {
        self.0.bytes.get_or_init(|| {
            let data = match &self.0.path {
                Some(p) => std::fs::read(p).unwrap_or_default(),
                None => Vec::new(),
            };
            Rc::from(load::strip_bom(data))
        })
    }
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes()
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.0.bytes.get(), &self.0.path) {
            (Some(b), _) => write!(f, "Blob({} bytes)", b.len()),
            (None, Some(p)) => write!(f, "Blob(unread {})", p.display()),
            (None, None) => write!(f, "Blob(empty)"),
        }
    }
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// Files under `templates/`, in load order.
    pub templates: Vec<File>,
    /// `values.yaml` (a map; empty if absent).
    pub values: Value,
    /// `values.yaml`'s first document when it holds more than one: all Helm 3 reads.
    pub values_first_document: Option<Value>,
    /// `values.schema.json`, if present.
    pub schema: Option<Rc<[u8]>>,
    /// Every other file (`.Files`), including `crds/`.
    pub files: Vec<File>,
    /// Subcharts from `charts/`.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name (after aliasing).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// True for `type: library` charts.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }
}

/// Why a chart could not be loaded; Display is Helm's message (after `Error: `).
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The chart (or one of its files) is malformed or unreadable.
    #[error("{0}")]
    Invalid(String),
}

impl ChartError {
    pub(crate) fn msg(m: impl Into<String>) -> ChartError {
        ChartError::Invalid(m.into())
    }
}
