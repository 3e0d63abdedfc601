//! Sprig's string functions (`trim`, `trunc`, `indent`, `quote`, `replace`, `split`, `join`,
//! case conversions, random strings, ...) with Go's byte-oriented semantics.

use super::bridge::format_v;
use super::conv::{go_is_space, strslice, strval};
use super::crypto::random_below;
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_int, arg_str, def, ok_str, var};
use crate::value::{Map, Value, go_bytes, go_len, go_lossy, go_string, raw_byte_of};

pub(super) const FUNCS: &[FuncDef] = &[
    def("hello", &[], |_, _| ok_str("Hello!")),
    def("abbrev", &[Param::Int, Param::String], abbrev),
    def(
        "abbrevboth",
        &[Param::Int, Param::Int, Param::String],
        abbrevboth,
    ),
    def("trunc", &[Param::Int, Param::String], trunc),
    def("trim", &[Param::String], |_, a| {
        ok_str(arg_str(&a[0]).trim_matches(go_is_space))
    }),
    // Go's strings.ToUpper/ToLower rewrite each byte of invalid UTF-8 as U+FFFD.
    def("upper", &[Param::String], |_, a| {
        ok_str(go_upper(&go_lossy(arg_str(&a[0]))))
    }),
    def("lower", &[Param::String], |_, a| {
        ok_str(go_lossy(arg_str(&a[0])).to_lowercase())
    }),
    def("title", &[Param::String], |_, a| {
        ok_str(title(arg_str(&a[0])))
    }),
    def("untitle", &[Param::String], |_, a| {
        ok_str(untitle(arg_str(&a[0])))
    }),
    def("substr", &[Param::Int, Param::Int, Param::String], substr),
    def("repeat", &[Param::Int, Param::String], repeat),
    def("trimall", &[Param::String, Param::String], trim_all),
    def("trimAll", &[Param::String, Param::String], trim_all),
    def("trimSuffix", &[Param::String, Param::String], |_, a| {
        let (suffix, s) = (arg_str(&a[0]), arg_str(&a[1]));
        ok_str(s.strip_suffix(suffix).unwrap_or(s))
    }),
    def("trimPrefix", &[Param::String, Param::String], |_, a| {
        let (prefix, s) = (arg_str(&a[0]), arg_str(&a[1]));
        ok_str(s.strip_prefix(prefix).unwrap_or(s))
    }),
    def("nospace", &[Param::String], |_, a| {
        ok_str(nospace(arg_str(&a[0])))
    }),
    def("initials", &[Param::String], |_, a| {
        ok_str(initials(arg_str(&a[0])))
    }),
    def("randAlphaNum", &[Param::Int], |_, a| {
        ok_str(random_string(arg_int(&a[0]), ALNUM))
    }),
    def("randAlpha", &[Param::Int], |_, a| {
        ok_str(random_string(arg_int(&a[0]), ALPHA))
    }),
    def("randNumeric", &[Param::Int], |_, a| {
        ok_str(random_string(arg_int(&a[0]), DIGITS))
    }),
    def("randAscii", &[Param::Int], |_, a| {
        ok_str(random_string(arg_int(&a[0]), ASCII))
    }),
    def("swapcase", &[Param::String], |_, a| {
        ok_str(swapcase(arg_str(&a[0])))
    }),
    def("shuffle", &[Param::String], |_, a| {
        ok_str(shuffle(arg_str(&a[0])))
    }),
    def("snakecase", &[Param::String], |_, a| {
        ok_str(split_case(arg_str(&a[0]), '_'))
    }),
    def("kebabcase", &[Param::String], |_, a| {
        ok_str(split_case(arg_str(&a[0]), '-'))
    }),
    def("camelcase", &[Param::String], |_, a| {
        ok_str(pascal_case(arg_str(&a[0])))
    }),
    def("wrap", &[Param::Int, Param::String], |_, a| {
        ok_str(wrap_custom(arg_str(&a[1]), arg_int(&a[0]), "\n", false))
    }),
    def(
        "wrapWith",
        &[Param::Int, Param::String, Param::String],
        |_, a| {
            ok_str(wrap_custom(
                arg_str(&a[2]),
                arg_int(&a[0]),
                arg_str(&a[1]),
                true,
            ))
        },
    ),
    def("contains", &[Param::String, Param::String], |_, a| {
        Ok(Value::Bool(arg_str(&a[1]).contains(arg_str(&a[0]))))
    }),
    def("hasPrefix", &[Param::String, Param::String], |_, a| {
        Ok(Value::Bool(arg_str(&a[1]).starts_with(arg_str(&a[0]))))
    }),
    def("hasSuffix", &[Param::String, Param::String], |_, a| {
        Ok(Value::Bool(arg_str(&a[1]).ends_with(arg_str(&a[0]))))
    }),
    var("quote", &[], Param::Any, quote),
    var("squote", &[], Param::Any, squote),
    var("cat", &[], Param::Any, cat),
    def("indent", &[Param::Int, Param::String], indent),
    def("nindent", &[Param::Int, Param::String], nindent),
    def(
        "replace",
        &[Param::String, Param::String, Param::String],
        |_, a| ok_str(go_replace(arg_str(&a[2]), arg_str(&a[0]), arg_str(&a[1]))),
    ),
    def(
        "plural",
        &[Param::String, Param::String, Param::Int],
        |_, a| {
            Ok(if super::arg_int(&a[2]) == 1 {
                a[0].clone()
            } else {
                a[1].clone()
            })
        },
    ),
    def("split", &[Param::String, Param::String], split),
    def(
        "splitn",
        &[Param::String, Param::Int, Param::String],
        splitn,
    ),
    def("splitList", &[Param::String, Param::String], |_, a| {
        Ok(Value::string_list(go_split(
            arg_str(&a[1]),
            arg_str(&a[0]),
            -1,
        )))
    }),
    def("join", &[Param::String, Param::Any], |_, a| {
        ok_str(strslice(&a[1]).join(arg_str(&a[0])))
    }),
    var("seq", &[], Param::Int, seq),
];

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";
const ASCII: &[u8] = b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// A string of `count` random characters from `set` (negative count: empty, as goutils).
fn random_string(count: i64, set: &[u8]) -> String {
    (0..count.max(0))
        .map(|_| char::from(set[random_below(set.len() as u64) as usize]))
        .collect()
}

