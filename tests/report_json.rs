//! What CI/CD pipelines consume: `iter8 report -o json` (validated against
//! `schemas/report.v1.schema.json` for HTTP, gRPC, two-loop and stored results (and in the
//! cluster: tests/k8s_run.rs), its values
//! checked against what the target saw and what `iter8 assert` says), the jq one-liners of
//! `docs/report-json.md` run as written, and `iter8 completion` scripts loaded in a real bash.

mod support;

use std::path::Path;
use std::process::Command;

use runner::target::BackgroundTarget;
use support::*;
use testsupport::route_guide::RouteGuide;

/// The sample target on a free loopback port.
fn target() -> BackgroundTarget {
    BackgroundTarget::start("127.0.0.1:0".parse().expect("addr")).expect("start the sample target")
}

/// Launch an HTTP experiment of `n` requests against `url` in `dir`, with one SLO that holds
/// (no errors) and one that cannot (a mean latency of at most 1 ns).
fn launch_http(dir: &Path, url: &str, n: u64) {
    let out = run_iter8(&[
        "launch",
        "--runDir",
        &dir.display().to_string(),
        "--set",
        "tasks={http,assess}",
        "--set",
        &format!("http.url={url}"),
        "--set",
        &format!("http.numRequests={n}"),
        "--set",
        "assess.SLOs.upper.http/error-count=0",
        "--set",
        "assess.SLOs.upper.http/latency-mean=0.000001",
        "--noProgress",
    ]);
    assert!(out.status.success(), "launch: {}", texts(&out).1);
}

/// The entry of `json["metrics"]` named `name`.
fn metric<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {json}"))
}

/// An HTTP run: the JSON report validates, counts the requests the target answered, and names
/// exactly the failing clause `iter8 assert -c slos` logs.
#[test]
fn http_report_counts_what_the_target_saw_and_names_the_failing_clause() {
    let t = target();
    let dir = run_dir();
    launch_http(dir.path(), &format!("{}/echo", t.url()), 30);
    let json = json_report(dir.path());

    assert_eq!(json["apiVersion"], "iter8.tools/report/v1");
    assert_eq!(json["summary"]["completed"], true);
    assert_eq!(json["summary"]["noFailure"], true);
    assert_eq!(json["summary"]["slos"], false);
    assert_eq!(json["summary"]["numLoops"], 1);
    assert_eq!(json["tasks"], serde_json::json!(["http", "assess"]));
    let answered = t.requests("/echo") as f64;
    assert_eq!(metric(&json, "http/request-count")["values"][0], answered);
    assert_eq!(metric(&json, "http/error-count")["values"][0], 0.0);
    assert_eq!(metric(&json, "http/latency-mean")["units"], "msec");
    assert_eq!(json["protocols"]["http"], "HTTP/1.1");

    let slos = json["slos"].as_array().expect("slos");
    assert_eq!(slos.len(), 2);
    let verdict = |m: &str| {
        slos.iter()
            .find(|s| s["metric"] == m)
            .map(|s| s["satisfied"].clone())
    };
    assert_eq!(verdict("http/error-count"), Some(true.into()));
    assert_eq!(verdict("http/latency-mean"), Some(false.into()));

    // The failing clauses are the ones `iter8 assert` logs, word for word.
    let failing: Vec<String> = serde_json::from_value(json["failingSLOs"].clone()).expect("list");
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert!(failing[0].starts_with("http/latency-mean (version 0)"));
    let out = run_iter8(&[
        "assert",
        "-c",
        "slos",
        "--runDir",
        &dir.path().display().to_string(),
    ]);
    assert!(!out.status.success());
    let log = texts(&out).1;
    assert!(
        log.contains(&format!("slos not satisfied: {}", failing[0])),
        "{log}"
    );

    // The histogram's counts add up to the requests sent.
    let hist = json["histograms"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == "http/latency"))
        .expect("http/latency histogram");
    let counted: u64 = hist["buckets"][0]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(counted as f64, answered);
}

