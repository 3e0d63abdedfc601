//! Parser: builds one tree per template (the file itself plus each `define`/`block`), with
//! Go's parse rules and error texts.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::OnceLock;

use super::FxHashMap;
use super::error::{ErrorKind, TemplateError};
use super::lexer::{self, Item, Tok};
use crate::funcs::{self, FuncDef};
use crate::profile::Profile;

/// Source text and nodes of one parse, shared by every tree it produced. Nodes are stored
/// flat: a list of nodes, a pipeline's commands and a command's arguments are ranges of these
/// vectors (a few allocations per file instead of several per action).
#[derive(Debug)]
pub(crate) struct Source {
    /// The name errors report (Go's `ParseName`: the file being parsed).
    pub parse_name: String,
    pub text: String,
    nodes: Vec<Node>,
    cmds: Vec<Command>,
    args: Vec<Arg>,
}

impl Source {
    /// Go's `ErrorContext` location: `NAME:LINE:COL` with a 0-based byte column.
    pub fn location(&self, pos: usize) -> String {
        let before = &self.text.as_bytes()[..pos.min(self.text.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => pos - (nl + 1),
            None => pos,
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }

    pub fn view(&self) -> View<'_> {
        View {
            text: &self.text,
            nodes: &self.nodes,
            cmds: &self.cmds,
            args: &self.args,
        }
    }
}

/// Read access to the text and nodes of one parse (finished, or still being built).
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub text: &'a str,
    nodes: &'a [Node],
    cmds: &'a [Command],
    args: &'a [Arg],
}

impl<'a> View<'a> {
    pub fn nodes(self, list: Ids) -> &'a [Node] {
        &self.nodes[list.range()]
    }

    pub fn cmds(self, pipe: &Pipe) -> &'a [Command] {
        &self.cmds[pipe.cmds.range()]
    }

    pub fn args(self, cmd: &Command) -> &'a [Arg] {
        &self.args[cmd.args.range()]
    }
}

/// A byte range of a template's source text (identifiers, quoted strings, text runs are kept
/// as ranges instead of copies).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The text of this range in `src`.
    pub fn of(self, src: &str) -> &str {
        &src[self.start as usize..self.end as usize]
    }
}

/// A range of one of a [`Source`]'s node vectors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ids {
    start: u32,
    end: u32,
}

impl Ids {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Move `stack[base..]` to the end of `arena`; returns where they went.
fn flush<T>(arena: &mut Vec<T>, stack: &mut Vec<T>, base: usize) -> Ids {
    let start = arena.len();
    arena.extend(stack.drain(base..));
    Ids {
        start: start as u32,
        end: arena.len() as u32,
    }
}

/// One parsed template.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    pub root: Ids,
    pub source: Rc<Source>,
    /// A guess at the output's size, to allocate it once: the length of all text in the tree
    /// (branches not taken make it an overestimate) plus a little per action.
    pub output_size_hint: usize,
}

impl Tree {
    fn new(name: String, root: Ids, source: Rc<Source>) -> Tree {
        fn size(v: View, list: Ids) -> usize {
            v.nodes(list)
                .iter()
                .map(|n| match n {
                    Node::Text(t) => (t.end - t.start) as usize,
                    Node::If(b) | Node::With(b) | Node::Range(b) => {
                        size(v, b.list) + b.else_list.map_or(0, |e| size(v, e))
                    }
                    _ => 16,
                })
                .sum()
        }
        Tree {
            name,
            output_size_hint: size(source.view(), root),
            root,
            source,
        }
    }

    /// Go's `parse.IsEmptyTree`: only whitespace text and comments.
    pub fn is_empty_tree(&self) -> bool {
        is_empty_list(self.view().nodes(self.root), &self.source.text)
    }

    /// The source text the tree's spans refer to.
    pub fn src(&self) -> &str {
        &self.source.text
    }

    /// The text and nodes the tree refers to.
    pub fn view(&self) -> View<'_> {
        self.source.view()
    }
}

fn is_empty_list(root: &[Node], src: &str) -> bool {
    root.iter().all(|n| match n {
        Node::Text(t) => t.of(src).trim_ascii().is_empty(),
        Node::Comment => true,
        _ => false,
    })
}

