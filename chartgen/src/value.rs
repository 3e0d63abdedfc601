//! The value model: Go's dynamic types as templates see them, with Go's type identity.
//!
//! Helm hands templates `interface{}` values whose dynamic Go type matters: `eq 3 .Values.n`
//! fails when `n` came from YAML (float64) and works when it came from `--set` (int64);
//! `%T` prints the Go type name; function parameters typed `int` reject `int64`. So a
//! [`Value`] keeps the Go type, not just "a number".
//!
//! Maps have reference semantics like Go maps: Sprig's `set`, `unset`, `merge` mutate in place
//! and every holder of the map sees the change (Helm's `.Values` is shared across templates).
//! Lists are immutable (Go slices are only ever copied by Sprig).
//!
//! Go strings are byte strings and may hold invalid UTF-8 (`trunc` cutting a multi-byte
//! character, `b64dec` of arbitrary bytes, `.Files.Get` of a binary file). A Rust `str` cannot,
//! so each byte that is not part of a valid UTF-8 sequence is stored as one *raw-byte char*
//! (see [`raw_byte_char`]); [`go_bytes`] turns such a string back into Go's bytes and
//! [`go_string`] builds one from bytes.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// A Go `map[string]interface{}`; `BTreeMap` gives Go's sorted printing/range order for free.
pub type Map = BTreeMap<String, Value>;

/// The Go type of a map value, for `%T`, `typeOf` and the functions that assert a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapKind {
    /// `map[string]interface {}` (YAML/JSON objects, `dict`, `fromYaml`, ...).
    #[default]
    Interface,
    /// `map[string]string` (Sprig `split`/`splitn`); every value is a `Value::String`.
    String,
    /// Helm 4's `common.Values`: the top-level dot and every `.Values`. Functions with a
    /// `map[string]interface{}` parameter accept it (Go assignability), but Sprig's `dig`
    /// asserts the exact type and fails on it.
    Values,
    /// The same for Helm 3 (`--helm3`): `chartutil.Values`.
    ValuesV3,
}

impl MapKind {
    /// Go spelling of a map of this kind.
    pub fn type_name(self) -> &'static str {
        match self {
            MapKind::Interface => "map[string]interface {}",
            MapKind::String => "map[string]string",
            MapKind::Values => "common.Values",
            MapKind::ValuesV3 => "chartutil.Values",
        }
    }
}

/// Shared, mutable map handle (a Go map value): the map's storage plus the Go type of this
/// handle. Two handles of different kinds may share one storage, as in Go where passing
/// `.Values` to a `map[string]interface{}` parameter converts the type but not the map.
/// Dereferences to the shared `Rc<RefCell<Map>>`, so `m.borrow()` and `Rc::ptr_eq` work.
#[derive(Clone)]
pub struct MapRef {
    cell: Rc<RefCell<Map>>,
    kind: MapKind,
}

impl MapRef {
    /// A fresh `map[string]interface {}` holding `m`.
    pub fn new(m: Map) -> MapRef {
        MapRef {
            cell: Rc::new(RefCell::new(m)),
            kind: MapKind::Interface,
        }
    }

    /// The Go type of this handle.
    pub fn kind(&self) -> MapKind {
        self.kind
    }

    /// The same map (shared storage) seen as another Go type.
    pub fn with_kind(&self, kind: MapKind) -> MapRef {
        MapRef {
            cell: self.cell.clone(),
            kind,
        }
    }
}

impl Deref for MapRef {
    type Target = Rc<RefCell<Map>>;
    fn deref(&self) -> &Self::Target {
        &self.cell
    }
}

impl From<Rc<RefCell<Map>>> for MapRef {
    fn from(cell: Rc<RefCell<Map>>) -> MapRef {
        MapRef {
            cell,
            kind: MapKind::Interface,
        }
    }
}

impl fmt::Debug for MapRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != MapKind::Interface {
            write!(f, "{:?}", self.kind)?;
        }
        write!(f, "{:?}", self.cell.borrow())
    }
}

