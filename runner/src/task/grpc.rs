//! The `grpc` task: gRPC load generation and Iter8's built-in gRPC metrics (Iter8 v0.13 §4.2,
//! where ghz did the work; here [`crate::load::grpc`] on the same open-model core as HTTP).
//!
//! # Inputs (`with`, keys case-insensitive, ghz's spelling; every key also allowed per endpoint)
//!
//! | Key | Default | Accepted | Meaning |
//! |---|---|---|---|
//! | `host` | — | `host:port` | Server; required at the top level or in every endpoint. |
//! | `call` | — | `package.Service.Method` (or `.../Method`) | Method; required likewise. |
//! | `proto` / `protoURL` | — | path / `http(s)://` URL | `.proto` source, compiled at run time (no `protoc`); imports from `import-paths`, the file's folder and protobuf's well-known types. |
//! | `protoset` / `protosetURL` | — | path / URL | Serialized `FileDescriptorSet` (`protoc -o`), when no proto is given. With neither, the schema comes from the server's reflection service (`grpc.reflection.v1`, else `v1alpha`). |
//! | `import-paths` | — | list of folders | Where a proto's imports are looked up. |
//! | `data` / `data-file` / `dataURL` | empty message | JSON object or list of objects (protobuf JSON mapping) | Request messages; file wins over URL wins over inline. A list is sent one message per call in turn (unary, server streaming) or all in each call (client streaming, bidi). Text values may hold ghz's call template actions (`{{.RequestNumber}}`, `{{.WorkerID}}`, `{{.Timestamp}}`, `{{.UUID}}`, `{{newUUID}}`, `{{randomString 8}}`, `{{randomInt 1 10}}`...; see [`crate::load::grpc::calldata`]), filled in per call. |
//! | `binary-file` / `binaryDataURL` | — | path / URL | One request message, already serialized. |
//! | `metadata` / `metadata-file` / `metadataURL` | — | map of header names to text | Request metadata. |
//! | `total` | 200 when no `duration` | whole number ≥ 1 | Exact number of calls, split over the workers (a total below `concurrency` still sends every call). |
//! | `duration` | — | Go duration > 0 | Run time; wins over `total` (as in ghz). |
//! | `rps` | 0 | number ≥ 0 | Aggregate call rate (open model); 0 = no limit (closed loop at full speed). |
//! | `concurrency` | 50 | whole number ≥ 1 | Workers, one call in flight each. |
//! | `connections` | 1 | whole number ≥ 1 | HTTP/2 connections the workers share (at most `concurrency`). |
//! | `timeout` | `20s` | Go duration > 0 | Per call; a late call is `DeadlineExceeded`. |
//! | `connect-timeout` | `10s` | Go duration > 0 | Per connection attempt. |
//! | `keepalive` | — | Go duration > 0 | HTTP/2 keepalive, as ghz sets gRPC's: while calls are in flight, a PING after this long without a frame from the server; no answer within as long again closes the connection (its calls end `Unavailable`). |
//! | `insecure` | true | true/false | Plaintext (h2c); Iter8 v0.13 forced it. `false` = TLS. |
//! | `skipTLS` | false | true/false | TLS without verifying the server certificate. |
//! | `cacert` / `cert` + `key` | — | PEM paths | CA to trust; client certificate and key (mutual TLS). |
//! | `cname` | — | text | Server name to verify the certificate against. |
//! | `authority` | — | text | `:authority` of the requests. |
//! | `percentiles` | — | list of numbers in (0, 100] | Extra latency percentiles (50, 75, 90, 95, 99, 99.9 always; and any `p<X>` an `assess` task of the experiment names). |
//! | `threads` | min(connections, CPUs) | whole number ≥ 1 | OS threads of the generator. |
//! | `warmup` | false | true/false | Generate the load but record nothing. |
//! | `error-codes` | every code but `OK` | list of status names (`Unavailable`, `DEADLINE_EXCEEDED`, any case) or numbers 0–16 | Which statuses count in `error-count` (and are left out of `latency-success`). |
//! | `stream-interval` | — | Go duration > 0 | Wait between the messages a client-streaming or bidi call sends. |
//! | `stream-call-duration` | — | Go duration > 0 | A client stream stops sending (half-closes) this long after the call started; a server stream is cancelled by the client then (and counts as `OK`). |
//! | `stream-call-count` | — | whole number ≥ 1 | A client stream sends this many messages (cycling through the data); a server stream is cancelled after this many responses (and counts as `OK`). |
//! | `stream-dynamic-messages` | false | true/false | Fill call templates anew for each message of a client stream (else once per call). |
//! | `endpoints` | — | map id → endpoint inputs | Run one after another; metrics under `grpc-<id>`. |
//!
//! [`parse`] checks all of this (through [`crate::inputs`]); [`check`] also compiles the schema,
//! finds the method and encodes the data before the experiment's first task runs, when the
//! files are there or are downloads of an earlier `run: curl -o <file> <url>` task (what the
//! iter8 chart renders for `protoURL` and `dataURL`), so a wrong method or a message that does
//! not fit fails at once, naming the field. Other ghz keys are refused by name.
//!
//! # Metrics (provider `grpc`, or `grpc-<id>` per endpoint; latencies in msec)
//!
//! Iter8's names: `request-count`, `error-count` (Counter), `error-rate` (Gauge, when calls were
//! made), and `latency/mean|stddev|min|max|p<X>` (Gauge). Iter8 v0.13 derived those from a
//! `latency` Sample holding every call (whole milliseconds); here they are computed from HDR
//! histograms (constant memory, microsecond resolution) and stored as Gauges under the same
//! names, so SLOs on them read the same, and the reports list them. `latency` itself is a
//! Histogram (Fortio's bucket layout, as `http/latency`). Every call counts, failed ones
//! included; calls are timed from their intended send time when paced (see docs/latency.md).
//!
//! Added: `status/<Code>` (Counter per gRPC status seen, e.g. `grpc/status/OK`,
//! `grpc/status/Unavailable`), `latency-uncorrected/...` (from the actual send), streaming
//! calls' `message-latency/mean|p50|p99|max` (time to each response message), and the load
//! notes of the HTTP task (`achieved-rate`, and when paced `offered-rate`, `queued-at-end`,
//! `queue-wait-max`, `generator-lag-p99|max`), and `latency-success/...` with the `latency-success`
//! Histogram: the same statistics over the calls that succeeded only. An error is any status
//! but `OK`, unless `error-codes` says otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::capacity::{self, CAPACITY_SHAPE, CapacityInputs};
use crate::experiment::{
    Experiment, Insights, MetricMeta, MetricType, MetricValue, TaskSpec, format_go_float,
};
use crate::inputs::{InputError, Kind, Shape, parse_go_duration, parse_inputs};
use crate::load::grpc::StreamControls;
use crate::load::grpc::calldata::{CallData, DataTemplate, Rng};
use crate::load::grpc::reflect::{self, ReflectError};
use crate::load::grpc::schema::{self, Method};
use crate::load::grpc::{self, GrpcReport, GrpcSpec, TlsSpec, wire};
use crate::load::{Pace, Stop};
use crate::metrics::LatencyRecorder;
use crate::task::http::{DEFAULT_PERCENTILES, LoadNotes, record_load_notes};
use crate::task::{Event, TaskContext, TaskError};

