//! Load generators: open-model pacing, the request loop, and the HTTP/1.1 + HTTP/2 client
//! (io_uring or epoll for plain HTTP/1.1; tokio with our own HTTP/2 client for h2 and h2c and
//! our HTTP/1.1 fast path over TLS) and the gRPC client (`grpc/`: hyper's HTTP/2 with dynamic
//! messages), all on the same pacing and loop; `series.rs` keeps each run's per-interval
//! measurements.

pub mod grpc;
pub mod h1;
pub mod h2;
pub mod http;
pub mod pacing;
pub mod series;
#[cfg(target_os = "linux")]
pub mod uring;
mod worker;

pub use http::{IoMode, IoPath, LoadError, LoadProgress, LoadReport, LoadSpec, Stop};
pub use pacing::Pace;
