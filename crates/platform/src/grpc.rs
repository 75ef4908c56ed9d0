//! Serving and calling gRPC between services.
//!
//! The caller's [`Principal`] travels in the `x-tongxin-principal` metadata entry (base64url
//! JSON) next to `traceparent`. gRPC ports are internal: the chart's NetworkPolicy admits only
//! the other Tongxin services, which are the only ones trusted to assert a principal.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::auth::Principal;
use crate::error::ApiError;

/// The metadata key carrying the principal.
pub const PRINCIPAL_KEY: &str = "x-tongxin-principal";

/// The principal in a request's metadata, if any; malformed metadata is UNAUTHENTICATED.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Option<Principal>, tonic::Status> {
    let Some(value) = request.metadata().get(PRINCIPAL_KEY) else {
        return Ok(None);
    };
    let decoded = value
        .to_str()
        .ok()
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|bytes| serde_json::from_slice::<Principal>(&bytes).ok());
    match decoded {
        Some(p) => Ok(Some(p)),
        None => Err(ApiError::new(
            crate::ErrorCode::Unauthenticated,
            "malformed principal metadata",
        )
        .into()),
    }
}

/// The principal, or UNAUTHENTICATED.
pub fn require_principal<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    principal(request)?.ok_or_else(|| ApiError::unauthenticated().into())
}

/// Wraps `message` for a call on behalf of `principal`, with the current trace context.
pub fn request_as<T>(message: T, principal: Option<&Principal>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(p) = principal
        && let Ok(json) = serde_json::to_vec(p)
        && let Ok(value) = URL_SAFE_NO_PAD.encode(json).parse()
    {
        request.metadata_mut().insert(PRINCIPAL_KEY, value);
    }
    if let Some(tp) = crate::telemetry::current_traceparent()
        && let Ok(value) = tp.parse()
    {
        request.metadata_mut().insert("traceparent", value);
    }
    request
}

/// Serves `routes` plus the standard health service (reporting `service_names` as serving)
/// and reflection over `descriptor`, until `shutdown`, draining for at most `drain`.
pub async fn serve(
    routes: Routes,
    listener: TcpListener,
    descriptor: &'static [u8],
    service_names: &[&str],
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
    let routes = routes.add_service(health).add_service(reflection);
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