/// ghz's default total when neither `total` nor `duration` is set.
pub const DEFAULT_TOTAL: i64 = 200;
/// ghz's default number of workers.
pub const DEFAULT_CONCURRENCY: i64 = 50;
/// ghz's default per-call timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// ghz's default connection timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Inputs of the task or of one endpoint (ghz's keys).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointInputs {
    /// `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `package.Service.Method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// `.proto` path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// `.proto` URL.
    #[serde(rename = "protoURL", default, skip_serializing_if = "Option::is_none")]
    pub proto_url: Option<String>,
    /// Protoset path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protoset: Option<String>,
    /// Protoset URL.
    #[serde(
        rename = "protosetURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protoset_url: Option<String>,
    /// Import folders.
    #[serde(
        rename = "import-paths",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub import_paths: Option<Vec<String>>,
    /// Inline JSON data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// JSON data file.
    #[serde(rename = "data-file", default, skip_serializing_if = "Option::is_none")]
    pub data_file: Option<String>,
    /// JSON data URL.
    #[serde(rename = "dataURL", default, skip_serializing_if = "Option::is_none")]
    pub data_url: Option<String>,
    /// Serialized message file.
    #[serde(
        rename = "binary-file",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub binary_file: Option<String>,
    /// Serialized message URL.
    #[serde(
        rename = "binaryDataURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub binary_data_url: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Metadata JSON file.
    #[serde(
        rename = "metadata-file",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata_file: Option<String>,
    /// Metadata JSON URL.
    #[serde(
        rename = "metadataURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata_url: Option<String>,
    /// Exact number of calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Calls per second (0 = no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
    /// Workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<i64>,
    /// HTTP/2 connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<i64>,
    /// Per-call timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Connection timeout.
    #[serde(
        rename = "connect-timeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connect_timeout: Option<String>,
    /// HTTP/2 keepalive time (and timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<String>,
    /// Plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Skip certificate verification.
    #[serde(rename = "skipTLS", default, skip_serializing_if = "Option::is_none")]
    pub skip_tls: Option<bool>,
    /// CA certificate (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cacert: Option<String>,
    /// Client certificate (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// Client key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Server name override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// `:authority` override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Extra percentiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentiles: Option<Vec<f64>>,
    /// Generator threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<i64>,
    /// Record nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<bool>,
    /// Status codes counted as errors (names or numbers).
    #[serde(
        rename = "error-codes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub error_codes: Option<Vec<serde_json::Value>>,
    /// Wait between the messages of a client stream.
    #[serde(
        rename = "stream-interval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_interval: Option<String>,
    /// End each stream after this long.
    #[serde(
        rename = "stream-call-duration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_call_duration: Option<String>,
    /// Messages per stream.
    #[serde(
        rename = "stream-call-count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_call_count: Option<i64>,
    /// Fill call templates per stream message.
    #[serde(
        rename = "stream-dynamic-messages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_dynamic_messages: Option<bool>,
}

/// All inputs of the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrpcInputs {
    /// Top-level inputs.
    #[serde(flatten)]
    pub base: EndpointInputs,
    /// Endpoints by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<BTreeMap<String, EndpointInputs>>,
    /// Capacity search instead of one load run (see [`crate::capacity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacityInputs>,
}

const COUNT: Shape = Shape::Typed(Kind::Int { min: 1, hint: None });
const TEXT: Shape = Shape::Typed(Kind::Str);
const FLAG: Shape = Shape::Typed(Kind::Bool);
const URL: Shape = Shape::Typed(Kind::HttpUrl);
const POSITIVE: Shape = Shape::Typed(Kind::Duration { positive: true });

macro_rules! endpoint_fields {
    ($($extra:expr),*) => {
        &[
            ("host", TEXT),
            ("call", TEXT),
            ("proto", TEXT),
            ("protoURL", URL),
            ("protoset", TEXT),
            ("protosetURL", URL),
            ("import-paths", Shape::List(&TEXT)),
            ("data", Shape::Leaf),
            ("data-file", TEXT),
            ("dataURL", URL),
            ("binary-file", TEXT),
            ("binaryDataURL", URL),
            ("metadata", Shape::Map(&TEXT)),
            ("metadata-file", TEXT),
            ("metadataURL", URL),
            ("total", COUNT),
            ("duration", POSITIVE),
            (
                "rps",
                Shape::Typed(Kind::Num {
                    min: 0.0,
                    hint: Some("0 means no limit"),
                }),
            ),
            ("concurrency", COUNT),
            ("connections", COUNT),
            ("timeout", POSITIVE),
            ("connect-timeout", POSITIVE),
            ("keepalive", POSITIVE),
            ("insecure", FLAG),
            ("skipTLS", FLAG),
            ("cacert", TEXT),
            ("cert", TEXT),
            ("key", TEXT),
            ("cname", TEXT),
            ("authority", TEXT),
            ("percentiles", Shape::List(&Shape::Typed(Kind::Percentile))),
            ("threads", COUNT),
            ("warmup", FLAG),
            ("error-codes", Shape::List(&Shape::Leaf)),
            ("stream-interval", POSITIVE),
            ("stream-call-duration", POSITIVE),
            ("stream-call-count", COUNT),
            ("stream-dynamic-messages", FLAG),
            $($extra),*
        ]
    };
}
const ENDPOINT_SHAPE: Shape = Shape::Closed(endpoint_fields!());
/// Shape of the task's `with` (see [`parse`]).
pub const GRPC_SHAPE: Shape = Shape::Closed(endpoint_fields!(
    ("endpoints", Shape::Map(&ENDPOINT_SHAPE)),
    ("capacity", CAPACITY_SHAPE)
));

