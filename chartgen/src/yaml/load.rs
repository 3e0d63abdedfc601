//! go-yaml v2 `Unmarshal` into `interface{}` followed by `sigs.k8s.io/yaml`'s conversion to
//! JSON and back: a node tree from parser events, anchors and aliases, `<<` merges, YAML 1.1
//! scalar resolution, stringified keys, every number a float64.

use super::resolve::{Resolved, resolve_plain, resolve_with};
use super::{ErrorKind, YamlError};
use crate::value::{Map, Value};
use base64::Engine;
use std::borrow::Cow;
use std::collections::HashMap;

pub(crate) const STR_TAG: &str = "tag:yaml.org,2002:str";
const BOOL_TAG: &str = "tag:yaml.org,2002:bool";
const INT_TAG: &str = "tag:yaml.org,2002:int";
const FLOAT_TAG: &str = "tag:yaml.org,2002:float";
const NULL_TAG: &str = "tag:yaml.org,2002:null";
const TIMESTAMP_TAG: &str = "tag:yaml.org,2002:timestamp";
const BINARY_TAG: &str = "tag:yaml.org,2002:binary";
const MERGE_TAG: &str = "tag:yaml.org,2002:merge";

/// A parser event as go-yaml's decoder consumes it.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    DocumentStart,
    DocumentEnd,
    StreamEnd,
    Alias {
        anchor: String,
        line: usize,
    },
    /// `implicit`: a plain scalar without tag (or with the non-specific `!`).
    Scalar {
        value: Cow<'a, str>,
        tag: String,
        implicit: bool,
        anchor: Option<String>,
        line: usize,
    },
    SequenceStart {
        anchor: Option<String>,
        line: usize,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
        line: usize,
    },
    MappingEnd,
}

/// Where events come from.
pub(crate) trait EventSource<'a> {
    fn next(&mut self) -> Result<Event<'a>, YamlError>;
}

enum Kind<'a> {
    Scalar {
        value: Cow<'a, str>,
        tag: String,
        implicit: bool,
    },
    Seq(Vec<usize>),
    Map(Vec<usize>),
    Alias {
        name: String,
        target: usize,
    },
}

#[allow(dead_code)] // `line` feeds go-yaml type errors
struct Node<'a> {
    kind: Kind<'a>,
    line: usize,
}

/// Builds the node tree of one document (decode.go's `parser`).
struct TreeBuilder<'a, 's> {
    src: &'s mut dyn EventSource<'a>,
    peeked: Option<Event<'a>>,
    nodes: Vec<Node<'a>>,
    anchors: HashMap<String, usize>,
}

impl<'a> TreeBuilder<'a, '_> {
    fn peek(&mut self) -> Result<&Event<'a>, YamlError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.src.next()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn take(&mut self) -> Result<Event<'a>, YamlError> {
        match self.peeked.take() {
            Some(e) => Ok(e),
            None => self.src.next(),
        }
    }

    fn anchor(&mut self, anchor: Option<String>, id: usize) {
        if let Some(a) = anchor {
            self.anchors.insert(a, id);
        }
    }

    fn parse(&mut self) -> Result<usize, YamlError> {
        let ev = self.take()?;
        match ev {
            Event::Scalar {
                value,
                tag,
                implicit,
                anchor,
                line,
            } => {
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: Kind::Scalar {
                        value,
                        tag,
                        implicit,
                    },
                    line,
                });
                self.anchor(anchor, id);
                Ok(id)
            }
            Event::Alias { anchor, line } => {
                let Some(&target) = self.anchors.get(&anchor) else {
                    return Err(YamlError::decode(format!(
                        "unknown anchor '{anchor}' referenced"
                    )));
                };
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: Kind::Alias {
                        name: anchor,
                        target,
                    },
                    line,
                });
                Ok(id)
            }
            Event::SequenceStart { anchor, line } => {
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: Kind::Seq(Vec::new()),
                    line,
                });
                self.anchor(anchor, id);
                let mut children = Vec::new();
                while !matches!(self.peek()?, Event::SequenceEnd) {
                    children.push(self.parse()?);
                }
                self.take()?;
                self.nodes[id].kind = Kind::Seq(children);
                Ok(id)
            }
            Event::MappingStart { anchor, line } => {
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: Kind::Map(Vec::new()),
                    line,
                });
                self.anchor(anchor, id);
                let mut children = Vec::new();
                while !matches!(self.peek()?, Event::MappingEnd) {
                    children.push(self.parse()?);
                    children.push(self.parse()?);
                }
                self.take()?;
                self.nodes[id].kind = Kind::Map(children);
                Ok(id)
            }
            other => Err(YamlError::decode(format!("unexpected event {other:?}"))),
        }
    }
}

