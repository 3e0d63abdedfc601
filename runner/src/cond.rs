//! Task `if:` conditions: the subset of the `expr` language (antonmedv/expr) Iter8 v0.13 uses.
//!
//! The environment is the experiment, with Go field names: methods `Completed()`,
//! `NoFailure()`, `SLOs()`; fields `Spec` (list; `len(Spec)`), `Result.NumLoops`,
//! `Result.NumCompletedTasks`, `Result.Failure`, `Result.Revision`, `Result.Iter8Version`,
//! `Result.StartTime` (RFC3339 string), `Result.Insights.NumVersions`.
//! Operators: `not`/`!`, `and`/`&&`, `or`/`||`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-`, `*`,
//! `/`, `%`, parentheses; literals: integers, floats, `'…'`/`"…"` strings, `true`, `false`, `nil`.
//! The whole expression must yield a boolean.

use std::fmt;

use crate::experiment::{Experiment, format_start_time};

/// Why a condition could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (in {expr:?})")]
pub struct CondError {
    /// The expression.
    pub expr: String,
    /// What went wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64, bool),
    Str(String),
    Ident(String),
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum Ast {
    Lit(Val),
    Name(String),
    Member(Box<Ast>, String),
    Call(Box<Ast>, Vec<Ast>),
    Unary(&'static str, Box<Ast>),
    Binary(&'static str, Box<Ast>, Box<Ast>),
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(usize),
    ResultObj,
    InsightsObj,
    Method(&'static str),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Nil => write!(f, "nil"),
            Val::Bool(_) => write!(f, "bool"),
            Val::Int(_) => write!(f, "int"),
            Val::Float(_) => write!(f, "float64"),
            Val::Str(_) => write!(f, "string"),
            Val::List(_) => write!(f, "array"),
            Val::ResultObj => write!(f, "*base.ExperimentResult"),
            Val::InsightsObj => write!(f, "*base.Insights"),
            Val::Method(_) => write!(f, "func"),
        }
    }
}

const OPS: &[&str] = &[
    "&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", ".", ",",
];

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            let text: String = src[s..i].chars().filter(|&c| c != '_').collect();
            let is_float = text.contains('.');
            let v: f64 = text
                .parse()
                .map_err(|_| format!("invalid number {text:?}"))?;
            out.push(Tok::Num(v, is_float));
        } else if c == b'"' || c == b'\'' {
            let q = c;
            i += 1;
            let mut s = String::new();
            loop {
                if i >= b.len() {
                    return Err("unterminated string".into());
                }
                let ch = src[i..]
                    .chars()
                    .next()
                    .expect("index is on a char boundary");
                if ch as u32 == q as u32 {
                    i += 1;
                    break;
                }
                if ch == '\\' && i + 1 < b.len() {
                    let n = b[i + 1] as char;
                    s.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    i += 2;
                    continue;
                }
                s.push(ch);
                i += ch.len_utf8();
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push(Tok::Ident(src[s..i].to_string()));
        } else {
            let op = OPS
                .iter()
                .find(|op| src[i..].starts_with(**op))
                .ok_or_else(|| format!("unexpected token {:?}", &src[i..i + 1]))?;
            out.push(Tok::Op(op));
            i += op.len();
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(o)) if o == w)
    }
    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {op:?}"))
        }
    }
    fn or(&mut self) -> Result<Ast, String> {
        let mut l = self.and()?;
        while self.is_op("||") || self.is_word("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Ast::Binary("or", Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Ast, String> {
        let mut l = self.cmp()?;
        while self.is_op("&&") || self.is_word("and") {
            self.pos += 1;
            let r = self.cmp()?;
            l = Ast::Binary("and", Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn cmp(&mut self) -> Result<Ast, String> {
        let mut l = self.add()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["==", "!=", "<", "<=", ">", ">="].contains(o) => *o,
                _ => break,
            };
            self.pos += 1;
            let r = self.add()?;
            l = Ast::Binary(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn add(&mut self) -> Result<Ast, String> {
        let mut l = self.mul()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["+", "-"].contains(o) => *o,
                _ => break,
            };
            self.pos += 1;
            let r = self.mul()?;
            l = Ast::Binary(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn mul(&mut self) -> Result<Ast, String> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["*", "/", "%"].contains(o) => *o,
                _ => break,
            };
            self.pos += 1;
            let r = self.unary()?;
            l = Ast::Binary(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Ast, String> {
        if self.is_op("!") || self.is_word("not") {
            self.pos += 1;
            return Ok(Ast::Unary("not", Box::new(self.unary()?)));
        }
        if self.is_op("-") {
            self.pos += 1;
            return Ok(Ast::Unary("-", Box::new(self.unary()?)));
        }
        if self.is_op("+") {
            self.pos += 1;
            return self.unary();
        }
        self.postfix()
    }
    fn postfix(&mut self) -> Result<Ast, String> {
        let mut e = self.primary()?;
        loop {
            if self.is_op(".") {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Ident(name)) => {
                        self.pos += 1;
                        e = Ast::Member(Box::new(e), name);
                    }
                    _ => return Err("expected a field name after '.'".into()),
                }
            } else if self.is_op("(") {
                self.pos += 1;
                let mut args = Vec::new();
                if !self.is_op(")") {
                    loop {
                        args.push(self.or()?);
                        if self.is_op(",") {
                            self.pos += 1;
                            continue;
                        }
                        break;
                    }
                }
                self.expect_op(")")?;
                e = Ast::Call(Box::new(e), args);
            } else {
                return Ok(e);
            }
        }
    }
    fn primary(&mut self) -> Result<Ast, String> {
        let t = self
            .peek()
            .cloned()
            .ok_or_else(|| "unexpected end of expression".to_string())?;
        self.pos += 1;
        match t {
            Tok::Num(v, true) => Ok(Ast::Lit(Val::Float(v))),
            Tok::Num(v, false) => Ok(Ast::Lit(Val::Int(v as i64))),
            Tok::Str(s) => Ok(Ast::Lit(Val::Str(s))),
            Tok::Ident(w) => match w.as_str() {
                "true" => Ok(Ast::Lit(Val::Bool(true))),
                "false" => Ok(Ast::Lit(Val::Bool(false))),
                "nil" => Ok(Ast::Lit(Val::Nil)),
                _ => Ok(Ast::Name(w)),
            },
            Tok::Op("(") => {
                let e = self.or()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op(o) => Err(format!("unexpected token {o:?}")),
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    src: String,
    ast: Ast,
}

impl Condition {
    /// Parse `src`.
    pub fn compile(src: &str) -> Result<Condition, CondError> {
        let err = |message: String| CondError {
            expr: src.to_string(),
            message,
        };
        let toks = lex(src).map_err(err)?;
        let mut p = Parser { toks, pos: 0 };
        let ast = p.or().map_err(err)?;
        if p.pos != p.toks.len() {
            return Err(err(format!("unexpected token {:?}", p.toks[p.pos])));
        }
        Ok(Condition {
            src: src.to_string(),
            ast,
        })
    }

    /// Evaluate against `exp`; the result must be a boolean.
    pub fn eval(&self, exp: &Experiment) -> Result<bool, CondError> {
        let err = |message: String| CondError {
            expr: self.src.clone(),
            message,
        };
        match eval(&self.ast, exp).map_err(err)? {
            Val::Bool(b) => Ok(b),
            other => Err(err(format!("expected bool, but got {other}"))),
        }
    }
}

/// Compile and evaluate in one step.
pub fn evaluate(src: &str, exp: &Experiment) -> Result<bool, CondError> {
    Condition::compile(src)?.eval(exp)
}

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        _ => None,
    }
}

fn eval(ast: &Ast, exp: &Experiment) -> Result<Val, String> {
    match ast {
        Ast::Lit(v) => Ok(v.clone()),
        Ast::Name(n) => match n.as_str() {
            "Spec" => Ok(Val::List(exp.spec.len())),
            "Result" => Ok(if exp.result.is_some() {
                Val::ResultObj
            } else {
                Val::Nil
            }),
            "Completed" => Ok(Val::Method("Completed")),
            "NoFailure" => Ok(Val::Method("NoFailure")),
            "SLOs" => Ok(Val::Method("SLOs")),
            "len" => Ok(Val::Method("len")),
            _ => Err(format!("unknown name {n}")),
        },
        Ast::Member(obj, field) => {
            let o = eval(obj, exp)?;
            member(&o, field, exp)
        }
        Ast::Call(f, args) => {
            let fv = eval(f, exp)?;
            let Val::Method(m) = fv else {
                return Err(format!("{fv} is not a function"));
            };
            let argv = args
                .iter()
                .map(|a| eval(a, exp))
                .collect::<Result<Vec<_>, _>>()?;
            match (m, argv.as_slice()) {
                ("Completed", []) => Ok(Val::Bool(exp.completed())),
                ("NoFailure", []) => Ok(Val::Bool(exp.no_failure())),
                ("SLOs", []) => Ok(Val::Bool(exp.slos())),
                ("len", [Val::List(n)]) => Ok(Val::Int(*n as i64)),
                ("len", [Val::Str(s)]) => Ok(Val::Int(s.chars().count() as i64)),
                _ => Err(format!("invalid arguments to {m}")),
            }
        }
        Ast::Unary(op, e) => {
            let v = eval(e, exp)?;
            match (*op, v) {
                ("not", Val::Bool(b)) => Ok(Val::Bool(!b)),
                ("-", Val::Int(i)) => Ok(Val::Int(-i)),
                ("-", Val::Float(f)) => Ok(Val::Float(-f)),
                (op, v) => Err(format!("invalid operation: {op} ({v})")),
            }
        }
        Ast::Binary(op, l, r) => {
            if *op == "and" || *op == "or" {
                let Val::Bool(lb) = eval(l, exp)? else {
                    return Err(format!("invalid operation: {op} on non-bool"));
                };
                if (*op == "and" && !lb) || (*op == "or" && lb) {
                    return Ok(Val::Bool(lb));
                }
                return match eval(r, exp)? {
                    Val::Bool(rb) => Ok(Val::Bool(rb)),
                    v => Err(format!("invalid operation: {op} ({v})")),
                };
            }
            let lv = eval(l, exp)?;
            let rv = eval(r, exp)?;
            binary(op, &lv, &rv)
        }
    }
}

fn member(o: &Val, field: &str, exp: &Experiment) -> Result<Val, String> {
    match o {
        Val::ResultObj => {
            let r = exp
                .result
                .as_ref()
                .expect("ResultObj only exists with a result");
            Ok(match field {
                "NumLoops" => Val::Int(r.num_loops),
                "NumCompletedTasks" => Val::Int(r.num_completed_tasks),
                "Failure" => Val::Bool(r.failure),
                "Revision" => Val::Int(r.revision),
                "Iter8Version" => Val::Str(r.iter8_version.clone()),
                "StartTime" => Val::Str(
                    r.start_time
                        .as_ref()
                        .map(format_start_time)
                        .unwrap_or_default(),
                ),
                "Insights" => {
                    if r.insights.is_some() {
                        Val::InsightsObj
                    } else {
                        Val::Nil
                    }
                }
                _ => return Err(format!("type *base.ExperimentResult has no field {field}")),
            })
        }
        Val::InsightsObj => {
            let ins = exp
                .result
                .as_ref()
                .and_then(|r| r.insights.as_ref())
                .expect("InsightsObj only exists with insights");
            match field {
                "NumVersions" => Ok(Val::Int(ins.num_versions as i64)),
                "VersionNames" => Ok(Val::List(ins.version_names.as_ref().map_or(0, Vec::len))),
                _ => Err(format!("type *base.Insights has no field {field}")),
            }
        }
        Val::Nil => Err(format!("cannot fetch {field} from nil")),
        other => Err(format!("cannot fetch {field} from {other}")),
    }
}

fn binary(op: &str, l: &Val, r: &Val) -> Result<Val, String> {
    match op {
        "==" | "!=" => {
            let eq = match (num(l), num(r)) {
                (Some(a), Some(b)) => a == b,
                _ => l == r,
            };
            Ok(Val::Bool(if op == "==" { eq } else { !eq }))
        }
        "<" | "<=" | ">" | ">=" => {
            let ord = match (l, r) {
                (Val::Str(a), Val::Str(b)) => a.partial_cmp(b),
                _ => match (num(l), num(r)) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => None,
                },
            }
            .ok_or_else(|| format!("invalid operation: {l} {op} {r}"))?;
            use std::cmp::Ordering::*;
            Ok(Val::Bool(match op {
                "<" => ord == Less,
                "<=" => ord != Greater,
                ">" => ord == Greater,
                _ => ord != Less,
            }))
        }
        "+" | "-" | "*" | "/" | "%" => {
            if let (Val::Str(a), Val::Str(b), "+") = (l, r, op) {
                return Ok(Val::Str(format!("{a}{b}")));
            }
            if let (Val::Int(a), Val::Int(b)) = (l, r) {
                return match op {
                    "+" => Ok(Val::Int(a.wrapping_add(*b))),
                    "-" => Ok(Val::Int(a.wrapping_sub(*b))),
                    "*" => Ok(Val::Int(a.wrapping_mul(*b))),
                    "/" => Ok(Val::Float(*a as f64 / *b as f64)),
                    _ => {
                        if *b == 0 {
                            Err("integer divide by zero".into())
                        } else {
                            Ok(Val::Int(a % b))
                        }
                    }
                };
            }
            let (Some(a), Some(b)) = (num(l), num(r)) else {
                return Err(format!("invalid operation: {l} {op} {r}"));
            };
            match op {
                "+" => Ok(Val::Float(a + b)),
                "-" => Ok(Val::Float(a - b)),
                "*" => Ok(Val::Float(a * b)),
                "/" => Ok(Val::Float(a / b)),
                _ => Err(format!("invalid operation: {l} % {r}")),
            }
        }
        _ => Err(format!("unknown operator {op}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{Experiment, ExperimentResult, TaskSpec};

    fn exp(loops: i64, done: i64) -> Experiment {
        let mut r = ExperimentResult::new(0);
        r.num_loops = loops;
        r.num_completed_tasks = done;
        Experiment {
            spec: vec![TaskSpec::default(); 3],
            result: Some(r),
        }
    }

    /// Operators, precedence, methods and fields of the expr subset.
    #[test]
    fn expressions() {
        let e = exp(10, 2);
        for (src, want) in [
            ("Result.NumLoops == 10", true),
            ("Result.NumLoops % 5 == 0 && not Result.Failure", true),
            ("!NoFailure() || Result.NumCompletedTasks < 3", true),
            ("Completed()", false),
            ("SLOs()", false),
            ("not SLOs()", true),
            ("len(Spec) == 3 and Result.Iter8Version == 'v0.13'", true),
            ("1 + 2 * 3 == 7", true),
            ("(1 + 2) * 3 == 7", false),
            ("Result.NumLoops / 4 == 2.5", true),
            ("Result.NumLoops >= 10 or Result.Bogus", true),
        ] {
            assert_eq!(evaluate(src, &e), Ok(want), "{src}");
        }
    }

    /// Non-boolean results, unknown fields and syntax errors are errors.
    #[test]
    fn errors() {
        let e = exp(1, 0);
        assert!(evaluate("Result.NumLoops", &e).is_err());
        assert!(evaluate("Result.Bogus == 1", &e).is_err());
        assert!(evaluate("Result.NumLoops ==", &e).is_err());
        assert!(evaluate("(true", &e).is_err());
        let none = Experiment::default();
        assert!(evaluate("Result.NumLoops == 1", &none).is_err());
        assert_eq!(evaluate("Result == nil", &none), Ok(true));
    }
}
