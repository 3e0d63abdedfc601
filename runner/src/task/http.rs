//! The `http` task: HTTP load generation and Iter8's built-in HTTP metrics (Iter8 v0.13 §4.1).
//!
//! # Inputs (`with`, keys case-insensitive; every key also allowed per endpoint)
//!
//! | Key | Default | Accepted | Meaning |
//! |---|---|---|---|
//! | `url` | — | `http://` or `https://` URL with a host | Target; required at the top level or in every endpoint. |
//! | `numRequests` | 100 if neither it nor `duration` is set | whole number ≥ 1 | Exact total; wins over `duration`. |
//! | `duration` | — | Go duration > 0 (`30s`, `1m30s`, `500ms`) | Run time. |
//! | `qps` | 8 | number ≥ 0 | Aggregate rate (open model). **`0` → closed loop at full speed** (Iter8 v0.13 mapped `0` to 8); negative is an error. |
//! | `connections` | 4 | whole number ≥ 1 | Parallel connections, one request in flight each. |
//! | `payloadStr` / `payloadFile` / `payloadURL` | — | string / string / URL as `url` | Body; file wins over URL wins over string. `payloadURL` is fetched with GET when the task starts. |
//! | `contentType` | — | string | `Content-Type`; POST when a payload or content type is set, else GET. |
//! | `headers` | — | map of valid header names to string values | Extra headers (endpoint headers merged over top-level ones). |
//! | `errorRanges` | `[{lower: 400}]` | list of `{lower, upper}` (whole numbers, at least one, `lower` ≤ `upper`) | Inclusive status ranges counted as errors; transport failures (`-1`) always are. |
//! | `percentiles` | — | list of numbers in (0, 100] | Extra percentiles; 50, 75, 90, 95, 99, 99.9 are always reported. |
//! | `allowInitialErrors` | false | true/false | Duration mode: each connection's first (untimed) request must be 2xx/418 unless true. |
//! | `warmup` | false | true/false | Generate the load but record nothing. |
//! | `warmupNumRequests` / `warmupDuration` | — | whole number ≥ 0 (`0`: none) / Go duration > 0 | Run a discarded warm-up phase first (skipped when the previous task is an Iter8-chart warm-up `http` task). |
//! | `endpoints` | — | map id → endpoint inputs | Run one after another; metrics under `http-<id>`. |
//! | `timeout` | `3s` | Go duration > 0 | Per-request timeout (Fortio's default); a timeout counts as status `-1`. |
//! | `http2` | false | true/false | Speak HTTP/2: h2c (prior knowledge) on `http://`, ALPN `h2` only on `https://`; when false, HTTP/1.1 (ALPN `http/1.1` only). |
//! | `insecureSkipVerify` | false | true/false | Accept any TLS certificate. |
//! | `threads` | min(connections, CPUs) | whole number ≥ 1 | OS threads of the generator. |
//!
//! [`parse`] checks all of this (through [`crate::inputs`]) before the experiment's first task
//! runs: a number may also be given as text holding one (`--set http.qps=0.5` passes `"0.5"`),
//! `null` means unset, an unknown key is an error with the closest known key as a hint, and
//! each error names the field (`endpoints.<id>.<key>`, `errorRanges[<i>].lower`).
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
//! actual send, what Fortio/Iter8 v0.13 reported) and `achieved-rate` (Gauge, requests/sec); in
//! paced runs also `offered-rate`, `queued-at-end` (Counter), `queue-wait-max` and
//! `generator-lag-p99|max` (msec): see `docs/latency.md`. When the target could not carry the
//! offered rate, or the generator fell behind its own schedule, a warning says so with the
//! numbers ([`LoadNotes`]), and both reports show it.
//! The protocol spoken (`HTTP/1.1`, `HTTP/1.1 over TLS`, `HTTP/2 over TLS`, `HTTP/2 cleartext
//! (h2c)`) is kept per provider in the insights' `protocols` map, which both reports show.
//!
//! Differences from Iter8 kept on purpose: an endpoint with its own `duration` is not forced to
//! the top-level default of 100 requests, and default percentiles are added to endpoint lists.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::capacity::{self, CAPACITY_SHAPE, CapacityInputs};
use crate::experiment::{
    Experiment, Insights, MetricMeta, MetricType, MetricValue, TaskSpec, format_go_float,
};
use crate::inputs::{InputError, Kind, Shape, parse_go_duration, parse_inputs};
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
    /// Capacity search instead of one load run (see [`crate::capacity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacityInputs>,
}

