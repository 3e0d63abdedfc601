//! Go's built-in template functions (`eq`, `lt`, `index`, `len`, `html`, `js`, `urlquery`, ...)
//! with Go's type rules and error texts. `and`/`or`/`not`/`print*`/`call` live in the executor
//! because they need its argument handling.

use std::fmt::Write as _;

use super::exec::Ev;
use super::fmt::{sprint, sprintf};
use crate::value::{ElemType, Value, go_bytes, go_len};

/// Go's "basic kind" classes for comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Nil or any non-basic kind (Go's `invalidKind`).
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint64(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn uint_of(v: &Value) -> u64 {
    match v {
        Value::Uint64(u) => *u,
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// Go reflect kind name used to decide `canCompare`.
fn reflect_kind(v: &Value) -> &str {
    match v {
        Value::Nil => "invalid",
        Value::List(_) | Value::Bytes(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => o.kind_name(),
        other => other.kind_name(),
    }
}

/// Go 1.18's error for a value whose type cannot be compared (slices, maps).
fn uncomparable(v: &Value) -> Option<String> {
    matches!(v, Value::List(_) | Value::Bytes(_) | Value::Map(_)).then(|| {
        format!(
            "uncomparable type {}: {}",
            v.type_name(),
            sprintf("%v", std::slice::from_ref(v))
        )
    })
}

/// Go's `eq arg1 arg2...`: true if `arg1` equals any of the others. `go118`: Go 1.18's checks
/// and texts (Helm v3.11).
pub(crate) fn eq(a: &Value, rest: &[Ev], go118: bool) -> Result<bool, String> {
    if go118 && let Some(e) = uncomparable(a) {
        return Err(e);
    }
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for other in rest {
        let b = &other.v;
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => int_of(a) >= 0 && int_of(a) as u64 == uint_of(b),
                (Kind::Uint, Kind::Int) => int_of(b) >= 0 && uint_of(a) == int_of(b) as u64,
                _ => {
                    if !a.is_nil() && !b.is_nil() {
                        return Err(incompatible(a, b, go118));
                    }
                    false
                }
            }
        } else {
            match k1 {
                Kind::Bool => matches!((a, b), (Value::Bool(x), Value::Bool(y)) if x == y),
                Kind::Float => float_of(a) == float_of(b),
                Kind::Int => int_of(a) == int_of(b),
                Kind::Uint => uint_of(a) == uint_of(b),
                Kind::String => a.as_str() == b.as_str(),
                Kind::Invalid if go118 => {
                    if a.is_nil() || b.is_nil() {
                        a.is_nil() == b.is_nil()
                    } else if let Some(e) = uncomparable(b) {
                        return Err(e);
                    } else {
                        match (a, b) {
                            (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
                            _ => false,
                        }
                    }
                }
                Kind::Invalid => {
                    let (ka, kb) = (reflect_kind(a), reflect_kind(b));
                    if ka != kb && ka != "invalid" && kb != "invalid" {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            sprintf("%s", std::slice::from_ref(a)),
                            a.type_name(),
                            b.type_name(),
                            sprintf("%v", std::slice::from_ref(b))
                        ));
                    }
                    if a.is_nil() || b.is_nil() {
                        a.is_nil() == b.is_nil()
                    } else {
                        match (a, b) {
                            (Value::Object(x), Value::Object(y)) if x.kind_name() == "ptr" => {
                                std::rc::Rc::ptr_eq(x, y)
                            }
                            (Value::Object(x), Value::Object(y)) if x.go_eq(&**y).is_some() => {
                                x.go_eq(&**y).unwrap_or(false)
                            }
                            _ => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    sprintf("%s", std::slice::from_ref(b)),
                                    b.type_name()
                                ));
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `incompatible types for comparison`, naming the types since Go 1.19.
fn incompatible(a: &Value, b: &Value, go118: bool) -> String {
    if go118 {
        "incompatible types for comparison".to_string()
    } else {
        format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )
    }
}

/// Go's `lt`.
pub(crate) fn lt(a: &Value, b: &Value, go118: bool) -> Result<bool, String> {
    let bad = || "invalid type for comparison".to_string();
    let k1 = basic_kind(a);
    if k1 == Kind::Invalid {
        return Err(bad());
    }
    let k2 = basic_kind(b);
    if k2 == Kind::Invalid {
        return Err(bad());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(int_of(a) < 0 || (int_of(a) as u64) < uint_of(b)),
            (Kind::Uint, Kind::Int) => Ok(int_of(b) >= 0 && uint_of(a) < int_of(b) as u64),
            _ => Err(incompatible(a, b, go118)),
        };
    }
    match k1 {
        Kind::Bool | Kind::Invalid => Err(bad()),
        Kind::Float => Ok(float_of(a) < float_of(b)),
        Kind::Int => Ok(int_of(a) < int_of(b)),
        Kind::Uint => Ok(uint_of(a) < uint_of(b)),
        Kind::String => Ok(a.as_str() < b.as_str()),
    }
}

/// Go's `le` (`lt` or `eq`).
pub(crate) fn le(a: &Value, b: &Value, go118: bool) -> Result<bool, String> {
    if lt(a, b, go118)? {
        return Ok(true);
    }
    eq(
        a,
        &[Ev {
            v: b.clone(),
            iface: false,
        }],
        go118,
    )
}

fn index_arg(idx: &Value, cap: usize) -> Result<usize, String> {
    let x: i64 = match idx {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// Go's `index item i j ...`.
pub(crate) fn index(item: &Ev, idx: &[Ev]) -> Result<Ev, String> {
    if item.v.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut cur = Ev {
        v: item.v.clone(),
        iface: item.iface,
    };
    for i in idx {
        if cur.v.is_nil() {
            return Err("index of nil pointer".into());
        }
        let next = match &cur.v {
            Value::List(l) => {
                let x = index_arg(&i.v, l.items.len())?;
                if x == l.items.len() {
                    return Err("reflect: slice index out of range".into());
                }
                Ev {
                    v: l.items[x].clone(),
                    iface: l.elem == ElemType::Interface,
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(&i.v, b.len())?;
                if x == b.len() {
                    return Err("reflect: slice index out of range".into());
                }
                Ev {
                    v: Value::Int(i64::from(b[x])),
                    iface: false,
                }
            }
            Value::String(s) => {
                let bytes = go_bytes(s);
                let x = index_arg(&i.v, bytes.len())?;
                if x == bytes.len() {
                    return Err("reflect: string index out of range".into());
                }
                Ev {
                    v: Value::Int(i64::from(bytes[x])),
                    iface: false,
                }
            }
            Value::Map(m) => {
                let key = match &i.v {
                    Value::String(k) => k.clone(),
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                let v = m.borrow().get(&*key).cloned();
                super::exec::map_elem(m, v)
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
        cur = next;
    }
    Ok(cur)
}

/// Go's `len`.
pub(crate) fn len(item: &Ev) -> Result<usize, String> {
    match &item.v {
        Value::Nil if item.iface => Err("len of nil pointer".into()),
        Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::String(s) => Ok(go_len(s)),
        Value::List(l) => Ok(l.items.len()),
        Value::Map(m) => Ok(m.borrow().len()),
        Value::Bytes(b) => Ok(b.len()),
        Value::Object(o) => match o.range_items() {
            Some(items) => Ok(items.len()),
            None => Err(format!("len of type {}", o.type_name())),
        },
        other => Err(format!("len of type {}", other.type_name())),
    }
}

/// Go's `evalArgs` for `html`/`js`/`urlquery`: one string as is, else `Sprint` with nil
/// printed as `<no value>`.
pub(crate) fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::str("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    sprint(&printable)
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if c.is_ascii() => out.push(c),
            c => {
                if super::lexer::is_go_printable(c) {
                    out.push(c);
                } else {
                    let _ = write!(out, "\\u{:04X}", c as u32);
                }
            }
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
