//! Executor: walks parsed trees over values with Go's evaluation rules (`text/template/exec.go`)
//! and Helm's `include`/`tpl`.
//!
//! Go distinguishes an *invalid* value (no value at all: a missing result, `$x` set from a
//! missing key) from a nil *interface* (what a map lookup of a missing key yields under
//! `missingkey=zero`). `.a.b` on the latter is an error, on the former it is not; [`Ev`] keeps
//! that distinction with its `iface` flag.

use std::rc::Rc;

use super::builtins;
use super::error::{ErrorKind, TemplateError, WARN_END, WARN_START};
use super::lexer::go_quote;
use super::parser::{
    self, Arg, Branch, Builtin, Command, Func, Node, Pipe, Tree, View, template_node_string,
};
use super::{ExecEnv, FxHashMap, TemplateSet};
use crate::funcs::{CallCtx, FuncDef, FuncError, FuncResult, Param};
use crate::value::{ElemType, MapKind, MapRef, Value};

/// Go's `maxExecDepth` for nested `{{template}}` calls.
const MAX_EXEC_DEPTH: usize = 100_000;
/// Helm's per-name `include` nesting limit.
const INCLUDE_LIMIT: usize = 1000;

/// An evaluated value plus whether its static Go type is `interface {}`.
#[derive(Clone, Debug)]
pub(crate) struct Ev {
    pub v: Value,
    pub iface: bool,
}

impl Ev {
    fn dynamic(v: Value) -> Ev {
        Ev { v, iface: false }
    }

    fn invalid() -> Ev {
        Ev {
            v: Value::Nil,
            iface: false,
        }
    }

    fn is_invalid(&self) -> bool {
        !self.iface && self.v.is_nil()
    }

    fn unwrapped(self) -> Ev {
        Ev {
            v: self.v,
            iface: false,
        }
    }
}

/// What a map yields for a key (Go's `MapIndex` with `missingkey=zero`): elements of a
/// `map[string]interface {}` are interfaces (a missing key is a nil one); a `map[string]string`
/// yields plain strings, "" for a missing key.
pub(crate) fn map_elem(m: &MapRef, v: Option<Value>) -> Ev {
    match m.kind() {
        MapKind::String => Ev {
            v: v.unwrap_or_else(|| Value::str("")),
            iface: false,
        },
        _ => Ev {
            v: v.unwrap_or(Value::Nil),
            iface: true,
        },
    }
}

/// Non-local exits: `break`, `continue`, or an error (Go's error wrap chain, outermost first).
enum Ctl {
    Break,
    Continue,
    Err(Vec<String>),
}

type R<T> = Result<T, Ctl>;

/// The node errors are reported at (Go's `state.node`).
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Arg(&'t Arg),
    Cmd(&'t Command),
    Pipe(&'t Pipe),
    Node(&'t Node),
}

/// A `tpl` text's trees (the main one first), or Go's parse error text.
type ParsedTpl = Result<Rc<Vec<Rc<Tree>>>, String>;

/// State shared by every template execution of one top-level `execute`.
struct Shared<'e> {
    env: &'e ExecEnv<'e>,
    /// Helm's `includedNames` counters.
    included: FxHashMap<String, usize>,
    /// `tpl` texts parsed so far (Ok: trees, Err: Go's parse error text).
    tpl_cache: FxHashMap<String, ParsedTpl>,
    /// The error chain of the last failed nested execution requested through [`CallCtx`].
    nested_chain: Option<Vec<String>>,
    /// Depth of nested template calls (see [`nested`]).
    nesting: usize,
}

/// One template execution (Go's `state`).
struct State<'t, 's, 'e> {
    set: &'t TemplateSet,
    sh: &'s mut Shared<'e>,
    tree: &'t Tree,
    name: &'t str,
    vars: Vec<(&'t str, Ev)>,
    at: At<'t>,
    depth: usize,
}

/// Execute template `name` of `set` with dot = `data`.
pub(crate) fn execute(
    set: &TemplateSet,
    name: &str,
    data: &Value,
    env: &ExecEnv,
) -> Result<String, TemplateError> {
    let Some(tree) = set.get(name) else {
        return Err(TemplateError::new(
            ErrorKind::Other,
            name,
            vec![no_template(name)],
        ));
    };
    let mut sh = Shared {
        env,
        included: FxHashMap::default(),
        tpl_cache: FxHashMap::default(),
        nested_chain: None,
        nesting: 0,
    };
    let dot = Ev::dynamic(data.clone());
    let mut st = State {
        set,
        sh: &mut sh,
        tree,
        name: &tree.name,
        vars: vec![("$", dot.clone())],
        at: At::None,
        depth: 0,
    };
    let mut out = String::with_capacity(tree.output_size_hint);
    match st.walk_list(&dot, tree.view().nodes(tree.root), &mut out) {
        Ok(()) => Ok(out),
        Err(Ctl::Err(chain)) => Err(TemplateError::new(ErrorKind::Exec, name, chain)),
        Err(Ctl::Break | Ctl::Continue) => Ok(out),
    }
}

fn no_template(name: &str) -> String {
    format!(
        "template: no template {} associated with template \"gotpl\"",
        go_quote(name)
    )
}

fn param_name(p: Param) -> &'static str {
    match p {
        Param::Any => "interface {}",
        Param::String => "string",
        Param::Int => "int",
        Param::Int64 => "int64",
        Param::Float64 => "float64",
        Param::Bool => "bool",
        Param::List => "[]interface {}",
        Param::Map => "map[string]interface {}",
    }
}

fn can_be_nil(p: Param) -> bool {
    matches!(p, Param::Any | Param::List | Param::Map)
}

/// A function signature: fixed parameters and an optional variadic element type.
struct Sig<'a> {
    fixed: &'a [Param],
    variadic: Option<Param>,
}

