//! Liveness and readiness endpoints: `GET /healthz` answers 200 while the process serves;
//! `GET /readyz` answers 200 once the controller has listed its objects, else 503.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The status and body for `path` given readiness.
pub fn answer(path: &str, ready: bool) -> (StatusCode, &'static str) {
    match path {
        "/healthz" | "/livez" => (StatusCode::OK, "ok\n"),
        "/readyz" if ready => (StatusCode::OK, "ok\n"),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: initial list pending\n",
        ),
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Bind `addr`; the bound address (port 0 picks one) and the server future to spawn.
pub async fn bind(
    addr: SocketAddr,
    ready: Arc<AtomicBool>,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()> + Send)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let serve = async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let ready = ready.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (status, body) = answer(req.uri().path(), ready.load(Ordering::SeqCst));
                    async move {
                        let mut resp =
                            Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                        *resp.status_mut() = status;
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    };
    Ok((local, serve))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Liveness is unconditional; readiness follows the flag; other paths are 404.
    #[test]
    fn answers() {
        assert_eq!(answer("/healthz", false).0, StatusCode::OK);
        assert_eq!(answer("/readyz", false).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer("/readyz", true).0, StatusCode::OK);
        assert_eq!(answer("/x", true).0, StatusCode::NOT_FOUND);
    }
}
