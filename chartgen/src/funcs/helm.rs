//! Helm's own functions (Helm v4.1.4 `pkg/engine`): `include`, `tpl`, `required`, `fail`,
//! the YAML/JSON/TOML converters that never fail the render, `lookup`, `getHostByName`.

use super::bridge::{from_json, parse_yaml, to_json, to_toml, to_yaml, to_yaml_pretty};
use super::conv::ilist;
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_str, def, ok_str};
use crate::value::{Map, Value};

pub(super) const FUNCS: &[FuncDef] = &[
    def("include", &[Param::String, Param::Any], |ctx, a| {
        ok_str(ctx.include(arg_str(&a[0]), &a[1])?)
    }),
    def("tpl", &[Param::String, Param::Any], |ctx, a| {
        ok_str(ctx.tpl(arg_str(&a[0]), &a[1])?)
    }),
    def("required", &[Param::String, Param::Any], required),
    def("fail", &[Param::String], |_, a| {
        Err(FuncError::Fail(arg_str(&a[0]).to_string()))
    }),
    def("toYaml", &[Param::Any], |_, a| {
        ok_str(trim_nl(to_yaml(&a[0]).unwrap_or_default()))
    }),
    def("mustToYaml", &[Param::Any], |_, a| {
        ok_str(trim_nl(to_yaml(&a[0]).map_err(FuncError::call)?))
    }),
    def("toYamlPretty", &[Param::Any], |_, a| {
        ok_str(trim_nl(to_yaml_pretty(&a[0]).unwrap_or_default()))
    }),
    def("fromYaml", &[Param::String], |_, a| {
        Ok(from_yaml_once(&a[0]))
    }),
    def("fromYamlArray", &[Param::String], |_, a| {
        Ok(from_yaml_array(arg_str(&a[0])))
    }),
    def("toJson", &[Param::Any], |_, a| {
        ok_str(to_json(&a[0]).unwrap_or_default())
    }),
    def("mustToJson", &[Param::Any], |_, a| {
        ok_str(to_json(&a[0]).map_err(FuncError::call)?)
    }),
    def("fromJson", &[Param::String], |_, a| {
        Ok(from_json_map(arg_str(&a[0])))
    }),
    def("fromJsonArray", &[Param::String], |_, a| {
        Ok(from_json_array(arg_str(&a[0])))
    }),
    def("toToml", &[Param::Any], |_, a| {
        ok_str(to_toml(&a[0]).unwrap_or_else(|e| e))
    }),
    def("fromToml", &[Param::String], |_, a| {
        Ok(from_toml(arg_str(&a[0])))
    }),
    def(
        "lookup",
        &[Param::String, Param::String, Param::String, Param::String],
        |ctx, a| {
            ctx.lookup(
                arg_str(&a[0]),
                arg_str(&a[1]),
                arg_str(&a[2]),
                arg_str(&a[3]),
            )
        },
    ),
    def("getHostByName", &[Param::String], |_, _| ok_str("")),
];

/// Helm `required`: fails when the value is nil or the empty string.
fn required(_: &mut dyn CallCtx, mut a: Vec<Value>) -> FuncResult {
    let val = a.pop().expect("required has two parameters");
    match &val {
        Value::Nil => Err(FuncError::Fail(arg_str(&a[0]).to_string())),
        Value::String(s) if s.is_empty() => Err(FuncError::Fail(arg_str(&a[0]).to_string())),
        _ => Ok(val),
    }
}

fn trim_nl(s: String) -> String {
    match s.strip_suffix('\n') {
        Some(t) => t.to_string(),
        None => s,
    }
}

/// The `encoding/json` type word for a value that cannot go into a Go map or slice.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) | Value::Bytes(_) => "array",
        _ => "object",
    }
}

fn error_map(msg: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".to_string(), Value::str(msg));
    Value::map(m)
}

/// Helm `fromYaml`: a map, or `{"Error": msg}`.
fn from_yaml(text: &str) -> Value {
    match parse_yaml(text) {
        Ok(Value::Map(m)) => Value::Map(m),
        Ok(Value::Nil) => Value::empty_map(),
        Ok(other) => error_map(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
        Err(e) => error_map(e),
    }
}

thread_local! {
    /// The last `fromYaml` text (kept alive, so its address names it) and what it decoded to.
    static LAST_FROM_YAML: std::cell::RefCell<Option<(Value, Value)>> =
        const { std::cell::RefCell::new(None) };
}

/// `fromYaml` of a string value: charts often decode the same text twice (`$x | fromYaml`
/// in two places, e.g. on every CRD of a large file), and a copy of the map costs far less
/// than decoding again. Every call returns its own map, as in Helm.
fn from_yaml_once(arg: &Value) -> Value {
    let Value::String(text) = arg else {
        return from_yaml(arg_str(arg));
    };
    let hit = LAST_FROM_YAML.with(|last| match &*last.borrow() {
        Some((Value::String(k), v)) if std::rc::Rc::ptr_eq(k, text) => Some(v.deep_copy()),
        _ => None,
    });
    if let Some(v) = hit {
        return v;
    }
    let v = from_yaml(text);
    LAST_FROM_YAML.with(|last| *last.borrow_mut() = Some((arg.clone(), v.deep_copy())));
    v
}

/// Helm `fromYamlArray`: a list, or `[msg]`.
fn from_yaml_array(text: &str) -> Value {
    match parse_yaml(text) {
        Ok(Value::List(l)) => Value::List(l),
        Ok(Value::Nil) => ilist(Vec::new()),
        Ok(other) => ilist(vec![Value::str(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&other)
        ))]),
        Err(e) => ilist(vec![Value::str(e)]),
    }
}

/// Helm `fromJson`: a map, or `{"Error": msg}`.
fn from_json_map(text: &str) -> Value {
    match from_json(text) {
        Ok(Value::Map(m)) => Value::Map(m),
        Ok(Value::Nil) => Value::empty_map(),
        Ok(other) => error_map(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
        Err(e) => error_map(e),
    }
}

/// Helm `fromJsonArray`: a list, or `[msg]`.
fn from_json_array(text: &str) -> Value {
    match from_json(text) {
        Ok(Value::List(l)) => Value::List(l),
        Ok(Value::Nil) => ilist(Vec::new()),
        Ok(other) => ilist(vec![Value::str(format!(
            "json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&other)
        ))]),
        Err(e) => ilist(vec![Value::str(e)]),
    }
}

/// Helm `fromToml`: a map, or `{"Error": msg}`.
fn from_toml(text: &str) -> Value {
    match super::toml::parse(text) {
        Ok(v) => v,
        Err(e) => error_map(e),
    }
}
