//! Kubernetes side of Iter8: the experiment Secret driver used by the runner Job and by
//! `iter8 k` commands (later: apply, release records, readiness, AutoX).

pub mod secret_driver;

pub use secret_driver::{KubeError, KubeOptions, SecretDriver};