/// A whole number of at least 1.
const COUNT: Shape = Shape::Typed(Kind::Int { min: 1, hint: None });
const TEXT: Shape = Shape::Typed(Kind::Str);
const FLAG: Shape = Shape::Typed(Kind::Bool);
const STATUS: Shape = Shape::Typed(Kind::Int {
    min: i64::MIN,
    hint: None,
});
const RANGE_SHAPE: Shape = Shape::Closed(&[("lower", STATUS), ("upper", STATUS)]);

/// The inputs of one endpoint, and (with `endpoints` added) of the task; the rules are in the
/// module header and in docs/cli.md.
macro_rules! endpoint_fields {
    ($($extra:expr),*) => {
        &[
            ("numRequests", COUNT),
            ("duration", Shape::Typed(Kind::Duration { positive: true })),
            (
                "qps",
                Shape::Typed(Kind::Num {
                    min: 0.0,
                    hint: Some("0 means full speed"),
                }),
            ),
            ("connections", COUNT),
            ("payloadStr", TEXT),
            ("payloadFile", TEXT),
            ("payloadURL", Shape::Typed(Kind::HttpUrl)),
            ("contentType", TEXT),
            ("errorRanges", Shape::List(&RANGE_SHAPE)),
            ("percentiles", Shape::List(&Shape::Typed(Kind::Percentile))),
            ("headers", Shape::Map(&TEXT)),
            ("url", Shape::Typed(Kind::HttpUrl)),
            ("allowInitialErrors", FLAG),
            ("warmup", FLAG),
            (
                "warmupNumRequests",
                Shape::Typed(Kind::Int { min: 0, hint: None }),
            ),
            ("warmupDuration", Shape::Typed(Kind::Duration { positive: true })),
            ("timeout", Shape::Typed(Kind::Duration { positive: true })),
            ("http2", FLAG),
            ("insecureSkipVerify", FLAG),
            ("threads", COUNT),
            $($extra),*
        ]
    };
}
const ENDPOINT_SHAPE: Shape = Shape::Closed(endpoint_fields!());
/// Shape of the task's `with` (see [`parse`]).
pub const HTTP_SHAPE: Shape = Shape::Closed(endpoint_fields!(
    ("endpoints", Shape::Map(&ENDPOINT_SHAPE)),
    ("capacity", CAPACITY_SHAPE)
));

/// Parse and check the task's `with`: keys case-insensitive, every field typed and in range,
/// unknown keys refused, a URL for every endpoint, error ranges with `lower <= upper`, valid
/// header names and values. What this returns is safe to run.
pub fn parse(with: Option<&serde_json::Value>) -> Result<HttpInputs, InputError> {
    parse_checked(with).map_err(|e| name_warmup_origin(with, e))
}

/// The iter8 chart renders `warmupNumRequests`/`warmupDuration` as the `numRequests`/`duration`
/// of a separate `warmup: true` task; say so, or the user looks for a field they never set.
fn name_warmup_origin(with: Option<&serde_json::Value>, mut e: InputError) -> InputError {
    let chart_key = match e.path.as_str() {
        "numRequests" => "warmupNumRequests",
        "duration" => "warmupDuration",
        _ => return e,
    };
    let is_warmup = with.and_then(|w| w.as_object()).is_some_and(|m| {
        m.iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("warmup") && v.as_bool() == Some(true))
    });
    if is_warmup {
        let origin =
            format!("this is a warm-up task; the iter8 chart sets it from http.{chart_key}");
        e.hint = Some(match e.hint.take() {
            Some(h) => format!("{h}; {origin}"),
            None => origin,
        });
    }
    e
}

