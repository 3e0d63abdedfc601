//! Go's `fmt` package as templates reach it: `%v` printing, `Sprint`, `Sprintln`, `Sprintf`,
//! and `strconv.FormatFloat`.
//!
//! Floats follow `strconv`: shortest round-trip digits, and `%v` (= `%g` with the shortest
//! precision) uses exponent form iff the decimal exponent is < -4 or >= 6 (observed on Helm: a
//! YAML `1000000` prints `1e+06`, `999999` prints `999999`).

use std::fmt::Write as _;

use super::lexer::{go_quote, is_go_printable, push_quoted_char};
use crate::value::{ElemType, Value, go_bytes, go_string};

/// Go's `fmt.Sprint(v)` for one value (`%v`).
pub fn format_v(v: &Value) -> String {
    let mut p = Printer::default();
    p.print_arg(v, 'v');
    p.buf
}

/// Go's `fmt.Sprint(args...)`: a space between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln(args...)`: always space-separated, newline appended.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// Go's `fmt.Sprintf(format, args...)`, including its `%!verb(...)` error markers.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

/// Go's `strconv.FormatFloat(x, fmt, prec, 64)` for `fmt` in `b'g'`, `b'e'`, `b'f'` (and
/// `b'G'`, `b'E'`); `prec` -1 means the shortest representation that round-trips.
pub fn format_float(x: f64, fmt: u8, prec: i32) -> String {
    let mut out = String::new();
    append_float(&mut out, x, fmt, prec);
    out
}

/// Decimal digits of a float: `digits` (no leading/trailing zeros), and `dp` = position of the
/// decimal point relative to the first digit (value = 0.d1d2... * 10^dp).
struct Digits {
    digits: Vec<u8>,
    dp: i32,
}

/// Parse Rust's `{:e}` output ("1.2345e-7") into digits.
fn digits_from_exp(s: &str) -> Digits {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits == [b'0'] {
        return Digits {
            digits: Vec::new(),
            dp: 0,
        };
    }
    Digits {
        digits,
        dp: exp + 1,
    }
}

fn shortest_digits(x: f64) -> Digits {
    digits_from_exp(&format!("{:e}", x.abs()))
}

/// Digits rounded to `n` significant digits (n >= 1).
fn rounded_digits(x: f64, n: usize) -> Digits {
    digits_from_exp(&format!("{:.*e}", n.saturating_sub(1), x.abs()))
}

fn fmt_e(out: &mut String, neg: bool, d: &Digits, prec: i32, fmt: u8) {
    if neg {
        out.push('-');
    }
    let first = d.digits.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        let mut i = 1usize;
        let m = (d.digits.len()).min(prec as usize + 1);
        if i < m {
            for &c in &d.digits[i..m] {
                out.push(c as char);
            }
            i = m;
        }
        while i <= prec as usize {
            out.push('0');
            i += 1;
        }
    }
    out.push(fmt as char);
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.abs();
    if e < 10 {
        out.push('0');
    }
    let _ = write!(out, "{e}");
}

fn fmt_f(out: &mut String, neg: bool, d: &Digits, prec: i32) {
    if neg {
        out.push('-');
    }
    if d.dp > 0 {
        let mut m = (d.digits.len()).min(d.dp as usize);
        for &c in &d.digits[..m] {
            out.push(c as char);
        }
        while m < d.dp as usize {
            out.push('0');
            m += 1;
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 && (j as usize) < d.digits.len() {
                d.digits[j as usize]
            } else {
                b'0'
            };
            out.push(c as char);
        }
    }
}

