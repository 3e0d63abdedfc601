//! A route guide server on tonic for bench/grpc.py (not a test): GetFeature answers one Feature,
//! ListFeatures `-list` Features, after `-delay`; with `-stall`, every call the server handles
//! from `-stall-after` past its first call until the stall ends waits for that end. Requests
//! are not decoded (a pass-through codec), as in bench/grpc-server: the benchmark measures
//! clients. Listens on 127.0.0.1 port 0 and prints `PORT <n>`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// Message bytes handed through unchanged.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The server's settings and the time of its first call.
struct Config {
    delay: Duration,
    list: usize,
    stall_after: Duration,
    stall: Duration,
    first: OnceLock<Instant>,
    feature: Bytes,
}

impl Config {
    /// Hold a call for the stall window it falls in, then for the delay.
    async fn hold(&self) {
        let now = Instant::now();
        let first = *self.first.get_or_init(|| now);
        if !self.stall.is_zero() {
            let from = first + self.stall_after;
            let until = from + self.stall;
            if now >= from && now < until {
                tokio::time::sleep_until(until.into()).await;
            }
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

/// routeguide.Feature{name: "Mendham, NJ", location: {407838351, -746143763}}, encoded.
fn feature() -> Bytes {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut point = vec![0x08];
    varint(&mut point, 407_838_351);
    point.push(0x10);
    varint(&mut point, (-746_143_763i64) as u64);
    let name = b"Mendham, NJ";
    let mut out = vec![0x0a, name.len() as u8];
    out.extend_from_slice(name);
    out.extend_from_slice(&[0x12, point.len() as u8]);
    out.extend_from_slice(&point);
    Bytes::from(out)
}

type Answer<T> = Pin<Box<dyn Future<Output = Result<Response<T>, Status>> + Send>>;

struct GetFeature(Arc<Config>);

impl UnaryService<Bytes> for GetFeature {
    type Response = Bytes;
    type Future = Answer<Bytes>;
    fn call(&mut self, _: Request<Bytes>) -> Self::Future {
        let cfg = self.0.clone();
        Box::pin(async move {
            cfg.hold().await;
            Ok(Response::new(cfg.feature.clone()))
        })
    }
}

type Features = tokio_stream::Iter<std::vec::IntoIter<Result<Bytes, Status>>>;

struct ListFeatures(Arc<Config>);

impl ServerStreamingService<Bytes> for ListFeatures {
    type Response = Bytes;
    type ResponseStream = Features;
    type Future = Answer<Features>;
    fn call(&mut self, _: Request<Bytes>) -> Self::Future {
        let cfg = self.0.clone();
        Box::pin(async move {
            cfg.hold().await;
            let all = vec![Ok(cfg.feature.clone()); cfg.list];
            Ok(Response::new(tokio_stream::iter(all)))
        })
    }
}

#[derive(Clone)]
struct RouteGuide(Arc<Config>);

impl NamedService for RouteGuide {
    const NAME: &'static str = "routeguide.RouteGuide";
}

impl tower_service::Service<http::Request<Body>> for RouteGuide {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let cfg = self.0.clone();
        Box::pin(async move {
            let mut grpc = Grpc::new(Raw);
            Ok(match req.uri().path() {
                "/routeguide.RouteGuide/GetFeature" => grpc.unary(GetFeature(cfg), req).await,
                "/routeguide.RouteGuide/ListFeatures" => {
                    grpc.server_streaming(ListFeatures(cfg), req).await
                }
                other => Status::unimplemented(format!("unknown method {other}")).into_http(),
            })
        })
    }
}

/// `50ms`, `1s`, `1.5s`, `0`.
fn duration(flag: &str, v: &str) -> Duration {
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        (v, 1.0)
    };
    match num.parse::<f64>() {
        Ok(x) if x >= 0.0 => Duration::from_secs_f64(x * scale),
        _ => {
            eprintln!("routeguide-tonic: -{flag}: {v:?} is not a duration (e.g. 50ms, 1s)");
            std::process::exit(2);
        }
    }
}

#[tokio::main]
async fn main() {
    let mut cfg = Config {
        delay: Duration::ZERO,
        list: 3,
        stall_after: Duration::ZERO,
        stall: Duration::ZERO,
        first: OnceLock::new(),
        feature: feature(),
    };
    for arg in std::env::args().skip(1) {
        let (flag, value) = arg
            .trim_start_matches('-')
            .split_once('=')
            .unwrap_or((arg.as_str(), ""));
        match flag {
            "delay" => cfg.delay = duration(flag, value),
            "stall-after" => cfg.stall_after = duration(flag, value),
            "stall" => cfg.stall = duration(flag, value),
            "list" => {
                cfg.list = value.parse().unwrap_or_else(|_| {
                    eprintln!("routeguide-tonic: -list: {value:?} is not a count");
                    std::process::exit(2)
                })
            }
            _ => {
                eprintln!(
                    "routeguide-tonic: unknown flag {arg:?} (-delay=, -list=, -stall-after=, -stall=)"
                );
                std::process::exit(2);
            }
        }
    }
    let incoming = TcpIncoming::bind(([127, 0, 0, 1], 0).into())
        .unwrap_or_else(|e| {
            eprintln!("routeguide-tonic: cannot listen on 127.0.0.1: {e}");
            std::process::exit(1)
        })
        .with_nodelay(Some(true));
    let port = incoming.local_addr().map(|a| a.port()).unwrap_or_default();
    println!("PORT {port}");
    let served = tonic::transport::Server::builder()
        .add_service(RouteGuide(Arc::new(cfg)))
        .serve_with_incoming(incoming)
        .await;
    if let Err(e) = served {
        eprintln!("routeguide-tonic: {e}");
        std::process::exit(1);
    }
}
