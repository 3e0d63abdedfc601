//! The A/B/n service's loop: load each configured application's data from its Secret, watch the
//! objects of its tracks (one resumable [`crate::watch`] per object name and kind), decide the
//! live tracks and finalizers ([`super::tracks::plan`]) whenever one changes, flush writes
//! ([`super::store`]), and serve gRPC until stopped; then flush what is pending.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{DynamicObject, PostParams};
use kube::{Api, Client};
use runner::abn::split_app_key;
use tokio::sync::{mpsc, watch};

use super::config::{AppConfig, Config};
use super::service::AbnService;
use super::store::{SecretWriter, Store};
use super::tracks::{self, FINALIZER, ObjectState};
use crate::Reporter;
use crate::watch::{Watched, api_resource};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where gRPC listens (port 0: any free port; the bound address is reported).
    pub addr: SocketAddr,
    /// The group-commit window of metric writes (at most 1 s).
    pub flush_interval: Duration,
    /// How long to wait for the first listing of every watched object before serving anyway.
    pub sync_timeout: Duration,
}

/// Why the service stopped.
#[derive(Debug, thiserror::Error)]
pub enum AbnRunError {
    #[error("unable to listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("unable to read the data of application {app}: {message}")]
    Load { app: String, message: String },
    #[error("the gRPC server failed")]
    Serve(#[source] tonic::transport::Error),
}

/// Run until `shutdown` resolves; `bound` gets the address gRPC listens on once it serves.
pub async fn run(
    client: Client,
    config: Config,
    settings: Settings,
    reporter: Arc<dyn Reporter>,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AbnRunError> {
    // Stored data first, so that nothing written before a restart is overwritten.
    let mut store = Store::default();
    let mut writers = Vec::new();
    for key in config.apps.keys() {
        let (ns, name) = split_app_key(key);
        let mut w = SecretWriter::new(Api::namespaced(client.clone(), ns), name);
        let data = w.read().await.map_err(|message| AbnRunError::Load {
            app: key.clone(),
            message,
        })?;
        if data.is_none() {
            reporter.warn(&format!(
                "no stored data for application {key} (secret {name}-metrics in {ns}); starting empty"
            ));
        }
        let app = store.insert(key, data.unwrap_or_default());
        writers.push((app, w));
    }
    let store = Arc::new(store);

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut flushers = Vec::new();
    for (app, w) in writers {
        flushers.push(tokio::spawn(app.flush_loop(
            w,
            settings.flush_interval,
            reporter.clone(),
            stop_rx.clone(),
        )));
    }

    // One watch per (object name, kind); all notify with the application key.
    let (changed_tx, mut changed_rx) = mpsc::unbounded_channel::<String>();
    let (synced_tx, mut synced_rx) = mpsc::unbounded_channel::<String>();
    let mut watches = Vec::new();
    for (key, app) in &config.apps {
        let (ns, name) = split_app_key(key);
        for track in tracks::track_names(name, app.max_num_candidates) {
            for r in &app.resources {
                let w = Watched {
                    resource: api_resource(&r.group, &r.version, &r.resource),
                    namespace: ns.to_string(),
                    name: track.clone(),
                    key: key.clone(),
                };
                watches.push(tokio::spawn(crate::watch::run(
                    client.clone(),
                    w,
                    changed_tx.clone(),
                    synced_tx.clone(),
                    reporter.clone(),
                )));
            }
        }
    }
    let expected = watches.len();

    // Serve only once every watch has listed and the tracks are known (or after the timeout).
    let deadline = tokio::time::Instant::now() + settings.sync_timeout;
    let mut synced = 0;
    while synced < expected {
        match tokio::time::timeout_at(deadline, synced_rx.recv()).await {
            Ok(Some(_)) => synced += 1,
            _ => {
                reporter.warn(&format!(
                    "{synced} of {expected} watches listed within {:?}; serving anyway",
                    settings.sync_timeout
                ));
                break;
            }
        }
    }
    // Every application once now; changes queued meanwhile are handled by the loop below.
    for (key, app) in &config.apps {
        reconcile(&client, key, app, &store, reporter.as_ref()).await;
    }

    let reconciler = {
        let client = client.clone();
        let store = store.clone();
        let reporter = reporter.clone();
        let apps = config.apps.clone();
        tokio::spawn(async move {
            while let Some(first) = changed_rx.recv().await {
                let mut keys = BTreeSet::from([first]);
                while let Ok(k) = changed_rx.try_recv() {
                    keys.insert(k);
                }
                for k in keys {
                    if let Some(app) = apps.get(&k) {
                        reconcile(&client, &k, app, &store, reporter.as_ref()).await;
                    }
                }
            }
        })
    };

    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|source| AbnRunError::Listen {
            addr: settings.addr,
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| AbnRunError::Listen {
            addr: settings.addr,
            source,
        })?;
    reporter.info(&format!("A/B/n service listening on {local}"));
    bound(local);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let served = tonic::transport::Server::builder()
        .add_service(AbnService::new(store.clone()))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;

    // Stopped: no more calls; flush what is pending, then stop the rest.
    let _ = stop_tx.send(true);
    for f in flushers {
        let _ = f.await;
    }
    reconciler.abort();
    for w in watches {
        w.abort();
    }
    for app in store.apps() {
        let (applied, persisted) = app.progress();
        reporter.info(&format!(
            "application {}: {persisted} of {applied} changes persisted at shutdown",
            app.key()
        ));
    }
    served.map_err(AbnRunError::Serve)
}

/// Read the objects of `key`'s tracks, decide, and act: finalizers, then the live tracks.
async fn reconcile(
    client: &Client,
    key: &str,
    app: &AppConfig,
    store: &Store,
    reporter: &dyn Reporter,
) {
    let (ns, name) = split_app_key(key);
    let mut objects: BTreeMap<(String, usize), ObjectState> = BTreeMap::new();
    let mut raw: BTreeMap<(String, usize), DynamicObject> = BTreeMap::new();
    for track in tracks::track_names(name, app.max_num_candidates) {
        for (i, r) in app.resources.iter().enumerate() {
            let api: Api<DynamicObject> = Api::namespaced_with(
                client.clone(),
                ns,
                &api_resource(&r.group, &r.version, &r.resource),
            );
            match api.get_opt(&track).await {
                Ok(Some(o)) => {
                    let json = serde_json::to_value(&o).unwrap_or_default();
                    objects.insert((track.clone(), i), ObjectState::from_json(&json));
                    raw.insert((track.clone(), i), o);
                }
                Ok(None) => {}
                Err(e) => {
                    reporter.warn(&format!("unable to get {} {ns}/{track}: {e}", r.resource));
                    return;
                }
            }
        }
    }
    let plan = tracks::plan(name, app, &objects);
    for ((track, i), add) in plan
        .add_finalizer
        .iter()
        .map(|t| (t, true))
        .chain(plan.remove_finalizer.iter().map(|t| (t, false)))
    {
        let Some(mut o) = raw.remove(&(track.clone(), *i)) else {
            continue;
        };
        let r = &app.resources[*i];
        let fins = o.metadata.finalizers.get_or_insert_with(Vec::new);
        if add {
            fins.push(FINALIZER.to_string());
        } else {
            fins.retain(|f| f != FINALIZER);
        }
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            ns,
            &api_resource(&r.group, &r.version, &r.resource),
        );
        // A conflict means the object changed: its watch event brings us back here.
        if let Err(e) = api.replace(track, &PostParams::default(), &o).await {
            reporter.warn(&format!(
                "unable to {} finalizer of {} {ns}/{track}: {e}",
                if add { "add" } else { "remove" },
                r.resource
            ));
        }
    }
    if let Some(a) = store.get(key)
        && a.set_tracks(plan.tracks.clone())
    {
        let desc: Vec<String> = plan
            .tracks
            .iter()
            .map(|(t, v)| format!("{t}={v}"))
            .collect();
        reporter.info(&format!("application {key}: tracks [{}]", desc.join(", ")));
    }
}
