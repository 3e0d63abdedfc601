//! The `http` task: HTTP load generation and Iter8's built-in HTTP metrics (Iter8 v0.13 §4.1).
//!
//! # Inputs (`with`, keys case-insensitive; every key also allowed per endpoint)
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `url` | — | Target (`http://` or `https://`). |
//! | `numRequests` | 100 if neither it nor `duration` is set | Exact total; wins over `duration`. |
//! | `duration` | — | Go duration (`30s`, `1m30s`, `500ms`). |
//! | `qps` | 8 | Aggregate rate (open model). **`0` or negative → closed loop at full speed** (Iter8 v0.13 mapped `0` to 8). |
//! | `connections` | 4 | Parallel connections, one request in flight each. |
//! | `payloadStr` / `payloadFile` / `payloadURL` | — | Body; file wins over URL wins over string. `payloadURL` is fetched with GET when the task starts. |
//! | `contentType` | — | `Content-Type`; POST when a payload or content type is set, else GET. |
//! | `headers` | — | Extra headers (endpoint headers merged over top-level ones). |
//! | `errorRanges` | `[{lower: 400}]` | Inclusive status ranges counted as errors; transport failures (`-1`) always are. |
//! | `percentiles` | — | Extra percentiles; 50, 75, 90, 95, 99, 99.9 are always reported. |
//! | `allowInitialErrors` | false | Duration mode: each connection's first (untimed) request must be 2xx/418 unless true. |
//! | `warmup` | false | Generate the load but record nothing. |
//! | `warmupNumRequests` / `warmupDuration` | — | Run a discarded warm-up phase first (skipped when the previous task is an Iter8-chart warm-up `http` task). |
//! | `endpoints` | — | Map id → endpoint inputs; run one after another; metrics under `http-<id>`. |
//! | `timeout` | `3s` | Per-request timeout (Fortio's default); a timeout counts as status `-1`. |
//! | `http2` | false | Speak HTTP/2: h2c (prior knowledge) on `http://`, ALPN `h2` only on `https://`; when false, HTTP/1.1 (ALPN `http/1.1` only). |
//! | `insecureSkipVerify` | false | Accept any TLS certificate. |
//! | `threads` | min(connections, CPUs) | OS threads of the generator. |
//!
//! # Metrics (provider `http`, or `http-<id>` per endpoint; latencies in msec)
//!
//! Iter8's: `request-count`, `error-count` (Counter), `error-rate` (Gauge, only when requests
//! were sent), `latency-mean|stddev|min|max`, `latency-p<X>` (Gauge, msec), and the Histogram
//! `http/latency` (Fortio's bucket layout; always under `http/`, endpoints append to it, as in
//! Iter8), and, for endpoints, also `http-<id>/latency` holding that endpoint's alone. Latencies are measured from the **intended** send time under an open-model schedule
//! (coordinated-omission corrected; equal to service time in closed-loop mode).
//!
//! Added by this runner: `latency-uncorrected-mean|stddev|min|max|p<X>` (service time from the
//! actual send, what Fortio/Iter8 v0.13 reported) and `achieved-rate` (Gauge, requests/sec). When
//! a paced run achieves less than 90% of `qps`, a warning is reported. The protocol spoken
//! (`HTTP/1.1`, `HTTP/1.1 over TLS`, `HTTP/2 over TLS`, `HTTP/2 cleartext (h2c)`) is kept per
//! provider in the insights' `protocols` map, which both reports show.
//!
//! Differences from Iter8 kept on purpose: an endpoint with its own `duration` is not forced to
//! the top-level default of 100 requests, and default percentiles are added to endpoint lists.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::experiment::{
    Experiment, Insights, MetricMeta, MetricType, MetricValue, Shape, format_go_float, parse_inputs,
};
use crate::load::{self, IoMode, LoadReport, LoadSpec, Pace, Stop};
use crate::task::{Event, TaskContext, TaskError};

