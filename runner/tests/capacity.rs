//! The capacity search against a real server on 127.0.0.1 whose capacity is known by
//! construction: `/workers/8/50` has 8 workers that each hold a request 50 ms, first come first
//! served, so it serves at most 8 / 50 ms = 160 requests/sec. Its own test binary, the tests
//! one at a time, so no other load shares the cores.

mod support;

use runner::experiment::Experiment;
use support::{Proto, metric, run_spec, start};

/// The timing tests run one at a time.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The server's path and the model's capacity of it (requests/sec).
const WORKERS: &str = "/workers/8/50";
const MODEL_CAPACITY: f64 = 8.0 / 0.050;

/// An http task searching `url` with `capacity` (YAML flow mapping entries) and a p99 SLO of
/// `p99_ms`. The generator may lag up to 250 ms (p99) before the search refuses: the machine
/// running the tests is shared, and a lag the generator keeps out of the latencies does not
/// change the target's figures.
fn search_spec(url: &str, capacity: &str, p99_ms: f64) -> String {
    format!(
        "- task: http\n  with:\n    url: {url}\n    connections: 24\n    \
         capacity: {{probeDuration: 2s, maxGeneratorLag: 250ms, {capacity}}}\n\
         - task: assess\n  with:\n    SLOs:\n      upper:\n      \
         - {{metric: http/latency-p99, limit: {p99_ms}}}\n      lower:\n      \
         - {{metric: http/capacity, limit: 1}}\n"
    )
}

/// Every value of a Sample metric of version 0.
fn sample(e: &Experiment, name: &str) -> Vec<f64> {
    e.result
        .as_ref()
        .and_then(|r| r.insights.as_ref())
        .and_then(|i| i.non_hist_metric_values.first())
        .and_then(|m| m.get(name))
        .cloned()
        .unwrap_or_default()
}

fn show(e: &Experiment) {
    for m in [
        "offered-rate",
        "achieved-rate",
        "latency-p99",
        "passed",
        "error-rate",
    ] {
        eprintln!("{m}: {:?}", sample(e, &format!("http/capacity-probe-{m}")));
    }
    eprintln!(
        "outcome {:?}, capacity {:?}, generator lag p99 {:?} ms",
        metric(e, "http/capacity-outcome"),
        metric(e, "http/capacity"),
        metric(e, "http/generator-lag-p99")
    );
}

/// With a p99 SLO of twice the service time, the search names a capacity within 5 % of
/// the model's 160 requests/sec in at most 12 probes, confirms it (the last probe passes at a rate
/// offered before), and `assess` sees the capacity as a metric.
#[test]
fn finds_the_model_capacity() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(Proto::H1);
    let spec = search_spec(&server.url(WORKERS), "startRate: 40", 100.0);
    let (r, e) = run_spec(&spec);
    show(&e);
    r.expect("the experiment runs");
    assert_eq!(metric(&e, "http/capacity-outcome"), Some(0.0));
    let c = metric(&e, "http/capacity").expect("a capacity is named");
    assert!(
        (c - MODEL_CAPACITY).abs() <= 0.05 * MODEL_CAPACITY,
        "capacity {c:.1}, model {MODEL_CAPACITY}"
    );
    let offered = sample(&e, "http/capacity-probe-offered-rate");
    let passed = sample(&e, "http/capacity-probe-passed");
    assert!(offered.len() <= 12, "{} probes", offered.len());
    assert_eq!(offered[0], 40.0);
    let last = offered.len() - 1;
    assert_eq!(passed[last], 1.0);
    assert!(offered[..last].contains(&offered[last]), "a confirmation");
    assert!(passed.contains(&0.0), "some probe failed");
    assert!(
        e.slos(),
        "the task's metrics are the named probe's: the SLOs hold"
    );
}

/// A loose SLO still met at the maximum rate gives a lower bound, marked as such.
#[test]
fn loose_slo_gives_a_lower_bound() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(Proto::H1);
    let spec = search_spec(
        &server.url(WORKERS),
        "startRate: 40, maxRate: 160",
        10_000.0,
    );
    let (r, e) = run_spec(&spec);
    show(&e);
    r.expect("the experiment runs");
    assert_eq!(metric(&e, "http/capacity-outcome"), Some(1.0));
    assert_eq!(
        sample(&e, "http/capacity-probe-offered-rate"),
        vec![40.0, 80.0, 160.0]
    );
    let c = metric(&e, "http/capacity").expect("a lower bound is named");
    assert!((c - 160.0).abs() <= 0.05 * 160.0, "{c}");
}

