//! AutoX: relaunch experiments whenever a new version of an app is deployed. A trigger
//! object's `app.kubernetes.io/version` label (and name/track labels) drive one experiment per
//! release spec, launched as an Argo CD Application (v0.13's way) or directly as a
//! Helm-compatible release. [`config`] reads the `CONFIG` file, [`decide`] holds the decisions,
//! [`argocd`] the Application, [`controller`] the loop.

pub mod argocd;
pub mod config;
pub mod controller;
pub mod decide;

pub use config::{Config, ConfigError, Group, ReleaseSpec, Trigger};
pub use controller::{Mode, RenderRequest, Renderer, Settings, run};

/// The experiment group (Helm release / Application name) of a release spec.
pub fn release_name(group: &str, spec: &str) -> String {
    format!("autox-{group}-{spec}")
}
