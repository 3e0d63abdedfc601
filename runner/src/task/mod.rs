//! The task loop: runs an experiment's tasks in order with their `if` conditions, persisting
//! the experiment through a [`Driver`] after every step (Iter8 v0.13 §3.5).
//!
//! Per loop: `numLoops += 1`, `numCompletedTasks = 0`, write; then for each task: evaluate
//! `if` (a compile/evaluation error stops the run *without* marking failure — Iter8's
//! behaviour), run it (on error: `failure = true`, write, stop), count it as completed (skipped
//! tasks count too), write.

pub mod abnmetrics;
pub mod assess;
pub mod custommetrics;
pub mod grpc;
pub mod http;
pub mod notify;
pub mod run;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cond::{self, CondError};
use crate::driver::{Driver, DriverError};
use crate::experiment::{Experiment, ExperimentError, ExperimentResult, KNOWN_TASKS, TaskSpec};
use crate::inputs::InputError;
use crate::load::LoadError;

/// Something that happened during a run; the binary turns these into log lines and a progress
/// bar (the runner never prints).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A loop started (`numLoops` after the increment).
    LoopStarted {
        /// Loop number (1-based).
        loop_number: i64,
    },
    /// `task <index>: <name>: started`.
    TaskStarted {
        /// 1-based index.
        index: usize,
        /// Task name (`run` for shell tasks).
        name: String,
    },
    /// `task <index>: <name>: completed`.
    TaskCompleted {
        /// 1-based index.
        index: usize,
        /// Task name.
        name: String,
    },
    /// `task <index>: <name>: skipped` (with `false condition: <expr>`).
    TaskSkipped {
        /// 1-based index.
        index: usize,
        /// Task name.
        name: String,
        /// The condition that was false.
        condition: String,
    },
    /// `task <index>: <name>: failure`.
    TaskFailed {
        /// 1-based index.
        index: usize,
        /// Task name.
        name: String,
        /// The error chain, one line.
        error: String,
    },
    /// A warning from a task (Iter8 logs these at warning level).
    Warning {
        /// 1-based index.
        index: usize,
        /// Message.
        message: String,
    },
    /// A detail worth a debug-level line (e.g. which I/O path the load generator used).
    Debug {
        /// 1-based index.
        index: usize,
        /// Message.
        message: String,
    },
    /// Output of a run task (Iter8 logs it at trace level).
    Output {
        /// 1-based index.
        index: usize,
        /// Combined stdout and stderr.
        text: String,
    },
    /// Load generation progress (about every 100 ms).
    Load {
        /// 1-based task index.
        index: usize,
        /// Metric provider (`http`, `http-<endpoint>`), with ` (warmup)` for warm-up runs.
        provider: String,
        /// Requests completed.
        done: u64,
        /// Total requests, when the run is count-based.
        total: Option<u64>,
        /// Time since the load started.
        elapsed: Duration,
        /// Planned duration, when the run is time-based.
        duration: Option<Duration>,
        /// Failed requests so far (transport failures, HTTP statuses of 400 or more, gRPC
        /// calls not `OK`).
        failed: u64,
        /// p99 latency of the last finished interval (msec).
        p99_ms: Option<f64>,
    },
}

