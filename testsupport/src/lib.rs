//! Test support: starts real third-party servers on loopback for tests.
//!
//! - [`kube_env`]: a real kube-apiserver (built by `tools/k8s-testenv`), started once per test
//!   process or taken from `ITER8_TESTENV_KUBECONFIG`, with one namespace per test.
//! - [`chart_servers`]: docker-registry and nginx chart repositories (TLS, auth, plain).
//! - [`tools`]: the real `helm` and `kubectl` binaries (installed by `tools/fetch-helm.sh`).
//! - [`route_guide`]: the route guide gRPC server on Python grpcio.
//! - [`servers`]: httpbin and nginx, and what every server child needs (a free port, waiting
//!   until it listens, stopping it on drop).
//!
//! ```no_run
//! # async fn demo() -> Result<(), testsupport::kube_env::TestEnvError> {
//! let env = testsupport::kube_env::TestEnv::shared()?;
//! let ns = env.namespace("demo").await?; // deleted when `ns` is dropped
//! let client = env.admin_client()?;
//! # let _ = (ns, client); Ok(()) }
//! ```

pub mod chart_servers;
pub mod kube_env;
pub mod route_guide;
pub mod servers;
pub mod tools;

use std::path::PathBuf;

/// The repository root (the workspace directory holding `tools/` and `.tools/`).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}
