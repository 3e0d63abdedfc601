//! Where an experiment lives between steps: the `Driver` trait and the file driver.
//!
//! The runner reads the experiment once, then writes the whole document after every step
//! (loop start, each task, failure), as Iter8 v0.13 does. A driver write must be all-or-nothing:
//! readers (`iter8 report`, `iter8 assert`) may read at any moment.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::experiment::{Experiment, ExperimentError};

/// Failure of a driver to read or write the experiment.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Reading the experiment file failed.
    #[error("unable to read experiment file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the experiment file failed.
    #[error("unable to write experiment file {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The stored document is not a valid experiment, or could not be serialised.
    #[error("invalid experiment in {location}")]
    Experiment {
        /// File path or Secret name.
        location: String,
        /// Cause.
        #[source]
        source: ExperimentError,
    },
    /// Any other driver (e.g. a Kubernetes Secret store).
    #[error("{message}")]
    Other {
        /// What the driver was doing.
        message: String,
        /// Cause.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Reads and persists an experiment. Implemented here for files and by the Kubernetes crate for
/// Secrets. Methods are synchronous: the runner calls them between tasks, never inside the load
/// generator.
pub trait Driver {
    /// Read the current experiment.
    fn read(&mut self) -> Result<Experiment, DriverError>;
    /// Replace the stored experiment with `exp` (whole document, atomically).
    fn write(&mut self, exp: &Experiment) -> Result<(), DriverError>;
    /// Revision recorded in a fresh result (Helm release version; 0 when unknown).
    fn revision(&self) -> i64 {
        0
    }
}

/// File name of the experiment inside a run directory.
pub const EXPERIMENT_FILE: &str = "experiment.yaml";

/// Experiment stored as `<run_dir>/experiment.yaml` (Iter8 v0.13.0's local mode).
#[derive(Debug, Clone)]
pub struct FileDriver {
    path: PathBuf,
    revision: i64,
}

impl FileDriver {
    /// Driver for `<run_dir>/experiment.yaml`.
    pub fn new(run_dir: impl AsRef<Path>) -> Self {
        FileDriver {
            path: run_dir.as_ref().join(EXPERIMENT_FILE),
            revision: 0,
        }
    }

    /// Driver for an explicit file path.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        FileDriver {
            path: path.into(),
            revision: 0,
        }
    }

    /// Set the revision written into fresh results.
    pub fn with_revision(mut self, revision: i64) -> Self {
        self.revision = revision;
        self
    }

    /// The experiment file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Driver for FileDriver {
    fn read(&mut self) -> Result<Experiment, DriverError> {
        let text = fs::read_to_string(&self.path).map_err(|source| DriverError::Read {
            path: self.path.clone(),
            source,
        })?;
        Experiment::from_yaml(&text).map_err(|source| DriverError::Experiment {
            location: self.path.display().to_string(),
            source,
        })
    }

    fn write(&mut self, exp: &Experiment) -> Result<(), DriverError> {
        let text = exp.to_yaml().map_err(|source| DriverError::Experiment {
            location: self.path.display().to_string(),
            source,
        })?;
        write_atomic(&self.path, text.as_bytes()).map_err(|source| DriverError::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn revision(&self) -> i64 {
        self.revision
    }
}

/// Write `bytes` to `path` via a temporary file in the same directory and a rename, so readers
/// see either the old or the new content, never a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "experiment".to_string());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
