//! The `custommetrics` task (Iter8 v0.13 §4.5): metrics from any REST/JSON database, such as
//! Prometheus, described by provider templates.
//!
//! Inputs (`with`): `templates` (provider name → URL of a provider template, fetched with GET
//! on every run; a local file path is accepted too), `values` (template values shared by all
//! versions), `versionValues` (one map per app version, merged over `values`; its length is
//! the number of versions, 1 when empty).
//!
//! For each provider and version, the template is rendered (Go templates, by the caller's
//! [`TemplateRenderer`]) with the version's values plus `elapsedTimeSeconds` (seconds since
//! `startingTime`, an RFC 3339 value, else since the experiment's start) into a provider spec:
//! `url`, `method`, `headers`, and `metrics` (`name`, `description`, `type` counter|gauge,
//! `units`, `params` (query parameters), `body`, `jqExpression`). Each metric is one HTTP
//! request whose JSON response the jq expression reduces to a number, recorded as
//! `<provider>/<name>`. A metric that cannot be fetched or computed is skipped with a warning;
//! a template that cannot be fetched, rendered or read fails the task.
//!
//! Unlike Iter8 v0.13, one version's values do not leak into the next version's (Go merged
//! into the shared map).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{TaskContext, TaskError};
use crate::experiment::{Experiment, MetricMeta, MetricType, MetricValue};

/// Renders a provider template (Go text/template with Sprig) with `values` as dot.
pub trait TemplateRenderer {
    /// The rendered text, or an error message.
    fn render(&self, name: &str, text: &str, values: &Value) -> Result<String, String>;
}

/// Parsed `with`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// Provider → template URL.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// Values shared by all versions.
    #[serde(default)]
    pub values: Map<String, Value>,
    /// Per-version values.
    #[serde(default)]
    pub version_values: Vec<Map<String, Value>>,
}

/// A rendered provider spec.
#[derive(Debug, Clone, Deserialize)]
struct Provider {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    units: Option<String>,
    #[serde(default)]
    params: Vec<Param>,
    #[serde(default)]
    body: Option<String>,
    jq_expression: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Param {
    name: String,
    #[serde(default)]
    value: String,
}

fn fail(message: String) -> TaskError {
    TaskError::External(message.into())
}

/// Parse `with` (Go's JSON decoding: keys matched case-insensitively).
pub fn parse(with: Option<&Value>) -> Result<Inputs, TaskError> {
    let Some(v) = with else {
        return Ok(Inputs::default());
    };
    let mut lowered = Map::new();
    if let Value::Object(m) = v {
        for (k, val) in m {
            let key = match k.to_ascii_lowercase().as_str() {
                "templates" => "templates",
                "values" => "values",
                "versionvalues" => "versionValues",
                _ => continue,
            };
            lowered.insert(key.to_string(), val.clone());
        }
    }
    serde_json::from_value(Value::Object(lowered))
        .map_err(|e| fail(format!("invalid custommetrics inputs: {e}")))
}

/// `a` with `b` deep-merged over it (maps merge, anything else is replaced).
fn merge(a: &Map<String, Value>, b: &Map<String, Value>) -> Map<String, Value> {
    let mut out = a.clone();
    for (k, v) in b {
        match (out.get_mut(k), v) {
            (Some(Value::Object(x)), Value::Object(y)) => {
                *x = merge(x, y);
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

pub(crate) fn fetch_template(url: &str) -> Result<String, TaskError> {
    let bytes = if url.starts_with("http://") || url.starts_with("https://") {
        crate::load::http::get(url, false, Duration::from_secs(30))
            .map_err(|e| fail(format!("unable to fetch template {url}: {e}")))?
    } else {
        Bytes::from(
            std::fs::read(url).map_err(|e| fail(format!("unable to read template {url}: {e}")))?,
        )
    };
    String::from_utf8(bytes.to_vec()).map_err(|_| fail(format!("template {url} is not UTF-8")))
}

/// Reduce `body` (JSON) with the jq expression `expr` to a number (its first output).
pub fn jq_number(expr: &str, body: &[u8]) -> Result<f64, String> {
    use jaq_core::load::{Arena, File, Loader};
    use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
    let input = jaq_json::read::parse_single(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: expr,
                path: (),
            },
        )
        .map_err(|_| format!("cannot parse jq expression {expr:?}"))?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|_| format!("cannot compile jq expression {expr:?}"))?;
    let ctx = Ctx::<data::JustLut<jaq_json::Val>>::new(&filter.lut, Vars::new([]));
    let first = filter
        .id
        .run((ctx, input))
        .map(unwrap_valr)
        .next()
        .ok_or_else(|| format!("jq expression {expr:?} gave no output"))?
        .map_err(|e| format!("jq expression {expr:?} failed: {e}"))?;
    let text = first.to_string();
    let v: Value = serde_json::from_str(&text).map_err(|_| format!("not a number: {text}"))?;
    let x = match &v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("jq expression {expr:?} gave {text}, not a number"))?;
    if x.is_nan() {
        return Err(format!("jq expression {expr:?} gave NaN"));
    }
    Ok(x)
}

pub(crate) fn query_url(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let enc = |s: &str| -> String {
        let mut o = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                o.push(b as char);
            } else {
                o.push_str(&format!("%{b:02X}"));
            }
        }
        o
    };
    let q: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}={}", enc(name), enc(value)))
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", q.join("&"))
}

/// The `custommetrics` task, with the caller's template engine.
pub struct CustomMetricsTask<'a> {
    renderer: &'a dyn TemplateRenderer,
}

impl<'a> CustomMetricsTask<'a> {
    /// A task rendering provider templates with `renderer`.
    pub fn new(renderer: &'a dyn TemplateRenderer) -> Self {
        CustomMetricsTask { renderer }
    }
}