/// Fortio's default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Iter8's default percentiles.
pub const DEFAULT_PERCENTILES: [f64; 6] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

/// An inclusive status-code range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRange {
    /// Lowest code counted (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<i64>,
    /// Highest code counted (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<i64>,
}

/// Inputs of the task or of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointInputs {
    /// Exact number of requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_requests: Option<i64>,
    /// Go duration string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Aggregate rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qps: Option<f64>,
    /// Parallel connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<i64>,
    /// Body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_str: Option<String>,
    /// Body file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_file: Option<String>,
    /// Body URL.
    #[serde(
        rename = "payloadURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payload_url: Option<String>,
    /// Content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Error ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_ranges: Option<Vec<ErrorRange>>,
    /// Percentiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentiles: Option<Vec<f64>>,
    /// Headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Target URL.
    #[serde(default)]
    pub url: String,
    /// Tolerate non-2xx initial fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_initial_errors: Option<bool>,
    /// Record nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<bool>,
    /// Warm-up request count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_num_requests: Option<i64>,
    /// Warm-up duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_duration: Option<String>,
    /// Per-request timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// h2c on http URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2: Option<bool>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// Generator threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<i64>,
}

/// All inputs of the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpInputs {
    /// Top-level inputs.
    #[serde(flatten)]
    pub base: EndpointInputs,
    /// Endpoints by id (`null` when unset, as Iter8 writes it).
    #[serde(default)]
    pub endpoints: Option<BTreeMap<String, EndpointInputs>>,
}

const RANGE_SHAPE: Shape = Shape::Obj(&[("lower", Shape::Leaf), ("upper", Shape::Leaf)]);
const ENDPOINT_FIELDS: &[(&str, Shape)] = &[
    ("numRequests", Shape::Leaf),
    ("duration", Shape::Leaf),
    ("qps", Shape::Leaf),
    ("connections", Shape::Leaf),
    ("payloadStr", Shape::Leaf),
    ("payloadFile", Shape::Leaf),
    ("payloadURL", Shape::Leaf),
    ("contentType", Shape::Leaf),
    ("errorRanges", Shape::List(&RANGE_SHAPE)),
    ("percentiles", Shape::Leaf),
    ("headers", Shape::Leaf),
    ("url", Shape::Leaf),
    ("allowInitialErrors", Shape::Leaf),
    ("warmup", Shape::Leaf),
    ("warmupNumRequests", Shape::Leaf),
    ("warmupDuration", Shape::Leaf),
    ("timeout", Shape::Leaf),
    ("http2", Shape::Leaf),
    ("insecureSkipVerify", Shape::Leaf),
    ("threads", Shape::Leaf),
];
const ENDPOINT_SHAPE: Shape = Shape::Obj(ENDPOINT_FIELDS);
const HTTP_SHAPE: Shape = Shape::Obj(&[
    ("numRequests", Shape::Leaf),
    ("duration", Shape::Leaf),
    ("qps", Shape::Leaf),
    ("connections", Shape::Leaf),
    ("payloadStr", Shape::Leaf),
    ("payloadFile", Shape::Leaf),
    ("payloadURL", Shape::Leaf),
    ("contentType", Shape::Leaf),
    ("errorRanges", Shape::List(&RANGE_SHAPE)),
    ("percentiles", Shape::Leaf),
    ("headers", Shape::Leaf),
    ("url", Shape::Leaf),
    ("allowInitialErrors", Shape::Leaf),
    ("warmup", Shape::Leaf),
    ("warmupNumRequests", Shape::Leaf),
    ("warmupDuration", Shape::Leaf),
    ("timeout", Shape::Leaf),
    ("http2", Shape::Leaf),
    ("insecureSkipVerify", Shape::Leaf),
    ("threads", Shape::Leaf),
    ("endpoints", Shape::Map(&ENDPOINT_SHAPE)),
]);

