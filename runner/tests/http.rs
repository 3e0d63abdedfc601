//! The `http` task and load generator against real servers on 127.0.0.1.

mod support;

use support::{Proto, dead_addr, metric, run_spec, start};

/// numRequests is exact across connections, at full speed and paced.
#[test]
fn exact_request_counts() {
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 37\n    connections: 4\n    qps: 0\n",
        s.url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/request-count"), Some(37.0));
    assert_eq!(metric(&e, "http/error-count"), Some(0.0));
    assert_eq!(metric(&e, "http/error-rate"), Some(0.0));
    assert_eq!(s.hits(), 37);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 20\n    qps: 100\n    connections: 3\n",
        s.url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/request-count"), Some(20.0));
    assert_eq!(s.hits(), 57);
    let ins = e
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights");
    for m in [
        "http/latency-mean",
        "http/latency-stddev",
        "http/latency-min",
        "http/latency-max",
        "http/latency-p50",
        "http/latency-p75",
        "http/latency-p90",
        "http/latency-p95",
        "http/latency-p99",
        "http/latency-p99.9",
        "http/latency-uncorrected-p99",
        "http/achieved-rate",
    ] {
        assert!(ins.scalar_metric_value(0, m).is_some(), "{m} missing");
    }
    assert_eq!(
        ins.metrics_info["http/latency-p99.9"].units.as_deref(),
        Some("msec")
    );
    assert_eq!(
        ins.metrics_info["http/latency-p99.9"].description,
        "99.9-th percentile of observed latency values"
    );
    let buckets = &ins.hist_metric_values[0]["http/latency"];
    assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 20);
    // Defaults are written back into the stored spec, as Iter8 does.
    let with = e.spec[0].with.as_ref().expect("with");
    assert_eq!(with["connections"], 3);
    assert_eq!(with["percentiles"].as_array().map(Vec::len), Some(6));
    assert_eq!(with["errorRanges"][0]["lower"], 400);
}

/// 404 responses are errors under the default range; errorRanges change the classification.
#[test]
fn error_ranges() {
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 10\n    qps: 0\n",
        s.url("/status/404")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(10.0));
    assert_eq!(metric(&e, "http/error-rate"), Some(1.0));
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 10\n    qps: 0\n    errorRanges:\n    - lower: 500\n      upper: 502\n",
        s.url("/status/503")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(0.0));
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 10\n    qps: 0\n    errorRanges:\n    - lower: 500\n",
        s.url("/status/503")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(10.0));
}

/// A target nobody listens on yields errors (status -1), not a crash or a task failure.
#[test]
fn down_target_counts_errors() {
    let a = dead_addr();
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: http://{a}/\n    numRequests: 6\n    qps: 50\n    connections: 2\n"
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/request-count"), Some(6.0));
    assert_eq!(metric(&e, "http/error-count"), Some(6.0));
    assert!(e.no_failure());
}

/// http2: true speaks h2c with prior knowledge.
#[test]
fn h2c() {
    let s = start(Proto::H2c);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 25\n    qps: 0\n    http2: true\n",
        s.url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(0.0));
    assert_eq!(
        s.state.h2_hits.load(std::sync::atomic::Ordering::SeqCst),
        25
    );
}

/// A self-signed certificate fails verification (all errors) unless insecureSkipVerify is set;
/// then the server (offering h2 and http/1.1) is spoken to in HTTP/1.1, or in HTTP/2 with
/// `http2: true`.
#[test]
fn tls_self_signed() {
    let s = start(Proto::Tls);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 4\n    qps: 0\n",
        s.https_url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(4.0));
    assert_eq!(s.hits(), 0);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 12\n    qps: 0\n    insecureSkipVerify: true\n",
        s.https_url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(0.0));
    assert_eq!(s.hits(), 12);
    assert_eq!(s.state.h2_hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 7\n    qps: 0\n    insecureSkipVerify: true\n    http2: true\n",
        s.https_url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http/error-count"), Some(0.0));
    assert_eq!(s.hits(), 19);
    assert_eq!(s.state.h2_hits.load(std::sync::atomic::Ordering::SeqCst), 7);
}

