//! Go's `fmt` package as templates reach it: `%v` printing, `Sprint`, `Sprintln`, `Sprintf`,
//! and `strconv.FormatFloat`.

use crate::value::Value;

/// Go's `fmt.Sprint("%v", v)` for one value.
pub fn format_v(v: &Value) -> String {
    sprint(std::slice::from_ref(v))
}

/// Go's `fmt.Sprint(args...)`: a space between operands when neither is a string.
pub fn sprint(_args: &[Value]) -> String {
    String::new()
}

/// Go's `fmt.Sprintln(args...)`: always space-separated, newline appended.
pub fn sprintln(_args: &[Value]) -> String {
    String::new()
}

/// Go's `fmt.Sprintf(format, args...)`.
pub fn sprintf(_format: &str, _args: &[Value]) -> String {
    String::new()
}

/// Go's `strconv.FormatFloat(x, fmt, prec, 64)` for `fmt` in `b'g'`, `b'e'`, `b'f'`; `prec` -1
/// means the shortest representation that round-trips.
pub fn format_float(_x: f64, _fmt: u8, _prec: i32) -> String {
    String::new()
}
