//! The load generator's own clients against a real nginx on 127.0.0.1: HTTP/2 (h2 over TLS
//! and h2c) and HTTP/1.1 over TLS; statuses, headers, large bodies both ways (HTTP/2 flow
//! control), and connections the server retires.

use std::time::Duration;

use runner::load::http::run;
use runner::load::{IoMode, LoadReport, LoadSpec, Pace, Stop};
use testsupport::servers::free_port;

/// Response body size of `/big` (several DATA frames and more than the default 64 KiB window).
const BIG: usize = 300_000;
/// Request body size of the POSTs to `/echo` (more than nginx's initial 64 KiB stream window).
const UPLOAD: usize = 200_000;

/// nginx with a test certificate on one port per behaviour under test; stopped on drop.
struct Nginx {
    server: testsupport::servers::Nginx,
    /// Plain HTTP/1.1 (the upstream of `/echo`).
    h1: u16,
    /// h2c with prior knowledge.
    h2c: u16,
    /// h2c whose connections are retired (GOAWAY) after 7 requests.
    h2c_short: u16,
    /// TLS with ALPN h2.
    tls: u16,
    /// TLS, HTTP/1.1 only.
    tls1: u16,
    /// TLS, HTTP/1.1 only, connections closed after 7 requests.
    tls1_short: u16,
    /// h2c, idle connections closed after 200 ms.
    h2c_idle: u16,
    /// TLS, HTTP/1.1 only, idle connections closed after 200 ms.
    tls1_idle: u16,
}

