//! Call template data in request data, as ghz has it: text values of `data` may hold
//! `{{.RequestNumber}}`, `{{.WorkerID}}`, `{{.Timestamp}}`, `{{.UUID}}` and the other fields of
//! ghz's call data, and the functions `{{newUUID}}`, `{{randomString N}}` and
//! `{{randomInt MIN MAX}}`; they are filled in for each call (or each stream message with
//! `stream-dynamic-messages`) before the JSON becomes protobuf. Only these actions exist (ghz
//! runs Go templates with Sprig); anything else in `{{ }}` is refused when the task is checked.

use std::time::SystemTime;

use bytes::Bytes;
use serde_json::Value;

use super::schema::{Method, SchemaError};

/// ghz's call data fields, in the order its documentation lists them.
pub const FIELDS: [&str; 14] = [
    "WorkerID",
    "RequestNumber",
    "FullyQualifiedName",
    "MethodName",
    "ServiceName",
    "InputName",
    "OutputName",
    "IsClientStreaming",
    "IsServerStreaming",
    "Timestamp",
    "TimestampUnix",
    "TimestampUnixMilli",
    "TimestampUnixNano",
    "UUID",
];

/// One piece of a text value.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// Index into [`FIELDS`].
    Field(usize),
    NewUuid,
    /// Length; 0 = random length 2..=16 (as ghz).
    RandomString(usize),
    RandomInt(i64, i64),
}

/// A text value with actions.
#[derive(Debug, Clone, PartialEq)]
struct Template(Vec<Piece>);

impl Template {
    /// `None` when `s` has no action.
    fn parse(s: &str) -> Result<Option<Template>, String> {
        if !s.contains("{{") {
            return Ok(None);
        }
        let mut pieces = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("{s:?}: unclosed {{{{"))?;
            pieces.push(action(after[..close].trim()).map_err(|e| format!("{s:?}: {e}"))?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Some(Template(pieces)))
    }

    fn render(&self, cd: &CallData<'_>, rng: &mut Rng, out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(i) => cd.field(*i, out),
                Piece::NewUuid => out.push_str(&rng.uuid()),
                Piece::RandomString(n) => {
                    let n = if *n == 0 {
                        2 + rng.below(15) as usize
                    } else {
                        *n
                    };
                    out.extend((0..n).map(|_| rng.alnum()));
                }
                Piece::RandomInt(lo, hi) => {
                    let lo = (*lo).max(0);
                    let hi = if *hi <= 0 { 1 } else { *hi };
                    let span = hi.saturating_sub(lo).max(1) as u64;
                    out.push_str(&(lo + rng.below(span) as i64).to_string());
                }
            }
        }
    }
}

/// One action between `{{` and `}}`.
fn action(a: &str) -> Result<Piece, String> {
    if let Some(name) = a.strip_prefix('.') {
        return FIELDS
            .iter()
            .position(|f| *f == name)
            .map(Piece::Field)
            .ok_or_else(|| {
                format!(
                    "unknown call data field .{name} (known: {})",
                    FIELDS.map(|f| format!(".{f}")).join(", ")
                )
            });
    }
    let words: Vec<&str> = a.split_whitespace().collect();
    let int = |w: &str| {
        w.parse::<i64>()
            .map_err(|_| format!("{w:?} is not a whole number in {{{{{a}}}}}"))
    };
    match words[..] {
        ["newUUID"] => Ok(Piece::NewUuid),
        ["randomString", n] => Ok(Piece::RandomString(usize::try_from(int(n)?).unwrap_or(0))),
        ["randomInt", lo, hi] => Ok(Piece::RandomInt(int(lo)?, int(hi)?)),
        _ => Err(format!(
            "unsupported action {{{{{a}}}}} (call data fields, newUUID, randomString N, randomInt MIN MAX)"
        )),
    }
}

/// What a call's templates are filled with.
#[derive(Debug, Clone)]
pub struct CallData<'a> {
    /// `c<connection>w<worker>`.
    pub worker_id: &'a str,
    /// The call's number in the run, from 0.
    pub request_number: u64,
    /// The method.
    pub method: &'a Method,
    /// When the call (or stream message) is made.
    pub now: SystemTime,
    /// The call's UUID.
    pub uuid: String,
}

impl CallData<'_> {
    fn field(&self, i: usize, out: &mut String) {
        let since = self
            .now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let text = match FIELDS[i] {
            "WorkerID" => self.worker_id.to_string(),
            "RequestNumber" => self.request_number.to_string(),
            "FullyQualifiedName" => self.method.full_name(),
            "MethodName" => self.method.name(),
            "ServiceName" => self.method.service_name(),
            "InputName" => self.method.input_short_name(),
            "OutputName" => self.method.output_short_name(),
            "IsClientStreaming" => self.method.is_client_streaming().to_string(),
            "IsServerStreaming" => self.method.is_server_streaming().to_string(),
            "Timestamp" => chrono::DateTime::<chrono::Utc>::from(self.now)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "TimestampUnix" => since.as_secs().to_string(),
            "TimestampUnixMilli" => since.as_millis().to_string(),
            "TimestampUnixNano" => since.as_nanos().to_string(),
            _ => self.uuid.clone(),
        };
        out.push_str(&text);
    }
}

