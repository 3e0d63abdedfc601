//! Sprig's path functions (Go `path`; the `os*` variants are Go `path/filepath`, which on
//! Linux behaves the same) and URL functions (`urlParse`, `urlJoin`, after Go `net/url`).

use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_str, def, ok_str};
use crate::value::{Map, Value};

pub(super) const FUNCS: &[FuncDef] = &[
    def("base", &[Param::String], |_, a| {
        ok_str(base(arg_str(&a[0])))
    }),
    def("dir", &[Param::String], |_, a| ok_str(dir(arg_str(&a[0])))),
    def("clean", &[Param::String], |_, a| {
        ok_str(clean(arg_str(&a[0])))
    }),
    def("ext", &[Param::String], |_, a| ok_str(ext(arg_str(&a[0])))),
    def("isAbs", &[Param::String], |_, a| {
        Ok(Value::Bool(arg_str(&a[0]).starts_with('/')))
    }),
    def("osBase", &[Param::String], |_, a| {
        ok_str(base(arg_str(&a[0])))
    }),
    def("osDir", &[Param::String], |_, a| {
        ok_str(dir(arg_str(&a[0])))
    }),
    def("osClean", &[Param::String], |_, a| {
        ok_str(clean(arg_str(&a[0])))
    }),
    def("osExt", &[Param::String], |_, a| {
        ok_str(ext(arg_str(&a[0])))
    }),
    def("osIsAbs", &[Param::String], |_, a| {
        Ok(Value::Bool(arg_str(&a[0]).starts_with('/')))
    }),
    def("urlParse", &[Param::String], url_parse),
    def("urlJoin", &[Param::Map], url_join),
];

/// Go `path.Clean`: lexical normalisation of `.`/`..`/`//`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// Go `path.Dir`.
fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

/// Go `path.Ext`.
fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

/// Go `url.PathUnescape`-like decoding of `%XX` (invalid escapes are kept as they are).
fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hexpair = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hexpair.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape \"{bad}\""));
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Sprig `urlParse`: the parts of a URL as a dict.
fn url_parse(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let raw = arg_str(&a[0]);
    let fail = |e: String| FuncError::call(format!("unable to parse url: parse \"{raw}\": {e}"));
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, unescape(f).map_err(fail)?),
        None => (raw, String::new()),
    };
    let mut scheme = String::new();
    let mut rest = rest.to_string();
    if let Some(colon) = rest.find(':') {
        let cand = &rest[..colon];
        let valid = cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if colon == 0 {
            return Err(fail("missing protocol scheme".into()));
        }
        if valid {
            scheme = cand.to_ascii_lowercase();
            rest = rest[colon + 1..].to_string();
        }
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r.to_string(), q.to_string()),
        None => (rest, String::new()),
    };
    let mut opaque = String::new();
    let mut host = String::new();
    let mut userinfo = String::new();
    let path;
    if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest;
        path = String::new();
    } else if let Some(after) = rest.strip_prefix("//") {
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        match authority.rsplit_once('@') {
            Some((u, h)) => {
                userinfo = u.to_string();
                host = h.to_string();
            }
            None => host = authority.to_string(),
        }
        path = unescape(p).map_err(fail)?;
    } else {
        path = unescape(&rest).map_err(fail)?;
    }
    let hostname = if let Some(inner) = host.strip_prefix('[') {
        inner.split(']').next().unwrap_or("").to_string()
    } else {
        host.rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_else(|| host.clone())
    };
    let mut m = Map::new();
    for (k, v) in [
        ("scheme", scheme),
        ("host", host),
        ("hostname", hostname),
        ("path", path),
        ("query", query),
        ("opaque", opaque),
        ("fragment", fragment),
        ("userinfo", userinfo),
    ] {
        m.insert(k.to_string(), Value::str(v));
    }
    Ok(Value::map(m))
}

/// Go `url.PathEscape`-like escaping for the path of `URL.String()`.
fn escape_path(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@!*'()".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sprig `urlJoin`: Go `URL.String()` of a dict with `urlParse`'s keys.
fn url_join(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let get = |k: &str| -> Result<String, FuncError> {
        let Value::Map(m) = &a[0] else {
            return Ok(String::new());
        };
        match m.borrow().get(k) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.to_string()),
            Some(other) => Err(FuncError::call(format!(
                "unable to parse {k} key, must be of type string, but {} found",
                other.kind_name()
            ))),
        }
    };
    let (scheme, host, path, query, opaque, fragment, user) = (
        get("scheme")?,
        get("host")?,
        get("path")?,
        get("query")?,
        get("opaque")?,
        get("fragment")?,
        get("userinfo")?,
    );
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !user.is_empty() {
            if !host.is_empty() || !path.is_empty() || !user.is_empty() {
                out.push_str("//");
            }
            if !user.is_empty() {
                out.push_str(&user);
                out.push('@');
            }
            out.push_str(&host);
        }
        let ep = escape_path(&path);
        if !ep.is_empty() && !ep.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&ep);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape_path(&fragment));
    }
    ok_str(out)
}
