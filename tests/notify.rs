//! The `notify` task (the chart's `slack` and `github` tasks) against a webhook receiver on
//! loopback that records every request: method, path and query, headers, and a payload that
//! must be valid JSON carrying the report.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// A webhook that answers every request with `status` and records it.
struct Webhook {
    url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

fn webhook(status: u16) -> Webhook {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let target = parts.next().unwrap_or_default().to_string();
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            log.lock().expect("lock").push(Request {
                method,
                target,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    Webhook { url, seen }
}

fn iter8(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iter8"))
        .args(args)
        .output()
        .expect("run iter8");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn experiment(dir: &std::path::Path) -> runner::Experiment {
    let text = std::fs::read_to_string(dir.join("experiment.yaml")).expect("experiment.yaml");
    runner::Experiment::from_yaml(&text).expect("parse")
}

/// The chart's `slack` task posts valid JSON whose text carries the report, using the
/// built-in template for the chart's default (hub) template URL: no download needed.
#[test]
fn slack_posts_the_report() {
    let hook = webhook(200);
    let run = tempfile::tempdir().expect("tmp");
    let dir = run.path().to_str().expect("utf8");
    let (code, err) = iter8(&[
        "launch",
        "--runDir",
        dir,
        "--set",
        "tasks={slack}",
        "--set",
        &format!("slack.url={}/services/T/B/X", hook.url),
        "--noProgress",
    ]);
    assert_eq!(code, 0, "{err}");
    let seen = hook.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/services/T/B/X");
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("payload is JSON");
    let text = body["text"].as_str().expect("text");
    assert!(text.starts_with("Iter8 experiment report ("), "{text}");
    assert!(text.contains("\"numTasks\": 1"), "{text}");
    assert!(text.contains("\"task\": \"notify\""), "{text}");
    assert!(experiment(run.path()).no_failure());
}

/// A hand-written notify task: the GitHub payload (event_type and the report as
/// client_payload), headers and query parameters as given, method POST.
#[test]
fn github_dispatch_payload_headers_and_params() {
    let hook = webhook(204);
    let run = tempfile::tempdir().expect("tmp");
    std::fs::write(
        run.path().join("experiment.yaml"),
        format!(
            "spec:\n- run: 'true'\n- task: notify\n  with:\n    url: {}/repos/o/r/dispatches\n    params:\n      a: b c\n    headers:\n      Authorization: token s3cret\n      Accept: application/vnd.github+json\n    payloadTemplateURL: builtin:github\n",
            hook.url
        ),
    )
    .expect("write");
    let (code, err) = iter8(&["run", "--runDir", run.path().to_str().expect("utf8")]);
    assert_eq!(code, 0, "{err}");
    let seen = hook.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/repos/o/r/dispatches?a=b%20c");
    assert_eq!(
        r.headers.get("authorization").map(String::as_str),
        Some("token s3cret")
    );
    assert_eq!(
        r.headers.get("accept").map(String::as_str),
        Some("application/vnd.github+json")
    );
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("payload is JSON");
    assert_eq!(body["event_type"], "iter8");
    assert_eq!(body["client_payload"]["numTasks"], 2);
    assert_eq!(
        body["client_payload"]["numCompletedTasks"], 1,
        "the run task before it"
    );
    assert_eq!(body["client_payload"]["noTaskFailures"], true);
    assert!(body["client_payload"]["experiment"]["spec"].is_array());
}

/// A 500 answer fails the task unless softFailure is set, which only warns.
#[test]
fn soft_failure() {
    let hook = webhook(500);
    for soft in [false, true] {
        let run = tempfile::tempdir().expect("tmp");
        std::fs::write(
            run.path().join("experiment.yaml"),
            format!(
                "spec:\n- task: notify\n  with:\n    url: {}/hook\n    softFailure: {soft}\n",
                hook.url
            ),
        )
        .expect("write");
        let (code, err) = iter8(&["run", "--runDir", run.path().to_str().expect("utf8")]);
        assert!(
            err.contains("did not receive successful status code for notify task"),
            "{err}"
        );
        let exp = experiment(run.path());
        if soft {
            assert_eq!(code, 0, "{err}");
            assert!(exp.no_failure() && exp.completed());
        } else {
            assert_eq!(code, 1, "{err}");
            assert!(!exp.no_failure());
        }
    }
    let seen = hook.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|r| r.method == "GET" && r.body.is_empty()),
        "{seen:?}"
    );
}
