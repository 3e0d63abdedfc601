//! gRPC server reflection: the schema of a service asked of the server itself
//! (`grpc.reflection.v1.ServerReflection`, else `v1alpha` when the server has only that), with
//! every file it depends on, as the same descriptor pool a `.proto` gives.
//!
//! Each question is one call on the reflection method (one request message, then the end of
//! the client stream): the file that defines the service, then each dependency not yet seen.
//! Protobuf's well-known types the server does not send are taken from prost-reflect's own.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Either, Full};
use hyper::client::conn::http2;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Uri, Version as HttpVersion};
use prost_reflect::DescriptorPool;

use super::{ReqBody, TlsSpec, dial, split_host, tls_dial, wire};

/// Why the schema could not be had by reflection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReflectError {
    /// No connection (the reason says which step failed).
    #[error("{0}")]
    Connect(String),
    /// Neither reflection service exists on the server.
    #[error("the server has no reflection service (grpc.reflection.v1 and v1alpha: Unimplemented)")]
    Unsupported,
    /// A reflection call ended with another status.
    #[error("reflection call failed: {code}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status {
        /// Status name.
        code: String,
        /// `grpc-message`.
        message: String,
    },
    /// The server answered with an error for `what`.
    #[error("the server's reflection does not know {what}: {message}")]
    NotFound {
        /// `service <name>` or `file <name>`.
        what: String,
        /// The server's error message.
        message: String,
    },
    /// An answer that is not a reflection response.
    #[error("malformed reflection answer: {0}")]
    Malformed(String),
    /// The files do not build a schema.
    #[error("the server's descriptors do not build a schema: {0}")]
    Descriptors(String),
    /// The whole exchange took longer than allowed.
    #[error("no complete reflection answer within {0:?}")]
    Timeout(Duration),
}

/// Which reflection service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `grpc.reflection.v1`.
    V1,
    /// `grpc.reflection.v1alpha` (the server answered Unimplemented on v1).
    V1Alpha,
}

impl Version {
    fn path(self) -> &'static str {
        match self {
            Version::V1 => "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            Version::V1Alpha => "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        }
    }
}

/// Where to ask.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// `host:port`.
    pub host: &'a str,
    /// TLS, or plaintext when `None`.
    pub tls: Option<&'a TlsSpec>,
    /// `:authority` (else `host`).
    pub authority: Option<&'a str>,
    /// Limit of the whole exchange, connecting included.
    pub timeout: Duration,
}

/// The schema of `service` (fully qualified) by server reflection, and which version answered.
/// Blocks; starts its own runtime, so it may be called from any thread outside one.
pub fn fetch_schema(
    target: &Target<'_>,
    service: &str,
) -> Result<(DescriptorPool, Version), ReflectError> {
    let (name, port) = split_host(target.host).map_err(|e| ReflectError::Connect(e.to_string()))?;
    let tls = target
        .tls
        .map(|t| tls_dial(t, &name))
        .transpose()
        .map_err(|e| ReflectError::Connect(e.to_string()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let authority = target.authority.unwrap_or(target.host);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReflectError::Connect(format!("cannot start a runtime: {e}")))?;
    rt.block_on(async {
        let session = async {
            let sender = dial(&name, port, tls.as_ref(), None)
                .await
                .map_err(ReflectError::Connect)?;
            let mut s = Session {
                sender,
                scheme,
                authority,
            };
            s.schema(service).await
        };
        tokio::time::timeout(target.timeout, session)
            .await
            .unwrap_or(Err(ReflectError::Timeout(target.timeout)))
    })
}

/// A reflection question.
enum Ask<'a> {
    Symbol(&'a str),
    File(&'a str),
}

impl Ask<'_> {
    /// `ServerReflectionRequest` with `file_containing_symbol` (4) or `file_by_filename` (3).
    fn encode(&self) -> Bytes {
        let (field, text) = match self {
            Ask::Symbol(s) => (4u64, *s),
            Ask::File(f) => (3u64, *f),
        };
        let mut b = BytesMut::new();
        put_varint(&mut b, field << 3 | 2);
        put_varint(&mut b, text.len() as u64);
        b.put_slice(text.as_bytes());
        b.freeze()
    }

    fn what(&self) -> String {
        match self {
            Ask::Symbol(s) => format!("service {s}"),
            Ask::File(f) => format!("file {f}"),
        }
    }
}

struct Session<'a> {
    sender: http2::SendRequest<ReqBody>,
    scheme: &'a str,
    authority: &'a str,
}

