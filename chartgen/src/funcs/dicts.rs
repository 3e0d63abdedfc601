//! Sprig's dictionary functions (`dict`, `get`, `set`, `unset`, `hasKey`, `pluck`, `keys`,
//! `values`, `pick`, `omit`, `merge*`, `deepCopy`, `dig`). Maps are shared references, so
//! `set`/`unset`/`merge` mutate the caller's map exactly as Go does.

use super::conv::{ilist, is_empty, strval};
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_str, def, var};
use crate::value::{Map, MapKind, MapRef, Value};
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    var("dict", &[], Param::Any, dict),
    def("get", &[Param::Map, Param::String], get),
    def("set", &[Param::Map, Param::String, Param::Any], set),
    def("unset", &[Param::Map, Param::String], unset),
    def("hasKey", &[Param::Map, Param::String], has_key),
    var("pluck", &[Param::String], Param::Map, pluck),
    var("keys", &[], Param::Map, keys),
    def("values", &[Param::Map], values),
    var("pick", &[Param::Map], Param::String, pick),
    var("omit", &[Param::Map], Param::String, omit),
    var("merge", &[Param::Map], Param::Map, |_, a| {
        merge_all(a, false)
    }),
    var("mustMerge", &[Param::Map], Param::Map, |_, a| {
        merge_all(a, false)
    }),
    var("mergeOverwrite", &[Param::Map], Param::Map, |_, a| {
        merge_all(a, true)
    }),
    var("mustMergeOverwrite", &[Param::Map], Param::Map, |_, a| {
        merge_all(a, true)
    }),
    def("deepCopy", &[Param::Any], deep_copy),
    def("mustDeepCopy", &[Param::Any], deep_copy),
    var("dig", &[], Param::Any, dig),
];

/// `deepCopy`/`mustDeepCopy`: copystructure panics on nil (both functions), and Helm
/// reports the recovered panic.
fn deep_copy(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    if matches!(a[0], Value::Nil) {
        return Err(FuncError::call(
            "reflect: call of reflect.Value.Type on zero Value",
        ));
    }
    Ok(a[0].deep_copy())
}

/// The map behind a `Param::Map` argument; `None` for a nil map.
fn map_arg(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn dict(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut m = Map::new();
    let mut it = a.into_iter();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| Value::str(""));
        m.insert(strval(&k), v);
    }
    Ok(Value::map(m))
}

fn get(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let found = map_arg(&a[0]).and_then(|m| m.borrow().get(arg_str(&a[1])).cloned());
    Ok(found.unwrap_or_else(|| Value::str("")))
}

fn set(_: &mut dyn CallCtx, mut a: Vec<Value>) -> FuncResult {
    let value = a.pop().expect("set has three parameters");
    let Some(m) = map_arg(&a[0]) else {
        return Err(FuncError::call("assignment to entry in nil map"));
    };
    m.borrow_mut().insert(arg_str(&a[1]).to_string(), value);
    Ok(a[0].clone())
}

fn unset(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    match map_arg(&a[0]) {
        Some(m) => {
            m.borrow_mut().remove(arg_str(&a[1]));
            Ok(a[0].clone())
        }
        None => Ok(Value::empty_map()),
    }
}

fn has_key(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let has = map_arg(&a[0]).is_some_and(|m| m.borrow().contains_key(arg_str(&a[1])));
    Ok(Value::Bool(has))
}

fn pluck(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let key = arg_str(&a[0]);
    let found = a[1..]
        .iter()
        .filter_map(map_arg)
        .filter_map(|m| m.borrow().get(key).cloned())
        .collect();
    Ok(ilist(found))
}

/// Go map order is random; sorted order is one of the orders Go may produce.
fn keys(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut out = Vec::new();
    for m in a.iter().filter_map(map_arg) {
        out.extend(m.borrow().keys().cloned());
    }
    Ok(Value::string_list(out))
}

fn values(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let vals = map_arg(&a[0])
        .map(|m| m.borrow().values().cloned().collect())
        .unwrap_or_default();
    Ok(ilist(vals))
}

fn pick(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let mut out = Map::new();
    if let Some(m) = map_arg(&a[0]) {
        let m = m.borrow();
        for k in &a[1..] {
            if let Some(v) = m.get(arg_str(k)) {
                out.insert(arg_str(k).to_string(), v.clone());
            }
        }
    }
    Ok(Value::map(out))
}

fn omit(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let drop: Vec<&str> = a[1..].iter().map(arg_str).collect();
    let out: Map = map_arg(&a[0])
        .map(|m| {
            m.borrow()
                .iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::map(out))
}

/// Sprig `merge`/`mergeOverwrite`: mergo v1.0.1 into the first map, which is returned.
fn merge_all(a: Vec<Value>, overwrite: bool) -> FuncResult {
    let dst = match &a[0] {
        Value::Map(m) => m.clone(),
        _ => MapRef::new(Map::new()),
    };
    for src in a[1..].iter().filter_map(map_arg) {
        if !Rc::ptr_eq(&dst, src) {
            merge_into(&dst, src, overwrite);
        }
    }
    Ok(Value::Map(dst))
}

/// mergo's map merge for `map[string]interface{}` values: nested maps merge recursively;
/// other keys are copied when the destination is missing or empty (or always, with
/// `overwrite`); a nil source value only matters with `overwrite`.
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool) {
    let src_entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, sv) in src_entries {
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        let dv = dst.borrow().get(&key).cloned();
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv)
            && !Rc::ptr_eq(sm, dm)
        {
            merge_into(dm, sm, overwrite);
        }
        // mergo stores a source slice before the emptiness checks when overwriting.
        if overwrite && matches!(sv, Value::List(_) | Value::Bytes(_)) {
            dst.borrow_mut().insert(key, sv);
            continue;
        }
        if let Some(d) = &dv
            && !is_empty(d)
            && (matches!(sv, Value::List(_) | Value::Bytes(_))
                || matches!((&sv, d), (Value::Map(_), Value::Map(_))))
        {
            continue;
        }
        if overwrite || dv.as_ref().is_none_or(is_empty) {
            dst.borrow_mut().insert(key, sv);
        }
    }
}

/// Sprig `dig KEY... DEFAULT MAP`.
fn dig(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    if a.len() < 3 {
        return Err(FuncError::call("dig needs at least three arguments"));
    }
    let map_val = &a[a.len() - 1];
    let default = &a[a.len() - 2];
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.clone()),
            other => return Err(conversion_error(other, "string")),
        }
    }
    // A type assertion to `map[string]interface{}`: Helm's `.Values` (`common.Values`) and
    // `split`'s `map[string]string` fail it.
    let mut current = match map_val {
        Value::Map(m) if m.kind() == MapKind::Interface => m.clone(),
        other => return Err(conversion_error(other, "map[string]interface {}")),
    };
    for (i, k) in keys.iter().enumerate() {
        let step = current.borrow().get(&**k).cloned();
        let Some(step) = step else {
            return Ok(default.clone());
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        current = match step {
            Value::Map(m) if m.kind() == MapKind::Interface => m,
            other => return Err(conversion_error(&other, "map[string]interface {}")),
        };
    }
    Ok(default.clone())
}

/// Go's panic text for a failed `x.(T)` on an `interface {}`.
fn conversion_error(v: &Value, want: &str) -> FuncError {
    let got = if v.is_nil() {
        "nil".to_string()
    } else {
        v.type_name()
    };
    FuncError::call(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}
