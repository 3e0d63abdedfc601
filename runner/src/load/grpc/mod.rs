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

pub mod calldata;
pub mod reflect;
pub mod schema;
pub mod wire;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::client::conn::http2;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::load::http::Protocol;
use crate::load::pacing::{Pace, Schedule, split_requests};
use crate::load::worker::{
    Fetch, Live, Plan, WorkerOut, measure, report, spawn_runtime_threads, start_together, watch,
};
use crate::load::{IoPath, LoadError, LoadProgress, LoadReport, Stop};
use crate::metrics::LatencyRecorder;
use calldata::{CallData, DataTemplate, Rng};
pub use schema::CallKind;

/// Request body of a call: all messages at once, or fed message by message (stream controls).
pub(crate) type ReqBody = Either<Full<Bytes>, ChannelBody>;

/// A request body fed through a channel, one framed message per item; ends when the sender is
/// dropped (the client's half-close).
pub(crate) struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|m| m.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// Status codes counted as errors by default: every code but `OK`, as Iter8 counted ghz's.
pub const DEFAULT_ERROR_CODES: u32 = 0x1_fffe;

/// ghz's stream controls.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamControls {
    /// Wait between the messages a client stream sends (`stream-interval`).
    pub interval: Option<Duration>,
    /// End a stream this long after the call started (`stream-call-duration`): a client stream
    /// stops sending and half-closes; a server stream is cancelled by the client.
    pub call_duration: Option<Duration>,
    /// Messages a client stream sends, cycling through the data (`stream-call-count`); a server
    /// stream is cancelled after receiving this many.
    pub call_count: Option<u64>,
    /// Fill the call templates anew for each message of a stream (`stream-dynamic-messages`).
    pub dynamic: bool,
}

impl StreamControls {
    /// Whether a client stream must be fed message by message.
    fn feeds(&self) -> bool {
        self.interval.is_some()
            || self.call_duration.is_some()
            || self.call_count.is_some()
            || self.dynamic
    }
}

/// Request data with call template actions (see [`calldata`]), filled in for each call.
#[derive(Debug, Clone)]
pub struct Templated {
    /// The method (for its names, and to encode the filled-in JSON).
    pub method: schema::Method,
    /// The data.
    pub data: DataTemplate,
}

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
    /// HTTP/2 keepalive (ghz's `keepalive`): while calls are in flight, a PING after this long
    /// without a frame from the server, and the connection closed when its answer takes as
    /// long again (gRPC's keepalive time and timeout, both set to this).
    pub keepalive: Option<Duration>,
    /// TLS, or plaintext (h2c with prior knowledge) when `None`.
    pub tls: Option<TlsSpec>,
    /// `:authority` of the requests (else `host`).
    pub authority: Option<String>,
    /// Status codes that count as errors: bit `c` for code `c` (codes outside 0–31 always do).
    pub error_codes: u32,
    /// ghz's stream controls.
    pub stream: StreamControls,
    /// Data with call template actions; when set, messages are made per call from it (and
    /// `messages` is not used).
    pub template: Option<Templated>,
}

/// Results of one gRPC run.
#[derive(Debug, Clone)]
pub struct GrpcReport {
    /// Calls: latencies and status codes (gRPC codes 0–16).
    pub load: LoadReport,
    /// Streaming calls: the time to each response message (from the send for the first).
    pub messages: LatencyRecorder,
    /// The codes counted as errors (as [`GrpcSpec::error_codes`]).
    pub error_codes: u32,
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
    error_codes: u32,
    stream: StreamControls,
    template: Option<Templated>,
    concurrency: usize,
    connections: usize,
    timeout: Duration,
    connect_timeout: Duration,
    keepalive: Option<Duration>,
    tls: Option<TlsDial>,
    pace: Pace,
    stop: Stop,
    done: Live,
    start: OnceLock<Instant>,
    barrier: tokio::sync::Barrier,
}

/// One HTTP/2 connection, made on first use and made again after it fails.
#[derive(Default)]
struct Conn {
    slot: tokio::sync::Mutex<Option<http2::SendRequest<ReqBody>>>,
}

