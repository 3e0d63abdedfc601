//! Sprig's regex functions, with Go's `regexp` semantics ([`super::goregexp`]). Plain variants
//! panic (an error) on a bad pattern, except `regexMatch`, which answers false; `must*`
//! variants return the error.

use super::goregexp::GoRegexp;
use super::{FuncDef, FuncError, FuncResult, Param, arg_int, arg_str, def, ok_str};
use crate::value::Value;
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    def("regexMatch", &[Param::String, Param::String], |_, a| {
        Ok(Value::Bool(
            compile(arg_str(&a[0])).is_ok_and(|r| r.is_match(arg_str(&a[1]))),
        ))
    }),
    def("mustRegexMatch", &[Param::String, Param::String], |_, a| {
        let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
        Ok(Value::Bool(r.is_match(arg_str(&a[1]))))
    }),
    def(
        "regexFindAll",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            find_all(&r, &a)
        },
    ),
    def(
        "mustRegexFindAll",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            find_all(&r, &a)
        },
    ),
    def("regexFind", &[Param::String, Param::String], |_, a| {
        let r = must_compile(arg_str(&a[0]))?;
        ok_str(r.find(arg_str(&a[1])).unwrap_or(""))
    }),
    def("mustRegexFind", &[Param::String, Param::String], |_, a| {
        let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
        ok_str(r.find(arg_str(&a[1])).unwrap_or(""))
    }),
    def(
        "regexReplaceAll",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            ok_str(r.replace_all(arg_str(&a[1]), arg_str(&a[2]), false))
        },
    ),
    def(
        "mustRegexReplaceAll",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            ok_str(r.replace_all(arg_str(&a[1]), arg_str(&a[2]), false))
        },
    ),
    def(
        "regexReplaceAllLiteral",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            ok_str(r.replace_all(arg_str(&a[1]), arg_str(&a[2]), true))
        },
    ),
    def(
        "mustRegexReplaceAllLiteral",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            ok_str(r.replace_all(arg_str(&a[1]), arg_str(&a[2]), true))
        },
    ),
    def(
        "regexSplit",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            Ok(Value::string_list(r.split(arg_str(&a[1]), arg_int(&a[2]))))
        },
    ),
    def(
        "mustRegexSplit",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            Ok(Value::string_list(r.split(arg_str(&a[1]), arg_int(&a[2]))))
        },
    ),
    def("regexQuoteMeta", &[Param::String], |_, a| {
        ok_str(quote_meta(arg_str(&a[0])))
    }),
];

/// Go `regexp.Compile`; the error is Go's (`error parsing regexp: ...`).
fn compile(pattern: &str) -> Result<Rc<GoRegexp>, String> {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<(String, Rc<GoRegexp>)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if let Some(r) = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(p, _)| p == pattern)
            .map(|(_, r)| r.clone())
    }) {
        return Ok(r);
    }
    let r = Rc::new(GoRegexp::compile(pattern).map_err(|e| e.to_string())?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 64 {
            c.remove(0);
        }
        c.push((pattern.to_string(), r.clone()));
    });
    Ok(r)
}

/// Go `regexp.MustCompile`: the panic text on a bad pattern.
fn must_compile(pattern: &str) -> Result<Rc<GoRegexp>, FuncError> {
    compile(pattern).map_err(|e| {
        FuncError::call(format!(
            "regexp: Compile({}): {e}",
            go_regexp_quote(pattern)
        ))
    })
}

/// The regexp package's `quote`: backquotes when `strconv.CanBackquote`, else `%q`.
fn go_regexp_quote(s: &str) -> String {
    // strconv.CanBackquote: no backquote, no ASCII control but tab, no DEL, no BOM.
    if s.chars().all(|c| {
        if c.is_ascii() {
            c == '\t' || (c >= ' ' && c != '`' && c != '\x7f')
        } else {
            c != '\u{feff}'
        }
    }) {
        format!("`{s}`")
    } else {
        super::strings::go_quote(s)
    }
}

/// Go `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn find_all(r: &GoRegexp, a: &[Value]) -> FuncResult {
    let found: Vec<String> = r
        .find_all(arg_str(&a[1]), arg_int(&a[2]))
        .into_iter()
        .map(str::to_string)
        .collect();
    Ok(Value::string_list(found))
}
