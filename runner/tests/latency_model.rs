//! Latency truth under an open-model load, against a real server on 127.0.0.1 with a known
//! service time: the reported figures are compared with a queueing model of the schedule.
//! Its own test binary, so that no full-speed load of another test shares the cores.

mod support;

use support::{Proto, metric, run_spec, start};

/// The timing-model tests run one at a time.
static MODEL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What a perfect open-model generator would measure against a target that answers every
/// request in `service` seconds: per connection, request `i` is intended at `(i·c + k) / qps`,
/// sent when that time comes and the connection is free, and its latency runs from the
/// intended time to the response. Sends stop at `duration`; what is still waiting for a busy
/// connection then is queued at the end. Returns the sorted latencies (ms) and that count.
fn queue_model(qps: f64, c: u64, duration: f64, service: f64) -> (Vec<f64>, u64) {
    let mut lat = Vec::new();
    let mut queued = 0;
    for k in 0..c {
        let mut free = 0.0_f64;
        for i in 0.. {
            let t = (i * c + k) as f64 / qps;
            if t >= duration {
                break;
            }
            let send = t.max(free);
            if send >= duration {
                queued += 1;
                continue;
            }
            free = send + service;
            lat.push((free - t) * 1000.0);
        }
    }
    lat.sort_by(f64::total_cmp);
    (lat, queued)
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn within(observed: f64, model: f64, tolerance: f64, what: &str) {
    eprintln!("{what}: observed {observed:.1}, model {model:.1}");
    assert!(
        (observed - model).abs() <= tolerance * model,
        "{what}: observed {observed:.1}, model {model:.1} (tolerance {:.0} %)",
        tolerance * 100.0
    );
}

/// A target slower than the offered rate (50 ms per request, 8 connections carry at most
/// 160 req/s, 200 req/s offered): requests queue in the generator, and the corrected p50, p99
/// and max follow a queueing model of the schedule within 10 %, while the uncorrected figures
/// stay at the service time. The requests still queued at the end are counted, and the report
/// says the target could not carry the rate.
#[test]
fn latency_follows_the_queue_when_the_target_is_overloaded() {
    let _serial = MODEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    duration: 5s\n    qps: 200\n    connections: 8\n",
        s.url("/delay/50")
    ));
    r.expect("run succeeds");
    // The model runs on the service time the target actually gave (50 ms and a little).
    let service = metric(&e, "http/latency-uncorrected-mean").expect("service time") / 1000.0;
    assert!(service >= 0.050, "service time {service}");
    let (model, queued) = queue_model(200.0, 8, 5.0, service);
    let m = |n: &str| metric(&e, &format!("http/{n}")).unwrap_or_else(|| panic!("metric {n}"));
    within(m("latency-p50"), pct(&model, 50.0), 0.1, "p50");
    within(m("latency-p99"), pct(&model, 99.0), 0.1, "p99");
    within(m("latency-max"), pct(&model, 100.0), 0.1, "max");
    within(m("request-count"), model.len() as f64, 0.1, "requests sent");
    within(m("queued-at-end"), queued as f64, 0.1, "queued at the end");
    // The uncorrected figures leave the queue out. The bound is half the queue the model
    // predicts at p99 (about 1 s), not a multiple of the service time: a loaded machine
    // stretches single service times, a queue counted in would add hundreds of ms to all.
    assert!(
        m("latency-uncorrected-p99") < pct(&model, 99.0) / 2.0,
        "service time p99 {} against the model's corrected p99 {}",
        m("latency-uncorrected-p99"),
        pct(&model, 99.0)
    );
    assert!(
        m("queue-wait-max") >= 900.0,
        "queue wait {}",
        m("queue-wait-max")
    );
    assert_eq!(m("offered-rate"), 200.0);
    assert!(
        m("achieved-rate") < 170.0,
        "achieved {}",
        m("achieved-rate")
    );
    let report = runner::report::text(&e);
    assert!(
        report.contains("Load warnings:")
            && report.contains("http: the target could not carry the offered rate: offered 200"),
        "{report}"
    );
    let html = runner::report::html(&e).expect("html report");
    assert!(html.contains("id=\"load-warnings\""));
}

