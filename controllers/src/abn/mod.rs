//! The A/B/n service (`iter8 abn`, Iter8 v0.13 §10.3): which track (version) a user gets, and
//! per-version business metrics written by the application's frontend.
//!
//! * [`config`]: the `WATCHER_CONFIG` file (applications, candidates, resource kinds).
//! * [`tracks`]: pure decisions: live tracks, finalizers.
//! * [`hash`]: rendezvous hashing, stable across restarts and replicas.
//! * [`store`]: application data in memory, group-committed to Secret `<app>-metrics`.
//! * [`service`]: the gRPC service `main.ABN` on tonic.
//! * [`controller`]: the loop tying them together.

pub mod config;
pub mod controller;
pub mod hash;
pub mod service;
pub mod store;
pub mod tracks;

pub use config::Config;
pub use controller::{AbnRunError, Settings, run};