/// Go string slicing by byte offsets (`start..end` within [`go_len`]); an offset inside a
/// UTF-8 sequence leaves raw bytes, as in Go.
pub(super) fn byte_slice(s: &str, start: usize, end: usize) -> String {
    go_string(&go_bytes(s)[start..end])
}

/// Go's panic text for a bad `s[start:end]`.
fn bounds_error(start: Option<i64>, end: Option<i64>, len: usize) -> FuncError {
    let msg = match (start, end) {
        (None, Some(e)) if e < 0 => format!("slice bounds out of range [:{e}]"),
        (None, Some(e)) => format!("slice bounds out of range [:{e}] with length {len}"),
        (Some(s), None) if s < 0 => format!("slice bounds out of range [{s}:]"),
        (Some(s), None) => format!("slice bounds out of range [{s}:{len}]"),
        (Some(_), Some(e)) if e as usize > len => {
            format!("slice bounds out of range [:{e}] with length {len}")
        }
        (Some(s), Some(e)) => format!("slice bounds out of range [{s}:{e}]"),
        (None, None) => "slice bounds out of range".to_string(),
    };
    FuncError::call(format!("runtime error: {msg}"))
}

fn trunc(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let (c, s) = (arg_int(&a[0]), arg_str(&a[1]));
    let len = go_len(s) as i64;
    if c < 0 && len + c > 0 {
        return ok_str(byte_slice(s, (len + c) as usize, len as usize));
    }
    if c >= 0 && len > c {
        return ok_str(byte_slice(s, 0, c as usize));
    }
    Ok(a[1].clone())
}

fn substr(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let (start, end, s) = (arg_int(&a[0]), arg_int(&a[1]), arg_str(&a[2]));
    let len = go_len(s);
    if start < 0 {
        if end < 0 || end as usize > len {
            return Err(bounds_error(None, Some(end), len));
        }
        return ok_str(byte_slice(s, 0, end as usize));
    }
    if end < 0 || end as usize > len {
        if start as usize > len {
            return Err(bounds_error(Some(start), None, len));
        }
        return ok_str(byte_slice(s, start as usize, len));
    }
    if start > end {
        return Err(bounds_error(Some(start), Some(end), len));
    }
    ok_str(byte_slice(s, start as usize, end as usize))
}