/// A one-second stall in a fixed-rate run shows in the corrected p99 (≥ 500 ms) while the
/// uncorrected service-time p99 stays small.
#[test]
fn coordinated_omission_corrected() {
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    duration: 3s\n    qps: 200\n    connections: 4\n",
        s.url("/stall")
    ));
    r.expect("run succeeds");
    let p99 = metric(&e, "http/latency-p99").expect("p99");
    let p99u = metric(&e, "http/latency-uncorrected-p99").expect("uncorrected p99");
    let max_u = metric(&e, "http/latency-uncorrected-max").expect("uncorrected max");
    let n = metric(&e, "http/request-count").expect("count");
    assert!(p99 >= 500.0, "corrected p99 {p99} ms");
    assert!(p99u < 100.0, "uncorrected p99 {p99u} ms");
    assert!(
        max_u >= 500.0,
        "the stalled requests themselves took {max_u} ms"
    );
    assert!((550.0..=610.0).contains(&n), "3 s at 200 qps sent {n}");
}

/// payloadStr with contentType sends a POST with that body and header.
#[test]
fn payload_and_headers() {
    let s = start(Proto::H1);
    let (r, _) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 2\n    payloadStr: '{{\"a\":1}}'\n    contentType: application/json\n    headers:\n      X-Test: yes-it-is\n",
        s.url("/")
    ));
    r.expect("run succeeds");
    let (method, body, headers) = s
        .state
        .last
        .lock()
        .expect("lock")
        .clone()
        .expect("a request");
    assert_eq!(method, "POST");
    assert_eq!(body, "{\"a\":1}");
    let h = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(h("content-type").as_deref(), Some("application/json"));
    assert_eq!(h("x-test").as_deref(), Some("yes-it-is"));
}

/// payloadURL is downloaded and sent as the body.
#[test]
fn payload_url() {
    let s = start(Proto::H1);
    let (r, _) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 1\n    payloadURL: {}\n",
        s.url("/target"),
        s.url("/payload")
    ));
    r.expect("run succeeds");
    let (method, body, _) = s
        .state
        .last
        .lock()
        .expect("lock")
        .clone()
        .expect("a request");
    assert_eq!((method.as_str(), body.as_str()), ("POST", "hello world\n"));
}

/// warmup: true generates load but records nothing; warmupNumRequests adds a discarded phase.
#[test]
fn warmup() {
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 5\n    qps: 0\n    warmup: true\n",
        s.url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(s.hits(), 5);
    assert!(e.result.as_ref().expect("result").insights.is_none());
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    numRequests: 5\n    qps: 0\n    warmupNumRequests: 7\n",
        s.url("/")
    ));
    r.expect("run succeeds");
    assert_eq!(s.hits(), 17);
    assert_eq!(metric(&e, "http/request-count"), Some(5.0));
}

/// Each endpoint gets its own provider name and its own stop condition.
#[test]
fn endpoints() {
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    qps: 0\n    endpoints:\n      a:\n        url: {}\n        numRequests: 3\n      b:\n        url: {}\n        numRequests: 4\n",
        s.url("/a"),
        s.url("/status/500")
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "http-a/request-count"), Some(3.0));
    assert_eq!(metric(&e, "http-b/request-count"), Some(4.0));
    assert_eq!(metric(&e, "http-b/error-count"), Some(4.0));
    assert_eq!(metric(&e, "http/request-count"), None);
}

/// In duration mode a failing initial fetch fails the task unless allowInitialErrors is set.
#[test]
fn initial_fetch() {
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    duration: 300ms\n",
        s.url("/status/500")
    ));
    let err = r.expect_err("must fail");
    let chain = runner::task::error_chain(&err);
    assert!(chain.contains("error 500 for"), "{chain}");
    assert!(!e.no_failure());
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    duration: 300ms\n    allowInitialErrors: true\n",
        s.url("/status/500")
    ));
    r.expect("run succeeds");
    assert!(metric(&e, "http/error-count").expect("errors") >= 1.0);
}