/// A statement-level node.
#[derive(Debug)]
pub(crate) enum Node {
    Text(Span),
    Comment,
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// `if`/`with`/`range`: pipeline, body, optional else body.
#[derive(Debug)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Ids,
    pub else_list: Option<Ids>,
}

/// A pipeline, possibly with variable declarations.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Ids,
}

/// One command of a pipeline.
#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Ids,
}

/// A numeric constant with Go's interpretations (`NumberNode`).
#[derive(Debug, Clone)]
pub(crate) struct Number {
    /// The constant as written.
    pub text: Span,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
    /// `(real, imag)` of a complex constant (`1i`, `1+2i`).
    pub complex: Option<(f64, f64)>,
    pub is_char: bool,
}

/// A function an identifier names, resolved when parsing: one of Go's built-ins (with Helm's
/// `include` and `tpl`, which the executor runs itself) or a Sprig/Helm function.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Func {
    Builtin(Builtin),
    Def(&'static FuncDef),
}

impl Func {
    /// Resolve `name` as the executor would: Go's built-ins and `include`/`tpl` first, then
    /// the function registry.
    pub fn lookup(name: &str) -> Option<Func> {
        static TABLE: OnceLock<FxHashMap<&'static str, Func>> = OnceLock::new();
        let table = TABLE.get_or_init(|| {
            let mut t: FxHashMap<&'static str, Func> = funcs::registry()
                .iter()
                // Later entries win, as in `funcs::lookup`.
                .map(|d| (d.name, Func::Def(d)))
                .collect();
            // Built-ins win over registry functions of the same name, as in the executor.
            t.extend(
                Builtin::ALL
                    .into_iter()
                    .map(|b| (b.name(), Func::Builtin(b))),
            );
            t
        });
        table.get(name).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Builtin(b) => b.name(),
            Func::Def(d) => d.name,
        }
    }
}

/// Go's predefined template functions that Helm keeps (Sprig replaces `slice`), plus Helm's
/// `include` and `tpl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Index,
    Len,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
    Include,
    Tpl,
}

impl Builtin {
    const ALL: [Builtin; 20] = [
        Builtin::And,
        Builtin::Or,
        Builtin::Not,
        Builtin::Eq,
        Builtin::Ne,
        Builtin::Lt,
        Builtin::Le,
        Builtin::Gt,
        Builtin::Ge,
        Builtin::Index,
        Builtin::Len,
        Builtin::Print,
        Builtin::Printf,
        Builtin::Println,
        Builtin::Html,
        Builtin::Js,
        Builtin::Urlquery,
        Builtin::Call,
        Builtin::Include,
        Builtin::Tpl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::And => "and",
            Builtin::Or => "or",
            Builtin::Not => "not",
            Builtin::Eq => "eq",
            Builtin::Ne => "ne",
            Builtin::Lt => "lt",
            Builtin::Le => "le",
            Builtin::Gt => "gt",
            Builtin::Ge => "ge",
            Builtin::Index => "index",
            Builtin::Len => "len",
            Builtin::Print => "print",
            Builtin::Printf => "printf",
            Builtin::Println => "println",
            Builtin::Html => "html",
            Builtin::Js => "js",
            Builtin::Urlquery => "urlquery",
            Builtin::Call => "call",
            Builtin::Include => "include",
            Builtin::Tpl => "tpl",
        }
    }
}

/// An operand. Names are source ranges: `path` of a field is `.A.B`, of a variable `$x.A.B`,
/// `fields` of a chain `.A.B`.
#[derive(Debug)]
pub(crate) enum Arg {
    /// `.A.B` (fields after dot).
    Field {
        pos: usize,
        path: Span,
    },
    /// `$x.A.B` (the variable name, then fields).
    Variable {
        pos: usize,
        path: Span,
    },
    /// `(pipe).A.B` or `func.A` (`ChainNode`).
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Span,
    },
    /// A function name.
    Identifier {
        pos: usize,
        func: Func,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        num: Box<Number>,
    },
    /// `quoted` is the source text, `value` the unquoted string.
    String {
        pos: usize,
        quoted: Span,
        value: Rc<str>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    /// Go's `String()` of this node; `v` is its parse.
    pub fn show(&self, v: View) -> String {
        let mut out = String::new();
        write_arg(&mut out, self, v);
        out
    }
}

