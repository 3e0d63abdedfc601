//! Sprig's regex functions over Go RE2 syntax. The `regex` crate implements the same
//! language with Unicode-aware `\d \w \s \b`; Go's are ASCII-only, so patterns are rewritten
//! to ASCII classes first. Plain variants panic (an error) on a bad pattern, except
//! `regexMatch`, which answers false; `must*` variants return the error.

use super::{FuncDef, FuncError, FuncResult, Param, arg_int, arg_str, def, ok_str};
use crate::value::Value;
use regex::Regex;

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
        |_, a| find_all(&must_compile(arg_str(&a[0]))?, &a),
    ),
    def(
        "mustRegexFindAll",
        &[Param::String, Param::String, Param::Int],
        |_, a| find_all(&compile(arg_str(&a[0])).map_err(FuncError::call)?, &a),
    ),
    def("regexFind", &[Param::String, Param::String], |_, a| {
        let r = must_compile(arg_str(&a[0]))?;
        ok_str(r.find(arg_str(&a[1])).map(|m| m.as_str()).unwrap_or(""))
    }),
    def("mustRegexFind", &[Param::String, Param::String], |_, a| {
        let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
        ok_str(r.find(arg_str(&a[1])).map(|m| m.as_str()).unwrap_or(""))
    }),
    def(
        "regexReplaceAll",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            ok_str(r.replace_all(arg_str(&a[1]), arg_str(&a[2])).into_owned())
        },
    ),
    def(
        "mustRegexReplaceAll",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            ok_str(r.replace_all(arg_str(&a[1]), arg_str(&a[2])).into_owned())
        },
    ),
    def(
        "regexReplaceAllLiteral",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            ok_str(
                r.replace_all(arg_str(&a[1]), regex::NoExpand(arg_str(&a[2])))
                    .into_owned(),
            )
        },
    ),
    def(
        "mustRegexReplaceAllLiteral",
        &[Param::String, Param::String, Param::String],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            ok_str(
                r.replace_all(arg_str(&a[1]), regex::NoExpand(arg_str(&a[2])))
                    .into_owned(),
            )
        },
    ),
    def(
        "regexSplit",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            let r = must_compile(arg_str(&a[0]))?;
            Ok(split(&r, arg_str(&a[0]), arg_str(&a[1]), arg_int(&a[2])))
        },
    ),
    def(
        "mustRegexSplit",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            let r = compile(arg_str(&a[0])).map_err(FuncError::call)?;
            Ok(split(&r, arg_str(&a[0]), arg_str(&a[1]), arg_int(&a[2])))
        },
    ),
    def("regexQuoteMeta", &[Param::String], |_, a| {
        ok_str(quote_meta(arg_str(&a[0])))
    }),
];

/// Go `regexp.Compile`; the error reads like Go's (`error parsing regexp: ...`).
fn compile(pattern: &str) -> Result<Regex, String> {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<(String, Regex)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if let Some(r) = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(p, _)| p == pattern)
            .map(|(_, r)| r.clone())
    }) {
        return Ok(r);
    }
    let r = Regex::new(&translate(pattern)).map_err(|e| go_error(pattern, &e))?;
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
fn must_compile(pattern: &str) -> Result<Regex, FuncError> {
    compile(pattern).map_err(|e| {
        FuncError::call(format!(
            "regexp: Compile({}): {e}",
            go_regexp_quote(pattern)
        ))
    })
}

/// The regexp package's `quote`: backquotes when `strconv.CanBackquote`, else `%q`.
fn go_regexp_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c == '\t' || (c != '`' && !c.is_control() && c != '\u{feff}'))
    {
        format!("`{s}`")
    } else {
        super::strings::go_quote(s)
    }
}

/// Go's wording for the common parse errors.
fn go_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let what = if text.contains("unclosed group") {
        format!("missing closing ): `{pattern}`")
    } else if text.contains("unopened group") {
        format!("unexpected ): `{pattern}`")
    } else if text.contains("unclosed character class") {
        "missing closing ]: `".to_string() + &pattern[pattern.rfind('[').unwrap_or(0)..] + "`"
    } else if text.contains("repetition operator missing expression") {
        format!(
            "missing argument to repetition operator: `{}`",
            first_repeat_op(pattern)
        )
    } else {
        let detail = text
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ");
        format!("{detail}: `{pattern}`")
    };
    format!("error parsing regexp: {what}")
}

fn first_repeat_op(pattern: &str) -> String {
    pattern
        .chars()
        .find(|c| matches!(c, '*' | '+' | '?'))
        .map(String::from)
        .unwrap_or_default()
}

/// Rewrite Go-only or Go-different syntax: ASCII `\d \w \s \b`, `\Q…\E` literals.
fn translate(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            i += 2;
            match (n, in_class) {
                ('d', false) => out.push_str("[0-9]"),
                ('D', false) => out.push_str("[^0-9]"),
                ('w', false) => out.push_str("[0-9A-Za-z_]"),
                ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                ('s', false) => out.push_str("[\\t\\n\\f\\r ]"),
                ('S', false) => out.push_str("[^\\t\\n\\f\\r ]"),
                ('d', true) => out.push_str("0-9"),
                ('w', true) => out.push_str("0-9A-Za-z_"),
                ('s', true) => out.push_str("\\t\\n\\f\\r "),
                ('b', false) => out.push_str("(?-u:\\b)"),
                ('B', false) => out.push_str("(?-u:\\B)"),
                ('Q', _) => {
                    let rest: String = chars[i..].iter().collect();
                    let (lit, tail) = match rest.find("\\E") {
                        Some(end) => (rest[..end].to_string(), end + 2),
                        None => (rest.clone(), rest.len()),
                    };
                    out.push_str(&regex::escape(&lit));
                    i += rest[..tail].chars().count();
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            } else if c == '[' && chars.get(i + 1) == Some(&':') {
                // [:alpha:] inside a class: copy through to the closing ":]".
                let rest: String = chars[i..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    out.push_str(&rest[..end + 2]);
                    i += rest[..end + 2].chars().count();
                    continue;
                }
            } else if c == '[' {
                // Go treats a nested '[' as a literal; Rust would open a nested class.
                out.push_str("\\[");
                i += 1;
                continue;
            }
            out.push(c);
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            out.push(c);
            i += 1;
            // A leading '^' and a ']' right after the bracket are part of the class.
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            if chars.get(i) == Some(&']') {
                out.push_str("\\]");
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
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

fn find_all(r: &Regex, a: &[Value]) -> FuncResult {
    let n = arg_int(&a[2]);
    let s = arg_str(&a[1]);
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let found: Vec<String> = r
        .find_iter(s)
        .take(limit)
        .map(|m| m.as_str().to_string())
        .collect();
    Ok(Value::string_list(found))
}

/// Go `(*Regexp).Split(s, n)`.
fn split(r: &Regex, pattern: &str, s: &str, n: i64) -> Value {
    if n == 0 {
        return Value::string_list(Vec::new());
    }
    if !pattern.is_empty() && s.is_empty() {
        return Value::string_list(vec![String::new()]);
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut out: Vec<String> = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in r.find_iter(s).take(limit) {
        if n > 0 && out.len() == limit - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    Value::string_list(out)
}