/// A hand-written HTTP/1.1 server answering every request on `path`-specific canned bytes;
/// returns its address and a counter of accepted connections.
fn canned_server(
    response: &'static [u8],
    close_after: bool,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let acc = accepted.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            acc.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                loop {
                    let mut line = String::new();
                    // request line + headers up to the empty line
                    loop {
                        line.clear();
                        match r.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    if s.write_all(response).is_err() || close_after {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// Chunked bodies (with extensions and trailers), interim 1xx responses, `Connection: close`
/// and close-delimited HTTP/1.0 bodies are all framed correctly by the HTTP/1.1 fast path.
#[test]
fn http1_framing() {
    let cases: [(&'static [u8], bool, u64); 4] = [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            false,
            2,
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc",
            false,
            2,
        ),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            true,
            10,
        ),
        (b"HTTP/1.0 200 OK\r\n\r\nbody until close", true, 10),
    ];
    for (resp, close, conns) in cases {
        let (addr, accepted) = canned_server(resp, close);
        let (r, e) = run_spec(&format!(
            "- task: http\n  with:\n    url: http://{addr}/\n    numRequests: 10\n    connections: 2\n    qps: 0\n"
        ));
        r.expect("run succeeds");
        let text = String::from_utf8_lossy(resp);
        assert_eq!(metric(&e, "http/request-count"), Some(10.0), "{text}");
        assert_eq!(metric(&e, "http/error-count"), Some(0.0), "{text}");
        assert_eq!(
            accepted.load(std::sync::atomic::Ordering::SeqCst),
            conns,
            "{text}"
        );
    }
}

/// The I/O paths that can run here: epoll always, io_uring when the kernel allows it.
fn io_modes() -> Vec<runner::load::IoMode> {
    use runner::load::IoMode;
    match runner::load::uring::available() {
        Ok(()) => vec![IoMode::Epoll, IoMode::Uring],
        Err(why) => {
            eprintln!("io_uring unavailable here ({why}); testing epoll only");
            vec![IoMode::Epoll]
        }
    }
}

/// A load spec for `url` with `n` requests on `connections` connections at full speed.
fn load(url: &str, n: u64, connections: usize, io: runner::load::IoMode) -> runner::load::LoadSpec {
    runner::load::LoadSpec {
        url: url.to_string(),
        method: http::Method::GET,
        headers: Vec::new(),
        body: bytes::Bytes::new(),
        stop: runner::load::Stop::Requests(n),
        pace: runner::load::Pace::Max,
        connections,
        threads: 2,
        timeout: std::time::Duration::from_secs(5),
        http2: false,
        insecure_skip_verify: false,
        initial_fetch: false,
        allow_initial_errors: true,
        io,
    }
}

fn codes(r: &runner::load::LoadReport) -> Vec<(i32, u64)> {
    r.codes.iter().collect()
}

/// Both I/O paths send exactly the requested number of requests, closed-loop and paced, and
/// count statuses and transport failures the same way; `io` reports the path used.
#[test]
fn io_paths_count_exactly() {
    use runner::load::{IoMode, IoPath, Pace, http::run};
    for io in io_modes() {
        let want = if io == IoMode::Uring {
            IoPath::Uring
        } else {
            IoPath::Epoll
        };
        let s = start(Proto::H1);
        let r = run(&load(&s.url("/"), 1000, 5, io), &mut |_| {}).expect("run");
        assert_eq!(r.io, want);
        assert_eq!(codes(&r), vec![(200, 1000)], "{io:?}");
        assert_eq!(r.uncorrected.count(), 1000);
        assert_eq!(s.hits(), 1000, "{io:?}");
        let mut paced = load(&s.url("/"), 40, 3, io);
        paced.pace = Pace::Rate(400.0);
        let r = run(&paced, &mut |_| {}).expect("paced run");
        assert_eq!(codes(&r), vec![(200, 40)], "{io:?}");
        assert_eq!(r.corrected.count(), 40);
        assert_eq!(s.hits(), 1040, "{io:?}");
        let r = run(&load(&s.url("/status/503"), 30, 2, io), &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(503, 30)], "{io:?}");
        let dead = dead_addr();
        let r = run(&load(&format!("http://{dead}/"), 7, 3, io), &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(-1, 7)], "{io:?}");
    }
}

/// Both I/O paths frame chunked, `Connection: close` and close-delimited responses, and
/// reconnect without counting an error when the server silently closes a kept-alive
/// connection (one response per connection, no `Connection: close`).
#[test]
fn io_paths_framing_and_reconnect() {
    let cases: [(&'static [u8], bool, u64); 4] = [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            false,
            2,
        ),
        (
            b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            true,
            12,
        ),
        (b"HTTP/1.0 202 Accepted\r\n\r\nbody until close", true, 12),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, 12),
    ];
    for io in io_modes() {
        for (resp, close, conns) in cases {
            let (addr, accepted) = canned_server(resp, close);
            let r =
                runner::load::http::run(&load(&format!("http://{addr}/"), 12, 2, io), &mut |_| {})
                    .expect("run");
            let text = String::from_utf8_lossy(resp);
            let status: i32 = text[9..12].parse().expect("status in canned response");
            assert_eq!(codes(&r), vec![(status, 12)], "{io:?} {text}");
            assert_eq!(
                accepted.load(std::sync::atomic::Ordering::SeqCst),
                conns,
                "{io:?} {text}"
            );
        }
    }
}

