//! Iter8 experiment engine: the experiment model, tasks, load generators, metrics and SLOs.

pub mod experiment;
pub mod report;
pub mod target;

pub use experiment::{Experiment, ExperimentError, ExperimentResult, Insights, TaskSpec};
