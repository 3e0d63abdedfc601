//! Lexer: splits template text into text runs and action tokens, as Go's `text/template/parse` lexer does.
//!
//! The whole input is tokenized up front into compact tokens (kind plus a byte range of the
//! input; line numbers are computed only when an error needs one); a lexical error becomes a
//! final [`Tok::Error`] token so the parser reports it exactly where Go's parser would meet it.

/// Token kinds (Go's `itemType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

/// One token: kind and byte range of its text in the input (for text tokens: after
/// trimming; for the error token: where the error was found, its message is in [`Lexed`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub typ: Tok,
    pos: u32,
    end: u32,
}

impl Item {
    /// Byte offset of the token's start.
    pub fn pos(self) -> usize {
        self.pos as usize
    }

    /// Byte offset just past the token's text.
    pub fn end(self) -> usize {
        self.end as usize
    }

    /// Go's `item.String()`, used in "unexpected X in Y" messages; `val` is the token's text
    /// (the message for an error token).
    pub fn describe(self, val: &str) -> String {
        match self.typ {
            Tok::Eof => "EOF".to_string(),
            Tok::Error => val.to_string(),
            t if t.is_keyword() => format!("<{val}>"),
            _ => {
                if val.chars().count() > 10 {
                    let short: String = val.chars().take(10).collect();
                    format!("{}...", go_quote(&short))
                } else {
                    go_quote(val)
                }
            }
        }
    }
}

/// The tokens of one input; the last is always `Eof` or `Error`.
pub(crate) struct Lexed {
    pub items: Vec<Item>,
    /// The message of the final `Error` token, if any.
    pub error: String,
}