fn parse_checked(with: Option<&serde_json::Value>) -> Result<HttpInputs, InputError> {
    let inputs: HttpInputs = parse_inputs(with, &HTTP_SHAPE)?;
    check_endpoint(&inputs.base, "")?;
    let endpoints = inputs.endpoints.as_ref().filter(|m| !m.is_empty());
    match endpoints {
        None if inputs.base.url.is_empty() => {
            return Err(InputError::new("url", "missing")
                .hint("set url, or endpoints.<id>.url for each endpoint"));
        }
        None => {}
        Some(eps) => {
            for (id, ep) in eps {
                let prefix = format!("endpoints.{id}.");
                check_endpoint(ep, &prefix)?;
                if ep.url.is_empty() && inputs.base.url.is_empty() {
                    return Err(InputError::new(&format!("{prefix}url"), "missing")
                        .hint("set it, or a url for all endpoints"));
                }
            }
        }
    }
    Ok(inputs)
}

/// The checks of one endpoint (or of the top level) that span fields or need HTTP's rules.
fn check_endpoint(e: &EndpointInputs, prefix: &str) -> Result<(), InputError> {
    for (i, r) in e.error_ranges.iter().flatten().enumerate() {
        let path = format!("{prefix}errorRanges[{i}]");
        match (r.lower, r.upper) {
            (None, None) => {
                return Err(InputError::new(&path, "has neither lower nor upper")
                    .hint("e.g. {lower: 500} or {lower: 400, upper: 499}"));
            }
            (Some(l), Some(u)) if l > u => {
                return Err(
                    InputError::new(&path, format!("lower {l} is above upper {u}"))
                        .hint("swap them"),
                );
            }
            _ => {}
        }
    }
    for (name, value) in e.headers.iter().flatten() {
        let path = format!("{prefix}headers.{name}");
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(InputError::new(
                &path,
                format!("{name:?} is not a valid header name"),
            ));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return Err(InputError::new(
                &path,
                format!("{value:?} is not a valid header value"),
            ));
        }
    }
    Ok(())
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

/// A duration [`parse`] has already accepted.
fn checked_duration(path: &str, d: &str) -> Result<Duration, InputError> {
    parse_go_duration(d).map_err(|_| InputError::new(path, format!("{d:?} is not a duration")))
}

