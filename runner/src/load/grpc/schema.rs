//! gRPC schemas without `protoc`: `.proto` sources compiled at run time (protox), binary
//! protosets, the method named by `call`, and request data (JSON) turned into encoded protobuf
//! messages (prost-reflect's dynamic messages, with protobuf's JSON mapping).

use std::path::PathBuf;

use bytes::Bytes;
use miette::Diagnostic;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};

/// Why a schema, a call or the request data is not usable; each message names what was wrong
/// with the offending text, and the task names the input field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// The `.proto` source does not compile (`file:line:col: problem`).
    #[error("{0}")]
    Proto(String),
    /// The protoset is not a serialized `FileDescriptorSet`.
    #[error("not a protoset (a serialized FileDescriptorSet): {0}")]
    Protoset(String),
    /// `call` is not of the form `package.Service.Method` (or `package.Service/Method`).
    #[error("{0:?} is not a call (package.Service.Method)")]
    CallSyntax(String),
    /// The service is not in the schema.
    #[error("service {service:?} not found; known services: {known}")]
    NoService {
        /// Fully qualified service name.
        service: String,
        /// The services the schema has, or `none`.
        known: String,
    },
    /// The service has no such method.
    #[error("service {service} has no method {method:?}; its methods: {known}")]
    NoMethod {
        /// Fully qualified service name.
        service: String,
        /// Method name.
        method: String,
        /// The methods the service has.
        known: String,
    },
    /// The data does not fit the request message type.
    #[error("{at}is not a valid {message}: {problem}")]
    Data {
        /// `[i] ` for an element of a list, else empty.
        at: String,
        /// Fully qualified message name.
        message: String,
        /// What serde/prost-reflect said.
        problem: String,
    },
}

/// The method a `call` names, with its request and streaming shape.
#[derive(Debug, Clone)]
pub struct Method {
    desc: MethodDescriptor,
}

/// The four kinds of gRPC call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    Bidi,
}

impl Method {
    /// The HTTP/2 path of the method (`/package.Service/Method`).
    pub fn path(&self) -> String {
        format!(
            "/{}/{}",
            self.desc.parent_service().full_name(),
            self.desc.name()
        )
    }

    /// The kind of call.
    pub fn kind(&self) -> CallKind {
        match (
            self.desc.is_client_streaming(),
            self.desc.is_server_streaming(),
        ) {
            (false, false) => CallKind::Unary,
            (false, true) => CallKind::ServerStreaming,
            (true, false) => CallKind::ClientStreaming,
            (true, true) => CallKind::Bidi,
        }
    }

    /// Fully qualified name of the request message.
    pub fn input_name(&self) -> String {
        self.desc.input().full_name().to_string()
    }

    /// `package.Service.Method`.
    pub fn full_name(&self) -> String {
        self.desc.full_name().to_string()
    }

    /// The method's own name.
    pub fn name(&self) -> String {
        self.desc.name().to_string()
    }

    /// The service's name without its package.
    pub fn service_name(&self) -> String {
        self.desc.parent_service().name().to_string()
    }

    /// The request message's name without its package.
    pub fn input_short_name(&self) -> String {
        self.desc.input().name().to_string()
    }

    /// The response message's name without its package.
    pub fn output_short_name(&self) -> String {
        self.desc.output().name().to_string()
    }

    /// Whether the client sends a stream.
    pub fn is_client_streaming(&self) -> bool {
        self.desc.is_client_streaming()
    }

    /// Whether the server answers with a stream.
    pub fn is_server_streaming(&self) -> bool {
        self.desc.is_server_streaming()
    }

    /// Encode one request message from JSON.
    pub fn encode_one(&self, v: &serde_json::Value) -> Result<Bytes, SchemaError> {
        let input = self.desc.input();
        DynamicMessage::deserialize(input.clone(), v)
            .map(|m| Bytes::from(m.encode_to_vec()))
            .map_err(|e| SchemaError::Data {
                at: String::new(),
                message: input.full_name().to_string(),
                problem: e.to_string(),
            })
    }

