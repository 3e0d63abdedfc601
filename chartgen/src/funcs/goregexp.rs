//! Go's `regexp` on top of the `regex` crate: a pattern is parsed with the rules of Go's
//! `regexp/syntax` (what is valid and the error text when not, Perl flags, ASCII `\d \s \w \b`,
//! POSIX and Unicode classes as Go names them, case folding, repetition limits) into a small
//! tree, which is written out as an equivalent `regex` pattern whose classes are explicit code
//! point ranges. Matches are iterated with Go's rules for empty matches, and replacement
//! templates expand `$1`/`${name}` as Go's `Expand` does.

use std::sync::OnceLock;

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

/// Go's `*syntax.Error`: `error parsing regexp: <code>: `<expr>``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing regexp: {code}: `{expr}`")]
pub struct SyntaxError {
    pub code: &'static str,
    pub expr: String,
}

const INVALID_CHAR_RANGE: &str = "invalid character class range";
const INVALID_ESCAPE: &str = "invalid escape sequence";
const INVALID_NAMED_CAPTURE: &str = "invalid named capture";
const INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const MISSING_BRACKET: &str = "missing closing ]";
const MISSING_PAREN: &str = "missing closing )";
const MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const UNEXPECTED_PAREN: &str = "unexpected )";
const NESTING_DEPTH: &str = "expression nests too deeply";

/// Go's limits: repeat counts, and the height of the parsed tree.
const MAX_REPEAT: i32 = 1000;
const MAX_HEIGHT: u32 = 1000;

fn fail<T>(code: &'static str, expr: &str) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        code,
        expr: expr.to_string(),
    })
}

/// The flags of `regexp.Compile` (`syntax.Perl`), as `(?imsU)` change them.
#[derive(Debug, Clone, Copy)]
struct Flags {
    fold: bool,
    one_line: bool,
    dot_nl: bool,
    non_greedy: bool,
}

#[derive(Debug)]
enum Node {
    Empty,
    Lit(char, bool),
    Class(ClassUnicode),
    AnyNotNl,
    AnyChar,
    BeginLine,
    EndLine,
    BeginText,
    EndText,
    WordBoundary,
    NoWordBoundary,
    Capture(Box<Node>, u32),
    Repeat {
        kind: RepeatKind,
        greedy: bool,
        sub: Box<Node>,
        height: u32,
    },
    Concat(Vec<Node>, u32),
    Alternate(Vec<Node>, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RepeatKind {
    Star,
    Plus,
    Quest,
    /// `{min}`, `{min,}` (max -1), `{min,max}`.
    Range(i32, i32),
}

impl Node {
    fn height(&self) -> u32 {
        match self {
            Node::Capture(_, h)
            | Node::Repeat { height: h, .. }
            | Node::Concat(_, h)
            | Node::Alternate(_, h) => *h,
            _ => 1,
        }
    }
}

/// Parse-stack entries: finished nodes, and Go's pseudo-operators.
#[derive(Debug)]
enum Item {
    Node(Node),
    /// An open group; `capture` for `(`, `(?P<n>`; the flags to restore at `)`.
    LeftParen {
        capture: bool,
        flags: Flags,
    },
    /// Finished branches of an alternation in progress.
    Bar(Vec<Node>),
}

struct Parser<'a> {
    whole: &'a str,
    flags: Flags,
    stack: Vec<Item>,
    /// Capture group names by index (index 0: the whole match), "" when unnamed.
    names: Vec<String>,
}

/// A pattern translated for the `regex` crate, with Go's capture group names.
#[derive(Debug, Clone)]
pub struct Translated {
    pub pattern: String,
    pub names: Vec<String>,
}

/// Parses a Go regexp (`regexp.Compile`'s syntax) and writes the equivalent `regex` pattern.
pub fn translate(pattern: &str) -> Result<Translated, SyntaxError> {
    let mut p = Parser {
        whole: pattern,
        flags: Flags {
            fold: false,
            one_line: true,
            dot_nl: false,
            non_greedy: false,
        },
        stack: Vec::new(),
        names: vec![String::new()],
    };
    p.parse()?;
    let Some(Item::Node(root)) = p.stack.pop() else {
        unreachable!("parse leaves one node")
    };
    let mut out = String::with_capacity(pattern.len() * 2);
    emit(&root, &mut out);
    Ok(Translated {
        pattern: out,
        names: p.names,
    })
}

fn next_char(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|t| t.chars().next())
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn unhex(c: Option<char>) -> Option<u32> {
    c.and_then(|c| c.to_digit(16))
}

impl Parser<'_> {
    fn parse(&mut self) -> Result<(), SyntaxError> {
        let s = self.whole;
        let mut i = 0;
        let mut last_repeat: Option<usize> = None;
        while i < s.len() {
            let mut repeat = None;
            let c = next_char(s, i).expect("i is on a char boundary");
            match c {
                '(' => {
                    if s[i..].starts_with("(?") {
                        i = self.parse_perl_flags(i)?;
                    } else {
                        self.names.push(String::new());
                        self.stack.push(Item::LeftParen {
                            capture: true,
                            flags: self.flags,
                        });
                        i += 1;
                    }
                }
                '|' => {
                    self.vertical_bar();
                    i += 1;
                }
                ')' => {
                    self.right_paren()?;
                    i += 1;
                }
                '^' => {
                    self.push(if self.flags.one_line {
                        Node::BeginText
                    } else {
                        Node::BeginLine
                    })?;
                    i += 1;
                }
                '$' => {
                    self.push(if self.flags.one_line {
                        Node::EndText
                    } else {
                        Node::EndLine
                    })?;
                    i += 1;
                }
                '.' => {
                    self.push(if self.flags.dot_nl {
                        Node::AnyChar
                    } else {
                        Node::AnyNotNl
                    })?;
                    i += 1;
                }
                '[' => i = self.parse_class(i)?,
                '*' | '+' | '?' => {
                    let kind = match c {
                        '*' => RepeatKind::Star,
                        '+' => RepeatKind::Plus,
                        _ => RepeatKind::Quest,
                    };
                    let before = i;
                    i = self.repeat(kind, i, i + 1, last_repeat)?;
                    repeat = Some(before);
                }
                '{' => match parse_repeat(s, i) {
                    None => {
                        self.literal('{')?;
                        i += 1;
                    }
                    Some((min, max, after)) => {
                        if !(0..=MAX_REPEAT).contains(&min)
                            || max > MAX_REPEAT
                            || (max >= 0 && min > max)
                        {
                            return fail(INVALID_REPEAT_SIZE, &s[i..after]);
                        }
                        let before = i;
                        i = self.repeat(RepeatKind::Range(min, max), i, after, last_repeat)?;
                        repeat = Some(before);
                    }
                },
                '\\' => i = self.backslash(i)?,
                _ => {
                    self.literal(c)?;
                    i += c.len_utf8();
                }
            }
            last_repeat = repeat;
        }
        self.finish_branch();
        if self.stack.len() != 1 {
            return fail(MISSING_PAREN, s);
        }
        Ok(())
    }

