//! Iter8 experiment engine: the experiment model, tasks, load generators, metrics and SLOs.
//!
//! An experiment (`experiment.yaml`, see [`experiment`]) is read through a [`Driver`], its
//! tasks run in order ([`task`]), and the result is written back after every step. The binary
//! supplies an event callback for logs and progress; this crate never prints.
//!
//! ```no_run
//! use runner::{FileDriver, RunOptions, run_experiment, slo};
//! let mut driver = FileDriver::new(".");
//! let exp = run_experiment(&mut driver, &RunOptions::default())?;
//! let outcomes = slo::check(&exp, &[slo::AssertCondition::Completed, slo::AssertCondition::Slos]);
//! assert!(outcomes.iter().all(|o| o.satisfied));
//! # Ok::<(), runner::RunError>(())
//! ```

pub mod abn;
pub mod capacity;
pub mod compare;
pub mod cond;
pub mod driver;
pub mod experiment;
pub mod inputs;
pub mod load;
pub mod metrics;
pub mod report;
pub mod slo;
pub mod target;
pub mod task;

pub use driver::{Driver, DriverError, FileDriver};
pub use experiment::{
    ChartOrigin, Experiment, ExperimentError, ExperimentResult, Insights, TaskSpec,
};
pub use task::{
    Event, RunError, RunOptions, Task, TaskContext, TaskError, run_experiment, run_loop,
};