impl Session<'_> {
    async fn schema(&mut self, service: &str) -> Result<(DescriptorPool, Version), ReflectError> {
        let mut version = Version::V1;
        let first = match self.ask(version, &Ask::Symbol(service)).await {
            Err(ReflectError::Status { code, .. }) if code == "Unimplemented" => {
                version = Version::V1Alpha;
                match self.ask(version, &Ask::Symbol(service)).await {
                    Err(ReflectError::Status { code, .. }) if code == "Unimplemented" => {
                        return Err(ReflectError::Unsupported);
                    }
                    other => other?,
                }
            }
            other => other?,
        };
        // File name → serialized FileDescriptorProto, and the names still to fetch.
        let mut files: BTreeMap<String, Bytes> = BTreeMap::new();
        let mut wanted: Vec<String> = Vec::new();
        let add = |files: &mut BTreeMap<String, Bytes>, raw: Vec<Bytes>| {
            let mut deps = Vec::new();
            for f in raw {
                let (name, d) = file_name_and_deps(&f)?;
                deps.extend(d);
                files.insert(name, f);
            }
            Ok::<_, ReflectError>(deps)
        };
        wanted.extend(add(&mut files, first)?);
        while let Some(dep) = wanted.pop() {
            if files.contains_key(&dep) {
                continue;
            }
            match self.ask(version, &Ask::File(&dep)).await {
                Ok(raw) => wanted.extend(add(&mut files, raw)?),
                Err(ReflectError::NotFound { .. }) if well_known(&dep).is_some() => {
                    let raw = well_known(&dep).into_iter().collect();
                    wanted.extend(add(&mut files, raw)?);
                }
                Err(e) => return Err(e),
            }
        }
        // A FileDescriptorSet (field 1, repeated); prost-reflect takes the files in any order.
        let mut set = BytesMut::new();
        for f in files.values() {
            put_varint(&mut set, 1 << 3 | 2);
            put_varint(&mut set, f.len() as u64);
            set.put_slice(f);
        }
        let pool = DescriptorPool::decode(set.freeze())
            .map_err(|e| ReflectError::Descriptors(e.to_string()))?;
        Ok((pool, version))
    }

    /// One question on `version`'s service: the serialized files of the answer.
    async fn ask(&mut self, version: Version, ask: &Ask<'_>) -> Result<Vec<Bytes>, ReflectError> {
        let uri: Uri = format!("{}://{}{}", self.scheme, self.authority, version.path())
            .parse()
            .map_err(|_| {
                ReflectError::Connect(format!("invalid authority {:?}", self.authority))
            })?;
        let mut req: Request<ReqBody> =
            Request::new(Either::Left(Full::new(wire::frame(&[ask.encode()]))));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri;
        *req.version_mut() = HttpVersion::HTTP_2;
        let h = req.headers_mut();
        h.insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        h.insert(hyper::header::TE, HeaderValue::from_static("trailers"));
        self.sender
            .ready()
            .await
            .map_err(|e| ReflectError::Connect(format!("connection lost: {e}")))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| ReflectError::Connect(format!("reflection call failed: {e}")))?;
        let (parts, body) = resp.into_parts();
        if parts.status != http::StatusCode::OK {
            return Err(status_error(
                wire::status_of_http(parts.status.as_u16()),
                &parts.headers,
            ));
        }
        if let Some(code) = wire::status_of(&parts.headers).filter(|c| *c != wire::OK) {
            return Err(status_error(code, &parts.headers));
        }
        let collected = body
            .collect()
            .await
            .map_err(|e| ReflectError::Connect(format!("reflection answer cut: {e}")))?;
        if let Some(t) = collected.trailers()
            && let Some(code) = wire::status_of(t).filter(|c| *c != wire::OK)
        {
            return Err(status_error(code, t));
        }
        let mut body = collected.to_bytes();
        if body.len() < 5 {
            return Err(ReflectError::Malformed("no response message".into()));
        }
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        body.advance(5);
        if body.len() < len {
            return Err(ReflectError::Malformed("response message cut short".into()));
        }
        answer(body.split_to(len), ask)
    }
}

fn status_error(code: i32, headers: &http::HeaderMap) -> ReflectError {
    ReflectError::Status {
        code: wire::code_name(code),
        message: headers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    }
}

