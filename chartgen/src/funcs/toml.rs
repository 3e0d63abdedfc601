//! TOML reading for Helm's `fromToml`, behaving like BurntSushi/toml v1.6.0 (Helm v4.1.4):
//! the same accepted documents, the same values (integers int64, floats float64, tables maps,
//! arrays `[]interface {}`) and, above all, the same error texts, which `fromToml` returns as
//! data (`toml: line 1 (last key "a"): unexpected EOF; expected value`).
//!
//! Like BurntSushi's, the reader is a lexer (a state machine emitting items) and a parser
//! that consumes those items; the lexer runs to its first error first, which gives the same
//! results as BurntSushi's interleaved goroutine-free design because the parser only ever
//! sees the items before an error. Datetimes become `time.Time` values.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use super::dates::GoTime;
use super::strings::go_quote;
use crate::value::{Map, Value, raw_byte_of};

/// Parse a TOML document into a map, or BurntSushi's error text.
pub(super) fn parse(text: &str) -> Result<Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.bytes().take(6).any(|b| b == 0) {
        return Err("toml: line 1: files cannot contain NULL bytes; probably using UTF-16; TOML files must be UTF-8".into());
    }
    let items = Lexer::run(text);
    let mut p = Parser {
        items,
        next: 0,
        context: Vec::new(),
        current_key: String::new(),
        pos_line: 0,
        mapping: Tbl::new(),
        key_types: HashMap::new(),
        implicits: HashSet::new(),
    };
    p.parse().map_err(|e| e.to_string())?;
    Ok(table_value(&p.mapping))
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typ {
    Error,
    Eof,
    Text,
    String,
    StringEsc,
    RawString,
    MultilineString,
    RawMultilineString,
    Bool,
    Integer,
    Float,
    Datetime,
    Array,
    ArrayEnd,
    TableStart,
    TableEnd,
    ArrayTableStart,
    ArrayTableEnd,
    KeyStart,
    KeyEnd,
    CommentStart,
    InlineTableStart,
    InlineTableEnd,
}

#[derive(Debug, Clone)]
struct Item {
    typ: Typ,
    /// The item's text, or the error message.
    val: String,
    line: usize,
}

/// The lexer's states (BurntSushi's state functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Top,
    TopEnd,
    TableStart,
    TableEnd,
    ArrayTableEnd,
    TableNameStart,
    TableNameEnd,
    BareName,
    QuotedName,
    KeyStart,
    KeyNameStart,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    InlineTableValue,
    InlineTableValueEnd,
    InlineTableEnd,
    String,
    MultilineString,
    RawString,
    MultilineRawString,
    MultilineStringEscape,
    StringEscape,
    HexEscape,
    ShortUnicodeEscape,
    LongUnicodeEscape,
    NumberOrDateStart,
    NumberOrDate,
    Datetime,
    HexInteger,
    OctalInteger,
    BinaryInteger,
    DecimalNumber,
    DecimalNumberStart,
    BaseNumberOrDate,
    Float,
    Bool,
    CommentStart,
    Comment,
}

/// End of input, as BurntSushi's lexer reports it (a real NUL is refused as a control char).
const EOF: char = '\0';
/// What the lexer's `next` returns after reporting a bad character.
const BAD: char = '\u{FFFD}';

struct Lexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    line: usize,
    widths: [usize; 4],
    nprev: usize,
    at_eof: bool,
    esc: bool,
    stack: Vec<St>,
    items: Vec<Item>,
    failed: bool,
}

fn is_whitespace(c: char) -> bool {
    c == '\t' || c == ' '
}
fn is_nl(c: char) -> bool {
    c == '\n' || c == '\r'
}
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\r' | '\n') && (c <= '\u{1f}' || c == '\u{7f}')
}
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}
fn is_hex(c: char) -> bool {
    c.is_ascii_hexdigit()
}
fn is_octal(c: char) -> bool {
    ('0'..='7').contains(&c)
}
fn is_binary(c: char) -> bool {
    c == '0' || c == '1'
}
fn is_bare_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Go's `%q` of a rune.
fn quote_rune(c: char) -> String {
    let q = go_quote(&c.to_string());
    let inner = &q[1..q.len() - 1];
    let inner = match inner {
        "\\\"" => "\"",
        "'" => "\\'",
        other => other,
    };
    format!("'{inner}'")
}

fn rune_or_eof(c: char) -> String {
    if c == EOF {
        "end of file".into()
    } else {
        format!("'{c}'")
    }
}

impl<'a> Lexer<'a> {
    fn run(input: &'a str) -> Vec<Item> {
        let mut lx = Lexer {
            input,
            start: 0,
            pos: 0,
            line: 1,
            widths: [0; 4],
            nprev: 0,
            at_eof: false,
            esc: false,
            stack: Vec::new(),
            items: Vec::new(),
            failed: false,
        };
        let mut state = Some(St::Top);
        while let Some(st) = state {
            state = lx.step(st);
            if lx.failed {
                break;
            }
        }
        lx.items
    }

