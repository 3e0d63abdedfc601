//! The gRPC service `main.ABN` on tonic, routed by hand (no code generation step): `Lookup`,
//! `WriteMetric` and `GetApplicationData` with the messages of `runner::abn`. Errors carry
//! gRPC status `Unknown` and Iter8 v0.13's messages (what a Go gRPC server sends for a plain
//! error), except a failed persist, which is `Unavailable` (the client may retry).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use runner::abn::{
    Application, ApplicationData, ApplicationRequest, GET_APPLICATION_DATA_PATH, LOOKUP_PATH,
    MetricValue, Session, WRITE_METRIC_PATH,
};
use tonic::body::Body;
use tonic::codegen::{BoxFuture, StdError, http};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use super::store::{AbnError, Store};

fn status(e: AbnError) -> Status {
    match e {
        AbnError::Persist { .. } => Status::unavailable(e.to_string()),
        other => Status::unknown(other.to_string()),
    }
}

/// The service over a [`Store`].
#[derive(Clone)]
pub struct AbnService {
    store: Arc<Store>,
}

impl AbnService {
    /// Serve `store`.
    pub fn new(store: Arc<Store>) -> AbnService {
        AbnService { store }
    }
}

impl NamedService for AbnService {
    const NAME: &'static str = runner::abn::SERVICE;
}

struct Lookup(Arc<Store>);

impl UnaryService<Application> for Lookup {
    type Response = Session;
    type Future = BoxFuture<Response<Session>, Status>;
    fn call(&mut self, req: Request<Application>) -> Self::Future {
        let store = self.0.clone();
        Box::pin(async move {
            let m = req.into_inner();
            let app = store
                .get(&m.name)
                .ok_or_else(|| status(AbnError::NotFound(m.name.clone())));
            // v0.13 checks the user before the application.
            if m.user.is_empty() {
                return Err(status(AbnError::NoUser));
            }
            let track = app?.lookup(&m.user).map_err(status)?;
            Ok(Response::new(Session { track }))
        })
    }
}

struct WriteMetric(Arc<Store>);

impl UnaryService<MetricValue> for WriteMetric {
    type Response = ();
    type Future = BoxFuture<Response<()>, Status>;
    fn call(&mut self, req: Request<MetricValue>) -> Self::Future {
        let store = self.0.clone();
        Box::pin(async move {
            let m = req.into_inner();
            if m.user.is_empty() {
                return Err(status(AbnError::NoUser));
            }
            let app = store
                .get(&m.application)
                .ok_or_else(|| status(AbnError::NotFound(m.application.clone())))?;
            let seq = app
                .write_metric(&m.user, &m.name, &m.value)
                .map_err(status)?;
            app.persisted(seq).await.map_err(status)?;
            Ok(Response::new(()))
        })
    }
}

struct GetApplicationData(Arc<Store>);

impl UnaryService<ApplicationRequest> for GetApplicationData {
    type Response = ApplicationData;
    type Future = BoxFuture<Response<ApplicationData>, Status>;
    fn call(&mut self, req: Request<ApplicationRequest>) -> Self::Future {
        let store = self.0.clone();
        Box::pin(async move {
            let m = req.into_inner();
            let app = store
                .get(&m.application)
                .ok_or_else(|| status(AbnError::NotInMemory(m.application.clone())))?;
            let json =
                serde_json::to_string(&app.data()).map_err(|e| Status::internal(e.to_string()))?;
            Ok(Response::new(ApplicationData {
                application_json: json,
            }))
        })
    }
}

impl<B> tonic::codegen::Service<http::Request<B>> for AbnService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let store = self.store.clone();
        match req.uri().path() {
            LOOKUP_PATH => Box::pin(async move {
                let mut g = Grpc::new(ProstCodec::<Session, Application>::default());
                Ok(g.unary(Lookup(store), req).await)
            }),
            WRITE_METRIC_PATH => Box::pin(async move {
                let mut g = Grpc::new(ProstCodec::<(), MetricValue>::default());
                Ok(g.unary(WriteMetric(store), req).await)
            }),
            GET_APPLICATION_DATA_PATH => Box::pin(async move {
                let mut g = Grpc::new(ProstCodec::<ApplicationData, ApplicationRequest>::default());
                Ok(g.unary(GetApplicationData(store), req).await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("unknown method").into_http()) }),
        }
    }
}
