//! Iter8's Kubernetes controllers, kube-rs style: small runtime pieces (a resumable watch,
//! Lease-based leader election, Events, health endpoints) and, per controller, the decisions
//! as pure functions unit-tested apart from the API calls. AutoX ([`autox`]) is the first.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let config = iter8_controllers::autox::Config::from_yaml("specs: {}", "config.yaml")?;
//! assert!(config.specs.is_empty());
//! # Ok(()) }
//! ```

pub mod abn;
pub mod autox;
pub mod events;
pub mod health;
pub mod lease;
pub mod watch;

/// Where a controller's log lines go (the binary prints them in Iter8's format).
pub trait Reporter: Send + Sync {
    fn info(&self, msg: &str);
    fn warn(&self, msg: &str);
    fn error(&self, msg: &str);
}
