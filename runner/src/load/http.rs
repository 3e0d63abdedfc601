//! HTTP load generator: persistent HTTP/1.1 or HTTP/2 connections (TLS via rustls with ALPN,
//! or h2c with prior knowledge), one request in flight per connection, paced or at full speed.
//!
//! The protocol is the one the user chose ([`Protocol`]): `http2: false` offers only
//! `http/1.1` in ALPN, `http2: true` only `h2` (a TLS server that does not agree fails the
//! connection, as Fortio's HTTP/2 client does), and on `http://` `http2: true` is h2c.
//!
//! Threads: connections are spread over `threads` OS threads, each running a current-thread
//! runtime (no work stealing, no cross-thread wakeups on the hot path), started by
//! [`crate::load::worker::spawn_runtime_threads`]. The connections of a thread share one tally
//! (latency recorders and a status-code table, see [`crate::load::worker::measure_into`]);
//! the threads' tallies are merged once at the end, so memory grows neither with the number of
//! requests nor with the number of connections. A connection holds a receive buffer only while
//! bytes are being read (see [`crate::load::h1::RecvBuf`]).
//!
//! I/O paths ([`IoMode`]): plain-text HTTP/1.1 runs on io_uring (`uring.rs`) where the kernel
//! allows it, else on tokio's epoll reactor with the fast path of `h1.rs`; HTTP/2 (h2 over TLS
//! and h2c) runs on tokio with the lean client of `h2.rs`, HTTP/1.1 over TLS on tokio with the
//! fast path of `h1.rs` (hyper only for one-off requests).
//! `ITER8_IO=epoll|uring` forces a path.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::load::h1::{Fd, H1Conn, Stream, serialize_request};
use crate::load::h2::{H2Conn, H2Request};
use crate::load::pacing::{Pace, Schedule, split_requests};
use crate::load::worker::{
    Fetch, Live, Plan, WorkerOut, measure_into, report, spawn_runtime_threads, spawn_threads,
    start_together, watch, within,
};
use crate::metrics::{LatencyRecorder, StatusCounts};

/// Which I/O path carries plain-text HTTP/1.1 load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoMode {
    /// io_uring when the kernel allows it, else epoll.
    #[default]
    Auto,
    /// Always epoll (tokio's reactor).
    Epoll,
    /// Always io_uring; the run fails when it is unavailable.
    Uring,
}

impl IoMode {
    /// The mode set by the `ITER8_IO` environment variable (`epoll`, `uring` or `auto`; unset
    /// or anything else is `auto`).
    pub fn from_env() -> IoMode {
        match std::env::var("ITER8_IO").as_deref().map(str::trim) {
            Ok(v) if v.eq_ignore_ascii_case("epoll") => IoMode::Epoll,
            Ok(v) if v.eq_ignore_ascii_case("uring") || v.eq_ignore_ascii_case("io_uring") => {
                IoMode::Uring
            }
            _ => IoMode::Auto,
        }
    }
}

/// The I/O path a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoPath {
    /// Plain HTTP/1.1 on io_uring.
    Uring,
    /// Plain HTTP/1.1 on epoll (fast path).
    Epoll,
    /// tokio's reactor: HTTP/1.1 over TLS (hyper), HTTP/2 and h2c (`h2.rs`).
    Hyper,
}

impl std::fmt::Display for IoPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IoPath::Uring => "io_uring",
            IoPath::Epoll => "epoll",
            IoPath::Hyper => "tokio/epoll",
        })
    }
}

/// The protocol a run spoke: fixed by the URL's scheme and `http2`, never negotiated away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 over TCP.
    Http1,
    /// HTTP/1.1 over TLS (ALPN `http/1.1`).
    Http1Tls,
    /// HTTP/2 over TLS (ALPN `h2`).
    H2,
    /// HTTP/2 over TCP with prior knowledge (h2c).
    H2c,
}