/// The element type of a Go slice, for `%T`, `typeOf` and `kindIs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    /// `[]interface {}` (YAML lists, `list`, `append`, ...).
    Interface,
    /// `[]string` (`splitList`, `keys`, `sortAlpha`, `toStrings`, `regexFindAll`, ...).
    String,
    /// `[]int` (`until`, `untilStep`).
    Int,
}

impl ElemType {
    /// Go spelling of a slice with this element type.
    pub fn slice_type_name(self) -> &'static str {
        match self {
            ElemType::Interface => "[]interface {}",
            ElemType::String => "[]string",
            ElemType::Int => "[]int",
        }
    }
}

/// A Go slice: element type plus items. Items of a `[]string` are always `Value::String`.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub elem: ElemType,
    pub items: Vec<Value>,
}

/// A Go value as a template sees it.
#[derive(Clone)]
pub enum Value {
    /// A nil interface: a missing map key, YAML `null`, the `nil` literal.
    Nil,
    Bool(bool),
    /// Go `int` (template integer literals, `len`, `int`, `atoi`, `.Release.Revision`).
    Int(i64),
    /// Go `int64` (`--set` integers, Sprig arithmetic, `int64`).
    Int64(i64),
    /// Go `uint64` (rare; `uint`-typed results).
    Uint64(u64),
    /// Go `float64` (every number from YAML or JSON, float literals).
    Float(f64),
    String(Rc<str>),
    /// Go `[]byte` (`.Files.GetBytes`, `randBytes`); prints as `[1 2 3]`.
    Bytes(Rc<[u8]>),
    List(Rc<List>),
    /// Go `map[string]interface{}` (reference semantics).
    Map(MapRef),
    /// Any other Go value: structs and pointers with fields and methods (`.Capabilities`,
    /// `.Files`, `*semver.Version`, `time.Time`, ...).
    Object(Rc<dyn Object>),
}

/// A Go struct or pointer with fields and methods, e.g. `.Capabilities` or `time.Time`.
pub trait Object {
    /// Go type name as `%T` prints it, e.g. `*chartutil.Capabilities`, `time.Time`.
    fn type_name(&self) -> &str;
    /// Go `reflect.Kind` name as Sprig's `kindOf` prints it: `struct` or `ptr`.
    fn kind_name(&self) -> &str {
        "ptr"
    }
    /// Field by exported name; `None` means Go's "can't evaluate field X in type T".
    fn field(&self, name: &str) -> Option<Value>;
    /// True if the type has a method of this name (template `.Method args`).
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    /// Call a method; errors are reported by the executor as `error calling <name>: <msg>`.
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!(
            "can't evaluate field {name} in type {}",
            self.type_name()
        ))
    }
    /// What `%v` prints (e.g. `v1.35.0` for a KubeVersion that has a `String()` method).
    fn format_v(&self) -> String;
    /// The value `encoding/json` would marshal (for `toJson`/`toYaml`), as plain data.
    fn to_data(&self) -> Value;
    /// A Go struct's `encoding/json` members in declaration order, where that order is not
    /// the sorted keys of [`Object::to_data`] (`toJson` writes them in this order).
    fn json_members(&self) -> Option<&[(&'static str, Value)]> {
        None
    }
    /// Range over it (only `.Files` ranges); `None` means "range can't iterate over".
    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// Allows downcasting for functions that accept one concrete object type.
    fn as_any(&self) -> &dyn std::any::Any;
    /// Go's `==` between two values of a comparable struct type (`time.Time`), for the
    /// template's `eq`/`ne`; `None` when the type is not comparable.
    fn go_eq(&self, _other: &dyn Object) -> Option<bool> {
        None
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Uint64(i) => write!(f, "Uint64({i})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::List(l) => write!(f, "List({:?}, {:?})", l.elem, l.items),
            Value::Map(m) => write!(f, "Map({m:?})"),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

/// Structural equality, for tests and Sprig's `deepEqual` (not Go's `eq`, which lives in exec).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Uint64(a), Value::Uint64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => {
                a.kind == b.kind && (Rc::ptr_eq(a, b) || *a.borrow() == *b.borrow())
            }
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A `[]interface {}` list.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(List {
            elem: ElemType::Interface,
            items,
        }))
    }

    /// A `[]string` list.
    pub fn string_list(items: impl IntoIterator<Item = String>) -> Value {
        Value::List(Rc::new(List {
            elem: ElemType::String,
            items: items.into_iter().map(Value::str).collect(),
        }))
    }

    /// A fresh `map[string]interface {}`.
    pub fn map(m: Map) -> Value {
        Value::Map(MapRef::new(m))
    }

    /// A fresh `map[string]string` (Sprig `split`); the values must be strings.
    pub fn string_map(m: Map) -> Value {
        Value::Map(MapRef::new(m).with_kind(MapKind::String))
    }

    /// An empty `map[string]interface {}`.
    pub fn empty_map() -> Value {
        Value::map(Map::new())
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's `%T` name.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint64(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(l) => l.elem.slice_type_name().into(),
            Value::Map(m) => m.kind.type_name().into(),
            Value::Object(o) => o.type_name().into(),
        }
    }

    /// Go's `reflect.Kind` name (Sprig `kindOf`/`kindIs`); nil is `invalid`.
    pub fn kind_name(&self) -> &str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint64(_) => "uint64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind_name(),
        }
    }

    /// Go template truthiness (text/template `isTrue`).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint64(u) => *u != 0,
            Value::Float(x) => *x != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The string if this is a Go string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Deep copy (Sprig `deepCopy`): maps become new maps, recursively.
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(m) => {
                let copied: Map = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                Value::Map(MapRef::new(copied).with_kind(m.kind))
            }
            Value::List(l) => Value::List(Rc::new(List {
                elem: l.elem,
                items: l.items.iter().map(Value::deep_copy).collect(),
            })),
            other => other.clone(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// First of the 128 chars that stand for the raw bytes 0x80..=0xFF of a Go string that are
/// not part of valid UTF-8 (the last 128 code points of Unicode, private use plane 16).
const RAW_BYTE_BASE: u32 = 0x10_FF80;

/// The char that stands for the raw byte `b` (0x80..=0xFF) inside a Go string.
pub fn raw_byte_char(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(b & 0x7F)).expect("U+10FF80..U+10FFFF are chars")
}

