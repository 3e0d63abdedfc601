//! Reading JSON against an expected [`Shape`]: keys matched case-insensitively as Go's
//! `encoding/json` matches them ([`canonicalize`]), and, for task inputs ([`parse_inputs`]),
//! typed and range-checked leaves and refused unknown keys, each error naming the field path.
//!
//! One mechanism for every task: a task declares the shape of its `with` section as a table
//! (field name → [`Shape`], typed leaves as [`Kind`]) and calls [`parse_inputs`]. The checks
//! run before serde sees the value, so every mistake is reported as
//! `invalid input <path>: <problem> (hint: <fix>)` with a path such as `qps`,
//! `endpoints.get.duration`, `errorRanges[0].lower` or `percentiles[2]`.
//!
//! Rules shared by all kinds:
//! - `null` for a field of an object means "not set" (Iter8 writes `endpoints: null`).
//! - Numbers may also be given as text holding a number: Helm's `--set` passes `0.5` and
//!   `1e3` as strings (only whole numbers arrive as integers), so `--set http.qps=0.5` works.
//! - Text fields take text only (a number there is an error with a `--set-string` hint).

use std::time::Duration;

use serde_json::{Map, Number, Value};

/// Expected shape of a JSON value.
#[derive(Debug)]
pub enum Shape {
    /// A struct: canonical field names and their shapes; unknown keys are kept and ignored (Go).
    Obj(&'static [(&'static str, Shape)]),
    /// A struct whose unknown keys are errors (task inputs, so a typo is not silently ignored).
    Closed(&'static [(&'static str, Shape)]),
    /// A map with data keys (left as they are) and values of one shape.
    Map(&'static Shape),
    /// A list of one shape.
    List(&'static Shape),
    /// A checked scalar (task inputs).
    Typed(Kind),
    /// Anything (scalars, raw JSON), not checked.
    Leaf,
}

/// What a typed leaf must hold.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text.
    Str,
    /// `true` or `false`.
    Bool,
    /// A whole number at least `min` (also given as text holding one).
    Int {
        /// Smallest value allowed.
        min: i64,
        /// Hint shown when the value is below `min`.
        hint: Option<&'static str>,
    },
    /// A number at least `min` (also given as text holding one).
    Num {
        /// Smallest value allowed.
        min: f64,
        /// Hint shown when the value is below `min`.
        hint: Option<&'static str>,
    },
    /// A percentile: a number above 0 and at most 100.
    Percentile,
    /// A Go duration string (`30s`, `1m30s`, `500ms`); zero refused when `positive`.
    Duration {
        /// Whether zero is refused.
        positive: bool,
    },
    /// An `http://` or `https://` URL with a host; `""` means "not set".
    HttpUrl,
}

/// A task input that is not acceptable, with the path of the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid input {path}: {problem}{}", hint_suffix(.hint))]
pub struct InputError {
    /// Field path (`qps`, `endpoints.get.url`, `errorRanges[0].lower`); `with` for the whole
    /// section.
    pub path: String,
    /// What is wrong, starting with the offending value where there is one.
    pub problem: String,
    /// An obvious fix, if there is one.
    pub hint: Option<String>,
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default()
}

impl InputError {
    /// An error at `path` (empty = the whole `with` section).
    pub fn new(path: &str, problem: impl Into<String>) -> Self {
        InputError {
            path: if path.is_empty() {
                "with".to_string()
            } else {
                path.to_string()
            },
            problem: problem.into(),
            hint: None,
        }
    }

