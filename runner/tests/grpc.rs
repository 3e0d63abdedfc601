//! The `grpc` task and load generator against a real gRPC server we did not write in Rust: the
//! route guide service on Python grpcio (tests/grpc/route_guide_server.py), on 127.0.0.1.

mod support;

use std::time::Duration;

use runner::load::grpc::{self, CallKind, GrpcSpec, schema};
use runner::load::{Pace, Stop};
use runner::task::{RunError, TaskError};
use support::{dead_addr, metric, run_spec};
use testsupport::route_guide::RouteGuide;

fn guide() -> RouteGuide {
    RouteGuide::start().expect("route guide server (apt-get install python3-grpcio)")
}

fn proto() -> String {
    RouteGuide::proto_path().display().to_string()
}

/// The tutorial's point, where the server has a feature.
const POINT: &str = r#"{"latitude": 407838351, "longitude": -746143763}"#;
/// A rectangle holding three of the server's features.
const RECT: &str = r#"{"lo": {"latitude": 408000000, "longitude": -748000000}, "hi": {"latitude": 411000000, "longitude": -743000000}}"#;

fn task(host: &str, call: &str, extra: &str) -> String {
    format!(
        "- task: grpc\n  with:\n    host: \"{host}\"\n    call: {call}\n    proto: {}\n{extra}",
        proto()
    )
}

/// A spec of the load generator for `method` of the route guide (closed loop, 4 workers).
fn load(host: &str, method: &str, data: &str, total: u64) -> GrpcSpec {
    let text = std::fs::read_to_string(RouteGuide::proto_path()).expect("read proto");
    let pool = schema::compile_proto("route_guide.proto", &text, &[]).expect("compiles");
    let m = schema::find_method(&pool, &format!("routeguide.RouteGuide.{method}")).expect("method");
    let data: serde_json::Value = serde_json::from_str(data).expect("json");
    GrpcSpec {
        host: host.to_string(),
        path: m.path(),
        kind: m.kind(),
        messages: m.encode(&data).expect("data fits"),
        metadata: Vec::new(),
        stop: Stop::Requests(total),
        pace: Pace::Max,
        concurrency: 4,
        connections: 1,
        threads: 1,
        timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(10),
        keepalive: None,
        tls: None,
        authority: None,
        error_codes: grpc::DEFAULT_ERROR_CODES,
        stream: grpc::StreamControls::default(),
        template: None,
    }
}

fn codes(r: &grpc::GrpcReport) -> Vec<(String, u64)> {
    r.load
        .codes
        .iter()
        .map(|(c, n)| (grpc::wire::code_name(c), n))
        .collect()
}

/// Unary calls with ghz's defaults: 200 calls over 50 workers, all OK, and Iter8's metric names
/// (latency statistics as gauges under `grpc/latency/...`, counts per status).
#[test]
fn unary_defaults_and_metric_names() {
    let g = guide();
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        &format!("    data: {POINT}\n"),
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/request-count"), Some(200.0));
    assert_eq!(metric(&e, "grpc/error-count"), Some(0.0));
    assert_eq!(metric(&e, "grpc/error-rate"), Some(0.0));
    assert_eq!(metric(&e, "grpc/status/OK"), Some(200.0));
    for m in [
        "mean", "stddev", "min", "max", "p50", "p75", "p90", "p95", "p99", "p99.9",
    ] {
        let v = metric(&e, &format!("grpc/latency/{m}"));
        assert!(v.is_some_and(|v| v >= 0.0), "grpc/latency/{m}: {v:?}");
    }
    // Iter8's percentile spelling is normalized on lookup.
    assert_eq!(
        metric(&e, "grpc/latency/p50.0"),
        metric(&e, "grpc/latency/p50")
    );
    let min = metric(&e, "grpc/latency/min").expect("min");
    let max = metric(&e, "grpc/latency/max").expect("max");
    let mean = metric(&e, "grpc/latency/mean").expect("mean");
    assert!(min <= mean && mean <= max, "{min} {mean} {max}");
    let ins = e
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights");
    let hist = &ins.hist_metric_values[0]["grpc/latency"];
    assert_eq!(hist.iter().map(|b| b.count).sum::<u64>(), 200);
    // Defaults are written back into the task, as Iter8 does.
    let with = e.spec[0].with.as_ref().expect("with");
    assert_eq!(with["total"], 200);
    assert_eq!(with["concurrency"], 50);
    // The text report lists the latency gauges with their values.
    let report = runner::report::text(&e);
    for row in [
        "grpc/latency/mean (msec)",
        "grpc/latency/p99 (msec)",
        "grpc/status/OK ",
    ] {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(row))
            .unwrap_or_else(|| panic!("{row} missing:\n{report}"));
        assert!(!line.ends_with("unavailable"), "{line}");
    }
}

