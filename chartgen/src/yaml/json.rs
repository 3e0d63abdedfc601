//! Go `encoding/json` for template values: `Marshal` (HTML-escaping, sorted keys),
//! `MarshalIndent`, the non-escaping encoder, and `Unmarshal` into `interface{}` with Go's
//! syntax-error texts.

use super::gofloat;
use crate::value::{Map, Value};
use base64::Engine;

/// The JSON text of a number value, or the `json: unsupported value` error Go reports.
pub(crate) fn number_text(v: &Value) -> Option<Result<String, String>> {
    Some(match v {
        Value::Int(i) | Value::Int64(i) => Ok(i.to_string()),
        Value::Uint64(u) => Ok(u.to_string()),
        Value::Float(x) => {
            if x.is_finite() {
                Ok(gofloat::format_json(*x))
            } else {
                Err(format!(
                    "json: unsupported value: {}",
                    gofloat::format_g(*x)
                ))
            }
        }
        _ => return None,
    })
}

/// Append `s` as a JSON string literal the way Go's encoder writes it.
pub(crate) fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            _ => None,
        };
        let needs = esc.is_some()
            || (c as u32) < 0x20
            || (escape_html && matches!(c, '<' | '>' | '&'))
            || c == '\u{2028}'
            || c == '\u{2029}'
            || crate::value::raw_byte_of(c).is_some();
        if !needs {
            continue;
        }
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            // A byte of invalid UTF-8 in a Go string: encoding/json writes U+FFFD.
            None if crate::value::raw_byte_of(c).is_some() => out.push_str("\\ufffd"),
            None => {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12u32, 8, 4, 0] {
                    out.push(HEX[((n >> shift) & 0xF) as usize] as char);
                }
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..bytes.len()]);
    out.push('"');
}

struct Writer {
    out: String,
    escape_html: bool,
    /// `Some(depth)` for `MarshalIndent(v, "", "  ")`.
    indent: Option<usize>,
}

impl Writer {
    fn newline(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        match v {
            Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => {
                let t = number_text(v).expect("a number")?;
                self.out.push_str(&t);
            }
            Value::String(s) => write_string(&mut self.out, s, self.escape_html),
            Value::Bytes(b) => {
                let enc = base64::engine::general_purpose::STANDARD.encode(b);
                write_string(&mut self.out, &enc, self.escape_html);
            }
            Value::List(l) => {
                if l.items.is_empty() {
                    self.out.push_str("[]");
                    return Ok(());
                }
                self.out.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    if self.indent.is_some() {
                        self.newline(depth + 1);
                    }
                    self.value(item, depth + 1)?;
                }
                if self.indent.is_some() {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            Value::Map(m) => self.map(&m.borrow(), depth)?,
            Value::Object(o) => match o.json_members() {
                // A Go struct: its members in declaration order.
                Some(members) => self.object(members.iter().map(|(k, v)| (*k, v)), depth)?,
                None => {
                    let data = o.to_data();
                    self.value(&data, depth)?;
                }
            },
        }
        Ok(())
    }

    fn map(&mut self, m: &Map, depth: usize) -> Result<(), String> {
        self.object(m.iter().map(|(k, v)| (k.as_str(), v)), depth)
    }

    /// A JSON object of these members, in this order.
    fn object<'v>(
        &mut self,
        members: impl ExactSizeIterator<Item = (&'v str, &'v Value)>,
        depth: usize,
    ) -> Result<(), String> {
        if members.len() == 0 {
            self.out.push_str("{}");
            return Ok(());
        }
        self.out.push('{');
        for (i, (k, v)) in members.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            if self.indent.is_some() {
                self.newline(depth + 1);
            }
            write_string(&mut self.out, k, self.escape_html);
            self.out.push(':');
            if self.indent.is_some() {
                self.out.push(' ');
            }
            self.value(v, depth + 1)?;
        }
        if self.indent.is_some() {
            self.newline(depth);
        }
        self.out.push('}');
        Ok(())
    }
}

