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

use std::rc::Rc;

pub(crate) use load::go_io_error as load_go_io_error;
pub use load::{archive_files, dir_files, load, load_archive, load_dir_v2, load_from_files};
pub use metadata::{Dependency, Metadata};

use crate::value::Value;

/// One file of a chart: its path relative to the chart root and its bytes.
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub data: Rc<[u8]>,
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// Files under `templates/`, in load order.
    pub templates: Vec<File>,
    /// `values.yaml` (a map; empty if absent).
    pub values: Value,
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