/// ghz options this runner does not implement: refused by name rather than ignored.
const GHZ_UNSUPPORTED: &[&str] = &[
    "async",
    "binary",
    "concurrency-schedule",
    "concurrency-start",
    "concurrency-end",
    "concurrency-step",
    "concurrency-step-duration",
    "concurrency-max-duration",
    "cpus",
    "count-errors",
    "debug",
    "disable-template-data",
    "disable-template-functions",
    "duration-stop",
    "enable-compression",
    "format",
    "lb-strategy",
    "load-schedule",
    "load-start",
    "load-end",
    "load-step",
    "load-step-duration",
    "load-max-duration",
    "max-duration",
    "max-recv-message-size",
    "max-send-message-size",
    "name",
    "output",
    "reflect-metadata",
    "skipFirst",
    "tags",
];

/// Parse and check the task's `with`: keys case-insensitive, every field typed and in range,
/// unknown keys refused (ghz options this runner lacks by name), a host and a call for every
/// endpoint, hosts of the form `host:port`, TLS files only with TLS. Does not read any file or
/// URL (see [`check`]).
pub fn parse(with: Option<&serde_json::Value>) -> Result<GrpcInputs, InputError> {
    let inputs: GrpcInputs = parse_inputs(with, &GRPC_SHAPE).map_err(name_ghz_option)?;
    for (prefix, e) in inputs.own_scopes() {
        check_endpoint(e, &prefix)?;
    }
    let multi = inputs.is_multi();
    for scope in inputs.scopes(&inputs.base) {
        for (field, v) in [("host", &scope.inputs.host), ("call", &scope.inputs.call)] {
            if v.as_deref().is_none_or(str::is_empty) {
                let hint = if multi {
                    format!("set it, or a {field} for all endpoints")
                } else {
                    format!("set {field}, or endpoints.<id>.{field} for each endpoint")
                };
                return Err(
                    InputError::new(&format!("{}{field}", scope.prefix), "missing").hint(hint),
                );
            }
        }
    }
    Ok(inputs)
}

/// An unknown key that is a ghz option is named as one this runner does not support.
fn name_ghz_option(e: InputError) -> InputError {
    if e.problem != "unknown key" {
        return e;
    }
    let (prefix, key) = e
        .path
        .rsplit_once('.')
        .map_or(("", e.path.as_str()), |(p, k)| (p, k));
    match GHZ_UNSUPPORTED.iter().find(|u| u.eq_ignore_ascii_case(key)) {
        Some(known) => {
            let path = if prefix.is_empty() {
                known.to_string()
            } else {
                format!("{prefix}.{known}")
            };
            InputError::new(&path, "this ghz option is not supported by this runner")
        }
        None => e,
    }
}

/// Checks of one endpoint (or of the top level) that need gRPC's rules.
fn check_endpoint(e: &EndpointInputs, prefix: &str) -> Result<(), InputError> {
    if let Some(h) = e.host.as_deref().filter(|h| !h.is_empty()) {
        grpc::check_host(h).map_err(|why| {
            InputError::new(&format!("{prefix}host"), format!("{h:?}: {why}"))
                .hint("e.g. 127.0.0.1:50051 or routeguide.default:50051 (no scheme)")
        })?;
    }
    if let Some(c) = e.call.as_deref().filter(|c| !c.is_empty()) {
        schema::split_call(c)
            .map_err(|err| InputError::new(&format!("{prefix}call"), err.to_string()))?;
    }
    if let Some(d) = &e.data {
        let ok = match d {
            serde_json::Value::Object(_) => true,
            serde_json::Value::Array(items) => {
                !items.is_empty() && items.iter().all(serde_json::Value::is_object)
            }
            _ => false,
        };
        if !ok {
            return Err(InputError::new(
                &format!("{prefix}data"),
                "is not a message (a map of fields) or a non-empty list of messages",
            ));
        }
        DataTemplate::parse(d).map_err(|err| InputError::new(&format!("{prefix}data"), err))?;
    }
    error_mask(e, prefix)?;
    if e.cert.is_some() != e.key.is_some() {
        let missing = if e.cert.is_some() { "key" } else { "cert" };
        return Err(InputError::new(&format!("{prefix}{missing}"), "missing")
            .hint("a client certificate needs both cert and key"));
    }
    for (k, v) in e.metadata.iter().flatten() {
        check_metadata(k, v).map_err(|p| InputError::new(&format!("{prefix}metadata.{k}"), p))?;
    }
    Ok(())
}

/// The error-code mask of `error-codes` (names or numbers), or the default.
fn error_mask(e: &EndpointInputs, prefix: &str) -> Result<u32, InputError> {
    let Some(codes) = &e.error_codes else {
        return Ok(grpc::DEFAULT_ERROR_CODES);
    };
    let mut mask = 0u32;
    for (i, c) in codes.iter().enumerate() {
        let text = match c {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let code = wire::code_by_name(&text).ok_or_else(|| {
            InputError::new(
                &format!("{prefix}error-codes[{i}]"),
                format!("{text:?} is not a gRPC status code"),
            )
            .hint("a name such as Unavailable or DEADLINE_EXCEEDED, or a number 0-16")
        })?;
        mask |= 1 << code;
    }
    Ok(mask)
}

fn check_metadata(k: &str, v: &str) -> Result<(), String> {
    if http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).is_err() {
        return Err(format!("{k:?} is not a valid metadata key"));
    }
    if http::HeaderValue::from_str(v).is_err() {
        return Err(format!("{v:?} is not a valid metadata value"));
    }
    Ok(())
}

impl GrpcInputs {
    /// Fill ghz's defaults (as Iter8 v0.13 sets them) into the top level.
    pub fn apply_defaults(&mut self) {
        let b = &mut self.base;
        if b.total.is_none() && b.duration.is_none() {
            b.total = Some(DEFAULT_TOTAL);
        }
        b.concurrency.get_or_insert(DEFAULT_CONCURRENCY);
        b.connections.get_or_insert(1);
        b.rps.get_or_insert(0.0);
        b.timeout.get_or_insert_with(|| "20s".to_string());
        b.connect_timeout.get_or_insert_with(|| "10s".to_string());
        b.insecure.get_or_insert(true);
    }

