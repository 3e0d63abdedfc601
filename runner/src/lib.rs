//! Iter8 experiment engine.
pub mod report;
pub mod target;
