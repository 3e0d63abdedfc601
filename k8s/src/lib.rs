//! Kubernetes side of Iter8: the experiment Secret driver used by the runner Job and by
//! `iter8 k` commands, and the `ready` task (later: apply, release records, AutoX).

pub mod ready;
pub mod secret_driver;

pub use ready::ReadyTask;
pub use secret_driver::{KubeError, KubeOptions, SecretDriver};
