//! End-to-end tests of the `iter8` binary's gRPC experiments against a real gRPC server we did
//! not write in Rust (the route guide service on Python grpcio): the Iter8 gRPC tutorial via
//! `iter8 launch --set tasks={grpc,assess} ...` with the proto and data fetched by URL from a
//! loopback HTTP server, the same experiment with no proto against a server with reflection
//! (v1, and v1alpha only), a server that is down, and bad input (one `Error:` line naming the
//! field, exit 1, nothing written).

mod support;

use std::path::Path;

use support::*;
use testsupport::route_guide::{Options, RouteGuide};

/// A route guide server that also serves the proto and the tutorial's data files over HTTP.
fn guide_with_files(files: &Path) -> RouteGuide {
    testsupport::route_guide::copy_proto(files).expect("copy proto");
    std::fs::write(
        files.join("getFeature.json"),
        r#"{"latitude": 407838351, "longitude": -746143763}"#,
    )
    .expect("write data");
    std::fs::write(
        files.join("listFeatures.json"),
        r#"{"lo": {"latitude": 400000000, "longitude": -750000000}, "hi": {"latitude": 420000000, "longitude": -730000000}}"#,
    )
    .expect("write data");
    std::fs::write(files.join("bad.proto"), "syntax = \"proto3\";\nmessage {\n").expect("write");
    std::fs::write(files.join("wrong.json"), r#"{"lat": 1}"#).expect("write");
    RouteGuide::start_with(&Options {
        http_dir: Some(files.to_path_buf()),
        ..Options::default()
    })
    .expect("route guide server (apt-get install python3-grpcio)")
}

/// `--set` flags of the tutorial: two endpoints, proto and data by URL, SLOs on error count
/// and mean latency. Paced at 100 calls/s (ghz's default runs 50 workers flat out, which on a
/// busy 2-core machine queues calls behind the Python server for longer than the SLOs allow).
fn tutorial_flags(g: &RouteGuide, host: &str) -> Vec<String> {
    [
        "tasks={grpc,assess}".to_string(),
        format!("grpc.host={host}"),
        "grpc.rps=100".to_string(),
        format!("grpc.protoURL={}", g.file_url("route_guide.proto")),
        "grpc.endpoints.getFeature.call=routeguide.RouteGuide.GetFeature".to_string(),
        format!(
            "grpc.endpoints.getFeature.dataURL={}",
            g.file_url("getFeature.json")
        ),
        "grpc.endpoints.listFeatures.call=routeguide.RouteGuide.ListFeatures".to_string(),
        format!(
            "grpc.endpoints.listFeatures.dataURL={}",
            g.file_url("listFeatures.json")
        ),
        "assess.SLOs.upper.grpc-getFeature/error-count=0".to_string(),
        "assess.SLOs.upper.grpc-getFeature/latency/mean=50".to_string(),
        "assess.SLOs.upper.grpc-listFeatures/error-count=0".to_string(),
        "assess.SLOs.upper.grpc-listFeatures/latency/mean=100".to_string(),
    ]
    .into_iter()
    .flat_map(|s| ["--set".to_string(), s])
    .collect()
}

/// The Iter8 gRPC tutorial: launch runs it (downloads, then 200 calls per endpoint), assert
/// passes, and the report lists every metric with a value.
#[test]
fn tutorial_launch_assert_report() {
    let files = run_dir();
    let g = guide_with_files(files.path());
    let dir = run_dir();
    let d = dir.path().display().to_string();
    let mut args = vec!["launch".to_string(), "--runDir".into(), d.clone()];
    args.extend(tutorial_flags(&g, &g.host()));
    // The chart's download tasks write into the working directory, as in Iter8.
    let out = iter8()
        .args(&args)
        .current_dir(dir.path())
        .output()
        .expect("run iter8 launch");
    let (_, err) = texts(&out);
    assert!(out.status.success(), "launch failed:\n{err}");
    for line in [
        "msg=task 1: run: completed",
        "msg=task 4: grpc: completed",
        "msg=task 5: assess: completed",
    ] {
        assert!(err.contains(line), "missing log line {line:?} in:\n{err}");
    }
    let exp = read_experiment(dir.path());
    assert!(
        exp.completed() && exp.no_failure() && exp.slos(),
        "{}",
        runner::report::text(&exp)
    );
    for ep in ["getFeature", "listFeatures"] {
        let p = format!("grpc-{ep}");
        assert_eq!(metric(&exp, &format!("{p}/request-count")), Some(200.0));
        assert_eq!(metric(&exp, &format!("{p}/error-count")), Some(0.0));
        assert_eq!(metric(&exp, &format!("{p}/status/OK")), Some(200.0));
    }

    let out = run_iter8(&[
        "assert",
        "-c",
        "completed",
        "-c",
        "nofailure",
        "-c",
        "slos",
        "--runDir",
        &d,
    ]);
    let (_, err) = texts(&out);
    assert!(out.status.success(), "assert failed:\n{err}");
    assert!(err.contains("msg=SLOs are satisfied"), "{err}");

    let out = run_iter8(&["report", "--runDir", &d]);
    assert!(out.status.success());
    let (report, _) = texts(&out);
    let ins = exp
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights");
    let scalars: Vec<&String> = ins
        .metrics_info
        .iter()
        .filter(|(_, m)| {
            matches!(
                m.kind,
                runner::experiment::MetricType::Counter | runner::experiment::MetricType::Gauge
            )
        })
        .map(|(k, _)| k)
        .collect();
    assert!(scalars.len() >= 2 * 20, "{scalars:?}");
    for m in scalars {
        let row = report
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{m} ")) && l.contains('|'))
            .unwrap_or_else(|| panic!("metric {m} missing from report:\n{report}"));
        assert!(!row.ends_with("unavailable"), "{row}");
    }
    assert!(
        report.contains("  grpc-getFeature/latency/mean (msec) <= 50 "),
        "{report}"
    );
    let out = run_iter8(&["report", "-o", "html", "--runDir", &d]);
    assert!(out.status.success());
    assert!(texts(&out).0.contains("grpc-listFeatures/latency"));
}

/// The tutorial's two endpoints with no proto anywhere: `iter8 launch` of the embedded chart
/// against a server with reflection (grpcio-reflection, v1 and then v1alpha only) gets the
/// schema from the server: no download task is rendered, every call of both endpoints (unary and
/// server streaming, data given inline) succeeds, and the SLOs pass under `iter8 assert`.
#[test]
fn reflection_without_proto() {
    for version in ["v1", "v1alpha"] {
        let g = RouteGuide::start_with(&Options {
            reflection: vec![version.to_string()],
            ..Options::default()
        })
        .expect("route guide with reflection (tools/deps.sh installs grpcio-reflection)");
        let dir = run_dir();
        let d = dir.path().display().to_string();
        let mut args = vec!["launch".to_string(), "--runDir".into(), d.clone()];
        for s in [
            "tasks={grpc,assess}".to_string(),
            format!("grpc.host={}", g.host()),
            "grpc.rps=100".to_string(),
            "grpc.endpoints.getFeature.call=routeguide.RouteGuide.GetFeature".to_string(),
            "grpc.endpoints.getFeature.data.latitude=407838351".to_string(),
            "grpc.endpoints.getFeature.data.longitude=-746143763".to_string(),
            "grpc.endpoints.listFeatures.call=routeguide.RouteGuide.ListFeatures".to_string(),
            "grpc.endpoints.listFeatures.data.lo.latitude=400000000".to_string(),
            "grpc.endpoints.listFeatures.data.lo.longitude=-750000000".to_string(),
            "grpc.endpoints.listFeatures.data.hi.latitude=420000000".to_string(),
            "grpc.endpoints.listFeatures.data.hi.longitude=-730000000".to_string(),
            "assess.SLOs.upper.grpc-getFeature/error-count=0".to_string(),
            "assess.SLOs.upper.grpc-listFeatures/error-count=0".to_string(),
        ] {
            args.push("--set".into());
            args.push(s);
        }
        let out = iter8()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("run iter8 launch");
        let (_, err) = texts(&out);
        assert!(out.status.success(), "{version}: launch failed:\n{err}");
        for line in [
            "msg=task 1: grpc: completed",
            "msg=task 2: assess: completed",
        ] {
            assert!(err.contains(line), "{version}: missing {line:?} in:\n{err}");
        }
        let exp = read_experiment(dir.path());
        assert_eq!(exp.spec.len(), 2, "{version}: no download task");
        let with = serde_json::to_string(&exp.spec[0].with).expect("task inputs as JSON");
        assert!(!with.contains("proto"), "{version}: {with}");
        assert!(
            exp.completed() && exp.no_failure() && exp.slos(),
            "{version}: {}",
            runner::report::text(&exp)
        );
        for ep in ["getFeature", "listFeatures"] {
            let p = format!("grpc-{ep}");
            assert_eq!(
                metric(&exp, &format!("{p}/status/OK")),
                Some(200.0),
                "{version}"
            );
            assert_eq!(
                metric(&exp, &format!("{p}/error-count")),
                Some(0.0),
                "{version}"
            );
        }
        // The rectangle holds three features: the stream's response messages were timed.
        assert!(
            metric(&exp, "grpc-listFeatures/message-latency/max").is_some(),
            "{version}"
        );
        let out = run_iter8(&["assert", "-c", "completed", "-c", "slos", "--runDir", &d]);
        assert!(out.status.success(), "{version}: {}", texts(&out).1);
    }
}

/// A server that is down: every call counts as Unavailable; the experiment completes.
#[test]
fn server_down_counts_unavailable() {
    let files = run_dir();
    let g = guide_with_files(files.path());
    let down = format!("127.0.0.1:{}", free_port());
    let dir = run_dir();
    let d = dir.path().display().to_string();
    let out = iter8()
        .args([
            "launch",
            "--runDir",
            &d,
            "--set",
            "tasks={grpc}",
            "--set",
            &format!("grpc.host={down}"),
            "--set",
            "grpc.call=routeguide.RouteGuide.GetFeature",
            "--set",
            &format!("grpc.protoURL={}", g.file_url("route_guide.proto")),
        ])
        .current_dir(dir.path())
        .output()
        .expect("run iter8");
    let (_, err) = texts(&out);
    assert!(out.status.success(), "{err}");
    let exp = read_experiment(dir.path());
    assert!(exp.completed() && exp.no_failure());
    assert_eq!(metric(&exp, "grpc/request-count"), Some(200.0));
    assert_eq!(metric(&exp, "grpc/error-count"), Some(200.0));
    assert_eq!(metric(&exp, "grpc/status/Unavailable"), Some(200.0));
}

/// Bad input (unknown method or service, malformed proto, data that does not fit the message,
/// a bad host): one `Error:` line naming the field, exit 1, and nothing written (no experiment,
/// no downloads).
#[test]
fn bad_input_writes_nothing() {
    let files = run_dir();
    let g = guide_with_files(files.path());
    let host = g.host();
    let proto = g.file_url("route_guide.proto");
    let data = g.file_url("getFeature.json");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                format!("grpc.host={host}"),
                "grpc.call=routeguide.RouteGuide.GetFeatur".into(),
                format!("grpc.protoURL={proto}"),
            ],
            "grpc: invalid input call: service routeguide.RouteGuide has no method \"GetFeatur\"",
        ),
        (
            vec![
                format!("grpc.host={host}"),
                "grpc.call=routeguide.Guide.GetFeature".into(),
                format!("grpc.protoURL={proto}"),
            ],
            "grpc: invalid input call: service \"routeguide.Guide\" not found",
        ),
        (
            vec![
                format!("grpc.host={host}"),
                "grpc.call=routeguide.RouteGuide.GetFeature".into(),
                format!("grpc.protoURL={}", g.file_url("bad.proto")),
            ],
            "grpc: invalid input proto: ghz.proto:2:",
        ),
        (
            vec![
                format!("grpc.host={host}"),
                "grpc.call=routeguide.RouteGuide.GetFeature".into(),
                format!("grpc.protoURL={proto}"),
                format!("grpc.dataURL={}", g.file_url("wrong.json")),
            ],
            "grpc: invalid input data-file: is not a valid routeguide.Point",
        ),
        (
            vec![
                format!("grpc.host={host}"),
                "grpc.call=routeguide.RouteGuide.GetFeature".into(),
            ],
            "grpc: invalid input proto: missing, and server reflection at",
        ),
        (
            vec![
                "grpc.host=127.0.0.1".into(),
                "grpc.call=routeguide.RouteGuide.GetFeature".into(),
                format!("grpc.protoURL={proto}"),
                format!("grpc.dataURL={data}"),
            ],
            "grpc: invalid input host: \"127.0.0.1\": missing port",
        ),
    ];
    for (sets, expect) in cases {
        let dir = run_dir();
        let d = dir.path().display().to_string();
        let mut args = vec![
            "launch".to_string(),
            "--runDir".into(),
            d,
            "--set".into(),
            "tasks={grpc}".into(),
        ];
        for s in &sets {
            args.push("--set".into());
            args.push(s.clone());
        }
        let out = iter8()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("run iter8");
        let errors = error_lines(&out);
        assert_eq!(out.status.code(), Some(1), "{sets:?}: {}", texts(&out).1);
        assert_eq!(errors.len(), 1, "{sets:?}: {errors:?}");
        assert!(
            errors[0].contains(expect),
            "{sets:?}: {:?} lacks {expect:?}",
            errors[0]
        );
        assert_eq!(
            entries(dir.path()),
            Vec::<String>::new(),
            "{sets:?} wrote files"
        );
    }
}