impl Protocol {
    /// The protocol of an `https` (or `http`) URL with `http2` set as given.
    pub fn of(https: bool, http2: bool) -> Protocol {
        match (https, http2) {
            (false, false) => Protocol::Http1,
            (true, false) => Protocol::Http1Tls,
            (true, true) => Protocol::H2,
            (false, true) => Protocol::H2c,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Http1 => "HTTP/1.1",
            Protocol::Http1Tls => "HTTP/1.1 over TLS",
            Protocol::H2 => "HTTP/2 over TLS",
            Protocol::H2c => "HTTP/2 cleartext (h2c)",
        })
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Exactly this many requests in total.
    Requests(u64),
    /// Run for this long.
    Duration(Duration),
}

/// Everything needed to generate load against one URL.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Target URL (`http://` or `https://`).
    pub url: String,
    /// Method (Iter8: POST when there is a payload or content type, else GET).
    pub method: Method,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Bytes,
    /// Exact count or duration.
    pub stop: Stop,
    /// Rate.
    pub pace: Pace,
    /// Parallel connections (each with one request in flight).
    pub connections: usize,
    /// OS threads (each a current-thread runtime); clamped to `1..=connections`.
    pub threads: usize,
    /// Per-request timeout (connect + request + body).
    pub timeout: Duration,
    /// Speak HTTP/2: h2c with prior knowledge on `http://`, ALPN `h2` (only) on `https://`;
    /// when false, HTTP/1.1 (ALPN `http/1.1` only).
    pub http2: bool,
    /// Accept any TLS certificate.
    pub insecure_skip_verify: bool,
    /// Each connection first makes one untimed request (Fortio's initial fetch).
    pub initial_fetch: bool,
    /// Do not fail the run when an initial fetch gets a non-2xx status.
    pub allow_initial_errors: bool,
    /// I/O path for plain-text HTTP/1.1.
    pub io: IoMode,
}

/// Live progress, reported about every 100 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadProgress {
    /// Requests completed so far.
    pub done: u64,
    /// Total requests (count mode).
    pub total: Option<u64>,
    /// Time since load started.
    pub elapsed: Duration,
    /// Planned duration (duration mode).
    pub duration: Option<Duration>,
    /// Requests that failed so far: transport failures and HTTP statuses of 400 or more (for
    /// gRPC, calls not `OK`); the task's own error rule applies to the results.
    pub failed: u64,
    /// p99 latency of the last finished interval (msec), once one finished.
    pub p99_ms: Option<f64>,
}

/// Results of one run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Latency from the intended send time (coordinated-omission corrected).
    pub corrected: LatencyRecorder,
    /// Latency from the actual send time (service time as Fortio measures it).
    pub uncorrected: LatencyRecorder,
    /// Latency of the calls that succeeded (as `corrected`); kept by gRPC only, empty for HTTP.
    pub succeeded: LatencyRecorder,
    /// Paced runs: the generator's own lateness per request (a late timer, a starved thread),
    /// not counted in either latency above; empty in closed-loop runs.
    pub generator_lag: LatencyRecorder,
    /// Paced runs with a duration: requests intended before the end that were never sent
    /// because their connection was still busy with the target.
    pub queued_at_end: u64,
    /// Paced runs: the longest wait of a request for its connection (queued requests counted
    /// up to the end).
    pub queue_wait_max: Duration,
    /// Per-interval latencies (as `corrected`) and codes, by intended send time.
    pub series: crate::load::series::Series,
    /// Responses by status code (`-1` = transport failure or timeout).
    pub codes: StatusCounts,
    /// From load start to the last response.
    pub elapsed: Duration,
    /// Requested rate, if paced.
    pub requested_qps: Option<f64>,
    /// Achieved rate: paced runs with a duration count the requests sent per second of it,
    /// paced runs with a count measure the send schedule actually kept
    /// (`(n-1)/(last send - start)`), closed runs `n/elapsed`.
    pub achieved_qps: f64,
    /// The I/O path used.
    pub io: IoPath,
    /// The protocol spoken.
    pub protocol: Protocol,
    /// Why io_uring was not used, when it was wanted (`auto` on a plain HTTP/1.1 URL).
    pub io_note: Option<String>,
}

