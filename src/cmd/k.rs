//! `iter8 k`: experiments stored in Kubernetes. `iter8 k launch` installs (or upgrades) the
//! experiment chart as Helm release `<group>`: Secret `<group>` (key `experiment.yaml`) and a
//! Job or CronJob whose pod runs `iter8 k run`; that reads the experiment from the Secret and
//! writes results back after every step. `iter8 k assert` and `iter8 k report` read the same
//! Secret; `iter8 k log` prints the runner pods' logs; `iter8 k delete` uninstalls the release.

use std::path::Path;

use iter8_k8s::helm::{current, next_revision};
use iter8_k8s::hooks::Hook;
use iter8_k8s::release::{ChartFile, chart_json};
use iter8_k8s::{
    Helm, KubeOptions, Rendered, RetryNotice, RetryPolicy, SecretDriver, connect_client,
};
use runner::Driver;

use crate::log;
use crate::{KAssertArgs, KDeleteArgs, KLaunchArgs, KLogArgs, KReportArgs, KRunArgs, KubeArgs};

/// The file `iter8 k launch --dry` writes.
const MANIFEST_FILE: &str = "manifest.yaml";

fn kube_options(k: &KubeArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: k.kubeconfig.clone().map(Into::into),
        context: k.kube_context.clone(),
        namespace: k.namespace.clone(),
    }
}

fn connect(k: &KubeArgs) -> anyhow::Result<SecretDriver> {
    SecretDriver::connect(&kube_options(k), &k.group).map_err(|e| {
        crate::log::error(&e.to_string());
        anyhow::anyhow!("{e} (hint: pass --kubeconfig or set KUBECONFIG)")
    })
}

fn read(driver: &mut SecretDriver) -> anyhow::Result<runner::Experiment> {
    driver.read().map_err(|e| {
        let chain = runner::task::error_chain(&e);
        crate::log::error_trace("unable to read experiment", &chain);
        anyhow::anyhow!(chain)
    })
}

/// `iter8 k run`: run the experiment in Secret `<group>` (the runner Job's command).
pub fn run(args: KRunArgs) -> anyhow::Result<()> {
    let budget = super::parse_go_duration(&args.api_retry_timeout)
        .map_err(|e| anyhow::anyhow!("--apiRetryTimeout: {e}"))?;
    let mut driver = connect(&args.kube)?.with_retries(
        RetryPolicy::with_budget(budget),
        Box::new(|n: &RetryNotice<'_>| {
            log::warn(&format!(
                "{}: {}; retry {} in {:.1}s (giving up {}s after the first failure)",
                n.action,
                n.error,
                n.retry,
                n.pause.as_secs_f64(),
                n.budget.as_secs()
            ))
        }),
    );
    // Read first so a missing or malformed Secret is reported before anything is written.
    read(&mut driver)?;
    if let Some(path) = &args.spec {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--spec {}: {e}", path.display()))?;
        let fresh = runner::Experiment::from_yaml(&text)
            .map_err(|e| anyhow::anyhow!("--spec {}: {e}", path.display()))?;
        driver.write(&fresh).map_err(|e| {
            let chain = runner::task::error_chain(&e);
            crate::log::error_trace("unable to write experiment", &chain);
            anyhow::anyhow!(chain)
        })?;
    }
    // `ready` tasks default to the configuration's namespace, not --namespace (Iter8 v0.13).
    let ready = KubeOptions {
        namespace: None,
        ..kube_options(&args.kube)
    };
    super::run::execute_with(&mut driver, args.reuse_result, false, &ready)
}

/// `iter8 k assert`: check conditions on the result in Secret `<group>`.
pub fn assert(args: KAssertArgs) -> anyhow::Result<()> {
    let mut driver = connect(&args.kube)?;
    super::assert::check(&args.conditions, &args.timeout, &mut || read(&mut driver))
}

/// `iter8 k report`: report of the experiment in Secret `<group>`.
pub fn report(args: KReportArgs) -> anyhow::Result<()> {
    let mut driver = connect(&args.kube)?;
    super::report::print(&args.output_format, &mut || read(&mut driver))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("unable to start the Kubernetes client runtime: {e}"))
}

