//! Helm's `toYamlPretty`: the go-yaml v3 encoder with indent 2. It differs from `toYaml`
//! (go-yaml v2 after a JSON round trip) in layout, not in scalar syntax: sequences are
//! indented under their key (`l:\n  - 1`) and numbers keep their Go type (a float64 `1e6`
//! prints `1e+06`). Scalar and key texts and key order are taken from the v2 emitter.

use super::bridge::to_yaml;
use crate::value::Value;

/// The v3 text of `v` with its trailing newline.
pub(super) fn marshal(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    match v {
        Value::Map(m) if !m.borrow().is_empty() => write_map(&mut out, v, 0)?,
        Value::List(l) if !l.items.is_empty() => write_list(&mut out, &l.items, 0)?,
        other => {
            out.push_str(&scalar(other, 0)?);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The value as JSON would see it (objects by their data).
fn plain(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.to_data(),
        other => other.clone(),
    }
}

/// A scalar's text as a mapping value at `indent` (continuation lines re-indented).
fn scalar(v: &Value, indent: usize) -> Result<String, String> {
    let text = match plain(v) {
        Value::Float(x) => match x {
            x if x.is_nan() => ".nan".to_string(),
            x if x == f64::INFINITY => ".inf".to_string(),
            x if x == f64::NEG_INFINITY => "-.inf".to_string(),
            x => crate::template::fmt::format_float(x, b'g', -1),
        },
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Uint64(u) => u.to_string(),
        Value::Map(m) if m.borrow().is_empty() => "{}".to_string(),
        Value::List(l) if l.items.is_empty() => "[]".to_string(),
        other => {
            // Render `k: <value>` with the v2 emitter and keep what follows the key.
            let mut m = crate::value::Map::new();
            m.insert("k".into(), other);
            let text = to_yaml(&Value::map(m))?;
            let body = text.strip_prefix("k: ").unwrap_or(&text);
            let body = body.strip_suffix('\n').unwrap_or(body);
            let pad = " ".repeat(indent);
            body.replace('\n', &format!("\n{pad}"))
        }
    };
    Ok(text)
}

/// Key texts of a map in go-yaml's order, learnt from the v2 emitter (values are indices).
fn ordered_keys(m: &Value) -> Result<Vec<(String, Value)>, String> {
    let Value::Map(map) = m else {
        return Ok(Vec::new());
    };
    let entries: Vec<(String, Value)> = map
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let index: crate::value::Map = entries
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), Value::Int(i as i64)))
        .collect();
    let text = to_yaml(&Value::map(index))?;
    let mut out = Vec::new();
    let mut pending_key: Option<String> = None;
    for line in text.lines() {
        if let Some(k) = line.strip_prefix("? ") {
            pending_key = Some(k.to_string());
            continue;
        }
        let Some((key_text, idx)) = line.rsplit_once(": ") else {
            continue;
        };
        let Ok(i) = idx.parse::<usize>() else {
            continue;
        };
        let key_text = if key_text.is_empty() {
            pending_key.take().unwrap_or_default()
        } else {
            key_text.to_string()
        };
        if let Some((_, v)) = entries.get(i) {
            out.push((key_text, v.clone()));
        }
    }
    if out.len() != entries.len() {
        return Err("toYamlPretty: cannot order keys".into());
    }
    Ok(out)
}

fn is_block(v: &Value) -> bool {
    match plain(v) {
        Value::Map(m) => !m.borrow().is_empty(),
        Value::List(l) => !l.items.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, m: &Value, indent: usize) -> Result<(), String> {
    let pad = " ".repeat(indent);
    for (i, (key, v)) in ordered_keys(m)?.into_iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&pad);
        }
        out.push_str(&key);
        out.push(':');
        write_value(out, &v, indent)?;
    }
    Ok(())
}

/// A mapping value after `key:` at `indent`.
fn write_value(out: &mut String, v: &Value, indent: usize) -> Result<(), String> {
    let v = plain(v);
    if is_block(&v) {
        out.push('\n');
        match &v {
            Value::Map(_) => write_map(out, &v, indent + 2),
            Value::List(l) => write_list(out, &l.items, indent + 2),
            _ => Ok(()),
        }
    } else {
        out.push(' ');
        out.push_str(&scalar(&v, indent)?);
        out.push('\n');
        Ok(())
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) -> Result<(), String> {
    let pad = " ".repeat(indent);
    for item in items {
        if !out.ends_with("- ") {
            out.push_str(&pad);
        }
        out.push_str("- ");
        let item = plain(item);
        match &item {
            Value::Map(m) if !m.borrow().is_empty() => write_map(out, &item, indent + 2)?,
            Value::List(l) if !l.items.is_empty() => write_list(out, &l.items, indent + 2)?,
            other => {
                out.push_str(&scalar(other, indent)?);
                out.push('\n');
            }
        }
    }
    Ok(())
}
