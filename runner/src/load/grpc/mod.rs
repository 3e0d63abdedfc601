//! gRPC load generator: dynamic calls (any method of a schema compiled at run time, see
//! [`schema`]) over HTTP/2 (hyper's client, plaintext or TLS), on the same open-model core as
//! HTTP ([`crate::load::pacing`], [`crate::load::worker`]).
//!
//! Model (ghz's knobs, our pacing): `concurrency` workers, each with one call in flight, share
//! `connections` HTTP/2 connections (worker `k` uses connection `k % connections`); `rps`
//! spreads an open-model schedule over the workers, so a call delayed by the target's slowness
//! counts that wait in its latency (coordinated-omission correction), while the generator's own
//! lateness is reported apart. The request total is split exactly over the workers, so a total
//! below the concurrency still sends every call (ghz sends none).
//!
//! A call's status is its gRPC status code (0–16): `Unavailable` when no connection could be
//! made or the connection failed during the call, `DeadlineExceeded` when the call timed out
//! (the server is told the deadline in `grpc-timeout`), `Internal` when a response broke the
//! protocol. Errors are counted, never fatal: a connection that fails is made again by the next
//! call. Streaming calls also record the time to each response message (from the send for the
//! first, from the previous message after that) in their own histogram.

pub mod reflect;
pub mod schema;
pub mod wire;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::load::http::Protocol;
use crate::load::pacing::{Pace, Schedule, split_requests};
use crate::load::worker::{Fetch, Plan, WorkerOut, measure, report, start_together, watch};
use crate::load::{IoPath, LoadError, LoadProgress, LoadReport, Stop};
use crate::metrics::LatencyRecorder;
pub use schema::CallKind;

/// TLS settings of a gRPC target.
#[derive(Debug, Clone, Default)]
pub struct TlsSpec {
    /// PEM certificates of the CAs to trust (else Mozilla's roots).
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain and private key (mutual TLS).
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// Accept any server certificate.
    pub skip_verify: bool,
    /// Name to verify the server certificate against (else the host).
    pub server_name: Option<String>,
}

/// Everything needed to generate gRPC load against one method.
#[derive(Debug, Clone)]
pub struct GrpcSpec {
    /// `host:port` of the server.
    pub host: String,
    /// HTTP/2 path of the method (`/package.Service/Method`).
    pub path: String,
    /// Streaming shape of the method.
    pub kind: CallKind,
    /// Encoded request messages (unframed). Unary and server-streaming calls send one each,
    /// in turn; client-streaming and bidirectional calls send all of them in every call.
    pub messages: Vec<Bytes>,
    /// Request metadata (header name, value); `-bin` keys carry base64 text.
    pub metadata: Vec<(String, String)>,
    /// Exact count or duration.
    pub stop: Stop,
    /// Rate.
    pub pace: Pace,
    /// Workers, each with one call in flight.
    pub concurrency: usize,
    /// HTTP/2 connections shared by the workers (at most `concurrency`).
    pub connections: usize,
    /// OS threads (each a current-thread runtime); clamped to `1..=connections`.
    pub threads: usize,
    /// Per-call timeout (from the intended send when the target held the worker).
    pub timeout: Duration,
    /// Timeout of establishing a connection (TCP, TLS, HTTP/2 handshake).
    pub connect_timeout: Duration,
    /// TLS, or plaintext (h2c with prior knowledge) when `None`.
    pub tls: Option<TlsSpec>,
    /// `:authority` of the requests (else `host`).
    pub authority: Option<String>,
}

/// Results of one gRPC run.
#[derive(Debug, Clone)]
pub struct GrpcReport {
    /// Calls: latencies and status codes (gRPC codes 0–16).
    pub load: LoadReport,
    /// Streaming calls: the time to each response message (from the send for the first).
    pub messages: LatencyRecorder,
}

/// Shared by all workers of a run.
struct Shared {
    host: String,
    port: u16,
    uri: Uri,
    headers: HeaderMap,
    /// One framed message per unary/server-streaming call, in turn.
    single: Vec<Bytes>,
    /// All messages framed, for client-streaming and bidirectional calls.
    all: Bytes,
    kind: CallKind,
    concurrency: usize,
    connections: usize,
    timeout: Duration,
    connect_timeout: Duration,
    tls: Option<TlsDial>,
    pace: Pace,
    stop: Stop,
    done: AtomicU64,
    start: OnceLock<Instant>,
    barrier: tokio::sync::Barrier,
}

