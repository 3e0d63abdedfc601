//! YAML and JSON exactly as Helm reads and writes them (go-yaml v2, encoding/json).
//!
//! Reading (`values.yaml`, `-f` files, `Chart.yaml`, `fromYaml`, manifest heads) follows
//! `sigs.k8s.io/yaml.Unmarshal`: go-yaml v2 decodes the first document with YAML 1.1 rules
//! (`yes`/`on`/`y` are booleans, `0777` is octal, ...), the result is converted to JSON (map
//! keys become strings, NaN/Inf fail) and decoded again, so every number is a float64.
//!
//! Writing (`toYaml`) follows `sigs.k8s.io/yaml.Marshal`: `encoding/json`, then go-yaml v2's
//! emitter. `toJson`/`toPrettyJson`/`toRawJson` follow `encoding/json`, `toToml` BurntSushi.
//!
//! ```
//! use chartgen::yaml;
//! let v = yaml::parse_values("replicas: 3\nenabled: yes\n").unwrap();
//! assert_eq!(yaml::to_yaml(&v).unwrap(), "enabled: true\nreplicas: 3\n");
//! assert_eq!(yaml::to_json(&v).unwrap(), r#"{"enabled":true,"replicas":3}"#);
//! ```

mod emit;
mod gofloat;
mod json;
mod load;
mod parser;
mod quick;
mod resolve;
mod toml;

use crate::value::Value;
use std::fmt;

pub use gofloat::{format_float, format_g, format_g32, format_json};
pub use resolve::{Resolved, resolve_plain};

/// Which layer of Helm's YAML stack failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// go-yaml's scanner or parser (`yaml: line 3: did not find expected key`).
    Syntax,
    /// go-yaml's decoder (`yaml: unknown anchor 'x' referenced`, bad tagged values).
    Decode,
    /// sigs.k8s.io/yaml's YAML-to-JSON conversion (`json: unsupported value: NaN`,
    /// `unsupported map key of type: <nil>, ...`).
    Convert,
    /// JSON decoding into the target type (`json: cannot unmarshal array into Go value of
    /// type map[string]interface {}`).
    Target,
}

/// A YAML reading error. `Display` prints go-yaml's own text (`yaml: line 3: did not find
/// expected key`); [`YamlError::helm_message`] adds the `sigs.k8s.io/yaml` wrapping Helm shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// The line go-yaml reports (its own, sometimes surprising, numbering).
    pub line: Option<usize>,
    /// The message after `yaml: line N: `, or the whole text for non-go-yaml errors.
    pub message: String,
    pub kind: ErrorKind,
}

impl YamlError {
    pub(crate) fn decode(message: String) -> Self {
        YamlError {
            line: None,
            message,
            kind: ErrorKind::Decode,
        }
    }

    #[allow(dead_code)] // used by the go-yaml scanner port
    pub(crate) fn syntax(line: usize, message: impl Into<String>) -> Self {
        YamlError {
            line: if line == 0 { None } else { Some(line) },
            message: message.into(),
            kind: ErrorKind::Syntax,
        }
    }

    /// The text `sigs.k8s.io/yaml.Unmarshal` returns: `error converting YAML to JSON: yaml:
    /// line 3: ...` or `error unmarshaling JSON: while decoding JSON: json: cannot ...`.
    pub fn helm_message(&self) -> String {
        match self.kind {
            ErrorKind::Target => format!("error unmarshaling JSON: while decoding JSON: {self}"),
            _ => format!("error converting YAML to JSON: {self}"),
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Syntax | ErrorKind::Decode => match self.line {
                Some(l) => write!(f, "yaml: line {l}: {}", self.message),
                None => write!(f, "yaml: {}", self.message),
            },
            ErrorKind::Convert | ErrorKind::Target => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for YamlError {}

/// go-yaml's reader refuses invalid UTF-8 (a Go string's raw bytes, see `crate::value`).
fn check_utf8(text: &str) -> Result<(), YamlError> {
    match crate::value::yaml_utf8_problem(text) {
        Some(problem) => Err(YamlError::syntax(0, problem)),
        None => Ok(()),
    }
}

/// `sigs.k8s.io/yaml.Unmarshal` into `interface{}`: the first document (`Nil` when none).
pub fn parse_any(text: &str) -> Result<Value, YamlError> {
    decode(text, false, load::Keep::All)
}

/// Like [`parse_any`] for reading a manifest's head (Helm's `SimpleHead`): of a top-level
/// map, `apiVersion`, `kind` and `metadata` are as [`parse_any`] gives them (of `metadata`,
/// at least `name` and `annotations`), other keys may be left out; errors are exactly
/// [`parse_any`]'s. Documents in plain block style take the quick reader (quick.rs).
pub fn parse_head(text: &str) -> Result<Value, YamlError> {
    if let Some(v) = quick::head(text) {
        return Ok(v);
    }
    decode(text, false, load::Keep::Head)
}

/// The single-pass decoder, or the full one wherever it gives up.
fn decode(text: &str, typed: bool, keep: load::Keep) -> Result<Value, YamlError> {
    check_utf8(text)?;
    let mut src = parser::Parser::new(text);
    if let Ok(v) = load::decode_first_fast(&mut src, typed, keep) {
        return Ok(v.unwrap_or(Value::Nil));
    }
    let mut src = parser::Parser::new(text);
    Ok(load::decode_first(&mut src, typed)?.unwrap_or(Value::Nil))
}

/// Like [`parse_any`] but numbers keep go-yaml's types before the JSON step: `Int` for
/// ints, `Uint64` beyond int64, `Float` for floats. For typed targets such as Chart.yaml's
/// string fields, see [`json_string_field`].
pub fn parse_typed(text: &str) -> Result<Value, YamlError> {
    decode(text, true, load::Keep::All)
}

/// What `sigs.k8s.io/yaml` puts into a Go `string` field for a decoded scalar of
/// [`parse_typed`]: ints in decimal, floats with float32 `%g` (`1.10` -> `1.1`, `1.0` ->
/// `1`), booleans `true`/`false`, strings unchanged; `None` for nil, lists and maps.
pub fn json_string_field(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Uint64(u) => u.to_string(),
        Value::Float(x) => format_g32(*x),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    })
}

/// `sigs.k8s.io/yaml.Unmarshal` into `map[string]interface{}` (values files, Chart.yaml):
/// an empty or `null` document is an empty map; a list or scalar is an error.
pub fn parse_values(text: &str) -> Result<Value, YamlError> {
    let v = parse_any(text)?;
    into_map(v)
}

/// Every document of a multi-document stream, each decoded like [`parse_any`].
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    check_utf8(text)?;
    let mut src = parser::Parser::new(text);
    load::decode_all(&mut src)
}

