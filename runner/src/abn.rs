//! The A/B/n protocol (Iter8 v0.13's `main.ABN`, `runner/proto/abn.proto`): the gRPC messages,
//! the application data that `GetApplicationData` returns as JSON and the service persists, the
//! summary metric (`[count, sum, min, max, sumSquares]`) it keeps per version, how a metric value
//! in text is read (with Go's `strconv.ParseFloat` messages), and a client for
//! `GetApplicationData` (what the `abnmetrics` task calls).
//!
//! The service itself runs in the controllers crate (`iter8_controllers::abn`); both sides use
//! these types so the wire format has one definition.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Service name on the wire (package `main`, service `ABN`).
pub const SERVICE: &str = "main.ABN";
/// Path of `Lookup`.
pub const LOOKUP_PATH: &str = "/main.ABN/Lookup";
/// Path of `WriteMetric`.
pub const WRITE_METRIC_PATH: &str = "/main.ABN/WriteMetric";
/// Path of `GetApplicationData`.
pub const GET_APPLICATION_DATA_PATH: &str = "/main.ABN/GetApplicationData";
/// The `.proto` source, for clients that compile it (e.g. the `grpc` task in benchmarks).
pub const PROTO: &str = include_str!("../proto/abn.proto");

/// `Application`: which application, which user.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Application {
    /// Application key `<namespace>/<name>`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// User or session identifier.
    #[prost(string, tag = "2")]
    pub user: String,
}

/// `Session`: the track a user gets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Session {
    /// Track name, empty when the application has no live track.
    #[prost(string, tag = "1")]
    pub track: String,
}

/// `MetricValue`: one value of a metric for a user of an application.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricValue {
    /// Metric name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value in text.
    #[prost(string, tag = "2")]
    pub value: String,
    /// Application key.
    #[prost(string, tag = "3")]
    pub application: String,
    /// User or session identifier.
    #[prost(string, tag = "4")]
    pub user: String,
}

/// `ApplicationRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ApplicationRequest {
    /// Application key.
    #[prost(string, tag = "1")]
    pub application: String,
}

/// `ApplicationData`: [`AppData`] as JSON.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ApplicationData {
    /// The JSON text.
    #[prost(string, tag = "1")]
    pub application_json: String,
}

/// A summary metric `[count, sum, min, max, sumSquares]` (Iter8's `SummaryMetric`).
pub type Summary = [f64; 5];

/// An empty summary: count and sums 0, `min` the largest float and `max` the smallest positive
/// one (Iter8's starting points, so the first value replaces both).
pub fn empty_summary() -> Summary {
    [0.0, 0.0, f64::MAX, 5e-324, 0.0]
}

/// Add one value to a summary.
pub fn add_to_summary(s: &mut Summary, v: f64) {
    s[0] += 1.0;
    s[1] += v;
    if v < s[2] {
        s[2] = v;
    }
    if v > s[3] {
        s[3] = v;
    }
    s[4] += v * v;
}

/// One version's data: its summary metrics by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VersionData {
    /// Summary metrics by name.
    #[serde(default)]
    pub metrics: BTreeMap<String, Summary>,
}

/// An application's data: what `GetApplicationData` returns and Secret `<app>-metrics` holds
/// (key `application.yaml`), in Iter8 v0.13's shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppData {
    /// Application key `<namespace>/<name>`.
    #[serde(default)]
    pub name: String,
    /// Live tracks: track name → version.
    #[serde(default)]
    pub tracks: BTreeMap<String, String>,
    /// Versions seen (live or not) with their metrics.
    #[serde(default)]
    pub versions: BTreeMap<String, VersionData>,
}

/// Split an application key into namespace and name; a bare name is in `default` (Iter8 v0.13).
pub fn split_app_key(key: &str) -> (&str, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => ("default", key),
    }
}

/// Read a metric value as Go's `strconv.ParseFloat(s, 64)` does, with its error messages
/// (what Iter8 v0.13 returns to the client), except that NaN and infinities are refused: one
/// of them would make the version's summary useless for good.
pub fn parse_metric_value(s: &str) -> Result<f64, String> {
    let syntax = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let word = t.to_ascii_lowercase();
    if matches!(word.as_str(), "inf" | "infinity" | "nan") {
        return Err(format!("metric value {s} is not a finite number"));
    }
    // Rust accepts what Go accepts for decimal input, except that Rust also takes nothing
    // Go refuses here; refuse anything with characters Go's decimal syntax does not use.
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(syntax());
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            go_quote(s)
        )),
        Err(_) => Err(syntax()),
    }
}