    /// `\` outside a class: assertions, `\Q...\E`, classes, escapes.
    fn backslash(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let s = self.whole;
        match next_char(s, i + 1) {
            Some('A') => {
                self.push(Node::BeginText)?;
                return Ok(i + 2);
            }
            Some('b') => {
                self.push(Node::WordBoundary)?;
                return Ok(i + 2);
            }
            Some('B') => {
                self.push(Node::NoWordBoundary)?;
                return Ok(i + 2);
            }
            Some('C') => return fail(INVALID_ESCAPE, &s[i..i + 2]),
            Some('Q') => {
                let rest = &s[i + 2..];
                let (lit, used) = match rest.find("\\E") {
                    Some(e) => (&rest[..e], e + 2),
                    None => (rest, rest.len()),
                };
                for c in lit.chars() {
                    self.literal(c)?;
                }
                return Ok(i + 2 + used);
            }
            Some('z') => {
                self.push(Node::EndText)?;
                return Ok(i + 2);
            }
            Some('p' | 'P') => {
                let (class, next) = self.parse_unicode_class(i)?;
                self.push(Node::Class(class))?;
                return Ok(next);
            }
            _ => {}
        }
        if let Some(class) = self.perl_class(i) {
            self.push(Node::Class(class))?;
            return Ok(i + 2);
        }
        let (c, next) = parse_escape(s, i)?;
        match char::from_u32(c) {
            Some(c) => self.literal(c)?,
            // A surrogate code point: no valid UTF-8 text contains it.
            None => self.push(Node::Class(ClassUnicode::empty()))?,
        }
        Ok(next)
    }

    fn literal(&mut self, c: char) -> Result<(), SyntaxError> {
        self.push(Node::Lit(c, self.flags.fold))
    }

    fn push(&mut self, n: Node) -> Result<(), SyntaxError> {
        if n.height() > MAX_HEIGHT {
            return fail(NESTING_DEPTH, self.whole);
        }
        self.stack.push(Item::Node(n));
        Ok(())
    }

