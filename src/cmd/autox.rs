//! `iter8 autox`: the AutoX controller. Reads the `CONFIG` file (Iter8 v0.13's format; a
//! missing trigger field or a duplicate trigger exits 1 with v0.13's message), then runs the
//! controller of `iter8_controllers::autox` until stopped: in `argocd` mode it writes Argo CD
//! Applications, in `direct` mode it installs the experiment charts itself with the
//! `iter8 k launch` code ([`super::k::render_release`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use iter8_controllers::autox::{self, Mode, RenderRequest, Renderer, Settings};
use iter8_controllers::lease;
use iter8_k8s::{KubeOptions, Rendered, connect_client};

use crate::log;
use crate::{AutoxArgs, RemoteChartArgs};

/// The environment variable naming the configuration file (Iter8 v0.13).
const CONFIG_ENV: &str = "CONFIG";

/// Renders experiment charts from the configured repository (direct mode).
struct ChartRenderer {
    remote: RemoteChartArgs,
}

impl Renderer for ChartRenderer {
    fn render(&self, req: &RenderRequest) -> Result<Rendered, String> {
        let remote = RemoteChartArgs {
            version: (!req.version.is_empty()).then(|| req.version.clone()),
            ..self.remote.clone()
        };
        let super::launch::ChartSource {
            files,
            description: source,
            origin,
        } = super::launch::chart_source(Some(&req.chart), &remote)
            .map_err(|e| super::error_chain(&e))?;
        let chart = chartgen::chart::load_from_files(files).map_err(|e| {
            format!(
                "unable to load chart {source}: {}",
                super::launch::one_line(&e.to_string())
            )
        })?;
        let opts = chartgen::render::Options {
            release_name: req.release.clone(),
            namespace: req.namespace.clone(),
            revision: req.revision,
            is_upgrade: req.is_upgrade,
            kube_version: req.kube_version.clone(),
            base_values: Some(chartgen::yaml::from_serde_json(&req.values)),
            no_hooks: true,
            ..Default::default()
        };
        super::k::render_release(&chart, &opts, req.values.clone(), origin.as_ref())
            .map_err(|e| super::error_chain(&e))
    }
}

/// `iter8 autox`.
pub fn run(args: AutoxArgs) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) else {
        log::error("group configuration file is required");
        anyhow::bail!("group configuration file is required (hint: set {CONFIG_ENV} to its path)");
    };
    let config = autox::Config::load(std::path::Path::new(&path)).map_err(|e| {
        let msg = runner::task::error_chain(&e);
        log::error(&msg);
        anyhow::anyhow!(msg)
    })?;
    let health_addr = match args.health_addr.as_str() {
        "" | "off" => None,
        a => Some(a.parse::<SocketAddr>().map_err(|e| {
            anyhow::anyhow!("--health-addr {a:?} is not an address like 0.0.0.0:8081: {e}")
        })?),
    };
    let mode = match args.mode.as_str() {
        "argocd" => Mode::ArgoCd {
            namespace: args.argocd_namespace.clone(),
            repo_url: args.repo.clone(),
        },
        "direct" => Mode::Direct(Arc::new(ChartRenderer {
            remote: RemoteChartArgs {
                repo: (!args.repo.starts_with("oci://")).then(|| args.repo.clone()),
                plain_http: args.plain_http,
                ca_file: args.ca_file.clone(),
                insecure_skip_tls_verify: args.insecure_skip_tls_verify,
                ..Default::default()
            },
        })),
        other => anyhow::bail!("--mode {other:?}: expected argocd or direct"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("unable to start the controller runtime: {e}"))?;
    rt.block_on(async move {
        let opts = KubeOptions {
            kubeconfig: args.kubeconfig.clone().map(Into::into),
            context: args.kube_context.clone(),
            namespace: None,
        };
        let (client, config_namespace) = connect_client(&opts)
            .await
            .map_err(|e| anyhow::anyhow!("{e} (hint: pass --kubeconfig or set KUBECONFIG)"))?;
        let lease = args.leader_elect.then(|| lease::Settings {
            name: args.lease_name.clone(),
            namespace: args
                .lease_namespace
                .clone()
                .or_else(|| {
                    std::env::var("POD_NAMESPACE")
                        .ok()
                        .filter(|s| !s.is_empty())
                })
                .unwrap_or(config_namespace),
            identity: args
                .identity
                .clone()
                .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
                .unwrap_or_else(|| format!("autox-{}", std::process::id())),
            duration: Duration::from_secs(args.lease_duration),
            retry: Duration::from_secs(2),
        });
        let settings = Settings {
            mode,
            lease,
            health_addr,
            retry: Duration::from_secs(2),
        };
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let controller = autox::run(
            client,
            config,
            settings,
            Arc::new(crate::log::Logger),
            |_| {},
        );
        tokio::select! {
            r = controller => r.map_err(|e| anyhow::anyhow!(runner::task::error_chain(&e))),
            _ = stop => { log::info("interrupted; stopping"); Ok(()) }
            _ = term => { log::info("terminated; stopping"); Ok(()) }
        }
    })
}