/// One HTTP/2 connection, made on first use and made again after it fails.
#[derive(Default)]
struct Conn {
    slot: tokio::sync::Mutex<Option<http2::SendRequest<Full<Bytes>>>>,
}

impl Conn {
    /// A sender on a live connection, connecting (once for all its workers) if there is none.
    async fn get(&self, sh: &Shared) -> Option<http2::SendRequest<Full<Bytes>>> {
        let mut slot = self.slot.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Some(s.clone());
        }
        *slot = None;
        let s = tokio::time::timeout(sh.connect_timeout, connect(sh))
            .await
            .ok()
            .flatten()?;
        *slot = Some(s.clone());
        Some(s)
    }
}

async fn connect(sh: &Shared) -> Option<http2::SendRequest<Full<Bytes>>> {
    dial(&sh.host, sh.port, sh.tls.as_ref()).await.ok()
}

/// TLS connector and the name to verify, of a target.
pub(crate) type TlsDial = (tokio_rustls::TlsConnector, ServerName<'static>);

/// One HTTP/2 connection to `host:port` (TLS when `tls` is given), or why not.
pub(crate) async fn dial(
    host: &str,
    port: u16,
    tls: Option<&TlsDial>,
) -> Result<http2::SendRequest<Full<Bytes>>, String> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        Some((tls, name)) => {
            let stream = tls
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
            handshake(TokioIo::new(stream)).await
        }
        None => handshake(TokioIo::new(tcp)).await,
    }
}

async fn handshake<IO>(io: TokioIo<IO>) -> Result<http2::SendRequest<Full<Bytes>>, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (s, c) = http2::Builder::new(TokioExecutor::new())
        .handshake(io)
        .await
        .map_err(|e| format!("HTTP/2 handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = c.await;
    });
    Ok(s)
}

/// One worker: its connection and what it measures beyond the shared core.
struct GrpcFetch {
    sh: Arc<Shared>,
    conn: Arc<Conn>,
    sender: Option<http2::SendRequest<Full<Bytes>>>,
    /// This worker's index, and calls made so far (to take the unary messages in turn).
    k: usize,
    calls: u64,
    messages: LatencyRecorder,
}

impl GrpcFetch {
    fn body(&mut self) -> Bytes {
        match self.sh.kind {
            CallKind::ClientStreaming | CallKind::Bidi => self.sh.all.clone(),
            CallKind::Unary | CallKind::ServerStreaming => {
                let n = self.sh.single.len() as u64;
                let i = (self.calls * self.sh.concurrency as u64 + self.k as u64) % n.max(1);
                self.sh.single[i as usize].clone()
            }
        }
    }

    /// One call sent at `sent`: its status code.
    async fn call(&mut self, sent: Instant) -> i32 {
        let body = self.body();
        self.calls += 1;
        let mut sender = match self.sender.take().filter(|s| !s.is_closed()) {
            Some(s) => s,
            None => match self.conn.get(&self.sh).await {
                Some(s) => s,
                None => return wire::UNAVAILABLE,
            },
        };
        if sender.ready().await.is_err() {
            return wire::UNAVAILABLE;
        }
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.sh.uri.clone();
        *req.version_mut() = Version::HTTP_2;
        *req.headers_mut() = self.sh.headers.clone();
        let resp = sender.send_request(req).await;
        self.sender = Some(sender);
        let Ok(resp) = resp else {
            return wire::UNAVAILABLE;
        };
        let (parts, mut body) = resp.into_parts();
        if parts.status != http::StatusCode::OK {
            return wire::status_of_http(parts.status.as_u16());
        }
        if let Some(code) = wire::status_of(&parts.headers) {
            // Trailers-only response.
            return code;
        }
        let streaming = matches!(self.sh.kind, CallKind::ServerStreaming | CallKind::Bidi);
        let mut deframer = wire::Deframer::default();
        let mut last = sent;
        let mut status = None;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return wire::UNAVAILABLE;
            };
            if let Some(data) = frame.data_ref() {
                let n = deframer.feed(data);
                if streaming && n > 0 {
                    let now = Instant::now();
                    self.messages.record(now - last);
                    for _ in 1..n {
                        self.messages.record(Duration::ZERO);
                    }
                    last = now;
                }
            } else if let Some(t) = frame.trailers_ref() {
                status = wire::status_of(t);
            }
        }
        match status {
            Some(code) if deframer.at_boundary() => code,
            _ => wire::INTERNAL,
        }
    }
}

