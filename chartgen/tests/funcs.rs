//! Sprig/Helm function conformance: every case in `tests/funcs/cases.txt` carries the output
//! real Helm v4.1.4 printed for it (regenerate with `tests/funcs/golden.py HELM`), and is
//! rendered here by the real template engine as `{{ EXPR }}`.

use chartgen::Value;
use chartgen::funcs::{CallCtx, FuncError, FuncResult, lookup};
use chartgen::value::{Map, go_bytes};
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
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "typeOf (chunk 2 (list 1 2 3))",
    "Go [][]interface {} is modelled as []interface {}",
)];

/// Render `text` as the chart file `c/templates/t.yaml` with the test values as `.Values`,
/// `<no value>` stripped as Helm strips a file's output; errors as Helm's message.
fn render(text: &str) -> Result<String, String> {
    use chartgen::template::{ExecEnv, OfflineLookup, TemplateSet};
    let env = ExecEnv {
        lookup: &OfflineLookup,
        now: TestCtx.now(),
        // The cases' goldens come from Helm v4.1.4.
        profile: chartgen::profile::Profile::find("4.1").expect("a profile"),
    };
    let mut set = TemplateSet::new();
    let name = "c/templates/t.yaml";
    set.add(name, text)
        .and_then(|()| set.execute(name, &dot(), &env))
        .map(|out| out.replace("<no value>", ""))
        // Helm's output bytes, read as text the way the cases were recorded.
        .map(|out| String::from_utf8_lossy(&go_bytes(&out)).into_owned())
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
        let t0 = std::time::Instant::now();
        let got = render(&format!("{{{{ {} }}}}", c.expr)).map_err(|e| inner_message(&e));
        if std::env::var("FUNCS_TIMING").is_ok() && t0.elapsed().as_millis() > 50 {
            eprintln!("slow case {:?}: {:?}", c.expr, t0.elapsed());
        }
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

/// Every function of Sprig v3.3.0's text map (less `env`/`expandenv`, which Helm deletes)
/// and every Helm addition is defined; `env`/`expandenv` are not.
#[test]
fn helm_function_set() {
    const ALL: &[&str] = &[
        "abbrev",
        "abbrevboth",
        "add",
        "add1",
        "add1f",
        "addf",
        "adler32sum",
        "ago",
        "all",
        "any",
        "append",
        "atoi",
        "b32dec",
        "b32enc",
        "b64dec",
        "b64enc",
        "base",
        "bcrypt",
        "biggest",
        "buildCustomCert",
        "camelcase",
        "cat",
        "ceil",
        "chunk",
        "clean",
        "coalesce",
        "compact",
        "concat",
        "contains",
        "date",
        "dateInZone",
        "dateModify",
        "date_in_zone",
        "date_modify",
        "decryptAES",
        "deepCopy",
        "deepEqual",
        "default",
        "derivePassword",
        "dict",
        "dig",
        "dir",
        "div",
        "divf",
        "duration",
        "durationRound",
        "empty",
        "encryptAES",
        "ext",
        "fail",
        "first",
        "float64",
        "floor",
        "fromJson",
        "fromJsonArray",
        "fromToml",
        "fromYaml",
        "fromYamlArray",
        "genCA",
        "genCAWithKey",
        "genPrivateKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "get",
        "getHostByName",
        "has",
        "hasKey",
        "hasPrefix",
        "hasSuffix",
        "hello",
        "htmlDate",
        "htmlDateInZone",
        "htpasswd",
        "include",
        "indent",
        "initial",
        "initials",
        "int",
        "int64",
        "isAbs",
        "join",
        "kebabcase",
        "keys",
        "kindIs",
        "kindOf",
        "last",
        "list",
        "lookup",
        "lower",
        "max",
        "maxf",
        "merge",
        "mergeOverwrite",
        "min",
        "minf",
        "mod",
        "mul",
        "mulf",
        "mustAppend",
        "mustChunk",
        "mustCompact",
        "mustDateModify",
        "mustDeepCopy",
        "mustFirst",
        "mustFromJson",
        "mustHas",
        "mustInitial",
        "mustLast",
        "mustMerge",
        "mustMergeOverwrite",
        "mustPrepend",
        "mustPush",
        "mustRegexFind",
        "mustRegexFindAll",
        "mustRegexMatch",
        "mustRegexReplaceAll",
        "mustRegexReplaceAllLiteral",
        "mustRegexSplit",
        "mustRest",
        "mustReverse",
        "mustSlice",
        "mustToDate",
        "mustToJson",
        "mustToPrettyJson",
        "mustToRawJson",
        "mustToYaml",
        "mustUniq",
        "mustWithout",
        "must_date_modify",
        "nindent",
        "nospace",
        "now",
        "omit",
        "osBase",
        "osClean",
        "osDir",
        "osExt",
        "osIsAbs",
        "pick",
        "pluck",
        "plural",
        "prepend",
        "push",
        "quote",
        "randAlpha",
        "randAlphaNum",
        "randAscii",
        "randBytes",
        "randInt",
        "randNumeric",
        "regexFind",
        "regexFindAll",
        "regexMatch",
        "regexQuoteMeta",
        "regexReplaceAll",
        "regexReplaceAllLiteral",
        "regexSplit",
        "repeat",
        "replace",
        "required",
        "rest",
        "reverse",
        "round",
        "semver",
        "semverCompare",
        "seq",
        "set",
        "sha1sum",
        "sha256sum",
        "sha512sum",
        "shuffle",
        "slice",
        "snakecase",
        "sortAlpha",
        "split",
        "splitList",
        "splitn",
        "squote",
        "sub",
        "subf",
        "substr",
        "swapcase",
        "ternary",
        "title",
        "toDate",
        "toDecimal",
        "toJson",
        "toPrettyJson",
        "toRawJson",
        "toString",
        "toStrings",
        "toToml",
        "toYaml",
        "toYamlPretty",
        "tpl",
        "trim",
        "trimAll",
        "trimPrefix",
        "trimSuffix",
        "trimall",
        "trunc",
        "tuple",
        "typeIs",
        "typeIsLike",
        "typeOf",
        "uniq",
        "unixEpoch",
        "unset",
        "until",
        "untilStep",
        "untitle",
        "upper",
        "urlJoin",
        "urlParse",
        "uuidv4",
        "values",
        "without",
        "wrap",
        "wrapWith",
    ];
    let missing: Vec<&str> = ALL
        .iter()
        .copied()
        .filter(|n| lookup(n).is_none())
        .collect();
    assert!(missing.is_empty(), "missing functions: {missing:?}");
    assert!(lookup("env").is_none());
    assert!(lookup("expandenv").is_none());
    assert_eq!(chartgen::funcs::registry().len(), ALL.len());
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
    // The chain is checked at the instant the certificates were made for (the context's fixed
    // clock), so the answer does not depend on today's date.
    let made = TestCtx.now().timestamp();
    let at = |t: i64| t.to_string();
    let verify = |t: i64| {
        std::process::Command::new("openssl")
            .args(["verify", "-attime", &at(t), "-CAfile"])
            .args([path("ca.pem"), path("leaf.pem")])
            .output()
            .expect("openssl runs")
    };
    let ok = verify(made);
    let verified = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success() && verified.contains(": OK"),
        "openssl verify -attime {made}: {verified}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // The leaf is valid for exactly the 10 days asked for: a day before the end it verifies,
    // a day after it has expired.
    const DAY: i64 = 24 * 3600;
    assert!(verify(made + 9 * DAY).status.success());
    let late = verify(made + 11 * DAY);
    assert!(!late.status.success());
    assert!(
        String::from_utf8_lossy(&late.stdout).contains("expired")
            || String::from_utf8_lossy(&late.stderr).contains("expired"),
        "after 11 days the leaf must have expired"
    );
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

/// No function panics on any argument of its declared types (nil, empty, negative,
/// multi-byte and mismatched-kind values); each returns a value or an error.
#[test]
fn functions_never_panic() {
    use chartgen::funcs::{Param, registry};
    // Slow generators are exercised by the Helm cases instead.
    const SLOW: &[&str] = &[
        "genPrivateKey",
        "genCA",
        "genSelfSignedCert",
        "genSignedCert",
        "derivePassword",
        "bcrypt",
        "htpasswd",
    ];
    let time = render_value("toDate \"2006-01-02\" \"2021-03-04\"");
    let samples = |p: Param| -> Vec<Value> {
        match p {
            Param::String => vec![
                Value::str(""),
                Value::str("é✓ x-1.2"),
                Value::str("a,b"),
                Value::str("("),
            ],
            Param::Int => vec![Value::Int(-3), Value::Int(0), Value::Int(2)],
            Param::Int64 => vec![Value::Int64(-1), Value::Int64(3)],
            Param::Float64 => vec![Value::Float(-0.5), Value::Float(2.5)],
            Param::Bool => vec![Value::Bool(true), Value::Bool(false)],
            Param::List => vec![
                Value::Nil,
                Value::list(vec![Value::str("10.0.0.1")]),
                Value::list(vec![]),
            ],
            Param::Map => vec![Value::Nil, Value::empty_map(), dot()],
            Param::Any => vec![
                Value::Nil,
                Value::Int(2),
                Value::Float(1.5),
                Value::str("é✓"),
                Value::list(vec![Value::Int(1), Value::Nil]),
                dot(),
                time.clone(),
            ],
        }
    };
    let mut calls = 0;
    for f in registry().iter().filter(|f| !SLOW.contains(&f.name)) {
        let mut params: Vec<Param> = f.params.to_vec();
        if let Some(v) = f.variadic {
            params.push(v);
        }
        // Every sample for each parameter in turn, the others at their first sample.
        for (i, &p) in params.iter().enumerate() {
            for sample in samples(p) {
                let args: Vec<Value> = params
                    .iter()
                    .enumerate()
                    .map(|(j, &q)| {
                        if i == j {
                            sample.clone()
                        } else {
                            samples(q)[1 % samples(q).len()].clone()
                        }
                    })
                    .collect();
                let call_args = args.clone();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (f.call)(&mut TestCtx, call_args)
                }));
                assert!(result.is_ok(), "{} panicked on {args:?}", f.name);
                calls += 1;
            }
        }
    }
    assert!(calls > 800, "only {calls} calls made");
}

