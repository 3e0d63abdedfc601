//! Minimal driver of the HTTP load generator for benchmarks: `loadgen <url> <requests> <connections> <qps> [threads]`.
//! Prints requests, seconds, achieved rate and latency percentiles; nothing else.

use std::time::Duration;

use runner::load::http::run;
use runner::load::{LoadSpec, Pace, Stop};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: loadgen <url> <requests> <connections> <qps> [threads]");
        std::process::exit(2);
    }
    let n: u64 = args[2].parse().expect("requests");
    let c: usize = args[3].parse().expect("connections");
    let qps: f64 = args[4].parse().expect("qps");
    let threads: usize = args.get(5).map_or(1, |t| t.parse().expect("threads"));
    let spec = LoadSpec {
        url: args[1].clone(),
        method: http::Method::GET,
        headers: Vec::new(),
        body: bytes::Bytes::new(),
        stop: Stop::Requests(n),
        pace: Pace::from_qps(qps),
        connections: c,
        threads,
        timeout: Duration::from_secs(3),
        http2: false,
        insecure_skip_verify: false,
        initial_fetch: false,
        allow_initial_errors: true,
        io: runner::load::IoMode::from_env(),
    };
    let r = run(&spec, &mut |_| {}).expect("load run");
    println!(
        "requests {} errors {} secs {:.3} achieved {:.1} p50 {:.3} p99 {:.3} p99u {:.3} p50u {:.3}",
        r.corrected.count(),
        r.codes
            .iter()
            .filter(|(c, _)| *c != 200)
            .map(|(_, n)| n)
            .sum::<u64>(),
        r.elapsed.as_secs_f64(),
        r.achieved_qps,
        r.corrected.percentile_ms(50.0).unwrap_or(0.0),
        r.corrected.percentile_ms(99.0).unwrap_or(0.0),
        r.uncorrected.percentile_ms(99.0).unwrap_or(0.0),
        r.uncorrected.percentile_ms(50.0).unwrap_or(0.0),
    );
    println!("io {}", r.io);
}