fn repeat(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let count = arg_int(&a[0]);
    if count < 0 {
        return Err(FuncError::call("strings: negative Repeat count"));
    }
    ok_str(arg_str(&a[1]).repeat(count as usize))
}

fn trim_all(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let cutset: Vec<char> = arg_str(&a[0]).chars().collect();
    ok_str(arg_str(&a[1]).trim_matches(|c| cutset.contains(&c)))
}

/// Go `strings.ToUpper` (Rust's maps `ß` to `SS`; Go keeps one rune per rune).
fn go_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

fn upper_rune(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn lower_rune(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go `strings.Title`: upper-case the first letter of every word; words are separated by
/// anything but ASCII letters/digits/underscore (and, beyond ASCII, by spaces only).
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphabetic() || c.is_numeric() {
            false
        } else {
            go_is_space(c)
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_sep(prev) { upper_rune(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils `Uncapitalize`: lower-case the first letter after each whitespace run.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if go_is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                lower_rune(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `SwapCase`.
fn swapcase(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                whitespace = false;
                lower_rune(c)
            } else if c.is_lowercase() {
                let out = upper_rune(c);
                whitespace = false;
                out
            } else {
                whitespace = go_is_space(c);
                c
            }
        })
        .collect()
}

/// goutils `DeleteWhiteSpace` (works byte by byte, like the original).
fn nospace(s: &str) -> String {
    let is_space = |b: u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0);
    if !s.bytes().any(is_space) {
        return s.to_string();
    }
    s.bytes()
        .filter(|b| !is_space(*b))
        .map(char::from)
        .collect()
}

/// goutils `Initials`: the first byte of each whitespace-separated word.
fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for b in s.bytes() {
        let c = char::from(b);
        if go_is_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// xstrings `Shuffle`: the runes in random order.
fn shuffle(s: &str) -> String {
    let mut runes: Vec<char> = s.chars().collect();
    for i in (1..runes.len()).rev() {
        let j = random_below(i as u64 + 1) as usize;
        runes.swap(i, j);
    }
    runes.into_iter().collect()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || go_is_space(c)
}

/// xstrings v1.5 `ToPascalCase` (Sprig's `camelcase`): leading connectors (`-`, `_`,
/// spaces) are kept, a connector run between words keeps all but its last rune, the rune after
/// a connector is upper-cased, and a word that starts upper-case has its following upper-case
/// run lowered (`HTTPServer` -> `Httpserver`, `GOLANG_IS` -> `GolangIs`).
fn pascal_case(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut first_upper = false;
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            r0 = Some(upper_rune(c));
            break;
        }
        out.push(c);
        r0 = Some(c);
    }
    let Some(mut r0) = r0 else { return out };
    let rest: Vec<char> = chars.collect();
    if rest.is_empty() {
        out.push(r0);
        return out;
    }
    for c in rest {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = upper_rune(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = lower_rune(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// Go's `unicode.IsPunct` (ASCII exactly; common non-ASCII punctuation blocks).
fn go_is_punct(c: char) -> bool {
    if c.is_ascii() {
        return "!\"#%&'()*,-./:;?@[\\]_{}".contains(c);
    }
    matches!(c as u32, 0xa1 | 0xa7 | 0xab | 0xb6 | 0xb7 | 0xbb | 0xbf | 0x2010..=0x2027 | 0x2030..=0x205e | 0x3001..=0x3003 | 0x3008..=0x3011)
}

/// xstrings `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic() && !matches!(c as u32, 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0x20000..=0x2ffff)
}

/// xstrings `nextWord`: the kind and text of the next word and the rest.
fn next_word(s: &[char]) -> (Word, &[char], &[char]) {
    let Some(&c) = s.first() else {
        return (Word::Invalid, &[], &[]);
    };
    let mut i = 1;
    let kind = if is_connector(c) {
        while i < s.len() && is_connector(s[i]) {
            i += 1;
        }
        Word::Connector
    } else if go_is_punct(c) {
        while i < s.len() && go_is_punct(s[i]) {
            i += 1;
        }
        Word::Punct
    } else if c.is_uppercase() {
        if i < s.len() && s[i].is_uppercase() {
            while i < s.len() && s[i].is_uppercase() {
                i += 1;
            }
            // The last capital starts the next word when letters follow ("HTTPServer").
            if i < s.len() && is_alphabet(s[i]) {
                i -= 1;
            }
        } else if i < s.len() && is_alphabet(s[i]) {
            while i < s.len() && is_alphabet(s[i]) && !s[i].is_uppercase() {
                i += 1;
            }
        }
        Word::Upper
    } else if is_alphabet(c) {
        while i < s.len() && is_alphabet(s[i]) && !s[i].is_uppercase() {
            i += 1;
        }
        Word::Alpha
    } else if c.is_numeric() {
        while i < s.len() && s[i].is_numeric() {
            i += 1;
        }
        Word::Number
    } else {
        while i < s.len()
            && !(is_connector(s[i]) || is_alphabet(s[i]) || s[i].is_numeric() || go_is_punct(s[i]))
        {
            i += 1;
        }
        Word::Other
    };
    (kind, &s[..i], &s[i..])
}

/// xstrings `toLower`: upper-case words are lowered and connector runs become `sep`.
fn push_lower(out: &mut String, kind: Word, word: &[char], sep: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.extend(word);
        return;
    }
    for &c in word {
        out.push(if is_connector(c) { sep } else { lower_rune(c) });
    }
}

/// xstrings `ToSnakeCase`/`ToKebabCase`: words joined by `sep`, lower-cased; a number
/// sticks to the letters after it (`Bld4Floor3rd` -> `bld4_floor_3rd`); punctuation is kept.
fn split_case(s: &str, sep: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let (mut kind, mut word, mut rest) = next_word(&chars);
    while !rest.is_empty() {
        if kind != Word::Connector {
            push_lower(&mut out, kind, word, sep);
        }
        let (prev, last) = (kind, word);
        (kind, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while matches!(kind, Word::Alpha | Word::Number) {
                    push_lower(&mut out, kind, word, sep);
                    (kind, word, rest) = next_word(rest);
                }
                if !matches!(kind, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(sep);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, sep),
            Word::Punct => {}
            _ => {
                if kind != Word::Number {
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(sep);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = next_word(rest);
                if kind != Word::Alpha {
                    push_lower(&mut out, Word::Number, number, sep);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(sep);
                    }
                    continue;
                }
                out.push(sep);
                push_lower(&mut out, Word::Number, number, sep);
                while matches!(kind, Word::Alpha | Word::Number) {
                    push_lower(&mut out, kind, word, sep);
                    (kind, word, rest) = next_word(rest);
                }
                if !matches!(kind, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(sep);
                }
            }
        }
    }
    push_lower(&mut out, kind, word, sep);
    out
}

/// goutils `WrapCustom`.
fn wrap_custom(s: &str, width: i64, newline: &str, long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let b = go_bytes(s);
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        let space = b[offset..end].iter().rposition(|c| *c == b' ');
        if let Some(rel) = space {
            out.extend_from_slice(&b[offset..offset + rel]);
            out.extend_from_slice(newline.as_bytes());
            offset += rel + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..width + offset]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(rel) => {
                    out.extend_from_slice(&b[offset..end + rel]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + rel + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    go_string(&out)
}

/// goutils `Abbreviate`/`AbbreviateFull` (byte offsets, "..." marker).
fn abbreviate_full(s: &str, offset: i64, max: i64) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    if max < 4 {
        return None;
    }
    let len = s.len() as i64;
    if len <= max {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    if offset <= 4 {
        return Some(byte_slice(s, 0, (max - 3) as usize) + "...");
    }
    if max < 7 {
        return None;
    }
    if offset + max - 3 < len {
        let rest = byte_slice(s, offset as usize, s.len());
        return abbreviate_full(&rest, 0, max - 3).map(|r| format!("...{r}"));
    }
    Some(format!(
        "...{}",
        byte_slice(s, (len - (max - 3)) as usize, s.len())
    ))
}

fn abbrev(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let (width, s) = (arg_int(&a[0]), arg_str(&a[1]));
    if width < 4 {
        return Ok(a[1].clone());
    }
    ok_str(abbreviate_full(s, 0, width).unwrap_or_default())
}

fn abbrevboth(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let (left, right, s) = (arg_int(&a[0]), arg_int(&a[1]), arg_str(&a[2]));
    if right < 4 || (left > 0 && right < 7) {
        return Ok(a[2].clone());
    }
    ok_str(abbreviate_full(s, left, right).unwrap_or_default())
}

/// Go `strconv.Quote` (what `%q` prints for a string).
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if let Some(b) = raw_byte_of(c) {
            out.push_str(&format!("\\x{b:02x}"));
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !go_is_print(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` (graphic characters and the ASCII space).
fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Format characters (Cf), surrogates/private use and noncharacters are not printable.
    !matches!(u,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0xe000..=0xf8ff | 0xfdd0..=0xfdef | 0xfffe | 0xffff | 0xe0001 | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff)
}

fn quote(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !v.is_nil())
        .map(|v| go_quote(&strval(v)))
        .collect();
    ok_str(parts.join(" "))
}

fn squote(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !v.is_nil())
        .map(|v| format!("'{}'", format_v(v)))
        .collect();
    ok_str(parts.join(" "))
}

fn cat(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(format_v).collect();
    ok_str(parts.join(" "))
}

fn indent_text(spaces: i64, s: &str) -> Result<String, FuncError> {
    if spaces < 0 {
        return Err(FuncError::call("strings: negative Repeat count"));
    }
    let pad = " ".repeat(spaces as usize);
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

fn indent(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    ok_str(indent_text(arg_int(&a[0]), arg_str(&a[1]))?)
}

fn nindent(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    ok_str(format!(
        "\n{}",
        indent_text(arg_int(&a[0]), arg_str(&a[1]))?
    ))
}

/// Go `strings.Replace(s, old, new, -1)` (an empty `old` inserts `new` around every rune).
fn go_replace(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

/// Go `strings.SplitN(s, sep, n)` (`n < 0`: all; an empty `sep` splits into runes).
pub(super) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let runes: Vec<String> = s.chars().map(String::from).collect();
        if n < 0 || runes.len() <= n as usize {
            return runes;
        }
        let mut out: Vec<String> = runes[..n as usize - 1].to_vec();
        out.push(runes[n as usize - 1..].concat());
        return out;
    }
    if n < 0 {
        return s.split(sep).map(String::from).collect();
    }
    s.splitn(n as usize, sep).map(String::from).collect()
}

/// Sprig's `split`/`splitn` result: a `map[string]string` with keys `_0`, `_1`, ...
fn parts_map(parts: Vec<String>) -> Value {
    let m: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(p)))
        .collect();
    Value::string_map(m)
}

fn split(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(parts_map(go_split(arg_str(&a[1]), arg_str(&a[0]), -1)))
}

fn splitn(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    Ok(parts_map(go_split(
        arg_str(&a[2]),
        arg_str(&a[0]),
        arg_int(&a[1]),
    )))
}

/// Sprig `seq`: like GNU seq, `seq END`, `seq START END`, `seq START STEP END`.
fn seq(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let p: Vec<i64> = a.iter().map(arg_int).collect();
    let nums = match p.len() {
        1 => {
            let (start, end) = (1, p[0]);
            let inc = if end < start { -1 } else { 1 };
            super::math::until_step(start, end + inc, inc)
        }
        2 => {
            let (start, end) = (p[0], p[1]);
            let step = if end < start { -1 } else { 1 };
            super::math::until_step(start, end + step, step)
        }
        3 => {
            let (start, step, end) = (p[0], p[1], p[2]);
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return ok_str("");
                }
            }
            super::math::until_step(start, end + inc, step)
        }
        _ => return ok_str(""),
    };
    let text: Vec<String> = nums.iter().map(|n| n.to_string()).collect();
    ok_str(text.join(" "))
}