impl Fetch for GrpcFetch {
    async fn fetch(&mut self, sent: Instant) -> i32 {
        let deadline = sent + self.sh.timeout;
        match tokio::time::timeout_at(deadline.into(), self.call(sent)).await {
            Ok(code) => code,
            Err(_) => wire::DEADLINE_EXCEEDED,
        }
    }

    async fn sleep_until(&mut self, t: Instant) {
        tokio::time::sleep_until(t.into()).await;
    }
}

async fn worker(
    sh: Arc<Shared>,
    conn: Arc<Conn>,
    k: usize,
    quota: Option<u64>,
) -> (WorkerOut, LatencyRecorder) {
    let mut f = GrpcFetch {
        sh: sh.clone(),
        conn,
        sender: None,
        k,
        calls: 0,
        messages: LatencyRecorder::new(),
    };
    // Connect before the clock starts, as ghz does (a failure is retried by the first call).
    f.sender = f.conn.get(&sh).await;
    let start = start_together(&sh.barrier, &sh.start).await;
    let plan = Plan {
        start,
        deadline: match sh.stop {
            Stop::Duration(d) => Some(start + d),
            Stop::Requests(_) => None,
        },
        schedule: match sh.pace {
            Pace::Rate(qps) => Some(Schedule::new(start, qps, sh.concurrency, k)),
            Pace::Max => None,
        },
        quota,
    };
    let out = measure(&mut f, &plan, &sh.done).await;
    (out, f.messages)
}

/// `host:port` split, with the port required.
pub(crate) fn split_host(host: &str) -> Result<(String, u16), LoadError> {
    let bad = |reason: &str| LoadError::Url {
        url: host.to_string(),
        reason: reason.to_string(),
    };
    let auth: http::uri::Authority = host.parse().map_err(|_| bad("not a host:port address"))?;
    if auth.as_str().contains('@') {
        return Err(bad("not a host:port address"));
    }
    let port = auth
        .port_u16()
        .ok_or_else(|| bad("missing port (host:port)"))?;
    let name = auth.host().trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() {
        return Err(bad("missing host"));
    }
    Ok((name.to_string(), port))
}

/// Check a `host:port` address (the `host` input).
pub fn check_host(host: &str) -> Result<(), String> {
    split_host(host).map(drop).map_err(|e| match e {
        LoadError::Url { reason, .. } => reason,
        other => other.to_string(),
    })
}

fn headers(spec: &GrpcSpec) -> Result<HeaderMap, LoadError> {
    let mut h = HeaderMap::new();
    h.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert(hyper::header::TE, HeaderValue::from_static("trailers"));
    h.insert(
        hyper::header::USER_AGENT,
        HeaderValue::from_static(concat!("iter8-runner/", env!("CARGO_PKG_VERSION"))),
    );
    let timeout = HeaderValue::from_str(&wire::timeout_header(spec.timeout)).map_err(|_| {
        LoadError::Header {
            name: "grpc-timeout".into(),
        }
    })?;
    h.insert(HeaderName::from_static("grpc-timeout"), timeout);
    for (k, v) in &spec.metadata {
        let bad = || LoadError::Header { name: k.clone() };
        let name =
            HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(v.trim()).map_err(|_| bad())?;
        h.append(name, value);
    }
    Ok(h)
}

/// The TLS connector of `t` for a server named `host` (unless `t` names another).
pub(crate) fn tls_dial(t: &TlsSpec, host: &str) -> Result<TlsDial, LoadError> {
    let name = t.server_name.clone().unwrap_or_else(|| host.to_string());
    let name = ServerName::try_from(name.clone()).map_err(|_| LoadError::Url {
        url: name,
        reason: "invalid TLS server name".into(),
    })?;
    Ok((tokio_rustls::TlsConnector::from(tls_config(t)?), name))
}