    /// Effective inputs of endpoint `ep`: unset fields from the defaulted top level, `host` and
    /// `call` too (Iter8's rule).
    pub fn merged(&self, raw_top: &EndpointInputs, ep: &EndpointInputs) -> EndpointInputs {
        let top = &self.base;
        let mut e = ep.clone();
        if e.total.is_none() && e.duration.is_none() {
            e.total = raw_top.total;
            e.duration = raw_top.duration.clone();
            if e.total.is_none() && e.duration.is_none() {
                e.total = Some(DEFAULT_TOTAL);
            }
        }
        if e.host.as_deref().is_none_or(str::is_empty) {
            e.host = top.host.clone();
        }
        if e.call.as_deref().is_none_or(str::is_empty) {
            e.call = top.call.clone();
        }
        // The schema and the data come as a whole: an endpoint that names its own takes none
        // of the top level's.
        let own_schema = e.proto.is_some()
            || e.proto_url.is_some()
            || e.protoset.is_some()
            || e.protoset_url.is_some();
        if !own_schema {
            e.proto = top.proto.clone();
            e.proto_url = top.proto_url.clone();
            e.protoset = top.protoset.clone();
            e.protoset_url = top.protoset_url.clone();
        }
        let own_data = e.data.is_some()
            || e.data_file.is_some()
            || e.data_url.is_some()
            || e.binary_file.is_some()
            || e.binary_data_url.is_some();
        if !own_data {
            e.data = top.data.clone();
            e.data_file = top.data_file.clone();
            e.data_url = top.data_url.clone();
            e.binary_file = top.binary_file.clone();
            e.binary_data_url = top.binary_data_url.clone();
        }
        macro_rules! fill {
            ($($f:ident),*) => {$( if e.$f.is_none() { e.$f = top.$f.clone(); } )*};
        }
        fill!(
            import_paths,
            metadata_file,
            metadata_url,
            rps,
            concurrency,
            connections,
            timeout,
            connect_timeout,
            keepalive,
            insecure,
            skip_tls,
            cacert,
            cert,
            key,
            cname,
            authority,
            percentiles,
            threads,
            error_codes,
            stream_interval,
            stream_call_duration,
            stream_call_count,
            stream_dynamic_messages
        );
        let mut md = top.metadata.clone().unwrap_or_default();
        md.extend(e.metadata.clone().unwrap_or_default());
        e.metadata = (!md.is_empty()).then_some(md);
        e
    }

    /// Whether the task has endpoints.
    fn is_multi(&self) -> bool {
        self.endpoints.as_ref().is_some_and(|m| !m.is_empty())
    }

    /// The inputs as written, with the prefix of their field paths: the top level (`""`) and
    /// each endpoint (`endpoints.<id>.`).
    fn own_scopes(&self) -> impl Iterator<Item = (String, &EndpointInputs)> {
        std::iter::once((String::new(), &self.base)).chain(
            self.endpoints
                .iter()
                .flatten()
                .map(|(id, ep)| (format!("endpoints.{id}."), ep)),
        )
    }

    /// Where the task generates load: every endpoint with the top level merged in, or the task
    /// itself when it has none. `raw_top` is the top level before [`Self::apply_defaults`].
    fn scopes(&self, raw_top: &EndpointInputs) -> Vec<Scope> {
        match self.endpoints.as_ref().filter(|m| !m.is_empty()) {
            Some(eps) => eps
                .iter()
                .map(|(id, ep)| Scope {
                    provider: format!("grpc-{id}"),
                    prefix: format!("endpoints.{id}."),
                    inputs: self.merged(raw_top, ep),
                })
                .collect(),
            None => vec![Scope {
                provider: "grpc".to_string(),
                prefix: String::new(),
                inputs: self.base.clone(),
            }],
        }
    }
}

/// One place the task generates load.
struct Scope {
    /// Metrics provider: `grpc` or `grpc-<id>`.
    provider: String,
    /// Prefix of its field paths in errors: `""` or `endpoints.<id>.`.
    prefix: String,
    /// Its effective inputs.
    inputs: EndpointInputs,
}

/// Where a file input's bytes come from before the task runs.
enum Fetched {
    /// The bytes.
    Bytes(Vec<u8>),
    /// Not there yet and not a known download: checked when the task runs.
    Later,
}

/// Reads the file and URL inputs, at run time (everything must be there) or before the
/// experiment runs (files an earlier `run: curl -o <file> <url>` task downloads are fetched
/// from their URL; what cannot be read yet is left for the run).
struct Reader {
    /// Earlier tasks' downloads: file → URL. `None` at run time.
    downloads: Option<BTreeMap<String, String>>,
}

impl Reader {
    fn at_run() -> Self {
        Reader { downloads: None }
    }

    fn before_run(earlier: &[TaskSpec]) -> Self {
        let mut downloads = BTreeMap::new();
        for t in earlier {
            let Some(script) = &t.run else { continue };
            let words: Vec<&str> = script.split_whitespace().collect();
            if let ["curl", "-o", file, url] = words[..] {
                downloads.insert(file.to_string(), url.to_string());
            }
        }
        Reader {
            downloads: Some(downloads),
        }
    }

    fn checking(&self) -> bool {
        self.downloads.is_some()
    }

    fn file(&self, field: &str, path: &str) -> Result<Fetched, InputError> {
        match std::fs::read(path) {
            Ok(b) => Ok(Fetched::Bytes(b)),
            Err(e) => match &self.downloads {
                Some(d) => match d.get(path) {
                    // A download that fails now fails its run task later; check what we can.
                    Some(url) => {
                        Ok(fetch(url, CHECK_FETCH_TIMEOUT).map_or(Fetched::Later, Fetched::Bytes))
                    }
                    None if e.kind() == std::io::ErrorKind::NotFound => Ok(Fetched::Later),
                    None => Err(InputError::new(field, format!("cannot read {path}: {e}"))),
                },
                None => Err(InputError::new(field, format!("cannot read {path}: {e}"))),
            },
        }
    }

    fn url(&self, field: &str, url: &str) -> Result<Fetched, InputError> {
        let timeout = if self.checking() {
            CHECK_FETCH_TIMEOUT
        } else {
            FETCH_TIMEOUT
        };
        match fetch(url, timeout) {
            Ok(b) => Ok(Fetched::Bytes(b)),
            Err(_) if self.checking() => Ok(Fetched::Later),
            Err(why) => Err(InputError::new(
                field,
                format!("cannot download {url}: {why}"),
            )),
        }
    }

    /// The bytes of `file` (preferred) or `url`, under their field names.
    fn either(
        &self,
        prefix: &str,
        file: (&str, Option<&String>),
        url: (&str, Option<&String>),
    ) -> Result<Option<(String, Fetched)>, InputError> {
        if let (name, Some(path)) = file {
            let field = format!("{prefix}{name}");
            let got = self.file(&field, path)?;
            return Ok(Some((field, got)));
        }
        if let (name, Some(u)) = url {
            let field = format!("{prefix}{name}");
            let got = self.url(&field, u)?;
            return Ok(Some((field, got)));
        }
        Ok(None)
    }
}