/// The methods of Helm's `Values` (`common.Values`, `chartutil.Values`) templates can reach.
const VALUES_METHODS: &[&str] = &["AsMap", "Encode", "PathValue", "Table", "YAML"];

const SIG_ANY1: Sig<'static> = Sig {
    fixed: &[Param::Any],
    variadic: None,
};
const SIG_ANY2: Sig<'static> = Sig {
    fixed: &[Param::Any, Param::Any],
    variadic: None,
};
const SIG_ANY1_VAR: Sig<'static> = Sig {
    fixed: &[Param::Any],
    variadic: Some(Param::Any),
};
const SIG_VAR: Sig<'static> = Sig {
    fixed: &[],
    variadic: Some(Param::Any),
};
const SIG_PRINTF: Sig<'static> = Sig {
    fixed: &[Param::String],
    variadic: Some(Param::Any),
};
const SIG_STR_ANY: Sig<'static> = Sig {
    fixed: &[Param::String, Param::Any],
    variadic: None,
};

impl<'t, 's, 'e> State<'t, 's, 'e> {
    // ---- errors ----

    fn errorf(&self, msg: impl Into<String>) -> Ctl {
        self.error_chain(msg.into(), Vec::new())
    }

    /// Go's `state.errorf`; `cause` is the chain of a `%w`-wrapped error.
    fn error_chain(&self, msg: String, cause: Vec<String>) -> Ctl {
        let full = match self.at_info() {
            None => format!("template: {}: {}", self.name, msg),
            Some((pos, ctx)) => format!(
                "template: {}: executing {} at <{}>: {}",
                self.tree.source.location(pos),
                go_quote(self.name),
                ctx,
                msg
            ),
        };
        let mut chain = Vec::with_capacity(1 + cause.len());
        chain.push(full);
        chain.extend(cause);
        Ctl::Err(chain)
    }