/// Why a load run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The URL is not usable.
    #[error("invalid url {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A header could not be built.
    #[error("invalid header {name:?}")]
    Header {
        /// Header name.
        name: String,
    },
    /// An initial fetch failed and `allowInitialErrors` is false (Fortio's message).
    #[error("error {code} for {url}")]
    InitialFetch {
        /// Status code (`-1` = connection failure).
        code: i32,
        /// The URL.
        url: String,
    },
    /// TLS configuration failed.
    #[error("tls setup failed: {0}")]
    Tls(String),
    /// Could not start the runtime or a worker thread.
    #[error("load generator runtime failed")]
    Runtime(#[source] std::io::Error),
    /// A worker thread panicked.
    #[error("load generator worker panicked")]
    WorkerPanic,
    /// `ITER8_IO=uring` was set but io_uring cannot run here.
    #[error("io_uring was requested (ITER8_IO=uring) but is unavailable: {0}")]
    UringUnavailable(String),
}

struct Target {
    https: bool,
    host: String,
    port: u16,
    server_name: Option<ServerName<'static>>,
    uri_abs: Uri,
    uri_origin: Uri,
}

fn parse_target(url: &str) -> Result<Target, LoadError> {
    let bad = |reason: &str| LoadError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(_) => return Err(bad("scheme must be http or https")),
        None => return Err(bad("missing scheme (http:// or https://)")),
    };
    let auth = uri.authority().ok_or_else(|| bad("missing host"))?;
    let host = auth
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
    let pq = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_string());
    let uri_origin: Uri = pq.parse().map_err(|_| bad("invalid path"))?;
    let uri_abs: Uri = format!(
        "{}://{}{}",
        if https { "https" } else { "http" },
        auth.as_str(),
        pq
    )
    .parse()
    .map_err(|_| bad("invalid URL"))?;
    let server_name = if https {
        Some(ServerName::try_from(host.clone()).map_err(|_| bad("invalid TLS server name"))?)
    } else {
        None
    };
    Ok(Target {
        https,
        host,
        port,
        server_name,
        uri_abs,
        uri_origin,
    })
}

/// rustls verifier that accepts every certificate (`insecureSkipVerify`).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A verifier that accepts every server certificate (`insecureSkipVerify`, gRPC's `skipTLS`).
pub(crate) fn no_verify(
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Arc<dyn rustls::client::danger::ServerCertVerifier> {
    Arc::new(NoVerify(provider))
}

/// TLS client configuration: Mozilla's roots (embedded); ALPN offers `h2` alone when `http2`,
/// else `http/1.1` alone, so the server cannot pick another protocol than the user's.
pub fn tls_config(
    insecure_skip_verify: bool,
    http2: bool,
) -> Result<Arc<rustls::ClientConfig>, LoadError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| LoadError::Tls(e.to_string()))?;
    let mut cfg = if insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(cfg))
}

pub(crate) struct Shared {
    target: Target,
    /// Use the HTTP/1.1 fast path (`h1.rs`, plain or over TLS) instead of hyper.
    raw_h1: bool,
    /// The request, serialised once for the fast path.
    raw_request: Vec<u8>,
    /// The request, HPACK-encoded once for HTTP/2.
    h2_request: H2Request,
    method: Method,
    headers_h1: HeaderMap,
    body: Bytes,
    timeout: Duration,
    http2: bool,
    tls: Option<tokio_rustls::TlsConnector>,
    done: Arc<Live>,
    abort: AtomicBool,
    abort_code: AtomicI32,
    pub(crate) start: OnceLock<Instant>,
    barrier: tokio::sync::Barrier,
    pace: Pace,
    stop: Stop,
    connections: usize,
    pub(crate) initial_fetch: bool,
    allow_initial_errors: bool,
}