/// Server streaming: every response message of every call is counted, and timed on its own.
#[test]
fn server_streaming_counts_messages() {
    let g = guide();
    let r = grpc::run(&load(&g.host(), "ListFeatures", RECT, 30), &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 30)]);
    assert_eq!(r.messages.count(), 30 * 3);
    let (_, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.ListFeatures",
        &format!("    data: {RECT}\n    total: 12\n    concurrency: 3\n"),
    ));
    assert_eq!(metric(&e, "grpc/request-count"), Some(12.0));
    assert!(metric(&e, "grpc/message-latency/p99").is_some());
}

/// Client streaming and bidirectional calls send every message of the data list in each call.
#[test]
fn client_streaming_and_bidi() {
    let g = guide();
    let points = r#"[{"latitude": 1, "longitude": 2}, {"latitude": 407838351, "longitude": -746143763}, {}]"#;
    let r = grpc::run(&load(&g.host(), "RecordRoute", points, 20), &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 20)]);
    assert_eq!(
        r.messages.count(),
        0,
        "one response per client-streaming call"
    );
    let notes = r#"[{"message": "a"}, {"message": "b", "location": {"latitude": 5}}]"#;
    let spec = load(&g.host(), "RouteChat", notes, 20);
    assert_eq!(spec.kind, CallKind::Bidi);
    let r = grpc::run(&spec, &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 20)]);
    assert_eq!(r.messages.count(), 40, "each note comes back");
}

/// A total below the concurrency still sends every call (ghz sends none).
#[test]
fn total_below_concurrency() {
    let g = guide();
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        "    total: 3\n    concurrency: 50\n",
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/request-count"), Some(3.0));
    assert_eq!(metric(&e, "grpc/status/OK"), Some(3.0));
}

/// Errors are counted, not fatal: a server that is down (every call Unavailable), calls past
/// their deadline, and a method that fails every 4th call (the count matches).
#[test]
fn errors_are_counted() {
    let dead = dead_addr().to_string();
    let (r, e) = run_spec(&task(
        &dead,
        "routeguide.RouteGuide.GetFeature",
        "    total: 25\n    concurrency: 5\n",
    ));
    r.expect("a down server is not a failed task");
    assert_eq!(metric(&e, "grpc/request-count"), Some(25.0));
    assert_eq!(metric(&e, "grpc/error-count"), Some(25.0));
    assert_eq!(metric(&e, "grpc/status/Unavailable"), Some(25.0));
    assert_eq!(metric(&e, "grpc/error-rate"), Some(1.0));

    let g = guide();
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        "    total: 6\n    concurrency: 3\n    timeout: 100ms\n    metadata:\n      delay-ms: \"1000\"\n",
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/status/DeadlineExceeded"), Some(6.0));
    assert_eq!(metric(&e, "grpc/error-count"), Some(6.0));
    drop(g);

    let g = guide();
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        "    total: 40\n    concurrency: 4\n    metadata:\n      fail-every: \"4\"\n",
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/request-count"), Some(40.0));
    assert_eq!(metric(&e, "grpc/status/Internal"), Some(10.0));
    assert_eq!(metric(&e, "grpc/status/OK"), Some(30.0));
    assert_eq!(metric(&e, "grpc/error-count"), Some(10.0));
    assert_eq!(metric(&e, "grpc/error-rate"), Some(0.25));
}

