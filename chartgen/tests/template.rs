//! Go text/template conformance: every case in `tests/template/cases.txt` (template text,
//! values, expected output or Helm error) runs through `chartgen::template`.
//!
//! The expected texts were produced by real Helm v4.1.4 (`tests/template/helm_verify.py`
//! re-checks them against `.tools/bin/helm`). The data is the values plus `.Release`, `.Chart`,
//! `.Template` and `.Capabilities` as `helm template` sets them for a chart named `t`.

use std::cell::RefCell;
use std::rc::Rc;

use chartgen::Value;
use chartgen::chart::objects::Capabilities;
use chartgen::template::{ExecEnv, TemplateSet, fmt};
use chartgen::value::Map;

/// One case of the data file.
struct Case {
    name: String,
    template: String,
    values: String,
    expect: Expect,
}

enum Expect {
    Out(String),
    Error(String),
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut name: Option<String> = None;
    let mut section = String::new();
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut buf: Vec<&str> = Vec::new();
    let flush =
        |name: &mut Option<String>, parts: &mut Vec<(String, String)>, cases: &mut Vec<Case>| {
            if let Some(n) = name.take() {
                let get = |k: &str| parts.iter().find(|(s, _)| s == k).map(|(_, v)| v.clone());
                let expect = match (get("out"), get("error")) {
                    (Some(o), _) => Expect::Out(o),
                    (None, Some(e)) => Expect::Error(e),
                    _ => panic!("case {n} has no expectation"),
                };
                cases.push(Case {
                    name: n,
                    template: get("template").unwrap_or_default(),
                    values: get("values").unwrap_or_else(|| "{}".into()),
                    expect,
                });
            }
            parts.clear();
        };
    for line in text.split('\n') {
        if let Some(n) = line.strip_prefix("### ") {
            if !section.is_empty() {
                parts.push((std::mem::take(&mut section), buf.join("\n")));
            }
            buf.clear();
            flush(&mut name, &mut parts, &mut cases);
            name = Some(n.trim().to_string());
            section = "template".into();
        } else if let Some(s) = line.strip_prefix("--- ") {
            parts.push((std::mem::take(&mut section), buf.join("\n")));
            buf.clear();
            section = s.trim().to_string();
        } else if name.is_some() {
            buf.push(line);
        }
    }
    if !section.is_empty() {
        while buf.last() == Some(&"") {
            buf.pop();
        }
        parts.push((section, buf.join("\n")));
    }
    flush(&mut name, &mut parts, &mut cases);
    cases
}

/// JSON to the value model with YAML's number typing (every number is float64).
fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().expect("finite")),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

fn root(values: &str) -> Value {
    let v: serde_json::Value = serde_json::from_str(values).expect("case values are JSON");
    let mut m = Map::new();
    m.insert("Values".into(), from_json(&v));
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::str("x"));
    rel.insert("Namespace".into(), Value::str("default"));
    m.insert("Release".into(), Value::map(rel));
    let mut tm = Map::new();
    tm.insert("Name".into(), Value::str("t/templates/t.yaml"));
    tm.insert("BasePath".into(), Value::str("t/templates"));
    m.insert("Template".into(), Value::map(tm));
    let mut chart = Map::new();
    chart.insert("Name".into(), Value::str("t"));
    chart.insert("Version".into(), Value::str("0.1.0"));
    m.insert("Chart".into(), Value::map(chart));
    let caps = Capabilities::new(
        chartgen::profile::Profile::find("4.1").expect("a profile"),
        None,
        &[],
    );
    m.insert("Capabilities".into(), Value::Object(Rc::new(caps)));
    Value::Map(Rc::new(RefCell::new(m)).into())
}

fn run(case: &Case) -> Result<String, String> {
    let mut set = TemplateSet::new();
    let name = "t/templates/t.yaml";
    set.add(name, &case.template)
        .map_err(|e| e.helm_message())?;
    let env = ExecEnv::offline();
    set.execute(name, &root(&case.values), &env)
        .map_err(|e| e.helm_message())
}