/// A decoded Go `interface{}` map key.
enum Key {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Invalid(String),
}

struct Decoder<'n, 'a> {
    /// Keep go-yaml's number types (int, uint64, float64) instead of JSON's float64.
    typed: bool,
    nodes: &'n [Node<'a>],
    active_aliases: Vec<usize>,
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
    /// First `json.Marshal` / key-conversion problem (reported after decoding, like sigs).
    convert_error: Option<String>,
}

fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || c == '\u{feff}' => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Scalar resolution for an `interface{}` target (decode.go `scalar` + `resolve`).
fn resolve_scalar(value: &str, tag: &str, implicit: bool) -> Result<Resolved, YamlError> {
    if tag.is_empty() && !implicit {
        return Ok(Resolved::Str);
    }
    if tag.is_empty() {
        return Ok(resolve_plain(value));
    }
    match tag {
        STR_TAG => Ok(Resolved::Str),
        BOOL_TAG | INT_TAG | FLOAT_TAG | NULL_TAG | TIMESTAMP_TAG => {
            let r = resolve_with(value, tag == TIMESTAMP_TAG);
            let rtag = match &r {
                Resolved::Null => NULL_TAG,
                Resolved::Bool(_) => BOOL_TAG,
                Resolved::Int(_) | Resolved::Uint(_) => INT_TAG,
                Resolved::Float(_) => FLOAT_TAG,
                Resolved::Timestamp => TIMESTAMP_TAG,
                Resolved::Merge => MERGE_TAG,
                Resolved::Str => STR_TAG,
            };
            if rtag == tag {
                return Ok(r);
            }
            if tag == FLOAT_TAG {
                match r {
                    Resolved::Int(i) => return Ok(Resolved::Float(i as f64)),
                    Resolved::Uint(u) if u <= i64::MAX as u64 => {
                        return Ok(Resolved::Float(u as f64));
                    }
                    _ => {}
                }
            }
            Err(YamlError::decode(format!(
                "cannot decode {} `{value}` as a {}",
                short_tag(rtag),
                short_tag(tag)
            )))
        }
        _ => Ok(Resolved::Str),
    }
}

