//! The `notify` task (Iter8 v0.13 §4.6; the chart's `slack` and `github` tasks): one HTTP
//! request to a webhook, with a payload rendered from a template and the experiment's report.
//!
//! Inputs (`with`, keys case-insensitive): `url` (required), `method` (default `POST` with a
//! payload template, else `GET`), `params` (query parameters), `headers`,
//! `payloadTemplateURL`, `softFailure` (failures only warn). The template (Go text/template
//! with Sprig) sees `.Report`: `timeStamp`, `completed`, `noTaskFailures`, `numTasks`,
//! `numCompletedTasks`, `numLoops` and `experiment` (spec and result).
//!
//! Payload templates for Slack and GitHub are built in: the Iter8 hub URLs the chart uses by
//! default (`…/iter8-tools/hub/<tag>/templates/_payload-slack.tpl`, `_payload-github.tpl`)
//! and `builtin:slack` / `builtin:github` select them without any download, so notifications
//! work offline. Unlike Iter8's Slack template, ours produces valid JSON.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::custommetrics::{TemplateRenderer, fetch_template};
use super::{TaskContext, TaskError};
use crate::experiment::Experiment;

const SLACK: &str = r#"{"text": {{ printf "Iter8 experiment report (%s)\n```\n%s\n```" .Report.timeStamp (toPrettyJson .Report) | toJson }}}
"#;

const GITHUB: &str = r#"{"event_type": "iter8", "client_payload": {{ toPrettyJson .Report }}}
"#;

/// Parsed `with`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    url: String,
    method: Option<String>,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    payload_template_url: Option<String>,
    soft_failure: bool,
}

fn fail(message: String) -> TaskError {
    TaskError::External(message.into())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Parse `with` (keys matched case-insensitively, unknown keys ignored).
pub fn parse(with: Option<&Value>) -> Result<Inputs, TaskError> {
    let mut i = Inputs::default();
    let empty = Map::new();
    let m = match with {
        Some(Value::Object(m)) => m,
        _ => &empty,
    };
    let pairs = |v: &Value| -> Vec<(String, String)> {
        match v {
            Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
            _ => Vec::new(),
        }
    };
    for (k, v) in m {
        match k.to_ascii_lowercase().as_str() {
            "url" => i.url = scalar(v),
            "method" => i.method = Some(scalar(v)).filter(|s| !s.is_empty()),
            "params" => i.params = pairs(v),
            "headers" => i.headers = pairs(v),
            "payloadtemplateurl" => {
                i.payload_template_url = Some(scalar(v)).filter(|s| !s.is_empty())
            }
            "softfailure" => {
                i.soft_failure = match v {
                    Value::Bool(b) => *b,
                    Value::String(s) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                }
            }
            _ => {}
        }
    }
    if i.url.is_empty() {
        return Err(fail("no URL was provided for notify task".into()));
    }
    Ok(i)
}

/// The built-in template a payload template URL stands for, if any.
fn builtin(url: &str) -> Option<&'static str> {
    let hub = url.starts_with("https://raw.githubusercontent.com/iter8-tools/hub/");
    match url {
        "builtin:slack" => Some(SLACK),
        "builtin:github" => Some(GITHUB),
        _ if hub && url.ends_with("/templates/_payload-slack.tpl") => Some(SLACK),
        _ if hub && url.ends_with("/templates/_payload-github.tpl") => Some(GITHUB),
        _ => None,
    }
}

/// `.Report` as the payload template sees it.
pub fn report(exp: &Experiment) -> Result<Value, TaskError> {
    let r = exp.result.as_ref();
    let now = chrono::Local::now();
    Ok(json!({
        "timeStamp": now.format("%Y-%m-%d %H:%M:%S%.f %z %Z").to_string(),
        "completed": exp.completed(),
        "noTaskFailures": exp.no_failure(),
        "numTasks": exp.spec.len(),
        "numCompletedTasks": r.map(|r| r.num_completed_tasks).unwrap_or(0),
        "numLoops": r.map(|r| r.num_loops).unwrap_or(0),
        "experiment": exp.to_json().map_err(|e| fail(e.to_string()))?,
    }))
}

/// The `notify` task, with the caller's template engine.
pub struct NotifyTask<'a> {
    renderer: &'a dyn TemplateRenderer,
}

impl<'a> NotifyTask<'a> {
    /// A task rendering payload templates with `renderer`.
    pub fn new(renderer: &'a dyn TemplateRenderer) -> Self {
        NotifyTask { renderer }
    }

    fn send(&self, inputs: &Inputs, exp: &Experiment) -> Result<(), TaskError> {
        let body = match &inputs.payload_template_url {
            None => Bytes::new(),
            Some(url) => {
                let text = match builtin(url) {
                    Some(t) => t.to_string(),
                    None => fetch_template(url)?,
                };
                let data = json!({ "Report": report(exp)? });
                let rendered = self
                    .renderer
                    .render("payload", &text, &data)
                    .map_err(|e| fail(format!("unable to render payload template {url}: {e}")))?;
                Bytes::from(rendered)
            }
        };
        let method = inputs.method.clone().unwrap_or_else(|| {
            if inputs.payload_template_url.is_some() {
                "POST".into()
            } else {
                "GET".into()
            }
        });
        let url = super::custommetrics::query_url(&inputs.url, &inputs.params);
        crate::load::http::fetch(
            &method,
            &url,
            &inputs.headers,
            body,
            Duration::from_secs(30),
        )
        .map(|_| ())
        .map_err(|e| {
            fail(format!(
                "did not receive successful status code for notify task: {e}"
            ))
        })
    }
}

impl super::Task for NotifyTask<'_> {
    fn check(&self, with: Option<&Value>) -> Result<(), TaskError> {
        parse(with).map(drop)
    }

    fn run(&self, exp: &mut Experiment, ctx: &TaskContext<'_>) -> Result<(), TaskError> {
        let inputs = parse(ctx.spec.with.as_ref())?;
        match self.send(&inputs, exp) {
            Err(e) if inputs.soft_failure => {
                ctx.warn(format!(
                    "notify {}: {e} (softFailure: continuing)",
                    inputs.url
                ));
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// url is required; method and softFailure parse; params and headers keep their values.
    #[test]
    fn inputs() {
        let e = parse(Some(&json!({}))).expect_err("no url");
        assert_eq!(e.to_string(), "no URL was provided for notify task");
        let i = parse(Some(&json!({"URL": "http://h/x", "softFailure": true,
            "headers": {"A": "b"}, "params": {"n": 1}, "payloadTemplateURL": "builtin:slack"})))
        .expect("parse");
        assert!(i.soft_failure);
        assert_eq!(i.headers, [("A".to_string(), "b".to_string())]);
        assert_eq!(i.params, [("n".to_string(), "1".to_string())]);
        assert_eq!(i.method, None);
    }

    /// The chart's default hub URLs and builtin: names select the built-in templates.
    #[test]
    fn builtins() {
        let hub = "https://raw.githubusercontent.com/iter8-tools/hub/iter8-0.12.1/templates/";
        assert_eq!(builtin(&format!("{hub}_payload-slack.tpl")), Some(SLACK));
        assert_eq!(builtin(&format!("{hub}_payload-github.tpl")), Some(GITHUB));
        assert_eq!(builtin("builtin:github"), Some(GITHUB));
        assert_eq!(
            builtin("https://example.com/templates/_payload-slack.tpl"),
            None
        );
    }
}