    /// The same error with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Rename keys of `v` to the canonical field names of `shape`, matching case-insensitively when
/// no exact match exists (Go `encoding/json`). Later duplicates win. Unknown keys are kept.
pub fn canonicalize(v: &mut Value, shape: &Shape) {
    match (shape, v) {
        (Shape::Obj(fields) | Shape::Closed(fields), Value::Object(map)) => {
            let old = std::mem::take(map);
            for (k, mut val) in old {
                match field(fields, &k) {
                    Some((name, sub)) => {
                        canonicalize(&mut val, sub);
                        map.insert((*name).to_string(), val);
                    }
                    None => {
                        map.insert(k, val);
                    }
                }
            }
        }
        (Shape::Map(sub), Value::Object(map)) => {
            for val in map.values_mut() {
                canonicalize(val, sub);
            }
        }
        (Shape::List(sub), Value::Array(items)) => {
            for val in items {
                canonicalize(val, sub);
            }
        }
        _ => {}
    }
}

fn field<'a>(fields: &'a [(&'static str, Shape)], key: &str) -> Option<&'a (&'static str, Shape)> {
    fields
        .iter()
        .find(|(f, _)| *f == key)
        .or_else(|| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(key)))
}

/// Parse a task's `with` into its input type: keys matched case-insensitively against
/// `shape`, then every typed leaf checked (and numbers given as text turned into numbers),
/// unknown keys of [`Shape::Closed`] objects refused, and only then deserialised.
pub fn parse_inputs<T: serde::de::DeserializeOwned>(
    with: Option<&Value>,
    shape: &Shape,
) -> Result<T, InputError> {
    let mut v = match with {
        Some(Value::Null) | None => Value::Object(Map::new()),
        Some(v) => v.clone(),
    };
    canonicalize(&mut v, shape);
    check(&mut v, shape, "")?;
    // The checks above cover every field of a well-declared shape; this is the backstop.
    serde_json::from_value(v).map_err(|e| InputError::new("", e.to_string()))
}

/// Check `v` against `shape` (after [`canonicalize`]), normalising numbers given as text.
pub fn check(v: &mut Value, shape: &Shape, path: &str) -> Result<(), InputError> {
    match shape {
        Shape::Leaf => Ok(()),
        Shape::Obj(fields) | Shape::Closed(fields) => {
            let Value::Object(map) = v else {
                return Err(InputError::new(path, format!("{} is not a map", show(v))));
            };
            let closed = matches!(shape, Shape::Closed(_));
            // A field set to null is a field not set (serde's defaults apply).
            map.retain(|_, val| !val.is_null());
            for (k, val) in map.iter_mut() {
                let sub_path = join(path, k);
                match fields.iter().find(|(f, _)| f == k) {
                    Some((_, sub)) => check(val, sub, &sub_path)?,
                    None if closed => return Err(unknown_key(&sub_path, k, fields)),
                    None => {}
                }
            }
            Ok(())
        }
        Shape::Map(sub) => {
            let Value::Object(map) = v else {
                return Err(InputError::new(path, format!("{} is not a map", show(v))));
            };
            for (k, val) in map.iter_mut() {
                check(val, sub, &join(path, k))?;
            }
            Ok(())
        }
        Shape::List(sub) => {
            let Value::Array(items) = v else {
                return Err(InputError::new(path, format!("{} is not a list", show(v))));
            };
            for (i, val) in items.iter_mut().enumerate() {
                check(val, sub, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Shape::Typed(kind) => check_kind(v, *kind, path),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A value as the user would recognise it: text quoted, numbers and booleans bare, and lists
/// and maps named (they can be long).
fn show(v: &Value) -> String {
    match v {
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a map".to_string(),
        other => other.to_string(),
    }
}

fn unknown_key(path: &str, key: &str, fields: &[(&'static str, Shape)]) -> InputError {
    let err = InputError::new(path, "unknown key");
    let lower = key.to_ascii_lowercase();
    let closest = fields
        .iter()
        .map(|(f, _)| (edit_distance(&lower, &f.to_ascii_lowercase()), *f))
        .min_by_key(|(d, _)| *d);
    match closest {
        Some((d, f)) if d <= (f.len() / 4).max(1) => err.hint(format!("did you mean {f}?")),
        _ => {
            let known: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            err.hint(format!("known keys: {}", known.join(", ")))
        }
    }
}

/// Levenshtein distance (insertions, deletions, substitutions) between two short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// A number from a JSON number or from text holding one (finite only).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn check_kind(v: &mut Value, kind: Kind, path: &str) -> Result<(), InputError> {
    // Numbers given as text are shown as the user typed them (`1e99`, not `"1e99"`).
    let shown = match (kind, &*v) {
        (Kind::Int { .. } | Kind::Num { .. } | Kind::Percentile, Value::String(s))
            if number(v).is_some() =>
        {
            s.trim().to_string()
        }
        _ => show(v),
    };
    let bad = |what: &str| InputError::new(path, format!("{shown} is not {what}"));
    match kind {
        Kind::Str => match v {
            Value::String(_) => Ok(()),
            Value::Number(_) | Value::Bool(_) => Err(bad("a string")
                .hint("quote it in YAML, or pass it with --set-string instead of --set")),
            _ => Err(bad("a string")),
        },
        Kind::Bool => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(bad("true or false")),
        },
        Kind::Int { min, hint } => {
            let n = match v {
                Value::Number(n) if n.is_i64() => n.as_i64(),
                Value::Number(n) if n.is_u64() => None,
                _ => {
                    let x = number(v).ok_or_else(|| bad("a whole number"))?;
                    if x.fract() != 0.0 {
                        return Err(bad("a whole number"));
                    }
                    // i64::MAX as f64 rounds up to 2^63, which is already out of range.
                    (x >= i64::MIN as f64 && x < i64::MAX as f64).then_some(x as i64)
                }
            };
            let n = n.ok_or_else(|| {
                InputError::new(path, format!("{shown} is too large"))
                    .hint(format!("at most {}", i64::MAX))
            })?;
            if n < min {
                return Err(below(path, &shown, min as f64, hint));
            }
            *v = Value::Number(n.into());
            Ok(())
        }
        Kind::Num { min, hint } => {
            let x = number(v).ok_or_else(|| bad("a number"))?;
            if x < min {
                return Err(below(path, &shown, min, hint));
            }
            if v.is_string() {
                *v = Number::from_f64(x).map_or(Value::Null, Value::Number);
            }
            Ok(())
        }
        Kind::Percentile => {
            let x = number(v).ok_or_else(|| bad("a number"))?;
            if !(x > 0.0 && x <= 100.0) {
                return Err(
                    InputError::new(path, format!("{shown} is not a percentile"))
                        .hint("use a number above 0 and at most 100, e.g. 99.9"),
                );
            }
            if v.is_string() {
                *v = Number::from_f64(x).map_or(Value::Null, Value::Number);
            }
            Ok(())
        }
        Kind::Duration { positive } => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => {
                    return Err(bad("a duration").hint(format!("add a unit, e.g. \"{n}s\"")));
                }
                _ => return Err(bad("a duration")),
            };
            let d = parse_go_duration(&text).map_err(|e| match e {
                DurationError::NoUnit => {
                    bad("a duration").hint(format!("add a unit, e.g. \"{}s\"", text.trim()))
                }
                DurationError::Negative => InputError::new(path, format!("{shown} is negative")),
                DurationError::Syntax => bad("a duration")
                    .hint("a number and a unit (ns, us, ms, s, m, h), e.g. \"30s\" or \"1m30s\""),
            })?;
            if positive && d.is_zero() {
                return Err(InputError::new(
                    path,
                    format!("{shown} must be longer than zero"),
                ));
            }
            Ok(())
        }
        Kind::HttpUrl => {
            let Value::String(url) = v else {
                return Err(bad("a URL"));
            };
            if url.is_empty() {
                return Ok(());
            }
            check_http_url(url).map_err(|(problem, hint)| {
                let e = InputError::new(path, format!("{shown} {problem}"));
                match hint {
                    Some(h) => e.hint(h),
                    None => e,
                }
            })
        }
    }
}

fn below(path: &str, shown: &str, min: f64, hint: Option<&'static str>) -> InputError {
    let problem = if min == 0.0 {
        format!("{shown} is negative")
    } else {
        format!("{shown} must be at least {min}")
    };
    let e = InputError::new(path, problem);
    match hint {
        Some(h) => e.hint(h),
        None => e,
    }
}

/// Why [`check_http_url`] refused a URL: the problem (after the quoted URL) and maybe a hint.
type UrlProblem = (String, Option<String>);

fn check_http_url(url: &str) -> Result<(), UrlProblem> {
    let uri: http::Uri = url.parse().map_err(|e| {
        (
            format!("is not a URL ({e})"),
            Some("e.g. http://127.0.0.1:8080/path".to_string()),
        )
    })?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        None => {
            return Err((
                "is not a URL".to_string(),
                Some(format!("start it with http://, e.g. \"http://{url}\"")),
            ));
        }
        Some(_) => return Err(("must start with http:// or https://".to_string(), None)),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(("has no host".to_string(), None));
    }
    Ok(())
}

/// Why a Go duration string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// A bare number other than `0` (`5`): Go requires a unit.
    NoUnit,
    /// A negative duration.
    Negative,
    /// Anything else that is not `<number><unit>...`.
    Syntax,
}

/// Parse a Go duration string (`300ms`, `1.5s`, `1h2m3s`, `10us`, `0`); negative durations
/// are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, DurationError> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if let Some(magnitude) = s.strip_prefix('-') {
        return match parse_go_duration(magnitude) {
            Ok(_) => Err(DurationError::Negative),
            Err(e) => Err(e),
        };
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return Err(DurationError::Syntax);
    }
    if rest.chars().all(|c| c.is_ascii_digit() || c == '.') && rest.parse::<f64>().is_ok() {
        return Err(DurationError::NoUnit);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return Err(DurationError::Syntax);
        }
        let v: f64 = rest[..n].parse().map_err(|_| DurationError::Syntax)?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(DurationError::NoUnit),
            _ => return Err(DurationError::Syntax),
        };
        rest = &rest[u..];
        total += v * mult;
    }
    Duration::try_from_secs_f64(total).map_err(|_| DurationError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go duration strings: units, fractions, sums; bare numbers, negatives and junk refused.
    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("10"), Err(DurationError::NoUnit));
        assert_eq!(parse_go_duration("1m30"), Err(DurationError::NoUnit));
        assert_eq!(parse_go_duration("-5s"), Err(DurationError::Negative));
        assert_eq!(parse_go_duration("abc"), Err(DurationError::Syntax));
        assert_eq!(parse_go_duration("5 s"), Err(DurationError::Syntax));
        assert_eq!(parse_go_duration("5d"), Err(DurationError::Syntax));
    }

    /// Edit distance counts single-character insertions, deletions and substitutions.
    #[test]
    fn distances() {
        assert_eq!(edit_distance("numrequest", "numrequests"), 1);
        assert_eq!(edit_distance("conections", "connections"), 1);
        assert_eq!(edit_distance("qsp", "qps"), 2);
        assert_eq!(edit_distance("", "url"), 3);
        assert_eq!(edit_distance("url", "url"), 0);
    }
}
