//! Chart repositories: the `index.yaml` that lists packaged charts (`helm repo index`).

pub mod index;

pub use index::{IndexError, IndexOptions, index_dir};
