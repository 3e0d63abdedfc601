//! chartgen: a Helm-compatible chart engine whose output is byte-identical to `helm template`.
//!
//! Pipeline: [`chart`] loads a chart (directory or `.tgz`) and coalesces values; [`template`]
//! parses and executes Go templates over the [`value`] model with the [`funcs`] table;
//! [`yaml`] reads and writes YAML and JSON exactly as Helm's Go libraries do; [`render`]
//! assembles the output stream as `helm template` prints it; [`chart::package`] and [`repo`]
//! build chart archives and repository indexes for chart authors, and [`lint`] checks
//! charts as `helm lint` does. [`source`] fetches charts from HTTP chart repositories and
//! OCI registries (the only module that touches the network).

pub mod chart;
pub mod funcs;
pub mod helmlog;
pub mod lint;
pub mod profile;
pub mod render;
pub mod repo;
pub mod source;
pub mod template;
pub mod value;
pub mod yaml;

pub use value::Value;
