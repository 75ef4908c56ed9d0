//! Serving and calling gRPC between services.
//!
//! Every call carries `authorization: Bearer <JWT>`, and the server verifies it in one
//! place ([`authenticate`], a layer over the service's own routes; health and reflection,
//! which probes call, stay open): a user's token forwarded by the service acting for them,
//! or a service token for work a service does on its own behalf (docs/security.md). The
//! verified [`Principal`] goes into the request's extensions, where [`principal`] and
//! [`require_principal`] find it; a missing or invalid credential is UNAUTHENTICATED with
//! the reason. No identity is taken from anything the caller merely asserts.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::auth::{Credential, Principal, Verifier, bearer};
use crate::error::{ApiError, ErrorCode};

/// The verified principal of a request that passed [`authenticate`]; `None` only for a
/// service served without the layer.
pub fn principal<T>(request: &tonic::Request<T>) -> Option<&Principal> {
    request.extensions().get::<Principal>()
}

/// The principal, or UNAUTHENTICATED.
pub fn require_principal<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    principal(request)
        .cloned()
        .ok_or_else(|| ApiError::unauthenticated().into())
}

/// Wraps `message` for a call presenting `credential` (the user's own token, or the
/// service's), with the current trace context. `None` sends no credential: the receiver
/// answers UNAUTHENTICATED.
pub fn request_as<T>(message: T, credential: Option<&Credential>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(credential) = credential
        && let Ok(value) = format!("Bearer {}", credential.token()).parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    if let Some(tp) = crate::telemetry::current_traceparent()
        && let Ok(value) = tp.parse()
    {
        request.metadata_mut().insert("traceparent", value);
    }
    request
}

/// The layer every service's gRPC routes sit behind: verifies the bearer token (user or
/// service, [`Verifier::verify_caller`]) and puts the principal into the request.
pub async fn authenticate(
    State(verifier): State<Arc<Verifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    let Some(token) = token else {
        return refuse("no credential: send `authorization: Bearer <token>`".to_owned());
    };
    match verifier.verify_caller(token) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => {
            tracing::info!(error = %e, "refused gRPC credential");
            refuse(e.to_string())
        }
    }
}

fn refuse(reason: String) -> Response {
    let status: tonic::Status = ApiError::new(ErrorCode::Unauthenticated, reason).into();
    status.into_http::<axum::body::Body>().into_response()
}

/// Serves `routes` behind [`authenticate`] (with `verifier`), plus the standard health
/// service (reporting `service_names` as serving) and reflection over `descriptor`, until
/// `shutdown`, draining for at most `drain`.
pub async fn serve(
    routes: Routes,
    listener: TcpListener,
    descriptor: &'static [u8],
    service_names: &[&str],
    verifier: Arc<Verifier>,
    shutdown: CancellationToken,
    drain: Duration,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(descriptor)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // The layer wraps the service's routes only: health and reflection, added after, answer
    // probes and tools without a token.
    let routes = Routes::from(
        routes
            .into_axum_router()
            .layer(axum::middleware::from_fn_with_state(verifier, authenticate)),
    )
    .add_service(health)
    .add_service(reflection);
    let stop = shutdown.clone();
    let server = tonic::transport::Server::builder()
        .layer(crate::metrics::trace_layer("grpc"))
        .add_routes(routes)
        // No Nagle: a response leaves as several small writes (headers, data, trailers),
        // and waiting for the peer's delayed ACK between them costs ~40 ms per call.
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            async move { stop.cancelled().await },
        );
    crate::shutdown::drain_bounded(
        async { server.await.map_err(anyhow::Error::from) },
        shutdown,
        drain,
    )
    .await
}