/// Connect and set up Helm actions in the namespace in use (logs `inited Helm config`).
fn helm(rt: &tokio::runtime::Runtime, k: &KubeArgs) -> anyhow::Result<Helm> {
    let (client, namespace) = rt
        .block_on(connect_client(&kube_options(k)))
        .map_err(|e| anyhow::anyhow!("{e} (hint: pass --kubeconfig or set KUBECONFIG)"))?;
    log::info("inited Helm config");
    Ok(Helm::new(client, &namespace).with_hook_output(std::sync::Arc::new(print_hook_log)))
}

/// A hook's pod log, for its output log policy: copied to stderr as it is, as Helm v4 copies
/// it to its log; a log that could not be read is a warning, and the action goes on.
fn print_hook_log(l: iter8_k8s::hooks::HookLog) {
    use std::io::Write;
    match l.log {
        Ok(text) => {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        Err(why) => log::warn(&format!("error outputting logs for hook {}: {why}", l.hook)),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    runner::task::error_chain(e)
}

/// `iter8 k launch`: render the chart as release `<group>` and install or upgrade it.
pub fn launch(args: KLaunchArgs) -> anyhow::Result<()> {
    if args.local_chart && args.chart_name.is_none() {
        anyhow::bail!("localChart specified; 'chartName' is required");
    }
    let group = args.kube.group.clone();
    chartgen::render::validate_release_name(&group)
        .map_err(|e| anyhow::anyhow!("invalid --group {group:?}: {e}"))?;
    let timeout =
        super::parse_go_duration(&args.timeout).map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    let super::launch::ChartSource {
        files,
        description: source,
        origin,
    } = super::launch::chart_source(args.chart_name.as_deref(), &args.remote)?;
    let chart = chartgen::chart::load_from_files(files).map_err(|e| {
        log::error_trace("unable to load chart", &e.to_string());
        anyhow::anyhow!(
            "unable to load chart {source}: {}",
            super::launch::one_line(&e.to_string())
        )
    })?;

    // The release's history decides the revision; a dry run works without a cluster.
    let rt = runtime()?;
    let connected = helm(&rt, &args.kube).and_then(|helm| {
        let history = rt
            .block_on(helm.history(&group))
            .map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
        let kube_version = rt
            .block_on(helm.client().apiserver_version())
            .ok()
            .map(|v| v.git_version);
        Ok((helm, history, kube_version))
    });
    let (helm, history, kube_version) = match connected {
        Ok((helm, history, kv)) => (Some(helm), history, kv),
        Err(e) if args.dry => {
            log::warn(&format!(
                "cluster not reachable; rendering as a first install: {}",
                super::error_chain(&e)
            ));
            (None, Vec::new(), None)
        }
        Err(e) => {
            log::error_trace("experiment launch failed", &super::error_chain(&e));
            return Err(e);
        }
    };
    let namespace = match &helm {
        Some(h) => h.namespace().to_string(),
        None => args
            .kube
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
    };

    let (revision, upgrade) = next_revision(&history);
    let mut opts = chartgen::render::Options {
        release_name: group.clone(),
        namespace: namespace.clone(),
        revision,
        is_upgrade: upgrade,
        kube_version,
        values_files: args.values.values.iter().map(Into::into).collect(),
        set: args.values.set.clone(),
        set_string: args.values.set_string.clone(),
        set_file: args.values.set_file.clone(),
        // The release manifest has no hooks: Helm keeps them apart (template_with_hooks).
        no_hooks: true,
        ..Default::default()
    };
    // Helm's message without `helm template`'s hint about --debug.
    let render_failed = |e: chartgen::render::RenderError| {
        log::error_trace("experiment launch failed", &e.message);
        anyhow::anyhow!("{}", super::launch::one_line(&e.message))
    };
    let mut config = chartgen::yaml::to_serde_json(
        &chartgen::render::user_values(&opts).map_err(render_failed)?,
    );
    // Helm's rule: an upgrade given no values at all reuses the previous release's values.
    if upgrade
        && config.as_object().is_none_or(|m| m.is_empty())
        && let Some(previous) = current(&history)
        && previous.config.as_object().is_some_and(|m| !m.is_empty())
    {
        opts.base_values = Some(chartgen::yaml::from_serde_json(&previous.config));
        config = previous.config.clone();
    }
    let rendered = render_release(&chart, &opts, config, origin.as_ref()).inspect_err(|e| {
        log::error_trace("experiment launch failed", &super::error_chain(e));
    })?;

    if args.dry {
        let path = Path::new(MANIFEST_FILE);
        super::write_atomic(path, rendered.manifest.as_bytes())
            .map_err(|e| anyhow::anyhow!("unable to write {MANIFEST_FILE}: {e}"))?;
        log::info("wrote kubernetes manifest into manifest.yaml");
        log::info("dry run complete");
        return Ok(());
    }
    let helm = helm.expect("connected unless --dry");
    rt.block_on(helm.install_or_upgrade(&group, &history, rendered, timeout))
        .map_err(|e| {
            let c = chain(&e);
            log::error_trace("experiment launch failed", &c);
            anyhow::anyhow!(c)
        })?;
    log::info("experiment launched. Happy Iter8ing!");
    Ok(())
}

/// Render `chart` as the release `opts` names, with user values `config` (what the record
/// keeps; `origin`: where a fetched chart came from, recorded in the experiment and the
/// release's chart annotations): the manifest and the hooks apart (its experiment checked as a local launch checks it, so bad input fails
/// before anything is created), NOTES.txt and the record's chart object. `iter8 k launch` and
/// the AutoX controller's direct mode both install what this returns.
pub fn render_release(
    chart: &chartgen::chart::Chart,
    opts: &chartgen::render::Options,
    config: serde_json::Value,
    origin: Option<&runner::ChartOrigin>,
) -> anyhow::Result<Rendered> {
    // Helm's message without `helm template`'s hint about --debug.
    let failed = |e: chartgen::render::RenderError| {
        anyhow::anyhow!("{}", super::launch::one_line(&e.message))
    };
    let (mut manifest, rendered_hooks) =
        chartgen::render::template_with_hooks(chart, opts).map_err(failed)?;
    if let Some(origin) = origin {
        manifest = record_chart_origin(&manifest, &opts.release_name, origin)?;
    }
    check_experiment(&manifest, &opts.release_name)?;
    let notes = chartgen::render::render_files(chart, opts)
        .map_err(failed)?
        .into_iter()
        .find(|(k, _)| k == &format!("{}/templates/NOTES.txt", chart.name()))
        .map(|(_, v)| v)
        .unwrap_or_default();
    let mut metadata = chartgen::yaml::to_serde_json(&chart.metadata.to_json_value());
    if let Some(origin) = origin {
        annotate_origin(&mut metadata, origin);
    }
    let chart_value = chart_json(
        metadata,
        &chart_files(&chart.templates),
        chartgen::yaml::to_serde_json(&chart.values),
        chart.schema.as_deref(),
        &chart_files(&chart.files),
    );
    let hooks = rendered_hooks
        .iter()
        .map(|h| Hook::from_rendered(&h.path, &h.kind, &h.events, &h.manifest))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("the chart rendered an invalid hook: {}", chain(&e)))?;
    Ok(Rendered {
        chart: chart_value,
        config,
        manifest,
        notes,
        hooks,
    })
}

/// Check the experiment in the manifest's Secret `<group>` as the local launch does (task
/// names, http inputs, ready inputs), so bad input fails before anything is created.
fn check_experiment(manifest: &str, group: &str) -> anyhow::Result<()> {
    let objects = iter8_k8s::apply::parse_manifest(manifest)
        .map_err(|e| anyhow::anyhow!("the chart rendered an invalid manifest: {}", chain(&e)))?;
    let experiment = objects.iter().find_map(|o| {
        (o["kind"] == "Secret" && o["metadata"]["name"] == group)
            .then(|| o["stringData"][iter8_k8s::secret_driver::EXPERIMENT_KEY].as_str())
            .flatten()
    });
    let Some(text) = experiment else {
        return Ok(());
    };
    let exp = runner::Experiment::from_yaml(text)
        .map_err(|e| anyhow::anyhow!("the chart rendered an invalid experiment: {e}"))?;
    super::launch::preflight(&exp, Path::new(&format!("experiment in Secret {group}")))
}

/// Chart annotations in the release record naming where the chart came from: Helm keeps no
/// record of a chart's source, but `helm get metadata` prints the chart's annotations.
pub const ANNOTATION_SOURCE: &str = "iter8.tools/chart-source";
/// The chart URL or OCI reference with its tag.
pub const ANNOTATION_URL: &str = "iter8.tools/chart-url";
/// `sha256:<hex>` of the chart archive.
pub const ANNOTATION_DIGEST: &str = "iter8.tools/chart-digest";
/// OCI only: the manifest digest.
pub const ANNOTATION_MANIFEST_DIGEST: &str = "iter8.tools/chart-manifest-digest";

/// Add the chart's origin to the annotations of the release record's chart metadata.
fn annotate_origin(metadata: &mut serde_json::Value, origin: &runner::ChartOrigin) {
    let Some(meta) = metadata.as_object_mut() else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !annotations.is_object() {
        *annotations = serde_json::Value::Object(Default::default());
    }
    let Some(map) = annotations.as_object_mut() else {
        return;
    };
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            map.insert(k.to_string(), v.into());
        }
    };
    put(ANNOTATION_SOURCE, &origin.source);
    put(ANNOTATION_URL, &origin.url);
    put(ANNOTATION_DIGEST, &origin.digest);
    put(
        ANNOTATION_MANIFEST_DIGEST,
        origin.manifest_digest.as_deref().unwrap_or(""),
    );
}

