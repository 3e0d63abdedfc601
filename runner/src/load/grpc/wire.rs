//! The gRPC-over-HTTP/2 wire details a client needs: message framing (the 5-byte prefix),
//! status codes and their names, the status of a response (trailers, trailers-only responses,
//! HTTP errors) and the `grpc-timeout` header.

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;

/// gRPC status codes by number (index = code).
pub const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// `OK`.
pub const OK: i32 = 0;
/// `Unknown`.
pub const UNKNOWN: i32 = 2;
/// `InvalidArgument`: also a message that could not be made (filled-in data that does not fit).
pub const INVALID_ARGUMENT: i32 = 3;
/// `DeadlineExceeded`: the call did not finish within its timeout.
pub const DEADLINE_EXCEEDED: i32 = 4;
/// `Internal`: the response broke the protocol.
pub const INTERNAL: i32 = 13;
/// `Unavailable`: no connection, or the connection failed during the call.
pub const UNAVAILABLE: i32 = 14;

/// Name of status `code` (as grpc-go spells it), or the number for codes outside the table.
pub fn code_name(code: i32) -> String {
    usize::try_from(code)
        .ok()
        .and_then(|i| CODE_NAMES.get(i))
        .map_or_else(|| code.to_string(), |n| (*n).to_string())
}

/// The status code named `name` (as [`code_name`] writes it, any case, or a number).
pub fn code_by_name(name: &str) -> Option<i32> {
    let name = name.trim();
    if let Ok(n) = name.parse::<i32>() {
        return (0..=16).contains(&n).then_some(n);
    }
    let flat = name.replace('_', "");
    CODE_NAMES
        .iter()
        .position(|n| {
            n.eq_ignore_ascii_case(&flat)
                || (*n == "Canceled" && flat.eq_ignore_ascii_case("cancelled"))
        })
        .map(|i| i as i32)
}

/// Whether `code` counts as an error under `mask` (bit `c` for code `c`; codes outside 0–31,
/// and transport failures, always do).
pub fn is_error(mask: u32, code: i32) -> bool {
    match u32::try_from(code) {
        Ok(c) if c < 32 => mask & (1 << c) != 0,
        _ => true,
    }
}

/// Frame each message with gRPC's prefix (no compression, 4-byte big-endian length).
pub fn frame(messages: &[Bytes]) -> Bytes {
    let len: usize = messages.iter().map(|m| m.len() + 5).sum();
    let mut out = BytesMut::with_capacity(len);
    for m in messages {
        out.put_u8(0);
        out.put_u32(u32::try_from(m.len()).unwrap_or(u32::MAX));
        out.put_slice(m);
    }
    out.freeze()
}

/// Counts the messages of a response body as its bytes arrive, in chunks of any size.
#[derive(Debug, Default, Clone)]
pub struct Deframer {
    /// Bytes of the current prefix seen so far.
    prefix: [u8; 5],
    have: usize,
    /// Bytes of the current message still to come (after a complete prefix).
    left: u64,
    in_message: bool,
}

impl Deframer {
    /// Feed the next chunk; returns how many messages it completed.
    pub fn feed(&mut self, mut chunk: &[u8]) -> usize {
        let mut done = 0;
        while !chunk.is_empty() || (self.in_message && self.left == 0) {
            if self.in_message {
                let take = (self.left as usize).min(chunk.len());
                self.left -= take as u64;
                chunk = &chunk[take..];
                if self.left == 0 {
                    self.in_message = false;
                    done += 1;
                }
                continue;
            }
            let take = (5 - self.have).min(chunk.len());
            self.prefix[self.have..self.have + take].copy_from_slice(&chunk[..take]);
            self.have += take;
            chunk = &chunk[take..];
            if self.have == 5 {
                self.have = 0;
                self.left = u64::from(u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]));
                self.in_message = true;
            }
        }
        done
    }

    /// Whether the body ended between messages.
    pub fn at_boundary(&self) -> bool {
        !self.in_message && self.have == 0
    }
}

/// The status in `grpc-status` of these headers or trailers, if present (unparsable: Unknown).
pub fn status_of(headers: &HeaderMap) -> Option<i32> {
    let v = headers.get("grpc-status")?;
    Some(
        v.to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .unwrap_or(UNKNOWN),
    )
}

/// The gRPC status of a response whose HTTP status is not 200 (the gRPC spec's mapping).
pub fn status_of_http(status: u16) -> i32 {
    match status {
        400 => INTERNAL,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => UNAVAILABLE,
        _ => UNKNOWN,
    }
}

/// `grpc-timeout` value for `d` (at most 8 digits, in the finest unit that fits).
pub fn timeout_header(d: std::time::Duration) -> String {
    const MAX: u128 = 99_999_999;
    let ns = d.as_nanos();
    for (unit, per) in [
        ("n", 1u128),
        ("u", 1_000),
        ("m", 1_000_000),
        ("S", 1_000_000_000),
        ("M", 60_000_000_000),
        ("H", 3_600_000_000_000),
    ] {
        let v = ns.div_ceil(per);
        if v <= MAX {
            return format!("{v}{unit}");
        }
    }
    format!("{MAX}H")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Names round-trip; unknown numbers print as numbers.
    #[test]
    fn code_names() {
        assert_eq!(code_name(0), "OK");
        assert_eq!(code_name(14), "Unavailable");
        assert_eq!(code_name(99), "99");
        assert_eq!(code_by_name("unavailable"), Some(14));
        assert_eq!(code_by_name("DEADLINE_EXCEEDED"), Some(4));
        assert_eq!(code_by_name("Cancelled"), Some(1));
        assert_eq!(code_by_name("13"), Some(13));
        assert_eq!(code_by_name("17"), None);
        assert_eq!(code_by_name("Fine"), None);
    }

    /// Framed messages are counted however the bytes are split, empty messages included.
    #[test]
    fn frame_and_count() {
        let body = frame(&[
            Bytes::from_static(b"abc"),
            Bytes::new(),
            Bytes::from(vec![7u8; 300]),
        ]);
        assert_eq!(body.len(), 3 * 5 + 303);
        for step in [1, 2, 5, 7, 64, body.len()] {
            let mut d = Deframer::default();
            let n: usize = body.chunks(step).map(|c| d.feed(c)).sum();
            assert_eq!(n, 3, "chunks of {step}");
            assert!(d.at_boundary());
        }
        let mut d = Deframer::default();
        assert_eq!(d.feed(&body[..7]), 0);
        assert!(!d.at_boundary());
    }

    /// Status from trailers and from HTTP errors.
    #[test]
    fn statuses() {
        let mut h = HeaderMap::new();
        assert_eq!(status_of(&h), None);
        h.insert("grpc-status", "5".parse().expect("valid"));
        assert_eq!(status_of(&h), Some(5));
        h.insert("grpc-status", "x".parse().expect("valid"));
        assert_eq!(status_of(&h), Some(UNKNOWN));
        assert_eq!(status_of_http(503), UNAVAILABLE);
        assert_eq!(status_of_http(404), 12);
        assert_eq!(status_of_http(500), UNKNOWN);
    }

    /// Timeouts in the finest unit that fits 8 digits.
    #[test]
    fn timeouts() {
        assert_eq!(timeout_header(Duration::from_millis(20)), "20000000n");
        assert_eq!(timeout_header(Duration::from_secs(20)), "20000000u");
        assert_eq!(timeout_header(Duration::from_secs(3600)), "3600000m");
        assert_eq!(timeout_header(Duration::from_secs(400_000)), "400000S");
    }
}