/// A one-second stall of the server in a fixed-rate run shows in the corrected p99 (calls due
/// during the stall are timed from when they were due), while the calls' own service times
/// stay small.
#[test]
fn stall_shows_in_corrected_latency() {
    let g = guide();
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        "    duration: 3s\n    rps: 200\n    concurrency: 2\n    metadata:\n      stall-after: \"200\"\n      stall-ms: \"1000\"\n",
    ));
    r.expect("run succeeds");
    let p99 = metric(&e, "grpc/latency/p99").expect("p99");
    let p99u = metric(&e, "grpc/latency-uncorrected/p99").expect("uncorrected p99");
    let max_u = metric(&e, "grpc/latency-uncorrected/max").expect("uncorrected max");
    assert!(p99 >= 500.0, "corrected p99 {p99} ms");
    assert!(
        p99u < p99 / 2.0,
        "uncorrected p99 {p99u} ms vs corrected {p99} ms"
    );
    assert!(
        max_u >= 500.0,
        "the stalled calls themselves took {max_u} ms"
    );
    assert_eq!(metric(&e, "grpc/error-count"), Some(0.0));
}

/// Two endpoints (the tutorial's getFeature and listFeatures) record under `grpc-<id>`.
#[test]
fn endpoints() {
    let g = guide();
    let (r, e) = run_spec(&format!(
        "- task: grpc\n  with:\n    host: \"{}\"\n    proto: {}\n    total: 20\n    endpoints:\n      getFeature:\n        call: routeguide.RouteGuide.GetFeature\n        data: {POINT}\n      listFeatures:\n        call: routeguide.RouteGuide.ListFeatures\n        data: {RECT}\n",
        g.host(),
        proto()
    ));
    r.expect("run succeeds");
    for p in ["grpc-getFeature", "grpc-listFeatures"] {
        assert_eq!(metric(&e, &format!("{p}/request-count")), Some(20.0), "{p}");
        assert_eq!(metric(&e, &format!("{p}/error-count")), Some(0.0), "{p}");
        assert!(metric(&e, &format!("{p}/latency/mean")).is_some(), "{p}");
    }
    assert_eq!(metric(&e, "grpc/request-count"), None);
}

/// A capacity search of a unary method: probes at 20 and 40 calls/sec both meet a loose error
/// SLO, so the maximum rate is a lower bound; the probes and the time series are recorded
/// under `grpc/`, and the task's metrics are those of the last probe.
#[test]
fn capacity_search_lower_bound() {
    let g = guide();
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        &format!(
            "    data: {POINT}\n    concurrency: 4\n    capacity: {{startRate: 20, maxRate: 40, \
             probeDuration: 1s, maxGeneratorLag: 250ms, SLOs: {{upper: [{{metric: grpc/error-rate, \
             limit: 0}}]}}}}\n"
        ),
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/capacity-outcome"), Some(1.0));
    let c = metric(&e, "grpc/capacity").expect("a lower bound");
    assert!((c - 40.0).abs() <= 2.0, "{c}");
    assert_eq!(metric(&e, "grpc/status/OK"), Some(40.0));
    let values = &e
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights")
        .non_hist_metric_values[0];
    assert_eq!(values["grpc/capacity-probe-offered-rate"], vec![20.0, 40.0]);
    assert_eq!(values["grpc/capacity-probe-passed"], vec![1.0, 1.0]);
    assert_eq!(values["grpc/series-time"], vec![0.0]);
    assert_eq!(values["grpc/series-rate"], vec![40.0]);
}

