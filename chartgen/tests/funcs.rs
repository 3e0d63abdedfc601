//! Sprig/Helm function conformance: every case in `tests/funcs/cases.txt` carries the output
//! real Helm v4.1.4 printed for it (regenerate with `tests/funcs/golden.py HELM`).
//!
//! Until the template executor is on main, the expressions are evaluated by a small
//! evaluator here: function calls, parenthesised sub-expressions, pipelines, literals,
//! `.Values` paths and `.Field` on results, with Go's argument conversion for literals.

use chartgen::Value;
use chartgen::funcs::{CallCtx, FuncError, FuncResult, Param, lookup};
use chartgen::value::Map;
use std::rc::Rc;

/// The engine services a function may call, with a fixed clock.
struct TestCtx;

impl CallCtx for TestCtx {
    fn include(&mut self, name: &str, _data: &Value) -> Result<String, FuncError> {
        Err(FuncError::Call(format!("no template {name:?}")))
    }
    fn tpl(&mut self, text: &str, data: &Value) -> Result<String, FuncError> {
        // Enough for the `tpl "{{ .Values.s }}" .` case: one path action.
        let path = text.trim_start_matches("{{").trim_end_matches("}}").trim();
        Ok(chartgen_fmt(&walk(data, path)))
    }
    fn lookup(&mut self, _: &str, _: &str, _: &str, _: &str) -> FuncResult {
        Ok(Value::empty_map())
    }
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2026-11-22T21:05:39.171707497Z").expect("valid time")
    }
}

/// What `{{ v }}` prints: `%v`, with nil as `<no value>` (stripped by Helm afterwards).
fn chartgen_fmt(v: &Value) -> String {
    match v {
        Value::Nil => String::new(),
        other => {
            let printed = call("toString", vec![other.clone()]).expect("toString never fails");
            printed.as_str().unwrap_or("").replace("<no value>", "")
        }
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

/// `.a.b` on maps (missing -> nil) and objects.
fn walk(v: &Value, path: &str) -> Value {
    let mut cur = v.clone();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        cur = match &cur {
            Value::Map(m) => m.borrow().get(part).cloned().unwrap_or(Value::Nil),
            Value::Object(o) => {
                if o.has_method(part) {
                    o.call_method(part, &[]).unwrap_or(Value::Nil)
                } else {
                    o.field(part).unwrap_or(Value::Nil)
                }
            }
            _ => Value::Nil,
        };
    }
    cur
}

/// An argument before conversion: untyped constants keep their literal kind.
#[derive(Clone, Debug)]
enum Arg {
    IntConst(i64),
    FloatConst(f64),
    Val(Value),
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    dot: Value,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos] == b' ' {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// pipeline := command ('|' command)*
    fn pipeline(&mut self) -> Result<Arg, FuncError> {
        let mut acc = self.command(None)?;
        loop {
            self.skip_ws();
            if self.peek() == Some(b'|') {
                self.pos += 1;
                acc = self.command(Some(acc))?;
            } else {
                return Ok(acc);
            }
        }
    }

    /// command := operand | NAME operand* (the piped value goes last)
    fn command(&mut self, piped: Option<Arg>) -> Result<Arg, FuncError> {
        self.skip_ws();
        let start = self.pos;
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.pos += 1;
            }
            let name = std::str::from_utf8(&self.s[start..self.pos])
                .expect("ascii")
                .to_string();
            if name == "true" || name == "false" || name == "nil" {
                self.pos = start;
            } else {
                let mut args = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None | Some(b'|') | Some(b')') => break,
                        _ => args.push(self.operand()?),
                    }
                }
                args.extend(piped);
                return invoke(&name, args).map(Arg::Val);
            }
        }
        let v = self.operand()?;
        match piped {
            Some(_) => panic!("piping into a non-function"),
            None => Ok(v),
        }
    }

    fn operand(&mut self) -> Result<Arg, FuncError> {
        self.skip_ws();
        let c = self.peek().expect("operand expected");
        let mut v = match c {
            b'(' => {
                self.pos += 1;
                let v = self.pipeline()?;
                self.skip_ws();
                assert_eq!(self.peek(), Some(b')'), "missing )");
                self.pos += 1;
                v
            }
            b'"' => Arg::Val(Value::str(self.string())),
            b'.' => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c != b' ' && c != b')' && c != b'|')
                {
                    self.pos += 1;
                }
                let path = std::str::from_utf8(&self.s[start..self.pos]).expect("utf8");
                Arg::Val(walk(&self.dot, path))
            }
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| {
                    c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'+'
                }) {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ascii");
                match text.parse::<i64>() {
                    Ok(i) => Arg::IntConst(i),
                    Err(_) => Arg::FloatConst(text.parse::<f64>().expect("number literal")),
                }
            }
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"true" => Arg::Val(Value::Bool(true)),
                    b"false" => Arg::Val(Value::Bool(false)),
                    b"nil" => Arg::Val(Value::Nil),
                    other => {
                        // A bare function name used as an operand: call it without arguments.
                        let name = std::str::from_utf8(other).expect("ascii").to_string();
                        Arg::Val(invoke(&name, Vec::new())?)
                    }
                }
            }
        };
        // `.Field` chains on a parenthesised result.
        while self.peek() == Some(b'.') {
            let start = self.pos;
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            let field = std::str::from_utf8(&self.s[start..self.pos]).expect("ascii");
            v = Arg::Val(walk(&to_value(v, Param::Any)?, field));
        }
        Ok(v)
    }

    /// A Go interpreted string literal.
    fn string(&mut self) -> String {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().expect("escape");
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).expect("utf8 literal")
    }
}