/// Go's `%q` for the simple strings a metric value holds.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Why `GetApplicationData` failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is not a `host:port`.
    #[error("invalid A/B/n service endpoint {endpoint:?}")]
    Endpoint {
        /// What was given.
        endpoint: String,
    },
    /// Connecting failed.
    #[error("unable to connect to the A/B/n service at {endpoint}")]
    Connect {
        /// Where.
        endpoint: String,
        /// Cause.
        #[source]
        source: tonic::transport::Error,
    },
    /// The call returned a status other than OK.
    #[error("GetApplicationData({application}) failed: {code:?}: {message}")]
    Status {
        /// Application key.
        application: String,
        /// gRPC status code.
        code: tonic::Code,
        /// Status message.
        message: String,
    },
    /// The returned JSON does not have the expected shape.
    #[error("unable to read the application data of {application}")]
    Json {
        /// Application key.
        application: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// No runtime could be started.
    #[error("unable to start a runtime for the gRPC client")]
    Runtime(#[source] std::io::Error),
}

/// Call `GetApplicationData(application)` on the service at `endpoint` (`host:port`, plaintext
/// HTTP/2 as Iter8 v0.13 does) within `timeout`. Blocking; starts its own small runtime.
pub fn get_application_data(
    endpoint: &str,
    application: &str,
    timeout: Duration,
) -> Result<AppData, ClientError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClientError::Runtime)?;
    rt.block_on(get_application_data_async(endpoint, application, timeout))
}

async fn get_application_data_async(
    endpoint: &str,
    application: &str,
    timeout: Duration,
) -> Result<AppData, ClientError> {
    let uri = if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    };
    let ep = tonic::transport::Endpoint::from_shared(uri).map_err(|_| ClientError::Endpoint {
        endpoint: endpoint.to_string(),
    })?;
    let channel = ep
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            endpoint: endpoint.to_string(),
            source,
        })?;
    let mut client = tonic::client::Grpc::new(channel);
    let status = |s: tonic::Status| ClientError::Status {
        application: application.to_string(),
        code: s.code(),
        message: s.message().to_string(),
    };
    client
        .ready()
        .await
        .map_err(|e| status(tonic::Status::unavailable(e.to_string())))?;
    let path = http::uri::PathAndQuery::from_static(GET_APPLICATION_DATA_PATH);
    let codec = tonic_prost::ProstCodec::<ApplicationRequest, ApplicationData>::default();
    let resp = client
        .unary(
            tonic::Request::new(ApplicationRequest {
                application: application.to_string(),
            }),
            path,
            codec,
        )
        .await
        .map_err(status)?;
    serde_json::from_str(&resp.into_inner().application_json).map_err(|source| ClientError::Json {
        application: application.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metric values are read as Go reads them, with Go's messages for text that is not a
    /// number or is out of range, and non-finite values refused.
    #[test]
    fn metric_values() {
        assert_eq!(parse_metric_value("12.5"), Ok(12.5));
        assert_eq!(parse_metric_value("-1e3"), Ok(-1000.0));
        assert_eq!(
            parse_metric_value("abc"),
            Err("strconv.ParseFloat: parsing \"abc\": invalid syntax".to_string())
        );
        assert_eq!(
            parse_metric_value(""),
            Err("strconv.ParseFloat: parsing \"\": invalid syntax".to_string())
        );
        assert_eq!(
            parse_metric_value("1e400"),
            Err("strconv.ParseFloat: parsing \"1e400\": value out of range".to_string())
        );
        assert!(parse_metric_value("NaN").is_err());
        assert!(parse_metric_value("+Inf").is_err());
    }

    /// A summary starts empty and keeps count, sum, min, max and the sum of squares.
    #[test]
    fn summaries() {
        let mut s = empty_summary();
        for v in [3.0, 1.0, 2.0] {
            add_to_summary(&mut s, v);
        }
        assert_eq!(s, [3.0, 6.0, 1.0, 3.0, 14.0]);
    }

    /// The application data round-trips through JSON in v0.13's shape.
    #[test]
    fn app_data_json() {
        let text = r#"{"name":"ns/backend","tracks":{"backend":"v1"},"versions":{"v1":{"metrics":{"sales":[2,30,10,20,500]}}}}"#;
        let a: AppData = serde_json::from_str(text).expect("valid");
        assert_eq!(a.tracks["backend"], "v1");
        assert_eq!(a.versions["v1"].metrics["sales"][1], 30.0);
        let again: AppData =
            serde_json::from_str(&serde_json::to_string(&a).expect("json")).expect("valid");
        assert_eq!(again, a);
        assert_eq!(split_app_key("ns/a"), ("ns", "a"));
        assert_eq!(split_app_key("a"), ("default", "a"));
    }
}
