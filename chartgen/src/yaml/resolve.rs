//! go-yaml v2's YAML 1.1 resolution of untagged plain scalars (`resolve.go`): booleans,
//! nulls, Go base-prefixed integers, floats, timestamps, the merge key.

/// What a plain scalar means under go-yaml v2's rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    /// Fits a Go `int` (64-bit).
    Int(i64),
    /// Only fits `uint64`.
    Uint(u64),
    Float(f64),
    /// A timestamp (`2021-01-01`); decoded into `interface{}` as the original string.
    Timestamp,
    /// `<<`.
    Merge,
    Str,
}

fn table_hint(c: u8) -> u8 {
    match c {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => 0,
    }
}

fn lookup_word(s: &str) -> Option<Resolved> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Go `strconv.ParseUint(s, base, 64)` for base 0 (prefix detection) or an explicit base;
/// `s` has no sign and no underscores.
fn parse_uint(s: &str, base: u32) -> Option<u64> {
    let (digits, radix) = if base == 0 {
        let b = s.as_bytes();
        if b.first() == Some(&b'0') {
            if b.len() >= 3 {
                match b[1].to_ascii_lowercase() {
                    b'b' => (&s[2..], 2),
                    b'o' => (&s[2..], 8),
                    b'x' => (&s[2..], 16),
                    _ => (&s[1..], 8),
                }
            } else {
                (&s[1..], 8)
            }
        } else {
            (s, 10)
        }
    } else {
        (s, base)
    };
    if base == 0 && s == "0" {
        return Some(0);
    }
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for c in digits.bytes() {
        let d = (c as char).to_digit(radix)?;
        n = n.checked_mul(radix as u64)?.checked_add(d as u64)?;
    }
    Some(n)
}

/// Go `strconv.ParseInt(s, base, 64)` (optional sign).
fn parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(rest, base)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else if u <= i64::MAX as u64 {
        Some(u as i64)
    } else {
        None
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.ParseFloat(s, 64)` restricted to what reaches it here (decimal forms);
/// overflow is an error as in Go.
fn parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    // Rust also accepts words like "inf"/"nan"; Go does too, but only decimal text reaches here
    // except for the '.' hint, whose forms Rust and Go agree on.
    if b.iter()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'))
    {
        return None;
    }
    let x: f64 = s.parse().ok()?;
    if x.is_infinite() { None } else { Some(x) }
}

fn two_digit(b: &[u8], i: &mut usize) -> Option<u32> {
    // Go's getnum(s, false): one digit, or two when the second is a digit.
    let d0 = *b.get(*i)?;
    if !d0.is_ascii_digit() {
        return None;
    }
    *i += 1;
    let mut n = (d0 - b'0') as u32;
    if let Some(&d1) = b.get(*i)
        && d1.is_ascii_digit()
    {
        *i += 1;
        n = n * 10 + (d1 - b'0') as u32;
    }
    Some(n)
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// go-yaml v2 `parseTimestamp`: Go `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also `t`), `2006-1-2 15:4:5.999999999`, `2006-1-2`.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: i64 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = two_digit(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = two_digit(b, &mut i) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zone = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    let Some(h) = two_digit(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    let Some(m) = two_digit(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    let Some(sec) = two_digit(b, &mut i) else {
        return false;
    };
    if h >= 24 || m >= 60 || sec >= 60 {
        return false;
    }
    if b.len() >= i + 2 && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if !zone {
        return i == b.len();
    }
    if b.get(i) == Some(&b'Z') {
        return i + 1 == b.len();
    }
    // ±hh:mm
    let rest = &b[i..];
    rest.len() == 6
        && (rest[0] == b'+' || rest[0] == b'-')
        && rest[1].is_ascii_digit()
        && rest[2].is_ascii_digit()
        && rest[3] == b':'
        && rest[4].is_ascii_digit()
        && rest[5].is_ascii_digit()
        && (rest[1] - b'0') * 10 + (rest[2] - b'0') <= 24
        && (rest[4] - b'0') * 10 + (rest[5] - b'0') <= 60
}

/// go-yaml v2 `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty()
        || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit())
        || !b.contains(&b':')
    {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]: one digit, or two with the first in 0-5.
        let d1 = b.get(i).copied();
        let d2 = b.get(i + 1).copied();
        match (d1, d2) {
            (Some(a), Some(c)) if (b'0'..=b'5').contains(&a) && c.is_ascii_digit() => i += 2,
            (Some(a), _) if a.is_ascii_digit() => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Resolve an untagged plain scalar (go-yaml v2 `resolve("", in)`).
pub fn resolve_plain(s: &str) -> Resolved {
    resolve_with(s, true)
}

/// `resolve(tag, in)` for a resolvable tag: timestamps are only tried when `timestamps`.
pub fn resolve_with(s: &str, timestamps: bool) -> Resolved {
    let hint = match s.as_bytes().first() {
        None => b'N',
        Some(&c) => table_hint(c),
    };
    if hint == 0 {
        return Resolved::Str;
    }
    if let Some(r) = lookup_word(s) {
        return r;
    }
    match hint {
        b'.' => {
            if let Some(x) = parse_float(s) {
                return Resolved::Float(x);
            }
        }
        b'D' | b'S' => {
            if timestamps && is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: std::borrow::Cow<str> = if s.contains('_') {
                s.replace('_', "").into()
            } else {
                s.into()
            };
            if let Some(i) = parse_int(&plain, 0) {
                return Resolved::Int(i);
            }
            if !plain.starts_with(['+', '-'])
                && let Some(u) = parse_uint(&plain, 0)
            {
                return Resolved::Uint(u);
            }
            if yaml_style_float(&plain)
                && let Some(x) = parse_float(&plain)
            {
                return Resolved::Float(x);
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Some(i) = parse_int(rest, 2) {
                    return Resolved::Int(i);
                }
                if let Some(u) = parse_uint(rest, 2) {
                    return Resolved::Uint(u);
                }
            } else if let Some(rest) = plain.strip_prefix("-0b")
                && let Some(i) = parse_int(&format!("-{rest}"), 2)
            {
                return Resolved::Int(i);
            }
        }
        _ => {}
    }
    Resolved::Str
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_words_and_numbers() {
        assert_eq!(resolve_plain("yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off"), Resolved::Bool(false));
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("017"), Resolved::Int(15));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("09"), Resolved::Float(9.0));
        assert_eq!(resolve_plain("1."), Resolved::Float(1.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(
            resolve_plain("12345678901234567890"),
            Resolved::Uint(12345678901234567890)
        );
        assert_eq!(resolve_plain("2021-01-01"), Resolved::Timestamp);
        assert_eq!(resolve_plain("2021-02-30"), Resolved::Str);
        assert_eq!(resolve_plain("1:20"), Resolved::Str);
        assert!(is_base60_float("1:20"));
        assert!(is_base60_float("190:20:30.15"));
        assert!(!is_base60_float("1:2a"));
        assert_eq!(resolve_plain("<<"), Resolved::Str);
        assert_eq!(resolve_plain("500m"), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str);
    }
}