    /// `(?flags)`, `(?flags:`, `(?P<name>`, `(?<name>` at `i`; returns where parsing goes on.
    fn parse_perl_flags(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let s = self.whole;
        let t = &s[i..];
        let b = t.as_bytes();
        let with_p = b.len() > 4 && b[2] == b'P' && b[3] == b'<';
        let with_name = b.len() > 3 && b[2] == b'<';
        if with_p || with_name {
            let start = if with_name { 3 } else { 4 };
            let Some(end) = t.find('>') else {
                return fail(INVALID_NAMED_CAPTURE, t);
            };
            let name = &t[start..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || is_alnum(c)) {
                return fail(INVALID_NAMED_CAPTURE, &t[..end + 1]);
            }
            self.names.push(name.to_string());
            self.stack.push(Item::LeftParen {
                capture: true,
                flags: self.flags,
            });
            return Ok(i + end + 1);
        }
        let mut flags = self.flags;
        let mut negated = false;
        let mut saw_flag = false;
        let mut j = i + 2;
        while let Some(c) = next_char(s, j) {
            j += c.len_utf8();
            let on = !negated;
            match c {
                'i' => {
                    flags.fold = on;
                    saw_flag = true;
                }
                'm' => {
                    flags.one_line = !on;
                    saw_flag = true;
                }
                's' => {
                    flags.dot_nl = on;
                    saw_flag = true;
                }
                'U' => {
                    flags.non_greedy = on;
                    saw_flag = true;
                }
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' if !negated || saw_flag => {
                    if c == ':' {
                        self.stack.push(Item::LeftParen {
                            capture: false,
                            flags: self.flags,
                        });
                    }
                    self.flags = flags;
                    return Ok(j);
                }
                _ => break,
            }
        }
        fail(INVALID_PERL_OP, &s[i..j])
    }

    /// `*`, `+`, `?`, `{n,m}` applied to the top of the stack; `op_end` is where the operator
    /// ends (before a `?` that makes it non-greedy).
    fn repeat(
        &mut self,
        kind: RepeatKind,
        before: usize,
        op_end: usize,
        last_repeat: Option<usize>,
    ) -> Result<usize, SyntaxError> {
        let s = self.whole;
        let mut after = op_end;
        let mut non_greedy = self.flags.non_greedy;
        if s[after..].starts_with('?') {
            after += 1;
            non_greedy = !non_greedy;
        }
        if let Some(lr) = last_repeat {
            return fail(INVALID_REPEAT_OP, &s[lr..after]);
        }
        let sub = match self.stack.pop() {
            Some(Item::Node(n)) => n,
            other => {
                if let Some(o) = other {
                    self.stack.push(o);
                }
                return fail(MISSING_REPEAT_ARGUMENT, &s[before..after]);
            }
        };
        let height = sub.height() + 1;
        let node = Node::Repeat {
            kind,
            greedy: !non_greedy,
            sub: Box::new(sub),
            height,
        };
        self.push(node)?;
        if let RepeatKind::Range(min, max) = kind
            && (min >= 2 || max >= 2)
            && let Some(Item::Node(n)) = self.stack.last()
            && !repeat_is_valid(n, MAX_REPEAT)
        {
            return fail(INVALID_REPEAT_SIZE, &s[before..after]);
        }
        Ok(after)
    }

    /// Pops the nodes above the nearest pseudo-operator and pushes their concatenation.
    fn concat(&mut self) {
        let mut items = Vec::new();
        while let Some(Item::Node(_)) = self.stack.last() {
            if let Some(Item::Node(n)) = self.stack.pop() {
                items.push(n);
            }
        }
        items.reverse();
        let node = match items.len() {
            0 => Node::Empty,
            1 => items.pop().expect("one item"),
            _ => {
                let h = 1 + items.iter().map(Node::height).max().unwrap_or(0);
                Node::Concat(items, h)
            }
        };
        self.stack.push(Item::Node(node));
    }

    fn vertical_bar(&mut self) {
        self.concat();
        let Some(Item::Node(branch)) = self.stack.pop() else {
            unreachable!("concat pushed a node")
        };
        match self.stack.last_mut() {
            Some(Item::Bar(branches)) => branches.push(branch),
            _ => self.stack.push(Item::Bar(vec![branch])),
        }
    }

    /// Ends the current alternative (at `)` or the end): the group's body is on top.
    fn finish_branch(&mut self) {
        self.concat();
        if matches!(
            self.stack.get(self.stack.len().wrapping_sub(2)),
            Some(Item::Bar(_))
        ) {
            let Some(Item::Node(last)) = self.stack.pop() else {
                unreachable!("concat pushed a node")
            };
            let Some(Item::Bar(mut branches)) = self.stack.pop() else {
                unreachable!("checked above")
            };
            branches.push(last);
            let h = 1 + branches.iter().map(Node::height).max().unwrap_or(0);
            self.stack.push(Item::Node(Node::Alternate(branches, h)));
        }
    }

    fn right_paren(&mut self) -> Result<(), SyntaxError> {
        self.finish_branch();
        let n = self.stack.len();
        if n < 2 {
            return fail(UNEXPECTED_PAREN, self.whole);
        }
        let Some(Item::Node(body)) = self.stack.pop() else {
            unreachable!("finish_branch pushed a node")
        };
        let Some(Item::LeftParen { capture, flags }) = self.stack.pop() else {
            return fail(UNEXPECTED_PAREN, self.whole);
        };
        self.flags = flags;
        if capture {
            let h = body.height() + 1;
            self.push(Node::Capture(Box::new(body), h))
        } else {
            self.push(body)
        }
    }

    /// `\d \D \s \S \w \W` at `i`, with the current case folding.
    fn perl_class(&self, i: usize) -> Option<ClassUnicode> {
        let t = self.whole.get(i..i + 2)?;
        let (negated, name) = match t {
            "\\d" => (false, "digit"),
            "\\D" => (true, "digit"),
            "\\s" => (false, "perl_space"),
            "\\S" => (true, "perl_space"),
            "\\w" => (false, "word"),
            "\\W" => (true, "word"),
            _ => return None,
        };
        Some(self.group(ascii_group(name)?, negated))
    }

    /// Go's `appendGroup`: fold first (under `(?i)`), then negate.
    fn group(&self, mut class: ClassUnicode, negated: bool) -> ClassUnicode {
        if self.flags.fold {
            class.case_fold_simple();
        }
        if negated {
            class.negate();
        }
        class
    }

    /// `\pN`, `\p{Name}`, `\PN`, `\P{^Name}` at `i`.
    fn parse_unicode_class(&self, i: usize) -> Result<(ClassUnicode, usize), SyntaxError> {
        let s = self.whole;
        let mut negated = s.as_bytes()[i + 1] == b'P';
        let (seq_end, name) = match next_char(s, i + 2) {
            Some('{') => {
                let Some(end) = s[i..].find('}') else {
                    return fail(INVALID_CHAR_RANGE, &s[i..]);
                };
                (i + end + 1, &s[i + 3..i + end])
            }
            Some(c) => (i + 2 + c.len_utf8(), &s[i + 2..i + 2 + c.len_utf8()]),
            None => (i + 2, ""),
        };
        let name = match name.strip_prefix('^') {
            Some(n) => {
                negated = !negated;
                n
            }
            None => name,
        };
        let Some((mut class, inverted)) = unicode_table(name) else {
            return fail(INVALID_CHAR_RANGE, &s[i..seq_end]);
        };
        if inverted {
            negated = !negated;
        }
        if self.flags.fold {
            class.case_fold_simple();
        }
        if negated {
            class.negate();
        }
        Ok((class, seq_end))
    }

    /// A bracketed class at `i` (`[`); returns where parsing goes on.
    fn parse_class(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let s = self.whole;
        let whole_class = &s[i..];
        let mut t = i + 1;
        let mut negated = false;
        if s[t..].starts_with('^') {
            negated = true;
            t += 1;
        }
        // Single characters and ranges (folded together at the end), and groups.
        let mut plain = ClassUnicode::empty();
        let mut groups = ClassUnicode::empty();
        let mut first = true;
        while t >= s.len() || !s[t..].starts_with(']') || first {
            first = false;
            let rest = &s[t..];
            if rest.len() > 2
                && rest.starts_with("[:")
                && let Some(end) = rest[2..].find(":]")
            {
                let name = &rest[..end + 4];
                let Some((class, neg)) = posix_group(name) else {
                    return fail(INVALID_CHAR_RANGE, name);
                };
                groups.union(&self.group(class, neg));
                t += name.len();
                continue;
            }
            if rest.len() >= 2 && (rest.starts_with("\\p") || rest.starts_with("\\P")) {
                let (class, next) = self.parse_unicode_class(t)?;
                groups.union(&class);
                t = next;
                continue;
            }
            if let Some(class) = self.perl_class(t) {
                groups.union(&class);
                t += 2;
                continue;
            }
            let start = t;
            let (lo, next) = class_char(s, t, whole_class)?;
            t = next;
            let mut hi = lo;
            let rest = &s.as_bytes()[t..];
            if rest.len() >= 2 && rest[0] == b'-' && rest[1] != b']' {
                let (h, next) = class_char(s, t + 1, whole_class)?;
                t = next;
                hi = h;
                if hi < lo {
                    return fail(INVALID_CHAR_RANGE, &s[start..t]);
                }
            }
            if let Some(r) = scalar_range(lo, hi) {
                plain.push(r);
            }
        }
        t += 1;
        if self.flags.fold {
            plain.case_fold_simple();
        }
        plain.union(&groups);
        if negated {
            plain.negate();
        }
        self.push(Node::Class(plain))?;
        Ok(t)
    }
}