impl Nginx {
    fn start() -> Nginx {
        let (h1, h2c, h2c_short, tls) = (free_port(), free_port(), free_port(), free_port());
        let (tls1, tls1_short) = (free_port(), free_port());
        let (h2c_idle, tls1_idle) = (free_port(), free_port());
        let routes = format!(
            r#"location / {{ return 200 "hello
"; }}
    location /s204 {{ return 204; }}
    location /s404 {{ return 404; }}
    location /s418 {{ return 418; }}
    location /s503 {{ return 503; }}
    location /big {{ alias {{dir}}/big.bin; }}
    location /echo {{ proxy_pass http://127.0.0.1:{h1}/ok; }}
"#
        );
        let http = format!(
            r#"log_format seen '$server_port $server_protocol $request_method $status $content_length $http_x_test $connection';
  access_log {{dir}}/access.log seen;
  client_max_body_size 10m;
  ssl_certificate {{dir}}/cert.pem; ssl_certificate_key {{dir}}/key.pem;
  server {{ listen 127.0.0.1:{h1}; location / {{ return 200 "ok\n"; }} }}
  server {{
    listen 127.0.0.1:{h2c} http2; listen 127.0.0.1:{tls} ssl http2;
    {routes}
  }}
  server {{ listen 127.0.0.1:{tls1} ssl; {routes} }}
  server {{
    listen 127.0.0.1:{tls1_short} ssl; keepalive_requests 7;
    location / {{ return 200 "short\n"; }}
  }}
  server {{
    listen 127.0.0.1:{h2c_idle} http2; listen 127.0.0.1:{tls1_idle} ssl;
    keepalive_timeout 200ms; http2_idle_timeout 200ms;
    location / {{ return 200 "idle\n"; }}
  }}
  server {{
    listen 127.0.0.1:{h2c_short} http2; keepalive_requests 7;
    location / {{ return 200 "short\n"; }}
  }}"#
        );
        let big = vec![b'x'; BIG];
        let ports = [
            h1, h2c, h2c_short, tls, tls1, tls1_short, h2c_idle, tls1_idle,
        ];
        let server = testsupport::servers::Nginx::start(&http, &ports, &[("big.bin", &big)]);
        Nginx {
            server,
            h1,
            h2c,
            h2c_short,
            tls,
            tls1,
            tls1_short,
            h2c_idle,
            tls1_idle,
        }
    }

    /// Access log lines so far (port, protocol, method, status, content length, x-test,
    /// connection serial number).
    fn log(&self) -> Vec<String> {
        self.server.log_lines("access.log")
    }
}

/// A load spec for `url`: `n` requests, `connections` connections, full speed, HTTP/2.
fn spec(url: &str, n: u64, connections: usize) -> LoadSpec {
    LoadSpec {
        url: url.to_string(),
        method: http::Method::GET,
        headers: vec![("X-Test".into(), "abc".into())],
        body: bytes::Bytes::new(),
        stop: Stop::Requests(n),
        pace: Pace::Max,
        connections,
        threads: 2,
        timeout: Duration::from_secs(10),
        http2: true,
        insecure_skip_verify: true,
        initial_fetch: false,
        allow_initial_errors: true,
        io: IoMode::Auto,
    }
}

fn codes(r: &LoadReport) -> Vec<(i32, u64)> {
    r.codes.iter().collect()
}

/// The distinct connections that carried the requests logged for `port`.
fn connections(log: &[String], port: u16) -> usize {
    let head = format!("{port} ");
    let mut ids: Vec<&str> = log
        .iter()
        .filter(|l| l.starts_with(&head))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// Lines of the access log for `port` that match `protocol method status`.
fn count(log: &[String], port: u16, what: &str) -> usize {
    let head = format!("{port} {what} ");
    log.iter().filter(|l| l.starts_with(&head)).count()
}

/// h2c and h2 over TLS: every request reaches nginx as HTTP/2.0 with its headers, and the
/// statuses nginx encodes as static-table entries (200, 204, 404) and as literals (418, 503)
/// are counted exactly, at full speed and paced.
#[test]
fn h2_and_h2c_statuses() {
    let n = Nginx::start();
    let urls = [
        (n.h2c, format!("http://127.0.0.1:{}", n.h2c)),
        (n.tls, format!("https://localhost:{}", n.tls)),
    ];
    for (port, base) in &urls {
        let r = run(&spec(&format!("{base}/"), 300, 4), &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(200, 300)], "{base}");
        let mut paced = spec(&format!("{base}/"), 40, 2);
        paced.pace = Pace::Rate(400.0);
        let r = run(&paced, &mut |_| {}).expect("paced run");
        assert_eq!(codes(&r), vec![(200, 40)], "{base}");
        for status in [204, 404, 418, 503] {
            let r = run(&spec(&format!("{base}/s{status}"), 9, 2), &mut |_| {}).expect("run");
            assert_eq!(codes(&r), vec![(status, 9)], "{base}");
        }
        let log = n.log();
        assert_eq!(count(&log, *port, "HTTP/2.0 GET 200"), 340, "{base}");
        for status in [204, 404, 418, 503] {
            assert_eq!(
                count(&log, *port, &format!("HTTP/2.0 GET {status}")),
                9,
                "{base}"
            );
        }
        let with_header = log
            .iter()
            .filter(|l| l.starts_with(&format!("{port} ")) && l.contains(" abc "))
            .count();
        assert_eq!(with_header, 340 + 4 * 9, "{base}: the X-Test header");
    }
}

/// Large bodies: a 300 KB response (many DATA frames) is read to its end, and a 200 KB POST
/// body is sent within nginx's 64 KiB windows and arrives whole at the upstream.
#[test]
fn h2_large_bodies() {
    let n = Nginx::start();
    for base in [
        format!("http://127.0.0.1:{}", n.h2c),
        format!("https://localhost:{}", n.tls),
    ] {
        let r = run(&spec(&format!("{base}/big"), 20, 2), &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(200, 20)], "{base}");
        let mut post = spec(&format!("{base}/echo"), 12, 3);
        post.method = http::Method::POST;
        post.body = bytes::Bytes::from(vec![b'y'; UPLOAD]);
        let r = run(&post, &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(200, 12)], "{base}");
    }
    let log = n.log();
    // The upstream saw every POST body whole (proxied as HTTP/1.0 with its Content-Length).
    assert_eq!(
        count(&log, n.h1, &format!("HTTP/1.0 POST 200 {UPLOAD}")),
        24,
        "{log:?}"
    );
}