impl super::Task for CustomMetricsTask<'_> {
    fn check(&self, with: Option<&Value>) -> Result<(), TaskError> {
        parse(with).map(drop)
    }

    fn run(&self, exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
        let inputs = parse(ctx.spec.with.as_ref())?;
        let versions: Vec<Map<String, Value>> = if inputs.version_values.is_empty() {
            vec![inputs.values.clone()]
        } else {
            inputs
                .version_values
                .iter()
                .map(|v| merge(&inputs.values, v))
                .collect()
        };
        let result = exp
            .result
            .as_mut()
            .ok_or_else(|| fail("experiment has no result".into()))?;
        let start = result.start_time.map(|t| t.with_timezone(&Utc));
        let insights = result
            .init_insights(versions.len())
            .map_err(|e| fail(e.to_string()))?;
        for (provider, url) in &inputs.templates {
            let text = fetch_template(url)?;
            for (i, values) in versions.iter().enumerate() {
                let mut values = values.clone();
                let since = match values.get("startingTime") {
                    Some(Value::String(s)) => Some(
                        DateTime::parse_from_rfc3339(s)
                            .map_err(|e| fail(format!("cannot parse startingTime {s:?}: {e}")))?
                            .with_timezone(&Utc),
                    ),
                    _ => start,
                };
                let elapsed = since.map(|t| (Utc::now() - t).num_seconds()).unwrap_or(0);
                values.insert("elapsedTimeSeconds".into(), Value::from(elapsed));
                let rendered = self
                    .renderer
                    .render(provider, &text, &Value::Object(values))
                    .map_err(|e| fail(format!("provider {provider}: {e}")))?;
                let spec: Provider = serde_yaml_ng::from_str(&rendered).map_err(|e| {
                    fail(format!(
                        "provider {provider}: the rendered template is not a provider spec: {e}"
                    ))
                })?;
                for m in &spec.metrics {
                    let name = format!("{provider}/{}", m.name);
                    let kind = match m.kind.to_ascii_lowercase().as_str() {
                        "counter" => MetricType::Counter,
                        "gauge" => MetricType::Gauge,
                        other => {
                            ctx.warn(format!("{name}: unknown metric type {other:?}; skipped"));
                            continue;
                        }
                    };
                    let value =
                        request(&spec, m).and_then(|body| jq_number(&m.jq_expression, &body));
                    match value {
                        Ok(x) => {
                            let meta =
                                MetricMeta::new(m.description.clone(), kind, m.units.as_deref());
                            insights
                                .update_metric(&name, meta, i, MetricValue::Scalar(x))
                                .map_err(|e| fail(e.to_string()))?;
                        }
                        Err(e) => ctx.warn(format!("{name} (version {i}): {e}; skipped")),
                    }
                }
            }
        }
        Ok(())
    }
}

/// One metric's HTTP request; returns the body of a 2xx response.
fn request(spec: &Provider, m: &Metric) -> Result<Bytes, String> {
    let method = spec.method.clone().unwrap_or_else(|| "GET".into());
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    headers.push((
        "Content-Type".into(),
        "application/json;charset=utf-8".into(),
    ));
    let body = m.body.clone().unwrap_or_default();
    let params: Vec<(String, String)> = m
        .params
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    crate::load::http::fetch(
        &method,
        &query_url(&spec.url, &params),
        &headers,
        Bytes::from(body),
        Duration::from_secs(30),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Prometheus' answer reduced by Iter8's usual expression; strings are numbers too; NaN,
    /// empty output and non-numbers are errors.
    #[test]
    fn jq() {
        let body = br#"{"status":"success","data":{"result":[{"value":[1700000000.1,"42.5"]}]}}"#;
        assert_eq!(
            jq_number(".data.result[0].value[1] | tonumber", body),
            Ok(42.5)
        );
        assert_eq!(jq_number(".data.result[0].value[1]", body), Ok(42.5));
        assert!(jq_number(".data.result[1].value[1]", body).is_err());
        assert!(jq_number(".data.result", body).is_err());
        assert!(jq_number("empty", body).is_err());
        assert!(jq_number(r#""NaN" | tonumber"#, body).is_err());
        assert!(jq_number(".[", body).is_err());
        assert!(jq_number(".", b"not json").is_err());
    }

    /// versionValues merge over values per version, without leaking between versions.
    #[test]
    fn merging() {
        let w = json!({"Templates": {"p": "u"}, "values": {"a": 1, "m": {"x": 1, "y": 2}},
                       "versionValues": [{"m": {"y": 3}, "b": 2}, {"c": 3}]});
        let i = parse(Some(&w)).expect("parse");
        assert_eq!(i.templates.get("p").map(String::as_str), Some("u"));
        let v0 = merge(&i.values, &i.version_values[0]);
        let v1 = merge(&i.values, &i.version_values[1]);
        assert_eq!(
            Value::Object(v0),
            json!({"a": 1, "b": 2, "m": {"x": 1, "y": 3}})
        );
        assert_eq!(
            Value::Object(v1),
            json!({"a": 1, "c": 3, "m": {"x": 1, "y": 2}})
        );
    }

    /// Query parameters are percent-encoded and appended.
    #[test]
    fn query() {
        let p = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(
            query_url("http://h/api/v1/query", &[p("query", "sum(x{a=\"b\"})")]),
            "http://h/api/v1/query?query=sum%28x%7Ba%3D%22b%22%7D%29"
        );
        assert_eq!(
            query_url("http://h/q?x=1", &[p("y", "2")]),
            "http://h/q?x=1&y=2"
        );
    }
}