/// Downloads give up after this long when the task runs (as `payloadURL` does)...
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// ...and sooner when checking before the run (a URL only reachable from where the experiment
/// runs, e.g. inside a cluster, is then checked by the run itself).
const CHECK_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    crate::load::http::get(url, false, timeout).map(|b| b.to_vec())
}

/// What a call needs besides the load settings; `None` parts could not be checked yet.
struct Prepared {
    method: Option<Method>,
    messages: Option<Vec<Bytes>>,
    template: Option<grpc::Templated>,
    metadata: Vec<(String, String)>,
}

/// Compile the schema, find the method, encode the data and read the metadata of one
/// (merged) endpoint.
fn prepare(e: &EndpointInputs, prefix: &str, r: &Reader) -> Result<Prepared, InputError> {
    let call = e.call.clone().unwrap_or_default();
    let call_field = format!("{prefix}call");
    let pool = match r.either(
        prefix,
        ("proto", e.proto.as_ref()),
        ("protoURL", e.proto_url.as_ref()),
    )? {
        Some((field, Fetched::Bytes(b))) => {
            let text = String::from_utf8(b)
                .map_err(|_| InputError::new(&field, "the proto is not UTF-8 text"))?;
            let (name, imports) = proto_name_and_imports(e);
            Some(
                schema::compile_proto(&name, &text, &imports)
                    .map_err(|err| InputError::new(&field, err.to_string()))?,
            )
        }
        Some((_, Fetched::Later)) => None,
        None => match r.either(
            prefix,
            ("protoset", e.protoset.as_ref()),
            ("protosetURL", e.protoset_url.as_ref()),
        )? {
            Some((field, Fetched::Bytes(b))) => Some(
                schema::decode_protoset(&b)
                    .map_err(|err| InputError::new(&field, err.to_string()))?,
            ),
            Some((_, Fetched::Later)) => None,
            None => reflect_schema(e, prefix, r)?,
        },
    };
    let method = match &pool {
        Some(p) => Some(
            schema::find_method(p, &call)
                .map_err(|err| InputError::new(&call_field, err.to_string()))?,
        ),
        None => None,
    };
    let mut template = None;
    let messages = match r.either(
        prefix,
        ("binary-file", e.binary_file.as_ref()),
        ("binaryDataURL", e.binary_data_url.as_ref()),
    )? {
        Some((_, Fetched::Bytes(b))) => Some(vec![Bytes::from(b)]),
        Some((_, Fetched::Later)) => None,
        None => {
            let data = match r.either(
                prefix,
                ("data-file", e.data_file.as_ref()),
                ("dataURL", e.data_url.as_ref()),
            )? {
                Some((field, Fetched::Bytes(b))) => Some((
                    field.clone(),
                    serde_json::from_slice::<serde_json::Value>(&b)
                        .map_err(|err| InputError::new(&field, format!("is not JSON: {err}")))?,
                )),
                Some((_, Fetched::Later)) => None,
                None => Some((
                    format!("{prefix}data"),
                    e.data.clone().unwrap_or(serde_json::Value::Null),
                )),
            };
            match (data, &method) {
                (Some((field, value)), Some(m)) => {
                    template = DataTemplate::parse(&value)
                        .map_err(|err| InputError::new(&field, err))?
                        .map(|data| grpc::Templated {
                            method: m.clone(),
                            data,
                        });
                    match &template {
                        Some(t) => Some(sample_messages(t, &field)?),
                        None => Some(
                            m.encode(&value)
                                .map_err(|err| InputError::new(&field, err.to_string()))?,
                        ),
                    }
                }
                _ => None,
            }
        }
    };
    let mut metadata: Vec<(String, String)> = Vec::new();
    if let Some((field, Fetched::Bytes(b))) = r.either(
        prefix,
        ("metadata-file", e.metadata_file.as_ref()),
        ("metadataURL", e.metadata_url.as_ref()),
    )? {
        let map: BTreeMap<String, String> = serde_json::from_slice(&b).map_err(|err| {
            InputError::new(&field, format!("is not a JSON map of text values: {err}"))
        })?;
        for (k, v) in map {
            check_metadata(&k, &v).map_err(|p| InputError::new(&field, p))?;
            metadata.push((k, v));
        }
    }
    for (k, v) in e.metadata.iter().flatten() {
        metadata.push((k.clone(), v.clone()));
    }
    Ok(Prepared {
        method,
        messages,
        template,
        metadata,
    })
}

/// Every message of templated data filled in once with sample call data, so data that cannot
/// fit the message type fails now, naming the field.
fn sample_messages(t: &grpc::Templated, field: &str) -> Result<Vec<Bytes>, InputError> {
    let mut rng = Rng::new(0);
    (0..t.data.len())
        .map(|i| {
            let cd = CallData {
                worker_id: "c0w0",
                request_number: i as u64,
                method: &t.method,
                now: std::time::SystemTime::now(),
                uuid: rng.uuid(),
            };
            t.data
                .render(i, &cd, &mut rng)
                .map_err(|err| InputError::new(field, format!("[{i}] filled in: {err}")))
        })
        .collect()
}

/// The schema by server reflection, when no proto or protoset is given; `None` when checking
/// before the run and the server cannot be reached from here (the run asks again).
fn reflect_schema(
    e: &EndpointInputs,
    prefix: &str,
    r: &Reader,
) -> Result<Option<prost_reflect::DescriptorPool>, InputError> {
    let host = e.host.clone().unwrap_or_default();
    let call = e.call.clone().unwrap_or_default();
    let (service, _) = schema::split_call(&call)
        .map_err(|err| InputError::new(&format!("{prefix}call"), err.to_string()))?;
    let tls = tls_spec(e, prefix)?;
    let target = reflect::Target {
        host: &host,
        tls: tls.as_ref(),
        authority: e.authority.as_deref(),
        timeout: if r.checking() {
            CHECK_FETCH_TIMEOUT
        } else {
            FETCH_TIMEOUT
        },
    };
    match reflect::fetch_schema(&target, service) {
        Ok((pool, _)) => Ok(Some(pool)),
        Err(ReflectError::Connect(_) | ReflectError::Timeout(_)) if r.checking() => Ok(None),
        Err(err) => Err(InputError::new(
            &format!("{prefix}proto"),
            format!("missing, and server reflection at {host} failed: {err}"),
        )
        .hint("set proto or protoURL (a .proto file), or protoset")),
    }
}

