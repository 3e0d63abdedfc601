//! Bridges to Go `fmt` (`template::fmt`) and YAML/JSON (`yaml`): the one place the function
//! families reach those modules, with private stand-ins until they exist on main.

use crate::value::Value;

/// Go `fmt.Sprint(v)` / `%v` of one value.
pub(crate) fn format_v(v: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, v);
    out
}

fn write_v(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint64(u) => out.push_str(&u.to_string()),
        Value::Float(x) => out.push_str(&format_float_g(*x)),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.push('[');
            for (i, byte) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&byte.to_string());
            }
            out.push(']');
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&o.format_v()),
    }
}

/// Go `%v` of a float64 = `strconv.FormatFloat(x, 'g', -1, 64)`: the shortest round-trip
/// digits, in exponent form iff the decimal exponent is < -4 or >= 6 (exponent at least two
/// digits), e.g. `1e+06`, `0.0001`, `1.5`.
pub(crate) fn format_float_g(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits as d.ddde±N.
    let sci = format!("{:e}", x.abs());
    let (mant, exp) = sci
        .split_once('e')
        .expect("LowerExp always has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let eprec = 6;
    let sign = if x < 0.0 { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if n > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            s.push('0');
        }
        s.push_str(&e.to_string());
        return s;
    }
    let mut s = String::from(sign);
    if exp < 0 {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            s.push_str(&digits);
            for _ in 0..(int_len - digits.len()) {
                s.push('0');
            }
        } else {
            s.push_str(&digits[..int_len]);
            s.push('.');
            s.push_str(&digits[int_len..]);
        }
    }
    s
}

/// `encoding/json.Marshal` (stand-in until `yaml::to_json` exists).
pub(crate) fn to_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, true, None, 0)?;
    Ok(out)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub(crate) fn to_pretty_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, true, Some("  "), 0)?;
    Ok(out)
}

/// JSON without HTML escaping (Sprig `toRawJson`).
pub(crate) fn to_raw_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, false, None, 0)?;
    Ok(out)
}

fn write_json(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), String> {
    let newline = |out: &mut String, depth: usize| {
        if let Some(ind) = indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(ind);
            }
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint64(u) => out.push_str(&u.to_string()),
        Value::Float(x) => {
            if !x.is_finite() {
                return Err(format!("json: unsupported value: {}", format_float_g(*x)));
            }
            let a = x.abs();
            if a != 0.0 && !(1e-6..1e21).contains(&a) {
                let s = format!("{x:e}");
                let (m, e) = s.split_once('e').expect("exponent");
                let e: i32 = e.parse().expect("int");
                out.push_str(m);
                out.push('e');
                out.push(if e < 0 { '-' } else { '+' });
                out.push_str(&e.abs().to_string());
            } else {
                out.push_str(&format!("{x}"));
            }
        }
        Value::String(s) => write_json_str(out, s, html),
        Value::Bytes(b) => {
            use base64::Engine as _;
            write_json_str(
                out,
                &base64::engine::general_purpose::STANDARD.encode(b),
                html,
            )
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json(out, item, html, indent, depth + 1)?;
            }
            if !l.items.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            let m = m.borrow();
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json_str(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, item, html, indent, depth + 1)?;
            }
            if !m.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
        Value::Object(o) => write_json(out, &o.to_data(), html, indent, depth)?,
    }
    Ok(())
}

fn write_json_str(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `encoding/json.Unmarshal` into `interface{}` (numbers become float64).
pub(crate) fn from_json(text: &str) -> Result<Value, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(from_serde(&v))
}

fn from_serde(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect())
        }
    }
}

/// `sigs.k8s.io/yaml.Marshal` (stand-in: JSON, which is valid YAML, until `yaml` lands).
pub(crate) fn to_yaml(v: &Value) -> Result<String, String> {
    to_json(v).map(|s| s + "\n")
}

/// go-yaml v3 encoder with indent 2 (Helm `toYamlPretty`).
pub(crate) fn to_yaml_pretty(v: &Value) -> Result<String, String> {
    to_yaml(v)
}

/// Parse any YAML document with Helm's rules (stand-in: JSON only).
pub(crate) fn parse_yaml(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Nil);
    }
    from_json(text).map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))
}

/// BurntSushi/toml encoding (stand-in until `yaml::to_toml` lands).
pub(crate) fn to_toml(v: &Value) -> Result<String, String> {
    match v {
        Value::Map(_) => to_json(v),
        _ => Err("toml: top-level values must be Go maps or structs".into()),
    }
}
