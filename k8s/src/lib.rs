//! Kubernetes side of Iter8: the experiment Secret driver used by the runner Job and by
//! `iter8 k` commands (its calls retried through passing API failures: `retry`), the `ready`
//! task, Helm-compatible release records and the install, upgrade and uninstall actions of
//! `iter8 k launch|delete` with the chart's hooks (`hooks`), and runner pod logs (`k log`).

pub mod apply;
pub mod helm;
pub mod hooks;
pub mod logs;
pub mod ready;
pub mod release;
pub mod retry;
pub mod secret_driver;

pub use helm::{Helm, HelmError, Rendered};
pub use ready::ReadyTask;
pub use release::{Release, ReleaseStore, Status};
pub use retry::{RetryNotice, RetryPolicy};
pub use secret_driver::{KubeError, KubeOptions, SecretDriver, connect_client};