/// The one-liners of docs/report-json.md, run as written through `sh` with `iter8` on the PATH,
/// on an experiment run for a second loop (`iter8 run --reuseResult`, as a CronJob does): each
/// prints what the report holds.
#[test]
fn documented_jq_one_liners_work_on_a_two_loop_experiment() {
    let t = target();
    let dir = run_dir();
    launch_http(dir.path(), &format!("{}/echo", t.url()), 10);
    let out = run_iter8(&[
        "run",
        "--reuseResult",
        "--noProgress",
        "--runDir",
        &dir.path().display().to_string(),
    ]);
    assert!(out.status.success(), "run: {}", texts(&out).1);
    assert_eq!(t.requests("/echo"), 20);
    let json = json_report(dir.path());
    assert_eq!(json["summary"]["numLoops"], 2);

    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-json.md"))
            .expect("read docs/report-json.md");
    let lines: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("iter8 report -o json | jq"))
        .collect();
    assert_eq!(lines.len(), 4, "the docs' one-liners: {lines:?}");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_iter8"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |line: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .expect("sh (and jq: tools/deps.sh installs it)");
        (out.status.success(), texts(&out).0.trim().to_string())
    };
    // -e '.summary.slos': exits non-zero because an SLO fails.
    assert_eq!(run(lines[0]), (false, "false".to_string()));
    // the failing clauses, one per line
    let (ok, text) = run(lines[1]);
    assert!(ok);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        json["failingSLOs"]
            .as_array()
            .expect("list")
            .iter()
            .map(|v| v.as_str().expect("text"))
            .collect::<Vec<_>>()
    );
    // one metric's value
    let (ok, text) = run(lines[2]);
    assert!(ok);
    let p99 = metric(&json, "http/latency-p99")["values"][0]
        .as_f64()
        .expect("p99");
    assert_eq!(text.parse::<f64>().expect("a number"), p99);
    // loops
    assert_eq!(
        run(lines[3]),
        (true, json["summary"]["numLoops"].to_string())
    );
}

/// A gRPC run against the route guide server, and the stored results of the text report's
/// fixtures (several versions, lower limits, no insights, protocols): all validate.
#[test]
fn grpc_and_stored_results_match_the_schema() {
    let guide = RouteGuide::start().expect("route guide server (python3-grpcio)");
    let dir = run_dir();
    let proto = testsupport::route_guide::copy_proto(dir.path()).expect("proto");
    let out = run_iter8(&[
        "launch",
        "--runDir",
        &dir.path().display().to_string(),
        "--set",
        "tasks={grpc,assess}",
        "--set",
        &format!("grpc.host={}", guide.host()),
        "--set",
        "grpc.call=routeguide.RouteGuide.GetFeature",
        "--set",
        &format!("grpc.proto={}", proto.display()),
        "--set",
        "grpc.total=20",
        "--set",
        "grpc.data.latitude=407838351",
        "--set",
        "grpc.data.longitude=-746143763",
        "--set",
        "assess.SLOs.upper.grpc/error-count=0",
        "--noProgress",
    ]);
    assert!(out.status.success(), "launch: {}", texts(&out).1);
    let json = json_report(dir.path());
    assert_eq!(json["summary"]["slos"], true);
    assert_eq!(json["failingSLOs"], serde_json::json!([]));
    assert_eq!(metric(&json, "grpc/request-count")["values"][0], 20.0);

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("runner/tests/report");
    let mut seen = 0;
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let case = entry.expect("entry").path();
        let d = run_dir();
        std::fs::copy(
            case.join("experiment.yaml"),
            d.path().join("experiment.yaml"),
        )
        .expect("copy fixture");
        let json = json_report(d.path());
        let exp = read_experiment(d.path());
        assert_eq!(json["summary"]["slos"], exp.slos(), "{}", case.display());
        let versions = exp
            .result
            .as_ref()
            .and_then(|r| r.insights.as_ref())
            .map_or(0, |i| i.num_versions);
        assert_eq!(json["versions"].as_array().map(Vec::len), Some(versions));
        seen += 1;
    }
    assert!(seen >= 4, "fixtures read: {seen}");
}

/// `iter8 completion bash` loaded in a real bash completes a subcommand, a nested one and a
/// flag; every shell's script is generated; an unknown shell is one Error line.
#[test]
fn completion_scripts_complete_in_bash() {
    let script = run_iter8(&["completion", "bash"]);
    assert!(script.status.success());
    let dir = run_dir();
    let file = dir.path().join("iter8.bash");
    std::fs::write(&file, &script.stdout).expect("write script");
    let complete = |words: &[&str]| -> Vec<String> {
        let line = words.join(" ");
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; \
             _iter8 iter8 '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display(),
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .expect("bash");
        assert!(out.status.success(), "{}", texts(&out).1);
        texts(&out).0.lines().map(str::to_string).collect()
    };
    assert_eq!(complete(&["iter8", "rep"]), vec!["report"]);
    assert_eq!(complete(&["iter8", "k", "la"]), vec!["launch"]);
    assert!(complete(&["iter8", "report", "--run"]).contains(&"--runDir".to_string()));
    let all = complete(&["iter8", ""]);
    for sub in ["launch", "run", "assert", "report", "k", "completion"] {
        assert!(all.contains(&sub.to_string()), "{sub} in {all:?}");
    }

    for shell in ["zsh", "fish", "powershell"] {
        let out = run_iter8(&["completion", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(texts(&out).0.contains("iter8"), "{shell}");
    }
    let out = run_iter8(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("tcsh"), "{errors:?}");
}
