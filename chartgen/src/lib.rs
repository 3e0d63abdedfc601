//! chartgen: a Helm-compatible chart engine whose output is byte-identical to `helm template`.
//!
//! Pipeline: [`chart`] loads a chart (directory or `.tgz`) and coalesces values; [`template`]
//! parses and executes Go templates over the [`value`] model with the [`funcs`] table;
//! [`yaml`] reads and writes YAML exactly as Helm's go-yaml v2 does; [`render`] assembles the
//! output stream as `helm template` prints it.

pub mod funcs;
pub mod value;

pub use value::Value;
