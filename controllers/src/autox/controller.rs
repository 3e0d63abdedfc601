//! The AutoX controller loop: one resumable watch per trigger, a serialized, level-triggered
//! reconcile per group (read the trigger live, decide per release spec, act), acting only
//! while holding the Lease, with an Event on the trigger for each launch and delete.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use iter8_k8s::helm::{current, next_revision};
use iter8_k8s::{Helm, Rendered};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::{Api, Client};
use serde_json::Value;

use super::argocd::{self, AppInput, Owner};
use super::config::{Config, Group, ReleaseSpec};
use super::decide::{ADDITIONAL_VALUES, Action, Existing, VERSION_LABEL, decide};
use super::release_name;
use crate::Reporter;
use crate::events::{self, Subject};
use crate::lease;
use crate::watch::{self, Watched};

/// How long a direct-mode install waits for the chart's hook Jobs (Helm's default `--timeout`).
const HOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// The component name on Events.
pub const COMPONENT: &str = "iter8-autox";

/// What a direct launch asks the chart renderer for.
#[derive(Debug, Clone)]
pub struct RenderRequest {
    pub release: String,
    pub namespace: String,
    pub chart: String,
    pub version: String,
    pub values: Value,
    pub revision: i64,
    pub is_upgrade: bool,
    pub kube_version: Option<String>,
}

/// Renders a chart as a release (the `iter8 k launch` code, supplied by the binary so this
/// crate needs no chart engine). Called on a blocking thread.
pub trait Renderer: Send + Sync + 'static {
    fn render(&self, req: &RenderRequest) -> Result<Rendered, String>;
}

/// How experiments are launched.
pub enum Mode {
    /// An Argo CD Application per release spec, in `namespace`, with this `repoURL`.
    ArgoCd { namespace: String, repo_url: String },
    /// A Helm-compatible release in the trigger's namespace, rendered by the renderer.
    Direct(Arc<dyn Renderer>),
}

/// Controller settings.
pub struct Settings {
    pub mode: Mode,
    /// Leader election; None: act alone.
    pub lease: Option<lease::Settings>,
    /// Address of /healthz and /readyz; None: no endpoints.
    pub health_addr: Option<SocketAddr>,
    /// Pause before retrying failed reconciles.
    pub retry: Duration,
}

/// Errors that stop the controller.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("unable to serve health endpoints on {addr}")]
    Health {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

fn argo_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

struct Ctx {
    client: Client,
    config: Config,
    settings: Settings,
    reporter: Arc<dyn Reporter>,
    /// Applications deleted to be created anew (Argo CD removes them after its finalizer):
    /// their next launch is a relaunch.
    relaunching: std::sync::Mutex<BTreeSet<String>>,
}

/// Run the controller until the task is dropped. `on_health` gets the bound health address.
pub async fn run(
    client: Client,
    config: Config,
    settings: Settings,
    reporter: Arc<dyn Reporter>,
    on_health: impl FnOnce(SocketAddr),
) -> Result<(), ControllerError> {
    let ready = Arc::new(AtomicBool::new(config.specs.is_empty()));
    if let Some(addr) = settings.health_addr {
        let (bound, serve) = crate::health::bind(addr, ready.clone())
            .await
            .map_err(|source| ControllerError::Health { addr, source })?;
        reporter.info(&format!("serving /healthz and /readyz on {bound}"));
        on_health(bound);
        tokio::spawn(serve);
    }
    let leader = Arc::new(AtomicBool::new(settings.lease.is_none()));
    let (lead_tx, mut lead_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    if let Some(l) = &settings.lease {
        tasks.push(tokio::spawn(lease::run(
            client.clone(),
            l.clone(),
            leader.clone(),
            lead_tx,
            reporter.clone(),
        )));
    }
    let (changed_tx, mut changed_rx) = tokio::sync::mpsc::unbounded_channel();
    let (synced_tx, mut synced_rx) = tokio::sync::mpsc::unbounded_channel();
    for (name, group) in &config.specs {
        let t = &group.trigger;
        let w = Watched {
            resource: watch::api_resource(&t.group, &t.version, &t.resource),
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            key: name.clone(),
        };
        tasks.push(tokio::spawn(watch::run(
            client.clone(),
            w,
            changed_tx.clone(),
            synced_tx.clone(),
            reporter.clone(),
        )));
    }
    drop(synced_tx);
    reporter.info(&format!(
        "autox started: {} group(s), mode {}",
        config.specs.len(),
        match settings.mode {
            Mode::ArgoCd { .. } => "argocd",
            Mode::Direct(_) => "direct",
        }
    ));
    let ctx = Ctx {
        client,
        config,
        settings,
        reporter,
        relaunching: std::sync::Mutex::new(BTreeSet::new()),
    };
    let mut synced = BTreeSet::new();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            Some(g) = changed_rx.recv() => { pending.insert(g); }
            Some(g) = synced_rx.recv() => {
                synced.insert(g);
                if synced.len() == ctx.config.specs.len() {
                    ready.store(true, Ordering::SeqCst);
                    ctx.reporter.info("every trigger listed; ready");
                }
            }
            Some(()) = lead_rx.recv() => { pending.extend(ctx.config.specs.keys().cloned()); }
            _ = tokio::time::sleep(ctx.settings.retry) => {}
        }
        while let Ok(g) = changed_rx.try_recv() {
            pending.insert(g);
        }
        if !leader.load(Ordering::SeqCst) || pending.is_empty() {
            continue;
        }
        for g in std::mem::take(&mut pending) {
            let Some(group) = ctx.config.specs.get(&g) else {
                continue;
            };
            if let Err(e) = ctx.reconcile(&g, group).await {
                ctx.reporter.warn(&format!(
                    "group {g}: {e}; retrying in {:?}",
                    ctx.settings.retry
                ));
                pending.insert(g);
            }
        }
    }
}

