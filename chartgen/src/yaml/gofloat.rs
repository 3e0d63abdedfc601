//! Go's `strconv.FormatFloat` shapes (`'g'`, `'e'`, `'f'` with shortest digits) and
//! `encoding/json`'s float printing, built on Rust's shortest round-trip digits.

/// Shortest decimal digits of a finite float: `0.d1d2…dn × 10^dp` (Go's `decimal` layout).
struct Digits {
    neg: bool,
    digits: Vec<u8>,
    dp: i32,
}

fn decompose(text: &str) -> Digits {
    // `text` is Rust's `{:e}` output: `-1.2345e-7`, `0e0`.
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mant, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    Digits {
        neg,
        digits,
        dp: exp + 1,
    }
}

fn digits_of(x: f64, bits32: bool) -> Digits {
    if bits32 {
        decompose(&format!("{:e}", x as f32))
    } else {
        decompose(&format!("{x:e}"))
    }
}

fn special(x: f64) -> Option<&'static str> {
    if x.is_nan() {
        Some("NaN")
    } else if x == f64::INFINITY {
        Some("+Inf")
    } else if x == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

fn write_e(d: &Digits, out: &mut String) {
    if d.neg {
        out.push('-');
    }
    out.push(d.digits[0] as char);
    if d.digits.len() > 1 {
        out.push('.');
        for &c in &d.digits[1..] {
            out.push(c as char);
        }
    }
    out.push('e');
    let exp = if d.digits == [b'0'] { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn write_f(d: &Digits, out: &mut String) {
    if d.neg {
        out.push('-');
    }
    let nd = d.digits.len() as i32;
    if d.dp > 0 {
        for i in 0..d.dp {
            out.push(if i < nd {
                d.digits[i as usize] as char
            } else {
                '0'
            });
        }
    } else {
        out.push('0');
    }
    let prec = (nd - d.dp).max(0);
    if prec > 0 {
        out.push('.');
        for i in 0..prec {
            let pos = d.dp + i;
            out.push(if pos >= 0 && pos < nd {
                d.digits[pos as usize] as char
            } else {
                '0'
            });
        }
    }
}

/// `strconv.FormatFloat(x, fmt, -1, bits)` for `fmt` in `g`, `e`, `f` (shortest digits).
pub fn format_float(x: f64, fmt: u8, bits32: bool) -> String {
    if let Some(s) = special(x) {
        return s.to_string();
    }
    let d = digits_of(x, bits32);
    let mut out = String::with_capacity(24);
    match fmt {
        b'e' => write_e(&d, &mut out),
        b'f' => write_f(&d, &mut out),
        _ => {
            let exp = if d.digits == [b'0'] { 0 } else { d.dp - 1 };
            if !(-4..6).contains(&exp) {
                write_e(&d, &mut out);
            } else {
                write_f(&d, &mut out);
            }
        }
    }
    out
}

/// Go `%v` / `FormatFloat(x, 'g', -1, 64)`.
pub fn format_g(x: f64) -> String {
    format_float(x, b'g', false)
}

/// `FormatFloat(x, 'g', -1, 32)`: float32 shortest digits (YAML float keys, typed strings).
pub fn format_g32(x: f64) -> String {
    format_float(x, b'g', true)
}

/// `encoding/json`'s float64 text; the caller rejects NaN and infinities first.
pub fn format_json(x: f64) -> String {
    let abs = x.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float(x, b'e', false);
        // Go trims one leading zero of a negative two-digit exponent: e-07 -> e-7.
        let n = s.len();
        let b = s.as_bytes();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
        s
    } else {
        format_float(x, b'f', false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_shapes() {
        assert_eq!(format_g(8080.0), "8080");
        assert_eq!(format_g(1e6), "1e+06");
        assert_eq!(format_g(999999.0), "999999");
        assert_eq!(format_g(12345678.0), "1.2345678e+07");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(1e-7), "1e-07");
        assert_eq!(format_g(1.5e300), "1.5e+300");
        assert_eq!(format_g(0.0), "0");
        assert_eq!(format_g(-0.0), "-0");
        assert_eq!(format_g(1.2345678901234567e19), "1.2345678901234567e+19");
        assert_eq!(format_g32(1.1), "1.1");
        assert_eq!(format_g32(1e3), "1000");
        assert_eq!(format_json(1e21), "1e+21");
        assert_eq!(format_json(1e-7), "1e-7");
        assert_eq!(format_json(1e20), "100000000000000000000");
        assert_eq!(format_json(0.000001), "0.000001");
        assert_eq!(format_json(1.5), "1.5");
        assert_eq!(format_json(-0.0), "-0");
    }
}