/// Bad input found before anything runs: the error names the field, and no result is written.
#[test]
fn bad_input_is_refused_before_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_proto = dir.path().join("bad.proto");
    std::fs::write(
        &bad_proto,
        "syntax = \"proto3\";\nmessage P { int32 a = 1 }\n",
    )
    .expect("write");
    let dead = dead_addr().to_string();
    let cases = [
        (
            task(&dead, "routeguide.RouteGuide.GetFeatures", ""),
            "task 1: grpc: invalid input call: service routeguide.RouteGuide has no method \"GetFeatures\"",
        ),
        (
            task(&dead, "routeguide.Guide.GetFeature", ""),
            "task 1: grpc: invalid input call: service \"routeguide.Guide\" not found",
        ),
        (
            task(
                &dead,
                "routeguide.RouteGuide.GetFeature",
                "    data: {\"lat\": 1}\n",
            ),
            "task 1: grpc: invalid input data: is not a valid routeguide.Point",
        ),
        (
            format!(
                "- task: grpc\n  with:\n    host: \"{dead}\"\n    call: a.B.C\n    proto: {}\n",
                bad_proto.display()
            ),
            "task 1: grpc: invalid input proto: bad.proto:2:",
        ),
        (
            task("127.0.0.1", "routeguide.RouteGuide.GetFeature", ""),
            "task 1: grpc: invalid input host: \"127.0.0.1\": missing port",
        ),
    ];
    for (spec, want) in cases {
        let (r, e) = run_spec(&spec);
        let err = r.expect_err("refused");
        assert!(matches!(err, RunError::Inputs { .. }), "{err:?}");
        let text = runner::task::error_chain(&err);
        assert!(text.starts_with(want), "{text}\nwant: {want}");
        assert!(e.result.is_none(), "nothing was written");
    }
    // A missing proto file at run time (no earlier task downloads it) fails the task, naming it.
    let (r, _) = run_spec(&format!(
        "- task: grpc\n  with:\n    host: \"{dead}\"\n    call: a.B.C\n    proto: /nonexistent/x.proto\n"
    ));
    let err = r.expect_err("fails");
    assert!(
        matches!(
            err,
            RunError::Task {
                source: TaskError::Input(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        runner::task::error_chain(&err)
            .contains("invalid input proto: cannot read /nonexistent/x.proto"),
        "{err}"
    );
}

/// PEM files of a test CA, a server certificate for `localhost` and a client certificate, all
/// signed by the CA, written into `dir`: (ca, server cert, server key, client cert, client key).
fn test_pki(dir: &std::path::Path) -> [String; 5] {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "iter8 test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("localhost");
    let (client_cert, client_key) = leaf("client.test");
    let files = [
        ("ca.pem", ca.pem()),
        ("server.pem", server_cert),
        ("server.key", server_key),
        ("client.pem", client_cert),
        ("client.key", client_key),
    ];
    files.map(|(name, text)| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write pem");
        p.display().to_string()
    })
}

/// TLS with a test CA (the certificate checked against `cname`), TLS without verification,
/// and mutual TLS; a certificate that cannot be verified, or a missing client certificate,
/// makes every call Unavailable (counted, not fatal).
#[test]
fn tls_and_mutual_tls() {
    use testsupport::route_guide::Options;
    let dir = tempfile::tempdir().expect("tempdir");
    let [ca, cert, key, client_cert, client_key] = test_pki(dir.path());
    let tls = RouteGuide::start_with(&Options {
        tls: Some((cert.clone().into(), key.clone().into())),
        ..Options::default()
    })
    .expect("tls server");
    let call = "routeguide.RouteGuide.GetFeature";
    let base = "    total: 10\n    concurrency: 2\n    insecure: false\n";
    let cases = [
        (
            format!("{base}    cacert: {ca}\n    cname: localhost\n"),
            "OK",
        ),
        (format!("{base}    skipTLS: true\n"), "OK"),
        (format!("{base}    cname: localhost\n"), "Unavailable"),
    ];
    for (extra, status) in &cases {
        let (r, e) = run_spec(&task(&tls.host(), call, extra));
        r.expect("run succeeds");
        assert_eq!(
            metric(&e, &format!("grpc/status/{status}")),
            Some(10.0),
            "{extra}"
        );
    }
    drop(tls);
    let mtls = RouteGuide::start_with(&Options {
        tls: Some((cert.into(), key.into())),
        client_ca: Some(ca.clone().into()),
        ..Options::default()
    })
    .expect("mtls server");
    let with_ca = format!("{base}    cacert: {ca}\n    cname: localhost\n");
    let (r, e) = run_spec(&task(
        &mtls.host(),
        call,
        &format!("{with_ca}    cert: {client_cert}\n    key: {client_key}\n"),
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/status/OK"), Some(10.0));
    let (r, e) = run_spec(&task(&mtls.host(), call, &with_ca));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/status/Unavailable"), Some(10.0));
}

fn guide_with_reflection(versions: &[&str]) -> RouteGuide {
    RouteGuide::start_with(&testsupport::route_guide::Options {
        reflection: versions.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    })
    .expect("route guide server with reflection (tools/deps.sh installs grpcio-reflection)")
}

/// A grpc task with no proto: the schema comes from server reflection.
fn task_by_reflection(host: &str, call: &str, extra: &str) -> String {
    format!("- task: grpc\n  with:\n    host: \"{host}\"\n    call: {call}\n{extra}")
}

/// Server reflection on v1, and on v1alpha when the server has only that: the service's file
/// and the file it imports (Point) are fetched, and the run needs no proto.
#[test]
fn server_reflection_v1_and_v1alpha() {
    use runner::load::grpc::reflect::{self, Target, Version};
    for (versions, want) in [
        (&["v1"][..], Version::V1),
        (&["v1alpha"][..], Version::V1Alpha),
    ] {
        let g = guide_with_reflection(versions);
        let host = g.host();
        let target = Target {
            host: &host,
            tls: None,
            authority: None,
            timeout: Duration::from_secs(20),
        };
        let (pool, version) =
            reflect::fetch_schema(&target, "routeguide.RouteGuide").expect("reflection");
        assert_eq!(version, want, "{versions:?}");
        let mut files: Vec<String> = pool.files().map(|f| f.name().to_string()).collect();
        files.sort();
        assert_eq!(files, vec!["route_guide.proto", "routeguide/point.proto"]);
        let m = schema::find_method(&pool, "routeguide.RouteGuide.ListFeatures").expect("method");
        assert_eq!(m.kind(), CallKind::ServerStreaming);
        let (r, e) = run_spec(&task_by_reflection(
            &host,
            "routeguide.RouteGuide.GetFeature",
            &format!("    data: {POINT}\n    total: 20\n    concurrency: 2\n"),
        ));
        r.expect("run succeeds");
        assert_eq!(metric(&e, "grpc/status/OK"), Some(20.0), "{versions:?}");
        let e = reflect::fetch_schema(&target, "routeguide.Nowhere").expect_err("no service");
        assert!(
            matches!(&e, reflect::ReflectError::NotFound { what, .. } if what == "service routeguide.Nowhere"),
            "{e}"
        );
    }
}

/// No proto and a server without reflection: one line naming the field, nothing written.
#[test]
fn no_reflection_no_proto_is_refused() {
    let g = guide();
    let (r, e) = run_spec(&task_by_reflection(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        "",
    ));
    let err = r.expect_err("refused");
    assert!(matches!(err, RunError::Inputs { .. }), "{err:?}");
    let text = runner::task::error_chain(&err);
    let want = format!(
        "task 1: grpc: invalid input proto: missing, and server reflection at {} failed: the \
         server has no reflection service (grpc.reflection.v1 and v1alpha: Unimplemented) \
         (hint: set proto or protoURL",
        g.host()
    );
    assert!(text.starts_with(&want), "{text}\nwant: {want}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(e.result.is_none(), "nothing was written");
}

/// `error-codes` decides what counts in error-count; the success-only latency leaves the
/// failed calls out while the all-calls latency keeps them (every 4th call fails after 300 ms).
#[test]
fn error_codes_and_success_latency() {
    let g = guide();
    let run = |extra: &str| {
        let (r, e) = run_spec(&task(
            &g.host(),
            "routeguide.RouteGuide.GetFeature",
            &format!(
                "    total: 20\n    concurrency: 4\n    metadata:\n      fail-every: \"4\"\n{extra}"
            ),
        ));
        r.expect("run succeeds");
        e
    };
    let e = run("");
    assert_eq!(metric(&e, "grpc/status/Internal"), Some(5.0));
    assert_eq!(metric(&e, "grpc/error-count"), Some(5.0));
    let ins = e
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights");
    let count = |name: &str| {
        ins.hist_metric_values[0][name]
            .iter()
            .map(|b| b.count)
            .sum::<u64>()
    };
    assert_eq!(count("grpc/latency"), 20);
    assert_eq!(count("grpc/latency-success"), 15);
    assert!(metric(&e, "grpc/latency-success/p99").is_some());
    // Internal not counted: no errors, and every call is in the success histogram.
    let e = run("    error-codes: [Unavailable, DEADLINE_EXCEEDED]\n");
    assert_eq!(metric(&e, "grpc/status/Internal"), Some(5.0));
    assert_eq!(metric(&e, "grpc/error-count"), Some(0.0));
    assert_eq!(metric(&e, "grpc/error-rate"), Some(0.0));
    // OK itself may be named: then the successes are the failures.
    let e = run("    error-codes: [0]\n");
    assert_eq!(metric(&e, "grpc/error-count"), Some(15.0));
}

/// Client streams under ghz's stream controls: `stream-call-count` sends that many messages
/// (cycling through the data), `stream-interval` spaces them, `stream-call-duration` cuts the
/// stream short; a server stream is cancelled after `stream-call-count` responses (counted OK).
#[test]
fn stream_controls() {
    let g = guide();
    let notes = r#"[{"message": "a"}, {"message": "b"}]"#;
    let mut spec = load(&g.host(), "RouteChat", notes, 4);
    spec.stream.call_count = Some(5);
    let r = grpc::run(&spec, &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 4)]);
    assert_eq!(r.messages.count(), 4 * 5, "each of the 5 notes comes back");
    // 10 messages 400 ms apart would take 3.6 s; the call is cut at 1 s: 3 sent (at 0, 400
    // and 800 ms; 200 ms to spare for a slow machine).
    spec.stream.call_count = Some(10);
    spec.stream.interval = Some(Duration::from_millis(400));
    spec.stream.call_duration = Some(Duration::from_secs(1));
    let r = grpc::run(&spec, &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 4)]);
    assert_eq!(r.messages.count(), 4 * 3);
    // Server streaming: the rectangle holds three features; stop after two.
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.ListFeatures",
        &format!("    data: {RECT}\n    total: 6\n    concurrency: 2\n    stream-call-count: 2\n"),
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/status/OK"), Some(6.0));
    let mut spec = load(&g.host(), "ListFeatures", RECT, 6);
    spec.stream.call_count = Some(2);
    let r = grpc::run(&spec, &mut |_| {}).expect("runs");
    assert_eq!(r.messages.count(), 6 * 2);
    // Client streaming with a count: the server counts the points it got.
    let mut spec = load(&g.host(), "RecordRoute", POINT, 3);
    spec.stream.call_count = Some(7);
    let r = grpc::run(&spec, &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 3)]);
}