/// The code points `lo..=hi` as a range of chars (surrogates are not chars).
fn scalar_range(lo: u32, hi: u32) -> Option<ClassUnicodeRange> {
    let lo = if (0xD800..=0xDFFF).contains(&lo) {
        0xE000
    } else {
        lo
    };
    let hi = if (0xD800..=0xDFFF).contains(&hi) {
        0xD7FF
    } else {
        hi
    };
    if lo > hi {
        return None;
    }
    Some(ClassUnicodeRange::new(
        char::from_u32(lo)?,
        char::from_u32(hi)?,
    ))
}

/// One class character at `t` (an escape allowed): its code point and where it ends.
fn class_char(s: &str, t: usize, whole_class: &str) -> Result<(u32, usize), SyntaxError> {
    match next_char(s, t) {
        None => fail(MISSING_BRACKET, whole_class),
        Some('\\') => parse_escape(s, t),
        Some(c) => Ok((c as u32, t + c.len_utf8())),
    }
}

/// Go's `parseEscape` at `i` (a `\`): the code point and where the escape ends.
fn parse_escape(s: &str, i: usize) -> Result<(u32, usize), SyntaxError> {
    let mut t = i + 1;
    let Some(c) = next_char(s, t) else {
        return fail(TRAILING_BACKSLASH, "");
    };
    t += c.len_utf8();
    let octal = |t: usize| next_char(s, t).filter(|c| ('0'..='7').contains(c));
    match c {
        '1'..='7' if octal(t).is_none() => {}
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                match octal(t) {
                    Some(d) => {
                        r = r * 8 + (d as u32 - '0' as u32);
                        t += 1;
                    }
                    None => break,
                }
            }
            return Ok((r, t));
        }
        'x' => {
            let Some(c2) = next_char(s, t) else {
                return fail(INVALID_ESCAPE, &s[i..t]);
            };
            t += c2.len_utf8();
            if c2 == '{' {
                let mut n = 0;
                let mut r: u32 = 0;
                loop {
                    let Some(d) = next_char(s, t) else {
                        return fail(INVALID_ESCAPE, &s[i..t]);
                    };
                    t += d.len_utf8();
                    if d == '}' {
                        break;
                    }
                    let Some(v) = unhex(Some(d)) else {
                        return fail(INVALID_ESCAPE, &s[i..t]);
                    };
                    r = r * 16 + v;
                    if r > 0x10FFFF {
                        return fail(INVALID_ESCAPE, &s[i..t]);
                    }
                    n += 1;
                }
                if n == 0 {
                    return fail(INVALID_ESCAPE, &s[i..t]);
                }
                return Ok((r, t));
            }
            let x = unhex(Some(c2));
            let c3 = next_char(s, t);
            if let Some(c3) = c3 {
                t += c3.len_utf8();
            }
            if let (Some(x), Some(y)) = (x, unhex(c3)) {
                return Ok((x * 16 + y, t));
            }
        }
        'a' => return Ok((7, t)),
        'f' => return Ok((12, t)),
        'n' => return Ok((10, t)),
        'r' => return Ok((13, t)),
        't' => return Ok((9, t)),
        'v' => return Ok((11, t)),
        c if c.is_ascii() && !is_alnum(c) => return Ok((c as u32, t)),
        _ => {}
    }
    fail(INVALID_ESCAPE, &s[i..t])
}