/// Go's conversion of an argument to a parameter type (constants adapt; values must match).
fn to_value(a: Arg, p: Param) -> Result<Value, FuncError> {
    Ok(match (a, p) {
        (Arg::IntConst(i), Param::Int64) => Value::Int64(i),
        (Arg::IntConst(i), Param::Float64) => Value::Float(i as f64),
        (Arg::IntConst(i), _) => Value::Int(i),
        (Arg::FloatConst(x), Param::Int) if x.fract() == 0.0 => Value::Int(x as i64),
        (Arg::FloatConst(x), _) => Value::Float(x),
        (Arg::Val(v), Param::Int) if !matches!(v, Value::Int(_)) => {
            return Err(FuncError::Call(format!(
                "wrong type for value; expected int; got {}",
                v.type_name()
            )));
        }
        (Arg::Val(v), Param::String) if !matches!(v, Value::String(_)) => {
            return Err(FuncError::Call(format!(
                "wrong type for value; expected string; got {}",
                v.type_name()
            )));
        }
        (Arg::Val(v), _) => v,
    })
}

fn invoke(name: &str, args: Vec<Arg>) -> Result<Value, FuncError> {
    let f =
        lookup(name).ok_or_else(|| FuncError::Call(format!("function {name:?} not defined")))?;
    let mut vals = Vec::new();
    for (i, a) in args.into_iter().enumerate() {
        let p = f
            .params
            .get(i)
            .copied()
            .or(f.variadic)
            .expect("too many arguments");
        vals.push(to_value(a, p)?);
    }
    assert!(vals.len() >= f.params.len(), "{name}: too few arguments");
    (f.call)(&mut TestCtx, vals)
}

/// Evaluate one case expression as `{{ EXPR }}` would print it.
fn eval(expr: &str) -> Result<String, FuncError> {
    let mut p = Parser {
        s: expr.as_bytes(),
        pos: 0,
        dot: dot(),
    };
    let v = p.pipeline()?;
    assert_eq!(p.pos, expr.len(), "unparsed input in {expr:?}");
    Ok(chartgen_fmt(&to_value(v, Param::Any)?))
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

/// Every Helm-recorded case gives Helm's exact output, matches its regex, or fails with
/// Helm's message.
#[test]
fn cases_match_helm() {
    let all = cases();
    assert!(all.len() >= 400, "case file has {} cases", all.len());
    let mut failures = Vec::new();
    for c in &all {
        let got = std::panic::catch_unwind(|| eval(&c.expr));
        let ok = match (&got, c.kind) {
            (Err(_), _) => false,
            (Ok(Ok(out)), "eq") => *out == c.expected,
            (Ok(Ok(out)), "re") => regex::Regex::new(&format!("(?s){}", c.expected))
                .expect("case regex")
                .is_match(out),
            (Ok(Err(FuncError::Call(m) | FuncError::Fail(m) | FuncError::Nested(m))), "err") => {
                *m == c.expected
            }
            _ => false,
        };
        if !ok {
            let shown = match &got {
                Ok(Ok(s)) => format!("{s:?}"),
                Ok(Err(e)) => format!("error {e:?}"),
                Err(_) => "panic".to_string(),
            };
            failures.push(format!(
                "{}: {}\n   want {:?}\n   got  {shown}",
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
    let ca = eval_value(r#"genCA "test-ca" 30"#);
    let leaf = invoke(
        "genSignedCert",
        vec![
            Arg::Val(Value::str("svc")),
            Arg::Val(Value::list(vec![Value::str("10.1.2.3")])),
            Arg::Val(Value::list(vec![Value::str("svc.ns.svc")])),
            Arg::IntConst(10),
            Arg::Val(ca.clone()),
        ],
    )
    .expect("genSignedCert");
    let field = |v: &Value, f: &str| walk(v, f).as_str().expect("PEM text").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_path = dir.path().join("ca.pem");
    let leaf_path = dir.path().join("leaf.pem");
    let key_path = dir.path().join("leaf.key");
    std::fs::write(&ca_path, field(&ca, "Cert")).expect("write");
    std::fs::write(&leaf_path, field(&leaf, "Cert")).expect("write");
    std::fs::write(&key_path, field(&leaf, "Key")).expect("write");
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
    let verified = run(&[
        "verify",
        "-CAfile",
        ca_path.to_str().expect("utf8"),
        leaf_path.to_str().expect("utf8"),
    ]);
    assert!(verified.contains(": OK"), "{verified}");
    let text = run(&[
        "x509",
        "-noout",
        "-text",
        "-in",
        leaf_path.to_str().expect("utf8"),
    ]);
    assert!(
        text.contains("Subject: CN=svc") || text.contains("Subject: CN = svc"),
        "{text}"
    );
    assert!(text.contains("IP Address:10.1.2.3"), "{text}");
    assert!(text.contains("DNS:svc.ns.svc"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    // The key belongs to the certificate.
    let cert_mod = run(&[
        "x509",
        "-noout",
        "-modulus",
        "-in",
        leaf_path.to_str().expect("utf8"),
    ]);
    let key_mod = run(&[
        "rsa",
        "-noout",
        "-modulus",
        "-in",
        key_path.to_str().expect("utf8"),
    ]);
    assert_eq!(cert_mod, key_mod);
}

fn eval_value(expr: &str) -> Value {
    let mut p = Parser {
        s: expr.as_bytes(),
        pos: 0,
        dot: dot(),
    };
    to_value(p.pipeline().expect("evaluates"), Param::Any).expect("value")
}