fn append_float(out: &mut String, x: f64, fmt: u8, prec: i32) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    let neg = x.is_sign_negative();
    match fmt {
        b'b' => {
            let bits = x.to_bits();
            let mut exp = ((bits >> 52) & 0x7ff) as i64;
            let mut mant = bits & ((1u64 << 52) - 1);
            if exp == 0 {
                exp += 1;
            } else {
                mant |= 1u64 << 52;
            }
            exp -= 1023 + 52;
            if neg {
                out.push('-');
            }
            let _ = write!(out, "{mant}p{}{}", if exp >= 0 { "+" } else { "" }, exp);
        }
        b'e' | b'E' => {
            let d = if prec < 0 {
                shortest_digits(x)
            } else {
                rounded_digits(x, prec as usize + 1)
            };
            let p = if prec < 0 {
                (d.digits.len() as i32 - 1).max(0)
            } else {
                prec
            };
            fmt_e(out, neg, &d, p, fmt);
        }
        b'f' | b'F' => {
            if prec < 0 {
                let d = shortest_digits(x);
                let p = (d.digits.len() as i32 - d.dp).max(0);
                fmt_f(out, neg, &d, p);
            } else {
                let s = format!("{:.*}", prec as usize, x.abs());
                if neg {
                    out.push('-');
                }
                out.push_str(&s);
            }
        }
        b'g' | b'G' => {
            let shortest = prec < 0;
            let (d, mut prec) = if shortest {
                let d = shortest_digits(x);
                let n = d.digits.len() as i32;
                (d, n)
            } else {
                let p = if prec == 0 { 1 } else { prec };
                (rounded_digits(x, p as usize), p)
            };
            let nd = d.digits.len() as i32;
            let mut eprec = prec;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if !d.digits.is_empty() && (exp < -4 || exp >= eprec) {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(out, neg, &d, prec - 1, fmt + b'e' - b'g');
                return;
            }
            if prec > d.dp {
                prec = nd;
            }
            fmt_f(out, neg, &d, (prec - d.dp).max(0));
        }
        b'x' | b'X' => {
            // Hexadecimal mantissa/exponent (rare in templates): shortest form.
            let bits = x.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mant = bits & ((1u64 << 52) - 1);
            if neg {
                out.push('-');
            }
            if x == 0.0 {
                out.push_str(if fmt == b'x' { "0x0p+00" } else { "0X0P+00" });
                return;
            }
            let (lead, e) = if exp == 0 {
                (0, -1022)
            } else {
                (1, exp - 1023)
            };
            let mut frac = format!("{mant:013x}");
            while frac.ends_with('0') {
                frac.pop();
            }
            let mut s = format!("0x{lead}");
            if !frac.is_empty() {
                s.push('.');
                s.push_str(&frac);
            }
            let _ = write!(s, "p{}{:02}", if e >= 0 { '+' } else { '-' }, e.abs());
            if fmt == b'X' {
                s = s.to_uppercase();
            }
            out.push_str(&s);
        }
        _ => {
            out.push('%');
            out.push(fmt as char);
        }
    }
}

/// Go's `fmt` flags for one verb.
#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
    /// Inside `badVerb`: do not call `String()` methods.
    erroring: bool,
}

const LDIGITS: &[u8] = b"0123456789abcdefx";
const UDIGITS: &[u8] = b"0123456789ABCDEFX";