/// Go's `parseRepeat` at `i` (a `{`): min, max (-1: none) and the end, or None when the text
/// is not a repeat (then `{` is a literal). Too large numbers give min -1.
fn parse_repeat(s: &str, i: usize) -> Option<(i32, i32, usize)> {
    let b = s.as_bytes();
    let mut t = i + 1;
    let (mut min, next) = parse_int(b, t)?;
    t = next;
    let max;
    match b.get(t)? {
        b',' => {
            t += 1;
            match b.get(t)? {
                b'}' => max = -1,
                _ => {
                    let (m, next) = parse_int(b, t)?;
                    t = next;
                    max = m;
                    if m < 0 {
                        min = -1;
                    }
                }
            }
        }
        _ => max = min,
    }
    if b.get(t) != Some(&b'}') {
        return None;
    }
    Some((min, max, t + 1))
}

/// A decimal number without leading zeros; -1 when it reaches 1e8.
fn parse_int(b: &[u8], t: usize) -> Option<(i32, usize)> {
    let digits = b[t..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || (digits >= 2 && b[t] == b'0') {
        return None;
    }
    let mut n: i32 = 0;
    for &d in &b[t..t + digits] {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + i32::from(d - b'0');
    }
    Some((n, t + digits))
}

/// Go's `repeatIsValid`: nested counted repetitions multiply to at most `n`.
fn repeat_is_valid(node: &Node, mut n: i32) -> bool {
    match node {
        Node::Repeat { kind, sub, .. } => {
            if let RepeatKind::Range(min, max) = *kind {
                let mut m = max;
                if m == 0 {
                    return true;
                }
                if m < 0 {
                    m = min;
                }
                if m > n {
                    return false;
                }
                if m > 0 {
                    n /= m;
                }
            }
            repeat_is_valid(sub, n)
        }
        Node::Capture(sub, _) => repeat_is_valid(sub, n),
        Node::Concat(items, _) | Node::Alternate(items, _) => {
            items.iter().all(|i| repeat_is_valid(i, n))
        }
        _ => true,
    }
}

fn class_of(ranges: &[(char, char)]) -> ClassUnicode {
    ClassUnicode::new(ranges.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)))
}