    /// The source text of the tree being executed (every node of this state is from it).
    fn src(&self) -> &'t str {
        self.tree.src()
    }

    /// The text and nodes of the tree being executed.
    fn view(&self) -> View<'t> {
        self.tree.view()
    }

    fn at_info(&self) -> Option<(usize, String)> {
        let v = self.view();
        match self.at {
            At::None => None,
            At::Arg(a) => Some((a.pos(), a.show(v))),
            At::Cmd(c) => Some((c.pos, c.show(v))),
            At::Pipe(p) => Some((p.pos, p.show(v))),
            At::Node(Node::Template { pos, name, pipe }) => {
                Some((*pos, template_node_string(name, pipe.as_ref(), v)))
            }
            At::Node(_) => None,
        }
    }

    /// `error calling NAME: MSG` for a function's error.
    fn call_error(&mut self, node: At<'t>, name: &str, err: FuncError) -> Ctl {
        self.at = node;
        match err {
            FuncError::Call(msg) => {
                self.error_chain(format!("error calling {name}: {msg}"), vec![msg])
            }
            FuncError::Fail(msg) => {
                let wrapped = format!("{WARN_START}{msg}{WARN_END}");
                self.error_chain(format!("error calling {name}: {wrapped}"), vec![wrapped])
            }
            FuncError::Nested(msg) => {
                let cause = match self.sh.nested_chain.take() {
                    Some(chain) if chain.first() == Some(&msg) => chain,
                    _ => vec![msg.clone()],
                };
                self.error_chain(format!("error calling {name}: {msg}"), cause)
            }
        }
    }

    // ---- statements ----

    fn walk_list(&mut self, dot: &Ev, list: &'t [Node], out: &mut String) -> R<()> {
        for n in list {
            self.walk(dot, n, out)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Ev, node: &'t Node, out: &mut String) -> R<()> {
        match node {
            Node::Text(t) => out.push_str(t.of(self.src())),
            Node::Comment => {}
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    print_value(out, &v);
                }
            }
            Node::If(b) => return self.walk_if_with(false, dot, b, out),
            Node::With(b) => return self.walk_if_with(true, dot, b, out),
            Node::Range(b) => return self.walk_range(dot, b, out),
            Node::Template { name, pipe, .. } => {
                return self.walk_template(dot, node, name, pipe.as_ref(), out);
            }
            Node::Break => return Err(Ctl::Break),
            Node::Continue => return Err(Ctl::Continue),
        }
        Ok(())
    }

    fn walk_if_with(&mut self, with: bool, dot: &Ev, b: &'t Branch, out: &mut String) -> R<()> {
        let mark = self.vars.len();
        let r = self.if_with_inner(with, dot, b, out);
        self.vars.truncate(mark);
        r
    }

    fn if_with_inner(&mut self, with: bool, dot: &Ev, b: &'t Branch, out: &mut String) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        if val.v.truthy() {
            let list = self.view().nodes(b.list);
            if with {
                self.walk_list(&val, list, out)
            } else {
                self.walk_list(dot, list, out)
            }
        } else if let Some(e) = b.else_list {
            self.walk_list(dot, self.view().nodes(e), out)
        } else {
            Ok(())
        }
    }

    fn walk_range(&mut self, dot: &Ev, b: &'t Branch, out: &mut String) -> R<()> {
        let mark = self.vars.len();
        let r = self.range_inner(dot, b, out);
        self.vars.truncate(mark);
        match r {
            Err(Ctl::Break) => Ok(()),
            other => other,
        }
    }

    fn range_inner(&mut self, dot: &Ev, b: &'t Branch, out: &mut String) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let ran = match &val.v {
            Value::List(l) => {
                let l = l.clone();
                let iface = l.elem == ElemType::Interface;
                for (i, item) in l.items.iter().enumerate() {
                    let idx = Ev::dynamic(Value::Int(i as i64));
                    self.one_iteration(
                        b,
                        idx,
                        Ev {
                            v: item.clone(),
                            iface,
                        },
                        mark,
                        out,
                    )?;
                }
                !l.items.is_empty()
            }
            Value::Bytes(bytes) => {
                let bytes = bytes.clone();
                for (i, c) in bytes.iter().enumerate() {
                    let idx = Ev::dynamic(Value::Int(i as i64));
                    self.one_iteration(b, idx, Ev::dynamic(Value::Int(i64::from(*c))), mark, out)?;
                }
                !bytes.is_empty()
            }
            Value::Map(m) => {
                let entries: Vec<(String, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in &entries {
                    let key = Ev::dynamic(Value::str(k.as_str()));
                    self.one_iteration(
                        b,
                        key,
                        Ev {
                            v: v.clone(),
                            iface: true,
                        },
                        mark,
                        out,
                    )?;
                }
                !entries.is_empty()
            }
            // Range over an integer came with Go 1.22.
            Value::Int(_) | Value::Int64(_) | Value::Uint64(_)
                if !self.sh.env.profile.go118_template =>
            {
                if b.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        super::fmt::format_v(&val.v)
                    )));
                }
                let n: i128 = match val.v {
                    Value::Int(i) | Value::Int64(i) => i128::from(i),
                    Value::Uint64(u) => i128::from(u),
                    _ => 0,
                };
                let mut i: i128 = 0;
                while i < n {
                    let elem = match val.v {
                        Value::Int(_) => Value::Int(i as i64),
                        Value::Int64(_) => Value::Int64(i as i64),
                        _ => Value::Uint64(i as u64),
                    };
                    self.one_iteration(b, Ev::invalid(), Ev::dynamic(elem), mark, out)?;
                    i += 1;
                }
                n > 0
            }
            Value::Nil => false,
            Value::Object(o) => match o.range_items() {
                Some(items) => {
                    for (k, v) in &items {
                        self.one_iteration(
                            b,
                            Ev::dynamic(k.clone()),
                            Ev::dynamic(v.clone()),
                            mark,
                            out,
                        )?;
                    }
                    !items.is_empty()
                }
                None => {
                    return Err(self.errorf(format!(
                        "range can't iterate over {}",
                        super::fmt::format_v(&val.v)
                    )));
                }
            },
            _ => {
                return Err(self.errorf(format!(
                    "range can't iterate over {}",
                    super::fmt::format_v(&val.v)
                )));
            }
        };
        if ran {
            return Ok(());
        }
        if let Some(e) = b.else_list {
            return self.walk_list(dot, self.view().nodes(e), out);
        }
        Ok(())
    }

    fn one_iteration(
        &mut self,
        b: &'t Branch,
        index: Ev,
        elem: Ev,
        mark: usize,
        out: &mut String,
    ) -> R<()> {
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let r = self.walk_list(&elem, self.view().nodes(b.list), out);
        self.vars.truncate(mark);
        match r {
            Err(Ctl::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_template(
        &mut self,
        dot: &Ev,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
        out: &mut String,
    ) -> R<()> {
        self.at = At::Node(node);
        let Some(tree) = self.set.get(name) else {
            return Err(self.errorf(format!("template {} not defined", go_quote(name))));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Ev::invalid(),
        };
        let set = self.set;
        let depth = self.depth + 1;
        nested(self.sh, |sh| {
            let mut st = State {
                set,
                sh,
                tree,
                name: &tree.name,
                vars: vec![("$", new_dot.clone())],
                at: At::None,
                depth,
            };
            st.walk_list(&new_dot, tree.view().nodes(tree.root), out)
        })
    }

    // ---- variables ----

    fn var_value(&self, name: &str) -> R<Ev> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, v: Ev) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, v: Ev) {
        let len = self.vars.len();
        self.vars[len - n].1 = v;
    }

    // ---- expressions ----

    fn eval_pipeline(&mut self, dot: &Ev, pipe: &'t Pipe) -> R<Ev> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Ev> = None;
        for cmd in self.view().cmds(pipe) {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.unwrapped());
        }
        let value = value.unwrap_or_else(Ev::invalid);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                self.vars.push((var.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Arg], fin: &Option<Ev>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.errorf(format!(
                "can't give argument to non-function {}",
                args[0].show(self.view())
            )));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Ev, cmd: &'t Command, fin: Option<Ev>) -> R<Ev> {
        let args = self.view().args(cmd);
        let first = &args[0];
        match first {
            Arg::Field { path, .. } => {
                self.at = At::Arg(first);
                let idents = &path.of(self.src())[1..];
                self.eval_field_chain(dot, dot.clone(), At::Arg(first), idents, args, fin)
            }
            Arg::Chain { .. } => self.eval_chain_node(dot, first, args, fin),
            Arg::Identifier { func, .. } => {
                self.eval_function(dot, first, *func, At::Cmd(cmd), &args[1..], fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(args, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { .. } => self.eval_variable_node(dot, first, args, fin),
            _ => {
                self.at = At::Arg(first);
                self.not_a_function(args, &fin)?;
                match first {
                    Arg::Bool { value, .. } => Ok(Ev::dynamic(Value::Bool(*value))),
                    Arg::Dot { .. } => Ok(dot.clone()),
                    Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
                    Arg::Number { num, .. } => self.ideal_constant(num),
                    Arg::String { value, .. } => Ok(Ev::dynamic(Value::String(value.clone()))),
                    _ => Err(self.errorf(format!(
                        "can't evaluate command {}",
                        go_quote(&first.show(self.view()))
                    ))),
                }
            }
        }
    }

    fn ideal_constant(&self, num: &parser::Number) -> R<Ev> {
        let t = num.text.of(self.src());
        if let Some((re, im)) = num.complex {
            return Ok(Ev::dynamic(Value::Object(Rc::new(Complex { re, im }))));
        }
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && (t.as_bytes()[1] | 0x20) == b'x'
            && !t.contains(['p', 'P']);
        if let Some(f) = num.float
            && !is_hex_int
            && !num.is_char
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Ev::dynamic(Value::Float(f)));
        }
        if let Some(i) = num.int {
            return Ok(Ev::dynamic(Value::Int(i)));
        }
        if num.uint.is_some() {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Ev::invalid())
    }

    fn eval_variable_node(
        &mut self,
        dot: &Ev,
        var: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        self.at = At::Arg(var);
        let Arg::Variable { path, .. } = var else {
            unreachable!("variable node")
        };
        let path = path.of(self.src());
        let Some((name, idents)) = path.split_once('.') else {
            let value = self.var_value(path)?;
            self.not_a_function(args, &fin)?;
            return Ok(value);
        };
        let value = self.var_value(name)?;
        self.eval_field_chain(dot, value, At::Arg(var), idents, args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Ev,
        chain: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        self.at = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            unreachable!("chain node")
        };
        if let Arg::Nil { .. } = **node {
            return Err(self.errorf(format!(
                "indirection through explicit nil in {}",
                chain.show(self.view())
            )));
        }
        let recv = self.eval_arg_untyped(dot, node)?;
        let fields = &fields.of(self.src())[1..];
        self.eval_field_chain(dot, recv, At::Arg(chain), fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Ev,
        mut recv: Ev,
        node: At<'t>,
        idents: &'t str,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        // `idents` is `A.B.C`: every field but the last is evaluated without arguments.
        let mut rest = idents;
        // A plain byte loop: these names are too short for `split_once`'s memchr to pay.
        while let Some(at) = rest.bytes().position(|b| b == b'.') {
            recv = self.eval_field(dot, &rest[..at], node, &[], None, recv)?;
            rest = &rest[at + 1..];
        }
        self.eval_field(dot, rest, node, args, fin, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Ev,
        name: &str,
        node: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
        recv: Ev,
    ) -> R<Ev> {
        if recv.is_invalid() {
            return Ok(Ev::invalid());
        }
        if recv.v.is_nil() {
            return Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}")));
        }
        let has_args = args.len() > 1 || fin.is_some();
        match &recv.v {
            Value::Object(o) => {
                if o.has_method(name) {
                    let o = o.clone();
                    return self.eval_method(dot, &o, name, node, args, fin);
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(Ev::dynamic(v));
                }
            }
            Value::Map(m) => {
                if matches!(m.kind(), MapKind::Values | MapKind::ValuesV3)
                    && VALUES_METHODS.contains(&name)
                {
                    let m = m.clone();
                    return self.eval_values_method(dot, &m, name, node, args, fin);
                }
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                let v = m.borrow().get(name).cloned();
                return Ok(map_elem(m, v));
            }
            _ => {}
        }
        let typ = if recv.iface {
            "interface {}".to_string()
        } else {
            recv.v.type_name()
        };
        Err(self.errorf(format!("can't evaluate field {name} in type {typ}")))
    }

    /// A method of Helm's `Values` type (`.Values.Table "a"`, `.AsMap`, ...): Go's method
    /// lookup comes before the map's keys, so a key named like one is out of reach.
    fn eval_values_method(
        &mut self,
        dot: &Ev,
        m: &MapRef,
        name: &str,
        node: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        let params: &[Param] = match name {
            "Table" | "PathValue" | "Encode" => &[Param::String],
            _ => &[],
        };
        let sig = Sig {
            fixed: params,
            variadic: None,
        };
        let rest = args.get(1..).unwrap_or(&[]);
        if name == "Encode" {
            // Encode(io.Writer) error: no template value is an io.Writer.
            let given = rest.len() + usize::from(fin.is_some());
            if given != 1 {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want 1 got {given}"
                )));
            }
            let v = match (rest.first(), fin) {
                (Some(a), _) => self.eval_arg_untyped(dot, a)?,
                (None, Some(f)) => f,
                (None, None) => unreachable!("one argument counted above"),
            };
            return Err(self.errorf(format!(
                "wrong type for value; expected io.Writer; got {}",
                v.v.type_name()
            )));
        }
        let argv = self.eval_call_values(dot, name, &sig, rest, fin)?;
        let recv = Value::Map(m.clone());
        let arg = || match argv.first() {
            Some(Value::String(s)) => s.to_string(),
            _ => String::new(),
        };
        let result = match name {
            "AsMap" => Ok(Value::Map(m.with_kind(MapKind::Interface))),
            "YAML" => crate::yaml::to_yaml(&recv)
                .map(Value::str)
                .map_err(FuncError::Call),
            "Table" => crate::chart::values::table_at(&recv, &arg())
                .map(|t| match t {
                    Value::Map(t) => Value::Map(t.with_kind(m.kind())),
                    other => other,
                })
                .map_err(|e| FuncError::Call(e.to_string())),
            _ => crate::chart::values::path_value_at(&recv, &arg())
                .map_err(|e| FuncError::Call(e.to_string())),
        };
        match result {
            Ok(v) => Ok(Ev::dynamic(v)),
            Err(e) => Err(self.call_error(node, name, e)),
        }
    }

    fn eval_method(
        &mut self,
        dot: &Ev,
        o: &Rc<dyn crate::value::Object>,
        name: &str,
        node: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        let mut argv = Vec::new();
        for a in args.iter().skip(1) {
            argv.push(self.eval_arg(dot, Param::Any, a)?.v);
        }
        if let Some(f) = fin {
            argv.push(f.v);
        }
        match o.call_method(name, &argv) {
            Ok(v) => Ok(Ev::dynamic(v)),
            Err(msg) => Err(self.call_error(node, name, FuncError::Call(msg))),
        }
    }

    /// Go's `evalArg` with a nil type (chain receivers).
    fn eval_arg_untyped(&mut self, dot: &Ev, arg: &'t Arg) -> R<Ev> {
        self.at = At::Arg(arg);
        match arg {
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Identifier { func, .. } => {
                self.eval_function(dot, arg, *func, At::Arg(arg), &[], None)
            }
            Arg::Field { path, .. } => self.eval_field_chain(
                dot,
                dot.clone(),
                At::Arg(arg),
                &path.of(self.src())[1..],
                std::slice::from_ref(arg),
                None,
            ),
            Arg::Variable { .. } => self.eval_variable_node(dot, arg, &[], None),
            Arg::Chain { .. } => self.eval_chain_node(dot, arg, &[], None),
            _ => self.eval_arg(dot, Param::Any, arg),
        }
    }

    /// Go's `evalArg`: evaluate an argument for a parameter of type `t`.
    fn eval_arg(&mut self, dot: &Ev, t: Param, arg: &'t Arg) -> R<Ev> {
        self.at = At::Arg(arg);
        let v = match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                if can_be_nil(t) {
                    return Ok(Ev::invalid());
                }
                return Err(self.errorf(format!("cannot assign nil to {}", param_name(t))));
            }
            Arg::Field { path, .. } => self.eval_field_chain(
                dot,
                dot.clone(),
                At::Arg(arg),
                &path.of(self.src())[1..],
                std::slice::from_ref(arg),
                None,
            )?,
            Arg::Variable { .. } => self.eval_variable_node(dot, arg, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier { func, .. } => {
                self.eval_function(dot, arg, *func, At::Arg(arg), &[], None)?
            }
            Arg::Chain { .. } => self.eval_chain_node(dot, arg, &[], None)?,
            Arg::Bool { value, .. } => {
                return match t {
                    Param::Bool | Param::Any => Ok(Ev::dynamic(Value::Bool(*value))),
                    _ => Err(self.const_mismatch(t, arg)),
                };
            }
            Arg::Number { num, .. } => {
                return match t {
                    Param::Any => self.ideal_constant(num),
                    Param::Int if num.int.is_some() => {
                        Ok(Ev::dynamic(Value::Int(num.int.unwrap_or(0))))
                    }
                    Param::Int64 if num.int.is_some() => {
                        Ok(Ev::dynamic(Value::Int64(num.int.unwrap_or(0))))
                    }
                    Param::Float64 if num.float.is_some() => {
                        Ok(Ev::dynamic(Value::Float(num.float.unwrap_or(0.0))))
                    }
                    _ => Err(self.const_mismatch(t, arg)),
                };
            }
            Arg::String { value, .. } => {
                return match t {
                    Param::String | Param::Any => Ok(Ev::dynamic(Value::String(value.clone()))),
                    _ => Err(self.const_mismatch(t, arg)),
                };
            }
        };
        self.validate_type(v, t)
    }

    fn const_mismatch(&self, t: Param, arg: &Arg) -> Ctl {
        let arg = arg.show(self.view());
        match t {
            Param::Bool => self.errorf(format!("expected bool; found {arg}")),
            Param::Int | Param::Int64 => self.errorf(format!("expected integer; found {arg}")),
            Param::Float64 => self.errorf(format!("expected float; found {arg}")),
            Param::String => self.errorf(format!("expected string; found {arg}")),
            _ => self.errorf(format!(
                "can't handle {arg} for arg of type {}",
                param_name(t)
            )),
        }
    }

    /// Go's `validateType`.
    fn validate_type(&self, v: Ev, t: Param) -> R<Ev> {
        if v.is_invalid() {
            if can_be_nil(t) {
                return Ok(Ev::invalid());
            }
            return Err(self.errorf(format!("invalid value; expected {}", param_name(t))));
        }
        let ok = match (t, &v.v) {
            (Param::Any, _) => return Ok(v),
            (Param::String, Value::String(_))
            | (Param::Int, Value::Int(_))
            | (Param::Int64, Value::Int64(_))
            | (Param::Float64, Value::Float(_))
            | (Param::Bool, Value::Bool(_)) => true,
            // Go assignability: `common.Values` passes as `map[string]interface{}` (and
            // becomes one); `map[string]string` does not.
            (Param::Map, Value::Map(m)) => match m.kind() {
                MapKind::Interface => true,
                MapKind::String => false,
                MapKind::Values | MapKind::ValuesV3 => {
                    return Ok(Ev::dynamic(Value::Map(m.with_kind(MapKind::Interface))));
                }
            },
            (Param::List, Value::List(l)) => l.elem == ElemType::Interface,
            _ => false,
        };
        if ok {
            return Ok(v.unwrapped());
        }
        let got = if v.v.is_nil() {
            "interface {}".to_string()
        } else {
            v.v.type_name()
        };
        Err(self.errorf(format!(
            "wrong type for value; expected {}; got {got}",
            param_name(t)
        )))
    }

    /// Evaluate arguments against a signature (Go's `evalCall` argument handling).
    fn eval_call_args(
        &mut self,
        dot: &Ev,
        name: &str,
        sig: &Sig,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Vec<Ev>> {
        let mut argv = Vec::with_capacity(args.len() + usize::from(fin.is_some()));
        self.eval_call_args_each(dot, name, sig, args, fin, |v| argv.push(v))?;
        Ok(argv)
    }

    /// [`Self::eval_call_args`] for a function that takes plain values.
    fn eval_call_values(
        &mut self,
        dot: &Ev,
        name: &str,
        sig: &Sig,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Vec<Value>> {
        let mut argv = Vec::with_capacity(args.len() + usize::from(fin.is_some()));
        self.eval_call_args_each(dot, name, sig, args, fin, |v| argv.push(v.v))?;
        Ok(argv)
    }

    fn eval_call_args_each(
        &mut self,
        dot: &Ev,
        name: &str,
        sig: &Sig,
        args: &'t [Arg],
        fin: Option<Ev>,
        mut push: impl FnMut(Ev),
    ) -> R<()> {
        let num_in = args.len() + usize::from(fin.is_some());
        let nfixed = sig.fixed.len();
        if sig.variadic.is_some() {
            if num_in < nfixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {nfixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != nfixed {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {nfixed} got {num_in}"
            )));
        }
        for (i, a) in args.iter().enumerate() {
            let t = if i < nfixed {
                sig.fixed[i]
            } else {
                sig.variadic.unwrap_or(Param::Any)
            };
            push(self.eval_arg(dot, t, a)?);
        }
        if let Some(f) = fin {
            let t = match sig.variadic {
                Some(v) if num_in > nfixed => v,
                _ => sig.fixed[num_in - 1],
            };
            push(self.validate_type(f, t)?);
        }
        Ok(())
    }

    fn eval_function(
        &mut self,
        dot: &Ev,
        ident: &'t Arg,
        func: Func,
        node: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        self.at = At::Arg(ident);
        let name = func.name();
        let b = match func {
            Func::Builtin(b) => b,
            Func::Def(def) => return self.call_def(dot, def, node, args, fin),
        };
        match b {
            Builtin::And | Builtin::Or => {
                let is_or = b == Builtin::Or;
                if args.is_empty() && fin.is_none() {
                    return Err(self.errorf(format!(
                        "wrong number of args for {name}: want at least 1 got 0"
                    )));
                }
                let mut v = Ev::invalid();
                for a in args {
                    v = self.eval_arg(dot, Param::Any, a)?;
                    if v.v.truthy() == is_or {
                        return Ok(v);
                    }
                }
                if let Some(f) = fin {
                    v = self.validate_type(f, Param::Any)?;
                }
                Ok(v)
            }
            Builtin::Not => {
                let a = self.eval_call_args(dot, name, &SIG_ANY1, args, fin)?;
                Ok(Ev::dynamic(Value::Bool(!a[0].v.truthy())))
            }
            Builtin::Eq => {
                let a = self.eval_call_args(dot, name, &SIG_ANY1_VAR, args, fin)?;
                let r = builtins::eq(&a[0].v, &a[1..], self.sh.env.profile.go118_template);
                self.bool_result(node, name, r)
            }
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                let a = self.eval_call_args(dot, name, &SIG_ANY2, args, fin)?;
                let go118 = self.sh.env.profile.go118_template;
                let r = match b {
                    Builtin::Ne => builtins::eq(&a[0].v, &a[1..], go118).map(|b| !b),
                    Builtin::Lt => builtins::lt(&a[0].v, &a[1].v, go118),
                    Builtin::Le => builtins::le(&a[0].v, &a[1].v, go118),
                    Builtin::Gt => builtins::le(&a[0].v, &a[1].v, go118).map(|b| !b),
                    _ => builtins::lt(&a[0].v, &a[1].v, go118).map(|b| !b),
                };
                self.bool_result(node, name, r)
            }
            Builtin::Index => {
                let a = self.eval_call_args(dot, name, &SIG_ANY1_VAR, args, fin)?;
                match builtins::index(&a[0], &a[1..]) {
                    Ok(v) => Ok(v),
                    Err(e) => Err(self.call_error(node, name, FuncError::Call(e))),
                }
            }
            Builtin::Len => {
                let a = self.eval_call_args(dot, name, &SIG_ANY1, args, fin)?;
                match builtins::len(&a[0]) {
                    Ok(n) => Ok(Ev::dynamic(Value::Int(n as i64))),
                    Err(e) => Err(self.call_error(node, name, FuncError::Call(e))),
                }
            }
            Builtin::Print | Builtin::Println => {
                let vals = self.eval_call_values(dot, name, &SIG_VAR, args, fin)?;
                let s = if b == Builtin::Print {
                    super::fmt::sprint(&vals)
                } else {
                    super::fmt::sprintln(&vals)
                };
                Ok(Ev::dynamic(Value::from(s)))
            }
            Builtin::Printf => {
                let vals = self.eval_call_values(dot, name, &SIG_PRINTF, args, fin)?;
                let format = vals[0].as_str().unwrap_or_default();
                Ok(Ev::dynamic(Value::from(super::fmt::sprintf(
                    format,
                    &vals[1..],
                ))))
            }
            Builtin::Html | Builtin::Js | Builtin::Urlquery => {
                let vals = self.eval_call_values(dot, name, &SIG_VAR, args, fin)?;
                let s = builtins::eval_args(&vals);
                let r = match b {
                    Builtin::Html => builtins::html_escape(&s),
                    Builtin::Js => builtins::js_escape(&s),
                    _ => builtins::query_escape(&s),
                };
                Ok(Ev::dynamic(Value::from(r)))
            }
            Builtin::Call => {
                let a = self.eval_call_args(dot, name, &SIG_ANY1_VAR, args, fin)?;
                let callee = args
                    .first()
                    .map(|x| x.show(self.view()))
                    .unwrap_or_default();
                let msg = if a[0].v.is_nil() {
                    "call of nil".to_string()
                } else if self.sh.env.profile.go118_template {
                    format!("non-function of type {}", a[0].v.type_name())
                } else {
                    format!("non-function {callee} of type {}", a[0].v.type_name())
                };
                Err(self.call_error(node, name, FuncError::Call(msg)))
            }
            Builtin::Include => {
                let a = self.eval_call_args(dot, name, &SIG_STR_ANY, args, fin)?;
                let tname = a[0].v.as_str().unwrap_or_default().to_string();
                match self.include(&tname, &a[1].v) {
                    Ok(s) => Ok(Ev::dynamic(Value::from(s))),
                    Err(chain) => {
                        self.at = node;
                        Err(self.error_chain(format!("error calling include: {}", chain[0]), chain))
                    }
                }
            }
            Builtin::Tpl => {
                let a = self.eval_call_args(dot, name, &SIG_STR_ANY, args, fin)?;
                let text = a[0].v.as_str().unwrap_or_default().to_string();
                match self.tpl(&text, &a[1].v) {
                    Ok(s) => Ok(Ev::dynamic(Value::from(s))),
                    Err(chain) => {
                        self.at = node;
                        Err(self.error_chain(format!("error calling tpl: {}", chain[0]), chain))
                    }
                }
            }
        }
    }

    /// Call a Sprig/Helm function.
    fn call_def(
        &mut self,
        dot: &Ev,
        def: &'static FuncDef,
        node: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        let name = def.name;
        let sig = Sig {
            fixed: def.params,
            variadic: def.variadic,
        };
        let vals = self.eval_call_values(dot, name, &sig, args, fin)?;
        if let Some(log) = &self.set.lint_log
            && let Some(v) = super::lint_mode_call(log, name, &vals)
        {
            return Ok(Ev::dynamic(v));
        }
        let result = {
            let mut ctx = Ctx { st: self };
            (def.call)(&mut ctx, vals)
        };
        match result {
            Ok(v) => Ok(Ev::dynamic(v)),
            Err(e) => Err(self.call_error(node, name, e)),
        }
    }

    fn bool_result(&mut self, node: At<'t>, name: &str, r: Result<bool, String>) -> R<Ev> {
        match r {
            Ok(b) => Ok(Ev::dynamic(Value::Bool(b))),
            Err(e) => Err(self.call_error(node, name, FuncError::Call(e))),
        }
    }

    // ---- Helm's include and tpl ----

    /// Helm's `include`: execute a named template into a string (not `<no value>`-stripped).
    fn include(&mut self, name: &str, data: &Value) -> Result<String, Vec<String>> {
        match self.sh.included.get_mut(name) {
            Some(count) => {
                if *count > INCLUDE_LIMIT {
                    return Err(vec![
                        format!(
                            "rendering template has a nested reference name: {name}: unable to execute template"
                        ),
                        "unable to execute template".to_string(),
                    ]);
                }
                *count += 1;
            }
            None => {
                self.sh.included.insert(name.to_string(), 1);
            }
        }
        let r = self.exec_named(self.set, name, Ev::dynamic(data.clone()));
        if let Some(count) = self.sh.included.get_mut(name) {
            *count -= 1;
        }
        r
    }

    /// Go's `ExecuteTemplate` on `set` (a fresh state at depth 0).
    fn exec_named(
        &mut self,
        set: &TemplateSet,
        name: &str,
        dot: Ev,
    ) -> Result<String, Vec<String>> {
        let Some(tree) = set.get(name) else {
            return Err(vec![no_template(name)]);
        };
        nested(self.sh, |sh| run_tree(set, sh, tree, dot))
    }

    /// Helm v3.11's `tpl`: `text` is parsed as a template named after the calling file (the
    /// data's `.Template.Name`) in a copy of the set without that file (whose defines it
    /// therefore does not see), and the error is cut down as that release's
    /// `renderWithReferences` does: `parse error at (FILE:LINE): MSG`, and
    /// `execution error at (FILE:LINE:COL): MSG` for `fail` and `required`.
    fn tpl_v3_11(&mut self, text: &str, data: &Value) -> Result<String, Vec<String>> {
        let name = match data {
            Value::Map(m) => match m.borrow().get("Template") {
                Some(Value::Map(t)) => t
                    .borrow()
                    .get("Name")
                    .and_then(|n| n.as_str().map(str::to_string)),
                _ => None,
            },
            _ => None,
        }
        .unwrap_or_else(|| "gotpl".to_string());
        let wrap = |chain: Vec<String>| {
            let mut c = Vec::with_capacity(chain.len() + 1);
            c.push(format!(
                "error during tpl function execution for {}: {}",
                go_quote(text),
                chain[0]
            ));
            c.extend(chain);
            c
        };
        let trees = match parser::parse(&name, text, self.sh.env.profile) {
            Ok(trees) => trees,
            Err(e) => return Err(wrap(vec![e.helm_message()])),
        };
        let mut local = self.set.clone();
        local.retain(|t| t.source.parse_name != name);
        let mut trees = trees.into_iter().map(Rc::new);
        let main = trees.next().expect("parse returns the file's tree first");
        local.associate_rc(main.clone());
        for t in trees {
            local.associate_rc(t);
        }
        let dot = Ev::dynamic(match data {
            Value::Map(m) if m.kind() == MapKind::Interface => {
                Value::Map(m.with_kind(MapKind::ValuesV3))
            }
            other => other.clone(),
        });
        match nested(self.sh, |sh| run_tree(&local, sh, &main, dot)) {
            Ok(out) => Ok(out.replace("<no value>", "")),
            Err(chain) => {
                let tokens: Vec<&str> = chain[0].splitn(3, ": ").collect();
                match tokens.get(2).and_then(|m| super::error::warn_message(m)) {
                    Some(msg) => Err(wrap(vec![format!(
                        "execution error at ({}): {msg}",
                        tokens[1]
                    )])),
                    None => Err(wrap(chain)),
                }
            }
        }
    }

    /// Helm's `tpl`: parse `text` as template "gotpl" in a clone of the set and execute it.
    fn tpl(&mut self, text: &str, data: &Value) -> Result<String, Vec<String>> {
        if self.sh.env.profile.v3_11_quirks {
            return self.tpl_v3_11(text, data);
        }
        let parsed = match self.sh.tpl_cache.get(text) {
            Some(p) => p.clone(),
            None => {
                let p = parser::parse("gotpl", text, self.sh.env.profile)
                    .map(|trees| Rc::new(trees.into_iter().map(Rc::new).collect::<Vec<_>>()))
                    .map_err(|e| e.go_message().to_string());
                self.sh.tpl_cache.insert(text.to_string(), p.clone());
                p
            }
        };
        let trees = match parsed {
            Ok(t) => t,
            Err(msg) => {
                return Err(vec![
                    format!("cannot parse template {}: {msg}", go_quote(text)),
                    msg,
                ]);
            }
        };
        let main = trees[0].clone();
        let dot = Ev::dynamic(match data {
            // Helm 3's tpl parameter is a `chartutil.Values`: a plain map becomes one.
            Value::Map(m) if self.sh.env.profile.helm3() && m.kind() == MapKind::Interface => {
                Value::Map(m.with_kind(MapKind::ValuesV3))
            }
            other => other.clone(),
        });
        let r = if trees.len() == 1 {
            nested(self.sh, |sh| run_tree(self.set, sh, &main, dot))
        } else {
            let mut local = self.set.clone();
            for t in trees.iter() {
                local.associate_rc(t.clone());
            }
            nested(self.sh, |sh| run_tree(&local, sh, &main, dot))
        };
        match r {
            Ok(out) => Ok(out.replace("<no value>", "")),
            Err(chain) => {
                let mut c = Vec::with_capacity(chain.len() + 1);
                c.push(format!(
                    "error during tpl function execution for {}: {}",
                    go_quote(text),
                    chain[0]
                ));
                c.extend(chain);
                Err(c)
            }
        }
    }
}

