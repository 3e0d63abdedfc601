//! Real HTTP test servers on 127.0.0.1:0 (HTTP/1.1, h2c, TLS with a self-signed certificate).
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use runner::experiment::Experiment;
use runner::{FileDriver, RunError, RunOptions, run_experiment};
use tokio::net::TcpListener;

/// Protocol the server speaks.
#[derive(Clone, Copy, PartialEq)]
pub enum Proto {
    /// HTTP/1.1 only.
    H1,
    /// HTTP/2 prior knowledge (h2c).
    H2c,
    /// TLS, ALPN h2 or http/1.1.
    Tls,
}

/// Method, body and headers of a request.
pub type Seen = (String, String, Vec<(String, String)>);

/// Server state visible to tests.
pub struct State {
    started: Instant,
    /// Requests served, by path.
    pub hits: AtomicU64,
    /// Requests seen with HTTP/2.
    pub h2_hits: AtomicU64,
    /// Last request body and method seen.
    pub last: Mutex<Option<Seen>>,
    stall: Mutex<Option<Instant>>,
    /// `/workers/...`: when each worker of the pool is next free.
    workers: Mutex<Vec<Instant>>,
}

/// A running server; stops when dropped (the runtime thread ends with the process).
pub struct Server {
    /// Bound address.
    pub addr: SocketAddr,
    /// Shared state.
    pub state: Arc<State>,
}

impl Server {
    /// `http://127.0.0.1:<port><path>` (or `https://localhost:<port>` for TLS).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    /// `https://localhost:<port><path>`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.addr.port(), path)
    }
    /// Requests served.
    pub fn hits(&self) -> u64 {
        self.state.hits.load(Ordering::SeqCst)
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().to_string();
    if req.version() == hyper::Version::HTTP_2 {
        state.h2_hits.fetch_add(1, Ordering::SeqCst);
    }
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    *state.last.lock().expect("lock") =
        Some((method, String::from_utf8_lossy(&body).into_owned(), headers));
    // `.../delay/<ms>`: every response is sent `ms` milliseconds after its request arrived
    // (a target with a fixed service time).
    let arrived = Instant::now();
    let delay = path
        .split_once("/delay/")
        .and_then(|(_, ms)| ms.parse::<u64>().ok())
        .map(Duration::from_millis);
    // `/stall...`: 1 s after the server starts, every request arriving during the next second
    // waits until that second is over (a frozen server, as with SIGSTOP).
    if path.starts_with("/stall") {
        let now = Instant::now();
        let until = {
            let mut s = state.stall.lock().expect("lock");
            if s.is_none() && now.duration_since(state.started) >= Duration::from_secs(1) {
                *s = Some(now + Duration::from_secs(1));
            }
            *s
        };
        if let Some(u) = until
            && now < u
        {
            tokio::time::sleep_until(u.into()).await;
        }
    }
    if let Some(d) = delay {
        tokio::time::sleep_until((arrived + d).into()).await;
    }
    // `/workers/<n>/<ms>`: a pool of n workers, each holding a request for ms milliseconds,
    // first come first served; a request waits for the first free worker. Its capacity is
    // n / ms requests per millisecond, whatever the sleeps overshoot: each worker's next free
    // time is counted from the schedule, not from when a sleep woke up.
    if let Some((n, ms)) = path
        .strip_prefix("/workers/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(n, ms)| Some((n.parse::<usize>().ok()?, ms.parse::<u64>().ok()?)))
    {
        let done = {
            let mut w = state.workers.lock().expect("lock");
            if w.len() != n {
                *w = vec![arrived; n];
            }
            let (i, free) = w
                .iter()
                .enumerate()
                .min_by_key(|(_, t)| **t)
                .map(|(i, t)| (i, *t))
                .expect("n >= 1 workers");
            let end = free.max(arrived) + Duration::from_millis(ms);
            w[i] = end;
            end
        };
        tokio::time::sleep_until(done.into()).await;
    }
    state.hits.fetch_add(1, Ordering::SeqCst);
    let status: u16 = path
        .strip_prefix("/status/")
        .and_then(|c| c.parse().ok())
        .unwrap_or(200);
    let mut resp = Response::new(Full::new(Bytes::from_static(b"hello world\n")));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("valid status");
    Ok(resp)
}

/// Self-signed certificate and key for `localhost`, as DER.
pub fn self_signed() -> (Vec<u8>, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    (ck.cert.der().to_vec(), ck.signing_key.serialize_der())
}

/// Start a server speaking `proto`.
pub fn start(proto: Proto) -> Server {
    let state = Arc::new(State {
        started: Instant::now(),
        hits: AtomicU64::new(0),
        h2_hits: AtomicU64::new(0),
        last: Mutex::new(None),
        stall: Mutex::new(None),
        workers: Mutex::new(Vec::new()),
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let st = state.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let acceptor = if proto == Proto::Tls {
                let (cert, key) = self_signed();
                let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.into()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
                )
                .expect("cert");
                cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
            } else {
                None
            };
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let st = st.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(st.clone(), req));
                    match acceptor {
                        Some(acc) => {
                            let Ok(tls) = acc.accept(tcp).await else {
                                return;
                            };
                            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                            let io = TokioIo::new(tls);
                            if h2 {
                                let _ =
                                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                        .serve_connection(io, svc)
                                        .await;
                            } else {
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(io, svc)
                                    .await;
                            }
                        }
                        None if proto == Proto::H2c => {
                            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(tcp), svc)
                                .await;
                        }
                        None => {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tcp), svc)
                                .await;
                        }
                    }
                });
            }
        });
    });
    let addr = rx.recv().expect("server address");
    Server { addr, state }
}

/// An address nothing listens on.
pub fn dead_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

/// Write `spec_yaml` (the list under `spec:`) to a temp run dir, run it, and return the run
/// result and the experiment as re-read from disk.
pub fn run_spec(spec_yaml: &str) -> (Result<Experiment, RunError>, Experiment) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("experiment.yaml"),
        format!("spec:\n{spec_yaml}"),
    )
    .expect("write");
    let mut d = FileDriver::new(dir.path());
    let r = run_experiment(&mut d, &RunOptions::default());
    let text = std::fs::read_to_string(dir.path().join("experiment.yaml")).expect("read back");
    (
        r,
        Experiment::from_yaml(&text).expect("stored experiment parses"),
    )
}

/// A scalar metric of version 0.
pub fn metric(e: &Experiment, name: &str) -> Option<f64> {
    e.result
        .as_ref()?
        .insights
        .as_ref()?
        .scalar_metric_value(0, name)
}