/// Go's ASCII groups (`perl_groups.go`); `perl_space` is `\s`.
fn ascii_group(name: &str) -> Option<ClassUnicode> {
    let r: &[(char, char)] = match name {
        "alnum" => &[('0', '9'), ('A', 'Z'), ('a', 'z')],
        "alpha" => &[('A', 'Z'), ('a', 'z')],
        "ascii" => &[('\0', '\x7f')],
        "blank" => &[('\t', '\t'), (' ', ' ')],
        "cntrl" => &[('\0', '\x1f'), ('\x7f', '\x7f')],
        "digit" => &[('0', '9')],
        "graph" => &[('!', '~')],
        "lower" => &[('a', 'z')],
        "print" => &[(' ', '~')],
        "punct" => &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "space" => &[('\t', '\r'), (' ', ' ')],
        "perl_space" => &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')],
        "upper" => &[('A', 'Z')],
        "word" => &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')],
        "xdigit" => &[('0', '9'), ('A', 'F'), ('a', 'f')],
        _ => return None,
    };
    Some(class_of(r))
}

/// `[:name:]` or `[:^name:]`: the class and whether it is negated.
fn posix_group(text: &str) -> Option<(ClassUnicode, bool)> {
    let inner = text.strip_prefix("[:")?.strip_suffix(":]")?;
    let (neg, name) = match inner.strip_prefix('^') {
        Some(n) => (true, n),
        None => (false, inner),
    };
    if name == "perl_space" {
        return None;
    }
    Some((ascii_group(name)?, neg))
}

/// Go's `canonicalName`: first letter upper case, the rest lower case, without `_ -` and
/// spaces.
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut first = true;
    for b in name.bytes() {
        match b {
            b'_' | b'-' | b' ' => {}
            _ if first => {
                out.push(b.to_ascii_uppercase() as char);
                first = false;
            }
            _ => out.push(b.to_ascii_lowercase() as char),
        }
    }
    // Non-ASCII bytes were pushed one by one above; keep them intact instead.
    if !name.is_ascii() {
        return name.to_string();
    }
    out
}

/// Go 1.26's Unicode general categories (`unicode.Categories`, canonical keys).
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn",
    "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm",
    "So", "Z", "Zl", "Zp", "Zs",
];

/// `unicode.CategoryAliases` (Go 1.26) by canonical name.
const CATEGORY_ALIASES: &[(&str, &str)] = &[
    ("Casedletter", "LC"),
    ("Closepunctuation", "Pe"),
    ("Combiningmark", "M"),
    ("Connectorpunctuation", "Pc"),
    ("Control", "Cc"),
    ("Currencysymbol", "Sc"),
    ("Dashpunctuation", "Pd"),
    ("Decimalnumber", "Nd"),
    ("Enclosingmark", "Me"),
    ("Finalpunctuation", "Pf"),
    ("Format", "Cf"),
    ("Initialpunctuation", "Pi"),
    ("Letter", "L"),
    ("Letternumber", "Nl"),
    ("Lineseparator", "Zl"),
    ("Lowercaseletter", "Ll"),
    ("Mark", "M"),
    ("Mathsymbol", "Sm"),
    ("Modifierletter", "Lm"),
    ("Modifiersymbol", "Sk"),
    ("Nonspacingmark", "Mn"),
    ("Number", "N"),
    ("Openpunctuation", "Ps"),
    ("Other", "C"),
    ("Otherletter", "Lo"),
    ("Othernumber", "No"),
    ("Otherpunctuation", "Po"),
    ("Othersymbol", "So"),
    ("Paragraphseparator", "Zp"),
    ("Privateuse", "Co"),
    ("Punctuation", "P"),
    ("Separator", "Z"),
    ("Spaceseparator", "Zs"),
    ("Spacingmark", "Mc"),
    ("Surrogate", "Cs"),
    ("Symbol", "S"),
    ("Titlecaseletter", "Lt"),
    ("Uppercaseletter", "Lu"),
    ("Unassigned", "Cn"),
    ("Cntrl", "Cc"),
    ("Digit", "Nd"),
    ("Punct", "P"),
];

/// `unicode.Scripts` (Go 1.26, Unicode 15.0.0) whose names are already canonical: Go looks
/// scripts up by canonical name, so `\p{Old_Italic}` is not found there.
const SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Carian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dogra",
    "Duployan",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Inherited",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kharoshthi",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Medefaidrin",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nandinagari",
    "Newa",
    "Nko",
    "Nushu",
    "Ogham",
    "Oriya",
    "Osage",
    "Osmanya",
    "Palmyrene",
    "Phoenician",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "Sinhala",
    "Sogdian",
    "Soyombo",
    "Sundanese",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Yezidi",
    "Yi",
];

/// A class from the `regex` crate's Unicode tables (`\p{...}` there).
fn rust_class(expr: &str) -> Option<ClassUnicode> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(expr)
        .ok()?;
    match hir.into_kind() {
        regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => Some(c),
        _ => None,
    }
}