/// Nesting of `{{template}}`/`include`/`tpl` calls below which the stack is not checked: a
/// few levels fit in any thread's stack, and checking it the first time costs a read of
/// `/proc/self/maps` (stacker finding the stack's limit).
const UNCHECKED_NESTING: usize = 8;

/// Run a nested template call (`f`), on a grown stack if the nesting is deep.
fn nested<'e, R>(sh: &mut Shared<'e>, f: impl FnOnce(&mut Shared<'e>) -> R) -> R {
    sh.nesting += 1;
    let r = if sh.nesting <= UNCHECKED_NESTING {
        f(sh)
    } else {
        stacker::maybe_grow(64 * 1024, 4 * 1024 * 1024, || f(sh))
    };
    sh.nesting -= 1;
    r
}

/// Execute `tree` as a fresh top-level state (Go's `Template.execute`).
fn run_tree(
    set: &TemplateSet,
    sh: &mut Shared,
    tree: &Tree,
    dot: Ev,
) -> Result<String, Vec<String>> {
    let mut st = State {
        set,
        sh,
        tree,
        name: &tree.name,
        vars: vec![("$", dot.clone())],
        at: At::None,
        depth: 0,
    };
    let mut out = String::with_capacity(tree.output_size_hint);
    match st.walk_list(&dot, tree.view().nodes(tree.root), &mut out) {
        Ok(()) | Err(Ctl::Break | Ctl::Continue) => Ok(out),
        Err(Ctl::Err(chain)) => Err(chain),
    }
}