/// A connection's byte stream: plain TCP or TLS over TCP.
enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl tokio::io::AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

enum Sender {
    /// Plain-text HTTP/1.1 fast path; `bool` = has served a request (reused).
    Raw(Box<H1Conn<Fd>>, bool),
    /// HTTP/1.1 over TLS on the fast path; `bool` = has served a request (reused).
    RawTls(Box<H1Conn<Stream<Io>>>, bool),
    /// HTTP/1.1 through hyper (the one-off requests of [`get`] and [`fetch`]).
    H1(http1::SendRequest<Full<Bytes>>),
    /// HTTP/2 (h2 over TLS or h2c); `bool` = has served a request (reused).
    H2(Box<H2Conn<Io>>, bool),
}

/// An error on a kept-alive connection that the server may have closed (or refused the
/// request on) before processing the request: worth one retry on a fresh connection.
fn stale_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionAborted
    )
}

impl Shared {
    /// Note the status of an initial fetch; a failure aborts the run unless allowed.
    pub(crate) fn initial_result(&self, code: i32) {
        if !initial_ok(code) && !self.allow_initial_errors {
            self.abort_code.store(code, Ordering::Relaxed);
            self.abort.store(true, Ordering::Relaxed);
        }
    }

    /// An initial fetch failed: no load is generated.
    pub(crate) fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// The progress counter.
    pub(crate) fn done_counter(&self) -> Arc<Live> {
        self.done.clone()
    }

    /// Start/stop plan of connection `k` (of all connections), with its request quota.
    pub(crate) fn plan(&self, start: Instant, k: usize, quota: Option<u64>) -> Plan {
        Plan {
            start,
            deadline: match self.stop {
                Stop::Duration(d) => Some(start + d),
                Stop::Requests(_) => None,
            },
            schedule: match self.pace {
                Pace::Rate(qps) => Some(Schedule::new(start, qps, self.connections, k)),
                Pace::Max => None,
            },
            quota,
        }
    }

    async fn connect(&self) -> Option<Sender> {
        let tcp = TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .ok()?;
        let _ = tcp.set_nodelay(true);
        match (&self.tls, &self.target.server_name) {
            (Some(tls), Some(name)) => {
                let stream = tls.connect(name.clone(), tcp).await.ok()?;
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                // Only the user's protocol was offered; a server that chose no protocol, or
                // not h2 when h2 was asked for, does not speak it.
                if self.http2 && !h2 {
                    return None;
                }
                if h2 {
                    h2_handshake(Io::Tls(Box::new(stream))).await
                } else if self.raw_h1 {
                    let io = Stream(Io::Tls(Box::new(stream)));
                    let head = self.method == Method::HEAD;
                    Some(Sender::RawTls(Box::new(H1Conn::new(io, head)), false))
                } else {
                    h1_handshake(TokioIo::new(stream)).await
                }
            }
            _ if self.http2 => h2_handshake(Io::Plain(tcp)).await,
            _ if self.raw_h1 => {
                let fd = Fd::new(tcp.into_std().ok()?).ok()?;
                let head = self.method == Method::HEAD;
                Some(Sender::Raw(Box::new(H1Conn::new(fd, head)), false))
            }
            _ => h1_handshake(TokioIo::new(tcp)).await,
        }
    }