impl Decoder<'_, '_> {
    fn count(&mut self) -> Result<(), YamlError> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(YamlError::decode(
                "document contains excessive aliasing".into(),
            ));
        }
        Ok(())
    }

    fn follow_alias<T>(
        &mut self,
        id: usize,
        target: usize,
        name: &str,
        f: impl FnOnce(&mut Self, usize) -> Result<T, YamlError>,
    ) -> Result<T, YamlError> {
        if self.active_aliases.contains(&id) {
            return Err(YamlError::decode(format!(
                "anchor '{name}' value contains itself"
            )));
        }
        self.active_aliases.push(id);
        self.alias_depth += 1;
        let r = f(self, target);
        self.alias_depth -= 1;
        self.active_aliases.pop();
        r
    }

    fn scalar(&self, value: &str, tag: &str, implicit: bool) -> Result<Resolved, YamlError> {
        resolve_scalar(value, tag, implicit)
    }

    fn value(&mut self, id: usize) -> Result<Value, YamlError> {
        self.count()?;
        // The node slice outlives `self`'s borrow: walk it without copying child lists.
        let nodes = self.nodes;
        if let Kind::Alias { name, target } = &nodes[id].kind {
            return self.follow_alias(id, *target, name, |d, t| d.value(t));
        }
        match &nodes[id].kind {
            Kind::Scalar {
                value,
                tag,
                implicit,
            } => {
                let r = self.scalar(value, tag, *implicit)?;
                Ok(match r {
                    Resolved::Null => Value::Nil,
                    Resolved::Bool(b) => Value::Bool(b),
                    Resolved::Int(i) if self.typed => Value::Int(i),
                    Resolved::Uint(u) if self.typed => Value::Uint64(u),
                    Resolved::Int(i) => Value::Float(i as f64),
                    Resolved::Uint(u) => Value::Float(u as f64),
                    Resolved::Float(x) => {
                        if !x.is_finite() && self.convert_error.is_none() {
                            self.convert_error = Some(format!(
                                "json: unsupported value: {}",
                                super::gofloat::format_g(x)
                            ));
                        }
                        Value::Float(x)
                    }
                    Resolved::Timestamp | Resolved::Merge | Resolved::Str => {
                        if tag == BINARY_TAG {
                            let cleaned: String =
                                value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(cleaned.as_bytes())
                                .map_err(|_| {
                                    YamlError::decode(
                                        "!!binary value contains invalid base64 data".into(),
                                    )
                                })?;
                            // json.Marshal replaces invalid UTF-8 with U+FFFD.
                            Value::from(String::from_utf8_lossy(&bytes).into_owned())
                        } else {
                            Value::from(&**value)
                        }
                    }
                })
            }
            Kind::Seq(children) => {
                let mut items = Vec::with_capacity(children.len());
                for &c in children {
                    items.push(self.value(c)?);
                }
                Ok(Value::list(items))
            }
            Kind::Map(_) => {
                let mut m = Map::new();
                self.mapping_into(id, &mut m)?;
                Ok(Value::map(m))
            }
            Kind::Alias { .. } => unreachable!("handled above"),
        }
    }

    /// Go's `%#v` of the value a node decodes to (for go-yaml's and sigs' error texts).
    fn go_sharp(&self, id: usize, depth: usize) -> String {
        if depth > 50 {
            return "...".into();
        }
        match &self.nodes[id].kind {
            Kind::Alias { target, .. } => self.go_sharp(*target, depth + 1),
            Kind::Scalar {
                value,
                tag,
                implicit,
            } => match self.scalar(value, tag, *implicit) {
                Ok(Resolved::Null) => "interface {}(nil)".into(),
                Ok(Resolved::Bool(b)) => b.to_string(),
                Ok(Resolved::Int(i)) => i.to_string(),
                Ok(Resolved::Uint(u)) => format!("0x{u:x}"),
                Ok(Resolved::Float(x)) => super::gofloat::format_g(x),
                _ => go_quote(value),
            },
            Kind::Seq(children) => {
                let items: Vec<String> = children
                    .iter()
                    .map(|&c| self.go_sharp(c, depth + 1))
                    .collect();
                format!("[]interface {{}}{{{}}}", items.join(", "))
            }
            Kind::Map(children) => {
                let mut pairs: Vec<(String, String)> = children
                    .chunks(2)
                    .map(|p| {
                        (
                            self.go_sharp(p[0], depth + 1),
                            self.go_sharp(p[1], depth + 1),
                        )
                    })
                    .collect();
                pairs.sort();
                pairs.dedup_by(|a, b| a.0 == b.0);
                let items: Vec<String> =
                    pairs.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[interface {{}}]interface {{}}{{{}}}", items.join(", "))
            }
        }
    }

    fn key(&mut self, id: usize) -> Result<Key, YamlError> {
        self.count()?;
        if let Kind::Alias { name, target } = &self.nodes[id].kind {
            let (name, target) = (name.clone(), *target);
            return self.follow_alias(id, target, &name, |d, t| d.key(t));
        }
        match &self.nodes[id].kind {
            Kind::Scalar {
                value,
                tag,
                implicit,
            } => {
                let r = self.scalar(value, tag, *implicit)?;
                Ok(match r {
                    Resolved::Null => Key::Nil,
                    Resolved::Bool(b) => Key::Bool(b),
                    Resolved::Int(i) => Key::Int(i),
                    Resolved::Uint(u) => Key::Uint(u),
                    Resolved::Float(x) => Key::Float(x),
                    _ => {
                        if tag == BINARY_TAG {
                            let v = self.value(id)?;
                            Key::Str(v.as_str().unwrap_or_default().to_string())
                        } else {
                            Key::Str(value.to_string())
                        }
                    }
                })
            }
            _ => {
                self.value(id)?;
                Ok(Key::Invalid(self.go_sharp(id, 0)))
            }
        }
    }

    /// `%+#v` of a top-level value: a nil interface prints `<nil>`.
    fn go_sharp_top(&self, id: usize) -> String {
        let s = self.go_sharp(id, 0);
        if s == "interface {}(nil)" {
            "<nil>".into()
        } else {
            s
        }
    }

    fn key_string(&mut self, k: Key, v: usize) -> Result<Option<String>, YamlError> {
        Ok(Some(match k {
            Key::Str(s) => s,
            Key::Int(i) => i.to_string(),
            Key::Bool(b) => b.to_string(),
            Key::Float(x) => {
                let s = super::gofloat::format_g32(x);
                match s.as_str() {
                    "+Inf" => ".inf".into(),
                    "-Inf" => "-.inf".into(),
                    "NaN" => ".nan".into(),
                    _ => s,
                }
            }
            Key::Uint(u) => {
                if self.convert_error.is_none() {
                    self.convert_error = Some(format!(
                        "unsupported map key of type: uint64, key: 0x{u:x}, value: {}",
                        self.go_sharp_top(v)
                    ));
                }
                return Ok(None);
            }
            Key::Nil => {
                if self.convert_error.is_none() {
                    self.convert_error = Some(format!(
                        "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                        self.go_sharp_top(v)
                    ));
                }
                return Ok(None);
            }
            Key::Invalid(shown) => {
                return Err(YamlError::decode(format!("invalid map key: {shown}")));
            }
        }))
    }

    fn mapping_into(&mut self, id: usize, out: &mut Map) -> Result<(), YamlError> {
        let nodes = self.nodes;
        let Kind::Map(children) = &nodes[id].kind else {
            return Err(YamlError::decode(
                "map merge requires map or sequence of maps as the value".into(),
            ));
        };
        for pair in children.chunks(2) {
            let (k, v) = (pair[0], pair[1]);
            if self.is_merge(k) {
                self.merge(v, out)?;
                continue;
            }
            let key = self.key(k)?;
            if let Key::Invalid(shown) = key {
                return Err(YamlError::decode(format!("invalid map key: {shown}")));
            }
            let value = self.value(v)?;
            if let Some(ks) = self.key_string(key, v)? {
                out.insert(ks, value);
            }
        }
        Ok(())
    }

    fn is_merge(&self, id: usize) -> bool {
        match &self.nodes[id].kind {
            Kind::Scalar {
                value,
                tag,
                implicit,
            } => value == "<<" && (*implicit || tag == MERGE_TAG),
            _ => false,
        }
    }

    fn merge_target(&self, id: usize) -> Option<usize> {
        match &self.nodes[id].kind {
            Kind::Alias { target, .. } => Some(*target),
            _ => None,
        }
    }

    fn merge(&mut self, id: usize, out: &mut Map) -> Result<(), YamlError> {
        let want_map =
            || YamlError::decode("map merge requires map or sequence of maps as the value".into());
        match &self.nodes[id].kind {
            Kind::Map(_) => {
                self.count()?;
                self.mapping_into(id, out)
            }
            Kind::Alias { name, target } => {
                let (name, target) = (name.clone(), *target);
                if !matches!(self.nodes[target].kind, Kind::Map(_)) {
                    return Err(want_map());
                }
                self.count()?;
                self.follow_alias(id, target, &name, |d, t| {
                    d.count()?;
                    d.mapping_into(t, out)
                })
            }
            Kind::Seq(children) => {
                let children = children.clone();
                for &c in children.iter().rev() {
                    match &self.nodes[c].kind {
                        Kind::Alias { .. } => {
                            let t = self.merge_target(c).expect("alias");
                            if !matches!(self.nodes[t].kind, Kind::Map(_)) {
                                return Err(want_map());
                            }
                        }
                        Kind::Map(_) => {}
                        _ => return Err(want_map()),
                    }
                    self.merge(c, out)?;
                }
                Ok(())
            }
            _ => Err(want_map()),
        }
    }
}

fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// Decode the first document of an event stream (go-yaml v2 `Unmarshal`), then apply
/// sigs.k8s.io/yaml's JSON conversion. `Ok(None)`: the stream has no document.
pub(crate) fn decode_first<'a>(
    src: &mut dyn EventSource<'a>,
    typed: bool,
) -> Result<Option<Value>, YamlError> {
    let mut b = TreeBuilder {
        src,
        peeked: None,
        nodes: Vec::new(),
        anchors: HashMap::new(),
    };
    match b.take()? {
        Event::StreamEnd => return Ok(None),
        Event::DocumentStart => {}
        other => return Err(YamlError::decode(format!("unexpected event {other:?}"))),
    }
    let root = b.parse()?;
    match b.take()? {
        Event::DocumentEnd => {}
        other => return Err(YamlError::decode(format!("unexpected event {other:?}"))),
    }
    let nodes = b.nodes;
    let mut d = Decoder {
        typed,
        nodes: &nodes,
        active_aliases: Vec::new(),
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
        convert_error: None,
    };
    let v = d.value(root)?;
    if let Some(msg) = d.convert_error {
        return Err(YamlError {
            line: None,
            message: msg,
            kind: ErrorKind::Convert,
        });
    }
    Ok(Some(v))
}

/// Decode every document of the stream in order (for multi-document readers).
pub(crate) fn decode_all<'a>(src: &mut dyn EventSource<'a>) -> Result<Vec<Value>, YamlError> {
    let mut out = Vec::new();
    let mut b = TreeBuilder {
        src,
        peeked: None,
        nodes: Vec::new(),
        anchors: HashMap::new(),
    };
    loop {
        match b.take()? {
            Event::StreamEnd => return Ok(out),
            Event::DocumentStart => {}
            other => return Err(YamlError::decode(format!("unexpected event {other:?}"))),
        }
        b.nodes.clear();
        b.anchors.clear();
        let root = b.parse()?;
        b.take()?;
        let mut d = Decoder {
            typed: false,
            nodes: &b.nodes,
            active_aliases: Vec::new(),
            decode_count: 0,
            alias_count: 0,
            alias_depth: 0,
            convert_error: None,
        };
        let v = d.value(root)?;
        if let Some(msg) = d.convert_error {
            return Err(YamlError {
                line: None,
                message: msg,
                kind: ErrorKind::Convert,
            });
        }
        out.push(v);
    }
}

