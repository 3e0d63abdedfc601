//! Sprig/Helm function conformance: every case in `tests/funcs/cases.txt` carries the output
//! real Helm v4.1.4 printed for it (regenerate with `tests/funcs/golden.py HELM`), and is
//! rendered here by the real template engine as `{{ EXPR }}`.

use chartgen::Value;
use chartgen::funcs::{CallCtx, FuncError, FuncResult, lookup};
use chartgen::value::Map;
use std::rc::Rc;

/// The engine services for calling function bodies directly, with a fixed clock.
struct TestCtx;

impl CallCtx for TestCtx {
    fn include(&mut self, name: &str, _data: &Value) -> Result<String, FuncError> {
        Err(FuncError::Call(format!("no template {name:?}")))
    }
    fn tpl(&mut self, _text: &str, _data: &Value) -> Result<String, FuncError> {
        Err(FuncError::Call("tpl is not available here".into()))
    }
    fn lookup(&mut self, _: &str, _: &str, _: &str, _: &str) -> FuncResult {
        Ok(Value::empty_map())
    }
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2026-11-22T21:05:39.171707497Z").expect("valid time")
    }
}

fn call(name: &str, args: Vec<Value>) -> FuncResult {
    let f =
        lookup(name).ok_or_else(|| FuncError::Call(format!("function {name:?} not defined")))?;
    (f.call)(&mut TestCtx, args)
}

/// JSON (the values file is written in JSON syntax) to a Value with YAML's number rule.
fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().expect("finite")),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect::<Map>(),
        ),
    }
}

fn dot() -> Value {
    let text = include_str!("funcs/values.yaml");
    let values: serde_json::Value = serde_json::from_str(text).expect("values.yaml is JSON");
    let mut top = Map::new();
    top.insert("Values".into(), from_json(&values));
    Value::map(top)
}

struct Case {
    kind: &'static str,
    expr: String,
    expected: String,
}

fn cases() -> Vec<Case> {
    let text = include_str!("funcs/cases.txt");
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut out: Vec<Case> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let flush = |out: &mut Vec<Case>, body: &mut Vec<&str>| {
        if let Some(last) = out.last_mut() {
            last.expected = body.join("\n");
        }
        body.clear();
    };
    for line in text.split('\n') {
        if let Some(head) = line.strip_prefix("=== ") {
            flush(&mut out, &mut body);
            let (kind, expr) = if let Some(e) = head.strip_prefix("RE ") {
                ("re", e)
            } else if let Some(e) = head.strip_prefix("ERR ") {
                ("err", e)
            } else {
                ("eq", head)
            };
            out.push(Case {
                kind,
                expr: expr.to_string(),
                expected: String::new(),
            });
        } else if !out.is_empty() {
            body.push(line);
        }
    }
    flush(&mut out, &mut body);
    out
}

/// The message Helm shows for a function error: after the last `error calling NAME: `, or
/// after `execution error at (...): ` for fail/required.
fn inner_message(full: &str) -> String {
    if let Some(i) = full.find("execution error at (") {
        let rest = &full[i..];
        if let Some(j) = rest.find("): ") {
            return rest[j + 3..].to_string();
        }
    }
    match full.rfind("error calling ") {
        Some(i) => {
            let rest = &full[i + "error calling ".len()..];
            rest.split_once(": ")
                .map(|(_, m)| m.to_string())
                .unwrap_or_default()
        }
        None => full.to_string(),
    }
}

/// Cases where this engine knowingly differs from Helm, with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "typeOf (split \",\" \"a\")",
        "Go map[string]string is modelled as map[string]interface {}",
    ),
    (
        "typeOf (chunk 2 (list 1 2 3))",
        "Go [][]interface {} is modelled as []interface {}",
    ),
    (
        "fromToml \"bad toml =\"",
        "TOML parse errors come from the toml crate, not BurntSushi/toml",
    ),
];

/// Render `text` as the chart file `c/templates/t.yaml` with the test values as `.Values`,
/// `<no value>` stripped as Helm strips a file's output; errors as Helm's message.
fn render(text: &str) -> Result<String, String> {
    use chartgen::template::{ExecEnv, OfflineLookup, TemplateSet};
    let env = ExecEnv {
        lookup: &OfflineLookup,
        now: TestCtx.now(),
        helm3: false,
    };
    let mut set = TemplateSet::new();
    let name = "c/templates/t.yaml";
    set.add(name, text)
        .and_then(|()| set.execute(name, &dot(), &env))
        .map(|out| out.replace("<no value>", ""))
        .map_err(|e| e.helm_message())
}

