//! Helm's `--set` grammar (`pkg/strvals`): `a.b[0]=x,c={1,2}` parsed into a values map.
//!
//! Behaviour follows Helm's parser closely, including its quirks: a trailing `a[0]` with no
//! `=` silently sets an empty list, `a={}` is a one-element list holding an empty string, and
//! assigning through a key of the wrong type reports Go's `interface conversion` panic text.

use std::cell::RefCell;
use std::rc::Rc;

use crate::value::{ElemType, List, Map, MapRef, Value};

/// Largest list index `name[i]` may use.
pub const MAX_INDEX: i64 = 65536;
/// Deepest `a.b.c...` nesting allowed.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// A parse failure; `eof` marks errors that wrap Go's `io.EOF`, which end parsing silently.
#[derive(Debug, Clone, PartialEq)]
struct PErr {
    msg: String,
    eof: bool,
}

impl PErr {
    fn msg(m: impl Into<String>) -> PErr {
        PErr {
            msg: m.into(),
            eof: false,
        }
    }
    fn eof() -> PErr {
        PErr {
            msg: "EOF".into(),
            eof: true,
        }
    }
    fn wrap(prefix: &str, e: PErr) -> PErr {
        PErr {
            msg: format!("{prefix}{}", e.msg),
            eof: e.eof,
        }
    }
}

/// How values are turned into Go values.
pub enum ValueMode<'a> {
    /// `--set`: `true`/`false`/`null`/int64 inference.
    Typed,
    /// `--set-string`: everything is a string.
    String,
    /// `--set-file`: the value is a path; the reader returns the file's content.
    File(&'a dyn Fn(&str) -> Result<Value, String>),
    /// `--set-json`: the value is a JSON document.
    Json,
    /// `--set-literal`: everything after the first `=` verbatim.
    Literal,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    mode: ValueMode<'a>,
}

/// Parse one `--set`-style argument into `dest` (Helm's `ParseInto` family). The error text is
/// Helm's, without the `failed parsing --set data: ` prefix.
pub fn parse_into(s: &str, dest: &Value, mode: ValueMode<'_>) -> Result<(), String> {
    let Value::Map(m) = dest else {
        return Err("destination is not a map".into());
    };
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        mode,
    };
    loop {
        match p.key(m, 0) {
            Ok(()) => continue,
            Err(e) if e.eof => return Ok(()),
            Err(e) => return Err(e.msg),
        }
    }
}

/// Parse a `--set` line into a fresh map (Helm's `strvals.Parse`).
pub fn parse(s: &str) -> Result<Value, String> {
    let v = Value::empty_map();
    parse_into(s, &v, ValueMode::Typed)?;
    Ok(v)
}

/// Parse a `--set-string` line into a fresh map.
pub fn parse_string(s: &str) -> Result<Value, String> {
    let v = Value::empty_map();
    parse_into(s, &v, ValueMode::String)?;
    Ok(v)
}

/// Go's `%q` of a string (strconv.Quote).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]rune`: `['a' 'b']`.
fn go_quote_runes(s: &str) -> String {
    let parts: Vec<String> = s
        .chars()
        .map(|c| match c {
            '\'' => "'\\''".to_string(),
            '"' => "'\"'".to_string(),
            c => {
                let q = go_quote(&c.to_string());
                format!("'{}'", &q[1..q.len() - 1])
            }
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

fn is_go_printable(c: char) -> bool {
    // Approximation of unicode.IsPrint: letters, marks, numbers, punctuation, symbols and
    // the ASCII space; other spaces and controls are escaped.
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff)
}

fn type_assert_panic(v: &Value, want: &str) -> PErr {
    let got = match v {
        Value::Nil => "nil".to_string(),
        other => other.type_name(),
    };
    PErr::msg(format!(
        "unable to parse key: interface conversion: interface {{}} is {got}, not {want}"
    ))
}

const LIST_T: &str = "[]interface {}";
const MAP_T: &str = "map[string]interface {}";

fn set(data: &Rc<RefCell<Map>>, key: String, val: Value) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key, val);
}

fn set_index(
    mut list: Vec<Value>,
    index: i64,
    val: Value,
) -> Result<Vec<Value>, (Vec<Value>, PErr)> {
    if index < 0 {
        return Err((
            list,
            PErr::msg(format!("negative {index} index not allowed")),
        ));
    }
    if index > MAX_INDEX {
        return Err((
            list,
            PErr::msg(format!(
                "index of {index} is greater than maximum supported index of {MAX_INDEX}"
            )),
        ));
    }
    let i = index as usize;
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = val;
    Ok(list)
}