/// Every case of the data file produces Helm's output or Helm's error text.
#[test]
fn cases_match_helm() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/template/cases.txt"
    ))
    .expect("cases file");
    let cases = parse_cases(&text);
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let got = run(case);
        let ok = match (&case.expect, &got) {
            (Expect::Out(want), Ok(out)) => want == out,
            (Expect::Error(want), Err(e)) => want == e,
            _ => false,
        };
        if !ok {
            let want = match &case.expect {
                Expect::Out(o) => format!("out {o:?}"),
                Expect::Error(e) => format!("error {e:?}"),
            };
            failures.push(format!("{}:\n  want {want}\n  got  {got:?}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Go's float formatting rules for `%v`, `%e`, `%f`, `%g` with explicit precisions.
#[test]
fn format_float_matches_strconv() {
    let cases: &[(f64, u8, i32, &str)] = &[
        (1000000.0, b'g', -1, "1e+06"),
        (999999.0, b'g', -1, "999999"),
        (0.0001, b'g', -1, "0.0001"),
        (0.00001, b'g', -1, "1e-05"),
        (1.5, b'g', -1, "1.5"),
        (0.0, b'g', -1, "0"),
        (-2.5, b'g', -1, "-2.5"),
        (12345678.0, b'g', -1, "1.2345678e+07"),
        (1e21, b'f', -1, "1000000000000000000000"),
        (1.23456, b'f', 2, "1.23"),
        (2.5, b'f', 0, "2"),
        (1234.5678, b'e', 3, "1.235e+03"),
        (0.0, b'e', -1, "0e+00"),
        (100.0, b'g', 3, "100"),
        (1234.0, b'g', 3, "1.23e+03"),
        (f64::INFINITY, b'g', -1, "+Inf"),
        (f64::NAN, b'g', -1, "NaN"),
    ];
    for (x, f, p, want) in cases {
        assert_eq!(
            fmt::format_float(*x, *f, *p),
            *want,
            "format_float({x}, {}, {p})",
            *f as char
        );
    }
}

/// `Sprint` puts spaces only between two non-string operands; `Sprintln` always does.
#[test]
fn sprint_spacing() {
    let args = [Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)];
    assert_eq!(fmt::sprint(&args), "1 2a3");
    assert_eq!(fmt::sprintln(&args), "1 2 a 3\n");
}

/// A later file's define replaces an earlier one, but an empty body does not.
#[test]
fn define_replacement_rules() {
    let mut set = TemplateSet::new();
    set.add("a", r#"{{ define "x" }}A{{ end }}"#)
        .expect("parses");
    set.add("b", r#"{{ define "x" }}B{{ end }}"#)
        .expect("parses");
    set.add("c", r#"{{ define "x" }}  {{ end }}"#)
        .expect("parses");
    set.add("main", r#"{{ include "x" . }}"#).expect("parses");
    let env = ExecEnv::offline();
    assert_eq!(set.execute("main", &Value::Nil, &env).expect("runs"), "B");
}

/// Executing an unknown template name is Go's "no template" error.
#[test]
fn unknown_template_name() {
    let set = TemplateSet::new();
    let env = ExecEnv::offline();
    let err = set.execute("nope", &Value::Nil, &env).expect_err("fails");
    assert_eq!(
        err.helm_message(),
        r#"template: no template "nope" associated with template "gotpl""#
    );
}

/// `tpl` strips `<no value>` under Helm 4 and Helm v3.11 alike, but v3.11 parses the text as
/// the calling file without that file's defines, so a define next to the `tpl` call is not
/// found there.
#[test]
fn tpl_sees_the_calling_files_defines_except_on_v3_11() {
    let v3_11 = chartgen::profile::Profile::find("3.11").expect("a profile");
    let text = r#"{{ define "d" }}D{{ end }}[{{ tpl "{{ .nope }}" . }}][{{ tpl "{{ include \"d\" . }}" . }}]"#;
    let data = Value::empty_map();
    if let Value::Map(m) = &data {
        let mut tmpl = std::collections::BTreeMap::new();
        tmpl.insert("Name".to_string(), Value::from("t"));
        m.borrow_mut().insert("Template".into(), Value::map(tmpl));
    }
    let mut set = TemplateSet::new();
    set.add("t", text).expect("parses");
    let env4 = ExecEnv::offline();
    assert_eq!(set.execute("t", &data, &env4).expect("runs"), "[][D]");
    let mut set = TemplateSet::for_profile(v3_11);
    set.add("t", text).expect("parses");
    let env3 = ExecEnv {
        profile: v3_11,
        ..ExecEnv::offline()
    };
    let err = set.execute("t", &data, &env3).expect_err("d is not seen");
    assert!(
        err.helm3_message().ends_with(
            r#"error calling include: template: no template "d" associated with template "gotpl""#
        ),
        "{}",
        err.helm3_message()
    );
    let mut set = TemplateSet::for_profile(v3_11);
    set.add("t", r#"[{{ tpl "{{ .nope }}" . }}]"#)
        .expect("parses");
    assert_eq!(set.execute("t", &data, &env3).expect("runs"), "[]");
}