    /// One request on `conn` (connecting or reconnecting as needed). Returns the status code,
    /// or -1 on any transport failure (the connection is then dropped). On the fast paths
    /// (HTTP/1.1, HTTP/2) a kept-alive connection that turns out to be closed by the
    /// server is retried once on a fresh connection without counting the failure.
    async fn fetch(&self, conn: &mut Option<Sender>) -> i32 {
        for _ in 0..2 {
            if conn.is_none() {
                *conn = self.connect().await;
            }
            let (result, reused) = match conn.as_mut() {
                // hyper connections only carry the one-off requests of `get` and `fetch`.
                None | Some(Sender::H1(_)) => return -1,
                Some(Sender::Raw(c, reused)) => (
                    c.exchange(&self.raw_request)
                        .await
                        .map(|r| (r.status, r.close)),
                    reused,
                ),
                Some(Sender::RawTls(c, reused)) => (
                    c.exchange(&self.raw_request)
                        .await
                        .map(|r| (r.status, r.close)),
                    reused,
                ),
                Some(Sender::H2(c, reused)) => (
                    c.exchange(&self.h2_request)
                        .await
                        .map(|r| (r.status, r.close)),
                    reused,
                ),
            };
            match result {
                Ok((status, close)) => {
                    *reused = true;
                    if close {
                        *conn = None;
                    }
                    return i32::from(status);
                }
                Err(e) => {
                    let stale = *reused && stale_error(&e);
                    *conn = None;
                    if !stale {
                        return -1;
                    }
                }
            }
        }
        -1
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.target.uri_origin.clone();
        *req.headers_mut() = self.headers_h1.clone();
        req
    }

    /// [`Shared::fetch`] within the timeout counted from `sent`, on the connection's `timer`
    /// (armed once, see [`within`]).
    async fn fetch_with_timeout(
        &self,
        conn: &mut Option<Sender>,
        timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
        sent: Instant,
    ) -> i32 {
        let deadline = sent + self.timeout;
        let timer =
            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        match within(self.fetch(conn), timer.as_mut(), deadline).await {
            Some(code) => code,
            None => {
                *conn = None;
                -1
            }
        }
    }
}

async fn h1_handshake<IO>(io: TokioIo<IO>) -> Option<Sender>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (s, c) = http1::Builder::new().handshake(io).await.ok()?;
    tokio::spawn(async move {
        let _ = c.await;
    });
    Some(Sender::H1(s))
}

async fn h2_handshake(io: Io) -> Option<Sender> {
    let c = H2Conn::handshake(io).await.ok()?;
    Some(Sender::H2(Box::new(c), false))
}

fn initial_ok(code: i32) -> bool {
    (200..300).contains(&code) || code == 418
}

/// A connection on tokio (epoll fast path or hyper).
struct TokioFetch {
    sh: Arc<Shared>,
    conn: Option<Sender>,
    /// The per-request timeout's timer (see [`Shared::fetch_with_timeout`]).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Fetch for TokioFetch {
    async fn fetch(&mut self, sent: Instant) -> i32 {
        self.sh
            .fetch_with_timeout(&mut self.conn, &mut self.timer, sent)
            .await
    }

    async fn sleep_until(&mut self, t: Instant) {
        tokio::time::sleep_until(t.into()).await;
    }
}

/// One connection's loop, adding its measurements to its thread's tally `out`.
async fn worker(sh: Arc<Shared>, k: usize, quota: Option<u64>, out: Rc<RefCell<WorkerOut>>) {
    let mut f = TokioFetch {
        sh: sh.clone(),
        conn: None,
        timer: None,
    };
    if sh.initial_fetch {
        let code = f.fetch(Instant::now()).await;
        sh.initial_result(code);
    }
    let start = start_together(&sh.barrier, &sh.start).await;
    if sh.aborted() {
        return;
    }
    let plan = sh.plan(start, k, quota);
    measure_into(&mut f, &plan, &sh.done, &out).await;
}

