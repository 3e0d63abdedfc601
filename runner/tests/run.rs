//! The task loop: conditions, failures, run tasks, assess verdicts, assert predicates, events.

mod support;

use std::cell::RefCell;

use runner::experiment::Experiment;
use runner::slo::{self, AssertCondition};
use runner::{Event, FileDriver, RunError, RunOptions, run_experiment};
use support::{Proto, start};

struct Run {
    result: Result<Experiment, RunError>,
    stored: Experiment,
    events: Vec<Event>,
    writes_ok: bool,
}

fn run_doc(doc: &str, reuse: bool) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("experiment.yaml");
    std::fs::write(&path, doc).expect("write");
    let events = RefCell::new(Vec::new());
    let sink = |e: &Event| events.borrow_mut().push(e.clone());
    let opts = RunOptions {
        reuse_result: reuse,
        on_event: Some(&sink),
        ..RunOptions::default()
    };
    let mut d = FileDriver::new(dir.path());
    let result = run_experiment(&mut d, &opts);
    let text = std::fs::read_to_string(&path).expect("read back");
    // No temporary files are left next to the experiment.
    let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
    Run {
        result,
        stored: Experiment::from_yaml(&text).expect("stored experiment parses"),
        events: events.into_inner(),
        writes_ok: leftovers == 1,
    }
}

/// `if` conditions select tasks; skipped tasks count as completed; events follow Iter8's log.
#[test]
fn if_conditions() {
    let r = run_doc(
        "spec:\n- run: 'true'\n- if: Result.NumLoops == 2\n  run: exit 1\n- if: not SLOs() or Result.NumCompletedTasks >= 2 && len(Spec) == 3\n  run: 'true'\n",
        false,
    );
    r.result.expect("run succeeds");
    let res = r.stored.result.as_ref().expect("result");
    assert_eq!(
        (res.num_loops, res.num_completed_tasks, res.failure),
        (1, 3, false)
    );
    assert!(r.stored.completed());
    assert!(r.writes_ok);
    let names: Vec<String> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TaskStarted { index, .. } => Some(format!("start {index}")),
            Event::TaskCompleted { index, .. } => Some(format!("done {index}")),
            Event::TaskSkipped {
                index, condition, ..
            } => Some(format!("skip {index} {condition}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "start 1",
            "done 1",
            "start 2",
            "skip 2 Result.NumLoops == 2",
            "start 3",
            "done 3"
        ]
    );
}

/// A bad condition stops the run without marking failure (Iter8's behaviour).
#[test]
fn bad_condition() {
    let r = run_doc("spec:\n- if: Result.Bogus > 1\n  run: 'true'\n", false);
    let err = r.result.expect_err("must fail");
    assert!(matches!(err, RunError::Condition { index: 1, .. }), "{err}");
    assert!(r.stored.no_failure());
    assert_eq!(
        r.stored
            .result
            .as_ref()
            .expect("result")
            .num_completed_tasks,
        0
    );
}

/// A failing run task stops the loop and sets failure; later tasks do not run.
#[test]
fn failure_stops_loop() {
    let r = run_doc(
        "spec:\n- run: echo out; echo err >&2; exit 3\n- run: 'true'\n",
        false,
    );
    let err = r.result.expect_err("must fail");
    let chain = runner::task::error_chain(&err);
    assert!(chain.starts_with("task 1: run: failure"), "{chain}");
    assert!(
        chain.contains("exit status 3") && chain.contains("err"),
        "{chain}"
    );
    let res = r.stored.result.as_ref().expect("result");
    assert_eq!((res.num_completed_tasks, res.failure), (0, true));
    assert!(!r.stored.completed() && !r.stored.no_failure());
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::TaskFailed { index: 1, .. }))
    );
}

/// Run tasks see TEMP_DIR.
#[test]
fn run_task_env() {
    let r = run_doc(
        "spec:\n- run: test -n \"$TEMP_DIR\" && echo \"tmp=$TEMP_DIR\"\n",
        false,
    );
    r.result.expect("run succeeds");
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::Output { text, .. } if text.starts_with("tmp=")))
    );
}

/// Unknown task names are rejected before anything runs, naming index and name; tasks not
/// implemented in the runner fail clearly, and abnmetrics without its service names the input.
#[test]
fn unknown_and_unsupported_tasks() {
    let r = run_doc("spec:\n- run: 'true'\n- task: frobnicate\n", false);
    let err = r.result.expect_err("must fail");
    assert_eq!(err.to_string(), "unknown task: frobnicate (task 2)");
    assert!(r.stored.result.is_none(), "nothing was written");
    for name in ["ready", "custommetrics", "notify", "slack"] {
        let r = run_doc(&format!("spec:\n- task: {name}\n  with: {{}}\n"), false);
        let chain = runner::task::error_chain(&r.result.expect_err("must fail"));
        assert!(
            chain.contains(&format!("task {name} is not supported yet")),
            "{chain}"
        );
        assert!(!r.stored.no_failure());
    }
    // abnmetrics runs in the runner itself: without its service it names the missing input.
    let r = run_doc("spec:\n- task: abnmetrics\n  with: {}\n", false);
    let chain = runner::task::error_chain(&r.result.expect_err("must fail"));
    assert!(
        chain.contains("invalid input endpoint: is required"),
        "{chain}"
    );
}

