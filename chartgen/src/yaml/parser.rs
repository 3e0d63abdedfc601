//! go-yaml v2's reader, scanner and parser (libyaml's design, YAML 1.1), re-implemented so
//! that events, quirks and error texts (`did not find expected key`, its line numbering)
//! match what Helm reports.

use super::load::{Event, EventSource};
use super::{ErrorKind, YamlError};
use std::borrow::Cow;
use std::collections::VecDeque;

#[derive(Clone, Copy, Default, Debug)]
struct Mark {
    index: usize,
    /// Line and column fit 32 bits (a YAML text is far below 4 GiB); small marks keep
    /// tokens small.
    line: u32,
    column: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    StreamStart,
    StreamEnd,
    VersionDirective,
    TagDirective,
    DocumentStart,
    DocumentEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias,
    Anchor,
    Tag,
    Scalar,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

#[derive(Clone, Debug)]
struct Token<'a> {
    typ: Tok,
    start: Mark,
    end: Mark,
    /// Scalar value (borrowed from the input when verbatim), anchor/alias name, tag handle,
    /// %TAG handle.
    value: Cow<'a, str>,
    style: Style,
    /// Tag suffix, %TAG prefix, %YAML version: boxed, as rare, to keep tokens small.
    extra: Option<Box<Extra>>,
}

#[derive(Clone, Debug, Default)]
struct Extra {
    suffix: String,
    major: i32,
    minor: i32,
}

impl Token<'_> {
    fn new(typ: Tok, start: Mark, end: Mark) -> Self {
        Token {
            typ,
            start,
            end,
            value: Cow::Borrowed(""),
            style: Style::Plain,
            extra: None,
        }
    }

    fn suffix(&self) -> String {
        self.extra
            .as_ref()
            .map(|e| e.suffix.clone())
            .unwrap_or_default()
    }
}

/// What the parser looks at in the next token, without its text.
#[derive(Clone, Copy)]
struct Head {
    typ: Tok,
    start: Mark,
    end: Mark,
    style: Style,
}

#[derive(Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    required: bool,
    token_number: usize,
    mark: Mark,
}

/// The failure as go-yaml records it; `parser.fail()` turns it into text.
struct Failure {
    scanner: bool,
    problem: String,
    problem_mark: Option<Mark>,
    context_mark: Option<Mark>,
}

/// Boxed so that the many `R<()>` results stay one word.
type R<T> = Result<T, Box<Failure>>;

const RAW_CHUNK: usize = 512;
const MAX_FLOW_LEVEL: usize = 10000;
const MAX_INDENTS: usize = 10000;

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}
fn is_blankz(c: char) -> bool {
    is_blank(c) || is_break(c) || c == '\0'
}
fn is_breakz(c: char) -> bool {
    is_break(c) || c == '\0'
}
fn is_alpha(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}
fn is_hex(c: char) -> bool {
    c.is_ascii_hexdigit()
}

