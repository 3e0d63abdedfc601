//! experiment.yaml reading and writing against documents shaped like Iter8 v0.13's.

use runner::experiment::{Experiment, MetricType};

/// A result section as the Go runner writes it after `ready,http,assess` (Appendix A),
/// with mixed-case keys that Go's case-insensitive JSON decoding accepts.
const GO_WRITTEN: &str = r#"
result:
  failure: false
  insights:
    SLOs:
      upper:
      - limit: 0
        metric: http/error-count
      - limit: 50
        metric: http/latency-mean
    SLOsSatisfied:
      upper:
      - - true
      - - true
    SummaryMetricValues:
    - {}
    histMetricValues:
    - http/latency:
      - count: 97
        lower: 1
        upper: 2
      - count: 3
        lower: 2
        upper: 3
    metricsInfo:
      http/error-count:
        description: number of responses that were errors
        type: Counter
      http/latency:
        description: Latency Histogram
        type: Histogram
        units: msec
      http/latency-mean:
        description: mean of observed latency values
        type: Gauge
        units: msec
      http/latency-p50:
        description: 50-th percentile of observed latency values
        type: Gauge
        units: msec
      http/request-count:
        description: number of requests sent
        type: Counter
    nonHistMetricValues:
    - http/error-count:
      - 0
      http/latency-mean:
      - 1.53
      http/latency-p50:
      - 1.4
      http/request-count:
      - 100
    numVersions: 1
    versionNames: null
  iter8Version: v0.13
  numCompletedTasks: 4
  numLoops: 1
  startTime: "2023-05-15T10:11:12.123456789-04:00"
spec:
- task: ready
  with:
    name: httpbin
    namespace: default
    resource: services
    timeout: 60s
    version: v1
- task: http
  with:
    connections: 4
    endpoints: null
    numRequests: 100
    qps: 8
    url: http://httpbin.default/get
- task: assess
  with:
    SLOs:
      Upper:
      - metric: http/error-count
        limit: 0
- if: SLOs()
  run: echo hi
"#;

/// A Go-written document parses with every field and predicate intact.
#[test]
fn reads_go_document() {
    let e = Experiment::from_yaml(GO_WRITTEN).expect("parses");
    assert_eq!(e.spec.len(), 4);
    assert_eq!(e.spec[3].name(), "run");
    assert_eq!(e.spec[3].condition.as_deref(), Some("SLOs()"));
    let r = e.result.as_ref().expect("result");
    assert_eq!(
        (r.num_loops, r.num_completed_tasks, r.failure),
        (1, 4, false)
    );
    assert_eq!(r.iter8_version, "v0.13");
    let ins = r.insights.as_ref().expect("insights");
    assert_eq!(ins.num_versions, 1);
    assert_eq!(ins.metrics_info["http/latency"].kind, MetricType::Histogram);
    assert_eq!(ins.scalar_metric_value(0, "http/latency-mean"), Some(1.53));
    assert_eq!(ins.scalar_metric_value(0, "http/latency-p50.0"), Some(1.4));
    assert_eq!(ins.hist_metric_values[0]["http/latency"][1].count, 3);
    assert_eq!(ins.slos.as_ref().expect("slos").upper.len(), 2);
    assert!(e.completed() && e.no_failure() && e.slos());
}

/// Writing then reading gives the same experiment, and the text uses Go's key spellings in
/// Go's sort order.
#[test]
fn round_trip() {
    let e = Experiment::from_yaml(GO_WRITTEN).expect("parses");
    let text = e.to_yaml().expect("writes");
    let back = Experiment::from_yaml(&text).expect("re-parses");
    assert_eq!(back, e);
    let pos = |k: &str| {
        text.find(k)
            .unwrap_or_else(|| panic!("{k} missing in\n{text}"))
    };
    assert!(pos("SLOs:") < pos("SLOsSatisfied:"));
    assert!(pos("SLOsSatisfied:") < pos("SummaryMetricValues:"));
    assert!(pos("SummaryMetricValues:") < pos("histMetricValues:"));
    assert!(pos("  failure: false") < pos("  insights:"));
    assert!(
        text.contains("  startTime: \"2023-05-15T10:11:12.123456789-04:00\"\n"),
        "{text}"
    );
    assert!(text.contains("versionNames: null"));
    assert!(text.starts_with("result:\n"), "{text}");
}

/// Empty or null start times are accepted; a missing result stays missing.
#[test]
fn zero_start_time_and_no_result() {
    let e = Experiment::from_yaml("spec:\n- task: http\nresult:\n  startTime: \"\"\n").expect("ok");
    assert_eq!(e.result.as_ref().expect("result").start_time, None);
    let e = Experiment::from_yaml("spec:\n- task: http\nresult:\n  startTime: null\n").expect("ok");
    assert_eq!(e.result.as_ref().expect("result").start_time, None);
    let e = Experiment::from_yaml("spec: []\n").expect("ok");
    assert!(e.result.is_none());
    assert!(!e.completed() && !e.no_failure() && !e.slos());
}

/// A spec entry with neither `task` nor `run` is rejected with Iter8's message.
#[test]
fn task_without_name() {
    let err = Experiment::from_yaml("spec:\n- with: {}\n").expect_err("must fail");
    assert!(
        err.to_string()
            .contains("invalid task found without a task name or a run command"),
        "{err}"
    );
}

/// The experiment the Iter8 v0.13 chart renders for Appendix A (comments, quoted start time,
/// no numLoops) reads, writes and reads back unchanged.
#[test]
fn appendix_a_chart_render() {
    let doc = r#"# task: determine if Kubernetes Service exists
spec:
- task: ready
  with:
    name: "httpbin"
    version: v1
    resource: services
    namespace: default
    timeout: 60s
- task: ready
  with:
    name: "httpbin"
    group: apps
    version: v1
    resource: deployments
    condition: Available
    namespace: default
    timeout: 60s
# task: generate HTTP requests for app
- task: http
  with:
    url: http://httpbin.default/get
- task: assess
  with:
    SLOs:
      upper:
      - metric: http/error-count
        limit: 0
      - metric: http/latency-mean
        limit: 50
result:
  startTime:         "2023-05-15T10:11:12.123456789Z"
  numCompletedTasks: 0
  failure:           false
  iter8Version:      v0.13
"#;
    let e = Experiment::from_yaml(doc).expect("parses");
    assert_eq!(
        e.spec.iter().map(|t| t.name()).collect::<Vec<_>>(),
        ["ready", "ready", "http", "assess"]
    );
    let r = e.result.as_ref().expect("result");
    assert_eq!(
        (r.num_loops, r.num_completed_tasks, r.failure),
        (0, 0, false)
    );
    assert!(r.insights.is_none());
    assert!(!e.completed() && e.no_failure() && !e.slos());
    let text = e.to_yaml().expect("writes");
    assert!(
        text.contains("  startTime: \"2023-05-15T10:11:12.123456789Z\"\n"),
        "{text}"
    );
    assert!(
        text.contains("- task: ready\n  with:\n    name: httpbin\n    namespace: default\n"),
        "{text}"
    );
    assert!(!text.contains("insights"), "{text}");
    assert_eq!(Experiment::from_yaml(&text).expect("re-parses"), e);
}
