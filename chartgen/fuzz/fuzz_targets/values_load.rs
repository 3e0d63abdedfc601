//! Fuzz target: the YAML loader never panics, and whatever it loads survives `toYaml` and
//! `toJson` round trips unchanged (strings with U+0085 excepted: Helm's toYaml folds them).
//! The single-pass decoder agrees with the full one (`parse_documents`), and the manifest-head
//! decoder gives `parse_any`'s errors and its `apiVersion`, `kind` and `metadata`.
#![no_main]

use chartgen::Value;
use chartgen::yaml;
use libfuzzer_sys::fuzz_target;

fn has_nel(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\u{85}'),
        Value::List(l) => l.items.iter().any(has_nel),
        Value::Map(m) => m.borrow().iter().any(|(k, v)| k.contains('\u{85}') || has_nel(v)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let any = yaml::parse_any(text);
    if let Ok(docs) = yaml::parse_documents(text) {
        let first = docs.into_iter().next().unwrap_or(Value::Nil);
        assert_eq!(any.as_ref().ok(), Some(&first), "fast and full decoders differ on {text:?}");
    }
    match (&any, yaml::parse_head(text)) {
        (Err(a), Err(h)) => assert_eq!(a.to_string(), h.to_string(), "head error of {text:?}"),
        (Ok(Value::Map(a)), Ok(Value::Map(h))) => {
            for key in ["apiVersion", "kind", "metadata"] {
                assert_eq!(a.borrow().get(key), h.borrow().get(key), "head {key} of {text:?}");
            }
        }
        (Ok(a), Ok(h)) => assert_eq!(a, &h, "head of {text:?}"),
        (a, h) => panic!("parse_any {a:?} but parse_head {h:?} for {text:?}"),
    }
    let Ok(v) = yaml::load_values(text) else { return };
    let json = yaml::to_json(&v).expect("loaded values are JSON-encodable");
    let back = yaml::from_json(&json).expect("our JSON parses");
    assert_eq!(back, v, "toJson round trip of {text:?}");
    if has_nel(&v) {
        return;
    }
    if let Ok(y) = yaml::to_yaml(&v) {
        let again = yaml::parse_values(&y).unwrap_or_else(|e| panic!("toYaml output {y:?} does not load: {e}"));
        assert_eq!(again, v, "toYaml round trip of {text:?} via {y:?}");
    }
});