fn reader_allows(c: char) -> bool {
    matches!(c as u32, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
}

/// Token number -> index of its possible simple key (go-yaml's `simple_keys_by_tok` map).
/// Lookups are only ever for the next token to parse, so entries for tokens already parsed
/// are dropped on insert, which keeps this a handful of entries searched linearly.
#[derive(Default)]
struct KeysByToken(Vec<(usize, usize)>);

impl KeysByToken {
    #[inline]
    fn get(&self, token: usize) -> Option<usize> {
        self.0.iter().find(|e| e.0 == token).map(|e| e.1)
    }

    fn insert(&mut self, token: usize, idx: usize, tokens_parsed: usize) {
        self.0.retain(|e| e.0 >= tokens_parsed && e.0 != token);
        self.0.push((token, idx));
    }

    fn remove(&mut self, token: usize) {
        self.0.retain(|e| e.0 != token);
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Byte offset of the current character in `text`.
    pos: usize,
    mark: Mark,
    /// Bytes the reader has decoded (and checked) so far, in go-yaml's 512-byte chunks.
    raw_pos: usize,
    eof: bool,

    stream_start_produced: bool,
    stream_end_produced: bool,
    flow_level: usize,
    tokens: VecDeque<Token<'a>>,
    tokens_parsed: usize,
    token_available: bool,
    indent: i64,
    indents: Vec<i64>,
    simple_key_allowed: bool,
    simple_keys: Vec<SimpleKey>,
    simple_keys_by_tok: KeysByToken,
    /// Scratch buffers of `scan_plain_scalar`, kept to save an allocation per scalar.
    leading_break: String,
    trailing_breaks: String,
}

/// The UTF-8 length of the character starting with byte `b`.
#[inline]
fn utf8_width(b: u8) -> usize {
    if b < 0x80 {
        1
    } else if b < 0xE0 {
        2
    } else if b < 0xF0 {
        3
    } else {
        4
    }
}

/// Bytes that may end a plain scalar's run: blanks, breaks (and the lead bytes of the
/// multi-byte ones), NUL, `:` and the flow indicators.
static PLAIN_STOP_CANDIDATE: [bool; 256] = {
    let mut t = [false; 256];
    let stops = b" \t\r\n\0:,?[]{}\xC2\xE2";
    let mut i = 0;
    while i < stops.len() {
        t[stops[i] as usize] = true;
        i += 1;
    }
    t
};

/// Scalar text while it is scanned: a byte range of the input as long as it is a verbatim
/// copy of it (most scalars), else an owned string.
enum Buf {
    Range(usize, usize),
    Owned(String),
}

impl Buf {
    fn new() -> Self {
        Buf::Range(0, 0)
    }

    fn is_empty(&self) -> bool {
        match self {
            Buf::Range(a, b) => a == b,
            Buf::Owned(s) => s.is_empty(),
        }
    }

    /// Append the input's bytes `a..b`.
    #[inline]
    fn push_src(&mut self, text: &str, a: usize, b: usize) {
        match self {
            Buf::Range(x, y) if x == y => *self = Buf::Range(a, b),
            Buf::Range(_, y) if *y == a => *y = b,
            _ => self.owned(text).push_str(&text[a..b]),
        }
    }

    fn owned(&mut self, text: &str) -> &mut String {
        if let Buf::Range(a, b) = *self {
            *self = Buf::Owned(text[a..b].to_string());
        }
        match self {
            Buf::Owned(s) => s,
            Buf::Range(..) => unreachable!("just made owned"),
        }
    }

    fn push_str(&mut self, text: &str, s: &str) {
        if !s.is_empty() {
            self.owned(text).push_str(s);
        }
    }

    fn push_char(&mut self, text: &str, c: char) {
        self.owned(text).push(c);
    }

    fn append(&mut self, text: &str, other: &Buf) {
        match other {
            Buf::Range(a, b) => {
                if a < b {
                    self.push_src(text, *a, *b)
                }
            }
            Buf::Owned(s) => self.push_str(text, s),
        }
    }

    fn clear(&mut self) {
        match self {
            Buf::Range(..) => *self = Buf::Range(0, 0),
            Buf::Owned(s) => s.clear(),
        }
    }

    fn into_cow(self, text: &str) -> Cow<'_, str> {
        match self {
            Buf::Range(a, b) => Cow::Borrowed(&text[a..b]),
            Buf::Owned(s) => Cow::Owned(s),
        }
    }
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            mark: Mark::default(),
            raw_pos: 0,
            eof: false,
            stream_start_produced: false,
            stream_end_produced: false,
            flow_level: 0,
            tokens: VecDeque::new(),
            tokens_parsed: 0,
            token_available: false,
            indent: -1,
            indents: Vec::new(),
            simple_key_allowed: false,
            simple_keys: Vec::new(),
            simple_keys_by_tok: KeysByToken::default(),
            leading_break: String::new(),
            trailing_breaks: String::new(),
        }
    }

    // ---- reader -------------------------------------------------------------------------

    /// go-yaml's `yaml_parser_update_buffer`: decode 512-byte raw chunks until `n` chars are
    /// available after the current position, refusing control characters chunk by chunk.
    #[inline]
    fn cache(&mut self, n: usize) -> R<()> {
        // `n` characters take at most `4 * n` bytes.
        if self.eof || self.pos + 4 * n <= self.raw_pos {
            return Ok(());
        }
        self.fill(n)
    }

    #[cold]
    fn fill(&mut self, n: usize) -> R<()> {
        let len = self.bytes.len();
        // Where the `n` characters after `pos` end (`None`: the input ends first).
        let mut need = Some(self.pos);
        for _ in 0..n {
            match need {
                Some(p) if p < len => need = Some(p + utf8_width(self.bytes[p])),
                _ => {
                    need = None;
                    break;
                }
            }
        }
        let need = need.filter(|&p| p <= len);
        while !self.eof {
            if need.is_some_and(|p| p <= self.raw_pos) {
                break;
            }
            if self.raw_pos >= len {
                self.eof = true;
                break;
            }
            let end = (self.raw_pos + RAW_CHUNK).min(len);
            self.decode_chunk(end)?;
        }
        Ok(())
    }

    /// Decode (check) the characters from `raw_pos` that end at or before `end`.
    fn decode_chunk(&mut self, end: usize) -> R<()> {
        let control = || {
            Box::new(Failure {
                scanner: false,
                problem: "control characters are not allowed".into(),
                problem_mark: None,
                context_mark: None,
            })
        };
        let mut p = self.raw_pos;
        // The common case: only printable ASCII, tabs and line breaks.
        let ascii_ok = self.bytes[p..end].iter().fold(true, |ok, &b| {
            ok & (matches!(b, 0x20..=0x7E) | (b == 0x09) | (b == 0x0A) | (b == 0x0D))
        });
        if ascii_ok {
            p = end;
        }
        while p < end {
            let b = self.bytes[p];
            if b < 0x80 {
                if !matches!(b, 0x09 | 0x0A | 0x0D | 0x20..=0x7E) {
                    return Err(control());
                }
                p += 1;
                continue;
            }
            let w = utf8_width(b);
            if p + w > end {
                break;
            }
            if !self.text[p..].chars().next().is_some_and(reader_allows) {
                return Err(control());
            }
            p += w;
        }
        self.raw_pos = p;
        Ok(())
    }

    /// The character at byte offset `p` (`'\0'` past the end).
    #[inline]
    fn char_at(&self, p: usize) -> char {
        match self.bytes.get(p) {
            None => '\0',
            Some(&b) if b < 0x80 => b as char,
            Some(_) => self.text[p..].chars().next().unwrap_or('\0'),
        }
    }

    /// The `k`-th character after the current one (`'\0'` past the end).
    #[inline]
    fn ch(&self, k: usize) -> char {
        let mut p = self.pos;
        for _ in 0..k {
            match self.bytes.get(p) {
                Some(&b) => p += utf8_width(b),
                None => return '\0',
            }
        }
        self.char_at(p)
    }

    /// Byte width of the current character (1 past the end).
    #[inline]
    fn width(&self) -> usize {
        self.bytes.get(self.pos).map_or(1, |&b| utf8_width(b))
    }

    /// Move to byte offset `to` (a character boundary at or after `pos`) on the same line,
    /// counting the characters passed like [`Scanner::skip`] does one by one.
    #[inline]
    fn advance_to(&mut self, to: usize) {
        let seg = &self.bytes[self.pos..to];
        // Characters = bytes - UTF-8 continuation bytes (0b10xx_xxxx), eight at a time.
        let mut continuation = 0;
        let mut words = seg.chunks_exact(8);
        for w in &mut words {
            let x = u64::from_le_bytes(w.try_into().expect("eight bytes"));
            let marks = (x & !(x << 1) & 0x8080_8080_8080_8080) >> 7;
            continuation += (marks.wrapping_mul(0x0101_0101_0101_0101) >> 56) as usize;
        }
        continuation += words
            .remainder()
            .iter()
            .filter(|&&b| b & 0xC0 == 0x80)
            .count();
        let n = seg.len() - continuation;
        self.mark.index += n;
        self.mark.column += n as u32;
        self.pos = to;
    }

    /// Byte offset of the first line break or NUL at or after `from` (the input's length if
    /// none): where `while !is_breakz(ch(0))` stops.
    #[inline]
    fn find_breakz(&self, from: usize) -> usize {
        let b = self.bytes;
        let mut p = from;
        // Eight bytes at a time while none is below 0x0E (breaks, NUL) or non-ASCII.
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        while let Some(word) = b.get(p..p + 8) {
            let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if (x.wrapping_sub(ONES * 0x0E) | x) & HIGHS != 0 {
                break;
            }
            p += 8;
        }
        while p < b.len() {
            match b[p] {
                b'\n' | b'\r' | 0 => break,
                0xC2 if b.get(p + 1) == Some(&0x85) => break,
                0xE2 if b.get(p + 1) == Some(&0x80)
                    && matches!(b.get(p + 2), Some(0xA8 | 0xA9)) =>
                {
                    break;
                }
                _ => p += 1,
            }
        }
        p
    }

    /// Whether the character at byte offset `p` is blank, a break or NUL (`is_blankz`).
    #[inline]
    fn blankz_at(&self, p: usize) -> bool {
        let b = self.bytes;
        match b.get(p) {
            None => true,
            Some(b' ' | b'\t' | b'\n' | b'\r' | 0) => true,
            Some(0xC2) => b.get(p + 1) == Some(&0x85),
            Some(0xE2) => b.get(p + 1) == Some(&0x80) && matches!(b.get(p + 2), Some(0xA8 | 0xA9)),
            Some(_) => false,
        }
    }

    /// Where a plain scalar's run of characters starting at `from` ends: at a blank, break,
    /// `: `, or (in flow context) a flow indicator.
    #[inline]
    fn plain_run_end(&self, from: usize) -> usize {
        let flow = self.flow_level > 0;
        let bytes = self.bytes;
        let mut p = from;
        loop {
            // Bytes that cannot end the run are passed without a closer look.
            while p < bytes.len() && !PLAIN_STOP_CANDIDATE[bytes[p] as usize] {
                p += 1;
            }
            if self.blankz_at(p) {
                break;
            }
            let b = bytes[p];
            if (b == b':' && self.blankz_at(p + 1))
                || (flow && matches!(b, b',' | b'?' | b'[' | b']' | b'{' | b'}'))
            {
                break;
            }
            p += 1;
        }
        p
    }

    /// Where a quoted scalar's run of ordinary characters starting at `from` ends.
    #[inline]
    fn flow_run_end(&self, from: usize) -> usize {
        let mut p = from;
        while !self.blankz_at(p) && !matches!(self.bytes[p], b'\'' | b'"' | b'\\') {
            p += 1;
        }
        p
    }

    /// Skip a comment up to (not including) its line break, with the reader's checks.
    fn skip_comment(&mut self) -> R<()> {
        let q = self.find_breakz(self.pos);
        if q > self.pos {
            self.advance_to(q);
            self.cache(1)?;
        }
        Ok(())
    }

    #[inline]
    fn skip(&mut self) {
        self.mark.index += 1;
        self.mark.column += 1;
        self.pos += self.width();
    }

    fn skip_line(&mut self) {
        let c = self.ch(0);
        if c == '\r' && self.ch(1) == '\n' {
            self.mark.index += 2;
            self.mark.column = 0;
            self.mark.line += 1;
            self.pos += 2;
        } else if is_break(c) {
            self.mark.index += 1;
            self.mark.column = 0;
            self.mark.line += 1;
            self.pos += self.width();
        }
    }

    /// Append the current character to `s` and move past it.
    #[inline]
    fn read(&mut self, s: &mut Buf) {
        let w = self.width();
        if self.pos < self.bytes.len() {
            s.push_src(self.text, self.pos, self.pos + w);
        } else {
            s.push_char(self.text, '\0');
        }
        self.mark.index += 1;
        self.mark.column += 1;
        self.pos += w;
    }

    fn read_string(&mut self, s: &mut String) {
        s.push(self.ch(0));
        self.skip();
    }

    fn read_line(&mut self, s: &mut String) {
        let c = self.ch(0);
        if c == '\r' && self.ch(1) == '\n' {
            s.push('\n');
            self.pos += 2;
            self.mark.index += 1;
        } else if c == '\r' || c == '\n' || c == '\u{85}' {
            s.push('\n');
            self.pos += self.width();
        } else if c == '\u{2028}' || c == '\u{2029}' {
            s.push(c);
            self.pos += self.width();
        } else {
            return;
        }
        self.mark.index += 1;
        self.mark.column = 0;
        self.mark.line += 1;
    }

    fn error(&self, context_mark: Mark, problem: &str) -> Box<Failure> {
        Box::new(Failure {
            scanner: true,
            problem: problem.to_string(),
            problem_mark: Some(self.mark),
            context_mark: Some(context_mark),
        })
    }

    // ---- token queue --------------------------------------------------------------------

    /// go-yaml's `yaml_insert_token`: a negative position appends.
    fn insert_token(&mut self, pos: Option<isize>, tok: Token<'a>) {
        match pos {
            Some(p) if p >= 0 => self.tokens.insert((p as usize).min(self.tokens.len()), tok),
            _ => self.tokens.push_back(tok),
        }
    }

    fn peek_token(&mut self) -> R<&Token<'a>> {
        if !self.token_available {
            self.fetch_more_tokens()?;
        }
        Ok(self.tokens.front().expect("a fetched token"))
    }

    fn skip_token(&mut self) -> Option<Token<'a>> {
        self.token_available = false;
        self.tokens_parsed += 1;
        let t = self.tokens.pop_front();
        if let Some(t) = &t {
            self.stream_end_produced = t.typ == Tok::StreamEnd;
        }
        t
    }

    fn fetch_more_tokens(&mut self) -> R<()> {
        loop {
            if !self.tokens.is_empty() {
                match self.simple_keys_by_tok.get(self.tokens_parsed) {
                    None => break,
                    Some(idx) => {
                        if !self.simple_key_is_valid(idx)? {
                            break;
                        }
                    }
                }
            }
            self.fetch_next_token()?;
        }
        self.token_available = true;
        Ok(())
    }

    fn simple_key_is_valid(&mut self, idx: usize) -> R<bool> {
        let key = self.simple_keys[idx];
        if !key.possible {
            return Ok(false);
        }
        if key.mark.line < self.mark.line || key.mark.index + 1024 < self.mark.index {
            if key.required {
                return Err(self.error(key.mark, "could not find expected ':'"));
            }
            self.simple_keys[idx].possible = false;
            return Ok(false);
        }
        Ok(true)
    }

    fn save_simple_key(&mut self) -> R<()> {
        let required = self.flow_level == 0 && self.indent == self.mark.column as i64;
        if self.simple_key_allowed {
            let key = SimpleKey {
                possible: true,
                required,
                token_number: self.tokens_parsed + self.tokens.len(),
                mark: self.mark,
            };
            self.remove_simple_key()?;
            let last = self.simple_keys.len() - 1;
            self.simple_keys[last] = key;
            self.simple_keys_by_tok
                .insert(key.token_number, last, self.tokens_parsed);
        }
        Ok(())
    }

    fn remove_simple_key(&mut self) -> R<()> {
        let i = self.simple_keys.len() - 1;
        let key = self.simple_keys[i];
        if key.possible {
            if key.required {
                return Err(self.error(key.mark, "could not find expected ':'"));
            }
            self.simple_keys[i].possible = false;
            self.simple_keys_by_tok.remove(key.token_number);
        }
        Ok(())
    }

    fn increase_flow_level(&mut self) -> R<()> {
        self.simple_keys.push(SimpleKey {
            possible: false,
            required: false,
            token_number: self.tokens_parsed + self.tokens.len(),
            mark: self.mark,
        });
        self.flow_level += 1;
        if self.flow_level > MAX_FLOW_LEVEL {
            let m = self.simple_keys[self.simple_keys.len() - 1].mark;
            return Err(self.error(m, &format!("exceeded max depth of {MAX_FLOW_LEVEL}")));
        }
        Ok(())
    }

    fn decrease_flow_level(&mut self) {
        if self.flow_level > 0 {
            self.flow_level -= 1;
            if let Some(k) = self.simple_keys.pop() {
                self.simple_keys_by_tok.remove(k.token_number);
            }
        }
    }

    fn roll_indent(&mut self, column: i64, number: Option<usize>, typ: Tok, mark: Mark) -> R<()> {
        if self.flow_level > 0 {
            return Ok(());
        }
        if self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
            if self.indents.len() > MAX_INDENTS {
                let m = self.simple_keys[self.simple_keys.len() - 1].mark;
                return Err(self.error(m, &format!("exceeded max depth of {MAX_INDENTS}")));
            }
            let tok = Token::new(typ, mark, mark);
            let pos = number.map(|n| n as isize - self.tokens_parsed as isize);
            self.insert_token(pos, tok);
        }
        Ok(())
    }

    fn unroll_indent(&mut self, column: i64) {
        if self.flow_level > 0 {
            return;
        }
        while self.indent > column {
            let tok = Token::new(Tok::BlockEnd, self.mark, self.mark);
            self.insert_token(None, tok);
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    // ---- fetchers -----------------------------------------------------------------------

    fn fetch_next_token(&mut self) -> R<()> {
        self.cache(1)?;
        if !self.stream_start_produced {
            self.indent = -1;
            self.simple_keys.push(SimpleKey::default());
            self.simple_key_allowed = true;
            self.stream_start_produced = true;
            let t = Token::new(Tok::StreamStart, self.mark, self.mark);
            self.insert_token(None, t);
            return Ok(());
        }
        self.scan_to_next_token()?;
        self.unroll_indent(self.mark.column as i64);
        self.cache(4)?;
        let c = self.ch(0);
        if c == '\0' {
            return self.fetch_stream_end();
        }
        let col0 = self.mark.column == 0;
        if col0 && c == '%' {
            return self.fetch_directive();
        }
        if col0 && c == '-' && self.ch(1) == '-' && self.ch(2) == '-' && is_blankz(self.ch(3)) {
            return self.fetch_document_indicator(Tok::DocumentStart);
        }
        if col0 && c == '.' && self.ch(1) == '.' && self.ch(2) == '.' && is_blankz(self.ch(3)) {
            return self.fetch_document_indicator(Tok::DocumentEnd);
        }
        match c {
            '[' => return self.fetch_flow_collection_start(Tok::FlowSequenceStart),
            '{' => return self.fetch_flow_collection_start(Tok::FlowMappingStart),
            ']' => return self.fetch_flow_collection_end(Tok::FlowSequenceEnd),
            '}' => return self.fetch_flow_collection_end(Tok::FlowMappingEnd),
            ',' => return self.fetch_flow_entry(),
            _ => {}
        }
        let n = self.ch(1);
        if c == '-' && is_blankz(n) {
            return self.fetch_block_entry();
        }
        if c == '?' && (self.flow_level > 0 || is_blankz(n)) {
            return self.fetch_key();
        }
        if c == ':' && (self.flow_level > 0 || is_blankz(n)) {
            return self.fetch_value();
        }
        match c {
            '*' => return self.fetch_anchor(Tok::Alias),
            '&' => return self.fetch_anchor(Tok::Anchor),
            '!' => return self.fetch_tag(),
            '|' if self.flow_level == 0 => return self.fetch_block_scalar(true),
            '>' if self.flow_level == 0 => return self.fetch_block_scalar(false),
            '\'' => return self.fetch_flow_scalar(true),
            '"' => return self.fetch_flow_scalar(false),
            _ => {}
        }
        let indicator = is_blankz(c)
            || matches!(
                c,
                '-' | '?'
                    | ':'
                    | ','
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '#'
                    | '&'
                    | '*'
                    | '!'
                    | '|'
                    | '>'
                    | '\''
                    | '"'
                    | '%'
                    | '@'
                    | '`'
            );
        if !indicator
            || (c == '-' && !is_blank(n))
            || (self.flow_level == 0 && (c == '?' || c == ':') && !is_blankz(n))
        {
            return self.fetch_plain_scalar();
        }
        Err(self.error(self.mark, "found character that cannot start any token"))
    }

    fn fetch_stream_end(&mut self) -> R<()> {
        if self.mark.column != 0 {
            self.mark.column = 0;
            self.mark.line += 1;
        }
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let t = Token::new(Tok::StreamEnd, self.mark, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_directive(&mut self) -> R<()> {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_directive()?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_document_indicator(&mut self, typ: Tok) -> R<()> {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        self.skip();
        self.skip();
        let t = Token::new(typ, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_flow_collection_start(&mut self, typ: Tok) -> R<()> {
        self.save_simple_key()?;
        self.increase_flow_level()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        let t = Token::new(typ, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_flow_collection_end(&mut self, typ: Tok) -> R<()> {
        self.remove_simple_key()?;
        self.decrease_flow_level();
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        let t = Token::new(typ, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_flow_entry(&mut self) -> R<()> {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        let t = Token::new(Tok::FlowEntry, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_block_entry(&mut self) -> R<()> {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                return Err(self.error(
                    self.mark,
                    "block sequence entries are not allowed in this context",
                ));
            }
            self.roll_indent(
                self.mark.column as i64,
                None,
                Tok::BlockSequenceStart,
                self.mark,
            )?;
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        let t = Token::new(Tok::BlockEntry, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_key(&mut self) -> R<()> {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                return Err(self.error(self.mark, "mapping keys are not allowed in this context"));
            }
            self.roll_indent(
                self.mark.column as i64,
                None,
                Tok::BlockMappingStart,
                self.mark,
            )?;
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = self.flow_level == 0;
        let start = self.mark;
        self.skip();
        let t = Token::new(Tok::Key, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_value(&mut self) -> R<()> {
        let idx = self.simple_keys.len() - 1;
        if self.simple_key_is_valid(idx)? {
            let key = self.simple_keys[idx];
            let t = Token::new(Tok::Key, key.mark, key.mark);
            self.insert_token(
                Some(key.token_number as isize - self.tokens_parsed as isize),
                t,
            );
            self.roll_indent(
                key.mark.column as i64,
                Some(key.token_number),
                Tok::BlockMappingStart,
                key.mark,
            )?;
            self.simple_keys[idx].possible = false;
            self.simple_keys_by_tok.remove(key.token_number);
            self.simple_key_allowed = false;
        } else {
            if self.flow_level == 0 {
                if !self.simple_key_allowed {
                    return Err(
                        self.error(self.mark, "mapping values are not allowed in this context")
                    );
                }
                self.roll_indent(
                    self.mark.column as i64,
                    None,
                    Tok::BlockMappingStart,
                    self.mark,
                )?;
            }
            self.simple_key_allowed = self.flow_level == 0;
        }
        let start = self.mark;
        self.skip();
        let t = Token::new(Tok::Value, start, self.mark);
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_anchor(&mut self, typ: Tok) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_anchor(typ)?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_tag(&mut self) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_tag()?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_block_scalar(&mut self, literal: bool) -> R<()> {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let t = self.scan_block_scalar(literal)?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_flow_scalar(&mut self, single: bool) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_flow_scalar(single)?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_plain_scalar(&mut self) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_plain_scalar()?;
        self.insert_token(None, t);
        Ok(())
    }

    // ---- scanners -----------------------------------------------------------------------

    fn scan_to_next_token(&mut self) -> R<()> {
        loop {
            self.cache(1)?;
            if self.mark.column == 0 && self.ch(0) == '\u{feff}' {
                self.skip();
            }
            self.cache(1)?;
            let tabs = self.flow_level > 0 || !self.simple_key_allowed;
            let mut q = self.pos;
            while let Some(&b) = self.bytes.get(q) {
                if b == b' ' || (tabs && b == b'\t') {
                    q += 1;
                } else {
                    break;
                }
            }
            if q > self.pos {
                self.advance_to(q);
                self.cache(1)?;
            }
            if self.ch(0) == '#' {
                self.skip_comment()?;
            }
            if is_break(self.ch(0)) {
                self.cache(2)?;
                self.skip_line();
                if self.flow_level == 0 {
                    self.simple_key_allowed = true;
                }
            } else {
                break;
            }
        }
        Ok(())
    }

    fn skip_comment_to_eol(&mut self, start: Mark, context_problem: &str) -> R<()> {
        self.cache(1)?;
        while is_blank(self.ch(0)) {
            self.skip();
            self.cache(1)?;
        }
        if self.ch(0) == '#' {
            self.skip_comment()?;
        }
        if !is_breakz(self.ch(0)) {
            return Err(self.error(start, context_problem));
        }
        if is_break(self.ch(0)) {
            self.cache(2)?;
            self.skip_line();
        }
        Ok(())
    }

    fn scan_directive(&mut self) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        // Directive name.
        self.cache(1)?;
        let mut name = String::new();
        while is_alpha(self.ch(0)) {
            self.read_string(&mut name);
            self.cache(1)?;
        }
        if name.is_empty() {
            return Err(self.error(start, "could not find expected directive name"));
        }
        if !is_blankz(self.ch(0)) {
            return Err(self.error(start, "found unexpected non-alphabetical character"));
        }
        let mut tok;
        if name == "YAML" {
            self.cache(1)?;
            while is_blank(self.ch(0)) {
                self.skip();
                self.cache(1)?;
            }
            let major = self.scan_version_number(start)?;
            if self.ch(0) != '.' {
                return Err(self.error(start, "did not find expected digit or '.' character"));
            }
            self.skip();
            let minor = self.scan_version_number(start)?;
            tok = Token::new(Tok::VersionDirective, start, self.mark);
            tok.extra = Some(Box::new(Extra {
                major,
                minor,
                ..Extra::default()
            }));
        } else if name == "TAG" {
            self.cache(1)?;
            while is_blank(self.ch(0)) {
                self.skip();
                self.cache(1)?;
            }
            let handle = self.scan_tag_handle(true, start)?;
            self.cache(1)?;
            if !is_blank(self.ch(0)) {
                return Err(self.error(start, "did not find expected whitespace"));
            }
            while is_blank(self.ch(0)) {
                self.skip();
                self.cache(1)?;
            }
            let prefix = self.scan_tag_uri(true, "", start)?;
            self.cache(1)?;
            if !is_blankz(self.ch(0)) {
                return Err(self.error(start, "did not find expected whitespace or line break"));
            }
            tok = Token::new(Tok::TagDirective, start, self.mark);
            tok.value = Cow::Owned(handle);
            tok.extra = Some(Box::new(Extra {
                suffix: prefix,
                ..Extra::default()
            }));
        } else {
            return Err(self.error(start, "found unknown directive name"));
        }
        self.skip_comment_to_eol(start, "did not find expected comment or line break")?;
        Ok(tok)
    }

    fn scan_version_number(&mut self, start: Mark) -> R<i32> {
        self.cache(1)?;
        let mut value = 0i32;
        let mut length = 0;
        while self.ch(0).is_ascii_digit() {
            length += 1;
            if length > 2 {
                return Err(self.error(start, "found extremely long version number"));
            }
            value = value * 10 + (self.ch(0) as i32 - '0' as i32);
            self.skip();
            self.cache(1)?;
        }
        if length == 0 {
            return Err(self.error(start, "did not find expected version number"));
        }
        Ok(value)
    }

    fn scan_anchor(&mut self, typ: Tok) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        self.cache(1)?;
        let mut s = String::new();
        while is_alpha(self.ch(0)) {
            self.read_string(&mut s);
            self.cache(1)?;
        }
        let end = self.mark;
        let c = self.ch(0);
        if s.is_empty()
            || !(is_blankz(c) || matches!(c, '?' | ':' | ',' | ']' | '}' | '%' | '@' | '`'))
        {
            return Err(self.error(
                start,
                "did not find expected alphabetic or numeric character",
            ));
        }
        let mut t = Token::new(typ, start, end);
        t.value = Cow::Owned(s);
        Ok(t)
    }

    fn scan_tag(&mut self) -> R<Token<'a>> {
        let start = self.mark;
        self.cache(2)?;
        let mut handle;
        let suffix;
        if self.ch(1) == '<' {
            self.skip();
            self.skip();
            suffix = self.scan_tag_uri(false, "", start)?;
            if self.ch(0) != '>' {
                return Err(self.error(start, "did not find the expected '>'"));
            }
            self.skip();
            handle = String::new();
        } else {
            handle = self.scan_tag_handle(false, start)?;
            if handle.len() > 1 && handle.starts_with('!') && handle.ends_with('!') {
                suffix = self.scan_tag_uri(false, "", start)?;
            } else {
                let s = self.scan_tag_uri(false, &handle, start)?;
                handle = "!".to_string();
                if s.is_empty() {
                    suffix = handle;
                    handle = String::new();
                } else {
                    suffix = s;
                }
            }
        }
        self.cache(1)?;
        if !is_blankz(self.ch(0)) {
            return Err(self.error(start, "did not find expected whitespace or line break"));
        }
        let mut t = Token::new(Tok::Tag, start, self.mark);
        t.value = Cow::Owned(handle);
        t.extra = Some(Box::new(Extra {
            suffix,
            ..Extra::default()
        }));
        Ok(t)
    }

    fn scan_tag_handle(&mut self, directive: bool, start: Mark) -> R<String> {
        self.cache(1)?;
        if self.ch(0) != '!' {
            return Err(self.error(start, "did not find expected '!'"));
        }
        let mut s = String::new();
        self.read_string(&mut s);
        self.cache(1)?;
        while is_alpha(self.ch(0)) {
            self.read_string(&mut s);
            self.cache(1)?;
        }
        if self.ch(0) == '!' {
            self.read_string(&mut s);
        } else if directive && s != "!" {
            return Err(self.error(start, "did not find expected '!'"));
        }
        Ok(s)
    }

    fn scan_tag_uri(&mut self, _directive: bool, head: &str, start: Mark) -> R<String> {
        let mut has_tag = !head.is_empty();
        let mut bytes: Vec<u8> = Vec::new();
        if head.len() > 1 {
            bytes.extend_from_slice(&head.as_bytes()[1..]);
        }
        self.cache(1)?;
        loop {
            let c = self.ch(0);
            let ok = is_alpha(c)
                || matches!(
                    c,
                    ';' | '/'
                        | '?'
                        | ':'
                        | '@'
                        | '&'
                        | '='
                        | '+'
                        | '$'
                        | ','
                        | '.'
                        | '!'
                        | '~'
                        | '*'
                        | '\''
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '%'
                );
            if !ok {
                break;
            }
            if c == '%' {
                self.scan_uri_escapes(start, &mut bytes)?;
            } else {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                self.skip();
            }
            self.cache(1)?;
            has_tag = true;
        }
        if !has_tag {
            return Err(self.error(start, "did not find expected tag URI"));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn scan_uri_escapes(&mut self, start: Mark, out: &mut Vec<u8>) -> R<()> {
        let mut w: i32 = 1024;
        while w > 0 {
            self.cache(3)?;
            if !(self.ch(0) == '%' && is_hex(self.ch(1)) && is_hex(self.ch(2))) {
                return Err(self.error(start, "did not find URI escaped octet"));
            }
            let octet = (self.ch(1).to_digit(16).unwrap_or(0) * 16
                + self.ch(2).to_digit(16).unwrap_or(0)) as u8;
            if w == 1024 {
                w = if octet & 0x80 == 0 {
                    1
                } else if octet & 0xE0 == 0xC0 {
                    2
                } else if octet & 0xF0 == 0xE0 {
                    3
                } else if octet & 0xF8 == 0xF0 {
                    4
                } else {
                    return Err(self.error(start, "found an incorrect leading UTF-8 octet"));
                };
            } else if octet & 0xC0 != 0x80 {
                return Err(self.error(start, "found an incorrect trailing UTF-8 octet"));
            }
            out.push(octet);
            self.skip();
            self.skip();
            self.skip();
            w -= 1;
        }
        Ok(())
    }

    fn scan_block_scalar(&mut self, literal: bool) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        self.cache(1)?;
        let mut chomping = 0i32;
        let mut increment = 0i64;
        let c = self.ch(0);
        if c == '+' || c == '-' {
            chomping = if c == '+' { 1 } else { -1 };
            self.skip();
            self.cache(1)?;
            if self.ch(0).is_ascii_digit() {
                if self.ch(0) == '0' {
                    return Err(self.error(start, "found an indentation indicator equal to 0"));
                }
                increment = self.ch(0) as i64 - '0' as i64;
                self.skip();
            }
        } else if c.is_ascii_digit() {
            if c == '0' {
                return Err(self.error(start, "found an indentation indicator equal to 0"));
            }
            increment = c as i64 - '0' as i64;
            self.skip();
            self.cache(1)?;
            let c = self.ch(0);
            if c == '+' || c == '-' {
                chomping = if c == '+' { 1 } else { -1 };
                self.skip();
            }
        }
        self.skip_comment_to_eol(start, "did not find expected comment or line break")?;
        let mut end = self.mark;
        let mut indent: i64 = 0;
        if increment > 0 {
            indent = if self.indent >= 0 {
                self.indent + increment
            } else {
                increment
            };
        }
        let mut s = String::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        self.block_scalar_breaks(&mut indent, &mut trailing_breaks, start, &mut end)?;
        self.cache(1)?;
        let mut leading_blank = false;
        while self.mark.column as i64 == indent && self.ch(0) != '\0' {
            let trailing_blank = is_blank(self.ch(0));
            if !literal && !leading_blank && !trailing_blank && leading_break.starts_with('\n') {
                if trailing_breaks.is_empty() {
                    s.push(' ');
                }
            } else {
                s.push_str(&leading_break);
            }
            leading_break.clear();
            s.push_str(&trailing_breaks);
            trailing_breaks.clear();
            leading_blank = is_blank(self.ch(0));
            let q = self.find_breakz(self.pos);
            if q > self.pos {
                s.push_str(&self.text[self.pos..q]);
                self.advance_to(q);
                self.cache(1)?;
            }
            self.cache(2)?;
            self.read_line(&mut leading_break);
            self.block_scalar_breaks(&mut indent, &mut trailing_breaks, start, &mut end)?;
        }
        if chomping != -1 {
            s.push_str(&leading_break);
        }
        if chomping == 1 {
            s.push_str(&trailing_breaks);
        }
        let mut t = Token::new(Tok::Scalar, start, end);
        t.value = Cow::Owned(s);
        t.style = if literal {
            Style::Literal
        } else {
            Style::Folded
        };
        Ok(t)
    }

    fn block_scalar_breaks(
        &mut self,
        indent: &mut i64,
        breaks: &mut String,
        start: Mark,
        end: &mut Mark,
    ) -> R<()> {
        *end = self.mark;
        let mut max_indent: i64 = 0;
        loop {
            self.cache(1)?;
            while (*indent == 0 || (self.mark.column as i64) < *indent) && self.ch(0) == ' ' {
                self.skip();
                self.cache(1)?;
            }
            if self.mark.column as i64 > max_indent {
                max_indent = self.mark.column as i64;
            }
            if (*indent == 0 || (self.mark.column as i64) < *indent) && self.ch(0) == '\t' {
                return Err(self.error(
                    start,
                    "found a tab character where an indentation space is expected",
                ));
            }
            if !is_break(self.ch(0)) {
                break;
            }
            self.cache(2)?;
            self.read_line(breaks);
            *end = self.mark;
        }
        if *indent == 0 {
            *indent = max_indent;
            if *indent < self.indent + 1 {
                *indent = self.indent + 1;
            }
            if *indent < 1 {
                *indent = 1;
            }
        }
        Ok(())
    }

    fn document_indicator_ahead(&self) -> bool {
        self.mark.column == 0
            && ((self.ch(0) == '-' && self.ch(1) == '-' && self.ch(2) == '-')
                || (self.ch(0) == '.' && self.ch(1) == '.' && self.ch(2) == '.'))
            && is_blankz(self.ch(3))
    }

    fn scan_flow_scalar(&mut self, single: bool) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        let mut s = Buf::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        let mut whitespaces = Buf::new();
        loop {
            self.cache(4)?;
            if self.document_indicator_ahead() {
                return Err(self.error(start, "found unexpected document indicator"));
            }
            if self.ch(0) == '\0' {
                return Err(self.error(start, "found unexpected end of stream"));
            }
            let mut leading_blanks = false;
            while !is_blankz(self.ch(0)) {
                let c = self.ch(0);
                if single && c == '\'' && self.ch(1) == '\'' {
                    s.push_char(self.text, '\'');
                    self.skip();
                    self.skip();
                } else if (single && c == '\'') || (!single && c == '"') {
                    break;
                } else if !single && c == '\\' && is_break(self.ch(1)) {
                    self.cache(3)?;
                    self.skip();
                    self.skip_line();
                    leading_blanks = true;
                    break;
                } else if !single && c == '\\' {
                    let mut code_length = 0usize;
                    match self.ch(1) {
                        '0' => s.push_char(self.text, '\0'),
                        'a' => s.push_char(self.text, '\u{7}'),
                        'b' => s.push_char(self.text, '\u{8}'),
                        't' | '\t' => s.push_char(self.text, '\t'),
                        'n' => s.push_char(self.text, '\n'),
                        'v' => s.push_char(self.text, '\u{b}'),
                        'f' => s.push_char(self.text, '\u{c}'),
                        'r' => s.push_char(self.text, '\r'),
                        'e' => s.push_char(self.text, '\u{1b}'),
                        ' ' => s.push_char(self.text, ' '),
                        '"' => s.push_char(self.text, '"'),
                        '\'' => s.push_char(self.text, '\''),
                        '\\' => s.push_char(self.text, '\\'),
                        'N' => s.push_char(self.text, '\u{85}'),
                        '_' => s.push_char(self.text, '\u{a0}'),
                        'L' => s.push_char(self.text, '\u{2028}'),
                        'P' => s.push_char(self.text, '\u{2029}'),
                        'x' => code_length = 2,
                        'u' => code_length = 4,
                        'U' => code_length = 8,
                        _ => return Err(self.error(start, "found unknown escape character")),
                    }
                    self.skip();
                    self.skip();
                    if code_length > 0 {
                        self.cache(code_length)?;
                        let mut value: u32 = 0;
                        for k in 0..code_length {
                            let h = self.ch(k);
                            if !is_hex(h) {
                                return Err(
                                    self.error(start, "did not find expected hexdecimal number")
                                );
                            }
                            value = (value << 4) + h.to_digit(16).unwrap_or(0);
                        }
                        if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
                            return Err(
                                self.error(start, "found invalid Unicode character escape code")
                            );
                        }
                        s.push_char(self.text, char::from_u32(value).unwrap_or('\u{fffd}'));
                        for _ in 0..code_length {
                            self.skip();
                        }
                    }
                } else {
                    let q = self.flow_run_end(self.pos + self.width());
                    s.push_src(self.text, self.pos, q);
                    self.advance_to(q);
                }
                self.cache(2)?;
            }
            self.cache(1)?;
            let c = self.ch(0);
            if (single && c == '\'') || (!single && c == '"') {
                break;
            }
            while is_blank(self.ch(0)) || is_break(self.ch(0)) {
                if is_blank(self.ch(0)) {
                    if !leading_blanks {
                        self.read(&mut whitespaces);
                    } else {
                        self.skip();
                    }
                } else {
                    self.cache(2)?;
                    if !leading_blanks {
                        whitespaces.clear();
                        self.read_line(&mut leading_break);
                        leading_blanks = true;
                    } else {
                        self.read_line(&mut trailing_breaks);
                    }
                }
                self.cache(1)?;
            }
            if leading_blanks {
                if leading_break.starts_with('\n') {
                    if trailing_breaks.is_empty() {
                        s.push_char(self.text, ' ');
                    } else {
                        s.push_str(self.text, &trailing_breaks);
                    }
                } else {
                    s.push_str(self.text, &leading_break);
                    s.push_str(self.text, &trailing_breaks);
                }
                trailing_breaks.clear();
                leading_break.clear();
            } else {
                s.append(self.text, &whitespaces);
                whitespaces.clear();
            }
        }
        self.skip();
        let mut t = Token::new(Tok::Scalar, start, self.mark);
        t.value = s.into_cow(self.text);
        t.style = if single { Style::Single } else { Style::Double };
        Ok(t)
    }

    fn scan_plain_scalar(&mut self) -> R<Token<'a>> {
        let mut s = Buf::new();
        // Reused buffers: most plain scalars end with a line break read into `leading_break`.
        let mut leading_break = std::mem::take(&mut self.leading_break);
        let mut trailing_breaks = std::mem::take(&mut self.trailing_breaks);
        leading_break.clear();
        trailing_breaks.clear();
        let mut whitespaces = Buf::new();
        let mut leading_blanks = false;
        let indent = self.indent + 1;
        let start = self.mark;
        let mut end = self.mark;
        loop {
            self.cache(4)?;
            if self.document_indicator_ahead() {
                break;
            }
            if self.ch(0) == '#' {
                break;
            }
            while !is_blankz(self.ch(0)) {
                let c = self.ch(0);
                if (c == ':' && is_blankz(self.ch(1)))
                    || (self.flow_level > 0 && matches!(c, ',' | '?' | '[' | ']' | '{' | '}'))
                {
                    break;
                }
                if leading_blanks || !whitespaces.is_empty() {
                    if leading_blanks {
                        if leading_break.starts_with('\n') {
                            if trailing_breaks.is_empty() {
                                s.push_char(self.text, ' ');
                            } else {
                                s.push_str(self.text, &trailing_breaks);
                            }
                        } else {
                            s.push_str(self.text, &leading_break);
                            s.push_str(self.text, &trailing_breaks);
                        }
                        trailing_breaks.clear();
                        leading_break.clear();
                        leading_blanks = false;
                    } else {
                        s.append(self.text, &whitespaces);
                        whitespaces.clear();
                    }
                }
                // The rest of the run needs no joining: take it in one step (the reader's
                // checks are cumulative, so one `cache` at its end is the same).
                let q = self.plain_run_end(self.pos + self.width());
                s.push_src(self.text, self.pos, q);
                self.advance_to(q);
                end = self.mark;
                self.cache(2)?;
            }
            if !(is_blank(self.ch(0)) || is_break(self.ch(0))) {
                break;
            }
            self.cache(1)?;
            while is_blank(self.ch(0)) || is_break(self.ch(0)) {
                if is_blank(self.ch(0)) {
                    if leading_blanks && (self.mark.column as i64) < indent && self.ch(0) == '\t' {
                        return Err(
                            self.error(start, "found a tab character that violates indentation")
                        );
                    }
                    if !leading_blanks {
                        self.read(&mut whitespaces);
                    } else if self.ch(0) == ' ' {
                        // Indentation: skip the run of spaces at once.
                        let mut q = self.pos + 1;
                        while self.bytes.get(q) == Some(&b' ') {
                            q += 1;
                        }
                        self.advance_to(q);
                    } else {
                        self.skip();
                    }
                } else {
                    self.cache(2)?;
                    if !leading_blanks {
                        whitespaces.clear();
                        self.read_line(&mut leading_break);
                        leading_blanks = true;
                    } else {
                        self.read_line(&mut trailing_breaks);
                    }
                }
                self.cache(1)?;
            }
            if self.flow_level == 0 && (self.mark.column as i64) < indent {
                break;
            }
        }
        self.leading_break = leading_break;
        self.trailing_breaks = trailing_breaks;
        let mut t = Token::new(Tok::Scalar, start, end);
        t.value = s.into_cow(self.text);
        t.style = Style::Plain;
        if leading_blanks {
            self.simple_key_allowed = true;
        }
        Ok(t)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

/// go-yaml v2's event parser over [`Scanner`].
pub(crate) struct Parser<'a> {
    sc: Scanner<'a>,
    state: State,
    states: Vec<State>,
    marks: Vec<Mark>,
    /// Handle -> prefix; the two defaults are static.
    tag_directives: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    failed: Option<YamlError>,
}

fn parser_error(problem: &str, mark: Mark) -> Box<Failure> {
    Box::new(Failure {
        scanner: false,
        problem: problem.to_string(),
        problem_mark: Some(mark),
        context_mark: None,
    })
}

fn parser_error_ctx(context_mark: Mark, problem: &str, mark: Mark) -> Box<Failure> {
    Box::new(Failure {
        scanner: false,
        problem: problem.to_string(),
        problem_mark: Some(mark),
        context_mark: Some(context_mark),
    })
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Parser {
            sc: Scanner::new(text),
            state: State::StreamStart,
            states: Vec::new(),
            marks: Vec::new(),
            tag_directives: Vec::new(),
            failed: None,
        }
    }

    /// go-yaml's `parser.fail()`: the problem's line (1-based for scanner errors, 0-based
    /// for parser errors), else the context's, else none.
    fn fail(f: Failure) -> YamlError {
        let pl = f.problem_mark.map_or(0, |m| m.line as usize);
        let line = if pl != 0 {
            if f.scanner { pl + 1 } else { pl }
        } else {
            f.context_mark.map_or(0, |m| m.line as usize)
        };
        YamlError {
            line: if line == 0 { None } else { Some(line) },
            message: f.problem,
            kind: ErrorKind::Syntax,
        }
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    /// The next token without its text (cheap; see [`Parser::peek_full`]).
    fn peek(&mut self) -> R<Head> {
        let t = self.sc.peek_token()?;
        Ok(Head {
            typ: t.typ,
            start: t.start,
            end: t.end,
            style: t.style,
        })
    }

    /// The next token's text (anchor or alias name).
    fn peek_value(&mut self) -> R<String> {
        Ok(self.sc.peek_token()?.value.to_string())
    }

    /// The next token's tag handle and suffix.
    fn peek_tag(&mut self) -> R<(String, String)> {
        let t = self.sc.peek_token()?;
        Ok((t.value.to_string(), t.suffix()))
    }

    fn peek_full(&mut self) -> R<Token<'a>> {
        Ok(self.sc.peek_token()?.clone())
    }

    fn peek_typ(&mut self) -> R<Tok> {
        Ok(self.sc.peek_token()?.typ)
    }

    fn empty_scalar(mark: Mark) -> Event<'a> {
        Event::Scalar {
            value: Cow::Borrowed(""),
            tag: String::new(),
            implicit: true,
            anchor: None,
            line: mark.line as usize,
        }
    }

    fn next_event(&mut self) -> R<Option<Event<'a>>> {
        match self.state {
            State::StreamStart => {
                let t = self.peek()?;
                if t.typ != Tok::StreamStart {
                    return Err(parser_error(
                        "did not find expected <stream-start>",
                        t.start,
                    ));
                }
                self.state = State::ImplicitDocumentStart;
                self.sc.skip_token();
                Ok(None)
            }
            State::ImplicitDocumentStart => self.document_start(true).map(Some),
            State::DocumentStart => self.document_start(false).map(Some),
            State::DocumentContent => {
                let t = self.peek()?;
                if matches!(
                    t.typ,
                    Tok::VersionDirective
                        | Tok::TagDirective
                        | Tok::DocumentStart
                        | Tok::DocumentEnd
                        | Tok::StreamEnd
                ) {
                    self.pop_state();
                    return Ok(Some(Self::empty_scalar(t.start)));
                }
                self.node(true, false).map(Some)
            }
            State::DocumentEnd => {
                let t = self.peek()?;
                if t.typ == Tok::DocumentEnd {
                    self.sc.skip_token();
                }
                self.tag_directives.clear();
                self.state = State::DocumentStart;
                Ok(Some(Event::DocumentEnd))
            }
            State::BlockNode => self.node(true, false).map(Some),
            State::BlockSequenceFirstEntry => self.block_sequence_entry(true).map(Some),
            State::BlockSequenceEntry => self.block_sequence_entry(false).map(Some),
            State::IndentlessSequenceEntry => self.indentless_sequence_entry().map(Some),
            State::BlockMappingFirstKey => self.block_mapping_key(true).map(Some),
            State::BlockMappingKey => self.block_mapping_key(false).map(Some),
            State::BlockMappingValue => self.block_mapping_value().map(Some),
            State::FlowSequenceFirstEntry => self.flow_sequence_entry(true).map(Some),
            State::FlowSequenceEntry => self.flow_sequence_entry(false).map(Some),
            State::FlowSequenceEntryMappingKey => {
                let t = self.peek()?;
                if !matches!(t.typ, Tok::Value | Tok::FlowEntry | Tok::FlowSequenceEnd) {
                    self.states.push(State::FlowSequenceEntryMappingValue);
                    return self.node(false, false).map(Some);
                }
                let mark = t.end;
                self.sc.skip_token();
                self.state = State::FlowSequenceEntryMappingValue;
                Ok(Some(Self::empty_scalar(mark)))
            }
            State::FlowSequenceEntryMappingValue => {
                let t = self.peek()?;
                if t.typ == Tok::Value {
                    self.sc.skip_token();
                    let t2 = self.peek()?;
                    if !matches!(t2.typ, Tok::FlowEntry | Tok::FlowSequenceEnd) {
                        self.states.push(State::FlowSequenceEntryMappingEnd);
                        return self.node(false, false).map(Some);
                    }
                }
                self.state = State::FlowSequenceEntryMappingEnd;
                let t = self.peek()?;
                Ok(Some(Self::empty_scalar(t.start)))
            }
            State::FlowSequenceEntryMappingEnd => {
                self.peek()?;
                self.state = State::FlowSequenceEntry;
                Ok(Some(Event::MappingEnd))
            }
            State::FlowMappingFirstKey => self.flow_mapping_key(true).map(Some),
            State::FlowMappingKey => self.flow_mapping_key(false).map(Some),
            State::FlowMappingValue => self.flow_mapping_value(false).map(Some),
            State::FlowMappingEmptyValue => self.flow_mapping_value(true).map(Some),
            State::End => Ok(Some(Event::StreamEnd)),
        }
    }

    fn process_directives(&mut self) -> R<bool> {
        let mut version_seen = false;
        let mut explicit = false;
        loop {
            let t = self.peek_full()?;
            match t.typ {
                Tok::VersionDirective => {
                    explicit = true;
                    if version_seen {
                        return Err(parser_error("found duplicate %YAML directive", t.start));
                    }
                    let (major, minor) = t.extra.as_ref().map_or((0, 0), |e| (e.major, e.minor));
                    if major != 1 || minor != 1 {
                        return Err(parser_error("found incompatible YAML document", t.start));
                    }
                    version_seen = true;
                }
                Tok::TagDirective => {
                    explicit = true;
                    if self
                        .tag_directives
                        .iter()
                        .any(|(h, _)| h.as_ref() == t.value.as_ref())
                    {
                        return Err(parser_error("found duplicate %TAG directive", t.start));
                    }
                    self.tag_directives
                        .push((Cow::Owned(t.value.to_string()), Cow::Owned(t.suffix())));
                }
                _ => break,
            }
            self.sc.skip_token();
        }
        for (h, p) in [("!", "!"), ("!!", "tag:yaml.org,2002:")] {
            if !self.tag_directives.iter().any(|(x, _)| x.as_ref() == h) {
                self.tag_directives
                    .push((Cow::Borrowed(h), Cow::Borrowed(p)));
            }
        }
        Ok(explicit)
    }

    fn document_start(&mut self, implicit: bool) -> R<Event<'a>> {
        let mut t = self.peek()?;
        if !implicit {
            while t.typ == Tok::DocumentEnd {
                self.sc.skip_token();
                t = self.peek()?;
            }
        }
        if implicit
            && !matches!(
                t.typ,
                Tok::VersionDirective | Tok::TagDirective | Tok::DocumentStart | Tok::StreamEnd
            )
        {
            self.process_directives()?;
            self.states.push(State::DocumentEnd);
            self.state = State::BlockNode;
            Ok(Event::DocumentStart)
        } else if t.typ != Tok::StreamEnd {
            self.process_directives()?;
            let t = self.peek()?;
            if t.typ != Tok::DocumentStart {
                return Err(parser_error(
                    "did not find expected <document start>",
                    t.start,
                ));
            }
            self.states.push(State::DocumentEnd);
            self.state = State::DocumentContent;
            self.sc.skip_token();
            Ok(Event::DocumentStart)
        } else {
            self.state = State::End;
            self.sc.skip_token();
            Ok(Event::StreamEnd)
        }
    }

    fn node(&mut self, block: bool, indentless_sequence: bool) -> R<Event<'a>> {
        let mut t = self.peek()?;
        if t.typ == Tok::Alias {
            let anchor = self.peek_value()?;
            self.pop_state();
            self.sc.skip_token();
            return Ok(Event::Alias {
                anchor,
                line: t.start.line as usize,
            });
        }
        let mut start = t.start;
        let mut anchor: Option<String> = None;
        let mut tag_token = false;
        let (mut tag_handle, mut tag_suffix) = (String::new(), String::new());
        let mut tag_mark = Mark::default();
        if t.typ == Tok::Anchor {
            anchor = Some(self.peek_value()?);
            self.sc.skip_token();
            t = self.peek()?;
            if t.typ == Tok::Tag {
                tag_token = true;
                (tag_handle, tag_suffix) = self.peek_tag()?;
                tag_mark = t.start;
                self.sc.skip_token();
                t = self.peek()?;
            }
        } else if t.typ == Tok::Tag {
            tag_token = true;
            (tag_handle, tag_suffix) = self.peek_tag()?;
            tag_mark = t.start;
            self.sc.skip_token();
            t = self.peek()?;
            if t.typ == Tok::Anchor {
                anchor = Some(self.peek_value()?);
                self.sc.skip_token();
                t = self.peek()?;
            }
        }
        let _ = &mut start;
        let mut tag = String::new();
        if tag_token {
            if tag_handle.is_empty() {
                tag = tag_suffix;
            } else {
                match self
                    .tag_directives
                    .iter()
                    .find(|(h, _)| h.as_ref() == tag_handle)
                {
                    Some((_, prefix)) => tag = format!("{prefix}{tag_suffix}"),
                    None => {
                        return Err(parser_error_ctx(
                            start,
                            "found undefined tag handle",
                            tag_mark,
                        ));
                    }
                }
            }
        }
        let line = start.line as usize;
        if indentless_sequence && t.typ == Tok::BlockEntry {
            self.state = State::IndentlessSequenceEntry;
            return Ok(Event::SequenceStart { anchor, line });
        }
        match t.typ {
            Tok::Scalar => {
                let implicit = (tag.is_empty() && t.style == Style::Plain) || tag == "!";
                self.pop_state();
                let value = self.sc.skip_token().map(|t| t.value).unwrap_or_default();
                return Ok(Event::Scalar {
                    value,
                    tag,
                    implicit,
                    anchor,
                    line,
                });
            }
            Tok::FlowSequenceStart => {
                self.state = State::FlowSequenceFirstEntry;
                return Ok(Event::SequenceStart { anchor, line });
            }
            Tok::FlowMappingStart => {
                self.state = State::FlowMappingFirstKey;
                return Ok(Event::MappingStart { anchor, line });
            }
            Tok::BlockSequenceStart if block => {
                self.state = State::BlockSequenceFirstEntry;
                return Ok(Event::SequenceStart { anchor, line });
            }
            Tok::BlockMappingStart if block => {
                self.state = State::BlockMappingFirstKey;
                return Ok(Event::MappingStart { anchor, line });
            }
            _ => {}
        }
        if anchor.is_some() || !tag.is_empty() {
            self.pop_state();
            let implicit = tag.is_empty();
            return Ok(Event::Scalar {
                value: Cow::Borrowed(""),
                tag,
                implicit,
                anchor,
                line,
            });
        }
        Err(parser_error_ctx(
            start,
            "did not find expected node content",
            t.start,
        ))
    }

    fn block_sequence_entry(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let t = self.peek()?;
            self.marks.push(t.start);
            self.sc.skip_token();
        }
        let t = self.peek()?;
        if t.typ == Tok::BlockEntry {
            let mark = t.end;
            self.sc.skip_token();
            let t2 = self.peek_typ()?;
            if t2 != Tok::BlockEntry && t2 != Tok::BlockEnd {
                self.states.push(State::BlockSequenceEntry);
                return self.node(true, false);
            }
            self.state = State::BlockSequenceEntry;
            return Ok(Self::empty_scalar(mark));
        }
        if t.typ == Tok::BlockEnd {
            self.pop_state();
            self.marks.pop();
            self.sc.skip_token();
            return Ok(Event::SequenceEnd);
        }
        let cm = self.marks.pop().unwrap_or_default();
        Err(parser_error_ctx(
            cm,
            "did not find expected '-' indicator",
            t.start,
        ))
    }

    fn indentless_sequence_entry(&mut self) -> R<Event<'a>> {
        let t = self.peek()?;
        if t.typ == Tok::BlockEntry {
            let mark = t.end;
            self.sc.skip_token();
            let t2 = self.peek_typ()?;
            if !matches!(t2, Tok::BlockEntry | Tok::Key | Tok::Value | Tok::BlockEnd) {
                self.states.push(State::IndentlessSequenceEntry);
                return self.node(true, false);
            }
            self.state = State::IndentlessSequenceEntry;
            return Ok(Self::empty_scalar(mark));
        }
        self.pop_state();
        Ok(Event::SequenceEnd)
    }

    fn block_mapping_key(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let t = self.peek()?;
            self.marks.push(t.start);
            self.sc.skip_token();
        }
        let t = self.peek()?;
        if t.typ == Tok::Key {
            let mark = t.end;
            self.sc.skip_token();
            let t2 = self.peek_typ()?;
            if !matches!(t2, Tok::Key | Tok::Value | Tok::BlockEnd) {
                self.states.push(State::BlockMappingValue);
                return self.node(true, true);
            }
            self.state = State::BlockMappingValue;
            return Ok(Self::empty_scalar(mark));
        } else if t.typ == Tok::BlockEnd {
            self.pop_state();
            self.marks.pop();
            self.sc.skip_token();
            return Ok(Event::MappingEnd);
        }
        let cm = self.marks.pop().unwrap_or_default();
        Err(parser_error_ctx(cm, "did not find expected key", t.start))
    }

    fn block_mapping_value(&mut self) -> R<Event<'a>> {
        let t = self.peek()?;
        if t.typ == Tok::Value {
            let mark = t.end;
            self.sc.skip_token();
            let t2 = self.peek_typ()?;
            if !matches!(t2, Tok::Key | Tok::Value | Tok::BlockEnd) {
                self.states.push(State::BlockMappingKey);
                return self.node(true, true);
            }
            self.state = State::BlockMappingKey;
            return Ok(Self::empty_scalar(mark));
        }
        self.state = State::BlockMappingKey;
        Ok(Self::empty_scalar(t.start))
    }

    fn flow_sequence_entry(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let t = self.peek()?;
            self.marks.push(t.start);
            self.sc.skip_token();
        }
        let mut t = self.peek()?;
        if t.typ != Tok::FlowSequenceEnd {
            if !first {
                if t.typ == Tok::FlowEntry {
                    self.sc.skip_token();
                    t = self.peek()?;
                } else {
                    let cm = self.marks.pop().unwrap_or_default();
                    return Err(parser_error_ctx(
                        cm,
                        "did not find expected ',' or ']'",
                        t.start,
                    ));
                }
            }
            if t.typ == Tok::Key {
                self.state = State::FlowSequenceEntryMappingKey;
                self.sc.skip_token();
                return Ok(Event::MappingStart {
                    anchor: None,
                    line: t.start.line as usize,
                });
            } else if t.typ != Tok::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntry);
                return self.node(false, false);
            }
        }
        self.pop_state();
        self.marks.pop();
        self.sc.skip_token();
        Ok(Event::SequenceEnd)
    }

    fn flow_mapping_key(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let t = self.peek()?;
            self.marks.push(t.start);
            self.sc.skip_token();
        }
        let mut t = self.peek()?;
        if t.typ != Tok::FlowMappingEnd {
            if !first {
                if t.typ == Tok::FlowEntry {
                    self.sc.skip_token();
                    t = self.peek()?;
                } else {
                    let cm = self.marks.pop().unwrap_or_default();
                    return Err(parser_error_ctx(
                        cm,
                        "did not find expected ',' or '}'",
                        t.start,
                    ));
                }
            }
            if t.typ == Tok::Key {
                self.sc.skip_token();
                let t2 = self.peek()?;
                if !matches!(t2.typ, Tok::Value | Tok::FlowEntry | Tok::FlowMappingEnd) {
                    self.states.push(State::FlowMappingValue);
                    return self.node(false, false);
                }
                self.state = State::FlowMappingValue;
                return Ok(Self::empty_scalar(t2.start));
            } else if t.typ != Tok::FlowMappingEnd {
                self.states.push(State::FlowMappingEmptyValue);
                return self.node(false, false);
            }
        }
        self.pop_state();
        self.marks.pop();
        self.sc.skip_token();
        Ok(Event::MappingEnd)
    }

    fn flow_mapping_value(&mut self, empty: bool) -> R<Event<'a>> {
        let t = self.peek()?;
        if empty {
            self.state = State::FlowMappingKey;
            return Ok(Self::empty_scalar(t.start));
        }
        if t.typ == Tok::Value {
            self.sc.skip_token();
            let t2 = self.peek()?;
            if !matches!(t2.typ, Tok::FlowEntry | Tok::FlowMappingEnd) {
                self.states.push(State::FlowMappingKey);
                return self.node(false, false);
            }
            self.state = State::FlowMappingKey;
            return Ok(Self::empty_scalar(t2.start));
        }
        self.state = State::FlowMappingKey;
        Ok(Self::empty_scalar(t.start))
    }
}

impl<'a> EventSource<'a> for Parser<'a> {
    fn next(&mut self) -> Result<Event<'a>, YamlError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        loop {
            match self.next_event() {
                Ok(Some(ev)) => return Ok(ev),
                Ok(None) => continue,
                Err(f) => {
                    let e = Self::fail(*f);
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
    }
}