fn header_maps(spec: &LoadSpec, target: &Target) -> Result<(HeaderMap, HeaderMap), LoadError> {
    let mut h2 = HeaderMap::new();
    h2.insert(
        hyper::header::USER_AGENT,
        HeaderValue::from_static(concat!("iter8-runner/", env!("CARGO_PKG_VERSION"))),
    );
    for (k, v) in &spec.headers {
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| LoadError::Header { name: k.clone() })?;
        let value =
            HeaderValue::from_str(v.trim()).map_err(|_| LoadError::Header { name: k.clone() })?;
        h2.insert(name, value);
    }
    let mut h1 = h2.clone();
    if let Some(host) = h2.remove(hyper::header::HOST) {
        // An explicit Host header overrides the URL's authority on HTTP/1.1; HTTP/2 uses the URL.
        h1.insert(hyper::header::HOST, host);
    } else {
        let auth = target
            .uri_abs
            .authority()
            .expect("parse_target guarantees an authority");
        let v = HeaderValue::from_str(auth.as_str()).map_err(|_| LoadError::Header {
            name: "host".into(),
        })?;
        h1.insert(hyper::header::HOST, v);
    }
    for h in [&mut h1, &mut h2] {
        if !spec.body.is_empty() && !h.contains_key(hyper::header::CONTENT_LENGTH) {
            h.insert(
                hyper::header::CONTENT_LENGTH,
                HeaderValue::from(spec.body.len()),
            );
        }
    }
    Ok((h1, h2))
}

/// Run the load described by `spec`, calling `on_progress` about every 100 ms from the calling
/// thread. Blocks until done; safe to call from any thread (it starts its own runtimes).
pub fn run(
    spec: &LoadSpec,
    on_progress: &mut dyn FnMut(LoadProgress),
) -> Result<LoadReport, LoadError> {
    let target = parse_target(&spec.url)?;
    let (headers_h1, headers_h2) = header_maps(spec, &target)?;
    let h2_request = H2Request::new(
        &spec.method,
        &target.uri_abs,
        &headers_h2,
        spec.body.clone(),
    );
    let tls = if target.https {
        let cfg = tls_config(spec.insecure_skip_verify, spec.http2)?;
        Some(tokio_rustls::TlsConnector::from(cfg))
    } else {
        None
    };
    let connections = spec.connections.max(1);
    let threads = spec.threads.clamp(1, connections);
    let quotas: Vec<Option<u64>> = match spec.stop {
        Stop::Requests(n) => split_requests(n, connections)
            .into_iter()
            .map(Some)
            .collect(),
        Stop::Duration(_) => vec![None; connections],
    };
    let raw_request = serialize_request(
        &spec.method,
        target
            .uri_origin
            .path_and_query()
            .map_or("/", |p| p.as_str()),
        &headers_h1,
        &spec.body,
    );
    let shared = Arc::new(Shared {
        target,
        raw_h1: true,
        raw_request,
        h2_request,
        method: spec.method.clone(),
        headers_h1,
        body: spec.body.clone(),
        timeout: spec.timeout,
        http2: spec.http2,
        tls,
        done: Arc::new(Live::default()),
        abort: AtomicBool::new(false),
        abort_code: AtomicI32::new(0),
        start: OnceLock::new(),
        barrier: tokio::sync::Barrier::new(connections),
        pace: spec.pace,
        stop: spec.stop,
        connections,
        initial_fetch: spec.initial_fetch,
        allow_initial_errors: spec.allow_initial_errors,
    });

    let protocol = Protocol::of(shared.target.https, spec.http2);
    let plain_h1 = protocol == Protocol::Http1;
    let (io, io_note) = choose_io(spec.io, plain_h1)?;
    let uring = if io == IoPath::Uring {
        uring_setup(&shared, threads)?
    } else {
        None
    };

    let jobs: Vec<Vec<(usize, Option<u64>)>> = (0..threads)
        .map(|t| {
            (t..connections)
                .step_by(threads)
                .map(|k| (k, quotas[k]))
                .collect()
        })
        .collect();
    let sh = shared.clone();
    let handles = match &uring {
        Some((setup, sync)) => {
            let (setup, sync) = (setup.clone(), sync.clone());
            spawn_threads("iter8-load", jobs, move |mine| {
                uring_thread(&sh, setup.clone(), &sync, mine)
            })?
        }
        None => spawn_runtime_threads("iter8-load", jobs, move |mine| {
            let sh = sh.clone();
            async move {
                // One tally per thread, shared by its connections (see `measure_into`).
                let out = Rc::new(RefCell::new(WorkerOut::new()));
                let mut set = tokio::task::JoinSet::new();
                for (k, q) in mine {
                    set.spawn_local(worker(sh.clone(), k, q, out.clone()));
                }
                while set.join_next().await.is_some() {}
                drop(set);
                Rc::try_unwrap(out)
                    .map(RefCell::into_inner)
                    .into_iter()
                    .collect::<Vec<_>>()
            }
        })?,
    };

    watch(
        &handles,
        &shared.start,
        &shared.done,
        spec.stop,
        on_progress,
    );
    let mut outs = Vec::new();
    for h in handles {
        outs.extend(h.join().map_err(|_| LoadError::WorkerPanic)?);
    }
    if let Some((_, sync)) = &uring
        && let Some(e) = sync.failed.get()
    {
        return Err(LoadError::Runtime(std::io::Error::new(
            e.kind(),
            e.to_string(),
        )));
    }
    if shared.abort.load(Ordering::Relaxed) {
        return Err(LoadError::InitialFetch {
            code: shared.abort_code.load(Ordering::Relaxed),
            url: spec.url.clone(),
        });
    }
    let start = *shared.start.get().ok_or(LoadError::WorkerPanic)?;
    let mut r = report(
        &outs,
        start,
        spec.pace,
        spec.stop,
        io,
        protocol,
        on_progress,
    );
    r.io_note = io_note;
    Ok(r)
}