    /// Encode `data` (a JSON object, or a list of them; `null` is one empty message) as
    /// request messages, in protobuf's JSON mapping; unknown fields are refused.
    pub fn encode(&self, data: &serde_json::Value) -> Result<Vec<Bytes>, SchemaError> {
        let input = self.desc.input();
        let one = |v: &serde_json::Value, at: String| {
            DynamicMessage::deserialize(input.clone(), v)
                .map(|m| Bytes::from(m.encode_to_vec()))
                .map_err(|e| SchemaError::Data {
                    at,
                    message: input.full_name().to_string(),
                    problem: e.to_string(),
                })
        };
        match data {
            serde_json::Value::Null => Ok(vec![Bytes::new()]),
            serde_json::Value::Array(items) if items.is_empty() => Err(SchemaError::Data {
                at: String::new(),
                message: input.full_name().to_string(),
                problem: "the list is empty".to_string(),
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| one(v, format!("[{i}] ")))
                .collect(),
            v => Ok(vec![one(v, String::new())?]),
        }
    }
}

/// Compile the `.proto` source `text` (named `name`; its imports looked up in `import_paths`,
/// then among protobuf's well-known types).
pub fn compile_proto(
    name: &str,
    text: &str,
    import_paths: &[PathBuf],
) -> Result<DescriptorPool, SchemaError> {
    let main =
        protox::file::File::from_source(name, text).map_err(|e| proto_error(&e, name, text))?;
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(Main {
        name: name.to_string(),
        file: main,
    });
    for dir in import_paths {
        resolver.add(protox::file::IncludeFileResolver::new(dir.clone()));
    }
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler
        .open_file(name)
        .map_err(|e| proto_error(&e, name, text))?;
    Ok(compiler.descriptor_pool())
}

/// The main file, already read (from disk or a URL).
struct Main {
    name: String,
    file: protox::file::File,
}

impl protox::file::FileResolver for Main {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == self.name {
            Ok(self.file.clone())
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// `file:line:col: message` for an error in the main file, else the message.
fn proto_error(e: &protox::Error, name: &str, text: &str) -> SchemaError {
    let mut msg = e.to_string();
    if let Some(help) = e.help() {
        msg = format!("{msg} ({help})");
    }
    let offset = e.labels().and_then(|mut l| l.next()).map(|l| l.offset());
    match (e.file(), offset) {
        (Some(f), Some(off)) if f == name && off <= text.len() => {
            let before = &text[..off];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            SchemaError::Proto(format!("{name}:{line}:{col}: {msg}"))
        }
        (Some(f), _) => SchemaError::Proto(format!("{f}: {msg}")),
        _ => SchemaError::Proto(msg),
    }
}

/// Read a protoset (a serialized `FileDescriptorSet`, as `protoc -o` writes it).
pub fn decode_protoset(bytes: &[u8]) -> Result<DescriptorPool, SchemaError> {
    DescriptorPool::decode(bytes).map_err(|e| SchemaError::Protoset(e.to_string()))
}

/// Split `package.Service.Method` or `package.Service/Method` into service and method.
pub fn split_call(call: &str) -> Result<(&str, &str), SchemaError> {
    let bad = || SchemaError::CallSyntax(call.to_string());
    let call = call.trim().trim_start_matches('/');
    let (service, method) = call
        .rsplit_once('/')
        .or_else(|| call.rsplit_once('.'))
        .ok_or_else(bad)?;
    if service.is_empty() || method.is_empty() || method.contains('.') {
        return Err(bad());
    }
    Ok((service, method))
}

/// The method `call` names in `pool`.
pub fn find_method(pool: &DescriptorPool, call: &str) -> Result<Method, SchemaError> {
    let (service, method) = split_call(call)?;
    let svc = pool.get_service_by_name(service).ok_or_else(|| {
        let mut known: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
        known.sort();
        SchemaError::NoService {
            service: service.to_string(),
            known: list_or_none(&known),
        }
    })?;
    let desc = svc.methods().find(|m| m.name() == method).ok_or_else(|| {
        let known: Vec<String> = svc.methods().map(|m| m.name().to_string()).collect();
        SchemaError::NoMethod {
            service: svc.full_name().to_string(),
            method: method.to_string(),
            known: list_or_none(&known),
        }
    })?;
    Ok(Method { desc })
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str = r#"
syntax = "proto3";
package routeguide;
service RouteGuide {
  rpc GetFeature(Point) returns (Feature) {}
  rpc ListFeatures(Rectangle) returns (stream Feature) {}
  rpc RecordRoute(stream Point) returns (RouteSummary) {}
  rpc RouteChat(stream RouteNote) returns (stream RouteNote) {}
}
message Point { int32 latitude = 1; int32 longitude = 2; }
message Rectangle { Point lo = 1; Point hi = 2; }
message Feature { string name = 1; Point location = 2; }
message RouteNote { Point location = 1; string message = 2; }
message RouteSummary { int32 point_count = 1; int32 feature_count = 2; int32 distance = 3; int32 elapsed_time = 4; }
"#;

    fn pool() -> DescriptorPool {
        compile_proto("route_guide.proto", GUIDE, &[]).expect("compiles")
    }

    /// Methods are found by `package.Service.Method` or `.../Method`, with their call kind.
    #[test]
    fn finds_methods_and_kinds() {
        let p = pool();
        let m = find_method(&p, "routeguide.RouteGuide.GetFeature").expect("found");
        assert_eq!(m.path(), "/routeguide.RouteGuide/GetFeature");
        assert_eq!(m.kind(), CallKind::Unary);
        let kinds: Vec<CallKind> = ["ListFeatures", "RecordRoute", "RouteChat"]
            .iter()
            .map(|n| {
                find_method(&p, &format!("routeguide.RouteGuide/{n}"))
                    .expect("found")
                    .kind()
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                CallKind::ServerStreaming,
                CallKind::ClientStreaming,
                CallKind::Bidi
            ]
        );
    }

    /// An unknown service or method names what exists.
    #[test]
    fn unknown_service_or_method() {
        let p = pool();
        let e = find_method(&p, "routeguide.Guide.GetFeature").expect_err("no service");
        assert_eq!(
            e.to_string(),
            "service \"routeguide.Guide\" not found; known services: routeguide.RouteGuide"
        );
        let e = find_method(&p, "routeguide.RouteGuide.Get").expect_err("no method");
        assert_eq!(
            e.to_string(),
            "service routeguide.RouteGuide has no method \"Get\"; its methods: GetFeature, \
             ListFeatures, RecordRoute, RouteChat"
        );
        assert!(matches!(
            find_method(&p, "GetFeature"),
            Err(SchemaError::CallSyntax(_))
        ));
    }

    /// JSON data becomes protobuf bytes; a field the message lacks is refused with its name.
    #[test]
    fn encodes_data() {
        let m = find_method(&pool(), "routeguide.RouteGuide.GetFeature").expect("found");
        let msgs = m
            .encode(&serde_json::json!({"latitude": 407838351, "longitude": -746143763}))
            .expect("valid");
        assert_eq!(msgs.len(), 1);
        // field 1 varint 407838351, field 2 varint (negative int32: 10 bytes)
        assert_eq!(msgs[0][0], 0x08);
        assert_eq!(msgs[0].len(), 1 + 5 + 1 + 10);
        let list = m
            .encode(&serde_json::json!([{"latitude": 1}, {}]))
            .expect("valid list");
        assert_eq!(list.len(), 2);
        assert_eq!(&list[1][..], b"");
        let e = m
            .encode(&serde_json::json!([{"latitude": 1}, {"lat": 2}]))
            .expect_err("unknown field");
        let text = e.to_string();
        assert!(
            text.starts_with("[1] is not a valid routeguide.Point: ") && text.contains("lat"),
            "{text}"
        );
        let e = m
            .encode(&serde_json::json!({"latitude": "north"}))
            .expect_err("wrong type");
        assert!(e.to_string().contains("routeguide.Point"), "{e}");
    }

    /// A malformed proto names the file, line and column.
    #[test]
    fn malformed_proto_names_line() {
        let bad = "syntax = \"proto3\";\npackage p;\nmessage M { int32 a = 1 }\n";
        let e = compile_proto("bad.proto", bad, &[]).expect_err("malformed");
        let text = e.to_string();
        assert!(text.starts_with("bad.proto:3:"), "{text}");
        let e = compile_proto(
            "u.proto",
            "syntax = \"proto3\";\nmessage M { Missing a = 1; }\n",
            &[],
        )
        .expect_err("unknown type");
        assert!(e.to_string().contains("Missing"), "{e}");
    }

    /// Imports of protobuf's well-known types resolve without any include path.
    #[test]
    fn well_known_imports() {
        let src = "syntax = \"proto3\";\nimport \"google/protobuf/empty.proto\";\n\
                   service S { rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty); }\n";
        let p = compile_proto("s.proto", src, &[]).expect("compiles");
        let m = find_method(&p, "S.Ping").expect("found");
        assert_eq!(
            m.encode(&serde_json::json!({})).expect("empty"),
            vec![Bytes::new()]
        );
    }

    /// A protoset round-trips through its serialized form; garbage is refused.
    #[test]
    fn protosets() {
        let set = pool().encode_to_vec();
        let p = decode_protoset(&set).expect("decodes");
        assert!(find_method(&p, "routeguide.RouteGuide.RouteChat").is_ok());
        assert!(decode_protoset(b"\xff\xff").is_err());
    }
}
