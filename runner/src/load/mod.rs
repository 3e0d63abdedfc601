//! Load generators: open-model pacing and the HTTP/1.1 + HTTP/2 client on tokio + hyper.

pub mod h1;
pub mod http;
pub mod pacing;

pub use http::{LoadError, LoadProgress, LoadReport, LoadSpec, Stop};
pub use pacing::Pace;