/// The I/O path for a run: io_uring only carries plain-text HTTP/1.1.
fn choose_io(mode: IoMode, plain_h1: bool) -> Result<(IoPath, Option<String>), LoadError> {
    if !plain_h1 {
        return Ok((IoPath::Hyper, None));
    }
    match mode {
        IoMode::Epoll => Ok((IoPath::Epoll, None)),
        IoMode::Uring => match uring_available() {
            Ok(()) => Ok((IoPath::Uring, None)),
            Err(why) => Err(LoadError::UringUnavailable(why)),
        },
        IoMode::Auto => match uring_available() {
            Ok(()) => Ok((IoPath::Uring, None)),
            Err(why) => Ok((IoPath::Epoll, Some(why))),
        },
    }
}

#[cfg(target_os = "linux")]
fn uring_available() -> Result<(), String> {
    crate::load::uring::available()
}

#[cfg(not(target_os = "linux"))]
fn uring_available() -> Result<(), String> {
    Err("io_uring is Linux only".into())
}

#[cfg(target_os = "linux")]
type UringRun = (
    Arc<crate::load::uring::Setup>,
    Arc<crate::load::uring::Sync>,
);
#[cfg(not(target_os = "linux"))]
type UringRun = ((), ());

/// What the io_uring threads share: resolved addresses, the request, the start barrier.
#[cfg(target_os = "linux")]
fn uring_setup(sh: &Shared, threads: usize) -> Result<Option<UringRun>, LoadError> {
    use crate::load::uring::{Setup, Sync, resolve};
    // A name that does not resolve makes every request fail, as a refused connection does.
    let addrs = resolve(&sh.target.host, sh.target.port).unwrap_or_default();
    let setup = Setup {
        addrs,
        request: sh.raw_request.clone(),
        head: sh.method == Method::HEAD,
        timeout: sh.timeout,
    };
    let sync = Sync {
        barrier: std::sync::Barrier::new(threads),
        failed: OnceLock::new(),
    };
    Ok(Some((Arc::new(setup), Arc::new(sync))))
}

#[cfg(not(target_os = "linux"))]
fn uring_setup(_sh: &Shared, _threads: usize) -> Result<Option<UringRun>, LoadError> {
    Ok(None)
}

