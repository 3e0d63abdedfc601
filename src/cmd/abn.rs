//! `iter8 abn`: the A/B/n service. Reads the `WATCHER_CONFIG` file (a missing variable or a bad
//! file exits 1 naming it), connects to the cluster and runs `iter8_controllers::abn` until
//! SIGTERM or Ctrl-C, then flushes pending metric writes and exits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use iter8_controllers::abn::{self, Settings};
use iter8_k8s::{KubeOptions, connect_client};

use crate::AbnArgs;
use crate::log;

/// The environment variable naming the configuration file (Iter8 v0.13).
const CONFIG_ENV: &str = "WATCHER_CONFIG";

/// `iter8 abn`.
pub fn run(args: AbnArgs) -> anyhow::Result<()> {
    let flush_interval = super::parse_go_duration(&args.flush_interval)
        .map_err(|e| anyhow::anyhow!("--flush-interval {:?}: {e}", args.flush_interval))?;
    if flush_interval.is_zero() || flush_interval > Duration::from_secs(1) {
        anyhow::bail!(
            "--flush-interval {:?}: must be above 0 and at most 1s (the bound on what a hard kill can lose)",
            args.flush_interval
        );
    }
    let addr: SocketAddr = format!("{}:{}", args.address, args.port)
        .parse()
        .map_err(|e| anyhow::anyhow!("--address {:?}: {e}", args.address))?;
    let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) else {
        log::error("configuation file is required");
        anyhow::bail!("configuration file is required (hint: set {CONFIG_ENV} to its path)");
    };
    let config = abn::Config::load(std::path::Path::new(&path))
        .map_err(|e| anyhow::anyhow!(runner::task::error_chain(&e)))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("unable to start the service runtime: {e}"))?;
    rt.block_on(async move {
        let opts = KubeOptions {
            kubeconfig: args.kubeconfig.clone().map(Into::into),
            context: args.kube_context.clone(),
            namespace: None,
        };
        let (client, _) = connect_client(&opts)
            .await
            .map_err(|e| anyhow::anyhow!("{e} (hint: pass --kubeconfig or set KUBECONFIG)"))?;
        let settings = Settings {
            addr,
            flush_interval,
            sync_timeout: Duration::from_secs(30),
        };
        let shutdown = async {
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => log::info("interrupted; stopping"),
                _ = term => log::info("terminated; stopping"),
            }
        };
        abn::run(
            client,
            config,
            settings,
            Arc::new(crate::log::Logger),
            |_| {},
            shutdown,
        )
        .await
        .map_err(|e| anyhow::anyhow!(runner::task::error_chain(&e)))
    })
}
