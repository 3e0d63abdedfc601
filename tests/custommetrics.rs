//! The `custommetrics` task against a real Prometheus (Debian's `prometheus`, scraping itself
//! on loopback): a provider template served over HTTP is rendered per version, each metric is
//! an instant query reduced with jq, and metrics that cannot be computed are skipped with a
//! warning instead of failing the experiment.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A Prometheus server on 127.0.0.1 scraping itself every second; killed on drop.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One blocking HTTP GET on loopback; returns (status, body).
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

fn start_prometheus() -> Prometheus {
    assert!(
        Path::new(PROMETHEUS).exists(),
        "{PROMETHEUS} missing\nhint: apt-get install prometheus (tools/deps.sh does)"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let addr = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: self\n  static_configs:\n  - targets: ['{addr}']\n"
        ),
    )
    .expect("config");
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let prom = Prometheus {
        child,
        url: format!("http://{addr}"),
        _dir: dir,
    };
    // Ready, and at least one scrape stored (so `up` has a value).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let scraped = http_get(&addr, "/api/v1/query?query=up")
            .filter(|(s, b)| *s == 200 && b.contains("\"value\""))
            .is_some();
        if scraped {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape itself within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    prom
}

/// Serve `body` for every GET on 127.0.0.1:0, counting requests; runs until the test ends.
fn serve_text(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map(|n| n == 0).unwrap_or(true) || line == "\r\n" {
                    break;
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

const TEMPLATE: &str = r#"# Metrics of a Prometheus server about itself, per scrape job.
url: {{ .promURL }}/api/v1/query
method: GET
metrics:
- name: up
  type: gauge
  description: whether the job's target is up
  params:
  - name: query
    value: max(up{job="{{ .job }}"})
  jqExpression: .data.result[0].value[1] | tonumber
- name: samples
  type: gauge
  description: samples in the job's last scrape
  params:
  - name: query
    value: sum(scrape_samples_scraped{job="{{ .job }}"})
  jqExpression: .data.result[0].value[1] | tonumber
- name: window
  type: gauge
  units: sec
  description: the elapsed time the template saw
  params:
  - name: query
    value: vector({{ .elapsedTimeSeconds }})
  jqExpression: .data.result[0].value[1] | tonumber
- name: not-a-number
  type: gauge
  description: a jq expression that gives a string
  params:
  - name: query
    value: up
  jqExpression: .status
"#;

fn iter8(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iter8"))
        .args(args)
        .output()
        .expect("run iter8");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Two versions (the `self` job and a job that does not exist): version 0 gets every metric
/// that has data, version 1 only those that do not depend on the job; a jq result that is
/// not a number is skipped with a warning; the report shows both versions.
#[test]
fn prometheus_metrics_per_version() {
    let prom = start_prometheus();
    let template_url = serve_text(TEMPLATE.to_string());
    let run = tempfile::tempdir().expect("tmp");
    let values = run.path().join("values.yaml");
    std::fs::write(
        &values,
        format!(
            "tasks: [custommetrics]\ncustommetrics:\n  templates:\n    prom: {template_url}/prom.tpl\n  values:\n    promURL: {}\n  versionValues:\n  - job: self\n  - job: nosuch\n",
            prom.url
        ),
    )
    .expect("values");
    let dir: PathBuf = run.path().join("exp");
    let dir_s = dir.to_str().expect("utf8");
    let (code, _, err) = iter8(&[
        "launch",
        "--runDir",
        dir_s,
        "-f",
        values.to_str().expect("utf8"),
        "--noProgress",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("task 1: custommetrics: completed"), "{err}");
    assert!(
        err.contains("prom/not-a-number (version 0)") && err.contains("not a number"),
        "{err}"
    );

    let text = std::fs::read_to_string(dir.join("experiment.yaml")).expect("experiment");
    let exp = runner::Experiment::from_yaml(&text).expect("parse");
    let ins = exp
        .result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .expect("insights");
    assert_eq!(ins.num_versions, 2);
    assert_eq!(ins.scalar_metric_value(0, "prom/up"), Some(1.0));
    assert!(ins.scalar_metric_value(0, "prom/samples").unwrap_or(0.0) > 0.0);
    assert_eq!(ins.scalar_metric_value(1, "prom/up"), None, "no such job");
    assert_eq!(ins.scalar_metric_value(1, "prom/samples"), None);
    let window = ins.scalar_metric_value(1, "prom/window").expect("window");
    assert!((0.0..120.0).contains(&window), "{window}");
    assert_eq!(ins.scalar_metric_value(0, "prom/not-a-number"), None);
    let meta = ins.metric_info("prom/window").expect("meta");
    assert_eq!(meta.units.as_deref(), Some("sec"));

    let (code, out, err) = iter8(&["report", "--runDir", dir_s]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("prom/up"), "{out}");
    assert!(out.contains("prom/samples"), "{out}");

    // The JSON report carries the same values, per version, in its schema's shape.
    let json = support::json_report(&dir);
    let window_json = json["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["name"] == "prom/window")
        .expect("prom/window in the JSON report");
    assert_eq!(window_json["units"], "sec");
    assert_eq!(window_json["values"][1].as_f64(), Some(window));
    assert_eq!(window_json["values"].as_array().map(Vec::len), Some(2));
}

/// A template that is not a provider spec fails the task (one Error line, exit 1) and the
/// failure is recorded; a template URL that does not answer fails it too.
#[test]
fn broken_templates_fail_the_task() {
    let bad = serve_text("url: [not closed\n".to_string());
    for (url, want) in [
        (format!("{bad}/bad.tpl"), "is not a provider spec"),
        (
            format!("http://127.0.0.1:{}/gone.tpl", free_port()),
            "unable to fetch template",
        ),
    ] {
        let run = tempfile::tempdir().expect("tmp");
        let dir = run.path().to_str().expect("utf8");
        let (code, _, err) = iter8(&[
            "launch",
            "--runDir",
            dir,
            "--set",
            "tasks={custommetrics}",
            "--set",
            &format!("custommetrics.templates.p={url}"),
            "--noProgress",
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(want), "{err}");
        let text = std::fs::read_to_string(run.path().join("experiment.yaml")).expect("written");
        let exp = runner::Experiment::from_yaml(&text).expect("parse");
        assert!(
            exp.result.as_ref().is_some_and(|r| r.failure),
            "failure recorded"
        );
    }
}
