//! BurntSushi/toml v1.6 `Encoder.Encode` output for template values (Helm's `toToml`).

use super::gofloat;
use crate::value::{Map, Value};

const NIL_ELEMENT: &str = "toml: cannot encode array with nil element";
const NO_KEY: &str = "toml: top-level values must be Go maps or structs";

#[derive(PartialEq)]
enum TomlType {
    Nil,
    Hash,
    ArrayHash,
    Other,
}

fn data(v: &Value) -> std::borrow::Cow<'_, Value> {
    match v {
        Value::Object(o) => std::borrow::Cow::Owned(o.to_data()),
        other => std::borrow::Cow::Borrowed(other),
    }
}

fn toml_type(v: &Value) -> Result<TomlType, String> {
    Ok(match &*data(v) {
        Value::Nil => TomlType::Nil,
        Value::Map(_) => TomlType::Hash,
        Value::List(l) => {
            if is_table_array(&l.items)? {
                TomlType::ArrayHash
            } else {
                TomlType::Other
            }
        }
        _ => TomlType::Other,
    })
}

fn is_table_array(items: &[Value]) -> Result<bool, String> {
    if items.is_empty() {
        return Ok(false);
    }
    let mut all = true;
    for it in items {
        let t = toml_type(it)?;
        if t == TomlType::Nil {
            return Err(NIL_ELEMENT.to_string());
        }
        if t != TomlType::Hash {
            all = false;
        }
    }
    Ok(all)
}

fn bare(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn maybe_quoted(k: &str) -> String {
    if k.is_empty() {
        "\"\"".to_string()
    } else if bare(k) {
        k.to_string()
    } else {
        let mut s = String::new();
        quote_into(&mut s, k);
        s
    }
}

fn key_string(key: &[String]) -> String {
    key.iter()
        .map(|k| maybe_quoted(k))
        .collect::<Vec<_>>()
        .join(".")
}

struct Enc {
    out: String,
}

impl Enc {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(&mut self, key: &[String]) {
        for _ in 1..key.len() {
            self.out.push_str("  ");
        }
    }

    fn encode(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        let v = data(v);
        match &*v {
            Value::Nil => Ok(()),
            Value::Map(m) => self.table(key, &m.borrow()),
            Value::List(l) if is_table_array(&l.items)? => {
                if key.is_empty() {
                    return Err(NO_KEY.to_string());
                }
                for it in &l.items {
                    self.newline();
                    self.indent(key);
                    self.out.push_str("[[");
                    self.out.push_str(&key_string(key));
                    self.out.push_str("]]");
                    self.newline();
                    let it = data(it);
                    if let Value::Map(m) = &*it {
                        self.map(key, &m.borrow(), false)?;
                    }
                }
                Ok(())
            }
            other => self.key_value(key, other, false),
        }
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), String> {
        if key.is_empty() {
            return self.element(v);
        }
        self.indent(key);
        self.out
            .push_str(&maybe_quoted(key.last().expect("non-empty key")));
        self.out.push_str(" = ");
        self.element(v)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn table(&mut self, key: &[String], m: &Map) -> Result<(), String> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            self.indent(key);
            self.out.push('[');
            self.out.push_str(&key_string(key));
            self.out.push(']');
            self.newline();
        }
        self.map(key, m, false)
    }

    fn map(&mut self, key: &[String], m: &Map, inline: bool) -> Result<(), String> {
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in m.iter() {
            let t = toml_type(v)?;
            if t == TomlType::Hash || t == TomlType::ArrayHash {
                sub.push((k, v));
            } else {
                direct.push((k, v));
            }
        }
        if inline {
            self.out.push('{');
        }
        let sub_empty = sub.is_empty();
        for (group, trail) in [(direct, !sub_empty), (sub, false)] {
            let n = group.len();
            for (i, (k, v)) in group.into_iter().enumerate() {
                if matches!(&*data(v), Value::Nil) {
                    continue;
                }
                if inline {
                    self.key_value(std::slice::from_ref(k), v, true)?;
                    if trail || i != n - 1 {
                        self.out.push_str(", ");
                    }
                } else {
                    let mut child = key.to_vec();
                    child.push(k.clone());
                    self.encode(&child, v)?;
                }
            }
        }
        if inline {
            self.out.push('}');
        }
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), String> {
        let v = data(v);
        match &*v {
            Value::Nil => return Err(NIL_ELEMENT.to_string()),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.out.push_str(&i.to_string()),
            Value::Uint64(u) => self.out.push_str(&u.to_string()),
            Value::Float(x) => {
                if x.is_nan() {
                    if x.is_sign_negative() {
                        self.out.push('-');
                    }
                    self.out.push_str("nan");
                } else if x.is_infinite() {
                    if x.is_sign_negative() {
                        self.out.push('-');
                    }
                    self.out.push_str("inf");
                } else {
                    let s = gofloat::format_g(*x);
                    let add = !s.contains(['e', '.']);
                    self.out.push_str(&s);
                    if add {
                        self.out.push_str(".0");
                    }
                }
            }
            Value::String(s) => quote_into(&mut self.out, s),
            Value::Bytes(b) => {
                self.out.push('[');
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(&x.to_string());
                }
                self.out.push(']');
            }
            Value::List(l) => {
                self.out.push('[');
                for (i, it) in l.items.iter().enumerate() {
                    self.element(it)?;
                    if i + 1 != l.items.len() {
                        self.out.push_str(", ");
                    }
                }
                self.out.push(']');
            }
            Value::Map(m) => self.map(&[], &m.borrow(), true)?,
            Value::Object(_) => unreachable!("data() resolved objects"),
        }
        Ok(())
    }
}

/// `toml.NewEncoder(buf).Encode(v)`.
pub fn marshal(v: &Value) -> Result<String, String> {
    let mut e = Enc { out: String::new() };
    e.encode(&[], v)?;
    Ok(e.out)
}