/// Why [`load_values`] failed; `Display` is Helm's text after `failed to parse <file>: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadValuesError {
    /// A `---` line followed by something other than a comment.
    #[error("error reading yaml document: invalid Yaml document separator: {0}")]
    Separator(String),
    /// A document that does not decode into a map.
    #[error("cannot unmarshal yaml document: {}", .0.helm_message())]
    Document(YamlError),
}

/// Split a stream the way apimachinery's `YAMLReader` does: on lines starting with `---`
/// (only a comment may follow), CRLF read as LF.
pub fn split_documents(text: &str) -> Result<Vec<String>, LoadValuesError> {
    let mut docs = Vec::new();
    let mut buf = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(after) = line.strip_prefix("---") {
            let trimmed = after.trim_matches(|c: char| c.is_whitespace());
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(LoadValuesError::Separator(trimmed.to_string()));
            }
            if !buf.is_empty() {
                docs.push(std::mem::take(&mut buf));
            }
            continue;
        }
        buf.push_str(line);
        buf.push('\n');
    }
    if !buf.is_empty() {
        docs.push(buf);
    }
    Ok(docs)
}

fn merge_maps(a: &crate::value::Map, b: &crate::value::Map) -> crate::value::Map {
    let mut out = a.clone();
    for (k, v) in b {
        if let Value::Map(vm) = v
            && let Some(Value::Map(bm)) = out.get(k)
        {
            let merged = merge_maps(&bm.borrow(), &vm.borrow());
            out.insert(k.clone(), Value::map(merged));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Helm 4's `LoadValues` (values.yaml, `-f` files): every `---`-separated document is read
/// with [`parse_values`] and the maps are deep-merged in order.
pub fn load_values(text: &str) -> Result<Value, LoadValuesError> {
    let mut acc = crate::value::Map::new();
    for doc in split_documents(text)? {
        let v = parse_values(&doc).map_err(LoadValuesError::Document)?;
        if let Value::Map(m) = &v {
            acc = merge_maps(&acc, &m.borrow());
        }
    }
    Ok(Value::map(acc))
}

/// `sigs.k8s.io/yaml.Unmarshal` into `[]interface{}` (Helm's `fromYamlArray`): `null` is
/// an empty list; a map or scalar is an error.
pub fn parse_list(text: &str) -> Result<Value, YamlError> {
    let v = parse_any(text)?;
    let what = match &v {
        Value::Nil => return Ok(Value::list(Vec::new())),
        Value::List(_) => return Ok(v),
        Value::Map(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    Err(YamlError {
        line: None,
        message: format!("json: cannot unmarshal {what} into Go value of type []interface {{}}"),
        kind: ErrorKind::Target,
    })
}

fn into_map(v: Value) -> Result<Value, YamlError> {
    let what = match &v {
        Value::Nil => return Ok(Value::empty_map()),
        Value::Map(_) => return Ok(v),
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    Err(YamlError {
        line: None,
        message: format!(
            "json: cannot unmarshal {what} into Go value of type map[string]interface {{}}"
        ),
        kind: ErrorKind::Target,
    })
}

/// `sigs.k8s.io/yaml.Marshal(v)`: YAML text with its trailing `\n` (Helm's `toYaml` trims it).
pub fn to_yaml(v: &Value) -> Result<String, String> {
    emit::marshal(v)
}

/// `encoding/json.Marshal(v)` (HTML-escaping `<>&`, keys sorted byte-wise).
pub fn to_json(v: &Value) -> Result<String, String> {
    json::marshal(v, true)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn to_pretty_json(v: &Value) -> Result<String, String> {
    json::marshal_indent(v)
}

/// An encoder with `SetEscapeHTML(false)`, trailing newline removed (Helm's `toRawJson`).
pub fn to_raw_json(v: &Value) -> Result<String, String> {
    json::marshal(v, false)
}

/// `json.Unmarshal` into `interface{}`: objects are maps, numbers float64; errors carry Go's
/// text (`invalid character 'b' looking for beginning of value`).
pub fn from_json(text: &str) -> Result<Value, String> {
    json::unmarshal(text)
}

/// BurntSushi `toml.Encoder.Encode(v)`; the error text is what Helm's `toToml` returns.
pub fn to_toml(v: &Value) -> Result<String, String> {
    toml::marshal(v)
}

/// The value as `serde_json` data (non-finite floats become `null`).
pub fn to_serde_json(v: &Value) -> serde_json::Value {
    json::to_serde(v)
}

/// `serde_json` data as `json.Unmarshal` would produce it (numbers float64).
pub fn from_serde_json(v: &serde_json::Value) -> Value {
    json::from_serde(v)
}