/// Parse the task's `with` (case-insensitive keys, unknown keys ignored).
pub fn parse(with: Option<&serde_json::Value>) -> Result<HttpInputs, TaskError> {
    parse_inputs(with, &HTTP_SHAPE).map_err(|source| TaskError::Inputs {
        task: "http".into(),
        source,
    })
}

/// Parse a Go duration string (`300ms`, `1.5s`, `1h2m3s`, `10us`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += v * mult;
    }
    Some(Duration::from_secs_f64(total))
}

impl HttpInputs {
    /// Fill Iter8's defaults into the top level (Go `initializeDefaults`).
    pub fn apply_defaults(&mut self) {
        let b = &mut self.base;
        if b.num_requests.is_none() && b.duration.is_none() {
            b.num_requests = Some(100);
        }
        b.qps.get_or_insert(8.0);
        b.connections.get_or_insert(4);
        b.error_ranges.get_or_insert_with(|| {
            vec![ErrorRange {
                lower: Some(400),
                upper: None,
            }]
        });
        b.percentiles = Some(with_default_percentiles(b.percentiles.as_deref()));
        b.allow_initial_errors.get_or_insert(false);
    }

    /// Effective inputs of endpoint `ep` (unset fields from the defaulted top level).
    pub fn merged(&self, raw_top: &EndpointInputs, ep: &EndpointInputs) -> EndpointInputs {
        let top = &self.base;
        let mut e = ep.clone();
        if e.num_requests.is_none() && e.duration.is_none() {
            e.num_requests = raw_top.num_requests;
            e.duration = raw_top.duration.clone();
            if e.num_requests.is_none() && e.duration.is_none() {
                e.num_requests = Some(100);
            }
        }
        macro_rules! fill {
            ($($f:ident),*) => {$( if e.$f.is_none() { e.$f = top.$f.clone(); } )*};
        }
        fill!(
            qps,
            connections,
            payload_str,
            payload_file,
            payload_url,
            content_type,
            error_ranges,
            allow_initial_errors,
            timeout,
            http2,
            insecure_skip_verify,
            threads,
            warmup_num_requests,
            warmup_duration
        );
        if e.url.is_empty() {
            e.url = top.url.clone();
        }
        e.percentiles = Some(with_default_percentiles(
            e.percentiles.as_deref().or(raw_top.percentiles.as_deref()),
        ));
        let mut headers = top.headers.clone().unwrap_or_default();
        headers.extend(e.headers.clone().unwrap_or_default());
        e.headers = (!headers.is_empty()).then_some(headers);
        e
    }
}

