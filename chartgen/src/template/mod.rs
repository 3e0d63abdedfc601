//! Go text/template as Helm uses it: lexer, parser, executor, Go `fmt`, Go built-in functions.
//!
//! One file per stage, like minijinja: [`lexer`] turns text into tokens, [`parser`] builds a
//! tree per template, `exec` walks it over [`Value`]s, [`fmt`] prints values exactly as Go's
//! `fmt` does, and `builtins` holds Go's own template functions (`and`, `eq`, `index`, ...).
//! Helm's `include` and `tpl` live in the executor because they need the template set.
//!
//! ```
//! use chartgen::template::{ExecEnv, OfflineLookup, TemplateSet};
//! use chartgen::Value;
//! let mut set = TemplateSet::new();
//! set.add("t", "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" .a }}").expect("parses");
//! let data = Value::empty_map();
//! let env = ExecEnv::offline();
//! assert_eq!(set.execute("t", &data, &env).expect("runs"), "[<no value>]");
//! ```

mod builtins;
mod error;
mod exec;
pub mod fmt;
mod lexer;
mod parser;

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use crate::value::Value;

pub use error::TemplateError;

/// rustc's "Fx" hash: a multiply-rotate per word, far cheaper than the default SipHash for the
/// short names (templates, functions) looked up on every `include` and at every identifier.
/// Template names come from the chart being rendered, so flooding resistance is not needed.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Helm's `lookup`: fetch a live Kubernetes object.
pub trait Lookup {
    /// The object as a map, an empty map if absent, or an error message.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String>;
}

/// `helm template` behaviour: every lookup returns an empty map.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineLookup;

impl Lookup for OfflineLookup {
    fn lookup(
        &self,
        _api_version: &str,
        _kind: &str,
        _namespace: &str,
        _name: &str,
    ) -> Result<Value, String> {
        Ok(Value::empty_map())
    }
}

/// Everything an execution needs besides the template set and the data.
pub struct ExecEnv<'a> {
    pub lookup: &'a dyn Lookup,
    pub now: chrono::DateTime<chrono::FixedOffset>,
    /// The Helm release reproduced (Helm 3: `tpl` does not strip `<no value>`, ...).
    pub profile: &'static crate::profile::Profile,
}

impl ExecEnv<'static> {
    /// Offline lookups, the current time, the default Helm release.
    pub fn offline() -> ExecEnv<'static> {
        static OFFLINE: OfflineLookup = OfflineLookup;
        ExecEnv {
            lookup: &OFFLINE,
            now: chrono::Local::now().fixed_offset(),
            profile: crate::profile::Profile::DEFAULT,
        }
    }
}

/// A set of parsed templates sharing one namespace of `define`s (Go's `*template.Template`
/// family as Helm builds it). Cloning is cheap: parsed trees are shared.
#[derive(Clone)]
pub struct TemplateSet {
    templates: FxHashMap<Rc<str>, Rc<parser::Tree>>,
    /// The Helm release whose template language [`TemplateSet::add`] parses.
    profile: &'static crate::profile::Profile,
    /// Lint mode (`helm lint`): `fail` and `required` log here instead of failing.
    lint_log: Option<Rc<RefCell<Vec<LintNote>>>>,
}

/// What Helm's engine logs (via `slog`) instead of failing when `fail` or `required` trip
/// in lint mode: `level=WARN msg="missing required value" message="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintNote {
    /// `WARN` (`required`) or `INFO` (`fail`).
    pub level: &'static str,
    /// The fixed log message.
    pub msg: &'static str,
    /// The template's own message.
    pub message: String,
}

/// Lint mode's `fail`/`required`: `Some("")` (and a note) where they would fail.
fn lint_mode_call(log: &RefCell<Vec<LintNote>>, name: &str, args: &[Value]) -> Option<Value> {
    let text = |i: usize| args.get(i).and_then(|v| v.as_str()).unwrap_or_default();
    let (level, msg) = match (name, args.get(1)) {
        ("fail", _) => ("INFO", "funcMap fail"),
        ("required", Some(Value::Nil)) => ("WARN", "missing required value"),
        ("required", Some(Value::String(s))) if s.is_empty() => ("WARN", "missing required values"),
        _ => return None,
    };
    log.borrow_mut().push(LintNote {
        level,
        msg,
        message: text(0).to_string(),
    });
    Some(Value::from(""))
}

impl Default for TemplateSet {
    fn default() -> Self {
        TemplateSet::for_profile(crate::profile::Profile::DEFAULT)
    }
}

impl TemplateSet {
    /// An empty set parsing as the default Helm release.
    pub fn new() -> Self {
        TemplateSet::default()
    }

    /// An empty set parsing as `profile`'s Helm (its functions, its Go `text/template`).
    pub fn for_profile(profile: &'static crate::profile::Profile) -> Self {
        TemplateSet {
            templates: FxHashMap::default(),
            profile,
            lint_log: None,
        }
    }

    /// Parse one file; its defines join the shared namespace (a later add replaces an existing
    /// define unless the new body is empty/whitespace).
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), TemplateError> {
        let trees = parser::parse(name, text, self.profile)?;
        for tree in trees {
            self.associate_rc(Rc::new(tree));
        }
        Ok(())
    }

    /// Go's `(*Template).associate`: a new tree replaces an existing one of the same name unless
    /// the new one is empty (only whitespace and comments).
    fn associate_rc(&mut self, tree: Rc<parser::Tree>) {
        if self.templates.contains_key(tree.name.as_str()) && tree.is_empty_tree() {
            return;
        }
        self.templates.insert(Rc::from(tree.name.as_str()), tree);
    }

    /// Keep only the templates (files and defines) for which `keep` holds.
    fn retain(&mut self, mut keep: impl FnMut(&parser::Tree) -> bool) {
        self.templates.retain(|_, t| keep(t));
    }

    /// True if a template (file or define) of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// Execute template `name` with dot = data. Output is NOT `<no value>`-stripped.
    pub fn execute(
        &self,
        name: &str,
        data: &Value,
        env: &ExecEnv,
    ) -> Result<String, TemplateError> {
        exec::execute(self, name, data, env)
    }

    /// Lint mode: `fail` and `required` return "" and record a [`LintNote`] in `log`.
    pub fn set_lint_log(&mut self, log: Rc<RefCell<Vec<LintNote>>>) {
        self.lint_log = Some(log);
    }

    fn get(&self, name: &str) -> Option<&Rc<parser::Tree>> {
        self.templates.get(name)
    }
}