/// Go's `unicodeTable`: the class a `\p` name stands for, and whether it is inverted.
fn unicode_table(name: &str) -> Option<(ClassUnicode, bool)> {
    let name = canonical_name(name);
    let gc = |cat: &str| -> Option<ClassUnicode> {
        if cat == "Cs" {
            // Surrogates: never in valid UTF-8 text.
            return Some(ClassUnicode::empty());
        }
        rust_class(&format!(r"\p{{gc={cat}}}"))
    };
    match name.as_str() {
        "Any" => return Some((class_of(&[('\0', char::MAX)]), false)),
        "Assigned" => return Some((gc("Cn")?, true)),
        "Ascii" => return Some((class_of(&[('\0', '\x7f')]), false)),
        "Lc" => return Some((gc("LC")?, false)),
        _ => {}
    }
    if CATEGORIES.contains(&name.as_str()) {
        return Some((gc(&name)?, false));
    }
    if SCRIPTS.contains(&name.as_str()) {
        return Some((rust_class(&format!(r"\p{{sc={name}}}"))?, false));
    }
    let (_, cat) = CATEGORY_ALIASES.iter().find(|(a, _)| *a == name)?;
    Some((gc(cat)?, false))
}

/// Writes `node` as a `regex` pattern: no flags outside `(?i:c)` literals, explicit ranges.
fn emit(node: &Node, out: &mut String) {
    use std::fmt::Write as _;
    match node {
        Node::Empty => out.push_str("(?:)"),
        Node::Lit(c, fold) => {
            let lit = regex_syntax::escape(c.encode_utf8(&mut [0; 4]));
            if *fold {
                let _ = write!(out, "(?i:{lit})");
            } else {
                out.push_str(&lit);
            }
        }
        Node::Class(c) => {
            if c.ranges().is_empty() {
                // Never matches.
                out.push_str(r"[^\x{0}-\x{10FFFF}]");
                return;
            }
            out.push('[');
            for r in c.ranges() {
                let _ = write!(
                    out,
                    r"\x{{{:X}}}-\x{{{:X}}}",
                    r.start() as u32,
                    r.end() as u32
                );
            }
            out.push(']');
        }
        Node::AnyNotNl => out.push_str(r"[^\n]"),
        Node::AnyChar => out.push_str("(?s:.)"),
        Node::BeginLine => out.push_str("(?m:^)"),
        Node::EndLine => out.push_str("(?m:$)"),
        Node::BeginText => out.push_str(r"\A"),
        Node::EndText => out.push_str(r"\z"),
        Node::WordBoundary => out.push_str(r"(?-u:\b)"),
        Node::NoWordBoundary => out.push_str(r"(?-u:\B)"),
        Node::Capture(sub, _) => {
            out.push('(');
            emit(sub, out);
            out.push(')');
        }
        Node::Repeat {
            kind, greedy, sub, ..
        } => {
            out.push_str("(?:");
            emit(sub, out);
            out.push(')');
            match kind {
                RepeatKind::Star => out.push('*'),
                RepeatKind::Plus => out.push('+'),
                RepeatKind::Quest => out.push('?'),
                RepeatKind::Range(min, max) if min == max => {
                    let _ = write!(out, "{{{min}}}");
                }
                RepeatKind::Range(min, -1) => {
                    let _ = write!(out, "{{{min},}}");
                }
                RepeatKind::Range(min, max) => {
                    let _ = write!(out, "{{{min},{max}}}");
                }
            }
            if !greedy {
                out.push('?');
            }
        }
        Node::Concat(items, _) => {
            for i in items {
                emit(i, out);
            }
        }
        Node::Alternate(items, _) => {
            out.push_str("(?:");
            for (n, i) in items.iter().enumerate() {
                if n > 0 {
                    out.push('|');
                }
                emit(i, out);
            }
            out.push(')');
        }
    }
}

/// A compiled Go regexp.
#[derive(Debug, Clone)]
pub struct GoRegexp {
    re: regex::Regex,
    names: Vec<String>,
    /// The source pattern is not empty (Go's `Split` special case).
    nonempty: bool,
}

impl GoRegexp {
    /// Go's `regexp.Compile`.
    pub fn compile(pattern: &str) -> Result<GoRegexp, SyntaxError> {
        let t = translate(pattern)?;
        let re = regex::RegexBuilder::new(&t.pattern)
            .nest_limit(u32::MAX)
            .size_limit(1 << 28)
            .build()
            .map_err(|_| SyntaxError {
                code: "expression too large",
                expr: pattern.to_string(),
            })?;
        Ok(GoRegexp {
            re,
            names: t.names,
            nonempty: !pattern.is_empty(),
        })
    }