fn list_value(items: Vec<Value>) -> Value {
    Value::List(Rc::new(List {
        elem: ElemType::Interface,
        items,
    }))
}

fn list_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) if l.elem == ElemType::Interface => Some(l.items.clone()),
        _ => None,
    }
}

/// `strconv.Atoi` with Go's error texts.
fn go_atoi(s: &str) -> Result<i64, String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

/// Helm's type inference for `--set` values.
pub fn typed_val(val: &str, as_string: bool) -> Value {
    if as_string {
        return Value::str(val);
    }
    if val.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if val.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if val.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if val == "0" {
        return Value::Int64(0);
    }
    if !val.is_empty()
        && !val.starts_with('0')
        && let Some(i) = parse_go_int64(val)
    {
        return Value::Int64(i);
    }
    Value::str(val)
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits, no underscores.
fn parse_go_int64(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

impl Parser<'_> {
    fn literal(&self) -> bool {
        matches!(self.mode, ValueMode::Literal)
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    /// Read until one of `stop`; backslash escapes the next rune (except in literal mode).
    /// Returns the text, the stop rune, or EOF.
    fn runes_until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let escapes = !self.literal();
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(r) if stop.contains(&r) => return (v, Some(r)),
                Some('\\') if escapes => match self.read() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(r) => v.push(r),
            }
        }
    }

    fn convert(&self, rs: &str) -> Result<Value, PErr> {
        match &self.mode {
            ValueMode::Typed => Ok(typed_val(rs, false)),
            ValueMode::String | ValueMode::Literal | ValueMode::Json => Ok(typed_val(rs, true)),
            ValueMode::File(reader) => reader(rs).map_err(PErr::msg),
        }
    }

    fn key(&mut self, data: &Rc<RefCell<Map>>, mut level: usize) -> Result<(), PErr> {
        let stop: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.runes_until(stop);
        match last {
            None => {
                if k.is_empty() {
                    return Err(PErr::eof());
                }
                Err(PErr::msg(format!("key {} has no value", go_quote(&k))))
            }
            Some('[') => {
                let i = self
                    .key_index()
                    .map_err(|e| PErr::wrap("error parsing index: ", e))?;
                let existing = data.borrow().get(&k).cloned();
                let list = match existing {
                    None => Vec::new(),
                    Some(v) => list_items(&v).ok_or_else(|| type_assert_panic(&v, LIST_T))?,
                };
                let (list, err) = match self.list_item(list, i, level) {
                    Ok(l) => (l, None),
                    Err((l, e)) => (l, Some(e)),
                };
                set(data, k, list_value(list));
                match err {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }
            Some('=') => {
                if self.literal() {
                    let (value, _) = self.runes_until(&[]);
                    set(data, k, Value::str(value));
                    return Ok(());
                }
                if matches!(self.mode, ValueMode::Json) {
                    if self.empty_val() {
                        set(data, k, Value::Nil);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(vl) => {
                        set(data, k, list_value(vl));
                        Ok(())
                    }
                    Err(ListErr::Eof) => {
                        set(data, k, Value::str(""));
                        Err(PErr::eof())
                    }
                    Err(ListErr::NotList) => {
                        // Helm returns the value reader's error here (nil), not the EOF.
                        let (rs, _) = self.runes_until(&[',']);
                        let v = self.convert(&rs)?;
                        set(data, k, v);
                        Ok(())
                    }
                    Err(ListErr::Other(e)) => Err(e),
                }
            }
            Some(',') => {
                set(data, k.clone(), Value::str(""));
                Err(PErr::msg(format!(
                    "key {} has no value (cannot end with ,)",
                    go_quote(&k)
                )))
            }
            Some(_) => {
                // '.'
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(PErr::msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner = match existing {
                    None => MapRef::new(Map::new()),
                    Some(Value::Map(m)) => m,
                    Some(v) => return Err(type_assert_panic(&v, MAP_T)),
                };
                let e = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if e.is_ok() && empty {
                    return Err(PErr::msg(format!("key map {} has no value", go_quote(&k))));
                }
                if !empty {
                    set(data, k, Value::Map(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, PErr> {
        let (v, last) = self.runes_until(&[']']);
        if last.is_none() {
            return Err(PErr::eof());
        }
        go_atoi(&v).map_err(PErr::msg)
    }

    fn list_item(
        &mut self,
        list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> Result<Vec<Value>, (Vec<Value>, PErr)> {
        if i < 0 {
            return Err((list, PErr::msg(format!("negative {i} index not allowed"))));
        }
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err((
                list,
                PErr::msg(format!(
                    "unexpected data at end of array index: {}",
                    go_quote_runes(&k)
                )),
            ));
        }
        match last {
            None => Err((list, PErr::eof())),
            Some('=') => {
                if self.literal() {
                    let (value, _) = self.runes_until(&[]);
                    return set_index(list, i, Value::str(value));
                }
                if matches!(self.mode, ValueMode::Json) {
                    if self.empty_val() {
                        return set_index(list, i, Value::Nil);
                    }
                    let v = match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return Err((list, e)),
                    };
                    let list = set_index(list, i, v)?;
                    self.empty_val();
                    return Ok(list);
                }
                match self.val_list() {
                    Ok(vl) => set_index(list, i, list_value(vl)),
                    Err(ListErr::Eof) => set_index(list, i, Value::str("")),
                    Err(ListErr::NotList) => {
                        let (rs, _) = self.runes_until(&[',']);
                        match self.convert(&rs) {
                            Ok(v) => set_index(list, i, v),
                            Err(e) => Err((list, e)),
                        }
                    }
                    Err(ListErr::Other(e)) => Err((list, e)),
                }
            }
            Some('[') => {
                let next_i = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return Err((list, PErr::wrap("error parsing index: ", e))),
                };
                let mut crt = Vec::new();
                if (list.len() as i64) > i {
                    let existed = &list[i as usize];
                    if !existed.is_nil() {
                        match list_items(existed) {
                            Some(items) => crt = items,
                            None => {
                                let e = type_assert_panic(existed, LIST_T);
                                return Err((list, e));
                            }
                        }
                    }
                }
                match self.list_item(crt, next_i, level) {
                    Ok(list2) => set_index(list, i, list_value(list2)),
                    Err((_, e)) => Err((list, e)),
                }
            }
            Some(_) => {
                // '.'
                let mut inner = MapRef::new(Map::new());
                if (list.len() as i64) > i
                    && let Value::Map(m) = &list[i as usize]
                {
                    inner = m.clone();
                }
                if let Err(e) = self.key(&inner, level) {
                    return Err((list, e));
                }
                set_index(list, i, Value::Map(inner))
            }
        }
    }

    /// Skip blanks; true at EOF or after a comma (consumed); false before anything else.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None => return true,
                Some(',') => return true,
                Some(c) if c.is_whitespace() => continue,
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    fn json_value(&mut self) -> Result<Value, PErr> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut it = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        match it.next() {
            Some(Ok(v)) => {
                let consumed = it.byte_offset();
                self.pos += rest[..consumed].chars().count();
                Ok(json_to_value(&v))
            }
            Some(Err(e)) => Err(PErr::msg(e.to_string())),
            None => Err(PErr::msg("unexpected EOF")),
        }
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListErr> {
        match self.read() {
            None => return Err(ListErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(ListErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                None => return Err(ListErr::Other(PErr::msg("list must terminate with '}'"))),
                Some('}') => {
                    if let Some(r) = self.read()
                        && r != ','
                    {
                        self.unread();
                    }
                    let v = self.convert(&rs).map_err(ListErr::Other)?;
                    list.push(v);
                    return Ok(list);
                }
                Some(_) => {
                    let v = self.convert(&rs).map_err(ListErr::Other)?;
                    list.push(v);
                }
            }
        }
    }
}

enum ListErr {
    Eof,
    NotList,
    Other(PErr),
}

/// `encoding/json` into `interface{}`: numbers become float64.
pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => list_value(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Value, String> {
        parse(s)
    }

    #[test]
    fn basic_forms() {
        let v = p("a=1,b=x").expect("parses");
        let Value::Map(m) = v else { panic!("map") };
        assert_eq!(m.borrow().get("a"), Some(&Value::Int64(1)));
        assert_eq!(m.borrow().get("b"), Some(&Value::str("x")));
        assert_eq!(p("a").expect_err("fails"), "key \"a\" has no value");
        assert_eq!(
            p("a..b=1").expect_err("fails"),
            "key map \"a\" has no value"
        );
        assert_eq!(
            p("a={a,b").expect_err("fails"),
            "list must terminate with '}'"
        );
    }
}