/// When the start rate already fails, the search goes down, then bisects to the model's
/// capacity.
#[test]
fn searches_downward_from_a_failing_start() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(Proto::H1);
    let spec = search_spec(&server.url(WORKERS), "startRate: 640", 100.0);
    let (r, e) = run_spec(&spec);
    show(&e);
    r.expect("the experiment runs");
    let offered = sample(&e, "http/capacity-probe-offered-rate");
    let passed = sample(&e, "http/capacity-probe-passed");
    assert_eq!(passed[0], 0.0);
    assert_eq!(offered[1], 320.0);
    assert!(offered.len() <= 12, "{} probes", offered.len());
    let c = metric(&e, "http/capacity").expect("a capacity is named");
    assert!(
        (c - MODEL_CAPACITY).abs() <= 0.05 * MODEL_CAPACITY,
        "capacity {c:.1}, model {MODEL_CAPACITY}"
    );
}

/// Without SLOs to judge probes on, the experiment is refused before any load, naming the
/// field.
#[test]
fn no_slos_is_refused() {
    let (r, _) = run_spec(
        "- task: http\n  with:\n    url: http://127.0.0.1:9/\n    capacity: {startRate: 5}\n",
    );
    let err = runner::task::error_chain(&r.expect_err("refused"));
    assert!(
        err.contains("invalid input capacity.SLOs: missing"),
        "{err}"
    );
}

/// The id of the calling thread (Linux keeps CPU affinity and nice values per thread).
fn thread_id() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name()
        .expect("task id")
        .to_string_lossy()
        .into_owned()
}

/// Busy loops pinned to CPU 0 under `timeout` (60 s at most), ended when dropped: SIGTERM to
/// `timeout`, which passes it on to its busy loop.
struct Hogs(Vec<std::process::Child>);

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

/// With the generator pinned to one core at the lowest priority beside busy loops on that
/// core, it cannot keep its schedule (lag p99 far above 100 ms, where the other tests on the
/// same busy machine see 15-30 ms): the search refuses to name a capacity and says so.
#[test]
fn refuses_when_the_generator_falls_behind() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(Proto::H1);
    let hogs = Hogs(
        (0..2)
            .map(|_| {
                std::process::Command::new("timeout")
                    .args([
                        "60",
                        "taskset",
                        "-c",
                        "0",
                        "sh",
                        "-c",
                        "while :; do :; done",
                    ])
                    .spawn()
                    .expect("start a busy loop")
            })
            .collect(),
    );
    let url = server.url("/");
    let (r, e) = std::thread::spawn(move || {
        let tid = thread_id();
        for cmd in [
            vec!["taskset", "-p", "-c", "0", &tid],
            vec!["renice", "-n", "19", "-p", &tid],
        ] {
            let out = std::process::Command::new(cmd[0])
                .args(&cmd[1..])
                .output()
                .expect("taskset and renice (util-linux)");
            assert!(out.status.success(), "{cmd:?}: {out:?}");
        }
        // The load threads inherit this thread's core and priority.
        run_spec(&format!(
            "- task: http\n  with:\n    url: {url}\n    connections: 8\n    \
             capacity: {{probeDuration: 2s, startRate: 4000, maxGeneratorLag: 100ms, SLOs: {{upper: \
             [{{metric: http/error-rate, limit: 0}}]}}}}\n"
        ))
    })
    .join()
    .expect("the run thread");
    drop(hogs);
    show(&e);
    r.expect("the experiment runs");
    assert_eq!(metric(&e, "http/capacity-outcome"), Some(4.0));
    assert_eq!(metric(&e, "http/capacity"), None);
    // The search ends at the first probe whose generator fell behind: which one that is
    // depends on how much CPU the generator got before it (the first, or a later one).
    let probes = sample(&e, "http/capacity-probe-offered-rate").len();
    assert!(
        (1..=4).contains(&probes),
        "{probes} probes before the refusal"
    );
}