/// A server that retires each connection after 7 requests (GOAWAY): the client reconnects
/// and no request fails or is lost.
#[test]
fn h2c_goaway_reconnects() {
    let n = Nginx::start();
    let r = run(
        &spec(&format!("http://127.0.0.1:{}/", n.h2c_short), 100, 3),
        &mut |_| {},
    )
    .expect("run");
    assert_eq!(codes(&r), vec![(200, 100)]);
    let log = n.log();
    assert_eq!(count(&log, n.h2c_short, "HTTP/2.0 GET 200"), 100);
    assert!(
        connections(&log, n.h2c_short) >= 15,
        "7 requests per connection at most"
    );
}

/// HTTP/1.1 over TLS (a server without h2): statuses, headers, a 300 KB response and 200 KB
/// request bodies, and connections the server closes after 7 requests, all counted exactly.
#[test]
fn https_http1() {
    let n = Nginx::start();
    let base = format!("https://localhost:{}", n.tls1);
    let spec = |url: &str, count: u64, connections: usize| LoadSpec {
        http2: false,
        ..spec(url, count, connections)
    };
    let r = run(&spec(&format!("{base}/"), 300, 4), &mut |_| {}).expect("run");
    assert_eq!(codes(&r), vec![(200, 300)]);
    for status in [204, 404, 418, 503] {
        let r = run(&spec(&format!("{base}/s{status}"), 9, 2), &mut |_| {}).expect("run");
        assert_eq!(codes(&r), vec![(status, 9)]);
    }
    let r = run(&spec(&format!("{base}/big"), 20, 2), &mut |_| {}).expect("run");
    assert_eq!(codes(&r), vec![(200, 20)]);
    let mut post = spec(&format!("{base}/echo"), 12, 3);
    post.method = http::Method::POST;
    post.body = bytes::Bytes::from(vec![b'y'; UPLOAD]);
    let r = run(&post, &mut |_| {}).expect("run");
    assert_eq!(codes(&r), vec![(200, 12)]);
    let short = format!("https://localhost:{}/", n.tls1_short);
    let r = run(&spec(&short, 100, 3), &mut |_| {}).expect("run");
    assert_eq!(codes(&r), vec![(200, 100)]);
    let log = n.log();
    assert_eq!(count(&log, n.tls1, "HTTP/1.1 GET 200"), 320);
    assert_eq!(count(&log, n.tls1, "HTTP/1.1 POST 200"), 12);
    assert_eq!(
        count(&log, n.h1, &format!("HTTP/1.0 POST 200 {UPLOAD}")),
        12
    );
    assert_eq!(count(&log, n.tls1_short, "HTTP/1.1 GET 200"), 100);
    assert!(
        connections(&log, n.tls1_short) >= 15,
        "7 requests per connection at most"
    );
    let with_header = log
        .iter()
        .filter(|l| l.starts_with(&format!("{} ", n.tls1)) && l.contains(" abc "))
        .count();
    assert_eq!(with_header, 320 + 4 * 9 + 12, "the X-Test header");
}

/// A paced run slower than the server's idle timeout: each kept-alive connection is closed by
/// the server between requests (HTTP/2: GOAWAY then close; HTTP/1.1 over TLS: close), and
/// the client reconnects and resends without counting an error.
#[test]
fn idle_close_reconnects() {
    let n = Nginx::start();
    for (port, base) in [
        (n.h2c_idle, format!("http://127.0.0.1:{}/", n.h2c_idle)),
        (n.tls1_idle, format!("https://localhost:{}/", n.tls1_idle)),
    ] {
        let mut paced = spec(&base, 6, 1);
        paced.pace = Pace::Rate(2.5);
        // The TLS server has no h2: HTTP/1.1 is what the user asks of it.
        paced.http2 = port == n.h2c_idle;
        let r = run(&paced, &mut |_| {}).expect("paced run");
        assert_eq!(codes(&r), vec![(200, 6)], "{base}");
        let proto = if port == n.h2c_idle {
            "HTTP/2.0"
        } else {
            "HTTP/1.1"
        };
        let log = n.log();
        assert_eq!(count(&log, port, &format!("{proto} GET 200")), 6, "{base}");
        assert_eq!(
            connections(&log, port),
            6,
            "{base}: one connection per request"
        );
    }
}