    fn current(&self) -> &'a str {
        &self.input[self.start..self.pos]
    }

    fn emit(&mut self, typ: Typ) {
        let val = self.current().to_string();
        self.items.push(Item {
            typ,
            val,
            line: self.line,
        });
        self.start = self.pos;
    }

    fn emit_trim(&mut self, typ: Typ) {
        let val = self.current().trim().to_string();
        self.items.push(Item {
            typ,
            val,
            line: self.line,
        });
        self.start = self.pos;
    }

    fn next(&mut self) -> char {
        if self.at_eof || self.failed {
            return EOF;
        }
        let Some(c) = self.input[self.pos..].chars().next() else {
            self.at_eof = true;
            return EOF;
        };
        if c == '\n' {
            self.line += 1;
        }
        self.widths = [
            self.widths[0],
            self.widths[0],
            self.widths[1],
            self.widths[2],
        ];
        if self.nprev < 4 {
            self.nprev += 1;
        }
        if let Some(b) = raw_byte_of(c) {
            self.error(format!("invalid UTF-8 byte: 0x{b:02x}"));
            return BAD;
        }
        let lone_cr = c == '\r' && self.input.as_bytes().get(self.pos + 1) != Some(&b'\n');
        if is_control(c) || lone_cr {
            self.fail(
                self.line,
                format!(
                    "TOML files cannot contain control characters: '0x{:02x}'",
                    u32::from(c)
                ),
            );
            return BAD;
        }
        self.widths[0] = c.len_utf8();
        self.pos += c.len_utf8();
        c
    }

    fn backup(&mut self) {
        if self.at_eof {
            self.at_eof = false;
            return;
        }
        if self.nprev == 0 {
            return;
        }
        let w = self.widths[0];
        self.widths = [self.widths[1], self.widths[2], self.widths[3], 0];
        self.nprev -= 1;
        self.pos -= w;
        if self.input.as_bytes().get(self.pos) == Some(&b'\n') {
            self.line -= 1;
        }
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn accept(&mut self, want: char) -> bool {
        if self.next() == want {
            return true;
        }
        self.backup();
        false
    }

    fn peek(&mut self) -> char {
        let c = self.next();
        self.backup();
        c
    }

    fn skip(&mut self, pred: fn(char) -> bool) {
        loop {
            let c = self.next();
            if pred(c) && !self.failed {
                continue;
            }
            self.backup();
            self.ignore();
            return;
        }
    }

    fn pop(&mut self) -> Option<St> {
        Some(self.stack.pop().unwrap_or(St::Top))
    }

    fn fail(&mut self, line: usize, msg: String) -> Option<St> {
        if !self.failed {
            self.items.push(Item {
                typ: Typ::Error,
                val: msg,
                line,
            });
            self.failed = true;
        }
        None
    }

    /// BurntSushi's `error`: at EOF the error is shown on the previous line.
    fn error(&mut self, msg: String) -> Option<St> {
        if self.at_eof {
            return self.error_prev_line(msg);
        }
        self.fail(self.line, msg)
    }

    fn error_prev_line(&mut self, msg: String) -> Option<St> {
        self.fail(self.line.saturating_sub(1), msg)
    }

    fn errorf(&mut self, msg: String) -> Option<St> {
        let mut line = self.line;
        if self.at_eof && self.pos >= 1 && self.input.as_bytes()[self.pos - 1] == b'\n' {
            line -= 1;
        }
        self.fail(line, msg)
    }

    fn step(&mut self, st: St) -> Option<St> {
        match st {
            St::Top => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::Top);
                }
                match r {
                    '#' => {
                        self.stack.push(St::Top);
                        return Some(St::CommentStart);
                    }
                    '[' => return Some(St::TableStart),
                    EOF => {
                        if self.pos > self.start {
                            return self.errorf("unexpected EOF".into());
                        }
                        self.emit(Typ::Eof);
                        return None;
                    }
                    _ => {}
                }
                self.backup();
                self.stack.push(St::TopEnd);
                Some(St::KeyStart)
            }
            St::TopEnd => {
                let r = self.next();
                match r {
                    '#' => {
                        self.stack.push(St::Top);
                        Some(St::CommentStart)
                    }
                    _ if is_whitespace(r) => Some(St::TopEnd),
                    _ if is_nl(r) => {
                        self.ignore();
                        Some(St::Top)
                    }
                    EOF => {
                        self.emit(Typ::Eof);
                        None
                    }
                    _ => self.errorf(format!(
                        "expected a top-level item to end with a newline, comment, or EOF, but got {} instead",
                        quote_rune(r)
                    )),
                }
            }
            St::TableStart => {
                if self.peek() == '[' {
                    self.next();
                    self.emit(Typ::ArrayTableStart);
                    self.stack.push(St::ArrayTableEnd);
                } else {
                    self.emit(Typ::TableStart);
                    self.stack.push(St::TableEnd);
                }
                Some(St::TableNameStart)
            }
            St::TableEnd => {
                self.emit(Typ::TableEnd);
                Some(St::TopEnd)
            }
            St::ArrayTableEnd => {
                let r = self.next();
                if r != ']' {
                    return self.errorf(format!(
                        "expected end of table array name delimiter ']', but got {} instead",
                        quote_rune(r)
                    ));
                }
                self.emit(Typ::ArrayTableEnd);
                Some(St::TopEnd)
            }
            St::TableNameStart => {
                self.skip(is_whitespace);
                match self.peek() {
                    ']' | EOF => self.errorf(
                        "unexpected end of table name (table names cannot be empty)".into(),
                    ),
                    '.' => self
                        .errorf("unexpected table separator (table names cannot be empty)".into()),
                    '"' | '\'' => {
                        self.ignore();
                        self.stack.push(St::TableNameEnd);
                        Some(St::QuotedName)
                    }
                    _ => {
                        self.stack.push(St::TableNameEnd);
                        Some(St::BareName)
                    }
                }
            }
            St::TableNameEnd => {
                self.skip(is_whitespace);
                match self.next() {
                    '.' => {
                        self.ignore();
                        Some(St::TableNameStart)
                    }
                    ']' => self.pop(),
                    r => self.errorf(format!(
                        "expected '.' or ']' to end table name, but got {} instead",
                        quote_rune(r)
                    )),
                }
            }
            St::BareName => {
                let r = self.next();
                if is_bare_key_char(r) {
                    return Some(St::BareName);
                }
                self.backup();
                self.emit(Typ::Text);
                self.pop()
            }
            St::QuotedName => match self.next() {
                '"' => {
                    self.ignore();
                    Some(St::String)
                }
                '\'' => {
                    self.ignore();
                    Some(St::RawString)
                }
                r if is_whitespace(r) => {
                    self.ignore();
                    Some(St::Value)
                }
                EOF => self.errorf("unexpected EOF; expected value".into()),
                r => self.errorf(format!(
                    "expected value but found {} instead",
                    quote_rune(r)
                )),
            },
            St::KeyStart => {
                self.skip(is_whitespace);
                match self.peek() {
                    '=' | EOF => self.errorf("unexpected '=': key name appears blank".into()),
                    '.' => self.errorf("unexpected '.': keys cannot start with a '.'".into()),
                    r => {
                        if r == '"' || r == '\'' {
                            self.ignore();
                        }
                        self.emit(Typ::KeyStart);
                        Some(St::KeyNameStart)
                    }
                }
            }
            St::KeyNameStart => {
                self.skip(is_whitespace);
                match self.peek() {
                    '"' | '\'' => {
                        self.ignore();
                        self.stack.push(St::KeyEnd);
                        Some(St::QuotedName)
                    }
                    '=' | EOF => self.errorf("unexpected '='".into()),
                    '.' => self.errorf("unexpected '.'".into()),
                    _ => {
                        self.stack.push(St::KeyEnd);
                        Some(St::BareName)
                    }
                }
            }
            St::KeyEnd => {
                self.skip(is_whitespace);
                match self.next() {
                    r if is_whitespace(r) => {
                        self.ignore();
                        Some(St::KeyEnd)
                    }
                    EOF => self.errorf("unexpected EOF; expected key separator '='".into()),
                    '.' => {
                        self.ignore();
                        Some(St::KeyNameStart)
                    }
                    '=' => {
                        self.emit(Typ::KeyEnd);
                        self.ignore();
                        Some(St::Value)
                    }
                    '\n' => self.error_prev_line(format!(
                        "expected '.' or '=', but got {} instead",
                        quote_rune('\n')
                    )),
                    r => self.errorf(format!(
                        "expected '.' or '=', but got {} instead",
                        quote_rune(r)
                    )),
                }
            }
            St::Value => self.lex_value(),
            St::ArrayValue => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::ArrayValue);
                }
                match r {
                    '#' => {
                        self.stack.push(St::ArrayValue);
                        Some(St::CommentStart)
                    }
                    ',' => self.errorf("unexpected comma".into()),
                    ']' => Some(St::ArrayEnd),
                    _ => {
                        self.backup();
                        self.stack.push(St::ArrayValueEnd);
                        Some(St::Value)
                    }
                }
            }
            St::ArrayValueEnd => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::ArrayValueEnd);
                }
                match r {
                    '#' => {
                        self.stack.push(St::ArrayValueEnd);
                        Some(St::CommentStart)
                    }
                    ',' => {
                        self.ignore();
                        Some(St::ArrayValue)
                    }
                    ']' => Some(St::ArrayEnd),
                    _ => self.errorf(format!(
                        "expected a comma (',') or array terminator (']'), but got {}",
                        rune_or_eof(r)
                    )),
                }
            }
            St::ArrayEnd => {
                self.ignore();
                self.emit(Typ::ArrayEnd);
                self.pop()
            }
            St::InlineTableValue => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::InlineTableValue);
                }
                match r {
                    '#' => {
                        self.stack.push(St::InlineTableValue);
                        Some(St::CommentStart)
                    }
                    ',' => self.errorf("unexpected comma".into()),
                    '}' => Some(St::InlineTableEnd),
                    _ => {
                        self.backup();
                        self.stack.push(St::InlineTableValueEnd);
                        Some(St::KeyStart)
                    }
                }
            }
            St::InlineTableValueEnd => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::InlineTableValueEnd);
                }
                match r {
                    '#' => {
                        self.stack.push(St::InlineTableValueEnd);
                        Some(St::CommentStart)
                    }
                    ',' => {
                        self.ignore();
                        self.skip(is_whitespace);
                        if self.peek() == '}' {
                            return Some(St::InlineTableValueEnd);
                        }
                        Some(St::InlineTableValue)
                    }
                    '}' => Some(St::InlineTableEnd),
                    _ => self.errorf(format!(
                        "expected a comma or an inline table terminator '}}', but got {} instead",
                        rune_or_eof(r)
                    )),
                }
            }
            St::InlineTableEnd => {
                self.ignore();
                self.emit(Typ::InlineTableEnd);
                self.pop()
            }
            St::String => match self.next() {
                EOF => self.errorf("unexpected EOF; expected '\"'".into()),
                r if is_nl(r) => self.error_prev_line("strings cannot contain newlines".into()),
                '\\' => {
                    self.stack.push(St::String);
                    Some(St::StringEscape)
                }
                '"' => {
                    self.backup();
                    let typ = if self.esc {
                        Typ::StringEsc
                    } else {
                        Typ::String
                    };
                    self.esc = false;
                    self.emit(typ);
                    self.next();
                    self.ignore();
                    self.pop()
                }
                _ => Some(St::String),
            },
            St::MultilineString => match self.next() {
                EOF => self.errorf("unexpected EOF; expected '\"\"\"'".into()),
                '\\' => Some(St::MultilineStringEscape),
                '"' => {
                    if self.accept('"') {
                        if self.accept('"') {
                            if self.peek() == '"' {
                                let cur = self.current();
                                if cur.ends_with("\"\"\"\"\"") && !cur.ends_with("\\\"\"\"\"\"") {
                                    return self.errorf("unexpected '\"\"\"\"\"\"'".into());
                                }
                                self.backup();
                                self.backup();
                                return Some(St::MultilineString);
                            }
                            self.backup();
                            self.backup();
                            self.backup();
                            self.esc = false;
                            self.emit(Typ::MultilineString);
                            self.next();
                            self.next();
                            self.next();
                            self.ignore();
                            return self.pop();
                        }
                        self.backup();
                    }
                    Some(St::MultilineString)
                }
                _ => Some(St::MultilineString),
            },
            St::RawString => match self.next() {
                EOF => self.errorf("unexpected EOF; expected \"'\"".into()),
                r if is_nl(r) => self.error_prev_line("strings cannot contain newlines".into()),
                '\'' => {
                    self.backup();
                    self.emit(Typ::RawString);
                    self.next();
                    self.ignore();
                    self.pop()
                }
                _ => Some(St::RawString),
            },
            St::MultilineRawString => match self.next() {
                EOF => self.errorf("unexpected EOF; expected \"'''\"".into()),
                '\'' => {
                    if self.accept('\'') {
                        if self.accept('\'') {
                            if self.peek() == '\'' {
                                if self.current().ends_with("'''''") {
                                    return self.errorf("unexpected \"''''''\"".into());
                                }
                                self.backup();
                                self.backup();
                                return Some(St::MultilineRawString);
                            }
                            self.backup();
                            self.backup();
                            self.backup();
                            self.emit(Typ::RawMultilineString);
                            self.next();
                            self.next();
                            self.next();
                            self.ignore();
                            return self.pop();
                        }
                        self.backup();
                    }
                    Some(St::MultilineRawString)
                }
                _ => Some(St::MultilineRawString),
            },
            St::MultilineStringEscape => {
                if is_nl(self.next()) {
                    return Some(St::MultilineString);
                }
                self.backup();
                self.stack.push(St::MultilineString);
                self.step(St::StringEscape)
            }
            St::StringEscape => {
                self.esc = true;
                match self.next() {
                    'e' | 'b' | 't' | 'n' | 'f' | 'r' | '"' | ' ' | '\t' | '\\' => self.pop(),
                    'x' => Some(St::HexEscape),
                    'u' => Some(St::ShortUnicodeEscape),
                    'U' => Some(St::LongUnicodeEscape),
                    r => self.error(format!("invalid escape in string '\\{r}'")),
                }
            }
            St::HexEscape => self.hex_escape(2, "two", 'x'),
            St::ShortUnicodeEscape => self.hex_escape(4, "four", 'u'),
            St::LongUnicodeEscape => self.hex_escape(8, "eight", 'U'),
            St::NumberOrDateStart => {
                if self.next() == '0' {
                    Some(St::BaseNumberOrDate)
                } else {
                    Some(St::NumberOrDate)
                }
            }
            St::NumberOrDate => match self.next() {
                r if is_digit(r) => Some(St::NumberOrDate),
                '-' | ':' => Some(St::Datetime),
                '_' => Some(St::DecimalNumber),
                '.' | 'e' | 'E' => Some(St::Float),
                _ => {
                    self.backup();
                    self.emit(Typ::Integer);
                    self.pop()
                }
            },
            St::Datetime => match self.next() {
                r if is_digit(r) => Some(St::Datetime),
                '-' | ':' | 'T' | 't' | ' ' | '.' | 'Z' | 'z' | '+' => Some(St::Datetime),
                _ => {
                    self.backup();
                    self.emit_trim(Typ::Datetime);
                    self.pop()
                }
            },
            St::HexInteger | St::OctalInteger | St::BinaryInteger => {
                let r = self.next();
                let ok = match st {
                    St::HexInteger => is_hex(r),
                    St::OctalInteger => is_octal(r),
                    _ => is_binary(r),
                };
                if ok || r == '_' {
                    return Some(st);
                }
                self.backup();
                self.emit(Typ::Integer);
                self.pop()
            }
            St::DecimalNumber => match self.next() {
                r if is_digit(r) => Some(St::DecimalNumber),
                '.' | 'e' | 'E' => Some(St::Float),
                '_' => Some(St::DecimalNumber),
                _ => {
                    self.backup();
                    self.emit(Typ::Integer);
                    self.pop()
                }
            },
            St::DecimalNumberStart => {
                let r = self.next();
                match r {
                    'i' => {
                        if !self.accept('n') || !self.accept('f') {
                            return self.errorf(format!("invalid float: '{}'", self.current()));
                        }
                        self.emit(Typ::Float);
                        return self.pop();
                    }
                    'n' => {
                        if !self.accept('a') || !self.accept('n') {
                            return self.errorf(format!("invalid float: '{}'", self.current()));
                        }
                        self.emit(Typ::Float);
                        return self.pop();
                    }
                    '0' => {
                        let p = self.peek();
                        if matches!(p, 'b' | 'o' | 'x') {
                            return self.errorf(format!(
                                "cannot use sign with non-decimal numbers: '{}{p}'",
                                self.current()
                            ));
                        }
                    }
                    '.' => {
                        return self.errorf("floats must start with a digit, not '.'".into());
                    }
                    _ => {}
                }
                if is_digit(r) {
                    return Some(St::DecimalNumber);
                }
                self.errorf(format!("expected a digit but got {}", quote_rune(r)))
            }
            St::BaseNumberOrDate => {
                let r = self.next();
                if is_digit(r) {
                    return Some(St::NumberOrDate);
                }
                let (next, check, what): (St, fn(char) -> bool, &str) = match r {
                    '_' => return Some(St::DecimalNumber),
                    '.' | 'e' | 'E' => return Some(St::Float),
                    'b' => (St::BinaryInteger, is_binary, "a binary"),
                    'o' => (St::OctalInteger, is_octal, "an octal"),
                    'x' => (St::HexInteger, is_hex, "a hexadecimal"),
                    _ => {
                        self.backup();
                        self.emit(Typ::Integer);
                        return self.pop();
                    }
                };
                let p = self.peek();
                if !check(p) {
                    return self.errorf(format!("not {what} number: '{}{p}'", self.current()));
                }
                Some(next)
            }
            St::Float => match self.next() {
                r if is_digit(r) => Some(St::Float),
                '_' | '.' | '-' | '+' | 'e' | 'E' => Some(St::Float),
                _ => {
                    self.backup();
                    self.emit(Typ::Float);
                    self.pop()
                }
            },
            St::Bool => {
                let mut word = String::new();
                loop {
                    let r = self.next();
                    if !r.is_alphabetic() || self.failed {
                        self.backup();
                        break;
                    }
                    word.push(r);
                }
                if word == "true" || word == "false" {
                    self.emit(Typ::Bool);
                    return self.pop();
                }
                self.errorf(format!(
                    "expected value but found {} instead",
                    go_quote(&word)
                ))
            }
            St::CommentStart => {
                self.ignore();
                self.emit(Typ::CommentStart);
                Some(St::Comment)
            }
            St::Comment => {
                let r = self.next();
                if is_nl(r) || r == EOF {
                    self.backup();
                    self.emit(Typ::Text);
                    return self.pop();
                }
                Some(St::Comment)
            }
        }
    }

    fn hex_escape(&mut self, n: usize, count: &str, letter: char) -> Option<St> {
        for _ in 0..n {
            let r = self.next();
            if !is_hex(r) {
                return self.errorf(format!(
                    "expected {count} hexadecimal digits after '\\{letter}', but got {} instead",
                    go_quote(self.current())
                ));
            }
        }
        self.pop()
    }

    fn lex_value(&mut self) -> Option<St> {
        let r = self.next();
        if is_whitespace(r) {
            self.ignore();
            return Some(St::Value);
        }
        if is_digit(r) {
            self.backup();
            return Some(St::NumberOrDateStart);
        }
        match r {
            '[' => {
                self.ignore();
                self.emit(Typ::Array);
                return Some(St::ArrayValue);
            }
            '{' => {
                self.ignore();
                self.emit(Typ::InlineTableStart);
                return Some(St::InlineTableValue);
            }
            '"' => {
                if self.accept('"') {
                    if self.accept('"') {
                        self.ignore();
                        return Some(St::MultilineString);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(St::String);
            }
            '\'' => {
                if self.accept('\'') {
                    if self.accept('\'') {
                        self.ignore();
                        return Some(St::MultilineRawString);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(St::RawString);
            }
            '.' => return self.errorf("floats must start with a digit, not '.'".into()),
            // `inf`/`nan`; a failed attempt leaves what it read consumed, as upstream does.
            'i' | 'n'
                if (self.accept('n') && self.accept('f'))
                    || (self.accept('a') && self.accept('n')) =>
            {
                self.emit(Typ::Float);
                return self.pop();
            }
            '-' | '+' => return Some(St::DecimalNumberStart),
            _ => {}
        }
        if r.is_alphabetic() && r != BAD {
            self.backup();
            return Some(St::Bool);
        }
        if r == EOF {
            return self.errorf("unexpected EOF; expected value".into());
        }
        if r == '\n' {
            return self.error_prev_line(format!(
                "expected value but found {} instead",
                quote_rune(r)
            ));
        }
        self.errorf(format!(
            "expected value but found {} instead",
            quote_rune(r)
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Parser

/// A table being built.
type Tbl = BTreeMap<String, Node>;

/// What BurntSushi's mapping holds: a value, a table, an array of tables or an array.
#[derive(Debug, Clone)]
enum Node {
    Leaf(Value),
    Table(Tbl),
    TableArray(Vec<Tbl>),
    Array(Vec<Node>),
}

/// BurntSushi's TOML type of a key (only "is it an inline array" matters for redefinition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TType {
    Primitive,
    Array,
    Hash,
    ArrayHash,
}

/// A `ParseError`: `toml: line N (last key "k"): message`.
#[derive(Debug)]
struct TomlError {
    line: usize,
    last_key: String,
    message: String,
}

impl std::fmt::Display for TomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.last_key.is_empty() {
            write!(f, "toml: line {}: {}", self.line, self.message)
        } else {
            write!(
                f,
                "toml: line {} (last key {}): {}",
                self.line,
                go_quote(&self.last_key),
                self.message
            )
        }
    }
}

type PResult<T> = Result<T, TomlError>;

/// BurntSushi's `Key.String()`: parts joined by `.`, quoted when not bare.
fn key_string(key: &[String]) -> String {
    let mut out = String::new();
    for (i, k) in key.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if k.is_empty() {
            out.push_str("\"\"");
        } else if k.chars().all(is_bare_key_char) {
            out.push_str(k);
        } else {
            out.push('"');
            for c in k.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\u{c}' => out.push_str("\\f"),
                    '\r' => out.push_str("\\r"),
                    c if c <= '\u{1f}' || c == '\u{7f}' => {
                        out.push_str(&format!("\\u{:04x}", u32::from(c)));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }
    out
}

struct Parser {
    items: Vec<Item>,
    next: usize,
    context: Vec<String>,
    current_key: String,
    pos_line: usize,
    mapping: Tbl,
    key_types: HashMap<String, TType>,
    implicits: HashSet<String>,
}

/// Descend into the table a path names (the last table of an array of tables); `Err(i)`
/// when part `i` is missing or not a table.
fn table_at<'m>(root: &'m mut Tbl, path: &[String]) -> Result<&'m mut Tbl, usize> {
    let mut hash = root;
    for (i, k) in path.iter().enumerate() {
        hash = match hash.get_mut(k) {
            Some(Node::Table(t)) => t,
            Some(Node::TableArray(ts)) => match ts.last_mut() {
                Some(t) => t,
                None => return Err(i),
            },
            _ => return Err(i),
        };
    }
    Ok(hash)
}

impl Parser {
    fn current(&self) -> String {
        if self.current_key.is_empty() {
            return key_string(&self.context);
        }
        if self.context.is_empty() {
            return self.current_key.clone();
        }
        format!("{}.{}", key_string(&self.context), self.current_key)
    }

    fn err_at(&self, line: usize, message: String) -> TomlError {
        TomlError {
            line,
            last_key: self.current(),
            message,
        }
    }

    /// `panicf`: at the position of the last `nextPos` item.
    fn errf(&self, message: String) -> TomlError {
        self.err_at(self.pos_line, message)
    }

    fn next_item(&mut self) -> PResult<Item> {
        let it = self.items.get(self.next).cloned().unwrap_or(Item {
            typ: Typ::Eof,
            val: String::new(),
            line: self.pos_line,
        });
        self.next += 1;
        if it.typ == Typ::Error {
            return Err(self.err_at(it.line, it.val));
        }
        Ok(it)
    }

    fn next_pos(&mut self) -> PResult<Item> {
        let it = self.next_item()?;
        self.pos_line = it.line;
        Ok(it)
    }

    fn parse(&mut self) -> PResult<()> {
        loop {
            let it = self.next_item()?;
            if it.typ == Typ::Eof {
                return Ok(());
            }
            self.top_level(it)?;
        }
    }

    /// Key parts up to `end` (table names, dotted keys).
    fn key_parts(&mut self, end: Typ) -> PResult<Vec<String>> {
        let mut key = Vec::new();
        let mut name = self.next_pos()?;
        while name.typ != end && name.typ != Typ::Eof {
            key.push(self.key_part(&name)?);
            name = self.next_item()?;
        }
        Ok(key)
    }

    fn top_level(&mut self, it: Item) -> PResult<()> {
        match it.typ {
            Typ::CommentStart => {
                self.next_item()?;
            }
            Typ::TableStart | Typ::ArrayTableStart => {
                let array = it.typ == Typ::ArrayTableStart;
                let end = if array {
                    Typ::ArrayTableEnd
                } else {
                    Typ::TableEnd
                };
                let key = self.key_parts(end)?;
                self.add_context(&key, array)?;
                self.set_type("", if array { TType::ArrayHash } else { TType::Hash });
            }
            Typ::KeyStart => {
                let outer = self.context.clone();
                let key = self.key_parts(Typ::KeyEnd)?;
                self.key_value(key)?;
                self.context = outer;
                self.current_key.clear();
            }
            _ => {}
        }
        Ok(())
    }

    /// `a.b.c = value` inside the current context; returns the value set.
    fn key_value(&mut self, key: Vec<String>) -> PResult<Node> {
        let Some((last, parents)) = key.split_last() else {
            return Err(self.errf("empty key".into()));
        };
        self.current_key = last.clone();
        for part in parents {
            let mut k = self.context.clone();
            k.push(part.clone());
            self.implicits.insert(key_string(&k));
            self.add_context(&k, false)?;
        }
        let v_item = self.next_item()?;
        let (val, typ) = self.value(v_item, false)?;
        let name = self.current_key.clone();
        self.set_value(&name, val.clone())?;
        self.set_type(&name, typ);
        Ok(val)
    }

    fn key_part(&mut self, it: &Item) -> PResult<String> {
        match it.typ {
            Typ::Text => Ok(it.val.clone()),
            _ => match self.value(it.clone(), false)? {
                (Node::Leaf(Value::String(s)), _) => Ok(s.to_string()),
                _ => Err(self.errf(format!("unexpected key {}", go_quote(&it.val)))),
            },
        }
    }

    fn value(&mut self, it: Item, parent_is_array: bool) -> PResult<(Node, TType)> {
        let leaf = |s: String| Ok((Node::Leaf(Value::str(s)), TType::Primitive));
        match it.typ {
            Typ::String | Typ::RawString => leaf(it.val),
            Typ::StringEsc => {
                let s = self.replace_escapes(&it, &it.val)?;
                leaf(s)
            }
            Typ::MultilineString => {
                let s = strip_escaped_newlines(strip_first_newline(&it.val));
                let s = self.replace_escapes(&it, &s)?;
                leaf(s)
            }
            Typ::RawMultilineString => leaf(strip_first_newline(&it.val).to_string()),
            Typ::Integer => self.value_integer(&it),
            Typ::Float => self.value_float(&it),
            Typ::Bool => Ok((Node::Leaf(Value::Bool(it.val == "true")), TType::Primitive)),
            Typ::Datetime => self.value_datetime(&it),
            Typ::Array => self.value_array(),
            Typ::InlineTableStart => self.value_inline_table(parent_is_array),
            _ => Err(self.err_at(it.line, format!("unexpected {}", go_quote(&it.val)))),
        }
    }

    fn value_integer(&self, it: &Item) -> PResult<(Node, TType)> {
        let v = &it.val;
        if !num_underscores_ok(v) {
            return Err(self.err_at(
                it.line,
                format!(
                    "Invalid integer {}: underscores must be surrounded by digits",
                    go_quote(v)
                ),
            ));
        }
        if num_has_leading_zero(v) {
            return Err(self.err_at(
                it.line,
                format!(
                    "Invalid integer {}: cannot have leading zeroes",
                    go_quote(v)
                ),
            ));
        }
        let (neg, body) = match v.as_bytes().first() {
            Some(b'-') => (true, &v[1..]),
            Some(b'+') => (false, &v[1..]),
            _ => (false, &v[..]),
        };
        let (radix, digits) = match body.get(..2) {
            Some("0x") => (16, &body[2..]),
            Some("0o") => (8, &body[2..]),
            Some("0b") => (2, &body[2..]),
            _ => (10, body),
        };
        let digits: String = digits.chars().filter(|c| *c != '_').collect();
        let parsed = i128::from_str_radix(&digits, radix)
            .ok()
            .map(|n| if neg { -n } else { n })
            .and_then(|n| i64::try_from(n).ok());
        match parsed {
            Some(n) => Ok((Node::Leaf(Value::Int64(n)), TType::Primitive)),
            None => Err(self.err_at(it.line, format!("{v} is out of range for int64"))),
        }
    }

    fn value_float(&self, it: &Item) -> PResult<(Node, TType)> {
        let v = &it.val;
        let parts: Vec<&str> = v.split(['.', 'e', 'E']).filter(|p| !p.is_empty()).collect();
        let bad = |msg: &str| self.err_at(it.line, format!("Invalid float {}: {msg}", go_quote(v)));
        if parts.iter().any(|p| !num_underscores_ok(p)) {
            return Err(bad("underscores must be surrounded by digits"));
        }
        if parts.first().is_some_and(|p| num_has_leading_zero(p)) {
            return Err(bad("cannot have leading zeroes"));
        }
        if !num_periods_ok(v) {
            return Err(bad("'.' must be followed by one or more digits"));
        }
        let mut text: String = v.chars().filter(|c| *c != '_').collect();
        let mut negative_nan = false;
        if text == "+nan" || text == "-nan" {
            negative_nan = text == "-nan";
            text = "nan".into();
        }
        let parsed = match text.as_str() {
            "inf" | "+inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            "nan" => Some(f64::NAN),
            t if t.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') => None,
            t => t.parse::<f64>().ok(),
        };
        match parsed {
            Some(x) if x.is_infinite() && !text.contains("inf") => {
                Err(self.err_at(it.line, format!("{v} is out of range for float64")))
            }
            Some(x) => {
                let x = if negative_nan { -x } else { x };
                Ok((Node::Leaf(Value::Float(x)), TType::Primitive))
            }
            None => Err(self.err_at(it.line, format!("Invalid float value: {}", go_quote(v)))),
        }
    }

    fn value_datetime(&self, it: &Item) -> PResult<(Node, TType)> {
        let text: String = it
            .val
            .chars()
            .map(|c| match c {
                'z' => 'Z',
                't' | ' ' => 'T',
                c => c,
            })
            .collect();
        match parse_datetime(&text) {
            Some(t) => Ok((Node::Leaf(Value::Object(Rc::new(t))), TType::Primitive)),
            None => Err(self.err_at(it.line, format!("invalid datetime: {}", go_quote(&text)))),
        }
    }

    fn value_array(&mut self) -> PResult<(Node, TType)> {
        let name = self.current_key.clone();
        self.set_type(&name, TType::Array);
        let mut out = Vec::new();
        loop {
            let it = self.next_item()?;
            match it.typ {
                Typ::ArrayEnd | Typ::Eof => break,
                Typ::CommentStart => {
                    self.next_item()?;
                }
                _ => out.push(self.value(it, true)?.0),
            }
        }
        Ok((Node::Array(out), TType::Array))
    }

    fn value_inline_table(&mut self, parent_is_array: bool) -> PResult<(Node, TType)> {
        let mut top = Tbl::new();
        let outer_context = self.context.clone();
        let outer_key = self.current_key.clone();
        self.context.push(self.current_key.clone());
        let prev_context = self.context.clone();
        self.current_key.clear();
        self.implicits.insert(key_string(&self.context));
        let ctx = self.context.clone();
        self.add_context(&ctx, parent_is_array)?;
        loop {
            let it = self.next_item()?;
            match it.typ {
                Typ::InlineTableEnd | Typ::Eof => break,
                Typ::CommentStart => {
                    self.next_item()?;
                    continue;
                }
                _ => {}
            }
            let key = self.key_parts(Typ::KeyEnd)?;
            let val = self.key_value(key.clone())?;
            let mut hash = &mut top;
            for part in &key[..key.len() - 1] {
                let entry = hash
                    .entry(part.clone())
                    .or_insert_with(|| Node::Table(Tbl::new()));
                hash = match entry {
                    Node::Table(t) => t,
                    _ => {
                        return Err(
                            self.errf(format!("{} is not a table", go_quote(&key_string(&ctx))))
                        );
                    }
                };
            }
            hash.insert(self.current_key.clone(), val);
            self.context = prev_context.clone();
        }
        self.context = outer_context;
        self.current_key = outer_key;
        Ok((Node::Table(top), TType::Hash))
    }

    fn replace_escapes(&self, it: &Item, s: &str) -> PResult<String> {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = chars.next() else { break };
            let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> String {
                chars.by_ref().take(n).collect()
            };
            let code = match e {
                'b' => '\u{8}',
                't' => '\t',
                'n' => '\n',
                'f' => '\u{c}',
                'r' => '\r',
                'e' => '\u{1b}',
                '"' => '"',
                '\\' => '\\',
                ' ' | '\t' => {
                    return Err(self.err_at(it.line, format!("invalid escape: '\\{e}'")));
                }
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let digits = hex(&mut chars, n);
                    let code = u32::from_str_radix(&digits, 16)
                        .ok()
                        .and_then(char::from_u32);
                    match code {
                        Some(c) => c,
                        None => {
                            return Err(self.err_at(
                                it.line,
                                format!("Escaped character '\\u{digits}' is not valid UTF-8."),
                            ));
                        }
                    }
                }
                other => other,
            };
            out.push(code);
        }
        Ok(out)
    }

    /// BurntSushi's `addContext`: enter table `key` (creating implicit parents), as a new
    /// element of an array of tables when `array`.
    fn add_context(&mut self, key: &[String], array: bool) -> PResult<()> {
        let Some((last, parents)) = key.split_last() else {
            return Ok(());
        };
        let mut key_context: Vec<String> = Vec::new();
        {
            let mut hash = &mut self.mapping;
            for k in parents {
                key_context.push(k.clone());
                if !hash.contains_key(k) {
                    self.implicits.insert(key_string(&key_context));
                    hash.insert(k.clone(), Node::Table(Tbl::new()));
                }
                hash = match hash.get_mut(k) {
                    Some(Node::TableArray(ts)) if !ts.is_empty() => {
                        ts.last_mut().expect("checked non-empty")
                    }
                    Some(Node::Table(t)) => t,
                    _ => {
                        let msg = format!(
                            "Key '{}' was already created as a hash.",
                            key_string(&key_context)
                        );
                        return Err(self.errf(msg));
                    }
                };
            }
        }
        self.context = key_context;
        if array {
            let hash = table_at(&mut self.mapping, &self.context)
                .map_err(|_| ())
                .ok();
            let ok = match hash {
                Some(hash) => {
                    let entry = hash
                        .entry(last.clone())
                        .or_insert_with(|| Node::TableArray(Vec::new()));
                    match entry {
                        Node::TableArray(ts) => {
                            ts.push(Tbl::new());
                            true
                        }
                        _ => false,
                    }
                }
                None => false,
            };
            if !ok {
                let msg = format!(
                    "Key '{}' was already created and cannot be used as an array.",
                    key_string(key)
                );
                return Err(self.errf(msg));
            }
        } else {
            self.set_value(last, Node::Table(Tbl::new()))?;
        }
        self.context.push(last.clone());
        Ok(())
    }

    /// BurntSushi's `setValue`: define `key` in the current context, refusing redefinitions
    /// except of implicit tables.
    fn set_value(&mut self, key: &str, value: Node) -> PResult<()> {
        let mut key_context = self.context.clone();
        key_context.push(key.to_string());
        let full = key_string(&key_context);
        let is_array = self.key_types.get(&full) == Some(&TType::Array);
        let is_implicit = self.implicits.contains(&full);
        let hash = match table_at(&mut self.mapping, &self.context) {
            Ok(h) => h,
            Err(i) => {
                let msg = format!(
                    "Key '{}' has already been defined.",
                    key_string(&self.context[..=i])
                );
                return Err(self.errf(msg));
            }
        };
        if hash.contains_key(key) {
            if is_array {
                if !is_implicit {
                    return Err(self.errf(format!("Key '{full}' has already been defined.")));
                }
                hash.insert(key.to_string(), value);
                self.implicits.remove(&full);
                return Ok(());
            }
            if is_implicit {
                self.implicits.remove(&full);
                return Ok(());
            }
            return Err(self.errf(format!("Key '{full}' has already been defined.")));
        }
        hash.insert(key.to_string(), value);
        Ok(())
    }

    fn set_type(&mut self, key: &str, typ: TType) {
        let mut k = self.context.clone();
        if !key.is_empty() {
            k.push(key.to_string());
        }
        if k.is_empty() {
            k.push(String::new());
        }
        self.key_types.insert(key_string(&k), typ);
    }
}

fn strip_first_newline(s: &str) -> &str {
    s.strip_prefix('\n')
        .or_else(|| s.strip_prefix("\r\n"))
        .unwrap_or(s)
}

/// Removes a line-ending backslash and the whitespace after it in a multi-line string.
fn strip_escaped_newlines(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(ix) = s[i..].find('\\') {
        i += ix;
        if b.get(i + 1) == Some(&b'\\') {
            i += 2;
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        if j == i + 1 || !s[i..j].contains('\n') {
            i += 1;
            continue;
        }
        out.push_str(&s[copied..i]);
        copied = j;
        i = j;
    }
    out.push_str(&s[copied..]);
    out
}

fn num_has_leading_zero(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() > 1 && b[0] == b'0' && !matches!(b[1], b'b' | b'o' | b'x') {
        return true;
    }
    b.len() > 2 && (b[0] == b'-' || b[0] == b'+') && b[1] == b'0'
}

fn num_underscores_ok(s: &str) -> bool {
    if matches!(s, "nan" | "+nan" | "-nan" | "inf" | "-inf" | "+inf") {
        return true;
    }
    let mut accept = false;
    for c in s.chars() {
        if c == '_' && !accept {
            return false;
        }
        accept = is_hex(c);
    }
    accept
}

fn num_periods_ok(s: &str) -> bool {
    let mut period = false;
    for c in s.chars() {
        if period && !is_digit(c) {
            return false;
        }
        period = c == '.';
    }
    !period
}

/// One of the datetime shapes BurntSushi accepts (offset/local datetime, date, time; seconds
/// optional), as the `time.Time` it yields: offset datetimes in Go's `Local` when the offset
/// agrees, local ones in BurntSushi's `datetime-local`/`date-local`/`time-local` zones.
fn parse_datetime(s: &str) -> Option<GoTime> {
    fn num(s: &str, n: usize) -> Option<(u32, &str)> {
        let d = s.get(..n)?;
        if !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((d.parse().ok()?, &s[n..]))
    }
    fn date(s: &str) -> Option<(NaiveDate, &str)> {
        let (y, r) = num(s, 4)?;
        let r = r.strip_prefix('-')?;
        let (m, r) = num(r, 2)?;
        let r = r.strip_prefix('-')?;
        let (d, r) = num(r, 2)?;
        Some((NaiveDate::from_ymd_opt(y as i32, m, d)?, r))
    }
    /// `HH:MM[:SS[.frac]]`.
    fn time(s: &str) -> Option<(NaiveTime, &str)> {
        let (h, r) = num(s, 2)?;
        let r = r.strip_prefix(':')?;
        let (m, mut r) = num(r, 2)?;
        let (mut sec, mut nano) = (0, 0);
        if let Some(rest) = r.strip_prefix(':') {
            let (sv, rest) = num(rest, 2)?;
            sec = sv;
            r = rest;
            if let Some(frac) = r.strip_prefix('.') {
                let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return None;
                }
                let digits: String = frac[..n]
                    .chars()
                    .chain("000000000".chars())
                    .take(9)
                    .collect();
                nano = digits.parse().ok()?;
                r = &frac[n..];
            }
        }
        Some((NaiveTime::from_hms_nano_opt(h, m, sec, nano)?, r))
    }
    fn offset(s: &str) -> Option<i32> {
        if s == "Z" {
            return Some(0);
        }
        let (sign, r) = match s.as_bytes().first()? {
            b'+' => (1, &s[1..]),
            b'-' => (-1, &s[1..]),
            _ => return None,
        };
        let (h, r) = num(r, 2)?;
        let r = r.strip_prefix(':')?;
        let (m, r) = num(r, 2)?;
        (h <= 23 && m <= 59 && r.is_empty()).then(|| sign * (h * 3600 + m * 60) as i32)
    }
    let local = |wall: NaiveDateTime, zone: &str| GoTime {
        secs: wall.and_utc().timestamp(),
        nsec: wall.and_utc().timestamp_subsec_nanos(),
        offset: 0,
        zone: zone.into(),
        mono: false,
    };
    if let Some((d, rest)) = date(s) {
        if rest.is_empty() {
            return Some(local(d.and_time(NaiveTime::MIN), "date-local"));
        }
        let (t, rest) = time(rest.strip_prefix('T')?)?;
        let wall = d.and_time(t);
        if rest.is_empty() {
            return Some(local(wall, "datetime-local"));
        }
        let off = FixedOffset::east_opt(offset(rest)?)?;
        let at = wall.and_local_timezone(off).single()?;
        return Some(GoTime::from_chrono(&at, &super::dates::local()));
    }
    let (t, rest) = time(s)?;
    let year0 = NaiveDate::from_ymd_opt(0, 1, 1)?;
    rest.is_empty()
        .then(|| local(year0.and_time(t), "time-local"))
}

fn node_value(n: &Node) -> Value {
    match n {
        Node::Leaf(v) => v.clone(),
        Node::Table(t) => table_value(t),
        Node::TableArray(ts) => Value::list(ts.iter().map(table_value).collect()),
        Node::Array(items) => Value::list(items.iter().map(node_value).collect()),
    }
}

fn table_value(t: &Tbl) -> Value {
    Value::map(
        t.iter()
            .map(|(k, v)| (k.clone(), node_value(v)))
            .collect::<Map>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).expect_err("invalid TOML")
    }

    /// Error texts as BurntSushi/toml v1.6.0 (Helm v4.1.4's `fromToml`) reports them.
    #[test]
    fn error_texts() {
        assert_eq!(
            err("a = "),
            "toml: line 1 (last key \"a\"): unexpected EOF; expected value"
        );
        assert_eq!(
            err("a = 1\na = 2"),
            "toml: line 2 (last key \"a\"): Key 'a' has already been defined."
        );
        assert_eq!(
            err("a = \"x"),
            "toml: line 1 (last key \"a\"): unexpected EOF; expected '\"'"
        );
        assert_eq!(
            err("= 1"),
            "toml: line 1: unexpected '=': key name appears blank"
        );
        assert_eq!(
            err("[t]\nb = 01"),
            "toml: line 2 (last key \"t.b\"): Invalid integer \"01\": cannot have leading zeroes"
        );
        assert_eq!(
            err("a = foo"),
            "toml: line 1 (last key \"a\"): expected value but found \"foo\" instead"
        );
        assert_eq!(
            err("a = 1 b"),
            "toml: line 1: expected a top-level item to end with a newline, comment, or EOF, but got 'b' instead"
        );
    }

    /// Values keep BurntSushi's Go types: int64, float64, strings, nested tables, arrays and
    /// arrays of tables.
    #[test]
    fn values() {
        let v = parse(
            "a = 1\nf = 1.5\ns = 'x'\nm = \"\"\"\nl1\\\n  l2\"\"\"\n[t.u]\nb = true\n[[arr]]\nx = 1\n[[arr]]\nx = 2\n",
        )
        .expect("valid");
        let Value::Map(m) = &v else { panic!("a map") };
        let m = m.borrow();
        assert_eq!(m["a"], Value::Int64(1));
        assert_eq!(m["f"], Value::Float(1.5));
        assert_eq!(m["s"], Value::str("x"));
        assert_eq!(m["m"], Value::str("l1l2"));
        let Value::List(arr) = &m["arr"] else {
            panic!("a list")
        };
        assert_eq!(arr.items.len(), 2);
        assert_eq!(
            crate::template::fmt::format_v(&m["t"]),
            "map[u:map[b:true]]"
        );
    }
}
