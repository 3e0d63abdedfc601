//! Sprig's encodings: base64/base32 with Go's decoder (errors become the result text) and
//! the JSON family (`toJson`, `toPrettyJson`, `toRawJson`, `mustFromJson`, ...).

use super::bridge::{from_json, to_json, to_pretty_json, to_raw_json};
use super::{FuncDef, FuncError, Param, arg_str, def, ok_str};
use crate::value::{Value, go_bytes, go_string};

pub(super) const FUNCS: &[FuncDef] = &[
    def("b64enc", &[Param::String], |_, a| {
        ok_str(b64_encode(&go_bytes(arg_str(&a[0]))))
    }),
    def("b64dec", &[Param::String], |_, a| {
        ok_str(match b64_decode(arg_str(&a[0]).as_bytes()) {
            Ok(bytes) => go_string(&bytes),
            Err(at) => format!("illegal base64 data at input byte {at}"),
        })
    }),
    def("b32enc", &[Param::String], |_, a| {
        ok_str(b32_encode(&go_bytes(arg_str(&a[0]))))
    }),
    def("b32dec", &[Param::String], |_, a| {
        ok_str(match b32_decode(arg_str(&a[0]).as_bytes()) {
            Ok(bytes) => go_string(&bytes),
            Err(at) => format!("illegal base32 data at input byte {at}"),
        })
    }),
    def("toJson", &[Param::Any], |_, a| {
        ok_str(to_json(&a[0]).unwrap_or_default())
    }),
    def("mustToJson", &[Param::Any], |_, a| {
        ok_str(to_json(&a[0]).map_err(FuncError::call)?)
    }),
    def("toPrettyJson", &[Param::Any], |_, a| {
        ok_str(to_pretty_json(&a[0]).unwrap_or_default())
    }),
    def("mustToPrettyJson", &[Param::Any], |_, a| {
        ok_str(to_pretty_json(&a[0]).map_err(FuncError::call)?)
    }),
    def("toRawJson", &[Param::Any], |_, a| {
        ok_str(to_raw_json(&a[0]).map_err(FuncError::call)?)
    }),
    def("mustToRawJson", &[Param::Any], |_, a| {
        ok_str(to_raw_json(&a[0]).map_err(FuncError::call)?)
    }),
    def("fromJson", &[Param::String], |_, a| {
        Ok(from_json(arg_str(&a[0])).unwrap_or(Value::Nil))
    }),
    def("mustFromJson", &[Param::String], |_, a| {
        from_json(arg_str(&a[0])).map_err(FuncError::call)
    }),
];

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `base64.StdEncoding.EncodeToString`.
pub(super) fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's padded decoders (`base64.StdEncoding`, `base32.StdEncoding`): `\r`/`\n` are skipped;
/// the error is the input offset Go reports in `illegal base64 data at input byte N`.
fn decode_padded(src: &[u8], alphabet: &[u8], group: usize, bits: u32) -> Result<Vec<u8>, usize> {
    let lookup = |c: u8| alphabet.iter().position(|a| *a == c).map(|p| p as u64);
    let is_nl = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::new();
    let mut si = 0;
    loop {
        let mut acc: u64 = 0;
        let mut j = 0;
        let mut done = false;
        while j < group {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = lookup(c) {
                acc = (acc << bits) | v;
                j += 1;
                continue;
            }
            if is_nl(c) {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding: it must fill the rest of the group, then only newlines may follow.
            let needed = group - j;
            let bad_pad = if group == 4 {
                j < 2
            } else {
                ![2, 4, 5, 7].contains(&j)
            };
            if bad_pad {
                return Err(si - 1);
            }
            for _ in 1..needed {
                while si < src.len() && is_nl(src[si]) {
                    si += 1;
                }
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            while si < src.len() && is_nl(src[si]) {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            done = true;
            break;
        }
        let data_syms = j;
        acc <<= bits as usize * (group - data_syms);
        let total_bits = bits as usize * group;
        let nbytes = bits as usize * data_syms / 8;
        for k in 0..nbytes {
            out.push(((acc >> (total_bits - 8 * (k + 1))) & 0xff) as u8);
        }
        if done {
            return Ok(out);
        }
    }
}

/// `base64.StdEncoding.DecodeString`.
pub(super) fn b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    decode_padded(src, B64, 4, 6)
}

/// `base32.StdEncoding.EncodeToString`.
fn b32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let syms = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < syms {
                out.push(char::from(B32[((n >> (35 - 5 * i)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`.
fn b32_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    decode_padded(src, B32, 8, 5)
}