#[cfg(target_os = "linux")]
fn uring_thread(
    sh: &Shared,
    setup: Arc<crate::load::uring::Setup>,
    sync: &crate::load::uring::Sync,
    mine: Vec<(usize, Option<u64>)>,
) -> Vec<WorkerOut> {
    crate::load::uring::thread_main(sh, setup, sync, mine)
}

#[cfg(not(target_os = "linux"))]
fn uring_thread(
    _sh: &Shared,
    _setup: (),
    _sync: &(),
    _mine: Vec<(usize, Option<u64>)>,
) -> Vec<WorkerOut> {
    Vec::new()
}

/// One blocking GET of `url` returning the body (used to download `payloadURL`); non-2xx
/// statuses are errors. Starts its own runtime, so it may be called from any thread.
pub fn get(url: &str, insecure_skip_verify: bool, timeout: Duration) -> Result<Bytes, String> {
    request("GET", url, &[], Bytes::new(), insecure_skip_verify, timeout)
}

/// One blocking request (`method`, extra `headers`, `body`) returning the body of a 2xx
/// response (used by `custommetrics`). Starts its own runtime, so it may be called from any
/// thread.
pub fn fetch(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Bytes, String> {
    request(method, url, headers, body, false, timeout)
}

fn request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
    insecure_skip_verify: bool,
    timeout: Duration,
) -> Result<Bytes, String> {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {method:?}"))?;
    let target = parse_target(url).map_err(|e| e.to_string())?;
    let tls = if target.https {
        let cfg = tls_config(insecure_skip_verify, false).map_err(|e| e.to_string())?;
        Some(tokio_rustls::TlsConnector::from(cfg))
    } else {
        None
    };
    let spec = LoadSpec {
        url: url.to_string(),
        method: method.clone(),
        headers: headers.to_vec(),
        body: body.clone(),
        stop: Stop::Requests(1),
        pace: Pace::Max,
        connections: 1,
        threads: 1,
        timeout,
        http2: false,
        insecure_skip_verify,
        initial_fetch: false,
        allow_initial_errors: true,
        io: IoMode::Epoll,
    };
    let (headers_h1, headers_h2) = header_maps(&spec, &target).map_err(|e| e.to_string())?;
    let h2_request = H2Request::new(&method, &target.uri_abs, &headers_h2, body.clone());
    let sh = Shared {
        target,
        raw_h1: false,
        raw_request: Vec::new(),
        h2_request,
        method,
        headers_h1,
        body,
        timeout,
        http2: false,
        tls,
        done: Arc::new(Live::default()),
        abort: AtomicBool::new(false),
        abort_code: AtomicI32::new(0),
        start: OnceLock::new(),
        barrier: tokio::sync::Barrier::new(1),
        pace: Pace::Max,
        stop: Stop::Requests(1),
        connections: 1,
        initial_fetch: false,
        allow_initial_errors: true,
    };
    let url_owned = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let fut = async {
                let mut conn = sh.connect().await.ok_or("connection failed")?;
                // ALPN offers only HTTP/1.1 here, and `raw_h1` is off: always hyper.
                let Sender::H1(s) = &mut conn else {
                    return Err("unexpected connection kind".to_string());
                };
                let resp = s
                    .send_request(sh.request())
                    .await
                    .map_err(|_| "request failed")?;
                let status = resp.status();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|_| "reading the body failed")?
                    .to_bytes();
                if !status.is_success() {
                    return Err(format!("status {} for {url_owned}", status.as_u16()));
                }
                Ok::<Bytes, String>(body)
            };
            match tokio::time::timeout(timeout, fut).await {
                Ok(r) => r.map_err(|e: String| e),
                Err(_) => Err("timed out".to_string()),
            }
        })
    })
    .join()
    .map_err(|_| "download thread panicked".to_string())?
}