fn with_default_percentiles(user: Option<&[f64]>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for &p in user.unwrap_or(&[]).iter().chain(DEFAULT_PERCENTILES.iter()) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Whether `code` counts as an error under `ranges` (`-1` always does).
pub fn is_error(code: i32, ranges: &[ErrorRange]) -> bool {
    if code == -1 {
        return true;
    }
    let c = i64::from(code);
    ranges.iter().any(|r| match (r.lower, r.upper) {
        (Some(l), Some(u)) => l <= c && c <= u,
        (Some(l), None) => c >= l,
        (None, Some(u)) => c <= u,
        (None, None) => false,
    })
}

fn invalid(field: &str, message: impl Into<String>) -> TaskError {
    TaskError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Build the load spec of one (merged) endpoint.
pub fn load_spec(e: &EndpointInputs) -> Result<LoadSpec, TaskError> {
    if e.url.is_empty() {
        return Err(invalid("url", "missing; set url or endpoints.<id>.url"));
    }
    let stop = match (e.num_requests, &e.duration) {
        (Some(n), _) if n >= 0 => Stop::Requests(n as u64),
        (Some(n), _) => return Err(invalid("numRequests", format!("{n} is negative"))),
        (None, Some(d)) => Stop::Duration(
            parse_go_duration(d)
                .ok_or_else(|| invalid("duration", format!("{d:?} is not a duration")))?,
        ),
        (None, None) => Stop::Requests(100),
    };
    let connections = e.connections.unwrap_or(4);
    if connections < 1 {
        return Err(invalid(
            "connections",
            format!("{connections} must be at least 1"),
        ));
    }
    let connections = connections as usize;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match e.threads {
        Some(t) if t >= 1 => t as usize,
        Some(t) => return Err(invalid("threads", format!("{t} must be at least 1"))),
        None => connections.min(cpus),
    };
    let timeout = match &e.timeout {
        None => DEFAULT_TIMEOUT,
        Some(t) => parse_go_duration(t)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| invalid("timeout", format!("{t:?} is not a positive duration")))?,
    };
    let mut body = Bytes::new();
    if let Some(s) = &e.payload_str {
        body = Bytes::from(s.clone());
    }
    if let Some(path) = &e.payload_file {
        body = Bytes::from(
            std::fs::read(path).map_err(|source| TaskError::PayloadFile {
                path: path.clone(),
                source,
            })?,
        );
    } else if let Some(url) = &e.payload_url {
        body = fetch_payload(url, e.insecure_skip_verify.unwrap_or(false))?;
    }
    let mut headers: Vec<(String, String)> = e
        .headers
        .as_ref()
        .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if let Some(ct) = &e.content_type {
        headers.push(("content-type".into(), ct.clone()));
    }
    let method = if !body.is_empty() || e.content_type.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    let initial_fetch = matches!(stop, Stop::Duration(_));
    Ok(LoadSpec {
        url: e.url.clone(),
        method,
        headers,
        body,
        stop,
        pace: Pace::from_qps(e.qps.unwrap_or(8.0)),
        connections,
        threads,
        timeout,
        http2: e.http2.unwrap_or(false),
        insecure_skip_verify: e.insecure_skip_verify.unwrap_or(false),
        initial_fetch,
        allow_initial_errors: e.allow_initial_errors.unwrap_or(false),
        io: IoMode::from_env(),
    })
}

/// GET `url` and return its body (for `payloadURL`).
fn fetch_payload(url: &str, insecure: bool) -> Result<Bytes, TaskError> {
    crate::load::http::get(url, insecure, Duration::from_secs(30)).map_err(|message| {
        TaskError::PayloadUrl {
            url: url.to_string(),
            message,
        }
    })
}

fn run_load(
    spec: &LoadSpec,
    provider: &str,
    ctx: &TaskContext<'_>,
) -> Result<LoadReport, TaskError> {
    let index = ctx.index;
    let events = ctx.events;
    load::http::run(spec, &mut |p| {
        events(&Event::Load {
            index,
            provider: provider.to_string(),
            done: p.done,
            total: p.total,
            elapsed: p.elapsed,
            duration: p.duration,
        })
    })
    .inspect(|r| {
        let message = match &r.io_note {
            Some(why) => format!(
                "{provider}: io_uring unavailable ({why}); load ran on {}, {}",
                r.io, r.protocol
            ),
            None => format!("{provider}: load ran on {}, {}", r.io, r.protocol),
        };
        events(&Event::Debug { index, message });
    })
    .map_err(|source| TaskError::Load {
        provider: provider.to_string(),
        source,
    })
}

fn previous_is_chart_warmup(ctx: &TaskContext<'_>) -> bool {
    ctx.previous.is_some_and(|p| {
        !p.is_run()
            && p.name() == "http"
            && parse(p.with.as_ref())
                .map(|i| i.base.warmup == Some(true))
                .unwrap_or(false)
    })
}

/// Run one endpoint: optional warm-up phase, then the measured load.
fn run_endpoint(
    e: &EndpointInputs,
    provider: &str,
    skip_warmup_phase: bool,
    ctx: &TaskContext<'_>,
) -> Result<LoadReport, TaskError> {
    let spec = load_spec(e)?;
    if !skip_warmup_phase && (e.warmup_num_requests.is_some() || e.warmup_duration.is_some()) {
        let mut w = spec.clone();
        w.stop = match (e.warmup_num_requests, &e.warmup_duration) {
            (Some(n), _) => Stop::Requests(n.max(0) as u64),
            (None, Some(d)) => Stop::Duration(
                parse_go_duration(d)
                    .ok_or_else(|| invalid("warmupDuration", format!("{d:?} is not a duration")))?,
            ),
            (None, None) => Stop::Requests(0),
        };
        run_load(&w, &format!("{provider} (warmup)"), ctx)?;
    }
    run_load(&spec, provider, ctx)
}

/// Run the task.
pub fn run(exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
    let mut inputs = parse(ctx.spec.with.as_ref())?;
    let raw_top = inputs.base.clone();
    inputs.apply_defaults();
    // Iter8 writes the task back with its defaults filled in.
    if let Some(t) = exp.spec.get_mut(ctx.index - 1)
        && let Ok(v) = serde_json::to_value(&inputs)
    {
        t.with = Some(v);
    }
    let skip_warmup_phase = previous_is_chart_warmup(ctx);
    let mut results: Vec<(String, EndpointInputs, LoadReport)> = Vec::new();
    match inputs.endpoints.as_ref().filter(|m| !m.is_empty()) {
        Some(eps) => {
            for (id, ep) in eps {
                let merged = inputs.merged(&raw_top, ep);
                let provider = format!("http-{id}");
                match run_endpoint(&merged, &provider, skip_warmup_phase, ctx) {
                    Ok(r) => results.push((provider, merged, r)),
                    Err(e) => ctx.warn(format!(
                        "load generation for endpoint {id:?} failed; skipping it: {}",
                        crate::task::error_chain(&e)
                    )),
                }
            }
        }
        None => {
            let r = run_endpoint(&inputs.base, "http", skip_warmup_phase, ctx)?;
            results.push(("http".into(), inputs.base.clone(), r));
        }
    }
    if inputs.base.warmup == Some(true) {
        return Ok(());
    }
    let result = exp.result.as_mut().ok_or(TaskError::Insights(
        crate::experiment::ExperimentError::Shape("experiment has no result section".into()),
    ))?;
    let ins = result.init_insights(1)?;
    for (provider, e, r) in &results {
        if let (Some(req), true) = (r.requested_qps, r.corrected.count() > 1)
            && r.achieved_qps < 0.9 * req
        {
            ctx.warn(format!(
                "{provider}: achieved {:.1} requests/sec, below the requested {} ({:.0}% short); the target or the generator could not keep up",
                r.achieved_qps,
                format_go_float(req),
                (1.0 - r.achieved_qps / req) * 100.0
            ));
        }
        record(ins, provider, e, r)?;
    }
    Ok(())
}

fn msec(description: &str, kind: MetricType) -> MetricMeta {
    MetricMeta::new(description, kind, Some("msec"))
}

/// Record the metrics of one provider into version 0.
pub fn record(
    ins: &mut Insights,
    provider: &str,
    e: &EndpointInputs,
    r: &LoadReport,
) -> Result<(), TaskError> {
    let ranges = e.error_ranges.clone().unwrap_or_default();
    let count = r.codes.total() as f64;
    let errors: u64 = r
        .codes
        .iter()
        .filter(|(c, _)| is_error(*c, &ranges))
        .map(|(_, n)| n)
        .sum();
    let scalar = |ins: &mut Insights, m: &str, meta: MetricMeta, v: f64| {
        ins.update_metric(&format!("{provider}/{m}"), meta, 0, MetricValue::Scalar(v))
    };
    scalar(
        ins,
        "request-count",
        MetricMeta::new("number of requests sent", MetricType::Counter, None),
        count,
    )?;
    scalar(
        ins,
        "error-count",
        MetricMeta::new(
            "number of responses that were errors",
            MetricType::Counter,
            None,
        ),
        errors as f64,
    )?;
    if count > 0.0 {
        scalar(
            ins,
            "error-rate",
            MetricMeta::new(
                "fraction of responses that were errors",
                MetricType::Gauge,
                None,
            ),
            errors as f64 / count,
        )?;
    }
    let percentiles = e.percentiles.clone().unwrap_or_default();
    for (rec, infix, what) in [
        (&r.corrected, "", "observed latency values"),
        (
            &r.uncorrected,
            "uncorrected-",
            "observed service times (uncorrected: from the actual send)",
        ),
    ] {
        let stats = [
            ("mean", format!("mean of {what}"), rec.mean_ms()),
            (
                "stddev",
                format!("standard deviation of {what}"),
                rec.stddev_ms(),
            ),
            ("min", format!("minimum of {what}"), rec.min_ms()),
            ("max", format!("maximum of {what}"), rec.max_ms()),
        ];
        for (name, desc, v) in stats {
            if let Some(v) = v {
                scalar(
                    ins,
                    &format!("latency-{infix}{name}"),
                    msec(&desc, MetricType::Gauge),
                    v,
                )?;
            }
        }
        for &p in &percentiles {
            if let Some(v) = rec.percentile_ms(p) {
                let ps = format_go_float(p);
                scalar(
                    ins,
                    &format!("latency-{infix}p{ps}"),
                    msec(&format!("{ps}-th percentile of {what}"), MetricType::Gauge),
                    v,
                )?;
            }
        }
    }
    scalar(
        ins,
        "achieved-rate",
        MetricMeta::new(
            "achieved request rate (requests/sec)",
            MetricType::Gauge,
            Some("requests/sec"),
        ),
        r.achieved_qps,
    )?;
    ins.protocols
        .insert(provider.to_string(), r.protocol.to_string());
    let buckets = r.corrected.fortio_buckets();
    if !buckets.is_empty() {
        ins.update_metric(
            "http/latency",
            msec("Latency Histogram", MetricType::Histogram),
            0,
            MetricValue::Hist(buckets.clone()),
        )?;
        // Iter8 only had the shared histogram; one per endpoint lets reports draw each alone.
        if provider != "http" {
            ins.update_metric(
                &format!("{provider}/latency"),
                msec("Latency Histogram", MetricType::Histogram),
                0,
                MetricValue::Hist(buckets),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go duration strings.
    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("abc"), None);
    }

    /// Error ranges as Iter8 classifies codes.
    #[test]
    fn error_ranges() {
        let r = vec![
            ErrorRange {
                lower: Some(500),
                upper: None,
            },
            ErrorRange {
                lower: None,
                upper: Some(199),
            },
            ErrorRange {
                lower: Some(404),
                upper: Some(404),
            },
        ];
        assert!(is_error(-1, &[]));
        assert!(is_error(503, &r) && is_error(100, &r) && is_error(404, &r));
        assert!(!is_error(200, &r) && !is_error(403, &r));
    }

    /// Defaults, case-insensitive keys and endpoint merging.
    #[test]
    fn defaults_and_merge() {
        let with = serde_json::json!({
            "URL": "http://a/", "Headers": {"x": "1"}, "percentiles": [97.5],
            "endpoints": {"e1": {"url": "http://b/", "duration": "2s", "headers": {"y": "2"}}}
        });
        let mut i = parse(Some(&with)).expect("parses");
        let raw = i.base.clone();
        i.apply_defaults();
        assert_eq!(i.base.num_requests, Some(100));
        assert_eq!(
            i.base.percentiles.as_deref(),
            Some(&[97.5, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9][..])
        );
        let e = i.merged(&raw, &i.endpoints.as_ref().expect("endpoints")["e1"]);
        assert_eq!(e.num_requests, None);
        assert_eq!(e.duration.as_deref(), Some("2s"));
        assert_eq!(e.qps, Some(8.0));
        assert_eq!(e.headers.as_ref().map(|h| h.len()), Some(2));
        assert_eq!(e.url, "http://b/");
    }
}