/// Request data with actions in some of its text values: one JSON value per message.
#[derive(Debug, Clone)]
pub struct DataTemplate {
    /// Per message: the value, and the JSON pointers of its templated texts.
    messages: Vec<(Value, Vec<(String, Template)>)>,
}

impl DataTemplate {
    /// `None` when no text value of `data` (an object or a list of them) has an action.
    pub fn parse(data: &Value) -> Result<Option<DataTemplate>, String> {
        let items: Vec<Value> = match data {
            Value::Array(items) => items.clone(),
            Value::Null => vec![Value::Object(Default::default())],
            v => vec![v.clone()],
        };
        let mut any = false;
        let mut messages = Vec::with_capacity(items.len());
        for v in items {
            let mut found = Vec::new();
            collect(&v, String::new(), &mut found)?;
            any |= !found.is_empty();
            messages.push((v, found));
        }
        Ok(any.then_some(DataTemplate { messages }))
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether there are no messages (never: `parse` makes at least one).
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Message `i` (modulo the count) filled in for `cd`, encoded.
    pub fn render(&self, i: usize, cd: &CallData<'_>, rng: &mut Rng) -> Result<Bytes, SchemaError> {
        let (base, slots) = &self.messages[i % self.messages.len()];
        let mut v = base.clone();
        for (pointer, t) in slots {
            let mut s = String::new();
            t.render(cd, rng, &mut s);
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = Value::String(s);
            }
        }
        cd.method.encode_one(&v)
    }
}

/// The templated text values under `v` (at JSON pointer `at`).
fn collect(v: &Value, at: String, out: &mut Vec<(String, Template)>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(t) = Template::parse(s)? {
                out.push((at, t));
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                collect(x, format!("{at}/{i}"), out)?;
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let key = k.replace('~', "~0").replace('/', "~1");
                collect(x, format!("{at}/{key}"), out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A small fast generator (xorshift64*) for UUIDs and random values; not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the process's random hasher keys and `salt`.
    pub fn new(salt: u64) -> Rng {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        Rng(h.finish() | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn alnum(&mut self) -> char {
        const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        SET[self.below(SET.len() as u64) as usize] as char
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Actions parse into pieces; unknown fields and functions are refused with the known ones.
    #[test]
    fn parses_actions() {
        assert_eq!(Template::parse("plain").expect("ok"), None);
        let t = Template::parse("n-{{ .RequestNumber }}-{{randomInt 1 5}}")
            .expect("ok")
            .expect("template");
        assert_eq!(
            t.0,
            vec![
                Piece::Text("n-".into()),
                Piece::Field(1),
                Piece::Text("-".into()),
                Piece::RandomInt(1, 5)
            ]
        );
        let e = Template::parse("{{.Nope}}").expect_err("unknown");
        assert!(e.contains("unknown call data field .Nope"), "{e}");
        let e = Template::parse("{{upper .UUID}}").expect_err("unsupported");
        assert!(e.contains("unsupported action"), "{e}");
        assert!(Template::parse("{{.UUID").is_err());
    }

    /// UUIDs are version 4 and differ; random strings have the asked length.
    #[test]
    fn random_values() {
        let mut r = Rng::new(7);
        let a = r.uuid();
        let b = r.uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        let mut s = String::new();
        Template(vec![Piece::RandomString(10)]).render(
            &CallData {
                worker_id: "",
                request_number: 0,
                method: &dummy_method(),
                now: SystemTime::UNIX_EPOCH,
                uuid: String::new(),
            },
            &mut r,
            &mut s,
        );
        assert_eq!(s.len(), 10);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    fn dummy_method() -> Method {
        let pool = super::super::schema::compile_proto(
            "d.proto",
            "syntax = \"proto3\";\npackage d;\nmessage M { string s = 1; }\nservice S { rpc Do(M) returns (M); }\n",
            &[],
        )
        .expect("compiles");
        super::super::schema::find_method(&pool, "d.S.Do").expect("method")
    }

    /// Templated texts are filled per call; others are kept; the result is encoded.
    #[test]
    fn renders_data() {
        let m = dummy_method();
        let d = DataTemplate::parse(&serde_json::json!({"s": "{{.MethodName}}#{{.RequestNumber}} at {{.TimestampUnix}} by {{.WorkerID}}"}))
            .expect("ok")
            .expect("templated");
        let cd = CallData {
            worker_id: "c0w3",
            request_number: 41,
            method: &m,
            now: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000),
            uuid: "u".into(),
        };
        let bytes = d.render(0, &cd, &mut Rng::new(1)).expect("encodes");
        let text = "Do#41 at 1000 by c0w3";
        assert_eq!(bytes[0], 0x0a);
        assert_eq!(&bytes[2..], text.as_bytes());
        assert!(
            DataTemplate::parse(&serde_json::json!({"s": "x"}))
                .expect("ok")
                .is_none()
        );
    }
}