    /// `MatchString`.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// `FindString`: the leftmost match.
    pub fn find<'s>(&self, s: &'s str) -> Option<&'s str> {
        self.re.find(s).map(|m| m.as_str())
    }

    /// Go's `allMatches`: successive matches; an empty match right after a match is skipped.
    /// At most `n` when n >= 0.
    pub fn find_all_spans(&self, s: &str, n: i64) -> Vec<(usize, usize)> {
        let limit = if n < 0 { usize::MAX } else { n as usize };
        let mut out = Vec::new();
        let mut pos = 0;
        let mut prev_end: Option<usize> = None;
        while out.len() < limit && pos <= s.len() {
            let Some(m) = self.re.find_at(s, pos) else {
                break;
            };
            let mut accept = true;
            if m.end() == pos {
                if Some(m.start()) == prev_end {
                    accept = false;
                }
                pos += next_char(s, pos).map_or(1, char::len_utf8);
            } else {
                pos = m.end();
            }
            prev_end = Some(m.end());
            if accept {
                out.push((m.start(), m.end()));
            }
        }
        out
    }

    /// `FindAllString(s, n)`.
    pub fn find_all<'s>(&self, s: &'s str, n: i64) -> Vec<&'s str> {
        self.find_all_spans(s, n)
            .into_iter()
            .map(|(a, b)| &s[a..b])
            .collect()
    }

    /// `Split(s, n)`.
    pub fn split(&self, s: &str, n: i64) -> Vec<String> {
        if n == 0 {
            return Vec::new();
        }
        if self.nonempty && s.is_empty() {
            return vec![String::new()];
        }
        let mut out = Vec::new();
        let (mut beg, mut end) = (0, 0);
        for (a, b) in self.find_all_spans(s, n) {
            if n > 0 && out.len() as i64 == n - 1 {
                break;
            }
            end = a;
            if b != 0 {
                out.push(s[beg..end].to_string());
            }
            beg = b;
        }
        if end != s.len() {
            out.push(s[beg..].to_string());
        }
        out
    }

    /// `ReplaceAllString` (`$1`, `${name}` expanded) or, with `literal`,
    /// `ReplaceAllLiteralString`.
    pub fn replace_all(&self, s: &str, repl: &str, literal: bool) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last_end = 0;
        let mut search = 0;
        let mut locs = self.re.capture_locations();
        while search <= s.len() {
            let Some(m) = self.re.captures_read_at(&mut locs, s, search) else {
                break;
            };
            let (a, b) = (m.start(), m.end());
            out.push_str(&s[last_end..a]);
            if b > last_end || a == 0 {
                if literal {
                    out.push_str(repl);
                } else {
                    self.expand(&mut out, repl, s, &locs);
                }
            }
            last_end = b;
            let width = next_char(s, search).map_or(0, char::len_utf8);
            if search + width > b {
                search += width;
            } else if search + 1 > b {
                search += 1;
            } else {
                search = b;
            }
        }
        out.push_str(&s[last_end..]);
        out
    }

    /// Go's `Expand`: `$$`, `$name`, `${name}`, numbers; malformed `$` stays.
    fn expand(&self, out: &mut String, template: &str, s: &str, locs: &regex::CaptureLocations) {
        let mut t = template;
        while let Some(d) = t.find('$') {
            out.push_str(&t[..d]);
            t = &t[d + 1..];
            if let Some(rest) = t.strip_prefix('$') {
                out.push('$');
                t = rest;
                continue;
            }
            let Some((name, num, rest)) = extract(t) else {
                out.push('$');
                continue;
            };
            t = rest;
            let group = match num {
                Some(n) => locs.get(n),
                None => self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| *g == name)
                    .find_map(|(i, _)| locs.get(i)),
            };
            if let Some((a, b)) = group {
                out.push_str(&s[a..b]);
            }
        }
        out.push_str(t);
    }
}

/// Go's `extract`: a leading `name` or `{name}` (letters, digits, `_`), its number when it
/// is one (no leading zeros, below 1e8 or so), and the rest.
fn extract(t: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match t.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let len: usize = body
        .chars()
        .take_while(|&c| c == '_' || is_letter_or_digit(c))
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let mut rest = &body[len..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        num = match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                Some(n * 10 + usize::from(b - b'0'))
            }
            _ => None,
        };
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((name, num, rest))
}

/// Go's `unicode.IsLetter(c) || unicode.IsDigit(c)` (categories L and Nd).
fn is_letter_or_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    static CLASS: OnceLock<ClassUnicode> = OnceLock::new();
    let class = CLASS.get_or_init(|| {
        let mut l = rust_class(r"\p{gc=L}").unwrap_or_else(ClassUnicode::empty);
        if let Some(nd) = rust_class(r"\p{gc=Nd}") {
            l.union(&nd);
        }
        l
    });
    class
        .ranges()
        .binary_search_by(|r| {
            if r.end() < c {
                std::cmp::Ordering::Less
            } else if r.start() > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: &str) -> String {
        translate(p).expect_err("invalid").to_string()
    }

    #[test]
    fn hyphen_after_perl_class_is_literal() {
        let r = GoRegexp::compile(r"^[\w-.]+$").expect("valid in Go");
        assert!(r.is_match("a-b.c"));
        assert!(!r.is_match("a b"));
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            err("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            err("x{1001}"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(err("[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(
            err(r"\p{Old_Italic}"),
            "error parsing regexp: invalid character class range: `\\p{Old_Italic}`"
        );
        assert_eq!(
            err("(?P=x)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?P`"
        );
    }
}