/// A server that accepts but never answers: every request times out (status -1) on both I/O
/// paths, and the run ends.
#[test]
fn io_paths_time_out() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut keep = Vec::new();
        for s in l.incoming() {
            keep.push(s);
        }
    });
    for io in io_modes() {
        let mut spec = load(&format!("http://{addr}/"), 4, 2, io);
        spec.timeout = std::time::Duration::from_millis(150);
        let r = runner::load::http::run(&spec, &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(-1, 4)], "{io:?}");
    }
}

/// `auto` uses io_uring for plain HTTP/1.1 when available (else epoll, saying why), never for
/// h2c; forcing io_uring where it is unavailable fails the run with a clear error.
#[test]
fn io_path_choice() {
    use runner::load::{IoMode, IoPath, LoadError, http::run};
    let s = start(Proto::H1);
    let r = run(&load(&s.url("/"), 3, 1, IoMode::Auto), &mut |_| {}).expect("run");
    match runner::load::uring::available() {
        Ok(()) => assert_eq!((r.io, r.io_note), (IoPath::Uring, None)),
        Err(why) => {
            assert_eq!((r.io, r.io_note), (IoPath::Epoll, Some(why.clone())));
            let e = run(&load(&s.url("/"), 3, 1, IoMode::Uring), &mut |_| {})
                .expect_err("forced io_uring must fail");
            assert!(matches!(e, LoadError::UringUnavailable(_)), "{e}");
        }
    }
    let h2 = start(Proto::H2c);
    let mut spec = load(&h2.url("/"), 3, 1, IoMode::Uring);
    spec.http2 = true;
    let r = run(&spec, &mut |_| {}).expect("h2c run");
    assert_eq!(r.io, IoPath::Hyper);
    assert_eq!(codes(&r), vec![(200, 3)]);
}

/// The per-request timeout fires at each request's own deadline, also after earlier
/// requests on the connection armed the timer: against a server that stalls for one second
/// (from 1 s after it starts) with a 300 ms timeout, requests caught in the stall fail after
/// about 300 ms (not after the stall), and the others succeed.
#[test]
fn timeout_per_request_after_earlier_requests() {
    use runner::load::{IoMode, Pace, http::run};
    let s = start(Proto::H1);
    let mut spec = load(&s.url("/stall"), 125, 2, IoMode::Epoll);
    spec.pace = Pace::Rate(50.0);
    spec.timeout = std::time::Duration::from_millis(300);
    let r = run(&spec, &mut |_| {}).expect("run");
    let failed = r.codes.iter().find(|(c, _)| *c == -1).map_or(0, |(_, n)| n);
    let ok = r
        .codes
        .iter()
        .find(|(c, _)| *c == 200)
        .map_or(0, |(_, n)| n);
    assert_eq!(failed + ok, 125, "{:?}", codes(&r));
    assert!(
        failed >= 2,
        "the stall must time requests out: {:?}",
        codes(&r)
    );
    assert!(
        ok >= 60,
        "requests before and after the stall succeed: {:?}",
        codes(&r)
    );
    let max_ms = r.uncorrected.max_ms().expect("latencies recorded");
    assert!(
        max_ms < 800.0,
        "a timed-out request took {max_ms:.0} ms, not about 300"
    );
}