/// TLS client configuration for gRPC: ALPN `h2`, the given CAs (else Mozilla's roots), an
/// optional client certificate.
fn tls_config(t: &TlsSpec) -> Result<Arc<rustls::ClientConfig>, LoadError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls_err = |what: &str, e: &dyn std::fmt::Display| LoadError::Tls(format!("{what}: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("protocol versions", &e))?;
    let builder = if t.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(crate::load::http::no_verify(provider))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &t.ca_pem {
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| tls_err("CA certificate", &e))?;
                    roots.add(cert).map_err(|e| tls_err("CA certificate", &e))?;
                }
                if roots.is_empty() {
                    return Err(LoadError::Tls("CA file holds no certificate".into()));
                }
            }
            None => {
                roots.add_parsable_certificates(
                    webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
                );
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut cfg = match &t.client_pem {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_err("client certificate", &e))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_err("client key", &e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_err("client certificate", &e))?
        }
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// Run the load described by `spec`, calling `on_progress` about every 100 ms from the calling
/// thread. Blocks until done; safe to call from any thread (it starts its own runtimes).
pub fn run(
    spec: &GrpcSpec,
    on_progress: &mut dyn FnMut(LoadProgress),
) -> Result<GrpcReport, LoadError> {
    let (host, port) = split_host(&spec.host)?;
    let concurrency = spec.concurrency.max(1);
    let connections = spec.connections.clamp(1, concurrency);
    let threads = spec.threads.clamp(1, connections);
    let tls = match &spec.tls {
        Some(t) => Some(tls_dial(t, &host)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let authority = spec.authority.as_deref().unwrap_or(&spec.host);
    let uri: Uri = format!("{scheme}://{authority}{}", spec.path)
        .parse()
        .map_err(|_| LoadError::Url {
            url: format!("{authority}{}", spec.path),
            reason: "not a valid authority and method path".into(),
        })?;
    let single: Vec<Bytes> = spec
        .messages
        .iter()
        .map(|m| wire::frame(std::slice::from_ref(m)))
        .collect();
    let single = if single.is_empty() {
        vec![wire::frame(&[Bytes::new()])]
    } else {
        single
    };
    let shared = Arc::new(Shared {
        host,
        port,
        uri,
        headers: headers(spec)?,
        single,
        all: wire::frame(&spec.messages),
        kind: spec.kind,
        concurrency,
        connections,
        timeout: spec.timeout,
        connect_timeout: spec.connect_timeout,
        tls,
        pace: spec.pace,
        stop: spec.stop,
        done: AtomicU64::new(0),
        start: OnceLock::new(),
        barrier: tokio::sync::Barrier::new(concurrency),
    });
    let quotas: Vec<Option<u64>> = match spec.stop {
        Stop::Requests(n) => split_requests(n, concurrency)
            .into_iter()
            .map(Some)
            .collect(),
        Stop::Duration(_) => vec![None; concurrency],
    };
    let conns: Vec<Arc<Conn>> = (0..connections).map(|_| Arc::default()).collect();
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let sh = shared.clone();
        let mine: Vec<(usize, Arc<Conn>, Option<u64>)> = (0..concurrency)
            .filter(|k| (k % shared.connections) % threads == t)
            .map(|k| (k, conns[k % shared.connections].clone(), quotas[k]))
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LoadError::Runtime)?;
        let h = std::thread::Builder::new()
            .name(format!("iter8-grpc-{t}"))
            .spawn(move || {
                rt.block_on(async move {
                    let mut set = tokio::task::JoinSet::new();
                    for (k, conn, q) in mine {
                        set.spawn(worker(sh.clone(), conn, k, q));
                    }
                    let mut outs = Vec::new();
                    while let Some(r) = set.join_next().await {
                        if let Ok(o) = r {
                            outs.push(o);
                        }
                    }
                    outs
                })
            })
            .map_err(LoadError::Runtime)?;
        handles.push(h);
    }
    watch(
        &handles,
        &shared.start,
        &shared.done,
        spec.stop,
        on_progress,
    );
    let mut outs = Vec::new();
    let mut messages = LatencyRecorder::new();
    for h in handles {
        for (o, m) in h.join().map_err(|_| LoadError::WorkerPanic)? {
            messages.merge(&m);
            outs.push(o);
        }
    }
    if outs.len() != concurrency {
        return Err(LoadError::WorkerPanic);
    }
    let start = *shared.start.get().ok_or(LoadError::WorkerPanic)?;
    let load = report(
        &outs,
        start,
        spec.pace,
        spec.stop,
        IoPath::Hyper,
        Protocol::of(spec.tls.is_some(), true),
        on_progress,
    );
    Ok(GrpcReport { load, messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses need a host and a port.
    #[test]
    fn hosts() {
        assert_eq!(
            split_host("127.0.0.1:50051").expect("valid"),
            ("127.0.0.1".to_string(), 50051)
        );
        assert_eq!(split_host("[::1]:80").expect("valid").0, "::1");
        assert_eq!(
            check_host("localhost"),
            Err("missing port (host:port)".into())
        );
        assert!(check_host("http://a:1").is_err());
        assert!(check_host("a b:1").is_err());
        assert!(check_host(":1").is_err());
    }
}
