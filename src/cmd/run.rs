//! `iter8 run`: run `<runDir>/experiment.yaml` (updating it after every step), with log lines in
//! Iter8's format and a live view while load runs: on a terminal one line updated in place
//! (elapsed and total, requests, achieved rate, failures, the last interval's p99, the probe of
//! a capacity search), otherwise the same figures as a log line every few seconds; all on
//! stderr, `--noProgress` turns it off.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runner::{Event, FileDriver, RunOptions};

use crate::RunArgs;
use crate::log;

/// Run the experiment in `--runDir`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    // Read first so a missing or malformed file is reported before anything is written.
    let exp = super::read_experiment(&args.run_dir)?;
    super::launch::preflight(&exp, &super::experiment_path(&args.run_dir))?;
    execute(&args.run_dir, args.reuse_result, !args.no_progress)
}

/// Run the experiment stored in `run_dir` through the file driver (`ready` tasks use the
/// default Kubernetes configuration).
pub fn execute(run_dir: &str, reuse_result: bool, progress: bool) -> anyhow::Result<()> {
    let kube = iter8_k8s::KubeOptions::default();
    execute_with(&mut FileDriver::new(run_dir), reuse_result, progress, &kube)
}

/// Run the experiment `driver` holds, persisting through it after every step; `ready` tasks
/// reach the cluster `kube` names (connecting only if there is one).
pub fn execute_with(
    driver: &mut dyn runner::Driver,
    reuse_result: bool,
    progress: bool,
    kube: &iter8_k8s::KubeOptions,
) -> anyhow::Result<()> {
    let progress = Progress::new(match (progress, log::stderr_is_tty()) {
        (false, _) => View::Off,
        (true, true) => View::Line,
        (true, false) => View::Log,
    });
    let on_event = |e: &Event| progress.event(e);
    let result = with_tasks(kube, |tasks| {
        let opts = RunOptions {
            reuse_result,
            on_event: Some(&on_event),
            tasks,
        };
        runner::run_experiment(driver, &opts)
    });
    progress.finish();
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(anyhow::anyhow!(runner::task::error_chain(&e))),
    }
}

/// The tasks this binary plugs into the runner (`ready`, `custommetrics`, `notify`), by name,
/// handed to `f`; nothing connects to a cluster until a `ready` task runs.
pub fn with_tasks<R>(
    kube: &iter8_k8s::KubeOptions,
    f: impl FnOnce(BTreeMap<String, &dyn runner::task::Task>) -> R,
) -> R {
    let ready = iter8_k8s::ReadyTask::new(kube.clone());
    let custom_metrics = runner::task::custommetrics::CustomMetricsTask::new(&GoTemplates);
    let notify = runner::task::notify::NotifyTask::new(&GoTemplates);
    let mut tasks: BTreeMap<String, &dyn runner::task::Task> = BTreeMap::new();
    tasks.insert("ready".to_string(), &ready);
    tasks.insert("custommetrics".to_string(), &custom_metrics);
    tasks.insert("notify".to_string(), &notify);
    f(tasks)
}

/// Provider templates of `custommetrics` and payload templates of `notify` are Go templates
/// with Sprig, rendered by chartgen (plain text/template: `<no value>` is kept, as Iter8 did).
struct GoTemplates;

impl runner::task::custommetrics::TemplateRenderer for GoTemplates {
    fn render(&self, name: &str, text: &str, values: &serde_json::Value) -> Result<String, String> {
        let mut set = chartgen::template::TemplateSet::new();
        set.add(name, text).map_err(|e| e.helm_message())?;
        let data = chartgen::yaml::from_serde_json(values);
        set.execute(name, &data, &chartgen::template::ExecEnv::offline())
            .map_err(|e| e.helm_message())
    }
}

/// How load progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Not at all (`--noProgress`).
    Off,
    /// One line updated in place (stderr is a terminal).
    Line,
    /// A log line every [`LOG_EVERY`].
    Log,
}

/// How often the live view is logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Log lines for run events, and the live view of each load phase.
struct Progress {
    view: View,
    bar: RefCell<Option<(usize, String, ProgressBar)>>,
    /// `View::Log`: the load phase logged last and when (its elapsed time).
    logged: RefCell<Option<(usize, String)>>,
    logged_at: Cell<Duration>,
}

/// The live figures of a load phase: `1234 requests, 201.3/s, 0 failed, p99 21.4 ms`.
fn live_figures(done: u64, elapsed: Duration, failed: u64, p99_ms: Option<f64>) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let p99 = p99_ms.map_or_else(|| "-".to_string(), |p| format!("{p:.1} ms"));
    format!("{done} requests, {rate:.1}/s, {failed} failed, p99 {p99}")
}

