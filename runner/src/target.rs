//! Sample HTTP target for tutorials and tests: echo, per-request delay and error injection.
//!
//! The target speaks HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge) on one port.
//! Every path except `/healthz` echoes the request body back. Behaviour is chosen per request,
//! in the spirit of Fortio's echo server, by query parameters or (when the query does not set
//! them) by request headers:
//!
//! | query      | header     | meaning                                                            |
//! |------------|------------|--------------------------------------------------------------------|
//! | `delay`    | `x-delay`  | `10ms` (always) or `10ms:25,1s:1` (duration:percent, comma list)   |
//! | `status`   | `x-status` | `503` (always) or `503:10,429:5` (code:percent, comma list)        |
//! | `size`     | `x-size`   | respond with this many bytes instead of echoing the body           |
//!
//! Percentages are applied deterministically rather than at random: for each path and
//! specification the target keeps a running account and answers so that after `n` requests
//! each choice has been taken `floor(n * percent / 100)` times, give or take one. So 200 requests
//! with `status=503:10` get exactly 20 answers of 503, which lets tests assert exact counts.
//!
//! `/healthz` answers `200 ok`. The target counts the requests it has answered per path
//! ([`Target::requests`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let target = runner::target::Target::start("127.0.0.1:0".parse().expect("addr")).await?;
//! println!("{}/get?status=503:10", target.url());
//! target.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Largest body the target answers with for `size=` (16 MiB), so a typo cannot exhaust memory.
const MAX_SIZE: usize = 16 << 20;

/// A running target server. Dropping it without [`Target::shutdown`] also stops it.
pub struct Target {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    /// Running accounts of weighted choices, keyed by path + parameter name + specification.
    accounts: Mutex<HashMap<String, Vec<f64>>>,
    /// Requests answered, per path.
    requests: Mutex<HashMap<String, u64>>,
}