/// Below capacity (100 req/s on 8 connections, 50 ms each) nothing queues: p50 is the service
/// time (about 50 ms, the same as the uncorrected figure), p99 and max add to the service
/// time's no more than the server's overruns of the 80 ms interval allow (none on an idle
/// machine), and the report carries no load warning.
#[test]
fn latency_is_the_service_time_below_capacity() {
    let _serial = MODEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    duration: 3s\n    qps: 100\n    connections: 8\n",
        s.url("/delay/50")
    ));
    r.expect("run succeeds");
    let m = |n: &str| metric(&e, &format!("http/{n}")).unwrap_or_else(|| panic!("metric {n}"));
    assert!(m("latency-uncorrected-p50") >= 50.0);
    within(m("latency-p50"), m("latency-uncorrected-p50"), 0.1, "p50");
    // A request waits for its connection only behind one that took longer than the interval
    // between its connection's sends (80 ms), and by at most that overrun: on an idle machine
    // none does, and p99 and max are the service time's; on a loaded one the server's slowest
    // answers may overrun, and the wait they cause is the target's, counted from the intended
    // time. That overrun, seen in the uncorrected max, bounds what the correction may add.
    let overrun = (m("latency-uncorrected-max") - 80.0).max(0.0);
    for (p, u) in [("p99", "uncorrected-p99"), ("max", "uncorrected-max")] {
        let (corrected, service) = (m(&format!("latency-{p}")), m(&format!("latency-{u}")));
        eprintln!("{p}: corrected {corrected:.1}, service {service:.1}, overrun {overrun:.1}");
        assert!(
            corrected >= service * 0.99 && corrected <= (service + overrun) * 1.1,
            "{p}: corrected {corrected:.1} ms, service time {service:.1} ms, longest overrun \
             of the 80 ms interval {overrun:.1} ms"
        );
    }
    assert_eq!(m("queued-at-end"), 0.0);
    assert_eq!(m("request-count"), 300.0);
    assert!(!runner::report::text(&e).contains("could not carry"));
}

/// A 1 s stall of a target that answers in 20 ms at 80 % of its capacity (4 connections,
/// 160 req/s) shows in the corrected p99 (at least 500 ms): the backlog drains slowly, and the
/// wait of every request behind the stall counts; neither the median service time nor the
/// generator's lag takes it.
#[test]
fn stall_near_capacity_shows_in_p99() {
    let _serial = MODEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = start(Proto::H1);
    let (r, e) = run_spec(&format!(
        "- task: http\n  with:\n    url: {}\n    duration: 4s\n    qps: 160\n    connections: 4\n",
        s.url("/stall/delay/20")
    ));
    r.expect("run succeeds");
    let m = |n: &str| metric(&e, &format!("http/{n}")).unwrap_or_else(|| panic!("metric {n}"));
    let p99 = m("latency-p99");
    assert!(p99 >= 500.0, "corrected p99 {p99}");
    // The stall is the target's: it stays out of the median service time and out of the
    // generator's lag. Both bounds are a quarter of the corrected p99 (at least 125 ms), far
    // above what a loaded machine adds to a 20 ms service time or to a timer's wake-up, and
    // far below the hundreds of ms the stall would put there if it were misattributed.
    assert!(
        m("latency-uncorrected-p50") < p99 / 4.0,
        "service time p50 {} against the corrected p99 {p99}",
        m("latency-uncorrected-p50")
    );
    assert!(
        m("generator-lag-p99") < p99 / 4.0,
        "generator lag p99 {} against the corrected p99 {p99}",
        m("generator-lag-p99")
    );
}