/// The same cases rendered by the real template engine as `{{ EXPR }}` in a chart file, with
/// `<no value>` stripped the way Helm strips a file's output.
#[test]
fn cases_match_helm_through_engine() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 700, "case file has {} cases", all.len());
    for c in &all {
        let got = render(&format!("{{{{ {} }}}}", c.expr)).map_err(|e| inner_message(&e));
        let ok = match (&got, c.kind) {
            (Ok(out), "eq") => *out == c.expected,
            (Ok(out), "re") => regex::Regex::new(&format!("(?s){}", c.expected))
                .expect("case regex")
                .is_match(out),
            (Err(m), "err") => *m == c.expected,
            _ => false,
        };
        if !ok && !KNOWN_DIFFERENCES.iter().any(|(e, _)| *e == c.expr) {
            failures.push(format!(
                "{}: {}\n   want {:?}\n   got  {got:?}",
                c.kind, c.expr, c.expected
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// `set` mutates the caller's map in place and returns that same map (Helm's shared
/// `.Values` relies on it); `merge` returns its first argument.
#[test]
fn set_and_merge_mutate_in_place() {
    let m = Value::empty_map();
    let out = call("set", vec![m.clone(), Value::str("k"), Value::Int(1)]).expect("set");
    let Value::Map(inner) = &m else {
        unreachable!()
    };
    assert_eq!(inner.borrow().get("k"), Some(&Value::Int(1)));
    let Value::Map(returned) = &out else {
        panic!("set returns a map")
    };
    assert!(Rc::ptr_eq(inner, returned));
    let src = Value::map(Map::from([("z".to_string(), Value::Int(2))]));
    let merged = call("merge", vec![m.clone(), src]).expect("merge");
    let Value::Map(mm) = &merged else {
        panic!("merge returns a map")
    };
    assert!(Rc::ptr_eq(inner, mm));
    assert_eq!(inner.borrow().len(), 2);
}

/// `env` and `expandenv` are removed by Helm and must not exist; Helm's own are present.
#[test]
fn helm_function_set() {
    assert!(lookup("env").is_none());
    assert!(lookup("expandenv").is_none());
    for name in [
        "include",
        "tpl",
        "required",
        "fail",
        "toYaml",
        "fromYamlArray",
        "lookup",
        "toToml",
    ] {
        assert!(lookup(name).is_some(), "{name} missing");
    }
    assert!(chartgen::funcs::registry().len() > 200);
}

/// `genCA` + `genSignedCert` produce a chain that OpenSSL accepts: the leaf verifies
/// against the CA and carries the requested CN, IP and DNS names.
#[test]
fn generated_certificates_verify_with_openssl() {
    let pems = render(concat!(
        r#"{{- $ca := genCA "test-ca" 30 -}}"#,
        r#"{{- $leaf := genSignedCert "svc" (list "10.1.2.3") (list "svc.ns.svc") 10 $ca -}}"#,
        "{{ $ca.Cert }}@@{{ $leaf.Cert }}@@{{ $leaf.Key }}"
    ))
    .expect("renders");
    let parts: Vec<&str> = pems.split("@@").collect();
    assert_eq!(parts.len(), 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |n: &str| dir.path().join(n).to_str().expect("utf8 path").to_string();
    for (name, text) in ["ca.pem", "leaf.pem", "leaf.key"].iter().zip(&parts) {
        std::fs::write(path(name), text).expect("write PEM");
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let verified = run(&["verify", "-CAfile", &path("ca.pem"), &path("leaf.pem")]);
    assert!(verified.contains(": OK"), "{verified}");
    let text = run(&["x509", "-noout", "-text", "-in", &path("leaf.pem")]);
    assert!(
        text.contains("Subject: CN=svc") || text.contains("Subject: CN = svc"),
        "{text}"
    );
    assert!(text.contains("IP Address:10.1.2.3"), "{text}");
    assert!(text.contains("DNS:svc.ns.svc"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    // The key belongs to the certificate.
    let cert_mod = run(&["x509", "-noout", "-modulus", "-in", &path("leaf.pem")]);
    let key_mod = run(&["rsa", "-noout", "-modulus", "-in", &path("leaf.key")]);
    assert_eq!(cert_mod, key_mod);
}