/// The name the proto is compiled under (its file name) and where its imports are found.
fn proto_name_and_imports(e: &EndpointInputs) -> (String, Vec<PathBuf>) {
    let mut imports: Vec<PathBuf> = e.import_paths.iter().flatten().map(PathBuf::from).collect();
    let name = match (&e.proto, &e.proto_url) {
        (Some(p), _) => {
            let path = Path::new(p);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                imports.push(dir.to_path_buf());
            } else {
                imports.push(PathBuf::from("."));
            }
            path.file_name()
                .map_or_else(|| p.clone(), |f| f.to_string_lossy().into_owned())
        }
        (None, Some(u)) => u
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("downloaded.proto")
            .to_string(),
        (None, None) => "schema.proto".to_string(),
    };
    (name, imports)
}

/// Check the task's inputs before the experiment runs ([`parse`]), and what depends on the
/// schema (the method, the data) when the files can be read now: `earlier` are the tasks
/// before this one (their `curl -o <file> <url>` downloads are fetched here).
pub fn check(with: Option<&serde_json::Value>, earlier: &[TaskSpec]) -> Result<(), InputError> {
    let mut inputs = parse(with)?;
    let raw_top = inputs.base.clone();
    inputs.apply_defaults();
    let reader = Reader::before_run(earlier);
    for scope in inputs.scopes(&raw_top) {
        prepare(&scope.inputs, &scope.prefix, &reader)?;
    }
    Ok(())
}

/// A duration [`parse`] has already accepted.
fn duration(path: &str, d: Option<&String>, default: Duration) -> Result<Duration, InputError> {
    match d {
        None => Ok(default),
        Some(d) => parse_go_duration(d)
            .map_err(|_| InputError::new(path, format!("{d:?} is not a duration"))),
    }
}

/// An optional duration [`parse`] has already accepted.
fn optional_duration(path: &str, d: Option<&String>) -> Result<Option<Duration>, InputError> {
    d.map(|d| duration(path, Some(d), Duration::ZERO))
        .transpose()
}

fn read_pem(field: &str, path: &str) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|e| InputError::new(field, format!("cannot read {path}: {e}")))
}

/// TLS settings of one (merged) endpoint, its PEM files read; `None` for plaintext.
fn tls_spec(e: &EndpointInputs, prefix: &str) -> Result<Option<TlsSpec>, InputError> {
    if e.insecure.unwrap_or(true) {
        return Ok(None);
    }
    Ok(Some(TlsSpec {
        ca_pem: match &e.cacert {
            Some(path) => Some(read_pem(&format!("{prefix}cacert"), path)?),
            None => None,
        },
        client_pem: match (&e.cert, &e.key) {
            (Some(c), Some(k)) => Some((
                read_pem(&format!("{prefix}cert"), c)?,
                read_pem(&format!("{prefix}key"), k)?,
            )),
            _ => None,
        },
        skip_verify: e.skip_tls.unwrap_or(false),
        server_name: e.cname.clone(),
    }))
}

/// The load spec of one (merged) endpoint.
fn load_spec(e: &EndpointInputs, prefix: &str, p: Prepared) -> Result<GrpcSpec, InputError> {
    let method = p
        .method
        .ok_or_else(|| InputError::new(&format!("{prefix}call"), "the schema could not be read"))?;
    let messages = p
        .messages
        .ok_or_else(|| InputError::new(&format!("{prefix}data"), "the data could not be read"))?;
    let stop = match (&e.duration, e.total) {
        (Some(d), _) => Stop::Duration(duration(
            &format!("{prefix}duration"),
            Some(d),
            Duration::ZERO,
        )?),
        (None, Some(n)) => Stop::Requests(u64::try_from(n).unwrap_or(0)),
        (None, None) => Stop::Requests(DEFAULT_TOTAL as u64),
    };
    let concurrency = usize::try_from(e.concurrency.unwrap_or(DEFAULT_CONCURRENCY))
        .unwrap_or(1)
        .max(1);
    let connections = usize::try_from(e.connections.unwrap_or(1))
        .unwrap_or(1)
        .max(1);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match e.threads {
        Some(t) => usize::try_from(t).unwrap_or(1).max(1),
        None => connections.min(cpus),
    };
    let tls = tls_spec(e, prefix)?;
    Ok(GrpcSpec {
        host: e.host.clone().unwrap_or_default(),
        path: method.path(),
        kind: method.kind(),
        messages,
        metadata: p.metadata,
        stop,
        pace: Pace::from_qps(e.rps.unwrap_or(0.0)),
        concurrency,
        connections,
        threads,
        timeout: duration(
            &format!("{prefix}timeout"),
            e.timeout.as_ref(),
            DEFAULT_TIMEOUT,
        )?,
        connect_timeout: duration(
            &format!("{prefix}connect-timeout"),
            e.connect_timeout.as_ref(),
            DEFAULT_CONNECT_TIMEOUT,
        )?,
        keepalive: optional_duration(&format!("{prefix}keepalive"), e.keepalive.as_ref())?,
        tls,
        authority: e.authority.clone(),
        error_codes: error_mask(e, prefix)?,
        stream: StreamControls {
            interval: optional_duration(
                &format!("{prefix}stream-interval"),
                e.stream_interval.as_ref(),
            )?,
            call_duration: optional_duration(
                &format!("{prefix}stream-call-duration"),
                e.stream_call_duration.as_ref(),
            )?,
            call_count: e.stream_call_count.and_then(|c| u64::try_from(c).ok()),
            dynamic: e.stream_dynamic_messages.unwrap_or(false),
        },
        template: p.template,
    })
}