/// The manifest with `result.chart` set in the experiment of Secret `<group>`, so the runner
/// (which keeps it) and `iter8 k report` see where the chart came from. Only that document is
/// rewritten (its `# Source:` line kept); a manifest without that Secret is returned as is.
fn record_chart_origin(
    manifest: &str,
    group: &str,
    origin: &runner::ChartOrigin,
) -> anyhow::Result<String> {
    let key = iter8_k8s::secret_driver::EXPERIMENT_KEY;
    let mut out = String::with_capacity(manifest.len() + 512);
    // Documents between `---` lines (the first is whatever precedes the first separator).
    let mut docs = vec![String::new()];
    for line in manifest.split_inclusive('\n') {
        if line == "---\n" || line == "---" {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
        }
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let parsed = iter8_k8s::apply::parse_manifest(doc).ok();
        let Some(mut obj) = parsed.and_then(|mut v| (v.len() == 1).then(|| v.remove(0))) else {
            out.push_str(doc);
            continue;
        };
        let text = (obj["kind"] == "Secret" && obj["metadata"]["name"] == group)
            .then(|| obj["stringData"][key].as_str().map(str::to_string))
            .flatten();
        let Some(text) = text else {
            out.push_str(doc);
            continue;
        };
        let with = super::launch::with_chart_origin(&text, origin.clone())?;
        obj["stringData"][key] = with.into();
        for line in doc.lines().take_while(|l| l.starts_with('#')) {
            out.push_str(line);
            out.push('\n');
        }
        let yaml = chartgen::yaml::to_yaml(&chartgen::yaml::from_serde_json(&obj))
            .map_err(|e| anyhow::anyhow!("unable to write Secret {group}: {e}"))?;
        out.push_str(&yaml);
        if !yaml.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

fn chart_files(fs: &[chartgen::chart::File]) -> Vec<ChartFile<'_>> {
    fs.iter()
        .map(|f| ChartFile {
            name: &f.name,
            data: &f.data,
        })
        .collect()
}

/// `iter8 k delete`: uninstall release `<group>` and every record of it.
pub fn delete(args: KDeleteArgs) -> anyhow::Result<()> {
    let group = &args.kube.group;
    let timeout =
        super::parse_go_duration(&args.timeout).map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    let rt = runtime()?;
    let helm = helm(&rt, &args.kube)?;
    match rt.block_on(helm.uninstall(group, timeout)) {
        Ok(_) => {
            log::info(&format!("experiment group {group} deleted"));
            Ok(())
        }
        Err(e) => {
            let c = chain(&e);
            log::error_trace(&format!("deletion of experiment group {group} failed"), &c);
            anyhow::bail!("deletion of experiment group {group} failed: {c}")
        }
    }
}

/// `iter8 k log`: logs of the pods labelled `iter8.tools/group=<group>`.
pub fn log(args: KLogArgs) -> anyhow::Result<()> {
    let rt = runtime()?;
    let helm = helm(&rt, &args.kube)?;
    let logs = rt
        .block_on(iter8_k8s::logs::group_logs(
            helm.client().clone(),
            helm.namespace(),
            &args.kube.group,
        ))
        .map_err(|e| {
            let c = chain(&e);
            log::error_trace("unable to fetch experiment logs", &c);
            anyhow::anyhow!(c)
        })?;
    let joined = iter8_k8s::logs::join_logs(&logs);
    log::log(
        log::Level::Info,
        "experiment logs from Kubernetes cluster",
        &[("indented-trace", &joined)],
    );
    Ok(())
}