impl Conn {
    /// A sender on a live connection, connecting (once for all its workers) if there is none.
    async fn get(&self, sh: &Shared) -> Option<http2::SendRequest<ReqBody>> {
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

async fn connect(sh: &Shared) -> Option<http2::SendRequest<ReqBody>> {
    dial(&sh.host, sh.port, sh.tls.as_ref(), sh.keepalive)
        .await
        .ok()
}

/// TLS connector and the name to verify, of a target.
pub(crate) type TlsDial = (tokio_rustls::TlsConnector, ServerName<'static>);

/// One HTTP/2 connection to `host:port` (TLS when `tls` is given, keepalive PINGs when
/// `keepalive` is, see [`GrpcSpec::keepalive`]), or why not.
pub(crate) async fn dial(
    host: &str,
    port: u16,
    tls: Option<&TlsDial>,
    keepalive: Option<Duration>,
) -> Result<http2::SendRequest<ReqBody>, String> {
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
            handshake(TokioIo::new(stream), keepalive).await
        }
        None => handshake(TokioIo::new(tcp), keepalive).await,
    }
}

async fn handshake<IO>(
    io: TokioIo<IO>,
    keepalive: Option<Duration>,
) -> Result<http2::SendRequest<ReqBody>, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http2::Builder::new(TokioExecutor::new());
    if let Some(k) = keepalive {
        builder
            .timer(TokioTimer::new())
            .keep_alive_interval(k)
            .keep_alive_timeout(k);
    }
    let (s, c) = builder
        .handshake(io)
        .await
        .map_err(|e| format!("HTTP/2 handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = c.await;
    });
    Ok(s)
}

impl Shared {
    /// Messages of the data (one per call in turn, or all in a client stream).
    fn message_count(&self) -> usize {
        self.template
            .as_ref()
            .map_or(self.single.len(), |t| t.data.len())
    }
}

/// The call template values of one call (or stream message).
struct CallStamp {
    number: u64,
    now: std::time::SystemTime,
    uuid: String,
}

impl CallStamp {
    fn new(number: u64, rng: &mut Rng) -> CallStamp {
        CallStamp {
            number,
            now: std::time::SystemTime::now(),
            uuid: rng.uuid(),
        }
    }
}

/// Message `i` of the data, framed: as given, or filled in for `stamp`.
fn framed(
    sh: &Shared,
    i: usize,
    worker_id: &str,
    stamp: &CallStamp,
    rng: &mut Rng,
) -> Result<Bytes, schema::SchemaError> {
    match &sh.template {
        None => Ok(sh.single[i % sh.single.len()].clone()),
        Some(t) => {
            let cd = CallData {
                worker_id,
                request_number: stamp.number,
                method: &t.method,
                now: stamp.now,
                uuid: stamp.uuid.clone(),
            };
            t.data.render(i, &cd, rng).map(|m| wire::frame(&[m]))
        }
    }
}

/// Feeds a client stream message by message under the stream controls.
struct Feeder {
    sh: Arc<Shared>,
    worker_id: String,
    rng: Rng,
    stamp: CallStamp,
}

impl Feeder {
    async fn run(mut self, tx: tokio::sync::mpsc::Sender<Bytes>, sent: Instant) {
        let sh = self.sh.clone();
        let len = sh.message_count().max(1);
        let count = sh.stream.call_count.unwrap_or(len as u64);
        let until = sh.stream.call_duration.map(|d| sent + d);
        for j in 0..count {
            if j > 0
                && let Some(iv) = sh.stream.interval
            {
                let next = Instant::now() + iv;
                tokio::time::sleep_until(until.map_or(next, |u| u.min(next)).into()).await;
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                break;
            }
            if j > 0 && sh.stream.dynamic {
                self.stamp = CallStamp::new(self.stamp.number, &mut self.rng);
            }
            let Ok(msg) = framed(
                &sh,
                j as usize % len,
                &self.worker_id,
                &self.stamp,
                &mut self.rng,
            ) else {
                break;
            };
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    }
}

/// One worker: its connection and what it measures beyond the shared core.
struct GrpcFetch {
    sh: Arc<Shared>,
    conn: Arc<Conn>,
    sender: Option<http2::SendRequest<ReqBody>>,
    /// This worker's index, and calls made so far (to take the unary messages in turn).
    k: usize,
    calls: u64,
    messages: LatencyRecorder,
    /// `c<connection>w<worker>`, for the call templates.
    worker_id: String,
    rng: Rng,
}

impl GrpcFetch {
    /// The whole request body of call number `n` (all messages at once).
    fn body(&mut self, n: u64) -> Result<Bytes, schema::SchemaError> {
        let sh = &self.sh;
        match (sh.kind, &sh.template) {
            (CallKind::ClientStreaming | CallKind::Bidi, None) => Ok(sh.all.clone()),
            (CallKind::Unary | CallKind::ServerStreaming, None) => {
                Ok(sh.single[(n % sh.single.len().max(1) as u64) as usize].clone())
            }
            (CallKind::Unary | CallKind::ServerStreaming, Some(_)) => {
                let stamp = CallStamp::new(n, &mut self.rng);
                let len = sh.message_count().max(1);
                framed(
                    sh,
                    (n % len as u64) as usize,
                    &self.worker_id,
                    &stamp,
                    &mut self.rng,
                )
            }
            (CallKind::ClientStreaming | CallKind::Bidi, Some(_)) => {
                let mut stamp = CallStamp::new(n, &mut self.rng);
                let mut all = bytes::BytesMut::new();
                for i in 0..sh.message_count() {
                    if i > 0 && sh.stream.dynamic {
                        stamp = CallStamp::new(n, &mut self.rng);
                    }
                    all.extend_from_slice(&framed(sh, i, &self.worker_id, &stamp, &mut self.rng)?);
                }
                Ok(all.freeze())
            }
        }
    }