fn run_load(
    spec: &GrpcSpec,
    provider: &str,
    ctx: &TaskContext<'_>,
) -> Result<GrpcReport, TaskError> {
    let index = ctx.index;
    let events = ctx.events;
    grpc::run(spec, &mut |p| {
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
    .map_err(|source| TaskError::Load {
        provider: provider.to_string(),
        source,
    })
}

/// Percentiles named by `assess` tasks for `provider` (`<provider>/latency/p<X>`).
fn slo_percentiles(exp: &Experiment, provider: &str) -> Vec<f64> {
    let prefix = format!("{provider}/latency/p");
    let mut out = Vec::new();
    for t in exp
        .spec
        .iter()
        .filter(|t| !t.is_run() && t.name() == "assess")
    {
        let Ok(a) = crate::task::assess::parse(t.with.as_ref()) else {
            continue;
        };
        for slo in a.slos.iter().flat_map(|s| s.upper.iter().chain(&s.lower)) {
            if let Some(p) = slo
                .metric
                .strip_prefix(&prefix)
                .and_then(|p| p.parse::<f64>().ok())
                && p > 0.0
                && p <= 100.0
            {
                out.push(p);
            }
        }
    }
    out
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
    let reader = Reader::at_run();
    let multi = inputs.is_multi();
    let mut results: Vec<(String, EndpointInputs, Measured)> = Vec::new();
    for Scope {
        provider,
        prefix,
        inputs: e,
    } in inputs.scopes(&raw_top)
    {
        let cap = capacity_settings(&inputs, &exp.spec, &provider)?;
        let percentiles = percentiles_of(&e, &slo_percentiles(exp, &provider));
        let outcome = prepare(&e, &prefix, &reader)
            .and_then(|p| load_spec(&e, &prefix, p))
            .map_err(TaskError::from)
            .and_then(|spec| match &cap {
                None => run_load(&spec, &provider, ctx).map(|r| Measured::Load(Box::new(r))),
                Some(settings) => search(&spec, &provider, &percentiles, settings, ctx),
            });
        match outcome {
            Ok(r) => results.push((provider, e, r)),
            // Iter8: a failing endpoint is logged and skipped; a single one fails the task.
            Err(err) if multi => ctx.warn(format!(
                "load generation for endpoint {:?} failed; skipping it: {}",
                provider.trim_start_matches("grpc-"),
                crate::task::error_chain(&err)
            )),
            Err(err) => return Err(err),
        }
    }
    if inputs.base.warmup == Some(true) {
        return Ok(());
    }
    let extra: Vec<(String, Vec<f64>)> = results
        .iter()
        .map(|(p, e, _)| (p.clone(), percentiles_of(e, &slo_percentiles(exp, p))))
        .collect();
    let result = exp.result.as_mut().ok_or(TaskError::Insights(
        crate::experiment::ExperimentError::Shape("experiment has no result section".into()),
    ))?;
    let ins = result.init_insights(1)?;
    for ((provider, _, m), (_, percentiles)) in results.iter().zip(&extra) {
        let report = match m {
            Measured::Load(r) => {
                let notes = LoadNotes::of_report(&r.load);
                for line in [notes.overload(provider), notes.generator_late(provider)]
                    .into_iter()
                    .flatten()
                {
                    ctx.warn(line);
                }
                Some(&**r)
            }
            // A search's probes above the capacity overload the target on purpose.
            Measured::Search(s) => s.chosen().map(|p| &p.report),
        };
        if let Some(r) = report {
            record(ins, provider, percentiles, r)?;
        }
        if let Measured::Search(s) = m {
            capacity::record(ins, provider, s, &latency_metric)?;
        }
    }
    Ok(())
}

/// The percentiles recorded for an endpoint: its own, Iter8's defaults and those SLOs name.
fn percentiles_of(e: &EndpointInputs, slo_ps: &[f64]) -> Vec<f64> {
    let mut percentiles: Vec<f64> = Vec::new();
    for &p in e
        .percentiles
        .iter()
        .flatten()
        .chain(&DEFAULT_PERCENTILES)
        .chain(slo_ps)
    {
        if !percentiles.contains(&p) {
            percentiles.push(p);
        }
    }
    percentiles
}

/// What one endpoint's load measured: one run, or a capacity search.
enum Measured {
    Load(Box<GrpcReport>),
    Search(Box<capacity::Search<GrpcReport>>),
}

/// The latency percentile metric of a `grpc` provider.
fn latency_metric(provider: &str, p: f64) -> String {
    format!("{provider}/latency/p{}", format_go_float(p))
}

/// The capacity settings of `provider`, when the task searches.
pub fn capacity_settings(
    inputs: &GrpcInputs,
    spec: &[TaskSpec],
    provider: &str,
) -> Result<Option<capacity::Settings>, InputError> {
    inputs
        .capacity
        .as_ref()
        .map(|c| capacity::Settings::of(c, spec, provider))
        .transpose()
}

/// The providers of the task's inputs: `grpc`, or `grpc-<id>` per endpoint.
pub fn providers(inputs: &GrpcInputs) -> Vec<String> {
    match inputs.endpoints.as_ref().filter(|m| !m.is_empty()) {
        Some(eps) => eps.keys().map(|id| format!("grpc-{id}")).collect(),
        None => vec!["grpc".to_string()],
    }
}

/// Run a capacity search of one endpoint: probes of `spec` at the rates the search picks.
fn search(
    spec: &GrpcSpec,
    provider: &str,
    percentiles: &[f64],
    settings: &capacity::Settings,
    ctx: &TaskContext<'_>,
) -> Result<Measured, TaskError> {
    let search = capacity::run(settings, |n, rate, duration| {
        let mut probe = spec.clone();
        probe.pace = Pace::Rate(rate);
        probe.stop = Stop::Duration(duration);
        let r = run_load(&probe, &format!("{provider} (probe {n})"), ctx)?;
        let mut insights = capacity::probe_insights();
        record(&mut insights, provider, percentiles, &r)?;
        Ok::<_, TaskError>(capacity::Measured {
            achieved: r.load.achieved_qps,
            generator_lag_p99: Duration::from_secs_f64(
                r.load.generator_lag.percentile_ms(99.0).unwrap_or(0.0) / 1000.0,
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

fn msec(description: &str) -> MetricMeta {
    MetricMeta::new(description, MetricType::Gauge, Some("msec"))
}

/// Latency statistics of `rec` as `<provider>/<name>/<stat>` Gauges.
fn record_latency(
    ins: &mut Insights,
    provider: &str,
    name: &str,
    what: &str,
    percentiles: &[f64],
    rec: &LatencyRecorder,
) -> Result<(), TaskError> {
    let base = format!("{provider}/{name}");
    let mut stats: Vec<(String, String, Option<f64>)> = vec![
        ("mean".into(), format!("mean of {what}"), rec.mean_ms()),
        (
            "stddev".into(),
            format!("standard deviation of {what}"),
            rec.stddev_ms(),
        ),
        ("min".into(), format!("minimum of {what}"), rec.min_ms()),
        ("max".into(), format!("maximum of {what}"), rec.max_ms()),
    ];
    for &p in percentiles {
        let ps = format_go_float(p);
        stats.push((
            format!("p{ps}"),
            format!("{ps}-th percentile of {what}"),
            rec.percentile_ms(p),
        ));
    }
    for (stat, desc, v) in stats {
        if let Some(v) = v {
            ins.update_metric(
                &format!("{base}/{stat}"),
                msec(&desc),
                0,
                MetricValue::Scalar(v),
            )?;
        }
    }
    Ok(())
}

/// Record the metrics of one provider into version 0.
pub fn record(
    ins: &mut Insights,
    provider: &str,
    percentiles: &[f64],
    r: &GrpcReport,
) -> Result<(), TaskError> {
    let codes = &r.load.codes;
    let count = codes.total() as f64;
    let errors: u64 = codes
        .iter()
        .filter(|(c, _)| wire::is_error(r.error_codes, *c))
        .map(|(_, n)| n)
        .sum();
    crate::task::http::record_request_counts(
        ins,
        provider,
        "number of gRPC requests sent",
        count,
        errors,
    )?;
    crate::task::http::record_series(ins, provider, &r.load, &|c| {
        wire::is_error(r.error_codes, c)
    })?;
    let scalar = |ins: &mut Insights, m: &str, meta: MetricMeta, v: f64| {
        ins.update_metric(&format!("{provider}/{m}"), meta, 0, MetricValue::Scalar(v))
    };
    for (code, n) in codes.iter() {
        let name = wire::code_name(code);
        scalar(
            ins,
            &format!("status/{name}"),
            MetricMeta::new(
                format!("number of calls that ended with status {name}"),
                MetricType::Counter,
                None,
            ),
            n as f64,
        )?;
    }
    record_latency(
        ins,
        provider,
        "latency",
        "call latencies (from the intended send when paced)",
        percentiles,
        &r.load.corrected,
    )?;
    record_latency(
        ins,
        provider,
        "latency-uncorrected",
        "call latencies from the actual send",
        percentiles,
        &r.load.uncorrected,
    )?;
    record_latency(
        ins,
        provider,
        "latency-success",
        "latencies of the calls that succeeded (status not in error-codes)",
        percentiles,
        &r.load.succeeded,
    )?;
    if r.messages.count() > 0 {
        record_latency(
            ins,
            provider,
            "message-latency",
            "times to each response message of streaming calls",
            &[50.0, 99.0],
            &r.messages,
        )?;
    }
    record_load_notes(ins, provider, &r.load)?;
    for (name, desc, rec) in [
        ("latency", "Latency Histogram", &r.load.corrected),
        (
            "latency-success",
            "Latency Histogram of the calls that succeeded",
            &r.load.succeeded,
        ),
    ] {
        let buckets = rec.fortio_buckets();
        if !buckets.is_empty() {
            ins.update_metric(
                &format!("{provider}/{name}"),
                MetricMeta::new(desc, MetricType::Histogram, Some("msec")),
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

    /// ghz's defaults, endpoint merging, and host/call from the top level.
    #[test]
    fn defaults_and_merge() {
        let with = serde_json::json!({
            "Host": "127.0.0.1:1", "call": "a.B.C", "proto": "x.proto", "metadata": {"a": "1"},
            "endpoints": {
                "e1": {"call": "a.B.D", "rps": 5, "metadata": {"b": "2"}},
                "e2": {"host": "127.0.0.1:2", "duration": "2s", "protoset": "x.pb", "data": {"f": 1}}
            }
        });
        let mut i = parse(Some(&with)).expect("parses");
        let raw = i.base.clone();
        i.apply_defaults();
        assert_eq!(i.base.total, Some(200));
        assert_eq!(i.base.concurrency, Some(50));
        assert_eq!(i.base.insecure, Some(true));
        let eps = i.endpoints.clone().expect("endpoints");
        let e1 = i.merged(&raw, &eps["e1"]);
        assert_eq!(e1.host.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(e1.call.as_deref(), Some("a.B.D"));
        assert_eq!((e1.total, e1.rps), (Some(200), Some(5.0)));
        assert_eq!(e1.proto.as_deref(), Some("x.proto"));
        assert_eq!(e1.metadata.as_ref().map(BTreeMap::len), Some(2));
        let e2 = i.merged(&raw, &eps["e2"]);
        assert_eq!((e2.total, e2.duration.as_deref()), (None, Some("2s")));
        assert_eq!(
            (e2.proto.as_deref(), e2.protoset.as_deref()),
            (None, Some("x.pb"))
        );
        assert_eq!(e2.call.as_deref(), Some("a.B.C"));
    }

    /// Bad inputs are refused naming the field.
    #[test]
    fn refusals() {
        let cases = [
            (
                serde_json::json!({"call": "a.B.C"}),
                "invalid input host: missing",
            ),
            (
                serde_json::json!({"host": "http://x:1", "call": "a.B.C"}),
                "invalid input host: \"http://x:1\"",
            ),
            (
                serde_json::json!({"host": "x", "call": "a.B.C"}),
                "invalid input host: \"x\": missing port",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "Method"}),
                "invalid input call: \"Method\" is not a call",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "qps": 5}),
                "invalid input qps: unknown key",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "load-schedule": "step"}),
                "invalid input load-schedule: this ghz option is not supported",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "endpoints": {"e": {"ASYNC": true}}}),
                "invalid input endpoints.e.async: this ghz option is not supported",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "keepalive": "0s"}),
                "invalid input keepalive:",
            ),
            (
                serde_json::json!({"host": "x:1", "endpoints": {"e": {"call": "a.B.C"}, "f": {}}}),
                "invalid input endpoints.f.call: missing (hint: set it, or a call for all endpoints)",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "error-codes": ["Unavailable", 4, "Fine"]}),
                "invalid input error-codes[2]: \"Fine\" is not a gRPC status code",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "data": {"s": "{{.Nope}}"}}),
                "invalid input data: \"{{.Nope}}\": unknown call data field .Nope",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "data": 5}),
                "invalid input data: is not a message",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "cert": "c.pem"}),
                "invalid input key: missing",
            ),
            (
                serde_json::json!({"host": "x:1", "endpoints": {"e": {"host": "y:2"}}}),
                "invalid input endpoints.e.call: missing",
            ),
            (
                serde_json::json!({"host": "x:1", "call": "a.B.C", "total": 0}),
                "invalid input total: 0 must be at least 1",
            ),
        ];
        for (with, want) in cases {
            let e = parse(Some(&with)).expect_err("refused");
            assert!(e.to_string().starts_with(want), "{e} (want {want})");
        }
    }
}