/// The raw byte a char stands for, if it is a raw-byte char.
pub fn raw_byte_of(c: char) -> Option<u8> {
    let u = u32::from(c);
    (u >= RAW_BYTE_BASE).then(|| (u - RAW_BYTE_BASE) as u8 | 0x80)
}

/// Whether a string holds raw-byte chars (i.e. is not valid UTF-8 as a Go string). Cheap:
/// every raw-byte char starts with the byte 0xF4.
pub fn has_raw_bytes(s: &str) -> bool {
    s.as_bytes().contains(&0xF4) && s.chars().any(|c| raw_byte_of(c).is_some())
}

/// The bytes of a Go string (raw-byte chars become their bytes).
pub fn go_bytes(s: &str) -> Cow<'_, [u8]> {
    if !has_raw_bytes(s) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match raw_byte_of(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Cow::Owned(out)
}

/// Go's `len` of a string: its byte count.
pub fn go_len(s: &str) -> usize {
    if !has_raw_bytes(s) {
        return s.len();
    }
    // A raw-byte char takes 4 bytes here and 1 in Go.
    s.len() - 3 * s.chars().filter(|c| raw_byte_of(*c).is_some()).count()
}

/// A Go string from bytes: valid UTF-8 is kept, each other byte becomes a raw-byte char.
pub fn go_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).expect("checked by valid_up_to"));
                let bad = e.error_len().unwrap_or(after.len());
                for b in &after[..bad] {
                    out.push(raw_byte_char(*b));
                }
                rest = &after[bad..];
            }
        }
    }
}