/// Why a task failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// An input of the task is not acceptable (names the field).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Reading a payload file failed.
    #[error("unable to read payload file {path}")]
    PayloadFile {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Fetching `payloadURL` failed.
    #[error("unable to download payload from {url}: {message}")]
    PayloadUrl {
        /// URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The load generator failed.
    #[error("load generation for {provider} failed")]
    Load {
        /// Metric provider.
        provider: String,
        /// Cause.
        #[source]
        source: LoadError,
    },
    /// Updating insights failed.
    #[error(transparent)]
    Insights(#[from] ExperimentError),
    /// Iter8's `uninitialized insights within experiment`.
    #[error("uninitialized insights within experiment")]
    NoInsights,
    /// A run task's script failed.
    #[error("run task failed ({status}): {output}")]
    Script {
        /// Exit status text.
        status: String,
        /// Last lines of combined output.
        output: String,
    },
    /// A run task could not be started.
    #[error("unable to start /bin/bash or /bin/sh")]
    Spawn(#[source] std::io::Error),
    /// A task Iter8 has but this runner does not implement yet.
    #[error("task {0} is not supported yet by this runner")]
    NotSupported(String),
    /// Error from a task supplied by another crate.
    #[error("{0}")]
    External(Box<dyn std::error::Error + Send + Sync>),
}

/// Why a run stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading or writing the experiment failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// `--reuseResult` with no stored result (Iter8's message).
    #[error("experiment with nil result section cannot be run")]
    NoResult,
    /// A task's inputs are not acceptable (checked before anything runs).
    #[error("task {index}: {name}")]
    Inputs {
        /// 1-based index.
        index: usize,
        /// Task name.
        name: String,
        /// Cause.
        #[source]
        source: TaskError,
    },
    /// A task name nobody implements (checked before anything runs).
    #[error("unknown task: {name} (task {index})")]
    UnknownTask {
        /// 1-based index.
        index: usize,
        /// The name.
        name: String,
    },
    /// An `if` condition could not be compiled or evaluated.
    #[error("task {index}: {name}: unable to evaluate if clause")]
    Condition {
        /// 1-based index.
        index: usize,
        /// Task name.
        name: String,
        /// Cause.
        #[source]
        source: CondError,
    },
    /// A task failed (the experiment is marked `failure: true`).
    #[error("task {index}: {name}: failure")]
    Task {
        /// 1-based index.
        index: usize,
        /// Task name.
        name: String,
        /// Cause.
        #[source]
        source: TaskError,
    },
}

/// What a task gets besides the experiment.
pub struct TaskContext<'a> {
    /// 1-based index of the task.
    pub index: usize,
    /// The task's spec entry.
    pub spec: &'a TaskSpec,
    /// The previous spec entry, if any.
    pub previous: Option<&'a TaskSpec>,
    /// Event sink.
    pub events: &'a dyn Fn(&Event),
}

impl TaskContext<'_> {
    /// Report a detail worth a debug-level line.
    pub fn debug(&self, message: impl Into<String>) {
        (self.events)(&Event::Debug {
            index: self.index,
            message: message.into(),
        });
    }

    /// Report a warning.
    pub fn warn(&self, message: impl Into<String>) {
        (self.events)(&Event::Warning {
            index: self.index,
            message: message.into(),
        });
    }
}

/// A task implemented outside this crate (e.g. `ready` in the Kubernetes crate).
pub trait Task {
    /// Run with the task's context; may update `exp.result`. Returning an error fails the task.
    fn run(&self, exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError>;

    /// Check the task's inputs (`with`) without running anything; called for every task of an
    /// experiment before the first one runs. The default accepts anything.
    fn check(&self, with: Option<&serde_json::Value>) -> Result<(), TaskError> {
        let _ = with;
        Ok(())
    }
}

/// Options of [`run_experiment`].
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Keep the stored result and accumulate into it (CronJob loops) instead of starting fresh.
    pub reuse_result: bool,
    /// Event sink (log lines, progress bar).
    pub on_event: Option<&'a dyn Fn(&Event)>,
    /// Extra or overriding task implementations by name.
    pub tasks: BTreeMap<String, &'a dyn Task>,
}

fn no_events(_: &Event) {}

/// Read the experiment from `driver`, (re)initialise the result unless `reuse_result` (keeping
/// `result.chart`), run one loop of its tasks and return the final experiment. Blocking; call
/// it outside async code (or in `spawn_blocking`).
pub fn run_experiment(
    driver: &mut dyn Driver,
    opts: &RunOptions<'_>,
) -> Result<Experiment, RunError> {
    let mut exp = driver.read()?;
    check_experiment(&exp, opts)?;
    if !opts.reuse_result {
        // A fresh result, except the record of where the chart came from (set at launch).
        let chart = exp.result.take().and_then(|r| r.chart);
        exp.result = Some(ExperimentResult {
            chart,
            ..ExperimentResult::new(driver.revision())
        });
    }
    run_loop(&mut exp, driver, opts)?;
    Ok(exp)
}