/// Build the load spec of one (merged) endpoint of inputs that [`parse`] accepted (counts and
/// durations are not checked again here).
pub fn load_spec(e: &EndpointInputs) -> Result<LoadSpec, TaskError> {
    let stop = match (e.num_requests, &e.duration) {
        (Some(n), _) => Stop::Requests(u64::try_from(n).unwrap_or(0)),
        (None, Some(d)) => Stop::Duration(checked_duration("duration", d)?),
        (None, None) => Stop::Requests(100),
    };
    let connections = usize::try_from(e.connections.unwrap_or(4))
        .unwrap_or(1)
        .max(1);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match e.threads {
        Some(t) => usize::try_from(t).unwrap_or(1).max(1),
        None => connections.min(cpus),
    };
    let timeout = match &e.timeout {
        None => DEFAULT_TIMEOUT,
        Some(t) => checked_duration("timeout", t)?,
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
            failed: p.failed,
            p99_ms: p.p99_ms,
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

/// Run one endpoint: optional warm-up phase, then the measured load, or the capacity search
/// when `capacity` is set.
fn run_endpoint(
    e: &EndpointInputs,
    provider: &str,
    skip_warmup_phase: bool,
    capacity: Option<&capacity::Settings>,
    ctx: &TaskContext<'_>,
) -> Result<Measured, TaskError> {
    let spec = load_spec(e)?;
    warm_up(e, &spec, provider, skip_warmup_phase, ctx)?;
    let Some(settings) = capacity else {
        return run_load(&spec, provider, ctx).map(|r| Measured::Load(Box::new(r)));
    };
    let search = capacity::run(settings, |n, rate, duration| {
        let mut probe = spec.clone();
        probe.pace = Pace::Rate(rate);
        probe.stop = Stop::Duration(duration);
        probe.initial_fetch = true;
        let r = run_load(&probe, &format!("{provider} (probe {n})"), ctx)?;
        let mut insights = capacity::probe_insights();
        record(&mut insights, provider, e, &r)?;
        Ok::<_, TaskError>(capacity::Measured {
            achieved: r.achieved_qps,
            generator_lag_p99: Duration::from_secs_f64(
                r.generator_lag.percentile_ms(99.0).unwrap_or(0.0) / 1000.0,
            ),
            insights,
            report: r,
        })
    })?;
    capacity::log_probes(provider, &search, ctx);
    if let Some(w) = capacity::warning(provider, &search, settings) {
        ctx.warn(w);
    }
    Ok(Measured::Search(Box::new(search)))
}

/// What one endpoint's load measured: one run, or a capacity search.
enum Measured {
    Load(Box<LoadReport>),
    Search(Box<capacity::Search<LoadReport>>),
}

impl Measured {
    /// The report that stands for the endpoint (a search's chosen probe).
    fn report(&self) -> Option<&LoadReport> {
        match self {
            Measured::Load(r) => Some(&**r),
            Measured::Search(s) => s.chosen().map(|p| &p.report),
        }
    }
}

/// The latency percentile metric of an `http` provider.
fn latency_metric(provider: &str, p: f64) -> String {
    format!("{provider}/latency-p{}", format_go_float(p))
}

/// The capacity settings of `provider`, when the task searches.
pub fn capacity_settings(
    inputs: &HttpInputs,
    spec: &[TaskSpec],
    provider: &str,
) -> Result<Option<capacity::Settings>, InputError> {
    inputs
        .capacity
        .as_ref()
        .map(|c| capacity::Settings::of(c, spec, provider))
        .transpose()
}

/// The providers of the task's inputs: `http`, or `http-<id>` per endpoint.
pub fn providers(inputs: &HttpInputs) -> Vec<String> {
    match inputs.endpoints.as_ref().filter(|m| !m.is_empty()) {
        Some(eps) => eps.keys().map(|id| format!("http-{id}")).collect(),
        None => vec!["http".to_string()],
    }
}

/// The optional warm-up phase of an endpoint.
fn warm_up(
    e: &EndpointInputs,
    spec: &LoadSpec,
    provider: &str,
    skip_warmup_phase: bool,
    ctx: &TaskContext<'_>,
) -> Result<(), TaskError> {
    if !skip_warmup_phase && (e.warmup_num_requests.is_some() || e.warmup_duration.is_some()) {
        let mut w = spec.clone();
        w.stop = match (e.warmup_num_requests, &e.warmup_duration) {
            (Some(n), _) => Stop::Requests(u64::try_from(n).unwrap_or(0)),
            (None, Some(d)) => Stop::Duration(checked_duration("warmupDuration", d)?),
            (None, None) => Stop::Requests(0),
        };
        // `warmupNumRequests: 0` means no warm-up (the chart treats 0 as unset too).
        if !matches!(w.stop, Stop::Requests(0)) {
            run_load(&w, &format!("{provider} (warmup)"), ctx)?;
        }
    }
    Ok(())
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
    let mut results: Vec<(String, EndpointInputs, Measured)> = Vec::new();
    match inputs.endpoints.as_ref().filter(|m| !m.is_empty()) {
        Some(eps) => {
            for (id, ep) in eps {
                let merged = inputs.merged(&raw_top, ep);
                let provider = format!("http-{id}");
                let cap = capacity_settings(&inputs, &exp.spec, &provider)?;
                match run_endpoint(&merged, &provider, skip_warmup_phase, cap.as_ref(), ctx) {
                    Ok(r) => results.push((provider, merged, r)),
                    Err(e) => ctx.warn(format!(
                        "load generation for endpoint {id:?} failed; skipping it: {}",
                        crate::task::error_chain(&e)
                    )),
                }
            }
        }
        None => {
            let cap = capacity_settings(&inputs, &exp.spec, "http")?;
            let r = run_endpoint(&inputs.base, "http", skip_warmup_phase, cap.as_ref(), ctx)?;
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
    for (provider, e, m) in &results {
        if let Some(r) = m.report() {
            // A search's probes above the capacity overload the target on purpose.
            if matches!(m, Measured::Load(_)) {
                let notes = LoadNotes::of_report(r);
                for line in [notes.overload(provider), notes.generator_late(provider)]
                    .into_iter()
                    .flatten()
                {
                    ctx.warn(line);
                }
            }
            record(ins, provider, e, r)?;
        }
        if let Measured::Search(s) = m {
            capacity::record(ins, provider, s, &latency_metric)?;
        }
    }
    Ok(())
}

/// Metric names (under the provider) of the open-model load: the schedule, the target's queue
/// and the generator's own lateness.
const OFFERED_RATE: &str = "offered-rate";
const ACHIEVED_RATE: &str = "achieved-rate";
const QUEUED_AT_END: &str = "queued-at-end";
const QUEUE_WAIT_MAX: &str = "queue-wait-max";
const LAG_P99: &str = "generator-lag-p99";
const LAG_MAX: &str = "generator-lag-max";

/// Generator lag beyond these is reported: timers tick every millisecond, so a lag of a few
/// milliseconds is normal; more means the generator was short of CPU.
const LAG_P99_NOTE_MS: f64 = 5.0;
const LAG_MAX_NOTE_MS: f64 = 50.0;

/// What a paced run says about who kept up: the one place the load warnings are worded, for
/// the run's log (from the [`LoadReport`]) and for the reports (from the recorded metrics).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadNotes {
    /// Offered rate (requests/sec); `None` for closed-loop runs.
    pub offered: Option<f64>,
    /// Achieved rate (requests/sec).
    pub achieved: f64,
    /// Requests still queued at the end.
    pub queued_at_end: u64,
    /// Longest queue wait (msec).
    pub queue_wait_max_ms: f64,
    /// Generator lag, 99th percentile and maximum (msec).
    pub lag_p99_ms: f64,
    /// See `lag_p99_ms`.
    pub lag_max_ms: f64,
}

impl LoadNotes {
    /// Notes of a finished load run.
    pub fn of_report(r: &LoadReport) -> Self {
        LoadNotes {
            offered: r.requested_qps,
            achieved: r.achieved_qps,
            queued_at_end: r.queued_at_end,
            queue_wait_max_ms: r.queue_wait_max.as_secs_f64() * 1000.0,
            lag_p99_ms: r.generator_lag.percentile_ms(99.0).unwrap_or(0.0),
            lag_max_ms: r.generator_lag.max_ms().unwrap_or(0.0),
        }
    }

    /// Notes of `provider` from the metrics an http task recorded for `version`; `None` when
    /// the provider ran closed-loop or recorded no load.
    pub fn of_insights(ins: &Insights, provider: &str, version: usize) -> Option<Self> {
        let get = |m: &str| ins.scalar_metric_value(version, &format!("{provider}/{m}"));
        Some(LoadNotes {
            offered: Some(get(OFFERED_RATE)?),
            achieved: get(ACHIEVED_RATE)?,
            queued_at_end: get(QUEUED_AT_END).unwrap_or(0.0) as u64,
            queue_wait_max_ms: get(QUEUE_WAIT_MAX).unwrap_or(0.0),
            lag_p99_ms: get(LAG_P99).unwrap_or(0.0),
            lag_max_ms: get(LAG_MAX).unwrap_or(0.0),
        })
    }

    /// Whether the generator fell behind its own schedule.
    fn generator_was_late(&self) -> bool {
        self.lag_p99_ms > LAG_P99_NOTE_MS || self.lag_max_ms > LAG_MAX_NOTE_MS
    }

    /// One line when the target could not carry the offered rate: requests were still queued
    /// at the end, or the rate fell short while the generator kept its schedule.
    pub fn overload(&self, provider: &str) -> Option<String> {
        let offered = self.offered?;
        let short = self.achieved < 0.95 * offered && !self.generator_was_late();
        if self.queued_at_end == 0 && !short {
            return None;
        }
        Some(format!(
            "{provider}: the target could not carry the offered rate: offered {} requests/sec, \
             achieved {:.1}; {} requests still queued at the end; longest queue wait {:.1} ms \
             (latencies count that wait, from each request's intended send time)",
            format_go_float(offered),
            self.achieved,
            self.queued_at_end,
            self.queue_wait_max_ms
        ))
    }

    /// One line when the generator itself was late (short of CPU): its lag is reported apart.
    pub fn generator_late(&self, provider: &str) -> Option<String> {
        if self.offered.is_none() || !self.generator_was_late() {
            return None;
        }
        Some(format!(
            "{provider}: the load generator fell behind its own schedule (lag p99 {:.1} ms, \
             max {:.1} ms; short of CPU?); the lag is reported as {provider}/{LAG_P99} and \
             {provider}/{LAG_MAX}, not counted in the target's latency; achieved {:.1} of {} \
             requests/sec",
            self.lag_p99_ms,
            self.lag_max_ms,
            self.achieved,
            format_go_float(self.offered.unwrap_or_default()),
        ))
    }
}

fn msec(description: &str, kind: MetricType) -> MetricMeta {
    MetricMeta::new(description, kind, Some("msec"))
}

/// Iter8's `request-count`, `error-count` and (when requests were sent) `error-rate` of one
/// load provider, version 0; shared by the http and grpc tasks.
pub(crate) fn record_request_counts(
    ins: &mut Insights,
    provider: &str,
    request_description: &str,
    count: f64,
    errors: u64,
) -> Result<(), TaskError> {
    let meta = |d: &str, kind| MetricMeta::new(d, kind, None);
    let mut scalar = |m: &str, meta: MetricMeta, v: f64| {
        ins.update_metric(&format!("{provider}/{m}"), meta, 0, MetricValue::Scalar(v))
    };
    scalar(
        "request-count",
        meta(request_description, MetricType::Counter),
        count,
    )?;
    let errors = errors as f64;
    scalar(
        "error-count",
        meta("number of responses that were errors", MetricType::Counter),
        errors,
    )?;
    if count > 0.0 {
        scalar(
            "error-rate",
            meta("fraction of responses that were errors", MetricType::Gauge),
            errors / count,
        )?;
    }
    Ok(())
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
    record_request_counts(ins, provider, "number of requests sent", count, errors)?;
    let scalar = |ins: &mut Insights, m: &str, meta: MetricMeta, v: f64| {
        ins.update_metric(&format!("{provider}/{m}"), meta, 0, MetricValue::Scalar(v))
    };
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
    record_load_notes(ins, provider, r)?;
    record_series(ins, provider, r, &|c| is_error(c, &ranges))?;
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

/// Record the time series of a run of `provider` (one value per interval, in order, as Sample
/// metrics): `series-time` (start of the interval, sec from the start of the load),
/// `series-rate` (requests sent per second of the interval), `series-latency-p50|p99` (msec,
/// as the task's latency: corrected when paced; 0 for an interval without requests) and
/// `series-error-count` (by the task's own error rule `is_error`); shared by the `http` and
/// `grpc` tasks.
pub fn record_series(
    ins: &mut Insights,
    provider: &str,
    r: &LoadReport,
    is_error: &dyn Fn(i32) -> bool,
) -> Result<(), TaskError> {
    let slots = r.series.slots();
    if slots.is_empty() {
        return Ok(());
    }
    let width = r.series.width().as_secs_f64();
    let mut sample = |m: &str, description: &str, units: Option<&str>, v: Vec<f64>| {
        ins.update_metric(
            &format!("{provider}/{m}"),
            MetricMeta::new(description, MetricType::Sample, units),
            0,
            MetricValue::Sample(v),
        )
    };
    sample(
        "series-time",
        "start of each interval of the time series (sec from the start of the load)",
        Some("sec"),
        (0..slots.len()).map(|i| i as f64 * width).collect(),
    )?;
    sample(
        "series-rate",
        "requests sent per second, per interval",
        Some("requests/sec"),
        slots.iter().map(|s| s.count() as f64 / width).collect(),
    )?;
    for p in [50.0, 99.0] {
        let ps = format_go_float(p);
        sample(
            &format!("series-latency-p{ps}"),
            &format!("{ps}-th percentile latency, per interval"),
            Some("msec"),
            slots
                .iter()
                .map(|s| s.percentile_ms(p).unwrap_or(0.0))
                .collect(),
        )?;
    }
    sample(
        "series-error-count",
        "responses that were errors, per interval",
        None,
        slots.iter().map(|s| s.errors(is_error) as f64).collect(),
    )?;
    Ok(())
}

/// Record the open-model notes of a run of `provider` (achieved rate; when paced the offered
/// rate, the requests queued at the end, the longest queue wait and the generator's lag), the
/// metrics [`LoadNotes::of_insights`] reads back; shared by the `http` and `grpc` tasks.
pub fn record_load_notes(
    ins: &mut Insights,
    provider: &str,
    r: &LoadReport,
) -> Result<(), TaskError> {
    let mut scalar = |m: &str, meta: MetricMeta, v: f64| {
        ins.update_metric(&format!("{provider}/{m}"), meta, 0, MetricValue::Scalar(v))
    };
    scalar(
        ACHIEVED_RATE,
        MetricMeta::new(
            "achieved request rate (requests/sec)",
            MetricType::Gauge,
            Some("requests/sec"),
        ),
        r.achieved_qps,
    )?;
    if let Some(q) = r.requested_qps {
        scalar(
            OFFERED_RATE,
            MetricMeta::new(
                "offered request rate: the open-model schedule (requests/sec)",
                MetricType::Gauge,
                Some("requests/sec"),
            ),
            q,
        )?;
        scalar(
            QUEUED_AT_END,
            MetricMeta::new(
                "requests due before the end but never sent: their connection was still busy with the target",
                MetricType::Counter,
                None,
            ),
            r.queued_at_end as f64,
        )?;
        scalar(
            QUEUE_WAIT_MAX,
            msec(
                "longest wait of a request for its connection (the target's queue)",
                MetricType::Gauge,
            ),
            r.queue_wait_max.as_secs_f64() * 1000.0,
        )?;
        if let (Some(p99), Some(max)) = (
            r.generator_lag.percentile_ms(99.0),
            r.generator_lag.max_ms(),
        ) {
            scalar(
                LAG_P99,
                msec(
                    "99-th percentile of the load generator's own lateness (not in the latencies)",
                    MetricType::Gauge,
                ),
                p99,
            )?;
            scalar(
                LAG_MAX,
                msec(
                    "maximum of the load generator's own lateness (not in the latencies)",
                    MetricType::Gauge,
                ),
                max,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
