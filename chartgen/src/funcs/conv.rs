//! Type conversions (Sprig `atoi int int64 float64 toDecimal toString toStrings`) and the
//! shared conversion rules behind them: spf13/cast v1.7 `ToInt64`/`ToFloat64`, Sprig's
//! `strval` and `strslice`, and the `empty` test used by `default`, `coalesce`, `compact`.

use super::bridge::format_v;
use super::{FuncDef, FuncResult, Param, arg_str, def};
use crate::funcs::CallCtx;
use crate::value::{ElemType, List, Value};
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    def("atoi", &[Param::String], atoi),
    def("int", &[Param::Any], int),
    def("int64", &[Param::Any], int64),
    def("float64", &[Param::Any], float64),
    def("toDecimal", &[Param::Any], to_decimal),
    def("toString", &[Param::Any], to_string),
    def("toStrings", &[Param::Any], to_strings),
];

fn atoi(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::Int(parse_go_int(arg_str(&a[0]), 10).unwrap_or(0)))
}

fn int(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::Int(to_int64(&a[0])))
}

fn int64(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(to_int64(&a[0])))
}

fn float64(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::Float(to_float64(&a[0])))
}

/// Sprig `toDecimal`: the `%v` text read as an octal number (`"0777"` -> 511), 0 if invalid.
fn to_decimal(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::Int64(parse_go_int(&format_v(&a[0]), 8).unwrap_or(0)))
}

fn to_string(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::str(strval(&a[0])))
}

fn to_strings(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(Value::string_list(strslice(&a[0])))
}

/// Go `int64(f)` for a float64: truncation; out-of-range values and NaN give the
/// amd64 "integer indefinite" value (math.MinInt64), as Go does on that platform.
pub(super) fn float_to_i64(x: f64) -> i64 {
    // 2^63 as f64; every float in [-2^63, 2^63) converts exactly by truncation.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() || !(-LIMIT..LIMIT).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// spf13/cast v1.7 `ToInt64`: numbers convert (floats truncate), strings parse with Go's
/// base prefixes after dropping a `.0…` tail, bools are 0/1, anything else is 0.
pub(super) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Float(x) => float_to_i64(*x),
        Value::String(s) => parse_go_int(trim_zero_decimal(s), 0).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// spf13/cast v1.7 `ToFloat64`.
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint64(u) => *u as f64,
        Value::Float(x) => *x,
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// cast's `trimZeroDecimal`: `"4.00"` -> `"4"`; anything else unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (0..bytes.len()).rev() {
        match bytes[i] {
            b'.' if found_zero => return &s[..i],
            b'.' => {}
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go `strconv.ParseInt(s, base, 64)`; base 0 means "detect from prefix" and allows `_`.
pub(super) fn parse_go_int(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits, prefixed) = if base == 0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..], true)
        } else if lower.starts_with("0o") {
            (8, &body[2..], true)
        } else if lower.starts_with("0b") {
            (2, &body[2..], true)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], true)
        } else {
            (10, body, false)
        }
    } else {
        (base, body, false)
    };
    if digits.is_empty() {
        return None;
    }
    if digits.contains('_') && (base != 0 || !underscores_ok(digits, prefixed)) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || clean.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if magnitude > 1u64 << 63 {
            None
        } else {
            Some((magnitude as i64).wrapping_neg())
        }
    } else if magnitude > i64::MAX as u64 {
        None
    } else {
        Some(magnitude as i64)
    }
}

/// Go's rule: underscores only between digits (or right after a base prefix).
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    let mut prev_digit = prefixed;
    let mut prev_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if !prev_digit {
                return false;
            }
            prev_underscore = true;
            prev_digit = false;
        } else {
            prev_digit = true;
            prev_underscore = false;
        }
    }
    !prev_underscore
}

/// Go `strconv.ParseFloat(s, 64)` (decimal forms, `inf`/`nan` words).
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok();
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b".e+-".contains(&b))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Sprig `strval`: strings as they are, `[]byte` as text, anything else with `%v`.
pub(super) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => crate::value::go_string(b),
        other => format_v(other),
    }
}

/// The items of any Go slice (a `[]byte` counts as a slice of `uint8`), or `None`.
pub(super) fn slice_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.items.clone()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Uint64(u64::from(*x))).collect()),
        _ => None,
    }
}

/// Sprig `strslice`: a `[]string` from any slice (nil items dropped), `[]` for nil, or a
/// one-item list with the value's string form.
pub(super) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::Nil => Vec::new(),
        Value::List(l) => l.items.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        other => vec![strval(other)],
    }
}

/// Sprig `empty`: nil, false, 0, and empty strings/lists/maps are empty; structs never.
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Uint64(u) => *u == 0,
        Value::Float(x) => *x == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.items.is_empty(),
        Value::Map(m) => m.borrow().is_empty(),
        Value::Object(_) => false,
    }
}

/// A `[]interface {}` from items.
pub(super) fn ilist(items: Vec<Value>) -> Value {
    Value::List(Rc::new(List {
        elem: ElemType::Interface,
        items,
    }))
}

/// Go's `unicode.IsSpace`.
pub(super) fn go_is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}
