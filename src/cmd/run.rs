//! `iter8 run`: run `<runDir>/experiment.yaml` (updating it after every step), with log lines in
//! Iter8's format and a progress bar on a terminal while load runs.

use std::cell::RefCell;
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
    let progress = Progress::new(progress && log::stderr_is_tty());
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

/// Log lines for run events, and a progress bar per load phase when stderr is a terminal.
struct Progress {
    enabled: bool,
    bar: RefCell<Option<(usize, String, ProgressBar)>>,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            bar: RefCell::new(None),
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
            } => self.load(*index, provider, *done, *total, *elapsed, *duration),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn load(
        &self,
        index: usize,
        provider: &str,
        done: u64,
        total: Option<u64>,
        elapsed: Duration,
        duration: Option<Duration>,
    ) {
        if !self.enabled {
            return;
        }
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
                            "{prefix} [{bar:40.cyan/blue}] {pos}/{len} requests ({elapsed})",
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
                            "{prefix} [{bar:40.cyan/blue}] {msg} ({elapsed} of {len_secs})",
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
                    bar.set_message(format!("{done} requests"));
                }
                (None, None) => bar.set_message(format!("{done} requests")),
            }
        }
    }

    fn finish(&self) {
        if let Some((_, _, bar)) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
            log::set_progress(None);
        }
    }
}
