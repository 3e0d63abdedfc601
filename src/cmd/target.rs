//! `iter8 target`: serve the sample HTTP target until interrupted.

use anyhow::Context;

use crate::TargetArgs;

/// Bind, print `listening on http://<addr>` on stdout, serve until SIGINT/SIGTERM.
pub fn run(args: TargetArgs) -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .or_else(|_| format!("[{}]:{}", args.host, args.port).parse())
        .with_context(|| format!("--host {:?} is not an IP address", args.host))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let target = runner::target::Target::start(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!("listening on {}", target.url());
        crate::log::info(&format!("sample target listening on {}", target.url()));
        wait_for_signal().await;
        crate::log::info("sample target stopping");
        target.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