impl Target {
    /// Bind `addr` (port 0 picks a free port) and serve on the current tokio runtime.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Target> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, state.clone(), stop_rx));
        Ok(Target {
            addr,
            state,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<bound address>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Number of requests answered for `path` (without the query), including failures injected
    /// with `status=`.
    pub fn requests(&self, path: &str) -> u64 {
        self.state.requests(path)
    }

    /// Total number of requests answered on all paths.
    pub fn total_requests(&self) -> u64 {
        self.state.total_requests()
    }

    /// Stop accepting, close open connections and wait for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A target running on its own thread and runtime, for synchronous tests and programs.
pub struct BackgroundTarget {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundTarget {
    /// Bind `addr` and serve from a new thread with a single-threaded tokio runtime.
    pub fn start(addr: SocketAddr) -> std::io::Result<BackgroundTarget> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = Arc::new(State::default());
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("iter8-target-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(std_listener) {
                        Ok(listener) => serve(listener, thread_state, stop_rx).await,
                        Err(e) => eprintln!("iter8 target: cannot listen: {e}"),
                    }
                });
            })?;
        Ok(BackgroundTarget {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<bound address>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Number of requests answered for `path` (without the query).
    pub fn requests(&self, path: &str) -> u64 {
        self.state.requests(path)
    }

    /// Total number of requests answered on all paths.
    pub fn total_requests(&self) -> u64 {
        self.state.total_requests()
    }
}

impl Drop for BackgroundTarget {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(req, &state).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn handle(req: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    {
        let mut counts = state
            .requests
            .lock()
            .expect("request counter lock poisoned");
        *counts.entry(path.clone()).or_insert(0) += 1;
    }
    if path == "/healthz" {
        return text(StatusCode::OK, "ok\n");
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let param = |name: &str| -> Option<String> {
        query_param(&query, name).or_else(|| {
            req.headers()
                .get(format!("x-{name}"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
    };
    let delay_spec = param("delay");
    let status_spec = param("status");
    let size_spec = param("size");
    let content_type = req.headers().get(hyper::header::CONTENT_TYPE).cloned();

    let delay = match delay_spec.as_deref().map(parse_weighted_durations) {
        None => None,
        Some(Ok(choices)) => {
            state.choose(&format!("{path} delay {}", spec_key(&delay_spec)), &choices)
        }
        Some(Err(e)) => return text(StatusCode::BAD_REQUEST, &format!("bad delay: {e}\n")),
    };
    let status = match status_spec.as_deref().map(parse_weighted_statuses) {
        None => None,
        Some(Ok(choices)) => state.choose(
            &format!("{path} status {}", spec_key(&status_spec)),
            &choices,
        ),
        Some(Err(e)) => return text(StatusCode::BAD_REQUEST, &format!("bad status: {e}\n")),
    };
    let size = match size_spec.as_deref().map(str::parse::<usize>) {
        None => None,
        Some(Ok(n)) if n <= MAX_SIZE => Some(n),
        Some(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                &format!("bad size: expected a byte count up to {MAX_SIZE}\n"),
            );
        }
    };

    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("cannot read body: {e}\n")),
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let body = match size {
        Some(n) => Bytes::from(vec![b'x'; n]),
        None => body,
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status.unwrap_or(StatusCode::OK);
    if let Some(ct) = content_type {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, ct);
    }
    resp
}

fn spec_key(spec: &Option<String>) -> &str {
    spec.as_deref().unwrap_or("")
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

impl State {
    /// Requests answered for `path`.
    fn requests(&self, path: &str) -> u64 {
        let counts = self.requests.lock().expect("request counter lock poisoned");
        counts.get(path).copied().unwrap_or(0)
    }

    /// Requests answered on all paths.
    fn total_requests(&self) -> u64 {
        let counts = self.requests.lock().expect("request counter lock poisoned");
        counts.values().sum()
    }

    /// Pick one of `choices` (value, percent) for this request, or `None` for the remainder.
    ///
    /// Each choice accrues its percent per request; the choice with the largest credit of at
    /// least 100 is taken and pays 100. Over `n` requests choice `i` is taken
    /// `floor(n * p_i / 100)` times (±1 when several choices compete), spread evenly.
    fn choose<T: Copy>(&self, key: &str, choices: &[(T, f64)]) -> Option<T> {
        let mut accounts = self.accounts.lock().expect("account lock poisoned");
        let credit = accounts
            .entry(key.to_string())
            .or_insert_with(|| vec![0.0; choices.len()]);
        for (c, (_, pct)) in credit.iter_mut().zip(choices) {
            *c += pct;
        }
        let mut best: Option<usize> = None;
        for (i, c) in credit.iter().enumerate() {
            // Tolerance: accumulated decimal percentages (e.g. 0.1) drift below 100.
            if *c >= 100.0 - 1e-9 && best.is_none_or(|b| *c > credit[b]) {
                best = Some(i);
            }
        }
        let i = best?;
        credit[i] -= 100.0;
        Some(choices[i].0)
    }
}

/// The value of query parameter `name` (percent-decoded), if present.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `503` or `503:10,429:5` into (status, percent) choices.
fn parse_weighted_statuses(spec: &str) -> Result<Vec<(StatusCode, f64)>, String> {
    parse_weighted(spec, |s| {
        let code: u16 = s
            .parse()
            .map_err(|_| format!("{s:?} is not a status code"))?;
        StatusCode::from_u16(code).map_err(|_| format!("{code} is not a valid status code"))
    })
}

/// Parse `10ms` or `10ms:25,1s:1` into (duration, percent) choices.
fn parse_weighted_durations(spec: &str) -> Result<Vec<(Duration, f64)>, String> {
    parse_weighted(spec, parse_duration)
}

fn parse_weighted<T>(
    spec: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<(T, f64)>, String> {
    let mut out = Vec::new();
    let mut total = 0.0;
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (value, pct) = match item.rsplit_once(':') {
            Some((v, p)) => {
                let pct: f64 = p
                    .parse()
                    .map_err(|_| format!("{p:?} is not a percentage"))?;
                if !(0.0..=100.0).contains(&pct) {
                    return Err(format!("percentage {pct} is outside 0..100"));
                }
                (v, pct)
            }
            None => (item, 100.0),
        };
        total += pct;
        out.push((parse(value)?, pct));
    }
    if out.is_empty() {
        return Err("empty specification".into());
    }
    if total > 100.0 + 1e-9 {
        return Err(format!("percentages add up to {total}, more than 100"));
    }
    Ok(out)
}

/// Parse a Go duration such as `250us`, `1.5s`, `1m30s` (units ns, us, µs, ms, s, m, h).
fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::inputs::parse_go_duration(s)
        .map_err(|_| format!("{s:?} is not a duration (e.g. 10ms, 1.5s)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weighted choices are taken exactly floor(n·p/100) times and spread out.
    #[test]
    fn choose_is_exact() {
        let state = State::default();
        let choices = [(503u16, 10.0)];
        let picks: Vec<Option<u16>> = (0..200).map(|_| state.choose("k", &choices)).collect();
        assert_eq!(picks.iter().filter(|p| **p == Some(503)).count(), 20);
        // Competing choices: each within one of its share.
        let choices = [(503u16, 10.0), (429u16, 5.0)];
        let picks: Vec<Option<u16>> = (0..200).map(|_| state.choose("k2", &choices)).collect();
        let n503 = picks.iter().filter(|p| **p == Some(503)).count();
        let n429 = picks.iter().filter(|p| **p == Some(429)).count();
        assert!((19..=20).contains(&n503), "{n503}");
        assert!((9..=10).contains(&n429), "{n429}");
        // Spread: no two 503s in a row.
        assert!(
            !picks
                .windows(2)
                .any(|w| w[0] == Some(503) && w[1] == Some(503))
        );
    }

    /// Go-style durations parse; junk is rejected.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("").is_err());
    }

    /// Specs without a percent mean always; totals above 100 are refused.
    #[test]
    fn weighted_specs() {
        let v = parse_weighted_statuses("503").expect("valid");
        assert_eq!(v, vec![(StatusCode::SERVICE_UNAVAILABLE, 100.0)]);
        assert!(parse_weighted_statuses("503:60,500:50").is_err());
        assert!(parse_weighted_statuses("abc").is_err());
        assert_eq!(
            query_param("a=1&status=503%3A10", "status").as_deref(),
            Some("503:10")
        );
    }

    fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(addr).expect("connect to target");
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        conn.write_all(req.as_bytes()).expect("send request");
        let mut resp = String::new();
        conn.read_to_string(&mut resp).expect("read response");
        let code = resp[9..12].parse().expect("status code in status line");
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    /// A real server on loopback: /healthz, exact injected error counts, per-path request counts.
    #[test]
    fn background_target_serves() {
        let target = BackgroundTarget::start("127.0.0.1:0".parse().expect("addr")).expect("start");
        assert_eq!(
            get(target.local_addr(), "/healthz"),
            (200, "ok\n".to_string())
        );
        let errors = (0..40)
            .filter(|_| get(target.local_addr(), "/e?status=503:25").0 == 503)
            .count();
        assert_eq!(errors, 10);
        assert_eq!(target.requests("/e"), 40);
        assert_eq!(target.total_requests(), 41);
        assert_eq!(get(target.local_addr(), "/e?size=3").1, "xxx");
        assert_eq!(get(target.local_addr(), "/e?delay=soon").0, 400);
    }
}