/// assess stores SLOs and per-SLO verdicts; assert reports failing clauses with values.
#[test]
fn assess_verdicts() {
    let s = start(Proto::H1);
    let doc = format!(
        "spec:\n- task: http\n  with:\n    url: {}\n    numRequests: 10\n    qps: 0\n- task: assess\n  with:\n    SLOs:\n      Upper:\n      - metric: http/error-count\n        limit: 0\n      - metric: http/latency-mean\n        limit: 0.000001\n      lower:\n      - metric: http/request-count\n        limit: 10\n      - metric: http/latency-p97.5\n        limit: 0\n",
        s.url("/")
    );
    let r = run_doc(&doc, false);
    r.result.expect("run succeeds");
    let ins = r
        .stored
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights");
    let sat = ins.slos_satisfied.as_ref().expect("verdicts");
    assert_eq!(sat.upper, vec![vec![true], vec![false]]);
    // p97.5 was not requested, so it is unavailable and the lower SLO fails.
    assert_eq!(sat.lower, vec![vec![true], vec![false]]);
    assert!(!r.stored.slos());
    assert!(r.events.iter().any(|e| matches!(e, Event::Warning { message, .. } if message.contains("unable to find value for version 0 and metric http/latency-p97.5"))));
    let out = slo::check(
        &r.stored,
        &[
            AssertCondition::Completed,
            AssertCondition::NoFailure,
            AssertCondition::Slos,
        ],
    );
    assert!(out[0].satisfied && out[1].satisfied && !out[2].satisfied);
    let failing = &out[2].failing_slos;
    assert_eq!(failing.len(), 2);
    assert_eq!(failing[0].metric, "http/latency-mean");
    assert!(failing[0].upper && failing[0].observed.is_some_and(|v| v > 0.0));
    assert_eq!(failing[1].observed, None);
    assert!(
        out[2]
            .reason
            .contains("http/latency-p97.5 (version 0): observed unavailable but want >= 0"),
        "{}",
        out[2].reason
    );
}

/// assess without insights fails with Iter8's message; without SLOs it warns and succeeds.
#[test]
fn assess_edge_cases() {
    let r = run_doc(
        "spec:\n- task: assess\n  with:\n    SLOs:\n      upper:\n      - metric: a/b\n        limit: 1\n",
        false,
    );
    let chain = runner::task::error_chain(&r.result.expect_err("must fail"));
    assert!(
        chain.contains("uninitialized insights within experiment"),
        "{chain}"
    );
    assert!(!slo::check(&r.stored, &[AssertCondition::Slos])[0].satisfied);
}

/// reuseResult keeps the stored result: loops and metrics accumulate; without a result it fails.
#[test]
fn reuse_result() {
    let s = start(Proto::H1);
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = format!(
        "spec:\n- task: http\n  with:\n    url: {}\n    numRequests: 3\n    qps: 0\nresult:\n  startTime: \"\"\n  numCompletedTasks: 0\n  failure: false\n  iter8Version: v0.13\n",
        s.url("/")
    );
    std::fs::write(dir.path().join("experiment.yaml"), doc).expect("write");
    let opts = RunOptions {
        reuse_result: true,
        ..RunOptions::default()
    };
    let mut d = FileDriver::new(dir.path());
    run_experiment(&mut d, &opts).expect("loop 1");
    let e = run_experiment(&mut d, &opts).expect("loop 2");
    let res = e.result.as_ref().expect("result");
    assert_eq!(res.num_loops, 2);
    let ins = res.insights.as_ref().expect("insights");
    assert_eq!(
        ins.non_hist_metric_values[0]["http/request-count"],
        vec![3.0, 3.0]
    );
    let r = run_doc("spec:\n- run: 'true'\n", true);
    assert!(matches!(r.result, Err(RunError::NoResult)));
}

/// A fresh run replaces the result but keeps `result.chart` (where the chart came from, set at
/// launch), writes it back with its camelCase keys, and the text report names it.
#[test]
fn fresh_result_keeps_chart_origin() {
    let doc = "spec:\n- run: 'true'\nresult:\n  startTime: \"\"\n  numLoops: 7\n  numCompletedTasks: 1\n  failure: true\n  iter8Version: v0.13\n  chart:\n    name: iter8\n    version: 0.13.8\n    source: oci://127.0.0.1:1/charts/iter8\n    url: oci://127.0.0.1:1/charts/iter8:0.13.8\n    digest: sha256:aa\n    manifestDigest: sha256:bb\n";
    let r = run_doc(doc, false);
    r.result.as_ref().expect("run");
    let res = r.stored.result.as_ref().expect("result");
    assert_eq!(res.num_loops, 1, "the result was replaced");
    assert!(!res.failure);
    let c = res.chart.as_ref().expect("chart kept");
    assert_eq!(
        (c.name.as_str(), c.version.as_str(), c.digest.as_str()),
        ("iter8", "0.13.8", "sha256:aa")
    );
    assert_eq!(c.manifest_digest.as_deref(), Some("sha256:bb"));
    let yaml = r.stored.to_yaml().expect("yaml");
    assert!(yaml.contains("    manifestDigest: sha256:bb\n"), "{yaml}");
    let report = runner::report::text(&r.stored);
    assert!(
        report.contains(
            "\n  Chart: iter8 0.13.8 from oci://127.0.0.1:1/charts/iter8 (digest sha256:bb)\n"
        ),
        "{report}"
    );
    // Without a chart record nothing is added (Iter8 v0.13's layout).
    let plain = run_doc("spec:\n- run: 'true'\n", false);
    let stored = plain.stored.result.as_ref().expect("result");
    assert!(stored.chart.is_none());
    assert!(!runner::report::text(&plain.stored).contains("Chart:"));
}