fn render_value(expr: &str) -> Value {
    // A time.Time made by the real functions: parse then reuse via the registry.
    let parts: Vec<&str> = expr.splitn(3, ' ').collect();
    let f = lookup(parts[0]).expect("function exists");
    let args = parts[1..]
        .iter()
        .map(|a| Value::str(a.trim_matches('"')))
        .collect();
    (f.call)(&mut TestCtx, args).expect("evaluates")
}

/// Render `text` with `dot` as the data, returning the output bytes as Go wrote them.
fn render_bytes(text: &str, dot: &Value) -> Result<Vec<u8>, String> {
    render_bytes_as(text, dot, false)
}

/// [`render_bytes`] as Helm v4 or, with `helm3`, as Helm v3.11.
fn render_bytes_as(text: &str, dot: &Value, helm3: bool) -> Result<Vec<u8>, String> {
    use chartgen::template::{ExecEnv, OfflineLookup, TemplateSet};
    let env = ExecEnv {
        lookup: &OfflineLookup,
        now: TestCtx.now(),
        profile: if helm3 {
            chartgen::profile::Profile::find("3.11").expect("a profile")
        } else {
            chartgen::profile::Profile::find("4.1").expect("a profile")
        },
    };
    let mut set = TemplateSet::new();
    set.add("c/templates/t.yaml", text)
        .and_then(|()| set.execute("c/templates/t.yaml", dot, &env))
        .map(|out| go_bytes(&out).into_owned())
        .map_err(|e| e.helm_message())
}