/// Check the whole experiment before anything runs: every task name is implemented and every
/// task's inputs are acceptable, so a bad later task fails before an earlier one sends load.
pub fn check_experiment(exp: &Experiment, opts: &RunOptions<'_>) -> Result<(), RunError> {
    check_task_names(exp, opts)?;
    for (i, t) in exp.spec.iter().enumerate() {
        if t.is_run() {
            continue;
        }
        let name = t.name();
        let with = t.with.as_ref();
        let checked = match (opts.tasks.get(name), name) {
            (Some(task), _) => task.check(with),
            (None, "http") => http::parse(with)
                .and_then(|inputs| {
                    http::providers(&inputs)
                        .iter()
                        .try_for_each(|p| http::capacity_settings(&inputs, &exp.spec, p).map(drop))
                })
                .map_err(TaskError::from),
            (None, "grpc") => grpc::check(with, &exp.spec[..i])
                .and_then(|()| grpc::parse(with))
                .and_then(|inputs| {
                    grpc::providers(&inputs)
                        .iter()
                        .try_for_each(|p| grpc::capacity_settings(&inputs, &exp.spec, p).map(drop))
                })
                .map_err(TaskError::from),
            (None, "assess") => assess::parse(with).map(drop).map_err(TaskError::from),
            (None, "abnmetrics") => abnmetrics::parse(with).map(drop).map_err(TaskError::from),
            _ => Ok(()),
        };
        checked.map_err(|source| RunError::Inputs {
            index: i + 1,
            name: name.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Every task name must be implemented (built in or in `opts.tasks`); run tasks always are.
pub fn check_task_names(exp: &Experiment, opts: &RunOptions<'_>) -> Result<(), RunError> {
    for (i, t) in exp.spec.iter().enumerate() {
        if t.is_run() {
            continue;
        }
        let name = t.name();
        // `slack`/`github` are chart-level names (they render to `notify`); accept them here so
        // the user gets "not supported yet" rather than "unknown task".
        let chart_only = matches!(name, "slack" | "github");
        if !KNOWN_TASKS.contains(&name) && !chart_only && !opts.tasks.contains_key(name) {
            return Err(RunError::UnknownTask {
                index: i + 1,
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

/// One loop over the tasks of `exp` (Go `exp.run`), writing through `driver` after every step.
pub fn run_loop(
    exp: &mut Experiment,
    driver: &mut dyn Driver,
    opts: &RunOptions<'_>,
) -> Result<(), RunError> {
    let events: &dyn Fn(&Event) = opts.on_event.unwrap_or(&no_events);
    let result = exp.result.as_mut().ok_or(RunError::NoResult)?;
    result.num_loops += 1;
    result.num_completed_tasks = 0;
    events(&Event::LoopStarted {
        loop_number: result.num_loops,
    });
    driver.write(exp)?;
    for i in 0..exp.spec.len() {
        let index = i + 1;
        let spec = exp.spec[i].clone();
        let name = spec.name().to_string();
        events(&Event::TaskStarted {
            index,
            name: name.clone(),
        });
        let should_run = match &spec.condition {
            None => true,
            Some(c) => cond::evaluate(c, exp).map_err(|source| RunError::Condition {
                index,
                name: name.clone(),
                source,
            })?,
        };
        if should_run {
            let previous = if i > 0 {
                Some(exp.spec[i - 1].clone())
            } else {
                None
            };
            let ctx = TaskContext {
                index,
                spec: &spec,
                previous: previous.as_ref(),
                events,
            };
            if let Err(source) = run_task(exp, &ctx, opts) {
                events(&Event::TaskFailed {
                    index,
                    name: name.clone(),
                    error: error_chain(&source),
                });
                if let Some(r) = exp.result.as_mut() {
                    r.failure = true;
                }
                driver.write(exp)?;
                return Err(RunError::Task {
                    index,
                    name,
                    source,
                });
            }
            events(&Event::TaskCompleted {
                index,
                name: name.clone(),
            });
        } else {
            events(&Event::TaskSkipped {
                index,
                name: name.clone(),
                condition: spec.condition.clone().unwrap_or_default(),
            });
        }
        if let Some(r) = exp.result.as_mut() {
            r.num_completed_tasks += 1;
        }
        driver.write(exp)?;
    }
    Ok(())
}

/// `error: cause: cause` on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn run_task(
    exp: &mut Experiment,
    ctx: &TaskContext<'_>,
    opts: &RunOptions<'_>,
) -> Result<(), TaskError> {
    if let Some(script) = &ctx.spec.run {
        return run::run(script, ctx);
    }
    let name = ctx.spec.name();
    if let Some(t) = opts.tasks.get(name) {
        return t.run(exp, ctx);
    }
    match name {
        "http" => http::run(exp, ctx),
        "grpc" => grpc::run(exp, ctx),
        "assess" => assess::run(exp, ctx),
        "abnmetrics" => abnmetrics::run(exp, ctx),
        other => Err(TaskError::NotSupported(other.to_string())),
    }
}