/// ghz's call template data in `data`: each call's request number reaches the server (the
/// route chat echoes its note), worker IDs and UUIDs are filled in, and with
/// `stream-dynamic-messages` each message of a stream gets its own UUID.
#[test]
fn template_data() {
    use runner::load::grpc::calldata::DataTemplate;
    let g = guide();
    let text = std::fs::read_to_string(RouteGuide::proto_path()).expect("read proto");
    let pool = schema::compile_proto("route_guide.proto", &text, &[]).expect("compiles");
    let m = schema::find_method(&pool, "routeguide.RouteGuide.RouteChat").expect("method");
    let data = serde_json::json!({"message": "{{.RequestNumber}}/{{.WorkerID}}/{{.UUID}}/{{.MethodName}}", "location": {"latitude": "{{.RequestNumber}}"}});
    let mut spec = load(&g.host(), "RouteChat", "{}", 12);
    spec.template = Some(grpc::Templated {
        method: m.clone(),
        data: DataTemplate::parse(&data)
            .expect("parses")
            .expect("templated"),
    });
    let r = grpc::run(&spec, &mut |_| {}).expect("runs");
    assert_eq!(codes(&r), vec![("OK".to_string(), 12)]);
    // Through the task: templated numbers into int32 fields; the server sees every request
    // number once, and random ints in range.
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = dir.path().join("points.txt");
    let (r, e) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        &format!(
            "    data: {{\"latitude\": \"{{{{.RequestNumber}}}}\", \"longitude\": \"{{{{randomInt 1 100}}}}\"}}\n    total: 10\n    concurrency: 2\n    metadata:\n      record-to: {}\n",
            seen.display()
        ),
    ));
    r.expect("run succeeds");
    assert_eq!(metric(&e, "grpc/status/OK"), Some(10.0));
    let lines = std::fs::read_to_string(&seen).expect("server recorded");
    let mut numbers: Vec<i64> = Vec::new();
    for l in lines.lines() {
        let (lat, lon) = l.split_once(',').expect("lat,lon");
        numbers.push(lat.parse().expect("number"));
        let lon: i64 = lon.parse().expect("number");
        assert!((1..100).contains(&lon), "{lon}");
    }
    numbers.sort();
    assert_eq!(numbers, (0..10).collect::<Vec<i64>>());
    // A template that cannot fit the field is refused before the run, naming the field.
    let (r, _) = run_spec(&task(
        &g.host(),
        "routeguide.RouteGuide.GetFeature",
        "    data: {\"latitude\": \"{{.UUID}}\"}\n",
    ));
    let err = r.expect_err("refused");
    let text = runner::task::error_chain(&err);
    assert!(
        text.starts_with(
            "task 1: grpc: invalid input data: [0] filled in: is not a valid routeguide.Point"
        ),
        "{text}"
    );
    // Stream messages: one UUID per call, or with stream-dynamic-messages one per message.
    for (dynamic, distinct) in [(false, 4), (true, 12)] {
        let seen = dir.path().join(format!("notes-{dynamic}.txt"));
        let (r, e) = run_spec(&task(
            &g.host(),
            "routeguide.RouteGuide.RouteChat",
            &format!(
                "    data: {{\"message\": \"{{{{.UUID}}}}\"}}\n    total: 4\n    concurrency: 2\n    stream-call-count: 3\n    stream-dynamic-messages: {dynamic}\n    metadata:\n      record-to: {}\n",
                seen.display()
            ),
        ));
        r.expect("run succeeds");
        assert_eq!(metric(&e, "grpc/status/OK"), Some(4.0));
        let lines = std::fs::read_to_string(&seen).expect("server recorded");
        assert_eq!(lines.lines().count(), 12, "4 calls of 3 notes");
        let set: std::collections::BTreeSet<&str> = lines.lines().collect();
        assert_eq!(set.len(), distinct, "dynamic {dynamic}");
        assert!(set.iter().all(|u| u.len() == 36), "{set:?}");
    }
}

