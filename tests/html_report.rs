//! The HTML report in a real browser: headless Chromium loads the page from disk with the
//! network unused, reports no console messages, and plotly draws the latency histogram (bars
//! in the DOM), the time series and a capacity search's plot. Screenshots are kept under
//! `target/test-artifacts/` for people to look at.

mod support;

use std::process::Command;

use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &std::path::Path) -> Command {
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--window-size=1200,1800",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Render `html` in Chromium: the page body of its DOM (console messages refused) and a
/// screenshot saved as `shot` in the test artifacts.
fn render(dir: &std::path::Path, html: &[u8], shot: &str) -> String {
    let page = dir.join("report.html");
    std::fs::write(&page, html).expect("write report.html");
    let url = format!("file://{}", page.display());
    let profile = run_dir();
    let dom = chromium(profile.path())
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium --dump-dom");
    let (dom_text, log) = texts(&dom);
    assert!(dom.status.success(), "chromium failed: {log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let shot = artifacts_dir().join(shot);
    let profile = run_dir();
    let out = chromium(profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("run chromium --screenshot");
    assert!(out.status.success(), "{}", texts(&out).1);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
    // The page body (plotly.js itself sits in <head>).
    dom_text[dom_text.find("<main").expect("<main> in DOM")..].to_string()
}

/// A capacity search's report draws its time series and its probes (latency against rate,
/// the capacity marked) in Chromium without console messages.
#[test]
fn capacity_report_renders_in_chromium() {
    let target = runner::target::BackgroundTarget::start("127.0.0.1:0".parse().expect("addr"))
        .expect("start target");
    let dir = run_dir();
    let d = dir.path().display().to_string();
    let exp = format!(
        "spec:\n- task: http\n  with:\n    url: {}/echo?delay=2ms:50\n    connections: 4\n    \
         capacity: {{startRate: 25, maxRate: 100, probeDuration: 2s, maxGeneratorLag: 1s}}\n\
         - task: assess\n  with:\n    SLOs:\n      upper:\n      - metric: http/latency-p99\n        limit: 1000\n\
         result: {{}}\n",
        target.url()
    );
    std::fs::write(dir.path().join("experiment.yaml"), exp).expect("write experiment");
    let out = run_iter8(&["run", "--runDir", &d]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let out = run_iter8(&["report", "-o", "html", "--runDir", &d]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let body = render(dir.path(), &out.stdout, "html-report-capacity.png");
    assert!(
        body.contains("http: latency against achieved rate"),
        "capacity plot"
    );
    assert!(body.contains("class=\"annotation\""), "the capacity marked");
    assert!(body.contains("http over time"), "time series plot");
    assert!(body.contains("capacity at least"), "the verdict");
    // Three probes (25, 50, 100), each a point of p50, p90 and p99.
    assert!(body.contains("data-probes=\"3\""), "three probes");
}

/// A report of a real run against the sample target renders in Chromium without console
/// messages, with the latency histogram's bars and the time series drawn.
#[test]
fn html_report_renders_in_chromium() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} missing (apt-get install -y chromium)"
    );
    let target = runner::target::BackgroundTarget::start("127.0.0.1:0".parse().expect("addr"))
        .expect("start target");
    let dir = run_dir();
    let d = dir.path().display().to_string();
    let exp = format!(
        "spec:\n- task: http\n  with:\n    url: {}/echo?delay=2ms:50\n    numRequests: 60\n    qps: 300\n\
         - task: assess\n  with:\n    SLOs:\n      upper:\n      - metric: http/latency-mean\n        limit: 500\n\
         result: {{}}\n",
        target.url()
    );
    std::fs::write(dir.path().join("experiment.yaml"), exp).expect("write experiment");
    let out = run_iter8(&["run", "--runDir", &d]);
    assert!(out.status.success(), "{}", texts(&out).1);

    let out = run_iter8(&["report", "-o", "html", "--runDir", &d]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let body = render(dir.path(), &out.stdout, "html-report.png");
    assert_eq!(
        body.matches("class=\"chart js-plotly-plot\"").count(),
        2,
        "the time series and the histogram"
    );
    assert!(body.contains("http over time"));
    assert!(body.contains("Histogram of http/latency (msec)"));
    let bars = body.matches("class=\"point\"").count();
    assert!(bars >= 2, "histogram bars drawn: {bars}");
    assert!(body.contains("http/latency-mean (msec) ≤ 500"));
}