impl Command {
    /// Go's `String()` of this node; `v` is its parse.
    pub fn show(&self, v: View) -> String {
        let mut out = String::new();
        write_command(&mut out, self, v);
        out
    }
}

impl Pipe {
    /// Go's `String()` of this node; `v` is its parse.
    pub fn show(&self, v: View) -> String {
        let mut out = String::new();
        write_pipe(&mut out, self, v);
        out
    }
}

// ---- Go's node String() forms, used in error contexts ----

fn write_arg(out: &mut String, a: &Arg, v: View) {
    let src = v.text;
    match a {
        Arg::Field { path, .. } | Arg::Variable { path, .. } => out.push_str(path.of(src)),
        Arg::Chain { node, fields, .. } => {
            if let Arg::Pipe(_) = **node {
                out.push('(');
                write_arg(out, node, v);
                out.push(')');
            } else {
                write_arg(out, node, v);
            }
            out.push_str(fields.of(src));
        }
        Arg::Identifier { func, .. } => out.push_str(func.name()),
        Arg::Dot { .. } => out.push('.'),
        Arg::Nil { .. } => out.push_str("nil"),
        Arg::Bool { value, .. } => out.push_str(if *value { "true" } else { "false" }),
        Arg::Number { num, .. } => out.push_str(num.text.of(src)),
        Arg::String { quoted, .. } => out.push_str(quoted.of(src)),
        Arg::Pipe(p) => write_pipe(out, p, v),
    }
}

fn write_command(out: &mut String, c: &Command, v: View) {
    for (i, a) in v.args(c).iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Arg::Pipe(_) = a {
            out.push('(');
            write_arg(out, a, v);
            out.push(')');
        } else {
            write_arg(out, a, v);
        }
    }
}

fn write_pipe(out: &mut String, p: &Pipe, v: View) {
    if !p.decl.is_empty() {
        out.push_str(&p.decl.join(", "));
        out.push_str(if p.is_assign { " = " } else { " := " });
    }
    for (i, c) in v.cmds(p).iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        write_command(out, c, v);
    }
}

/// Describe a template node the way Go prints it (`{{template "x" .}}`).
pub(crate) fn template_node_string(name: &str, pipe: Option<&Pipe>, v: View) -> String {
    match pipe {
        Some(p) => format!("{{{{template {} {}}}}}", lexer::go_quote(name), p.show(v)),
        None => format!("{{{{template {}}}}}", lexer::go_quote(name)),
    }
}

// ---- the parser ----

/// A statement-level parse result that may be an `{{end}}` or `{{else}}` marker.
enum Parsed {
    Node(Node),
    End,
    Else,
}

struct Parser<'a> {
    input: &'a str,
    items: Vec<Item>,
    /// The message of a final `Error` token.
    lex_error: String,
    /// Index of the next token to return.
    idx: usize,
    /// Highest token index handed out (Go's `token[0]`, for error line numbers).
    high: usize,
    parse_name: &'a str,
    /// The Helm release whose functions and Go `text/template` are parsed for.
    profile: &'static Profile,
    vars: Vec<&'a str>,
    range_depth: usize,
    /// Where the action being parsed started (for "in action started at" errors).
    action_pos: Option<usize>,
    /// Trees of `define`/`block` found so far, in order: name and root list.
    defined: Vec<(String, Ids)>,
    // The finished node lists, commands and arguments (see [`Source`]).
    nodes: Vec<Node>,
    cmds: Vec<Command>,
    args: Vec<Arg>,
    // Those of the lists, pipelines and commands being parsed (innermost last).
    node_stack: Vec<Node>,
    cmd_stack: Vec<Command>,
    arg_stack: Vec<Arg>,
}

type PResult<T> = Result<T, String>;