/// `json.Marshal` (`escape_html`) or the encoder with `SetEscapeHTML(false)` (no newline).
pub fn marshal(v: &Value, escape_html: bool) -> Result<String, String> {
    let mut w = Writer {
        out: String::new(),
        escape_html,
        indent: None,
    };
    w.value(v, 0)?;
    Ok(w.out)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn marshal_indent(v: &Value) -> Result<String, String> {
    let mut w = Writer {
        out: String::new(),
        escape_html: true,
        indent: Some(0),
    };
    w.value(v, 0)?;
    Ok(w.out)
}

/// Go's `quoteChar` for syntax errors: `'x'`, `'\''`, `'"'`, `'\n'`.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let ch = char::from(c);
            let q = match ch {
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\t' => "\\t".to_string(),
                '\\' => "\\\\".to_string(),
                '\u{7}' => "\\a".to_string(),
                '\u{8}' => "\\b".to_string(),
                '\u{c}' => "\\f".to_string(),
                '\u{b}' => "\\v".to_string(),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
                c if (0x80..0xa0).contains(&(c as u32)) => format!("\\u{:04x}", c as u32),
                c => c.to_string(),
            };
            format!("'{q}'")
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

const EOF: &str = "unexpected end of JSON input";

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, c: u8, ctx: &str) -> String {
        format!("invalid character {} {ctx}", quote_char(c))
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 10000 {
            return Err("exceeded max depth".to_string());
        }
        self.ws();
        let c = self.peek().ok_or(EOF)?;
        match c {
            b'{' => {
                self.i += 1;
                let mut m = Map::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Value::map(m));
                }
                loop {
                    self.ws();
                    let c = self.peek().ok_or(EOF)?;
                    if c != b'"' {
                        return Err(self.err(c, "looking for beginning of object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    let c = self.peek().ok_or(EOF)?;
                    if c != b':' {
                        return Err(self.err(c, "after object key"));
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.ws();
                    let c = self.peek().ok_or(EOF)?;
                    self.i += 1;
                    match c {
                        b',' => continue,
                        b'}' => return Ok(Value::map(m)),
                        _ => return Err(self.err(c, "after object key:value pair")),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    let c = self.peek().ok_or(EOF)?;
                    self.i += 1;
                    match c {
                        b',' => continue,
                        b']' => return Ok(Value::list(items)),
                        _ => return Err(self.err(c, "after array element")),
                    }
                }
            }
            b'"' => Ok(Value::from(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.err(c, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (k, &w) in word.as_bytes().iter().enumerate() {
            let c = self.peek().ok_or(EOF)?;
            if c != w {
                return Err(self.err(
                    c,
                    &format!("in literal {word} (expecting {})", quote_char(w)),
                ));
            }
            self.i += 1;
            let _ = k;
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            None => return Err(EOF.to_string()),
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(c) => return Err(self.err(c, "in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            match self.peek() {
                None => return Err(EOF.to_string()),
                Some(c) if !c.is_ascii_digit() => {
                    return Err(self.err(c, "after decimal point in numeric literal"));
                }
                _ => {}
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            match self.peek() {
                None => return Err(EOF.to_string()),
                Some(c) if !c.is_ascii_digit() => {
                    return Err(self.err(c, "in exponent of numeric literal"));
                }
                _ => {}
            }
            self.digits();
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).expect("ASCII digits");
        let x: f64 = text.parse().map_err(|_| {
            format!("json: cannot unmarshal number {text} into Go value of type float64")
        })?;
        if x.is_infinite() {
            return Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            ));
        }
        Ok(Value::Float(x))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0u32;
        for _ in 0..4 {
            let c = self.peek().ok_or(EOF)?;
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.err(c, "in \\u hexadecimal character escape"))?;
            n = n * 16 + d;
            self.i += 1;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or(EOF)?;
            match c {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    self.i += 1;
                    let e = self.peek().ok_or(EOF)?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let n = self.hex4()?;
                            if (0xD800..0xDC00).contains(&n) {
                                // A surrogate pair, or U+FFFD when the second half is missing.
                                let save = self.i;
                                if self.b.get(self.i) == Some(&b'\\')
                                    && self.b.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    match self.hex4() {
                                        Ok(lo) if (0xDC00..0xE000).contains(&lo) => char::from_u32(
                                            0x10000 + ((n - 0xD800) << 10) + (lo - 0xDC00),
                                        )
                                        .unwrap_or('\u{FFFD}'),
                                        _ => {
                                            self.i = save;
                                            '\u{FFFD}'
                                        }
                                    }
                                } else {
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(n).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return Err(self.err(e, "in string escape code")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(self.err(c, "in string literal")),
                _ => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

/// `json.Unmarshal` into `interface{}`: objects become maps, numbers float64.
pub fn unmarshal(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if let Some(c) = p.peek() {
        return Err(p.err(c, "after top-level value"));
    }
    Ok(v)
}

/// Convert to `serde_json` (numbers keep their Go kind; non-finite floats become null).
pub fn to_serde(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Uint64(u) => J::from(*u),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.to_string()),
        Value::Bytes(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(l) => J::Array(l.items.iter().map(to_serde).collect()),
        Value::Map(m) => J::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_serde(v)))
                .collect(),
        ),
        Value::Object(o) => to_serde(&o.to_data()),
    }
}

/// Convert from `serde_json` as `json.Unmarshal` would: every number becomes float64.
pub fn from_serde(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::list(a.iter().map(from_serde).collect()),
        J::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect()),
    }
}