/// The files of a `ServerReflectionResponse`: `file_descriptor_response` (4) holds them
/// (`file_descriptor_proto`, 1, repeated); `error_response` (7) has a code (1) and message (2).
fn answer(msg: Bytes, ask: &Ask<'_>) -> Result<Vec<Bytes>, ReflectError> {
    let mut files = Vec::new();
    for field in fields(msg)? {
        match field {
            (4, Field::Len(inner)) => {
                for f in fields(inner)? {
                    if let (1, Field::Len(file)) = f {
                        files.push(file);
                    }
                }
            }
            (7, Field::Len(inner)) => {
                let mut message = String::new();
                for f in fields(inner)? {
                    if let (2, Field::Len(m)) = f {
                        message = String::from_utf8_lossy(&m).into_owned();
                    }
                }
                return Err(ReflectError::NotFound {
                    what: ask.what(),
                    message,
                });
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(ReflectError::Malformed(format!(
            "no file in the answer for {}",
            ask.what()
        )));
    }
    Ok(files)
}

/// `name` (1) and `dependency` (3, repeated) of a serialized FileDescriptorProto.
fn file_name_and_deps(file: &Bytes) -> Result<(String, Vec<String>), ReflectError> {
    let mut name = None;
    let mut deps = Vec::new();
    for f in fields(file.clone())? {
        match f {
            (1, Field::Len(n)) => name = Some(String::from_utf8_lossy(&n).into_owned()),
            (3, Field::Len(d)) => deps.push(String::from_utf8_lossy(&d).into_owned()),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| ReflectError::Malformed("a file without a name".into()))?;
    Ok((name, deps))
}

/// A well-known type's file (`google/protobuf/...`), serialized.
fn well_known(name: &str) -> Option<Bytes> {
    if !name.starts_with("google/protobuf/") {
        return None;
    }
    DescriptorPool::global()
        .get_file_by_name(name)
        .map(|f| Bytes::from(f.encode_to_vec()))
}

/// A protobuf field's value, as far as reflection answers need.
enum Field {
    Varint,
    Len(Bytes),
    Fixed,
}

/// The fields of a protobuf message, in order.
fn fields(mut b: Bytes) -> Result<Vec<(u64, Field)>, ReflectError> {
    let bad = || ReflectError::Malformed("not a protobuf message".into());
    let mut out = Vec::new();
    while b.has_remaining() {
        let key = get_varint(&mut b).ok_or_else(bad)?;
        let value = match key & 7 {
            0 => {
                get_varint(&mut b).ok_or_else(bad)?;
                Field::Varint
            }
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                if b.remaining() < n {
                    return Err(bad());
                }
                b.advance(n);
                Field::Fixed
            }
            2 => {
                let n = usize::try_from(get_varint(&mut b).ok_or_else(bad)?).map_err(|_| bad())?;
                if b.remaining() < n {
                    return Err(bad());
                }
                Field::Len(b.split_to(n))
            }
            _ => return Err(bad()),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

fn get_varint(b: &mut Bytes) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        if !b.has_remaining() {
            return None;
        }
        let byte = b.get_u8();
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn put_varint(b: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        b.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests encode as protobuf; answers decode into their files or the server's error.
    #[test]
    fn request_and_answer_encoding() {
        let q = Ask::Symbol("routeguide.RouteGuide").encode();
        assert_eq!(q[0], 0x22);
        assert_eq!(q[1] as usize, "routeguide.RouteGuide".len());
        assert_eq!(Ask::File("a.proto").encode()[0], 0x1a);
        // file_descriptor_response { file_descriptor_proto: [{name: "a.proto", dependency: "b.proto"}] }
        let mut file = BytesMut::new();
        file.put_slice(b"\x0a\x07a.proto\x1a\x07b.proto");
        let file = file.freeze();
        let mut inner = BytesMut::new();
        put_varint(&mut inner, 1 << 3 | 2);
        put_varint(&mut inner, file.len() as u64);
        inner.put_slice(&file);
        let mut msg = BytesMut::new();
        put_varint(&mut msg, 4 << 3 | 2);
        put_varint(&mut msg, inner.len() as u64);
        msg.put_slice(&inner);
        let files = answer(msg.freeze(), &Ask::Symbol("x")).expect("files");
        assert_eq!(files, vec![file.clone()]);
        assert_eq!(
            file_name_and_deps(&file).expect("parses"),
            ("a.proto".to_string(), vec!["b.proto".to_string()])
        );
        // error_response { error_code: 5, error_message: "nope" }
        let err = Bytes::from_static(b"\x3a\x08\x08\x05\x12\x04nope");
        assert_eq!(
            answer(err, &Ask::File("c.proto")),
            Err(ReflectError::NotFound {
                what: "file c.proto".into(),
                message: "nope".into()
            })
        );
        assert!(matches!(
            answer(Bytes::from_static(b"\x22"), &Ask::Symbol("x")),
            Err(ReflectError::Malformed(_))
        ));
    }

    /// Well-known types come from prost-reflect's pool; other names do not.
    #[test]
    fn well_known_files() {
        assert!(well_known("google/protobuf/empty.proto").is_some());
        assert!(well_known("route_guide.proto").is_none());
    }
}