/// Why the single-pass decoder gave up; the caller decodes again with the full decoder.
pub(crate) struct Bail;

/// Which parts of the document the single-pass decoder materializes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The whole document.
    All,
    /// Of a top-level map only `apiVersion`, `kind` and `metadata` (Helm's `SimpleHead`);
    /// everything else is read and checked but not built.
    Head,
}

/// A single pass from events to values for the common case: no anchors, aliases, merge
/// keys, explicit tags in skipped parts, or anything else that could make the full decoder
/// report an error. On any of those (or a syntax error) it gives up with [`Bail`], and the
/// caller runs [`decode_first`] on a fresh parser, which reports exactly what Helm does.
struct Fast<'s, S> {
    src: &'s mut S,
    typed: bool,
}

impl<'a, S: EventSource<'a>> Fast<'_, S> {
    fn next(&mut self) -> Result<Event<'a>, Bail> {
        self.src.next().map_err(|_| Bail)
    }

    fn node(&mut self, ev: Event<'a>) -> Result<Value, Bail> {
        match ev {
            Event::Scalar {
                value,
                tag,
                implicit,
                anchor: None,
                ..
            } => self.scalar(value, &tag, implicit),
            Event::SequenceStart { anchor: None, .. } => {
                let mut items = Vec::new();
                loop {
                    let ev = self.next()?;
                    if let Event::SequenceEnd = ev {
                        break;
                    }
                    items.push(self.node(ev)?);
                }
                Ok(Value::list(items))
            }
            Event::MappingStart { anchor: None, .. } => self.mapping(Keep::All),
            _ => Err(Bail),
        }
    }

    /// The entries of a mapping whose start event was just read.
    fn mapping(&mut self, keep: Keep) -> Result<Value, Bail> {
        let mut m = Map::new();
        loop {
            let ev = self.next()?;
            if let Event::MappingEnd = ev {
                break;
            }
            let key = self.key(ev)?;
            let ev = self.next()?;
            if keep == Keep::Head && !matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                self.skip(ev)?;
                continue;
            }
            let v = self.node(ev)?;
            m.insert(key, v);
        }
        Ok(Value::map(m))
    }

    /// What `Decoder::value` makes of a scalar, or `Bail` where it would fail or record a
    /// conversion error.
    fn scalar(&self, value: Cow<'a, str>, tag: &str, implicit: bool) -> Result<Value, Bail> {
        Ok(
            match resolve_scalar(&value, tag, implicit).map_err(|_| Bail)? {
                Resolved::Null => Value::Nil,
                Resolved::Bool(b) => Value::Bool(b),
                Resolved::Int(i) if self.typed => Value::Int(i),
                Resolved::Uint(u) if self.typed => Value::Uint64(u),
                Resolved::Int(i) => Value::Float(i as f64),
                Resolved::Uint(u) => Value::Float(u as f64),
                Resolved::Float(x) if x.is_finite() => Value::Float(x),
                Resolved::Float(_) => return Err(Bail),
                Resolved::Timestamp | Resolved::Merge | Resolved::Str => {
                    if tag == BINARY_TAG {
                        return Err(Bail);
                    }
                    Value::from(&*value)
                }
            },
        )
    }

    /// A map key as `Decoder::mapping_into` turns it into a string (string, int and bool
    /// keys; anything else gives up).
    fn key(&mut self, ev: Event<'a>) -> Result<String, Bail> {
        let Event::Scalar {
            value,
            tag,
            implicit,
            anchor: None,
            ..
        } = ev
        else {
            return Err(Bail);
        };
        if value == "<<" && (implicit || tag == MERGE_TAG) {
            return Err(Bail);
        }
        match resolve_scalar(&value, &tag, implicit).map_err(|_| Bail)? {
            Resolved::Int(i) => Ok(i.to_string()),
            Resolved::Bool(b) => Ok(b.to_string()),
            Resolved::Timestamp | Resolved::Merge | Resolved::Str if tag != BINARY_TAG => {
                Ok(value.into_owned())
            }
            _ => Err(Bail),
        }
    }

    /// Read a node without building it, giving up wherever decoding it could fail.
    fn skip(&mut self, ev: Event<'a>) -> Result<(), Bail> {
        match ev {
            Event::Scalar {
                value,
                tag,
                implicit,
                anchor: None,
                ..
            } => {
                if !tag.is_empty() {
                    return Err(Bail);
                }
                if implicit && matches!(resolve_plain(&value), Resolved::Float(x) if !x.is_finite())
                {
                    return Err(Bail);
                }
                Ok(())
            }
            Event::SequenceStart { anchor: None, .. } => loop {
                let ev = self.next()?;
                if let Event::SequenceEnd = ev {
                    return Ok(());
                }
                self.skip(ev)?;
            },
            Event::MappingStart { anchor: None, .. } => loop {
                let ev = self.next()?;
                if let Event::MappingEnd = ev {
                    return Ok(());
                }
                self.skip_key(ev)?;
                let ev = self.next()?;
                self.skip(ev)?;
            },
            _ => Err(Bail),
        }
    }

    /// A skipped map key: only scalars whose string form is sure.
    fn skip_key(&mut self, ev: Event<'a>) -> Result<(), Bail> {
        let Event::Scalar {
            value,
            tag,
            implicit,
            anchor: None,
            ..
        } = ev
        else {
            return Err(Bail);
        };
        if !tag.is_empty() || (implicit && value == "<<") {
            return Err(Bail);
        }
        if implicit && matches!(resolve_plain(&value), Resolved::Null | Resolved::Uint(_)) {
            return Err(Bail);
        }
        Ok(())
    }
}

/// [`decode_first`] in one pass for the common case (see [`Fast`]); `Err(Bail)`: decode
/// again with [`decode_first`] on a fresh parser.
pub(crate) fn decode_first_fast<'a, S: EventSource<'a>>(
    src: &mut S,
    typed: bool,
    keep: Keep,
) -> Result<Option<Value>, Bail> {
    let mut f = Fast { src, typed };
    match f.next()? {
        Event::StreamEnd => return Ok(None),
        Event::DocumentStart => {}
        _ => return Err(Bail),
    }
    let root = match f.next()? {
        Event::MappingStart { anchor: None, .. } => f.mapping(keep)?,
        ev => f.node(ev)?,
    };
    match f.next()? {
        Event::DocumentEnd => Ok(Some(root)),
        _ => Err(Bail),
    }
}
