//! The function table: Go's built-ins come from `template::builtins`; this module defines how
//! every other function (Helm's and Sprig's) is declared and called.
//!
//! Go's text/template converts arguments by reflection against the function's parameter
//! types, and that conversion decides both which values are accepted and what untyped
//! constants become (`trunc 5 .s` passes int 5; `add1f 5` passes float64 5). So each function
//! declares its parameter types as [`Param`]s; the executor converts and type-checks the
//! arguments (with Go's error texts) before calling [`FuncDef::call`], which therefore only
//! sees values of the declared types.

use crate::value::Value;

/// The Go type of one function parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `interface{}`: anything, including nil. Integer constants become `int`, others `float64`.
    Any,
    /// `string`: only a Go string (constants: only string constants).
    String,
    /// `int`: only a Go int (integer constants fit).
    Int,
    /// `int64`
    Int64,
    /// `float64` (any numeric constant fits).
    Float64,
    /// `bool`
    Bool,
    /// `[]interface{}` (a `[]interface {}` list only; nil is accepted as an empty list).
    List,
    /// `map[string]interface{}` (nil is accepted as a nil map).
    Map,
}

/// What a function returns to the template; `Err` becomes `error calling NAME: MSG`.
pub type FuncResult = Result<Value, FuncError>;

/// Errors a function can report.
#[derive(Debug, Clone, PartialEq)]
pub enum FuncError {
    /// An ordinary Go error return: rendered as `error calling NAME: MSG`.
    Call(String),
    /// Helm's `fail`/`required`: rendered as `execution error at (FILE:LINE:COL): MSG`
    /// where the location is the outermost action of the top-level file.
    Fail(String),
    /// An error from a nested template execution (`include`, `tpl`), already fully formatted;
    /// passed through unchanged.
    Nested(String),
}

impl FuncError {
    pub fn call(msg: impl Into<String>) -> FuncError {
        FuncError::Call(msg.into())
    }
}

/// Services a function may need from the engine that is calling it.
pub trait CallCtx {
    /// Execute the named template with `data` (Helm `include`); not `<no value>`-stripped.
    fn include(&mut self, name: &str, data: &Value) -> Result<String, FuncError>;
    /// Parse and execute `text` with the current template set (Helm `tpl`).
    fn tpl(&mut self, text: &str, data: &Value) -> Result<String, FuncError>;
    /// Helm `lookup`: a cluster's object, or an empty map when offline.
    fn lookup(&mut self, api_version: &str, kind: &str, namespace: &str, name: &str) -> FuncResult;
    /// The current time (Sprig `now`); fixed in tests for reproducible output.
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset>;
    /// The Helm release reproduced (`--helm-version`).
    fn profile(&self) -> &'static crate::profile::Profile {
        crate::profile::Profile::DEFAULT
    }
    /// True when rendering as Helm 3, whose libraries differ in places (`tpl` data typed
    /// `chartutil.Values`; v3.11: Masterminds/semver v3.2.0).
    fn helm3(&self) -> bool {
        self.profile().helm3()
    }
}

/// Signature of a function body. `args` already match `FuncDef::params`/`variadic`.
pub type FuncBody = fn(&mut dyn CallCtx, Vec<Value>) -> FuncResult;

/// One callable function.
#[derive(Clone, Copy)]
pub struct FuncDef {
    pub name: &'static str,
    /// Fixed parameters, in order.
    pub params: &'static [Param],
    /// If set, any number of further arguments of this type (Go `...T`).
    pub variadic: Option<Param>,
    pub call: FuncBody,
}

impl std::fmt::Debug for FuncDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FuncDef({})", self.name)
    }
}

mod bridge;
mod certs;
mod conv;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
pub mod goregexp;
mod helm;
mod lists;
mod math;
mod paths;
mod reflect;
mod regex;
mod semver;
mod semver_syntax;
mod strings;
mod toml;
mod yamlv3;

/// Go's `path.Clean` (lexical `.`/`..`/`//` normalisation), shared with chart loading and lint.
pub(crate) use paths::clean as go_path_clean;

pub use certs::Certificate;
pub use dates::GoTime;
pub use semver::{
    Constraints, Semver, SemverVersion, is_compatible_range, is_compatible_range_helm3,
};

/// Look up a Helm/Sprig function by name (Go built-ins are handled by the executor first).
/// Returns `None` for unknown names, which the parser reports as `function "x" not defined`.
pub fn lookup(name: &str) -> Option<&'static FuncDef> {
    type Index = std::collections::HashMap<
        &'static str,
        &'static FuncDef,
        std::hash::BuildHasherDefault<NameHasher>,
    >;
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| registry().iter().map(|f| (f.name, f)).collect())
        .get(name)
        .copied()
}

/// A hasher for the function index: names are short, trusted and looked up at every call
/// site a template has, where SipHash's setup showed in profiles (FNV-1a, 64 bits).
#[derive(Default)]
struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every Helm and Sprig function this engine provides: Sprig v3.3.0's text function map
/// without `env`/`expandenv`, with Helm's additions and overrides (Helm v4.1.4 `funcMap`).
pub fn registry() -> &'static [FuncDef] {
    static ALL: std::sync::OnceLock<Vec<FuncDef>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let families: [&[FuncDef]; 15] = [
            strings::FUNCS,
            lists::FUNCS,
            dicts::FUNCS,
            math::FUNCS,
            conv::FUNCS,
            defaults::FUNCS,
            encoding::FUNCS,
            crypto::FUNCS,
            certs::FUNCS,
            regex::FUNCS,
            semver::FUNCS,
            dates::FUNCS,
            paths::FUNCS,
            reflect::FUNCS,
            // Helm's functions come last: they override Sprig's of the same name.
            helm::FUNCS,
        ];
        let mut all: Vec<FuncDef> = Vec::with_capacity(256);
        let mut at: std::collections::HashMap<&'static str, usize> =
            std::collections::HashMap::with_capacity(256);
        for family in families {
            for def in family {
                match at.get(def.name) {
                    Some(&i) => all[i] = *def,
                    None => {
                        at.insert(def.name, all.len());
                        all.push(*def);
                    }
                }
            }
        }
        all
    })
}

/// A function with fixed parameters only.
const fn def(name: &'static str, params: &'static [Param], call: FuncBody) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic: None,
        call,
    }
}

/// A variadic function (`...T` after the fixed parameters).
const fn var(name: &'static str, params: &'static [Param], rest: Param, call: FuncBody) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic: Some(rest),
        call,
    }
}

/// The string in a `Param::String` argument (the executor guarantees the type).
fn arg_str(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The integer in a `Param::Int`/`Param::Int64` argument.
fn arg_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Float(x) => *x as i64,
        _ => 0,
    }
}

/// The bool in a `Param::Bool` argument.
fn arg_bool(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// Shorthand for returning a string.
fn ok_str(s: impl Into<std::rc::Rc<str>>) -> FuncResult {
    Ok(Value::String(s.into()))
}