/// Sprig's `split` returns a Go `map[string]string`: its type shows, a missing key is "",
/// and `map[string]interface {}` parameters refuse it (outputs recorded from Helm v4.1.4).
#[test]
fn split_is_a_string_map() {
    let out = render_bytes(
        r#"{{ $s := split "," "a,b" }}[{{ $s._9 }}][{{ index $s "_9" }}]{{ typeOf (deepCopy $s) }} {{ $s }}"#,
        &dot(),
    );
    assert_eq!(
        out.as_deref(),
        Ok(&b"[][]map[string]string map[_0:a _1:b]"[..])
    );
    let err = render_bytes(r#"{{ keys (split "," "a") }}"#, &dot()).expect_err("keys refuses it");
    assert!(
        err.ends_with(
            "wrong type for value; expected map[string]interface {}; got map[string]string"
        ),
        "{err}"
    );
}

/// Helm's `.Values` is a `common.Values`: `typeOf` names it, typed map parameters accept it
/// (and see a plain map), and `dig` refuses it with Go's type-assertion panic text.
#[test]
fn values_map_type() {
    use chartgen::value::{MapKind, MapRef};
    let values = MapRef::new(Map::from([(
        "a".to_string(),
        Value::map(Map::from([("b".to_string(), Value::str("found"))])),
    )]));
    let top = Value::map(Map::from([(
        "Values".to_string(),
        Value::Map(values.with_kind(MapKind::Values)),
    )]));
    let out = render_bytes(
        r#"{{ typeOf .Values }} {{ typeOf (set .Values "q" 1) }} {{ hasKey .Values "q" }} {{ dig "b" "x" .Values.a }}"#,
        &top,
    );
    assert_eq!(
        out.as_deref(),
        Ok(&b"common.Values map[string]interface {} true found"[..])
    );
    let err = render_bytes(r#"{{ dig "a" "b" "x" .Values }}"#, &top).expect_err("dig refuses it");
    assert!(
        err.ends_with("error calling dig: interface conversion: interface {} is common.Values, not map[string]interface {}"),
        "{err}"
    );
}

/// Go strings are bytes: `trunc`/`substr` may cut a UTF-8 sequence and `b64dec` may yield
/// any bytes; `len`, `%q`, `b64enc`, `toJson` and the output see Go's bytes.
#[test]
fn strings_hold_invalid_utf8() {
    let out = render_bytes(
        r#"{{ trunc 2 "héllo" | printf "%q" }} {{ b64dec "/w==" | len }} {{ b64dec "/w==" | toJson }} {{ trunc 2 "héllo" | b64enc }} {{ substr 0 2 "héllo" | quote }} {{ trunc 2 "héllo" }}"#,
        &dot(),
    );
    assert_eq!(
        out.as_deref(),
        Ok(&b"\"h\\xc3\" 1 \"\\ufffd\" aMM= \"h\\xc3\" h\xc3"[..])
    );
}

/// Rendering as Helm v3.11 uses its libraries' rules: Masterminds/semver v3.2.0 (prereleases
/// per constraint, capitalised errors) and `tpl` data typed `chartutil.Values` (outputs
/// recorded from Helm v3.11.1 and v4.1.4).
#[test]
fn helm3_library_differences() {
    let text = r#"{{ semverCompare ">=1.20.0-0 <2.0.0" "1.25.0-gke.1" }} {{ tpl "{{ typeOf . }}" (dict "Template" (dict "BasePath" "x" "Name" "y")) }}"#;
    assert_eq!(
        render_bytes_as(text, &dot(), true).as_deref(),
        Ok(&b"false chartutil.Values"[..])
    );
    assert_eq!(
        render_bytes_as(text, &dot(), false).as_deref(),
        Ok(&b"true map[string]interface {}"[..])
    );
    let err = render_bytes_as(r#"{{ semver "1.x" }}"#, &dot(), true).expect_err("invalid");
    assert!(
        err.ends_with("error calling semver: Invalid Semantic Version"),
        "{err}"
    );
}
