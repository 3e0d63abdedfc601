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

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// A Go `map[string]interface{}`; `BTreeMap` gives Go's sorted printing/range order for free.
pub type Map = BTreeMap<String, Value>;

/// Shared, mutable map handle (a Go map value).
pub type MapRef = Rc<RefCell<Map>>;

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
    /// Range over it (only `.Files` ranges); `None` means "range can't iterate over".
    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// Allows downcasting for functions that accept one concrete object type.
    fn as_any(&self) -> &dyn std::any::Any;
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
            Value::Map(m) => write!(f, "Map({:?})", m.borrow()),
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
            (Value::Map(a), Value::Map(b)) => Rc::ptr_eq(a, b) || *a.borrow() == *b.borrow(),
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
        Value::Map(Rc::new(RefCell::new(m)))
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
            Value::Map(_) => "map[string]interface {}".into(),
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
                Value::map(copied)
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