/// Go's line number of byte offset `pos`: 1 + the newlines before it.
pub(crate) fn line_of(input: &str, pos: usize) -> usize {
    1 + input.as_bytes()[..pos.min(input.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Append one character as Go's `strconv.Quote` would write it inside `quote` delimiters.
pub(crate) fn push_quoted_char(out: &mut String, c: char, quote: char) {
    if let Some(b) = crate::value::raw_byte_of(c) {
        // A byte of invalid UTF-8 in a Go string.
        out.push_str(&format!("\\x{b:02x}"));
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        '\u{FFFD}' => out.push('\u{FFFD}'),
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Approximation of Go's `unicode.IsPrint` (letters, marks, numbers, punctuation, symbols and
/// the ASCII space).
pub(crate) fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Unassigned/format/private ranges commonly met; Go treats these as non-printable.
    !matches!(u, 0xAD | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xE000..=0xF8FF | 0xFFF9..=0xFFFB)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// ASCII letters, digits and `_`, by byte.
static ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item>,
    error: String,
    paren_depth: i32,
}

/// Tokenize `input` (at most `u32::MAX` bytes); the result always ends with an `Eof` or
/// `Error` token.
pub(crate) fn lex(input: &str) -> Lexed {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        // Templates average a token per 6-10 bytes; sizing up front avoids regrowing (and
        // copying) the list a dozen times per file.
        items: Vec::with_capacity(input.len() / 8 + 4),
        error: String::new(),
        paren_depth: 0,
    };
    l.run();
    Lexed {
        items: l.items,
        error: l.error,
    }
}

/// Offset of the first `{{` in `s` (found via the fast single-byte search of `str::find`).
fn find_left_delim(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(x) = s[from..].find('{') {
        let at = from + x;
        if s.as_bytes().get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn has_left_trim(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space(s[1])
}

fn has_right_trim(s: &[u8]) -> bool {
    s.len() >= 2 && is_space(s[0]) && s[1] == b'-'
}

impl<'a> Lexer<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    fn emit(&mut self, typ: Tok) {
        self.emit_range(typ, self.start, self.pos);
        self.start = self.pos;
    }

    fn emit_range(&mut self, typ: Tok, pos: usize, end: usize) {
        self.items.push(Item {
            typ,
            pos: pos as u32,
            end: end as u32,
        });
    }

    fn error(&mut self, msg: String) {
        self.error = msg;
        self.emit_range(Tok::Error, self.start, self.start);
    }

    #[inline]
    fn peek_char(&self) -> Option<char> {
        match self.bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(b as char),
            Some(_) => self.input[self.pos..].chars().next(),
            None => None,
        }
    }

    #[inline]
    fn next_char(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    #[inline]
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.bytes()[self.pos..];
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT.as_bytes()) {
            return (true, true);
        }
        (rest.starts_with(RIGHT.as_bytes()), false)
    }

    #[inline]
    fn at_terminator(&self) -> bool {
        let rest = &self.bytes()[self.pos..];
        match rest.first() {
            None => true,
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            _ => rest.starts_with(RIGHT.as_bytes()),
        }
    }

    fn run(&mut self) {
        loop {
            // Text state.
            let rest = &self.input[self.pos..];
            match find_left_delim(rest) {
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        self.emit(Tok::Text);
                    }
                    self.emit_range(Tok::Eof, self.pos, self.pos);
                    return;
                }
                Some(x) => {
                    self.pos += x;
                    let delim_end = self.pos + LEFT.len();
                    let mut text_end = self.pos;
                    if has_left_trim(&self.bytes()[delim_end..]) {
                        let text = &self.bytes()[self.start..self.pos];
                        let trimmed = text.iter().rev().take_while(|&&b| is_space(b)).count();
                        text_end -= trimmed;
                    }
                    if text_end > self.start {
                        self.emit_range(Tok::Text, self.start, text_end);
                    }
                    self.start = self.pos;
                    if !self.left_delim() {
                        return;
                    }
                }
            }
        }
    }

    /// At `{{`: lex a comment or a whole action. Returns false after an error.
    fn left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim(&self.bytes()[self.pos..]);
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with("/*") {
            self.pos += after;
            self.start = self.pos;
            return self.comment();
        }
        self.emit_range(Tok::LeftDelim, self.start, self.start + LEFT.len());
        self.pos += after;
        self.start = self.pos;
        self.paren_depth = 0;
        self.inside_action()
    }

    fn comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.input[self.pos..].find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        self.emit(Tok::Comment);
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            self.pos += self.bytes()[self.pos..]
                .iter()
                .take_while(|&&b| is_space(b))
                .count();
        }
        self.start = self.pos;
        true
    }

    fn right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT.len();
        self.emit(Tok::RightDelim);
        if trim {
            self.pos += self.bytes()[self.pos..]
                .iter()
                .take_while(|&&b| is_space(b))
                .count();
            self.start = self.pos;
        }
    }

    fn inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.right_delim(trim);
                    return true;
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let Some(c) = self.next_char() else {
                self.error("unclosed action".into());
                return false;
            };
            let ok = match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    self.pos -= 1;
                    self.space();
                    true
                }
                '=' => {
                    self.emit(Tok::Assign);
                    true
                }
                ':' => {
                    if self.next_char() != Some('=') {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.emit(Tok::Declare);
                    true
                }
                '|' => {
                    self.emit(Tok::Pipe);
                    true
                }
                '"' => self.quote(),
                '`' => self.raw_quote(),
                '$' => self.variable(),
                '\'' => self.char_constant(),
                '.' => {
                    let next_is_digit = self
                        .bytes()
                        .get(self.pos)
                        .is_some_and(|b| b.is_ascii_digit());
                    if next_is_digit {
                        self.pos -= 1;
                        self.number()
                    } else {
                        self.field_or_variable(Tok::Field)
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.number()
                }
                c if is_alnum(c) => {
                    self.pos -= c.len_utf8();
                    self.identifier()
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen);
                    true
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                    self.emit(Tok::RightParen);
                    true
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.emit(Tok::Char);
                    true
                }
                c => {
                    self.error(format!(
                        "unrecognized character in action: {}",
                        go_char_u(c)
                    ));
                    return false;
                }
            };
            if !ok {
                return false;
            }
        }
    }

    fn space(&mut self) {
        let mut n = 0;
        while let Some(&b) = self.bytes().get(self.pos) {
            if !is_space(b) {
                break;
            }
            self.pos += 1;
            n += 1;
        }
        // A space followed by "-}}" belongs to the trim marker.
        let rest = &self.bytes()[self.pos - 1..];
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT.as_bytes()) {
            self.pos -= 1;
            if n == 1 {
                return;
            }
        }
        self.emit(Tok::Space);
    }

    /// Advance over letters, digits and underscores (ASCII fast path); returns the first
    /// character after them.
    #[inline]
    fn skip_alnum(&mut self) -> Option<char> {
        let bytes = self.bytes();
        let mut i = self.pos;
        let stop = loop {
            let Some(&b) = bytes.get(i) else {
                break None;
            };
            if ASCII_WORD[usize::from(b)] {
                i += 1;
            } else if b.is_ascii() {
                break Some(b as char);
            } else {
                match self.input[i..].chars().next() {
                    Some(c) if is_alnum(c) => i += c.len_utf8(),
                    other => break other,
                }
            }
        };
        self.pos = i;
        stop
    }

    fn identifier(&mut self) -> bool {
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek_char().unwrap_or('\0');
            self.error(format!("bad character {}", go_char_u(c)));
            return false;
        }
        let word = &self.input[self.start..self.pos];
        let typ = match word {
            "block" => Tok::Block,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            "true" | "false" => Tok::Bool,
            _ => Tok::Identifier,
        };
        self.emit(typ);
        true
    }

    fn variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Tok::Variable);
            return true;
        }
        self.field_or_variable(Tok::Variable)
    }

    fn field_or_variable(&mut self, typ: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if typ == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return true;
        }
        let bad = self.skip_alnum();
        if !self.at_terminator() {
            self.error(format!("bad character {}", go_char_u(bad.unwrap_or('\0'))));
            return false;
        }
        self.emit(typ);
        true
    }

    fn char_constant(&mut self) -> bool {
        loop {
            match self.next_char() {
                Some('\\') => match self.next_char() {
                    Some(c) if c != '\n' => {}
                    _ => {
                        self.error("unterminated character constant".into());
                        return false;
                    }
                },
                None | Some('\n') => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::CharConstant);
        true
    }

    fn quote(&mut self) -> bool {
        // Byte by byte: after a backslash skip one byte (the rest of a multi-byte character
        // are continuation bytes, which match nothing below).
        let bytes = self.bytes();
        let mut i = self.pos;
        loop {
            match bytes.get(i) {
                Some(b'\\') => match bytes.get(i + 1) {
                    Some(&c) if c != b'\n' => i += 2,
                    _ => {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                },
                None | Some(b'\n') => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
                Some(b'"') => {
                    i += 1;
                    break;
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i;
        self.emit(Tok::String);
        true
    }

    fn raw_quote(&mut self) -> bool {
        match self.input[self.pos..].find('`') {
            None => {
                self.error("unterminated raw quoted string".into());
                false
            }
            Some(x) => {
                self.pos += x + 1;
                self.emit(Tok::RawString);
                true
            }
        }
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.bytes().get(self.pos) {
            Some(&b) if valid.as_bytes().contains(&b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek_char()
            && is_alnum(c)
        {
            self.pos += c.len_utf8();
            return false;
        }
        true
    }

    fn number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            self.error(format!("bad number syntax: {}", go_quote(&text)));
            return false;
        }
        if let Some(b'+' | b'-') = self.bytes().get(self.pos) {
            if !self.scan_number() || self.bytes()[self.pos - 1] != b'i' {
                let text = self.input[self.start..self.pos].to_string();
                self.error(format!("bad number syntax: {}", go_quote(&text)));
                return false;
            }
            self.emit(Tok::Complex);
            return true;
        }
        self.emit(Tok::Number);
        true
    }
}

/// Go's `%#U` of a rune: `U+0023 '#'`.
fn go_char_u(c: char) -> String {
    if is_go_printable(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}