/// A TCP relay between the generator and a server that counts the HTTP/2 PING frames the
/// client sends (ACKs aside) and, in `silent` mode, drops everything the server sends once the
/// client has started a call (a peer that stopped answering). It relays one connection.
struct Tap {
    addr: std::net::SocketAddr,
    pings: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Tap {
    fn start(server_port: u16, silent: bool) -> Tap {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind tap");
        let addr = listener.local_addr().expect("tap address");
        let pings = Arc::new(AtomicU64::new(0));
        let counted = pings.clone();
        std::thread::spawn(move || {
            let Ok((mut client, _)) = listener.accept() else {
                return;
            };
            let mut server = TcpStream::connect(("127.0.0.1", server_port)).expect("connect");
            let (mut client_w, mut server_r) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let muted = Arc::new(AtomicBool::new(false));
            let mute = muted.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = server_r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if !muted.load(Ordering::SeqCst) && client_w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = client_w.shutdown(Shutdown::Write);
            });
            // Client to server: the 24-byte preface, then frames (9-byte header: length,
            // type, flags, stream).
            let mut seen: Vec<u8> = Vec::new();
            let mut at = 24;
            let mut buf = [0u8; 16384];
            while let Ok(n) = client.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                while seen.len() >= at + 9 {
                    let len = u32::from_be_bytes([0, seen[at], seen[at + 1], seen[at + 2]]);
                    let (kind, flags) = (seen[at + 3], seen[at + 4]);
                    if kind == 0x6 && flags & 0x1 == 0 {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    if kind == 0x1 && silent {
                        mute.store(true, Ordering::SeqCst);
                    }
                    at += 9 + len as usize;
                }
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = server.shutdown(Shutdown::Write);
        });
        Tap { addr, pings }
    }