impl Ctx {
    /// Read the trigger live, then decide and act for each release spec.
    async fn reconcile(&self, gname: &str, group: &Group) -> Result<(), String> {
        let t = &group.trigger;
        let res = watch::api_resource(&t.group, &t.version, &t.resource);
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &t.namespace, &res);
        let obj = api
            .get_opt(&t.name)
            .await
            .map_err(|e| format!("unable to get trigger {}/{}: {e}", t.namespace, t.name))?;
        let labels: Option<BTreeMap<String, String>> = obj
            .as_ref()
            .map(|o| o.metadata.labels.clone().unwrap_or_default());
        let subject = Subject {
            api_version: res.api_version.clone(),
            kind: obj
                .as_ref()
                .and_then(|o| o.types.as_ref().map(|t| t.kind.clone()))
                .unwrap_or_default(),
            name: t.name.clone(),
            namespace: t.namespace.clone(),
            uid: obj.as_ref().and_then(|o| o.metadata.uid.clone()),
        };
        let mut failed = Vec::new();
        for (sid, spec) in &group.release_specs {
            let release = release_name(gname, sid);
            if let Err(e) = self
                .reconcile_spec(gname, &release, spec, labels.as_ref(), &subject)
                .await
            {
                failed.push(format!("{release}: {e}"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }

    async fn reconcile_spec(
        &self,
        gname: &str,
        release: &str,
        spec: &ReleaseSpec,
        labels: Option<&BTreeMap<String, String>>,
        subject: &Subject,
    ) -> Result<(), String> {
        let ns = &subject.namespace;
        let existing = match &self.settings.mode {
            Mode::ArgoCd { namespace, .. } => {
                let apps = self.apps(namespace);
                let app = apps
                    .get_opt(release)
                    .await
                    .map_err(|e| format!("unable to get Application {namespace}/{release}: {e}"))?;
                if let Some(a) = &app
                    && a.metadata.deletion_timestamp.is_some()
                {
                    return Err(format!(
                        "Application {namespace}/{release} is being deleted; waiting"
                    ));
                }
                let app = app.map(|a| serde_json::to_value(a).unwrap_or(Value::Null));
                argocd::existing(app.as_ref())
            }
            Mode::Direct(_) => {
                let helm = Helm::new(self.client.clone(), ns);
                let history = helm.history(release).await.map_err(|e| chain(&e))?;
                existing_release(&history)
            }
        };
        let action = decide(labels, spec, &existing);
        let version = labels
            .and_then(|l| l.get(VERSION_LABEL))
            .cloned()
            .unwrap_or_default();
        match action {
            Action::Nothing(why) => {
                if matches!(existing, Existing::NotOurs) {
                    self.reporter.info(&format!(
                        "{release} exists but was not launched by autox; left alone"
                    ));
                }
                let _ = why;
                Ok(())
            }
            Action::Launch(values) | Action::Relaunch(values) => {
                let replace = matches!(existing, Existing::Ours(_));
                let again = replace || self.relaunching().contains(release);
                match &self.settings.mode {
                    Mode::ArgoCd {
                        namespace,
                        repo_url,
                    } => {
                        let owner = self.owner(namespace, gname).await?;
                        let apps = self.apps(namespace);
                        if replace {
                            apps.delete(release, &DeleteParams::default())
                                .await
                                .map_err(|e| {
                                    format!("unable to delete Application {release}: {e}")
                                })?;
                            self.relaunching().insert(release.to_string());
                        }
                        let app = argocd::application(&AppInput {
                            app_name: release,
                            namespace,
                            owner: &owner,
                            destination_namespace: ns,
                            chart: &spec.name,
                            version: &spec.version,
                            repo_url,
                            values: &values,
                        })
                        .map_err(|e| format!("unable to write values as YAML: {e}"))?;
                        let obj: DynamicObject = serde_json::from_value(app)
                            .map_err(|e| format!("Application object: {e}"))?;
                        match apps.create(&PostParams::default(), &obj).await {
                            Ok(_) => {}
                            Err(kube::Error::Api(s)) if s.code == 409 && again => {
                                return Err(format!(
                                    "Application {namespace}/{release} is being deleted; creating it anew when it is gone"
                                ));
                            }
                            Err(e) => {
                                return Err(format!("unable to create Application {release}: {e}"));
                            }
                        }
                        self.relaunching().remove(release);
                    }
                    Mode::Direct(renderer) => {
                        self.install(renderer.clone(), release, ns, spec, values)
                            .await?;
                    }
                }
                let (reason, verb) = if again {
                    ("ExperimentRelaunched", "relaunched")
                } else {
                    ("ExperimentLaunched", "launched")
                };
                let msg = format!(
                    "{verb} experiment {release} (chart {} {}) for version {version}",
                    spec.name, spec.version
                );
                self.reporter.info(&msg);
                self.event(subject, reason, &msg).await;
                Ok(())
            }
            Action::Delete => {
                self.relaunching().remove(release);
                match &self.settings.mode {
                    Mode::ArgoCd { namespace, .. } => {
                        self.apps(namespace)
                            .delete(release, &DeleteParams::default())
                            .await
                            .map_err(|e| format!("unable to delete Application {release}: {e}"))?;
                    }
                    Mode::Direct(_) => {
                        Helm::new(self.client.clone(), ns)
                            .uninstall(release, HOOK_TIMEOUT)
                            .await
                            .map_err(|e| chain(&e))?;
                    }
                }
                let why = if labels.is_some() {
                    "the version label was removed"
                } else {
                    "the trigger was deleted"
                };
                let msg = format!("deleted experiment {release}: {why}");
                self.reporter.info(&msg);
                self.event(subject, "ExperimentDeleted", &msg).await;
                Ok(())
            }
        }
    }

    fn relaunching(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.relaunching
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn apps(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &argo_resource())
    }

    async fn owner(&self, namespace: &str, gname: &str) -> Result<Owner, String> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let list = secrets
            .list(&ListParams::default().labels(&format!("{}={gname}", argocd::GROUP_SECRET_LABEL)))
            .await
            .map_err(|e| format!("unable to list group Secrets: {e}"))?;
        let found: Vec<(String, String)> = list
            .items
            .into_iter()
            .map(|s| {
                (
                    s.metadata.name.unwrap_or_default(),
                    s.metadata.uid.unwrap_or_default(),
                )
            })
            .collect();
        argocd::owner_of(gname, &found)
    }

    async fn install(
        &self,
        renderer: Arc<dyn Renderer>,
        release: &str,
        namespace: &str,
        spec: &ReleaseSpec,
        values: Value,
    ) -> Result<(), String> {
        let helm = Helm::new(self.client.clone(), namespace);
        let mut history = helm.history(release).await.map_err(|e| chain(&e))?;
        if let Some(last) = history.last()
            && last.info.status.is_pending()
            && last.config.get(ADDITIONAL_VALUES).is_some()
        {
            // Our own launch, interrupted (e.g. the API server went away mid-install); we hold
            // the Lease, so nobody else is installing it: mark it failed and go on.
            let mut r = last.clone();
            r.info.status = iter8_k8s::Status::Failed;
            r.info.description = "interrupted; superseded by the next autox launch".into();
            iter8_k8s::ReleaseStore::new(self.client.clone(), namespace)
                .update(&r)
                .await
                .map_err(|e| chain(&e))?;
            self.reporter.warn(&format!(
                "release {release} v{} was left {}; marked failed",
                last.version,
                last.info.status.as_str()
            ));
            history = helm.history(release).await.map_err(|e| chain(&e))?;
        }
        let (revision, is_upgrade) = next_revision(&history);
        let kube_version = self
            .client
            .apiserver_version()
            .await
            .ok()
            .map(|v| v.git_version);
        let req = RenderRequest {
            release: release.to_string(),
            namespace: namespace.to_string(),
            chart: spec.name.clone(),
            version: spec.version.clone(),
            values,
            revision,
            is_upgrade,
            kube_version,
        };
        let rendered = tokio::task::spawn_blocking(move || renderer.render(&req))
            .await
            .map_err(|e| format!("chart rendering stopped: {e}"))??;
        helm.install_or_upgrade(release, &history, rendered, HOOK_TIMEOUT)
            .await
            .map_err(|e| chain(&e))?;
        Ok(())
    }

    async fn event(&self, subject: &Subject, reason: &str, msg: &str) {
        if let Err(e) = events::record(&self.client, subject, COMPONENT, false, reason, msg).await {
            self.reporter.warn(&format!(
                "unable to record event {reason} on {}: {e}",
                subject.name
            ));
        }
    }
}

/// A release's history as the decision sees it: AutoX's releases carry
/// `autoXAdditionalValues` in their values; any other release of that name is not ours. When
/// the last revision did not deploy (failed or interrupted), it counts as launched with no
/// values, so the next decision launches again.
pub fn existing_release(history: &[iter8_k8s::Release]) -> Existing {
    match (current(history), history.last()) {
        (None, _) | (_, None) => Existing::None,
        (Some(r), _) if r.config.get(ADDITIONAL_VALUES).is_none() => Existing::NotOurs,
        (Some(_), Some(last)) if last.info.status != iter8_k8s::Status::Deployed => {
            Existing::Ours(Value::Null)
        }
        (Some(r), _) => Existing::Ours(r.config.clone()),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rel(version: i64, status: &str, config: Value) -> iter8_k8s::Release {
        serde_json::from_value(json!({
            "name": "autox-g-s", "version": version, "namespace": "ns",
            "info": {"status": status}, "config": config
        }))
        .expect("release")
    }

    /// No history: nothing; a deployed release with autoXAdditionalValues: ours with its
    /// values; without them: not ours; ours but the last revision failed or is pending:
    /// ours with no values (so the decision launches again).
    #[test]
    fn existing_from_history() {
        let ours = json!({ADDITIONAL_VALUES: {"app.kubernetes.io/version": "1"}});
        assert_eq!(existing_release(&[]), Existing::None);
        assert_eq!(
            existing_release(&[rel(1, "deployed", ours.clone())]),
            Existing::Ours(ours.clone())
        );
        assert_eq!(
            existing_release(&[rel(1, "deployed", json!({"tasks": ["http"]}))]),
            Existing::NotOurs
        );
        assert_eq!(
            existing_release(&[
                rel(1, "deployed", ours.clone()),
                rel(2, "failed", ours.clone())
            ]),
            Existing::Ours(Value::Null)
        );
        assert_eq!(
            existing_release(&[rel(1, "pending-install", ours)]),
            Existing::Ours(Value::Null)
        );
    }
}
