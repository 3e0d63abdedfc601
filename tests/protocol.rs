//! The protocol the user chose is the protocol spoken: `iter8 launch` against a real nginx that
//! offers HTTP/1.1 and h2 on one TLS port (and h2c on a plain one), checked against the protocol
//! nginx logged for every request, and named in the text and HTML reports.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use support::*;

/// `iter8 launch` of one http task with `numRequests: n` (and `http2` when given), at full
/// speed on 2 connections; fails the test when launch fails. Returns the run directory.
fn launch(url: &str, n: u64, http2: Option<bool>) -> tempfile::TempDir {
    let dir = run_dir();
    let mut args: Vec<String> = ["launch", "--runDir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.path().display().to_string());
    let mut set = |s: String| {
        args.push("--set".into());
        args.push(s);
    };
    set("tasks={http}".into());
    set(format!("http.url={url}"));
    set(format!("http.numRequests={n}"));
    set("http.qps=0".into());
    set("http.connections=2".into());
    set("http.insecureSkipVerify=true".into());
    if let Some(h2) = http2 {
        set(format!("http.http2={h2}"));
    }
    let out = iter8().args(&args).output().expect("run iter8 launch");
    assert!(out.status.success(), "launch failed:\n{}", texts(&out).1);
    dir
}

/// `iter8 report -o <format>` of the run in `dir`.
fn report(dir: &tempfile::TempDir, format: &str) -> String {
    let d = dir.path().display().to_string();
    let out = run_iter8(&["report", "--runDir", &d, "-o", format]);
    assert!(out.status.success(), "report failed:\n{}", texts(&out).1);
    texts(&out).0.replace("&#x2f;", "/")
}

fn only(proto: &str, n: u64) -> BTreeMap<String, u64> {
    BTreeMap::from([(proto.to_string(), n)])
}

fn https(addr: SocketAddr) -> String {
    format!("https://localhost:{}/", addr.port())
}

/// `http2: false` (and `http2` unset) on an `https://` URL speaks HTTP/1.1 to a server that
/// offers h2 on the same port, and both reports say "HTTP/1.1 over TLS".
#[test]
fn https_without_http2_speaks_http1() {
    let nginx = Nginx::start();
    let dir = launch(&https(nginx.tls), 40, Some(false));
    assert_eq!(nginx.protocols_seen(nginx.tls), only("HTTP/1.1", 40));
    let exp = read_experiment(dir.path());
    assert_eq!(metric(&exp, "http/error-count"), Some(0.0));
    assert!(report(&dir, "text").contains("\n  Protocol (http): HTTP/1.1 over TLS\n"));
    assert!(report(&dir, "html").contains("Protocol (http): HTTP/1.1 over TLS</span>"));
    launch(&https(nginx.tls), 15, None);
    assert_eq!(nginx.protocols_seen(nginx.tls), only("HTTP/1.1", 55));
}

/// `http2: true` on an `https://` URL speaks HTTP/2 (ALPN h2) for every request, and the
/// reports say "HTTP/2 over TLS".
#[test]
fn https_with_http2_speaks_h2() {
    let nginx = Nginx::start();
    let dir = launch(&https(nginx.tls), 40, Some(true));
    assert_eq!(nginx.protocols_seen(nginx.tls), only("HTTP/2.0", 40));
    assert_eq!(
        metric(&read_experiment(dir.path()), "http/error-count"),
        Some(0.0)
    );
    assert!(report(&dir, "text").contains("\n  Protocol (http): HTTP/2 over TLS\n"));
    assert!(report(&dir, "html").contains("Protocol (http): HTTP/2 over TLS</span>"));
}

/// `http2: true` against a TLS server that does not offer h2 is not quietly downgraded: every
/// request fails (status -1) and nginx serves none.
#[test]
fn https_with_http2_does_not_fall_back() {
    let nginx = Nginx::start();
    let dir = launch(&https(nginx.tls_h1), 6, Some(true));
    let exp = read_experiment(dir.path());
    assert_eq!(metric(&exp, "http/request-count"), Some(6.0));
    assert_eq!(metric(&exp, "http/error-count"), Some(6.0));
    assert_eq!(nginx.protocols_seen(nginx.tls_h1), BTreeMap::new());
}

/// On `http://`, `http2: true` speaks h2c with prior knowledge and `http2: false` HTTP/1.1;
/// the reports name each.
#[test]
fn cleartext_h2c_and_http1() {
    let nginx = Nginx::start();
    let h2c = launch(&format!("http://{}/", nginx.h2c), 30, Some(true));
    assert_eq!(nginx.protocols_seen(nginx.h2c), only("HTTP/2.0", 30));
    assert!(report(&h2c, "text").contains("\n  Protocol (http): HTTP/2 cleartext (h2c)\n"));
    let h1 = launch(&format!("http://{}/", nginx.plain), 30, Some(false));
    assert_eq!(nginx.protocols_seen(nginx.plain), only("HTTP/1.1", 30));
    assert!(report(&h1, "text").contains("\n  Protocol (http): HTTP/1.1\n"));
    assert!(report(&h1, "html").contains("Protocol (http): HTTP/1.1</span>"));
}