fn too_large(n: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&n)
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        for _ in 0..n {
            self.buf.push(c);
        }
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|w| *w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let n = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(n);
        } else {
            self.write_padding(n);
            self.buf.push_str(s);
        }
    }

    /// `pad` with zero padding disabled (numbers handle zeros themselves).
    fn pad_spaces(&mut self, s: &str) {
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = old;
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if let Some(p) = self.f.prec
            && let Some((i, _)) = s.char_indices().nth(p)
        {
            return &s[..i];
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            self.pad(&format!("`{s}`"));
            return;
        }
        let q = if self.f.plus {
            quote_ascii(s)
        } else {
            go_quote(s)
        };
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &[u8], digits: &[u8]) {
        let len = match self.f.prec {
            Some(p) if p < s.len() => p,
            _ => s.len(),
        };
        let mut out = String::new();
        for (i, &b) in s[..len].iter().enumerate() {
            if i > 0 && self.f.space {
                out.push(' ');
            }
            if self.f.sharp && (self.f.space || i == 0) {
                out.push('0');
                out.push(digits[16] as char);
            }
            out.push(digits[(b >> 4) as usize] as char);
            out.push(digits[(b & 0xf) as usize] as char);
        }
        self.pad(&out);
    }

    fn fmt_integer(&mut self, mut u: u64, base: u64, signed: bool, verb: char, digits: &[u8]) {
        let negative = signed && (u as i64) < 0;
        if negative {
            u = (u as i64).unsigned_abs();
        }
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                let w = self.f.wid.unwrap_or(0);
                self.write_padding(w);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid.is_some() {
            prec = self.f.wid.unwrap_or(0);
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut rev: Vec<u8> = Vec::new();
        loop {
            rev.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while rev.len() < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => {
                    rev.push(b'b');
                    rev.push(b'0');
                }
                8 if rev.last() != Some(&b'0') => {
                    rev.push(b'0');
                }
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.push(b'o');
            rev.push(b'0');
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let s = String::from_utf8(rev).expect("ASCII digits");
        self.pad_spaces(&s);
    }

    fn fmt_float(&mut self, x: f64, verb: u8, prec: i32) {
        let prec = self.f.prec.map(|p| p as i32).unwrap_or(prec);
        let mut num = String::from("+");
        append_float(&mut num, x, verb, prec);
        if num.as_bytes()[1] == b'-' || num.as_bytes()[1] == b'+' {
            num.remove(0);
        }
        let mut num = num.into_bytes();
        if self.f.space && num[0] == b'+' && !self.f.plus {
            num[0] = b' ';
        }
        if num[1] == b'I' || num[1] == b'N' {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1] == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            let s = String::from_utf8(num).expect("ASCII");
            self.pad(&s);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != b'b' {
            let mut digits: i32 = match verb {
                b'v' | b'g' | b'G' | b'x' => {
                    if prec == -1 {
                        6
                    } else {
                        prec
                    }
                }
                _ => 0,
            };
            let mut tail: Vec<u8> = Vec::new();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    b'.' => has_point = true,
                    b'p' | b'P' => {
                        tail.extend_from_slice(&num[i..]);
                        num.truncate(i);
                        break;
                    }
                    b'e' | b'E' if verb != b'x' && verb != b'X' => {
                        tail.extend_from_slice(&num[i..]);
                        num.truncate(i);
                        break;
                    }
                    c => {
                        if c != b'0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_point {
                if num.len() == 2 && num[1] == b'0' {
                    digits -= 1;
                }
                num.push(b'.');
            }
            while digits > 0 {
                num.push(b'0');
                digits -= 1;
            }
            num.extend_from_slice(&tail);
        }
        let s = String::from_utf8(num).expect("ASCII");
        if self.f.plus || !s.starts_with('+') {
            if self.f.zero && !self.f.minus && self.f.wid.is_some_and(|w| w > s.len()) {
                let w = self.f.wid.unwrap_or(0);
                self.buf.push_str(&s[..1]);
                self.write_padding(w - s.len());
                self.buf.push_str(&s[1..]);
                return;
            }
            self.pad(&s);
            return;
        }
        self.pad(&s[1..]);
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if v.is_nil() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(&v.type_name());
            self.buf.push('=');
            self.print_arg(v, 'v');
        }
        self.buf.push(')');
        self.erroring = false;
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        if verb == 'T' {
            let t = v.type_name();
            self.fmt_s(&t);
            return;
        }
        self.print_value(v, verb, 0);
    }

    fn fmt_bool(&mut self, b: bool, verb: char, v: &Value) {
        match verb {
            't' | 'v' => self.pad(if b { "true" } else { "false" }),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_int(&mut self, u: u64, signed: bool, verb: char, v: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    let old = self.f.sharp;
                    self.f.sharp = true;
                    self.fmt_integer(u, 16, false, verb, LDIGITS);
                    self.f.sharp = old;
                } else {
                    self.fmt_integer(u, 10, signed, verb, LDIGITS);
                }
            }
            'd' => self.fmt_integer(u, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(u, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(u, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(u, 16, signed, verb, UDIGITS),
            'c' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                let mut s = String::from("'");
                if self.f.plus && !c.is_ascii() {
                    s.push_str(&ascii_escape(c));
                } else {
                    push_quoted_char(&mut s, c, '\'');
                }
                s.push('\'');
                self.pad(&s);
            }
            'U' => {
                let mut s = format!("U+{u:04X}");
                if self.f.sharp
                    && let Some(c) = char::from_u32(u as u32)
                    && is_go_printable(c)
                {
                    let _ = write!(s, " '{c}'");
                }
                self.pad_spaces(&s);
            }
            _ => self.bad_verb(verb, v),
        }
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        match v {
            Value::Nil => {
                if depth == 0 {
                    self.print_arg(v, verb);
                } else if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.pad("<nil>");
                }
            }
            Value::Bool(b) => self.fmt_bool(*b, verb, v),
            Value::Int(i) | Value::Int64(i) => self.fmt_int(*i as u64, true, verb, v),
            Value::Uint64(u) => self.fmt_int(*u, false, verb, v),
            Value::Float(x) => match verb {
                'v' => self.fmt_float(*x, b'g', -1),
                'b' | 'g' | 'G' | 'x' | 'X' => {
                    let vb = if self.f.sharp_v { b'g' } else { verb as u8 };
                    self.fmt_float(*x, vb, -1)
                }
                'f' | 'e' | 'E' | 'F' => self.fmt_float(*x, verb as u8, 6),
                _ => self.bad_verb(verb, v),
            },
            Value::String(s) => match verb {
                'v' => {
                    if self.f.sharp_v {
                        self.fmt_q(s)
                    } else {
                        self.fmt_s(s)
                    }
                }
                's' => self.fmt_s(s),
                'x' => self.fmt_sx(&go_bytes(s), LDIGITS),
                'X' => self.fmt_sx(&go_bytes(s), UDIGITS),
                'q' => self.fmt_q(s),
                _ => self.bad_verb(verb, v),
            },
            Value::Bytes(b) => self.fmt_bytes(b, verb, "[]byte", v),
            Value::List(l) => {
                if self.f.sharp_v {
                    self.buf.push_str(l.elem.slice_type_name());
                    self.buf.push('{');
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push('}');
                    return;
                }
                self.buf.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    if l.elem == ElemType::Interface && item.is_nil() {
                        self.buf.push_str("<nil>");
                    } else {
                        self.print_value(item, verb, depth + 1);
                    }
                }
                self.buf.push(']');
            }
            Value::Map(m) => {
                let m = m.borrow();
                if self.f.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                    for (i, (k, val)) in m.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(&Value::str(k.as_str()), verb, depth + 1);
                        self.buf.push(':');
                        self.print_value(val, verb, depth + 1);
                    }
                    self.buf.push('}');
                    return;
                }
                self.buf.push_str("map[");
                for (i, (k, val)) in m.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.print_value(&Value::str(k.as_str()), verb, depth + 1);
                    self.buf.push(':');
                    if val.is_nil() {
                        self.buf.push_str("<nil>");
                    } else {
                        self.print_value(val, verb, depth + 1);
                    }
                }
                self.buf.push(']');
            }
            Value::Object(o) => match verb {
                'v' | 's' if !self.erroring => {
                    let s = o.format_v();
                    self.fmt_s(&s);
                }
                'q' if !self.erroring => {
                    let s = o.format_v();
                    self.fmt_q(&s);
                }
                'x' | 'X' if !self.erroring => {
                    let s = o.format_v();
                    self.fmt_sx(s.as_bytes(), if verb == 'x' { LDIGITS } else { UDIGITS });
                }
                'v' => {
                    let s = o.format_v();
                    self.buf.push_str(&s);
                }
                _ => self.bad_verb(verb, v),
            },
        }
    }

    fn fmt_bytes(&mut self, b: &[u8], verb: char, type_name: &str, v: &Value) {
        match verb {
            'v' | 'd' => {
                if self.f.sharp_v {
                    self.buf.push_str(type_name);
                    self.buf.push('{');
                    for (i, &c) in b.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        let _ = write!(self.buf, "0x{c:x}");
                    }
                    self.buf.push('}');
                    return;
                }
                self.buf.push('[');
                for (i, &c) in b.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.fmt_integer(u64::from(c), 10, false, verb, LDIGITS);
                }
                self.buf.push(']');
            }
            's' => {
                let s = go_string(b);
                self.fmt_s(&s);
            }
            'x' => self.fmt_sx(b, LDIGITS),
            'X' => self.fmt_sx(b, UDIGITS),
            'q' => {
                let s = go_string(b);
                self.fmt_q(&s);
            }
            _ => {
                // Element-wise, like Go's printValue on a []uint8.
                self.buf.push('[');
                for (i, &c) in b.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    let _ = v;
                    self.erroring = true;
                    let _ = write!(self.buf, "%!{verb}(uint8={c})");
                    self.erroring = false;
                }
                self.buf.push(']');
            }
        }
    }

    fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
        if arg_num < args.len() {
            let (n, ok) = match &args[arg_num] {
                Value::Int(i) | Value::Int64(i) => (*i, true),
                Value::Uint64(u) => (i64::try_from(*u).unwrap_or(0), i64::try_from(*u).is_ok()),
                _ => (0, false),
            };
            if too_large(n) {
                return (0, false, arg_num + 1);
            }
            return (n, ok, arg_num + 1);
        }
        (0, false, arg_num)
    }

    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0usize;
        let mut after_index;
        let mut reordered = false;
        let mut i = 0usize;
        'format: while i < end {
            let mut good_arg_num = true;
            let last = i;
            while i < end && fb[i] != b'%' {
                i += 1;
            }
            if i > last {
                self.buf.push_str(&format[last..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match fb[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    c => {
                        if c.is_ascii_lowercase() && arg_num < args.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(&args[arg_num], c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }
            // Argument index.
            (arg_num, i, after_index) = self.arg_number(
                arg_num,
                format,
                i,
                args.len(),
                &mut good_arg_num,
                &mut reordered,
            );
            // Width.
            if i < end && fb[i] == b'*' {
                i += 1;
                let (w, ok, n) = Self::int_from_arg(args, arg_num);
                arg_num = n;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                    self.f.wid = None;
                } else if w < 0 {
                    self.f.wid = Some(w.unsigned_abs() as usize);
                    self.f.minus = true;
                    self.f.zero = false;
                } else {
                    self.f.wid = Some(w as usize);
                }
                after_index = false;
            } else {
                let (w, ok, ni) = parse_num(fb, i, end);
                i = ni;
                self.f.wid = if ok { Some(w) } else { None };
                if after_index && ok {
                    good_arg_num = false;
                }
            }
            // Precision.
            if i + 1 < end && fb[i] == b'.' {
                i += 1;
                if after_index {
                    good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(
                    arg_num,
                    format,
                    i,
                    args.len(),
                    &mut good_arg_num,
                    &mut reordered,
                );
                if i < end && fb[i] == b'*' {
                    i += 1;
                    let (p, ok, n) = Self::int_from_arg(args, arg_num);
                    arg_num = n;
                    if p < 0 {
                        self.f.prec = None;
                    } else {
                        self.f.prec = if ok { Some(p as usize) } else { None };
                    }
                    if !ok {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, ok, ni) = parse_num(fb, i, end);
                    i = ni;
                    self.f.prec = Some(if ok { p } else { 0 });
                }
            }
            if !after_index {
                (arg_num, i, after_index) = self.arg_number(
                    arg_num,
                    format,
                    i,
                    args.len(),
                    &mut good_arg_num,
                    &mut reordered,
                );
            }
            let _ = after_index;
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().expect("i < end");
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !good_arg_num {
                let _ = write!(self.buf, "%!{verb}(BADINDEX)");
            } else if arg_num >= args.len() {
                let _ = write!(self.buf, "%!{verb}(MISSING)");
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, a) in args[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if a.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&a.type_name());
                    self.buf.push('=');
                    self.print_arg(a, 'v');
                }
            }
            self.buf.push(')');
        }
    }

    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &str,
        i: usize,
        num_args: usize,
        good: &mut bool,
        reordered: &mut bool,
    ) -> (usize, usize, bool) {
        let fb = format.as_bytes();
        if fb.len() <= i || fb[i] != b'[' {
            return (arg_num, i, false);
        }
        *reordered = true;
        let (index, wid, ok) = parse_arg_number(&fb[i..]);
        if ok && index >= 0 && (index as usize) < num_args {
            return (index as usize, i + wid, true);
        }
        *good = false;
        (arg_num, i + wid, ok)
    }
}

fn parse_num(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: usize = 0;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if num > 1_000_000 {
            return (0, false, end);
        }
        num = num * 10 + usize::from(s[i] - b'0');
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

fn parse_arg_number(f: &[u8]) -> (i64, usize, bool) {
    if f.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..f.len() {
        if f[i] == b']' {
            let (w, ok, ni) = parse_num(f, 1, i);
            if !ok || ni != i {
                return (0, i + 1, false);
            }
            return (w as i64 - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FFFD}' && (c == '\t' || !c.is_control()))
}

fn ascii_escape(c: char) -> String {
    let u = c as u32;
    if u < 0x10000 {
        format!("\\u{u:04x}")
    } else {
        format!("\\U{u:08x}")
    }
}

/// Go's `strconv.QuoteToASCII`.
fn quote_ascii(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_ascii() {
            push_quoted_char(&mut out, c, '"');
        } else {
            out.push_str(&ascii_escape(c));
        }
    }
    out.push('"');
    out
}