    fn pings(&self) -> u64 {
        self.pings.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// `keepalive` (ghz's): while a call is in flight the generator PINGs the server (never without
/// it); a server that stops answering has the connection closed and the call ends `Unavailable`
/// instead of waiting out its 20 s timeout; and grpcio's own PING policy (at most two PINGs
/// while it sends nothing) ends a call that PINGs too often, as it would ghz's.
#[test]
fn keepalive_pings_and_drops_a_silent_server() {
    let strict = guide();
    let lenient = RouteGuide::start_with(&testsupport::route_guide::Options {
        min_ping_interval_ms: Some(50),
        ..Default::default()
    })
    .expect("route guide server");
    for (server, keepalive, silent, want) in [
        (&lenient, None, false, "OK"),
        (&lenient, Some("200ms"), false, "OK"),
        (&lenient, Some("200ms"), true, "Unavailable"),
        (&strict, Some("200ms"), false, "Unavailable"),
    ] {
        let tap = Tap::start(server.port, silent);
        let extra = format!(
            "    total: 1\n    concurrency: 1\n    metadata:\n      delay-ms: \"2000\"\n{}",
            keepalive.map_or(String::new(), |k| format!("    keepalive: {k}\n"))
        );
        let (r, e) = run_spec(&task(
            &tap.addr.to_string(),
            "routeguide.RouteGuide.GetFeature",
            &extra,
        ));
        r.expect("run succeeds");
        let case = format!(
            "keepalive {keepalive:?}, silent {silent}, strict {}",
            std::ptr::eq(server, &strict)
        );
        let seen: Vec<String> = e
            .result
            .as_ref()
            .and_then(|r| r.insights.as_ref())
            .map(|i| {
                i.metrics_info
                    .keys()
                    .filter(|k| k.starts_with("grpc/status/"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            metric(&e, &format!("grpc/status/{want}")),
            Some(1.0),
            "{case}: {seen:?}"
        );
        // Answered PINGs repeat while the call waits; an unanswered one closes the connection.
        let pings = tap.pings();
        match (keepalive, silent) {
            (None, _) => assert_eq!(pings, 0, "{case}"),
            (Some(_), false) => assert!(pings >= 2, "{case}: {pings} PINGs"),
            (Some(_), true) => assert!(pings >= 1, "{case}: {pings} PINGs"),
        }
    }
}
