//! `/healthz`, `/readyz` and `/metrics`, and serving a service's HTTP router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::events::SharedBus;

/// What `/readyz` checks: the service's database and the event bus.
#[derive(Clone)]
pub struct Readiness {
    /// The service's database.
    pub db: DatabaseConnection,
    /// The bus.
    pub bus: SharedBus,
}

/// The health and metrics routes.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(|| async { crate::metrics::render() }))
        .with_state(Arc::new(readiness))
}

async fn ready(State(r): State<Arc<Readiness>>) -> (StatusCode, String) {
    let db = crate::db::ping(&r.db).await;
    let bus = r.bus.ping().await;
    match (db, bus) {
        (Ok(()), Ok(())) => (StatusCode::OK, "ready".to_owned()),
        (db, bus) => {
            let mut reasons = Vec::new();
            if db.is_err() {
                reasons.push("database unreachable");
            }
            if bus.is_err() {
                reasons.push("event bus unreachable");
            }
            (StatusCode::SERVICE_UNAVAILABLE, reasons.join("; "))
        }
    }
}

/// Serves `router` (with request tracing and metrics) until `shutdown`, then drains for at
/// most `drain`.
pub async fn serve_http(
    router: Router,
    listener: TcpListener,
    shutdown: CancellationToken,
    drain: Duration,
) -> anyhow::Result<()> {
    let router = router
        .layer(crate::metrics::trace_layer("http"))
        // A request body over 2 MiB is refused before any resolver sees it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            2 * 1024 * 1024,
        ));
    let stop = shutdown.clone();
    let server =
        axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await });
    crate::shutdown::drain_bounded(
        async { server.await.map_err(anyhow::Error::from) },
        shutdown,
        drain,
    )
    .await
}