/// The string as Unicode text the way Go's `for range`/`encoding/json` read it: each raw byte
/// becomes U+FFFD.
pub fn go_lossy(s: &str) -> Cow<'_, str> {
    if !has_raw_bytes(s) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if raw_byte_of(c).is_some() {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// The error go-yaml's reader reports for the first invalid UTF-8 in a document, if any
/// (`incomplete UTF-8 octet sequence`, `invalid leading UTF-8 octet`, ...).
pub fn yaml_utf8_problem(s: &str) -> Option<&'static str> {
    if !has_raw_bytes(s) {
        return None;
    }
    let bytes = go_bytes(s);
    let mut i = 0;
    while i < bytes.len() {
        let lead = bytes[i];
        let width = match lead {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return Some("invalid leading UTF-8 octet"),
        };
        if i + width > bytes.len() {
            return Some("incomplete UTF-8 octet sequence");
        }
        let tail = &bytes[i + 1..i + width];
        if tail.iter().any(|b| b & 0xC0 != 0x80) {
            return Some("invalid trailing UTF-8 octet");
        }
        let mut value = u32::from(match width {
            1 => lead,
            2 => lead & 0x1F,
            3 => lead & 0x0F,
            _ => lead & 0x07,
        });
        for b in tail {
            value = (value << 6) | u32::from(b & 0x3F);
        }
        let shortest = match width {
            1 => true,
            2 => value >= 0x80,
            3 => value >= 0x800,
            _ => value >= 0x1_0000,
        };
        if !shortest {
            return Some("invalid length of a UTF-8 sequence");
        }
        if (0xD800..=0xDFFF).contains(&value) || value > 0x10_FFFF {
            return Some("invalid Unicode character");
        }
        i += width;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that are not valid UTF-8 survive a round trip through a Go string, one char each.
    #[test]
    fn go_string_round_trips_invalid_bytes() {
        let raw: &[u8] = b"h\xc3\x00\xff\xe2\x82ok\xc3\xa9";
        let s = go_string(raw);
        assert_eq!(s.chars().count(), 9);
        assert_eq!(&*go_bytes(&s), raw);
        assert_eq!(go_len(&s), raw.len());
        assert!(has_raw_bytes(&s));
        assert_eq!(go_lossy(&s), "h\u{FFFD}\0\u{FFFD}\u{FFFD}\u{FFFD}ok\u{e9}");
    }

    /// Valid UTF-8 is kept as it is and borrowed, not copied.
    #[test]
    fn valid_utf8_is_untouched() {
        let s = go_string("héllo \u{1F600}".as_bytes());
        assert_eq!(s, "héllo \u{1F600}");
        assert!(!has_raw_bytes(&s));
        assert!(matches!(go_bytes(&s), Cow::Borrowed(_)));
        assert_eq!(go_len(&s), s.len());
    }

    /// go-yaml's reader problems for invalid UTF-8, in the order its reader checks them.
    #[test]
    fn yaml_reader_problems() {
        let p = |b: &[u8]| yaml_utf8_problem(&go_string(b));
        assert_eq!(p(b"# h\xc3"), Some("incomplete UTF-8 octet sequence"));
        assert_eq!(p(b"# h\xc3\n"), Some("invalid trailing UTF-8 octet"));
        assert_eq!(p(b"a: \x80"), Some("invalid leading UTF-8 octet"));
        assert_eq!(
            p(b"a: \xc0\x80"),
            Some("invalid length of a UTF-8 sequence")
        );
        assert_eq!(p(b"a: \xed\xa0\x80"), Some("invalid Unicode character"));
        assert_eq!(p("a: é".as_bytes()), None);
    }

    /// A map handle's Go type shows in `%T`, survives deep copies, and does not change the
    /// shared storage of other handles.
    #[test]
    fn map_kinds() {
        let plain = MapRef::new(Map::new());
        let values = plain.with_kind(MapKind::Values);
        values.borrow_mut().insert("a".into(), Value::Int(1));
        assert_eq!(plain.borrow().len(), 1);
        assert!(Rc::ptr_eq(&plain, &values));
        let v = Value::Map(values);
        assert_eq!(v.type_name(), "common.Values");
        assert_eq!(v.kind_name(), "map");
        assert_eq!(v.deep_copy().type_name(), "common.Values");
        assert_ne!(v, Value::Map(plain.clone()));
        let split = Value::string_map(Map::from([("_0".to_string(), Value::str("a"))]));
        assert_eq!(split.type_name(), "map[string]string");
        assert_eq!(
            Value::Map(plain.with_kind(MapKind::ValuesV3)).type_name(),
            "chartutil.Values"
        );
    }
}