/// Print a pipeline's value as an action does (`<no value>` for no value).
fn print_value(out: &mut String, v: &Ev) {
    match &v.v {
        Value::Nil => out.push_str("<no value>"),
        Value::String(s) => out.push_str(s),
        Value::Int(i) | Value::Int64(i) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{i}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        other => out.push_str(&super::fmt::format_v(other)),
    }
}

/// The [`CallCtx`] a Helm/Sprig function sees.
struct Ctx<'a, 't, 's, 'e> {
    st: &'a mut State<'t, 's, 'e>,
}

impl CallCtx for Ctx<'_, '_, '_, '_> {
    fn include(&mut self, name: &str, data: &Value) -> Result<String, FuncError> {
        self.st.include(name, data).map_err(|chain| {
            let msg = chain[0].clone();
            self.st.sh.nested_chain = Some(chain);
            FuncError::Nested(msg)
        })
    }

    fn tpl(&mut self, text: &str, data: &Value) -> Result<String, FuncError> {
        self.st.tpl(text, data).map_err(|chain| {
            let msg = chain[0].clone();
            self.st.sh.nested_chain = Some(chain);
            FuncError::Nested(msg)
        })
    }

    fn lookup(&mut self, api_version: &str, kind: &str, namespace: &str, name: &str) -> FuncResult {
        self.st
            .sh
            .env
            .lookup
            .lookup(api_version, kind, namespace, name)
            .map_err(FuncError::Call)
    }

    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        self.st.sh.env.now
    }
    fn profile(&self) -> &'static crate::profile::Profile {
        self.st.sh.env.profile
    }
}

/// A Go `complex128` constant (`{{ 1i }}`), which chartgen's value model only needs to print.
struct Complex {
    re: f64,
    im: f64,
}

impl crate::value::Object for Complex {
    fn type_name(&self) -> &str {
        "complex128"
    }

    fn kind_name(&self) -> &str {
        "complex128"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn format_v(&self) -> String {
        let im = super::fmt::format_float(self.im, b'g', -1);
        let sign = if im.starts_with('-') || im.starts_with('+') {
            ""
        } else {
            "+"
        };
        format!(
            "({}{sign}{im}i)",
            super::fmt::format_float(self.re, b'g', -1)
        )
    }

    fn to_data(&self) -> Value {
        Value::Nil
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