/// Parse `text` as template `name` as `profile`'s Helm does; returns the file's tree followed
/// by its defines.
pub(crate) fn parse(
    name: &str,
    text: &str,
    profile: &'static Profile,
) -> Result<Vec<Tree>, TemplateError> {
    if u32::try_from(text.len()).is_err() {
        return Err(TemplateError::new(
            ErrorKind::Parse,
            name,
            vec![format!("template: {name}: template text larger than 4 GiB")],
        ));
    }
    let lexed = lexer::lex(text);
    // Rough node counts, from the token count, so the vectors rarely regrow.
    let n = lexed.items.len();
    let mut p = Parser {
        input: text,
        items: lexed.items,
        lex_error: lexed.error,
        idx: 0,
        high: 0,
        parse_name: name,
        profile,
        vars: vec!["$"],
        range_depth: 0,
        action_pos: None,
        defined: Vec::new(),
        nodes: Vec::with_capacity(n / 4),
        cmds: Vec::with_capacity(n / 5),
        args: Vec::with_capacity(n / 4),
        node_stack: Vec::new(),
        cmd_stack: Vec::new(),
        arg_stack: Vec::new(),
    };
    let root = match p.parse_top() {
        Ok(root) => root,
        Err(msg) => return Err(TemplateError::new(ErrorKind::Parse, name, vec![msg])),
    };
    let source = Rc::new(Source {
        parse_name: name.to_string(),
        text: text.to_string(),
        nodes: p.nodes,
        cmds: p.cmds,
        args: p.args,
    });
    let mut trees = Vec::with_capacity(1 + p.defined.len());
    trees.push(Tree::new(name.to_string(), root, source.clone()));
    for (name, root) in p.defined {
        trees.push(Tree::new(name, root, source.clone()));
    }
    Ok(trees)
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.idx = i + 1;
        self.high = self.high.max(i);
        self.items[i]
    }

    fn peek(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.high = self.high.max(i);
        self.items[i]
    }

    /// A token's text (empty for the error token).
    fn val(&self, it: Item) -> &'a str {
        &self.input[it.pos()..it.end()]
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.typ != Tok::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    /// Go's `errorf`: `template: NAME:LINE: MSG`, LINE from the last lexed token.
    fn err<T>(&self, msg: impl std::fmt::Display) -> PResult<T> {
        let last = self.items[self.high.min(self.items.len() - 1)];
        let line = lexer::line_of(self.input, last.pos());
        Err(format!("template: {}:{}: {}", self.parse_name, line, msg))
    }

    fn unexpected<T>(&self, item: Item, context: &str) -> PResult<T> {
        if item.typ == Tok::Error {
            let msg = &self.lex_error;
            let mut extra = String::new();
            if let Some(action_pos) = self.action_pos {
                let action_line = lexer::line_of(self.input, action_pos);
                if action_line != lexer::line_of(self.input, item.pos()) {
                    extra = format!(" in action started at {}:{}", self.parse_name, action_line);
                    if msg.ends_with(" action") {
                        extra = extra[" in action".len()..].to_string();
                    }
                }
            }
            return self.err(format!("{msg}{extra}"));
        }
        self.err(format!(
            "unexpected {} in {}",
            item.describe(self.val(item)),
            context
        ))
    }

    fn expect(&mut self, typ: Tok, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.typ != typ {
            return self.unexpected(it, context);
        }
        Ok(it)
    }

    /// The text and the nodes finished so far.
    fn view(&self) -> View<'_> {
        View {
            text: self.input,
            nodes: &self.nodes,
            cmds: &self.cmds,
            args: &self.args,
        }
    }

    fn parse_top(&mut self) -> PResult<Ids> {
        let base = self.node_stack.len();
        while self.peek().typ != Tok::Eof {
            if self.peek().typ == Tok::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => self.node_stack.push(n),
                Parsed::End => return self.err("unexpected {{end}}"),
                Parsed::Else => return self.err("unexpected {{else}}"),
            }
        }
        Ok(flush(&mut self.nodes, &mut self.node_stack, base))
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let tok = self.next_non_space();
        if tok.typ != Tok::String && tok.typ != Tok::RawString {
            return self.unexpected(tok, context);
        }
        let name = self.unquote(tok)?.into_owned();
        self.expect(Tok::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Parsed::End) {
            return self.err(format!("unexpected {} in {}", parsed_name(&end), context));
        }
        self.add_tree(name, list)
    }

    /// Go's `(*Tree).add`: a second non-empty definition in one parse is an error.
    fn add_tree(&mut self, name: String, root: Ids) -> PResult<()> {
        let is_empty = |p: &Self, list: Ids| is_empty_list(p.view().nodes(list), p.input);
        if let Some(i) = self.defined.iter().position(|t| t.0 == name) {
            if is_empty(self, self.defined[i].1) {
                self.defined[i] = (name, root);
                return Ok(());
            }
            if !is_empty(self, root) {
                return self.err(format!(
                    "template: multiple definition of template {}",
                    lexer::go_quote(&name)
                ));
            }
            return Ok(());
        }
        self.defined.push((name, root));
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Ids, Parsed)> {
        let base = self.node_stack.len();
        while self.peek_non_space().typ != Tok::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => self.node_stack.push(n),
                other => {
                    let list = flush(&mut self.nodes, &mut self.node_stack, base);
                    return Ok((list, other));
                }
            }
        }
        self.err("unexpected EOF")
    }

    /// A list of one node (`else if`/`else with`).
    fn single(&mut self, n: Node) -> Ids {
        let base = self.node_stack.len();
        self.node_stack.push(n);
        flush(&mut self.nodes, &mut self.node_stack, base)
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let tok = self.next_non_space();
        match tok.typ {
            Tok::Text => Ok(Parsed::Node(Node::Text(Span::new(tok.pos(), tok.end())))),
            Tok::LeftDelim => {
                self.action_pos = Some(tok.pos());
                let r = self.action();
                self.action_pos = None;
                r
            }
            Tok::Comment => Ok(Parsed::Node(Node::Comment)),
            _ => self.unexpected(tok, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let tok = self.next_non_space();
        match tok.typ {
            Tok::Block => return self.block_control().map(Parsed::Node),
            Tok::Break => return self.break_control(true),
            Tok::Continue => return self.break_control(false),
            Tok::Else => return self.else_control(),
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Tok::If => return self.parse_control("if").map(|b| Parsed::Node(Node::If(b))),
            Tok::Range => {
                return self
                    .parse_control("range")
                    .map(|b| Parsed::Node(Node::Range(b)));
            }
            Tok::Template => return self.template_control().map(Parsed::Node),
            Tok::With => {
                return self
                    .parse_control("with")
                    .map(|b| Parsed::Node(Node::With(b)));
            }
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn break_control(&mut self, is_break: bool) -> PResult<Parsed> {
        let word = if is_break {
            "{{break}}"
        } else {
            "{{continue}}"
        };
        let tok = self.next_non_space();
        if tok.typ != Tok::RightDelim {
            return self.unexpected(tok, word);
        }
        if self.range_depth == 0 {
            return self.err(format!("{word} outside {{{{range}}}}"));
        }
        Ok(Parsed::Node(if is_break {
            Node::Break
        } else {
            Node::Continue
        }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        // `{{else with}}` came with Go 1.23.
        if peek.typ == Tok::If || (peek.typ == Tok::With && !self.profile.go118_template) {
            return Ok(Parsed::Else);
        }
        self.expect(Tok::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        let nvars = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(nvars);
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else => {
                let peek_typ = self.peek().typ;
                if context == "if" && peek_typ == Tok::If {
                    self.next();
                    let b = self.parse_control("if")?;
                    else_list = Some(self.single(Node::If(b)));
                } else if context == "with" && peek_typ == Tok::With {
                    self.next();
                    let b = self.parse_control("with")?;
                    else_list = Some(self.single(Node::With(b)));
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return self.err(format!("expected end; found {}", parsed_name(&next)));
                    }
                    else_list = Some(l);
                }
            }
            Parsed::Node(_) => unreachable!("item_list returns only end/else markers"),
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let tok = self.next_non_space();
        let name = self.template_name(tok, context)?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let (list, end) = r?;
        if !matches!(end, Parsed::End) {
            return self.err(format!("unexpected {} in {}", parsed_name(&end), context));
        }
        self.add_tree(name.clone(), list)?;
        Ok(Node::Template {
            pos: tok.pos(),
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let tok = self.next_non_space();
        let name = self.template_name(tok, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, Tok::RightDelim)?);
        }
        Ok(Node::Template {
            pos: tok.pos(),
            name,
            pipe,
        })
    }

    fn template_name(&mut self, tok: Item, context: &str) -> PResult<String> {
        match tok.typ {
            Tok::String | Tok::RawString => self.unquote(tok).map(Cow::into_owned),
            _ => self.unexpected(tok, context),
        }
    }

    fn unquote(&self, tok: Item) -> PResult<Cow<'a, str>> {
        match unquote(self.val(tok)) {
            Some(s) => Ok(s),
            None => self.err("invalid syntax"),
        }
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos(),
            is_assign: false,
            decl: Vec::new(),
            cmds: Ids { start: 0, end: 0 },
        };
        let base = self.cmd_stack.len();
        // Declarations or assignments.
        loop {
            let v = self.peek_non_space();
            if v.typ != Tok::Variable {
                break;
            }
            let save = self.idx;
            self.next_non_space();
            let after_var = self.peek().typ;
            let next = self.peek_non_space();
            match next.typ {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.typ == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(self.val(v).to_string());
                    self.vars.push(self.val(v));
                }
                Tok::Char if self.val(next) == "," => {
                    self.next_non_space();
                    pipe.decl.push(self.val(v).to_string());
                    self.vars.push(self.val(v));
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return self.err("range can only initialize variables"),
                        }
                    }
                    return self.err(format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after_var;
                    self.idx = save;
                }
            }
            break;
        }
        loop {
            let tok = self.next_non_space();
            if tok.typ == end {
                pipe.cmds = flush(&mut self.cmds, &mut self.cmd_stack, base);
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match tok.typ {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    self.cmd_stack.push(cmd);
                }
                _ => return self.unexpected(tok, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.err(format!("missing value for {context}"));
        }
        let v = self.view();
        for (i, c) in v.cmds(pipe).iter().enumerate().skip(1) {
            if matches!(
                v.args(c)[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number { .. }
                    | Arg::String { .. }
            ) {
                return self.err(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos();
        let base = self.arg_stack.len();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                self.arg_stack.push(op);
            }
            let tok = self.next();
            match tok.typ {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(tok, "operand"),
            }
            break;
        }
        if self.arg_stack.len() == base {
            return self.err("empty command");
        }
        let args = flush(&mut self.args, &mut self.arg_stack, base);
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == Tok::Field {
            let pos = self.peek().pos();
            // Fields follow their term without space, so the whole path is one source range.
            let mut end = pos;
            while self.peek().typ == Tok::Field {
                end = self.next().end();
            }
            let fields = Span::new(pos, end);
            return match node {
                Arg::Field { path, .. } => Ok(Some(Arg::Field {
                    pos,
                    path: Span::new(path.start as usize, end),
                })),
                Arg::Variable { path, .. } => Ok(Some(Arg::Variable {
                    pos,
                    path: Span::new(path.start as usize, end),
                })),
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => self.err(format!(
                    "unexpected . after term {}",
                    lexer::go_quote(&node.show(self.view()))
                )),
                other => Ok(Some(Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields,
                })),
            };
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let tok = self.next_non_space();
        let pos = tok.pos();
        let val = self.val(tok);
        Ok(Some(match tok.typ {
            Tok::Identifier => {
                let func = Func::lookup(val).filter(|f| match f {
                    Func::Def(d) => !self.profile.missing_functions.contains(&d.name),
                    Func::Builtin(_) => true,
                });
                let Some(func) = func else {
                    return self.err(format!("function {} not defined", lexer::go_quote(val)));
                };
                Arg::Identifier { pos, func }
            }
            Tok::Dot => Arg::Dot { pos },
            Tok::Nil => Arg::Nil { pos },
            Tok::Variable => {
                // A variable token is just `$name` (a `.` ends it).
                if !self.vars.contains(&val) {
                    return self.err(format!("undefined variable {}", lexer::go_quote(val)));
                }
                Arg::Variable {
                    pos,
                    path: Span::new(tok.pos(), tok.end()),
                }
            }
            Tok::Field => Arg::Field {
                pos,
                path: Span::new(tok.pos(), tok.end()),
            },
            Tok::Bool => Arg::Bool {
                pos,
                value: val == "true",
            },
            Tok::CharConstant | Tok::Complex | Tok::Number => {
                match parse_number(val, tok.typ, Span::new(tok.pos(), tok.end())) {
                    Ok(num) => Arg::Number {
                        pos,
                        num: Box::new(num),
                    },
                    Err(e) => return self.err(e),
                }
            }
            Tok::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", Tok::RightParen)?,
            )),
            Tok::String | Tok::RawString => {
                let s = self.unquote(tok)?;
                Arg::String {
                    pos,
                    quoted: Span::new(tok.pos(), tok.end()),
                    value: Rc::from(&*s),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn parsed_name(p: &Parsed) -> &'static str {
    match p {
        Parsed::End => "{{end}}",
        Parsed::Else => "{{else}}",
        Parsed::Node(_) => "node",
    }
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals (borrowed when nothing is
/// escaped).
pub(crate) fn unquote(s: &str) -> Option<Cow<'_, str>> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    if b[0] == b'`' {
        if b[b.len() - 1] != b'`' {
            return None;
        }
        let inner = &s[1..s.len() - 1];
        if inner.contains('\r') {
            return Some(Cow::Owned(inner.replace('\r', "")));
        }
        return Some(Cow::Borrowed(inner));
    }
    if b[0] != b'"' || b[b.len() - 1] != b'"' {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    if !inner.bytes().any(|c| c == b'\\' || c == b'"') {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        // Plain characters stand for themselves; copy them a run at a time.
        let plain = rest.find(['\\', '"']).unwrap_or(rest.len());
        if plain > 0 {
            out.extend_from_slice(&rest.as_bytes()[..plain]);
            rest = &rest[plain..];
            continue;
        }
        let (bytes, tail) = unquote_char(rest, b'"')?;
        out.extend_from_slice(&bytes);
        rest = tail;
    }
    // Go strings may hold invalid UTF-8; chartgen's strings cannot, so such bytes become U+FFFD.
    Some(Cow::Owned(String::from_utf8_lossy(&out).into_owned()))
}

/// Go's `strconv.UnquoteChar`: decode one (possibly escaped) character; returns its UTF-8
/// bytes (or a raw byte for `\xHH`/octal) and the rest.
pub(crate) fn unquote_char(s: &str, quote: u8) -> Option<(Vec<u8>, &str)> {
    let c = s.chars().next()?;
    if c as u32 == quote as u32 && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if c != '\\' {
        let mut buf = [0u8; 4];
        return Some((
            c.encode_utf8(&mut buf).as_bytes().to_vec(),
            &s[c.len_utf8()..],
        ));
    }
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let esc = b[1];
    if !esc.is_ascii() {
        return None;
    }
    let rest = &s[2..];
    let simple = |v: u8| Some((vec![v], rest));
    match esc {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'\\' => simple(b'\\'),
        b'\'' | b'"' => {
            if esc != quote {
                return None;
            }
            simple(esc)
        }
        b'x' | b'u' | b'U' => {
            let n = match esc {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.as_bytes()[..n].iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let v = u32::from_str_radix(&rest[..n], 16).ok()?;
            if esc == b'x' {
                return Some((vec![v as u8], &rest[n..]));
            }
            let ch = char::from_u32(v)?;
            let mut buf = [0u8; 4];
            Some((ch.encode_utf8(&mut buf).as_bytes().to_vec(), &rest[n..]))
        }
        b'0'..=b'7' => {
            if s.len() < 4 || !s.as_bytes()[1..4].iter().all(|b| (b'0'..=b'7').contains(b)) {
                return None;
            }
            let digits = &s[1..4];
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((vec![v as u8], &s[4..]))
        }
        _ => None,
    }
}

impl Number {
    /// Go's `simplifyComplex`: a complex constant with a zero imaginary part is also a float
    /// (and an integer when integral).
    fn simplify_complex(&mut self, c: (f64, f64)) {
        self.complex = Some(c);
        if c.1 == 0.0 {
            let f = c.0;
            self.float = Some(f);
            if (f as i64) as f64 == f {
                self.int = Some(f as i64);
            }
            if f >= 0.0 && (f as u64) as f64 == f {
                self.uint = Some(f as u64);
            }
        }
    }
}

/// `real±imagi` as Go's `fmt.Sscan` reads a complex128.
fn parse_complex(text: &str) -> Option<(f64, f64)> {
    let body = text.strip_suffix('i')?;
    let b = body.as_bytes();
    let split = (1..b.len()).rev().find(|&i| {
        (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E' | b'p' | b'P')
    })?;
    let re = parse_go_float(&body[..split])?;
    let im = parse_go_float(&body[split..])?;
    Some((re, im))
}

/// Go's `parse.newNumber`: interpret a numeric or character constant.
fn parse_number(text: &str, typ: Tok, span: Span) -> Result<Number, String> {
    let mut n = Number {
        text: span,
        int: None,
        uint: None,
        float: None,
        complex: None,
        is_char: false,
    };
    // Fast path: a plain decimal that fits (no sign, base prefix, separator or leading zero).
    let b = text.as_bytes();
    if typ == Tok::Number
        && !b.is_empty()
        && b.len() <= 18
        && b.iter().all(u8::is_ascii_digit)
        && (b.len() == 1 || b[0] != b'0')
    {
        let v: u64 = b.iter().fold(0, |acc, d| acc * 10 + u64::from(d - b'0'));
        n.uint = Some(v);
        n.int = Some(v as i64);
        n.float = Some(v as f64);
        return Ok(n);
    }
    if typ == Tok::CharConstant {
        let inner = &text[1..];
        let (bytes, tail) =
            unquote_char(inner, b'\'').ok_or_else(|| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let r = match std::str::from_utf8(&bytes) {
            Ok(s) if bytes.len() > 1 || bytes[0] < 0x80 => {
                s.chars().next().map(|c| c as u32).unwrap_or(0)
            }
            _ => u32::from(bytes[0]),
        };
        n.int = Some(i64::from(r));
        n.uint = Some(u64::from(r));
        n.float = Some(f64::from(r));
        n.is_char = true;
        return Ok(n);
    }
    if typ == Tok::Complex {
        let c = parse_complex(text).ok_or_else(|| "expected integer".to_string())?;
        n.simplify_complex(c);
        return Ok(n);
    }
    if let Some(im) = text.strip_suffix('i').and_then(parse_go_float) {
        n.simplify_complex((0.0, im));
        return Ok(n);
    }
    let u = parse_go_uint(text);
    if let Some(u) = u {
        n.uint = Some(u);
    }
    if let Some(i) = parse_go_int(text) {
        n.int = Some(i);
        if i == 0 {
            n.uint = Some(0);
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", lexer::go_quote(text)));
        }
        n.float = Some(f);
        if n.int.is_none() && (f as i64) as f64 == f && f.abs() < 9.3e18 {
            n.int = Some(f as i64);
        }
        if n.uint.is_none() && f >= 0.0 && (f as u64) as f64 == f && f < 1.8e19 {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {}", lexer::go_quote(text)));
    }
    Ok(n)
}

/// Strip Go digit separators, which may only appear between digits or after a base prefix.
fn strip_underscores(s: &str, base_prefix: bool) -> Option<String> {
    if !s.contains('_') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let prev_ok = i > 0 && (b[i - 1].is_ascii_hexdigit() || (base_prefix && i == 0));
            let next_ok = i + 1 < b.len() && b[i + 1].is_ascii_hexdigit();
            if !(prev_ok || (base_prefix && i == 0)) || !next_ok {
                return None;
            }
        }
    }
    Some(s.replace('_', ""))
}

/// `(negative, base, digits)` of a Go integer literal with base prefix 0.
fn split_int(text: &str) -> Option<(bool, u32, String)> {
    let (neg, t) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    let digits = strip_underscores(&digits, prefixed)?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    Some((neg, base, digits))
}

fn parse_go_uint(text: &str) -> Option<u64> {
    let (neg, base, digits) = split_int(text)?;
    if neg || text.starts_with('+') {
        return None;
    }
    u64::from_str_radix(&digits, base).ok()
}

fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, base, digits) = split_int(text)?;
    let mag = u64::from_str_radix(&digits, base).ok()?;
    if neg {
        if mag <= 1u64 << 63 {
            Some((mag as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Go's `strconv.ParseFloat` for decimal and hexadecimal literals.
fn parse_go_float(text: &str) -> Option<f64> {
    let (neg, t) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = t.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        let h = strip_underscores(h, true)?;
        let (mant, exp) = h.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        let mut m = 0f64;
        for c in ip.chars().chain(fp.chars()) {
            m = m * 16.0 + f64::from(c.to_digit(16)?);
        }
        m * 2f64.powi(exp - 4 * fp.len() as i32)
    } else {
        let d = strip_underscores(&lower, false)?;
        if d.is_empty() || d.starts_with('e') || !d.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        d.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}
