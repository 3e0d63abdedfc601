//! Golden tests for `chartgen::yaml`: every `tests/yaml/cases/NAME.yaml` is a values file;
//! `NAME.json` holds what real Helm (v4.1.4, via `tests/yaml/regen.py`) printed for
//! `toYaml`, `toJson`, `toPrettyJson`, `toRawJson` and `toToml` of `.Values`, or its error.

use chartgen::Value;
use chartgen::yaml;
use std::path::Path;

/// Error texts are compared once chartgen has its own go-yaml scanner (work in progress).
const CHECK_ERROR_TEXT: bool = true;

fn cases() -> Vec<(String, String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml/cases");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("cases dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let input = std::fs::read_to_string(&path).expect("case input");
            let golden = std::fs::read_to_string(path.with_extension("json")).expect("golden json");
            out.push((
                name,
                input,
                serde_json::from_str(&golden).expect("golden parses"),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every golden case: loading values and printing them matches Helm byte for byte.
#[test]
fn golden_cases_match_helm() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(
        all.len() >= 150,
        "expected the full corpus, found {}",
        all.len()
    );
    for (name, input, golden) in &all {
        let loaded = yaml::load_values(input);
        if let Some(err) = golden.get("error").and_then(|e| e.as_str()) {
            match loaded {
                Ok(v) => failures.push(format!("{name}: expected error {err:?}, loaded {v:?}")),
                Err(e) if CHECK_ERROR_TEXT && e.to_string() != err => {
                    failures.push(format!("{name}: error\n  want {err}\n  got  {e}"))
                }
                Err(_) => {}
            }
            continue;
        }
        let v = match loaded {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: unexpected error {e}"));
                continue;
            }
        };
        let outputs: [(&str, Result<String, String>); 5] = [
            // Helm's toYaml/toJson family print "" on error.
            (
                "yaml",
                yaml::to_yaml(&v)
                    .map(|s| s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
                    .or(Ok(String::new())),
            ),
            ("json", yaml::to_json(&v).or(Ok(String::new()))),
            ("pretty", yaml::to_pretty_json(&v).or(Ok(String::new()))),
            ("raw", yaml::to_raw_json(&v).or(Ok(String::new()))),
            ("toml", yaml::to_toml(&v).or_else(Ok)),
        ];
        for (key, got) in outputs {
            let want = golden.get(key).and_then(|w| w.as_str()).unwrap_or("");
            let got = got.unwrap_or_else(|e| format!("<error {e}>"));
            if got != want {
                failures.push(format!(
                    "{name} [{key}]:\n--- want\n{want}\n--- got\n{got}\n---"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Values built by templates (Go ints, int64, bytes, nil) print as Helm v4.1.4 prints them
/// (expected texts recorded from `helm template` with `toYaml (list 1 "x" 2.5 ...)` etc.).
#[test]
fn template_values_match_helm() {
    let l = Value::list(vec![
        Value::Int(1),
        Value::from("x"),
        Value::Float(2.5),
        Value::Int64(3),
        Value::Nil,
        Value::Bool(true),
    ]);
    assert_eq!(
        yaml::to_yaml(&l).expect("ok"),
        "- 1\n- x\n- 2.5\n- 3\n- null\n- true\n"
    );
    assert_eq!(yaml::to_json(&l).expect("ok"), r#"[1,"x",2.5,3,null,true]"#);
    let d = map(vec![("b", Value::list(vec![])), ("a", Value::empty_map())]);
    assert_eq!(yaml::to_yaml(&d).expect("ok"), "a: {}\nb: []\n");
    assert_eq!(
        yaml::to_yaml(&Value::Bytes(std::rc::Rc::from(&[][..]))).expect("ok"),
        "\"\"\n"
    );
    assert_eq!(yaml::to_yaml(&Value::from("")).expect("ok"), "\"\"\n");
    assert_eq!(yaml::to_yaml(&Value::Nil).expect("ok"), "null\n");
    assert_eq!(
        yaml::to_yaml(&Value::Uint64(u64::MAX)).expect("ok"),
        "18446744073709551615\n"
    );
    assert!(yaml::to_yaml(&Value::Float(f64::NAN)).is_err());
    let t = map(vec![
        ("a", Value::Int(1)),
        ("b", map(vec![("c", Value::from("x"))])),
        (
            "d",
            Value::list(vec![
                map(vec![("e", Value::Int(1))]),
                map(vec![("e", Value::Int(2))]),
            ]),
        ),
    ]);
    assert_eq!(
        yaml::to_toml(&t).expect("ok"),
        "a = 1\n\n[b]\n  c = \"x\"\n\n[[d]]\n  e = 1\n\n[[d]]\n  e = 2\n"
    );
    assert_eq!(
        yaml::to_toml(&Value::list(vec![Value::Int(1), Value::Int(2)])).expect("ok"),
        "[1, 2]"
    );
    assert_eq!(
        yaml::to_toml(&map(vec![(
            "a",
            Value::list(vec![Value::Int(1), Value::Nil])
        )]))
        .expect_err("an error"),
        "toml: cannot encode array with nil element"
    );
    let y = map(vec![
        ("a b", Value::Float(1.5)),
        ("c", Value::Float(1e6)),
        ("d", Value::Bool(true)),
        ("e", Value::from("q\"\\")),
    ]);
    assert_eq!(
        yaml::to_toml(&y).expect("ok"),
        "\"a b\" = 1.5\nc = 1e+06\nd = true\ne = \"q\\\"\\\\\"\n"
    );
    let z = map(vec![
        ("m", map(vec![("n", map(vec![("o", Value::Int(1))]))])),
        ("z", Value::Int(2)),
    ]);
    assert_eq!(
        yaml::to_toml(&z).expect("ok"),
        "z = 2\n\n[m]\n  [m.n]\n    o = 1\n"
    );
    let q = map(vec![
        ("a", Value::list(vec![])),
        ("b", Value::empty_map()),
        (
            "c",
            Value::list(vec![Value::Int(1), map(vec![("d", Value::Int(2))])]),
        ),
    ]);
    assert_eq!(
        yaml::to_pretty_json(&q).expect("ok"),
        "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": 2\n    }\n  ]\n}"
    );
    assert_eq!(
        yaml::to_raw_json(&map(vec![("a", Value::from("<&>"))])).expect("ok"),
        r#"{"a":"<&>"}"#
    );
    assert_eq!(
        yaml::to_json(&map(vec![("a", Value::from("<&>"))])).expect("ok"),
        r#"{"a":"\u003c\u0026\u003e"}"#
    );
}

/// `fromJson`, `fromYaml` and `fromYamlArray` failures carry Helm's texts.
#[test]
fn decode_errors_match_helm() {
    assert_eq!(
        yaml::from_json(r#"{"a" 1}"#).expect_err("an error"),
        "invalid character '1' after object key"
    );
    assert_eq!(
        yaml::from_json(r#"{"a":1,}"#).expect_err("an error"),
        "invalid character '}' looking for beginning of object key string"
    );
    assert_eq!(
        yaml::from_json("").expect_err("an error"),
        "unexpected end of JSON input"
    );
    assert_eq!(
        yaml::from_json(r#"{"a":"\u00e9\ud83d\ude00"} x"#).expect_err("an error"),
        "invalid character 'x' after top-level value"
    );
    let v = yaml::from_json(r#"{"a":"\u00e9\ud83d\ude00","b":[1,2.5e3,true,null]}"#).expect("ok");
    assert_eq!(
        yaml::to_json(&v).expect("ok"),
        r#"{"a":"é😀","b":[1,2500,true,null]}"#
    );
    assert_eq!(
        yaml::parse_list("a: 1")
            .expect_err("an error")
            .helm_message(),
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}"
    );
    assert_eq!(
        yaml::parse_list("5").expect_err("an error").helm_message(),
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go value of type []interface {}"
    );
    assert_eq!(yaml::parse_list("~").expect("ok"), Value::list(vec![]));
    assert_eq!(
        yaml::to_json(&yaml::parse_list("- 1\n- x: 2").expect("ok")).expect("ok"),
        r#"[1,{"x":2}]"#
    );
    assert_eq!(
        yaml::parse_values("[1]")
            .expect_err("an error")
            .helm_message(),
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    assert_eq!(
        yaml::parse_values("x")
            .expect_err("an error")
            .helm_message(),
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}"
    );
    assert_eq!(
        yaml::parse_values("a: [")
            .expect_err("an error")
            .helm_message(),
        "error converting YAML to JSON: yaml: line 1: did not find expected node content"
    );
}

/// Typed decoding keeps go-yaml's number kinds, and string fields (Chart.yaml `version`,
/// `appVersion`, `keywords`) get sigs.k8s.io/yaml's coercions, as verified on Helm v4.1.4.
#[test]
fn typed_string_fields_match_helm() {
    let v = yaml::parse_typed(
        "version: 1.0\nappVersion: 1.10\nkeywords: [on, 010, 1e3]\nbig: 12345678\n",
    )
    .expect("parses");
    let Value::Map(m) = &v else {
        panic!("map expected, got {v:?}")
    };
    let m = m.borrow();
    let field = |k: &str| yaml::json_string_field(&m[k]).expect("scalar");
    assert_eq!(field("version"), "1");
    assert_eq!(field("appVersion"), "1.1");
    assert_eq!(field("big"), "12345678");
    assert_eq!(m["big"], Value::Int(12345678));
    let Value::List(kw) = &m["keywords"] else {
        panic!("list expected")
    };
    let kws: Vec<String> = kw
        .items
        .iter()
        .map(|x| yaml::json_string_field(x).expect("scalar"))
        .collect();
    assert_eq!(kws, vec!["true", "8", "1000"]);
}

/// A decoded document with only a map's `apiVersion`, `kind` and `metadata` kept.
fn head_of(doc: Result<Value, yaml::YamlError>) -> Result<Value, yaml::YamlError> {
    match doc? {
        Value::Map(m) => {
            let mut kept = chartgen::value::Map::new();
            for (k, v) in m.borrow().iter() {
                if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    kept.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::map(kept))
        }
        other => Ok(other),
    }
}

/// `parse_head` (manifest heads, skipping the rest) gives `parse_any`'s kept fields and
/// exactly its errors, also when the error hides in a skipped part (bad tags, NaN, null or
/// uint64 keys, aliases, merges, syntax errors) and for the golden cases' inputs.
#[test]
fn parse_head_matches_parse_any() {
    let mut inputs: Vec<String> = [
        "",
        "# only a comment\n",
        "null\n",
        "~\n",
        "- a\n- b\n",
        "just a string\n",
        "kind: A\nspec:\n  x: .nan\n",
        "kind: A\nspec:\n  x: [1, -.inf]\n",
        "kind: .inf\n",
        "kind: A\nspec: !!int foo\n",
        "kind: A\nspec: !!str 1\n",
        "kind: A\nspec: !custom x\n",
        "kind: A\nspec: !!binary '%%%'\n",
        "kind: A\nspec:\n  ? [a]\n  : 1\n",
        "kind: A\nspec:\n  ? {a: 1}\n  : 1\n",
        "kind: A\nspec:\n  ~: 1\n",
        "kind: A\nspec:\n  null: 1\n",
        "kind: A\nspec:\n  18446744073709551615: 1\n",
        "kind: A\nspec:\n  1.5: x\n  yes: y\n  0x10: z\n  .inf: w\n",
        "kind: A\nspec: *x\n",
        "kind: A\nspec: &x {a: 1}\nmetadata: *x\n",
        "kind: A\nspec: &x {a: 1}\nother: *x\n",
        "kind: A\nspec:\n  <<: {a: 1}\n",
        "kind: A\nspec:\n  !!merge <<: {a: 1}\n",
        "kind: A\nspec: [1, 2\n",
        "kind: A\nspec: {a: 1\nmetadata: {}\n",
        "kind: A\nspec:\n  - a\n  b: c\n",
        "kind: A\nkind: B\n",
        "? kind\n: A\n",
        "\"kind\": A\n'metadata': {name: x}\n",
        "kind: A\nspec: 1e400\n",
        "kind: A\n---\nkind: B\n",
        "kind: A\n---\nkind: [\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: b}\n  annotations:\n    helm.sh/hook: pre-install\n    n: 5\nspec:\n  containers:\n  - name: c\n    args: [\"a\", 'b', c]\n    env:\n    - {name: X, value: \"1\"}\n",
        "metadata: 5\nkind: A\n",
        "metadata:\n  annotations: [a]\n",
        "kind: A\nspec:\n  a: 2001-12-14t21:59:43.10-05:00\n  b: 0o17\n  c: 0b101\n  d: 1_000\n",
        "kind: A\nspec: |\n  text\n   more\nmetadata: {name: \"n\\u00e9\"}\n",
        "kind: A\nspec:\n  y: 1\n  n: 2\n  on: 3\n",
        "kind: A\r\nspec:\r\n  x: 1\r\n",
        "kind: A\nspec:\n  x: \"\x01\"\n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    inputs.extend(cases().into_iter().map(|(_, input, _)| input));
    for input in &inputs {
        assert_eq!(
            head_of(yaml::parse_head(input)),
            head_of(yaml::parse_any(input)),
            "input {input:?}"
        );
    }
}
