//! The http task's input rules, as data: every input with a wrong type, a negative number, zero
//! where zero makes no sense and a duration without a unit gets one line naming the field
//! (cases in tests/cases/http_inputs.yaml), and a bad task stops the experiment before any task
//! sends a request. The assess task shares the mechanism.

mod support;

use std::collections::BTreeSet;

use runner::inputs::{Kind, Shape};
use runner::task::http::{HTTP_SHAPE, parse};
use runner::{FileDriver, RunError, RunOptions, run_experiment};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{Proto, start};

#[derive(Deserialize)]
struct Cases {
    fields: Vec<FieldCase>,
    sections: Vec<SectionCase>,
}

#[derive(Deserialize)]
struct FieldCase {
    field: String,
    why: String,
    value: Value,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SectionCase {
    why: String,
    with: Value,
    error: Option<String>,
}

fn cases() -> Cases {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/http_inputs.yaml");
    let text = std::fs::read_to_string(path).expect("read cases");
    serde_yaml_ng::from_str(&text).expect("parse cases")
}

/// The message `parse` gives for `with`, or `None` when it accepts it.
fn message(with: &Value) -> Option<String> {
    parse(Some(with)).err().map(|e| e.to_string())
}

const URL: &str = "http://127.0.0.1:9/";

/// Each field case gets exactly its message at the top level, and the same message under
/// `endpoints.e.` when set inside an endpoint.
#[test]
fn field_cases() {
    let mut failures = Vec::new();
    for c in cases().fields {
        let top = json!({"url": URL, c.field.clone(): c.value.clone()});
        let nested = json!({"url": URL, "endpoints": {"e": {c.field.clone(): c.value.clone()}}});
        let want_top = c.error.as_ref().map(|e| format!("invalid input {e}"));
        let want_nested = c
            .error
            .as_ref()
            .map(|e| format!("invalid input endpoints.e.{e}"));
        for (with, want) in [(top, want_top), (nested, want_nested)] {
            let got = message(&with);
            if got != want {
                failures.push(format!(
                    "{} ({}) {with}:\n   got  {got:?}\n   want {want:?}",
                    c.field, c.why
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each whole-section case gets exactly its message.
#[test]
fn section_cases() {
    let mut failures = Vec::new();
    for c in cases().sections {
        let got = message(&c.with);
        let want = c.error.as_ref().map(|e| format!("invalid input {e}"));
        if got != want {
            failures.push(format!(
                "{} {}:\n   got  {got:?}\n   want {want:?}",
                c.why, c.with
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The case table covers every input of the task: a wrong type for each, a negative number for
/// each number, zero for each count or duration where zero makes no sense, and a bare number
/// for each duration.
#[test]
fn cases_cover_every_input() {
    let Shape::Closed(fields) = &HTTP_SHAPE else {
        panic!("the http task's shape is a closed object");
    };
    let have: BTreeSet<(String, String)> = cases()
        .fields
        .into_iter()
        .map(|c| (c.field, c.why))
        .collect();
    let mut missing = Vec::new();
    for (name, shape) in fields.iter() {
        // Top-level sections, covered by the section cases.
        if *name == "endpoints" || *name == "capacity" {
            continue;
        }
        let mut need = vec!["type"];
        let leaf = match shape {
            Shape::List(s) => s,
            other => other,
        };
        match leaf {
            Shape::Typed(Kind::Int { min, .. }) => {
                need.push("negative");
                if *min >= 1 {
                    need.push("zero");
                }
            }
            Shape::Typed(Kind::Num { .. } | Kind::Percentile) => need.push("negative"),
            Shape::Typed(Kind::Duration { positive }) => {
                need.extend(["negative", "unit"]);
                if *positive {
                    need.push("zero");
                }
            }
            _ => {}
        }
        for why in need {
            if !have.contains(&(name.to_string(), why.to_string())) {
                missing.push(format!("{name}: {why}"));
            }
        }
    }
    assert!(missing.is_empty(), "no case for {missing:?}");
}

/// A bad input in a later task fails the run before the first task sends anything: the server
/// the first task targets sees no request, and no task is counted as completed.
#[test]
fn bad_later_task_sends_nothing() {
    let server = start(Proto::H1);
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = format!(
        "spec:\n\
         - task: http\n  with: {{url: {u}, numRequests: 5}}\n\
         - run: touch ran.txt\n\
         - task: http\n  with: {{url: {u}, numRequests: 5, qps: -5}}\n",
        u = server.url("/")
    );
    std::fs::write(dir.path().join("experiment.yaml"), doc).expect("write");
    let mut driver = FileDriver::new(dir.path());
    let err = run_experiment(&mut driver, &RunOptions::default()).expect_err("bad qps");
    assert!(matches!(err, RunError::Inputs { index: 3, .. }), "{err:?}");
    assert_eq!(
        runner::task::error_chain(&err),
        "task 3: http: invalid input qps: -5 is negative (hint: 0 means full speed)"
    );
    assert_eq!(server.hits(), 0);
    assert!(!dir.path().join("ran.txt").exists(), "the run task ran");
}

/// The assess task's SLOs use the same checks: a limit that is not a number names its path,
/// and a limit given as text holding a number is accepted.
#[test]
fn assess_limits_use_the_same_checks() {
    let bad = json!({"SLOs": {"upper": [{"metric": "http/latency-mean", "limit": "low"}]}});
    let err = runner::task::assess::parse(Some(&bad)).expect_err("not a number");
    assert_eq!(
        err.to_string(),
        "invalid input SLOs.upper[0].limit: \"low\" is not a number"
    );
    let good = json!({"SLOs": {"lower": [{"metric": "http/request-count", "limit": "1e2"}]}});
    let inputs = runner::task::assess::parse(Some(&good)).expect("accepted");
    let lower = inputs.slos.map(|s| s.lower).unwrap_or_default();
    assert_eq!(lower[0].limit, 100.0);
}

/// `null` means "not set" in any task's inputs: assess accepts `SLOs: null` and `upper: null`.
#[test]
fn null_means_unset() {
    for with in [json!({"SLOs": null}), json!({"SLOs": {"upper": null}})] {
        let inputs = runner::task::assess::parse(Some(&with)).expect("accepted");
        assert!(inputs.slos.is_none_or(|s| s.upper.is_empty()), "{with}");
    }
}

/// `warmupNumRequests: 0` means no warm-up phase at all: no warm-up load is started and the
/// server sees only the measured requests.
#[test]
fn zero_warmup_requests_means_no_warmup() {
    let server = start(Proto::H1);
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = format!(
        "spec:\n- task: http\n  with: {{url: {u}, numRequests: 3, qps: 0, warmupNumRequests: 0}}\n",
        u = server.url("/")
    );
    std::fs::write(dir.path().join("experiment.yaml"), doc).expect("write");
    let events = std::cell::RefCell::new(Vec::new());
    let sink = |e: &runner::Event| events.borrow_mut().push(format!("{e:?}"));
    let opts = RunOptions {
        on_event: Some(&sink),
        ..RunOptions::default()
    };
    run_experiment(&mut FileDriver::new(dir.path()), &opts).expect("run succeeds");
    let warmups: Vec<String> = events
        .into_inner()
        .into_iter()
        .filter(|e| e.contains("warmup"))
        .collect();
    assert_eq!(warmups, Vec::<String>::new());
    assert_eq!(server.hits(), 3);
}