    /// One call sent at `sent`: its status code.
    async fn call(&mut self, sent: Instant) -> i32 {
        let n = self.calls * self.sh.concurrency as u64 + self.k as u64;
        self.calls += 1;
        let feeds = matches!(self.sh.kind, CallKind::ClientStreaming | CallKind::Bidi)
            && self.sh.stream.feeds();
        let (body, feed) = if feeds {
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            (Either::Right(ChannelBody(rx)), Some(tx))
        } else {
            match self.body(n) {
                Ok(b) => (Either::Left(Full::new(b)), None),
                // Filled-in data that no longer fits the message: not sent.
                Err(_) => return wire::INVALID_ARGUMENT,
            }
        };
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
        let mut req = Request::new(body);
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.sh.uri.clone();
        *req.version_mut() = Version::HTTP_2;
        *req.headers_mut() = self.sh.headers.clone();
        match feed {
            None => self.exchange(sender, req, sent).await,
            Some(tx) => {
                let feeder = Feeder {
                    sh: self.sh.clone(),
                    worker_id: self.worker_id.clone(),
                    rng: Rng::new(n),
                    stamp: CallStamp::new(n, &mut self.rng),
                };
                let (code, ()) =
                    tokio::join!(self.exchange(sender, req, sent), feeder.run(tx, sent));
                code
            }
        }
    }

    /// Send `req` and read the response: its status code.
    async fn exchange(
        &mut self,
        mut sender: http2::SendRequest<ReqBody>,
        req: Request<ReqBody>,
        sent: Instant,
    ) -> i32 {
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
        // A server stream the client ends on purpose (stream-call-count / -duration) is OK.
        let (stop_count, stop_at) = if self.sh.kind == CallKind::ServerStreaming {
            (
                self.sh.stream.call_count,
                self.sh.stream.call_duration.map(|d| sent + d),
            )
        } else {
            (None, None)
        };
        let mut received: u64 = 0;
        let mut deframer = wire::Deframer::default();
        let mut last = sent;
        let mut status = None;
        loop {
            let frame = match stop_at {
                Some(t) => match tokio::time::timeout_at(t.into(), body.frame()).await {
                    Ok(f) => f,
                    Err(_) => return wire::OK,
                },
                None => body.frame().await,
            };
            let Some(frame) = frame else { break };
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
                received += n as u64;
                if stop_count.is_some_and(|c| received >= c) {
                    return wire::OK;
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

    fn succeeded(&self, code: i32) -> bool {
        !wire::is_error(self.sh.error_codes, code)
    }

    fn failed_live(&self, code: i32) -> bool {
        !self.succeeded(code)
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
        worker_id: format!("c{}w{k}", k % sh.connections),
        rng: Rng::new(k as u64),
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
        error_codes: spec.error_codes,
        stream: spec.stream,
        template: spec.template.clone(),
        concurrency,
        connections,
        timeout: spec.timeout,
        connect_timeout: spec.connect_timeout,
        keepalive: spec.keepalive,
        tls,
        pace: spec.pace,
        stop: spec.stop,
        done: Live::default(),
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
    let jobs: Vec<Vec<_>> = (0..threads)
        .map(|t| {
            (0..concurrency)
                .filter(|k| (k % shared.connections) % threads == t)
                .map(|k| (k, conns[k % shared.connections].clone(), quotas[k]))
                .collect()
        })
        .collect();
    let sh = shared.clone();
    let handles = spawn_runtime_threads("iter8-grpc", jobs, move |mine| {
        let sh = sh.clone();
        async move {
            let mut set = tokio::task::JoinSet::new();
            for (k, conn, q) in mine {
                set.spawn_local(worker(sh.clone(), conn, k, q));
            }
            let mut outs = Vec::new();
            while let Some(r) = set.join_next().await {
                if let Ok(o) = r {
                    outs.push(o);
                }
            }
            outs
        }
    })?;
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
    Ok(GrpcReport {
        load,
        messages,
        error_codes: spec.error_codes,
    })
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