impl Progress {
    fn new(view: View) -> Self {
        Progress {
            view,
            bar: RefCell::new(None),
            logged: RefCell::new(None),
            logged_at: Cell::new(Duration::ZERO),
        }
    }

    fn event(&self, e: &Event) {
        match e {
            Event::LoopStarted { loop_number } => {
                log::debug(&format!("loop {loop_number} started"));
            }
            Event::TaskStarted { index, name } => {
                log::info(&format!("task {index}: {name}: started"));
            }
            Event::TaskCompleted { index, name } => {
                self.finish();
                log::info(&format!("task {index}: {name}: completed"));
            }
            Event::TaskSkipped {
                index,
                name,
                condition,
            } => {
                log::info_trace(
                    &format!("task {index}: {name}: skipped"),
                    &format!("false condition: {condition}"),
                );
            }
            Event::TaskFailed { index, name, error } => {
                self.finish();
                log::error_trace(&format!("task {index}: {name}: failure"), error);
            }
            Event::Warning { message, .. } => log::warn(message),
            Event::Debug { message, .. } => log::debug(message),
            Event::Output { text, .. } => {
                log::log(
                    log::Level::Trace,
                    "combined output from command",
                    &[("stack-trace", text)],
                );
            }
            Event::Load {
                index,
                provider,
                done,
                total,
                elapsed,
                duration,
                failed,
                p99_ms,
            } => {
                let figures = live_figures(*done, *elapsed, *failed, *p99_ms);
                match self.view {
                    View::Off => {}
                    View::Line => self.load(
                        *index, provider, *done, *total, *elapsed, *duration, &figures,
                    ),
                    View::Log => self.log_load(*index, provider, *elapsed, *duration, &figures),
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// `View::Log`: a log line when a phase has run another [`LOG_EVERY`].
    fn log_load(
        &self,
        index: usize,
        provider: &str,
        elapsed: Duration,
        duration: Option<Duration>,
        figures: &str,
    ) {
        let mut logged = self.logged.borrow_mut();
        if !matches!(&*logged, Some((i, p)) if *i == index && p == provider) {
            *logged = Some((index, provider.to_string()));
            self.logged_at.set(Duration::ZERO);
        }
        if elapsed < self.logged_at.get() + LOG_EVERY {
            return;
        }
        self.logged_at.set(elapsed);
        let of = duration.map_or_else(String::new, |d| format!(" of {}s", d.as_secs()));
        log::info(&format!(
            "task {index}: {provider}: {}s{of}: {figures}",
            elapsed.as_secs()
        ));
    }

    #[allow(clippy::too_many_arguments)]
    fn load(
        &self,
        index: usize,
        provider: &str,
        done: u64,
        total: Option<u64>,
        elapsed: Duration,
        duration: Option<Duration>,
        figures: &str,
    ) {
        let mut slot = self.bar.borrow_mut();
        let same = matches!(&*slot, Some((i, p, _)) if *i == index && p == provider);
        if !same {
            if let Some((_, _, old)) = slot.take() {
                old.finish_and_clear();
            }
            let bar = match (total, duration) {
                (Some(n), _) => {
                    let bar = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix} [{bar:30.cyan/blue}] {pos}/{len} ({elapsed}) {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                }
                (None, Some(d)) => {
                    let ms = d.as_millis().max(1) as u64;
                    let bar = ProgressBar::with_draw_target(Some(ms), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix} [{bar:30.cyan/blue}] {elapsed} of {len_secs}: {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .with_key(
                            "len_secs",
                            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{:.0}s", s.len().unwrap_or(0) as f64 / 1000.0);
                            },
                        ),
                    );
                    bar
                }
                (None, None) => ProgressBar::new_spinner(),
            };
            bar.set_prefix(format!("task {index}: {provider}"));
            bar.enable_steady_tick(Duration::from_millis(200));
            log::set_progress(Some(bar.clone()));
            *slot = Some((index, provider.to_string(), bar));
        }
        if let Some((_, _, bar)) = &*slot {
            match (total, duration) {
                (Some(_), _) => bar.set_position(done),
                (None, Some(d)) => {
                    bar.set_position(elapsed.as_millis().min(d.as_millis()) as u64);
                }
                (None, None) => {}
            }
            bar.set_message(figures.to_string());
        }
    }

    fn finish(&self) {
        if let Some((_, _, bar)) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
            log::set_progress(None);
        }
    }
}
